//! `llm-cli-gateway bridge`: a stdio MCP client (the official Python SDK, or raw
//! JSON-RPC lines) reaches the running gateway through it, across gateway restarts,
//! token rotation and hostile input.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::mcp::{McpClient, standin_path};
use support::{BIN, Home, eventually, pid_alive};

const HOME_ENV: &str = "LLM_CLI_GATEWAY_HOME";

/// A home whose gateway (started by setup) finds the stand-in CLIs; `env` reaches the
/// gateway and so the stand-ins.
fn home_with(env: &[(&str, &str)]) -> Home {
    let mut home = Home::new();
    home.extra_env.push(("PATH".into(), standin_path()));
    let log = home.path().join("standin.log").display().to_string();
    home.extra_env.push(("STANDIN_LOG".into(), log));
    for (k, v) in env {
        home.extra_env.push((k.to_string(), v.to_string()));
    }
    home.setup();
    home
}

/// The Python SDK with `llm-cli-gateway bridge` as its stdio server, exactly as a
/// client config entry written by `print-client-config --write` starts it.
fn bridge_client(home: &Home) -> McpClient {
    McpClient::spawn_stdio(
        BIN,
        &["bridge".to_string()],
        &[(HOME_ENV.to_string(), home.path().display().to_string())],
    )
}

fn gateway_pid(home: &Home) -> u64 {
    let (_, body) = support::http_get(&home.health_url(), &[]).expect("gateway answers");
    serde_json::from_str::<Value>(&body).unwrap()["pid"]
        .as_u64()
        .unwrap()
}

/// The children of `parent` (from /proc, so it works for grandchildren we did not spawn).
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn cmdline(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

#[test]
fn sdk_client_uses_the_running_gateway_through_the_bridge() {
    let home = home_with(&[]);
    let mut c = bridge_client(&home);
    assert_eq!(c.server["name"], "llm-cli-gateway", "{}", c.server);

    let tools = c.send(json!({"op": "list_tools"}), Duration::from_secs(30));
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for want in ["claude_request", "validate_with_models", "llm_job_status"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let answer = c.call(
        "claude_request",
        json!({"prompt": "hello through the bridge"}),
    );
    assert_eq!(answer["is_error"], false, "{answer:#}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("stand-in claude reply: hello through the bridge"),
        "{answer:#}"
    );

    // The one running gateway answered, not a gateway of the bridge's own.
    let health = c.ok("llm_process_health", json!({}));
    assert_eq!(
        health["pid"].as_u64(),
        Some(gateway_pid(&home)),
        "{health:#}"
    );

    // The bridge is the Python client's child: its argv never carries the token.
    let bridges: Vec<u32> = children_of(c.pid())
        .into_iter()
        .filter(|p| cmdline(*p).contains("bridge"))
        .collect();
    assert_eq!(bridges.len(), 1, "one bridge process under the client");
    let argv = cmdline(bridges[0]);
    assert!(argv.ends_with("bridge "), "{argv}");
    assert!(!argv.contains(&home.token()), "token in argv: {argv}");
}

#[test]
fn progress_notifications_reach_the_stdio_client() {
    let home = home_with(&[]);
    let mut c = bridge_client(&home);
    let r = c.send(
        json!({"op": "call_progress", "name": "validate_with_models", "args": {
            "question": "Is 2 + 2 = 4?",
            "providers": ["claude", "gemini"],
            "timeoutMs": 30000
        }}),
        Duration::from_secs(90),
    );
    assert_eq!(r["is_error"], false, "{r:#}");
    let progress = r["progress"].as_array().unwrap();
    assert!(!progress.is_empty(), "no progress relayed: {r:#}");
    assert_eq!(r["structured"]["summary"]["ok"], 2, "{r:#}");
}

#[test]
fn a_slow_call_does_not_hold_up_another_and_eof_ends_the_bridge_at_once() {
    const DELAY_MS: u64 = 6000;
    let home = home_with(&[("STANDIN_DELAY_MS", &DELAY_MS.to_string())]);
    let mut c = bridge_client(&home);
    let started = Instant::now();
    let r = c.send(
        json!({"op": "parallel", "calls": [
            {"name": "claude_request", "args": {"prompt": "take your time"}},
            {"name": "llm_process_health", "args": {}}
        ]}),
        Duration::from_secs(60),
    );
    assert_eq!(r["finish_order"], json!([1, 0]), "{r:#}");
    assert_eq!(r["results"][0]["is_error"], false, "{r:#}");
    assert_eq!(r["results"][1]["is_error"], false, "{r:#}");
    assert!(started.elapsed() >= Duration::from_millis(DELAY_MS));
    drop(c);

    // EOF while a call is still running: the bridge exits without waiting for it.
    let mut b = RawBridge::start(&home, &[]);
    b.initialize();
    b.send(&call(2, "claude_request", json!({"prompt": "never collected"})).to_string());
    let log = home.path().join("standin.log");
    assert!(
        eventually(Duration::from_secs(20), || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("never collected"))
        }),
        "the call never reached the stand-in"
    );
    let pid = b.child.id();
    let closed = Instant::now();
    b.close_stdin();
    let status = b
        .wait_exit(Duration::from_millis(DELAY_MS / 2))
        .expect("the bridge kept running after stdin closed");
    assert!(status.success(), "{status:?}; stderr: {}", b.stderr());
    assert!(closed.elapsed() < Duration::from_millis(DELAY_MS));
    assert!(!pid_alive(pid));
}

