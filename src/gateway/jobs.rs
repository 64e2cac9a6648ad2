//! Durable jobs: every provider run is a job persisted in the store at start, while it
//! runs (throttled output flushes) and at the end, so a result survives the client
//! timing out, the gateway restarting, or both.
//!
//! Dedup lives here because it must be atomic with starting: two clients sending the same
//! request at once must end up sharing one process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::providers::{Parsed, Provider};
use crate::store::flight::FlightRecord;
use crate::store::jobs::{JobRow, JobStatus, NewJob, Output};
use crate::store::{Store, new_id, now_ms};

/// Tunables, from config.toml `[jobs]` and the original gateway's environment variables.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Identical requests inside this window share a job; zero disables dedup.
    pub dedup_window: Duration,
    /// Finished jobs older than this are deleted.
    pub retention: Duration,
    /// A CLI silent for this long is killed.
    pub idle_timeout: Duration,
    /// Per stream; beyond it the oldest output is dropped and the stream is flagged.
    pub max_output_bytes: usize,
    /// How often running output is written to the store.
    pub flush_interval: Duration,
    /// How long a sync `*_request` waits before handing back a job id instead.
    pub sync_wait: Duration,
    /// Between SIGTERM and SIGKILL when stopping a process group.
    pub kill_grace: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            dedup_window: Duration::from_secs(3600),
            retention: Duration::from_secs(30 * 86_400),
            idle_timeout: Duration::from_secs(600),
            max_output_bytes: 8 << 20,
            flush_interval: Duration::from_secs(1),
            sync_wait: Duration::from_secs(40),
            kill_grace: Duration::from_secs(3),
        }
    }
}

/// What to run, fully decided: the tools layer validated and resolved everything.
pub struct JobSpec {
    pub provider: &'static dyn Provider,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub output_format: String,
    pub model: Option<String>,
    pub correlation_id: String,
    pub idle_timeout: Duration,
    pub force_refresh: bool,
    /// The gateway session this run continues; its CLI session id is learned at the end.
    pub gateway_session: Option<String>,
    /// Notes for the caller (ignored parameters, unknown model); not part of the identity.
    pub warnings: Vec<String>,
}

impl JobSpec {
    /// Identity for dedup: what makes two runs do the same thing. The prompt is in the
    /// argv; the model may be in the environment (Vibe); the cwd changes what the CLI sees.
    pub fn request_key(&self) -> String {
        let mut env = self.env.clone();
        env.sort();
        let identity = serde_json::json!([
            self.provider.id(),
            self.args,
            env,
            self.cwd.to_string_lossy(),
            self.output_format,
        ]);
        hex::encode(Sha256::digest(identity.to_string().as_bytes()))
    }
}

pub struct Started {
    pub job: JobRow,
    pub deduped: bool,
}

pub enum CancelOutcome {
    Canceled,
    AlreadyFinished(JobStatus),
    NotFound,
}

/// A live process: enough to wait for it, cancel it and report on it.
struct Running {
    provider: &'static str,
    pid: Option<u32>,
    started: Instant,
    cancel: CancellationToken,
    done: watch::Receiver<bool>,
}

pub struct JobManager {
    store: Arc<Store>,
    settings: JobSettings,
    running: Mutex<HashMap<String, Running>>,
    /// Serializes dedup lookup + insert so concurrent identical requests start once.
    start_lock: tokio::sync::Mutex<()>,
    /// This process as recorded in the jobs it runs.
    owner: String,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveJob {
    pub job_id: String,
    pub provider: &'static str,
    pub pid: Option<u32>,
    pub running_secs: u64,
}

impl JobManager {
    /// Opens the store under `paths` and starts managing its jobs; the data dir may not
    /// exist yet when `serve` runs without `setup` (stdio clients, tests).
    pub fn open(paths: &crate::runtime::paths::Paths, settings: JobSettings) -> Result<Arc<Self>> {
        crate::platform::fsutil::create_private_dir(&paths.data_dir)?;
        let store = Store::open(&paths.db_file())?;
        Self::new(Arc::new(store), settings)
    }

