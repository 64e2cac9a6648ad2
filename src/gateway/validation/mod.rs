//! Cross-LLM validation: one prompt fanned out to several providers at once through the
//! durable job manager (so dedup, retention and orphan handling apply), collected into a
//! report that keeps every provider's answer and status — a failed, timed-out, missing or
//! logged-out provider is listed, never dropped — and shows where they disagree.

pub mod prompts;

use std::time::{Duration, Instant};

use rmcp::model::{JsonObject, ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use serde::Serialize;
use serde_json::json;

use crate::gateway::server::Gateway;
use crate::gateway::tools::view;
use crate::providers::{self, Provider};
use crate::store::jobs::JobStatus;

/// One provider's part of a report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderResult {
    pub provider: String,
    /// ok, failed, timed_out, not_installed, not_logged_in
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// agree / disagree / unsure, from the answer's `VERDICT:` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl ProviderResult {
    fn without_job(provider: &str, status: &'static str, error: String) -> Self {
        Self {
            provider: provider.to_string(),
            status,
            job_id: None,
            answer: None,
            verdict: None,
            error: Some(error),
            duration_ms: 0,
        }
    }
}

/// Where progress goes, when the client asked for it. One counter per tool call, so a
/// judge that runs after the fan-out continues the count instead of restarting it (MCP
/// requires progress to increase).
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: Option<ProgressToken>,
    /// Cancelled when the caller gives up on the call (closed stream on the 2026-07-28
    /// wire, `notifications/cancelled` on a 2025 session): the fan-out's runs then end.
    pub gave_up: tokio_util::sync::CancellationToken,
    /// Steps done, steps expected, and how many of those were reserved ahead.
    counts: std::sync::Mutex<(f64, f64, usize)>,
}

impl Progress {
    pub fn new(
        peer: Peer<RoleServer>,
        token: Option<ProgressToken>,
        gave_up: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            peer,
            token,
            gave_up,
            counts: std::sync::Mutex::new((0.0, 0.0, 0)),
        }
    }

    /// A caller that will run a judge after the fan-out reserves its step up front, so
    /// `total` is right from the first notification.
    pub fn reserve(&self, n: usize) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.1 += n as f64;
        c.2 += n;
    }

    /// The reserved steps are about to start (their fan-out will count them again);
    /// nothing is notified in between, so clients never see `total` move.
    pub fn claim_reserved(&self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.1 -= c.2 as f64;
        c.2 = 0;
    }

    fn expect(&self, n: usize) {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).1 += n as f64;
    }

    /// One step done without a notification (a provider settled before it ran).
    fn skip(&self) {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).0 += 1.0;
    }

    async fn step(&self, message: String) {
        let (done, total) = {
            let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            c.0 += 1.0;
            (c.0, c.1)
        };
        if let Some(token) = &self.token {
            let _ = self
                .peer
                .notify_progress(
                    ProgressNotificationParam::new(token.clone(), done)
                        .with_total(total)
                        .with_message(message),
                )
                .await;
        }
    }
}

