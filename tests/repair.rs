//! `repair` on the process backend: modes, a tampered installed file, a broken `current`,
//! a dead gateway — found by `--dry-run` without changes, then fixed.

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::Home;

const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn kinds(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn repair_finds_then_fixes_drift() {
    let home = Home::new();
    home.setup();
    let (clean, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{clean:#}");
    assert_eq!(
        clean["findings"],
        serde_json::json!([]),
        "a fresh install needs nothing"
    );

    let token = home.path().join("auth-token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = home
        .path()
        .join(format!("versions/{CURRENT}/status.schema.json"));
    let original = std::fs::read(&file).unwrap();
    std::fs::write(&file, b"tampered").unwrap();
    let (stopped, code) = home.json(&["stop"]);
    assert_eq!(code, 0, "{stopped:#}");

    let before = home.snapshot();
    let (dry, code) = home.json(&["repair", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(dry["dry_run"], true);
    let k = kinds(&dry);
    for want in ["wrong-mode", "file-hash", "gateway-down"] {
        assert!(k.contains(&want.to_string()), "{want} not found: {dry:#}");
    }
    assert!(
        dry["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["fixed"] == false)
    );
    assert!(home.snapshot() == before, "--dry-run changed files");

    let (fixed, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{fixed:#}");
    assert_eq!(fixed["changed"], true);
    assert!(
        fixed["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["fixed"] == true),
        "{fixed:#}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "tampered file reinstalled"
    );
    assert_eq!(
        std::fs::metadata(&token).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (st, code) = home.json(&["status"]);
    assert_eq!(code, 0, "gateway running again: {st:#}");
    // The previous-version record survives a reinstall of the active version.
    let (again, _) = home.json(&["repair"]);
    assert_eq!(again["findings"], serde_json::json!([]), "{again:#}");
}

#[test]
fn repair_restores_a_broken_current_pointer() {
    let home = Home::new();
    home.setup();
    std::fs::remove_file(home.path().join("current")).unwrap();
    let (dry, _) = home.json(&["repair", "--dry-run"]);
    assert!(
        kinds(&dry).contains(&"current-pointer".to_string()),
        "{dry:#}"
    );
    assert!(!home.path().join("current").exists());
    let (fixed, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{fixed:#}");
    assert_eq!(
        std::fs::read_link(home.path().join("current"))
            .unwrap()
            .to_str(),
        Some(format!("versions/{CURRENT}").as_str())
    );
    let (st, code) = home.json(&["status"]);
    assert_eq!(code, 0, "{st:#}");
}
