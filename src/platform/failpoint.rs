//! Fault injection for tests.
//!
//! Crash points, for tests of interrupted upgrades: with `LLM_CLI_GATEWAY_FAILPOINT=<name>`,
//! the process aborts at that point, as it would on power loss (no destructors, no
//! cleanup). Unset, each check is one env lookup.
//!
//! Failing points ([`failing`]), for tests of I/O failures: `<name>` makes the operation
//! fail for the whole run, `<name>@<file>` only while `<file>` exists, so a test can end
//! the failure without restarting the process.

use std::io::Write;

pub const ENV: &str = "LLM_CLI_GATEWAY_FAILPOINT";

/// Whether the failpoint `name` is set, for failures a test injects without aborting
/// (e.g. `store-finish-fails`: the job store refuses a job's final write).
pub fn active(name: &str) -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == name)
}

pub fn hit(name: &str) {
    if std::env::var_os(ENV).is_some_and(|v| v == name) {
        let _ = writeln!(std::io::stderr(), "failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Whether the failing point `name` is active now (see the module docs).
pub fn failing(name: &str) -> bool {
    let Some(value) = std::env::var_os(ENV) else {
        return false;
    };
    let value = value.to_string_lossy();
    match value.split_once('@') {
        Some((n, file)) => n == name && std::path::Path::new(file).exists(),
        None => value == name,
    }
}
