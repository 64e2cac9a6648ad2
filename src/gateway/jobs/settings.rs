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
    /// Total time a run may take, output or not; a request may only lower it.
    pub max_runtime: Duration,
    /// Most bytes of one tool reply (text and structured content together).
    pub max_reply_bytes: usize,
    /// Gateway sessions per provider.
    pub max_sessions_per_provider: usize,
    /// CLI processes running at once; later jobs queue in order.
    pub max_concurrent_processes: usize,
}

/// The smallest reply budget accepted: a job's status, reason and markers must fit.
pub const MIN_REPLY_BYTES: usize = 16 << 10;
/// The default reply budget: under the 1 MiB MCP clients accept (the official Python
/// SDK refuses bigger messages), with room for the JSON-RPC envelope and SSE framing.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 768 << 10;

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
            max_runtime: Duration::from_secs(1800),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            max_sessions_per_provider: 100,
            max_concurrent_processes: 16,
        }
    }
}
