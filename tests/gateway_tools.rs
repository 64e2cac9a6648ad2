//! The gateway's tools through a real MCP client (official Python SDK over streamable
//! HTTP, and stdio) against `serve` with stand-in provider CLIs on its PATH.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::{McpClient, TestGateway, argv, has_pair, invocations_of};
use support::{eventually, pid_alive};

const PROVIDERS: [(&str, &str); 5] = [
    ("claude", "claude"),
    ("codex", "codex"),
    ("gemini", "gemini"),
    ("grok", "grok"),
    ("mistral", "vibe"),
];

fn tmp_cwd() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn tools_and_resources_are_listed_with_schemas() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    assert_eq!(c.server["name"], "llm-cli-gateway");
    let tools = c.send(json!({"op": "list_tools"}), Duration::from_secs(30));
    let names: BTreeSet<String> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let mut expected: BTreeSet<String> = [
        "codex_fork_session",
        "llm_job_status",
        "llm_job_result",
        "llm_job_cancel",
        "llm_process_health",
        "session_create",
        "session_list",
        "session_get",
        "session_set_active",
        "session_delete",
        "session_clear_all",
        "list_models",
        "cli_versions",
        "cli_upgrade",
        "validate_with_models",
        "second_opinion",
        "compare_answers",
        "red_team_review",
        "consensus_check",
        "ask_model",
        "synthesize_validation",
        "job_status",
        "job_result",
        "doctor",
        "approval_list",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for (p, _) in PROVIDERS {
        expected.insert(format!("{p}_request"));
        expected.insert(format!("{p}_request_async"));
    }
    assert_eq!(names, expected);
    let claude = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "claude_request")
        .unwrap();
    let schema = &claude["input_schema"];
    assert_eq!(schema["required"], json!(["prompt"]));
    let modes = schema["properties"]["permissionMode"]["enum"]
        .as_array()
        .unwrap();
    assert!(modes.contains(&json!("plan")), "{schema:#}");
    assert!(schema["properties"]["forceRefresh"].is_object());

    let res = c.send(json!({"op": "list_resources"}), Duration::from_secs(30));
    let uris: Vec<&str> = res["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for (p, _) in PROVIDERS {
        assert!(
            uris.contains(&format!("sessions://{p}").as_str()),
            "{uris:?}"
        );
        assert!(uris.contains(&format!("models://{p}").as_str()), "{uris:?}");
    }
    let models = c.send(
        json!({"op": "read_resource", "uri": "models://mistral"}),
        Duration::from_secs(30),
    );
    let models: Value = serde_json::from_str(models["text"].as_str().unwrap()).unwrap();
    assert_eq!(models["defaultModel"], "devstral-medium", "{models:#}");
}

