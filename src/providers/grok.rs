//! Grok CLI: `grok -p <prompt> [--model m] …`.
//!
//! Facts from the recorded CLI: headless mode prints JSON lines of chat messages
//! (`{"role":"assistant","content":…}`) and exits 0 even when the API call failed (the
//! assistant message then starts with "Sorry, I encountered an error"); a missing key is
//! "❌ Error: API key required…" on stderr, exit 1. Session flags (`--resume`,
//! `--continue`) and approval flags follow xAI's Grok Build CLI, as the original gateway
//! did; only flags the caller asks for are emitted, so the plain form works with both.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use super::access::{Access, Mode, Modes, ON, Tier};
use super::auth::{AuthProbe, Credential, LoginStatus};
use super::claude::{AUTO, BYPASS, DEFAULT, DONT_ASK, PLAN, PM};
use super::output::{self, Parsed};
use super::request::{self, Common, Invocation, RequestError, SessionChoice};
use super::{Info, Provider, SessionSupport};
use crate::providers::models::Catalog;

pub struct Grok;

const PERMISSION_MODES: &[&str] = &[
    "default",
    "acceptEdits",
    "auto",
    "dontAsk",
    "bypassPermissions",
    "plan",
];
const EFFORTS: &[&str] = &["low", "medium", "high", "xhigh", "max"];
const FAILED_REPLY: &str = "Sorry, I encountered an error";

const ACCEPT_EDITS: Mode = Mode::new(
    PM,
    "acceptEdits",
    Tier::WorkspaceWrite,
    "accepts file edits in the working directory; commands still ask",
);

/// xAI's Grok Build takes Claude's permission modes, with Claude's headless meaning:
/// what would prompt is denied. With no mode the gateway cannot vouch for the default:
/// the third-party `grok` CLI that also installs as `grok` (recorded 0.0.34) approves
/// every tool in headless mode. Naming a mode makes Grok Build confine itself, and makes
/// the third-party CLI fail on the unknown flag instead of running unconfined.
static MODES: Modes = Modes {
    mode_parameter: PM,
    default_tier: Tier::Unrestricted,
    default_why: "the third-party `grok` CLI approves every tool, the shell included, in headless mode, and Grok Build's default is not documented",
    safer_defaults: &[PLAN, ACCEPT_EDITS],
    modes: &[
        DEFAULT,
        PLAN,
        DONT_ASK,
        ACCEPT_EDITS,
        AUTO,
        BYPASS,
        Mode::new(
            "alwaysApprove",
            ON,
            Tier::Unrestricted,
            "approves every tool, the shell included",
        ),
    ],
};

static INFO: Info = Info {
    id: "grok",
    display_name: "Grok CLI",
    binary: "grok",
    install_hint: "npm install -g grok-build (xAI), then `grok login`",
    login_hint: "run `grok login` in a terminal, or set GROK_API_KEY for the service",
    // Grok creates user-settings.json on every run, so only a non-empty apiKey counts.
    auth: AuthProbe::Presence {
        any_of: &[
            Credential::Env("GROK_API_KEY"),
            Credential::JsonKey(".grok/user-settings.json", "apiKey"),
        ],
        otherwise: (LoginStatus::NotAuthenticated, "no Grok API key found"),
    },
    tool_blurb: "Ask xAI Grok (the `grok` CLI, headless `-p`)",
    session_support: SessionSupport::LearnId,
    output_formats: &["plain", "json", "streaming-json"],
    catalog: &CATALOG,
};

static CATALOG: Catalog = Catalog {
    provider: "grok",
    env_prefix: "GROK",
    models: &[
        ("grok-build", "xAI Grok Build default coding model"),
        ("grok-code-fast-1", "Fast Grok coding model"),
        ("grok-4-latest", "Latest Grok 4 model"),
    ],
    aliases: &[("fast", "grok-code-fast-1")],
    default_model: Some("grok-build"),
    config: None,
};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(flatten)]
    #[expect(
        dead_code,
        reason = "parsed separately; here so the schema lists the shared parameters"
    )]
    common: Common,
    /// Auto-approve all tool executions (`--always-approve`).
    #[serde(default)]
    always_approve: bool,
    /// Reasoning effort (`--effort`).
    #[serde(default)]
    effort: Option<String>,
}

