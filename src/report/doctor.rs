//! The `doctor` document: system, install, service, transport, token, provider CLIs, clients.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use super::*;

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
    /// The jobs database (`gateway.db`).
    pub database: DatabaseCheck,
    /// Each provider CLI as the gateway service will see it.
    pub providers: Vec<ProviderCheck>,
    /// Each MCP client's config file and whether it points at this gateway.
    pub clients: Vec<ClientPresence>,
    /// The operator's policy: what connected clients may make the CLIs do.
    pub policy: PolicyCheck,
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

/// The operator's `[policy]` as the gateway will apply it at start.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyCheck {
    /// Whether `[policy]` is valid; the gateway refuses to start when it is not.
    pub valid: bool,
    /// The operator's level (the configured one even when another entry is invalid;
    /// the default, balanced, when `[policy]` cannot be read at all).
    pub level: PolicyLevel,
    /// The workspace roots, resolved (empty when the policy is not valid).
    pub workspace_roots: Vec<PathBuf>,
    /// Whether decision records keep prompt previews.
    pub record_prompts: bool,
    /// Why the policy is not valid, naming the entry at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The jobs database's state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DatabaseCheck {
    /// The database file.
    pub file: PathBuf,
    /// What doctor found.
    pub state: DatabaseState,
    /// Why it is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a jobs database check found.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseState {
    /// A SQLite database that passes `PRAGMA quick_check`.
    Ok,
    /// No file: the gateway creates it when it starts; a running gateway whose file was
    /// deleted writes into nothing until it restarts.
    Missing,
    /// Not a SQLite database, or `PRAGMA quick_check` found damage.
    Corrupt,
    /// Could not be checked (permissions, locked); not judged corrupt.
    Unreadable,
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
    /// Which check: `config`, `install`, `service`, `log`, `transport`, `token`, `policy`,
    /// `database`, `providers`, `provider:<id>`, `client:<id>`.
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
            Report::Policy(r) => r.ok,
        }
    }
}
