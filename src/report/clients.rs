//! What `print-client-config` printed or wrote, and which MCP clients point at us (doctor).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

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

/// Whether a client has us configured, for `doctor`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClientPresence {
    /// Client id, as `--client` takes it (`claude-desktop`, `codex`, ...).
    pub client: String,
    /// Display name, e.g. `Claude Desktop`.
    pub name: String,
    /// The client's config file for this user (empty when there is no home directory).
    pub config_file: PathBuf,
    /// Whether that file exists.
    pub exists: bool,
    /// Whether it has an entry named `llm-cli-gateway`, or one running an
    /// `llm-cli-gateway bridge` or aimed at this gateway's URL.
    pub has_entry: bool,
    /// Whether such an entry reaches this installation: it runs our bridge for this home,
    /// or targets the configured local or public URL.
    pub points_at_gateway: bool,
    /// Why the file could not be read or understood (e.g. `malformed at 3:7: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}
