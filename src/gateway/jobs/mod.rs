//! Durable jobs: every provider run is a job persisted in the store at start, while it
//! runs (throttled output flushes) and at the end, so a result survives the client
//! timing out, the gateway restarting, or both.
//!
//! Dedup lives here because it must be atomic with starting: two clients sending the same
//! request at once must end up sharing one process.

//!
//! The parts: [`settings`] (limits and timeouts), [`spec`] (what to run and its dedup
//! identity), [`process`] (spawning in a process group and killing the group),
//! [`capture`] (bounded output), `supervise` (one run from spawn to its stored result:
//! idle timeout, total deadline, cancel, the final write and its retries).
//!
//! At most `max_concurrent_processes` CLIs run at once; later jobs are `queued` and start
//! in arrival order as slots free.

mod capture;
mod process;
mod settings;
mod spec;
mod supervise;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use settings::{DEFAULT_MAX_REPLY_BYTES, JobSettings, MIN_REPLY_BYTES};
pub use spec::JobSpec;

use crate::providers::Parsed;
use crate::store::flight::FlightRecord;
use crate::store::jobs::{JobRow, JobStatus, NewJob};
use crate::store::{Store, new_id, now_ms};

pub struct Started {
    pub job: JobRow,
    pub deduped: bool,
}

pub enum CancelOutcome {
    Canceled,
    AlreadyFinished(JobStatus),
    NotFound,
}

/// What a queued job ended with when the gateway shut down before it could start.
pub const SHUTDOWN_QUEUED_REASON: &str =
    "gateway shut down while the job was queued; it never started";
/// What a running job ended with when the gateway shut down.
pub const SHUTDOWN_RUNNING_REASON: &str = "gateway shut down while the job was running; its process group was killed and the output so far is kept";

/// A live job, queued or running: enough to wait for it, cancel it and report on it.
struct Live {
    provider: &'static str,
    pid: Option<u32>,
    /// When it entered this state (queued, then running).
    since: Instant,
    cancel: CancellationToken,
    done: watch::Receiver<bool>,
    queued: bool,
}

/// Everything needed to start a job's process, held while it waits for a slot.
struct Launch {
    id: String,
    spec: JobSpec,
    cwd: PathBuf,
    scratch: ScratchGuard,
    cancel: CancellationToken,
    done: watch::Sender<bool>,
}

/// Process slots: how many CLIs run now and who waits, first come first served.
#[derive(Default)]
struct Slots {
    running: usize,
    queue: VecDeque<Launch>,
    /// Shutting down: nothing more starts.
    closed: bool,
}

pub struct JobManager {
    store: Arc<Store>,
    settings: JobSettings,
    live: Mutex<HashMap<String, Live>>,
    slots: Mutex<Slots>,
    /// Jobs whose final write to the store failed even after retries: the row still says
    /// `running`, so status and dedup consult this instead (job id → reason).
    unsaved: Mutex<HashMap<String, String>>,
    shutting_down: AtomicBool,
    /// Serializes dedup lookup + insert so concurrent identical requests start once.
    start_lock: tokio::sync::Mutex<()>,
    /// This process as recorded in the jobs it runs.
    owner: String,
    /// The gateway's home, which no run's scratch directory may be inside.
    home: std::path::PathBuf,
    /// Jobs that an identical request was also handed (dedup): a caller that gives up
    /// on such a job must not cancel it for the others.
    shared: Mutex<std::collections::HashSet<String>>,
    /// Why a live job was canceled, when not by `llm_job_cancel`.
    cancel_reasons: Mutex<HashMap<String, String>>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveJob {
    pub job_id: String,
    pub provider: &'static str,
    pub pid: Option<u32>,
    pub running_secs: u64,
}

/// How many entries the unsaved-jobs map keeps; past it the oldest are forgotten (their
/// rows become `orphaned` at the next start anyway).
const MAX_UNSAVED: usize = 10_000;

impl JobManager {
    /// Opens the store under `paths` and starts managing its jobs; the data dir may not
    /// exist yet when `serve` runs without `setup` (stdio clients, tests).
    pub fn open(paths: &crate::runtime::paths::Paths, settings: JobSettings) -> Result<Arc<Self>> {
        crate::platform::fsutil::create_private_dir(&paths.data_dir)?;
        let store = Store::open(&paths.db_file())?;
        Self::new(Arc::new(store), settings, paths.data_dir.clone())
    }

