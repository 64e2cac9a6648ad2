//! The CLI's process: spawned with argv only (no shell), stdin closed, in a process group
//! of its own, so cancel and timeouts reach everything it started.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::JobSpec;

/// Starts the CLI in `cwd`. The environment is the gateway's minus its own variables:
/// a CLI (and whatever a prompt makes it run) must not learn where the token lives or
/// steer the gateway's tools, nor print Rust backtraces that bury its real error.
pub(super) fn spawn(spec: &JobSpec, cwd: &Path) -> std::io::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(&spec.program);
    for (key, _) in std::env::vars_os() {
        if is_gateway_variable(&key) {
            cmd.env_remove(&key);
        }
    }
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    #[cfg(unix)]
    cmd.process_group(0);
    cmd.spawn()
}

/// Variables that belong to the gateway, not to the CLIs it runs.
pub(super) fn is_gateway_variable(key: &OsStr) -> bool {
    let key = key.to_string_lossy().to_ascii_uppercase();
    key.starts_with("LLM_CLI_GATEWAY")
        || key.starts_with("LLM_GATEWAY_")
        || key.contains("GATEWAY_TOKEN")
        || key == "RUST_BACKTRACE"
        || key == "RUST_LIB_BACKTRACE"
}

/// A fresh, empty, private directory for a run that named no `cwd`: under the system's
/// temporary directory, never the gateway's home (where the token and the job store are).
pub(super) fn scratch_dir(gateway_home: &Path) -> std::io::Result<PathBuf> {
    let mut base = std::env::temp_dir();
    if base.starts_with(gateway_home) || !base.is_absolute() {
        base = PathBuf::from("/tmp");
    }
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = base.join(format!("llm-cli-gateway-run-{}", hex::encode(suffix)));
    std::fs::create_dir(&dir)?;
    crate::platform::fsutil::set_mode(&dir, 0o700)?;
    Ok(dir)
}

/// SIGTERM to the whole group, SIGKILL after the grace period; reaps the leader.
pub(super) async fn kill_group(
    child: &mut tokio::process::Child,
    grace: Duration,
) -> Option<std::process::ExitStatus> {
    let Some(pid) = child.id() else {
        return child.wait().await.ok();
    };
    signal_group(pid, Signal::Term);
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => {
            // The leader is gone; make sure nothing it started lingers.
            signal_group(pid, Signal::Kill);
            status.ok()
        }
        Err(_) => {
            signal_group(pid, Signal::Kill);
            child.wait().await.ok()
        }
    }
}

/// The process group `pid` leads: its own, since every CLI starts in a new group.
pub(super) fn group_of(pid: u32) -> u32 {
    #[cfg(unix)]
    {
        if let Ok(p) = libc::pid_t::try_from(pid) {
            // SAFETY: getpgid only reads the process table.
            let g = unsafe { libc::getpgid(p) };
            if g > 1 {
                return g as u32;
            }
        }
    }
    pid
}

/// After a crash: ends the process groups (`pgid`, leader start time) that a dead
/// gateway's jobs left running, but only those whose leader is still the very process
/// the job recorded (same start time): a reused pid is a stranger's and is never
/// signalled. SIGTERM to every such group, up to two seconds for the leaders to go, then
/// SIGKILL for whatever is left of them. Returns the groups it signalled.
pub(super) fn end_leftovers(groups: &[(u32, String)]) -> Vec<u32> {
    use crate::runtime::service::pidfile::start_time;
    let ours =
        |pgid: u32, start: &str| !start.is_empty() && start_time(pgid).as_deref() == Some(start);
    let verified: Vec<&(u32, String)> = groups.iter().filter(|(g, s)| ours(*g, s)).collect();
    for (pgid, _) in &verified {
        signal_group(*pgid, Signal::Term);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline && verified.iter().any(|(g, s)| ours(*g, s)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // A leader that is gone leaves its group's id in use while members live, so the rest
    // of the group is still the job's.
    for (pgid, _) in &verified {
        signal_group(*pgid, Signal::Kill);
    }
    verified.iter().map(|(g, _)| *g).collect()
}

enum Signal {
    Term,
    Kill,
}

fn signal_group(pid: u32, sig: Signal) {
    #[cfg(unix)]
    {
        let sig = match sig {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        let Ok(pgid) = libc::pid_t::try_from(pid) else {
            return;
        };
        if pgid > 1 {
            // SAFETY: killpg only sends a signal; the group is the one we created for
            // this child (process_group(0) makes its pgid equal to its pid).
            unsafe {
                libc::killpg(pgid, sig);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (pid, sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateways_own_variables_are_not_passed_on() {
        for k in [
            "LLM_CLI_GATEWAY_HOME",
            "llm_cli_gateway_token",
            "LLM_GATEWAY_SYNC_WAIT_MS",
            "MY_GATEWAY_TOKEN_FILE",
            "RUST_BACKTRACE",
        ] {
            assert!(is_gateway_variable(OsStr::new(k)), "{k}");
        }
        for k in [
            "PATH",
            "HOME",
            "ANTHROPIC_API_KEY",
            "GEMINI_API_KEY",
            "OPENAI_API_KEY",
        ] {
            assert!(!is_gateway_variable(OsStr::new(k)), "{k}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftover_groups_are_ended_only_with_the_recorded_start_time() {
        use std::os::unix::process::CommandExt;
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("30")
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut a = spawn();
        let pid = a.id();
        assert_eq!(group_of(pid), pid);
        let start = crate::runtime::service::pidfile::start_time(pid).unwrap();
        let wrong = format!("{}", start.parse::<u64>().unwrap() + 1);
        assert!(
            end_leftovers(&[(pid, wrong), (pid, String::new())]).is_empty(),
            "another start time (a stranger) or none recorded"
        );
        assert!(a.try_wait().unwrap().is_none(), "still running");
        assert_eq!(end_leftovers(&[(pid, start)]), vec![pid]);
        let status = a.wait().unwrap();
        assert!(!status.success());
    }

    #[test]
    fn scratch_dirs_are_fresh_private_and_outside_the_home() {
        let home = tempfile::tempdir().unwrap();
        let a = scratch_dir(home.path()).unwrap();
        let b = scratch_dir(home.path()).unwrap();
        assert_ne!(a, b);
        assert!(!a.starts_with(home.path()));
        assert_eq!(std::fs::read_dir(&a).unwrap().count(), 0);
        #[cfg(unix)]
        assert_eq!(crate::platform::fsutil::mode_of(&a), Some(0o700));
        std::fs::remove_dir(a).unwrap();
        std::fs::remove_dir(b).unwrap();
    }
}
