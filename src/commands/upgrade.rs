//! `upgrade`: install the release manifest's bundle when it is newer, restart onto it, and
//! roll back when the new version does not answer `/healthz` as itself.

use anyhow::{Result, bail};

use crate::cli::UpgradeArgs;
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::release::download::{Fetcher, Source};
use crate::release::manifest::{MANIFEST_FILE, Manifest};
use crate::release::resolve;
use crate::report::{Report, SCHEMA_VERSION, UpgradeReport};

/// Where releases are published; `--from` or `release_url` in config.toml override it.
pub const DEFAULT_RELEASES: &str = "https://github.com/llm-cli-gateway/llm-cli-gateway/releases";

pub async fn run(ctx: &Ctx, args: &UpgradeArgs) -> Result<Output> {
    let config = common::load_config(ctx)?;
    if let Some(v) = &args.version {
        semver::Version::parse(v).map_err(|e| {
            crate::platform::error::coded(
                "usage",
                format!("--version {v:?} is not a version like 1.2.3: {e}"),
            )
        })?;
    }
    let manifest_url = manifest_url(args, config.release_url.as_deref());
    let fetcher = Fetcher::new()?;
    let text = fetcher
        .fetch_text(&Source::parse(&manifest_url), "release manifest")
        .await?;
    let manifest = Manifest::parse(&text, &manifest_url)?;
    if let Some(v) = &args.version
        && manifest.version != *v
    {
        bail!(crate::platform::error::coded(
            "version-missing",
            format!(
                "{manifest_url} is release {}, not {v}\nhelp: point --from at the release directory of {v}",
                manifest.version
            )
        ));
    }
    if !args.check {
        let _lock = common::lock(ctx)?;
        if let Some(found) = super::installation::reconcile_interrupted(&ctx.paths, true)? {
            ctx.printer.step(format!("Cleaned up: {found}"));
        }
    }
    // The bundle first: a refused, tampered or unhealthy release fails here and leaves the
    // bootstrapper alone.
    let mut output = upgrade_bundle(ctx, args, &config, &fetcher, &manifest, &manifest_url).await?;
    if args.self_update && !args.check {
        let note = match update_self(&fetcher, &manifest, &manifest_url, args.allow_downgrade)
            .await?
        {
            SelfUpdate::Replaced(path) => {
                let note = format!(
                    "Replaced the bootstrapper {} with the verified {} binary.",
                    path.display(),
                    manifest.version
                );
                if let Report::Upgrade(r) = &mut output.report {
                    r.replaced_bootstrapper = Some(path.display().to_string());
                }
                note
            }
            SelfUpdate::AlreadyCurrent => {
                format!(
                    "The bootstrapper already is the {} binary.",
                    manifest.version
                )
            }
            SelfUpdate::NotNewer => format!(
                "Kept the bootstrapper ({}): release {} is not newer; pass --allow-downgrade to replace it anyway.",
                env!("CARGO_PKG_VERSION"),
                manifest.version
            ),
        };
        ctx.printer.step(&note);
        output.human.push_str(&note);
        output.human.push('\n');
    }
    Ok(output)
}

/// What `--self` did to the bootstrapper.
enum SelfUpdate {
    Replaced(std::path::PathBuf),
    /// Its bytes already are the release's binary (a re-run changes nothing).
    AlreadyCurrent,
    /// The release is not newer than this binary and downgrades were not allowed.
    NotNewer,
}

/// `--self` replaces the bootstrapper only with a newer release than itself, or with any
/// other version when downgrades are allowed.
fn self_update_wanted(own: &str, release: &str, allow_downgrade: bool) -> Result<bool> {
    let own = semver::Version::parse(own)?;
    let release = semver::Version::parse(release)?;
    Ok(release > own || (allow_downgrade && release != own))
}

