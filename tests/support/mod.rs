//! Shared test machinery: a temp gateway home on a free port, the real binary, an HTTP
//! server on 127.0.0.1 that can misbehave, hostile tarball builders, schema checks.
#![allow(dead_code)]

pub mod http;
pub mod mcp;
pub mod tarball;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_llm-cli-gateway");

/// A gateway home in a temp dir with its own free port. Dropping it stops any gateway
/// it started, so no test leaves a process behind.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub extra_env: Vec<(String, String)>,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            extra_env: vec![],
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> std::process::Command {
        self.cmd_of(Path::new(BIN))
    }

    /// Like [`Home::cmd`] but running another copy of the binary (e.g. a bootstrapper
    /// that `upgrade --self` may replace).
    pub fn cmd_of(&self, program: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env("LLM_CLI_GATEWAY_HOME", self.path())
            .env("CI", "true")
            .env("LLM_CLI_GATEWAY_SERVICE_BACKEND", "process")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs with `--json`, checks exactly one schema-valid document, returns it and the
    /// exit code.
    pub fn json(&self, args: &[&str]) -> (Value, i32) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        let doc = parse_one_document(&out);
        (doc, out.status.code().unwrap_or(-1))
    }

    pub fn setup(&self) -> Value {
        let port = self.port.to_string();
        let (doc, code) = self.json(&["setup", "--yes", "--port", &port]);
        assert_eq!(code, 0, "setup failed: {doc:#}");
        doc
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.path().join("auth-token"))
            .unwrap()
            .trim()
            .to_string()
    }

    pub fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}/healthz", self.port)
    }

    pub fn supervisor_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.path().join("run/gateway.pid")).ok()?;
        serde_json::from_str::<Value>(&text).ok()?["pid"]
            .as_u64()
            .map(|p| p as u32)
    }

    /// Snapshot of every file (path, bytes) under the home, to prove nothing changed.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        // The running gateway owns its SQLite files (WAL and shared-memory index change
        // under readers); the bootstrapper's promises are about everything else.
        if name == "logs" || name == ".lock" || name.starts_with("gateway.db") {
            continue;
        }
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_symlink() {
            out.push((
                p.clone(),
                std::fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .as_bytes()
                    .to_vec(),
            ));
        } else if meta.is_dir() {
            out.push((p.clone(), vec![]));
            walk(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let pid = self.supervisor_pid();
        let _ = self.cmd().arg("stop").output();
        if let Some(pid) = pid {
            // Belt and braces: never leave a process behind, even if `stop` regressed.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

pub fn parse_one_document(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not exactly one JSON document ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_valid(&doc);
    doc
}

/// Validates against the committed status.schema.json.
pub fn assert_valid(doc: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("status.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "document fails status.schema.json: {errors:?}\n{doc:#}"
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// GET over plain TCP; returns (status code, body).
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    http_request("GET", url, headers, "")
}

pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(authority).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {authority}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// Polls `f` until it returns true or `within` passes.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// The fields of /proc/PID/stat after the command name (which may contain spaces).
fn proc_stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit(')').next()?;
    Some(after.split_whitespace().map(str::to_string).collect())
}

pub fn pid_alive(pid: u32) -> bool {
    proc_stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z" && s != "X"))
}

/// The kernel start time of `pid`, as the gateway's pid file records it.
pub fn proc_start_time(pid: u32) -> String {
    proc_stat_fields(pid).expect("process exists")[19].clone()
}

pub fn host_target() -> String {
    let h = Home::new();
    h.json(&["status"]).0["target"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Makes a release directory with the real packer (what build-release.sh calls).
pub fn pack_release(out: &Path, version: &str, target: Option<&str>) {
    let mut args = vec![
        "pack-release".to_string(),
        "--binary".into(),
        BIN.into(),
        "--out".into(),
        out.display().to_string(),
        "--release-version".into(),
        version.into(),
    ];
    if let Some(t) = target {
        args.push("--target".into());
        args.push(t.into());
    }
    let o = std::process::Command::new(BIN)
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "pack-release failed: {}", stderr(&o));
}
