//! Claude Code: `claude -p <prompt> [--output-format text|json|stream-json] …`.
//!
//! Facts from the real CLI (2.1.x): "Not logged in · Please run /login" arrives on
//! stdout (inside the result object in JSON modes), exit 1; `stream-json` requires
//! `--verbose`; bypass mode is refused as root.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::access::{ANY, Access, Mode, Modes, ON, Tier};
use super::auth::{AuthProbe, LoginStatus, Verdict};
use super::output::{self, Parsed};
use super::request::{self, Common, Invocation, RequestError, SessionChoice};
use super::{Info, Provider, SessionSupport};
use crate::providers::models::{Catalog, ConfigFormat, ConfigProbe};

pub struct Claude;

const PERMISSION_MODES: &[&str] = &[
    "default",
    "acceptEdits",
    "auto",
    "bypassPermissions",
    "manual",
    "dontAsk",
    "plan",
];

pub(super) const PM: &str = "permissionMode";
/// The `permissionMode` rows Claude Code and Grok Build share (Grok takes Claude's modes
/// with Claude's headless meaning).
pub(super) const DEFAULT: Mode = Mode::new(
    PM,
    "default",
    Tier::ReadOnly,
    "edits and commands ask for approval, which nobody can give headless",
);
pub(super) const PLAN: Mode = Mode::new(
    PM,
    "plan",
    Tier::ReadOnly,
    "plans without running edits or commands",
);
pub(super) const DONT_ASK: Mode = Mode::new(
    PM,
    "dontAsk",
    Tier::ReadOnly,
    "denies every tool the operator's own settings do not pre-approve",
);
pub(super) const AUTO: Mode = Mode::new(
    PM,
    "auto",
    Tier::Unrestricted,
    "a model classifier approves actions, shell commands included; a judge reading the same untrusted text is not a boundary",
);
pub(super) const BYPASS: Mode = Mode::new(
    PM,
    "bypassPermissions",
    Tier::Unrestricted,
    "skips every permission check",
);
const TOOLS: &str = "allowedTools";