    /// Opens the manager over `store`: jobs left `running` by a previous gateway become
    /// `orphaned`, and expired jobs are pruned.
    pub fn new(store: Arc<Store>, settings: JobSettings) -> Result<Arc<Self>> {
        let orphaned = store.orphan_running(now_ms(), &owner_alive)?;
        if orphaned > 0 {
            tracing::warn!(
                "{orphaned} job(s) were running when the gateway last stopped; marked orphaned"
            );
        }
        let manager = Arc::new(Self {
            store,
            settings,
            running: Mutex::new(HashMap::new()),
            start_lock: tokio::sync::Mutex::new(()),
            owner: owner_id(),
        });
        manager.prune();
        Ok(manager)
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn prune(&self) {
        let cutoff = now_ms() - self.settings.retention.as_millis() as i64;
        match (
            self.store.prune_jobs(cutoff),
            self.store.prune_flights(cutoff),
        ) {
            (Ok(j), Ok(f)) if j + f > 0 => {
                tracing::info!("pruned {j} job(s) and {f} flight record(s) past retention")
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!("pruning the store failed: {e:#}"),
            _ => {}
        }
    }

    /// Starts `spec`, or returns the running or completed job an identical request
    /// started inside the dedup window.
    pub async fn start(self: &Arc<Self>, spec: JobSpec) -> Result<Started> {
        let key = spec.request_key();
        let _serial = self.start_lock.lock().await;
        let window = self.settings.dedup_window.as_millis() as i64;
        if !spec.force_refresh
            && window > 0
            && let Some(existing) = self.store.find_dedup(&key, now_ms() - window)?
        {
            self.record_flight(&existing, &spec, &Parsed::default(), true);
            return Ok(Started {
                job: existing,
                deduped: true,
            });
        }
        let id = new_id("job-");
        let started_at = now_ms();
        self.store.insert_job(&NewJob {
            id: &id,
            provider: spec.provider.id(),
            argv: &spec.args,
            cwd: &spec.cwd.to_string_lossy(),
            request_key: &key,
            correlation_id: &spec.correlation_id,
            model: spec.model.as_deref(),
            output_format: &spec.output_format,
            started_at_ms: started_at,
            pid: None,
            owner: &self.owner,
        })?;
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(false);
        // Own process group: cancel and timeouts kill the CLI and everything it started.
        #[cfg(unix)]
        cmd.process_group(0);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let why = format!("could not start {}: {e}", spec.program.display());
                self.store.finish_job(
                    &id,
                    JobStatus::Failed,
                    None,
                    Some(&why),
                    &empty_output(),
                    now_ms(),
                )?;
                return Err(anyhow::anyhow!(why));
            }
        };
        let pid = child.id();
        if let Some(pid) = pid {
            self.store.set_job_pid(&id, pid)?;
        }
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = watch::channel(false);
        lock(&self.running).insert(
            id.clone(),
            Running {
                provider: spec.provider.id(),
                pid,
                started: Instant::now(),
                cancel: cancel.clone(),
                done: done_rx,
            },
        );
        let manager = Arc::clone(self);
        let job_id = id.clone();
        tokio::spawn(async move {
            manager.supervise(job_id.clone(), spec, child, cancel).await;
            lock(&manager.running).remove(&job_id);
            let _ = done_tx.send(true);
        });
        let job = self
            .store
            .get_job_summary(&id)?
            .context("a job vanished right after it was written")?;
        Ok(Started {
            job,
            deduped: false,
        })
    }

    /// Waits up to `timeout` for the job to finish; true when it is no longer running.
    pub async fn wait(&self, id: &str, timeout: Duration) -> bool {
        let rx = lock(&self.running).get(id).map(|r| r.done.clone());
        let Some(mut rx) = rx else { return true };
        tokio::time::timeout(timeout, rx.wait_for(|done| *done))
            .await
            .is_ok()
    }

    pub fn is_running(&self, id: &str) -> bool {
        lock(&self.running).contains_key(id)
    }

