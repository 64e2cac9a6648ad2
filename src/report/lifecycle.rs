//! Reports of the commands that change an install: setup, install-bundle, upgrade, repair, uninstall.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use super::*;

/// `setup`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SetupReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True when the gateway is installed, running and healthy.
    pub ok: bool,
    /// False when everything was already in place.
    pub changed: bool,
    /// What was done, in order.
    pub actions: Vec<String>,
    /// Installed gateway version.
    pub version: String,
    /// Where the bundle came from (`embedded`, a URL or a path).
    pub source: String,
    /// State directories.
    pub locations: Locations,
    /// Endpoint.
    pub endpoint: Endpoint,
    /// Path of the 0600 token file (never the token).
    pub token_file: PathBuf,
    /// Service state after setup.
    pub service: ServiceState,
    /// Why `--service-backend auto` (the default on a first setup) picked this backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_reason: Option<String>,
    /// What to do next.
    pub next_steps: Vec<String>,
}

/// `repair`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepairReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True when everything found was fixed (or, with `--dry-run`, listed).
    pub ok: bool,
    /// `--dry-run`: findings only.
    pub dry_run: bool,
    /// Whether anything was changed.
    pub changed: bool,
    /// What was found, one entry per problem.
    pub findings: Vec<Finding>,
}

/// One problem `repair` found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// `missing-dir`, `wrong-mode`, `token-missing`, `current-pointer`, `file-hash`,
    /// `service-definition`, `gateway-down`.
    pub kind: String,
    /// What exactly is wrong.
    pub detail: String,
    /// Whether this run fixed it.
    pub fixed: bool,
    /// Why it could not be fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `upgrade`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpgradeReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True on success (a rollback is a failure document instead).
    pub ok: bool,
    /// Whether anything was installed.
    pub changed: bool,
    /// `--check`: only compared versions.
    pub check_only: bool,
    /// Active version before this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_version: Option<String>,
    /// Version the release manifest offers.
    pub available_version: String,
    /// The manifest offers a newer version than the installed one.
    pub update_available: bool,
    /// Active version after this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the manifest came from.
    pub source: String,
    /// Whether the running gateway was restarted onto the new version.
    pub restarted: bool,
    /// `--self`: the bootstrapper file replaced with the release's verified binary (only
    /// after the bundle upgrade succeeded, and only by a newer release unless
    /// `--allow-downgrade`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_bootstrapper: Option<String>,
}

/// `install-bundle`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstallReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True on success.
    pub ok: bool,
    /// False when this exact bundle was already the active version.
    pub changed: bool,
    /// Installed version.
    pub version: String,
    /// Version active before, kept for rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// Bundle source.
    pub source: String,
    /// Verified SHA-256 of the bundle archive.
    pub sha256: String,
    /// Bundle target triple.
    pub target: String,
    /// Install directory.
    pub path: PathBuf,
    /// Whether a running gateway was restarted onto this version.
    pub restarted: bool,
}

/// One thing uninstall removes or would remove.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Removal {
    /// `file`, `directory`, `process`, `service` or `client-entry`.
    pub kind: String,
    /// Path, `pid N` for a process, `FILE#KEY` for an entry in a client's config file.
    pub target: String,
}

/// `uninstall`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UninstallReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True on success.
    pub ok: bool,
    /// True when nothing was changed (no `--yes`).
    pub dry_run: bool,
    /// Whether anything was removed.
    pub changed: bool,
    /// What was (or would be) removed.
    pub removals: Vec<Removal>,
    /// Things deliberately left alone.
    pub kept: Vec<String>,
}
