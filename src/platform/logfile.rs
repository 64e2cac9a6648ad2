//! The gateway's log writer: a tracing `MakeWriter` that never panics and never makes
//! the caller wait on the disk.
//!
//! Each formatted line goes into a bounded queue; one background thread writes it to
//! stderr or to a size-rotated file (`gateway.log` → `gateway.log.1` … `.keep`). A line
//! that cannot be queued (the writer is far behind) or written (full disk, unwritable
//! file) is dropped and counted in [`dropped_lines`]. After a failed write the file is
//! reopened at most once a second, so logging resumes by itself when the disk frees up,
//! and the first line written after a loss says how many lines were lost.
//!
//! Failure injection for tests: `LLM_CLI_GATEWAY_FAILPOINT=log-write-fails@<file>` fails
//! every write while `<file>` exists (see [`super::failpoint::failing`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::failpoint;

/// Rotate when the log would grow past this many bytes (10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;
/// Rotated files kept beside the log.
pub const DEFAULT_KEEP: u32 = 3;
/// The smallest `max_bytes` accepted: a line or two must fit.
pub const MIN_MAX_BYTES: u64 = 1024;
/// The most rotated files kept.
pub const MAX_KEEP: u32 = 100;
/// Set (to `1`) by the service definitions and the supervisor: `serve` then writes its
/// own rotated log file instead of stderr. An environment variable rather than only the
/// `--log-file` flag, so a definition written by a newer version still starts an older
/// gateway after a rollback (which ignores it and logs to stderr).
pub const ENV: &str = "LLM_CLI_GATEWAY_LOG_FILE";
/// The failpoint that makes every write fail (see the module docs).
pub const FAILPOINT: &str = "log-write-fails";

/// Lines waiting for the writer thread; beyond this they are dropped, not waited for.
const QUEUE_LINES: usize = 4096;
/// After a failed write or open, the file is not tried again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often the writer checks that the path still names its file (moved or deleted
/// from outside) and re-reads its size (another process appended).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Size-based rotation of the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a line would take the file past this size.
    pub max_bytes: u64,
    /// Rotated files kept (`.1` is the newest); 0 keeps none.
    pub keep: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
        }
    }
}

/// Where the lines go.
#[derive(Debug, Clone)]
pub enum Destination {
    Stderr,
    File { path: PathBuf, rotation: Rotation },
}

enum Msg {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

struct Shared {
    dropped: AtomicU64,
    path: Option<PathBuf>,
}

/// A handle on one log pipeline; cheap to clone. As a `MakeWriter`, each event becomes
/// one queued line.
#[derive(Clone)]
pub struct Log {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

/// Flushes the queue (for up to two seconds) when dropped: keep it alive until the
/// process is about to exit, so the last lines (the reason for exiting) reach the file.
pub struct Guard(Log);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.flush(Duration::from_secs(2));
    }
}

impl Log {
    /// Starts the writer thread for `dest`.
    pub fn start(dest: Destination) -> (Log, Guard) {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        let shared = Arc::new(Shared {
            dropped: AtomicU64::new(0),
            path: match &dest {
                Destination::File { path, .. } => Some(path.clone()),
                Destination::Stderr => None,
            },
        });
        let thread_shared = shared.clone();
        // If the thread cannot start, the receiver is dropped with the closure and every
        // line counts as dropped: the gateway still runs.
        let _ = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || run(rx, dest, thread_shared));
        let log = Log { tx, shared };
        (log.clone(), Guard(log))
    }

    /// Lines lost so far (queue full or write failed).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The log file, or `None` for stderr.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// Queues one line (a trailing newline is the caller's); never blocks.
    pub fn send(&self, line: Vec<u8>) {
        if line.is_empty() {
            return;
        }
        if self.tx.try_send(Msg::Line(line)).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until every line queued before this call was handled, up to `within`.
    /// Returns false when the writer did not confirm in time.
    pub fn flush(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let (ack_tx, ack_rx) = sync_channel(1);
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        ack_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

/// One event's bytes, queued as one line when the formatter is done with it.
pub struct LineWriter<'a> {
    log: &'a Log,
    buf: Vec<u8>,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        self.log.send(std::mem::take(&mut self.buf));
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = LineWriter<'a>;
    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter {
            log: self,
            buf: Vec::with_capacity(256),
        }
    }
}

static GLOBAL: OnceLock<Log> = OnceLock::new();

/// Makes `log` the one that [`dropped_lines`], [`log_path`] and [`flush`] report on.
/// The first call wins.
pub fn install_global(log: &Log) {
    let _ = GLOBAL.set(log.clone());
}

/// Lines the process's log could not write since it started.
pub fn dropped_lines() -> u64 {
    GLOBAL.get().map_or(0, Log::dropped)
}

