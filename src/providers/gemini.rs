//! Gemini CLI: `gemini -p <prompt> -o text|json|stream-json --skip-trust …`.
//!
//! Facts from the real CLI (0.61): no auth configured → exit 41 with the error as JSON
//! on stderr (stdout empty); an untrusted folder in headless mode → exit 55 unless
//! `--skip-trust`; unknown session → exit 42; `--session-id <uuid>` starts a session
//! with an id we choose.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::Usage;
use super::access::{ANY, Access, Mode, Modes, Tier};
use super::auth::{AuthProbe, Credential, LoginStatus};
use super::output::{self, Parsed};
use super::request::{self, Common, Invocation, RequestError, SessionChoice};
use super::{Info, Provider, SessionSupport};
use crate::providers::models::{Catalog, ConfigFormat, ConfigProbe};

pub struct Gemini;

const APPROVAL_MODES: &[&str] = &["default", "auto_edit", "yolo", "plan"];
/// Exit code the CLI uses for "no auth method configured".
const EXIT_NO_AUTH: i32 = 41;

const AM: &str = "approvalMode";
const TOOLS: &str = "allowedTools";

/// Headless Gemini leaves out every tool that would need confirmation, so the modes that
/// confirm only read. `allowedTools` (`--allowed-tools`) lets a tool run without
/// confirmation, so each one counts as if its mode were asked for; a policy file can do
/// the same for any tool.
static MODES: Modes = Modes {
    mode_parameter: AM,
    default_tier: Tier::ReadOnly,
    default_why: "headless Gemini offers no tool that needs confirmation",
    safer_defaults: &[],
    modes: &[
        Mode::new(
            AM,
            "default",
            Tier::ReadOnly,
            "tools that need confirmation are not offered headless",
        ),
        Mode::new(AM, "plan", Tier::ReadOnly, "read-only planning"),
        Mode::new(
            AM,
            "auto_edit",
            Tier::WorkspaceWrite,
            "edit tools run without confirmation; the shell still needs it",
        ),
        Mode::new(
            AM,
            "yolo",
            Tier::Unrestricted,
            "every tool runs without confirmation, the shell included",
        ),
        Mode::new(
            "policyFiles",
            ANY,
            Tier::Unrestricted,
            "a policy file can allow any tool, the shell included, and the gateway does not read it",
        ),
        Mode::new(TOOLS, "read_file", Tier::ReadOnly, "reads files"),
        Mode::new(TOOLS, "read_many_files", Tier::ReadOnly, "reads files"),
        Mode::new(TOOLS, "list_directory", Tier::ReadOnly, "lists directories"),
        Mode::new(TOOLS, "glob", Tier::ReadOnly, "lists files"),
        Mode::new(
            TOOLS,
            "search_file_content",
            Tier::ReadOnly,
            "searches files",
        ),
        Mode::new(TOOLS, "grep_search", Tier::ReadOnly, "searches files"),
        Mode::new(
            TOOLS,
            "write_todos",
            Tier::ReadOnly,
            "keeps the session's to-do list",
        ),
        Mode::new(
            TOOLS,
            "write_file",
            Tier::WorkspaceWrite,
            "writes files without confirmation, as auto_edit does",
        ),
        Mode::new(
            TOOLS,
            "replace",
            Tier::WorkspaceWrite,
            "edits files without confirmation, as auto_edit does",
        ),
        Mode::new(
            TOOLS,
            "web_fetch",
            Tier::WorkspaceWrite,
            "a network tool: fetches URLs the model picks",
        ),
        Mode::new(
            TOOLS,
            "google_web_search",
            Tier::WorkspaceWrite,
            "a network tool: searches the web",
        ),
        Mode::new(
            TOOLS,
            "run_shell_command",
            Tier::Unrestricted,
            "runs any shell command",
        ),
        Mode::new(
            TOOLS,
            "run_shell_command(…)",
            Tier::Unrestricted,
            "a command prefix still lets the model pick the arguments, so no prefix keeps the shell in the workspace",
        ),
        Mode::new(
            TOOLS,
            "save_memory",
            Tier::Unrestricted,
            "writes ~/.gemini/GEMINI.md, outside the workspace, which every later run reads",
        ),
        Mode::new(
            TOOLS,
            ANY,
            Tier::Unrestricted,
            "any other tool or rule: MCP tools, tools the gateway does not know",
        ),
    ],
};

