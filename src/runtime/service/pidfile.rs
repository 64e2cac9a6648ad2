//! The process backend's pid file, and the checks that decide whether to trust it.
//!
//! A pid alone proves nothing: the process may have died and the number been reused. We
//! record the process's start time too and accept the file only when the live process
//! with that pid has the same start time and is one of our supervisors. Anything else
//! (garbage, stale, reused) is never signalled.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PidFile {
    pub pid: u32,
    /// Kernel start time of `pid` (Linux: clock ticks since boot from /proc/<pid>/stat).
    pub start_time: String,
    pub instance: String,
    pub version: String,
    pub started_at_unix: u64,
}

/// What reading the pid file found.
#[derive(Debug)]
pub enum PidState {
    Missing,
    /// The file exists but cannot be trusted; the reason says why.
    Untrusted(String),
    Running(PidFile),
}

pub fn read(path: &Path) -> PidState {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return PidState::Missing,
        Err(e) => return PidState::Untrusted(format!("unreadable pid file: {e}")),
    };
    let pf: PidFile = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(_) => return PidState::Untrusted("the pid file is garbage".into()),
    };
    if pf.pid <= 1 || pf.pid > i32::MAX as u32 {
        return PidState::Untrusted(format!("the pid file names pid {}", pf.pid));
    }
    match start_time(pf.pid) {
        None => PidState::Untrusted(format!(
            "process {} is not running (stale pid file)",
            pf.pid
        )),
        Some(st) if st != pf.start_time => PidState::Untrusted(format!(
            "pid {} now belongs to another process (started at a different time)",
            pf.pid
        )),
        Some(_) if !is_our_supervisor(pf.pid) => PidState::Untrusted(format!(
            "pid {} is not an llm-cli-gateway supervisor",
            pf.pid
        )),
        Some(_) => PidState::Running(pf),
    }
}

pub fn write(path: &Path, pf: &PidFile) -> anyhow::Result<()> {
    crate::platform::fsutil::write_atomic(
        "pid file",
        path,
        serde_json::to_string(pf)?.as_bytes(),
        0o600,
    )
}

/// The process's start time, or `None` when it does not exist or is a zombie.
#[cfg(target_os = "linux")]
pub fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn start_time(pid: u32) -> Option<String> {
    let out = std::process::Command::new("ps")
        .args(["-o", "lstart=,stat=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() || text.ends_with('Z') {
        return None;
    }
    Some(
        text.rsplit_once(' ')
            .map(|(a, _)| a.trim().to_string())
            .unwrap_or(text),
    )
}

#[cfg(not(unix))]
pub fn start_time(_pid: u32) -> Option<String> {
    None
}

#[cfg(target_os = "linux")]
fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

#[cfg(all(unix, not(target_os = "linux")))]
fn cmdline(pid: u32) -> Option<Vec<String>> {
    let out = std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(not(unix))]
fn cmdline(_pid: u32) -> Option<Vec<String>> {
    None
}

fn is_our_supervisor(pid: u32) -> bool {
    cmdline(pid).is_some_and(|args| {
        args.first().is_some_and(|a| a.contains("llm-cli-gateway"))
            && args.iter().any(|a| a == "serve")
            && args.iter().any(|a| a == "--supervised")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_stale_and_foreign_are_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway.pid");
        assert!(matches!(read(&p), PidState::Missing));
        std::fs::write(&p, "12345 garbage").unwrap();
        assert!(matches!(read(&p), PidState::Untrusted(_)));
        // Our own test process: alive, but not a supervisor.
        let me = std::process::id();
        let pf = PidFile {
            pid: me,
            start_time: start_time(me).unwrap_or_default(),
            instance: "x".into(),
            version: "0".into(),
            started_at_unix: 0,
        };
        write(&p, &pf).unwrap();
        assert!(matches!(read(&p), PidState::Untrusted(r) if r.contains("not an llm-cli-gateway")));
        write(
            &p,
            &PidFile {
                start_time: "1".into(),
                ..pf.clone()
            },
        )
        .unwrap();
        assert!(matches!(read(&p), PidState::Untrusted(r) if r.contains("another process")));
        write(&p, &PidFile { pid: 1, ..pf }).unwrap();
        assert!(matches!(read(&p), PidState::Untrusted(_)));
    }
}
