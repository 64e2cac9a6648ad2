//! Job rows: one per CLI run, written at start, on throttled output flushes and at the end.

use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Store, new_id, now_ms, write_tx};

/// What an orphaned job's `reason` says: the caller sees why there is no exit code and
/// that the output it gets is partial, not a failure of the CLI.
pub const ORPHAN_REASON: &str =
    "gateway restarted while the job was running; output up to that point is kept";

/// What an orphaned job's `reason` says when it never started: it waited for a free
/// process slot when its gateway died.
pub const ORPHAN_QUEUED_REASON: &str =
    "gateway restarted while the job was queued; it never started";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a free process slot (`[jobs] max_concurrent_processes`).
    Queued,
    Running,
    Completed,
    Failed,
    Canceled,
    Orphaned,
    /// Ended by the total deadline (`[jobs] max_runtime_secs` or `maxRuntimeMs`).
    TimedOut,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Orphaned => "orphaned",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "orphaned" => Self::Orphaned,
            "timed_out" => Self::TimedOut,
            _ => return None,
        })
    }

    /// Queued or running: the job has not ended.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// A CLI process group a job recorded: enough to find it again after the gateway that
/// started it died, and to tell it from a stranger that reuses its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProcess {
    pub job_id: String,
    pub pid: u32,
    pub pgid: u32,
    /// The group leader's start time as `runtime::service::pidfile::start_time` gives it.
    pub start: String,
}

pub struct NewJob<'a> {
    pub id: &'a str,
    pub provider: &'a str,
    pub argv: &'a [String],
    pub cwd: &'a str,
    pub request_key: &'a str,
    pub correlation_id: &'a str,
    pub model: Option<&'a str>,
    pub output_format: &'a str,
    pub started_at_ms: i64,
    pub pid: Option<u32>,
    /// The gateway process running the job (see [`Store::orphan_running`]).
    pub owner: &'a str,
    /// Starts `queued` (waiting for a process slot) rather than `running`.
    pub queued: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub id: String,
    pub provider: String,
    pub status: JobStatus,
    pub argv: Vec<String>,
    pub cwd: String,
    pub request_key: String,
    pub correlation_id: String,
    pub model: Option<String>,
    pub output_format: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub pid: Option<u32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
}

/// Captured output; `*_bytes` count everything the process wrote, kept or dropped.
pub struct Output<'a> {
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
}

const META: &str = "id, provider, status, argv, cwd, request_key, correlation_id, model, output_format, \
     started_at_ms, finished_at_ms, exit_code, reason, pid, stdout_truncated, stderr_truncated, stdout_bytes, stderr_bytes";

fn row_to_job(r: &Row, with_output: bool) -> rusqlite::Result<JobRow> {
    let status: String = r.get(2)?;
    let argv: String = r.get(3)?;
    Ok(JobRow {
        id: r.get(0)?,
        provider: r.get(1)?,
        // Only this code writes these columns, so neither fallback should ever apply; if
        // one does, the row stays readable (its output is the point) instead of failing
        // every listing that includes it.
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
        argv: serde_json::from_str(&argv).unwrap_or_default(),
        cwd: r.get(4)?,
        request_key: r.get(5)?,
        correlation_id: r.get(6)?,
        model: r.get(7)?,
        output_format: r.get(8)?,
        started_at_ms: r.get(9)?,
        finished_at_ms: r.get(10)?,
        exit_code: r.get(11)?,
        reason: r.get(12)?,
        pid: r.get(13)?,
        stdout_truncated: r.get(14)?,
        stderr_truncated: r.get(15)?,
        stdout_bytes: r.get::<_, i64>(16)? as u64,
        stderr_bytes: r.get::<_, i64>(17)? as u64,
        stdout: if with_output {
            r.get(18)?
        } else {
            String::new()
        },
        stderr: if with_output {
            r.get(19)?
        } else {
            String::new()
        },
    })
}

