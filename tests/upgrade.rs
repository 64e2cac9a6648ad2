//! `upgrade` against release directories served from 127.0.0.1: newer, same, older,
//! tampered, foreign-target and unhealthy releases, and a download cut short.

mod support;

use serde_json::Value;
use support::http::{Reply, Server};
use support::{Home, host_target, http_get, pack_release, pid_alive};

const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn healthz_version(home: &Home) -> String {
    let (_, body) = http_get(&home.health_url(), &[]).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    v["version"].as_str().unwrap().to_string()
}

fn release(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pack_release(dir.path(), version, None);
    dir
}

/// A copy of the bootstrapper in a directory of its own, as a user would have downloaded
/// it, for `upgrade --self` to replace (or not).
struct Bootstrapper {
    dir: tempfile::TempDir,
}

impl Bootstrapper {
    /// The copy gets a trailing comment (harmless after an ELF image) so that its bytes
    /// differ from the release's binary, which `pack-release` copies from the same build:
    /// a replacement always shows in the hash.
    fn copy() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = std::fs::read(support::BIN).unwrap();
        bytes.extend_from_slice(b"\n# the user's bootstrapper\n");
        let path = dir.path().join("llm-cli-gateway");
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Self { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("llm-cli-gateway")
    }

    fn sha256(&self) -> String {
        support::sha256_hex(&std::fs::read(self.path()).unwrap())
    }

    fn json(&self, home: &Home, args: &[&str]) -> (Value, i32) {
        let out = home
            .cmd_of(&self.path())
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        (
            support::parse_one_document(&out),
            out.status.code().unwrap_or(-1),
        )
    }
}

/// The SHA-256 of the release's bootstrapper binary for this machine.
fn release_binary_sha256(rel: &std::path::Path, version: &str) -> String {
    let name = format!("llm-cli-gateway-{version}-{}", host_target());
    support::sha256_hex(&std::fs::read(rel.join(name)).unwrap())
}

/// A release whose gateway binary exits at once, so it never answers /healthz.
fn unhealthy_release(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fake-gateway");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'fake gateway: cannot start' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rel = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(support::BIN)
        .args(["pack-release", "--binary"])
        .arg(&script)
        .arg("--out")
        .arg(rel.path())
        .args(["--release-version", version])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    rel
}

fn bundle_name(version: &str) -> String {
    format!("llm-cli-gateway-bundle-{version}-{}.tar.gz", host_target())
}

#[test]
fn upgrade_installs_a_newer_release_and_rerunning_changes_nothing() {
    let home = Home::new();
    home.setup();
    let old_pid = home.supervisor_pid().unwrap();
    let rel = release("0.2.0");
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let from = srv.url("/r/");

    let before = home.snapshot();
    let (check, code) = home.json(&["upgrade", "--check", "--from", &from]);
    assert_eq!(code, 0, "{check:#}");
    assert_eq!(check["update_available"], true);
    assert_eq!(check["installed_version"], CURRENT);
    assert_eq!(check["available_version"], "0.2.0");
    assert_eq!(check["changed"], false);
    assert!(home.snapshot() == before, "--check changed files");

    let (doc, code) = home.json(&["upgrade", "--from", &from]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["version"], "0.2.0");
    assert_eq!(doc["restarted"], true);
    assert_eq!(
        healthz_version(&home),
        "0.2.0",
        "the new bundle answers as itself"
    );
    assert!(!pid_alive(old_pid));
    let (st, _) = home.json(&["status"]);
    assert_eq!(st["version"], "0.2.0");
    assert_eq!(st["previous_version"], CURRENT);

    let pid = home.supervisor_pid();
    let before = home.snapshot();
    let (again, code) = home.json(&["upgrade", "--from", &from]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["changed"], false);
    assert!(
        home.snapshot() == before,
        "an up-to-date upgrade changed files"
    );
    assert_eq!(
        home.supervisor_pid(),
        pid,
        "an up-to-date upgrade restarted the gateway"
    );
}

