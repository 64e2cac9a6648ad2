//! Installing a release into this machine's home: the release part verifies, unpacks
//! and switches versions in the directories it is given; this module gives it those
//! directories and records what happened in the receipt, which `status`, `repair`,
//! `upgrade` and `uninstall` act from.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::platform::build::HOST_TARGET;
use crate::release::bundle::{BUNDLE_JSON, entrypoint_for};
use crate::release::download::{Fetcher, Progress};
use crate::release::install::{self, Slots};
use crate::release::resolve::Resolved;
use crate::release::unpack::safe_relative_path;
use crate::runtime::paths::Paths;
use crate::runtime::receipt::{RECEIPT_SCHEMA_VERSION, Receipt, VersionRecord};
use crate::runtime::service::Program;

/// The release part's view of this home: `versions/` and `current`.
pub fn slots(paths: &Paths) -> Slots {
    Slots {
        versions: paths.versions_dir(),
        current: paths.current_link(),
    }
}

/// The active version and its entrypoint, read from `current` and its `bundle.json`:
/// what the service runs. Fails with `not-installed` when nothing is.
pub fn installed(paths: &Paths) -> Result<Program> {
    let (version, binary) = install::installed_binary(&slots(paths))?;
    Ok(Program { version, binary })
}

/// The entrypoint through `current`, which OS service definitions name so that they
/// survive upgrades.
pub fn service_program(paths: &Paths) -> PathBuf {
    paths.current_link().join(entrypoint_for(HOST_TARGET))
}

/// What [`reconcile_interrupted`] found (and, when applying, did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupted {
    /// `current` names the receipt's previous version: a rollback was cut off before
    /// its receipt was saved. Finishing it swaps the receipt's active and previous.
    Rollback { to: String },
    /// `current` names a version the receipt does not record: an install was cut off
    /// before its receipt was saved. Reverting points `current` back at the recorded
    /// version (the one the gateway still runs); the upgrade can then be redone.
    Install { current: String, recorded: String },
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rollback { to } => write!(
                f,
                "a rollback to {to} was cut off before the receipt was updated"
            ),
            Self::Install { current, recorded } => write!(
                f,
                "an install of {current} was cut off before the receipt was updated (`current` names {current}, the receipt {recorded})"
            ),
        }
    }
}

/// `current` is switched before the receipt is saved, so the two disagree only after a
/// crash between those steps. Finds that case and, with `apply`, completes the rollback
/// or reverts the install, so the receipt and `current` agree again.
pub fn reconcile_interrupted(paths: &Paths, apply: bool) -> Result<Option<Interrupted>> {
    let Some(mut receipt) = Receipt::load(&paths.receipt_file())? else {
        return Ok(None);
    };
    let Some(current) = paths.current_version() else {
        return Ok(None);
    };
    let recorded = receipt.active.version.clone();
    if current == recorded {
        return Ok(None);
    }
    if receipt.previous_version.as_deref() == Some(current.as_str()) && receipt.previous.is_some() {
        if apply {
            receipt.swap_previous();
            receipt.save(&paths.receipt_file())?;
        }
        return Ok(Some(Interrupted::Rollback { to: current }));
    }
    if !paths.version_dir(&recorded).join(BUNDLE_JSON).is_file() {
        return Ok(None); // nothing to revert to: repair reinstalls the recorded version
    }
    if apply {
        install::switch_current(&slots(paths), &recorded)?;
    }
    Ok(Some(Interrupted::Install { current, recorded }))
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub version: String,
    pub previous_version: Option<String>,
    pub sha256: String,
    pub target: String,
    pub path: PathBuf,
    pub changed: bool,
}

