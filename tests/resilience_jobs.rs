//! Issue 14, items 3–5: bounded replies and work, every run ends, store truth. The real
//! gateway with stand-in CLIs (tests/standins), small `[jobs]` limits in config.toml.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::mcp::{McpClient, TestGateway, invocations_of};
use support::{Home, eventually, pid_alive};

/// config.toml with the test policy (workspace roots in the temp dir) and `[jobs]`.
fn config(jobs: &str) -> String {
    let root = std::env::temp_dir().canonicalize().unwrap();
    format!(
        "[policy]\nworkspace_roots = [{:?}]\n\n[jobs]\n{jobs}\n",
        root.display().to_string()
    )
}

/// The first run of `cli`, once the stand-in has logged it.
fn first_run(g: &TestGateway, cli: &str) -> Value {
    assert!(
        eventually(Duration::from_secs(10), || !invocations_of(g, cli)
            .is_empty()),
        "{cli} never started"
    );
    invocations_of(g, cli).remove(0)
}

fn pids(inv: &Value) -> (u32, u32) {
    (
        inv["pid"].as_u64().unwrap() as u32,
        inv["child_pid"]
            .as_u64()
            .expect("STANDIN_CHILD logs child_pid") as u32,
    )
}

/// Both gone (polling with a deadline); kills leftovers so a failure leaves nothing.
fn assert_gone(what: &str, pid: u32, grandchild: u32) {
    let gone = eventually(Duration::from_secs(8), || {
        !pid_alive(pid) && !pid_alive(grandchild)
    });
    if !gone {
        for p in [pid, grandchild] {
            // SAFETY: signals pids the stand-in just logged, to clean up after a failure.
            unsafe {
                libc::kill(p as i32, libc::SIGKILL);
            }
        }
    }
    assert!(
        gone,
        "{what}: stand-in {pid} alive {}, grandchild {grandchild} alive {}",
        pid_alive(pid),
        pid_alive(grandchild)
    );
}

fn reply_size(r: &Value) -> usize {
    r["structured"].to_string().len() + r["text"].to_string().len()
}

fn status(c: &mut McpClient, id: &str) -> Value {
    c.ok("llm_job_status", json!({"jobId": id}))
}

