//! Codex CLI: `codex [-a policy] exec [--json] --skip-git-repo-check … <prompt>`, resumed
//! with `codex exec resume <id>|--last <prompt>` and forked with `codex exec fork`.
//!
//! Facts from the real CLI (0.169): without credentials or network `codex exec` never
//! exits — it keeps printing `Reconnecting…` error events — so the idle timeout and the
//! last error event are what a caller gets; outside a git repo it needs
//! `--skip-git-repo-check`; approval policy is a top-level flag (`-a`), before `exec`.

use std::collections::BTreeMap;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::access::{ANY, Access, ConfigOverride, Mode, Modes, ON, Tier};
use super::auth::{AuthProbe, LoginStatus, Verdict};
use super::output::{self, Parsed};
use super::request::{self, Common, Invocation, RequestError, SessionChoice};
use super::{Info, Provider, SessionSupport};
use crate::providers::models::{Catalog, ConfigFormat, ConfigProbe};

pub struct Codex;

const SANDBOX_MODES: &[&str] = &["read-only", "workspace-write", "danger-full-access"];
const APPROVAL_POLICIES: &[&str] = &["untrusted", "on-request", "never"];

const SANDBOX: &str = "sandboxMode";
const APPROVAL: &str = "askForApproval";

/// The sandbox decides what Codex can do; the approval policy only decides when it asks,
/// and headless nobody answers. Switches that load configuration the gateway cannot see
/// (a profile) or drop the operator's own restrictions (rules, user config) count as
/// unrestricted: only the operator may loosen the operator's CLI configuration.
static MODES: Modes = Modes {
    mode_parameter: SANDBOX,
    default_tier: Tier::ReadOnly,
    default_why: "`codex exec` runs model commands in its read-only sandbox unless told otherwise",
    safer_defaults: &[],
    modes: &[
        Mode::new(
            SANDBOX,
            "read-only",
            Tier::ReadOnly,
            "commands run in a sandbox that cannot write or reach the network",
        ),
        Mode::new(
            SANDBOX,
            "workspace-write",
            Tier::WorkspaceWrite,
            "commands may write in the working directory and added directories, without network",
        ),
        Mode::new(
            SANDBOX,
            "danger-full-access",
            Tier::Unrestricted,
            "commands run with no sandbox",
        ),
        Mode::new(
            APPROVAL,
            ANY,
            Tier::ReadOnly,
            "only decides when Codex asks, and headless nobody answers; the sandbox decides what runs",
        ),
        Mode::new(
            "fullAuto",
            ON,
            Tier::WorkspaceWrite,
            "workspace-write sandbox with no approvals",
        ),
        Mode::new(
            "dangerouslyBypassApprovalsAndSandbox",
            ON,
            Tier::Unrestricted,
            "no sandbox and no approvals",
        ),
        Mode::new(
            "search",
            ON,
            Tier::WorkspaceWrite,
            "a network tool: live web search with no per-call approval",
        ),
        Mode::new(
            "profile",
            ANY,
            Tier::Unrestricted,
            "a profile can set any sandbox, approval policy, MCP server or model provider, and the gateway does not read it",
        ),
        Mode::new(
            "ignoreRules",
            ON,
            Tier::Unrestricted,
            "drops the operator's execpolicy rules, the guard on which commands Codex may run",
        ),
        Mode::new(
            "ignoreUserConfig",
            ON,
            Tier::Unrestricted,
            "drops the operator's config.toml and every restriction in it",
        ),
    ],
};

static INFO: Info = Info {
    id: "codex",
    display_name: "Codex CLI",
    binary: "codex",
    install_hint: "npm install -g @openai/codex",
    login_hint: "run `codex login` in a terminal (or `codex login --with-api-key` reading OPENAI_API_KEY from stdin)",
    auth: AuthProbe::Command {
        args: &["login", "status"],
        read: read_login_status,
    },
    tool_blurb: "Ask OpenAI Codex (the `codex` CLI, `codex exec`)",
    session_support: SessionSupport::LearnId,
    output_formats: &["text", "json"],
    catalog: &CATALOG,
};

