//! The official MCP Python SDK talks to the real gateway over streamable HTTP and stdio.
//! The venv comes from scripts/test.sh (or LLM_CLI_GATEWAY_TEST_PYTHON).

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::Home;
use support::mcp::python;

fn client(args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed:\nstdout: {}\nstderr: {}",
        support::stdout(&out),
        support::stderr(&out)
    );
    serde_json::from_str(support::stdout(&out).trim()).unwrap()
}

fn check_session(r: &Value) {
    assert_eq!(r["server_name"], "llm-cli-gateway");
    assert_eq!(r["server_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        r["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "llm_process_health"),
        "{r:#}"
    );
    assert_eq!(r["health_is_error"], false);
    assert_eq!(r["health"]["status"], "ok");
    assert_eq!(r["health"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(r["health"]["pid"].as_u64().unwrap() > 1);
    assert_eq!(r["structured"]["name"], "llm-cli-gateway");
}

#[test]
fn python_sdk_over_streamable_http() {
    let home = Home::new();
    home.setup();
    let url = format!("http://127.0.0.1:{}/mcp", home.port);
    let r = client(&["http", &url, &home.token()]);
    check_session(&r);
    let (_, body) = support::http_get(&home.health_url(), &[]).unwrap();
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        r["health"]["pid"], health["pid"],
        "the tool reports the serving process"
    );
    let unauth = r["unauthenticated"].as_str().unwrap();
    assert!(unauth.starts_with("rejected"), "{unauth}");
    assert_eq!(
        r["unauthenticated_statuses"],
        serde_json::json!([401]),
        "{r:#}"
    );
}

#[test]
fn python_sdk_over_stdio() {
    let home = Home::new();
    let r = client(&["stdio", support::BIN, home.path().to_str().unwrap()]);
    check_session(&r);
}
