//! `uninstall`: a dry run by default; `--yes` stops the gateway and removes exactly what
//! the receipt says we created (plus our own well-known files when the receipt is gone),
//! including the entries `print-client-config --write` put into client config files.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::UninstallArgs;
use crate::clients::recorded::{self, State};
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::platform::fsutil::remove_path;
use crate::report::{Removal, Report, SCHEMA_VERSION, UninstallReport};
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
    let mut kept =
        vec!["provider CLI credentials (~/.claude, ~/.codex, ~/.gemini, ...)".to_string()];
    let recorded_entries = receipt
        .as_ref()
        .map(|r| r.client_entries.clone())
        .unwrap_or_default();
    let mut our_entries = Vec::new();
    for e in recorded_entries {
        let state = if args.keep_client_configs {
            State::Keep("--keep-client-configs".into())
        } else {
            recorded::inspect(&e)
        };
        match state {
            State::Ours => {
                removals.push(Removal {
                    kind: "client-entry".into(),
                    target: recorded::target(&e),
                });
                our_entries.push(e);
            }
            State::Gone => {}
            State::Keep(reason) => kept.push(format!("{}: {reason}", recorded::target(&e))),
        }
    }
    kept.push("everything else in MCP client configuration files".to_string());
    if !args.yes {
        let mut human = if removals.is_empty() {
            "Nothing to remove: llm-cli-gateway is not installed here.\n".to_string()
        } else {
            "Dry run: nothing was changed. `llm-cli-gateway uninstall --yes` would remove:\n"
                .to_string()
        };
        for r in &removals {
            human.push_str(&format!("  {:<12} {}\n", r.kind, r.target));
        }
        human.push_str(&kept_text(&kept));
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
    for e in &our_entries {
        if let Err(err) = recorded::remove(e) {
            // The rest of the uninstall goes ahead; the entry is reported, not removed.
            let target = recorded::target(e);
            removals.retain(|r| r.target != target);
            kept.push(format!(
                "{target}: could not remove it ({err:#}); remove the entry by hand"
            ));
        }
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
    let mut human = if changed {
        format!(
            "Removed llm-cli-gateway ({} items). Provider credentials were not touched.\n",
            removals.len()
        )
    } else {
        "Nothing to remove: llm-cli-gateway is not installed here.\n".to_string()
    };
    human.push_str(&kept_text(&kept));
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

fn kept_text(kept: &[String]) -> String {
    let mut text = String::from("Left alone:\n");
    for k in kept {
        text.push_str(&format!("  {k}\n"));
    }
    text
}
