//! Facts about the gateway process itself, for `/healthz` and `llm_process_health`.

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Marks process start; call once early in `serve`.
pub fn mark_started() {
    let _ = STARTED.set(Instant::now());
}

pub fn uptime_secs() -> u64 {
    STARTED.get().map(|s| s.elapsed().as_secs()).unwrap_or(0)
}

/// Resident set size in bytes, from /proc on Linux.
pub fn rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

pub fn instance() -> String {
    std::env::var(crate::runtime::service::process::INSTANCE_ENV).unwrap_or_default()
}
