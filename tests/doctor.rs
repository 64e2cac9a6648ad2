//! `doctor` against real installs, real stand-in CLIs and a real HTTP server: every
//! section reflects the state it is given, next actions follow it, probes that hang time
//! out, and the gateway's `doctor` tool returns the same document.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::mcp::{TestGateway, standin_bin};
use support::{Home, assert_valid, eventually, pid_alive};

/// A bin directory holding only the named stand-ins, so a test decides which CLIs exist.
fn bin_with(dir: &Path, clis: &[&str]) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for c in clis {
        std::os::unix::fs::symlink(standin_bin().join(c), bin.join(c)).unwrap();
    }
    bin
}

/// A home whose PATH has only `clis` (plus the system's /usr/bin:/bin for python3) and
/// whose HOME is a fresh directory.
fn home_with(clis: &[&str], env: &[(&str, &str)]) -> (Home, tempfile::TempDir) {
    let user = tempfile::tempdir().unwrap();
    let bin = bin_with(user.path(), clis);
    let mut h = Home::new();
    h.extra_env = vec![
        ("PATH".into(), format!("{}:/usr/bin:/bin", bin.display())),
        ("HOME".into(), user.path().display().to_string()),
        (
            "STANDIN_LOG".into(),
            user.path().join("standin.log").display().to_string(),
        ),
    ];
    for (k, v) in env {
        h.extra_env.push((k.to_string(), v.to_string()));
    }
    (h, user)
}

fn provider<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing: {doc:#}"))
}

