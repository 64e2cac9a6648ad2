//! Pieces several commands share: report building blocks, locking, the restart step.

use anyhow::Result;

use crate::commands::Ctx;
use crate::report::{Endpoint, Locations};
use crate::runtime::config::Config;
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

pub use crate::doctor::state::{
    dropped_log_warning, health_probe, locations_of, running_state, service_state, stopped_state,
};

pub fn locations(ctx: &Ctx) -> Locations {
    locations_of(&ctx.paths)
}

/// Takes the state lock, telling the user when another run holds it.
pub fn lock(ctx: &Ctx) -> Result<StateLock> {
    crate::platform::fsutil::create_private_dir(&ctx.paths.data_dir)?;
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
    let started = service::start(&ctx.paths, config, &|| {
        super::installation::installed(&ctx.paths)
    })
    .and_then(|s| match expect_version {
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
            crate::release::install::switch_current(&super::installation::slots(&ctx.paths), prev)?;
            crate::platform::failpoint::hit("rollback-after-switch");
            if let Some(mut receipt) =
                crate::runtime::receipt::Receipt::load(&ctx.paths.receipt_file())?
                && receipt.swap_previous()
            {
                receipt.save(&ctx.paths.receipt_file())?;
            }
            service::start(&ctx.paths, config, &|| {
                super::installation::installed(&ctx.paths)
            })?;
            Err(e.context(format!("rolled back to {prev}, which is running again")))
        }
    }
}
