//! Gateway sessions: `gw-…` handles bound to a CLI's own session id, one active per
//! provider.

use anyhow::Result;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Store, now_ms, write_tx};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    pub id: String,
    pub provider: String,
    pub description: Option<String>,
    pub cli_session_id: Option<String>,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub active: bool,
}

const COLS: &str =
    "id, provider, description, cli_session_id, created_at_ms, last_used_at_ms, active";

fn row(r: &Row) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        provider: r.get(1)?,
        description: r.get(2)?,
        cli_session_id: r.get(3)?,
        created_at_ms: r.get(4)?,
        last_used_at_ms: r.get(5)?,
        active: r.get(6)?,
    })
}

impl Store {
    pub fn create_session(
        &self,
        provider: &str,
        id: &str,
        description: Option<&str>,
        cli_session_id: Option<&str>,
        set_active: bool,
    ) -> Result<SessionRow> {
        match self.create_session_within(
            provider,
            id,
            description,
            cli_session_id,
            set_active,
            usize::MAX,
        )? {
            Ok(row) => Ok(row),
            Err(n) => anyhow::bail!("{provider} has {n} sessions"),
        }
    }

    /// Creates a session unless `provider` already has `cap` of them: `Ok(Err(count))`
    /// then, and nothing is written. Counted and inserted in one write transaction, so
    /// concurrent creates cannot overshoot the cap.
    pub fn create_session_within(
        &self,
        provider: &str,
        id: &str,
        description: Option<&str>,
        cli_session_id: Option<&str>,
        set_active: bool,
        cap: usize,
    ) -> Result<std::result::Result<SessionRow, u64>> {
        let now = now_ms();
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let count: i64 = tx.query_row(
            "SELECT count(*) FROM sessions WHERE provider = ?1",
            [provider],
            |r| r.get(0),
        )?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= cap {
            return Ok(Err(count as u64));
        }
        if set_active {
            tx.execute(
                "UPDATE sessions SET active = 0 WHERE provider = ?1",
                [provider],
            )?;
        }
        tx.execute(
            "INSERT INTO sessions (id, provider, description, cli_session_id, created_at_ms, last_used_at_ms, active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            params![id, provider, description, cli_session_id, now, set_active],
        )?;
        tx.commit()?;
        Ok(Ok(SessionRow {
            id: id.into(),
            provider: provider.into(),
            description: description.map(Into::into),
            cli_session_id: cli_session_id.map(Into::into),
            created_at_ms: now,
            last_used_at_ms: now,
            active: set_active,
        }))
    }