/// Installs the manifest's bundle when it is newer (or finishes an interrupted upgrade
/// onto it) and restarts the gateway onto it; the whole of `upgrade` without `--self`.
async fn upgrade_bundle(
    ctx: &Ctx,
    args: &UpgradeArgs,
    config: &crate::runtime::config::Config,
    fetcher: &Fetcher,
    manifest: &Manifest,
    manifest_url: &str,
) -> Result<Output> {
    let installed = ctx.paths.current_version();
    let available = semver::Version::parse(&manifest.version)?;
    let newer = match installed.as_deref().map(semver::Version::parse) {
        Some(Ok(current)) => available > current,
        _ => true,
    };
    let same = installed.as_deref() == Some(manifest.version.as_str());
    let report = |changed, version: Option<String>, restarted| UpgradeReport {
        schema_version: SCHEMA_VERSION,
        ok: true,
        changed,
        check_only: args.check,
        installed_version: installed.clone(),
        available_version: manifest.version.clone(),
        update_available: newer && !same,
        version,
        source: manifest_url.to_string(),
        restarted,
        replaced_bootstrapper: None,
    };
    if args.check {
        let human = match (&installed, newer && !same) {
            (Some(cur), true) => format!(
                "Update available: {cur} -> {}\n  run `llm-cli-gateway upgrade` to install it\n",
                manifest.version
            ),
            (None, _) => format!(
                "Not installed; release {} is available (`llm-cli-gateway setup`)\n",
                manifest.version
            ),
            (Some(cur), false) => format!(
                "Up to date: {cur} (latest release is {})\n",
                manifest.version
            ),
        };
        return Ok(Output {
            report: Report::Upgrade(report(false, installed.clone(), false)),
            human,
        });
    }
    if same {
        // An earlier upgrade may have been cut off after switching `current` but before
        // restarting: the gateway then still answers as the old version. Finish the job.
        let running = match crate::runtime::health::probe(
            &config.authority(),
            std::time::Duration::from_secs(1),
        ) {
            crate::runtime::health::Probe::Healthy(h, _) => Some(h.version),
            _ => None,
        };
        if let Some(old) = running.filter(|v| *v != manifest.version)
            && !args.no_restart
        {
            let _lock = common::lock(ctx)?;
            ctx.printer.step(format!(
                "{} is installed but the gateway still runs {old}: restarting onto it ...",
                manifest.version
            ));
            let previous = crate::runtime::receipt::Receipt::load(&ctx.paths.receipt_file())?
                .and_then(|r| r.previous_version);
            let restarted = common::restart_onto_current_checked(
                ctx,
                config,
                previous.as_deref(),
                Some(&manifest.version),
            )?;
            return Ok(Output {
                report: Report::Upgrade(report(true, installed.clone(), restarted)),
                human: format!(
                    "Finished an interrupted upgrade: the gateway now runs {}.\n",
                    manifest.version
                ),
            });
        }
        return Ok(Output {
            report: Report::Upgrade(report(false, installed.clone(), false)),
            human: format!(
                "Already up to date: {}; nothing changed.\n",
                manifest.version
            ),
        });
    }
    if !newer && !args.allow_downgrade {
        bail!(crate::platform::error::coded(
            "downgrade-refused",
            format!(
                "the release manifest offers {}, older than the installed {}; nothing was changed\nhelp: pass --allow-downgrade to install it anyway",
                manifest.version,
                installed.as_deref().unwrap_or("?")
            )
        ));
    }
    let checksum = resolve::Pins {
        manifest: Some(manifest_url.to_string()),
        ..Default::default()
    };
    let resolved = resolve::resolve(fetcher, None, &checksum).await?;
    let _lock = common::lock(ctx)?;
    ctx.printer.step(format!(
        "Upgrading {} -> {} ...",
        installed.as_deref().unwrap_or("(none)"),
        manifest.version
    ));
    let progress = ctx.printer.progress();
    let label = resolved.source.display();
    let outcome = super::installation::fetch_and_install(
        &ctx.paths,
        fetcher,
        &resolved,
        &label,
        progress.as_ref(),
    )
    .await?;
    crate::platform::failpoint::hit("upgrade-after-switch");
    let restarted = if args.no_restart {
        false
    } else {
        common::restart_onto_current_checked(
            ctx,
            config,
            outcome.previous_version.as_deref(),
            Some(&outcome.version),
        )?
    };
    let human = format!(
        "Upgraded llm-cli-gateway {} -> {}{}\n",
        installed.as_deref().unwrap_or("(none)"),
        outcome.version,
        if restarted {
            "; the gateway is running the new version"
        } else {
            ""
        }
    );
    Ok(Output {
        report: Report::Upgrade(report(true, Some(outcome.version.clone()), restarted)),
        human,
    })
}

