//! The operator's policy as a connected agent meets it: the real gateway, the official
//! Python MCP SDK on both wires, and stand-in CLIs that record their argv, cwd and
//! environment. Every refusal must happen before any process starts.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::mcp::{TestGateway, argv, has_pair, invocations_of, python};

const TOKEN: &str = "test-token-0123456789abcdef0123456789abcdef0123456789abcdef";

fn tmp_root() -> String {
    std::env::temp_dir()
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

fn with_level(level: &str) -> TestGateway {
    TestGateway::with_policy(
        &[],
        &format!(
            "[policy]\nlevel = {level:?}\nworkspace_roots = [{:?}]\n",
            tmp_root()
        ),
    )
}

/// One call through `tests/mcp/consent.py` (see its doc for WIRE and ANSWER).
fn consent_call(g: &TestGateway, wire: &str, answer: &str, tool: &str, args: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/consent.py");
    let out = Command::new(python())
        .arg(script)
        .args([&g.url(), TOKEN, wire, answer, tool, &args.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap_or_else(|e| {
        panic!(
            "consent.py printed {text:?}: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["ok"], true, "consent.py failed: {v}");
    v
}

#[test]
fn codex_config_overrides_cannot_start_programs_at_any_level() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("pwned");
    let overrides = json!({
        "mcp_servers.x.command": "/bin/sh",
        "mcp_servers.x.args": format!("[\"-c\",\"touch {}\"]", marker.display()),
    });
    // Control: the stand-in, given these overrides directly, does run the command, as
    // the real codex does — so a marker that stays absent below means the gateway held.
    let control = tempfile::tempdir().unwrap();
    let control_marker = control.path().join("pwned");
    let status = Command::new(support::mcp::standin_bin().join("codex"))
        .args([
            "exec",
            "--skip-git-repo-check",
            "-c",
            "mcp_servers.x.command=/bin/sh",
            "-c",
            &format!(
                "mcp_servers.x.args=[\"-c\",\"touch {}\"]",
                control_marker.display()
            ),
            "hi",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        control_marker.exists(),
        "the stand-in must emulate codex's MCP server start"
    );

    for level in ["strict", "balanced", "permissive"] {
        let g = with_level(level);
        let mut c = g.client();
        for sandbox in ["read-only", "workspace-write"] {
            let text = c.err(
                "codex_request",
                json!({"prompt": "hi", "configOverrides": overrides, "sandboxMode": sandbox}),
            );
            assert!(text.contains("mcp_servers"), "{level}: {text}");
            assert!(text.contains("configOverrides"), "{level}: {text}");
        }
        assert!(
            invocations_of(&g, "codex").is_empty(),
            "{level}: a codex process started"
        );
        assert!(!marker.exists(), "{level}: the injected command ran");
        let decisions = c.ok("approval_list", json!({"cli": "codex"}));
        assert!(
            decisions["approvals"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["decision"] == "refused"),
            "{level}: {decisions}"
        );
    }
}

/// (tool, arguments, flag and value the argv must carry when allowed)
fn dangerous_modes() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "claude_request",
            json!({"prompt": "hi", "permissionMode": "bypassPermissions"}),
            vec!["--permission-mode", "bypassPermissions"],
        ),
        (
            "claude_request",
            json!({"prompt": "hi", "dangerouslySkipPermissions": true}),
            vec!["--permission-mode", "bypassPermissions"],
        ),
        (
            "codex_request",
            json!({"prompt": "hi", "sandboxMode": "danger-full-access"}),
            vec!["--sandbox", "danger-full-access"],
        ),
        (
            "codex_request",
            json!({"prompt": "hi", "dangerouslyBypassApprovalsAndSandbox": true}),
            vec!["--dangerously-bypass-approvals-and-sandbox"],
        ),
        (
            "gemini_request",
            json!({"prompt": "hi", "approvalMode": "yolo"}),
            vec!["--approval-mode", "yolo"],
        ),
        (
            "grok_request",
            json!({"prompt": "hi", "alwaysApprove": true}),
            vec!["--always-approve"],
        ),
        (
            "mistral_request",
            json!({"prompt": "hi", "permissionMode": "auto-approve"}),
            vec!["--agent", "auto-approve"],
        ),
    ]
}

#[test]
fn dangerous_modes_are_refused_by_default_and_run_when_the_operator_allows_them() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    for (tool, args, _) in dangerous_modes() {
        let text = c.err(tool, args.clone());
        assert!(text.contains("[policy]"), "{tool} {args}: {text}");
        assert!(text.contains("balanced"), "{tool} {args}: {text}");
        assert!(text.contains("permissive"), "{tool} {args}: {text}");
    }
    assert!(
        g.invocations().is_empty(),
        "a refused request started a CLI: {:?}",
        g.invocations()
    );

    let g = with_level("permissive");
    let mut c = g.client();
    for (tool, args, flag) in dangerous_modes() {
        c.call(tool, args.clone());
        let cli = match tool.trim_end_matches("_request") {
            "mistral" => "vibe",
            other => other,
        };
        let last = invocations_of(&g, cli)
            .pop()
            .unwrap_or_else(|| panic!("{tool} did not run"));
        let a = argv(&last);
        let carried = match flag.as_slice() {
            [one] => a.iter().any(|x| x == one),
            [f, v] => has_pair(&a, f, v),
            _ => unreachable!(),
        };
        assert!(carried, "{tool} {args}: argv {a:?} lacks {flag:?}");
    }
}

#[test]
fn vibe_and_grok_defaults_are_lowered_to_what_the_level_allows() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    c.ok("mistral_request", json!({"prompt": "hi"}));
    let a = argv(&invocations_of(&g, "vibe").pop().unwrap());
    assert!(has_pair(&a, "--agent", "accept-edits"), "{a:?}");
    let g = with_level("strict");
    let mut c = g.client();
    c.ok("mistral_request", json!({"prompt": "hi"}));
    let a = argv(&invocations_of(&g, "vibe").pop().unwrap());
    assert!(
        has_pair(&a, "--agent", "ask") || has_pair(&a, "--agent", "plan"),
        "{a:?}"
    );
}

#[test]
fn working_directories_must_resolve_inside_a_root_and_outside_the_gateway_home() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let inside = tempfile::tempdir().unwrap();
    let outside_target = tempfile::tempdir_in("/var/tmp").unwrap();
    let link = inside.path().join("escape");
    std::os::unix::fs::symlink(outside_target.path(), &link).unwrap();
    let home = g.home.path().canonicalize().unwrap();
    let dotdot = format!("{}/../../../etc", inside.path().display());
    for (cwd, why) in [
        ("/".to_string(), "contains the gateway's home"),
        (home.display().to_string(), "gateway's home"),
        (home.join("logs").display().to_string(), "gateway's home"),
        (link.display().to_string(), "outside the workspace roots"),
        (dotdot, "outside the workspace roots"),
        ("relative/dir".to_string(), "absolute"),
    ] {
        if why == "gateway's home" {
            std::fs::create_dir_all(&cwd).unwrap();
        }
        let text = c.err("claude_request", json!({"prompt": "hi", "cwd": cwd}));
        assert!(text.contains(why), "cwd {cwd}: {text}");
    }
    let text = c.err(
        "gemini_request",
        json!({"prompt": "hi", "includeDirectories": ["/"]}),
    );
    assert!(text.contains("includeDirectories"), "{text}");
    assert!(g.invocations().is_empty(), "{:?}", g.invocations());

    let work = inside.path().join("project");
    std::fs::create_dir(&work).unwrap();
    c.ok(
        "claude_request",
        json!({"prompt": "hi", "cwd": format!("{}/./project", inside.path().display())}),
    );
    let run = invocations_of(&g, "claude").pop().unwrap();
    assert_eq!(
        run["cwd"].as_str().unwrap(),
        work.canonicalize().unwrap().display().to_string()
    );
}