/// Fetches, verifies and installs a resolved bundle, then records it in the receipt.
/// Re-installing the bundle that is already active changes nothing.
pub async fn fetch_and_install(
    paths: &Paths,
    fetcher: &Fetcher,
    resolved: &Resolved,
    source_label: &str,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let created = paths.ensure_dirs()?;
    let receipt = Receipt::load(&paths.receipt_file())?;
    let current = paths.current_version();
    if let Some(r) = &receipt
        && r.active.bundle_sha256 == resolved.sha256.as_str()
        && current.as_deref() == Some(r.active.version.as_str())
        && r.files_match(&paths.version_dir(&r.active.version))
    {
        return Ok(Outcome {
            version: r.active.version.clone(),
            previous_version: r.previous_version.clone(),
            sha256: r.active.bundle_sha256.clone(),
            target: r.target.clone(),
            path: paths.version_dir(&r.active.version),
            changed: false,
        });
    }
    let name = resolved
        .source
        .file_name()
        .filter(|n| safe_relative_path(n).is_ok() && !n.contains('/'))
        .unwrap_or_else(|| format!("bundle-{}.tar.gz", resolved.sha256));
    // The hash in the name keeps a new download from ever replacing the archive that the
    // active version may need for repair.
    let cached = paths
        .cache_dir()
        .join(format!("{}-{name}", &resolved.sha256.as_str()[..12]));
    let referenced = receipt.as_ref().is_some_and(|r| {
        r.active.bundle_cache.as_ref() == Some(&cached)
            || r.previous.as_ref().and_then(|p| p.bundle_cache.as_ref()) == Some(&cached)
    });
    let verified = fetcher
        .download_verified(&resolved.source, &resolved.sha256, &cached, progress)
        .await?;
    let staged = install::stage(&slots(paths), &verified, HOST_TARGET).and_then(|staged| {
        match &resolved.manifest_version {
            Some(mv) if *mv != staged.manifest.version => bail!(
                "the release manifest says version {mv}, but the bundle's bundle.json says {}",
                staged.manifest.version
            ),
            _ => Ok(staged),
        }
    });
    let staged = match staged {
        Ok(s) => s,
        Err(e) => {
            if !referenced {
                let _ = std::fs::remove_file(&cached);
            }
            return Err(e);
        }
    };
    let version = staged.manifest.version.clone();
    let target = staged.manifest.target.clone();
    let files = staged.files.clone();
    let dest = install::commit(&slots(paths), staged)?;
    crate::platform::failpoint::hit("install-before-switch");
    install::switch_current(&slots(paths), &version)?;
    crate::platform::failpoint::hit("install-after-switch");
    // Reinstalling the active version (repair) keeps the previous one for rollback.
    let reinstall = current.as_deref() == Some(version.as_str());
    let previous = if reinstall {
        receipt.as_ref().and_then(|r| r.previous_version.clone())
    } else {
        current.filter(|c| *c != version)
    };
    let mut keep = vec![version.as_str()];
    if let Some(p) = &previous {
        keep.push(p.as_str());
    }
    install::prune(&slots(paths), &keep)?;
    let mut r = receipt.unwrap_or_else(|| Receipt {
        schema_version: RECEIPT_SCHEMA_VERSION,
        service_backend: crate::runtime::service::PROCESS_BACKEND.into(),
        ..Default::default()
    });
    let old = r.active.clone();
    if !reinstall {
        r.previous = previous
            .as_ref()
            .filter(|p| **p == old.version)
            .map(|_| old);
    }
    r.previous_version = previous.clone();
    r.target = target.clone();
    r.active = VersionRecord {
        version: version.clone(),
        source: source_label.to_string(),
        bundle_sha256: verified.sha256.to_string(),
        bundle_cache: Some(cached),
        files,
        installed_at: crate::platform::time::now_rfc3339(),
    };
    r.record_created(created);
    r.record_created(paths.state_dirs());
    r.record_created([paths.current_link(), paths.receipt_file()]);
    r.save(&paths.receipt_file())?;
    prune_cache(paths, &r);
    Ok(Outcome {
        version,
        previous_version: previous,
        sha256: verified.sha256.to_string(),
        target,
        path: dest,
        changed: true,
    })
}

/// Removes cached archives that neither the active nor the previous version needs.
fn prune_cache(paths: &Paths, r: &Receipt) {
    let keep: Vec<&PathBuf> = [
        r.active.bundle_cache.as_ref(),
        r.previous.as_ref().and_then(|p| p.bundle_cache.as_ref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Ok(entries) = std::fs::read_dir(paths.cache_dir()) {
        for e in entries.flatten() {
            if !keep.contains(&&e.path()) {
                let _ = crate::platform::fsutil::remove_path(&e.path());
            }
        }
    }
}
