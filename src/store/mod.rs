//! The gateway's durable state in one SQLite file (WAL): jobs, gateway sessions, the
//! flight recorder and the policy decisions. One connection behind a mutex: every statement is short, and SQLite
//! serializes writers anyway.

pub mod decisions;
pub mod flight;
pub mod jobs;
pub mod migrations;
pub mod redact;
pub mod sessions;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// How long a statement waits for another gateway's write to finish before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens or creates the database and brings its schema up to date. The file is
    /// created 0600 before SQLite sees it: prompts and answers are private, and SQLite
    /// gives its `-wal` and `-shm` files the same mode. The parent directory must exist:
    /// creating the app data dir (and choosing its mode) is the caller's business.
    pub fn open(path: &Path) -> Result<Store> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(_) => {}
            // Someone's file (or another gateway's, created a moment ago): look before
            // SQLite touches it.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_header(path)?,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
        let label = format!("database {}", path.display());
        let conn = Connection::open(path).with_context(|| format!("opening {label}"))?;
        Self::init(conn, &label)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, "in-memory database")
    }

    fn init(mut conn: Connection, label: &str) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .with_context(|| label.to_owned())?;
        // Before anything writes: a newer gateway's file must stay byte-for-byte intact.
        migrations::check_version(&conn, label)?;
        configure(&mut conn).with_context(|| label.to_owned())?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// A poisoned lock only means another thread panicked between statements; SQLite
    /// rolled back anything half done, so the connection is still good.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn configure(conn: &mut Connection) -> Result<()> {
    enable_wal(conn).context("switching to WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrations::migrate(conn).context("migrating")
}

/// WAL lets readers (job status polls) proceed while a job's output is being written.
/// Switching a new file to WAL needs it exclusively, and SQLite reports that conflict as
/// busy without consulting busy_timeout, so two gateways creating the store at once
/// would fail one of them: retry for as long as busy_timeout would have waited.
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) => {
                // "memory" for an in-memory database; anything else means the file system
                // cannot do WAL (no shared memory): still correct, just less concurrent.
                if mode != "wal" && mode != "memory" {
                    tracing::warn!("the store runs in journal mode {mode}, not WAL");
                }
                return Ok(());
            }
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// For read-then-write sequences. Several gateways (one per stdio client) share the
/// file; a deferred transaction that read first cannot upgrade to a writer once another
/// connection has committed (SQLITE_BUSY_SNAPSHOT, which busy_timeout does not retry),
/// so take the write lock up front and let busy_timeout do the waiting.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Refuses a non-empty file that is not SQLite before SQLite touches it: opening it
/// would fail later with "file is not a database" and might leave side files behind.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .with_context(|| format!("reading {}", path.display()))?;
    if !head.is_empty() && head != b"SQLite format 3\0" {
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
///
/// Panics if the OS random source fails. That only happens on a broken system, and a
/// guessable fallback (time, pid) would quietly let one client address another's jobs.
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
        assert!(a.starts_with("job-") && a.len() == 20, "{a}");
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, new_id("job-"));
    }

    #[test]
    fn file_is_private_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let s = Store::open(&path).unwrap();
        s.create_session("claude", "gw-1", None, None, true)
            .unwrap();
        let mode: String = s
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [path.clone(), dir.path().join("g.db-wal")] {
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
        }
    }

    #[test]
    fn reopening_is_idempotent_and_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
        s.create_session("codex", "gw-1", Some("kept"), None, true)
            .unwrap();
        drop(s);
        for _ in 0..2 {
            let s = Store::open(&path).unwrap();
            assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
            let row = s.get_session("gw-1").unwrap().unwrap();
            assert_eq!(row.description.as_deref(), Some("kept"));
            assert!(row.active);
        }
    }

    #[test]
    fn gateways_opening_a_new_file_at_once_all_succeed() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("g.db");
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let s = Store::open(&path)?;
                        // A boot-time read-then-write, the other place gateways collide.
                        s.orphan_running(now_ms(), &|_| false)?;
                        s.schema_version()
                    })
                })
                .collect();
            for t in threads {
                assert_eq!(t.join().unwrap().unwrap(), migrations::LATEST);
            }
        }
    }

    #[test]
    fn not_sqlite_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let diary = b"this is my diary, not a database, and it is long enough".repeat(100);
        std::fs::write(&path, &diary).unwrap();
        let e = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(e.contains("not a SQLite database"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), diary);
        // Short junk too: shorter than the 16-byte magic.
        std::fs::write(&path, b"SQLite").unwrap();
        assert!(Store::open(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"SQLite");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("g.db")],
            "no side files"
        );
    }

    #[test]
    fn an_empty_file_becomes_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            Store::open(&path).unwrap().schema_version().unwrap(),
            migrations::LATEST
        );
    }

    #[test]
    fn a_missing_parent_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("g.db");
        let e = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(!dir.path().join("nope").exists());
    }
}