#[test]
fn every_provider_answers_through_its_sync_tool() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let cwd = tmp_cwd();
    for (provider, cli) in PROVIDERS {
        let format = match provider {
            "grok" => "plain",
            _ => "json",
        };
        let r = c.ok(
            &format!("{provider}_request"),
            json!({"prompt": format!("hello {provider}"), "outputFormat": format, "cwd": cwd.path()}),
        );
        assert_eq!(r["status"], "completed", "{provider}: {r:#}");
        assert_eq!(
            r["response"],
            format!("stand-in {cli} reply: hello {provider}"),
            "{provider}: {r:#}"
        );
        assert_eq!(r["deduped"], false);
        let inv = invocations_of(&g, cli);
        assert_eq!(inv.len(), 1, "{cli} ran once");
        assert_eq!(inv[0]["cwd"], cwd.path().to_str().unwrap());
        assert_eq!(
            inv[0]["stdin_is_closed"], true,
            "{cli}: stdin must be closed"
        );
        assert_eq!(inv[0]["pgid"], inv[0]["pid"], "{cli}: own process group");
    }
    // Provider-specific argv, as the real CLIs expect it.
    let claude = argv(&invocations_of(&g, "claude")[0]);
    assert!(
        has_pair(&claude, "-p", "hello claude") && has_pair(&claude, "--output-format", "json"),
        "{claude:?}"
    );
    let codex = argv(&invocations_of(&g, "codex")[0]);
    assert_eq!(codex[0], "exec");
    assert!(codex.contains(&"--json".into()) && codex.contains(&"--skip-git-repo-check".into()));
    let gemini = argv(&invocations_of(&g, "gemini")[0]);
    assert!(
        has_pair(&gemini, "-o", "json") && gemini.contains(&"--skip-trust".into()),
        "{gemini:?}"
    );
    let vibe = &invocations_of(&g, "vibe")[0];
    assert_eq!(
        vibe["env"]["VIBE_ACTIVE_MODEL"], "devstral-medium",
        "{vibe}"
    );
    // Vibe's own default (auto-approve) exceeds the default level: the policy picks
    // the highest agent balanced allows.
    assert!(has_pair(&argv(vibe), "--agent", "accept-edits"), "{vibe}");

    // Usage and cost from JSON output reach the flight recorder.
    let store = llm_cli_gateway::store::Store::open(&g.home.path().join("gateway.db")).unwrap();
    let flights = store.recent_flights(20).unwrap();
    assert_eq!(flights.len(), 5, "{flights:#?}");
    let by = |p: &str| flights.iter().find(|f| f.provider == p).unwrap().clone();
    let claude = by("claude");
    assert_eq!(claude.usage.input_tokens, Some(12));
    assert_eq!(claude.usage.output_tokens, Some(34));
    assert_eq!(claude.usage.cost_usd, Some(0.0123));
    assert_eq!(by("codex").usage.output_tokens, Some(45));
    assert_eq!(by("gemini").usage.input_tokens, Some(100));
    assert!(
        flights
            .iter()
            .all(|f| f.status == "completed" && f.exit_code == Some(0))
    );
    assert!(flights.iter().all(|f| !f.correlation_id.is_empty()));
}

#[test]
fn async_start_then_status_then_result() {
    let g = TestGateway::start(&[("STANDIN_DELAY_MS", "700")]);
    let mut c = g.client();
    let started = c.ok(
        "gemini_request_async",
        json!({"prompt": "long review", "outputFormat": "json", "correlationId": "trace-42"}),
    );
    let id = started["jobId"].as_str().unwrap().to_string();
    assert_eq!(started["status"], "running", "{started:#}");
    let health = c.ok("llm_process_health", json!({}));
    assert_eq!(health["active_processes"], 1, "{health:#}");
    let status = c.wait_job(&id, Duration::from_secs(30));
    assert_eq!(status["status"], "completed", "{status:#}");
    assert_eq!(status["correlationId"], "trace-42");
    let result = c.ok("llm_job_result", json!({"jobId": id}));
    assert_eq!(result["response"], "stand-in gemini reply: long review");
    assert_eq!(result["usage"]["outputTokens"], 40);
    assert_eq!(result["stdoutTruncated"], false);
    let cut = c.ok("llm_job_result", json!({"jobId": id, "maxChars": 8}));
    // A cut ends with the marker that says how much is left and how to page on.
    let shown = cut["response"].as_str().unwrap();
    assert!(shown.starts_with("stand-in… [truncated: "), "{shown}");
    assert_eq!(cut["nextOffset"], 8);
    assert_eq!(cut["responseTruncated"], true);
    assert_eq!(cut["stdoutTruncated"], true);
    // Canceling a finished job changes nothing.
    let cancel = c.ok("llm_job_cancel", json!({"jobId": id}));
    assert_eq!(cancel["canceled"], false);
    assert_eq!(cancel["status"], "completed");
    let err = c.err("llm_job_status", json!({"jobId": "job-doesnotexist"}));
    assert!(err.contains("no job"), "{err}");

    let m = c.ok(
        "mistral_request_async",
        json!({"prompt": "async vibe", "outputFormat": "streaming"}),
    );
    let m_id = m["jobId"].as_str().unwrap();
    assert_eq!(
        c.wait_job(m_id, Duration::from_secs(30))["status"],
        "completed"
    );
    let r = c.ok("llm_job_result", json!({"jobId": m_id}));
    assert_eq!(r["response"], "stand-in vibe reply: async vibe");
    assert!(
        r["sessionId"].as_str().is_some_and(|s| !s.is_empty()),
        "{r:#}"
    );
}