/// Headless `-p` has nobody to answer a permission prompt, so whatever would prompt is
/// denied: the modes that prompt only read. `allowedTools` turns prompts into approvals,
/// so each tool named there counts as if its mode were asked for.
static MODES: Modes = Modes {
    mode_parameter: PM,
    default_tier: Tier::ReadOnly,
    default_why: "headless `-p` denies every tool that would ask for approval",
    safer_defaults: &[],
    modes: &[
        DEFAULT,
        PLAN,
        Mode::new(
            PM,
            "manual",
            Tier::ReadOnly,
            "every tool asks for approval, which nobody can give headless",
        ),
        DONT_ASK,
        Mode::new(
            PM,
            "acceptEdits",
            Tier::WorkspaceWrite,
            "accepts file edits in the working directories; commands still ask",
        ),
        AUTO,
        BYPASS,
        Mode::new(
            "dangerouslySkipPermissions",
            ON,
            Tier::Unrestricted,
            "the legacy spelling of permissionMode bypassPermissions",
        ),
        Mode::new(
            "agent",
            ANY,
            Tier::Unrestricted,
            "an agent definition sets its own permission mode and tools, and project agents live in the working directory, which a workspace-write run can change",
        ),
        Mode::new(
            TOOLS,
            "Read",
            Tier::ReadOnly,
            "reads files in the working directories",
        ),
        Mode::new(TOOLS, "Glob", Tier::ReadOnly, "lists files"),
        Mode::new(TOOLS, "Grep", Tier::ReadOnly, "searches files"),
        Mode::new(TOOLS, "LS", Tier::ReadOnly, "lists directories"),
        Mode::new(TOOLS, "NotebookRead", Tier::ReadOnly, "reads notebooks"),
        Mode::new(
            TOOLS,
            "TodoWrite",
            Tier::ReadOnly,
            "keeps the session's to-do list",
        ),
        Mode::new(
            TOOLS,
            "Task",
            Tier::ReadOnly,
            "starts a sub-agent, which never needed approval",
        ),
        Mode::new(TOOLS, "ExitPlanMode", Tier::ReadOnly, "ends planning"),
        Mode::new(
            TOOLS,
            "Edit",
            Tier::WorkspaceWrite,
            "edits files without asking, as acceptEdits does",
        ),
        Mode::new(
            TOOLS,
            "MultiEdit",
            Tier::WorkspaceWrite,
            "edits files without asking, as acceptEdits does",
        ),
        Mode::new(
            TOOLS,
            "Write",
            Tier::WorkspaceWrite,
            "writes files without asking, as acceptEdits does",
        ),
        Mode::new(
            TOOLS,
            "NotebookEdit",
            Tier::WorkspaceWrite,
            "edits notebooks without asking, as acceptEdits does",
        ),
        Mode::new(
            TOOLS,
            "WebFetch",
            Tier::WorkspaceWrite,
            "a network tool: fetches any URL the model picks",
        ),
        Mode::new(
            TOOLS,
            "WebFetch(…)",
            Tier::WorkspaceWrite,
            "a network tool, limited to the named domain",
        ),
        Mode::new(
            TOOLS,
            "WebSearch",
            Tier::WorkspaceWrite,
            "a network tool: searches the web",
        ),
        Mode::new(
            TOOLS,
            "Bash",
            Tier::Unrestricted,
            "runs any shell command, unsandboxed",
        ),
        Mode::new(
            TOOLS,
            "Bash(…)",
            Tier::Unrestricted,
            "the shell is unsandboxed and a command rule still lets the model pick the arguments (`git -C /`, `npm run` scripts), so no rule keeps it in the workspace",
        ),
        Mode::new(
            TOOLS,
            ANY,
            Tier::Unrestricted,
            "any other tool or rule: MCP tools, path rules that reach outside the working directories (`Read(//…)`, `Edit(…)`), tools the gateway does not know",
        ),
    ],
};

static INFO: Info = Info {
    id: "claude",
    display_name: "Claude Code",
    binary: "claude",
    install_hint: "npm install -g @anthropic-ai/claude-code",
    login_hint: "run `claude` once in a terminal and use /login (or set ANTHROPIC_API_KEY for the service)",
    auth: AuthProbe::Command {
        args: &["auth", "status"],
        read: read_auth_status,
    },
    tool_blurb: "Ask Claude Code (the `claude` CLI, headless `-p`)",
    session_support: SessionSupport::ChooseId,
    output_formats: &["text", "json", "stream-json"],
    catalog: &CATALOG,
};

/// `claude auth status` prints `{"loggedIn": …, "authMethod": …}` and exits 1 when
/// logged out (claude-latest-auth-status.txt).
fn read_auth_status(code: Option<i32>, stdout: &str, _stderr: &str) -> Verdict {
    let doc: Option<serde_json::Value> = serde_json::from_str(stdout.trim()).ok();
    match doc.as_ref().and_then(|d| d["loggedIn"].as_bool()) {
        Some(true) => {
            let how = doc
                .as_ref()
                .and_then(|d| d["authMethod"].as_str())
                .unwrap_or("unknown method");
            (
                LoginStatus::Authenticated,
                format!("`claude auth status`: logged in ({how})"),
            )
        }
        Some(false) => (
            LoginStatus::NotAuthenticated,
            "`claude auth status`: not logged in".into(),
        ),
        None => (
            LoginStatus::Unknown,
            format!("`claude auth status` gave no answer doctor understands (exit {code:?})"),
        ),
    }
}

