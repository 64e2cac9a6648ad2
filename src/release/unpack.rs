//! Hostile-input-safe unpacking of a verified bundle into a staging directory.
//!
//! Only plain relative names, regular files and directories are accepted. Links, devices
//! and FIFOs are refused (a link is the classic way out of the target directory), modes
//! are normalised (setuid/setgid/sticky dropped), and entry count and unpacked bytes are
//! capped so a decompression bomb stops early. Errors name the offending entry.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

pub const MAX_ENTRIES: usize = 10_000;
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;
/// Overrides [`MAX_UNPACKED_BYTES`] (used by tests to exercise the cap quickly).
pub const MAX_UNPACKED_ENV: &str = "LLM_CLI_GATEWAY_MAX_UNPACKED_BYTES";

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_bytes: u64,
}

impl Limits {
    pub fn from_env() -> Self {
        Self {
            max_entries: MAX_ENTRIES,
            max_bytes: std::env::var(MAX_UNPACKED_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(MAX_UNPACKED_BYTES),
        }
    }
}

/// Summary of what was unpacked: relative file paths with their sizes.
#[derive(Debug, Default)]
pub struct Unpacked {
    pub files: Vec<(String, u64)>,
    pub total_bytes: u64,
}

/// Unpacks the gzip'd tar at `archive` into `dest` (which must not exist yet).
pub fn unpack_tar_gz(archive: &Path, dest: &Path, limits: Limits) -> Result<Unpacked> {
    let file = std::fs::File::open(archive)
        .with_context(|| format!("could not open the bundle {}", archive.display()))?;
    std::fs::create_dir(dest).with_context(|| format!("could not create {}", dest.display()))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut tar = tar::Archive::new(gz);
    let mut out = Unpacked::default();
    let entries = tar.entries().map_err(|e| bad_archive(archive, e))?;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| bad_archive(archive, e))?;
        if index >= limits.max_entries {
            bail!(
                "the bundle has more than {} entries; refusing it as a decompression bomb",
                limits.max_entries
            );
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let rel = safe_relative_path(&name)?;
        let kind = entry.header().entry_type();
        let target = dest.join(&rel);
        match kind {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target)
                    .with_context(|| format!("could not create {}", target.display()))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("could not create {}", parent.display()))?;
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .with_context(|| {
                        format!("bundle entry {name:?} appears twice or cannot be written")
                    })?;
                let remaining = limits.max_bytes - out.total_bytes;
                let copied = std::io::copy(&mut (&mut entry).take(remaining + 1), &mut f)
                    .map_err(|e| bad_archive(archive, e))?;
                if copied > remaining {
                    bail!(
                        "the bundle unpacks to more than {} MiB (at entry {name:?}); refusing it as a decompression bomb",
                        limits.max_bytes >> 20
                    );
                }
                out.total_bytes += copied;
                crate::platform::fsutil::set_mode(&target, normalise_mode(mode))?;
                out.files.push((rel_string(&rel), copied));
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                bail!(
                    "bundle entry {name:?} is a {} to {link:?}; bundles may hold only regular files and directories",
                    if kind == tar::EntryType::Symlink {
                        "symlink"
                    } else {
                        "hard link"
                    }
                );
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => bail!(
                "bundle entry {name:?} is a {}; bundles may hold only regular files and directories",
                describe_kind(other)
            ),
        }
    }
    Ok(out)
}

fn bad_archive(archive: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "the bundle {} is not a valid .tar.gz: {e}",
        archive.display()
    )
}

/// Accepts only plain relative names made of normal components.
pub fn safe_relative_path(name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains('\0') || name.contains('\\') {
        bail!("bundle entry {name:?} has an invalid name");
    }
    let mut out = PathBuf::new();
    for comp in Path::new(name).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => bail!(
                "bundle entry {name:?} contains '..'; refusing to write outside the install directory"
            ),
            Component::RootDir | Component::Prefix(_) => {
                bail!(
                    "bundle entry {name:?} is an absolute path; bundles may hold only relative paths"
                )
            }
        }
    }
    if out.as_os_str().is_empty() {
        bail!("bundle entry {name:?} has an empty path");
    }
    Ok(out)
}

/// Executable bits survive as 0755, everything else becomes 0644; setuid, setgid and
/// sticky bits are dropped.
pub fn normalise_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 { 0o755 } else { 0o644 }
}

fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn describe_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        _ => "special entry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert!(safe_relative_path("bin/x").is_ok());
        assert!(safe_relative_path("./bin/x").is_ok());
        assert!(safe_relative_path("../x").is_err());
        assert!(safe_relative_path("a/../../x").is_err());
        assert!(safe_relative_path("/etc/passwd").is_err());
        assert!(safe_relative_path("").is_err());
        assert!(safe_relative_path(".").is_err());
        assert_eq!(normalise_mode(0o4755), 0o755);
        assert_eq!(normalise_mode(0o2644), 0o644);
    }
}
