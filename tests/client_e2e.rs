//! The workflow users install the product for, end to end: `setup --yes`, connect Codex
//! with `print-client-config --write --client codex`, then a real MCP client starts
//! exactly the server that Codex's config names (the stdio bridge) and asks three
//! providers, one of them failing, to validate a claim. Doctor then agrees with the state.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::{McpClient, standin_path};
use support::{Home, assert_valid};

/// The `[mcp_servers.llm-cli-gateway]` table Codex would read.
fn codex_entry(home: &Path) -> (String, Vec<String>, Vec<(String, String)>) {
    let text = std::fs::read_to_string(home.join(".codex/config.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let entry = &doc["mcp_servers"]["llm-cli-gateway"];
    let command = entry["command"].as_str().unwrap().to_string();
    let args = entry
        .get("args")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    let env = entry
        .get("env")
        .and_then(|e| e.as_table())
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    (command, args, env)
}

#[test]
fn setup_connect_codex_and_validate_with_three_providers() {
    let user = tempfile::tempdir().unwrap();
    let mut h = Home::new();
    h.extra_env = vec![
        ("PATH".into(), standin_path()),
        ("HOME".into(), user.path().display().to_string()),
        (
            "STANDIN_REPLY".into(),
            "VERDICT: AGREE\nYes, 2 + 2 = 4.".into(),
        ),
        ("STANDIN_GEMINI_MODE".into(), "fail".into()),
    ];
    h.setup();
    let token = h.token();

    let (doc, code) = h.json(&["print-client-config", "--write", "--client", "codex"]);
    assert_eq!(code, 0, "{doc:#}");
    let written = std::fs::read_to_string(user.path().join(".codex/config.toml")).unwrap();
    assert!(
        !written.contains(&token),
        "the token never lands in a client's config"
    );
    let (again, code) = h.json(&["print-client-config", "--write", "--client", "codex"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(user.path().join(".codex/config.toml")).unwrap(),
        written,
        "a second run changes nothing: {again:#}"
    );

    // What Codex would start, started by the official MCP SDK instead.
    let (command, args, mut env) = codex_entry(user.path());
    env.push(("HOME".into(), user.path().display().to_string()));
    let mut client = McpClient::spawn_stdio(&command, &args, &env);
    let r = client.send(
        json!({"op": "call_progress", "name": "validate_with_models", "args": {
            "question": "Is 2 + 2 = 4?",
            "providers": ["claude", "codex", "gemini"],
            "timeoutMs": 30000
        }}),
        Duration::from_secs(90),
    );
    assert_eq!(r["ok"], true, "{r:#}");
    let report = &r["structured"];
    let status = |p: &str| -> Value {
        report["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["provider"] == p)
            .unwrap_or_else(|| panic!("{p} missing from {report:#}"))["status"]
            .clone()
    };
    assert_eq!(status("claude"), "ok");
    assert_eq!(status("codex"), "ok");
    assert_eq!(
        status("gemini"),
        "failed",
        "the failing one is kept, not dropped"
    );
    assert_eq!(report["summary"]["ok"], 2);
    assert_eq!(report["summary"]["failed"], 1);
    let text = r["text"].as_str().unwrap();
    for p in ["claude", "codex", "gemini"] {
        assert!(text.contains(p), "{p} missing from the text: {text}");
    }
    assert!(
        !r["progress"].as_array().unwrap().is_empty(),
        "progress reached the client through the bridge"
    );
    drop(client);

    // The jobs ran in the one service: its store has them.
    let (doc, code) = h.json(&["doctor"]);
    assert_valid(&doc);
    assert_eq!(code, 0, "{doc:#}");
    let codex = doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "codex")
        .unwrap();
    assert_eq!(codex["points_at_gateway"], true, "{codex}");
    let actions: Vec<&str> = doc["next_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        !actions.iter().any(|a| a.contains("setup")
            || a.contains("start")
            || a.contains("print-client-config")),
        "installed, running and connected: {actions:#?}"
    );
    assert!(
        actions.iter().any(|a| a.contains("Gemini")),
        "gemini has no credentials here, so logging in to it is next: {actions:#?}"
    );
}
