//! `release-manifest.json`: typed view plus validation against the committed schema.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

pub const MANIFEST_SCHEMA: &str = include_str!("../../release-manifest.schema.json");
pub const MANIFEST_FILE: &str = "release-manifest.json";
pub const CHECKSUMS_FILE: &str = "SHA256SUMS";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    pub artifacts: Vec<Artifact>,
    pub checksums: ChecksumsRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    pub kind: ArtifactKind,
    pub name: String,
    pub target: String,
    pub size: u64,
    pub sha256: String,
    pub url: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Bundle,
    Binary,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChecksumsRef {
    pub name: String,
    pub url: String,
}

impl Manifest {
    /// Parses and validates against `release-manifest.schema.json`, listing every violation.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("the release manifest from {source} is not JSON: {e}"))?;
        validate_value(&value).map_err(|e| {
            anyhow::anyhow!("the release manifest from {source} fails its schema:\n{e}")
        })?;
        let manifest: Manifest = serde_json::from_value(value)?;
        if semver::Version::parse(&manifest.version).is_err() {
            bail!(
                "the release manifest from {source} has an invalid version {:?}",
                manifest.version
            );
        }
        Ok(manifest)
    }

    pub fn find(&self, kind: ArtifactKind, target: &str) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.kind == kind && a.target == target)
    }

    pub fn find_by_name(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    pub fn targets(&self, kind: ArtifactKind) -> Vec<&str> {
        self.artifacts
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.target.as_str())
            .collect()
    }
}

/// Validates a JSON value against the manifest schema; the error lists each violation with
/// its JSON pointer.
pub fn validate_value(value: &serde_json::Value) -> Result<()> {
    let schema: serde_json::Value = serde_json::from_str(MANIFEST_SCHEMA)?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| anyhow::anyhow!("release-manifest.schema.json is invalid: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            format!(
                "  at {}: {}",
                pointer_or_root(&e.instance_path().to_string()),
                e
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        bail!("{}", errors.join("\n"))
    }
}

fn pointer_or_root(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

/// Resolves an artifact URL that may be relative to the manifest's own location.
pub fn resolve_url(base: &str, url: &str) -> String {
    if url.contains("://") || base.is_empty() {
        return url.to_string();
    }
    match base.rfind('/') {
        Some(i) => format!("{}/{}", &base[..i], url),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "schema_version": 1, "name": "llm-cli-gateway", "version": "1.2.3",
            "artifacts": [{"kind": "bundle", "name": "b.tar.gz", "target": "x86_64-unknown-linux-gnu",
                           "size": 10, "sha256": "a".repeat(64), "url": "b.tar.gz"}],
            "checksums": {"name": "SHA256SUMS", "url": "SHA256SUMS"}
        })
    }

    #[test]
    fn accepts_valid_and_finds_artifacts() {
        let m = Manifest::parse(&sample().to_string(), "test").unwrap();
        assert!(
            m.find(ArtifactKind::Bundle, "x86_64-unknown-linux-gnu")
                .is_some()
        );
        assert!(
            m.find(ArtifactKind::Binary, "x86_64-unknown-linux-gnu")
                .is_none()
        );
    }

    #[test]
    fn rejects_schema_violations_with_pointer() {
        let mut v = sample();
        v["artifacts"][0]["sha256"] = "zz".into();
        v["version"] = "v1".into();
        let err = Manifest::parse(&v.to_string(), "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/artifacts/0/sha256"), "{err}");
        assert!(err.contains("/version"), "{err}");
        let mut v = sample();
        v["artifacts"][0]["url"] = "../../etc/passwd".into();
        assert!(Manifest::parse(&v.to_string(), "test").is_err());
        assert!(Manifest::parse("not json", "test").is_err());
    }

    #[test]
    fn resolves_relative_urls() {
        assert_eq!(
            resolve_url("http://h:1/r/release-manifest.json", "b.tgz"),
            "http://h:1/r/b.tgz"
        );
        assert_eq!(resolve_url("http://h/x", "https://o/b"), "https://o/b");
        assert_eq!(resolve_url("/tmp/r/release-manifest.json", "b"), "/tmp/r/b");
    }
}
