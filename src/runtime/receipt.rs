//! `receipt.json`: what we installed and created. `status`, `uninstall` (and later
//! `repair` and `upgrade`) act from this record rather than from guesses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::platform::fsutil;

pub const RECEIPT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Receipt {
    pub schema_version: u32,
    /// The active version (what `current` points at).
    #[serde(flatten)]
    pub active: VersionRecord,
    /// The version that was active before, kept for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    pub target: String,
    pub service_backend: String,
    /// Unit/plist/service definition path, when the backend has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_definition: Option<PathBuf>,
    /// Every path we created, so uninstall removes exactly these.
    #[serde(default)]
    pub created_paths: Vec<PathBuf>,
    /// The record of the previous version, so a rollback restores hashes and cache too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<VersionRecord>,
    /// Entries `print-client-config --write` put into client config files, so uninstall
    /// removes exactly those.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_entries: Vec<ClientEntry>,
    /// Keys written by a newer version survive a rewrite by this one. Declared last: the
    /// flattened fields before it take their keys first.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// One entry we wrote into a client's config file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientEntry {
    /// Client id (`claude-desktop`, `codex`, ...).
    pub client: String,
    pub file: PathBuf,
    /// The server name under which the entry was written.
    pub key: String,
    /// The command the entry runs; an entry no longer running it was changed by the user.
    pub command: String,
}

/// What the receipt knows about one installed version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct VersionRecord {
    pub version: String,
    /// Where the bundle came from (URL, path, or `embedded`).
    pub source: String,
    pub bundle_sha256: String,
    /// The verified archive kept in the cache, for reinstalling without the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_cache: Option<PathBuf>,
    /// Per-file hashes, relative to the version's directory.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    pub installed_at: String,
}

impl Receipt {
    /// Swaps active and previous (rollback). Returns false when there is no previous.
    pub fn swap_previous(&mut self) -> bool {
        let Some(prev) = self.previous.take() else {
            return false;
        };
        let active = std::mem::replace(&mut self.active, prev);
        self.previous_version = Some(active.version.clone());
        self.previous = Some(active);
        true
    }

    pub fn load(path: &Path) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = fsutil::read_to_string("install receipt", path)?;
        let receipt = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "the install receipt at {} is corrupt: {e}\nhelp: re-run `llm-cli-gateway setup --yes` to reinstall",
                path.display()
            )
        })?;
        Ok(Some(receipt))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        fsutil::write_atomic("install receipt", path, text.as_bytes(), 0o600)
    }

    /// Records a client entry; false when it was already recorded.
    pub fn record_client_entry(&mut self, entry: ClientEntry) -> bool {
        if let Some(old) = self
            .client_entries
            .iter_mut()
            .find(|e| e.client == entry.client && e.file == entry.file && e.key == entry.key)
        {
            if *old == entry {
                return false;
            }
            *old = entry;
            return true;
        }
        self.client_entries.push(entry);
        true
    }

    /// Adds paths to `created_paths`, keeping it free of duplicates.
    pub fn record_created(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for p in paths {
            if !self.created_paths.contains(&p) {
                self.created_paths.push(p);
            }
        }
    }
}

impl Receipt {
    /// Whether the active version's installed files (under `version_dir`) still hash as
    /// recorded.
    pub fn files_match(&self, version_dir: &Path) -> bool {
        !self.active.files.is_empty() && self.mismatched_files(version_dir).is_empty()
    }

    /// Installed files (relative to `version_dir`) that are missing or whose SHA-256
    /// differs from the receipt's.
    pub fn mismatched_files(&self, version_dir: &Path) -> Vec<String> {
        self.active
            .files
            .iter()
            .filter(|(rel, sha)| {
                !crate::platform::hash::sha256_file(&version_dir.join(rel))
                    .is_ok_and(|h| h.as_str() == sha.as_str())
            })
            .map(|(rel, _)| rel.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("receipt.json");
        std::fs::write(
            &p,
            r#"{"schema_version":1,"version":"1.0.0","target":"t","source":"s","bundle_sha256":"x",
               "service_backend":"process","installed_at":"now","future_key":{"a":1}}"#,
        )
        .unwrap();
        let r = Receipt::load(&p).unwrap().unwrap();
        assert_eq!(r.active.version, "1.0.0");
        assert_eq!(
            r.other.len(),
            1,
            "only unknown keys land in `other`: {:?}",
            r.other
        );
        r.save(&p).unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(saved["future_key"]["a"], 1);
        assert_eq!(saved["version"], "1.0.0");
        std::fs::write(&p, "{nope").unwrap();
        assert!(format!("{:#}", Receipt::load(&p).unwrap_err()).contains("corrupt"));
    }
}
