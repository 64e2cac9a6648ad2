//! scripts/install.sh (the curl | sh entry point) against a release directory served
//! from 127.0.0.1: verified install, refusal on a bad hash or without a hasher, a
//! truncated script that runs nothing, version pinning, then setup.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::http::Server;
use support::{Home, host_target, pack_release, stderr};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh")
}

fn run(
    script: &Path,
    url: &str,
    dir: &Path,
    args: &[&str],
    path: Option<&str>,
    home: &Home,
) -> Output {
    let mut c = Command::new("sh");
    c.arg(script)
        .args(args)
        .env("LLM_CLI_GATEWAY_DOWNLOAD_URL", url)
        .env("LLM_CLI_GATEWAY_INSTALL_DIR", dir)
        .env("LLM_CLI_GATEWAY_HOME", home.path())
        .env("LLM_CLI_GATEWAY_SERVICE_BACKEND", "process")
        .env("HOME", home.path())
        .env("CI", "true");
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

#[test]
fn installs_a_verified_binary_and_runs_setup() {
    let home = Home::new();
    let rel = tempfile::tempdir().unwrap();
    pack_release(rel.path(), "0.7.0", None);
    let srv = Server::start();
    srv.serve_dir("/rel", rel.path());
    let dir = home.path().join("bin");
    let port = home.port.to_string();
    let out = run(
        &script(),
        &srv.url("/rel/"),
        &dir,
        &["--", "--port", &port],
        None,
        &home,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("verified sha256"), "{err}");
    assert!(
        err.contains("is not on your PATH"),
        "tells how to add it: {err}"
    );
    let bin = dir.join("llm-cli-gateway");
    let v = Command::new(&bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("llm-cli-gateway"));
    let (st, code) = home.json(&["status"]);
    assert_eq!(code, 0, "setup ran and the gateway is healthy: {st:#}");
}

#[test]
fn refuses_bad_hashes_missing_hashers_unknown_versions_and_runs_nothing_when_cut() {
    let home = Home::new();
    let rel = tempfile::tempdir().unwrap();
    pack_release(rel.path(), "0.7.0", None);
    let name = format!("llm-cli-gateway-0.7.0-{}", host_target());
    let srv = Server::start();
    srv.serve_dir("/good", rel.path());
    let bad = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(rel.path()).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), bad.path().join(e.file_name())).unwrap();
    }
    let mut bytes = std::fs::read(bad.path().join(&name)).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(bad.path().join(&name), bytes).unwrap();
    srv.serve_dir("/bad", bad.path());
    let dir = home.path().join("bin");
    let installed = dir.join("llm-cli-gateway");

    let out = run(
        &script(),
        &srv.url("/bad/"),
        &dir,
        &["--no-setup"],
        None,
        &home,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(!installed.exists());

    let out = run(
        &script(),
        &srv.url("/good/"),
        &dir,
        &["--no-setup", "--version", "9.9.9"],
        None,
        &home,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no binary for"), "{}", stderr(&out));

    // A PATH with the tools the script needs but no sha256sum/shasum.
    let tools = tools_without_hashers();
    let out = run(
        &script(),
        &srv.url("/good/"),
        &dir,
        &["--no-setup"],
        Some(tools.path().to_str().unwrap()),
        &home,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("neither sha256sum nor shasum"),
        "{}",
        stderr(&out)
    );
    assert!(!installed.exists());

    // The first half of the script, as a cut-off download would deliver it.
    let text = std::fs::read_to_string(script()).unwrap();
    let cut = home.path().join("cut.sh");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let out = run(&cut, &srv.url("/good/"), &dir, &["--no-setup"], None, &home);
    assert!(!out.status.success(), "a truncated script must fail");
    assert!(
        !installed.exists(),
        "a truncated script must not install anything"
    );
    assert!(!stderr(&out).contains("downloading"), "{}", stderr(&out));

    let out = run(
        &script(),
        &srv.url("/good/"),
        &dir,
        &["--no-setup", "--version", "0.7.0"],
        None,
        &home,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(installed.exists());
}

/// A directory to use as the whole PATH: the tools install.sh needs, but neither
/// sha256sum nor shasum.
fn tools_without_hashers() -> tempfile::TempDir {
    let tools = tempfile::tempdir().unwrap();
    for t in [
        "sh", "curl", "uname", "mktemp", "grep", "head", "cut", "tr", "rm", "mkdir", "chmod", "cp",
        "mv", "sed", "cat",
    ] {
        if let Ok(p) = which(t) {
            std::os::unix::fs::symlink(p, tools.path().join(t)).unwrap();
        }
    }
    tools
}

#[test]
fn verifies_with_shasum_when_sha256sum_is_missing() {
    let home = Home::new();
    let rel = tempfile::tempdir().unwrap();
    pack_release(rel.path(), "0.7.0", None);
    let srv = Server::start();
    srv.serve_dir("/good", rel.path());
    let tools = tools_without_hashers();
    // `shasum -a 256 FILE` as macOS has it, here a shim over sha256sum that leaves a trace.
    let used = home.path().join("shasum-was-used");
    let shim = tools.path().join("shasum");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"-a 256\" ] || {{ echo \"shim: want -a 256, got $*\" >&2; exit 2; }}\nshift 2\n: > '{}'\nexec '{}' \"$@\"\n",
            used.display(),
            which("sha256sum").unwrap().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dir = home.path().join("bin");
    let out = run(
        &script(),
        &srv.url("/good/"),
        &dir,
        &["--no-setup"],
        Some(tools.path().to_str().unwrap()),
        &home,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(used.exists(), "shasum was not used: {}", stderr(&out));
    assert!(stderr(&out).contains("verified sha256"), "{}", stderr(&out));
    assert!(dir.join("llm-cli-gateway").exists());

    // The same shim refuses a tampered binary as sha256sum would.
    let name = format!("llm-cli-gateway-0.7.0-{}", host_target());
    let bad = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(rel.path()).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), bad.path().join(e.file_name())).unwrap();
    }
    std::fs::write(bad.path().join(&name), b"not the binary").unwrap();
    srv.serve_dir("/bad", bad.path());
    let dir = home.path().join("bin2");
    let out = run(
        &script(),
        &srv.url("/bad/"),
        &dir,
        &["--no-setup"],
        Some(tools.path().to_str().unwrap()),
        &home,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("llm-cli-gateway").exists());
}

