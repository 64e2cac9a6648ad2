//! `<provider>_request`, `<provider>_request_async` (generated from the provider table)
//! and `codex_fork_session`.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResponse, CallToolResult, JsonObject, Tool};
use serde_json::json;

use super::view;
use crate::gateway::gate::{self, CallInfo, Verdict};
use crate::gateway::jobs::JobSpec;
use crate::gateway::server::Gateway;
use crate::providers::codex::{self, ForkParams};
use crate::providers::models::{self, ProcessEnv};
use crate::providers::request::{self, Common, Invocation, RequestError, SessionChoice};
use crate::providers::{self, Provider, SessionSupport};
use crate::store::new_id;

/// Routes for every provider's sync and async request tools, plus Codex's fork.
pub fn routes() -> ToolRouter<Gateway> {
    let mut router = ToolRouter::new();
    for &provider in providers::ALL {
        for wait in [true, false] {
            let (name, how) = if wait {
                (
                    format!("{}_request", provider.id()),
                    "Waits for the answer; if the CLI is still working (or still queued behind the cap on concurrent CLI processes) when the gateway's sync wait (default 40 s) runs out, returns a jobId to poll instead of timing out. A long answer is cut to fit the reply (max_reply_bytes) with a `[truncated: …]` marker; llm_job_result pages through the rest with offset/limit.",
                )
            } else {
                (
                    format!("{}_request_async", provider.id()),
                    "Starts the run (or queues it behind the cap on concurrent CLI processes) and returns a jobId at once; poll llm_job_status, then llm_job_result.",
                )
            };
            let description = format!(
                "{}. {how} Identical requests within the dedup window share one run (forceRefresh: true bypasses). Sessions: sessionId / resumeLatest / createNewSession.",
                provider.tool_blurb()
            );
            let tool = Tool::new(name, description, Arc::new(provider.request_schema()));
            router.add_route(ToolRoute::new_dyn(
                tool,
                move |ctx: ToolCallContext<'_, Gateway>| {
                    let gateway = ctx.service.clone();
                    let call = CallInfo::from_context(
                        &ctx.request_context,
                        ctx.input_responses,
                        ctx.request_state,
                    );
                    let tool = ctx.name.to_string();
                    let args = ctx.arguments.unwrap_or_default();
                    Box::pin(async move {
                        Ok(gateway.request(provider, &tool, args, wait, &call).await)
                    })
                },
            ));
        }
    }
    let fork = Tool::new(
        "codex_fork_session",
        "Fork a Codex session into a new one and send it a prompt (`codex exec fork <sessionId>|--last`). Give exactly one of sessionId (a Codex session UUID) or forkLast: true. Waits like codex_request.",
        Arc::new(codex::fork_schema()),
    );
    router.add_route(ToolRoute::new_dyn(
        fork,
        |ctx: ToolCallContext<'_, Gateway>| {
            let gateway = ctx.service.clone();
            let call = CallInfo::from_context(
                &ctx.request_context,
                ctx.input_responses,
                ctx.request_state,
            );
            let args = ctx.arguments.unwrap_or_default();
            Box::pin(async move { Ok(gateway.fork(args, &call).await) })
        },
    ));
    router
}

impl Gateway {
    async fn request(
        &self,
        provider: &'static dyn Provider,
        tool: &str,
        args: JsonObject,
        wait: bool,
        call: &CallInfo,
    ) -> CallToolResponse {
        match self.admitted_plan(provider, tool, args, call).await {
            Ok(Admitted::Run(spec, record)) => self
                .launch(*spec, wait, Some(record), call.ct.clone())
                .await
                .into(),
            Ok(Admitted::Ask(ask)) => CallToolResponse::InputRequired(ask),
            Err(e) => view::refused(e.0).into(),
        }
    }

    async fn fork(&self, args: JsonObject, call: &CallInfo) -> CallToolResponse {
        let tool = "codex_fork_session";
        let provider: &'static dyn Provider = &codex::Codex;
        let mut args = args;
        let admitted = async {
            let p: ForkParams = request::from_args(&args)?;
            let access = codex::fork_access(&p);
            let (decision, verdict) =
                gate::admit_access(self, provider, tool, &mut args, access, call).await?;
            let record = self.settle(provider, tool, &args, &decision, verdict)?;
            let record = match record {
                Settled::Run(r) => r,
                Settled::Ask(ask) => return Ok::<_, RequestError>(Admitted::Ask(ask)),
            };
            let p: ForkParams = request::from_args(&args)?;
            let common = Common::parse(&args)?;
            let program = locate(provider)?;
            let model = resolve_model(provider, &common)?;
            let invocation = codex::fork_invocation(&p, model.0.as_deref())?;
            let spec = self.spec(provider, &common, program, model, invocation, None)?;
            Ok(Admitted::Run(Box::new(spec), record))
        };
        match admitted.await {
            Ok(Admitted::Run(spec, record)) => self
                .launch(*spec, true, Some(record), call.ct.clone())
                .await
                .into(),
            Ok(Admitted::Ask(ask)) => CallToolResponse::InputRequired(ask),
            Err(e) => view::refused(e.0).into(),
        }
    }