/// `codex login status` answers on stderr: "Logged in using …" with exit 0, "Not logged
/// in" with exit 1, after any warnings (codex-login-status.txt). An OPENAI_API_KEY in the
/// environment does not count, for codex or here.
fn read_login_status(code: Option<i32>, stdout: &str, stderr: &str) -> Verdict {
    let said = |needle: &str| {
        stderr
            .lines()
            .chain(stdout.lines())
            .find(|l| l.trim_start().starts_with(needle))
            .map(|l| l.trim().to_string())
    };
    match (code, said("Logged in"), said("Not logged in")) {
        (Some(0), Some(line), _) => (
            LoginStatus::Authenticated,
            format!("`codex login status`: {line}"),
        ),
        (_, _, Some(_)) => (
            LoginStatus::NotAuthenticated,
            "`codex login status`: not logged in".into(),
        ),
        _ => (
            LoginStatus::Unknown,
            format!("`codex login status` gave no answer doctor understands (exit {code:?})"),
        ),
    }
}

static CATALOG: Catalog = Catalog {
    provider: "codex",
    env_prefix: "CODEX",
    models: &[
        ("gpt-5.5", "Default Codex model"),
        ("gpt-5.3-codex", "Previous Codex-tuned model"),
        ("gpt-5.3-codex-spark", "Fast, low-latency Codex model"),
    ],
    aliases: &[("fast", "gpt-5.3-codex-spark")],
    default_model: None,
    config: Some(ConfigProbe {
        path_env: "CODEX_CONFIG_PATH",
        default_path: ".codex/config.toml",
        format: ConfigFormat::TomlKey("model"),
    }),
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
    /// Sandbox for model-generated commands (`--sandbox`).
    #[serde(default)]
    sandbox_mode: Option<String>,
    /// When Codex asks before running a command (`-a`).
    #[serde(default)]
    ask_for_approval: Option<String>,
    /// Legacy: sandbox workspace-write and approval never.
    #[serde(default)]
    full_auto: bool,
    /// No sandbox, no approvals. Only inside an externally sandboxed machine.
    #[serde(default)]
    dangerously_bypass_approvals_and_sandbox: bool,
    /// Enable live web search (`--search`).
    #[serde(default)]
    search: bool,
    /// Config profile (`--profile`).
    #[serde(default)]
    profile: Option<String>,
    /// `-c key=value` overrides; keys are dotted names.
    #[serde(default)]
    config_overrides: Option<BTreeMap<String, String>>,
    /// Do not persist session files (`--ephemeral`).
    #[serde(default)]
    ephemeral: bool,
    /// Do not load ~/.codex/config.toml.
    #[serde(default)]
    ignore_user_config: bool,
    /// Do not load execpolicy .rules files.
    #[serde(default)]
    ignore_rules: bool,
}

/// `codex_fork_session` arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForkParams {
    #[serde(flatten)]
    pub common: Common,
    /// Fork the most recent session instead of `sessionId`.
    #[serde(default)]
    pub fork_last: bool,
}

