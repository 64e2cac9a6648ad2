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

/// POSTs an MCP `initialize` to the gateway with `token`; the HTTP status.
fn initialize_with(home: &Home, token: &str) -> u16 {
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let bearer = format!("Bearer {token}");
    support::http_request(
        "POST",
        &format!("http://127.0.0.1:{}/mcp", home.port),
        &[
            ("Accept", "application/json, text/event-stream"),
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        init,
    )
    .unwrap()
    .0
}

#[test]
fn repair_recreates_a_deleted_token_and_logs_dir() {
    let home = Home::new();
    home.setup();
    let old_token = home.token();
    let token = home.path().join("auth-token");
    let logs = home.path().join("logs");
    std::fs::remove_file(&token).unwrap();
    std::fs::remove_dir_all(&logs).unwrap();

    let before = home.snapshot();
    let (dry, code) = home.json(&["repair", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    let k = kinds(&dry);
    for want in ["token-missing", "missing-dir", "stale-token"] {
        assert!(k.contains(&want.to_string()), "{want} not found: {dry:#}");
    }
    let missing_dir = dry["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "missing-dir")
        .unwrap();
    assert!(
        missing_dir["detail"]
            .as_str()
            .unwrap()
            .contains(logs.to_str().unwrap()),
        "{dry:#}"
    );
    assert!(home.snapshot() == before, "--dry-run changed files");
    assert!(!token.exists() && !logs.exists());

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
    assert!(logs.is_dir());
    assert_eq!(
        std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(&token).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let new_token = home.token();
    assert_ne!(new_token, old_token);
    assert!(
        !fixed.to_string().contains(&new_token),
        "the token never appears in output"
    );
    // The running gateway serves the new token, not the deleted one.
    assert_eq!(initialize_with(&home, &new_token), 200);
    assert_eq!(initialize_with(&home, &old_token), 401);

    let (again, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["findings"], serde_json::json!([]), "{again:#}");
}
