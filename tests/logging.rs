//! The gateway's own log (`serve --log-file`): it never dies of a write failure, it
//! counts what it drops, it resumes when it can write again, it rotates by size, and
//! refused requests are summarized instead of logged one by one.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::eventually;
use support::mcp::TestGateway;

fn config(extra: &str) -> String {
    let root = std::env::temp_dir().canonicalize().unwrap();
    format!(
        "[policy]\nworkspace_roots = [{:?}]\n{extra}",
        root.display().to_string()
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `n` unauthenticated MCP requests from `threads` threads; each must get 401.
fn unauthenticated(port: u16, n: usize, threads: usize) {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..n / threads {
                    let r = support::http_request(
                        "POST",
                        &format!("http://127.0.0.1:{port}/mcp"),
                        &[("Authorization", "Bearer wrong")],
                        "{}",
                    );
                    assert_eq!(r.map(|(s, _)| s), Some(401));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn dropped(g: &TestGateway) -> u64 {
    g.health()["dropped_log_lines"].as_u64().unwrap()
}

#[test]
fn the_gateway_keeps_serving_while_its_log_cannot_be_written() {
    let flags = tempfile::tempdir().unwrap();
    let flag = flags.path().join("fail-log-writes");
    let failpoint = format!("log-write-fails@{}", flag.display());
    let g = TestGateway::with_args(
        &[("LLM_CLI_GATEWAY_FAILPOINT", &failpoint)],
        &config("[log]\nsummary_interval_secs = 1\n"),
        &["--log-file"],
    );
    let log = g.log_file();
    // It writes its own file; stderr stays empty.
    assert!(
        eventually(Duration::from_secs(5), || read(&log)
            .contains("listening on")),
        "{}",
        read(&log)
    );
    assert!(!g.log().contains("listening on"), "{}", g.log());
    let health = g.health();
    assert_eq!(health["log_file"], log.display().to_string());
    assert_eq!(health["dropped_log_lines"], 0);

    // Every write fails from now on (as on a full disk).
    std::fs::write(&flag, "").unwrap();
    let before = read(&log);
    let mut c = g.client();
    for i in 0..5 {
        let r = c.ok(
            "claude_request",
            json!({"prompt": format!("while the log cannot be written {i}")}),
        );
        assert_eq!(r["status"], "completed", "{r}");
    }
    unauthenticated(g.port, 50, 2);
    assert!(
        eventually(Duration::from_secs(5), || dropped(&g) >= 5),
        "{}",
        g.health()
    );
    assert_eq!(read(&log), before, "a line was written while writes fail");

    // The failure ends: lines appear again, after a note of how many were lost.
    std::fs::remove_file(&flag).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let r = c.ok("claude_request", json!({"prompt": "after the failure"}));
    assert_eq!(r["status"], "completed", "{r}");
    assert!(
        eventually(Duration::from_secs(5), || {
            let text = read(&log);
            text.contains("could not be written") && text.len() > before.len()
        }),
        "{}",
        read(&log)
    );
    let text = read(&log);
    let after = text.get(before.len()..).unwrap_or_default();
    assert!(
        after.contains("job "),
        "no job line after the failure:\n{after}"
    );
    let lost = dropped(&g);
    println!("{lost} log lines dropped while writes failed; the log resumed:\n{after}");
    c.send(json!({"op": "list_tools"}), Duration::from_secs(10));
}

/// Mounted for the test; lazily unmounted when dropped (the gateway may still hold
/// its log open if the test failed).
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_under_the_log_is_survived() {
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: mounting a small tmpfs needs root");
        return;
    }
    let mut g = TestGateway::prepare(
        &[],
        &config("[log]\nsummary_interval_secs = 1\n"),
        &["--log-file"],
    );
    let logs = g.home.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(&logs)
        .output();
    match mounted {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "SKIPPED: mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("SKIPPED: cannot run mount: {e}");
            return;
        }
    }
    let _mount = Mount(logs.clone());
    g.spawn();
    let log = g.log_file();
    assert!(eventually(Duration::from_secs(5), || read(&log)
        .contains("listening on")));

    // Fill the file system.
    let filler = logs.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![b'x'; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    // The log's last page may still take a few lines: keep working until one is lost.
    let mut c = g.client();
    let mut i = 0;
    let full = eventually(Duration::from_secs(15), || {
        i += 1;
        let r = c.ok(
            "claude_request",
            json!({"prompt": format!("disk full {i}")}),
        );
        assert_eq!(r["status"], "completed", "{r}");
        unauthenticated(g.port, 10, 1);
        dropped(&g) > 0
    });
    assert!(full, "nothing dropped on a full disk: {}", g.health());
    let lost = dropped(&g);

    // Space again: the log resumes by itself.
    std::fs::remove_file(&filler).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    c.ok("claude_request", json!({"prompt": "space again"}));
    assert!(
        eventually(Duration::from_secs(5), || read(&log)
            .contains("could not be written")),
        "{}",
        read(&log)
    );
    println!("full tmpfs under logs/: {lost} lines dropped, gateway kept serving, log resumed");
    drop(c);
    g.stop();
}

#[test]
fn the_log_rotates_and_refusals_are_summarized() {
    let mut g = TestGateway::with_args(
        &[],
        &config("[log]\nmax_bytes = 1024\nkeep = 2\nsummary_interval_secs = 1\n"),
        &["--log-file"],
    );
    let log = g.log_file();
    let requests = 1998;
    let mut c = g.client();
    for round in 0..3 {
        unauthenticated(g.port, requests / 3, 3);
        for i in 0..4 {
            c.ok(
                "claude_request",
                json!({"prompt": format!("rotation {round} {i}")}),
            );
        }
        std::thread::sleep(Duration::from_millis(600));
    }
    drop(c);
    g.stop();

    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size <= 1024, "gateway.log is {size} bytes");
    let rotated = |n: u32| PathBuf::from(format!("{}.{n}", log.display()));
    assert!(rotated(1).exists() && rotated(2).exists(), "no rotation");
    assert!(!rotated(3).exists(), "more than keep = 2 rotated files");
    let all: String = [rotated(2), rotated(1), log.clone()]
        .iter()
        .map(|p| read(p))
        .collect();
    let refusal_lines = all.lines().filter(|l| l.contains("refused")).count();
    assert!(
        refusal_lines < 20,
        "{refusal_lines} lines for {requests} refused requests:\n{all}"
    );
    let summary = all
        .lines()
        .rev()
        .find(|l| l.contains("refused") && l.contains("request(s) in the last"))
        .unwrap_or_else(|| panic!("no summary line:\n{all}"));
    assert!(
        summary.contains("without a valid bearer token"),
        "{summary}"
    );
    assert!(summary.contains("127.0.0.1"), "{summary}");
    println!(
        "{requests} refused requests: {refusal_lines} log lines; gateway.log {size} bytes + 2 rotated files; last summary: {summary}"
    );
}
