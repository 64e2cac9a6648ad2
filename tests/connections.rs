//! Bounded connections: a flood of idle sockets does not lock clients out, a full house
//! of busy ones is answered 503 at once, and slow or idle clients are timed out.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;
use support::eventually;
use support::mcp::{TOKEN, TestGateway};

fn policy() -> String {
    let root = std::env::temp_dir().canonicalize().unwrap();
    format!(
        "[policy]\nworkspace_roots = [{:?}]\n",
        root.display().to_string()
    )
}

/// Raises this process's soft fd limit to the hard one; the hard limit, or why not.
fn raise_own_fd_limit(need: u64) -> Result<u64, String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err("getrlimit failed".into());
        }
        if lim.rlim_max < need {
            return Err(format!(
                "the hard open-file limit is {} and this test needs {need}",
                lim.rlim_max
            ));
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err("setrlimit failed".into());
        }
    }
    Ok(lim.rlim_max)
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

/// Reads until EOF, a reset, or `within`; returns what arrived and whether the server
/// closed the connection.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (String::from_utf8_lossy(&got).into_owned(), false);
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// 20 authenticated `tools/list` round trips, in milliseconds, sorted.
fn list_tools_latencies(c: &mut support::mcp::McpClient) -> Vec<f64> {
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let tools = c.send(json!({"op": "list_tools"}), Duration::from_secs(10));
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(tools["tools"].as_array().unwrap().len() > 10);
    }
    lat.sort_by(f64::total_cmp);
    lat
}

/// An authenticated MCP request whose body never finishes: the connection stays busy
/// until the body deadline.
fn busy_request(port: u16) -> TcpStream {
    let mut s = connect(port);
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{{\"jsonrpc\": \"2.0\","
    );
    s.write_all(head.as_bytes()).unwrap();
    s
}

#[test]
fn an_authenticated_client_is_served_through_a_flood_of_idle_connections() {
    const FLOOD: usize = 1100;
    if let Err(why) = raise_own_fd_limit(4096) {
        println!("SKIPPED: {why}");
        return;
    }
    let g = TestGateway::with_policy(&[], &policy());
    let cap = g.health()["connections"]["max"].as_u64().unwrap();
    assert_eq!(cap, 512, "the default cap");
    let quiet = {
        let mut c = g.client();
        list_tools_latencies(&mut c)
    };

    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..FLOOD).map(|_| connect(g.port)).collect();
    let flood_ms = started.elapsed().as_millis();

    // A client arriving now is served at once: it takes the place of an idle socket.
    let t = Instant::now();
    let mut c = g.client();
    let connect_ms = t.elapsed().as_secs_f64() * 1e3;
    let lat = list_tools_latencies(&mut c);
    let health = g.health();
    let open = health["connections"]["open"].as_u64().unwrap();
    assert!(open <= cap, "{open} open connections over the cap {cap}");
    println!(
        "flood of {FLOOD} idle connections opened in {flood_ms} ms; MCP client connected in {connect_ms:.0} ms; tools/list p50 {:.1} ms, p99 {:.1} ms (without the flood: p50 {:.1} ms, p99 {:.1} ms); {open} connections open (cap {cap})",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&quiet, 0.5),
        percentile(&quiet, 0.99),
    );
    assert!(
        percentile(&lat, 0.99) < 3000.0,
        "tools/list too slow during the flood: {lat:?}"
    );
    drop(c);

    // Every place taken by a request in flight: the next connection is answered 503.
    let busy: Vec<TcpStream> = (0..cap).map(|_| busy_request(g.port)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut over = connect(g.port);
    let t = Instant::now();
    over.write_all(
        format!(
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            g.port
        )
        .as_bytes(),
    )
    .ok();
    let (answer, closed) = read_until_closed(&mut over, Duration::from_secs(5));
    let refused_ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "over the cap: {answer:?}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(closed, "the 503 connection was not closed");
    println!("a connection over the cap was answered 503 and closed in {refused_ms:.1} ms");

    // All sockets closed: the gateway frees its places and serves again.
    drop(busy);
    drop(over);
    idle.clear();
    assert!(
        eventually(Duration::from_secs(5), || {
            support::http_get(&format!("http://127.0.0.1:{}/healthz", g.port), &[])
                .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
                .is_some_and(|h| h["connections"]["open"].as_u64() <= Some(1))
        }),
        "connections were not released: {}",
        g.health()
    );
    let mut c = g.client();
    c.send(json!({"op": "list_tools"}), Duration::from_secs(10));
}

#[test]
fn slow_headers_slow_bodies_and_idle_connections_are_closed() {
    let config = format!(
        "{}[server]\nheader_timeout_secs = 1\nidle_timeout_secs = 3\nbody_timeout_secs = 1\n[log]\nsummary_interval_secs = 1\n",
        policy()
    );
    let g = TestGateway::with_policy(&[], &config);
    let port = g.port;

    // Half a request line, then nothing: closed after the header timeout.
    let mut half = connect(port);
    let t = Instant::now();
    half.write_all(b"GET /heal").unwrap();
    let (answer, closed) = read_until_closed(&mut half, Duration::from_secs(5));
    let half_s = t.elapsed().as_secs_f64();
    assert!(closed && answer.is_empty(), "{answer:?}");
    assert!((0.8..2.5).contains(&half_s), "closed after {half_s:.2} s");

    // Nothing at all: the same.
    let mut silent = connect(port);
    let t = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5));
    let silent_s = t.elapsed().as_secs_f64();
    assert!(closed && (0.8..2.5).contains(&silent_s), "{silent_s:.2} s");

    // A keep-alive connection between requests is idle, not late with headers: it
    // outlives the header timeout and is closed after the idle timeout.
    let mut ka = connect(port);
    ka.write_all(format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .unwrap();
    let t = Instant::now();
    let (first, closed) = read_until_closed(&mut ka, Duration::from_millis(1500));
    assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");
    assert!(!closed, "closed before the idle timeout");
    let (_, closed) = read_until_closed(&mut ka, Duration::from_secs(4));
    let idle_s = t.elapsed().as_secs_f64();
    assert!(closed && (2.5..4.5).contains(&idle_s), "{idle_s:.2} s");

    // A body that stops arriving is cut off at the body deadline.
    let mut slow = busy_request(port);
    let t = Instant::now();
    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(5));
    let body_s = t.elapsed().as_secs_f64();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!((0.8..3.0).contains(&body_s), "{body_s:.2} s");

    // Logged as a summary, not one line per connection.
    assert!(
        eventually(Duration::from_secs(5), || g
            .log()
            .contains("too slow to send headers or body")),
        "{}",
        g.log()
    );
    println!(
        "closed: half a request line after {half_s:.2} s, a silent connection after {silent_s:.2} s, an idle keep-alive one after {idle_s:.2} s, a stalled body after {body_s:.2} s"
    );
}