impl Gateway {
    /// Sends `prompt` to every provider in `names` concurrently and waits up to `timeout`
    /// for all of them. Unknown provider names are refused before anything runs.
    pub(crate) async fn fan_out(
        &self,
        tool: &str,
        names: &[String],
        prompt: &str,
        timeout: Duration,
        progress: &Progress,
    ) -> Result<Vec<ProviderResult>, String> {
        let mut chosen: Vec<&'static dyn Provider> = Vec::new();
        for n in names {
            let p = providers::find(n).ok_or_else(|| {
                format!(
                    "unknown provider {n:?}; expected some of: {}",
                    providers::ids().join(", ")
                )
            })?;
            if !chosen.iter().any(|c| c.id() == p.id()) {
                chosen.push(p);
            }
        }
        if chosen.is_empty() {
            return Err("name at least one provider".into());
        }
        let started = Instant::now();
        progress.expect(chosen.len());
        let mut pending = Vec::new();
        let mut started_here: Vec<String> = Vec::new();
        let mut results: Vec<Option<ProviderResult>> = vec![None; chosen.len()];
        for (i, p) in chosen.iter().enumerate() {
            if providers::which(p.binary()).is_none() {
                results[i] = Some(ProviderResult::without_job(
                    p.id(),
                    "not_installed",
                    format!(
                        "`{}` is not on the gateway's PATH; install: {}",
                        p.binary(),
                        p.install_hint()
                    ),
                ));
                continue;
            }
            let mut args = JsonObject::new();
            args.insert("prompt".into(), json!(prompt));
            if p.output_formats().contains(&"json") {
                args.insert("outputFormat".into(), json!("json"));
            }
            let planned = self
                .admitted_plan(*p, tool, args, &crate::gateway::gate::CallInfo::internal())
                .await;
            let (spec, record) = match planned {
                Ok(crate::gateway::tools::requests::Admitted::Run(spec, record)) => (*spec, record),
                Ok(crate::gateway::tools::requests::Admitted::Ask(_)) => {
                    // An internal call declares no elicitation, so the gate never asks;
                    // were it to, the provider is reported as refused, not run.
                    results[i] = Some(ProviderResult::without_job(
                        p.id(),
                        "refused",
                        "the operator's policy needs the user's consent for this run".into(),
                    ));
                    continue;
                }
                Err(e) => {
                    results[i] = Some(ProviderResult::without_job(p.id(), "refused", e.0));
                    continue;
                }
            };
            match self.jobs.start(spec).await {
                Ok(s) => {
                    record.save(self, Some(&s.job.id));
                    if !s.deduped {
                        started_here.push(s.job.id.clone());
                    }
                    pending.push((i, s.job.id))
                }
                Err(e) => {
                    results[i] = Some(ProviderResult::without_job(
                        p.id(),
                        "failed",
                        format!("{e:#}"),
                    ))
                }
            }
        }
        for _ in results.iter().flatten() {
            progress.skip();
        }
        let waits = pending.into_iter().map(|(i, id)| async move {
            let finished = self.jobs.wait(&id, timeout).await;
            (i, id, finished)
        });
        let mut waits: futures_util::stream::FuturesUnordered<_> = waits.collect();
        use futures_util::StreamExt;
        loop {
            let next = tokio::select! {
                next = waits.next() => next,
                _ = progress.gave_up.cancelled() => {
                    // The caller is gone: end the runs it started (dedup-shared ones
                    // run on), rather than leave them until their idle timers.
                    for id in &started_here {
                        self.jobs.abandon(id);
                    }
                    return Err("the caller gave up on the call; its runs were ended".into());
                }
            };
            let Some((i, id, finished)) = next else { break };
            let r = self.classify(chosen[i], &id, finished, started, Some(timeout));
            progress.step(format!("{}: {}", r.provider, r.status)).await;
            results[i] = Some(r);
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// A job's outcome as a report entry. `timeout` is how long the caller waited (None:
    /// it did not wait, the job was looked up as it stands).
    pub(crate) fn classify(
        &self,
        provider: &dyn Provider,
        id: &str,
        finished: bool,
        started: Instant,
        timeout: Option<Duration>,
    ) -> ProviderResult {
        let row = match self.jobs.get_job(id, true) {
            Ok(Some(row)) => row,
            _ => {
                return ProviderResult::without_job(
                    provider.id(),
                    "failed",
                    format!("job {id} vanished"),
                );
            }
        };
        let parsed = view::parse(&row);
        let answer = parsed.response.clone().filter(|a| !a.trim().is_empty());
        let (status, error) = match row.status {
            JobStatus::Queued | JobStatus::Running if !finished => (
                "timed_out",
                Some(match timeout {
                    Some(t) => format!(
                        "no answer within {} s; the job keeps running: collect it later with job_result",
                        t.as_secs()
                    ),
                    None => "still running: collect it later with job_result".to_string(),
                }),
            ),
            // Output that should have been JSON and was not is no answer, however long.
            JobStatus::Completed if parsed.parse_warning.is_some() => (
                "failed",
                Some(format!(
                    "the CLI's output could not be read ({}); it began: {:?}",
                    parsed.parse_warning.as_deref().unwrap_or_default(),
                    row.stdout.chars().take(120).collect::<String>()
                )),
            ),
            JobStatus::Completed if answer.is_some() => ("ok", None),
            JobStatus::Completed => (
                "failed",
                Some("the CLI finished but said nothing".to_string()),
            ),
            JobStatus::TimedOut => ("timed_out", row.reason.clone()),
            _ if parsed.not_authenticated => {
                ("not_logged_in", row.reason.clone().or(parsed.error.clone()))
            }
            _ if row
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("idle timeout")) =>
            {
                ("timed_out", row.reason.clone())
            }
            _ => ("failed", row.reason.clone().or(parsed.error.clone())),
        };
        ProviderResult {
            provider: provider.id().to_string(),
            status,
            job_id: Some(id.to_string()),
            verdict: if status == "ok" {
                answer.as_deref().and_then(prompts::verdict)
            } else {
                None
            },
            answer: if status == "ok" { answer } else { None },
            error: error.map(|e| view::cut(&e, MAX_ERROR_CHARS).0),
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }
}

/// Errors in a report are cut to this many characters.
const MAX_ERROR_CHARS: usize = 2000;
/// The subject is echoed in the report, cut to this many characters.
const MAX_SUBJECT_CHARS: usize = 2000;

/// The report: structured for clients, readable text for people, from the same data,
/// within `reply_bytes` altogether: when the answers (the providers' and the judge's)
/// do not fit, each is cut in proportion to its size and ends with a marker that says
/// how to fetch the rest.
pub fn report(
    tool: &str,
    subject: &str,
    results: &[ProviderResult],
    judge: Option<serde_json::Value>,
    reply_bytes: usize,
) -> (serde_json::Value, String) {
    let subject = view::cut(subject, MAX_SUBJECT_CHARS).0;
    let judge_answer = judge
        .as_ref()
        .and_then(|j| j["answer"].as_str())
        .map(str::to_string);
    let mut answers: Vec<Option<String>> = results.iter().map(|r| r.answer.clone()).collect();
    answers.push(judge_answer);
    let assemble = |answers: &[Option<String>]| {
        let results: Vec<ProviderResult> = results
            .iter()
            .zip(answers)
            .map(|(r, a)| ProviderResult {
                answer: a.clone(),
                ..r.clone()
            })
            .collect();
        let judge = judge.clone().map(|mut j| {
            if let Some(a) = answers.last().cloned().flatten()
                && j.get("answer").is_some()
            {
                j["answer"] = json!(a);
            }
            j
        });
        assemble_report(tool, &subject, &results, judge)
    };
    let size = |(v, t): &(serde_json::Value, String)| {
        serde_json::to_string(v).map_or(0, |s| s.len()) + view::json_len(t)
    };
    let whole = assemble(&answers);
    if size(&whole) + view::ENVELOPE_BYTES <= reply_bytes {
        return whole;
    }
    // Each answer is in the structured report and again in the text.
    let blank: Vec<Option<String>> = answers
        .iter()
        .map(|a| a.as_ref().map(|_| String::new()))
        .collect();
    let fixed = size(&assemble(&blank)) + view::ENVELOPE_BYTES + answers.len() * 2 * 100;
    let budget = reply_bytes.saturating_sub(fixed) / 2;
    let demands: Vec<usize> = answers
        .iter()
        .map(|a| a.as_deref().map_or(0, view::json_len))
        .collect();
    let total: usize = demands.iter().sum::<usize>().max(1);
    let cut: Vec<Option<String>> = answers
        .iter()
        .zip(&demands)
        .map(|(a, &d)| {
            a.as_deref().map(|a| {
                let share = (budget as u128 * d as u128 / total as u128) as usize;
                view::fit(a, share).0
            })
        })
        .collect();
    assemble(&cut)
}

fn assemble_report(
    tool: &str,
    subject: &str,
    results: &[ProviderResult],
    judge: Option<serde_json::Value>,
) -> (serde_json::Value, String) {
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    let verdicts: Vec<&str> = results.iter().filter_map(|r| r.verdict).collect();
    let agreement = match (verdicts.first(), verdicts.len()) {
        (_, 0) => "no verdicts",
        (Some(first), _) if verdicts.iter().all(|v| v == first) => "unanimous",
        _ => "disagreement",
    };
    let value = json!({
        "tool": tool,
        "subject": subject,
        "providers": results,
        "summary": {
            "asked": results.len(),
            "ok": count("ok"),
            "failed": count("failed"),
            "timedOut": count("timed_out"),
            "notInstalled": count("not_installed"),
            "notLoggedIn": count("not_logged_in"),
            "agreement": agreement,
        },
        "judge": judge,
    });
    let mut text = format!(
        "{tool}: {} of {} providers answered; agreement: {agreement}\n",
        count("ok"),
        results.len()
    );
    for r in results {
        text.push_str(&format!("\n## {} — {}", r.provider, r.status));
        if let Some(v) = r.verdict {
            text.push_str(&format!(" (verdict: {v})"));
        }
        text.push('\n');
        if let Some(a) = &r.answer {
            text.push_str(a.trim());
            text.push('\n');
        }
        if let Some(e) = &r.error {
            text.push_str(&format!("error: {e}\n"));
        }
    }
    if let Some(j) = value.get("judge").filter(|j| !j.is_null()) {
        text.push_str(&format!(
            "\n## judge: {} (job {})\n{}\n",
            j["provider"].as_str().unwrap_or("?"),
            j["jobId"].as_str().unwrap_or("-"),
            j["answer"].as_str().or(j["error"].as_str()).unwrap_or("")
        ));
    }
    (value, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(provider: &str, text: &str) -> ProviderResult {
        ProviderResult {
            provider: provider.into(),
            status: "ok",
            job_id: Some(format!("job-{provider}")),
            answer: Some(text.into()),
            verdict: None,
            error: None,
            duration_ms: 1,
        }
    }

    #[test]
    fn a_report_too_big_is_cut_proportionally_with_markers() {
        let long = "x".repeat(600_000);
        let short = "y".repeat(60_000);
        let results = vec![answer("claude", &long), answer("codex", &short)];
        let judge = json!({"provider": "gemini", "status": "ok", "jobId": "job-j", "answer": "z".repeat(300_000)});
        let cap = 256 << 10;
        let (v, text) = report("t", "q", &results, Some(judge), cap);
        let size = serde_json::to_string(&v).unwrap().len() + view::json_len(&text);
        assert!(size + view::ENVELOPE_BYTES <= cap, "{size}");
        let a = v["providers"][0]["answer"].as_str().unwrap();
        let b = v["providers"][1]["answer"].as_str().unwrap();
        let j = v["judge"]["answer"].as_str().unwrap();
        for s in [a, b, j] {
            assert!(
                s.contains("[truncated: "),
                "{}",
                &s[s.len().saturating_sub(100)..]
            );
        }
        // In proportion: the long answer keeps about ten times the short one.
        let kept = |s: &str| s.find('…').unwrap();
        let ratio = kept(a) as f64 / kept(b) as f64;
        assert!((9.0..11.0).contains(&ratio), "{ratio}");
        assert!(text.contains(&a[..1000]));
        // Small reports are untouched.
        let (v, _) = report("t", "q", &[answer("claude", "fine")], None, cap);
        assert_eq!(v["providers"][0]["answer"], "fine");
    }
}
