//! The gateway's durable state in one SQLite file (WAL): jobs, gateway sessions and the
//! flight recorder. One connection behind a mutex: every statement is short, and SQLite
//! serializes writers anyway.

pub mod flight;
pub mod jobs;
mod migrations;
pub mod sessions;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens or creates the database and brings its schema up to date. The file is
    /// created 0600 before SQLite sees it: prompts and answers are private.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.exists() {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            match opts.open(path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        } else {
            check_header(path)?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        Self::init(conn).with_context(|| format!("database {}", path.display()))
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Before anything writes: a newer gateway's file must stay byte-for-byte intact.
        migrations::check_version(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut conn = conn;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Refuses a non-empty file that is not SQLite before SQLite touches it: opening it
/// would fail later with "file is not a database" and might leave side files behind.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let n = f.read(&mut head)?;
    if n > 0 && (n < 16 || &head != b"SQLite format 3\0") {
        bail!(
            "{} is not a SQLite database; move it aside and the gateway will create a new one",
            path.display()
        );
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `prefix` + 16 random hex characters: unguessable, so ids can be handed to clients.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS random source is available");
    format!("{prefix}{}", hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let a = new_id("job-");
        assert!(a.starts_with("job-") && a.len() == 20);
        assert_ne!(a, new_id("job-"));
    }

    #[test]
    fn file_is_private_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let s = Store::open(&path).unwrap();
        let v = s.schema_version().unwrap();
        assert_eq!(v, migrations::LATEST);
        drop(s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(Store::open(&path).unwrap().schema_version().unwrap(), v);
    }

    #[test]
    fn not_sqlite_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        std::fs::write(&path, b"this is my diary, not a database").unwrap();
        let e = Store::open(&path).err().unwrap();
        assert!(format!("{e:#}").contains("not a SQLite database"), "{e:#}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is my diary, not a database"
        );
    }
}