/// Downloads the release's bootstrapper for this machine, verifies it against the
/// manifest and SHA256SUMS, and renames it over the running executable. The download
/// lands beside the executable so the rename is atomic; Windows cannot replace a running
/// .exe, so there the old one is first renamed aside.
async fn update_self(
    fetcher: &Fetcher,
    manifest: &Manifest,
    manifest_url: &str,
    allow_downgrade: bool,
) -> Result<SelfUpdate> {
    use crate::release::bundle::HOST_TARGET;
    use crate::release::checksums::{Checksums, Sha256Hex};
    use crate::release::manifest::{ArtifactKind, resolve_url};
    let artifact = manifest
        .find(ArtifactKind::Binary, HOST_TARGET)
        .ok_or_else(|| {
            crate::platform::error::coded(
                "target-missing",
                format!(
                    "release {} has no bootstrapper binary for {HOST_TARGET}",
                    manifest.version
                ),
            )
        })?;
    let expected = Sha256Hex::parse(&artifact.sha256)?;
    let sums_url = resolve_url(manifest_url, &manifest.checksums.url);
    let sums = Checksums::parse(
        &fetcher
            .fetch_text(&Source::parse(&sums_url), "SHA256SUMS")
            .await?,
    )?;
    if sums.get(&artifact.name) != Some(&expected) {
        bail!(crate::platform::error::coded(
            "checksum-disagreement",
            format!(
                "{sums_url} and the manifest disagree about {}; nothing was replaced",
                artifact.name
            )
        ));
    }
    let exe = std::env::current_exe()?.canonicalize()?;
    if crate::platform::hash::sha256_file(&exe)? == expected {
        return Ok(SelfUpdate::AlreadyCurrent);
    }
    if !self_update_wanted(
        env!("CARGO_PKG_VERSION"),
        &manifest.version,
        allow_downgrade,
    )? {
        return Ok(SelfUpdate::NotNewer);
    }
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no directory", exe.display()))?;
    let staged = dir.join(format!(".llm-cli-gateway.new-{}", std::process::id()));
    let source = Source::parse(&resolve_url(manifest_url, &artifact.url));
    let result = async {
        fetcher
            .download_verified(
                &source,
                &expected,
                &staged,
                &crate::release::download::NoProgress,
            )
            .await?;
        crate::platform::fsutil::set_mode(&staged, 0o755)?;
        if cfg!(windows) {
            let aside = exe.with_extension("old.exe");
            let _ = std::fs::remove_file(&aside);
            std::fs::rename(&exe, &aside)?;
        }
        std::fs::rename(&staged, &exe)?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&staged);
        return Err(e.context(format!("could not replace {}", exe.display())));
    }
    Ok(SelfUpdate::Replaced(exe))
}

/// The manifest to read: `--from` (a manifest, or a directory/URL holding one), the
/// configured release URL, or the project's releases (`--version` picks its tag).
fn manifest_url(args: &UpgradeArgs, configured: Option<&str>) -> String {
    let base = match (&args.from, configured, &args.version) {
        (Some(from), _, _) => from.clone(),
        (None, Some(url), _) => url.to_string(),
        (None, None, Some(v)) => format!("{DEFAULT_RELEASES}/download/v{v}"),
        (None, None, None) => format!("{DEFAULT_RELEASES}/latest/download"),
    };
    if base.ends_with(".json") {
        base
    } else {
        format!("{}/{MANIFEST_FILE}", base.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(from: Option<&str>, version: Option<&str>) -> UpgradeArgs {
        UpgradeArgs {
            check: false,
            version: version.map(String::from),
            from: from.map(String::from),
            allow_downgrade: false,
            no_restart: false,
            self_update: false,
        }
    }

    #[test]
    fn self_update_only_moves_forward_unless_allowed() {
        assert!(self_update_wanted("0.1.0", "0.2.0", false).unwrap());
        assert!(!self_update_wanted("0.1.0", "0.1.0", false).unwrap());
        assert!(!self_update_wanted("0.1.0", "0.0.9", false).unwrap());
        assert!(self_update_wanted("0.1.0", "0.0.9", true).unwrap());
        assert!(!self_update_wanted("0.1.0", "0.1.0", true).unwrap());
    }

    #[test]
    fn manifest_location() {
        assert_eq!(
            manifest_url(&args(Some("http://h/rel/"), None), None),
            "http://h/rel/release-manifest.json"
        );
        assert_eq!(
            manifest_url(&args(Some("/x/m.json"), None), Some("http://c")),
            "/x/m.json"
        );
        assert_eq!(
            manifest_url(&args(None, None), Some("http://c/r")),
            "http://c/r/release-manifest.json"
        );
        assert!(
            manifest_url(&args(None, Some("1.2.3")), None)
                .ends_with("/download/v1.2.3/release-manifest.json")
        );
        assert!(
            manifest_url(&args(None, None), None)
                .ends_with("/latest/download/release-manifest.json")
        );
    }
}
