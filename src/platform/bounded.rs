//! Short commands with a deadline (`--version`, `auth status`): a CLI that hangs is
//! killed with its whole process group, and the caller gets "timed out", never a hang.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// What a short command printed and how it ended.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Runs `program args` with stdin closed, in its own process group. `env`, when given,
/// replaces the environment entirely (doctor probes with the service's environment, not
/// the shell's).
pub async fn run_bounded(
    program: &Path,
    args: &[&str],
    env: Option<&[(String, String)]>,
    timeout: Duration,
) -> std::io::Result<Ran> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(env) = env {
        cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn()?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => {
            let out = out?;
            Ok(Ran {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                timed_out: false,
            })
        }
        Err(_) => {
            // kill_on_drop only reaches the child; a CLI's helpers share its group.
            #[cfg(unix)]
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                }
            }
            Ok(Ran {
                code: None,
                stdout: String::new(),
                stderr: String::new(),
                timed_out: true,
            })
        }
    }
}