impl Provider for Codex {
    fn info(&self) -> &'static Info {
        &INFO
    }

    fn request_schema(&self) -> JsonObject {
        super::with_enums(
            super::schema_of::<Params>(),
            &[
                ("outputFormat", self.output_formats()),
                ("sandboxMode", SANDBOX_MODES),
                ("askForApproval", APPROVAL_POLICIES),
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
                "codex has no permissionMode: use sandboxMode (read-only|workspace-write|danger-full-access) and askForApproval (untrusted|on-request|never)",
            ));
        }
        if common.allowed_tools.is_some() || common.disallowed_tools.is_some() {
            warnings.push(
                "codex has no tool allow/deny list; allowedTools/disallowedTools were ignored"
                    .into(),
            );
        }
        let resuming = !matches!(session, SessionChoice::New(_));
        let (mut sandbox, mut approval) = (p.sandbox_mode.clone(), p.ask_for_approval.clone());
        if p.full_auto {
            sandbox.get_or_insert_with(|| "workspace-write".into());
            approval.get_or_insert_with(|| "never".into());
        }
        let mut a = Vec::new();
        if let Some(policy) = &approval {
            request::one_of("askForApproval", policy, APPROVAL_POLICIES)?;
            if resuming {
                warnings.push(
                    "askForApproval ignored: a resumed session keeps its approval policy".into(),
                );
            } else {
                a.extend(["-a".into(), policy.clone()]);
            }
        }
        if p.search {
            a.push("--search".into());
        }
        a.push("exec".into());
        match session {
            SessionChoice::New(_) => {}
            SessionChoice::Resume(_) | SessionChoice::Latest => a.push("resume".into()),
        }
        exec_flags(&mut a, common, &p, model, self.output_formats())?;
        if let Some(mode) = &sandbox {
            request::one_of("sandboxMode", mode, SANDBOX_MODES)?;
            if resuming {
                warnings.push("sandboxMode ignored: a resumed session keeps its sandbox".into());
            } else {
                a.extend(["--sandbox".into(), mode.clone()]);
            }
        }
        if p.dangerously_bypass_approvals_and_sandbox && !resuming {
            a.push("--dangerously-bypass-approvals-and-sandbox".into());
        }
        match session {
            SessionChoice::Resume(id) => a.push(id.clone()),
            SessionChoice::Latest => a.push("--last".into()),
            SessionChoice::New(_) => {}
        }
        // After `--` clap matches no subcommand: a prompt that is exactly `resume` or
        // `help` stays a prompt (checked against the real codex 0.171).
        a.push("--".into());
        a.push(super::prompt_arg(&common.prompt));
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
        let mode_given =
            p.sandbox_mode.is_some() || p.full_auto || p.dangerously_bypass_approvals_and_sandbox;
        let mut access = MODES.access(mode_given);
        access.common_paths(common);
        if let Some(mode) = &p.sandbox_mode {
            request::one_of(SANDBOX, mode, SANDBOX_MODES)?;
            access.ask_value(&MODES, SANDBOX, mode);
        }
        if let Some(policy) = &p.ask_for_approval {
            request::one_of(APPROVAL, policy, APPROVAL_POLICIES)?;
            access.ask_value(&MODES, APPROVAL, policy);
        }
        for (name, on) in [
            ("fullAuto", p.full_auto),
            (
                "dangerouslyBypassApprovalsAndSandbox",
                p.dangerously_bypass_approvals_and_sandbox,
            ),
            ("search", p.search),
            ("ignoreRules", p.ignore_rules),
            ("ignoreUserConfig", p.ignore_user_config),
        ] {
            access.ask_switch(&MODES, name, on);
        }
        if let Some(profile) = &p.profile {
            check_profile(profile)?;
            access.ask_value(&MODES, "profile", profile);
        }
        access.codex_overrides = p
            .config_overrides
            .iter()
            .flatten()
            .map(|(key, value)| ConfigOverride {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(access)
    }

    fn parse(&self, format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed {
        let parsed = if format == "json" {
            let events = output::parse_jsonl(stdout);
            if events.is_empty() && !stdout.trim().is_empty() {
                Parsed::garbage(stdout, "JSON lines")
            } else {
                from_events(&events)
            }
        } else {
            Parsed::text(stdout)
        };
        parsed.finish(
            stdout,
            stderr,
            exit_code,
            &["Not logged in", "401 Unauthorized"],
        )
    }

    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>> {
        if target == "latest" {
            vec![vec!["codex".into(), "update".into()]]
        } else {
            vec![vec![
                "npm".into(),
                "install".into(),
                "-g".into(),
                format!("@openai/codex@{target}"),
            ]]
        }
    }
}

/// Flags `exec`, `exec resume` and `exec fork` share.
fn exec_flags(
    a: &mut Vec<String>,
    common: &Common,
    p: &Params,
    model: Option<&str>,
    formats: &[&str],
) -> Result<(), RequestError> {
    if common.output_format_or(formats)? == "json" {
        a.push("--json".into());
    }
    a.push("--skip-git-repo-check".into());
    request::push_opt(a, "--model", model);
    if let Some(profile) = &p.profile {
        check_profile(profile)?;
        request::push_opt(a, "--profile", Some(profile));
    }
    for (k, v) in p.config_overrides.iter().flatten() {
        let key_ok = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if !key_ok || v.contains(['\r', '\n']) {
            return Err(RequestError::new(format!(
                "configOverrides entry {k:?}: keys are dotted names ([A-Za-z0-9._]) and values are one line"
            )));
        }
        a.extend(["-c".into(), format!("{k}={v}")]);
    }
    for (on, flag) in [
        (p.ephemeral, "--ephemeral"),
        (p.ignore_user_config, "--ignore-user-config"),
        (p.ignore_rules, "--ignore-rules"),
    ] {
        if on {
            a.push(flag.into());
        }
    }
    Ok(())
}

/// A profile names `$CODEX_HOME/<name>.config.toml`, so a name with a path in it
/// (`../../tmp/x`) would load any TOML file as configuration.
fn check_profile(profile: &str) -> Result<(), RequestError> {
    request::check_flag_value("profile", profile)?;
    if profile
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(RequestError::new(format!(
            "profile {profile:?} must be a plain name ([A-Za-z0-9_-]), not a path"
        )))
    }
}

/// What `codex_fork_session` asks: the fork runs with the forked session's own sandbox
/// and only the shared parameters, so its working directory is all there is to check.
pub fn fork_access(p: &ForkParams) -> Access {
    let mut access = MODES.access(false);
    access.common_paths(&p.common);
    access
}

