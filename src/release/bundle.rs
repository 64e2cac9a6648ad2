//! Bundles: `llm-cli-gateway-bundle-<version>-<target>.tar.gz` holding `bundle.json`, the
//! gateway binary and shared files. Packing is deterministic (sorted entries, fixed owner
//! and mtime) so the same binary always gives the same bundle hash.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::platform::hash::sha256_bytes;

pub use crate::platform::build::{HOST_TARGET, PRODUCT};
pub const BUNDLE_JSON: &str = "bundle.json";
pub const STATUS_SCHEMA: &str = include_str!("../../status.schema.json");

/// The version in `bundle.json` of the bundle whose entrypoint is this executable
/// (`versions/<v>/bin/llm-cli-gateway` → `versions/<v>/bundle.json`), if it is one.
pub fn version_of_current_exe() -> Option<String> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    exe.ancestors().skip(1).take(3).find_map(|root| {
        let bytes = std::fs::read(root.join(BUNDLE_JSON)).ok()?;
        let manifest = BundleManifest::parse(&bytes).ok()?;
        let entry = root.join(&manifest.entrypoint).canonicalize().ok()?;
        (entry == exe).then_some(manifest.version)
    })
}

/// The entrypoint's path inside a bundle for `target`.
pub fn entrypoint_for(target: &str) -> String {
    if target.contains("windows") {
        format!("bin/{PRODUCT}.exe")
    } else {
        format!("bin/{PRODUCT}")
    }
}

pub fn bundle_file_name(version: &str, target: &str) -> String {
    format!("{PRODUCT}-bundle-{version}-{target}.tar.gz")
}

pub fn binary_file_name(version: &str, target: &str) -> String {
    let ext = if target.contains("windows") {
        ".exe"
    } else {
        ""
    };
    format!("{PRODUCT}-{version}-{target}{ext}")
}

/// `bundle.json`: what the bundle holds, with a hash and mode per file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub target: String,
    pub entrypoint: String,
    pub files: Vec<BundleFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundleFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// Octal permission bits, `"0755"` or `"0644"`.
    pub mode: String,
}

impl BundleManifest {
    /// Parses and checks the fields that do not need the unpacked files.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let m: BundleManifest = serde_json::from_slice(bytes)
            .map_err(|e| anyhow::anyhow!("bundle.json is malformed: {e}"))?;
        if m.schema_version != 1 {
            bail!(
                "bundle.json has schema_version {}, this version understands 1\nhelp: upgrade the bootstrapper",
                m.schema_version
            );
        }
        if m.name != PRODUCT {
            bail!(
                "bundle.json names product {:?}, expected {PRODUCT:?}",
                m.name
            );
        }
        semver::Version::parse(&m.version).map_err(|e| {
            anyhow::anyhow!("bundle.json has an invalid version {:?}: {e}", m.version)
        })?;
        if !m.files.iter().any(|f| f.path == m.entrypoint) {
            bail!(
                "bundle.json names entrypoint {:?} but does not list that file",
                m.entrypoint
            );
        }
        for f in &m.files {
            if f.mode != "0755" && f.mode != "0644" {
                bail!(
                    "bundle.json gives {} mode {:?}; only 0755 and 0644 are allowed",
                    f.path,
                    f.mode
                );
            }
            crate::release::checksums::Sha256Hex::parse(&f.sha256)
                .map_err(|e| anyhow::anyhow!("bundle.json entry {}: {e}", f.path))?;
        }
        Ok(m)
    }
}

/// One file to put in a bundle.
pub struct BundleInput {
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// The standard contents: the gateway binary and the status schema.
pub fn standard_inputs(binary: &Path, target: &str) -> Result<Vec<BundleInput>> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("could not read the gateway binary {}", binary.display()))?;
    Ok(vec![
        BundleInput {
            path: entrypoint_for(target),
            bytes,
            executable: true,
        },
        BundleInput {
            path: "status.schema.json".into(),
            bytes: STATUS_SCHEMA.as_bytes().to_vec(),
            executable: false,
        },
    ])
}

/// Writes a bundle archive for `inputs` into `out_dir` and returns its path.
pub fn write_bundle(
    out_dir: &Path,
    version: &str,
    target: &str,
    inputs: &[BundleInput],
) -> Result<PathBuf> {
    write_bundle_with(
        out_dir,
        version,
        target,
        inputs,
        flate2::Compression::best(),
    )
}