    /// The policy gate, then the plan: what validation tools and the request tools run.
    /// Nothing is spawned or written (but the decision record) on the error path.
    pub(crate) async fn admitted_plan(
        &self,
        provider: &'static dyn Provider,
        tool: &str,
        mut args: JsonObject,
        call: &CallInfo,
    ) -> Result<Admitted, RequestError> {
        let (decision, verdict) = gate::admit(self, provider, tool, &mut args, call).await?;
        let record = match self.settle(provider, tool, &args, &decision, verdict)? {
            Settled::Run(r) => r,
            Settled::Ask(ask) => return Ok(Admitted::Ask(ask)),
        };
        let spec = self.plan(provider, &args)?;
        Ok(Admitted::Run(Box::new(spec), record))
    }

    /// Records a final verdict; a refusal becomes the tool's error.
    fn settle(
        &self,
        provider: &dyn Provider,
        tool: &str,
        args: &JsonObject,
        decision: &crate::policy::Decision,
        verdict: Verdict,
    ) -> Result<Settled, RequestError> {
        let prompt = args.get("prompt").and_then(|v| v.as_str()).unwrap_or("");
        let correlation = args.get("correlationId").and_then(|v| v.as_str());
        let record = gate::Record::new(self, provider, tool, prompt, correlation, decision);
        match verdict {
            Verdict::Ask(ask) => Ok(Settled::Ask(ask)),
            Verdict::Run { user_approved } => Ok(Settled::Run(record.ran(user_approved))),
            Verdict::Refuse {
                message,
                user_declined,
            } => {
                record.refused(self, user_declined, &message);
                Err(RequestError::new(message))
            }
        }
    }

    /// Validates a request and decides exactly what to run. Nothing is spawned or
    /// written on the error path.
    pub(crate) fn plan(
        &self,
        provider: &'static dyn Provider,
        args: &JsonObject,
    ) -> Result<JobSpec, RequestError> {
        let common = Common::parse(args)?;
        let program = locate(provider)?;
        let model = resolve_model(provider, &common)?;
        let (session, gateway_session) = self.session_choice(provider, &common)?;
        let invocation = provider.invocation(&common, args, model.0.as_deref(), &session)?;
        let spec = self.spec(
            provider,
            &common,
            program,
            model,
            invocation,
            gateway_session.clone(),
        )?;
        // Bind a fresh gateway session to the id we chose, only once the run is certain.
        if let (Some(gw), SessionChoice::New(Some(cli_id))) = (&gateway_session, &session) {
            self.store()
                .touch_session(gw, Some(cli_id))
                .map_err(|e| RequestError::new(format!("could not update session {gw}: {e:#}")))?;
        }
        Ok(spec)
    }

