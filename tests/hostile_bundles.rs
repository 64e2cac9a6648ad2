//! Every hostile input to install-bundle fails with a clear error naming the problem and
//! leaves the previous install, config and running gateway untouched.

mod support;

use std::time::Duration;

use support::http::{Reply, Server};
use support::tarball::{Entry, bundle_json, bundle_with, tar_gz};
use support::{Home, host_target, pack_release, sha256_hex};

/// Runs a failing install and checks: exit 1, one schema-valid failure document whose
/// message contains `needle`, and no file under the home changed.
fn assert_refused(home: &Home, args: &[&str], needle: &str) -> serde_json::Value {
    let before = home.snapshot();
    let pid = home.supervisor_pid();
    let (doc, code) = home.json(args);
    assert_eq!(code, 1, "{args:?} should fail: {doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["command"], "install-bundle");
    let msg = doc["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(
        msg.contains(&needle.to_lowercase()),
        "{args:?}: message {msg:?} lacks {needle:?}"
    );
    assert!(
        home.snapshot() == before,
        "{args:?} changed files under the home"
    );
    if let Some(pid) = pid {
        assert_eq!(
            home.supervisor_pid(),
            Some(pid),
            "{args:?} touched the running gateway"
        );
        let (code, _) = support::http_get(&home.health_url(), &[]).expect("gateway still answers");
        assert_eq!(code, 200);
    }
    doc
}

#[test]
fn hostile_downloads_and_manifests_leave_running_gateway_untouched() {
    let mut home = Home::new();
    home.extra_env
        .push(("LLM_CLI_GATEWAY_HTTP_TIMEOUT_SECS".into(), "1".into()));
    home.setup();
    let rel = tempfile::tempdir().unwrap();
    pack_release(rel.path(), "0.2.0", None);
    let target = host_target();
    let bundle_name = format!("llm-cli-gateway-bundle-0.2.0-{target}.tar.gz");
    let bundle = std::fs::read(rel.path().join(&bundle_name)).unwrap();
    let good_sha = sha256_hex(&bundle);
    let srv = Server::start();
    srv.serve_dir("/r", rel.path());
    let url = srv.url(&format!("/r/{bundle_name}"));

    // No checksum at all.
    assert_refused(&home, &["install-bundle", &url], "without a checksum");
    // Wrong and malformed digests.
    let wrong = "0".repeat(64);
    let doc = assert_refused(
        &home,
        &["install-bundle", &url, "--sha256", &wrong],
        "checksum mismatch",
    );
    assert_eq!(doc["error"]["code"], "checksum-mismatch");
    assert_refused(
        &home,
        &["install-bundle", &url, "--sha256", "abc"],
        "not a sha-256",
    );
    // HTTP failures.
    assert_refused(
        &home,
        &[
            "install-bundle",
            &srv.url("/r/missing.tar.gz"),
            "--sha256",
            &good_sha,
        ],
        "404",
    );
    srv.route("/e500/b.tar.gz", Reply::Status(500));
    assert_refused(
        &home,
        &[
            "install-bundle",
            &srv.url("/e500/b.tar.gz"),
            "--sha256",
            &good_sha,
        ],
        "500",
    );
    srv.route(
        "/trunc/b.tar.gz",
        Reply::Truncated(bundle.clone(), bundle.len() / 2),
    );
    assert_refused(
        &home,
        &[
            "install-bundle",
            &srv.url("/trunc/b.tar.gz"),
            "--sha256",
            &good_sha,
        ],
        "broke off",
    );
    srv.route("/stall/b.tar.gz", Reply::Stall(bundle.clone(), 4096));
    let started = std::time::Instant::now();
    assert_refused(
        &home,
        &[
            "install-bundle",
            &srv.url("/stall/b.tar.gz"),
            "--sha256",
            &good_sha,
        ],
        "stalled",
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stall timeout took {:?}",
        started.elapsed()
    );

    // A manifest that fails its schema.
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rel.path().join("release-manifest.json")).unwrap())
            .unwrap();
    let good_manifest = m.clone();
    m["artifacts"][0]["sha256"] = "not-a-hash".into();
    srv.route(
        "/bad/release-manifest.json",
        Reply::Ok(serde_json::to_vec(&m).unwrap()),
    );
    assert_refused(
        &home,
        &[
            "install-bundle",
            "--manifest",
            &srv.url("/bad/release-manifest.json"),
        ],
        "fails its schema",
    );
    srv.route(
        "/bad2/release-manifest.json",
        Reply::Ok(b"{not json".to_vec()),
    );
    assert_refused(
        &home,
        &[
            "install-bundle",
            "--manifest",
            &srv.url("/bad2/release-manifest.json"),
        ],
        "not json",
    );

    // SHA256SUMS and manifest disagree.
    srv.serve_dir("/dis", rel.path());
    srv.route(
        "/dis/SHA256SUMS",
        Reply::Ok(format!("{}  {bundle_name}\n", "1".repeat(64)).into_bytes()),
    );
    let doc = assert_refused(
        &home,
        &[
            "install-bundle",
            "--manifest",
            &srv.url("/dis/release-manifest.json"),
        ],
        "disagree",
    );
    assert_eq!(doc["error"]["code"], "checksum-disagreement");
    assert_refused(
        &home,
        &[
            "install-bundle",
            &url,
            "--sha256",
            &good_sha,
            "--checksums",
            &srv.url("/dis/SHA256SUMS"),
        ],
        "disagree",
    );

    // A release without our target, and a bundle built for another target.
    let mut other = good_manifest.clone();
    for a in other["artifacts"].as_array_mut().unwrap() {
        a["target"] = "aarch64-apple-darwin".into();
    }
    srv.route(
        "/other/release-manifest.json",
        Reply::Ok(serde_json::to_vec(&other).unwrap()),
    );
    assert_refused(
        &home,
        &[
            "install-bundle",
            "--manifest",
            &srv.url("/other/release-manifest.json"),
        ],
        "no bundle for this machine",
    );
    let foreign = bundle_with("0.2.0", "aarch64-apple-darwin", vec![]);
    srv.route("/foreign/b.tar.gz", Reply::Ok(foreign.clone()));
    assert_refused(
        &home,
        &[
            "install-bundle",
            &srv.url("/foreign/b.tar.gz"),
            "--sha256",
            &sha256_hex(&foreign),
        ],
        "for target aarch64-apple-darwin",
    );
}

