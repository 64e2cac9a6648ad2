//! One run, from spawn to its stored result: reading output, flushing it to the store,
//! the idle timeout, cancel, and judging how it ended.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::capture::Capture;
use super::process::kill_group;
use super::{JobManager, JobSpec};
use crate::providers::{Parsed, Provider};
use crate::store::jobs::{JobStatus, Output};
use crate::store::now_ms;

impl JobManager {
    pub(super) async fn supervise(
        &self,
        id: String,
        spec: JobSpec,
        mut child: tokio::process::Child,
        cancel: CancellationToken,
    ) {
        let started = Instant::now();
        let cap = self.settings.max_output_bytes;
        let (mut out, mut err) = (Capture::new(cap), Capture::new(cap));
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let (mut buf_out, mut buf_err) = (vec![0u8; 64 << 10], vec![0u8; 16 << 10]);
        let mut last_output = Instant::now();
        let mut last_flush = Instant::now();
        let mut dirty = false;
        let mut exit: Option<std::process::ExitStatus> = None;
        let mut exited_at: Option<Instant> = None;
        let ending = loop {
            if stdout.is_none() && stderr.is_none() && exit.is_some() {
                break Ending::Exited;
            }
            let idle_at = last_output + spec.idle_timeout;
            let deadline_at = started + spec.max_runtime;
            // After the CLI exits, give its pipes a moment to drain: a background
            // grandchild holding them open must not keep the job running.
            let drain_at = exited_at.map(|t| t + Duration::from_secs(1));
            tokio::select! {
                r = read_some(&mut stdout, &mut buf_out) => match r {
                    Some(n) => { out.push(&buf_out[..n]); last_output = Instant::now(); dirty = true; }
                    None => stdout = None,
                },
                r = read_some(&mut stderr, &mut buf_err) => match r {
                    Some(n) => { err.push(&buf_err[..n]); last_output = Instant::now(); dirty = true; }
                    None => stderr = None,
                },
                status = child.wait(), if exit.is_none() => {
                    exit = status.ok();
                    exited_at = Some(Instant::now());
                    if exit.is_none() { break Ending::Exited; }
                }
                _ = tokio::time::sleep_until(drain_at.unwrap_or(idle_at).into()), if drain_at.is_some() => break Ending::Exited,
                _ = tokio::time::sleep_until(idle_at.into()), if exit.is_none() => break Ending::Idle,
                _ = tokio::time::sleep_until(deadline_at.into()), if exit.is_none() => break Ending::Deadline,
                _ = cancel.cancelled(), if exit.is_none() => break Ending::Canceled,
                _ = tokio::time::sleep_until((last_flush + self.settings.flush_interval).into()), if dirty => {
                    let snapshot = out.output(&err);
                    if let Err(e) = self.store.update_job_output(&id, &(&snapshot).into()) {
                        tracing::warn!("job {id}: could not save output: {e:#}");
                    }
                    last_flush = Instant::now();
                    dirty = false;
                }
            }
        };
        if !matches!(ending, Ending::Exited) || exit.is_none() {
            exit = kill_group(&mut child, self.settings.kill_grace).await;
        } else if stdout.is_some() || stderr.is_some() {
            // The CLI exited but something it started still holds the pipes.
            kill_group(&mut child, self.settings.kill_grace).await;
        }
        let code = exit.and_then(|s| s.code());
        let stdout_text = out.text();
        let stderr_text = err.text();
        let parsed = spec
            .provider
            .parse(&spec.output_format, &stdout_text, &stderr_text, code);
        let (status, reason) = match ending {
            Ending::Canceled if self.shutting_down() => (
                JobStatus::Canceled,
                Some(super::SHUTDOWN_RUNNING_REASON.to_string()),
            ),
            Ending::Canceled => (
                JobStatus::Canceled,
                Some(
                    self.take_cancel_reason(&id)
                        .unwrap_or_else(|| "canceled by llm_job_cancel".to_string()),
                ),
            ),
            Ending::Deadline => {
                let mut why = format!(
                    "deadline: the run reached its maximum runtime of {} s ({}), process group killed; the output up to then is kept",
                    spec.max_runtime.as_secs_f64(),
                    spec.max_runtime_source
                );
                if let Some(last) = &parsed.error {
                    why.push_str(&format!("; last message from the CLI: {last}"));
                }
                (JobStatus::TimedOut, Some(why))
            }
            Ending::Idle => {
                let mut why = format!(
                    "idle timeout: no output for {} s, process group killed",
                    spec.idle_timeout.as_secs_f64()
                );
                if let Some(last) = &parsed.error {
                    why.push_str(&format!("; last message from the CLI: {last}"));
                }
                (JobStatus::Failed, Some(why))
            }
            Ending::Exited if code == Some(0) && parsed.error.is_none() => {
                (JobStatus::Completed, None)
            }
            Ending::Exited => (
                JobStatus::Failed,
                Some(failure_reason(spec.provider, &parsed, exit)),
            ),
        };
        let output = Output {
            stdout: &stdout_text,
            stderr: &stderr_text,
            stdout_truncated: out.truncated(),
            stderr_truncated: err.truncated(),
            stdout_bytes: out.total,
            stderr_bytes: err.total,
        };
        let finished_at = now_ms();
        let mut attempt = 0;
        loop {
            let written = if crate::platform::failpoint::active(FINISH_FAILPOINT) {
                Err(anyhow::anyhow!("failpoint {FINISH_FAILPOINT}"))
            } else {
                self.store
                    .finish_job(&id, status, code, reason.as_deref(), &output, finished_at)
            };
            match written {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!("job {id} was already finished (gateway shutting down)")
                }
                Err(e) if attempt < FINISH_RETRIES.len() => {
                    tracing::warn!(
                        "job {id}: could not save the result (attempt {}): {e:#}; retrying",
                        attempt + 1
                    );
                    tokio::time::sleep(FINISH_RETRIES[attempt]).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => {
                    tracing::error!(
                        "job {id}: could not save the result after {} attempts: {e:#}",
                        attempt + 1
                    );
                    self.mark_unsaved(
                        &id,
                        format!(
                            "the run ended ({}) but its result could not be saved to the job store ({e:#}); the output saved before the end is kept",
                            status.as_str()
                        ),
                    );
                }
            }
            break;
        }
        if let Some(session) = &spec.gateway_session
            && let Err(e) = self
                .store
                .touch_session(session, parsed.session_id.as_deref())
        {
            tracing::warn!("session {session}: {e:#}");
        }
        if let Ok(Some(row)) = self.get_job(&id, false) {
            self.record_flight(&row, &spec, &parsed, false);
        }
        tracing::info!(
            "job {id} ({}) {} in {:.1} s",
            spec.provider.id(),
            status.as_str(),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Set `LLM_CLI_GATEWAY_FAILPOINT` to this and every final write of a job fails.
pub(super) const FINISH_FAILPOINT: &str = "store-finish-fails";
/// Waits between attempts at a job's final write: a busy or briefly full disk gets a
/// few chances before the job is marked failed in memory.
const FINISH_RETRIES: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(1000),
];

enum Ending {
    Exited,
    Idle,
    Deadline,
    Canceled,
}

fn failure_reason(
    provider: &dyn Provider,
    parsed: &Parsed,
    exit: Option<std::process::ExitStatus>,
) -> String {
    let how = match exit.and_then(|s| s.code()) {
        Some(code) => format!("{} exited with code {code}", provider.binary()),
        None => format!("{} was killed by a signal", provider.binary()),
    };
    let mut why = match &parsed.error {
        Some(msg) => format!("{how}: {msg}"),
        None => how,
    };
    if parsed.not_authenticated {
        why.push_str(&format!(
            " — {} is not logged in: {}",
            provider.display_name(),
            provider.login_hint()
        ));
    }
    why
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    stream: &mut Option<R>,
    buf: &mut [u8],
) -> Option<usize> {
    match stream {
        Some(s) => match s.read(buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(n),
        },
        None => std::future::pending().await,
    }
}
