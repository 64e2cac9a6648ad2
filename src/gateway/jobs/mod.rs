//! Durable jobs: every provider run is a job persisted in the store at start, while it
//! runs (throttled output flushes) and at the end, so a result survives the client
//! timing out, the gateway restarting, or both.
//!
//! Dedup lives here because it must be atomic with starting: two clients sending the same
//! request at once must end up sharing one process.

//!
//! The parts: [`settings`] (limits and timeouts), [`spec`] (what to run and its dedup
//! identity), [`process`] (spawning in a process group and killing the group),
//! [`capture`] (bounded output), `supervise` (one run from spawn to its stored result).

mod capture;
mod process;
mod settings;
mod spec;
mod supervise;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use settings::JobSettings;
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
    /// The gateway's home, which no run's scratch directory may be inside.
    home: std::path::PathBuf,
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
        Self::new(Arc::new(store), settings, paths.data_dir.clone())
    }

    /// Opens the manager over `store`: jobs left `running` by a previous gateway become
    /// `orphaned`, and expired jobs are pruned.
    pub fn new(
        store: Arc<Store>,
        settings: JobSettings,
        home: std::path::PathBuf,
    ) -> Result<Arc<Self>> {
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
        let (cwd, scratch) = match &spec.cwd {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = process::scratch_dir(&self.home)
                    .context("could not make a scratch directory for the run")?;
                (dir.clone(), Some(dir))
            }
        };
        let scratch = ScratchGuard(scratch);
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
        })?;
        let child = match process::spawn(&spec, &cwd) {
            Ok(c) => c,
            Err(e) => {
                let why = format!("could not start {}: {e}", spec.program.display());
                self.store.finish_job(
                    &id,
                    JobStatus::Failed,
                    None,
                    Some(&why),
                    &capture::empty_output(),
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
            drop(scratch);
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
