//! Mistral Vibe: `vibe -p <prompt> --output text|json|streaming --agent <name>`, with the
//! model in `VIBE_ACTIVE_MODEL` (Vibe has no `--model` flag).
//!
//! Facts from the real CLI (3.0): built-in agents are ask, accept-edits, smart-approve
//! and auto-approve (an unknown one exits 2); a missing `MISTRAL_API_KEY` is reported on
//! stderr with exit 1; `--time-limit` ends a run with exit 3. The package is PyPI
//! `mistral-vibe` — `vibe-cli` is an unrelated tool that also installs `vibe`.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::access::{Access, Mode, Modes, Tier};
use super::auth::{AuthProbe, Credential, LoginStatus};
use super::output::{self, Parsed};
use super::request::{self, Common, Invocation, RequestError, SessionChoice};
use super::{Info, Provider, SessionSupport};
use crate::providers::models::Catalog;

pub struct Mistral;

const AGENTS: &[&str] = &["auto-approve", "accept-edits", "smart-approve", "ask"];
pub const MODEL_ENV: &str = "VIBE_ACTIVE_MODEL";

const PM: &str = "permissionMode";
const ASK: Mode = Mode::new(
    PM,
    "ask",
    Tier::ReadOnly,
    "every tool that changes anything asks, and nobody can answer headless",
);
const ACCEPT_EDITS: Mode = Mode::new(
    PM,
    "accept-edits",
    Tier::WorkspaceWrite,
    "file edits run without asking; commands still ask",
);

/// `permissionMode` names Vibe's agent. Headless, an approval nobody can give is a
/// denial, so the asking agent only reads. With no mode the gateway itself runs
/// `auto-approve` (callers cannot answer prompts), so that default is unrestricted and
/// the policy names a safer agent when the level forbids it.
static MODES: Modes = Modes {
    mode_parameter: PM,
    default_tier: Tier::Unrestricted,
    default_why: "with no permissionMode the gateway runs Vibe's auto-approve agent",
    safer_defaults: &[ASK, ACCEPT_EDITS],
    modes: &[
        ASK,
        ACCEPT_EDITS,
        Mode::new(
            PM,
            "smart-approve",
            Tier::Unrestricted,
            "a model classifies each tool call and runs the ones it judges safe, shell commands included; a judge reading the same untrusted text is not a boundary",
        ),
        Mode::new(
            PM,
            "auto-approve",
            Tier::Unrestricted,
            "approves every tool call, the shell included",
        ),
    ],
};

static INFO: Info = Info {
    id: "mistral",
    display_name: "Mistral Vibe",
    binary: "vibe",
    install_hint: "uv tool install mistral-vibe (or pipx install mistral-vibe; needs Python ≥ 3.12 — not the unrelated `vibe-cli`)",
    login_hint: "run `vibe --setup` in a terminal, or set MISTRAL_API_KEY for the service",
    auth: AuthProbe::Presence {
        any_of: &[
            Credential::Env("MISTRAL_API_KEY"),
            Credential::DotenvKey(".vibe/.env", "MISTRAL_API_KEY"),
        ],
        // Vibe also reads the system keyring, which opening could prompt for a password.
        otherwise: (
            LoginStatus::Unknown,
            "no MISTRAL_API_KEY in the environment or ~/.vibe/.env; the system keyring was not checked",
        ),
    },
    tool_blurb: "Ask Mistral Vibe (the `vibe` CLI, headless `-p`; model via VIBE_ACTIVE_MODEL)",
    session_support: SessionSupport::LearnId,
    output_formats: &["text", "json", "streaming"],
    catalog: &CATALOG,
};

