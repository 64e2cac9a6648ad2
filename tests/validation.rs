//! The cross-LLM validation tools through the Python MCP SDK: concurrent fan-out, every
//! provider's status kept, verdicts and disagreement, judge synthesis, progress.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::mcp::TestGateway;

fn by_provider<'a>(report: &'a Value, p: &str) -> &'a Value {
    report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == p)
        .unwrap_or_else(|| panic!("{p} missing from {report:#}"))
}

#[test]
fn validate_with_models_keeps_every_provider_and_runs_them_concurrently() {
    let g = TestGateway::start(&[
        ("STANDIN_DELAY_MS", "1000"),
        ("STANDIN_REPLY", "VERDICT: AGREE\nLooks right."),
        ("STANDIN_CODEX_MODE", "not_logged_in"),
        ("STANDIN_GROK_MODE", "hang"),
    ]);
    let mut c = g.client();
    let t = Instant::now();
    let r = c.send(
        json!({"op": "call_progress", "name": "validate_with_models", "args": {
            "question": "Is 2 + 2 = 4?",
            "providers": ["claude", "codex", "gemini", "grok"],
            "timeoutMs": 3000,
            "judge": "gemini"
        }}),
        Duration::from_secs(60),
    );
    let took = t.elapsed();
    let report = &r["structured"];
    assert_eq!(r["is_error"], false, "{r:#}");
    assert_eq!(by_provider(report, "claude")["status"], "ok");
    assert_eq!(by_provider(report, "claude")["verdict"], "agree");
    assert_eq!(by_provider(report, "gemini")["status"], "ok");
    assert_eq!(
        by_provider(report, "codex")["status"],
        "not_logged_in",
        "{report:#}"
    );
    let grok = by_provider(report, "grok");
    assert_eq!(grok["status"], "timed_out", "{report:#}");
    assert!(
        grok["jobId"].as_str().is_some(),
        "a timed-out provider keeps its job"
    );
    assert_eq!(report["summary"]["ok"], 2);
    assert_eq!(report["summary"]["agreement"], "unanimous");
    assert_eq!(report["judge"]["provider"], "gemini");
    assert_eq!(report["judge"]["status"], "ok");
    assert!(report["judge"]["jobId"].as_str().is_some());
    // Concurrent: the four CLIs started together. Run one after another, each would start
    // only after the previous one's 1 s answer (judged by the stand-ins' own start times,
    // so a slow machine does not make this flaky).
    let starts: Vec<f64> = g
        .invocations()
        .iter()
        .filter(|i| {
            ["claude", "codex", "gemini", "grok"].contains(&i["cli"].as_str().unwrap_or(""))
        })
        .take(4)
        .map(|i| i["started"].as_f64().unwrap())
        .collect();
    assert_eq!(starts.len(), 4, "{:?}", g.invocations());
    let spread = starts.iter().cloned().fold(f64::MIN, f64::max)
        - starts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread < 0.95,
        "the providers started {spread:.2} s apart: not concurrent"
    );
    for p in ["claude", "gemini"] {
        let ms = by_provider(report, p)["durationMs"].as_u64().unwrap();
        assert!(
            ms >= 900,
            "{p} answered after {ms} ms, before its 1 s delay"
        );
    }
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let text = r["text"].as_str().unwrap();
    for p in ["claude", "codex", "gemini", "grok"] {
        assert!(text.contains(&format!("## {p}")), "{text}");
    }
    let progress = r["progress"].as_array().unwrap();
    assert!(
        progress.len() >= 4,
        "one progress notification per provider: {progress:?}"
    );
    assert_eq!(progress[0]["total"], 5.0, "four providers and the judge");
}

#[test]
fn disagreement_missing_providers_and_total_failure_are_reported() {
    let g = TestGateway::start(&[
        ("STANDIN_CLAUDE_MODE", "fail"),
        ("STANDIN_GEMINI_MODE", "fail"),
    ]);
    let mut c = g.client();
    let r = c.call(
        "consensus_check",
        json!({"claim": "x", "providers": ["claude", "gemini"]}),
    );
    assert_eq!(
        r["is_error"], true,
        "all providers failing is an error: {r:#}"
    );
    assert_eq!(r["structured"]["summary"]["failed"], 2);
    let text = c.err(
        "consensus_check",
        json!({"claim": "x", "providers": ["claude", "chatgpt"]}),
    );
    assert!(text.contains("unknown provider"), "{text}");
    let text = c.err("validate_with_models", json!({"question": "  "}));
    assert!(text.contains("empty"), "{text}");
    drop(c);
    drop(g);

    let g = TestGateway::start(&[("PATH", "/usr/bin:/bin")]);
    let mut c = g.client();
    let r = c.call("ask_model", json!({"provider": "claude", "prompt": "hi"}));
    assert_eq!(
        r["structured"]["providers"][0]["status"], "not_installed",
        "{r:#}"
    );
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("npm install -g @anthropic-ai/claude-code")
    );
}

