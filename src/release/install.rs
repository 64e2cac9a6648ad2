//! Turning a verified bundle archive into `versions/<version>/` and switching `current`.
//!
//! Order matters for crash safety: unpack into a staging directory next to `versions/`,
//! verify every file against `bundle.json`, rename the stage into place, and only then
//! switch `current` (an atomic rename). A failure at any step removes the stage and
//! leaves the previous install untouched.
//!
//! This module knows only the two places it is given ([`Slots`]); what was installed is
//! recorded by the caller (the receipt belongs to the runtime, not to releases).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::platform::hash::sha256_file;
use crate::release::bundle::{BUNDLE_JSON, BundleManifest};
use crate::release::download::VerifiedFile;
use crate::release::unpack::{Limits, unpack_tar_gz};

/// Where versions are unpacked and which one is active: `versions/<version>/` and the
/// `current` link beside it.
#[derive(Debug, Clone)]
pub struct Slots {
    pub versions: PathBuf,
    pub current: PathBuf,
}

impl Slots {
    pub fn version_dir(&self, version: &str) -> PathBuf {
        self.versions.join(version)
    }
}

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
pub fn stage(slots: &Slots, bundle: &VerifiedFile, expected_target: &str) -> Result<Staged> {
    let versions = &slots.versions;
    crate::platform::fsutil::create_private_dir(versions)?;
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
        crate::platform::fsutil::set_mode(&on_disk, mode)?;
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
pub fn commit(slots: &Slots, mut staged: Staged) -> Result<PathBuf> {
    let dest = slots.version_dir(&staged.manifest.version);
    if dest.exists() {
        let aside = slots.versions.join(format!(
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
pub fn switch_current(slots: &Slots, version: &str) -> Result<()> {
    let beside = slots.current.parent() == slots.versions.parent();
    let target = match slots.versions.file_name() {
        Some(dir) if beside => Path::new(dir).join(version),
        _ => slots.version_dir(version),
    };
    crate::platform::fsutil::switch_link(&slots.current, &target)
}

/// The version `current` names, if it points at an existing version directory.
pub fn current_version(slots: &Slots) -> Option<String> {
    let name = crate::platform::fsutil::link_name(&slots.current)?;
    slots.version_dir(&name).is_dir().then_some(name)
}

/// Removes version directories other than `keep` (current and previous) and stale stages.
pub fn prune(slots: &Slots, keep: &[&str]) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(&slots.versions) else {
        return Ok(removed);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name.as_str()) {
            crate::platform::fsutil::remove_path(&e.path())?;
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

/// The active version and its gateway binary, from `current` and its `bundle.json`.
pub fn installed_binary(slots: &Slots) -> Result<(String, PathBuf)> {
    let Some(version) = current_version(slots) else {
        bail!(crate::platform::error::coded(
            "not-installed",
            "the gateway is not installed\nhelp: run `llm-cli-gateway setup`"
        ));
    };
    let dir = slots.version_dir(&version);
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
