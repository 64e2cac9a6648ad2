//! Versioned schema steps, tracked in `PRAGMA user_version`. Each step runs in one
//! transaction; re-running is a no-op, and an older file is upgraded in place.

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

const V1: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    argv TEXT NOT NULL,
    cwd TEXT NOT NULL,
    request_key TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    model TEXT,
    output_format TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER,
    exit_code INTEGER,
    reason TEXT,
    pid INTEGER,
    stdout TEXT NOT NULL DEFAULT '',
    stderr TEXT NOT NULL DEFAULT '',
    stdout_truncated INTEGER NOT NULL DEFAULT 0,
    stderr_truncated INTEGER NOT NULL DEFAULT 0,
    stdout_bytes INTEGER NOT NULL DEFAULT 0,
    stderr_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    description TEXT,
    cli_session_id TEXT,
    created_at_ms INTEGER NOT NULL,
    last_used_at_ms INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS flights (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT,
    provider TEXT NOT NULL,
    model TEXT,
    correlation_id TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    input_tokens INTEGER,
    output_tokens INTEGER,
    deduped INTEGER NOT NULL DEFAULT 0
);
";

/// v2: cache-token and cost columns for the flight recorder, and the indexes the hot
/// paths need (dedup lookup, orphan sweep, retention).
const V2_COLUMNS: &[(&str, &str, &str)] = &[
    ("flights", "cache_read_tokens", "INTEGER"),
    ("flights", "cache_creation_tokens", "INTEGER"),
    ("flights", "cost_usd", "REAL"),
];
const V2_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (request_key, started_at_ms);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at_ms);
CREATE INDEX IF NOT EXISTS sessions_by_provider ON sessions (provider, last_used_at_ms);
CREATE INDEX IF NOT EXISTS flights_by_job ON flights (job_id);
CREATE INDEX IF NOT EXISTS flights_by_start ON flights (started_at_ms);
";

/// v3: which gateway process runs a job, so a second gateway on the same store (several
/// stdio clients, say) does not mark a live gateway's jobs orphaned.
const V3_COLUMNS: &[(&str, &str, &str)] = &[("jobs", "owner", "TEXT")];

/// v4: `list_jobs` (newest first, optionally by status) walks an index instead of
/// sorting the whole table under the store's lock; the (status, started) index also
/// serves every status lookup, so the v2 status-only one goes. And one active session
/// per provider becomes a constraint rather than a convention, with any duplicates a
/// bug left behind resolved in favour of the most recently used.
const V4: &str = "
DROP INDEX IF EXISTS jobs_by_status;
CREATE INDEX IF NOT EXISTS jobs_by_status_start ON jobs (status, started_at_ms);
CREATE INDEX IF NOT EXISTS jobs_by_start ON jobs (started_at_ms);
UPDATE sessions SET active = 0 WHERE active = 1 AND EXISTS (
    SELECT 1 FROM sessions newer
    WHERE newer.provider = sessions.provider AND newer.active = 1
      AND (newer.last_used_at_ms > sessions.last_used_at_ms
           OR (newer.last_used_at_ms = sessions.last_used_at_ms AND newer.id > sessions.id)));
CREATE UNIQUE INDEX IF NOT EXISTS sessions_one_active ON sessions (provider) WHERE active = 1;
";

/// v5: the record of every policy decision (`store::decisions`). Newest-first listing,
/// alone or by provider or by decision, walks an index; the rowid breaks ties within a
/// millisecond. The CHECK keeps the kind to the four this code reads back.
const V5: &str = "
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    provider TEXT NOT NULL,
    tool TEXT NOT NULL,
    level TEXT NOT NULL,
    decision TEXT NOT NULL
        CHECK (decision IN ('allowed', 'refused', 'user_approved', 'user_declined')),
    reasons TEXT NOT NULL DEFAULT '[]',
    prompt_sha256 TEXT NOT NULL,
    prompt_preview TEXT,
    correlation_id TEXT,
    job_id TEXT
);
CREATE INDEX IF NOT EXISTS decisions_by_at ON decisions (at_ms);
CREATE INDEX IF NOT EXISTS decisions_by_provider_at ON decisions (provider, at_ms);
CREATE INDEX IF NOT EXISTS decisions_by_decision_at ON decisions (decision, at_ms);
";

/// v6: the CLI's process group and its leader's start time, so a gateway started after
/// a crash (`kill -9`) can end the runs its predecessor left behind without ever
/// signalling a process that merely reuses the pid. `queued` and `timed_out` join the
/// job statuses; the column was never constrained, so only the comment changes.
const V6_COLUMNS: &[(&str, &str, &str)] = &[
    ("jobs", "pgid", "INTEGER"),
    ("jobs", "process_start", "TEXT"),
];