/// HTTPS_PROXY: with an https:// download URL the script's curl must ask the proxy to
/// CONNECT, not go direct. A one-shot proxy on 127.0.0.1 records the request and refuses
/// it, so nothing leaves the machine and the script fails saying what it could not fetch.
#[test]
fn https_proxy_is_honoured() {
    use std::io::{BufRead, Write};
    let home = Home::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    // One non-blocking attempt: None while nothing has connected, so a script that goes
    // direct fails the test at the deadline instead of hanging it.
    let accept = move || {
        let (conn, _) = listener.accept().ok()?;
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 2 {
            line.clear();
        }
        let _ = (&conn).write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        Some(first)
    };
    let dir = home.path().join("bin");
    let mut c = Command::new("sh");
    c.arg(script())
        .arg("--no-setup")
        .env(
            "LLM_CLI_GATEWAY_DOWNLOAD_URL",
            "https://releases.example.invalid/v1/",
        )
        .env("LLM_CLI_GATEWAY_INSTALL_DIR", &dir)
        .env("HOME", home.path())
        .env("HTTPS_PROXY", &proxy);
    for v in [
        "https_proxy",
        "http_proxy",
        "HTTP_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(v);
    }
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // curl waits for the proxy's answer, so answer first (polling, with a deadline).
    let mut request = None;
    support::eventually(std::time::Duration::from_secs(30), || {
        request = accept();
        request.is_some()
    });
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        request.unwrap_or_default().trim_end(),
        "CONNECT releases.example.invalid:443 HTTP/1.1",
        "the download did not go through HTTPS_PROXY"
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not download https://releases.example.invalid/v1/SHA256SUMS"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("llm-cli-gateway").exists());
}

fn which(tool: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.exists())
        .ok_or(())
}
