//! Turning a verified bundle archive into `versions/<version>/` and switching `current`.
//!
//! Order matters for crash safety: unpack into a staging directory next to `versions/`,
//! verify every file against `bundle.json`, rename the stage into place, and only then
//! switch `current` (an atomic rename). A failure at any step removes the stage and
//! leaves the previous install untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::release::bundle::{BUNDLE_JSON, BundleManifest, HOST_TARGET};
use crate::release::download::{VerifiedFile, sha256_file};
use crate::release::unpack::{Limits, unpack_tar_gz};
use crate::runtime::paths::Paths;

/// A staging directory that removes itself unless committed, so every early return
/// leaves the previous install untouched.
struct StageDir {
    path: PathBuf,
    committed: bool,
}

impl Drop for StageDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A bundle unpacked and checked in its staging directory, not yet in place.
pub struct Staged {
    dir: StageDir,
    pub manifest: BundleManifest,
    pub files: BTreeMap<String, String>,
}

/// Unpacks and verifies `bundle`. `expected_target` is normally [`HOST_TARGET`].
pub fn stage(paths: &Paths, bundle: &VerifiedFile, expected_target: &str) -> Result<Staged> {
    let versions = paths.versions_dir();
    crate::runtime::fsutil::create_private_dir(&versions)?;
    let guard = StageDir {
        path: versions.join(format!(".stage-{}-{}", std::process::id(), random_suffix())),
        committed: false,
    };
    let dir = guard.path.clone();
    let unpacked = unpack_tar_gz(&bundle.path, &dir, Limits::from_env())?;
    let manifest_path = dir.join(BUNDLE_JSON);
    if !manifest_path.is_file() {
        bail!(
            "the bundle has no bundle.json at its top level; it is not an llm-cli-gateway bundle"
        );
    }
    let manifest = BundleManifest::parse(&std::fs::read(&manifest_path)?)?;
    if manifest.target != expected_target {
        bail!(
            "the bundle is for target {}, but this machine needs {expected_target}\nhelp: download the bundle for {expected_target}",
            manifest.target
        );
    }
    let listed: BTreeMap<&str, &crate::release::bundle::BundleFile> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    for (path, _) in &unpacked.files {
        if path != BUNDLE_JSON && !listed.contains_key(path.as_str()) {
            bail!("the bundle holds {path:?}, which bundle.json does not list");
        }
    }
    let mut files = BTreeMap::new();
    for f in &manifest.files {
        crate::release::unpack::safe_relative_path(&f.path)?;
        let on_disk = dir.join(&f.path);
        if !on_disk.is_file() {
            if f.path == manifest.entrypoint {
                bail!(
                    "the bundle's entrypoint {:?} is missing from the archive",
                    f.path
                );
            }
            bail!(
                "bundle.json lists {:?}, which the archive does not contain",
                f.path
            );
        }
        let actual = sha256_file(&on_disk)?;
        if actual.as_str() != f.sha256.to_ascii_lowercase() {
            bail!(
                "bundle file {:?} does not match bundle.json: expected sha256 {}, got {}\nhelp: the bundle is corrupt or was tampered with; nothing was installed",
                f.path,
                f.sha256,
                actual
            );
        }
        let mode = if f.mode == "0755" { 0o755 } else { 0o644 };
        crate::runtime::fsutil::set_mode(&on_disk, mode)?;
        files.insert(f.path.clone(), actual.to_string());
    }
    Ok(Staged {
        dir: guard,
        manifest,
        files,
    })
}

/// Moves a staged bundle to `versions/<version>/`, replacing a same-version directory
/// (whose content differs, or it would not have been staged).
pub fn commit(paths: &Paths, mut staged: Staged) -> Result<PathBuf> {
    let dest = paths.version_dir(&staged.manifest.version);
    if dest.exists() {
        let aside = paths.versions_dir().join(format!(
            ".old-{}-{}",
            staged.manifest.version,
            random_suffix()
        ));
        std::fs::rename(&dest, &aside)
            .with_context(|| format!("could not move {} aside", dest.display()))?;
        if let Err(e) = std::fs::rename(&staged.dir.path, &dest) {
            let _ = std::fs::rename(&aside, &dest);
            return Err(e).with_context(|| format!("could not install into {}", dest.display()));
        }
        let _ = std::fs::remove_dir_all(&aside);
    } else {
        std::fs::rename(&staged.dir.path, &dest)
            .with_context(|| format!("could not install into {}", dest.display()))?;
    }
    staged.dir.committed = true;
    Ok(dest)
}

