//! `setup`: from nothing (or anything) to a healthy gateway, idempotently.

use anyhow::{Context, Result, bail};

use crate::cli::SetupArgs;
use crate::commands::common::{self, endpoint, locations};
use crate::commands::{Ctx, Output};
use crate::platform::hash::sha256_file;
use crate::release::download::{Fetcher, Source};
use crate::release::resolve::{Resolved, resolve};
use crate::release::{assemble, bundle};
use crate::report::{Report, SCHEMA_VERSION, SetupReport};
use crate::runtime::config::Config;
use crate::runtime::receipt::Receipt;
use crate::runtime::service;
use crate::runtime::service::backend::Backend;
use crate::runtime::token::Token;

pub const EMBEDDED: &str = "embedded";

pub async fn run(ctx: &Ctx, args: &SetupArgs) -> Result<Output> {
    let paths = &ctx.paths;
    let existing = Config::load(&paths.config_file())?;
    let mut config = existing.clone().unwrap_or_default();
    common::apply_endpoint(&args.endpoint, &mut config)?;
    // A config.toml that only `policy` has written chose no backend yet.
    let chosen = existing
        .as_ref()
        .filter(|_| Config::names_service_backend(&paths.config_file()));
    let (backend, backend_reason) = match (args.service_backend.as_deref(), chosen) {
        (Some("auto"), _) | (None, None) => {
            let d = service::backend::detect(args.system);
            (d.backend, Some(d.reason))
        }
        (Some(choice), _) => (
            Backend::choose(choice, args.system)
                .map_err(|e| crate::platform::error::coded("usage", e))?,
            None,
        ),
        (None, Some(e)) => (service::backend_of(e), None),
    };
    let old_backend = chosen.map(service::backend_of);
    config.service_backend = backend.name().to_string();
    if ctx.printer.interactive && !args.yes {
        let go = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Install llm-cli-gateway {} and serve it at {}?",
                env!("CARGO_PKG_VERSION"),
                config.local_url()
            ))
            .default(true)
            .interact()
            .unwrap_or(false);
        if !go {
            bail!(crate::platform::error::coded(
                "cancelled",
                "setup cancelled; nothing was changed"
            ));
        }
    }

    let _lock = common::lock(ctx)?;
    let mut actions = Vec::new();
    let created = paths.ensure_dirs()?;
    if !created.is_empty() {
        actions.push(format!(
            "created {} director{}",
            created.len(),
            if created.len() == 1 { "y" } else { "ies" }
        ));
    }
    let endpoint_changed = existing.as_ref().is_some_and(|e| {
        (e.host.as_str(), e.port, e.path.as_str())
            != (config.host.as_str(), config.port, config.path.as_str())
    });
    if existing.as_ref() != Some(&config) {
        config.save(&paths.config_file())?;
        actions.push(format!("wrote {}", paths.config_file().display()));
    }
    let (_token, token_created) = Token::ensure(&paths.token_file())?;
    if token_created {
        actions.push("generated a new auth token".into());
    }

    let fetcher = Fetcher::new()?;
    let outcome = match wanted_bundle(ctx, args, &fetcher).await? {
        Some((resolved, label)) => {
            ctx.printer
                .step(format!("Installing the gateway from {label} ..."));
            let progress = ctx.printer.progress();
            let o = super::installation::fetch_and_install(
                paths,
                &fetcher,
                &resolved,
                &label,
                progress.as_ref(),
            )
            .await?;
            if o.changed {
                actions.push(format!("installed gateway {} ({})", o.version, label));
            }
            let _ = std::fs::remove_dir_all(ctx.paths.embedded_dir());
            Some(o)
        }
        None => None,
    };
    let mut receipt = Receipt::load(&paths.receipt_file())?
        .ok_or_else(|| anyhow::anyhow!("the install receipt is missing after install"))?;
    receipt.record_created([paths.config_file(), paths.token_file(), paths.lock_file()]);
    receipt.record_created(created);
    if let Some(old) = old_backend.filter(|o| *o != backend) {
        // Switching managers: the old one must not keep a second gateway on the port.
        let old_config = Config {
            service_backend: old.name().into(),
            ..config.clone()
        };
        if let service::process::Stopped::Stopped { .. } = service::stop(paths, &old_config)? {
            actions.push(format!("stopped the gateway under {}", old.name()));
        }
        if old != Backend::Process && service::manager::uninstall(old)? {
            actions.push(format!("removed the {} service", old.name()));
        }
    }
    receipt.service_backend = backend.name().to_string();
    receipt.service_definition = None;
    if backend != Backend::Process {
        let spec =
            service::service_spec(paths, backend, &super::installation::service_program(paths));
        let def = service::manager::definition_path(backend);
        let wanted = service::manager::render(backend, &spec);
        let current = def.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let env_now = std::fs::read_to_string(paths.service_env_file()).ok();
        let env_wanted = service::definition::env_file_contents(&spec.env);
        if wanted.is_none() || current != wanted || env_now.as_deref() != Some(env_wanted.as_str())
        {
            let path =
                service::install(paths, backend, &super::installation::service_program(paths))?;
            actions.push(format!(
                "installed the {} service{}",
                backend.name(),
                path.as_ref()
                    .map(|p| format!(" {}", p.display()))
                    .unwrap_or_default()
            ));
        }
        receipt.record_created([paths.service_env_file()]);
        receipt.service_definition = def;
        if backend == Backend::Systemd(service::backend::Level::User)
            && !service::manager::linger_enabled()
        {
            match service::manager::enable_linger() {
                Ok(()) => actions.push(
                    "enabled linger: the service keeps running after logout and starts at boot".into(),
                ),
                Err(why) => ctx.printer.warn(format!(
                    "could not enable linger ({why}); the gateway stops when you log out.\n  fix: sudo loginctl enable-linger $USER"
                )),
            }
        }
    }
    receipt.save(&paths.receipt_file())?;

    let service_state = if args.no_start {
        common::service_state(&config, &service::Snapshot::take(paths, &config), true)
    } else {
        let version_changed = outcome.as_ref().is_some_and(|o| o.changed);
        if (endpoint_changed || version_changed)
            && let service::process::Stopped::Stopped { .. } = service::stop(paths, &config)?
        {
            actions.push("stopped the running gateway to apply changes".into());
        }
        ctx.printer.step(format!(
            "Starting the gateway on {} ...",
            config.local_url()
        ));
        let started = service::start(paths, &config, &|| super::installation::installed(paths))?;
        if !started.already_running {
            actions.push(format!("started the gateway (pid {})", started.pid));
        }
        common::running_state(&config, started.pid, &started.health)
    };

    let changed = !actions.is_empty();
    let next_steps = vec![
        "llm-cli-gateway print-client-config --write --client claude-code   # or claude-desktop, codex, gemini-cli, cursor, vscode".to_string(),
        "llm-cli-gateway doctor   # providers logged in? clients connected? what to do next".to_string(),
    ];
    let mut human = String::new();
    if changed {
        for a in &actions {
            human.push_str(&format!("  ✓ {a}\n"));
        }
    } else {
        human.push_str("Already set up; nothing to change.\n");
    }
    if let Some(why) = &backend_reason {
        human.push_str(&format!("Service backend {}: {why}\n", backend.name()));
    }
    human.push_str(&format!(
        "\nllm-cli-gateway {} is {} at {}\nToken: {} (0600; never printed unless you ask with --show-token)\n\nConnect a client:\n  {}\nCheck on it:\n  {}\n",
        receipt.active.version,
        if args.no_start { "installed (not started)" } else { "running" },
        config.local_url(),
        paths.token_file().display(),
        next_steps[0],
        next_steps[1],
    ));
    Ok(Output {
        report: Report::Setup(SetupReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            changed,
            actions,
            version: receipt.active.version.clone(),
            source: receipt.active.source.clone(),
            locations: locations(ctx),
            endpoint: endpoint(&config),
            token_file: paths.token_file(),
            service: service_state,
            backend_reason,
            next_steps,
        }),
        human,
    })
}

