//! The local health probe: one `GET /healthz` over a plain TCP socket.
//!
//! `status` must stay fast, so this avoids building an HTTP client and a TLS stack for a
//! request to our own loopback port.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What `/healthz` returns. No secrets: version, pid, uptime, the instance nonce and how
/// the log and the connections fare.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Health {
    pub status: String,
    pub name: String,
    pub version: String,
    pub pid: u32,
    pub uptime_secs: u64,
    /// A random value the bootstrapper hands the gateway at start, so a probe can tell our
    /// gateway from another one that happens to hold the port.
    #[serde(default)]
    pub instance: String,
    /// The file the gateway writes its log to; absent when it logs to stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<std::path::PathBuf>,
    /// Log lines the gateway could not write since it started (full disk, unwritable
    /// file); they are dropped, never waited for.
    #[serde(default)]
    pub dropped_log_lines: u64,
    /// Open HTTP connections, and the cap above which new ones are answered 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Connections>,
}

/// The gateway's connection count as `/healthz` reports it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Connections {
    pub open: u64,
    pub max: u64,
}

#[derive(Debug)]
pub enum Probe {
    Healthy(Health, Duration),
    Failed(String),
}

/// Probes `authority` (`host:port`) with a total time budget.
pub fn probe(authority: &str, timeout: Duration) -> Probe {
    let started = Instant::now();
    match probe_inner(authority, timeout) {
        Ok(h) => Probe::Healthy(h, started.elapsed()),
        Err(e) => Probe::Failed(e),
    }
}

fn probe_inner(authority: &str, timeout: Duration) -> Result<Health, String> {
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {authority}"))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{e}"))?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    s.set_nodelay(true).ok();
    write!(s, "GET /healthz HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("{e}"))?;
    let mut buf = Vec::with_capacity(512);
    s.take(64 * 1024)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") && !status.ends_with(" 200") {
        return Err(format!("unexpected answer: {status}"));
    }
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    let health: Health =
        serde_json::from_str(&body).map_err(|e| format!("not our gateway ({e})"))?;
    if health.name != "llm-cli-gateway" {
        return Err(format!("another service answers there ({})", health.name));
    }
    Ok(health)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        // `get` rather than indexing: a chunk size that splits a character (another
        // server on the port) must not panic `status`.
        let (Some(chunk), Some(after)) = (after.get(..n), after.get(n..)) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(chunk);
        rest = after.trim_start_matches("\r\n");
    }
    out
}

/// Polls until the gateway answers with `instance`, `alive()` turns false, or the deadline.
pub fn wait_healthy(
    authority: &str,
    instance: Option<&str>,
    deadline: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<Health, String> {
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    let mut delay = Duration::from_millis(5);
    while start.elapsed() < deadline {
        match probe(authority, Duration::from_millis(500)) {
            Probe::Healthy(h, _) if instance.is_none_or(|i| h.instance == i) => return Ok(h),
            Probe::Healthy(h, _) => {
                last = format!("a different gateway (pid {}) answers on {authority}", h.pid)
            }
            Probe::Failed(e) => last = e,
        }
        if !alive() {
            return Err(format!("the gateway process exited ({last})"));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(100));
    }
    Err(format!("no healthy answer within {deadline:?} ({last})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks() {
        assert_eq!(dechunk("4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"), "abcdef");
        assert_eq!(dechunk("1\r\né\r\n0\r\n\r\n"), "");
        assert_eq!(dechunk("9\r\nab\r\n"), "");
    }

    #[test]
    fn refused_port_fails_fast() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        assert!(matches!(
            probe(&addr.to_string(), Duration::from_millis(300)),
            Probe::Failed(_)
        ));
    }
}
