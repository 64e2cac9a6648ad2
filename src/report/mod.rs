//! The documents every `--json` run prints: one per run, validated by `status.schema.json`.
//!
//! The schema is generated from these types (`tests`/unit test `schema_is_current` fails on
//! drift and rewrites the file when `UPDATE_SCHEMA=1`), so types and schema cannot disagree.

#![deny(missing_docs)]

mod clients;
mod doctor;
mod lifecycle;
mod policy;
mod service;

pub use clients::*;
pub use doctor::*;
pub use lifecycle::*;
pub use policy::*;
pub use service::*;

use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field changes meaning or disappears; additions keep the number.
pub const SCHEMA_VERSION: u32 = 1;

/// One `--json` document: a command's report, or a failure.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Document {
    /// The command ran; `ok` says whether it achieved its goal.
    Report(Box<Report>),
    /// The command failed before it could report.
    Failure(Failure),
}

/// A command's report, discriminated by `command`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Report {
    /// `setup`.
    Setup(SetupReport),
    /// `install-bundle`.
    InstallBundle(InstallReport),
    /// `upgrade`.
    Upgrade(UpgradeReport),
    /// `repair`.
    Repair(RepairReport),
    /// `start`.
    Start(ServiceReport),
    /// `stop`.
    Stop(ServiceReport),
    /// `status`.
    Status(StatusReport),
    /// `uninstall`.
    Uninstall(UninstallReport),
    /// `print-client-config`.
    PrintClientConfig(ClientConfigReport),
    /// `doctor`.
    Doctor(Box<DoctorReport>),
    /// `policy`.
    Policy(PolicyReport),
}

/// A failed run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Failure {
    /// Version of this document format.
    pub schema_version: u32,
    /// The subcommand that failed.
    pub command: CommandName,
    /// Always false.
    pub ok: bool,
    /// What went wrong.
    pub error: ErrorInfo,
}

/// Subcommand names as they appear in `command`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CommandName {
    /// `setup`.
    Setup,
    /// `install-bundle`.
    InstallBundle,
    /// `upgrade`.
    Upgrade,
    /// `repair`.
    Repair,
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `status`.
    Status,
    /// `uninstall`.
    Uninstall,
    /// `print-client-config`.
    PrintClientConfig,
    /// `doctor`.
    Doctor,
    /// `policy`.
    Policy,
}

/// An error for machines and people.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorInfo {
    /// Stable identifier, e.g. `checksum-mismatch`, `not-installed`, `port-in-use`.
    pub code: String,
    /// What failed, with the file/URL involved.
    pub message: String,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The JSON Schema for [`Document`], as committed in `status.schema.json`.
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(Document);
    schema.insert(
        "$id".into(),
        "https://github.com/llm-cli-gateway/llm-cli-gateway/status.schema.json".into(),
    );
    schema.insert("title".into(), "llm-cli-gateway --json output".into());
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("status.schema.json");
        let fresh = super::schema_json();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "status.schema.json is out of date with src/report.rs; run `UPDATE_SCHEMA=1 cargo test schema_is_current`"
        );
    }
}
