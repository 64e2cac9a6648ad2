//! `install-bundle`: verify and install one bundle; restart a running gateway onto it.

use anyhow::Result;

use crate::cli::InstallBundleArgs;
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::release::download::Fetcher;
use crate::release::resolve;
use crate::report::{InstallReport, Report, SCHEMA_VERSION};

pub async fn run(ctx: &Ctx, args: &InstallBundleArgs) -> Result<Output> {
    let fetcher = Fetcher::new()?;
    let resolved =
        resolve::resolve(&fetcher, args.source.as_deref(), &args.checksum.pins()).await?;
    let _lock = common::lock(ctx)?;
    let config = common::load_config(ctx)?;
    let label = resolved.source.display();
    ctx.printer
        .step(format!("Verifying and installing {label} ..."));
    let progress = ctx.printer.progress();
    let outcome = super::installation::fetch_and_install(
        &ctx.paths,
        &fetcher,
        &resolved,
        &label,
        progress.as_ref(),
    )
    .await?;
    let restarted = if outcome.changed && !args.no_restart {
        common::restart_onto_current(ctx, &config, outcome.previous_version.as_deref())?
    } else {
        false
    };
    let human = if outcome.changed {
        format!(
            "Installed llm-cli-gateway {} ({}){}\n  sha256 {}\n  into {}\n",
            outcome.version,
            outcome.target,
            match (&outcome.previous_version, restarted) {
                (Some(p), true) => format!("; previous {p} kept; gateway restarted"),
                (Some(p), false) => format!("; previous {p} kept"),
                (None, true) => "; gateway restarted".to_string(),
                (None, false) => String::new(),
            },
            outcome.sha256,
            outcome.path.display()
        )
    } else {
        format!(
            "Already at {} with this exact bundle; nothing to do.\n",
            outcome.version
        )
    };
    Ok(Output {
        report: Report::InstallBundle(InstallReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            changed: outcome.changed,
            version: outcome.version,
            previous_version: outcome.previous_version,
            source: label,
            sha256: outcome.sha256,
            target: outcome.target,
            path: outcome.path,
            restarted,
        }),
        human,
    })
}
