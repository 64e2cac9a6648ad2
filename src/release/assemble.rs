//! Assembling a release directory: the bootstrapper binary, the bundle, `SHA256SUMS` and
//! `release-manifest.json` (validated against its schema before it is written). Running it
//! for several targets into one directory extends the same manifest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::platform::hash::sha256_file;
use crate::release::bundle::{self, binary_file_name, standard_inputs, write_bundle};
use crate::release::checksums::{Checksums, Sha256Hex};
use crate::release::manifest::{
    self, Artifact, ArtifactKind, CHECKSUMS_FILE, ChecksumsRef, MANIFEST_FILE, Manifest,
};

pub struct Assembled {
    pub dir: PathBuf,
    pub bundle: PathBuf,
    pub binary: PathBuf,
    pub manifest: Manifest,
}

pub fn assemble(
    binary: &Path,
    out: &Path,
    version: &str,
    target: &str,
    base_url: Option<&str>,
) -> Result<Assembled> {
    semver::Version::parse(version)
        .map_err(|e| anyhow::anyhow!("--version {version:?} is not a semantic version: {e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("could not create {}", out.display()))?;
    let bundle_path = write_bundle(out, version, target, &standard_inputs(binary, target)?)?;
    let bin_name = binary_file_name(version, target);
    let bin_path = out.join(&bin_name);
    std::fs::copy(binary, &bin_path)
        .with_context(|| format!("could not copy {}", binary.display()))?;
    crate::platform::fsutil::set_mode(&bin_path, 0o755)?;

    let url = |name: &str| match base_url {
        Some(b) => format!("{}/{}", b.trim_end_matches('/'), name),
        None => name.to_string(),
    };
    let manifest_path = out.join(MANIFEST_FILE);
    let mut m = if manifest_path.exists() {
        let existing = Manifest::parse(
            &std::fs::read_to_string(&manifest_path)?,
            &manifest_path.display().to_string(),
        )?;
        if existing.version != version {
            bail!(
                "{} is for version {}, not {version}; use a fresh --out directory per release",
                manifest_path.display(),
                existing.version
            );
        }
        existing
    } else {
        Manifest {
            schema_version: 1,
            name: bundle::PRODUCT.into(),
            version: version.into(),
            released_at: Some(crate::platform::time::now_rfc3339()),
            artifacts: vec![],
            checksums: ChecksumsRef {
                name: CHECKSUMS_FILE.into(),
                url: url(CHECKSUMS_FILE),
            },
            signature: None,
        }
    };
    let sums_path = out.join(CHECKSUMS_FILE);
    let mut sums = if sums_path.exists() {
        Checksums::parse(&std::fs::read_to_string(&sums_path)?)?
    } else {
        Checksums::default()
    };
    for (kind, path) in [
        (ArtifactKind::Bundle, &bundle_path),
        (ArtifactKind::Binary, &bin_path),
    ] {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let sha = sha256_file(path)?;
        let size = std::fs::metadata(path)?.len();
        m.artifacts.retain(|a| a.name != name);
        m.artifacts.push(Artifact {
            kind,
            name: name.clone(),
            target: target.into(),
            size,
            sha256: sha.to_string(),
            url: url(&name),
        });
        sums.set(&name, sha);
    }
    m.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
    let value = serde_json::to_value(&m)?;
    manifest::validate_value(&value)
        .context("the assembled manifest fails release-manifest.schema.json")?;
    crate::platform::fsutil::write_atomic(
        "checksums",
        &sums_path,
        sums.render().as_bytes(),
        0o644,
    )?;
    let mut text = serde_json::to_string_pretty(&m)?;
    text.push('\n');
    crate::platform::fsutil::write_atomic(
        "release manifest",
        &manifest_path,
        text.as_bytes(),
        0o644,
    )?;
    Ok(Assembled {
        dir: out.to_path_buf(),
        bundle: bundle_path,
        binary: bin_path,
        manifest: m,
    })
}

/// Packs the running binary as a bundle into `dir` and returns the archive and its hash:
/// the embedded default that `setup` installs through the ordinary verified path.
pub fn embedded_bundle(dir: &Path) -> Result<(PathBuf, Sha256Hex)> {
    let exe = std::env::current_exe().context("locating this binary")?;
    std::fs::create_dir_all(dir)?;
    let path = bundle::write_bundle_with(
        dir,
        env!("CARGO_PKG_VERSION"),
        bundle::HOST_TARGET,
        &standard_inputs(&exe, bundle::HOST_TARGET)?,
        flate2::Compression::fast(),
    )?;
    let sha = sha256_file(&path)?;
    Ok((path, sha))
}