#[test]
fn the_dedup_window_expires_and_retention_prunes_old_jobs() {
    // Wide enough that a loaded machine still sends the second request inside it.
    let mut g = TestGateway::start(&[("LLM_GATEWAY_DEDUP_WINDOW_MS", "3000")]);
    let mut c = g.client();
    let a = c.ok("claude_request", json!({"prompt": "q"}));
    let b = c.ok("claude_request", json!({"prompt": "q"}));
    assert_eq!(a["jobId"], b["jobId"], "inside the window");
    // Re-issue until the request runs again: that must not happen inside the window.
    let t0 = std::time::Instant::now();
    let started_at = a["startedAtMs"].as_i64().unwrap();
    let later = loop {
        let r = c.ok("claude_request", json!({"prompt": "q"}));
        if r["jobId"] != a["jobId"] {
            break r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "dedup never expired"
        );
    };
    assert!(later["startedAtMs"].as_i64().unwrap() - started_at >= 3000);
    assert_eq!(invocations_of(&g, "claude").len(), 2);
    // Retention 0 days: finished jobs are pruned when the gateway starts.
    drop(c);
    g.stop();
    g.env
        .push(("LLM_GATEWAY_JOB_RETENTION_DAYS".into(), "0".into()));
    g.spawn();
    let mut c = g.client();
    let text = c.err("llm_job_status", json!({"jobId": a["jobId"]}));
    assert!(text.contains("no job"), "{text}");
}

#[test]
fn a_slow_sync_request_hands_back_a_job_instead_of_timing_out() {
    let g = TestGateway::start(&[
        ("STANDIN_DELAY_MS", "4000"),
        ("LLM_GATEWAY_SYNC_WAIT_MS", "300"),
    ]);
    let mut c = g.client();
    let t = std::time::Instant::now();
    let r = c.ok("claude_request", json!({"prompt": "think hard"}));
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "returned after {:?}",
        t.elapsed()
    );
    assert_eq!(r["status"], "running", "{r:#}");
    let id = r["jobId"].as_str().unwrap();
    let done = c.wait_job(id, Duration::from_secs(30));
    assert_eq!(done["status"], "completed");
    let result = c.ok("llm_job_result", json!({"jobId": id}));
    assert_eq!(result["response"], "stand-in claude reply: think hard");
}

#[test]
fn identical_requests_share_one_run_across_clients() {
    let g = TestGateway::start(&[("STANDIN_DELAY_MS", "800")]);
    let args = json!({"prompt": "expensive audit", "outputFormat": "json"});
    let url = g.url();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (url, args) = (url.clone(), args.clone());
            std::thread::spawn(move || {
                let mut c = McpClient::http(
                    &url,
                    "test-token-0123456789abcdef0123456789abcdef0123456789abcdef",
                );
                c.ok("codex_request_async", args)
            })
        })
        .collect();
    let results: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results[0]["jobId"], results[1]["jobId"], "{results:#?}");
    let deduped: Vec<bool> = results
        .iter()
        .map(|r| r["deduped"].as_bool().unwrap())
        .collect();
    assert_eq!(deduped.iter().filter(|d| **d).count(), 1, "{results:#?}");
    let mut c = g.client();
    let id = results[0]["jobId"].as_str().unwrap();
    c.wait_job(id, Duration::from_secs(30));
    // A later identical sync request gets the finished result without running again.
    let again = c.ok("codex_request", args.clone());
    assert_eq!(again["jobId"], id);
    assert_eq!(again["deduped"], true);
    assert_eq!(again["response"], "stand-in codex reply: expensive audit");
    assert_eq!(invocations_of(&g, "codex").len(), 1);
    // forceRefresh runs again; a different cwd or model is a different request.
    let mut fresh = args.clone();
    fresh["forceRefresh"] = json!(true);
    let refreshed = c.ok("codex_request", fresh);
    assert_ne!(refreshed["jobId"], id);
    assert_eq!(invocations_of(&g, "codex").len(), 2);
    let a = c.ok(
        "mistral_request",
        json!({"prompt": "same", "model": "devstral-large"}),
    );
    let b = c.ok(
        "mistral_request",
        json!({"prompt": "same", "model": "devstral-small"}),
    );
    assert_ne!(
        a["jobId"], b["jobId"],
        "the model is in VIBE_ACTIVE_MODEL, which is part of the identity"
    );
    let models: Vec<Value> = invocations_of(&g, "vibe")
        .iter()
        .map(|i| i["env"]["VIBE_ACTIVE_MODEL"].clone())
        .collect();
    assert_eq!(
        models,
        vec![json!("devstral-large"), json!("devstral-small")]
    );
    // Same argv and env, only the working directory differs: the CLI would read other
    // files, so it is another run.
    let (here, there) = (tmp_cwd(), tmp_cwd());
    let in_dir = |dir: &tempfile::TempDir| json!({"prompt": "review this repo", "cwd": dir.path().to_str().unwrap()});
    let a = c.ok("codex_request", in_dir(&here));
    let b = c.ok("codex_request", in_dir(&there));
    assert_ne!(a["jobId"], b["jobId"], "{a:#}\n{b:#}");
    assert_eq!(b["deduped"], false);
    let again = c.ok("codex_request", in_dir(&here));
    assert_eq!(
        again["jobId"], a["jobId"],
        "same cwd again is the same request"
    );
    let cwds: Vec<Value> = invocations_of(&g, "codex")[2..]
        .iter()
        .map(|i| i["cwd"].clone())
        .collect();
    let canonical = |d: &tempfile::TempDir| json!(d.path().canonicalize().unwrap());
    assert_eq!(cwds, vec![canonical(&here), canonical(&there)]);
}