static CATALOG: Catalog = Catalog {
    provider: "mistral",
    env_prefix: "MISTRAL",
    models: &[
        (
            "devstral-medium",
            "Devstral Medium: Mistral's agentic coding model",
        ),
        ("devstral-large", "Devstral Large: most capable Devstral"),
        ("devstral-small", "Devstral Small: fast and cheap"),
    ],
    aliases: &[("fast", "devstral-small")],
    default_model: Some("devstral-medium"),
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
    /// Stop after this many assistant turns (`--max-turns`).
    #[serde(default)]
    max_turns: Option<u32>,
    /// Stop when the run would cost more than this many dollars (`--max-price`).
    #[serde(default)]
    max_price: Option<f64>,
}

impl Provider for Mistral {
    fn info(&self) -> &'static Info {
        &INFO
    }

    fn request_schema(&self) -> JsonObject {
        super::with_enums(
            super::schema_of::<Params>(),
            &[
                ("outputFormat", self.output_formats()),
                ("permissionMode", AGENTS),
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
        a.extend(["--output".into(), format.into()]);
        // Programmatic callers cannot answer prompts, so auto-approve unless told otherwise.
        let agent = common.permission_mode.as_deref().unwrap_or("auto-approve");
        request::one_of("permissionMode", agent, AGENTS)?;
        a.extend(["--agent".into(), agent.into()]);
        match session {
            SessionChoice::New(_) => {}
            SessionChoice::Resume(id) => request::push_opt(&mut a, "--resume", Some(id)),
            SessionChoice::Latest => a.push("--continue".into()),
        }
        for tool in common.allowed_tools.iter().flatten() {
            request::push_opt(&mut a, "--enabled-tools", Some(tool));
        }
        for tool in common.disallowed_tools.iter().flatten() {
            request::push_opt(&mut a, "--disabled-tools", Some(tool));
        }
        if let Some(n) = p.max_turns {
            request::push_opt(&mut a, "--max-turns", Some(&n.to_string()));
        }
        if let Some(price) = p.max_price {
            if !(price.is_finite() && price > 0.0) {
                return Err(RequestError::new(
                    "maxPrice must be a positive number of dollars",
                ));
            }
            request::push_opt(&mut a, "--max-price", Some(&price.to_string()));
        }
        Ok(Invocation {
            args: a,
            env: model
                .map(|m| vec![(MODEL_ENV.to_string(), m.to_string())])
                .unwrap_or_default(),
            warnings: Vec::new(),
        })
    }

    fn modes(&self) -> &'static Modes {
        &MODES
    }

    /// `allowedTools` becomes `--enabled-tools`, which in headless mode turns every other
    /// tool off: it narrows and approves nothing.
    fn access(&self, common: &Common, args: &JsonObject) -> Result<Access, RequestError> {
        let _: Params = request::from_args(args)?;
        let mut access = MODES.access(common.permission_mode.is_some());
        access.common_paths(common);
        if let Some(agent) = &common.permission_mode {
            request::one_of(PM, agent, AGENTS)?;
            access.ask_value(&MODES, PM, agent);
        }
        Ok(access)
    }

    fn parse(&self, format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed {
        let messages: Vec<Value> = match format {
            "json" => match output::parse_document(stdout) {
                Some(Value::Array(items)) => items,
                Some(other) => vec![other],
                None => Vec::new(),
            },
            "streaming" => output::parse_jsonl(stdout),
            _ => Vec::new(),
        };
        let mut parsed = if format == "text" {
            Parsed::text(stdout)
        } else if messages.is_empty() && !stdout.trim().is_empty() {
            Parsed::garbage(stdout, "JSON messages")
        } else {
            Parsed {
                response: messages
                    .iter()
                    .rev()
                    .find(|m| m["role"] == "assistant")
                    .map(message_text),
                session_id: messages
                    .iter()
                    .find_map(|m| output::str_at(m, "/sessionId")),
                ..Parsed::default()
            }
        };
        if exit_code == Some(3) && parsed.error.is_none() {
            parsed.error = Some("vibe stopped at its time limit (exit 3)".into());
        }
        parsed.finish(stdout, stderr, exit_code, &["Missing MISTRAL_API_KEY"])
    }

    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>> {
        let spec = if target == "latest" {
            "mistral-vibe".to_string()
        } else {
            format!("mistral-vibe=={target}")
        };
        if super::which("uv").is_some() {
            vec![vec![
                "uv".into(),
                "tool".into(),
                "install".into(),
                "--upgrade".into(),
                spec,
            ]]
        } else {
            vec![vec![
                "pipx".into(),
                "install".into(),
                "--force".into(),
                spec,
            ]]
        }
    }
}

fn message_text(m: &Value) -> String {
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `vibe --help` (3.0): `-c, --continue  Continue from the most recent saved session`
    /// and `--resume [<RESUME>]` (without an id it opens an interactive picker, so the id
    /// must always follow).
    #[test]
    fn resume_syntax_matches_the_cli() {
        let head = ["-p", "hi", "--output", "text", "--agent", "auto-approve"];
        let resume = crate::providers::session_argv(
            &Mistral,
            SessionChoice::Resume("0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e".into()),
        );
        assert_eq!(
            resume,
            [
                &head[..],
                &["--resume", "0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e"]
            ]
            .concat()
        );
        let latest = crate::providers::session_argv(&Mistral, SessionChoice::Latest);
        assert_eq!(latest, [&head[..], &["--continue"]].concat());
    }

    #[test]
    fn model_goes_through_the_environment() {
        let args = json!({"prompt": "hi", "outputFormat": "json", "allowedTools": ["read_file"]});
        let args = args.as_object().unwrap().clone();
        let c = Common::parse(&args).unwrap();
        let i = Mistral
            .invocation(&c, &args, Some("devstral-large"), &SessionChoice::New(None))
            .unwrap();
        assert_eq!(
            i.env,
            vec![(MODEL_ENV.to_string(), "devstral-large".to_string())]
        );
        assert!(!i.args.iter().any(|a| a.contains("model")));
        assert!(i.args.windows(2).any(|w| w == ["--agent", "auto-approve"]));
        assert!(
            i.args
                .windows(2)
                .any(|w| w == ["--enabled-tools", "read_file"])
        );
    }

    fn access(v: Value) -> Result<Access, RequestError> {
        crate::providers::access_of(&Mistral, v)
    }

    #[test]
    fn every_agent_has_a_tier() {
        for agent in AGENTS {
            assert!(MODES.lookup(PM, agent).is_some(), "{agent}");
        }
    }

    #[test]
    fn agents_and_the_auto_approve_default() {
        let tier = |v: Value| access(v).unwrap().tier();
        assert_eq!(tier(json!({"prompt": "x"})), Tier::Unrestricted);
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "auto-approve"})),
            Tier::Unrestricted
        );
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "smart-approve"})),
            Tier::Unrestricted
        );
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "accept-edits"})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "permissionMode": "ask", "allowedTools": ["bash"]})),
            Tier::ReadOnly
        );
        assert!(access(json!({"prompt": "x", "permissionMode": "plan"})).is_err());
        let a = access(json!({"prompt": "x"})).unwrap();
        assert_eq!(a.safer_defaults.len(), 2);
        assert!(a.safer_defaults.iter().all(|m| m.tier < Tier::Unrestricted));
    }

    #[test]
    fn parses_message_array() {
        let out = r#"[{"role":"user","sessionId":"s1","content":[{"type":"text","text":"q"}]},{"role":"assistant","sessionId":"s1","content":[{"type":"text","text":"answer"}]}]"#;
        let p = Mistral.parse("json", out, "", Some(0));
        assert_eq!(p.response.as_deref(), Some("answer"));
        assert_eq!(p.session_id.as_deref(), Some("s1"));
        let p = Mistral.parse("json", "", "Reading API keys from the system keyring (set them as environment variables to skip this)\nError: Missing MISTRAL_API_KEY environment variable for mistral provider\n", Some(1));
        assert!(p.not_authenticated);
        assert!(
            p.error
                .unwrap()
                .starts_with("Error: Missing MISTRAL_API_KEY")
        );
    }
}
