//! Service backends: OS service managers (systemd, launchd, Windows services; see
//! [`manager`]) and the process backend (our own supervisor) where none works. Commands
//! call [`start`], [`stop`] and [`Snapshot::take`], which dispatch on the backend
//! recorded in config.toml.

pub mod backend;
pub mod definition;
pub mod manager;
pub mod pidfile;
pub mod process;
pub mod supervisor;
pub mod view;

/// The backend name recorded in config and receipt.
pub const PROCESS_BACKEND: &str = "process";

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::runtime::config::Config;
use crate::runtime::health::{self, Health, Probe};
use crate::runtime::paths::Paths;
use backend::Backend;
use definition::ServiceSpec;
use pidfile::{PidFile, PidState};

/// What the backend and the health probe say about the gateway right now.
#[derive(Debug)]
pub struct Snapshot {
    pub pid: PidState,
    pub probe: Probe,
}

impl Snapshot {
    pub fn take(paths: &Paths, config: &Config) -> Self {
        let probe = health::probe(&config.authority(), Duration::from_millis(800));
        let pid = match backend_of(config) {
            Backend::Process => pidfile::read(&paths.pid_file()),
            os => managed_pid(manager::view(os).as_ref(), &probe),
        };
        Self { pid, probe }
    }

    pub fn running(&self) -> Option<&PidFile> {
        match &self.pid {
            PidState::Running(pf) => Some(pf),
            _ => None,
        }
    }

    /// Healthy and answering as the instance our pid file names.
    pub fn healthy(&self) -> Option<&Health> {
        match (&self.probe, self.running()) {
            (Probe::Healthy(h, _), Some(pf)) if h.instance == pf.instance => Some(h),
            _ => None,
        }
    }
}

/// Result of starting.
#[derive(Debug)]
pub struct StartResult {
    pub already_running: bool,
    pub pid: u32,
    pub health: Health,
}

/// The backend recorded in config.toml (an unknown name falls back to the process
/// backend, which needs nothing from the OS).
pub fn backend_of(config: &Config) -> Backend {
    Backend::parse(&config.service_backend).unwrap_or(Backend::Process)
}

/// A service manager's main pid as a pid-file record, so commands treat both backends
/// alike. The instance is taken from `/healthz` only when it answers from that pid.
///
/// When the manager cannot be asked (its tool is missing or fails), or says the service
/// is up without naming a pid, a healthy `/healthz` is the best evidence there is: its
/// pid is taken as the running gateway, so `status` does not say "stopped" and `upgrade`
/// still restarts, verifies and rolls back. A manager that says the service is *not*
/// running is believed: whatever answers then was not started by it.
fn managed_pid(view: Option<&manager::ManagerView>, probe: &Probe) -> PidState {
    let healthy = match probe {
        Probe::Healthy(h, _) => Some(h),
        Probe::Failed(_) => None,
    };
    let pid = match view {
        Some(v) if !v.is_active() => return PidState::Missing,
        Some(v) => v.main_pid.or(healthy.map(|h| h.pid)),
        None => healthy.map(|h| h.pid),
    };
    let Some(pid) = pid else {
        return PidState::Missing;
    };
    let instance = match healthy {
        Some(h) if h.pid == pid => h.instance.clone(),
        _ => String::new(),
    };
    PidState::Running(PidFile {
        pid,
        start_time: pidfile::start_time(pid).unwrap_or_default(),
        instance,
        version: String::new(),
        started_at_unix: 0,
    })
}

/// The installed gateway the process backend runs: found by the caller (from the
/// installed bundle), so the runtime never has to know how bundles are laid out.
#[derive(Debug, Clone)]
pub struct Program {
    pub version: String,
    /// The entrypoint inside `versions/<version>/`.
    pub binary: PathBuf,
}

/// Finds the installed [`Program`]; asked only when a gateway has to be started.
pub type FindProgram<'a> = &'a dyn Fn() -> Result<Program>;