static INFO: Info = Info {
    id: "gemini",
    display_name: "Gemini CLI",
    binary: "gemini",
    install_hint: "npm install -g @google/gemini-cli",
    login_hint: "run `gemini` once in a terminal and pick a sign-in method, or set GEMINI_API_KEY for the service",
    // Gemini has no status command; these are the four methods it accepts headless.
    auth: AuthProbe::Presence {
        any_of: &[
            Credential::File(".gemini/oauth_creds.json"),
            Credential::Env("GEMINI_API_KEY"),
            Credential::Env("GOOGLE_API_KEY"),
            Credential::EnvAll(&["GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI"]),
        ],
        otherwise: (LoginStatus::NotAuthenticated, "no Gemini credentials found"),
    },
    tool_blurb: "Ask Google Gemini (the `gemini` CLI, headless `-p`)",
    session_support: SessionSupport::ChooseId,
    output_formats: &["text", "json", "stream-json"],
    catalog: &CATALOG,
};

static CATALOG: Catalog = Catalog {
    provider: "gemini",
    env_prefix: "GEMINI",
    models: &[
        ("gemini-2.5-pro", "Most capable Gemini 2.5 model"),
        ("gemini-2.5-flash", "Fast Gemini 2.5 model"),
        ("gemini-2.5-flash-lite", "Cheapest Gemini 2.5 model"),
    ],
    aliases: &[("pro", "gemini-2.5-pro"), ("flash", "gemini-2.5-flash")],
    default_model: None,
    config: Some(ConfigProbe {
        path_env: "GEMINI_SETTINGS_PATH",
        default_path: ".gemini/settings.json",
        format: ConfigFormat::JsonPointer("/model/name"),
    }),
};

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(flatten)]
    #[expect(
        dead_code,
        reason = "parsed separately; here so the schema lists the shared parameters"
    )]
    common: Common,
    /// Tool approval mode (`--approval-mode`).
    #[serde(default)]
    approval_mode: Option<String>,
    /// Run tools in Gemini's sandbox (`-s`).
    #[serde(default)]
    sandbox: bool,
    /// Trust `cwd` for this run (`--skip-trust`); headless runs in an untrusted folder
    /// otherwise exit 55. Default true.
    #[serde(default = "yes")]
    skip_trust: bool,
    /// Extra policy files (`--policy`), each must exist.
    #[serde(default)]
    policy_files: Option<Vec<String>>,
    /// Extra workspace directories (`--include-directories`).
    #[serde(default)]
    include_directories: Option<Vec<String>>,
}

