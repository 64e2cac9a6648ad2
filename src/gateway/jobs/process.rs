//! The CLI's process: spawned with argv only (no shell), stdin closed, in a process group
//! of its own, so cancel and timeouts reach everything it started.

use std::process::Stdio;
use std::time::Duration;

use super::JobSpec;

pub(super) fn spawn(spec: &JobSpec) -> std::io::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    #[cfg(unix)]
    cmd.process_group(0);
    cmd.spawn()
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
