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
    let tools = tempfile::tempdir().unwrap();
    for t in [
        "sh", "curl", "uname", "mktemp", "grep", "head", "cut", "tr", "rm", "mkdir", "chmod", "cp",
        "mv", "sed", "cat",
    ] {
        if let Ok(p) = which(t) {
            std::os::unix::fs::symlink(p, tools.path().join(t)).unwrap();
        }
    }
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

fn which(tool: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.exists())
        .ok_or(())
}
