//! `repair`: find what drifted from a working install and put it back. Each check yields
//! a finding; `--dry-run` reports them and changes nothing.

use anyhow::Result;

use crate::cli::RepairArgs;
use crate::commands::common;
use crate::commands::installation;
use crate::commands::{Ctx, Output};
use crate::platform::fsutil;
use crate::release::checksums::Sha256Hex;
use crate::release::download::{Fetcher, Source};
use crate::release::resolve::Resolved;
use crate::report::{DatabaseState, Finding, RepairReport, Report, SCHEMA_VERSION};
use crate::runtime::receipt::Receipt;
use crate::runtime::service::{self, backend::Backend};
use crate::runtime::token::Token;

pub async fn run(ctx: &Ctx, args: &RepairArgs) -> Result<Output> {
    let paths = &ctx.paths;
    let fix = !args.dry_run;
    let _lock = if fix { Some(common::lock(ctx)?) } else { None };
    let config = common::load_config(ctx)?;
    let mut findings: Vec<Finding> = Vec::new();
    let mut note = |kind: &str, detail: String, fixed: Result<(), String>| {
        let (fixed, error) = match fixed {
            Ok(()) => (fix, None),
            Err(e) => (false, Some(e)),
        };
        findings.push(Finding {
            kind: kind.into(),
            detail,
            fixed,
            error,
        });
    };
    let act = |f: &dyn Fn() -> Result<()>| -> Result<(), String> {
        if fix {
            f().map_err(|e| format!("{e:#}"))
        } else {
            Ok(())
        }
    };

    // Directories and modes.
    for dir in paths.state_dirs() {
        if !dir.is_dir() {
            note(
                "missing-dir",
                format!("{} is missing", dir.display()),
                act(&|| fsutil::create_private_dir(&dir)),
            );
        } else if fsutil::mode_of(&dir).is_some_and(|m| m & 0o077 != 0) {
            note(
                "wrong-mode",
                format!("{} is readable by others", dir.display()),
                act(&|| Ok(fsutil::set_mode(&dir, 0o700)?)),
            );
        }
    }
    let token = paths.token_file();
    let token_missing = !token.exists();
    if token_missing {
        note(
            "token-missing",
            format!(
                "{} is missing; clients must be given the new token",
                token.display()
            ),
            act(&|| Token::ensure(&token).map(|_| ())),
        );
    }
    for file in [
        paths.token_file(),
        paths.config_file(),
        paths.service_env_file(),
        paths.db_file(),
    ] {
        if file.exists() && fsutil::mode_of(&file).is_some_and(|m| m & 0o077 != 0) {
            note(
                "wrong-mode",
                format!("{} is readable by others", file.display()),
                act(&|| Ok(fsutil::set_mode(&file, 0o600)?)),
            );
        }
    }

    // An upgrade or rollback cut off between switching `current` and saving the receipt.
    match installation::reconcile_interrupted(paths, fix) {
        Ok(Some(found)) => note("interrupted-upgrade", found.to_string(), Ok(())),
        Ok(None) => {}
        Err(e) => note(
            "interrupted-upgrade",
            "could not compare `current` with the receipt".into(),
            Err(format!("{e:#}")),
        ),
    }

    // The jobs database: a corrupt one is moved aside (with its WAL) for the gateway to
    // recreate; a deleted one under a running gateway needs a restart, since the gateway
    // keeps writing into the unlinked file.
    let db = paths.db_file();
    let db_check = crate::doctor::database::check(&db);
    let gateway_up = || service::Snapshot::take(paths, &config).healthy().is_some();
    match db_check.state {
        DatabaseState::Corrupt => {
            let aside = corrupt_aside(&db);
            let up = gateway_up();
            note(
                "database-corrupt",
                format!(
                    "the jobs database {} is corrupt ({}): moving it aside to {}{}",
                    db.display(),
                    db_check.detail.as_deref().unwrap_or("damaged"),
                    aside.display(),
                    if up {
                        " and restarting the gateway, which creates a new one"
                    } else {
                        "; the gateway creates a new one when it starts"
                    }
                ),
                act(&|| {
                    if up {
                        service::stop(paths, &config)?;
                    }
                    move_aside(&db, &aside)?;
                    if up {
                        service::start(paths, &config, &|| super::installation::installed(paths))?;
                    }
                    Ok(())
                }),
            );
        }
        DatabaseState::Missing if gateway_up() => note(
            "database-missing",
            format!(
                "the jobs database {} is missing while the gateway runs (it records into a deleted file): restarting the gateway, which creates a new one",
                db.display()
            ),
            act(&|| {
                service::stop(paths, &config)?;
                service::start(paths, &config, &|| super::installation::installed(paths))?;
                Ok(())
            }),
        ),
        _ => {}
    }

    // The installed version: `current` and the files' hashes.
    let receipt = Receipt::load(&paths.receipt_file())?;
    let Some(receipt) = receipt else {
        let human = "Not installed here (no receipt); run `llm-cli-gateway setup`.\n".to_string();
        return Ok(report(args.dry_run, findings, human));
    };
    let version = receipt.active.version.clone();
    let current_ok = paths.current_version().as_deref() == Some(version.as_str())
        && paths
            .version_dir(&version)
            .join(crate::release::bundle::BUNDLE_JSON)
            .exists();
    let files_ok = receipt.files_match(&paths.version_dir(&receipt.active.version));
    if !current_ok || !files_ok {
        let kind = if !current_ok {
            "current-pointer"
        } else {
            "file-hash"
        };
        let detail = if !current_ok {
            format!("`current` does not point at the installed {version}")
        } else {
            let bad = receipt.mismatched_files(&paths.version_dir(&receipt.active.version));
            format!("installed files of {version} no longer match the receipt: {bad:?}")
        };
        let result = if fix {
            reinstall(ctx, &receipt).await.map_err(|e| format!("{e:#}"))
        } else {
            Ok(())
        };
        note(kind, detail, result);
    }

    // The OS service definition and its environment.
    let backend = service::backend_of(&config);
    if backend != Backend::Process {
        let spec =
            service::service_spec(paths, backend, &super::installation::service_program(paths));
        let def = service::manager::definition_path(backend);
        let wanted = service::manager::render(backend, &spec);
        let current = def.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let env_wanted = service::definition::env_file_contents(&spec.env);
        let env_now = std::fs::read_to_string(paths.service_env_file()).ok();
        let problem = match (&current, &wanted) {
            (None, Some(_)) => Some("the service definition is missing".to_string()),
            (Some(c), Some(w)) if c != w => Some(
                "the service definition is stale (it differs from what setup writes now)"
                    .to_string(),
            ),
            _ if env_now.as_deref() != Some(env_wanted.as_str()) => Some(
                "the service environment (PATH for the provider CLIs) is missing or stale"
                    .to_string(),
            ),
            _ => None,
        };
        if let Some(p) = problem {
            let where_ = def
                .map(|d| format!(" ({})", d.display()))
                .unwrap_or_default();
            note(
                "service-definition",
                format!("{p}{where_}"),
                act(&|| {
                    service::install(paths, backend, &super::installation::service_program(paths))
                        .map(|_| ())
                }),
            );
        }
    }

    // A dead gateway, or a live one holding the token that was just replaced (the token
    // is read once, at start).
    let snap = service::Snapshot::take(paths, &config);
    let restart = || {
        // A stale definition was just rewritten; restart so the manager runs it.
        let _ = service::stop(paths, &config);
        service::start(paths, &config, &|| super::installation::installed(paths)).map(|_| ())
    };
    if snap.healthy().is_some() && token_missing {
        note(
            "stale-token",
            "the running gateway still expects the deleted token; restarting it onto the new one"
                .into(),
            act(&restart),
        );
    } else if snap.healthy().is_none() {
        note(
            "gateway-down",
            "the gateway is not answering /healthz".into(),
            act(&restart),
        );
    }

    let human = if findings.is_empty() {
        "Nothing to repair: the install, service and gateway are healthy.\n".to_string()
    } else {
        let mut h = String::new();
        for f in &findings {
            let mark = match (&f.error, f.fixed, args.dry_run) {
                (Some(_), _, _) => "✗",
                (None, true, _) => "✓ fixed:",
                (None, false, true) => "• would fix:",
                (None, false, false) => "•",
            };
            h.push_str(&format!("  {mark} [{}] {}\n", f.kind, f.detail));
            if let Some(e) = &f.error {
                h.push_str(&format!("      error: {e}\n"));
            }
        }
        if args.dry_run {
            h.push_str(
                "Dry run: nothing was changed. Run `llm-cli-gateway repair` to fix these.\n",
            );
        }
        h
    };
    let failed: Vec<String> = findings.iter().filter_map(|f| f.error.clone()).collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "repair could not fix everything:\n  {}\n{human}",
            failed.join("\n  ")
        );
    }
    Ok(report(args.dry_run, findings, human))
}