    pub fn cancel(&self, id: &str) -> Result<CancelOutcome> {
        if let Some(r) = lock(&self.running).get(id) {
            r.cancel.cancel();
            return Ok(CancelOutcome::Canceled);
        }
        Ok(match self.store.get_job_summary(id)? {
            Some(row) => CancelOutcome::AlreadyFinished(row.status),
            None => CancelOutcome::NotFound,
        })
    }

    pub fn active(&self) -> Vec<ActiveJob> {
        lock(&self.running)
            .iter()
            .map(|(id, r)| ActiveJob {
                job_id: id.clone(),
                provider: r.provider,
                pid: r.pid,
                running_secs: r.started.elapsed().as_secs(),
            })
            .collect()
    }

    /// On gateway shutdown: stop every running CLI and wait for their records.
    pub async fn shutdown(&self) {
        let waits: Vec<_> = {
            let running = lock(&self.running);
            running
                .values()
                .map(|r| {
                    r.cancel.cancel();
                    r.done.clone()
                })
                .collect()
        };
        let grace = self.settings.kill_grace + Duration::from_secs(2);
        for mut rx in waits {
            let _ = tokio::time::timeout(grace, rx.wait_for(|d| *d)).await;
        }
    }

    async fn supervise(
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
            exit = self.kill_group(&mut child).await;
        } else if stdout.is_some() || stderr.is_some() {
            // The CLI exited but something it started still holds the pipes.
            self.kill_group(&mut child).await;
        }
        let code = exit.and_then(|s| s.code());
        let stdout_text = out.text();
        let stderr_text = err.text();
        let parsed = spec
            .provider
            .parse(&spec.output_format, &stdout_text, &stderr_text, code);
        let (status, reason) = match ending {
            Ending::Canceled => (
                JobStatus::Canceled,
                Some("canceled by llm_job_cancel".to_string()),
            ),
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
        match self
            .store
            .finish_job(&id, status, code, reason.as_deref(), &output, now_ms())
        {
            Ok(true) => {}
            Ok(false) => tracing::info!("job {id} was already finished (gateway shutting down)"),
            Err(e) => tracing::error!("job {id}: could not save the result: {e:#}"),
        }
        if let Some(session) = &spec.gateway_session
            && let Err(e) = self
                .store
                .touch_session(session, parsed.session_id.as_deref())
        {
            tracing::warn!("session {session}: {e:#}");
        }
        if let Ok(Some(row)) = self.store.get_job_summary(&id) {
            self.record_flight(&row, &spec, &parsed, false);
        }
        tracing::info!(
            "job {id} ({}) {} in {:.1} s",
            spec.provider.id(),
            status.as_str(),
            started.elapsed().as_secs_f64()
        );
    }

    /// SIGTERM to the whole group, SIGKILL after the grace period; reaps the leader.
    async fn kill_group(
        &self,
        child: &mut tokio::process::Child,
    ) -> Option<std::process::ExitStatus> {
        let Some(pid) = child.id() else {
            return child.wait().await.ok();
        };
        signal_group(pid, Signal::Term);
        match tokio::time::timeout(self.settings.kill_grace, child.wait()).await {
            Ok(status) => {
                // The leader is gone; make sure nothing it started lingers.
                signal_group(pid, Signal::Kill);
                status.ok()
            }
            Err(_) => {
                signal_group(pid, Signal::Kill);
                child.wait().await.ok()
            }
        }
    }