/// As [`write_bundle`] with a chosen compression level; the embedded bundle that `setup`
/// packs for itself favours speed, since it never travels over a network.
pub fn write_bundle_with(
    out_dir: &Path,
    version: &str,
    target: &str,
    inputs: &[BundleInput],
    level: flate2::Compression,
) -> Result<PathBuf> {
    let manifest = BundleManifest {
        schema_version: 1,
        name: PRODUCT.into(),
        version: version.into(),
        target: target.into(),
        entrypoint: entrypoint_for(target),
        files: inputs
            .iter()
            .map(|i| BundleFile {
                path: i.path.clone(),
                sha256: sha256_bytes(&i.bytes),
                size: i.bytes.len() as u64,
                mode: if i.executable { "0755" } else { "0644" }.into(),
            })
            .collect(),
    };
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');
    let mut entries: Vec<(String, &[u8], u32)> = vec![(BUNDLE_JSON.into(), &json, 0o644)];
    for i in inputs {
        entries.push((
            i.path.clone(),
            &i.bytes,
            if i.executable { 0o755 } else { 0o644 },
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let dest = out_dir.join(bundle_file_name(version, target));
    let file = std::fs::File::create(&dest)
        .with_context(|| format!("could not create {}", dest.display()))?;
    let gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), level);
    let mut tar = tar::Builder::new(gz);
    let mut dirs_done: Vec<String> = Vec::new();
    for (path, bytes, mode) in entries {
        // Directory entries first so that every unpacker creates them with sane modes.
        let mut prefix = String::new();
        for comp in path.split('/').take(path.split('/').count() - 1) {
            prefix.push_str(comp);
            prefix.push('/');
            if !dirs_done.contains(&prefix) {
                let mut h = deterministic_header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut h, &prefix, std::io::empty())?;
                dirs_done.push(prefix.clone());
            }
        }
        let mut h = deterministic_header(tar::EntryType::Regular, mode, bytes.len() as u64);
        tar.append_data(&mut h, &path, bytes)?;
    }
    let gz = tar.into_inner()?;
    let mut buf = gz.finish()?;
    buf.flush()?;
    buf.into_inner()
        .map_err(|e| anyhow::anyhow!("could not flush {}: {}", dest.display(), e.error()))?
        .sync_all()?;
    Ok(dest)
}

fn deterministic_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(source_date_epoch());
    h
}

fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_700_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_parseable() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = || {
            vec![BundleInput {
                path: "bin/llm-cli-gateway".into(),
                bytes: b"#!/bin/sh\n".to_vec(),
                executable: true,
            }]
        };
        let a = write_bundle(dir.path(), "1.0.0", "x86_64-unknown-linux-gnu", &inputs()).unwrap();
        let first = std::fs::read(&a).unwrap();
        let b = write_bundle(dir.path(), "1.0.0", "x86_64-unknown-linux-gnu", &inputs()).unwrap();
        assert_eq!(first, std::fs::read(&b).unwrap());
        assert!(a.ends_with("llm-cli-gateway-bundle-1.0.0-x86_64-unknown-linux-gnu.tar.gz"));
    }

    #[test]
    fn rejects_bad_bundle_json() {
        let good = r#"{"schema_version":1,"name":"llm-cli-gateway","version":"1.0.0","target":"t",
            "entrypoint":"bin/x","files":[{"path":"bin/x","sha256":"SHA","size":1,"mode":"0755"}]}"#;
        let ok = good.replace("SHA", &"a".repeat(64));
        assert!(BundleManifest::parse(ok.as_bytes()).is_ok());
        assert!(BundleManifest::parse(ok.replace("\"0755\"", "\"4755\"").as_bytes()).is_err());
        assert!(BundleManifest::parse(ok.replace("\"1.0.0\"", "\"one\"").as_bytes()).is_err());
        assert!(
            BundleManifest::parse(
                ok.replace("\"entrypoint\":\"bin/x\"", "\"entrypoint\":\"bin/y\"")
                    .as_bytes()
            )
            .is_err()
        );
        assert!(BundleManifest::parse(good.as_bytes()).is_err());
        assert!(BundleManifest::parse(b"{").is_err());
    }
}