type Step = fn(&Connection) -> Result<()>;

/// In order; step N takes a version N-1 file to version N.
const STEPS: &[(i64, Step)] = &[
    (1, |c| Ok(c.execute_batch(V1)?)),
    (2, |c| {
        add_columns(c, V2_COLUMNS)?;
        Ok(c.execute_batch(V2_INDEXES)?)
    }),
    (3, |c| add_columns(c, V3_COLUMNS)),
    (4, |c| Ok(c.execute_batch(V4)?)),
    (5, |c| Ok(c.execute_batch(V5)?)),
    (6, |c| add_columns(c, V6_COLUMNS)),
];

pub const LATEST: i64 = STEPS[STEPS.len() - 1].0;

/// Fails for a schema newer than this build understands, naming the file (`label`):
/// an older gateway must not write tables it does not know the meaning of.
pub(crate) fn check_version(conn: &Connection, label: &str) -> Result<i64> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(|| format!("reading the schema version of {label}"))?;
    if version > LATEST {
        bail!(
            "{label} was written by a newer llm-cli-gateway (schema {version} > {LATEST}); upgrade the gateway or move the file aside"
        );
    }
    Ok(version)
}

/// Applies the missing steps, each in its own transaction with its version bump, so an
/// interrupted upgrade resumes at the step that did not commit.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    if check_version(conn, "the database")? == LATEST {
        return Ok(());
    }
    for &(step, apply) in STEPS {
        let tx = super::write_tx(conn)?;
        // Read under the write lock: another gateway opening the same file may have
        // applied this step since we looked.
        if check_version(&tx, "the database")? >= step {
            continue;
        }
        apply(&tx).with_context(|| format!("schema step {step}"))?;
        tx.pragma_update(None, "user_version", step)?;
        tx.commit()?;
    }
    Ok(())
}

