//! The gate every provider request passes before anything is spawned: the operator's
//! policy decides, the person at the machine may allow one run the level does not
//! (MCP elicitation, on either wire), and every decision is recorded.
//!
//! The caller's text never reaches a CLI unchanged where the policy has an opinion:
//! paths are replaced by their resolved form, and a provider default the level forbids
//! is replaced by the safer mode the policy picked (`Decision::default_override`).

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult, JsonObject, ProtocolVersion,
};
use rmcp::service::{Peer, RequestContext};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::server::Gateway;
use crate::policy::{Decision, Level, Reason};
use crate::providers::Provider;
use crate::providers::access::Access;
use crate::providers::request::{Common, RequestError};
use crate::store::decisions::{DecisionKind, DecisionRecord};

/// How long the person at the machine has to answer a consent question on a 2025-era
/// session before the request counts as declined.
const CONSENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The key of the one input request a consent round carries (2026-07-28 wire).
const CONSENT_KEY: &str = "consent";
/// The parameter with which a CLI trusts its working directory for a run.
const TRUST_SWITCH: &str = "skipTrust";

/// What the client said about the call besides its arguments: enough to ask for
/// consent in the way its protocol revision defines.
pub struct CallInfo {
    peer: Option<Peer<RoleServer>>,
    /// Cancelled when the caller gives up: `notifications/cancelled` on a 2025 session,
    /// a closed response stream on the 2026-07-28 wire.
    pub(crate) ct: Option<tokio_util::sync::CancellationToken>,
    stateless: bool,
    can_elicit: bool,
    input_responses: Option<rmcp::model::InputResponses>,
    request_state: Option<String>,
}

impl CallInfo {
    /// A call made inside the gateway (validation fan-out): nobody to ask.
    pub fn internal() -> Self {
        Self {
            peer: None,
            ct: None,
            stateless: false,
            can_elicit: false,
            input_responses: None,
            request_state: None,
        }
    }

    pub fn from_context(
        ctx: &RequestContext<RoleServer>,
        input_responses: Option<rmcp::model::InputResponses>,
        request_state: Option<String>,
    ) -> Self {
        let stateless = ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        // Per-request `_meta` capabilities first (stateless wire), else the handshake's.
        let can_elicit = ctx
            .client_capabilities()
            .is_some_and(|c| c.elicitation.is_some());
        Self {
            peer: Some(ctx.peer.clone()),
            ct: Some(ctx.ct.clone()),
            stateless,
            can_elicit,
            input_responses,
            request_state,
        }
    }
}

/// The gate's answer.
pub enum Verdict {
    /// Run it; `user_approved` when the person at the machine allowed it.
    Run { user_approved: bool },
    /// Refused; the text is the tool error.
    Refuse {
        message: String,
        user_declined: bool,
    },
    /// Ask the client to put the question to the user (2026-07-28 wire) and call again.
    Ask(InputRequiredResult),
}

/// Decides `args` for `provider` under the gateway's policy, asks for consent where it
/// may, and rewrites `args` so the CLI gets resolved paths and the policy's default.
pub async fn admit(
    gateway: &Gateway,
    provider: &'static dyn Provider,
    tool: &str,
    args: &mut JsonObject,
    call: &CallInfo,
) -> Result<(Decision, Verdict), RequestError> {
    let common = Common::parse(args)?;
    let access = provider.access(&common, args)?;
    decide_and_ask(gateway, provider, tool, args, &common, access, call).await
}

/// [`admit`] for a request whose [`Access`] the caller worked out (`codex_fork_session`).
pub async fn admit_access(
    gateway: &Gateway,
    provider: &'static dyn Provider,
    tool: &str,
    args: &mut JsonObject,
    access: Access,
    call: &CallInfo,
) -> Result<(Decision, Verdict), RequestError> {
    let common = Common::parse(args)?;
    decide_and_ask(gateway, provider, tool, args, &common, access, call).await
}