#[test]
fn verdicts_that_differ_are_a_disagreement_and_a_judge_can_run_later() {
    let g = TestGateway::start(&[("STANDIN_REPLY", "VERDICT: DISAGREE\nNo.")]);
    let mut c = g.client();
    let a = c.ok(
        "second_opinion",
        json!({"question": "q", "answer": "a", "provider": "codex"}),
    );
    assert_eq!(a["providers"][0]["verdict"], "disagree");
    let job = a["providers"][0]["jobId"].as_str().unwrap().to_string();
    let s = c.ok("job_status", json!({"jobId": job}));
    assert_eq!(s["status"], "completed");
    let res = c.ok("job_result", json!({"jobId": job}));
    assert!(
        res["response"]
            .as_str()
            .unwrap()
            .starts_with("VERDICT: DISAGREE")
    );
    let syn = c.ok(
        "synthesize_validation",
        json!({"question": "q", "jobIds": [job], "judge": "claude"}),
    );
    assert_eq!(syn["judge"]["provider"], "claude");
    assert_eq!(syn["judge"]["status"], "ok");
    let cmp = c.ok("compare_answers", json!({"question": "q", "answers": [{"source": "me", "answer": "1"}, {"source": "you", "answer": "2"}], "providers": ["gemini"]}));
    assert_eq!(cmp["providers"][0]["status"], "ok");
    let one = c.err(
        "compare_answers",
        json!({"question": "q", "answers": [{"source": "me", "answer": "1"}]}),
    );
    assert!(one.contains("at least two"), "{one}");
}

#[test]
fn garbage_silence_and_disagreement_between_providers_are_all_visible() {
    let g = TestGateway::start(&[
        ("STANDIN_CLAUDE_MODE", "garbage"),
        ("STANDIN_CODEX_REPLY", ""),
        ("STANDIN_GEMINI_REPLY", "VERDICT: AGREE\nYes."),
        ("STANDIN_GROK_REPLY", "VERDICT: DISAGREE\nNo."),
    ]);
    let mut c = g.client();
    let r = c.call(
        "validate_with_models",
        json!({"question": "q?", "providers": ["claude", "codex", "gemini", "grok"]}),
    );
    let report = &r["structured"];
    let claude = by_provider(report, "claude");
    assert_eq!(claude["status"], "failed", "garbage is no answer: {claude}");
    assert!(
        claude["error"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{claude}"
    );
    let codex = by_provider(report, "codex");
    assert_eq!(codex["status"], "failed", "{codex}");
    assert!(codex["error"].as_str().unwrap().contains("said nothing"));
    assert_eq!(by_provider(report, "gemini")["verdict"], "agree");
    assert_eq!(by_provider(report, "grok")["verdict"], "disagree");
    assert_eq!(report["summary"]["agreement"], "disagreement", "{report:#}");
    assert_eq!(report["summary"]["ok"], 2);
    assert_eq!(report["summary"]["failed"], 2);
    let text = r["text"].as_str().unwrap();
    assert!(text.contains("agreement: disagreement"), "{text}");
    assert!(text.contains("(verdict: agree)") && text.contains("(verdict: disagree)"));

    let red = c.ok(
        "red_team_review",
        json!({"content": "fn main() {}", "providers": ["gemini"]}),
    );
    assert_eq!(red["tool"], "red_team_review");
    assert_eq!(red["providers"][0]["status"], "ok", "{red:#}");
}

#[test]
fn progress_only_increases_when_a_judge_follows_and_running_jobs_are_not_failures() {
    let g = TestGateway::start(&[("STANDIN_GROK_MODE", "hang")]);
    let mut c = g.client();
    let r = c.send(
        json!({"op": "call_progress", "name": "validate_with_models", "args": {
            "question": "q?", "providers": ["claude", "gemini", "grok"],
            "timeoutMs": 2000, "judge": "codex"
        }}),
        Duration::from_secs(60),
    );
    let progress = r["progress"].as_array().unwrap();
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "progress must increase: {progress:?}"
    );
    assert!(
        progress.iter().all(|p| p["total"] == 4.0),
        "three providers and the judge, known from the start: {progress:?}"
    );
    assert_eq!(values.last(), Some(&4.0), "{progress:?}");
    let grok = by_provider(&r["structured"], "grok")["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    let syn = c.call(
        "synthesize_validation",
        json!({"question": "q?", "jobIds": [grok], "judge": "claude"}),
    );
    let entry = &syn["structured"]["providers"][0];
    assert_eq!(entry["status"], "timed_out", "still running: {entry}");
    assert!(entry["error"].as_str().unwrap().contains("still running"));
    c.ok("llm_job_cancel", json!({"jobId": grok}));
}