/// Where a corrupt database goes: `gateway.db.corrupt-<UTC time>` beside it.
fn corrupt_aside(db: &std::path::Path) -> std::path::PathBuf {
    let when = crate::platform::time::now_rfc3339().replace([':', '-'], "");
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{when}"));
    db.with_file_name(name)
}

/// Renames the database and its `-wal`/`-shm` side files (a stale WAL must never be
/// replayed into the new database).
fn move_aside(db: &std::path::Path, aside: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    std::fs::rename(db, aside)
        .with_context(|| format!("moving {} to {}", db.display(), aside.display()))?;
    for side in ["-wal", "-shm"] {
        let mut from = db.as_os_str().to_os_string();
        from.push(side);
        let mut to = aside.as_os_str().to_os_string();
        to.push(side);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("moving {}", from.to_string_lossy()));
            }
        }
    }
    Ok(())
}

fn report(dry_run: bool, findings: Vec<Finding>, human: String) -> Output {
    Output {
        report: Report::Repair(RepairReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            dry_run,
            changed: !dry_run && findings.iter().any(|f| f.fixed),
            findings,
        }),
        human,
    }
}

/// Reinstalls the receipt's version from the verified cache, else from where it came.
async fn reinstall(ctx: &Ctx, receipt: &Receipt) -> Result<()> {
    let active = &receipt.active;
    let source = match &active.bundle_cache {
        Some(cache) if cache.exists() => Source::Path(cache.clone()),
        _ if active.source.starts_with("http://") || active.source.starts_with("https://") => {
            Source::parse(&active.source)
        }
        _ => anyhow::bail!(
            "the verified archive of {} is gone from the cache and it came from {:?}\nhelp: run `llm-cli-gateway setup` (or install-bundle) to reinstall",
            active.version,
            active.source
        ),
    };
    let resolved = Resolved {
        source,
        sha256: Sha256Hex::parse(&active.bundle_sha256)?,
        manifest_version: Some(active.version.clone()),
    };
    let fetcher = Fetcher::new()?;
    let progress = ctx.printer.progress();
    installation::fetch_and_install(
        &ctx.paths,
        &fetcher,
        &resolved,
        &active.source,
        progress.as_ref(),
    )
    .await?;
    Ok(())
}