#[test]
fn an_older_release_is_refused_unless_allowed() {
    let home = Home::new();
    home.setup();
    let rel = release("0.0.9");
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let from = srv.url("/r/release-manifest.json");
    let before = home.snapshot();
    let (doc, code) = home.json(&["upgrade", "--from", &from]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["error"]["code"], "downgrade-refused");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("--allow-downgrade"),
        "{doc:#}"
    );
    assert!(home.snapshot() == before);
    // --self must not swap in the older bootstrapper either.
    let boot = Bootstrapper::copy();
    let own = boot.sha256();
    let (doc, code) = boot.json(&home, &["upgrade", "--self", "--from", &from]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["error"]["code"], "downgrade-refused");
    assert_eq!(
        boot.sha256(),
        own,
        "a refused release replaced the bootstrapper"
    );
    assert!(home.snapshot() == before);
    let (doc, code) = home.json(&["upgrade", "--from", &from, "--allow-downgrade"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(healthz_version(&home), "0.0.9");
    assert!(doc.get("replaced_bootstrapper").is_none(), "{doc:#}");
    // Once allowed, --self downgrades the bootstrapper too.
    let (doc, code) = boot.json(
        &home,
        &["upgrade", "--self", "--from", &from, "--allow-downgrade"],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        doc["changed"], false,
        "the bundle was already 0.0.9: {doc:#}"
    );
    assert_eq!(
        doc["replaced_bootstrapper"],
        boot.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(boot.sha256(), release_binary_sha256(rel.path(), "0.0.9"));
}

#[test]
fn an_unhealthy_new_version_is_rolled_back() {
    let home = Home::new();
    home.setup();
    let rel = unhealthy_release("0.9.0");
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let (doc, code) = home.json(&["upgrade", "--from", &srv.url("/r/")]);
    assert_eq!(code, 1, "{doc:#}");
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("rolled back to {CURRENT}")), "{msg}");
    assert_eq!(
        std::fs::read_link(home.path().join("current"))
            .unwrap()
            .to_str(),
        Some(format!("versions/{CURRENT}").as_str())
    );
    let (st, code) = home.json(&["status"]);
    assert_eq!(code, 0, "the old version runs again: {st:#}");
    assert_eq!(healthz_version(&home), CURRENT);
}

#[test]
fn tampered_foreign_and_cut_off_releases_change_nothing() {
    let home = Home::new();
    home.setup();
    let pid = home.supervisor_pid().unwrap();
    let srv = Server::start();

    // Bundle bytes changed after the manifest and SHA256SUMS were written.
    let rel = release("0.2.0");
    let bundle = rel.path().join(bundle_name("0.2.0"));
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&bundle, &bytes).unwrap();
    srv.serve_dir("/tampered", rel.path());

    // A release for another machine only.
    let other = tempfile::tempdir().unwrap();
    let foreign = if host_target().contains("x86_64") {
        "aarch64-apple-darwin"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    pack_release(other.path(), "0.3.0", Some(foreign));
    srv.serve_dir("/foreign", other.path());

    // The download stops half-way.
    let cut = release("0.4.0");
    srv.serve_dir("/cut", cut.path());
    let body = std::fs::read(cut.path().join(bundle_name("0.4.0"))).unwrap();
    let half = body.len() / 2;
    srv.route(
        &format!("/cut/{}", bundle_name("0.4.0")),
        Reply::Truncated(body, half),
    );

    let before = home.snapshot();
    let boot = Bootstrapper::copy();
    let own = boot.sha256();
    for (path, expect) in [
        ("/tampered/", "checksum"),
        ("/foreign/", "target-missing"),
        ("/cut/", "download"),
    ] {
        let (doc, code) = home.json(&["upgrade", "--from", &srv.url(path)]);
        assert_eq!(code, 1, "{path}: {doc:#}");
        // The release's bootstrapper binary itself is intact, but the bundle is not (or
        // missing): --self must not replace the bootstrapper either.
        let (self_doc, self_code) =
            boot.json(&home, &["upgrade", "--self", "--from", &srv.url(path)]);
        assert_eq!(self_code, 1, "{path} --self: {self_doc:#}");
        assert_eq!(
            boot.sha256(),
            own,
            "{path}: --self replaced the bootstrapper"
        );
        let text = doc["error"].to_string().to_lowercase();
        assert!(
            text.contains(expect),
            "{path}: expected {expect:?} in {doc:#}"
        );
        assert!(home.snapshot() == before, "{path}: files changed");
        assert_eq!(
            home.supervisor_pid(),
            Some(pid),
            "{path}: gateway restarted"
        );
        assert_eq!(healthz_version(&home), CURRENT);
    }
    // A manifest that is not one.
    srv.route(
        "/bad/release-manifest.json",
        Reply::Ok(b"{\"name\": 1}".to_vec()),
    );
    let (doc, code) = home.json(&["upgrade", "--from", &srv.url("/bad/")]);
    assert_eq!(code, 1);
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("schema"),
        "{doc:#}"
    );
    let (doc, code) = home.json(&[
        "upgrade",
        "--version",
        "not-a-version",
        "--from",
        &srv.url("/cut/"),
    ]);
    assert_eq!(code, 2, "a malformed --version is a usage error: {doc:#}");
    assert_eq!(doc["error"]["code"], "usage");
    assert!(home.snapshot() == before);
}

