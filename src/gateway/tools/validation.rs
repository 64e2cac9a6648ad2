//! The cross-LLM validation surface: `validate_with_models`, `second_opinion`,
//! `compare_answers`, `red_team_review`, `consensus_check`, `ask_model`,
//! `synthesize_validation`, `job_status`, `job_result`.

use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, RequestMetaObject};
use rmcp::{ErrorData, Peer, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::view;
use crate::gateway::server::Gateway;
use crate::gateway::validation::{self, Progress, ProviderResult, prompts};

const DEFAULT_PROVIDERS: [&str; 3] = ["claude", "codex", "gemini"];
const DEFAULT_TIMEOUT_MS: u64 = 120_000;
const MAX_TIMEOUT_MS: u64 = 30 * 60_000;
/// Longest free-text input; matches the request tools' prompt limit with room for the
/// instructions around it.
const MAX_INPUT_CHARS: usize = 90_000;
/// Most distinct providers one call may name (there are five; the cap is for hostile
/// lists, duplicates are collapsed first).
pub const MAX_PROVIDERS: usize = 10;
/// Most distinct jobs `synthesize_validation` weighs.
pub const MAX_JOB_IDS: usize = 20;
/// Most answers `compare_answers` compares.
pub const MAX_ANSWERS: usize = 20;

/// `list` without repeats (first occurrence kept), refused when it still has more than
/// `cap` entries: the error names the parameter and the cap.
fn distinct_capped(name: &str, list: &[String], cap: usize) -> Result<Vec<String>, CallToolResult> {
    let mut out: Vec<String> = Vec::new();
    for item in list {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    if out.len() > cap {
        return Err(view::refused(format!(
            "{name} lists {} distinct entries; the limit is {cap}",
            out.len()
        )));
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fanout {
    /// Providers to ask (claude, codex, gemini, grok, mistral); default claude, codex, gemini.
    /// Repeats are collapsed; at most 10.
    #[serde(default)]
    pub providers: Option<Vec<String>>,
    /// How long to wait for all answers (default 120000 ms). Late providers are reported as
    /// timed_out with a jobId to collect later.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Also run this provider as a judge over the answers, naming it and its job.
    #[serde(default)]
    pub judge: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateParams {
    /// The question or claim to validate.
    pub question: String,
    /// Background the providers need.
    #[serde(default)]
    pub context: Option<String>,
    #[serde(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecondOpinionParams {
    pub question: String,
    /// The answer to review.
    pub answer: String,
    /// Reviewer (default claude).
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SourcedAnswer {
    /// Where the answer came from (a model, a person, a document).
    pub source: String,
    pub answer: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompareParams {
    pub question: String,
    /// Two or more answers to compare (at most 20).
    pub answers: Vec<SourcedAnswer>,
    #[serde(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedTeamParams {
    /// The plan, answer or document to attack.
    pub content: String,
    /// What to concentrate on (security, data loss, cost, …).
    #[serde(default)]
    pub focus: Option<String>,
    #[serde(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusParams {
    /// The claim the providers should agree or disagree with.
    pub claim: String,
    #[serde(flatten)]
    pub fanout: Fanout,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AskParams {
    /// claude, codex, gemini, grok or mistral.
    pub provider: String,
    pub prompt: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SynthesizeParams {
    pub question: String,
    /// Jobs whose answers the judge should weigh (from an earlier report). Repeats are
    /// collapsed; at most 20.
    pub job_ids: Vec<String>,
    /// The judge provider.
    pub judge: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobParams {
    pub job_id: String,
    #[serde(flatten)]
    pub page: super::jobs::PageParams,
}

fn check_len(what: &str, s: &str) -> Result<(), CallToolResult> {
    let n = s.chars().count();
    if s.trim().is_empty() {
        return Err(view::refused(format!("{what} is empty")));
    }
    if n > MAX_INPUT_CHARS {
        return Err(view::refused(format!(
            "{what} is {n} characters; the limit is {MAX_INPUT_CHARS}"
        )));
    }
    Ok(())
}

fn timeout(ms: Option<u64>) -> Duration {
    Duration::from_millis(ms.unwrap_or(DEFAULT_TIMEOUT_MS).clamp(1000, MAX_TIMEOUT_MS))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refusal) => return Ok(refusal),
        }
    };
}

impl Gateway {
    /// Fans out, optionally judges, and builds the report.
    async fn validation_run(
        &self,
        tool: &str,
        subject: &str,
        prompt: String,
        fanout: &Fanout,
        progress: Progress,
    ) -> CallToolResult {
        let names: Vec<String> = match &fanout.providers {
            Some(list) => match distinct_capped("providers", list, MAX_PROVIDERS) {
                Ok(l) => l,
                Err(refusal) => return refusal,
            },
            None => DEFAULT_PROVIDERS.iter().map(|s| s.to_string()).collect(),
        };
        let wait = timeout(fanout.timeout_ms);
        if fanout.judge.is_some() {
            progress.reserve(1);
        }
        let results = match self.fan_out(tool, &names, &prompt, wait, &progress).await {
            Ok(r) => r,
            Err(e) => return view::refused(e),
        };
        let judge = match &fanout.judge {
            Some(j) => Some(
                self.judge(tool, j, subject, &results, wait, &progress)
                    .await,
            ),
            None => None,
        };
        let (value, text) = validation::report(
            tool,
            subject,
            &results,
            judge,
            self.jobs.settings().max_reply_bytes,
        );
        let all_failed = results.iter().all(|r| r.status != "ok");
        view::reply(value, text, all_failed)
    }

    async fn judge(
        &self,
        tool: &str,
        judge: &str,
        question: &str,
        results: &[ProviderResult],
        wait: Duration,
        progress: &Progress,
    ) -> serde_json::Value {
        let answers: Vec<(String, String)> = results
            .iter()
            .map(|r| {
                let said = match (&r.answer, &r.error) {
                    (Some(a), _) => a.clone(),
                    (None, Some(e)) => format!("(no answer: {} — {e})", r.status),
                    (None, None) => format!("(no answer: {})", r.status),
                };
                (r.provider.clone(), said)
            })
            .collect();
        let prompt = prompts::synthesize(question, &answers);
        progress.claim_reserved();
        match self
            .fan_out(tool, &[judge.to_string()], &prompt, wait, progress)
            .await
        {
            Ok(mut r) => json!(r.pop()),
            Err(e) => json!({"provider": judge, "status": "failed", "error": e}),
        }
    }
}

fn progress(
    meta: &RequestMetaObject,
    peer: Peer<RoleServer>,
    gave_up: CancellationToken,
) -> Progress {
    Progress::new(peer, meta.get_progress_token(), gave_up)
}

#[tool_router(router = validation_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Ask two or more providers (default claude, codex, gemini) to independently validate a question, concurrently. The report keeps every provider's answer and status (ok, failed, timed_out, not_installed, not_logged_in) and their AGREE/DISAGREE verdicts; with `judge`, a named provider synthesizes. `providers` repeats are collapsed (at most 10). The report fits one reply (max_reply_bytes): long answers are cut proportionally, each ending with a `[truncated: …]` marker; job_result / llm_job_result with the provider's jobId and offset/limit page through the whole answer."
    )]
    async fn validate_with_models(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<ValidateParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("question", &p.question));
        let prompt = prompts::validate(&p.question, p.context.as_deref());
        Ok(self
            .validation_run(
                "validate_with_models",
                &p.question,
                prompt,
                &p.fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Ask one provider (default claude) to review an answer as an expert second opinion, with an AGREE/DISAGREE verdict."
    )]
    async fn second_opinion(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<SecondOpinionParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("question", &p.question));
        tri!(check_len("answer", &p.answer));
        let fanout = Fanout {
            providers: Some(vec![p.provider.unwrap_or_else(|| "claude".into())]),
            timeout_ms: p.timeout_ms,
            judge: None,
        };
        let prompt = prompts::second_opinion(&p.question, &p.answer);
        Ok(self
            .validation_run(
                "second_opinion",
                &p.question,
                prompt,
                &fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Have providers compare two or more answers to the same question: which is right, where they disagree."
    )]
    async fn compare_answers(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<CompareParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("question", &p.question));
        if p.answers.len() < 2 {
            return Ok(view::refused("give at least two answers to compare"));
        }
        if p.answers.len() > MAX_ANSWERS {
            return Ok(view::refused(format!(
                "answers lists {} entries; the limit is {MAX_ANSWERS}",
                p.answers.len()
            )));
        }
        let answers: Vec<(String, String)> = p
            .answers
            .iter()
            .map(|a| (a.source.clone(), a.answer.clone()))
            .collect();
        let prompt = prompts::compare(&p.question, &answers);
        tri!(check_len("answers", &prompt));
        Ok(self
            .validation_run(
                "compare_answers",
                &p.question,
                prompt,
                &p.fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Red-team a plan, answer or document with several providers: risks and failure modes first."
    )]
    async fn red_team_review(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<RedTeamParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("content", &p.content));
        let prompt = prompts::red_team(&p.content, p.focus.as_deref());
        Ok(self
            .validation_run(
                "red_team_review",
                &p.content,
                prompt,
                &p.fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Check whether providers agree with a claim; the report shows each verdict and whether they are unanimous."
    )]
    async fn consensus_check(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<ConsensusParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("claim", &p.claim));
        let prompt = prompts::consensus(&p.claim);
        Ok(self
            .validation_run(
                "consensus_check",
                &p.claim,
                prompt,
                &p.fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Ask one provider a question through the simplified surface (no CLI options)."
    )]
    async fn ask_model(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<AskParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("prompt", &p.prompt));
        let fanout = Fanout {
            providers: Some(vec![p.provider.clone()]),
            timeout_ms: p.timeout_ms,
            judge: None,
        };
        Ok(self
            .validation_run(
                "ask_model",
                &p.prompt,
                p.prompt.clone(),
                &fanout,
                progress(&meta, peer, gave_up),
            )
            .await)
    }

    #[tool(
        description = "Run an explicit judge provider over answers already collected (jobIds from a report; repeats are collapsed, at most 20); the result names the judge and its job. The report fits one reply (max_reply_bytes): long answers are cut proportionally with `[truncated: …]` markers; page through them with job_result / llm_job_result offset/limit."
    )]
    async fn synthesize_validation(
        &self,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        gave_up: CancellationToken,
        Parameters(p): Parameters<SynthesizeParams>,
    ) -> Result<CallToolResult, ErrorData> {
        tri!(check_len("question", &p.question));
        if p.job_ids.is_empty() {
            return Ok(view::refused(
                "give the jobIds of the answers to synthesize",
            ));
        }
        let job_ids = tri!(distinct_capped("jobIds", &p.job_ids, MAX_JOB_IDS));
        let mut results = Vec::new();
        let now = std::time::Instant::now();
        for id in &job_ids {
            let row = match self.jobs.get_job(id, false) {
                Ok(Some(r)) => r,
                _ => return Ok(view::refused(format!("no job {id:?}"))),
            };
            let Some(provider) = crate::providers::find(&row.provider) else {
                return Ok(view::refused(format!("job {id:?} is not a provider's")));
            };
            // As the job stands now: a running one is timed out (its answer may come),
            // not failed.
            let finished = !row.status.is_live();
            results.push(self.classify(provider, id, finished, now, None));
        }
        let progress = progress(&meta, peer, gave_up);
        let judge = self
            .judge(
                "synthesize_validation",
                &p.judge,
                &p.question,
                &results,
                timeout(p.timeout_ms),
                &progress,
            )
            .await;
        let ok = judge["status"] == "ok";
        let (value, text) = validation::report(
            "synthesize_validation",
            &p.question,
            &results,
            Some(judge),
            self.jobs.settings().max_reply_bytes,
        );
        Ok(view::reply(value, text, !ok))
    }

    #[tool(description = "Status of a validation (or any) job by jobId.")]
    async fn job_status(
        &self,
        Parameters(p): Parameters<JobParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(match self.jobs.get_job(&p.job_id, false) {
            Ok(Some(row)) => view::data(view::summary(&row, self.live(&row.id))),
            Ok(None) => view::refused(format!("no job {:?}", p.job_id)),
            Err(e) => view::refused(format!("job store: {e:#}")),
        })
    }

    #[tool(
        description = concat!(
            "Result of a validation (or any) job by jobId: parsed answer, status, output.",
            super::jobs::paging_help!()
        )
    )]
    async fn job_result(
        &self,
        Parameters(p): Parameters<JobParams>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self.job_result_reply(&p.job_id, &p.page))
    }
}