impl Store {
    pub fn insert_job(&self, job: &NewJob) -> Result<()> {
        self.conn().execute(
            "INSERT INTO jobs (id, provider, status, argv, cwd, request_key, correlation_id, model, output_format, started_at_ms, pid, owner)
             VALUES (?1, ?2, ?12, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                job.id,
                job.provider,
                serde_json::to_string(job.argv)?,
                job.cwd,
                job.request_key,
                job.correlation_id,
                job.model,
                job.output_format,
                job.started_at_ms,
                job.pid,
                job.owner,
                if job.queued { "queued" } else { "running" }
            ],
        )?;
        Ok(())
    }

    pub fn set_job_pid(&self, id: &str, pid: u32) -> Result<()> {
        self.conn()
            .execute("UPDATE jobs SET pid = ?2 WHERE id = ?1", params![id, pid])?;
        Ok(())
    }

    /// A queued job got its process slot. False when it is no longer queued (canceled).
    pub fn mark_job_running(&self, id: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE jobs SET status = 'running' WHERE id = ?1 AND status = 'queued'",
            [id],
        )? == 1)
    }

    /// The CLI's process: pid, process group and the leader's start time (`None` where
    /// the platform cannot tell; such a group is never signalled after a crash).
    pub fn set_job_process(
        &self,
        id: &str,
        pid: u32,
        pgid: u32,
        start: Option<&str>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE jobs SET pid = ?2, pgid = ?3, process_start = ?4 WHERE id = ?1",
            params![id, pid, pgid, start],
        )?;
        Ok(())
    }

    /// Process groups of running jobs whose gateway is gone (`owner_alive` says which
    /// are not): what a gateway started after a crash must end before it orphans them.
    pub fn leftover_processes(
        &self,
        owner_alive: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<JobProcess>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, pid, pgid, process_start, owner FROM jobs
             WHERE status = 'running' AND pgid IS NOT NULL AND process_start IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                JobProcess {
                    job_id: r.get(0)?,
                    pid: r.get(1)?,
                    pgid: r.get(2)?,
                    start: r.get(3)?,
                },
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (process, owner) = row?;
            if !owner.as_deref().is_some_and(owner_alive) {
                out.push(process);
            }
        }
        Ok(out)
    }

    pub fn update_job_output(&self, id: &str, out: &Output) -> Result<()> {
        self.conn().execute(
            "UPDATE jobs SET stdout = ?2, stderr = ?3, stdout_truncated = ?4, stderr_truncated = ?5,
                 stdout_bytes = ?6, stderr_bytes = ?7 WHERE id = ?1 AND status = 'running'",
            params![
                id,
                out.stdout,
                out.stderr,
                out.stdout_truncated,
                out.stderr_truncated,
                out.stdout_bytes as i64,
                out.stderr_bytes as i64
            ],
        )?;
        Ok(())
    }

    /// The terminal transition. False (and no change) when the job already ended, so a
    /// cancel racing a natural exit records exactly one outcome.
    pub fn finish_job(
        &self,
        id: &str,
        status: JobStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
        out: &Output,
        finished_at_ms: i64,
    ) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE jobs SET status = ?2, exit_code = ?3, reason = ?4, stdout = ?5, stderr = ?6,
                 stdout_truncated = ?7, stderr_truncated = ?8, stdout_bytes = ?9, stderr_bytes = ?10,
                 finished_at_ms = ?11
             WHERE id = ?1 AND status IN ('running', 'queued')",
            params![
                id,
                status.as_str(),
                exit_code,
                reason,
                out.stdout,
                out.stderr,
                out.stdout_truncated,
                out.stderr_truncated,
                out.stdout_bytes as i64,
                out.stderr_bytes as i64,
                finished_at_ms
            ],
        )?;
        Ok(n == 1)
    }

    pub fn get_job(&self, id: &str) -> Result<Option<JobRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {META}, stdout, stderr FROM jobs WHERE id = ?1"),
                [id],
                |r| row_to_job(r, true),
            )
            .optional()?)
    }

    /// Status without the output columns: the hot path of `llm_job_status`.
    pub fn get_job_summary(&self, id: &str) -> Result<Option<JobRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {META} FROM jobs WHERE id = ?1"),
                [id],
                |r| row_to_job(r, false),
            )
            .optional()?)
    }

    /// Newest queued, running or completed job with this key started at or after `since_ms`.
    pub fn find_dedup(&self, request_key: &str, since_ms: i64) -> Result<Option<JobRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {META} FROM jobs WHERE request_key = ?1 AND started_at_ms >= ?2
                     AND status IN ('queued', 'running', 'completed') ORDER BY started_at_ms DESC LIMIT 1"
                ),
                params![request_key, since_ms],
                |r| row_to_job(r, false),
            )
            .optional()?)
    }

    /// At boot: jobs whose gateway is gone can never be reattached to. Jobs of another
    /// live gateway on the same store (`owner_alive` says which) are left alone.
    pub fn orphan_running(&self, now_ms: i64, owner_alive: &dyn Fn(&str) -> bool) -> Result<u64> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let owners: Vec<Option<String>> = {
            let mut stmt = tx
                .prepare("SELECT DISTINCT owner FROM jobs WHERE status IN ('running', 'queued')")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut n = 0;
        for owner in owners {
            if owner.as_deref().is_some_and(owner_alive) {
                continue;
            }
            n += tx.execute(
                "UPDATE jobs SET status = 'orphaned', finished_at_ms = ?1, reason = ?3
                 WHERE status = 'running' AND owner IS ?2",
                params![now_ms, owner, ORPHAN_REASON],
            )? as u64;
            n += tx.execute(
                "UPDATE jobs SET status = 'orphaned', finished_at_ms = ?1, reason = ?3
                 WHERE status = 'queued' AND owner IS ?2",
                params![now_ms, owner, ORPHAN_QUEUED_REASON],
            )? as u64;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Retention. Running jobs are never pruned, whatever their age: a long job's row
    /// is the only record of it.
    pub fn prune_jobs(&self, before_ms: i64) -> Result<u64> {
        Ok(self.conn().execute(
            "DELETE FROM jobs WHERE status NOT IN ('running', 'queued') AND finished_at_ms < ?1",
            [before_ms],
        )? as u64)
    }

    /// Newest first, without output. Two statements rather than `?1 IS NULL OR …`, which
    /// would keep SQLite from using either index.
    pub fn list_jobs(&self, limit: usize, status: Option<JobStatus>) -> Result<Vec<JobRow>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match status {
            Some(status) => conn
                .prepare_cached(&format!(
                    "SELECT {META} FROM jobs WHERE status = ?1 ORDER BY started_at_ms DESC LIMIT ?2"
                ))?
                .query_map(params![status.as_str(), limit], |r| row_to_job(r, false))?
                .collect::<rusqlite::Result<_>>()?,
            None => conn
                .prepare_cached(&format!(
                    "SELECT {META} FROM jobs ORDER BY started_at_ms DESC LIMIT ?1"
                ))?
                .query_map([limit], |r| row_to_job(r, false))?
                .collect::<rusqlite::Result<_>>()?,
        };
        Ok(rows)
    }

    pub fn count_jobs(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM jobs", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// For benchmarks and tests: `n` completed jobs in one transaction.
    pub fn insert_finished_jobs_bulk(&self, n: usize, provider: &str) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let now = now_ms();
        let mut ids = Vec::with_capacity(n);
        {
            let mut stmt = tx.prepare(
                "INSERT INTO jobs (id, provider, status, argv, cwd, request_key, correlation_id, output_format,
                     started_at_ms, finished_at_ms, exit_code, stdout, stdout_bytes)
                 VALUES (?1, ?2, 'completed', '[]', '/', ?1, ?1, 'text', ?3, ?3, 0, 'ok', 2)",
            )?;
            for i in 0..n {
                let id = new_id("job-");
                stmt.execute(params![id, provider, now - i as i64])?;
                ids.push(id);
            }
        }
        tx.commit()?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str) -> Output<'_> {
        Output {
            stdout: s,
            stderr: "",
            stdout_truncated: false,
            stderr_truncated: false,
            stdout_bytes: s.len() as u64,
            stderr_bytes: 0,
        }
    }

    fn new(store: &Store, id: &str, key: &str, at: i64) {
        store
            .insert_job(&NewJob {
                id,
                provider: "claude",
                argv: &["-p".into(), "hi".into()],
                cwd: "/tmp",
                request_key: key,
                correlation_id: "c",
                model: None,
                output_format: "json",
                started_at_ms: at,
                pid: Some(42),
                owner: "me",
                queued: false,
            })
            .unwrap();
    }

    #[test]
    fn lifecycle_and_single_outcome() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "j1", "k", 1000);
        s.update_job_output("j1", &out("part")).unwrap();
        assert_eq!(s.get_job("j1").unwrap().unwrap().stdout, "part");
        assert!(
            s.finish_job("j1", JobStatus::Completed, Some(0), None, &out("all"), 2000)
                .unwrap()
        );
        assert!(
            !s.finish_job(
                "j1",
                JobStatus::Canceled,
                None,
                Some("late"),
                &out(""),
                3000
            )
            .unwrap()
        );
        let row = s.get_job("j1").unwrap().unwrap();
        assert_eq!(
            (row.status, row.stdout.as_str(), row.exit_code),
            (JobStatus::Completed, "all", Some(0))
        );
        assert_eq!(row.argv, vec!["-p", "hi"]);
        let sum = s.get_job_summary("j1").unwrap().unwrap();
        assert!(sum.stdout.is_empty());
        // Output updates after the end change nothing.
        s.update_job_output("j1", &out("x")).unwrap();
        assert_eq!(s.get_job("j1").unwrap().unwrap().stdout, "all");
    }

    #[test]
    fn orphans_keep_partial_output() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "run", "a", 1);
        new(&s, "done", "b", 1);
        s.update_job_output("run", &out("half")).unwrap();
        s.finish_job("done", JobStatus::Completed, Some(0), None, &out("x"), 5)
            .unwrap();
        new(&s, "theirs", "c", 1);
        s.conn()
            .execute("UPDATE jobs SET owner = 'other' WHERE id = 'theirs'", [])
            .unwrap();
        assert_eq!(s.orphan_running(10, &|o| o == "other").unwrap(), 1);
        assert_eq!(
            s.get_job("theirs").unwrap().unwrap().status,
            JobStatus::Running,
            "a live gateway's job"
        );
        let r = s.get_job("run").unwrap().unwrap();
        assert_eq!(
            (r.status, r.stdout.as_str(), r.finished_at_ms),
            (JobStatus::Orphaned, "half", Some(10))
        );
        assert_eq!(r.reason.as_deref(), Some(ORPHAN_REASON));
        assert!(ORPHAN_REASON.starts_with("gateway restarted while the job was running"));
        let done = s.get_job("done").unwrap().unwrap();
        assert_eq!(
            (done.status, done.finished_at_ms, done.reason),
            (JobStatus::Completed, Some(5), None)
        );
        // An orphan is final: the exit its gateway never saw cannot overwrite it.
        assert!(
            !s.finish_job("run", JobStatus::Completed, Some(0), None, &out("late"), 20)
                .unwrap()
        );
        assert_eq!(s.orphan_running(30, &|_| false).unwrap(), 1, "now theirs");
        assert_eq!(s.orphan_running(40, &|_| false).unwrap(), 0);
    }

    #[test]
    fn dedup_window_and_statuses() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "old", "k", 100);
        new(&s, "newer", "k", 150);
        s.finish_job(
            "newer",
            JobStatus::Completed,
            Some(0),
            None,
            &out("ok"),
            160,
        )
        .unwrap();
        assert_eq!(
            s.find_dedup("k", 50).unwrap().unwrap().id,
            "newer",
            "the newest of several"
        );
        assert_eq!(
            s.find_dedup("k", 150).unwrap().unwrap().id,
            "newer",
            "inclusive"
        );
        assert!(
            s.find_dedup("k", 151).unwrap().is_none(),
            "outside the window"
        );
        for (id, status, at) in [
            ("failed", JobStatus::Failed, 500),
            ("canceled", JobStatus::Canceled, 510),
            ("orphaned", JobStatus::Orphaned, 520),
        ] {
            new(&s, id, "k", at);
            assert!(
                s.finish_job(id, status, None, None, &out(""), at + 1)
                    .unwrap()
            );
        }
        assert!(
            s.find_dedup("k", 200).unwrap().is_none(),
            "failed, canceled and orphaned jobs are not reused"
        );
        assert_eq!(
            s.find_dedup("k", 0).unwrap().unwrap().id,
            "newer",
            "they do not hide an older good one either"
        );
        new(&s, "live", "k", 600);
        let live = s.find_dedup("k", 200).unwrap().unwrap();
        assert_eq!(
            (live.id.as_str(), live.status),
            ("live", JobStatus::Running)
        );
        assert!(s.find_dedup("other", 0).unwrap().is_none());
    }

    #[test]
    fn prune_keeps_running_jobs() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "a", "k", 1);
        new(&s, "b", "k", 1);
        new(&s, "c", "k", 1);
        s.finish_job("b", JobStatus::Completed, Some(0), None, &out(""), 10)
            .unwrap();
        s.finish_job("c", JobStatus::Failed, Some(1), None, &out(""), 200)
            .unwrap();
        assert_eq!(s.prune_jobs(100).unwrap(), 1);
        assert!(s.get_job("a").unwrap().is_some(), "running, however old");
        assert!(s.get_job("b").unwrap().is_none());
        assert!(
            s.get_job("c").unwrap().is_some(),
            "finished after the cutoff"
        );
        assert_eq!(s.count_jobs().unwrap(), 2);
        assert_eq!(s.list_jobs(10, Some(JobStatus::Running)).unwrap().len(), 1);
    }

    #[test]
    fn list_is_newest_first_and_filters() {
        let s = Store::open_in_memory().unwrap();
        for (id, at) in [("j1", 1), ("j3", 3), ("j2", 2)] {
            new(&s, id, "k", at);
            s.update_job_output(id, &out("big output")).unwrap();
        }
        s.finish_job("j2", JobStatus::Completed, Some(0), None, &out("x"), 9)
            .unwrap();
        let ids = |v: Vec<JobRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(s.list_jobs(10, None).unwrap()), ["j3", "j2", "j1"]);
        assert_eq!(ids(s.list_jobs(2, None).unwrap()), ["j3", "j2"]);
        assert_eq!(
            ids(s.list_jobs(10, Some(JobStatus::Running)).unwrap()),
            ["j3", "j1"]
        );
        assert_eq!(
            ids(s.list_jobs(10, Some(JobStatus::Completed)).unwrap()),
            ["j2"]
        );
        assert!(
            s.list_jobs(10, None)
                .unwrap()
                .iter()
                .all(|r| r.stdout.is_empty())
        );
    }

    #[test]
    fn bulk_rows_are_found_fast() {
        let s = Store::open_in_memory().unwrap();
        let t = std::time::Instant::now();
        let ids = s.insert_finished_jobs_bulk(100_000, "codex").unwrap();
        eprintln!("insert 100k jobs: {:?}", t.elapsed());
        assert_eq!(ids.len(), 100_000);
        assert_eq!(s.count_jobs().unwrap(), 100_000);
        let t = std::time::Instant::now();
        for id in ids.iter().step_by(1000) {
            let row = s.get_job_summary(id).unwrap().unwrap();
            assert_eq!(
                (row.status, row.stdout.as_str()),
                (JobStatus::Completed, "")
            );
        }
        eprintln!("100 summaries among 100k jobs: {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let newest = s.list_jobs(20, None).unwrap();
        eprintln!("list_jobs(20) among 100k jobs: {:?}", t.elapsed());
        assert_eq!(newest.len(), 20);
        assert_eq!(newest[0].id, ids[0], "the bulk insert's newest comes first");
        assert_eq!(s.get_job(&ids[0]).unwrap().unwrap().stdout, "ok");
    }

    #[test]
    fn queued_jobs_start_end_dedup_and_orphan() {
        let s = Store::open_in_memory().unwrap();
        let job = |id: &'static str, key: &'static str, queued: bool| NewJob {
            id,
            provider: "claude",
            argv: &[],
            cwd: "/tmp",
            request_key: key,
            correlation_id: "c",
            model: None,
            output_format: "json",
            started_at_ms: 10,
            pid: None,
            owner: "dead",
            queued,
        };
        s.insert_job(&job("q", "k", true)).unwrap();
        assert_eq!(s.get_job("q").unwrap().unwrap().status, JobStatus::Queued);
        assert_eq!(s.find_dedup("k", 0).unwrap().unwrap().id, "q");
        assert!(s.mark_job_running("q").unwrap());
        assert!(!s.mark_job_running("q").unwrap(), "only once");
        s.insert_job(&job("c", "k2", true)).unwrap();
        assert!(
            s.finish_job("c", JobStatus::Canceled, None, Some("x"), &out(""), 20)
                .unwrap(),
            "a queued job can be canceled"
        );
        assert!(!s.mark_job_running("c").unwrap());
        s.insert_job(&job("o", "k3", true)).unwrap();
        assert_eq!(s.prune_jobs(i64::MAX).unwrap(), 1, "only the canceled one");
        assert_eq!(s.orphan_running(30, &|_| false).unwrap(), 2);
        let o = s.get_job("o").unwrap().unwrap();
        assert_eq!(
            (o.status, o.reason.as_deref()),
            (JobStatus::Orphaned, Some(ORPHAN_QUEUED_REASON))
        );
        assert_eq!(
            s.get_job("q").unwrap().unwrap().reason.as_deref(),
            Some(ORPHAN_REASON)
        );
    }

    #[test]
    fn timed_out_round_trips_and_is_not_reused() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "t", "k", 1);
        s.finish_job(
            "t",
            JobStatus::TimedOut,
            None,
            Some("deadline"),
            &out("tail"),
            2,
        )
        .unwrap();
        let row = s.get_job("t").unwrap().unwrap();
        assert_eq!(
            (row.status, row.stdout.as_str()),
            (JobStatus::TimedOut, "tail")
        );
        assert_eq!(serde_json::to_value(row.status).unwrap(), "timed_out");
        assert!(s.find_dedup("k", 0).unwrap().is_none());
    }

    #[test]
    fn leftover_processes_are_those_of_dead_gateways() {
        let s = Store::open_in_memory().unwrap();
        new(&s, "mine", "k", 1);
        new(&s, "theirs", "k", 1);
        new(&s, "nopgid", "k", 1);
        s.set_job_process("mine", 100, 100, Some("555")).unwrap();
        s.set_job_process("theirs", 200, 200, Some("666")).unwrap();
        s.conn()
            .execute("UPDATE jobs SET owner = 'live' WHERE id = 'theirs'", [])
            .unwrap();
        let left = s.leftover_processes(&|o| o == "live").unwrap();
        assert_eq!(
            left,
            vec![JobProcess {
                job_id: "mine".into(),
                pid: 100,
                pgid: 100,
                start: "555".into()
            }]
        );
        s.finish_job("mine", JobStatus::Completed, Some(0), None, &out(""), 2)
            .unwrap();
        assert!(s.leftover_processes(&|o| o == "live").unwrap().is_empty());
    }
}
