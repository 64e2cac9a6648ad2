//! The provider CLIs the gateway drives. Each provider is one file implementing
//! [`Provider`]; [`ALL`] lists them. Everything else — tool registration, jobs, dedup,
//! sessions, models, versions — is generic over this trait, so a sixth CLI is one new
//! file plus one line in [`ALL`].

pub mod access;
pub mod auth;
pub mod claude;
pub mod codex;
pub mod gemini;
pub mod grok;
pub mod mistral;
pub mod models;
pub mod output;
pub mod request;

use std::path::{Path, PathBuf};

use rmcp::model::JsonObject;
use serde_json::Value;

use models::Catalog;
pub use output::{Parsed, Usage, parse_jsonl};
pub use request::{Common, Invocation, RequestError, SessionChoice};

/// Every provider, in the order tools and reports list them.
pub static ALL: &[&dyn Provider] = &[
    &claude::Claude,
    &codex::Codex,
    &gemini::Gemini,
    &grok::Grok,
    &mistral::Mistral,
];

/// How a provider's CLI can continue a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSupport {
    /// The CLI accepts an id we choose for a new session (`--session-id <uuid>`), so a
    /// gateway session can be bound to a CLI session before the first run.
    ChooseId,
    /// The CLI makes its own ids; we learn them from its output.
    LearnId,
}

/// What a provider is, as data: names, hints, session support, formats, models.
pub struct Info {
    /// Short id used in tool names (`<id>_request`), sessions and the store.
    pub id: &'static str,
    /// Product name for people.
    pub display_name: &'static str,
    /// The executable looked up on PATH.
    pub binary: &'static str,
    /// How to install the CLI (shown when it is missing).
    pub install_hint: &'static str,
    /// How to log in (shown when the CLI reports it is not authenticated).
    pub login_hint: &'static str,
    /// How `doctor` learns whether the CLI is logged in, safely and without prompting.
    pub auth: auth::AuthProbe,
    /// One line for the `<id>_request` tool description.
    pub tool_blurb: &'static str,
    pub session_support: SessionSupport,
    /// Output formats the CLI accepts; the first is the default.
    pub output_formats: &'static [&'static str],
    pub catalog: &'static Catalog,
}

/// A provider: its [`Info`] plus the three things that differ in code — the request
/// schema, the argv it builds, and how its output is read.
pub trait Provider: Send + Sync + 'static {
    fn info(&self) -> &'static Info;
    fn id(&self) -> &'static str {
        self.info().id
    }
    fn display_name(&self) -> &'static str {
        self.info().display_name
    }
    fn binary(&self) -> &'static str {
        self.info().binary
    }
    fn install_hint(&self) -> &'static str {
        self.info().install_hint
    }
    fn login_hint(&self) -> &'static str {
        self.info().login_hint
    }
    fn auth(&self) -> &'static auth::AuthProbe {
        &self.info().auth
    }
    fn catalog(&self) -> &'static Catalog {
        self.info().catalog
    }
    fn session_support(&self) -> SessionSupport {
        self.info().session_support
    }
    fn tool_blurb(&self) -> &'static str {
        self.info().tool_blurb
    }
    fn output_formats(&self) -> &'static [&'static str] {
        self.info().output_formats
    }
    /// JSON Schema of the request tool's arguments (common + provider-specific).
    fn request_schema(&self) -> JsonObject;
    /// Builds the argv (without the program) and extra environment for a validated
    /// request. `args` is the raw tool arguments, for provider-specific fields.
    fn invocation(
        &self,
        common: &Common,
        args: &JsonObject,
        model: Option<&str>,
        session: &SessionChoice,
    ) -> Result<Invocation, RequestError>;
    /// The CLI's modes and the tier each grants, as data: [`Provider::access`] reads it
    /// and the operator's level table is rendered from it.
    fn modes(&self) -> &'static access::Modes;
    /// What this request asks the CLI to be allowed to do, from the same parameters
    /// [`Provider::invocation`] reads; invalid values are the same errors.
    fn access(&self, common: &Common, args: &JsonObject) -> Result<access::Access, RequestError>;
    /// Extracts the answer, session id, usage and error from what the CLI printed.
    fn parse(&self, format: &str, stdout: &str, stderr: &str, exit_code: Option<i32>) -> Parsed;
    /// The commands `cli_upgrade` would run for `target` ("latest" or a version).
    fn upgrade_plan(&self, target: &str) -> Vec<Vec<String>>;
}

pub fn find(id: &str) -> Option<&'static dyn Provider> {
    ALL.iter().copied().find(|p| p.id() == id)
}

pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|p| p.id()).collect()
}

/// Finds `binary` on PATH the way execvp would, so a missing CLI is a clear error before
/// anything is spawned.
pub fn which(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|p| is_executable(p))
}

pub fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Generates a JSON Schema object for a parameters type.
pub fn schema_of<T: schemars::JsonSchema>() -> JsonObject {
    match serde_json::to_value(schemars::schema_for!(T)) {
        Ok(Value::Object(mut map)) => {
            map.remove("$schema");
            map
        }
        _ => JsonObject::new(),
    }
}

/// Narrows string properties of a generated schema to the values this CLI accepts, so
/// clients see the choices (the shared [`Common`] type cannot know them).
pub fn with_enums(mut schema: JsonObject, enums: &[(&str, &[&str])]) -> JsonObject {
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, values) in enums {
            let desc = props.get(*name).and_then(|p| p.get("description")).cloned();
            let mut prop = serde_json::Map::new();
            prop.insert("type".into(), Value::from("string"));
            prop.insert("enum".into(), Value::from(values.to_vec()));
            if let Some(d) = desc {
                prop.insert("description".into(), d);
            }
            props.insert((*name).to_string(), Value::Object(prop));
        }
    }
    schema
}

/// The prompt as an argument. A prompt starting with '-' would be read as an option by
/// every one of these CLIs' parsers; a leading space keeps it a value without changing
/// what the model reads.
pub fn prompt_arg(prompt: &str) -> String {
    if prompt.starts_with('-') {
        format!(" {prompt}")
    } else {
        prompt.to_string()
    }
}

/// The argv a provider builds for a plain `{"prompt": "hi"}` request with `session`, so
/// each provider's tests can pin its CLI's resume syntax in one line.
#[cfg(test)]
pub(crate) fn session_argv(p: &dyn Provider, session: SessionChoice) -> Vec<String> {
    let args = serde_json::json!({"prompt": "hi"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let common = Common::parse(&args).expect("a plain prompt is valid");
    p.invocation(&common, &args, None, &session)
        .expect("a plain prompt builds an argv")
        .args
}

/// What a provider's `access` makes of a JSON request, for each provider's tests.
#[cfg(test)]
pub(crate) fn access_of(
    p: &dyn Provider,
    v: serde_json::Value,
) -> Result<access::Access, RequestError> {
    let args = v.as_object().cloned().unwrap_or_default();
    let common = Common::parse(&args)?;
    p.access(&common, &args)
}
