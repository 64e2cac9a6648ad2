//! Versioned schema steps, tracked in `PRAGMA user_version`. Each step runs in one
//! transaction; re-running is a no-op, and an older file is upgraded in place.

use anyhow::{Result, bail};
use rusqlite::Connection;

pub const LATEST: i64 = 3;

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

/// Fails for a schema newer than this build understands.
pub fn check_version(conn: &Connection) -> Result<i64> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > LATEST {
        bail!(
            "it was written by a newer llm-cli-gateway (schema {version} > {LATEST}); upgrade the gateway or move the file aside"
        );
    }
    Ok(version)
}

/// v3: which gateway process runs a job, so a second gateway on the same store (several
/// stdio clients, say) does not mark a live gateway's jobs orphaned.
const V3_COLUMNS: &[(&str, &str, &str)] = &[("jobs", "owner", "TEXT")];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version = check_version(conn)?;
    if version < 1 {
        let tx = conn.transaction()?;
        tx.execute_batch(V1)?;
        tx.pragma_update(None, "user_version", 1)?;
        tx.commit()?;
    }
    if version < 2 {
        let tx = conn.transaction()?;
        add_columns(&tx, V2_COLUMNS)?;
        tx.execute_batch(V2_INDEXES)?;
        tx.pragma_update(None, "user_version", 2)?;
        tx.commit()?;
    }
    if version < 3 {
        let tx = conn.transaction()?;
        add_columns(&tx, V3_COLUMNS)?;
        tx.pragma_update(None, "user_version", 3)?;
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

    #[test]
    fn a_v1_database_is_upgraded_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1).unwrap();
            c.execute(
                "INSERT INTO flights (provider, correlation_id, started_at_ms, duration_ms, status) VALUES ('claude','c',1,2,'completed')",
                [],
            )
            .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), LATEST);
        let flights = s.recent_flights(10).unwrap();
        assert_eq!(flights.len(), 1);
        assert_eq!(flights[0].usage.cost_usd, None);
        let c = Connection::open(&path).unwrap();
        assert!(has_column(&c, "flights", "cost_usd").unwrap());
        assert!(has_column(&c, "jobs", "owner").unwrap());
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
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE x (a); PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(&path).err().unwrap();
        assert!(format!("{e:#}").contains("newer llm-cli-gateway"), "{e:#}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