async fn decide_and_ask(
    gateway: &Gateway,
    provider: &'static dyn Provider,
    tool: &str,
    args: &mut JsonObject,
    common: &Common,
    access: Access,
    call: &CallInfo,
) -> Result<(Decision, Verdict), RequestError> {
    let caller = match common.approval_policy.as_deref() {
        Some(level) => Some(
            level
                .parse::<Level>()
                .map_err(|e| RequestError::new(e.to_string()))?,
        ),
        None => None,
    };
    let decision = gateway.policy.decide(caller, &access);
    let verdict = if decision.allowed() {
        Verdict::Run {
            user_approved: false,
        }
    } else if !decision.user_can_allow() || !call.can_elicit {
        Verdict::Refuse {
            message: refusal_text(&decision, call.can_elicit),
            user_declined: false,
        }
    } else {
        consent(provider, tool, args, &decision, call).await
    };
    if let Verdict::Run { user_approved } = verdict {
        apply(provider, args, &decision, user_approved);
    }
    Ok((decision, verdict))
}

fn refusal_text(decision: &Decision, could_ask: bool) -> String {
    let mut text = format!(
        "refused by the operator's policy before anything ran:\n{}",
        decision.message()
    );
    if decision.user_can_allow() && !could_ask {
        text.push_str(
            "\n(this client did not declare MCP elicitation, so the gateway could not ask the user to allow this run once)",
        );
    }
    text
}

/// Puts the question to the user: `elicitation/create` on a 2025-era session, an
/// `InputRequired` result on the stateless wire (the client asks and calls again with
/// the answer, which must belong to this very request).
async fn consent(
    provider: &dyn Provider,
    tool: &str,
    args: &JsonObject,
    decision: &Decision,
    call: &CallInfo,
) -> Verdict {
    let question = question(provider, tool, args, decision);
    let state = request_fingerprint(tool, args);
    if call.stateless {
        let answer = call
            .input_responses
            .as_ref()
            .and_then(|r| r.get(CONSENT_KEY))
            .filter(|_| call.request_state.as_deref() == Some(state.as_str()));
        return match answer {
            None => Verdict::Ask(InputRequiredResult::new(
                Some(InputRequests::from([(
                    CONSENT_KEY.to_string(),
                    InputRequest::Elicitation(ElicitRequest::new(form(question))),
                )])),
                Some(state),
            )),
            Some(v) => judge(
                serde_json::from_value::<ElicitResult>(v.clone()).ok(),
                decision,
            ),
        };
    }
    let Some(peer) = &call.peer else {
        return Verdict::Refuse {
            message: refusal_text(decision, false),
            user_declined: false,
        };
    };
    let answer = peer
        .create_elicitation_with_timeout(form(question), Some(CONSENT_TIMEOUT))
        .await
        .ok();
    judge(answer, decision)
}

fn judge(answer: Option<ElicitResult>, decision: &Decision) -> Verdict {
    let accepted = answer.as_ref().is_some_and(|a| {
        a.action == ElicitationAction::Accept
            && a.content
                .as_ref()
                .and_then(|c| c.get("allow"))
                .and_then(Value::as_bool)
                == Some(true)
    });
    if accepted {
        return Verdict::Run {
            user_approved: true,
        };
    }
    let how = match answer.map(|a| a.action) {
        Some(ElicitationAction::Accept) => "the user did not tick allow",
        Some(ElicitationAction::Decline) => "the user declined",
        Some(ElicitationAction::Cancel) => "the user cancelled",
        _ => "no answer came from the user in time",
    };
    Verdict::Refuse {
        message: format!("{how}; nothing ran:\n{}", decision.message()),
        user_declined: true,
    }
}

fn form(message: String) -> ElicitRequestParams {
    let schema = ElicitationSchema::builder()
        .required_bool("allow")
        .build()
        .expect("a one-field schema is valid");
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    }
}

/// What will run, which provider, which mode, which directory — and what the policy
/// said — in words a person can judge.
fn question(provider: &dyn Provider, tool: &str, args: &JsonObject, decision: &Decision) -> String {
    let cwd = args
        .get("cwd")
        .and_then(Value::as_str)
        .unwrap_or("(a fresh empty scratch directory)");
    let prompt: String = args
        .get("prompt")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    format!(
        "A connected MCP client asks llm-cli-gateway to run {} ({tool}) in {cwd} with more than your policy allows (level {}):\n{}\n\nPrompt (first 200 characters): {prompt}\n\nAllow this one run?",
        provider.display_name(),
        decision.level,
        decision.message()
    )
}

