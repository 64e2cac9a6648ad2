//! `list_models`: what each provider's model registry knows, with where it came from.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde_json::{Value, json};

use super::sessions::{CliFilter, provider_id, tri};
use super::view;
use crate::gateway::server::Gateway;
use crate::providers::models::{self, ProcessEnv};
use crate::providers::{self, Provider};

/// One provider's listing as JSON (also served as the `models://<provider>` resource).
pub fn listing(provider: &dyn Provider) -> Value {
    let mut v = json!(models::listing(provider.catalog(), &ProcessEnv));
    v["cli"] = json!(provider.binary());
    v
}

#[tool_router(router = model_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "List models and aliases per provider: bundled fallbacks (low confidence), *_DEFAULT_MODEL / *_MODELS / *_MODEL_ALIASES and LLM_GATEWAY_MODEL_ALIASES (env), and defaults from each CLI's own config, with source and confidence for each."
    )]
    async fn list_models(
        &self,
        Parameters(p): Parameters<CliFilter>,
    ) -> Result<CallToolResult, ErrorData> {
        let only = tri!(p.cli.as_deref().map(provider_id).transpose());
        let listings: Vec<Value> = providers::ALL
            .iter()
            .filter(|pr| only.is_none_or(|id| pr.id() == id))
            .map(|pr| listing(*pr))
            .collect();
        Ok(view::data(json!({ "providers": listings })))
    }
}