impl Provider for Gemini {
    fn info(&self) -> &'static Info {
        &INFO
    }

    fn request_schema(&self) -> JsonObject {
        super::with_enums(
            super::schema_of::<Params>(),
            &[
                ("outputFormat", self.output_formats()),
                ("approvalMode", APPROVAL_MODES),
            ],
        )
    }

    fn invocation(
        &self,
        common: &Common,
        args: &JsonObject,
        model: Option<&str>,
        session: &SessionChoice,
    ) -> Result<Invocation, RequestError> {
        let p: Params = request::from_args(args)?;
        let mut warnings = Vec::new();
        if common.permission_mode.is_some() {
            return Err(RequestError::new(
                "gemini takes approvalMode (default|auto_edit|yolo|plan), not permissionMode",
            ));
        }
        let format = common.output_format_or(self.output_formats())?;
        let mut a = vec!["-p".to_string(), super::prompt_arg(&common.prompt)];
        a.extend(["-o".into(), format.into()]);
        request::push_opt(&mut a, "--model", model);
        match session {
            SessionChoice::New(Some(id)) => request::push_opt(&mut a, "--session-id", Some(id)),
            SessionChoice::New(None) => {}
            SessionChoice::Resume(id) => request::push_opt(&mut a, "--resume", Some(id)),
            SessionChoice::Latest => request::push_opt(&mut a, "--resume", Some("latest")),
        }
        if let Some(mode) = &p.approval_mode {
            request::one_of("approvalMode", mode, APPROVAL_MODES)?;
            request::push_opt(&mut a, "--approval-mode", Some(mode));
        }
        if p.sandbox {
            a.push("-s".into());
        }
        if p.skip_trust {
            a.push("--skip-trust".into());
        }
        for tool in common.allowed_tools.iter().flatten() {
            request::push_opt(&mut a, "--allowed-tools", Some(tool));
        }
        if common.disallowed_tools.is_some() {
            warnings.push(
                "gemini has no deny list flag (use policy files); disallowedTools was ignored"
                    .into(),
            );
        }
        for file in p.policy_files.iter().flatten() {
            existing_path("policy file", file)?;
            request::push_opt(&mut a, "--policy", Some(file));
        }
        for dir in p.include_directories.iter().flatten() {
            existing_path("include directory", dir)?;
            request::push_opt(&mut a, "--include-directories", Some(dir));
        }
        Ok(Invocation {
            args: a,
            env: Vec::new(),
            warnings,
        })
    }

    fn modes(&self) -> &'static Modes {
        &MODES
    }

    fn access(&self, common: &Common, args: &JsonObject) -> Result<Access, RequestError> {
        let p: Params = request::from_args(args)?;
        let mut access = MODES.access(p.approval_mode.is_some());
        access.common_paths(common);
        if let Some(mode) = &p.approval_mode {
            request::one_of(AM, mode, APPROVAL_MODES)?;
            access.ask_value(&MODES, AM, mode);
        }
        access.ask_tools(&MODES, TOOLS, common.allowed_tools.as_ref());
        for file in p.policy_files.iter().flatten() {
            access.ask_value(&MODES, "policyFiles", file);
            access.path("policyFiles", file);
        }
        for dir in p.include_directories.iter().flatten() {
            access.path("includeDirectories", dir);
        }
        Ok(access)
    }

    fn parse(&self, format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed {
        let mut parsed = match format {
            "json" => match output::parse_document(stdout) {
                Some(doc) => Parsed {
                    response: output::str_at(&doc, "/response"),
                    session_id: output::str_at(&doc, "/session_id"),
                    usage: model_tokens(&doc["stats"]["models"]),
                    error: output::str_at(&doc, "/error/message"),
                    ..Parsed::default()
                },
                None if stdout.trim().is_empty() => Parsed::default(),
                None => Parsed::garbage(stdout, "one JSON object"),
            },
            "stream-json" => from_stream(&output::parse_jsonl(stdout), stdout),
            _ => Parsed::text(stdout),
        };
        // With -o json the CLI reports failures as a JSON document on stderr.
        if parsed.error.is_none()
            && let Some(doc) = output::parse_document(stderr)
        {
            parsed.error = output::str_at(&doc, "/error/message");
            parsed.session_id = parsed.session_id.or(output::str_at(&doc, "/session_id"));
        }
        parsed.not_authenticated |= exit_code == Some(EXIT_NO_AUTH);
        parsed.finish(stdout, stderr, exit_code, &["Please set an Auth method"])
    }

    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>> {
        vec![vec![
            "npm".into(),
            "install".into(),
            "-g".into(),
            format!("@google/gemini-cli@{target}"),
        ]]
    }
}

fn existing_path(what: &str, path: &str) -> Result<(), RequestError> {
    request::check_flag_value(what, path)?;
    if std::path::Path::new(path).exists() {
        Ok(())
    } else {
        Err(RequestError::new(format!("{what} {path:?} does not exist")))
    }
}

/// Sums `stats.models.<model>.tokens` across the models a run used.
fn model_tokens(models: &Value) -> Usage {
    let mut u = Usage::default();
    for m in models.as_object().into_iter().flat_map(|m| m.values()) {
        let add = |slot: &mut Option<u64>, key: &str| {
            if let Some(n) = m["tokens"][key].as_u64() {
                *slot = Some(slot.unwrap_or(0) + n);
            }
        };
        add(&mut u.input_tokens, "prompt");
        add(&mut u.output_tokens, "candidates");
        add(&mut u.cache_read_tokens, "cached");
    }
    u
}