/// Polls until `id` has `want` status.
fn wait_status(c: &mut McpClient, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = status(c, id);
        if s["status"] == want {
            return s;
        }
        assert!(Instant::now() < deadline, "job {id} never {want}: {s:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_long_answer_is_cut_with_a_marker_and_paged_back_in_full() {
    let mut reply = String::new();
    let mut i = 0;
    while reply.len() < 100_000 {
        reply.push_str(&format!("line {i}: ünïcödé \"quoted\" \\ text\n"));
        i += 1;
    }
    reply.push_str("END");
    let g = TestGateway::with_policy(
        &[("STANDIN_CLAUDE_REPLY", &reply)],
        &config("max_reply_bytes = 32768"),
    );
    let mut c = g.client();
    let r = c.call("claude_request", json!({"prompt": "a long answer please"}));
    assert_eq!(r["is_error"], false, "{r:#}");
    assert!(reply_size(&r) < 32768, "reply of {} bytes", reply_size(&r));
    let v = &r["structured"];
    let id = v["jobId"].as_str().unwrap();
    let shown = v["response"].as_str().unwrap();
    assert!(
        shown.contains("… [truncated: ")
            && shown.ends_with("more bytes; use llm_job_result with offset/limit]"),
        "{}",
        &shown[shown.len().saturating_sub(200)..]
    );
    assert_eq!(v["responseTruncated"], true);
    assert_eq!(v["totalLength"], reply.len());
    let next = v["nextOffset"].as_u64().unwrap() as usize;
    assert!(shown.starts_with(&reply[..next]));
    assert!(r["text"].as_str().unwrap().contains("[truncated: "));

    // The whole answer comes back page by page.
    let mut got = String::new();
    let mut offset = 0usize;
    for _ in 0..100 {
        let p = c.call(
            "llm_job_result",
            json!({"jobId": id, "offset": offset, "limit": 12_000}),
        );
        assert!(reply_size(&p) < 32768);
        let pv = &p["structured"];
        assert_eq!(pv["stream"], "response");
        assert_eq!(pv["offset"], offset);
        assert_eq!(pv["totalLength"], reply.len());
        got.push_str(pv["text"].as_str().unwrap());
        match pv["nextOffset"].as_u64() {
            Some(n) => offset = n as usize,
            None => break,
        }
    }
    assert_eq!(got, reply);
    // Without paging parameters: the same bounded view; stdout pages too.
    let d = c.ok("llm_job_result", json!({"jobId": id}));
    assert_eq!(d["responseTruncated"], true);
    let s = c.ok(
        "llm_job_result",
        json!({"jobId": id, "stream": "stdout", "offset": 0}),
    );
    assert_eq!(s["stream"], "stdout");
    assert!(s["nextOffset"].as_u64().is_some());
    let e = c.err("llm_job_result", json!({"jobId": id, "stream": "logs"}));
    assert!(e.contains("response, stdout, stderr"), "{e}");
}

#[test]
fn list_parameters_are_collapsed_and_capped() {
    let g = TestGateway::start(&[]);
    let mut c = g.client();
    let first = c.ok("claude_request", json!({"prompt": "an answer to weigh"}));
    let id = first["jobId"].as_str().unwrap();
    let r = c.call(
        "synthesize_validation",
        json!({"question": "is it right?", "jobIds": vec![id; 60], "judge": "claude"}),
    );
    assert_eq!(r["is_error"], false, "{r:#}");
    assert_eq!(
        r["structured"]["providers"].as_array().unwrap().len(),
        1,
        "60 copies of one job are one answer"
    );
    assert!(reply_size(&r) < 100_000, "{} bytes", reply_size(&r));

    let many: Vec<String> = (0..21).map(|i| format!("job-{i:016x}")).collect();
    let e = c.err(
        "synthesize_validation",
        json!({"question": "q", "jobIds": many, "judge": "claude"}),
    );
    assert!(e.contains("jobIds") && e.contains("limit is 20"), "{e}");
    let names: Vec<String> = (0..11).map(|i| format!("p{i}")).collect();
    let e = c.err(
        "validate_with_models",
        json!({"question": "q", "providers": names}),
    );
    assert!(e.contains("providers") && e.contains("limit is 10"), "{e}");
    // Repeats alone are not over the cap.
    let r = c.ok(
        "validate_with_models",
        json!({"question": "q", "providers": vec!["claude"; 40]}),
    );
    assert_eq!(r["providers"].as_array().unwrap().len(), 1);
}

#[test]
fn every_list_argument_is_capped() {
    let g = TestGateway::with_policy(&[], &config(""));
    let mut c = g.client();
    let tools: Vec<String> = (0..101).map(|i| format!("Read{i}")).collect();
    let text = c.err(
        "claude_request",
        json!({"prompt": "hi", "allowedTools": tools}),
    );
    assert!(
        text.contains("allowedTools") && text.contains("100"),
        "{text}"
    );
    let keys: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!("model{i}"), json!("x")))
        .collect();
    let text = c.err(
        "codex_request",
        json!({"prompt": "hi", "configOverrides": keys}),
    );
    assert!(text.contains("configOverrides"), "{text}");
    assert!(g.invocations().is_empty());
}

#[test]
fn sessions_per_provider_are_capped() {
    let g = TestGateway::with_policy(&[], &config("max_sessions_per_provider = 3"));
    let mut c = g.client();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let s = c.ok("session_create", json!({"cli": "claude"}));
        ids.push(s["session"]["id"].as_str().unwrap().to_string());
    }
    let e = c.err("session_create", json!({"cli": "claude"}));
    assert!(
        e.contains("max_sessions_per_provider") && e.contains("3"),
        "{e}"
    );
    c.ok("session_create", json!({"cli": "codex"}));
    c.ok("session_delete", json!({"sessionId": ids[0]}));
    c.ok("session_create", json!({"cli": "claude"}));
}