/// `current` names an installed version with its bundle.json, and the receipt agrees.
fn assert_consistent(home: &Home, what: &str) {
    let link = std::fs::read_link(home.path().join("current")).unwrap();
    assert!(
        home.path().join(&link).join("bundle.json").is_file(),
        "{what}: `current` dangles: {link:?}"
    );
    let (findings, code) = home.json(&["repair", "--dry-run"]);
    assert_eq!(code, 0, "{what}: {findings:#}");
    let kinds: Vec<&Value> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["kind"])
        .collect();
    assert!(
        !kinds
            .iter()
            .any(|k| *k == "current-pointer" || *k == "file-hash"),
        "{what}: the receipt disagrees with `current`: {findings:#}"
    );
}

#[test]
fn an_upgrade_cut_off_at_any_step_is_completed_by_the_next_run() {
    for failpoint in [
        "install-before-switch",
        "install-after-switch",
        "upgrade-after-switch",
    ] {
        let home = Home::new();
        home.setup();
        let rel = release("0.2.0");
        let srv = Server::start();
        srv.serve_dir("/r", rel.path());
        let from = srv.url("/r/");
        let out = home
            .cmd()
            .args(["upgrade", "--from", &from])
            .env("LLM_CLI_GATEWAY_FAILPOINT", failpoint)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{failpoint}: the failpoint must abort"
        );
        let link = std::fs::read_link(home.path().join("current")).unwrap();
        assert!(
            home.path().join(&link).join("bundle.json").is_file(),
            "{failpoint}: {link:?}"
        );
        let (doc, code) = home.json(&["upgrade", "--from", &from]);
        assert_eq!(code, 0, "{failpoint}: {doc:#}");
        assert_eq!(
            healthz_version(&home),
            "0.2.0",
            "{failpoint}: the next run completes the upgrade"
        );
        let (st, code) = home.json(&["status"]);
        assert_eq!(code, 0, "{failpoint}: {st:#}");
        assert_eq!(st["version"], "0.2.0");
        assert_eq!(
            st["previous_version"], CURRENT,
            "{failpoint}: the receipt keeps the old version for rollback: {st:#}"
        );
        assert_consistent(&home, failpoint);
    }
}

#[test]
fn a_rollback_cut_off_is_completed_by_repair() {
    let home = Home::new();
    home.setup();
    let rel = unhealthy_release("0.9.0");
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let from = srv.url("/r/");
    let out = home
        .cmd()
        .args(["upgrade", "--from", &from])
        .env("LLM_CLI_GATEWAY_FAILPOINT", "rollback-after-switch")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failpoint must abort");
    assert_eq!(
        std::fs::read_link(home.path().join("current"))
            .unwrap()
            .to_str(),
        Some(format!("versions/{CURRENT}").as_str()),
        "the rollback had switched `current` back"
    );
    let (dry, code) = home.json(&["repair", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    let kinds: Vec<&str> = dry["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"interrupted-upgrade"), "{dry:#}");
    assert!(kinds.contains(&"gateway-down"), "{dry:#}");
    let (doc, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        healthz_version(&home),
        CURRENT,
        "repair finished the rollback"
    );
    let (st, _) = home.json(&["status"]);
    assert_eq!(st["version"], CURRENT);
    assert_eq!(st["previous_version"], "0.9.0");
    assert_consistent(&home, "rollback-after-switch");
    // And the same bad release is rolled back again, cleanly, by the next upgrade.
    let (doc, code) = home.json(&["upgrade", "--from", &from]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("rolled back to {CURRENT}")),
        "{doc:#}"
    );
    assert_eq!(healthz_version(&home), CURRENT);
    assert_consistent(&home, "after a second rollback");
}

#[test]
fn upgrade_self_replaces_the_bootstrapper_with_the_verified_binary() {
    let home = Home::new();
    home.setup();
    let rel = release("0.2.0");
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let boot = Bootstrapper::copy();
    std::fs::write(boot.dir.path().join("marker"), b"").unwrap();
    let before = std::fs::metadata(boot.path()).unwrap();
    let (doc, code) = boot.json(&home, &["upgrade", "--self", "--from", &srv.url("/r/")]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(boot.sha256(), release_binary_sha256(rel.path(), "0.2.0"));
    assert_eq!(
        doc["replaced_bootstrapper"],
        boot.path().canonicalize().unwrap().to_str().unwrap()
    );
    let after = std::fs::metadata(boot.path()).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        before.ino(),
        after.ino(),
        "replaced by rename, not rewritten in place"
    );
    assert_eq!(after.mode() & 0o777, 0o755);
    let leftovers: Vec<_> = std::fs::read_dir(boot.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".llm-cli-gateway"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(healthz_version(&home), "0.2.0");
    // Up to date, and the bootstrapper is the release's already: nothing to do.
    let (doc, code) = boot.json(&home, &["upgrade", "--self", "--from", &srv.url("/r/")]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(doc.get("replaced_bootstrapper").is_none(), "{doc:#}");
}
