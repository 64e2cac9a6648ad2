//! scripts/build-release.sh writes a release that validates and installs.

mod support;

use serde_json::Value;
use support::http::Server;
use support::{BIN, Home, host_target, sha256_hex};

fn build_release(out: &std::path::Path, version: &str, base: &str) -> std::process::Output {
    std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/build-release.sh"
    ))
    .args([
        "--binary",
        BIN,
        "--out",
        out.to_str().unwrap(),
        "--version",
        version,
        "--base-url",
        base,
    ])
    .output()
    .unwrap()
}

#[test]
fn build_release_writes_valid_assets_that_install() {
    let srv = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = build_release(dir.path(), "1.2.3", &srv.url("/rel"));
    assert!(out.status.success(), "{}", support::stderr(&out));
    let target = host_target();
    let bundle = format!("llm-cli-gateway-bundle-1.2.3-{target}.tar.gz");
    let binary = format!("llm-cli-gateway-1.2.3-{target}");
    let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
    for name in [&bundle, &binary] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            sums.contains(&format!("{}  {name}\n", sha256_hex(&bytes))),
            "{name} missing from SHA256SUMS:\n{sums}"
        );
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("release-manifest.json")).unwrap())
            .unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../release-manifest.schema.json")).unwrap();
    assert!(jsonschema::is_valid(&schema, &manifest), "{manifest:#}");
    assert_eq!(manifest["version"], "1.2.3");
    let art = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "bundle")
        .unwrap();
    assert_eq!(art["target"], target.as_str());
    assert_eq!(art["url"], srv.url(&format!("/rel/{bundle}")));

    // bundle.json inside lists each file with its hash.
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(dir.path().join(&bundle)).unwrap());
    let mut tar = tar::Archive::new(gz);
    let mut files = std::collections::HashMap::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut buf).unwrap();
        files.insert(e.path().unwrap().display().to_string(), buf);
    }
    let bj: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    for f in bj["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert_eq!(f["sha256"], sha256_hex(&files[p]), "{p}");
    }
    assert_eq!(files["bin/llm-cli-gateway"], std::fs::read(BIN).unwrap());

    // The same directory, served, installs through the manifest.
    srv.serve_dir("/rel", dir.path());
    let home = Home::new();
    let (doc, code) = home.json(&[
        "install-bundle",
        "--manifest",
        &srv.url("/rel/release-manifest.json"),
    ]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["version"], "1.2.3");

    // A bad version is refused; a --binary for a foreign target too.
    let bad = build_release(&dir.path().join("bad"), "not-semver", &srv.url("/x"));
    assert!(!bad.status.success());
    assert!(support::stderr(&bad).contains("not a semantic version"));
}
