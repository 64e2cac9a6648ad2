//! The service as `status`, `start` and `stop` report it: endpoint, files, manager view, health.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

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
    /// Log lines the running gateway could not write since it started (full disk,
    /// unwritable log file): dropped, never waited for. From `/healthz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_log_lines: Option<u64>,
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
