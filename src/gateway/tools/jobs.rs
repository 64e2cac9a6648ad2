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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobIdParams {
    /// The jobId a request tool returned.
    pub job_id: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    /// Cut the response, stdout and stderr each to this many characters (optional; the
    /// reply is bounded by the gateway's max_reply_bytes anyway).
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// Page mode: start at this byte offset (of UTF-8, snapped to a character boundary)
    /// of `stream`. Take it from `nextOffset` of the previous reply.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Page mode: at most this many bytes (default and upper bound: what fits in one
    /// reply).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Page mode: which text to page through: response (default), stdout or stderr.
    #[serde(default)]
    pub stream: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResultParams {
    /// The jobId a request tool returned.
    pub job_id: String,
    #[serde(flatten)]
    pub page: PageParams,
}

/// What the result tools say about size, paging and truncation.
macro_rules! paging_help {
    () => {
        " Replies are bounded (the gateway's [jobs] max_reply_bytes, default 768 KiB, under the 1 MiB MCP clients accept): a longer response, stdout or stderr is cut and ends with `… [truncated: N more bytes; use llm_job_result with offset/limit]`, and nextOffset/totalLength (bytes of UTF-8; per field under `paging`) say where the rest starts. To read everything, call again with offset (bytes, from nextOffset), optional limit (bytes) and stream (response, stdout or stderr): the reply is that page as `text`, with nextOffset null on the last one."
    };
}
pub(crate) use paging_help;

#[tool_router(router = job_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Status of a job started by a *_request or *_request_async tool: queued (waiting for a free CLI process slot; queuePosition says where, 1 is next), running, completed, failed, timed_out (its total deadline, max_runtime_secs or maxRuntimeMs, ended it), canceled or orphaned (the gateway restarted while it ran), with timings, exit code, reason and output size. Cheap; poll this."
    )]
    async fn llm_job_status(
        &self,
        Parameters(p): Parameters<JobIdParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.find_job(&p.job_id, false) {
            Ok(row) => view::data(view::summary(&row, self.live(&row.id))),
            Err(refusal) => refusal,
        })
    }

    #[tool(
        description = concat!(
            "Result of a job: the parsed response, session id, token usage and raw stdout/stderr, with truncation flags. Works for queued and running jobs (partial output) and after gateway restarts.",
            paging_help!()
        )
    )]
    async fn llm_job_result(
        &self,
        Parameters(p): Parameters<JobResultParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.job_result_reply(&p.job_id, &p.page))
    }

    #[tool(
        description = "Cancel a queued or running job: a queued one leaves the queue without starting; a running CLI and every process it started (its process group) get SIGTERM, then SIGKILL. Canceling a finished job changes nothing and says so."
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
        description = "Report the gateway process's health: version, pid, uptime, resident memory, provider CLI processes currently running and jobs queued for a process slot."
    )]
    async fn llm_process_health(&self) -> Result<CallToolResult, ErrorData> {
        let active = self.jobs.active();
        let limits = self.jobs.settings();
        Ok(view::data(json!({
            "status": "ok",
            "name": SERVER_NAME,
            "version": version(),
            "pid": std::process::id(),
            "uptime_secs": process_info::uptime_secs(),
            "rss_bytes": process_info::rss_bytes(),
            "active_processes": active.len(),
            "max_concurrent_processes": limits.max_concurrent_processes,
            "queued_jobs": self.jobs.queued_count(),
            "processes": active,
        })))
    }
}

impl Gateway {
    /// What this gateway knows of a job beyond its row.
    pub(crate) fn live(&self, id: &str) -> view::Live {
        view::Live {
            here: self.jobs.is_running(id),
            queue_position: self.jobs.queue_position(id),
        }
    }

    /// The reply of `llm_job_result` and `job_result`: the bounded result, or one page.
    pub(crate) fn job_result_reply(&self, id: &str, p: &PageParams) -> CallToolResult {
        let row = match self.find_job(id, true) {
            Ok(row) => row,
            Err(refusal) => return refusal,
        };
        let cap = self.jobs.settings().max_reply_bytes;
        let live = self.live(&row.id);
        if p.offset.is_none() && p.limit.is_none() && p.stream.is_none() {
            let (v, text) = view::result(&row, live, cap, p.max_chars, &[]);
            return view::reply(v, text, false);
        }
        let stream = match p.stream.as_deref().map(view::Stream::parse) {
            None => view::Stream::Response,
            Some(Some(s)) => s,
            Some(None) => {
                return view::refused("stream must be one of: response, stdout, stderr");
            }
        };
        if p.limit == Some(0) {
            return view::refused("limit must be at least 1 (bytes)");
        }
        let (v, text) = view::page(&row, live, stream, p.offset.unwrap_or(0), p.limit, cap);
        view::reply(v, text, false)
    }

    /// The job row (as the job manager sees it), or the tool error to return.
    fn find_job(&self, id: &str, with_output: bool) -> Result<JobRow, CallToolResult> {
        match self.jobs.get_job(id, with_output) {
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
