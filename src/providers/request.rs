//! The parameters every `<provider>_request` tool shares, and their validation.
//!
//! Names follow the original TypeScript gateway so existing clients and prompts keep
//! working: `prompt`, `model`, `outputFormat`, `sessionId`, `resumeLatest`,
//! `createNewSession`, `allowedTools`, `disallowedTools`, `permissionMode`, `cwd`,
//! `idleTimeoutMs`, `maxRuntimeMs`, `forceRefresh`, `correlationId`.

use std::path::PathBuf;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The most a prompt may hold. Argv limits (128 KiB per argument on Linux) sit just
/// above; a bigger prompt would fail at spawn with a less helpful error.
pub const MAX_PROMPT_CHARS: usize = 100_000;

/// Shortest idle timeout a caller may ask for; below this a CLI's own start-up (Gemini
/// takes ~1.5 s) would be mistaken for a hang.
pub const MIN_IDLE_TIMEOUT_MS: u64 = 200;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// The prompt to send (1–100,000 characters).
    pub prompt: String,
    /// Model name or alias (see `list_models`); omitted or "default" uses the configured
    /// default, else the CLI's own.
    #[serde(default)]
    pub model: Option<String>,
    /// Output format requested from the CLI (see each tool's enum). JSON formats let the
    /// gateway record token usage and cost.
    #[serde(default)]
    pub output_format: Option<String>,
    /// Resume this session: the CLI's own session id, or a gateway session id from
    /// `session_create`.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Resume the most recent session of this CLI in `cwd`.
    #[serde(default)]
    pub resume_latest: bool,
    /// Always start a new session (the default when no session is named).
    #[serde(default)]
    pub create_new_session: bool,
    /// Tools the CLI may use without asking.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Tools the CLI must not use.
    #[serde(default)]
    pub disallowed_tools: Option<Vec<String>>,
    /// Permission / approval mode (values per CLI; see the tool's schema).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// Working directory for the CLI (must exist). Defaults to the gateway's.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Kill the CLI when it prints nothing for this long (milliseconds).
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    /// End the run after this long in total, output or not (milliseconds); the job ends
    /// `timed_out` with its output so far. Can only lower the gateway's `[jobs]
    /// max_runtime_secs` (default 30 min), never raise it.
    #[serde(default)]
    pub max_runtime_ms: Option<u64>,
    /// Run again even if an identical request ran within the dedup window.
    #[serde(default)]
    pub force_refresh: bool,
    /// Trace id recorded with the request (generated when omitted).
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Tighten the operator's policy for this request: strict, balanced or permissive.
    /// It can only lower the level in force, never raise it.
    #[serde(default)]
    pub approval_policy: Option<String>,
    /// Accepted for clients of the Node gateway ("legacy" or "mcp_managed"); either way
    /// the operator's policy decides, and the caller cannot choose who approves.
    #[serde(default)]
    pub approval_strategy: Option<String>,
}

/// The levels `approvalPolicy` takes (the policy's own names).
pub const APPROVAL_POLICIES: &[&str] = &["strict", "balanced", "permissive"];
/// The values `approvalStrategy` takes.
pub const APPROVAL_STRATEGIES: &[&str] = &["legacy", "mcp_managed"];

/// What the request asks of the CLI's conversation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChoice {
    /// A fresh conversation; `Some(id)` when we chose its id (`--session-id`).
    New(Option<String>),
    /// Continue the CLI session with this id.
    Resume(String),
    /// Continue the most recent CLI session.
    Latest,
}

/// The process to run: arguments after the program name, and extra environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Non-fatal notes for the caller (e.g. a parameter this CLI ignores).
    pub warnings: Vec<String>,
}

/// A request the gateway refuses before running anything. The message is shown to the
/// MCP client as the tool's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

impl RequestError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl Common {
    pub fn parse(args: &JsonObject) -> Result<Self, RequestError> {
        let common: Common = from_args(args)?;
        common.validate()?;
        Ok(common)
    }

    fn validate(&self) -> Result<(), RequestError> {
        let chars = self.prompt.chars().count();
        if self.prompt.trim().is_empty() {
            return Err(RequestError::new(
                "prompt is empty: say what you want the CLI to do",
            ));
        }
        if chars > MAX_PROMPT_CHARS {
            return Err(RequestError::new(format!(
                "prompt is {chars} characters; the limit is {MAX_PROMPT_CHARS}. Put large material in a file under `cwd` and refer to it."
            )));
        }
        if self.prompt.contains('\0') {
            return Err(RequestError::new("prompt contains a NUL character"));
        }
        let named = self.session_id.is_some();
        if named && self.resume_latest {
            return Err(RequestError::new(
                "sessionId and resumeLatest are exclusive: name a session or ask for the latest",
            ));
        }
        if self.create_new_session && (named || self.resume_latest) {
            return Err(RequestError::new(
                "createNewSession cannot be combined with sessionId or resumeLatest",
            ));
        }
        if let Some(ms) = self.idle_timeout_ms
            && ms < MIN_IDLE_TIMEOUT_MS
        {
            return Err(RequestError::new(format!(
                "idleTimeoutMs must be at least {MIN_IDLE_TIMEOUT_MS}"
            )));
        }
        if let Some(ms) = self.max_runtime_ms
            && ms < MIN_IDLE_TIMEOUT_MS
        {
            return Err(RequestError::new(format!(
                "maxRuntimeMs must be at least {MIN_IDLE_TIMEOUT_MS}"
            )));
        }
        if let Some(id) = &self.correlation_id
            && (id.len() > 200 || id.chars().any(char::is_control))
        {
            return Err(RequestError::new(
                "correlationId must be at most 200 characters without control characters",
            ));
        }
        if let Some(p) = &self.approval_policy {
            one_of("approvalPolicy", p, APPROVAL_POLICIES)?;
        }
        if let Some(s) = &self.approval_strategy {
            one_of("approvalStrategy", s, APPROVAL_STRATEGIES)?;
        }
        for tool in self
            .allowed_tools
            .iter()
            .chain(self.disallowed_tools.iter())
            .flatten()
        {
            check_flag_value("tool name", tool)?;
        }
        Ok(())
    }