    fn record_flight(&self, row: &JobRow, spec: &JobSpec, parsed: &Parsed, deduped: bool) {
        let record = FlightRecord {
            id: 0,
            job_id: Some(row.id.clone()),
            provider: spec.provider.id().to_string(),
            model: spec.model.clone(),
            correlation_id: spec.correlation_id.clone(),
            started_at_ms: if deduped { now_ms() } else { row.started_at_ms },
            duration_ms: if deduped {
                0
            } else {
                row.finished_at_ms.unwrap_or_else(now_ms) - row.started_at_ms
            },
            status: row.status.as_str().to_string(),
            exit_code: row.exit_code,
            usage: parsed.usage.clone(),
            deduped,
        };
        if let Err(e) = self.store.record_flight(&record) {
            tracing::warn!("flight recorder: {e:#}");
        }
    }
}

enum Ending {
    Exited,
    Idle,
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

/// A stream's output, bounded: the newest `cap` bytes are kept (a CLI's answer and
/// final JSON come last), older bytes dropped and counted.
struct Capture {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
}

impl Capture {
    fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap: cap.max(1024),
            total: 0,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        self.buf.extend_from_slice(data);
        // Compact in steps so a flood costs amortized O(1) per byte.
        if self.buf.len() > self.cap + self.cap / 4 {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
        }
    }

    fn truncated(&self) -> bool {
        self.total > self.buf.len() as u64 || self.total > self.cap as u64
    }

    fn text(&self) -> String {
        let start = self.buf.len().saturating_sub(self.cap);
        String::from_utf8_lossy(&self.buf[start..]).into_owned()
    }

    fn output(&self, err: &Capture) -> OwnedOutput {
        OwnedOutput {
            stdout: self.text(),
            stderr: err.text(),
            stdout_truncated: self.truncated(),
            stderr_truncated: err.truncated(),
            stdout_bytes: self.total,
            stderr_bytes: err.total,
        }
    }
}

/// Output for a throttled flush, owned because it is built from both captures.
struct OwnedOutput {
    stdout: String,
    stderr: String,
    stdout_truncated: bool,
    stderr_truncated: bool,
    stdout_bytes: u64,
    stderr_bytes: u64,
}

impl<'a> From<&'a OwnedOutput> for Output<'a> {
    fn from(o: &'a OwnedOutput) -> Self {
        Output {
            stdout: &o.stdout,
            stderr: &o.stderr,
            stdout_truncated: o.stdout_truncated,
            stderr_truncated: o.stderr_truncated,
            stdout_bytes: o.stdout_bytes,
            stderr_bytes: o.stderr_bytes,
        }
    }
}

fn empty_output() -> Output<'static> {
    Output {
        stdout: "",
        stderr: "",
        stdout_truncated: false,
        stderr_truncated: false,
        stdout_bytes: 0,
        stderr_bytes: 0,
    }
}

enum Signal {
    Term,
    Kill,
}

fn signal_group(pid: u32, sig: Signal) {
    #[cfg(unix)]
    {
        let sig = match sig {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        let Ok(pgid) = libc::pid_t::try_from(pid) else {
            return;
        };
        if pgid > 1 {
            // SAFETY: killpg only sends a signal; the group is the one we created for
            // this child (process_group(0) makes its pgid equal to its pid).
            unsafe {
                libc::killpg(pgid, sig);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (pid, sig);
}

/// This gateway process as a job owner: pid plus start time, so a reused pid does not
/// pass for a live gateway.
fn owner_id() -> String {
    let pid = std::process::id();
    format!(
        "{pid}:{}",
        crate::runtime::service::pidfile::start_time(pid).unwrap_or_default()
    )
}

fn owner_alive(owner: &str) -> bool {
    let Some((pid, start)) = owner.split_once(':') else {
        return false;
    };
    match pid.parse::<u32>() {
        Ok(pid) if pid != std::process::id() => {
            !start.is_empty()
                && crate::runtime::service::pidfile::start_time(pid).as_deref() == Some(start)
        }
        _ => false,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_newest_bytes() {
        let mut c = Capture::new(1024);
        for _ in 0..100 {
            c.push(&[b'a'; 100]);
        }
        c.push(b"END");
        assert!(c.truncated());
        assert_eq!(c.total, 10_003);
        let t = c.text();
        assert_eq!(t.len(), 1024);
        assert!(t.ends_with("END"));
        assert!(c.buf.len() <= 1024 + 256 + 100);
        let mut small = Capture::new(1024);
        small.push(b"hi");
        assert!(!small.truncated());
    }
}