#[test]
fn without_cwd_a_cli_runs_in_a_fresh_scratch_dir_with_none_of_the_gateways_variables() {
    let g = TestGateway::start(&[("RUST_BACKTRACE", "1")]);
    let mut c = g.client();
    c.ok(
        "gemini_request",
        json!({"prompt": "hi", "forceRefresh": true}),
    );
    c.ok(
        "gemini_request",
        json!({"prompt": "hi", "forceRefresh": true}),
    );
    let runs = invocations_of(&g, "gemini");
    assert_eq!(runs.len(), 2);
    let (a, b) = (
        runs[0]["cwd"].as_str().unwrap(),
        runs[1]["cwd"].as_str().unwrap(),
    );
    assert_ne!(a, b, "each run gets its own scratch dir");
    let home = g.home.path().canonicalize().unwrap();
    for run in &runs {
        let cwd = Path::new(run["cwd"].as_str().unwrap());
        assert!(!cwd.starts_with(&home), "{cwd:?} is in the gateway home");
        assert!(
            cwd.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("llm-cli-gateway-run-"),
            "{cwd:?}"
        );
        assert_eq!(run["gateway_env"], json!([]), "leaked: {run}");
    }
    assert!(
        support::eventually(Duration::from_secs(5), || !Path::new(a).exists()
            && !Path::new(b).exists()),
        "scratch dirs were not removed"
    );
}