#[test]
fn dedup_can_be_disabled() {
    let g = TestGateway::start(&[("LLM_GATEWAY_DEDUP_WINDOW_MS", "0")]);
    let mut c = g.client();
    let a = c.ok("grok_request", json!({"prompt": "q"}));
    let b = c.ok("grok_request", json!({"prompt": "q"}));
    assert_ne!(a["jobId"], b["jobId"]);
    assert_eq!(invocations_of(&g, "grok").len(), 2);
}

#[test]
fn hostile_and_invalid_requests_are_refused_before_anything_runs() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("claude_request", json!({"prompt": ""}), "prompt is empty"),
        (
            "claude_request",
            json!({"prompt": "x".repeat(1_000_000)}),
            "limit is 100000",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "model": "--dangerously-skip-permissions"}),
            "invalid model",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "model": "bad model\nname"}),
            "invalid model",
        ),
        (
            "gemini_request",
            json!({"prompt": "x", "cwd": "/no/such/dir/anywhere"}),
            "does not exist",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "cwd": "relative/dir"}),
            "absolute",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "permissionMode": "yolo"}),
            "permissionMode",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "allowedTools": ["--evil"]}),
            "tool name",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "sessionId": "a", "resumeLatest": true}),
            "exclusive",
        ),
        (
            "claude_request",
            json!({"prompt": "x", "sessionId": "not-a-uuid"}),
            "UUID",
        ),
        (
            "codex_request",
            json!({"prompt": "x", "sessionId": "gw-0123456789abcdef"}),
            "no gateway session",
        ),
        (
            "codex_request",
            json!({"prompt": "x", "configOverrides": {"a b": "c"}}),
            "configOverrides",
        ),
        (
            "codex_request",
            json!({"prompt": "x", "outputFormat": "yaml"}),
            "outputFormat",
        ),
        ("claude_request", json!({"prompt": 42}), "invalid arguments"),
        (
            "mistral_request",
            json!({"prompt": "x", "permissionMode": "bogus-agent"}),
            "permissionMode",
        ),
        ("codex_fork_session", json!({"prompt": "x"}), "exactly one"),
        ("session_create", json!({"cli": "chatgpt"}), "unknown cli"),
        ("list_models", json!({"cli": "nope"}), "unknown cli"),
        (
            "cli_upgrade",
            json!({"cli": "claude", "target": "--force"}),
            "target",
        ),
    ];
    for (tool, args, expect) in cases {
        let text = c.err(tool, args.clone());
        assert!(
            text.contains(expect),
            "{tool} {args}: expected {expect:?} in {text:?}"
        );
    }
    assert!(
        g.invocations().is_empty(),
        "nothing may run: {:?}",
        g.invocations()
    );
    // An unknown tool is refused, and the gateway keeps serving.
    let unknown = c.send_raw(
        json!({"op": "call", "name": "no_such_tool", "args": {}}),
        Duration::from_secs(30),
    );
    let described = format!("{unknown}");
    assert!(
        unknown["ok"] == false || unknown["is_error"] == true,
        "unknown tool must be refused: {described}"
    );
    assert!(
        described.contains("no_such_tool") || described.to_lowercase().contains("not found"),
        "{described}"
    );
    let health = c.ok("llm_process_health", json!({}));
    assert_eq!(health["status"], "ok");
}

