//! The documents every `--json` run prints: one per run, validated by `status.schema.json`.
//!
//! The schema is generated from these types (`tests`/unit test `schema_is_current` fails on
//! drift and rewrites the file when `UPDATE_SCHEMA=1`), so types and schema cannot disagree.

#![deny(missing_docs)]

use std::path::PathBuf;

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

/// Where the gateway listens.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Endpoint {
    /// The MCP URL for local clients.
    pub url: String,
    /// Bind address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// MCP path.
    pub path: String,
    /// Unauthenticated health URL.
    pub health_url: String,
}

/// State directories.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Locations {
    /// Holds `config.toml` and `auth-token`.
    pub config_dir: PathBuf,
    /// Holds versions, receipt, logs and run state.
    pub data_dir: PathBuf,
    /// The gateway's log file.
    pub log_file: PathBuf,
}

/// The gateway process as the backend sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServiceState {
    /// Backend name, e.g. `process`.
    pub backend: String,
    /// `running`, `stopped` or `unhealthy`.
    pub state: RunState,
    /// Supervisor pid when running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Gateway process pid reported by `/healthz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_pid: Option<u32>,
    /// Seconds since the gateway started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// What the OS service manager reports (absent for the process backend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<ManagerState>,
    /// Where the gateway's output goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

/// The service manager's own view of the gateway's service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ManagerState {
    /// e.g. `active`, `inactive`, `failed`, `activating`.
    pub active: String,
    /// e.g. `enabled`, `disabled`, `not-found`.
    pub enabled: String,
    /// The manager's main pid for the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_pid: Option<u32>,
    /// How many times the manager restarted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// The unit / plist file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<PathBuf>,
}

/// Coarse run state.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Healthy and answering.
    Running,
    /// No gateway process.
    Stopped,
    /// A process exists but `/healthz` does not answer.
    Unhealthy,
    /// Nothing installed.
    NotInstalled,
}

/// Result of the `/healthz` probe.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HealthProbe {
    /// Whether the gateway answered.
    pub ok: bool,
    /// Probed URL.
    pub url: String,
    /// Version the gateway reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Round-trip time in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Why the probe failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

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

/// `start` and `stop` reports.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True when the gateway ended in the requested state.
    pub ok: bool,
    /// False when it already was in that state.
    pub changed: bool,
    /// Service state afterwards.
    pub service: ServiceState,
    /// Human summary.
    pub message: String,
}

/// `status`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True when installed, running and healthy.
    pub ok: bool,
    /// Whether a gateway version is installed.
    pub installed: bool,
    /// Active installed version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Version kept for rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// This binary's version.
    pub bootstrapper_version: String,
    /// Host target triple.
    pub target: String,
    /// Service state.
    pub service: ServiceState,
    /// Endpoint.
    pub endpoint: Endpoint,
    /// Health probe.
    pub health: HealthProbe,
    /// Whether the auth token file exists with safe permissions.
    pub token_configured: bool,
    /// State directories.
    pub locations: Locations,
    /// Problems found that the user should know about.
    pub warnings: Vec<String>,
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

/// `print-client-config`'s report.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClientConfigReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// True on success.
    pub ok: bool,
    /// Client name.
    pub client: String,
    /// How to apply the snippet (`shell`, `toml`, `json`).
    pub format: String,
    /// The file the snippet belongs in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// The ready-to-use snippet.
    pub snippet: String,
    /// Whether the token in the snippet is a placeholder.
    pub token_redacted: bool,
    /// MCP endpoint URL.
    pub url: String,
    /// `bridge` (the client starts `llm-cli-gateway bridge`) or `http`.
    pub transport: String,
    /// The same configuration as a command to run, where the client has one
    /// (`claude mcp add ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// What `--write` did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<WriteOutcome>,
}

/// The result of `print-client-config --write`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutcome {
    /// The client config file.
    pub file: PathBuf,
    /// The file did not exist and was created.
    pub created: bool,
    /// Copy of the file as it was before this change (absent when nothing changed or the
    /// file is new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// False when the entry was already exactly there.
    pub changed: bool,
}

impl Report {
    /// The report's own success flag.
    pub fn ok(&self) -> bool {
        match self {
            Report::Setup(r) => r.ok,
            Report::InstallBundle(r) => r.ok,
            Report::Upgrade(r) => r.ok,
            Report::Repair(r) => r.ok,
            Report::Start(r) | Report::Stop(r) => r.ok,
            Report::Status(r) => r.ok,
            Report::Uninstall(r) => r.ok,
            Report::PrintClientConfig(r) => r.ok,
        }
    }
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