#[test]
fn prompts_never_become_subcommands_or_flags() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    for prompt in ["resume", "help", "fork", "--version", "-a never"] {
        let r = c.ok(
            "codex_request",
            json!({"prompt": prompt, "forceRefresh": true}),
        );
        assert_eq!(r["status"], "completed", "{prompt}: {r}");
        let a = argv(&invocations_of(&g, "codex").pop().unwrap());
        let dashes = a
            .iter()
            .position(|x| x == "--")
            .expect("`--` before the prompt");
        assert_eq!(a.len(), dashes + 2, "{a:?}");
        assert_eq!(a[dashes + 1].trim_start(), prompt, "{a:?}");
    }
}

#[test]
fn a_caller_can_tighten_the_policy_but_never_loosen_it() {
    let g = with_level("permissive");
    let mut c = g.client();
    let text = c.err(
        "claude_request",
        json!({"prompt": "hi", "permissionMode": "acceptEdits", "approvalPolicy": "strict"}),
    );
    assert!(text.contains("approvalPolicy"), "{text}");
    assert!(invocations_of(&g, "claude").is_empty());

    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let text = c.err(
        "claude_request",
        json!({"prompt": "hi", "permissionMode": "bypassPermissions", "approvalPolicy": "permissive"}),
    );
    assert!(text.contains("balanced"), "{text}");
    assert!(invocations_of(&g, "claude").is_empty());
    c.ok(
        "claude_request",
        json!({"prompt": "hi", "permissionMode": "acceptEdits", "approvalPolicy": "permissive"}),
    );
}

#[test]
fn unknown_parameters_are_errors_that_name_them() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let text = c.err(
        "claude_request",
        json!({"prompt": "hi", "permisionMode": "bypassPermissions"}),
    );
    assert!(text.contains("permisionMode"), "{text}");
    assert!(
        text.contains("permissionMode"),
        "lists the known ones: {text}"
    );
    let text = c.err("llm_job_status", json!({"jobId": "x", "verbose": true}));
    assert!(text.contains("verbose"), "{text}");
    assert!(g.invocations().is_empty());
}