#[test]
fn a_missing_cli_is_an_install_hint_not_a_crash() {
    let g = TestGateway::start(&[("PATH", "/usr/bin:/bin")]);
    let mut c = g.client();
    let text = c.err("claude_request", json!({"prompt": "hi"}));
    assert!(text.contains("not installed"), "{text}");
    assert!(
        text.contains("npm install -g @anthropic-ai/claude-code"),
        "{text}"
    );
    let text = c.err("mistral_request_async", json!({"prompt": "hi"}));
    assert!(
        text.contains("mistral-vibe") && text.contains("not the unrelated `vibe-cli`"),
        "{text}"
    );
    let versions = c.ok("cli_versions", json!({}));
    for v in versions["clis"].as_array().unwrap() {
        assert_eq!(v["installed"], false, "{v}");
    }
}

#[test]
fn cli_failures_surface_the_clis_own_message() {
    let g = TestGateway::start(&[
        ("STANDIN_CLAUDE_MODE", "not_logged_in"),
        ("STANDIN_GEMINI_MODE", "not_logged_in"),
        ("STANDIN_VIBE_MODE", "not_logged_in"),
        ("STANDIN_CODEX_MODE", "garbage"),
    ]);
    let mut c = g.client();
    let r = c.call(
        "claude_request",
        json!({"prompt": "hi", "outputFormat": "json"}),
    );
    assert_eq!(r["is_error"], true);
    let text = r["text"].as_str().unwrap();
    assert!(text.contains("Not logged in · Please run /login"), "{text}");
    assert!(text.contains("/login"), "{text}");
    assert_eq!(r["structured"]["notAuthenticated"], true);
    assert_eq!(r["structured"]["status"], "failed");

    let r = c.call(
        "gemini_request",
        json!({"prompt": "hi", "outputFormat": "json"}),
    );
    assert_eq!(r["is_error"], true);
    assert_eq!(r["structured"]["exitCode"], 41);
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("Please set an Auth method"),
        "{r:#}"
    );

    let r = c.call("mistral_request", json!({"prompt": "hi"}));
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("Missing MISTRAL_API_KEY"),
        "{r:#}"
    );

    // Garbage where JSON was promised: the run is kept, flagged, raw text returned.
    let r = c.call(
        "codex_request",
        json!({"prompt": "hi", "outputFormat": "json"}),
    );
    let s = &r["structured"];
    assert!(
        s["parseWarning"].as_str().unwrap().contains("JSON"),
        "{r:#}"
    );
    assert!(s["response"].as_str().is_some());
}