    /// The working directory, checked to exist: a CLI started in a missing directory
    /// fails with a spawn error that does not name the directory. `None` when the caller
    /// named none: the run then gets a fresh scratch directory, never the gateway's own.
    pub fn working_dir(&self) -> Result<Option<PathBuf>, RequestError> {
        match &self.cwd {
            None => Ok(None),
            Some(dir) => {
                let path = PathBuf::from(dir);
                if !path.is_absolute() {
                    return Err(RequestError::new(format!(
                        "cwd {dir:?} must be an absolute path"
                    )));
                }
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => Ok(Some(path)),
                    Ok(_) => Err(RequestError::new(format!("cwd {dir:?} is not a directory"))),
                    Err(_) => Err(RequestError::new(format!("cwd {dir:?} does not exist"))),
                }
            }
        }
    }

    pub fn output_format_or<'a>(&'a self, formats: &[&'a str]) -> Result<&'a str, RequestError> {
        match self.output_format.as_deref() {
            None => Ok(formats[0]),
            Some(f) if formats.contains(&f) => Ok(f),
            Some(f) => Err(RequestError::new(format!(
                "outputFormat {f:?} is not one of: {}",
                formats.join(", ")
            ))),
        }
    }
}

/// Deserializes tool arguments, turning serde's message into one that names the field.
pub fn from_args<T: DeserializeOwned>(args: &JsonObject) -> Result<T, RequestError> {
    serde_json::from_value(serde_json::Value::Object(args.clone()))
        .map_err(|e| RequestError::new(format!("invalid arguments: {e}")))
}

/// Values placed after a flag must not look like flags themselves (`--model
/// --dangerously-…` would smuggle an option), nor carry control characters.
pub fn check_flag_value(what: &str, value: &str) -> Result<(), RequestError> {
    if value.is_empty() || value.starts_with('-') || value.chars().any(char::is_control) {
        return Err(RequestError::new(format!(
            "invalid {what} {value:?}: must be non-empty, not start with '-', and have no control characters"
        )));
    }
    Ok(())
}

/// Checks a value against a fixed set, for enums the CLI itself would reject late.
pub fn one_of<'a>(what: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str, RequestError> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(RequestError::new(format!(
            "{what} {value:?} is not one of: {}",
            allowed.join(", ")
        )))
    }
}

/// A session id in the canonical 8-4-4-4-12 hex form the CLIs use.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A random version-4 UUID, for CLIs that let us choose a new session's id.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Pushes `flag value` for an optional value.
pub fn push_opt(args: &mut Vec<String>, flag: &str, value: Option<&str>) {
    if let Some(v) = value {
        args.push(flag.into());
        args.push(v.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: serde_json::Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn prompt_limits() {
        assert!(Common::parse(&args(json!({"prompt": ""}))).is_err());
        assert!(Common::parse(&args(json!({"prompt": "  \n"}))).is_err());
        let big = "x".repeat(MAX_PROMPT_CHARS + 1);
        let e = Common::parse(&args(json!({ "prompt": big }))).unwrap_err();
        assert!(e.0.contains("100000"), "{e}");
        assert!(Common::parse(&args(json!({"prompt": "hi"}))).is_ok());
    }

    #[test]
    fn session_flags_are_exclusive() {
        let e = Common::parse(&args(
            json!({"prompt": "x", "sessionId": "a", "resumeLatest": true}),
        ));
        assert!(e.is_err());
        let e = Common::parse(&args(
            json!({"prompt": "x", "createNewSession": true, "resumeLatest": true}),
        ));
        assert!(e.is_err());
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = Common::parse(&args(json!({"prompt": "x", "resumeLatest": "yes"}))).unwrap_err();
        assert!(e.0.contains("invalid arguments"), "{e}");
        let e = Common::parse(&args(json!({"model": "x"}))).unwrap_err();
        assert!(e.0.contains("prompt"), "{e}");
    }

    #[test]
    fn flag_values_cannot_be_flags() {
        assert!(check_flag_value("tool", "--dangerously-skip-permissions").is_err());
        assert!(check_flag_value("tool", "Bash\n").is_err());
        assert!(check_flag_value("tool", "Bash(git:*)").is_ok());
    }

    #[test]
    fn uuids() {
        let u = new_uuid();
        assert!(is_uuid(&u), "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(!is_uuid("gw-1234"));
        assert!(!is_uuid("00000000-0000-4000-8000-00000000000g"));
    }

    #[test]
    fn cwd_must_exist_and_be_absolute() {
        let c = Common {
            prompt: "x".into(),
            cwd: Some("/definitely/not/here".into()),
            ..Default::default()
        };
        assert!(c.working_dir().unwrap_err().0.contains("does not exist"));
        let c = Common {
            cwd: Some("relative".into()),
            ..c
        };
        assert!(c.working_dir().unwrap_err().0.contains("absolute"));
    }
}
