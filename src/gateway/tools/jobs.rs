//! `llm_job_status`, `llm_job_result`, `llm_job_cancel`, `llm_process_health`.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::view;
use crate::gateway::jobs::CancelOutcome;
use crate::gateway::process_info;
use crate::gateway::server::{Gateway, SERVER_NAME, version};
use crate::store::jobs::JobRow;

/// Default `maxChars` for results: enough for a long review, small enough for a client's
/// context window.
pub const DEFAULT_MAX_CHARS: usize = 100_000;
/// Upper bound for `maxChars`: MCP clients cap one message at 1 MiB (the Python SDK
/// refuses bigger SSE events), and a result carries response, stdout and stderr.
pub const MAX_MAX_CHARS: usize = 200_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobIdParams {
    /// The jobId a request tool returned.
    pub job_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResultParams {
    /// The jobId a request tool returned.
    pub job_id: String,
    /// Return at most this many characters of the response, stdout and stderr each
    /// (default 100000, at most 200000 so the reply fits a 1 MiB MCP message); the
    /// *Truncated flags say when something was cut.
    #[serde(default)]
    pub max_chars: Option<usize>,
}

#[tool_router(router = job_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Status of a job started by a *_request or *_request_async tool: running, completed, failed, canceled or orphaned (the gateway restarted while it ran), with timings, exit code, reason and output size. Cheap; poll this."
    )]
    async fn llm_job_status(
        &self,
        Parameters(p): Parameters<JobIdParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.find_job(&p.job_id, false) {
            Ok(row) => view::data(view::summary(&row, self.jobs.is_running(&row.id))),
            Err(refusal) => refusal,
        })
    }

    #[tool(
        description = "Result of a job: the parsed response, session id, token usage and raw stdout/stderr (cut to maxChars, with truncation flags). Works for running jobs (partial output) and after gateway restarts."
    )]
    async fn llm_job_result(
        &self,
        Parameters(p): Parameters<JobResultParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.find_job(&p.job_id, true) {
            Ok(row) => {
                let v = view::result(
                    &row,
                    self.jobs.is_running(&row.id),
                    p.max_chars.unwrap_or(DEFAULT_MAX_CHARS).min(MAX_MAX_CHARS),
                );
                let text = view::headline(&v);
                view::reply(v, text, false)
            }
            Err(refusal) => refusal,
        })
    }

    #[tool(
        description = "Cancel a running job: the CLI and every process it started (its process group) get SIGTERM, then SIGKILL. Canceling a finished job changes nothing and says so."
    )]
    async fn llm_job_cancel(
        &self,
        Parameters(p): Parameters<JobIdParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let outcome = match self.jobs.cancel(&p.job_id) {
            Ok(o) => o,
            Err(e) => return Ok(view::refused(format!("job store: {e:#}"))),
        };
        Ok(match outcome {
            CancelOutcome::NotFound => view::refused(unknown_job(&p.job_id)),
            CancelOutcome::AlreadyFinished(status) => {
                let v = json!({"jobId": p.job_id, "canceled": false, "status": status});
                view::reply(
                    v,
                    format!(
                        "job {} had already finished ({}); nothing to cancel",
                        p.job_id,
                        status.as_str()
                    ),
                    false,
                )
            }
            CancelOutcome::Canceled => {
                let grace = self.jobs.settings().kill_grace + std::time::Duration::from_secs(2);
                self.jobs.wait(&p.job_id, grace).await;
                let status = self
                    .find_job(&p.job_id, false)
                    .map(|r| r.status.as_str())
                    .unwrap_or("unknown");
                let v = json!({"jobId": p.job_id, "canceled": true, "status": status});
                view::reply(
                    v,
                    format!("job {} canceled (status: {status})", p.job_id),
                    false,
                )
            }
        })
    }

    #[tool(
        description = "Report the gateway process's health: version, pid, uptime, resident memory, and provider CLI processes currently running."
    )]
    async fn llm_process_health(&self) -> Result<CallToolResult, ErrorData> {
        let active = self.jobs.active();
        Ok(view::data(json!({
            "status": "ok",
            "name": SERVER_NAME,
            "version": version(),
            "pid": std::process::id(),
            "uptime_secs": process_info::uptime_secs(),
            "rss_bytes": process_info::rss_bytes(),
            "active_processes": active.len(),
            "processes": active,
        })))
    }
}

impl Gateway {
    /// The job row, or the tool error to return.
    fn find_job(&self, id: &str, with_output: bool) -> Result<JobRow, CallToolResult> {
        let found = if with_output {
            self.store().get_job(id)
        } else {
            self.store().get_job_summary(id)
        };
        match found {
            Ok(Some(row)) => Ok(row),
            Ok(None) => Err(view::refused(unknown_job(id))),
            Err(e) => Err(view::refused(format!("job store: {e:#}"))),
        }
    }
}

fn unknown_job(id: &str) -> String {
    format!(
        "no job {id:?}: job ids look like job-1a2b…; finished jobs are kept for the retention period (default 30 days)"
    )
}