#[test]
fn hostile_archives_are_refused_and_setuid_is_dropped() {
    let mut home = Home::new();
    let port = home.port.to_string();
    let (doc, code) = home.json(&["setup", "--yes", "--no-start", "--port", &port]);
    assert_eq!(code, 0, "{doc:#}");
    home.extra_env.push((
        "LLM_CLI_GATEWAY_MAX_UNPACKED_BYTES".into(),
        "1048576".into(),
    ));
    let target = host_target();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut install = |bytes: Vec<u8>, needle: &str| {
        n += 1;
        let p = dir.path().join(format!("b{n}.tar.gz"));
        std::fs::write(&p, &bytes).unwrap();
        let sha = sha256_hex(&bytes).to_uppercase();
        assert_refused(
            &home,
            &["install-bundle", p.to_str().unwrap(), "--sha256", &sha],
            needle,
        );
    };
    let t = target.as_str();
    install(
        bundle_with("0.3.0", t, vec![Entry::file("../escape", b"x", 0o644)]),
        "contains '..'",
    );
    install(
        bundle_with("0.3.0", t, vec![Entry::file("/etc/evil", b"x", 0o644)]),
        "absolute path",
    );
    install(
        bundle_with(
            "0.3.0",
            t,
            vec![Entry::special(
                "bin/link",
                tar::EntryType::Symlink,
                Some("/etc/passwd"),
            )],
        ),
        "is a symlink",
    );
    install(
        bundle_with(
            "0.3.0",
            t,
            vec![Entry::special(
                "bin/hard",
                tar::EntryType::Link,
                Some("../../outside"),
            )],
        ),
        "hard link",
    );
    install(
        bundle_with(
            "0.3.0",
            t,
            vec![Entry::special("dev", tar::EntryType::Char, None)],
        ),
        "character device",
    );
    install(
        bundle_with(
            "0.3.0",
            t,
            vec![Entry::special("fifo", tar::EntryType::Fifo, None)],
        ),
        "fifo",
    );
    // Decompression bomb: 4 MiB of zeros against a 1 MiB cap.
    install(
        bundle_with(
            "0.3.0",
            t,
            vec![Entry::file("zeros", &vec![0u8; 4 << 20], 0o644)],
        ),
        "decompression bomb",
    );
    let many: Vec<Entry> = (0..10_001)
        .map(|i| Entry::file(&format!("d/{i}"), b"", 0o644))
        .collect();
    install(bundle_with("0.3.0", t, many), "more than 10000 entries");
    // Missing bundle.json, missing entrypoint, hashes that do not match.
    install(
        tar_gz(&[Entry::file("bin/llm-cli-gateway", b"x", 0o755)]),
        "no bundle.json",
    );
    let bin = b"real";
    install(
        tar_gz(&[Entry::file(
            "bundle.json",
            &bundle_json("0.3.0", t, &[("bin/llm-cli-gateway", bin, "0755")]),
            0o644,
        )]),
        "entrypoint",
    );
    install(
        tar_gz(&[
            Entry::file(
                "bundle.json",
                &bundle_json("0.3.0", t, &[("bin/llm-cli-gateway", bin, "0755")]),
                0o644,
            ),
            Entry::file("bin/llm-cli-gateway", b"tampered", 0o755),
        ]),
        "does not match bundle.json",
    );
    install(
        bundle_with("0.3.0", t, vec![Entry::file("extra", b"unlisted", 0o644)]),
        "does not list",
    );
    install(b"this is not gzip".to_vec(), "not a valid .tar.gz");

    // setuid/setgid bits are dropped, the file still installs as 0755.
    let ok = tar_gz(&[
        Entry::file(
            "bundle.json",
            &bundle_json("0.3.0", t, &[("bin/llm-cli-gateway", bin, "0755")]),
            0o644,
        ),
        Entry::file("bin/llm-cli-gateway", bin, 0o6755),
    ]);
    let p = dir.path().join("setuid.tar.gz");
    std::fs::write(&p, &ok).unwrap();
    let (doc, code) = home.json(&[
        "install-bundle",
        p.to_str().unwrap(),
        "--sha256",
        &sha256_hex(&ok),
    ]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["version"], "0.3.0");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.path().join("versions/0.3.0/bin/llm-cli-gateway"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o7777, 0o755);
    // Leftover staging directories would be a leak.
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join("versions"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging dirs left behind: {leftovers:?}"
    );
}