fn actions(doc: &Value) -> Vec<String> {
    doc["next_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn position(actions: &[String], needle: &str) -> usize {
    actions
        .iter()
        .position(|a| a.contains(needle))
        .unwrap_or_else(|| panic!("no action mentions {needle:?}: {actions:#?}"))
}

#[test]
fn a_fresh_machine_is_told_to_run_setup_first() {
    let (h, _user) = home_with(&[], &[]);
    let (doc, code) = h.json(&["doctor"]);
    assert_eq!(code, 1, "not installed blocks use: {doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["install"]["installed"], false);
    assert_eq!(doc["token"]["configured"], false);
    assert!(
        actions(&doc)[0].contains("llm-cli-gateway setup"),
        "{doc:#}"
    );
    for id in ["claude", "codex", "gemini", "grok", "mistral"] {
        let p = provider(&doc, id);
        assert_eq!(p["found"], false);
        assert!(
            p["install_hint"].as_str().unwrap().contains("install"),
            "{p}"
        );
    }
    // Human output says the same.
    let out = h.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not installed") && text.contains("1. run `llm-cli-gateway setup"),
        "{text}"
    );
    assert!(
        !h.path().join("config.toml").exists(),
        "doctor changes nothing"
    );
}

#[test]
fn each_provider_and_the_install_are_reported_as_they_are() {
    let (h, user) = home_with(
        &["claude", "codex", "gemini"],
        &[("STANDIN_CODEX_MODE", "not_logged_in")],
    );
    // Gemini has no status command: its OAuth cache is the evidence.
    std::fs::create_dir_all(user.path().join(".gemini")).unwrap();
    std::fs::write(user.path().join(".gemini/oauth_creds.json"), "{\"x\":1}").unwrap();
    // Gemini CLI is the client this user has; Cursor's config is broken (a warning only).
    std::fs::write(
        user.path().join(".gemini/settings.json"),
        "{\"theme\": \"dark\"}",
    )
    .unwrap();
    std::fs::create_dir_all(user.path().join(".cursor")).unwrap();
    std::fs::write(user.path().join(".cursor/mcp.json"), "{\"mcpServers\": ").unwrap();
    h.setup();
    let token = h.token();
    let out = h.run(&["doctor", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stdout.contains(&token), "the token never appears");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_valid(&doc);
    assert_eq!(out.status.code(), Some(0), "usable, with warnings: {doc:#}");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["install"]["files_match"], true);
    assert_eq!(doc["service"]["state"], "running");
    assert_eq!(doc["health"]["ok"], true);
    assert_eq!(doc["token"]["configured"], true);
    assert_eq!(doc["transport"]["exposure"], "local-only");

    let claude = provider(&doc, "claude");
    assert_eq!(
        (claude["found"].clone(), claude["login"].clone()),
        (json!(true), json!("authenticated"))
    );
    assert_eq!(claude["version"], "2.1.330 (Claude Code)");
    assert!(claude.get("login_hint").is_none());
    let codex = provider(&doc, "codex");
    assert_eq!(codex["login"], "not_authenticated", "{codex}");
    assert!(
        codex["login_hint"]
            .as_str()
            .unwrap()
            .contains("codex login")
    );
    assert_eq!(codex["version"], "codex-cli 0.169.0");
    let gemini = provider(&doc, "gemini");
    assert_eq!(gemini["login"], "authenticated", "{gemini}");
    assert!(
        gemini["login_detail"]
            .as_str()
            .unwrap()
            .contains("oauth_creds.json")
    );
    for id in ["grok", "mistral"] {
        assert_eq!(provider(&doc, id)["found"], false);
    }
    let clients: Vec<&str> = doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients,
        [
            "claude-desktop",
            "claude-code",
            "codex",
            "gemini-cli",
            "cursor",
            "vscode"
        ]
    );
    let cursor = doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "cursor")
        .unwrap();
    assert!(
        cursor["problem"].as_str().unwrap().contains("malformed"),
        "{cursor}"
    );
    let a = actions(&doc);
    assert!(
        !a.iter().any(|x| x.contains("setup") || x.contains("start")),
        "{a:#?}"
    );
    // Not connected yet: the client whose config exists is suggested (cursor's is broken).
    assert!(
        position(&a, "print-client-config --write --client gemini-cli")
            > position(&a, "log in to Codex"),
        "{a:#?}"
    );
    assert!(
        position(&a, "log in to Codex") < position(&a, "install it: npm install -g grok"),
        "log in before installing more: {a:#?}"
    );
    // The stand-ins were asked `--version` and the safe status commands, nothing else.
    let log = std::fs::read_to_string(user.path().join("standin.log")).unwrap();
    for line in log.lines() {
        let inv: Value = serde_json::from_str(line).unwrap();
        let argv: Vec<&str> = inv["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            matches!(
                argv.as_slice(),
                ["--version"] | ["auth", "status"] | ["login", "status"]
            ),
            "doctor ran {argv:?}"
        );
    }

    // A tampered installed file blocks use and points at repair.
    let shipped = h.path().join("current/status.schema.json");
    let original = std::fs::read(&shipped).unwrap();
    let mut tampered = original.clone();
    tampered.extend_from_slice(b" ");
    std::fs::write(&shipped, &tampered).unwrap();
    let (doc, code) = h.json(&["doctor"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["install"]["files_match"], false);
    assert_eq!(
        doc["install"]["mismatched_files"],
        json!(["status.schema.json"])
    );
    assert!(actions(&doc)[0].contains("repair"), "{doc:#}");
    std::fs::write(&shipped, &original).unwrap();

    // Stopped: start comes first.
    assert!(h.run(&["stop"]).status.success());
    let (doc, code) = h.json(&["doctor"]);
    assert_eq!(code, 1);
    assert_eq!(doc["service"]["state"], "stopped");
    assert!(
        actions(&doc)[0].contains("llm-cli-gateway start"),
        "{doc:#}"
    );
}

#[test]
fn a_cli_the_gateway_cannot_see_is_reported_with_the_fix() {
    let (mut h, user) = home_with(&["claude"], &[]);
    h.setup();
    // Installed after setup: on this shell's PATH, not in the service's captured one.
    let later = user.path().join("later-bin");
    std::fs::create_dir_all(&later).unwrap();
    std::os::unix::fs::symlink(standin_bin().join("grok"), later.join("grok")).unwrap();
    let path = h
        .extra_env
        .iter()
        .find(|(k, _)| k == "PATH")
        .unwrap()
        .1
        .clone();
    h.extra_env
        .push(("PATH".into(), format!("{}:{path}", later.display())));
    let (doc, _) = h.json(&["doctor"]);
    let grok = provider(&doc, "grok");
    assert_eq!(
        grok["found"], false,
        "the service would not find it: {grok}"
    );
    assert!(
        grok["login_detail"]
            .as_str()
            .unwrap()
            .contains("not the gateway's"),
        "{grok}"
    );
    // The process backend's gateway has the environment of the shell that started it.
    position(
        &actions(&doc),
        "so the gateway finds `grok`, restart the gateway from this shell",
    );
    assert!(h.run(&["stop"]).status.success());
    assert!(h.run(&["start"]).status.success());
    let (doc, _) = h.json(&["doctor"]);
    assert_eq!(provider(&doc, "grok")["found"], true, "{doc:#}");
}

#[test]
fn hanging_version_probes_time_out_instead_of_hanging_doctor() {
    let clis = ["claude", "codex", "gemini", "grok", "vibe"];
    let (h, user) = home_with(&clis, &[("STANDIN_VERSION_DELAY_MS", "120000")]);
    let t = Instant::now();
    let (doc, _) = h.json(&["doctor", "--timeout-ms", "1500"]);
    let took = t.elapsed();
    // Five 1.5 s timeouts run side by side, not one after another.
    assert!(took < Duration::from_secs(20), "doctor took {took:?}");
    for id in ["claude", "codex", "gemini", "grok", "mistral"] {
        let p = provider(&doc, id);
        assert_eq!(p["found"], true);
        assert!(
            p["version_error"]
                .as_str()
                .unwrap()
                .contains("timed out after 1500 ms"),
            "{p}"
        );
    }
    assert!(
        doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("timed out")),
        "{doc:#}"
    );
    // Every timed-out CLI was killed with its process group.
    let log = std::fs::read_to_string(user.path().join("standin.log")).unwrap();
    let pids: Vec<u32> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["pid"]
                .as_u64()
                .unwrap() as u32
        })
        .collect();
    assert!(pids.len() >= 5, "{log}");
    assert!(
        eventually(Duration::from_secs(5), || pids
            .iter()
            .all(|p| !pid_alive(*p))),
        "stand-ins left running: {pids:?}"
    );
}

#[test]
fn exposure_public_url_and_a_corrupt_config() {
    let (h, _user) = home_with(&["claude"], &[]);
    h.setup();
    let config = h.path().join("config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let server = support::http::Server::start();
    server.route("/mcp", support::http::Reply::Status(401));
    let with_public = |url: &str| {
        std::fs::write(&config, format!("public_url = \"{url}\"\n{original}")).unwrap();
    };

    with_public(&format!("{}/mcp", server.base));
    let (doc, code) = h.json(&["doctor", "--check-public-url"]);
    assert_eq!(code, 1, "plain HTTP in public blocks use: {doc:#}");
    assert_eq!(doc["transport"]["exposure"], "misconfigured");
    assert_eq!(doc["transport"]["https"], false);
    assert_eq!(doc["transport"]["public_check"]["reachable"], true);
    assert_eq!(doc["transport"]["public_check"]["status"], 401);
    position(&actions(&doc), "https://");

    with_public("https://my-box.tail1234.ts.net/mcp");
    let (doc, code) = h.json(&["doctor"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["transport"]["exposure"], "tunnel");
    assert_eq!(doc["transport"]["https"], true);
    assert!(
        doc["transport"].get("public_check").is_none(),
        "only with --check-public-url"
    );

    // A public URL nothing answers: reported, with the tunnel to start.
    let dead = format!("https://127.0.0.1:{}/mcp", support::free_port());
    with_public(&dead);
    let (doc, _) = h.json(&["doctor", "--check-public-url", "--timeout-ms", "2000"]);
    assert_eq!(doc["transport"]["exposure"], "reverse-proxy");
    assert_eq!(doc["transport"]["public_check"]["reachable"], false);
    position(&actions(&doc), "start the tunnel or reverse proxy");

    std::fs::write(&config, "port = \"not a number\"\n").unwrap();
    let (doc, code) = h.json(&["doctor"]);
    assert_eq!(code, 1);
    let problem = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["check"] == "config")
        .unwrap();
    assert!(
        problem["message"].as_str().unwrap().contains("config.toml"),
        "{problem}"
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "port = \"not a number\"\n",
        "left as it was"
    );
    std::fs::write(&config, &original).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    let h = Home::new();
    for args in [
        &["doctor", "--timeout-ms", "0"][..],
        &["doctor", "--timeout-ms", "soon"],
        &["doctor", "--bogus"],
    ] {
        assert_eq!(h.run(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn the_gateway_tool_returns_the_same_document() {
    let g = TestGateway::start(&[
        ("STANDIN_GEMINI_MODE", "ok"),
        ("GEMINI_API_KEY", "fake-key-not-read"),
    ]);
    let mut c = g.client();
    let r = c.call("doctor", json!({"timeoutMs": 5000}));
    assert_eq!(r["is_error"], false, "{r:#}");
    let doc = &r["structured"];
    assert_valid(doc);
    assert_eq!(doc["command"], "doctor");
    assert_eq!(provider(doc, "claude")["login"], "authenticated");
    // Inside the gateway its own environment is the service's: the key counts.
    assert_eq!(provider(doc, "gemini")["login"], "authenticated", "{doc:#}");
    assert!(!r["text"].as_str().unwrap().contains("fake-key-not-read"));
    assert!(
        !doc.to_string().contains("fake-key-not-read"),
        "presence only, never the value"
    );
    assert!(r["text"].as_str().unwrap().contains("providers"));
}