#[test]
fn a_silent_cli_is_killed_by_the_idle_timeout() {
    let g = TestGateway::start(&[
        ("STANDIN_CLAUDE_MODE", "hang"),
        ("STANDIN_CODEX_MODE", "offline"),
    ]);
    let mut c = g.client();
    let t = std::time::Instant::now();
    let r = c.call(
        "claude_request",
        json!({"prompt": "hi", "idleTimeoutMs": 600}),
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(r["is_error"], true);
    assert_eq!(r["structured"]["status"], "failed");
    assert!(
        r["structured"]["reason"]
            .as_str()
            .unwrap()
            .contains("idle timeout"),
        "{r:#}"
    );
    let pid = invocations_of(&g, "claude")[0]["pid"].as_u64().unwrap() as u32;
    assert!(
        eventually(Duration::from_secs(5), || !pid_alive(pid)),
        "stand-in {pid} still alive"
    );

    // Codex offline keeps printing "Reconnecting…" with growing pauses; the reason says so.
    let r = c.call(
        "codex_request",
        json!({"prompt": "hi", "outputFormat": "json", "idleTimeoutMs": 1500}),
    );
    let reason = r["structured"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("idle timeout") && reason.contains("Reconnecting"),
        "{reason}"
    );
}

#[test]
fn cancel_kills_the_whole_process_group() {
    // STANDIN_CHILD: the stand-in leaves a `sleep 600` in its group, which only a kill of
    // the whole group ends.
    let g = TestGateway::start(&[("STANDIN_GROK_MODE", "hang"), ("STANDIN_CHILD", "1")]);
    let mut c = g.client();
    let started = c.ok("grok_request_async", json!({"prompt": "forever"}));
    let id = started["jobId"].as_str().unwrap();
    assert!(eventually(Duration::from_secs(10), || !invocations_of(
        &g, "grok"
    )
    .is_empty()));
    let inv = &invocations_of(&g, "grok")[0];
    let pid = inv["pid"].as_u64().unwrap() as u32;
    let grandchild = inv["child_pid"]
        .as_u64()
        .expect("STANDIN_CHILD logs child_pid") as u32;
    assert!(pid_alive(pid));
    assert!(pid_alive(grandchild));
    let r = c.ok("llm_job_cancel", json!({"jobId": id}));
    assert_eq!(r["canceled"], true);
    assert_eq!(r["status"], "canceled");
    assert!(eventually(Duration::from_secs(5), || !pid_alive(pid)));
    let grandchild_gone = eventually(Duration::from_secs(5), || !pid_alive(grandchild));
    if !grandchild_gone {
        // Leave nothing behind even when the assertion below fails.
        // SAFETY: sends a signal to the pid the stand-in just logged.
        unsafe {
            libc::kill(grandchild as i32, libc::SIGKILL);
        }
    }
    assert!(
        grandchild_gone,
        "the grandchild {grandchild} outlived the cancel"
    );
    let s = c.ok("llm_job_status", json!({"jobId": id}));
    assert_eq!(s["status"], "canceled");
}

#[test]
fn an_output_flood_is_capped_and_memory_stays_bounded() {
    let g = TestGateway::start(&[
        ("STANDIN_CLAUDE_MODE", "flood"),
        ("STANDIN_FLOOD_BYTES", "40000000"),
        ("LLM_GATEWAY_MAX_OUTPUT_BYTES", "1000000"),
    ]);
    let mut c = g.client();
    let r = c.ok("claude_request_async", json!({"prompt": "flood"}));
    let id = r["jobId"].as_str().unwrap();
    let s = c.wait_job(id, Duration::from_secs(60));
    assert_eq!(s["stdoutBytes"], 40_000_000, "{s:#}");
    // Whatever maxChars asks, the reply fits the 1 MiB message limit of MCP clients
    // (max_reply_bytes, 768 KiB by default); the cut says how to page on.
    let result = c.ok(
        "llm_job_result",
        json!({"jobId": id, "maxChars": 5_000_000}),
    );
    assert_eq!(result["outputCapped"], true);
    assert_eq!(result["stdoutTruncated"], true);
    let stdout = result["stdout"].as_str().unwrap();
    assert!(
        result.to_string().len() < 768 << 10,
        "{}",
        result.to_string().len()
    );
    assert!(stdout.len() > 100_000, "{}", stdout.len());
    assert!(
        stdout.contains("[truncated: "),
        "{}",
        &stdout[stdout.len() - 200..]
    );
    assert!(result["paging"]["stdout"]["nextOffset"].is_u64());
    let health = c.ok("llm_process_health", json!({}));
    let rss = health["rss_bytes"].as_u64().unwrap();
    assert!(rss < 80 << 20, "gateway RSS {rss} after a 40 MB flood");
}

#[test]
fn results_survive_restarts_and_running_jobs_become_orphaned() {
    let mut g = TestGateway::start(&[("STANDIN_GEMINI_MODE", "slow"), ("STANDIN_SLOW_MS", "400")]);
    let mut c = g.client();
    let done = c.ok("claude_request", json!({"prompt": "keep me"}));
    let done_id = done["jobId"].as_str().unwrap().to_string();
    let started = c.ok("gemini_request_async", json!({"prompt": "partial please"}));
    let id = started["jobId"].as_str().unwrap().to_string();
    // Wait until some output has been flushed to the store, then crash the gateway.
    assert!(eventually(Duration::from_secs(15), || {
        let r = c.ok("llm_job_result", json!({"jobId": id}));
        !r["stdout"].as_str().unwrap_or_default().is_empty()
    }));
    drop(c);
    g.kill9();
    g.spawn();
    let mut c = g.client();
    let s = c.ok("llm_job_status", json!({"jobId": id}));
    assert_eq!(s["status"], "orphaned", "{s:#}");
    assert!(s["reason"].as_str().unwrap().contains("restarted"), "{s:#}");
    let r = c.ok("llm_job_result", json!({"jobId": id}));
    assert!(
        !r["stdout"].as_str().unwrap().is_empty(),
        "partial output kept: {r:#}"
    );
    let r = c.ok("llm_job_result", json!({"jobId": done_id}));
    assert_eq!(r["status"], "completed");
    assert_eq!(r["response"], "stand-in claude reply: keep me");
    // A graceful restart keeps them too.
    drop(c);
    g.stop();
    g.spawn();
    let mut c = g.client();
    assert_eq!(
        c.ok("llm_job_status", json!({"jobId": done_id}))["status"],
        "completed"
    );
}

#[test]
fn sessions_bind_to_the_clis_own_ids() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let created = c.ok(
        "session_create",
        json!({"cli": "claude", "description": "design review"}),
    );
    let gw = created["session"]["id"].as_str().unwrap().to_string();
    assert!(gw.starts_with("gw-"));
    c.ok(
        "claude_request",
        json!({"prompt": "first", "sessionId": gw}),
    );
    c.ok(
        "claude_request",
        json!({"prompt": "second", "sessionId": gw}),
    );
    let runs = invocations_of(&g, "claude");
    let first = argv(&runs[0]);
    let second = argv(&runs[1]);
    let chosen = first[first.iter().position(|a| a == "--session-id").unwrap() + 1].clone();
    assert!(has_pair(&second, "--resume", &chosen), "{second:?}");
    let got = c.ok("session_get", json!({"sessionId": gw}));
    assert_eq!(got["session"]["cliSessionId"], chosen);
    assert_eq!(got["session"]["active"], true);

    // Codex makes its own ids: a fresh gw session cannot be resumed, resumeLatest can.
    let cx = c.ok(
        "session_create",
        json!({"cli": "codex", "setAsActive": false}),
    );
    let text = c.err(
        "codex_request",
        json!({"prompt": "x", "sessionId": cx["session"]["id"]}),
    );
    assert!(text.contains("cannot take an id we choose"), "{text}");
    c.ok(
        "codex_request",
        json!({"prompt": "y", "resumeLatest": true}),
    );
    let codex = argv(&invocations_of(&g, "codex")[0]);
    assert_eq!(&codex[..2], ["exec", "resume"]);
    assert!(codex.contains(&"--last".to_string()));
    let id = "0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e";
    c.ok(
        "codex_fork_session",
        json!({"prompt": "branch", "sessionId": id}),
    );
    let fork = argv(&invocations_of(&g, "codex")[1]);
    assert_eq!(&fork[..2], ["exec", "fork"]);
    assert!(fork.contains(&id.to_string()));

    let list = c.ok("session_list", json!({}));
    assert_eq!(list["total"], 2);
    assert_eq!(list["activeSessions"]["claude"], gw);
    let set = c.ok(
        "session_set_active",
        json!({"cli": "codex", "sessionId": cx["session"]["id"]}),
    );
    assert_eq!(set["activeSession"], cx["session"]["id"]);
    let wrong = c.err(
        "session_set_active",
        json!({"cli": "gemini", "sessionId": gw}),
    );
    assert!(wrong.contains("no gemini session"), "{wrong}");
    let res = c.send(
        json!({"op": "read_resource", "uri": "sessions://claude"}),
        Duration::from_secs(10),
    );
    assert!(res["text"].as_str().unwrap().contains(&gw));
    assert_eq!(
        c.ok("session_delete", json!({"sessionId": gw}))["deleted"],
        gw
    );
    c.err("session_get", json!({"sessionId": gw}));
    assert_eq!(
        c.ok("session_clear_all", json!({"cli": "codex"}))["cleared"],
        1
    );
    assert_eq!(c.ok("session_list", json!({}))["total"], 0);
}