    pub fn list_sessions(&self, provider: Option<&str>) -> Result<Vec<SessionRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLS} FROM sessions WHERE (?1 IS NULL OR provider = ?1) ORDER BY last_used_at_ms DESC, created_at_ms DESC"
        ))?;
        let rows = stmt.query_map([provider], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_session(&self, id: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLS} FROM sessions WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// False when `id` is unknown or another provider's; `None` clears the active one.
    pub fn set_active_session(&self, provider: &str, id: Option<&str>) -> Result<bool> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        if let Some(id) = id {
            let owner: Option<String> = tx
                .query_row("SELECT provider FROM sessions WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            if owner.as_deref() != Some(provider) {
                return Ok(false);
            }
        }
        tx.execute(
            "UPDATE sessions SET active = 0 WHERE provider = ?1",
            [provider],
        )?;
        if let Some(id) = id {
            tx.execute("UPDATE sessions SET active = 1 WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(true)
    }

    pub fn active_session(&self, provider: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLS} FROM sessions WHERE provider = ?1 AND active = 1"),
                [provider],
                row,
            )
            .optional()?)
    }

    pub fn delete_session(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE id = ?1", [id])?
            == 1)
    }

    pub fn clear_sessions(&self, provider: Option<&str>) -> Result<u64> {
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE (?1 IS NULL OR provider = ?1)",
            [provider],
        )? as u64)
    }

    /// Records the CLI's own session id once known, and bumps last use.
    pub fn touch_session(&self, id: &str, cli_session_id: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE sessions SET last_used_at_ms = ?2, cli_session_id = COALESCE(?3, cli_session_id) WHERE id = ?1",
            params![id, now_ms(), cli_session_id],
        )?;
        Ok(())
    }

    /// The session already bound to this CLI session, so reusing a CLI session does not
    /// grow a second row. Nothing stops two rows binding the same id (the user may bind
    /// one by hand); the most recently used one wins.
    pub fn find_session_by_cli_id(
        &self,
        provider: &str,
        cli_session_id: &str,
    ) -> Result<Option<SessionRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLS} FROM sessions WHERE provider = ?1 AND cli_session_id = ?2
                     ORDER BY last_used_at_ms DESC LIMIT 1"
                ),
                [provider, cli_session_id],
                row,
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cap_is_per_provider_and_counts_under_the_lock() {
        let s = Store::open_in_memory().unwrap();
        for i in 0..3 {
            let r = s
                .create_session_within("claude", &format!("gw-{i}"), None, None, true, 3)
                .unwrap();
            assert!(r.is_ok());
        }
        let over = s
            .create_session_within("claude", "gw-x", None, None, true, 3)
            .unwrap();
        assert_eq!(over.unwrap_err(), 3);
        assert!(s.get_session("gw-x").unwrap().is_none(), "nothing written");
        assert!(
            s.create_session_within("codex", "gw-c", None, None, true, 3)
                .unwrap()
                .is_ok(),
            "another provider's count"
        );
        s.delete_session("gw-0").unwrap();
        assert!(
            s.create_session_within("claude", "gw-y", None, None, true, 3)
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn one_active_per_provider() {
        let s = Store::open_in_memory().unwrap();
        s.create_session("claude", "gw-1", Some("a"), None, true)
            .unwrap();
        s.create_session("claude", "gw-2", None, None, true)
            .unwrap();
        s.create_session("codex", "gw-3", None, None, true).unwrap();
        assert_eq!(s.active_session("claude").unwrap().unwrap().id, "gw-2");
        assert!(
            !s.set_active_session("codex", Some("gw-1")).unwrap(),
            "another provider's"
        );
        assert_eq!(
            s.active_session("claude").unwrap().unwrap().id,
            "gw-2",
            "a refused switch changes nothing"
        );
        assert!(!s.set_active_session("claude", Some("gw-404")).unwrap());
        assert_eq!(s.active_session("claude").unwrap().unwrap().id, "gw-2");
        assert!(s.set_active_session("claude", Some("gw-1")).unwrap());
        assert_eq!(s.active_session("claude").unwrap().unwrap().id, "gw-1");
        assert_eq!(s.active_session("codex").unwrap().unwrap().id, "gw-3");
        assert!(s.set_active_session("claude", None).unwrap());
        assert!(s.active_session("claude").unwrap().is_none());
    }

    #[test]
    fn bind_delete_clear() {
        let s = Store::open_in_memory().unwrap();
        s.create_session("gemini", "gw-1", None, None, false)
            .unwrap();
        s.touch_session("gw-1", Some("uuid-1")).unwrap();
        s.touch_session("gw-1", None).unwrap();
        assert_eq!(
            s.get_session("gw-1")
                .unwrap()
                .unwrap()
                .cli_session_id
                .as_deref(),
            Some("uuid-1")
        );
        assert_eq!(
            s.find_session_by_cli_id("gemini", "uuid-1")
                .unwrap()
                .unwrap()
                .id,
            "gw-1"
        );
        s.create_session("grok", "gw-2", None, None, false).unwrap();
        s.create_session("grok", "gw-3", None, None, false).unwrap();
        assert_eq!(s.list_sessions(Some("grok")).unwrap().len(), 2);
        assert!(s.delete_session("gw-1").unwrap());
        assert!(!s.delete_session("gw-1").unwrap());
        assert_eq!(s.clear_sessions(Some("grok")).unwrap(), 2);
        assert!(s.list_sessions(None).unwrap().is_empty());
    }

    #[test]
    fn listed_by_last_use_and_found_by_cli_id() {
        let s = Store::open_in_memory().unwrap();
        s.create_session("claude", "gw-a", None, Some("cli-1"), false)
            .unwrap();
        s.create_session("claude", "gw-b", None, None, true)
            .unwrap();
        s.create_session("codex", "gw-c", None, Some("cli-1"), false)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        s.touch_session("gw-a", None).unwrap();
        let ids: Vec<_> = s
            .list_sessions(Some("claude"))
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["gw-a", "gw-b"]);
        assert_eq!(s.list_sessions(None).unwrap().len(), 3);
        assert_eq!(
            s.find_session_by_cli_id("codex", "cli-1")
                .unwrap()
                .unwrap()
                .id,
            "gw-c",
            "scoped to the provider"
        );
        assert!(
            s.find_session_by_cli_id("gemini", "cli-1")
                .unwrap()
                .is_none()
        );
        assert!(
            s.create_session("claude", "gw-a", None, None, false)
                .is_err(),
            "ids are unique"
        );
        assert_eq!(
            s.active_session("claude").unwrap().unwrap().id,
            "gw-b",
            "a failed create leaves the active session alone"
        );
    }
}