fn from_stream(events: &[Value], stdout: &str) -> Parsed {
    if events.is_empty() && !stdout.trim().is_empty() {
        return Parsed::garbage(stdout, "JSON lines");
    }
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "message" && e["role"] == "assistant")
        .filter_map(|e| e["content"].as_str())
        .collect();
    let result = events.iter().rev().find(|e| e["type"] == "result");
    Parsed {
        response: (!text.is_empty()).then_some(text),
        session_id: events.iter().find_map(|e| output::str_at(e, "/session_id")),
        usage: result
            .map(|r| Usage {
                input_tokens: output::u64_at(r, "/stats/input_tokens"),
                output_tokens: output::u64_at(r, "/stats/output_tokens"),
                cache_read_tokens: output::u64_at(r, "/stats/cached"),
                ..Usage::default()
            })
            .unwrap_or_default(),
        error: result
            .filter(|r| r["status"] != "success")
            .and_then(|r| output::str_at(r, "/error/message")),
        ..Parsed::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `gemini --help` (0.61): `-r, --resume  Resume a previous session. Use "latest" for
    /// most recent or index number`; there is no separate "continue" flag.
    #[test]
    fn resume_syntax_matches_the_cli() {
        let resume = crate::providers::session_argv(
            &Gemini,
            SessionChoice::Resume("0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e".into()),
        );
        assert_eq!(
            resume,
            [
                "-p",
                "hi",
                "-o",
                "text",
                "--resume",
                "0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e",
                "--skip-trust"
            ]
        );
        let latest = crate::providers::session_argv(&Gemini, SessionChoice::Latest);
        assert_eq!(
            latest,
            [
                "-p",
                "hi",
                "-o",
                "text",
                "--resume",
                "latest",
                "--skip-trust"
            ]
        );
    }

    #[test]
    fn builds_flags_and_checks_paths() {
        let args = json!({"prompt": "hi", "outputFormat": "json", "approvalMode": "plan"});
        let args = args.as_object().unwrap().clone();
        let c = Common::parse(&args).unwrap();
        let i = Gemini
            .invocation(&c, &args, None, &SessionChoice::New(Some("u".into())))
            .unwrap();
        assert_eq!(&i.args[..4], ["-p", "hi", "-o", "json"]);
        assert!(i.args.windows(2).any(|w| w == ["--session-id", "u"]));
        assert!(i.args.contains(&"--skip-trust".into()));
        let args = json!({"prompt": "hi", "policyFiles": ["/no/such/policy.toml"]});
        let args = args.as_object().unwrap().clone();
        let c = Common::parse(&args).unwrap();
        assert!(
            Gemini
                .invocation(&c, &args, None, &SessionChoice::Latest)
                .is_err()
        );
    }

    fn access(v: Value) -> Result<Access, RequestError> {
        crate::providers::access_of(&Gemini, v)
    }

    #[test]
    fn every_mode_has_a_tier() {
        for mode in APPROVAL_MODES {
            assert!(MODES.lookup(AM, mode).is_some(), "{mode}");
        }
    }

    #[test]
    fn dangerous_requests_are_unrestricted() {
        for v in [
            json!({"prompt": "x", "approvalMode": "yolo"}),
            json!({"prompt": "x", "allowedTools": ["run_shell_command"]}),
            json!({"prompt": "x", "allowedTools": ["run_shell_command(git)"]}),
            json!({"prompt": "x", "allowedTools": ["save_memory"]}),
            json!({"prompt": "x", "policyFiles": ["/w/allow-all.toml"]}),
        ] {
            assert_eq!(access(v.clone()).unwrap().tier(), Tier::Unrestricted, "{v}");
        }
    }

    #[test]
    fn modes_tools_and_paths() {
        let tier = |v: Value| access(v).unwrap().tier();
        assert_eq!(tier(json!({"prompt": "x"})), Tier::ReadOnly);
        assert_eq!(
            tier(json!({"prompt": "x", "approvalMode": "plan"})),
            Tier::ReadOnly
        );
        assert_eq!(
            tier(json!({"prompt": "x", "approvalMode": "auto_edit"})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "allowedTools": ["replace"]})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "allowedTools": ["web_fetch"]})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "sandbox": true, "allowedTools": ["read_file"]})),
            Tier::ReadOnly
        );
        let a = access(json!({"prompt": "x", "cwd": "/w", "includeDirectories": ["/a", "/b"], "policyFiles": ["/p.toml"]})).unwrap();
        let paths: Vec<_> = a
            .paths
            .iter()
            .map(|p| (p.parameter.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("cwd", "/w"),
                ("policyFiles", "/p.toml"),
                ("includeDirectories", "/a"),
                ("includeDirectories", "/b")
            ]
        );
    }

    #[test]
    fn parses_stats_and_auth_failure() {
        let ok = r#"{"session_id":"s","response":"yo","stats":{"models":{"a":{"tokens":{"prompt":10,"candidates":3,"cached":1}},"b":{"tokens":{"prompt":5,"candidates":2}}}}}"#;
        let p = Gemini.parse("json", ok, "", Some(0));
        assert_eq!(p.response.as_deref(), Some("yo"));
        assert_eq!(p.usage.input_tokens, Some(15));
        assert_eq!(p.usage.output_tokens, Some(5));
        let err = "{\n \"session_id\": \"x\",\n \"error\": {\"type\": \"Error\", \"message\": \"Please set an Auth method in your settings\", \"code\": 41}\n}";
        let p = Gemini.parse("json", "", err, Some(41));
        assert!(p.not_authenticated);
        assert!(p.error.unwrap().starts_with("Please set an Auth method"));
    }
}
