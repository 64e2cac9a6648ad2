//! A real gateway (`serve` on a free port, stand-in CLIs on its PATH) and a real MCP
//! client (the official Python SDK, driven line by line) for tool tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

use super::{BIN, eventually, free_port, http_get, pid_alive};

pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("LLM_CLI_GATEWAY_TEST_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the `mcp` SDK: run scripts/test.sh (it creates .venv) or set LLM_CLI_GATEWAY_TEST_PYTHON"
    );
    venv
}

pub fn standin_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/bin")
}

/// PATH with the stand-ins first, so `claude`, `codex`, … resolve to them.
pub fn standin_path() -> String {
    format!(
        "{}:{}",
        standin_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The token every TestGateway serves with.
pub const TEST_TOKEN: &str = "test-token-0123456789abcdef0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = TEST_TOKEN;

/// `llm-cli-gateway serve` in a temp home. Dropping it stops the gateway and kills any
/// stand-in it left running (after a SIGKILL test, say).
pub struct TestGateway {
    pub home: tempfile::TempDir,
    pub port: u16,
    pub env: Vec<(String, String)>,
    /// Extra `serve` arguments (e.g. `--log-file`).
    pub args: Vec<String>,
    child: Option<Child>,
}

impl TestGateway {
    /// Starts with the stand-ins on PATH; `env` adds or overrides variables (stand-in
    /// modes, job settings). The policy is the default level (balanced) with the
    /// system's temporary directory as the workspace root, where tests make their dirs.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let root = std::env::temp_dir().canonicalize().unwrap();
        Self::with_policy(
            env,
            &format!(
                "[policy]\nworkspace_roots = [{:?}]\n",
                root.display().to_string()
            ),
        )
    }

    /// Starts with `config` (TOML, e.g. a `[policy]` table) as config.toml.
    pub fn with_policy(env: &[(&str, &str)], config: &str) -> Self {
        Self::with_args(env, config, &[])
    }

    /// Like [`TestGateway::with_policy`], with extra `serve` arguments.
    pub fn with_args(env: &[(&str, &str)], config: &str, args: &[&str]) -> Self {
        let mut g = Self::prepare(env, config, args);
        g.spawn();
        g
    }

    /// The home, config and token written, the gateway not started yet: call
    /// [`TestGateway::spawn`] when the test has arranged what it needs in `home`.
    pub fn prepare(env: &[(&str, &str)], config: &str, args: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("config.toml"), config).unwrap();
        let token_file = home.path().join("auth-token");
        std::fs::write(&token_file, TOKEN).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut all = vec![
            ("PATH".to_string(), standin_path()),
            (
                "STANDIN_LOG".to_string(),
                home.path().join("standin.log").display().to_string(),
            ),
            (
                "LLM_GATEWAY_FLUSH_INTERVAL_MS".to_string(),
                "100".to_string(),
            ),
        ];
        for (k, v) in env {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.to_string()));
        }
        Self {
            home,
            port: free_port(),
            env: all,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        }
    }

    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.path().join("serve.log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--port", &self.port.to_string(), "--token-file"])
            .arg(self.home.path().join("auth-token"))
            .env("LLM_CLI_GATEWAY_HOME", self.home.path())
            .args(&self.args)
            .env("LLM_CLI_GATEWAY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        assert!(
            eventually(Duration::from_secs(20), || http_get(&url, &[])
                .is_some_and(|(s, _)| s == 200)),
            "gateway did not become healthy; log:\n{}",
            self.log()
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn client(&self) -> McpClient {
        McpClient::http(&self.url(), TOKEN)
    }

    /// What `serve` wrote to stderr (its log, unless it runs with `--log-file`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("serve.log")).unwrap_or_default()
    }

    /// `logs/gateway.log`, which `serve --log-file` writes.
    pub fn log_file(&self) -> std::path::PathBuf {
        self.home.path().join("logs/gateway.log")
    }

    /// `/healthz` as JSON.
    pub fn health(&self) -> Value {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let (status, body) = http_get(&url, &[]).expect("healthz answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// SIGKILL: no shutdown code runs, exactly like a crash or OOM kill.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            if !eventually(Duration::from_secs(15), || c.try_wait().unwrap().is_some()) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }

    /// Every stand-in invocation so far (one JSON object per run, from STANDIN_LOG).
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.home.path().join("standin.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.stop();
        for inv in self.invocations() {
            if let Some(pgid) = inv["pgid"].as_i64()
                && pgid > 1
                && pid_alive(pgid as u32)
            {
                unsafe {
                    libc::killpg(pgid as i32, libc::SIGKILL);
                }
            }
        }
    }
}

/// The Python SDK client process; one MCP session for its whole life.
pub struct McpClient {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    pub server: Value,
}

impl McpClient {
    pub fn http(url: &str, token: &str) -> Self {
        Self::spawn(&["http", url, token])
    }

    pub fn stdio(home: &Path, env: &[(String, String)]) -> Self {
        let mut args = vec![
            "stdio".to_string(),
            BIN.to_string(),
            home.display().to_string(),
        ];
        args.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::spawn(&refs)
    }

    /// Any stdio MCP server, started the way a client config entry describes it:
    /// `command` with `args`, and `env` on top of the test's environment.
    pub fn spawn_stdio(command: &str, args: &[String], env: &[(String, String)]) -> Self {
        let env: serde_json::Map<String, Value> = env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let spec = json!({"command": command, "args": args, "env": env}).to_string();
        Self::spawn(&["spawn", &spec])
    }

    /// The Python client's pid; a stdio server it started is its child.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn spawn(args: &[&str]) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/session.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let rx = line_reader(stdout);
        let mut c = Self {
            child,
            stdin,
            lines: rx,
            server: Value::Null,
        };
        let ready = c.read(Duration::from_secs(60));
        assert_eq!(ready["ready"], true, "client did not connect: {ready}");
        c.server = ready["server"].clone();
        c
    }

    fn read(&mut self, within: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(within)
            .expect("no answer from the MCP client in time");
        serde_json::from_str(&line).unwrap()
    }

    pub fn send(&mut self, req: Value, within: Duration) -> Value {
        let r = self.send_raw(req.clone(), within);
        assert_eq!(r["ok"], true, "request {req} failed: {r}");
        r
    }

    /// Sends without judging the answer: for requests the server should refuse.
    pub fn send_raw(&mut self, req: Value, within: Duration) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        self.read(within)
    }

    /// Calls a tool; returns {is_error, structured, text}.
    pub fn call(&mut self, name: &str, args: Value) -> Value {
        self.send(
            json!({"op": "call", "name": name, "args": args}),
            Duration::from_secs(90),
        )
    }

    /// Calls a tool that must succeed; returns its structured content.
    pub fn ok(&mut self, name: &str, args: Value) -> Value {
        let r = self.call(name, args);
        assert_eq!(r["is_error"], false, "{name} failed: {r:#}");
        r["structured"].clone()
    }

    /// Calls a tool that must fail; returns its text.
    pub fn err(&mut self, name: &str, args: Value) -> String {
        let r = self.call(name, args);
        assert_eq!(r["is_error"], true, "{name} should have failed: {r:#}");
        r["text"].as_str().unwrap().to_string()
    }

    /// Polls llm_job_status until the job leaves `queued` and `running`; returns the
    /// final status.
    pub fn wait_job(&mut self, job_id: &str, within: Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let s = self.ok("llm_job_status", json!({"jobId": job_id}));
            if s["status"] != "running" && s["status"] != "queued" {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {job_id} still running: {s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child's stdout as a channel of lines, so reads can have deadlines.
pub fn line_reader(stdout: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The runs of one stand-in CLI, in order.
pub fn invocations_of(g: &TestGateway, cli: &str) -> Vec<Value> {
    g.invocations()
        .into_iter()
        .filter(|i| i["cli"] == cli)
        .collect()
}

/// A logged run's argv.
pub fn argv(inv: &Value) -> Vec<String> {
    inv["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `args` holds `a` directly followed by `b`.
pub fn has_pair(args: &[String], a: &str, b: &str) -> bool {
    args.windows(2).any(|w| w[0] == a && w[1] == b)
}