#[test]
fn over_the_process_cap_jobs_queue_in_order() {
    let mut g = TestGateway::with_policy(
        &[
            ("STANDIN_CLAUDE_MODE", "hang"),
            ("LLM_GATEWAY_SYNC_WAIT_MS", "1000"),
        ],
        &config("max_concurrent_processes = 1"),
    );
    let mut c = g.client();
    let start = |c: &mut McpClient, prompt: &str| {
        let r = c.ok("claude_request_async", json!({"prompt": prompt}));
        (r["jobId"].as_str().unwrap().to_string(), r)
    };
    let (a, ra) = start(&mut c, "first");
    assert_eq!(ra["status"], "running", "{ra:#}");
    let (b, rb) = start(&mut c, "second");
    assert_eq!(
        (rb["status"].as_str(), rb["queuePosition"].as_u64()),
        (Some("queued"), Some(1))
    );
    let (cc, _) = start(&mut c, "third");
    assert_eq!(status(&mut c, &cc)["queuePosition"], 2);

    // A queued job that is canceled leaves the queue without ever running.
    let x = c.ok("llm_job_cancel", json!({"jobId": b}));
    assert_eq!(
        (x["canceled"].as_bool(), x["status"].as_str()),
        (Some(true), Some("canceled"))
    );
    let sb = status(&mut c, &b);
    assert!(
        sb["reason"].as_str().unwrap().contains("while queued"),
        "{sb:#}"
    );
    assert_eq!(status(&mut c, &cc)["queuePosition"], 1);

    // A sync call over the cap falls back to the job id, as on a sync-wait timeout.
    let d = c.call("claude_request", json!({"prompt": "fourth"}));
    assert_eq!(d["is_error"], false, "{d:#}");
    assert_eq!(d["structured"]["status"], "queued");
    assert_eq!(d["structured"]["queuePosition"], 2);
    let d = d["structured"]["jobId"].as_str().unwrap().to_string();
    let health = c.ok("llm_process_health", json!({}));
    assert_eq!(
        (
            health["active_processes"].as_u64(),
            health["queued_jobs"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(invocations_of(&g, "claude").len(), 1, "only the first ran");

    // A freed slot goes to the oldest waiting job.
    c.ok("llm_job_cancel", json!({"jobId": a}));
    wait_status(&mut c, &cc, "running");
    assert_eq!(status(&mut c, &d)["queuePosition"], 1);
    assert!(eventually(Duration::from_secs(10), || invocations_of(
        &g, "claude"
    )
    .len()
        == 2));
    let argv = invocations_of(&g, "claude")[1]["argv"].to_string();
    assert!(argv.contains("third"), "{argv}");

    // Shutdown ends the queued job and the running one alike: canceled, saying why.
    drop(c);
    g.stop();
    g.spawn();
    let mut c = g.client();
    let sd = status(&mut c, &d);
    assert_eq!(sd["status"], "canceled", "{sd:#}");
    assert!(
        sd["reason"]
            .as_str()
            .unwrap()
            .contains("shut down while the job was queued"),
        "{sd:#}"
    );
    let sc = status(&mut c, &cc);
    assert_eq!(sc["status"], "canceled", "{sc:#}");
    assert!(
        sc["reason"]
            .as_str()
            .unwrap()
            .contains("shut down while the job was running"),
        "{sc:#}"
    );
}

#[test]
fn a_total_deadline_ends_a_run_that_never_goes_idle() {
    // Codex offline prints a reconnect line every few seconds: the idle timeout (default
    // 10 min) never fires, the total deadline does.
    let g = TestGateway::with_policy(
        &[("STANDIN_CODEX_MODE", "offline"), ("STANDIN_CHILD", "1")],
        &config("max_runtime_secs = 3"),
    );
    let mut c = g.client();
    let t = Instant::now();
    let r = c.call(
        "codex_request",
        json!({"prompt": "deadline", "outputFormat": "json"}),
    );
    assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
    let v = &r["structured"];
    assert_eq!(r["is_error"], true);
    assert_eq!(v["status"], "timed_out", "{v:#}");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("maximum runtime of 3 s") && reason.contains("max_runtime_secs"),
        "{reason}"
    );
    let out = format!("{}{}", v["stdout"], v["stderr"]);
    assert!(
        out.contains("Reconnecting"),
        "the output's tail is kept: {out}"
    );
    let (pid, grandchild) = pids(&first_run(&g, "codex"));
    assert_gone("deadline", pid, grandchild);

    // A request may lower the deadline, never raise it.
    let r = c.call(
        "codex_request",
        json!({"prompt": "sooner", "outputFormat": "json", "maxRuntimeMs": 1000}),
    );
    let v = &r["structured"];
    assert_eq!(v["status"], "timed_out");
    assert!(
        v["reason"].as_str().unwrap().contains("maxRuntimeMs"),
        "{v:#}"
    );
    assert!(v["elapsedMs"].as_i64().unwrap() < 2900, "{v:#}");
    let r = c.call(
        "codex_request",
        json!({"prompt": "later", "outputFormat": "json", "maxRuntimeMs": 600000}),
    );
    let v = &r["structured"];
    assert_eq!(v["status"], "timed_out");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("of 3 s ([jobs] max_runtime_secs)"),
        "{v:#}"
    );
}

#[test]
fn idle_timeout_cancel_and_shutdown_kill_the_grandchild() {
    let mut g = TestGateway::start(&[("STANDIN_MODE", "hang"), ("STANDIN_CHILD", "1")]);
    let mut c = g.client();
    let r = c.call(
        "claude_request",
        json!({"prompt": "idle", "idleTimeoutMs": 800}),
    );
    assert!(
        r["structured"]["reason"]
            .as_str()
            .unwrap()
            .contains("idle timeout"),
        "{r:#}"
    );
    let (pid, grandchild) = pids(&first_run(&g, "claude"));
    assert_gone("idle timeout", pid, grandchild);

    let r = c.ok("grok_request_async", json!({"prompt": "cancel me"}));
    let (pid, grandchild) = pids(&first_run(&g, "grok"));
    c.ok("llm_job_cancel", json!({"jobId": r["jobId"]}));
    assert_gone("cancel", pid, grandchild);

    let r = c.ok(
        "gemini_request_async",
        json!({"prompt": "outlive the gateway?"}),
    );
    let id = r["jobId"].as_str().unwrap().to_string();
    let (pid, grandchild) = pids(&first_run(&g, "gemini"));
    drop(c);
    g.stop();
    assert_gone("shutdown", pid, grandchild);
    g.spawn();
    let mut c = g.client();
    let s = status(&mut c, &id);
    assert_eq!(s["status"], "canceled");
    assert!(
        s["reason"].as_str().unwrap().contains("gateway shut down"),
        "{s:#}"
    );
}

#[test]
fn after_kill_9_the_next_start_ends_the_leftover_process_group() {
    let mut g = TestGateway::start(&[("STANDIN_CLAUDE_MODE", "hang"), ("STANDIN_CHILD", "1")]);
    let mut c = g.client();
    let r = c.ok("claude_request_async", json!({"prompt": "left behind"}));
    let id = r["jobId"].as_str().unwrap().to_string();
    let (pid, grandchild) = pids(&first_run(&g, "claude"));
    drop(c);
    g.kill9();
    // Nothing ran the shutdown code: the run is still there.
    assert!(pid_alive(pid) && pid_alive(grandchild));
    g.spawn();
    assert_gone("restart after kill -9", pid, grandchild);
    let mut c = g.client();
    let s = status(&mut c, &id);
    assert_eq!(s["status"], "orphaned", "{s:#}");
    assert!(
        g.log().contains("ended the CLI process group"),
        "{}",
        g.log()
    );
}

#[test]
fn a_result_that_cannot_be_saved_reads_failed_and_is_never_reused() {
    let mut g = TestGateway::start(&[("LLM_CLI_GATEWAY_FAILPOINT", "store-finish-fails")]);
    let mut c = g.client();
    let r = c.call("claude_request", json!({"prompt": "same question"}));
    let v = &r["structured"];
    assert_eq!(v["status"], "failed", "{r:#}");
    assert!(
        v["reason"].as_str().unwrap().contains("could not be saved"),
        "{v:#}"
    );
    let first = v["jobId"].as_str().unwrap().to_string();
    let s = status(&mut c, &first);
    assert_eq!(s["status"], "failed");
    assert!(s["reason"].as_str().unwrap().contains("could not be saved"));
    // An identical request runs again instead of getting the dead job.
    let again = c.call("claude_request", json!({"prompt": "same question"}));
    assert_eq!(again["structured"]["deduped"], false, "{again:#}");
    assert_ne!(again["structured"]["jobId"], first.as_str());
    assert!(g.log().contains("could not save the result"), "{}", g.log());

    // The row still says running; the next gateway (its store healthy) orphans it.
    drop(c);
    g.kill9();
    g.env.retain(|(k, _)| k != "LLM_CLI_GATEWAY_FAILPOINT");
    g.spawn();
    let mut c = g.client();
    let s = status(&mut c, &first);
    assert_eq!(s["status"], "orphaned", "{s:#}");
}

fn finding<'a>(doc: &'a Value, kind: &str) -> Option<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
}