/// Argv for `codex_fork_session`: `codex exec fork [flags] <id>|--last <prompt>`.
pub fn fork_invocation(p: &ForkParams, model: Option<&str>) -> Result<Invocation, RequestError> {
    let target = match (&p.common.session_id, p.fork_last) {
        (Some(id), false) => {
            if !request::is_uuid(id) {
                return Err(RequestError::new(format!(
                    "sessionId {id:?} is not a Codex session UUID (gateway `gw-…` ids cannot be forked)"
                )));
            }
            id.clone()
        }
        (None, true) => "--last".into(),
        _ => {
            return Err(RequestError::new(
                "give exactly one of sessionId (a Codex session UUID) or forkLast: true",
            ));
        }
    };
    let mut a = vec!["exec".to_string(), "fork".into()];
    let params = Params {
        common: p.common.clone(),
        ..Params::default()
    };
    exec_flags(&mut a, &p.common, &params, model, Codex.output_formats())?;
    a.push(target);
    a.push("--".into());
    a.push(super::prompt_arg(&p.common.prompt));
    Ok(Invocation {
        args: a,
        ..Invocation::default()
    })
}

pub fn fork_schema() -> JsonObject {
    super::with_enums(
        super::schema_of::<ForkParams>(),
        &[("outputFormat", Codex.output_formats())],
    )
}

