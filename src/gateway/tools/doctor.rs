//! `doctor` as a tool: the same document as `llm-cli-gateway doctor --json`, seen from
//! inside the gateway, so a client can ask why a provider fails without a shell.

use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::view;
use crate::doctor::{self, Options};
use crate::gateway::server::Gateway;

const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const MAX_TIMEOUT_MS: u64 = 60_000;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorParams {
    /// Also send a HEAD request to the configured public URL.
    #[serde(default)]
    pub check_public_url: Option<bool>,
    /// Per-probe timeout (default 5000 ms, at most 60000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[tool_router(router = doctor_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Diagnose the gateway: installed version and file integrity, service state, endpoint exposure, token (never its value), each provider CLI (found on the gateway's PATH, version, logged in or not, with install and login guidance), MCP client configs, and next_actions in the order to take them. The same document as `llm-cli-gateway doctor --json`."
    )]
    async fn doctor(
        &self,
        Parameters(p): Parameters<DoctorParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let timeout = p
            .timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, MAX_TIMEOUT_MS);
        let opts = Options {
            check_public_url: p.check_public_url.unwrap_or(false),
            timeout: Duration::from_millis(timeout),
            inside_gateway: true,
            clients: self.client_probe,
        };
        let report = doctor::diagnose(&self.paths, &opts).await;
        let text = doctor::render(&report);
        let value = doctor::document(report)
            .map_err(|e| ErrorData::internal_error(format!("doctor report: {e}"), None))?;
        Ok(view::reply(value, text, false))
    }
}