/// What the OS service runs: `program`, the entrypoint reached through `current` (so
/// the definition survives upgrades), with explicit directories, so the service finds
/// the same files whatever its environment, writing and rotating its own log.
pub fn service_spec(paths: &Paths, backend: Backend, program: &Path) -> ServiceSpec {
    ServiceSpec {
        program: program.to_path_buf(),
        args: vec![
            "serve".into(),
            "--config-dir".into(),
            paths.config_dir.to_string_lossy().into_owned(),
            "--data-dir".into(),
            paths.data_dir.to_string_lossy().into_owned(),
        ],
        env: captured_env(),
        env_file: paths.service_env_file(),
        output_file: paths.output_file(),
        working_dir: paths.data_dir.clone(),
        level: match backend {
            Backend::Systemd(l) | Backend::Launchd(l) => l,
            _ => backend::Level::System,
        },
    }
}

/// The environment a service needs but managers do not give it: the user's PATH (npm,
/// nvm, pipx, uv put the provider CLIs outside the manager's minimal PATH) and HOME
/// (where the CLIs keep their credentials).
pub fn captured_env() -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        let mut seen = Vec::new();
        for dir in std::env::split_paths(&path) {
            if dir.is_absolute() && !seen.contains(&dir) {
                seen.push(dir);
            }
        }
        if let Ok(joined) = std::env::join_paths(&seen) {
            env.push(("PATH".to_string(), joined.to_string_lossy().into_owned()));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        env.push(("HOME".to_string(), home.to_string_lossy().into_owned()));
    }
    env
}

/// Writes the service's environment file (0600: users may add API keys to it).
pub fn write_env_file(paths: &Paths, spec: &ServiceSpec) -> Result<()> {
    crate::platform::fsutil::write_atomic(
        "service environment file",
        &paths.service_env_file(),
        definition::env_file_contents(&spec.env).as_bytes(),
        0o600,
    )
}

/// Installs (or rewrites) the OS service definition and its environment file.
pub fn install(
    paths: &Paths,
    backend: Backend,
    program: &Path,
) -> Result<Option<std::path::PathBuf>> {
    let spec = service_spec(paths, backend, program);
    write_env_file(paths, &spec)?;
    manager::install(backend, &spec)
}

/// Starts the installed gateway unless it already runs healthy.
pub fn start(paths: &Paths, config: &Config, program: FindProgram) -> Result<StartResult> {
    let snap = Snapshot::take(paths, config);
    if let (Some(h), Some(pf)) = (snap.healthy(), snap.running()) {
        return Ok(StartResult {
            already_running: true,
            pid: pf.pid,
            health: h.clone(),
        });
    }
    let backend = backend_of(config);
    if backend != Backend::Process {
        program()?;
        return start_managed(paths, config, backend);
    }
    if snap.running().is_some() {
        // Alive but not answering: replace it rather than leave two.
        process::stop(paths)?;
    }
    let program = program()?;
    let started = process::start(paths, config, &program.binary, &program.version)?;
    Ok(StartResult {
        already_running: false,
        pid: started.pid,
        health: started.health,
    })
}

fn start_managed(paths: &Paths, config: &Config, backend: Backend) -> Result<StartResult> {
    manager::reset_failed(backend);
    let before = manager::view(backend);
    let offsets = process::LogOffsets::now(paths);
    manager::start(backend)?;
    // A gateway that exits is restarted by the manager ("activating" again): a launch
    // count that moves beyond our own start means this version does not stay up.
    let own = manager::own_launches(backend);
    let alive = || manager::view(backend).is_none_or(|v| v.still_starting(before.as_ref(), own));
    let health = health::wait_healthy(&config.authority(), None, Duration::from_secs(15), alive)
        .map_err(|why| {
            anyhow::anyhow!(
                "the {} service did not become healthy: {why}\n{}help: see {}",
                backend.name(),
                offsets.tails(paths, 15),
                paths.log_file().display()
            )
        })?;
    let pid = manager::view(backend)
        .and_then(|v| v.main_pid)
        .unwrap_or(health.pid);
    Ok(StartResult {
        already_running: false,
        pid,
        health,
    })
}

