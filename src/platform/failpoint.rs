//! Crash injection for tests of interrupted upgrades: with
//! `LLM_CLI_GATEWAY_FAILPOINT=<name>`, the process aborts at that point, as it would on
//! power loss (no destructors, no cleanup). Unset, each check is one env lookup.

pub const ENV: &str = "LLM_CLI_GATEWAY_FAILPOINT";

/// Whether the failpoint `name` is set, for failures a test injects without aborting
/// (e.g. `store-finish-fails`: the job store refuses a job's final write).
pub fn active(name: &str) -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == name)
}

pub fn hit(name: &str) {
    if std::env::var_os(ENV).is_some_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