#[test]
fn models_versions_and_upgrade_plans() {
    let g = TestGateway::start(&[
        ("CLAUDE_MODEL_ALIASES", "team=opus"),
        ("LLM_GATEWAY_MODEL_ALIASES", "gemini.quick=gemini-2.5-flash"),
        ("GEMINI_MODELS", r#"{"gemini-team":"Team model"}"#),
    ]);
    let mut c = g.client();
    let all = c.ok("list_models", json!({}));
    assert_eq!(all["providers"].as_array().unwrap().len(), 5);
    let gem = c.ok("list_models", json!({"cli": "gemini"}));
    let gem = &gem["providers"][0];
    assert_eq!(gem["aliases"]["quick"], "gemini-2.5-flash", "{gem:#}");
    let team = gem["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "gemini-team")
        .unwrap();
    assert_eq!(team["source"], "env");
    assert_eq!(team["confidence"], "high");
    c.ok("claude_request", json!({"prompt": "x", "model": "team"}));
    c.ok("gemini_request", json!({"prompt": "x", "model": "quick"}));
    assert!(has_pair(
        &argv(&invocations_of(&g, "claude")[0]),
        "--model",
        "opus"
    ));
    assert!(has_pair(
        &argv(&invocations_of(&g, "gemini")[0]),
        "--model",
        "gemini-2.5-flash"
    ));
    // An unknown but well-formed model passes through, with a warning.
    let r = c.ok(
        "grok_request",
        json!({"prompt": "x", "model": "grok-9-preview"}),
    );
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not in the registry"),
        "{r:#}"
    );

    let v = c.ok("cli_versions", json!({}));
    let version = |cli: &str| {
        v["clis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["cli"] == cli)
            .unwrap()["version"]
            .clone()
    };
    assert_eq!(version("claude"), "2.1.330 (Claude Code)");
    assert_eq!(version("codex"), "codex-cli 0.169.0");
    assert_eq!(version("gemini"), "0.61.0");
    assert_eq!(version("mistral"), "vibe 3.0.2");

    let plan = c.ok("cli_upgrade", json!({"cli": "gemini", "target": "0.62.0"}));
    assert_eq!(plan["dryRun"], true);
    assert_eq!(
        plan["commands"],
        json!([["npm", "install", "-g", "@google/gemini-cli@0.62.0"]])
    );
    let ran = c.ok("cli_upgrade", json!({"cli": "claude", "dryRun": false}));
    assert_eq!(ran["success"], true, "{ran:#}");
    assert_eq!(ran["ran"][0]["command"], json!(["claude", "update"]));
    assert!(
        invocations_of(&g, "claude")
            .iter()
            .any(|i| argv(i) == ["update"])
    );
}

#[test]
fn stdio_transport_serves_the_same_tools() {
    let home = tempfile::tempdir().unwrap();
    let env = vec![
        ("PATH".to_string(), support::mcp::standin_path()),
        (
            "STANDIN_LOG".to_string(),
            home.path().join("standin.log").display().to_string(),
        ),
    ];
    let mut c = McpClient::stdio(home.path(), &env);
    let r = c.ok("claude_request", json!({"prompt": "over stdio"}));
    assert_eq!(r["response"], "stand-in claude reply: over stdio");
    let s = c.ok("session_create", json!({"cli": "gemini"}));
    assert!(s["session"]["id"].as_str().unwrap().starts_with("gw-"));
    assert!(home.path().join("gateway.db").exists());
}

#[test]
fn a_second_gateway_on_the_same_store_leaves_live_jobs_alone() {
    let g = TestGateway::start(&[("STANDIN_CODEX_MODE", "hang")]);
    let mut c = g.client();
    let started = c.ok("codex_request_async", json!({"prompt": "long"}));
    let id = started["jobId"].as_str().unwrap();
    // A stdio client starts its own gateway process on the same home (and store).
    let env: Vec<(String, String)> = g.env.clone();
    let mut other = McpClient::stdio(g.home.path(), &env);
    let seen = other.ok("llm_job_status", json!({"jobId": id}));
    assert_eq!(
        seen["status"], "running",
        "the live gateway's job must not be orphaned: {seen:#}"
    );
    drop(other);
    assert_eq!(
        c.ok("llm_job_status", json!({"jobId": id}))["status"],
        "running"
    );
    assert_eq!(
        c.ok("llm_job_cancel", json!({"jobId": id}))["status"],
        "canceled"
    );
}