/// Binds a consent answer to the request it was asked about: a different request, or
/// the same tool with other arguments, asks again.
fn request_fingerprint(tool: &str, args: &JsonObject) -> String {
    let text = serde_json::json!([tool, args]).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Rewrites the arguments as the policy decided: the safer default mode, resolved
/// paths, and no `--skip-trust` for a directory the user allowed outside the roots.
fn apply(provider: &dyn Provider, args: &mut JsonObject, decision: &Decision, user_approved: bool) {
    if let Some(ask) = &decision.default_override {
        args.insert(ask.parameter.clone(), Value::from(ask.value.clone()));
    }
    let mut outside_roots = Vec::new();
    let mut resolved: Vec<(String, String, String)> = decision
        .paths
        .iter()
        .map(|p| {
            (
                p.parameter.clone(),
                p.value.clone(),
                p.resolved.to_string_lossy().into_owned(),
            )
        })
        .collect();
    if user_approved {
        for r in &decision.refusals {
            if let Reason::PathOutsideRoots { resolved: to, .. } = &*r.reason {
                outside_roots.push(r.parameter.clone());
                resolved.push((
                    r.parameter.clone(),
                    r.value.clone(),
                    to.to_string_lossy().into_owned(),
                ));
            }
        }
    }
    for (parameter, value, to) in resolved {
        match args.get_mut(&parameter) {
            Some(Value::String(s)) if *s == value => *s = to,
            Some(Value::Array(items)) => {
                for item in items {
                    if item.as_str() == Some(value.as_str()) {
                        *item = Value::from(to.clone());
                    }
                }
            }
            _ => {}
        }
    }
    // A CLI that trusts its folder (Gemini's --skip-trust) may do so only inside a root.
    let has_trust_switch = provider
        .request_schema()
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key(TRUST_SWITCH));
    if has_trust_switch && outside_roots.iter().any(|p| p == "cwd") {
        args.insert(TRUST_SWITCH.into(), Value::Bool(false));
    }
}

/// A decision on its way to the store: written once the run started (with its job id)
/// or when the request is refused, so `approval_list` shows every one.
pub struct Record {
    provider: &'static str,
    tool: String,
    level: Level,
    reasons: Vec<String>,
    prompt_sha256: String,
    prompt_preview: Option<String>,
    correlation_id: Option<String>,
    kind: DecisionKind,
}

impl Record {
    pub fn new(
        gateway: &Gateway,
        provider: &dyn Provider,
        tool: &str,
        prompt: &str,
        correlation_id: Option<&str>,
        decision: &Decision,
    ) -> Self {
        let (prompt_sha256, prompt_preview) =
            crate::store::decisions::prompt_fields(prompt, gateway.policy.record_prompts());
        let mut reasons: Vec<String> = decision.refusals.iter().map(|r| r.message()).collect();
        if let Some(ask) = &decision.default_override {
            reasons.push(format!(
                "{} {:?} set by the policy: {}",
                ask.parameter, ask.value, ask.why
            ));
        }
        Self {
            provider: provider.id(),
            tool: tool.to_string(),
            level: decision.level,
            reasons,
            prompt_sha256,
            prompt_preview,
            correlation_id: correlation_id.map(str::to_string),
            kind: DecisionKind::Allowed,
        }
    }

    pub fn ran(mut self, user_approved: bool) -> Self {
        if user_approved {
            self.kind = DecisionKind::UserApproved;
        }
        self
    }

    pub fn refused(mut self, gateway: &Gateway, user_declined: bool, message: &str) {
        self.kind = if user_declined {
            DecisionKind::UserDeclined
        } else {
            DecisionKind::Refused
        };
        if self.reasons.is_empty() {
            self.reasons.push(message.to_string());
        }
        self.save(gateway, None);
    }

    /// Stores the record; a store that cannot write loses the record, never the run.
    pub fn save(self, gateway: &Gateway, job_id: Option<&str>) {
        let record = DecisionRecord {
            id: crate::store::new_id("dec-"),
            at_ms: crate::store::now_ms(),
            provider: self.provider.to_string(),
            tool: self.tool,
            level: self.level.to_string(),
            decision: self.kind,
            reasons: self.reasons,
            prompt_sha256: self.prompt_sha256,
            prompt_preview: self.prompt_preview,
            correlation_id: self.correlation_id,
            job_id: job_id.map(str::to_string),
        };
        if let Err(e) = gateway.store().record_decision(&record) {
            tracing::warn!("could not record a policy decision: {e:#}");
        }
    }
}
