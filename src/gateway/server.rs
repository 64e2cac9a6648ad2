//! The MCP server handler: tools exposed to clients.

use rmcp::{
    ErrorData, ServerHandler,
    handler::server::router::tool::ToolRouter,
    model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
};
use serde_json::json;

use crate::gateway::process_info;

pub const SERVER_NAME: &str = "llm-cli-gateway";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Gateway {
    #[expect(dead_code, reason = "read by the code #[tool_handler] generates")]
    tool_router: ToolRouter<Self>,
}

impl Default for Gateway {
    fn default() -> Self {
        Self::new()
    }
}

impl Gateway {
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Gateway {
    /// Health of the gateway process: pid, uptime, memory, version and running provider
    /// processes.
    #[tool(
        description = "Report the gateway process's health: version, pid, uptime, resident memory, and provider CLI processes currently running."
    )]
    async fn llm_process_health(&self) -> Result<CallToolResult, ErrorData> {
        let report = json!({
            "status": "ok",
            "name": SERVER_NAME,
            "version": VERSION,
            "pid": std::process::id(),
            "uptime_secs": process_info::uptime_secs(),
            "rss_bytes": process_info::rss_bytes(),
            "active_processes": 0,
            "processes": [],
        });
        let mut result = CallToolResult::structured(report.clone());
        result.content = vec![rmcp::model::ContentBlock::text(
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        )];
        Ok(result)
    }
}

#[tool_handler]
impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, VERSION))
            .with_instructions(
                "llm-cli-gateway: ask the user's other AI coding CLIs (Claude Code, Codex, Gemini, Grok, Mistral Vibe) for second opinions.",
            )
    }
}
