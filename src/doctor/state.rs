//! The service's state as every report shows it (status, start, stop, setup, doctor):
//! built from what the runtime observed, in the report's terms.

use crate::report::{HealthProbe, Locations, ManagerState, RunState, ServiceState};
use crate::runtime::config::Config;
use crate::runtime::health::{Health, Probe};
use crate::runtime::paths::Paths;
use crate::runtime::service::{self, Snapshot};

pub fn locations_of(paths: &Paths) -> Locations {
    Locations {
        config_dir: paths.config_dir.clone(),
        data_dir: paths.data_dir.clone(),
        log_file: paths.log_file(),
    }
}

/// The health probe as reported, plus a warning when something answers that is not the
/// gateway this installation started.
pub fn health_probe(config: &Config, snap: &Snapshot) -> (HealthProbe, Option<String>) {
    match &snap.probe {
        Probe::Healthy(h, latency) => {
            let ours = snap.healthy().is_some();
            let warning = (!ours).then(|| {
                format!(
                    "a gateway (pid {}) answers on {} but it is not the one this installation started",
                    h.pid,
                    config.authority()
                )
            });
            let probe = HealthProbe {
                ok: ours,
                url: config.health_url(),
                version: Some(h.version.clone()),
                latency_ms: Some((latency.as_secs_f64() * 1e5).round() / 100.0),
                error: None,
            };
            (probe, warning)
        }
        Probe::Failed(e) => (
            HealthProbe {
                ok: false,
                url: config.health_url(),
                version: None,
                latency_ms: None,
                error: Some(e.clone()),
            },
            None,
        ),
    }
}

/// A warning for reports when the running gateway has lost log lines.
pub fn dropped_log_warning(service: &ServiceState) -> Option<String> {
    let n = service.dropped_log_lines.filter(|n| *n > 0)?;
    Some(format!(
        "the gateway could not write {n} log line(s){}: is the disk full or the log not writable? (it keeps serving and writes again once it can)",
        service
            .log
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    ))
}

pub fn service_state(config: &Config, snap: &Snapshot, installed: bool) -> ServiceState {
    let health = snap.healthy();
    let state = match (installed, snap.running(), health) {
        (_, Some(_), Some(_)) => RunState::Running,
        (_, Some(_), None) => RunState::Unhealthy,
        (false, None, _) => RunState::NotInstalled,
        (true, None, _) => RunState::Stopped,
    };
    ServiceState {
        backend: config.service_backend.clone(),
        state,
        pid: snap.running().map(|p| p.pid),
        gateway_pid: health.map(|h| h.pid),
        uptime_secs: health.map(|h| h.uptime_secs),
        manager: manager_state(config),
        log: health.and_then(|h| h.log_file.clone()),
        dropped_log_lines: health.map(|h| h.dropped_log_lines),
    }
}

pub fn running_state(config: &Config, pid: u32, health: &Health) -> ServiceState {
    ServiceState {
        backend: config.service_backend.clone(),
        state: RunState::Running,
        pid: Some(pid),
        gateway_pid: Some(health.pid),
        uptime_secs: Some(health.uptime_secs),
        manager: manager_state(config),
        log: health.log_file.clone(),
        dropped_log_lines: Some(health.dropped_log_lines),
    }
}

pub fn stopped_state(config: &Config) -> ServiceState {
    ServiceState {
        backend: config.service_backend.clone(),
        state: RunState::Stopped,
        pid: None,
        gateway_pid: None,
        uptime_secs: None,
        manager: manager_state(config),
        log: None,
        dropped_log_lines: None,
    }
}

/// The OS service manager's view, for backends that have one.
pub fn manager_state(config: &Config) -> Option<ManagerState> {
    let backend = service::backend_of(config);
    let view = service::manager::view(backend)?;
    Some(ManagerState {
        active: view.active,
        enabled: view.enabled,
        main_pid: view.main_pid,
        restarts: view.restarts,
        definition: service::manager::definition_path(backend),
    })
}
