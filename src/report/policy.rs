//! The `policy` document: the operator's `[policy]` as configured and as the gateway
//! applies it, and the table of what each level allows per provider.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

/// How much the operator lets connected clients make the CLIs do.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PolicyLevel {
    /// Read-only runs for every provider.
    Strict,
    /// Edits inside the workspace roots and network tools; never a bypass, yolo,
    /// full-access, always-approve or auto-approve mode.
    Balanced,
    /// Everything the CLIs offer.
    Permissive,
}

/// `policy`'s report: the policy in force and, when setting, what changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PolicyReport {
    /// Version of this document format.
    pub schema_version: u32,
    /// False when `[policy]` in config.toml is not valid (the gateway would refuse to
    /// start with it; see `problem`).
    pub ok: bool,
    /// Whether this run rewrote config.toml (false when showing, and when the values
    /// set were already configured).
    pub changed: bool,
    /// The file holding `[policy]`.
    pub config_file: PathBuf,
    /// The operator's level.
    pub level: PolicyLevel,
    /// What the level allows, in one line.
    pub level_summary: String,
    /// Whether `level` is written in config.toml (false: the default, balanced).
    pub level_configured: bool,
    /// `workspace_roots` as written (`~` not expanded); `["~"]` when not configured.
    pub workspace_roots: Vec<String>,
    /// Whether `workspace_roots` is written in config.toml (false: the default, `~`).
    pub workspace_roots_configured: bool,
    /// The roots as the gateway uses them: `~` expanded, symlinks resolved. Empty when
    /// the policy is not valid.
    pub resolved_workspace_roots: Vec<PathBuf>,
    /// The gateway's own directories: no caller path may be in, at or above them, at
    /// any level.
    pub protected_dirs: Vec<PathBuf>,
    /// Codex `-c` keys callers may set.
    pub codex_config_keys: CodexKeys,
    /// Whether decision records keep prompt previews (false: redacted; the prompt's
    /// SHA-256 is always kept).
    pub record_prompts: bool,
    /// What each level allows per provider.
    pub levels: Vec<ProviderLevels>,
    /// Why `[policy]` is not valid, naming the entry at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// When setting: how the change reaches the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<PolicyApplied>,
    /// One line for people: what happened.
    pub message: String,
}

/// How a changed policy reaches the gateway, which reads it at start.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyApplied {
    /// The running gateway was restarted and uses the new policy.
    Restarted,
    /// No gateway is running; it applies at the next start.
    AtNextStart,
    /// The policy in force did not change, so nothing needed restarting.
    Unchanged,
}

/// The Codex `-c` keys callers may set: the built-in ones and the operator's additions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CodexKeys {
    /// Harmless model and reasoning keys, allowed at every level.
    pub builtin: Vec<String>,
    /// `[policy] codex_config_keys`; `prefix.*` allows every key below `prefix`.
    pub operator: Vec<String>,
    /// Keys and prefixes (`prefix.*`) no level and no setting allows.
    pub denied: Vec<String>,
}

/// One provider's line of the level table.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderLevels {
    /// Provider id (`claude`, `codex`, `gemini`, `grok`, `mistral`).
    pub provider: String,
    /// Product name.
    pub name: String,
    /// What each level allows on top of the level below it, strict first.
    pub levels: Vec<LevelAllows>,
    /// What a run does when the caller names no mode, per level.
    pub defaults: Vec<LevelDefault>,
}

/// The request values a level adds, grouped by parameter.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LevelAllows {
    /// The level.
    pub level: PolicyLevel,
    /// `parameter: value, value` entries (`permissionMode: acceptEdits`); a bare
    /// parameter is a switch.
    pub values: Vec<String>,
}

/// What a run with no mode named does under a level.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LevelDefault {
    /// The level.
    pub level: PolicyLevel,
    /// `read-only`, `workspace-write` or `unrestricted`.
    pub tier: String,
    /// The mode the gateway names instead of the CLI's default, when the level forbids
    /// the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_mode: Option<String>,
}
