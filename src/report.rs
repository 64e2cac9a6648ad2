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
    /// `doctor`.
    Doctor(Box<DoctorReport>),
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

/// `doctor`'s report: everything a working setup needs, and what to do next.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DoctorReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// False when something blocks use (see `problems` with severity `blocking`).
    pub ok: bool,
    /// This machine and this binary.
    pub system: SystemInfo,
    /// The installed gateway and whether its files still match the receipt.
    pub install: InstallCheck,
    /// Service backend and state.
    pub service: ServiceState,
    /// The `/healthz` probe.
    pub health: HealthProbe,
    /// How clients reach the gateway.
    pub transport: TransportCheck,
    /// The auth token (never its value).
    pub token: TokenCheck,
    /// Each provider CLI as the gateway service will see it.
    pub providers: Vec<ProviderCheck>,
    /// Each MCP client's config file and whether it points at this gateway.
    pub clients: Vec<crate::clients::ClientPresence>,
    /// What is wrong, most serious first.
    pub problems: Vec<Problem>,
    /// What to do, in the order a person should do it.
    pub next_actions: Vec<String>,
    /// How long doctor took, in milliseconds.
    pub duration_ms: u64,
}

/// The machine doctor ran on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SystemInfo {
    /// `linux`, `macos`, `windows`.
    pub os: String,
    /// CPU architecture, e.g. `x86_64`.
    pub arch: String,
    /// Target triple of this binary.
    pub target: String,
    /// This binary's version.
    pub bootstrapper_version: String,
    /// Where the state lives.
    pub locations: Locations,
}

/// The installed version and its integrity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InstallCheck {
    /// Whether a version is installed and `current` points at it.
    pub installed: bool,
    /// Active version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether `receipt.json` exists and parses.
    pub receipt: bool,
    /// Whether every installed file still has the SHA-256 the receipt recorded (absent
    /// when there is nothing to compare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_match: Option<bool>,
    /// Installed files whose hash differs or that are missing.
    pub mismatched_files: Vec<String>,
}

/// How the endpoint is exposed.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Exposure {
    /// Loopback only, no public URL: reachable from this machine alone.
    LocalOnly,
    /// Listening on a non-loopback address: reachable from the network over plain HTTP.
    Lan,
    /// A public HTTPS URL on a known tunnel service (ngrok, Cloudflare, Tailscale, …).
    Tunnel,
    /// A public HTTPS URL on some other host, assumed to be a reverse proxy.
    ReverseProxy,
    /// A public URL that is not HTTPS, or not a URL at all.
    Misconfigured,
}

/// Transport, endpoint and exposure.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TransportCheck {
    /// Always `streamable-http` for the service (stdio clients use `bridge`).
    pub transport: String,
    /// The URL local clients use.
    pub local_url: String,
    /// The configured public URL, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Exposure mode.
    pub exposure: Exposure,
    /// Whether the URL remote clients use is HTTPS (local only: not applicable, false).
    pub https: bool,
    /// Why doctor classified it so.
    pub detail: String,
    /// `--check-public-url`: the HEAD request's outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_check: Option<UrlCheck>,
}

/// Outcome of a HEAD request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UrlCheck {
    /// Whether any HTTP response came back.
    pub reachable: bool,
    /// The HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Round trip in milliseconds.
    pub latency_ms: f64,
}

/// The auth token's state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TokenCheck {
    /// Whether the token file exists with safe permissions and a usable token.
    pub configured: bool,
    /// The token file (never its contents).
    pub file: PathBuf,
    /// What is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One provider CLI.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderCheck {
    /// Provider id (`claude`, `codex`, `gemini`, `grok`, `mistral`).
    pub id: String,
    /// Product name.
    pub name: String,
    /// Executable name.
    pub binary: String,
    /// Whether the executable is on the PATH the gateway uses.
    pub found: bool,
    /// Where it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// First line of `--version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why there is no version (e.g. `timed out after 5000 ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_error: Option<String>,
    /// Login state from a safe, non-interactive check.
    pub login: crate::providers::auth::LoginStatus,
    /// The evidence for `login`.
    pub login_detail: String,
    /// How to install it (when not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    /// How to log in (when not authenticated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Milliseconds this provider's probes took.
    pub duration_ms: u64,
}

/// Something doctor found wrong.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// `blocking` stops the gateway from being used; `warning` does not.
    pub severity: Severity,
    /// Which check: `install`, `service`, `transport`, `token`, `provider:<id>`, `client:<id>`.
    pub check: String,
    /// What is wrong.
    pub message: String,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Blocks use; doctor exits 1.
    Blocking,
    /// Worth fixing.
    Warning,
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
            Report::Doctor(r) => r.ok,
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
