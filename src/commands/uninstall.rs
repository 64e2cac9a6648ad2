//! `uninstall`: a dry run by default; `--yes` stops the gateway and removes exactly what
//! the receipt says we created (plus our own well-known files when the receipt is gone).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::UninstallArgs;
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::report::{Removal, Report, SCHEMA_VERSION, UninstallReport};
use crate::runtime::fsutil::remove_path;
use crate::runtime::receipt::Receipt;
use crate::runtime::service::{self, pidfile};

pub fn run(ctx: &Ctx, args: &UninstallArgs) -> Result<Output> {
    let paths = &ctx.paths;
    // A dry run must not even create the lock file.
    let _lock = if args.yes && paths.data_dir.exists() {
        Some(common::lock(ctx)?)
    } else {
        None
    };
    let receipt = Receipt::load(&paths.receipt_file()).ok().flatten();
    let config = common::load_config(ctx).unwrap_or_default();
    let backend = service::backend_of(&config);
    let mut removals = Vec::new();
    let definition = service::manager::definition_path(backend).filter(|p| p.exists());
    if let Some(def) = &definition {
        removals.push(Removal {
            kind: "service".into(),
            target: format!("{} service {}", backend.name(), def.display()),
        });
    }
    if let pidfile::PidState::Running(pf) = pidfile::read(&paths.pid_file()) {
        removals.push(Removal {
            kind: "process".into(),
            target: format!("pid {} (gateway {})", pf.pid, pf.version),
        });
    }
    let mut targets: Vec<PathBuf> = receipt
        .as_ref()
        .map(|r| r.created_paths.clone())
        .unwrap_or_default();
    // Our own files, whether or not the receipt survived.
    for p in paths.db_files().into_iter().chain([
        paths.current_link(),
        paths.receipt_file(),
        paths.config_file(),
        paths.token_file(),
        paths.versions_dir(),
        paths.cache_dir(),
        paths.logs_dir(),
        paths.run_dir(),
        paths.lock_file(),
        paths.embedded_dir(),
    ]) {
        if !targets.contains(&p) {
            targets.push(p);
        }
    }
    // Files before the directories that hold them; deepest first.
    targets.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let existing: Vec<PathBuf> = targets
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    for p in &existing {
        let kind = if p.is_dir() && !p.is_symlink() {
            "directory"
        } else {
            "file"
        };
        removals.push(Removal {
            kind: kind.into(),
            target: p.display().to_string(),
        });
    }
    let kept = vec![
        "provider CLI credentials (~/.claude, ~/.codex, ~/.gemini, ...)".to_string(),
        "MCP client configuration files".to_string(),
    ];
    if !args.yes {
        let mut human = if removals.is_empty() {
            "Nothing to remove: llm-cli-gateway is not installed here.\n".to_string()
        } else {
            "Dry run: nothing was changed. `llm-cli-gateway uninstall --yes` would remove:\n"
                .to_string()
        };
        for r in &removals {
            human.push_str(&format!("  {:<9} {}\n", r.kind, r.target));
        }
        return Ok(Output {
            report: Report::Uninstall(UninstallReport {
                schema_version: SCHEMA_VERSION,
                ok: true,
                dry_run: true,
                changed: false,
                removals,
                kept,
            }),
            human,
        });
    }
    service::stop(paths, &config)?;
    if backend != service::backend::Backend::Process {
        // Stop, disable, remove the definition, daemon-reload.
        service::manager::uninstall(backend)?;
    }
    let mut failures = Vec::new();
    for p in &existing {
        let is_our_root = *p == paths.config_dir || *p == paths.data_dir;
        let result = if is_our_root {
            // A root directory we created goes only when nothing foreign is left in it.
            std::fs::remove_dir(p).or_else(|e| if p.exists() { Err(e) } else { Ok(()) })
        } else {
            remove_path(p).map(|_| ())
        };
        if let Err(e) = result
            && !is_our_root
        {
            failures.push(format!("{}: {e}", p.display()));
        }
    }
    if !failures.is_empty() {
        anyhow::bail!("could not remove:\n  {}", failures.join("\n  "));
    }
    let changed = !removals.is_empty();
    let human = if changed {
        format!(
            "Removed llm-cli-gateway ({} items). Provider credentials and client configs were not touched.\n",
            removals.len()
        )
    } else {
        "Nothing to remove: llm-cli-gateway is not installed here.\n".to_string()
    };
    Ok(Output {
        report: Report::Uninstall(UninstallReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            dry_run: false,
            changed,
            removals,
            kept,
        }),
        human,
    })
}