#[test]
fn gateway_down_is_a_clear_error_and_the_same_session_recovers_after_restart() {
    let home = home_with(&[]);
    let mut c = bridge_client(&home);
    let before = c.ok("llm_process_health", json!({}))["pid"].clone();

    let out = home.run(&["stop"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let r = c.send_raw(
        json!({"op": "call", "name": "llm_process_health", "args": {}}),
        Duration::from_secs(30),
    );
    assert_eq!(r["ok"], false, "{r:#}");
    let error = r["error"].as_str().unwrap();
    let url = format!("http://127.0.0.1:{}/mcp", home.port);
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("not reachable"), "{error}");
    assert!(error.contains("llm-cli-gateway start"), "{error}");

    let out = home.run(&["start"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    // Same client, same MCP session: the bridge re-initializes with the new gateway.
    let after = c.ok("llm_process_health", json!({}))["pid"].clone();
    assert_ne!(before, after, "a new gateway process answered");
    assert_eq!(after.as_u64(), Some(gateway_pid(&home)));
    let answer = c.call("claude_request", json!({"prompt": "after the restart"}));
    assert_eq!(answer["is_error"], false, "{answer:#}");
}

#[test]
fn raw_json_rpc_hostile_lines_and_no_secrets_on_stderr() {
    let home = home_with(&[]);
    let token = home.token();
    let mut b = RawBridge::start(&home, &[]);
    // Sent without waiting for the initialize result: the request must wait for the
    // session id rather than reach the gateway without one.
    b.send(&initialize_request(0).to_string());
    b.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
    b.send(&json!({"jsonrpc": "2.0", "id": "early", "method": "tools/list"}).to_string());
    let init = b.next();
    assert_eq!(init["id"], 0, "{init}");
    assert!(init["result"]["protocolVersion"].is_string(), "{init:#}");
    let early = b.next();
    assert_eq!(early["id"], "early", "{early}");
    assert!(early["result"]["tools"].is_array(), "{early}");

    b.send("");
    b.send("   ");
    b.send("this is not json {");
    let e = b.next();
    assert_eq!(e["id"], Value::Null, "{e}");
    assert_eq!(e["error"]["code"], -32700, "{e}");
    b.send("42");
    let e = b.next();
    assert_eq!(e["error"]["code"], -32600, "{e}");

    b.send(&json!({"jsonrpc": "2.0", "id": "list", "method": "tools/list"}).to_string());
    let list = b.next();
    assert_eq!(list["id"], "list", "{list}");
    assert!(list["result"]["tools"].as_array().unwrap().len() > 5);

    // A batch: each answer is its own line.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "ping"},
        {"jsonrpc": "2.0", "id": 11, "method": "ping"}
    ]);
    b.send(&batch.to_string());
    let mut ids = vec![b.next()["id"].clone(), b.next()["id"].clone()];
    ids.sort_by_key(|v| v.as_i64());
    assert_eq!(ids, vec![json!(10), json!(11)]);

    // Gateway down: a JSON-RPC error for that request id, and the bridge keeps going.
    let out = home.run(&["stop"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    b.send(&call(3, "llm_process_health", json!({})).to_string());
    let e = b.next();
    assert_eq!(e["id"], 3, "{e}");
    assert_eq!(e["error"]["code"], -32000, "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("not reachable"), "{message}");
    assert!(
        message.contains("help: run `llm-cli-gateway start`"),
        "{message}"
    );
    // A notification has nobody to answer: nothing on stdout, the next answer is for 4.
    b.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
            .to_string(),
    );
    b.send(&json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}).to_string());
    assert_eq!(b.next()["id"], 4);

    assert!(!cmdline(b.child.id()).contains(&token));
    b.close_stdin();
    let status = b.wait_exit(Duration::from_secs(10)).expect("exits at EOF");
    assert!(status.success(), "{status:?}");
    let stderr = b.stderr();
    assert!(
        stderr.contains("not reachable"),
        "one line per failure: {stderr}"
    );
    assert!(!stderr.contains(&token), "token on stderr: {stderr}");
}

#[test]
fn refused_token_is_explained_and_a_rotated_token_is_picked_up() {
    let home = home_with(&[]);
    let token_file = home.path().join("auth-token");
    let real = std::fs::read_to_string(&token_file).unwrap();
    let wrong = "f".repeat(64);
    // Same file, same 0600 mode, different token than the running gateway's.
    std::fs::write(&token_file, format!("{wrong}\n")).unwrap();
    let mut b = RawBridge::start(&home, &[]);
    b.send(&initialize_request(0).to_string());
    let e = b.next();
    assert_eq!(e["id"], 0, "{e}");
    assert_eq!(e["error"]["code"], -32001, "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("refused the auth token"), "{message}");
    assert!(message.contains("llm-cli-gateway repair"), "{message}");
    assert!(!message.contains(&wrong));

    // The token on disk changes (as `repair` would): the bridge re-reads it on 401.
    std::fs::write(&token_file, &real).unwrap();
    b.send(&initialize_request(1).to_string());
    let init = b.next();
    assert_eq!(init["id"], 1, "{init}");
    assert!(init["result"]["protocolVersion"].is_string(), "{init}");
    let stderr_so_far = b.stderr();
    assert!(!stderr_so_far.contains(real.trim()), "{stderr_so_far}");
    assert!(!stderr_so_far.contains(&wrong), "{stderr_so_far}");
}

#[test]
fn without_setup_or_with_an_unsafe_token_it_exits_78_before_reading_stdin() {
    let home = Home::new();
    let (status, stderr) = run_and_keep_stdin_open(&home, &[]);
    assert_eq!(status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("not set up"), "{stderr}");
    assert!(stderr.contains("config.toml"), "{stderr}");
    assert!(
        stderr.contains("help: run `llm-cli-gateway setup`"),
        "{stderr}"
    );

    let port = home.port.to_string();
    let (doc, code) = home.json(&["setup", "--yes", "--no-start", "--port", &port]);
    assert_eq!(code, 0, "{doc:#}");
    let token_file = home.path().join("auth-token");
    let token = home.token();
    support_set_mode(&token_file, 0o644);
    let (status, stderr) = run_and_keep_stdin_open(&home, &[]);
    assert_eq!(status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("readable by other users"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains(&token), "{stderr}");

    std::fs::remove_file(&token_file).unwrap();
    let (status, stderr) = run_and_keep_stdin_open(&home, &[]);
    assert_eq!(status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("no auth token"), "{stderr}");
    assert!(
        stderr.contains("help: run `llm-cli-gateway setup`"),
        "{stderr}"
    );

    let out = home.run(&["bridge", "--url", "127.0.0.1:3333/mcp"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(
        support::stderr(&out).contains("http://"),
        "{}",
        support::stderr(&out)
    );
}

#[test]
fn help_explains_what_the_bridge_is_for() {
    let out = std::process::Command::new(BIN)
        .args(["bridge", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = support::stdout(&out);
    for needle in [
        "stdio",
        "Claude Desktop",
        "0600",
        "--url",
        "78",
        "\"args\": [\"bridge\"]",
    ] {
        assert!(help.contains(needle), "{needle:?} missing from:\n{help}");
    }
}

/// Median `tools/list` round trip from the same Python client, through the bridge and
/// straight over HTTP, on one gateway. Printed, not asserted: timing depends on the host.
#[test]
fn latency_bridge_vs_direct_http() {
    const N: usize = 50;
    let home = home_with(&[]);
    let mut through_bridge = bridge_client(&home);
    let url = format!("http://127.0.0.1:{}/mcp", home.port);
    let mut direct = McpClient::http(&url, &home.token());
    let median = |c: &mut McpClient| {
        c.send(json!({"op": "list_tools"}), Duration::from_secs(30));
        let mut times: Vec<Duration> = (0..N)
            .map(|_| {
                let t = Instant::now();
                let r = c.send(json!({"op": "list_tools"}), Duration::from_secs(30));
                assert!(!r["tools"].as_array().unwrap().is_empty());
                t.elapsed()
            })
            .collect();
        times.sort();
        times[N / 2]
    };
    let bridged = median(&mut through_bridge);
    let http = median(&mut direct);
    // The bridge alone, without the Python SDK's own cost on either side.
    let mut raw = RawBridge::start(&home, &[]);
    raw.initialize();
    let mut times: Vec<Duration> = (0..N)
        .map(|i| {
            let t = Instant::now();
            raw.send(&json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/list"}).to_string());
            assert_eq!(raw.next()["id"], i + 1);
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "tools/list median over {N}: SDK via bridge {:.2} ms, SDK direct HTTP {:.2} ms, raw lines via bridge {:.2} ms",
        ms(bridged),
        ms(http),
        ms(times[N / 2])
    );
}

fn support_set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs the bridge with stdin held open: if it read stdin before failing, it would
/// block until the deadline.
fn run_and_keep_stdin_open(home: &Home, args: &[&str]) -> (ExitStatus, String) {
    let mut b = RawBridge::start(home, args);
    let status = b
        .wait_exit(Duration::from_secs(10))
        .expect("the bridge waited on stdin instead of failing at once");
    (status, b.stderr())
}

fn initialize_request(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"}
    }})
}

fn call(id: i64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": args}})
}

/// The bridge driven with raw JSON-RPC lines, for what an SDK would never send.
struct RawBridge {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr_file: PathBuf,
    _stderr_dir: tempfile::TempDir,
}

impl RawBridge {
    fn start(home: &Home, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stderr_file = dir.path().join("stderr");
        let mut child = home
            .cmd()
            .arg("bridge")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_file).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let rx = support::mcp::line_reader(stdout);
        Self {
            child,
            stdin,
            lines: rx,
            stderr_file,
            _stderr_dir: dir,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line, which must be exactly one JSON-RPC message.
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no output from the bridge; stderr: {}", self.stderr()));
        let msg: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(msg["jsonrpc"], "2.0", "{msg}");
        msg
    }

    fn initialize(&mut self) -> Value {
        self.send(&initialize_request(0).to_string());
        let init = self.next();
        assert_eq!(init["id"], 0, "{init}");
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
        init
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let mut status = None;
        eventually(within, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }
}

impl Drop for RawBridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