#[test]
fn consent_on_both_wires_runs_once_on_accept_and_refuses_otherwise() {
    let g = TestGateway::start(&[]);
    let ask =
        |n: u32| json!({"prompt": format!("consent {n}"), "permissionMode": "bypassPermissions"});
    let mut n = 0;
    for wire in ["session", "stateless"] {
        let protocol = if wire == "session" {
            "2025-11-25"
        } else {
            "2026-07-28"
        };
        n += 1;
        let before = invocations_of(&g, "claude").len();
        let r = consent_call(&g, wire, "accept", "claude_request", ask(n));
        assert_eq!(r["protocol"], protocol);
        assert_eq!(r["is_error"], false, "{wire} accept: {r}");
        assert_eq!(r["asked"].as_array().unwrap().len(), 1, "{r}");
        let question = r["asked"][0].as_str().unwrap();
        for part in ["Claude", "bypassPermissions", "balanced", "scratch"] {
            assert!(question.contains(part), "question lacks {part}: {question}");
        }
        let runs = invocations_of(&g, "claude");
        assert_eq!(runs.len(), before + 1, "{wire}: accept runs exactly once");
        assert!(has_pair(
            &argv(runs.last().unwrap()),
            "--permission-mode",
            "bypassPermissions"
        ));

        for answer in ["decline", "cancel", "accept-unticked"] {
            n += 1;
            let r = consent_call(&g, wire, answer, "claude_request", ask(n));
            assert_eq!(r["is_error"], true, "{wire} {answer}: {r}");
            assert!(r["text"].as_str().unwrap().contains("nothing ran"), "{r}");
        }
        n += 1;
        let r = consent_call(&g, wire, "none", "claude_request", ask(n));
        assert_eq!(r["is_error"], true, "{wire} without elicitation: {r}");
        assert!(r["text"].as_str().unwrap().contains("[policy]"), "{r}");
        assert!(r["asked"].as_array().unwrap().is_empty());
        assert_eq!(
            invocations_of(&g, "claude").len(),
            before + 1,
            "{wire}: only the accepted ran"
        );
    }
    // Refusals no setting lifts are never put to the user.
    let r = consent_call(
        &g,
        "session",
        "accept",
        "codex_request",
        json!({"prompt": "hi", "configOverrides": {"notify": "[\"/bin/sh\"]"}}),
    );
    assert_eq!(r["is_error"], true, "{r}");
    assert!(r["asked"].as_array().unwrap().is_empty(), "{r}");

    let mut c = g.client();
    let list = c.ok("approval_list", json!({"cli": "claude", "limit": 100}));
    let kinds: Vec<&str> = list["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "user_approved").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "user_declined").count(),
        6,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "refused").count(),
        2,
        "{kinds:?}"
    );
}

#[test]
fn decisions_are_recorded_and_prompts_stay_out_unless_the_operator_opts_in() {
    let secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    c.ok(
        "claude_request",
        json!({"prompt": format!("use key {secret} please")}),
    );
    c.err(
        "claude_request",
        json!({"prompt": format!("again {secret}"), "permissionMode": "bypassPermissions"}),
    );
    let list = c.ok("approval_list", json!({}));
    let text = list.to_string();
    assert!(!text.contains(secret), "{text}");
    assert!(
        !text.contains("use key"),
        "previews are off by default: {text}"
    );
    let d = list["approvals"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["decision"], "refused", "newest first: {list}");
    assert_eq!(d[1]["decision"], "allowed");
    assert!(
        d[1]["jobId"]
            .as_str()
            .is_some_and(|j| j.starts_with("job-")),
        "{list}"
    );
    assert_eq!(d[0]["promptSha256"].as_str().unwrap().len(), 64);
    let only_refused = c.ok("approval_list", json!({"status": "refused"}));
    assert_eq!(only_refused["approvals"].as_array().unwrap().len(), 1);

    let g = TestGateway::with_policy(
        &[],
        &format!(
            "[policy]\nrecord_prompts = true\nworkspace_roots = [{:?}]\n",
            tmp_root()
        ),
    );
    let mut c = g.client();
    c.ok(
        "claude_request",
        json!({"prompt": format!("use key {secret} please")}),
    );
    let list = c.ok("approval_list", json!({}));
    let text = list.to_string();
    assert!(text.contains("use key"), "opted in: {text}");
    assert!(
        !text.contains(secret),
        "secrets are redacted even then: {text}"
    );
}