/// The process's log file, when it writes one (not stderr).
pub fn log_path() -> Option<PathBuf> {
    GLOBAL.get().and_then(|l| l.path().map(Path::to_path_buf))
}

/// Flushes the process's log, up to `within` (e.g. from a panic hook).
pub fn flush(within: Duration) -> bool {
    GLOBAL.get().is_some_and(|l| l.flush(within))
}

/// Appends one timestamped line to `file` (or stderr), opening and closing the file
/// each time and ignoring every error: for a process that must never die of its log
/// and writes a line a minute at most (the supervisor).
pub fn append_line(file: Option<&Path>, text: &str) {
    let line = format!("{} {text}\n", super::time::now_rfc3339());
    if failpoint::failing(FAILPOINT) {
        return;
    }
    match file {
        Some(path) => {
            if let Ok(mut f) = open_append(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None => {
            let _ = io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

fn run(rx: Receiver<Msg>, dest: Destination, shared: Arc<Shared>) {
    let mut sink = match dest {
        Destination::Stderr => Sink::Stderr,
        Destination::File { path, rotation } => Sink::File(FileSink::new(path, rotation)),
    };
    let mut reported = 0u64;
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        // Drain what is queued, then wait again.
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => {
                    let dropped = shared.dropped.load(Ordering::Relaxed);
                    let notice = (dropped > reported).then(|| {
                        format!(
                            "{}  WARN log: {} line(s) could not be written{}; writing again\n",
                            super::time::now_rfc3339(),
                            dropped - reported,
                            sink.last_error()
                                .map(|e| format!(" (last error: {e})"))
                                .unwrap_or_default()
                        )
                    });
                    if let Some(n) = &notice
                        && sink.write(n.as_bytes())
                    {
                        reported = dropped;
                    }
                    if !sink.write(&line) {
                        shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Msg::Flush(ack) => {
                    sink.flush();
                    let _ = ack.try_send(());
                }
            }
            next = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            };
        }
        sink.flush();
    }
}

enum Sink {
    Stderr,
    File(FileSink),
}

impl Sink {
    fn write(&mut self, line: &[u8]) -> bool {
        match self {
            Sink::Stderr => {
                !failpoint::failing(FAILPOINT) && io::stderr().lock().write_all(line).is_ok()
            }
            Sink::File(f) => f.write(line),
        }
    }

    fn flush(&mut self) {
        if let Sink::File(f) = self
            && let Some(file) = f.file.as_mut()
        {
            let _ = file.flush();
        }
    }

    fn last_error(&self) -> Option<&str> {
        match self {
            Sink::Stderr => None,
            Sink::File(f) => f.last_error.as_deref(),
        }
    }
}

struct FileSink {
    path: PathBuf,
    rotation: Rotation,
    file: Option<File>,
    /// (device, inode) of the open file, to notice it being moved or deleted.
    id: Option<(u64, u64)>,
    size: u64,
    retry_at: Option<Instant>,
    checked_at: Instant,
    /// A failed write left part of a line in the file: start the next one on a new line.
    broken_line: bool,
    last_error: Option<String>,
}

impl FileSink {
    fn new(path: PathBuf, rotation: Rotation) -> Self {
        Self {
            path,
            rotation,
            file: None,
            id: None,
            size: 0,
            retry_at: None,
            checked_at: Instant::now(),
            broken_line: false,
            last_error: None,
        }
    }

    fn write(&mut self, line: &[u8]) -> bool {
        let now = Instant::now();
        if failpoint::failing(FAILPOINT) {
            self.failed(io::Error::other(
                "injected by the log-write-fails failpoint",
            ));
            return false;
        }
        if self.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        if self.file.is_some() && now.duration_since(self.checked_at) >= CHECK_EVERY {
            self.checked_at = now;
            self.recheck();
        }
        if self.file.is_none()
            && let Err(e) = self.open()
        {
            self.failed(e);
            return false;
        }
        if self.size > 0 && self.size.saturating_add(line.len() as u64) > self.rotation.max_bytes {
            self.rotate();
            if self.file.is_none()
                && let Err(e) = self.open()
            {
                self.failed(e);
                return false;
            }
        }
        if self.broken_line {
            if let Err(e) = self.write_raw(b"\n") {
                self.failed(e);
                return false;
            }
            self.broken_line = false;
        }
        match self.write_raw(line) {
            Ok(()) => {
                self.retry_at = None;
                true
            }
            Err(e) => {
                self.failed(e);
                false
            }
        }
    }

    /// Writes all of `bytes`; on failure remembers whether part of it landed.
    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("the log file is not open"));
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            match file.write(rest) {
                Ok(0) => {
                    self.broken_line |= rest.len() < bytes.len();
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "wrote nothing"));
                }
                Ok(n) => {
                    self.size = self.size.saturating_add(n as u64);
                    rest = rest.get(n..).unwrap_or_default();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.broken_line |= rest.len() < bytes.len();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Closes the file and waits a moment before the next attempt.
    fn failed(&mut self, e: io::Error) {
        self.last_error = Some(e.to_string());
        self.file = None;
        self.id = None;
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
    }

    fn open(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)?;
            let _ = super::fsutil::set_mode(dir, 0o700);
        }
        let file = open_append(&self.path)?;
        let meta = file.metadata()?;
        self.size = meta.len();
        self.id = file_id(&meta);
        self.file = Some(file);
        self.checked_at = Instant::now();
        Ok(())
    }

    /// Reopens when the path no longer names the open file; re-reads the size, which
    /// another process (the supervisor) may have grown.
    fn recheck(&mut self) {
        match std::fs::metadata(&self.path) {
            Ok(meta) if file_id(&meta) == self.id => self.size = meta.len(),
            _ => {
                self.file = None;
                self.id = None;
            }
        }
    }

    /// `gateway.log.{keep-1}` → `.{keep}`, …, `gateway.log` → `.1`; then a fresh file.
    fn rotate(&mut self) {
        self.file = None;
        self.id = None;
        let keep = self.rotation.keep;
        let moved = if keep == 0 {
            std::fs::remove_file(&self.path)
        } else {
            for i in (1..keep).rev() {
                let _ = std::fs::rename(numbered(&self.path, i), numbered(&self.path, i + 1));
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))
        };
        if let Err(e) = moved {
            // Cannot move it aside: start it over rather than let it grow without bound.
            self.last_error = Some(format!("rotating: {e}"));
            if let Ok(f) = OpenOptions::new().write(true).open(&self.path) {
                let _ = f.set_len(0);
            }
        }
        self.size = 0;
    }
}