#[test]
fn doctor_and_repair_find_a_corrupt_or_missing_jobs_database() {
    let home = Home::new();
    home.setup();
    let db = home.path().join("gateway.db");
    assert!(eventually(Duration::from_secs(15), || db.exists()));
    let (doc, _) = home.json(&["doctor"]);
    assert_eq!(doc["database"]["state"], "ok", "{:#}", doc["database"]);

    // Stopped, so that nothing writes to the file after the damage.
    let (stopped, code) = home.json(&["stop"]);
    assert_eq!(code, 0, "{stopped:#}");
    let junk = b"not a database at all, just junk ".repeat(200);
    std::fs::write(&db, &junk).unwrap();
    let (doc, code) = home.json(&["doctor"]);
    assert_eq!(code, 1);
    assert_eq!(doc["database"]["state"], "corrupt");
    let problem = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["check"] == "database")
        .expect("a database problem");
    assert_eq!(problem["severity"], "blocking");
    assert!(
        doc["next_actions"]
            .to_string()
            .contains("llm-cli-gateway repair"),
        "{:#}",
        doc["next_actions"]
    );

    let (dry, code) = home.json(&["repair", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(finding(&dry, "database-corrupt").unwrap()["fixed"], false);
    assert!(
        std::fs::read(&db).unwrap() == junk,
        "--dry-run changed nothing"
    );

    let (fixed, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{fixed:#}");
    let f = finding(&fixed, "database-corrupt").unwrap();
    assert_eq!(f["fixed"], true);
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("gateway.db.corrupt-"),
        "{f:#}"
    );
    let aside: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("gateway.db.corrupt-") && !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(std::fs::read(home.path().join(&aside[0])).unwrap() == junk);
    // The gateway, started again by the same repair, made a new one.
    assert!(finding(&fixed, "gateway-down").is_some(), "{fixed:#}");
    assert!(eventually(Duration::from_secs(15), || {
        home.json(&["doctor"]).0["database"]["state"] == "ok"
    }));

    // Deleted under a running gateway, which goes on writing into the unlinked file.
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(home.path().join(format!("gateway.db{side}")));
    }
    let (doc, _) = home.json(&["doctor"]);
    assert_eq!(doc["database"]["state"], "missing");
    assert!(
        doc["problems"].to_string().contains("jobs database"),
        "{doc:#}"
    );
    let (fixed, code) = home.json(&["repair"]);
    assert_eq!(code, 0, "{fixed:#}");
    assert_eq!(finding(&fixed, "database-missing").unwrap()["fixed"], true);
    assert!(eventually(Duration::from_secs(15), || db.exists()));
}

/// One call through tests/mcp/abandon.py that gives up after `seconds`.
fn abandon_call(g: &TestGateway, wire: &str, seconds: f64, tool: &str, args: Value) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/abandon.py");
    let out = std::process::Command::new(support::mcp::python())
        .arg(script)
        .args([
            &g.url(),
            support::mcp::TEST_TOKEN,
            wire,
            &seconds.to_string(),
            tool,
            &args.to_string(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(
        v["ok"],
        true,
        "abandon.py: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        v["gave_up"], true,
        "the call was meant to outlast its timeout: {v}"
    );
}

#[test]
fn a_caller_that_gives_up_on_a_sync_call_ends_its_cli_on_both_wires() {
    let g = TestGateway::with_policy(
        &[("STANDIN_CLAUDE_MODE", "hang"), ("STANDIN_CHILD", "1")],
        &config("sync_wait_secs = 60"),
    );
    for (n, wire) in ["session", "stateless"].into_iter().enumerate() {
        abandon_call(
            &g,
            wire,
            1.5,
            "claude_request",
            json!({"prompt": format!("give up {n}"), "outputFormat": "stream-json"}),
        );
        let runs = invocations_of(&g, "claude");
        assert_eq!(runs.len(), n + 1, "{wire}: {runs:?}");
        let (pid, grandchild) = pids(&runs[n]);
        assert_gone(
            &format!("{wire}: after the caller gave up"),
            pid,
            grandchild,
        );
    }
    // Each decision record names its job: both ended canceled, saying why.
    let mut c = g.client();
    let decisions = c.ok("approval_list", json!({"cli": "claude"}));
    let ids: Vec<String> = decisions["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["jobId"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2, "{decisions}");
    for id in ids {
        let s = wait_status(&mut c, &id, "canceled");
        assert!(s.to_string().contains("gave up"), "{s}");
    }
}

#[test]
fn a_caller_that_gives_up_on_a_validation_fan_out_ends_every_cli_it_started() {
    let g = TestGateway::with_policy(
        &[("STANDIN_MODE", "hang"), ("STANDIN_CHILD", "1")],
        &config(""),
    );
    for (n, wire) in ["session", "stateless"].into_iter().enumerate() {
        abandon_call(
            &g,
            wire,
            2.0,
            "validate_with_models",
            json!({"question": format!("give up {n}"), "providers": ["claude", "gemini"], "timeoutMs": 60000}),
        );
        let runs: Vec<Value> = g
            .invocations()
            .into_iter()
            .filter(|i| i["argv"].to_string().contains(&format!("give up {n}")))
            .collect();
        assert_eq!(runs.len(), 2, "{wire}: {runs:?}");
        for run in &runs {
            let (pid, grandchild) = pids(run);
            assert_gone(&format!("{wire}: {}", run["cli"]), pid, grandchild);
        }
    }
}
