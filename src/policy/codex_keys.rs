//! Codex `-c key=value` overrides: which keys a request may set.
//!
//! `-c` reaches all of Codex's configuration, including the parts that start programs
//! (`mcp_servers.x.command`, `notify`), replace the sandbox or approvals, or send the
//! prompt elsewhere (`model_providers.x.base_url`). So keys are allowed, not denied: a
//! short built-in allowlist of model and reasoning settings, plus what the operator adds
//! in `[policy] codex_config_keys`. Under that sits a hard denylist that no level and no
//! setting lifts, so an operator cannot open the escape by listing it either.
//!
//! Matching works on the key as TOML reads a dotted key — bare or quoted segments,
//! whitespace around the dots — lowercased, so `"MCP_SERVERS" . x` is `mcp_servers.x`.
//! Anything that does not parse as a dotted key is refused, never guessed at.

use std::fmt;

/// Keys any request may set at any level: they only pick the model and how it reasons.
pub const BUILTIN: &[&str] = &[
    "model",
    "model_reasoning_effort",
    "model_reasoning_summary",
    "model_verbosity",
    "model_supports_reasoning_summaries",
    "hide_agent_reasoning",
    "show_raw_agent_reasoning",
];

const RUNS: &str = "can make codex start a program";
const LAYERS: &str = "loads configuration the gateway does not see";
const SANDBOX: &str = "changes codex's sandbox or approvals";
const NETWORK: &str = "changes where codex connects or which network tools it has";
const ENV: &str = "changes the environment codex's commands see";
const CREDENTIALS: &str = "changes how codex stores or picks credentials";
const EXPERIMENTAL: &str = "switches on experimental behaviour, which can do any of the above";
const NAMES_A_THING: &str = "names a program, file, directory, URL or environment for codex to use";

/// Top-level keys that can never be set through a request, with the reason.
pub const DENIED: &[(&str, &str)] = &[
    ("mcp_servers", RUNS),
    ("notify", RUNS),
    ("hooks", RUNS),
    ("rmcp_client", RUNS),
    ("apps", RUNS),
    ("plugins", RUNS),
    ("skills", RUNS),
    ("agents", RUNS),
    ("profiles", LAYERS),
    ("profile", LAYERS),
    ("projects", LAYERS),
    ("sandbox_mode", SANDBOX),
    ("sandbox_workspace_write", SANDBOX),
    ("sandbox_permissions", SANDBOX),
    ("approval_policy", SANDBOX),
    ("approvals_reviewer", SANDBOX),
    ("permissions", SANDBOX),
    ("default_permissions", SANDBOX),
    ("model_providers", NETWORK),
    ("model_provider", NETWORK),
    ("chatgpt_base_url", NETWORK),
    ("openai_base_url", NETWORK),
    ("web_search", NETWORK),
    ("tools", NETWORK),
    ("features", NETWORK),
    ("otel", NETWORK),
    ("shell_environment_policy", ENV),
    ("cli_auth_credentials_store", CREDENTIALS),
    ("mcp_oauth_credentials_store", CREDENTIALS),
    ("forced_login_method", CREDENTIALS),
    ("forced_chatgpt_workspace_id", CREDENTIALS),
];

/// Prefixes of top-level keys that are denied, so that a key Codex adds later in one of
/// these families is denied before anyone lists it.
pub const DENIED_PREFIXES: &[(&str, &str)] = &[
    ("experimental", EXPERIMENTAL),
    ("sandbox", SANDBOX),
    ("approval", SANDBOX),
    ("dangerous", SANDBOX),
    ("mcp", RUNS),
    ("shell", ENV),
];

/// A segment, at any depth, with one of these names or suffixes points Codex at
/// something outside itself.
const DENIED_SEGMENTS: &[&str] = &["command", "args", "env", "env_vars", "cwd", "url", "path"];
const DENIED_SUFFIXES: &[&str] = &[
    "_command", "_args", "_env", "_cwd", "_url", "_urls", "_file", "_files", "_dir", "_dirs",
    "_path", "_paths", "_home",
];

/// A dotted key as TOML reads it, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(Vec<String>);

impl Key {
    /// Parses `raw` as a TOML dotted key: segments are bare (`A-Za-z0-9_-`) or quoted
    /// (`"…"` without escapes, `'…'`), ASCII only, separated by dots with optional
    /// spaces or tabs around them.
    pub fn parse(raw: &str) -> Result<Key, String> {
        let mut chars = raw.chars().peekable();
        let mut segments = Vec::new();
        loop {
            skip_blanks(&mut chars);
            let segment = match chars.peek().copied() {
                None if segments.is_empty() => return Err("the key is empty".into()),
                None => return Err("the key ends with a dot".into()),
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    quoted(&mut chars, q)?
                }
                Some(_) => bare(&mut chars)?,
            };
            if segment.is_empty() {
                return Err("the key has an empty segment".into());
            }
            segments.push(segment.to_ascii_lowercase());
            skip_blanks(&mut chars);
            match chars.next() {
                None => return Ok(Key(segments)),
                Some('.') => {}
                Some(c) => return Err(format!("unexpected {c:?} after a segment")),
            }
        }
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    fn starts_with(&self, prefix: &Key) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_blanks(chars: &mut Chars<'_>) {
    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
}

fn bare(chars: &mut Chars<'_>) -> Result<String, String> {
    let mut s = String::new();
    while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-') {
        s.push(c);
    }
    match (s.is_empty(), chars.peek()) {
        (true, Some(c)) => Err(format!("unexpected {c:?} where a segment should start")),
        _ => Ok(s),
    }
}

