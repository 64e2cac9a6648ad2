//! Gateway sessions: named handles on CLI conversations, one active per provider.
//! `session_create` makes a `gw-…` id; the CLI's own session id is bound to it on the
//! first request that uses it (chosen up front where the CLI allows, else learned).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::view;
use crate::gateway::server::Gateway;
use crate::providers;
use crate::store::new_id;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateParams {
    /// Provider: claude, codex, gemini, grok or mistral.
    pub cli: String,
    /// What this session is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Make it the provider's active session (default true).
    #[serde(default)]
    pub set_as_active: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CliFilter {
    /// Only this provider (claude, codex, gemini, grok, mistral); all when omitted.
    #[serde(default)]
    pub cli: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdParams {
    /// A gateway session id (gw-…).
    pub session_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetActiveParams {
    /// Provider: claude, codex, gemini, grok or mistral.
    pub cli: String,
    /// The session to make active; null clears the active session.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// The provider id, or the tool error naming the valid ones.
pub fn provider_id(cli: &str) -> Result<&'static str, CallToolResult> {
    providers::find(cli).map(|p| p.id()).ok_or_else(|| {
        view::refused(format!(
            "unknown cli {cli:?}; expected one of: {}",
            providers::ids().join(", ")
        ))
    })
}

fn filter(cli: &Option<String>) -> Result<Option<&'static str>, CallToolResult> {
    cli.as_deref().map(provider_id).transpose()
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refusal) => return Ok(refusal),
        }
    };
}
pub(crate) use tri;

fn store_err(e: anyhow::Error) -> CallToolResult {
    view::refused(format!("session store: {e:#}"))
}

#[tool_router(router = session_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Create a gateway session for a provider (returns a gw-… id to pass as sessionId) and make it active by default. Each provider may have at most [jobs] max_sessions_per_provider sessions (default 100); delete old ones to make room."
    )]
    async fn session_create(
        &self,
        Parameters(p): Parameters<CreateParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let provider = tri!(provider_id(&p.cli));
        if let Some(d) = &p.description
            && d.chars().count() > 1000
        {
            return Ok(view::refused("description is limited to 1000 characters"));
        }
        let id = new_id("gw-");
        let cap = self.jobs.settings().max_sessions_per_provider;
        let created = tri!(
            self.store()
                .create_session_within(
                    provider,
                    &id,
                    p.description.as_deref(),
                    None,
                    p.set_as_active.unwrap_or(true),
                    cap
                )
                .map_err(store_err)
        );
        Ok(match created {
            Ok(row) => view::data(json!({ "session": row })),
            Err(count) => view::refused(format!(
                "{provider} already has {count} gateway sessions, the cap ([jobs] max_sessions_per_provider = {cap}); delete some with session_delete or session_clear_all, or raise the cap in config.toml"
            )),
        })
    }

    #[tool(
        description = "List gateway sessions, newest first, optionally for one provider, with each provider's active session."
    )]
    async fn session_list(
        &self,
        Parameters(p): Parameters<CliFilter>,
    ) -> Result<CallToolResult, ErrorData> {
        let provider = tri!(filter(&p.cli));
        let sessions = tri!(self.store().list_sessions(provider).map_err(store_err));
        let active: serde_json::Map<String, serde_json::Value> = sessions
            .iter()
            .filter(|s| s.active)
            .map(|s| (s.provider.clone(), json!(s.id)))
            .collect();
        Ok(view::data(json!({
            "total": sessions.len(),
            "sessions": sessions,
            "activeSessions": active,
        })))
    }

    #[tool(
        description = "Details of one gateway session, including the CLI session id bound to it."
    )]
    async fn session_get(
        &self,
        Parameters(p): Parameters<SessionIdParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.store().get_session(&p.session_id) {
            Ok(Some(row)) => view::data(json!({ "session": row })),
            Ok(None) => view::refused(format!("no session {:?}", p.session_id)),
            Err(e) => store_err(e),
        })
    }

    #[tool(
        description = "Make a session the provider's active one, or clear it with sessionId null."
    )]
    async fn session_set_active(
        &self,
        Parameters(p): Parameters<SetActiveParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let provider = tri!(provider_id(&p.cli));
        let ok = tri!(
            self.store()
                .set_active_session(provider, p.session_id.as_deref())
                .map_err(store_err)
        );
        Ok(if ok {
            view::data(json!({ "cli": provider, "activeSession": p.session_id }))
        } else {
            view::refused(format!(
                "no {provider} session {:?}",
                p.session_id.unwrap_or_default()
            ))
        })
    }

    #[tool(description = "Delete one gateway session (the CLI's own history is not touched).")]
    async fn session_delete(
        &self,
        Parameters(p): Parameters<SessionIdParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.store().delete_session(&p.session_id) {
            Ok(true) => view::data(json!({ "deleted": p.session_id })),
            Ok(false) => view::refused(format!("no session {:?}", p.session_id)),
            Err(e) => store_err(e),
        })
    }

    #[tool(description = "Delete all gateway sessions, or all of one provider's.")]
    async fn session_clear_all(
        &self,
        Parameters(p): Parameters<CliFilter>,
    ) -> Result<CallToolResult, ErrorData> {
        let provider = tri!(filter(&p.cli));
        let n = tri!(self.store().clear_sessions(provider).map_err(store_err));
        Ok(view::data(json!({ "cleared": n, "cli": provider })))
    }
}