/// Which bundle setup should install, or `None` when the embedded gateway is already the
/// active, intact install.
async fn wanted_bundle(
    ctx: &Ctx,
    args: &SetupArgs,
    fetcher: &Fetcher,
) -> Result<Option<(Resolved, String)>> {
    let has_checksum = args.checksum.sha256.is_some()
        || args.checksum.checksums.is_some()
        || args.checksum.manifest.is_some();
    if args.bundle.is_some() || has_checksum {
        let resolved = resolve(fetcher, args.bundle.as_deref(), &args.checksum.pins()).await?;
        let label = resolved.source.display();
        return Ok(Some((resolved, label)));
    }
    let paths = &ctx.paths;
    let exe = std::env::current_exe().context("locating this binary")?;
    if let Some(r) = Receipt::load(&paths.receipt_file())? {
        let entry = bundle::entrypoint_for(bundle::HOST_TARGET);
        let same_binary = r
            .active
            .files
            .get(&entry)
            .is_some_and(|h| sha256_file(&exe).is_ok_and(|e| e.as_str() == h));
        if r.active.source == EMBEDDED
            && same_binary
            && paths.current_version().as_deref() == Some(r.active.version.as_str())
            && r.files_match(&paths.version_dir(&r.active.version))
        {
            return Ok(None);
        }
    }
    let dir = ctx.paths.embedded_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let (path, sha) = assemble::embedded_bundle(&dir)?;
    Ok(Some((
        Resolved {
            source: Source::Path(path),
            sha256: sha,
            manifest_version: None,
        },
        EMBEDDED.to_string(),
    )))
}
