//! Refused, malformed and timed-out requests, logged at a bounded rate.
//!
//! Anyone who can reach the port can send requests that are refused; one log line each
//! would let them fill the disk. So the first refusal after a quiet interval is logged at
//! once (a misconfigured client shows up right away), and from then on one summary line
//! per interval says how many there were, of which kind, and from where.

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Why a request or connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No valid bearer token on the MCP endpoint (401).
    Unauthorized,
    /// A foreign `Host` or `Origin` header (403).
    Forbidden,
    /// Not HTTP the server could parse (400).
    Malformed,
    /// Headers or body not sent in time.
    TimedOut,
    /// Over the connection cap (503).
    OverCapacity,
    /// `accept` failed (out of file descriptors, most likely).
    AcceptFailed,
}

const KINDS: usize = 6;
/// Distinct client addresses named in a summary; the rest are counted together.
const MAX_SOURCES: usize = 8;

impl Refusal {
    fn index(self) -> usize {
        self as usize
    }

    fn describe(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "without a valid bearer token",
            Refusal::Forbidden => "with a foreign Host or Origin header",
            Refusal::Malformed => "malformed",
            Refusal::TimedOut => "too slow to send headers or body",
            Refusal::OverCapacity => "over the connection cap (503)",
            Refusal::AcceptFailed => "not accepted (accept failed: out of file descriptors?)",
        }
    }

    const ALL: [Refusal; KINDS] = [
        Refusal::Unauthorized,
        Refusal::Forbidden,
        Refusal::Malformed,
        Refusal::TimedOut,
        Refusal::OverCapacity,
        Refusal::AcceptFailed,
    ];
}

struct Window {
    counts: [u64; KINDS],
    sources: Vec<(IpAddr, u64)>,
    other_sources: u64,
    started: Option<Instant>,
    /// The previous interval had no refusals: the next one is logged at once.
    quiet: bool,
}

impl Window {
    const fn new() -> Self {
        Self {
            counts: [0; KINDS],
            sources: Vec::new(),
            other_sources: 0,
            started: None,
            quiet: true,
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

static WINDOW: Mutex<Window> = Mutex::new(Window::new());
static INTERVAL_SECS: AtomicU64 = AtomicU64::new(60);
static TOTAL: AtomicU64 = AtomicU64::new(0);

fn window() -> std::sync::MutexGuard<'static, Window> {
    WINDOW.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts one refusal from `peer`; logs it only when it is the first after a quiet
/// interval.
pub fn note(kind: Refusal, peer: Option<IpAddr>) {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    let first = {
        let mut w = window();
        let first = w.quiet && w.total() == 0;
        if w.started.is_none() {
            w.started = Some(Instant::now());
        }
        w.counts[kind.index()] += 1;
        match peer {
            Some(ip) => {
                if let Some(entry) = w.sources.iter_mut().find(|(a, _)| *a == ip) {
                    entry.1 += 1;
                } else if w.sources.len() < MAX_SOURCES {
                    w.sources.push((ip, 1));
                } else {
                    w.other_sources += 1;
                }
            }
            None => w.other_sources += 1,
        }
        first
    };
    if first {
        tracing::warn!(
            "refused a request {} from {}; further refusals are summarized every {} s",
            kind.describe(),
            peer.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string()),
            INTERVAL_SECS.load(Ordering::Relaxed)
        );
    }
}

/// Every refusal counted since the gateway started.
pub fn total() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Logs one line for the refusals counted since the last summary, if any.
pub fn summarize() {
    let line = {
        let mut w = window();
        let total = w.total();
        let taken = std::mem::replace(&mut *w, Window::new());
        w.quiet = total == 0;
        (total > 0).then(|| summary_line(&taken, total))
    };
    if let Some(line) = line {
        tracing::warn!("{line}");
    }
}

fn summary_line(w: &Window, total: u64) -> String {
    let secs = w.started.map_or(0, |s| s.elapsed().as_secs().max(1));
    let kinds: Vec<String> = Refusal::ALL
        .iter()
        .filter(|k| w.counts[k.index()] > 0)
        .map(|k| format!("{} {}", w.counts[k.index()], k.describe()))
        .collect();
    let mut sources: Vec<String> = w
        .sources
        .iter()
        .map(|(ip, n)| format!("{ip} ({n})"))
        .collect();
    if w.other_sources > 0 {
        sources.push(format!("other addresses ({})", w.other_sources));
    }
    format!(
        "refused {total} request(s) in the last {secs} s: {}; from {}",
        kinds.join(", "),
        sources.join(", ")
    )
}

/// Summarizes every `interval` until `stop`, then once more.
pub async fn run(interval: Duration, stop: CancellationToken) {
    INTERVAL_SECS.store(interval.as_secs().max(1), Ordering::Relaxed);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => summarize(),
            _ = stop.cancelled() => {
                summarize();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_kinds_and_sources() {
        let mut w = Window::new();
        w.counts[Refusal::Unauthorized.index()] = 1200;
        w.counts[Refusal::OverCapacity.index()] = 3;
        w.sources = vec![("127.0.0.1".parse().unwrap(), 1200)];
        w.other_sources = 3;
        w.started = Some(Instant::now());
        let line = summary_line(&w, 1203);
        assert!(
            line.starts_with("refused 1203 request(s) in the last 1 s: 1200 without a valid bearer token, 3 over the connection cap (503); from 127.0.0.1 (1200), other addresses (3)"),
            "{line}"
        );
    }
}