impl Provider for Grok {
    fn info(&self) -> &'static Info {
        &INFO
    }

    fn request_schema(&self) -> JsonObject {
        super::with_enums(
            super::schema_of::<Params>(),
            &[
                ("outputFormat", self.output_formats()),
                ("permissionMode", PERMISSION_MODES),
                ("effort", EFFORTS),
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
        request::push_opt(&mut a, "--model", model);
        if format != "plain" {
            request::push_opt(&mut a, "--output-format", Some(format));
        }
        match session {
            SessionChoice::New(_) => {}
            SessionChoice::Resume(id) => request::push_opt(&mut a, "--resume", Some(id)),
            SessionChoice::Latest => a.push("--continue".into()),
        }
        if p.always_approve {
            a.push("--always-approve".into());
        }
        if let Some(mode) = &common.permission_mode {
            request::one_of("permissionMode", mode, PERMISSION_MODES)?;
            request::push_opt(&mut a, "--permission-mode", Some(mode));
        }
        if let Some(effort) = &p.effort {
            request::one_of("effort", effort, EFFORTS)?;
            request::push_opt(&mut a, "--effort", Some(effort));
        }
        if let Some(tools) = &common.allowed_tools {
            request::push_opt(&mut a, "--tools", Some(&tools.join(",")));
        }
        if let Some(tools) = &common.disallowed_tools {
            request::push_opt(&mut a, "--disallowed-tools", Some(&tools.join(",")));
        }
        Ok(Invocation {
            args: a,
            ..Invocation::default()
        })
    }

    fn modes(&self) -> &'static Modes {
        &MODES
    }

    /// `allowedTools` becomes `--tools`, the tools that exist for the run: it narrows,
    /// like `disallowedTools`, and approves nothing.
    fn access(&self, common: &Common, args: &JsonObject) -> Result<Access, RequestError> {
        let p: Params = request::from_args(args)?;
        let mut access = MODES.access(common.permission_mode.is_some() || p.always_approve);
        access.common_paths(common);
        if let Some(mode) = &common.permission_mode {
            request::one_of(PM, mode, PERMISSION_MODES)?;
            access.ask_value(&MODES, PM, mode);
        }
        access.ask_switch(&MODES, "alwaysApprove", p.always_approve);
        Ok(access)
    }

    fn parse(&self, _format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed {
        let messages = output::parse_jsonl(stdout);
        let reply = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "assistant")
            .and_then(|m| m["content"].as_str());
        let mut parsed = match reply {
            Some(text) => Parsed {
                response: Some(text.to_string()),
                error: text.starts_with(FAILED_REPLY).then(|| text.to_string()),
                ..Parsed::default()
            },
            None => Parsed::text(stdout),
        };
        parsed.session_id = messages
            .iter()
            .find_map(|m| output::str_at(m, "/session_id").or(output::str_at(m, "/sessionId")));
        parsed.finish(stdout, stderr, exit_code, &["API key required"])
    }

    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>> {
        if target == "latest" {
            vec![vec!["grok".into(), "update".into()]]
        } else {
            vec![vec![
                "grok".into(),
                "update".into(),
                "--version".into(),
                target.into(),
            ]]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xAI's Grok Build CLI resumes with `--resume <id>` and continues the latest session
    /// with `--continue` (the recorded third-party `grok` 0.0.34 has neither, which is why
    /// they are emitted only when asked for).
    #[test]
    fn resume_syntax_matches_the_cli() {
        let resume = crate::providers::session_argv(
            &Grok,
            SessionChoice::Resume("0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e".into()),
        );
        assert_eq!(
            resume,
            [
                "-p",
                "hi",
                "--resume",
                "0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e"
            ]
        );
        let latest = crate::providers::session_argv(&Grok, SessionChoice::Latest);
        assert_eq!(latest, ["-p", "hi", "--continue"]);
        let new = crate::providers::session_argv(&Grok, SessionChoice::New(None));
        assert_eq!(new, ["-p", "hi"]);
    }

    fn access(v: serde_json::Value) -> Result<Access, RequestError> {
        crate::providers::access_of(&Grok, v)
    }

    #[test]
    fn every_mode_has_a_tier() {
        for mode in PERMISSION_MODES {
            assert!(MODES.lookup(PM, mode).is_some(), "{mode}");
        }
    }

    #[test]
    fn modes_and_the_unvouched_default() {
        use serde_json::json;
        let tier = |v: serde_json::Value| access(v).unwrap().tier();
        for v in [
            json!({"prompt": "x", "permissionMode": "bypassPermissions"}),
            json!({"prompt": "x", "permissionMode": "auto"}),
            json!({"prompt": "x", "alwaysApprove": true}),
            json!({"prompt": "x", "permissionMode": "plan", "alwaysApprove": true}),
            json!({"prompt": "x"}),
        ] {
            assert_eq!(tier(v.clone()), Tier::Unrestricted, "{v}");
        }
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "plan"})),
            Tier::ReadOnly
        );
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "acceptEdits", "allowedTools": ["bash"]})),
            Tier::WorkspaceWrite
        );
        let a = access(json!({"prompt": "x"})).unwrap();
        let safer: Vec<_> = a
            .safer_defaults
            .iter()
            .map(|m| (m.value.as_str(), m.tier))
            .collect();
        assert_eq!(
            safer,
            [
                ("plan", Tier::ReadOnly),
                ("acceptEdits", Tier::WorkspaceWrite)
            ]
        );
    }

    #[test]
    fn reply_errors_are_failures() {
        let out = "{\"role\":\"user\",\"content\":\"say hi\"}\n{\"role\":\"assistant\",\"content\":\"Sorry, I encountered an error: Grok API error: Connection error.\"}\n";
        let p = Grok.parse("plain", out, "", Some(0));
        assert!(p.error.unwrap().contains("Connection error"));
        let out = "{\"role\":\"user\",\"content\":\"q\"}\n{\"role\":\"assistant\",\"content\":\"hello\"}\n";
        let p = Grok.parse("plain", out, "", Some(0));
        assert_eq!(p.response.as_deref(), Some("hello"));
        assert!(p.error.is_none());
        let p = Grok.parse(
            "plain",
            "",
            "❌ Error: API key required. Set GROK_API_KEY",
            Some(1),
        );
        assert!(p.not_authenticated);
    }
}