    /// Opens the manager over `store`: CLI process groups left behind by a gateway that
    /// died are ended, jobs left `running` or `queued` by it become `orphaned`, and
    /// expired jobs are pruned.
    pub fn new(
        store: Arc<Store>,
        settings: JobSettings,
        home: std::path::PathBuf,
    ) -> Result<Arc<Self>> {
        let leftovers = store.leftover_processes(&owner_alive)?;
        if !leftovers.is_empty() {
            let groups: Vec<(u32, String)> = leftovers
                .iter()
                .map(|l| (l.pgid, l.start.clone()))
                .collect();
            let ended = process::end_leftovers(&groups);
            for left in leftovers.iter().filter(|l| ended.contains(&l.pgid)) {
                tracing::warn!(
                    "job {}: ended the CLI process group {} its crashed gateway left behind",
                    left.job_id,
                    left.pgid
                );
            }
        }
        let orphaned = store.orphan_running(now_ms(), &owner_alive)?;
        if orphaned > 0 {
            tracing::warn!(
                "{orphaned} job(s) were running or queued when the gateway last stopped; marked orphaned"
            );
        }
        let manager = Arc::new(Self {
            store,
            settings,
            live: Mutex::new(HashMap::new()),
            shared: Mutex::new(std::collections::HashSet::new()),
            cancel_reasons: Mutex::new(HashMap::new()),
            slots: Mutex::new(Slots::default()),
            unsaved: Mutex::new(HashMap::new()),
            shutting_down: AtomicBool::new(false),
            start_lock: tokio::sync::Mutex::new(()),
            owner: owner_id(),
            home,
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
        // Decisions follow the jobs' retention.
        if let Err(e) = self.store.prune_decisions(cutoff) {
            tracing::warn!("pruning policy decisions failed: {e:#}");
        }
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

    /// The job as clients should see it: the stored row, corrected by what only this
    /// process knows (a final write that failed).
    pub fn get_job(&self, id: &str, with_output: bool) -> Result<Option<JobRow>> {
        let row = if with_output {
            self.store.get_job(id)?
        } else {
            self.store.get_job_summary(id)?
        };
        Ok(row.map(|mut r| {
            self.overlay(&mut r);
            r
        }))
    }

    fn overlay(&self, row: &mut JobRow) {
        if let Some(reason) = lock(&self.unsaved).get(&row.id)
            && row.status.is_live()
        {
            row.status = JobStatus::Failed;
            row.reason = Some(reason.clone());
        }
    }

    /// Starts `spec`, or returns the queued, running or completed job an identical
    /// request started inside the dedup window. Over the process cap the job is queued
    /// and starts when a slot frees, in arrival order.
    pub async fn start(self: &Arc<Self>, spec: JobSpec) -> Result<Started> {
        let key = spec.request_key();
        let _serial = self.start_lock.lock().await;
        let window = self.settings.dedup_window.as_millis() as i64;
        if !spec.force_refresh
            && window > 0
            && let Some(existing) = self.store.find_dedup(&key, now_ms() - window)?
            && !lock(&self.unsaved).contains_key(&existing.id)
        {
            self.record_flight(&existing, &spec, &Parsed::default(), true);
            lock(&self.shared).insert(existing.id.clone());
            return Ok(Started {
                job: existing,
                deduped: true,
            });
        }
        let id = new_id("job-");
        let started_at = now_ms();
        let (cwd, scratch) = match &spec.cwd {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = process::scratch_dir(&self.home)
                    .context("could not make a scratch directory for the run")?;
                (dir.clone(), Some(dir))
            }
        };
        let scratch = ScratchGuard(scratch);
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = watch::channel(false);
        let launch = {
            let mut slots = lock(&self.slots);
            anyhow::ensure!(
                !slots.closed,
                "the gateway is shutting down; send the request again once it is back"
            );
            let queued = slots.running >= self.settings.max_concurrent_processes.max(1)
                || !slots.queue.is_empty();
            self.store.insert_job(&NewJob {
                id: &id,
                provider: spec.provider.id(),
                argv: &spec.args,
                cwd: &cwd.to_string_lossy(),
                request_key: &key,
                correlation_id: &spec.correlation_id,
                model: spec.model.as_deref(),
                output_format: &spec.output_format,
                started_at_ms: started_at,
                pid: None,
                owner: &self.owner,
                queued,
            })?;
            lock(&self.live).insert(
                id.clone(),
                Live {
                    provider: spec.provider.id(),
                    pid: None,
                    since: Instant::now(),
                    cancel: cancel.clone(),
                    done: done_rx,
                    queued,
                },
            );
            let launch = Launch {
                id: id.clone(),
                spec,
                cwd,
                scratch,
                cancel,
                done: done_tx,
            };
            if queued {
                tracing::info!(
                    "job {id} queued at position {}: {} CLI processes running (the cap)",
                    slots.queue.len() + 1,
                    slots.running
                );
                slots.queue.push_back(launch);
                None
            } else {
                slots.running += 1;
                Some(launch)
            }
        };
        if let Some(launch) = launch
            && let Err(why) = self.launch(launch)
        {
            self.release_slot();
            return Err(anyhow::anyhow!(why));
        }
        let mut job = self
            .store
            .get_job_summary(&id)?
            .context("a job vanished right after it was written")?;
        self.overlay(&mut job);
        Ok(Started {
            job,
            deduped: false,
        })
    }

    /// Spawns a job that holds a process slot and supervises it to the end; the slot is
    /// released (and the queue moves) when it is over. A CLI that cannot start fails
    /// its job; the caller then gives the slot back.
    fn launch(self: &Arc<Self>, launch: Launch) -> Result<(), String> {
        let Launch {
            id,
            spec,
            cwd,
            scratch,
            cancel,
            done,
        } = launch;
        let child = match process::spawn(&spec, &cwd) {
            Ok(c) => c,
            Err(e) => {
                let why = format!("could not start {}: {e}", spec.program.display());
                if let Err(e) = self.store.finish_job(
                    &id,
                    JobStatus::Failed,
                    None,
                    Some(&why),
                    &capture::empty_output(),
                    now_ms(),
                ) {
                    tracing::error!("job {id}: could not save the result: {e:#}");
                }
                drop(scratch);
                lock(&self.live).remove(&id);
                let _ = done.send(true);
                return Err(why);
            }
        };
        let pid = child.id();
        if let Some(pid) = pid {
            let pgid = process::group_of(pid);
            let start = crate::runtime::service::pidfile::start_time(pid);
            if let Err(e) = self.store.set_job_process(&id, pid, pgid, start.as_deref()) {
                tracing::warn!("job {id}: could not record its process: {e:#}");
            }
        }
        if let Some(live) = lock(&self.live).get_mut(&id) {
            live.pid = pid;
            live.queued = false;
            live.since = Instant::now();
        }
        let manager = Arc::clone(self);
        tokio::spawn(async move {
            manager.supervise(id.clone(), spec, child, cancel).await;
            drop(scratch);
            lock(&manager.live).remove(&id);
            lock(&manager.shared).remove(&id);
            lock(&manager.cancel_reasons).remove(&id);
            let _ = done.send(true);
            manager.release_slot();
        });
        Ok(())
    }

    /// A process ended: its slot goes to the first queued job, if any.
    fn release_slot(self: &Arc<Self>) {
        lock(&self.slots).running -= 1;
        self.pump();
    }

    /// Starts queued jobs while there are free slots.
    fn pump(self: &Arc<Self>) {
        loop {
            let next = {
                let mut slots = lock(&self.slots);
                if slots.closed || slots.running >= self.settings.max_concurrent_processes.max(1) {
                    return;
                }
                let Some(next) = slots.queue.pop_front() else {
                    return;
                };
                slots.running += 1;
                next
            };
            match self.store.mark_job_running(&next.id) {
                Ok(true) => {}
                Ok(false) => {
                    // Ended while it waited (it can only have been canceled).
                    lock(&self.live).remove(&next.id);
                    let _ = next.done.send(true);
                    lock(&self.slots).running -= 1;
                    continue;
                }
                Err(e) => tracing::warn!("job {}: could not mark it running: {e:#}", next.id),
            }
            let id = next.id.clone();
            if let Err(why) = self.launch(next) {
                tracing::warn!("job {id}: {why}");
                lock(&self.slots).running -= 1;
            }
        }
    }

    /// Waits up to `timeout` for the job to finish; true when it is no longer queued
    /// or running.
    pub async fn wait(&self, id: &str, timeout: Duration) -> bool {
        let rx = lock(&self.live).get(id).map(|r| r.done.clone());
        let Some(mut rx) = rx else { return true };
        tokio::time::timeout(timeout, rx.wait_for(|done| *done))
            .await
            .is_ok()
    }

    /// Queued or running in this gateway.
    pub fn is_running(&self, id: &str) -> bool {
        lock(&self.live).contains_key(id)
    }

    /// Where a queued job stands: 1 is next.
    pub fn queue_position(&self, id: &str) -> Option<usize> {
        lock(&self.slots)
            .queue
            .iter()
            .position(|l| l.id == id)
            .map(|i| i + 1)
    }

    /// How many jobs wait for a process slot.
    pub fn queued_count(&self) -> usize {
        lock(&self.slots).queue.len()
    }

    pub fn cancel(&self, id: &str) -> Result<CancelOutcome> {
        let waiting = {
            let mut slots = lock(&self.slots);
            let at = slots.queue.iter().position(|l| l.id == id);
            at.and_then(|i| slots.queue.remove(i))
        };
        if let Some(launch) = waiting {
            self.end_queued(
                launch,
                "canceled by llm_job_cancel while queued; it never started",
            );
            return Ok(CancelOutcome::Canceled);
        }
        if let Some(r) = lock(&self.live).get(id) {
            r.cancel.cancel();
            return Ok(CancelOutcome::Canceled);
        }
        Ok(match self.get_job(id, false)? {
            Some(row) => CancelOutcome::AlreadyFinished(row.status),
            None => CancelOutcome::NotFound,
        })
    }

    /// A sync caller gave up on `id` (closed its response stream on the 2026-07-28 wire,
    /// sent `notifications/cancelled` on a 2025 session, or went away): end the job and
    /// its process group, unless an identical request was handed the same job. Returns
    /// whether it was canceled.
    pub fn abandon(&self, id: &str) -> bool {
        if lock(&self.shared).contains(id) {
            return false;
        }
        lock(&self.cancel_reasons).insert(
            id.to_string(),
            "canceled: the caller gave up on the call (closed its stream or sent notifications/cancelled)"
                .into(),
        );
        let canceled = matches!(self.cancel(id), Ok(CancelOutcome::Canceled));
        if canceled {
            tracing::info!("job {id}: the caller gave up; process group ended");
        }
        canceled
    }

    /// Why `id` was canceled, if not by `llm_job_cancel`; forgets it.
    pub(super) fn take_cancel_reason(&self, id: &str) -> Option<String> {
        lock(&self.shared).remove(id);
        lock(&self.cancel_reasons).remove(id)
    }

    /// Ends a job taken off the queue before it ran.
    fn end_queued(&self, launch: Launch, reason: &str) {
        let id = &launch.id;
        if let Err(e) = self.store.finish_job(
            id,
            JobStatus::Canceled,
            None,
            Some(reason),
            &capture::empty_output(),
            now_ms(),
        ) {
            tracing::error!("job {id}: could not save the result: {e:#}");
        }
        lock(&self.live).remove(id);
        let _ = launch.done.send(true);
    }

    /// CLI processes running now (queued jobs have none).
    pub fn active(&self) -> Vec<ActiveJob> {
        lock(&self.live)
            .iter()
            .filter(|(_, r)| !r.queued)
            .map(|(id, r)| ActiveJob {
                job_id: id.clone(),
                provider: r.provider,
                pid: r.pid,
                running_secs: r.since.elapsed().as_secs(),
            })
            .collect()
    }

    /// On gateway shutdown: queued jobs end `canceled` without starting, every running
    /// CLI's process group is stopped, and their records are awaited.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let queued: Vec<Launch> = {
            let mut slots = lock(&self.slots);
            slots.closed = true;
            slots.queue.drain(..).collect()
        };
        for launch in queued {
            self.end_queued(launch, SHUTDOWN_QUEUED_REASON);
        }
        let waits: Vec<_> = {
            let live = lock(&self.live);
            live.values()
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

    fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The final write failed for good: from now on the job reads as failed here, and
    /// dedup never hands it out.
    fn mark_unsaved(&self, id: &str, reason: String) {
        let mut unsaved = lock(&self.unsaved);
        if unsaved.len() >= MAX_UNSAVED {
            unsaved.clear();
        }
        unsaved.insert(id.to_string(), reason);
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

/// Removes a run's scratch directory when the run is over (or never started).
struct ScratchGuard(Option<std::path::PathBuf>);

impl Drop for ScratchGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.0
            && let Err(e) = crate::platform::fsutil::remove_path(dir)
        {
            tracing::warn!(
                "could not remove the scratch directory {}: {e}",
                dir.display()
            );
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