/// Stops the gateway through its backend and waits until it no longer answers.
pub fn stop(paths: &Paths, config: &Config) -> Result<process::Stopped> {
    let backend = backend_of(config);
    if backend == Backend::Process {
        return process::stop(paths);
    }
    let probe = health::probe(&config.authority(), Duration::from_millis(800));
    let before = match managed_pid(manager::view(backend).as_ref(), &probe) {
        PidState::Running(pf) => Some(pf.pid),
        _ => None,
    };
    manager::stop(backend)?;
    if !matches!(backend, Backend::Systemd(_))
        && let Some(pid) = before
    {
        // `systemctl stop` returns once the unit is down; `launchctl stop` and
        // `sc stop` only ask. A start right after would find the old gateway healthy.
        wait_gone(config, pid, STOP_DEADLINE).map_err(|why| {
            anyhow::anyhow!(
                "the {} service was asked to stop but {why}\nhelp: see {}",
                backend.name(),
                paths.log_file().display()
            )
        })?;
    }
    Ok(match before {
        Some(pid) => process::Stopped::Stopped { pid, forced: false },
        None => process::Stopped::NotRunning,
    })
}

/// How long a manager that stops asynchronously gets to take the gateway down.
const STOP_DEADLINE: Duration = Duration::from_secs(15);

/// Polls until `/healthz` no longer answers from `pid`.
fn wait_gone(config: &Config, pid: u32, deadline: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        match health::probe(&config.authority(), Duration::from_millis(500)) {
            Probe::Healthy(h, _) if h.pid == pid => {}
            _ => return Ok(()),
        }
        if start.elapsed() >= deadline {
            return Err(format!(
                "the gateway (pid {pid}) still answers after {deadline:?}"
            ));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use manager::ManagerView;

    fn healthy(pid: u32) -> Probe {
        Probe::Healthy(
            Health {
                status: "ok".into(),
                name: "llm-cli-gateway".into(),
                version: "1.2.3".into(),
                pid,
                uptime_secs: 5,
                instance: "i1".into(),
                log_file: None,
                dropped_log_lines: 0,
                connections: None,
            },
            Duration::from_millis(1),
        )
    }

    fn running(state: PidState) -> Option<(u32, String)> {
        match state {
            PidState::Running(pf) => Some((pf.pid, pf.instance)),
            _ => None,
        }
    }

    fn active(main_pid: Option<u32>) -> ManagerView {
        ManagerView {
            active: "active".into(),
            main_pid,
            ..ManagerView::default()
        }
    }

    #[test]
    fn no_manager_view_trusts_a_healthy_probe() {
        assert_eq!(
            running(managed_pid(None, &healthy(42))),
            Some((42, "i1".into()))
        );
        assert_eq!(
            running(managed_pid(None, &Probe::Failed("refused".into()))),
            None
        );
    }

    #[test]
    fn manager_view_wins_over_the_probe() {
        // The manager's pid, with the instance only when /healthz answers from it.
        assert_eq!(
            running(managed_pid(Some(&active(Some(42))), &healthy(42))),
            Some((42, "i1".into()))
        );
        assert_eq!(
            running(managed_pid(Some(&active(Some(7))), &healthy(42))),
            Some((7, String::new()))
        );
        assert_eq!(
            running(managed_pid(
                Some(&active(Some(7))),
                &Probe::Failed("x".into())
            )),
            Some((7, String::new()))
        );
        // Up without a pid: the probe names it.
        assert_eq!(
            running(managed_pid(Some(&active(None)), &healthy(42))),
            Some((42, "i1".into()))
        );
        // The manager says it is not running: whatever answers is not ours.
        let stopped = ManagerView {
            active: "inactive".into(),
            ..ManagerView::default()
        };
        assert_eq!(running(managed_pid(Some(&stopped), &healthy(42))), None);
    }
}