/// `ALTER TABLE … ADD COLUMN` for the columns not there yet: a file that already has
/// one (a hand fix, an interrupted upgrade) upgrades anyway.
fn add_columns(conn: &Connection, columns: &[(&str, &str, &str)]) -> Result<()> {
    for (table, column, ty) in columns {
        if !has_column(conn, table, column)? {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    Ok(())
}

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    for name in names {
        if name? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::jobs::JobStatus;

    fn has_index(c: &Connection, name: &str) -> bool {
        c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    }

    #[test]
    fn a_v1_database_is_upgraded_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1).unwrap();
            c.execute(
                "INSERT INTO flights (provider, correlation_id, started_at_ms, duration_ms, status, input_tokens)
                 VALUES ('claude', 'c', 1, 2, 'completed', 7)",
                [],
            )
            .unwrap();
            c.execute(
                "INSERT INTO jobs (id, provider, status, argv, cwd, request_key, correlation_id, output_format,
                     started_at_ms, finished_at_ms, exit_code, stdout, stdout_bytes)
                 VALUES ('job-old', 'codex', 'completed', '[\"exec\",\"hi\"]', '/w', 'k', 'c', 'text', 1, 2, 0, 'answer', 6)",
                [],
            )
            .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), LATEST);
        let flights = s.recent_flights(10).unwrap();
        assert_eq!(flights.len(), 1);
        assert_eq!(flights[0].usage.input_tokens, Some(7));
        assert_eq!(flights[0].usage.cost_usd, None);
        let job = s.get_job("job-old").unwrap().unwrap();
        assert_eq!(
            (job.status, job.stdout.as_str(), job.argv),
            (
                JobStatus::Completed,
                "answer",
                vec!["exec".into(), "hi".into()]
            )
        );
        drop(s);
        let c = Connection::open(&path).unwrap();
        for col in ["cache_read_tokens", "cache_creation_tokens", "cost_usd"] {
            assert!(has_column(&c, "flights", col).unwrap(), "{col}");
        }
        assert!(has_column(&c, "jobs", "owner").unwrap());
        for col in ["pgid", "process_start"] {
            assert!(has_column(&c, "jobs", col).unwrap(), "{col}");
        }
        for idx in [
            "jobs_by_key",
            "jobs_by_status_start",
            "jobs_by_start",
            "sessions_one_active",
        ] {
            assert!(has_index(&c, idx), "{idx}");
        }
        assert!(!has_index(&c, "jobs_by_status"), "replaced in v4");
    }

    /// A file as the previous release (schema 4) left it, with a job and a session in it.
    fn v4_file(path: &std::path::Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(V1).unwrap();
        add_columns(&c, V2_COLUMNS).unwrap();
        c.execute_batch(V2_INDEXES).unwrap();
        add_columns(&c, V3_COLUMNS).unwrap();
        c.execute_batch(V4).unwrap();
        c.execute_batch(
            "INSERT INTO jobs (id, provider, status, argv, cwd, request_key, correlation_id, output_format,
                 started_at_ms, finished_at_ms, exit_code, stdout, stdout_bytes, owner)
             VALUES ('job-v4', 'claude', 'completed', '[\"-p\",\"hi\"]', '/w', 'k', 'c', 'json', 1, 2, 0, 'kept', 4, 'gw');
             INSERT INTO sessions (id, provider, created_at_ms, last_used_at_ms, active)
             VALUES ('gw-v4', 'claude', 1, 1, 1);
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }

    #[test]
    fn a_v4_database_gains_decisions_and_keeps_its_jobs() {
        use crate::store::decisions::{DecisionKind, DecisionRecord};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        v4_file(&path);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), LATEST);
        let job = s.get_job("job-v4").unwrap().unwrap();
        assert_eq!(
            (job.status, job.stdout.as_str()),
            (JobStatus::Completed, "kept")
        );
        assert!(s.get_session("gw-v4").unwrap().unwrap().active);
        assert!(s.list_decisions(None, None, 50).unwrap().is_empty());
        s.record_decision(&DecisionRecord {
            id: "dec-1".into(),
            at_ms: 3,
            provider: "claude".into(),
            tool: "claude_request".into(),
            level: "balanced".into(),
            decision: DecisionKind::Allowed,
            reasons: vec![],
            prompt_sha256: "00".into(),
            prompt_preview: None,
            correlation_id: None,
            job_id: Some("job-v4".into()),
        })
        .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.list_decisions(None, None, 50).unwrap().len(), 1);
        drop(s);
        let c = Connection::open(&path).unwrap();
        for idx in [
            "decisions_by_at",
            "decisions_by_provider_at",
            "decisions_by_decision_at",
            "jobs_by_status_start",
        ] {
            assert!(has_index(&c, idx), "{idx}");
        }
        assert!(
            c.execute(
                "INSERT INTO decisions (id, at_ms, provider, tool, level, decision, prompt_sha256)
                 VALUES ('dec-x', 1, 'claude', 't', 'strict', 'maybe', '00')",
                [],
            )
            .is_err(),
            "only the four kinds can be written"
        );
    }

    #[test]
    fn decision_listings_walk_an_index() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        for filter in [
            "",
            "WHERE provider = 'codex'",
            "WHERE decision = 'refused'",
            "WHERE provider = 'codex' AND decision = 'refused'",
        ] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT id FROM decisions {filter} ORDER BY at_ms DESC, rowid DESC LIMIT 5"
            );
            let plan: Vec<String> = c
                .prepare(&sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains("USING INDEX decisions_by_"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }

    #[test]
    fn a_column_that_already_exists_is_fine() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(V1).unwrap();
        c.execute_batch("ALTER TABLE flights ADD COLUMN cost_usd REAL")
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        assert!(has_column(&c, "flights", "cache_read_tokens").unwrap());
        assert_eq!(check_version(&c, "t").unwrap(), LATEST);
    }

    #[test]
    fn duplicate_active_sessions_keep_the_most_recent() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(V1).unwrap();
        c.execute_batch(
            "INSERT INTO sessions (id, provider, created_at_ms, last_used_at_ms, active) VALUES
                 ('old', 'claude', 1, 10, 1), ('new', 'claude', 1, 20, 1), ('g', 'gemini', 1, 5, 1);
             PRAGMA user_version = 3;",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let active: Vec<String> = c
            .prepare("SELECT id FROM sessions WHERE active = 1 ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(active, ["g", "new"]);
        assert!(
            c.execute("UPDATE sessions SET active = 1 WHERE id = 'old'", [])
                .is_err(),
            "the constraint holds from now on"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            // As a newer gateway would leave it: in WAL mode, which readers open too.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE x (a); INSERT INTO x VALUES (1);
                 PRAGMA user_version = 99;",
            )
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = format!("{:#}", Store::open(&path).err().unwrap());
        let want = format!(
            "database {} was written by a newer llm-cli-gateway (schema 99 > {LATEST}); upgrade the gateway or move the file aside",
            path.display()
        );
        assert!(e.contains(&want), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no side files"
        );
    }
}