static CATALOG: Catalog = Catalog {
    provider: "claude",
    env_prefix: "CLAUDE",
    models: &[
        ("opus", "Most capable Claude model (CLI alias)"),
        (
            "sonnet",
            "Balanced Claude model for most coding work (CLI alias)",
        ),
        ("haiku", "Fastest, cheapest Claude model (CLI alias)"),
        ("claude-opus-5-5", "Claude Opus 5.5"),
    ],
    aliases: &[("fast", "haiku"), ("best", "opus")],
    default_model: None,
    config: Some(ConfigProbe {
        path_env: "CLAUDE_SETTINGS_PATH",
        default_path: ".claude/settings.json",
        format: ConfigFormat::JsonPointer("/model"),
    }),
};

/// Claude-only parameters, on top of [`Common`].
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(flatten)]
    #[expect(
        dead_code,
        reason = "parsed separately; here so the schema lists the shared parameters"
    )]
    common: Common,
    /// Legacy switch: same as permissionMode "bypassPermissions".
    #[serde(default)]
    dangerously_skip_permissions: bool,
    /// Replace the system prompt.
    #[serde(default)]
    system_prompt: Option<String>,
    /// Append to the default system prompt (exclusive with systemPrompt).
    #[serde(default)]
    append_system_prompt: Option<String>,
    /// Stop after this many agent turns.
    #[serde(default)]
    max_turns: Option<u32>,
    /// Run as this configured sub-agent.
    #[serde(default)]
    agent: Option<String>,
}

