//! The process backend: a detached supervisor (`serve --supervised`) that runs the gateway
//! from the installed bundle and restarts it when it crashes. Used where no working OS
//! service manager exists (containers, CI, WSL1).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::runtime::config::Config;
use crate::runtime::health::{self, Health};
use crate::runtime::paths::Paths;
use crate::runtime::service::pidfile::{self, PidFile, PidState};

/// How long `start` waits for `/healthz`.
pub const START_DEADLINE: Duration = Duration::from_secs(20);
/// How long `stop` waits after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Size at which the output file (stray stdout/stderr) is rotated to `.1` on start; the
/// gateway rotates its log itself.
pub const OUTPUT_ROTATE_BYTES: u64 = 1 << 20;
pub const INSTANCE_ENV: &str = "LLM_CLI_GATEWAY_INSTANCE";

#[derive(Debug)]
pub struct Started {
    pub pid: u32,
    pub health: Health,
}

/// Starts the supervisor for the gateway binary `bin` and waits until healthy.
pub fn start(paths: &Paths, config: &Config, bin: &Path, version: &str) -> Result<Started> {
    check_port_free(config)?;
    crate::platform::fsutil::create_private_dir(&paths.logs_dir())?;
    crate::platform::fsutil::create_private_dir(&paths.run_dir())?;
    rotate_output(&paths.output_file());
    let output = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.output_file())
        .with_context(|| {
            format!(
                "could not open the output file {}",
                paths.output_file().display()
            )
        })?;
    let offsets = LogOffsets::now(paths);
    let instance = random_hex(8);
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--supervised")
        .arg("--config-dir")
        .arg(&paths.config_dir)
        .arg("--data-dir")
        .arg(&paths.data_dir)
        .env(INSTANCE_ENV, &instance)
        .env(crate::platform::logfile::ENV, "1")
        .env_remove(crate::runtime::paths::HOME_ENV)
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .current_dir(&paths.data_dir);
    detach(&mut cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start the gateway binary {}", bin.display()))?;
    let pid = child.id();
    let start_time = pidfile::start_time(pid).unwrap_or_default();
    pidfile::write(
        &paths.pid_file(),
        &PidFile {
            pid,
            start_time,
            instance: instance.clone(),
            version: version.to_string(),
            started_at_unix: unix_now(),
        },
    )?;
    let waited = health::wait_healthy(&config.authority(), Some(&instance), START_DEADLINE, || {
        matches!(child.try_wait(), Ok(None))
    });
    match waited {
        Ok(health) => Ok(Started { pid, health }),
        Err(why) => {
            kill_group(pid, libc_sig::KILL);
            let _ = child.wait();
            let _ = std::fs::remove_file(paths.pid_file());
            bail!(
                "the gateway did not become healthy: {why}\n{}help: fix the cause above, then run `llm-cli-gateway start`",
                offsets.tails(paths, 12)
            )
        }
    }
}

/// The outcome of `stop`.
#[derive(Debug, PartialEq)]
pub enum Stopped {
    /// Stopped the verified process with this pid.
    Stopped {
        pid: u32,
        forced: bool,
    },
    NotRunning,
    /// A pid file was present but untrusted; it was removed without signalling anything.
    StalePidFile(String),
}

pub fn stop(paths: &Paths) -> Result<Stopped> {
    match pidfile::read(&paths.pid_file()) {
        PidState::Missing => Ok(Stopped::NotRunning),
        PidState::Untrusted(why) => {
            let _ = std::fs::remove_file(paths.pid_file());
            Ok(Stopped::StalePidFile(why))
        }
        PidState::Running(pf) => {
            kill_group(pf.pid, libc_sig::TERM);
            let forced = !wait_gone(&pf, STOP_GRACE);
            if forced {
                kill_group(pf.pid, libc_sig::KILL);
                if !wait_gone(&pf, Duration::from_secs(5)) {
                    bail!("process {} did not exit after SIGKILL", pf.pid);
                }
            }
            let _ = std::fs::remove_file(paths.pid_file());
            Ok(Stopped::Stopped {
                pid: pf.pid,
                forced,
            })
        }
    }
}

fn wait_gone(pf: &PidFile, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if pidfile::start_time(pf.pid).as_deref() != Some(pf.start_time.as_str()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Fails early, with a useful message, when something else holds the port.
fn check_port_free(config: &Config) -> Result<()> {
    let addr = format!("{}:{}", bind_host(&config.host), config.port);
    match std::net::TcpListener::bind(&addr) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {} on {} is already in use by another program\nhelp: stop that program, or choose another port with `llm-cli-gateway setup --port N`",
            config.port,
            config.host
        ),
        Err(e) => bail!("cannot listen on {addr}: {e}"),
    }
}

fn bind_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn rotate_output(file: &Path) {
    if std::fs::metadata(file).is_ok_and(|m| m.len() > OUTPUT_ROTATE_BYTES) {
        let _ = std::fs::rename(file, crate::platform::logfile::numbered(file, 1));
    }
}

/// The sizes of the log and the output file before a start, so a failed start can show
/// what this attempt wrote.
#[derive(Debug, Clone, Copy)]
pub struct LogOffsets {
    log: u64,
    output: u64,
}

impl LogOffsets {
    pub fn now(paths: &Paths) -> Self {
        let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        Self {
            log: len(paths.log_file()),
            output: len(paths.output_file()),
        }
    }

    /// "last lines of <log>:" and, when the process said something outside its log
    /// (before the log was open, or a crash), "last lines of <output file>:".
    pub fn tails(&self, paths: &Paths, n: usize) -> String {
        let mut out = String::new();
        let log = log_tail(&paths.log_file(), self.log, n);
        out.push_str(&format!(
            "last lines of {}:\n{}\n",
            paths.log_file().display(),
            if log.is_empty() { "  (empty)" } else { &log }
        ));
        let output = log_tail(&paths.output_file(), self.output, n);
        if !output.is_empty() {
            out.push_str(&format!(
                "last lines of {}:\n{output}\n",
                paths.output_file().display()
            ));
        }
        out
    }
}

/// The last `n` lines written to `log` since `offset` (all of it when it is now
/// shorter: it was rotated).
pub fn log_tail(log: &Path, offset: u64, n: usize) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return String::new();
    };
    let from = usize::try_from(offset)
        .ok()
        .filter(|o| *o <= bytes.len())
        .unwrap_or(0);
    let text = String::from_utf8_lossy(bytes.get(from..).unwrap_or_default());
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// The binary of an installed version.
pub fn gateway_binary(paths: &Paths, version: &str, entrypoint: &str) -> PathBuf {
    paths.version_dir(version).join(entrypoint)
}

pub mod libc_sig {
    #[cfg(unix)]
    pub const TERM: i32 = libc::SIGTERM;
    #[cfg(unix)]
    pub const KILL: i32 = libc::SIGKILL;
    #[cfg(not(unix))]
    pub const TERM: i32 = 15;
    #[cfg(not(unix))]
    pub const KILL: i32 = 9;
}

/// Signals the supervisor's whole process group (it is the group leader), so the gateway
/// child goes too.
#[cfg(unix)]
pub fn kill_group(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

#[cfg(not(unix))]
pub fn kill_group(_pid: u32, _sig: i32) {}

/// New session and process group, so the supervisor outlives the bootstrapper and its
/// terminal, and `stop` can signal the group.
#[cfg(unix)]
fn detach(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and called between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn detach(_cmd: &mut Command) {}
