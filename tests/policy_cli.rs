//! `llm-cli-gateway policy`: showing the operator's policy (text and schema-valid
//! `--json`), setting level, roots and prompt recording (validated before writing,
//! idempotent, restarting a running gateway), `--help` teaching the levels table, and
//! `doctor` reporting the policy.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Home, parse_one_document, stderr, stdout};

/// A gateway home plus a user home (`~`) of its own.
struct Env {
    gw: Home,
    user: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let user = tempfile::tempdir().unwrap();
        let mut gw = Home::new();
        gw.extra_env
            .push(("HOME".into(), user.path().display().to_string()));
        Self { gw, user }
    }

    fn user_home(&self) -> PathBuf {
        self.user.path().canonicalize().unwrap()
    }

    fn dir(&self, name: &str) -> PathBuf {
        let d = self.user.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d.canonicalize().unwrap()
    }

    fn config(&self) -> PathBuf {
        self.gw.path().join("config.toml")
    }

    fn config_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.config()).ok()
    }

    fn policy(&self, args: &[&str]) -> (Value, i32) {
        let mut all = vec!["policy"];
        all.extend_from_slice(args);
        self.gw.json(&all)
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn paths(v: &Value) -> Vec<PathBuf> {
    strings(v).into_iter().map(PathBuf::from).collect()
}

#[test]
fn shows_the_defaults_in_text_and_json_and_writes_nothing() {
    let env = Env::new();
    let out = env.gw.run(&["policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("level            balanced (default)"),
        "{text}"
    );
    assert!(text.contains("workspace roots  ~ (default)"), "{text}");
    assert!(
        text.contains(&format!("resolved       {}", env.user_home().display())),
        "{text}"
    );
    assert!(text.contains("| Provider | strict allows |"), "{text}");

    let (doc, code) = env.policy(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["command"], "policy");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["level"], "balanced");
    assert_eq!(doc["level_configured"], false);
    assert_eq!(strings(&doc["workspace_roots"]), ["~"]);
    assert_eq!(paths(&doc["resolved_workspace_roots"]), [env.user_home()]);
    assert_eq!(doc["record_prompts"], false);
    assert!(strings(&doc["codex_config_keys"]["builtin"]).contains(&"model".to_string()));
    assert!(strings(&doc["codex_config_keys"]["denied"]).contains(&"mcp_servers".to_string()));
    let providers: Vec<&str> = doc["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["claude", "codex", "gemini", "grok", "mistral"]);
    assert!(doc.get("applied").is_none(), "{doc:#}");
    assert!(
        env.gw.snapshot().is_empty(),
        "showing the policy created files: {:?}",
        env.gw.snapshot()
    );
}

#[test]
fn setting_level_roots_and_recording_is_idempotent_and_keeps_the_rest() {
    let env = Env::new();
    let (ws1, ws2) = (env.dir("ws1"), env.dir("ws2"));
    std::fs::write(
        env.config(),
        "# my comment\nport = 4545\n\n[jobs]\nretention_days = 7\n",
    )
    .unwrap();

    let ws1_arg = ws1.display().to_string();
    let (doc, code) = env.policy(&[
        "--level",
        "strict",
        "--workspace-root",
        &ws1_arg,
        "--workspace-root",
        "~",
    ]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["applied"], "at-next-start", "{doc:#}");
    assert_eq!(doc["level"], "strict");
    let text = std::fs::read_to_string(env.config()).unwrap();
    assert!(
        text.starts_with("# my comment\nport = 4545\n\n[jobs]\nretention_days = 7\n"),
        "the rest of config.toml changed:\n{text}"
    );

    let (shown, _) = env.policy(&[]);
    assert_eq!(shown["level"], "strict");
    assert_eq!(shown["level_configured"], true);
    assert_eq!(strings(&shown["workspace_roots"]), [ws1_arg.as_str(), "~"]);
    assert_eq!(
        paths(&shown["resolved_workspace_roots"]),
        [ws1.clone(), env.user_home()]
    );

    let before = env.config_bytes();
    let (again, code) = env.policy(&[
        "--level",
        "strict",
        "--workspace-root",
        &ws1_arg,
        "--workspace-root",
        "~",
    ]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["changed"], false, "{again:#}");
    assert_eq!(again["applied"], "unchanged");
    assert_eq!(
        env.config_bytes(),
        before,
        "an idempotent run rewrote the file"
    );

    // Adding: a new root is appended once; one equal to a listed root adds nothing.
    let ws2_arg = ws2.display().to_string();
    let (added, _) = env.policy(&["--add-workspace-root", &ws2_arg]);
    assert_eq!(added["changed"], true);
    assert_eq!(
        strings(&added["workspace_roots"]),
        [ws1_arg.as_str(), "~", ws2_arg.as_str()]
    );
    let before = env.config_bytes();
    let home_arg = env.user_home().display().to_string();
    for again in [ws2_arg.as_str(), home_arg.as_str()] {
        let (doc, code) = env.policy(&["--add-workspace-root", again]);
        assert_eq!((code, &doc["changed"]), (0, &Value::Bool(false)), "{doc:#}");
    }
    assert_eq!(env.config_bytes(), before);

    // A relative root is taken from the current directory and stored absolute.
    let out = env
        .gw
        .cmd()
        .current_dir(&ws2)
        .args(["policy", "--workspace-root", ".", "--json"])
        .output()
        .unwrap();
    let doc = parse_one_document(&out);
    assert_eq!(paths(&doc["resolved_workspace_roots"]), [ws2]);
    assert!(Path::new(&strings(&doc["workspace_roots"])[0]).is_absolute());

    let (rec, _) = env.policy(&["--record-prompts", "true"]);
    assert_eq!(
        (&rec["changed"], &rec["record_prompts"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    let text = std::fs::read_to_string(env.config()).unwrap();
    assert!(text.contains("record_prompts = true"), "{text}");
    assert!(text.contains("port = 4545"), "{text}");
}

#[test]
fn invalid_values_change_nothing_and_say_why() {
    let env = Env::new();
    std::fs::write(
        env.config(),
        "port = 4546\n[policy]\nlevel = \"strict\" # mine\n",
    )
    .unwrap();
    let before = env.config_bytes();
    let run = |args: &[&str]| {
        let mut all = vec!["policy"];
        all.extend_from_slice(args);
        env.gw.run(&all)
    };

    for args in [
        &["--level", "yolo"][..],
        &["--record-prompts", "maybe"],
        &["--add-workspace-root", "~someone/x"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(env.config_bytes(), before, "{args:?} changed config.toml");
    }
    let out = run(&["--add-workspace-root", "~someone/x"]);
    assert!(
        stderr(&out).contains("only ~ and ~/… are expanded"),
        "{}",
        stderr(&out)
    );

    let missing = env.user.path().join("no-such-dir");
    let missing = missing.display().to_string();
    let out = run(&["--level", "balanced", "--workspace-root", &missing]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("workspace_roots entry {missing:?}"))
            && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("help: nothing was changed"), "{err}");
    assert_eq!(env.config_bytes(), before);

    let inside = env.gw.path().join("logs");
    std::fs::create_dir_all(&inside).unwrap();
    let (doc, code) = env.policy(&["--add-workspace-root", &inside.display().to_string()]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["code"], "invalid-policy");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inside the gateway's home"),
        "{doc:#}"
    );
    assert_eq!(env.config_bytes(), before);
}

#[test]
fn help_teaches_the_levels_table_and_how_callers_tighten() {
    let env = Env::new();
    let out = env.gw.run(&["policy", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    let (doc, _) = env.policy(&[]);
    for row in doc["levels"].as_array().unwrap() {
        let provider = row["provider"].as_str().unwrap();
        assert!(
            help.contains(&format!("\n{provider} (")),
            "{provider}\n{help}"
        );
        for level in row["levels"].as_array().unwrap() {
            for value in strings(&level["values"]) {
                // Clap wraps long lines; every entry's first words are on one line.
                let start: String = value.chars().take(40).collect();
                let start = start.rsplit_once(' ').map_or(start.as_str(), |(a, _)| a);
                assert!(
                    help.contains(start),
                    "{provider}: {value:?} missing\n{help}"
                );
            }
        }
    }
    for needle in [
        "strict      read-only runs",
        "Workspace roots",
        "approvalPolicy",
        "never raises it",
        "elicitation",
        "--workspace-root <DIR>",
        "--add-workspace-root <DIR>",
        "--record-prompts <true|false>",
    ] {
        assert!(help.contains(needle), "{needle:?} missing\n{help}");
    }
    let short = stdout(&env.gw.run(&["policy", "-h"]));
    assert!(short.contains("policy --help"), "{short}");
}

#[test]
fn doctor_reports_the_policy_and_blocks_on_an_invalid_one() {
    let env = Env::new();
    let doctor = || {
        let (doc, _) = env.gw.json(&["doctor", "--timeout-ms", "2000"]);
        doc
    };
    let doc = doctor();
    assert_eq!(doc["policy"]["valid"], true, "{:#}", doc["policy"]);
    assert_eq!(doc["policy"]["level"], "balanced");
    assert_eq!(paths(&doc["policy"]["workspace_roots"]), [env.user_home()]);
    assert_eq!(doc["policy"]["record_prompts"], false);
    let policy_problems = |doc: &Value| -> Vec<Value> {
        doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["check"] == "policy")
            .cloned()
            .collect()
    };
    assert!(policy_problems(&doc).is_empty(), "{:#}", doc["problems"]);
    let out = env.gw.run(&["doctor", "--timeout-ms", "2000"]);
    assert!(
        stdout(&out).contains("policy     balanced;"),
        "{}",
        stdout(&out)
    );

    env.policy(&["--level", "permissive"]);
    let doc = doctor();
    assert_eq!(doc["policy"]["level"], "permissive");
    let p = policy_problems(&doc);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["severity"], "warning");

    // A root removed after it was configured: the gateway would refuse to start.
    let gone = env.dir("gone");
    env.policy(&["--workspace-root", &gone.display().to_string()]);
    std::fs::remove_dir(&gone).unwrap();
    let doc = doctor();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["policy"]["valid"], false);
    assert_eq!(doc["policy"]["level"], "permissive");
    let p = policy_problems(&doc);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["severity"], "blocking");
    assert!(
        p[0]["message"].as_str().unwrap().contains("does not exist"),
        "{p:?}"
    );
    // `policy` itself says so too, and exits 1.
    let (shown, code) = env.policy(&[]);
    assert_eq!((code, &shown["ok"]), (1, &Value::Bool(false)), "{shown:#}");
    assert!(
        shown["problem"].as_str().unwrap().contains("gone"),
        "{shown:#}"
    );
}

#[test]
fn a_running_gateway_is_restarted_onto_a_changed_policy() {
    let env = Env::new();
    env.gw.setup();
    let gateway_pid = || {
        let (doc, code) = env.gw.json(&["status"]);
        assert_eq!(code, 0, "{doc:#}");
        doc["service"]["gateway_pid"].as_u64().unwrap()
    };
    let before = gateway_pid();

    let (doc, code) = env.policy(&["--level", "strict"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["applied"], "restarted", "{doc:#}");
    assert!(
        doc["message"].as_str().unwrap().contains("restarted"),
        "{doc:#}"
    );
    let after = gateway_pid();
    assert_ne!(before, after, "the gateway was not restarted");

    // Nothing changed: no restart.
    let (doc, _) = env.policy(&["--level", "strict"]);
    assert_eq!(doc["applied"], "unchanged", "{doc:#}");
    assert_eq!(gateway_pid(), after);
}

/// A policy set before the first setup is kept by setup, and does not count as a chosen
/// service backend: setup still picks one (here, without systemd, the process backend)
/// and says why.
#[test]
fn a_policy_set_before_setup_is_kept_and_setup_still_picks_the_backend() {
    if Path::new("/run/systemd/system").is_dir() {
        eprintln!("skipped: systemd runs here, so auto would install a real unit");
        return;
    }
    let env = Env::new();
    let (doc, code) = env.policy(&["--level", "strict"]);
    assert_eq!(
        (code, &doc["applied"]),
        (0, &Value::from("at-next-start")),
        "{doc:#}"
    );
    let port = env.gw.port.to_string();
    let out = env
        .gw
        .cmd()
        .env_remove("LLM_CLI_GATEWAY_SERVICE_BACKEND")
        .args(["setup", "--yes", "--json", "--port", &port])
        .output()
        .unwrap();
    let doc = parse_one_document(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert!(
        doc["backend_reason"].is_string(),
        "setup did not pick a backend: {doc:#}"
    );
    let (shown, _) = env.policy(&[]);
    assert_eq!(shown["level"], "strict", "setup lost [policy]: {shown:#}");
}
