//! Service backends. This version has the process backend; OS service managers
//! (systemd, launchd, Windows services) arrive with the service-lifecycle work.

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
use pidfile::{PidFile, PidState};

/// What the backend and the health probe say about the gateway right now.
#[derive(Debug)]
pub struct Snapshot {
    pub pid: PidState,
    pub probe: Probe,
}

impl Snapshot {
    pub fn take(paths: &Paths, config: &Config) -> Self {
        let pid = pidfile::read(&paths.pid_file());
        let probe = health::probe(&config.authority(), Duration::from_millis(800));
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

pub fn stop(paths: &Paths) -> Result<process::Stopped> {
    process::stop(paths)
}
