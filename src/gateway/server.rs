//! The MCP server handler: tools and resources exposed to clients. One `Gateway` value is
//! cloned per MCP session; they share the job manager, so every client sees every job.

use std::sync::Arc;

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::router::tool::ToolRouter,
    model::{
        Implementation, ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
        ServerConfig,
    },
    service::RequestContext,
    tool_handler,
};
use serde_json::json;

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolRequestParams, CallToolResponse, JsonObject};

use crate::gateway::jobs::JobManager;
use crate::gateway::tools;
use crate::policy::Policy;
use crate::providers;
use crate::runtime::paths::Paths;
use crate::store::Store;

pub const SERVER_NAME: &str = "llm-cli-gateway";

static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the version this gateway reports (`/healthz`, serverInfo, `llm_process_health`):
/// the version of the installed bundle it runs from, so `upgrade` can tell that the new
/// bundle — not an old process — is answering. `serve` reads it from `bundle.json`
/// (releases are not the gateway's business). Only the first call counts.
pub fn set_version(version: String) {
    let _ = VERSION.set(version);
}

/// The version set by [`set_version`]; a binary outside a bundle reports the crate version.
pub fn version() -> &'static str {
    VERSION
        .get()
        .map_or(crate::platform::build::VERSION, String::as_str)
}

#[derive(Clone)]
pub struct Gateway {
    pub(crate) jobs: Arc<JobManager>,
    /// Where this installation's files are, for `doctor`.
    pub(crate) paths: Arc<Paths>,
    /// How `doctor` finds client configs; given by `serve`, since editing and reading
    /// client files belongs to the bootstrapper.
    pub(crate) client_probe: Option<crate::doctor::ClientProbe>,
    /// The operator's policy, read once at start (`[policy]` in config.toml).
    pub(crate) policy: Arc<Policy>,
    tool_router: ToolRouter<Self>,
}

impl Gateway {
    pub fn new(jobs: Arc<JobManager>, paths: Paths, policy: Policy) -> Self {
        let mut router = Self::job_tools();
        router += Self::session_tools();
        router += Self::model_tools();
        router += Self::cli_tools();
        router += Self::validation_tools();
        router += Self::doctor_tools();
        router += Self::approval_tools();
        router += tools::requests::routes();
        Self {
            jobs,
            paths: Arc::new(paths),
            client_probe: None,
            policy: Arc::new(policy),
            tool_router: router,
        }
    }

    /// Lets the `doctor` tool report which MCP clients point at this gateway.
    pub fn with_client_probe(mut self, probe: crate::doctor::ClientProbe) -> Self {
        self.client_probe = Some(probe);
        self
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        self.jobs.store()
    }

    /// Names of every tool, for tests and docs.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Gateway {
    /// Every call goes through the router, after one check the router does not make:
    /// arguments the tool's schema does not name are an error, so a typo such as
    /// `permisionMode` can never run with the defaults.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let (Some(tool), Some(args)) = (self.tool_router.get(&request.name), &request.arguments)
            && let Some(unknown) = unknown_argument(&tool.input_schema, args)
        {
            let known = known_arguments(&tool.input_schema).join(", ");
            return Ok(tools::view::refused(format!(
                "unknown parameter {unknown:?} for {}: nothing ran. Parameters it takes: {known}",
                request.name
            ))
            .into());
        }
        if let Some(args) = &request.arguments
            && let Some((name, len)) = oversized_list(args)
        {
            return Ok(tools::view::refused(format!(
                "parameter {name:?} of {} has {len} entries; the limit is {MAX_LIST_ENTRIES}: nothing ran",
                request.name
            ))
            .into());
        }
        let tcc = ToolCallContext::new(self, request, context);
        self.tool_router.call(tcc).await
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(SERVER_NAME, version()))
        .with_instructions(
            "llm-cli-gateway: ask the user's other AI coding CLIs (Claude Code, Codex, Gemini, Grok, Mistral Vibe) for second opinions. \
             Use <cli>_request for quick questions; for long work use <cli>_request_async, then llm_job_status and llm_job_result. \
             Re-sending an identical request reuses the running or finished job instead of starting over.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut resources = Vec::new();
        for p in providers::ALL {
            resources.push(
                Resource::new(
                    format!("sessions://{}", p.id()),
                    format!("{} sessions", p.display_name()),
                )
                .with_description(format!("Gateway sessions for {}", p.display_name()))
                .with_mime_type("application/json"),
            );
            resources.push(
                Resource::new(
                    format!("models://{}", p.id()),
                    format!("{} models", p.display_name()),
                )
                .with_description(format!("Models and aliases for {}", p.display_name()))
                .with_mime_type("application/json"),
            );
        }
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        let (kind, id) = uri
            .split_once("://")
            .ok_or_else(|| ErrorData::resource_not_found(uri.clone(), None))?;
        let provider =
            providers::find(id).ok_or_else(|| ErrorData::resource_not_found(uri.clone(), None))?;
        let body = match kind {
            "sessions" => {
                let sessions = self
                    .store()
                    .list_sessions(Some(provider.id()))
                    .map_err(|e| {
                        ErrorData::internal_error(format!("session store: {e:#}"), None)
                    })?;
                json!({ "cli": provider.id(), "sessions": sessions })
            }
            "models" => tools::models::listing(provider),
            _ => return Err(ErrorData::resource_not_found(uri, None)),
        };
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri)]).into())
    }
}

/// The most entries any list or map argument may hold (tool-specific caps, such as 20
/// job ids, are lower): a request cannot make the gateway build an argv or a reply from
/// an unbounded list.
pub const MAX_LIST_ENTRIES: usize = 100;

/// The first top-level argument that is a list or map longer than [`MAX_LIST_ENTRIES`].
fn oversized_list(args: &JsonObject) -> Option<(String, usize)> {
    args.iter().find_map(|(k, v)| {
        let len = match v {
            serde_json::Value::Array(a) => a.len(),
            serde_json::Value::Object(o) => o.len(),
            _ => 0,
        };
        (len > MAX_LIST_ENTRIES).then(|| (k.clone(), len))
    })
}

/// The first argument the schema's `properties` does not name.
fn unknown_argument(schema: &JsonObject, args: &JsonObject) -> Option<String> {
    let props = schema.get("properties").and_then(|p| p.as_object());
    args.keys()
        .find(|k| !props.is_some_and(|p| p.contains_key(k.as_str())))
        .cloned()
}

fn known_arguments(schema: &JsonObject) -> Vec<String> {
    let mut names: Vec<String> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        names.push("(none)".into());
    }
    names
}