fn quoted(chars: &mut Chars<'_>, quote: char) -> Result<String, String> {
    let mut s = String::new();
    for c in chars.by_ref() {
        match c {
            c if c == quote => return Ok(s),
            '\\' => return Err("escapes in quoted segments are not accepted".into()),
            c if c.is_ascii() && !c.is_ascii_control() => s.push(c),
            c => return Err(format!("{c:?} is not accepted in a key")),
        }
    }
    Err("a quoted segment is not closed".into())
}

/// Why no request may set `key`, if it is on the hard denylist.
/// Every hard-denied key and key prefix (`prefix*`), as the table and `policy` show them.
pub fn denied_names() -> Vec<String> {
    DENIED
        .iter()
        .map(|(k, _)| k.to_string())
        .chain(DENIED_PREFIXES.iter().map(|(p, _)| format!("{p}*")))
        .collect()
}

pub fn hard_denied(key: &Key) -> Option<&'static str> {
    let segments = key.segments();
    let root = segments.first()?.as_str();
    if let Some((_, why)) = DENIED.iter().find(|(k, _)| *k == root) {
        return Some(why);
    }
    if let Some((_, why)) = DENIED_PREFIXES.iter().find(|(p, _)| root.starts_with(p)) {
        return Some(why);
    }
    segments
        .iter()
        .any(|s| {
            DENIED_SEGMENTS.contains(&s.as_str()) || DENIED_SUFFIXES.iter().any(|x| s.ends_with(x))
        })
        .then_some(NAMES_A_THING)
}

/// A `[policy] codex_config_keys` entry: an exact key, or `prefix.*` for every key below
/// `prefix` (not `prefix` itself, whose value could be a whole table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    key: Key,
    subtree: bool,
}

impl Pattern {
    pub fn parse(raw: &str) -> Result<Pattern, String> {
        let trimmed = raw.trim_end();
        match trimmed.strip_suffix('*') {
            Some(head) => match head.trim_end().strip_suffix('.') {
                Some(prefix) => Ok(Pattern {
                    key: Key::parse(prefix)?,
                    subtree: true,
                }),
                None => Err("a wildcard must follow a dotted prefix, as in `tui.*`".into()),
            },
            None => Ok(Pattern {
                key: Key::parse(raw)?,
                subtree: false,
            }),
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    pub fn matches(&self, key: &Key) -> bool {
        if self.subtree {
            key.starts_with(&self.key) && key.segments().len() > self.key.segments().len()
        } else {
            *key == self.key
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subtree {
            write!(f, "{}.*", self.key)
        } else {
            write!(f, "{}", self.key)
        }
    }
}

/// Whether a value is a table (or an array of tables): TOML would then set keys inside
/// it that no allowlist entry names.
pub fn is_structured(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with('{') || (v.starts_with('[') && v.contains('{'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> Key {
        Key::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    #[test]
    fn keys_normalise_like_toml() {
        assert_eq!(
            key("mcp_servers.x.command").to_string(),
            "mcp_servers.x.command"
        );
        assert_eq!(
            key(" MCP_SERVERS . x .command ").to_string(),
            "mcp_servers.x.command"
        );
        assert_eq!(key("\"mcp_servers\".x").to_string(), "mcp_servers.x");
        assert_eq!(key("'mcp_servers'.\"x\"").to_string(), "mcp_servers.x");
        assert_eq!(key("model").segments(), ["model"]);
    }

    #[test]
    fn unreadable_keys_are_errors() {
        for raw in [
            "",
            " ",
            "a.",
            ".a",
            "a..b",
            "a b",
            "a=b",
            "\"a",
            "\"a\\u0020\".b",
            "mcp_servérs",
            "\"mcp_servérs\"",
            "a.\"\"",
            "a\u{0}",
            "a.*",
        ] {
            assert!(Key::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn denylist_covers_families_and_suffixes() {
        for raw in [
            "mcp_servers",
            "mcp_servers.x.command",
            "notify",
            "shell_environment_policy.inherit",
            "profiles.x.model",
            "model_providers.x.base_url",
            "sandbox_mode",
            "approval_policy",
            "experimental_instructions_file",
            "model_instructions_file",
            "tui.notifications.command",
            "sandbox_future_thing",
            "features.web_search_request",
        ] {
            assert!(hard_denied(&key(raw)).is_some(), "{raw}");
        }
        for raw in BUILTIN {
            assert!(hard_denied(&key(raw)).is_none(), "{raw}");
        }
    }

    #[test]
    fn patterns_match_exactly_or_strictly_below() {
        let p = Pattern::parse("tui.*").unwrap();
        assert!(p.matches(&key("tui.animations")));
        assert!(
            !p.matches(&key("tui")),
            "the whole table could carry anything"
        );
        assert!(!p.matches(&key("tuix.a")));
        let p = Pattern::parse("model_context_window").unwrap();
        assert!(p.matches(&key("MODEL_CONTEXT_WINDOW")));
        assert!(!p.matches(&key("model_context_window.x")));
        assert!(Pattern::parse("*").is_err());
        assert!(Pattern::parse("tui*").is_err());
    }

    #[test]
    fn structured_values() {
        assert!(is_structured("{command = \"/bin/sh\"}"));
        assert!(is_structured(" [{a = 1}]"));
        assert!(!is_structured("[\"a\", \"b\"]"));
        assert!(!is_structured("\"gpt-5.5\""));
        assert!(!is_structured("high"));
    }
}