/// `gateway.log` → `gateway.log.<n>`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> Vec<u8> {
        format!("line {i:04} {}\n", "x".repeat(80)).into_bytes()
    }

    #[test]
    fn rotates_by_size_and_keeps_at_most_keep_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/gateway.log");
        let (log, guard) = Log::start(Destination::File {
            path: path.clone(),
            rotation: Rotation {
                max_bytes: 1024,
                keep: 2,
            },
        });
        for i in 0..200 {
            log.send(line(i));
        }
        assert!(log.flush(Duration::from_secs(5)));
        drop(guard);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 1024, "{size}");
        assert!(numbered(&path, 1).exists() && numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists());
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.contains("line 0199"), "{last}");
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn keep_zero_starts_the_file_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.log");
        let (log, _guard) = Log::start(Destination::File {
            path: path.clone(),
            rotation: Rotation {
                max_bytes: 1024,
                keep: 0,
            },
        });
        for i in 0..50 {
            log.send(line(i));
        }
        assert!(log.flush(Duration::from_secs(5)));
        assert!(std::fs::metadata(&path).unwrap().len() <= 1024);
        assert!(!numbered(&path, 1).exists());
    }

    #[test]
    fn an_unwritable_log_drops_and_counts_then_resumes() {
        let dir = tempfile::tempdir().unwrap();
        // The log's directory is a file: every open fails until it is replaced.
        let blocker = dir.path().join("logs");
        std::fs::write(&blocker, "not a directory").unwrap();
        let path = blocker.join("gateway.log");
        let (log, _guard) = Log::start(Destination::File {
            path: path.clone(),
            rotation: Rotation::default(),
        });
        for i in 0..5 {
            log.send(line(i));
        }
        assert!(log.flush(Duration::from_secs(5)));
        assert_eq!(log.dropped(), 5);
        std::fs::remove_file(&blocker).unwrap();
        std::thread::sleep(RETRY_AFTER + Duration::from_millis(100));
        log.send(line(99));
        assert!(log.flush(Duration::from_secs(5)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("5 line(s) could not be written"), "{text}");
        assert!(text.contains("line 0099"), "{text}");
    }

    #[test]
    fn a_moved_log_is_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.log");
        let (log, _guard) = Log::start(Destination::File {
            path: path.clone(),
            rotation: Rotation::default(),
        });
        log.send(line(1));
        assert!(log.flush(Duration::from_secs(5)));
        std::fs::rename(&path, dir.path().join("elsewhere.log")).unwrap();
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(100));
        log.send(line(2));
        assert!(log.flush(Duration::from_secs(5)));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("line 0002")
        );
    }

    #[test]
    fn a_writer_without_a_thread_counts_instead_of_blocking() {
        let (tx, rx) = sync_channel(1);
        drop(rx);
        let log = Log {
            tx,
            shared: Arc::new(Shared {
                dropped: AtomicU64::new(0),
                path: None,
            }),
        };
        {
            let mut w = tracing_subscriber::fmt::MakeWriter::make_writer(&log);
            w.write_all(b"hello\n").unwrap();
        }
        assert_eq!(log.dropped(), 1);
        assert!(!log.flush(Duration::from_millis(50)));
    }
}