    fn spec(
        &self,
        provider: &'static dyn Provider,
        common: &Common,
        program: std::path::PathBuf,
        (model, model_warning): (Option<String>, Option<String>),
        invocation: Invocation,
        gateway_session: Option<String>,
    ) -> Result<JobSpec, RequestError> {
        let cwd = common.working_dir()?;
        let idle_timeout = common
            .idle_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.jobs.settings().idle_timeout);
        let limit = self.jobs.settings().max_runtime;
        let (max_runtime, max_runtime_source) = match common.max_runtime_ms {
            Some(ms) if Duration::from_millis(ms) < limit => {
                (Duration::from_millis(ms), "the request's maxRuntimeMs")
            }
            _ => (limit, "[jobs] max_runtime_secs"),
        };
        for w in &invocation.warnings {
            tracing::info!("{}: {w}", provider.id());
        }
        let mut warnings = invocation.warnings;
        if let Some(w) = model_warning {
            warnings.push(w);
        }
        Ok(JobSpec {
            provider,
            program,
            args: invocation.args,
            env: invocation.env,
            cwd,
            output_format: common
                .output_format_or(provider.output_formats())?
                .to_string(),
            model,
            correlation_id: common
                .correlation_id
                .clone()
                .unwrap_or_else(|| new_id("corr-")),
            idle_timeout,
            max_runtime,
            max_runtime_source,
            force_refresh: common.force_refresh,
            gateway_session,
            warnings,
        })
    }

    /// Maps sessionId / resumeLatest / createNewSession onto what the CLI can do.
    fn session_choice(
        &self,
        provider: &dyn Provider,
        common: &Common,
    ) -> Result<(SessionChoice, Option<String>), RequestError> {
        if common.resume_latest {
            return Ok((SessionChoice::Latest, None));
        }
        let Some(id) = &common.session_id else {
            return Ok((SessionChoice::New(None), None));
        };
        if id.starts_with("gw-") {
            let row = self
                .store()
                .get_session(id)
                .map_err(|e| RequestError::new(format!("session store: {e:#}")))?
                .ok_or_else(|| {
                    RequestError::new(format!(
                        "no gateway session {id:?}; create one with session_create or list them with session_list"
                    ))
                })?;
            if row.provider != provider.id() {
                return Err(RequestError::new(format!(
                    "session {id} belongs to {}, not {}",
                    row.provider,
                    provider.id()
                )));
            }
            return match (row.cli_session_id, provider.session_support()) {
                (Some(cli), _) => Ok((SessionChoice::Resume(cli), Some(id.clone()))),
                (None, SessionSupport::ChooseId) => Ok((
                    SessionChoice::New(Some(request::new_uuid())),
                    Some(id.clone()),
                )),
                (None, SessionSupport::LearnId) => Err(RequestError::new(format!(
                    "{id} is a gateway session id with no {} session behind it yet, and {} cannot take an id we choose: run once without sessionId (or with createNewSession) and pass the sessionId from that response",
                    provider.display_name(),
                    provider.binary()
                ))),
            };
        }
        request::check_flag_value("sessionId", id)?;
        if provider.session_support() == SessionSupport::ChooseId && !request::is_uuid(id) {
            return Err(RequestError::new(format!(
                "sessionId {id:?} is not a {} session UUID",
                provider.display_name()
            )));
        }
        Ok((SessionChoice::Resume(id.clone()), None))
    }

    pub(crate) async fn launch(
        &self,
        mut spec: JobSpec,
        wait: bool,
        record: Option<gate::Record>,
        gave_up: Option<tokio_util::sync::CancellationToken>,
    ) -> CallToolResult {
        let warnings = std::mem::take(&mut spec.warnings);
        let started = match self.jobs.start(spec).await {
            Ok(s) => s,
            Err(e) => return view::refused(format!("{e:#}")),
        };
        let id = started.job.id.clone();
        if let Some(record) = record {
            record.save(self, Some(&id));
        }
        if wait {
            // The caller may give up while the CLI runs; then the run is ended, not left
            // until its idle timer. The guard also covers this future being dropped.
            let guard = AbandonOnDrop {
                jobs: &self.jobs,
                id: &id,
                armed: true,
            };
            let sync_wait = self.jobs.settings().sync_wait;
            let gave_up = gave_up.unwrap_or_default();
            tokio::select! {
                _ = self.jobs.wait(&id, sync_wait) => guard.disarm(),
                _ = gave_up.cancelled() => {
                    drop(guard);
                    return view::refused(format!("the caller gave up on {id}; it was ended"));
                }
            }
        }
        let row = match self.jobs.get_job(&id, true) {
            Ok(Some(row)) => row,
            Ok(None) => return view::refused(format!("job {id} disappeared from the store")),
            Err(e) => return view::refused(format!("job store: {e:#}")),
        };
        let live = self.live(&id);
        let extra = [
            ("deduped", json!(started.deduped)),
            ("warnings", json!(warnings)),
        ];
        let (v, text) = if wait || !live.here {
            view::result(
                &row,
                live,
                self.jobs.settings().max_reply_bytes,
                None,
                &extra,
            )
        } else {
            let mut v = view::summary(&row, live);
            for (k, val) in extra {
                v[k] = val;
            }
            let text = format!(
                "Started {} job {id}{}{}; poll llm_job_status, then llm_job_result.",
                row.provider,
                if started.deduped {
                    " (an identical request was already running or done: reusing it)"
                } else {
                    ""
                },
                match live.queue_position {
                    Some(n) => format!(
                        " (queued at position {n}: the cap on concurrent CLI processes is reached)"
                    ),
                    None => String::new(),
                }
            );
            (v, text)
        };
        let failed = wait && !(v["status"] == "completed" || view::is_live_status(&v));
        view::reply(v, text, failed)
    }
}

/// Ends a job when the sync call waiting for it goes away before it finished or timed
/// out into a job id (see [`crate::gateway::jobs::JobManager::abandon`]).
struct AbandonOnDrop<'a> {
    jobs: &'a crate::gateway::jobs::JobManager,
    id: &'a str,
    armed: bool,
}

impl AbandonOnDrop<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.jobs.abandon(self.id);
        }
    }
}

/// A request past the gate: what to run and the decision to record once it started, or
/// the consent question to hand back (2026-07-28 wire).
pub(crate) enum Admitted {
    Run(Box<JobSpec>, gate::Record),
    Ask(rmcp::model::InputRequiredResult),
}

enum Settled {
    Run(gate::Record),
    Ask(rmcp::model::InputRequiredResult),
}

/// The CLI's path, or an error that says how to install it.
fn locate(provider: &dyn Provider) -> Result<std::path::PathBuf, RequestError> {
    providers::which(provider.binary()).ok_or_else(|| {
        RequestError::new(format!(
            "{} is not installed: `{}` was not found on the gateway's PATH. Install it with: {}. If it is installed, make sure its directory is on the PATH the gateway runs with (run `llm-cli-gateway repair` after installing).",
            provider.display_name(),
            provider.binary(),
            provider.install_hint()
        ))
    })
}

/// The model to pass, and a warning when it is not one the registry knows.
fn resolve_model(
    provider: &dyn Provider,
    common: &Common,
) -> Result<(Option<String>, Option<String>), RequestError> {
    models::resolve(provider.catalog(), &ProcessEnv, common.model.as_deref())
        .map(|r| (r.model, r.warning))
        .map_err(|e| RequestError::new(e.to_string()))
}
