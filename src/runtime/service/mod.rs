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

/// The backend name recorded in config and receipt.
pub const PROCESS_BACKEND: &str = "process";

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
            os => managed_pid(os, &probe),
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
fn managed_pid(backend: Backend, probe: &Probe) -> PidState {
    let Some(view) = manager::view(backend) else {
        return PidState::Missing;
    };
    let Some(pid) = view.main_pid.filter(|_| view.is_active()) else {
        return PidState::Missing;
    };
    let instance = match probe {
        Probe::Healthy(h, _) if h.pid == pid => h.instance.clone(),
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

/// What the OS service runs: the `current` bundle's entrypoint with explicit directories,
/// so the service finds the same files whatever its environment.
pub fn service_spec(paths: &Paths, backend: Backend) -> ServiceSpec {
    let entry = crate::release::bundle::entrypoint_for(crate::release::bundle::HOST_TARGET);
    ServiceSpec {
        program: paths.current_link().join(entry),
        args: vec![
            "serve".into(),
            "--config-dir".into(),
            paths.config_dir.to_string_lossy().into_owned(),
            "--data-dir".into(),
            paths.data_dir.to_string_lossy().into_owned(),
        ],
        env: captured_env(),
        env_file: paths.service_env_file(),
        log_file: paths.log_file(),
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
    crate::runtime::fsutil::write_atomic(
        "service environment file",
        &paths.service_env_file(),
        definition::env_file_contents(&spec.env).as_bytes(),
        0o600,
    )
}

/// Installs (or rewrites) the OS service definition and its environment file.
pub fn install(paths: &Paths, backend: Backend) -> Result<Option<std::path::PathBuf>> {
    let spec = service_spec(paths, backend);
    write_env_file(paths, &spec)?;
    manager::install(backend, &spec)
}

/// Starts the installed gateway unless it already runs healthy.
pub fn start(paths: &Paths, config: &Config) -> Result<StartResult> {
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
        return start_managed(paths, config, backend);
    }
    if snap.running().is_some() {
        // Alive but not answering: replace it rather than leave two.
        process::stop(paths)?;
    }
    let (version, bin) = crate::release::install::installed_binary(paths)?;
    let started = process::start(paths, config, &bin, &version)?;
    Ok(StartResult {
        already_running: false,
        pid: started.pid,
        health: started.health,
    })
}

fn start_managed(paths: &Paths, config: &Config, backend: Backend) -> Result<StartResult> {
    crate::release::install::installed_binary(paths)?;
    manager::reset_failed(backend);
    let restarts_before = manager::view(backend).and_then(|v| v.restarts);
    manager::start(backend)?;
    // A gateway that exits is restarted by the manager ("activating" again): a restart
    // count that moves means this version does not stay up, so stop waiting at once.
    let alive = || {
        manager::view(backend).is_none_or(|v| {
            matches!(v.active.as_str(), "active" | "activating" | "reloading")
                && !matches!((v.restarts, restarts_before), (Some(now), Some(before)) if now > before)
        })
    };
    let health = health::wait_healthy(&config.authority(), None, Duration::from_secs(15), alive)
        .map_err(|why| {
            anyhow::anyhow!(
                "the {} service did not become healthy: {why}\n{}help: see {}",
                backend.name(),
                process::log_tail(&paths.log_file(), 0, 15),
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
    let before = manager::view(backend).and_then(|v| v.main_pid.filter(|_| v.is_active()));
    manager::stop(backend)?;
    Ok(match before {
        Some(pid) => process::Stopped::Stopped { pid, forced: false },
        None => process::Stopped::NotRunning,
    })
}