/// Atomically points `current` at `versions/<version>`.
pub fn switch_current(paths: &Paths, version: &str) -> Result<()> {
    let link = paths.current_link();
    let tmp = paths
        .data_dir
        .join(format!(".current.tmp-{}", std::process::id()));
    let _ = crate::runtime::fsutil::remove_path(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(Path::new("versions").join(version), &tmp)
        .with_context(|| format!("could not create {}", tmp.display()))?;
    #[cfg(not(unix))]
    std::fs::write(&tmp, version).with_context(|| format!("could not create {}", tmp.display()))?;
    std::fs::rename(&tmp, &link).with_context(|| format!("could not switch {}", link.display()))
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
    use crate::runtime::receipt::Receipt;
    let Some(mut receipt) = Receipt::load(&paths.receipt_file())? else {
        return Ok(None);
    };
    let Some(current) = current_version(paths) else {
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
        switch_current(paths, &recorded)?;
    }
    Ok(Some(Interrupted::Install { current, recorded }))
}

/// The version `current` names, if it points at an existing version directory.
pub fn current_version(paths: &Paths) -> Option<String> {
    let link = paths.current_link();
    #[cfg(unix)]
    let name = std::fs::read_link(&link)
        .ok()?
        .file_name()?
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    let name = std::fs::read_to_string(&link).ok()?.trim().to_string();
    paths.version_dir(&name).is_dir().then_some(name)
}

/// Removes version directories other than `keep` (current and previous) and stale stages.
pub fn prune(paths: &Paths, keep: &[&str]) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(paths.versions_dir()) else {
        return Ok(removed);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name.as_str()) {
            crate::runtime::fsutil::remove_path(&e.path())?;
            removed.push(e.path());
        }
    }
    Ok(removed)
}

fn random_suffix() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
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
    fetcher: &crate::release::download::Fetcher,
    resolved: &crate::release::resolve::Resolved,
    source_label: &str,
    progress: &dyn crate::release::download::Progress,
) -> Result<Outcome> {
    use crate::runtime::receipt::{RECEIPT_SCHEMA_VERSION, Receipt, now_rfc3339};

    let created = paths.ensure_dirs()?;
    let receipt = Receipt::load(&paths.receipt_file())?;
    let current = current_version(paths);
    if let Some(r) = &receipt
        && r.active.bundle_sha256 == resolved.sha256.as_str()
        && current.as_deref() == Some(r.active.version.as_str())
        && files_match(paths, r)
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
        .filter(|n| crate::release::unpack::safe_relative_path(n).is_ok() && !n.contains('/'))
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
    let staged =
        stage(paths, &verified, HOST_TARGET).and_then(|staged| match &resolved.manifest_version {
            Some(mv) if *mv != staged.manifest.version => bail!(
                "the release manifest says version {mv}, but the bundle's bundle.json says {}",
                staged.manifest.version
            ),
            _ => Ok(staged),
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
    let dest = commit(paths, staged)?;
    crate::runtime::failpoint::hit("install-before-switch");
    switch_current(paths, &version)?;
    crate::runtime::failpoint::hit("install-after-switch");
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
    prune(paths, &keep)?;
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
    r.active = crate::runtime::receipt::VersionRecord {
        version: version.clone(),
        source: source_label.to_string(),
        bundle_sha256: verified.sha256.to_string(),
        bundle_cache: Some(cached),
        files,
        installed_at: now_rfc3339(),
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

/// Whether the installed files of the receipt's version still hash as recorded.
pub fn files_match(paths: &Paths, receipt: &crate::runtime::receipt::Receipt) -> bool {
    !receipt.active.files.is_empty() && mismatched_files(paths, receipt).is_empty()
}

/// Installed files (relative to the version directory) that are missing or whose
/// SHA-256 differs from the receipt's.
pub fn mismatched_files(paths: &Paths, receipt: &crate::runtime::receipt::Receipt) -> Vec<String> {
    let dir = paths.version_dir(&receipt.active.version);
    receipt
        .active
        .files
        .iter()
        .filter(|(rel, sha)| !sha256_file(&dir.join(rel)).is_ok_and(|h| h.as_str() == sha.as_str()))
        .map(|(rel, _)| rel.clone())
        .collect()
}

/// The active version and its gateway binary, from `current` and its `bundle.json`.
pub fn installed_binary(paths: &Paths) -> Result<(String, PathBuf)> {
    let Some(version) = current_version(paths) else {
        bail!(crate::error::coded(
            "not-installed",
            "the gateway is not installed\nhelp: run `llm-cli-gateway setup`"
        ));
    };
    let dir = paths.version_dir(&version);
    let manifest = BundleManifest::parse(
        &std::fs::read(dir.join(BUNDLE_JSON))
            .with_context(|| format!("could not read {}", dir.join(BUNDLE_JSON).display()))?,
    )?;
    let bin = dir.join(&manifest.entrypoint);
    if !bin.is_file() {
        bail!(
            "the installed gateway binary {} is missing\nhelp: re-run `llm-cli-gateway setup` to reinstall",
            bin.display()
        );
    }
    Ok((version, bin))
}

/// Removes cached archives that neither the active nor the previous version needs.
fn prune_cache(paths: &Paths, r: &crate::runtime::receipt::Receipt) {
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
                let _ = crate::runtime::fsutil::remove_path(&e.path());
            }
        }
    }
}
