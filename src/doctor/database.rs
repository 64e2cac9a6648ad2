//! The jobs database (`gateway.db`): missing, corrupt or fine. Shared by `doctor` and
//! `repair`. Read-only: the check never writes to the file or creates one.

use std::path::Path;
use std::time::Duration;

use crate::report::{DatabaseCheck, DatabaseState};

/// The 16 bytes every SQLite 3 database begins with.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Checks the database at `path`: its header, then `PRAGMA quick_check` through a
/// read-only connection.
pub fn check(path: &Path) -> DatabaseCheck {
    let (state, detail) = state_of(path);
    DatabaseCheck {
        file: path.to_path_buf(),
        state,
        detail,
    }
}

fn state_of(path: &Path) -> (DatabaseState, Option<String>) {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    match std::fs::File::open(path).and_then(|f| f.take(16).read_to_end(&mut head)) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                DatabaseState::Missing,
                Some(format!("{} does not exist", path.display())),
            );
        }
        Err(e) => {
            return (
                DatabaseState::Unreadable,
                Some(format!("cannot read {}: {e}", path.display())),
            );
        }
    }
    // An empty file is what the gateway creates before SQLite writes the first page.
    if head.is_empty() {
        return (DatabaseState::Ok, None);
    }
    if head.as_slice() != MAGIC {
        return (
            DatabaseState::Corrupt,
            Some("not a SQLite database (wrong header)".into()),
        );
    }
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let result = rusqlite::Connection::open_with_flags(path, flags).and_then(|c| {
        c.busy_timeout(Duration::from_secs(2))?;
        let mut stmt = c.prepare("PRAGMA quick_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.take(5).collect::<rusqlite::Result<Vec<String>>>()
    });
    match result {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => (DatabaseState::Ok, None),
        Ok(rows) => (
            DatabaseState::Corrupt,
            Some(format!("PRAGMA quick_check: {}", rows.join("; "))),
        ),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
            ) =>
        {
            (DatabaseState::Corrupt, Some(e.to_string()))
        }
        Err(e) => (
            DatabaseState::Unreadable,
            Some(format!("could not check {}: {e}", path.display())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_corrupt_and_good_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db");
        assert_eq!(check(&path).state, DatabaseState::Missing);
        assert!(!path.exists(), "the check creates nothing");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(check(&path).state, DatabaseState::Ok);
        std::fs::write(&path, b"my diary, not a database ".repeat(100)).unwrap();
        let c = check(&path);
        assert_eq!(c.state, DatabaseState::Corrupt);
        assert!(c.detail.unwrap().contains("header"));
        std::fs::remove_file(&path).unwrap();
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (a, b); CREATE INDEX ti ON t (a);",
            )
            .unwrap();
            for i in 0..2000 {
                conn.execute("INSERT INTO t VALUES (?1, randomblob(100))", [i])
                    .unwrap();
            }
        }
        assert_eq!(check(&path).state, DatabaseState::Ok);
        // Damage the pages after the header: quick_check (or the open) sees it.
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[100..] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            check(&path).state,
            DatabaseState::Corrupt,
            "{:?}",
            check(&path)
        );
    }
}
