//! Pieces several commands share: report building blocks, locking, the restart step.

use anyhow::Result;

use crate::commands::Ctx;
use crate::report::{Endpoint, HealthProbe, Locations, RunState, ServiceState};
use crate::runtime::config::Config;
use crate::runtime::health::Probe;
use crate::runtime::lock::StateLock;
use crate::runtime::service::{self, Snapshot};

/// Applies `--host/--port/--path` to `config`, validating each.
pub fn apply_endpoint(args: &crate::cli::EndpointArgs, config: &mut Config) -> Result<()> {
    use anyhow::Context;
    if let Some(h) = &args.host {
        crate::runtime::config::validate_host(h).context("--host")?;
        config.host = h.clone();
    }
    if let Some(p) = args.port {
        config.port = p;
    }
    if let Some(p) = &args.path {
        crate::runtime::config::validate_path(p).context("--path")?;
        config.path = p.clone();
    }
    Ok(())
}

pub fn endpoint(config: &Config) -> Endpoint {
    Endpoint {
        url: config.local_url(),
        host: config.host.clone(),
        port: config.port,
        path: config.path.clone(),
        health_url: config.health_url(),
    }
}

pub fn locations(ctx: &Ctx) -> Locations {
    locations_of(&ctx.paths)
}

pub fn locations_of(paths: &crate::runtime::paths::Paths) -> Locations {
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
        log: None,
    }
}

pub fn running_state(
    config: &Config,
    pid: u32,
    health: &crate::runtime::health::Health,
) -> ServiceState {
    ServiceState {
        backend: config.service_backend.clone(),
        state: RunState::Running,
        pid: Some(pid),
        gateway_pid: Some(health.pid),
        uptime_secs: Some(health.uptime_secs),
        manager: manager_state(config),
        log: None,
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
    }
}

/// The OS service manager's view, for backends that have one.
pub fn manager_state(config: &Config) -> Option<crate::report::ManagerState> {
    let backend = service::backend_of(config);
    let view = service::manager::view(backend)?;
    Some(crate::report::ManagerState {
        active: view.active,
        enabled: view.enabled,
        main_pid: view.main_pid,
        restarts: view.restarts,
        definition: service::manager::definition_path(backend),
    })
}

/// Takes the state lock, telling the user when another run holds it.
pub fn lock(ctx: &Ctx) -> Result<StateLock> {
    crate::runtime::fsutil::create_private_dir(&ctx.paths.data_dir)?;
    StateLock::acquire(&ctx.paths.lock_file(), || {
        ctx.printer
            .warn("another llm-cli-gateway command is changing this installation; waiting for it to finish");
    })
}

pub fn load_config(ctx: &Ctx) -> Result<Config> {
    Config::load_or_default(&ctx.paths.config_file())
}

/// Restarts a running gateway onto the active version. When the new version does not
/// come up healthy, `current` is switched back to `previous` and that is started again.
pub fn restart_onto_current(ctx: &Ctx, config: &Config, previous: Option<&str>) -> Result<bool> {
    restart_onto_current_checked(ctx, config, previous, None)
}

/// [`restart_onto_current`], also requiring `/healthz` to report `expect_version`: a
/// healthy answer from the wrong version (an old process, a bundle mislabelled) is a
/// failed upgrade too.
pub fn restart_onto_current_checked(
    ctx: &Ctx,
    config: &Config,
    previous: Option<&str>,
    expect_version: Option<&str>,
) -> Result<bool> {
    let snap = Snapshot::take(&ctx.paths, config);
    if snap.running().is_none() {
        return Ok(false);
    }
    ctx.printer
        .step("Restarting the gateway onto the new version ...");
    service::stop(&ctx.paths, config)?;
    let started = service::start(&ctx.paths, config).and_then(|s| match expect_version {
        Some(v) if s.health.version != v => {
            let _ = service::stop(&ctx.paths, config);
            Err(anyhow::anyhow!(
                "the gateway came up reporting version {}, expected {v}",
                s.health.version
            ))
        }
        _ => Ok(s),
    });
    match started {
        Ok(_) => Ok(true),
        Err(e) => {
            let Some(prev) = previous else { return Err(e) };
            // A service manager may still be restarting the failed version; stop it so
            // the previous version starts cleanly.
            let _ = service::stop(&ctx.paths, config);
            ctx.printer
                .warn(format!("the new version did not start; restoring {prev}"));
            crate::release::install::switch_current(&ctx.paths, prev)?;
            crate::runtime::failpoint::hit("rollback-after-switch");
            if let Some(mut receipt) =
                crate::runtime::receipt::Receipt::load(&ctx.paths.receipt_file())?
                && receipt.swap_previous()
            {
                receipt.save(&ctx.paths.receipt_file())?;
            }
            service::start(&ctx.paths, config)?;
            Err(e.context(format!("rolled back to {prev}, which is running again")))
        }
    }
}
