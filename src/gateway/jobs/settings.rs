//! Limits and timeouts of every run.

use std::time::Duration;

/// Tunables, from config.toml `[jobs]` and the original gateway's environment variables.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Identical requests inside this window share a job; zero disables dedup.
    pub dedup_window: Duration,
    /// Finished jobs older than this are deleted.
    pub retention: Duration,
    /// A CLI silent for this long is killed.
    pub idle_timeout: Duration,
    /// Per stream; beyond it the oldest output is dropped and the stream is flagged.
    pub max_output_bytes: usize,
    /// How often running output is written to the store.
    pub flush_interval: Duration,
    /// How long a sync `*_request` waits before handing back a job id instead.
    pub sync_wait: Duration,
    /// Between SIGTERM and SIGKILL when stopping a process group.
    pub kill_grace: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            dedup_window: Duration::from_secs(3600),
            retention: Duration::from_secs(30 * 86_400),
            idle_timeout: Duration::from_secs(600),
            max_output_bytes: 8 << 20,
            flush_interval: Duration::from_secs(1),
            sync_wait: Duration::from_secs(40),
            kill_grace: Duration::from_secs(3),
        }
    }
}