fn from_events(events: &[Value]) -> Parsed {
    let mut p = Parsed::default();
    let mut texts = Vec::new();
    for e in events {
        match e["type"].as_str().unwrap_or_default() {
            "thread.started" => p.session_id = output::str_at(e, "/thread_id"),
            "item.completed" => match e["item"]["type"].as_str() {
                Some("agent_message") => {
                    if let Some(t) = e["item"]["text"].as_str() {
                        texts.push(t.to_string());
                    }
                }
                Some("error") => p.error = output::str_at(e, "/item/message"),
                _ => {}
            },
            "turn.completed" => {
                p.usage.input_tokens = output::u64_at(e, "/usage/input_tokens");
                p.usage.cache_read_tokens = output::u64_at(e, "/usage/cached_input_tokens");
                p.usage.output_tokens = output::u64_at(e, "/usage/output_tokens");
            }
            "turn.failed" => p.error = output::str_at(e, "/error/message"),
            "error" => p.error = output::str_at(e, "/message"),
            _ => {}
        }
    }
    if !texts.is_empty() {
        p.response = Some(texts.join("\n\n"));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn argv(v: Value, session: SessionChoice) -> Result<Invocation, RequestError> {
        let args = v.as_object().unwrap().clone();
        let common = Common::parse(&args)?;
        Codex.invocation(&common, &args, Some("gpt-5.5"), &session)
    }

    #[test]
    fn new_and_resumed_runs() {
        let i = argv(
            json!({"prompt": "hi", "outputFormat": "json", "fullAuto": true}),
            SessionChoice::New(None),
        )
        .unwrap();
        assert_eq!(&i.args[..3], ["-a", "never", "exec"]);
        assert!(i.args.contains(&"--json".into()));
        assert!(i.args.contains(&"--skip-git-repo-check".into()));
        assert!(
            i.args
                .windows(2)
                .any(|w| w == ["--sandbox", "workspace-write"])
        );
        assert_eq!(i.args.last().unwrap(), "hi");

        let id = "0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e";
        let i = argv(
            json!({"prompt": "again", "fullAuto": true}),
            SessionChoice::Resume(id.into()),
        )
        .unwrap();
        assert_eq!(&i.args[..2], ["exec", "resume"]);
        assert!(!i.args.contains(&"--sandbox".into()), "{:?}", i.args);
        assert_eq!(&i.args[i.args.len() - 3..], [id, "--", "again"]);
        assert_eq!(i.warnings.len(), 2);

        let i = argv(json!({"prompt": "x"}), SessionChoice::Latest).unwrap();
        assert_eq!(&i.args[i.args.len() - 3..], ["--last", "--", "x"]);
    }

    #[test]
    fn config_override_keys_are_checked() {
        assert!(
            argv(
                json!({"prompt": "x", "configOverrides": {"a b": "1"}}),
                SessionChoice::New(None)
            )
            .is_err()
        );
        assert!(
            argv(
                json!({"prompt": "x", "configOverrides": {"model": "a\nb"}}),
                SessionChoice::New(None)
            )
            .is_err()
        );
        let i = argv(
            json!({"prompt": "x", "configOverrides": {"model_reasoning_effort": "high"}}),
            SessionChoice::New(None),
        )
        .unwrap();
        assert!(
            i.args
                .windows(2)
                .any(|w| w == ["-c", "model_reasoning_effort=high"])
        );
    }

    fn access(v: Value) -> Result<Access, RequestError> {
        crate::providers::access_of(&Codex, v)
    }

    #[test]
    fn every_mode_has_a_tier() {
        for mode in SANDBOX_MODES {
            assert!(MODES.lookup(SANDBOX, mode).is_some(), "{mode}");
        }
    }

    #[test]
    fn dangerous_requests_are_unrestricted() {
        for v in [
            json!({"prompt": "x", "sandboxMode": "danger-full-access"}),
            json!({"prompt": "x", "dangerouslyBypassApprovalsAndSandbox": true}),
            json!({"prompt": "x", "fullAuto": true, "sandboxMode": "danger-full-access"}),
            json!({"prompt": "x", "profile": "work"}),
            json!({"prompt": "x", "ignoreRules": true}),
            json!({"prompt": "x", "ignoreUserConfig": true}),
        ] {
            assert_eq!(access(v.clone()).unwrap().tier(), Tier::Unrestricted, "{v}");
        }
    }

    #[test]
    fn sandbox_decides_and_network_is_not_read_only() {
        let tier = |v: Value| access(v).unwrap().tier();
        assert_eq!(tier(json!({"prompt": "x"})), Tier::ReadOnly);
        assert_eq!(
            tier(json!({"prompt": "x", "sandboxMode": "read-only", "askForApproval": "never"})),
            Tier::ReadOnly
        );
        assert_eq!(
            tier(json!({"prompt": "x", "fullAuto": true})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "sandboxMode": "workspace-write"})),
            Tier::WorkspaceWrite
        );
        assert_eq!(
            tier(json!({"prompt": "x", "search": true})),
            Tier::WorkspaceWrite
        );
        assert!(access(json!({"prompt": "x", "sandboxMode": "none"})).is_err());
    }

    #[test]
    fn overrides_and_profiles_are_reported() {
        let a = access(json!({"prompt": "x", "cwd": "/w", "configOverrides": {"mcp_servers.x.command": "/bin/sh"}})).unwrap();
        assert_eq!(a.codex_overrides[0].key, "mcp_servers.x.command");
        assert_eq!(a.codex_overrides[0].value, "/bin/sh");
        assert_eq!(a.paths[0].value, "/w");
        for bad in ["../../tmp/evil", "a/b", "a.b"] {
            assert!(
                access(json!({"prompt": "x", "profile": bad})).is_err(),
                "{bad}"
            );
            assert!(
                argv(
                    json!({"prompt": "x", "profile": bad}),
                    SessionChoice::New(None)
                )
                .is_err(),
                "{bad}"
            );
        }
        let p: ForkParams = request::from_args(
            json!({"prompt": "x", "cwd": "/w", "forkLast": true})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(fork_access(&p).paths[0].value, "/w");
    }

    #[test]
    fn parses_events() {
        let out = "{\"type\":\"thread.started\",\"thread_id\":\"t1\"}\n{\"type\":\"turn.started\"}\n{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_message\",\"text\":\"done\"}}\n{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":10,\"cached_input_tokens\":2,\"output_tokens\":5}}\n";
        let p = Codex.parse("json", out, "", Some(0));
        assert_eq!(p.session_id.as_deref(), Some("t1"));
        assert_eq!(p.response.as_deref(), Some("done"));
        assert_eq!(
            (
                p.usage.input_tokens,
                p.usage.cache_read_tokens,
                p.usage.output_tokens
            ),
            (Some(10), Some(2), Some(5))
        );
        let offline = "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n{\"type\":\"error\",\"message\":\"Reconnecting... 2/5 (stream disconnected)\"}\n";
        let p = Codex.parse("json", offline, "", None);
        assert!(p.error.unwrap().starts_with("Reconnecting"));
    }

    #[test]
    fn fork_needs_exactly_one_target() {
        let f = |v: Value| {
            let p: ForkParams = request::from_args(v.as_object().unwrap()).unwrap();
            fork_invocation(&p, None)
        };
        assert!(f(json!({"prompt": "x"})).is_err());
        assert!(f(json!({"prompt": "x", "sessionId": "gw-abc"})).is_err());
        let i = f(json!({"prompt": "x", "forkLast": true})).unwrap();
        assert_eq!(&i.args[..2], ["exec", "fork"]);
        assert_eq!(&i.args[i.args.len() - 3..], ["--last", "--", "x"]);
    }
}
