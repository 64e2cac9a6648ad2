//! The flight recorder: one row per request (deduped ones included) with timing, exit
//! status, and the token usage and cost parsed from the CLI's JSON output.

use anyhow::Result;
use rusqlite::{Row, params};
use serde::Serialize;

use super::Store;
pub use crate::providers::Usage;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlightRecord {
    /// Assigned by the store; ignored on insert.
    pub id: i64,
    pub job_id: Option<String>,
    pub provider: String,
    pub model: Option<String>,
    pub correlation_id: String,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    pub status: String,
    pub exit_code: Option<i32>,
    pub usage: Usage,
    pub deduped: bool,
}

const COLS: &str = "id, job_id, provider, model, correlation_id, started_at_ms, duration_ms, status, exit_code, \
     input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, deduped";

fn tokens(r: &Row, i: usize) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<_, Option<i64>>(i)?.map(|n| n.max(0) as u64))
}

fn row(r: &Row) -> rusqlite::Result<FlightRecord> {
    Ok(FlightRecord {
        id: r.get(0)?,
        job_id: r.get(1)?,
        provider: r.get(2)?,
        model: r.get(3)?,
        correlation_id: r.get(4)?,
        started_at_ms: r.get(5)?,
        duration_ms: r.get(6)?,
        status: r.get(7)?,
        exit_code: r.get(8)?,
        usage: Usage {
            input_tokens: tokens(r, 9)?,
            output_tokens: tokens(r, 10)?,
            cache_read_tokens: tokens(r, 11)?,
            cache_creation_tokens: tokens(r, 12)?,
            cost_usd: r.get(13)?,
        },
        deduped: r.get(14)?,
    })
}

fn as_i64(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

impl Store {
    pub fn record_flight(&self, f: &FlightRecord) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO flights (job_id, provider, model, correlation_id, started_at_ms, duration_ms, status, exit_code,
                 input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, deduped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                f.job_id,
                f.provider,
                f.model,
                f.correlation_id,
                f.started_at_ms,
                f.duration_ms,
                f.status,
                f.exit_code,
                as_i64(f.usage.input_tokens),
                as_i64(f.usage.output_tokens),
                as_i64(f.usage.cache_read_tokens),
                as_i64(f.usage.cache_creation_tokens),
                f.usage.cost_usd,
                f.deduped
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub fn recent_flights(&self, limit: usize) -> Result<Vec<FlightRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLS} FROM flights ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn flights_for_job(&self, job_id: &str) -> Result<Vec<FlightRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLS} FROM flights WHERE job_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([job_id], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn prune_flights(&self, before_ms: i64) -> Result<u64> {
        Ok(self
            .conn()
            .execute("DELETE FROM flights WHERE started_at_ms < ?1", [before_ms])?
            as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_usage() {
        let s = Store::open_in_memory().unwrap();
        let usage = Usage {
            input_tokens: Some(12),
            output_tokens: Some(34),
            cache_read_tokens: Some(5),
            cache_creation_tokens: None,
            cost_usd: Some(0.0123),
        };
        let rec = FlightRecord {
            id: 0,
            job_id: Some("job-1".into()),
            provider: "claude".into(),
            model: Some("sonnet".into()),
            correlation_id: "c1".into(),
            started_at_ms: 100,
            duration_ms: 250,
            status: "completed".into(),
            exit_code: Some(0),
            usage: usage.clone(),
            deduped: false,
        };
        let id = s.record_flight(&rec).unwrap();
        s.record_flight(&FlightRecord {
            deduped: true,
            started_at_ms: 200,
            ..rec
        })
        .unwrap();
        let got = s.flights_for_job("job-1").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, id);
        assert_eq!(got[0].usage, usage);
        assert!(got[1].deduped);
        assert_eq!(s.recent_flights(1).unwrap()[0].started_at_ms, 200);
        assert_eq!(s.prune_flights(150).unwrap(), 1);
    }
}
