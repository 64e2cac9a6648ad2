//! `serve --supervised`: keeps one gateway child alive.
//!
//! The child is restarted with exponential backoff when it dies abnormally. A child that
//! exits with [`EXIT_NO_RESTART`] (bad config, port taken) is not restarted: retrying
//! cannot help, and the supervisor exits so that `start` reports the log tail at once.
//! SIGTERM/SIGINT are passed on and the supervisor waits for the child before exiting.
//!
//! Its few lines go to the gateway's log file (opened, appended to and closed each time,
//! so they follow the gateway's rotation), or to stderr; a failed write is ignored.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Exit status meaning "misconfigured; restarting will not help" (sysexits EX_CONFIG).
pub const EXIT_NO_RESTART: i32 = 78;
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A child that ran this long counts as healthy again; the backoff resets.
const STABLE_AFTER: Duration = Duration::from_secs(60);

pub async fn run(child_args: Vec<std::ffi::OsString>, log: Option<PathBuf>) -> Result<i32> {
    let say = |level: &str, text: String| {
        crate::platform::logfile::append_line(
            log.as_deref(),
            &format!("{level} supervisor: {text}"),
        )
    };
    let exe = std::env::current_exe().context("locating the gateway binary")?;
    let mut backoff = Duration::from_millis(250);
    let mut restarts = 0u32;
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&exe)
            .args(&child_args)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {}", exe.display()))?;
        let pid = child.id().unwrap_or(0);
        say(
            " INFO",
            format!("gateway started (pid {pid}, restarts so far {restarts})"),
        );
        #[cfg(unix)]
        let stop = async {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        };
        #[cfg(not(unix))]
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tokio::select! {
            status = child.wait() => {
                let status = status?;
                let code = status.code();
                if code == Some(0) {
                    say(" INFO", "gateway exited normally; supervisor exiting".into());
                    return Ok(0);
                }
                if code == Some(EXIT_NO_RESTART) {
                    say("ERROR", "gateway cannot run with this configuration; not restarting".into());
                    return Ok(EXIT_NO_RESTART);
                }
                if started.elapsed() > STABLE_AFTER {
                    backoff = Duration::from_millis(250);
                }
                restarts += 1;
                say(" WARN", format!("gateway exited ({}); restarting in {backoff:?}", describe(status)));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            _ = stop => {
                terminate(&mut child).await;
                say(" INFO", "stopped".into());
                return Ok(0);
            }
        }
    }
}

async fn terminate(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(8), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "unknown status".into(),
    }
}
