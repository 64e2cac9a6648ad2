//! `approval_list` through a real MCP client (the official Python SDK over streamable
//! HTTP) against `serve`: its schema, an empty record, filters and the refusals of bad
//! parameters, and records another connection wrote to the store, listed newest first.

mod support;

use std::time::Duration;

use llm_cli_gateway::store::Store;
use llm_cli_gateway::store::decisions::{DecisionKind, DecisionRecord, prompt_fields};
use serde_json::{Value, json};
use support::mcp::{McpClient, TestGateway};

/// The message of a call the gateway must refuse, whether it refuses as a tool error
/// (`isError`) or as a protocol error (invalid params, which the SDK raises).
fn refusal(c: &mut McpClient, args: Value) -> String {
    let r = c.send_raw(
        json!({"op": "call", "name": "approval_list", "args": args}),
        Duration::from_secs(60),
    );
    if r["ok"] == true {
        assert_eq!(r["is_error"], true, "{args} should be refused: {r:#}");
        r["text"].as_str().unwrap().to_string()
    } else {
        r["error"].as_str().unwrap().to_string()
    }
}

#[test]
fn approval_list_is_listed_read_only_with_the_seeds_parameters() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let tools = c.send(json!({"op": "list_tools"}), Duration::from_secs(30));
    let tool = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "approval_list")
        .unwrap_or_else(|| panic!("approval_list is not listed: {tools:#}"));
    let schema = &tool["input_schema"];
    let mut props: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    props.sort();
    assert_eq!(props, ["cli", "limit", "status"], "{schema:#}");
    assert_eq!(schema["additionalProperties"], false, "{schema:#}");
    assert!(schema.get("required").is_none_or(|r| r == &json!([])));
    let a = &tool["annotations"];
    assert_eq!(a["readOnlyHint"], true, "{tool:#}");
    assert_eq!(a["idempotentHint"], true, "{tool:#}");
    assert_eq!(a["destructiveHint"], false, "{tool:#}");
    assert_eq!(a["openWorldHint"], false, "{tool:#}");
}

#[test]
fn with_no_decisions_the_list_is_empty_and_bad_parameters_are_named() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();

    let r = c.call("approval_list", json!({}));
    assert_eq!(r["is_error"], false, "{r:#}");
    let v = &r["structured"];
    assert_eq!(v["success"], true, "{v:#}");
    assert_eq!(v["count"], 0);
    assert_eq!(v["approvals"], json!([]));
    assert_eq!(v["limit"], 50);
    let text = r["text"].as_str().unwrap();
    assert!(text.starts_with("No policy decisions recorded."), "{text}");

    let v = c.ok(
        "approval_list",
        json!({"cli": "codex", "status": "refused", "limit": 5}),
    );
    assert_eq!(v["count"], 0);
    assert_eq!(v["filters"], json!({"cli": "codex", "status": "refused"}));
    assert_eq!(v["limit"], 5);
    // The seed's status names.
    let v = c.ok(
        "approval_list",
        json!({"cli": "mistral", "status": "denied"}),
    );
    assert_eq!(v["filters"], json!({"cli": "mistral", "status": "refused"}));
    // Out-of-range limits are clamped to 1..=500, as the seed's bounds.
    assert_eq!(c.ok("approval_list", json!({"limit": 0}))["limit"], 1);
    assert_eq!(
        c.ok("approval_list", json!({"limit": 100000}))["limit"],
        500
    );

    let e = refusal(&mut c, json!({"limt": 5}));
    assert!(e.contains("limt"), "{e}");
    let e = refusal(&mut c, json!({"cli": "gpt-5"}));
    assert!(e.contains("gpt-5"), "{e}");
    assert!(e.contains("claude, codex, gemini, grok, mistral"), "{e}");
    let e = refusal(&mut c, json!({"status": "maybe"}));
    assert!(
        e.contains("\"maybe\"") && e.contains("user_declined"),
        "{e}"
    );
    // Refusals are not recorded as decisions: nothing ran, nothing was asked.
    assert_eq!(c.ok("approval_list", json!({}))["count"], 0);
}

#[test]
fn records_in_the_store_are_listed_newest_first_and_filtered() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    // Another connection on the same file, as a second gateway would write it.
    let store = Store::open(&g.home.path().join("gateway.db")).unwrap();
    let now = llm_cli_gateway::store::now_ms();
    let secret = "ghp_0123456789abcdefABCDEF0123456789abcd";
    let prompt = format!("push with {secret} please");
    for (i, (provider, decision, record_prompts)) in [
        ("claude", DecisionKind::Allowed, false),
        ("codex", DecisionKind::Refused, true),
        ("codex", DecisionKind::UserApproved, false),
        ("gemini", DecisionKind::UserDeclined, false),
    ]
    .into_iter()
    .enumerate()
    {
        let (prompt_sha256, prompt_preview) = prompt_fields(&prompt, record_prompts);
        store
            .record_decision(&DecisionRecord {
                id: format!("dec-{i}"),
                at_ms: now + i as i64,
                provider: provider.into(),
                tool: format!("{provider}_request"),
                level: "balanced".into(),
                decision,
                reasons: vec![format!("reason {i}")],
                prompt_sha256,
                prompt_preview,
                correlation_id: Some(format!("corr-{i}")),
                job_id: (decision == DecisionKind::Allowed).then(|| "job-0".to_string()),
            })
            .unwrap();
    }

    let r = c.call("approval_list", json!({}));
    let v = &r["structured"];
    let ids: Vec<&str> = v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dec-3", "dec-2", "dec-1", "dec-0"], "{v:#}");
    assert_eq!(v["count"], 4);
    let newest = &v["approvals"][0];
    assert_eq!(newest["decision"], "user_declined");
    assert_eq!(newest["status"], "denied");
    assert_eq!(newest["cli"], "gemini");
    assert_eq!(newest["reasons"], json!(["reason 3"]));
    assert!(newest["ts"].as_str().unwrap().ends_with('Z'));
    let text = r["text"].as_str().unwrap();
    assert!(
        text.starts_with("4 policy decisions, newest first:"),
        "{text}"
    );
    assert!(text.contains("    - reason 3"), "{text}");
    assert!(!r.to_string().contains(secret), "the secret leaked: {r:#}");
    // The opted-in preview is there, redacted; the others have none.
    assert_eq!(
        v["approvals"][2]["promptPreview"],
        "push with ghp_[REDACTED] please"
    );
    assert!(v["approvals"][1]["promptPreview"].is_null());

    let only = |c: &mut McpClient, args: Value| -> Vec<String> {
        c.ok("approval_list", args)["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only(&mut c, json!({"cli": "codex"})), ["dec-2", "dec-1"]);
    assert_eq!(only(&mut c, json!({"status": "approved"})), ["dec-0"]);
    assert_eq!(only(&mut c, json!({"status": "user_approved"})), ["dec-2"]);
    assert_eq!(
        only(&mut c, json!({"cli": "codex", "status": "refused"})),
        ["dec-1"]
    );
    assert_eq!(only(&mut c, json!({"limit": 2})), ["dec-3", "dec-2"]);
}