impl Provider for Claude {
    fn info(&self) -> &'static Info {
        &INFO
    }

    fn request_schema(&self) -> JsonObject {
        super::with_enums(
            super::schema_of::<Params>(),
            &[
                ("outputFormat", self.output_formats()),
                ("permissionMode", PERMISSION_MODES),
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
        let format = common.output_format_or(self.output_formats())?;
        let mut a = vec!["-p".to_string(), super::prompt_arg(&common.prompt)];
        a.extend(["--output-format".into(), format.into()]);
        if format == "stream-json" {
            a.push("--verbose".into());
        }
        request::push_opt(&mut a, "--model", model);
        match session {
            SessionChoice::New(Some(id)) => request::push_opt(&mut a, "--session-id", Some(id)),
            SessionChoice::New(None) => {}
            SessionChoice::Resume(id) => request::push_opt(&mut a, "--resume", Some(id)),
            SessionChoice::Latest => a.push("--continue".into()),
        }
        let mode = match (&common.permission_mode, p.dangerously_skip_permissions) {
            (Some(m), _) => Some(request::one_of("permissionMode", m, PERMISSION_MODES)?),
            (None, true) => Some("bypassPermissions"),
            (None, false) => None,
        };
        request::push_opt(&mut a, "--permission-mode", mode);
        if let Some(tools) = &common.allowed_tools {
            request::push_opt(&mut a, "--allowedTools", Some(&tools.join(",")));
        }
        if let Some(tools) = &common.disallowed_tools {
            request::push_opt(&mut a, "--disallowedTools", Some(&tools.join(",")));
        }
        if p.system_prompt.is_some() && p.append_system_prompt.is_some() {
            return Err(RequestError::new(
                "systemPrompt and appendSystemPrompt are exclusive",
            ));
        }
        request::push_opt(&mut a, "--system-prompt", p.system_prompt.as_deref());
        request::push_opt(
            &mut a,
            "--append-system-prompt",
            p.append_system_prompt.as_deref(),
        );
        if let Some(n) = p.max_turns {
            request::push_opt(&mut a, "--max-turns", Some(&n.to_string()));
        }
        if let Some(agent) = &p.agent {
            request::check_flag_value("agent", agent)?;
            request::push_opt(&mut a, "--agent", Some(agent));
        }
        Ok(Invocation {
            args: a,
            ..Invocation::default()
        })
    }

    fn modes(&self) -> &'static Modes {
        &MODES
    }

    fn access(&self, common: &Common, args: &JsonObject) -> Result<Access, RequestError> {
        let p: Params = request::from_args(args)?;
        let mut access =
            MODES.access(common.permission_mode.is_some() || p.dangerously_skip_permissions);
        access.common_paths(common);
        if let Some(mode) = &common.permission_mode {
            request::one_of(PM, mode, PERMISSION_MODES)?;
            access.ask_value(&MODES, PM, mode);
        }
        access.ask_switch(
            &MODES,
            "dangerouslySkipPermissions",
            p.dangerously_skip_permissions,
        );
        access.ask_tools(&MODES, TOOLS, common.allowed_tools.as_ref());
        if let Some(agent) = &p.agent {
            access.ask_value(&MODES, "agent", agent);
        }
        Ok(access)
    }

    fn parse(&self, format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed {
        let parsed = match format {
            "json" => match output::parse_document(stdout) {
                Some(doc) => from_result(&doc),
                None => Parsed::garbage(stdout, "one JSON result object"),
            },
            "stream-json" => {
                let events = output::parse_jsonl(stdout);
                match events.iter().rev().find(|e| e["type"] == "result") {
                    Some(doc) => from_result(doc),
                    None if events.is_empty() => Parsed::garbage(stdout, "JSON lines"),
                    None => Parsed {
                        session_id: events.iter().find_map(|e| output::str_at(e, "/session_id")),
                        response: Some(assistant_text(&events)).filter(|t| !t.is_empty()),
                        ..Parsed::default()
                    },
                }
            }
            _ => Parsed::text(stdout),
        };
        parsed.finish(
            stdout,
            stderr,
            exit_code,
            &["Not logged in", "Invalid API key"],
        )
    }

    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>> {
        if target == "latest" {
            vec![vec!["claude".into(), "update".into()]]
        } else {
            vec![vec!["claude".into(), "install".into(), target.into()]]
        }
    }
}

fn from_result(doc: &Value) -> Parsed {
    let is_error = doc["is_error"].as_bool().unwrap_or(false);
    let result = output::str_at(doc, "/result");
    Parsed {
        error: if is_error { result.clone() } else { None },
        response: result,
        session_id: output::str_at(doc, "/session_id"),
        usage: super::Usage {
            input_tokens: output::u64_at(doc, "/usage/input_tokens"),
            output_tokens: output::u64_at(doc, "/usage/output_tokens"),
            cache_read_tokens: output::u64_at(doc, "/usage/cache_read_input_tokens"),
            cache_creation_tokens: output::u64_at(doc, "/usage/cache_creation_input_tokens"),
            cost_usd: doc["total_cost_usd"].as_f64(),
        },
        ..Parsed::default()
    }
}

fn assistant_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "assistant")
        .flat_map(|e| {
            e["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c["text"].as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn argv(v: Value, session: SessionChoice) -> Result<Vec<String>, RequestError> {
        let args = v.as_object().unwrap().clone();
        let common = Common::parse(&args)?;
        Claude
            .invocation(&common, &args, Some("sonnet"), &session)
            .map(|i| i.args)
    }

    #[test]
    fn builds_real_flags() {
        let a = argv(
            json!({"prompt": "hi", "outputFormat": "stream-json", "permissionMode": "plan", "allowedTools": ["Read", "Bash(git:*)"]}),
            SessionChoice::Resume("0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e".into()),
        )
        .unwrap();
        assert_eq!(&a[..2], ["-p", "hi"]);
        assert!(
            a.windows(2)
                .any(|w| w == ["--output-format", "stream-json"])
        );
        assert!(
            a.contains(&"--verbose".to_string()),
            "stream-json needs --verbose"
        );
        assert!(a.windows(2).any(|w| w == ["--model", "sonnet"]));
        assert!(a.windows(2).any(|w| w[0] == "--resume"));
        assert!(a.windows(2).any(|w| w == ["--permission-mode", "plan"]));
        assert!(
            a.windows(2)
                .any(|w| w == ["--allowedTools", "Read,Bash(git:*)"])
        );
    }

    #[test]
    fn rejects_bad_modes_and_smuggled_flags() {
        assert!(
            argv(
                json!({"prompt": "x", "permissionMode": "yolo"}),
                SessionChoice::New(None)
            )
            .is_err()
        );
        assert!(
            argv(
                json!({"prompt": "x", "allowedTools": ["--evil"]}),
                SessionChoice::New(None)
            )
            .is_err()
        );
        let a = argv(json!({"prompt": "--help"}), SessionChoice::New(None)).unwrap();
        assert_eq!(a[1], " --help");
    }

    fn access(v: Value) -> Result<Access, RequestError> {
        crate::providers::access_of(&Claude, v)
    }

    #[test]
    fn every_mode_has_a_tier() {
        for mode in PERMISSION_MODES {
            assert!(MODES.lookup(PM, mode).is_some(), "{mode}");
        }
    }

    #[test]
    fn dangerous_requests_are_unrestricted() {
        for v in [
            json!({"prompt": "x", "permissionMode": "bypassPermissions"}),
            json!({"prompt": "x", "permissionMode": "auto"}),
            json!({"prompt": "x", "dangerouslySkipPermissions": true}),
            json!({"prompt": "x", "allowedTools": ["Bash"]}),
            json!({"prompt": "x", "allowedTools": ["Bash(git:*)"]}),
            json!({"prompt": "x", "allowedTools": ["Read(//etc/**)"]}),
            json!({"prompt": "x", "allowedTools": ["mcp__github__create_issue"]}),
            json!({"prompt": "x", "allowedTools": ["Read Bash"]}),
            json!({"prompt": "x", "agent": "reviewer"}),
        ] {
            assert_eq!(access(v.clone()).unwrap().tier(), Tier::Unrestricted, "{v}");
        }
    }

    #[test]
    fn edits_and_reads() {
        let a =
            access(json!({"prompt": "x", "permissionMode": "acceptEdits", "cwd": "/w"})).unwrap();
        assert_eq!(a.tier(), Tier::WorkspaceWrite);
        assert_eq!(
            (a.asks[0].parameter.as_str(), a.asks[0].value.as_str()),
            (PM, "acceptEdits")
        );
        assert_eq!(a.paths[0].parameter, "cwd");
        for tools in [
            json!(["Edit"]),
            json!(["Write", "Read"]),
            json!(["WebFetch(domain:docs.rs)"]),
        ] {
            let a = access(json!({"prompt": "x", "allowedTools": tools})).unwrap();
            assert_eq!(a.tier(), Tier::WorkspaceWrite, "{tools}");
        }
        for mode in ["default", "plan", "dontAsk", "manual"] {
            let a = access(
                json!({"prompt": "x", "permissionMode": mode, "allowedTools": ["Read", "Grep"]}),
            );
            assert_eq!(a.unwrap().tier(), Tier::ReadOnly, "{mode}");
        }
        let a = access(json!({"prompt": "x", "disallowedTools": ["Bash"]})).unwrap();
        assert_eq!(a.tier(), Tier::ReadOnly, "a deny list only narrows");
        assert!(access(json!({"prompt": "x", "permissionMode": "yolo"})).is_err());
    }

    #[test]
    fn parses_result_usage_and_not_logged_in() {
        let ok = r#"{"type":"result","subtype":"success","is_error":false,"result":"hello","session_id":"s1","total_cost_usd":0.5,"usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":5,"cache_creation_input_tokens":6}}"#;
        let p = Claude.parse("json", ok, "", Some(0));
        assert_eq!(p.response.as_deref(), Some("hello"));
        assert_eq!(p.usage.output_tokens, Some(4));
        assert_eq!(p.usage.cache_creation_tokens, Some(6));
        assert_eq!(p.usage.cost_usd, Some(0.5));
        let bad =
            r#"{"type":"result","is_error":true,"result":"Not logged in · Please run /login"}"#;
        let p = Claude.parse("json", bad, "", Some(1));
        assert!(p.not_authenticated);
        assert_eq!(
            p.error.as_deref(),
            Some("Not logged in · Please run /login")
        );
        let p = Claude.parse("json", "garbage{{", "", Some(0));
        assert!(p.parse_warning.is_some());
    }
}
