//! Model registry: turns the model a caller asked for into the one handed to a CLI, and
//! reports what each provider's registry knows for `list_models`.
//!
//! Explicit configuration (the environment, the CLI's own config file) is authoritative.
//! Bundled catalogs go stale as soon as a vendor ships a model, so they are only
//! low-confidence hints, and a well-formed name nobody has heard of is passed through
//! with a warning rather than refused. Malformed names are refused, because the name ends
//! up on a CLI's command line.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// Longer names are not model ids but pasted prompts or garbage.
pub const MAX_NAME_LEN: usize = 128;

/// Cross-provider aliases, so one variable can hold a whole team's shorthand.
pub const GLOBAL_ALIASES_ENV: &str = "LLM_GATEWAY_MODEL_ALIASES";

/// A CLI config file is a few KiB; anything far larger is not one, and is not worth
/// reading on every request.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Requested names that mean "whatever the default is" rather than a model.
const DEFAULT_KEYWORD: &str = "default";
const LATEST_KEYWORD: &str = "latest";

/// What a provider file declares; everything else here is derived from it at request
/// time, so changed environment or config files apply without a restart.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    /// Provider id as the tools name it: "claude", "codex", "gemini", "grok", "mistral".
    pub provider: &'static str,
    /// "CLAUDE" reads CLAUDE_DEFAULT_MODEL, CLAUDE_MODELS and CLAUDE_MODEL_ALIASES.
    pub env_prefix: &'static str,
    /// Bundled fallback `(id, description)` pairs.
    pub models: &'static [(&'static str, &'static str)],
    /// Bundled `(alias, target id)` pairs.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Bundled default; `None` leaves the choice to the CLI, which knows better than a
    /// catalog that may be out of date.
    pub default_model: Option<&'static str>,
    /// Where the CLI's own config names a default model, so listings match what the CLI
    /// will actually run.
    pub config: Option<ConfigProbe>,
}

#[derive(Debug, Clone, Copy)]
pub struct ConfigProbe {
    /// Overrides the path, for users who relocate the CLI's config (and for tests).
    pub path_env: &'static str,
    /// Relative to `$HOME`.
    pub default_path: &'static str,
    pub format: ConfigFormat,
}

#[derive(Debug, Clone, Copy)]
pub enum ConfigFormat {
    /// A key in a TOML file; dots descend into tables ("model" in ~/.codex/config.toml).
    TomlKey(&'static str),
    /// An RFC 6901 pointer into a JSON file ("/model" in ~/.claude/settings.json,
    /// "/model/name" in ~/.gemini/settings.json).
    JsonPointer(&'static str),
}

/// Environment lookups go through this so tests don't mutate the process env.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

/// Where a model, alias or default came from, which is how much to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Bundled with the gateway. Also reported when no model is passed at all, since the
    /// CLI's own built-in default is then the fallback.
    Fallback,
    /// The CLI's own config file.
    Config,
    /// `<P>_DEFAULT_MODEL`, `<P>_MODELS`, `<P>_MODEL_ALIASES`, `LLM_GATEWAY_MODEL_ALIASES`.
    Env,
    /// Nothing vouches for the name but the caller.
    Request,
}

impl Source {
    fn confidence(self) -> Confidence {
        match self {
            Source::Env | Source::Config => Confidence::High,
            Source::Fallback | Source::Request => Confidence::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Low,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    /// What the caller sent, for echoing back in results.
    pub requested: Option<String>,
    /// `None`: pass no model flag and let the CLI use its own default.
    pub model: Option<String>,
    pub source: Source,
    pub via_alias: Option<String>,
    /// Worth surfacing to the caller, but not worth failing the request over.
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "invalid model name {} for {provider}: {reason}. A model name is a model id or alias of at most {MAX_NAME_LEN} characters from letters, digits and . _ : / @ + -, not starting with '-'; call list_models to see the known models and aliases",
        preview(.name)
    )]
    Invalid {
        provider: &'static str,
        name: String,
        reason: String,
    },
    #[error(
        "model alias {alias:?} for {provider} points to {target:?}, which is itself an alias; aliases resolve one level, so chains and cycles are refused. Point it at a model id (call list_models to see them)"
    )]
    AliasChain {
        provider: &'static str,
        alias: String,
        target: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub provider: &'static str,
    pub models: Vec<ModelEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_model_source: Option<Source>,
    /// alias → target, after precedence is applied.
    pub aliases: BTreeMap<String, String>,
    /// alias → where the winning definition came from; kept apart from `aliases` so that
    /// map keeps the plain shape callers of the original gateway expect.
    pub alias_sources: BTreeMap<String, Source>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    pub id: String,
    pub description: String,
    pub source: Source,
    pub confidence: Confidence,
}

/// Maps a requested model name (or none) to what the CLI should be given.
pub fn resolve(
    cat: &Catalog,
    env: &dyn Env,
    requested: Option<&str>,
) -> Result<Resolved, ModelError> {
    let reg = Registry::load(cat, env);
    let Some(name) = requested else {
        return reg.resolve_default(cat, None);
    };
    check_name(name).map_err(|reason| ModelError::Invalid {
        provider: cat.provider,
        name: name.to_string(),
        reason,
    })?;
    if name.eq_ignore_ascii_case(DEFAULT_KEYWORD) {
        return reg.resolve_default(cat, Some(name));
    }
    if let Some((target, alias_source)) = reg.aliases.get(name) {
        let model = reg.follow_alias(cat, name, target)?;
        let source = reg.model_source(&model).unwrap_or(*alias_source);
        return Ok(Resolved {
            requested: Some(name.to_string()),
            model: Some(model),
            source,
            via_alias: Some(name.to_string()),
            warning: None,
        });
    }
    // Checked after aliases so a configured "latest" alias can pin it.
    if name.eq_ignore_ascii_case(LATEST_KEYWORD) {
        return reg.resolve_default(cat, Some(name));
    }
    if let Some(source) = reg.model_source(name) {
        return Ok(Resolved {
            requested: Some(name.to_string()),
            model: Some(name.to_string()),
            source,
            via_alias: None,
            warning: None,
        });
    }
    Ok(Resolved {
        requested: Some(name.to_string()),
        model: Some(name.to_string()),
        source: Source::Request,
        via_alias: None,
        warning: Some(format!(
            "model {name:?} is not in the registry for {}; passed to the CLI as is",
            cat.provider
        )),
    })
}

/// Everything the registry knows for one provider. Problems with configuration become
/// warnings, since a listing is how a user finds out their configuration is wrong.
pub fn listing(cat: &Catalog, env: &dyn Env) -> Listing {
    let reg = Registry::load(cat, env);
    let mut warnings = reg.warnings.clone();
    for (alias, (target, _)) in &reg.aliases {
        if let Err(e) = reg.follow_alias(cat, alias, target) {
            warnings.push(e.to_string());
        }
    }
    let (default_model, default_model_source) = match reg.resolve_default(cat, None) {
        Ok(r) => (r.model.clone(), r.model.map(|_| r.source)),
        Err(e) => {
            warnings.push(format!("default model: {e}"));
            (None, None)
        }
    };
    Listing {
        provider: cat.provider,
        models: reg
            .models
            .iter()
            .map(|m| ModelEntry {
                id: m.id.clone(),
                description: if m.description.is_empty() {
                    m.note.clone()
                } else {
                    m.description.clone()
                },
                source: m.source,
                confidence: m.source.confidence(),
            })
            .collect(),
        default_model,
        default_model_source,
        aliases: reg
            .aliases
            .iter()
            .map(|(a, (t, _))| (a.clone(), t.clone()))
            .collect(),
        alias_sources: reg
            .aliases
            .iter()
            .map(|(a, (_, s))| (a.clone(), *s))
            .collect(),
        warnings,
    }
}

/// Problems in a bundled catalog, for tests over every provider: a broken catalog would
/// otherwise only show up when someone requests the broken alias.
pub fn check_catalog(cat: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    let names = cat
        .models
        .iter()
        .map(|(id, _)| *id)
        .chain(cat.aliases.iter().flat_map(|(a, t)| [*a, *t]))
        .chain(cat.default_model);
    for name in names {
        if let Err(reason) = check_name(name) {
            problems.push(format!("{}: {name:?}: {reason}", cat.provider));
        }
    }
    let known = |id: &str| cat.models.iter().any(|(m, _)| *m == id);
    for (alias, target) in cat.aliases {
        if !known(target) {
            problems.push(format!(
                "{}: alias {alias:?} targets unknown id {target:?}",
                cat.provider
            ));
        }
        if known(alias) {
            problems.push(format!(
                "{}: alias {alias:?} shadows a model id",
                cat.provider
            ));
        }
    }
    if let Some(d) = cat.default_model
        && !known(d)
    {
        problems.push(format!(
            "{}: default {d:?} is not a bundled model",
            cat.provider
        ));
    }
    problems
}

struct Entry {
    id: String,
    /// Empty when the source gave none; a bundled description can then fill it in.
    description: String,
    /// Provenance shown when no source described the model.
    note: String,
    source: Source,
}

/// The merged view of one provider, rebuilt per call because it is cheap and the inputs
/// (environment, config files) can change under a running gateway.
struct Registry {
    /// Most authoritative source first; an id appears once, with its strongest source.
    models: Vec<Entry>,
    aliases: BTreeMap<String, (String, Source)>,
    default: Option<(String, Source)>,
    warnings: Vec<String>,
}

impl Registry {
    fn load(cat: &Catalog, env: &dyn Env) -> Self {
        let mut warnings = Vec::new();
        let mut models = Vec::new();

        let models_var = format!("{}_MODELS", cat.env_prefix);
        if let Some(raw) = env_value(env, &models_var) {
            for (id, description) in parse_model_list(&models_var, &raw, &mut warnings) {
                add_model(
                    &mut models,
                    id,
                    description,
                    format!("listed in {models_var}"),
                    Source::Env,
                );
            }
        }

        let aliases = load_aliases(cat, env, &mut warnings);

        let default_var = format!("{}_DEFAULT_MODEL", cat.env_prefix);
        let env_default = env_value(env, &default_var)
            .filter(|v| !v.eq_ignore_ascii_case(DEFAULT_KEYWORD))
            .and_then(|v| valid_or_warn(&default_var, v, &mut warnings));
        // An alias as the default is shorthand, not a model to list.
        if let Some(d) = env_default.as_ref().filter(|d| !aliases.contains_key(*d)) {
            add_model(
                &mut models,
                d.clone(),
                String::new(),
                format!("default from {default_var}"),
                Source::Env,
            );
        }

        let config_default = cat
            .config
            .and_then(|probe| config_model(&probe, env, &mut warnings));
        if let Some((d, path)) = &config_default {
            let note = format!("default in {}", path.display());
            add_model(&mut models, d.clone(), String::new(), note, Source::Config);
        }

        for (id, description) in cat.models {
            add_model(
                &mut models,
                id.to_string(),
                description.to_string(),
                String::new(),
                Source::Fallback,
            );
        }

        let default = env_default
            .map(|d| (d, Source::Env))
            .or(config_default.map(|(d, _)| (d, Source::Config)))
            .or(cat.default_model.map(|d| (d.to_string(), Source::Fallback)));

        Registry {
            models,
            aliases,
            default,
            warnings,
        }
    }

    fn model_source(&self, id: &str) -> Option<Source> {
        self.models.iter().find(|m| m.id == id).map(|m| m.source)
    }

    /// One level only, so a cycle can't hang; a target that is itself an alias (and not
    /// also a model id) is refused rather than passed to the CLI as a model name.
    fn follow_alias(&self, cat: &Catalog, alias: &str, target: &str) -> Result<String, ModelError> {
        if target == alias
            || (self.aliases.contains_key(target) && self.model_source(target).is_none())
        {
            return Err(ModelError::AliasChain {
                provider: cat.provider,
                alias: alias.to_string(),
                target: target.to_string(),
            });
        }
        Ok(target.to_string())
    }

    fn resolve_default(
        &self,
        cat: &Catalog,
        requested: Option<&str>,
    ) -> Result<Resolved, ModelError> {
        let requested = requested.map(str::to_string);
        let Some((name, source)) = &self.default else {
            return Ok(Resolved {
                requested,
                model: None,
                source: Source::Fallback,
                via_alias: None,
                warning: None,
            });
        };
        // A config-file default is in the CLI's own vocabulary, so our aliases must not
        // reinterpret it; env and bundled defaults are in the gateway's.
        let alias = match source {
            Source::Config => None,
            _ => self.aliases.get(name).map(|(target, _)| target),
        };
        let (model, via_alias) = match alias {
            Some(target) => (self.follow_alias(cat, name, target)?, Some(name.clone())),
            None => (name.clone(), None),
        };
        Ok(Resolved {
            requested,
            model: Some(model),
            source: *source,
            via_alias,
            warning: None,
        })
    }
}

/// The first source to name an id decides its source (callers add in order of
/// authority); a later one may only supply a missing description.
fn add_model(
    models: &mut Vec<Entry>,
    id: String,
    description: String,
    note: String,
    source: Source,
) {
    if let Some(existing) = models.iter_mut().find(|m| m.id == id) {
        if existing.description.is_empty() {
            existing.description = description;
        }
        return;
    }
    models.push(Entry {
        id,
        description,
        note,
        source,
    });
}

/// Blank counts as unset: `FOO_MODELS=` in a service file means "none", not "a model
/// named nothing".
fn env_value(env: &dyn Env, key: &str) -> Option<String> {
    env.var(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn valid_or_warn(origin: &str, name: String, warnings: &mut Vec<String>) -> Option<String> {
    match check_name(&name) {
        Ok(()) => Some(name),
        Err(reason) => {
            warnings.push(format!(
                "{origin}: ignored model name {}: {reason}",
                preview(&name)
            ));
            None
        }
    }
}

/// `<P>_MODELS` as a JSON array of ids (or of `{id, description}` objects), a JSON object
/// id → description, or a comma/newline separated list.
fn parse_model_list(var: &str, raw: &str, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if raw.starts_with('[') || raw.starts_with('{') {
        let value = match serde_json::from_str::<Value>(raw) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!(
                    "{var} looks like JSON but does not parse ({e}); ignored"
                ));
                return out;
            }
        };
        let pairs: Vec<(String, Value)> = match value {
            Value::Object(map) => map.into_iter().collect(),
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(id) => Some((id, Value::Null)),
                    Value::Object(mut obj) => match obj.remove("id") {
                        Some(Value::String(id)) => {
                            Some((id, obj.remove("description").unwrap_or(Value::Null)))
                        }
                        _ => {
                            warnings.push(format!(
                                "{var}: array entry without a string \"id\"; skipped"
                            ));
                            None
                        }
                    },
                    other => {
                        warnings.push(format!(
                            "{var}: array entry {other} is not a model id; skipped"
                        ));
                        None
                    }
                })
                .collect(),
            other => {
                warnings.push(format!(
                    "{var}: expected a JSON array or object, got {other}; ignored"
                ));
                return out;
            }
        };
        for (id, description) in pairs {
            let description = match description {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => {
                    warnings.push(format!(
                        "{var}: description of {id:?} is {other}, not a string; ignored"
                    ));
                    String::new()
                }
            };
            if let Some(id) = valid_or_warn(var, id, warnings) {
                out.push((id, description));
            }
        }
    } else {
        for item in raw
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Some(id) = valid_or_warn(var, item.to_string(), warnings) {
                out.push((id, String::new()));
            }
        }
    }
    out
}

/// Bundled, then `<P>_MODEL_ALIASES`, then `LLM_GATEWAY_MODEL_ALIASES`: later
/// definitions replace earlier ones, which gives the documented precedence.
fn load_aliases(
    cat: &Catalog,
    env: &dyn Env,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, (String, Source)> {
    let mut out: BTreeMap<String, (String, Source)> = cat
        .aliases
        .iter()
        .map(|(a, t)| (a.to_string(), (t.to_string(), Source::Fallback)))
        .collect();

    let var = format!("{}_MODEL_ALIASES", cat.env_prefix);
    if let Some(raw) = env_value(env, &var) {
        for (alias, target) in parse_pairs(&var, &raw, warnings) {
            insert_alias(&mut out, &var, alias, target, warnings);
        }
    }

    if let Some(raw) = env_value(env, GLOBAL_ALIASES_ENV) {
        for (key, target) in parse_pairs(GLOBAL_ALIASES_ENV, &raw, warnings) {
            match key.split_once('.') {
                Some((provider, alias)) if provider.trim().eq_ignore_ascii_case(cat.provider) => {
                    insert_alias(&mut out, GLOBAL_ALIASES_ENV, alias.trim(), target, warnings);
                }
                Some(_) => {}
                None => warnings.push(format!(
                    "{GLOBAL_ALIASES_ENV}: entry {} has no provider prefix (expected provider.alias=target); ignored",
                    preview(key)
                )),
            }
        }
    }
    out
}

fn insert_alias(
    out: &mut BTreeMap<String, (String, Source)>,
    var: &str,
    alias: &str,
    target: &str,
    warnings: &mut Vec<String>,
) {
    if alias.eq_ignore_ascii_case(DEFAULT_KEYWORD) {
        warnings.push(format!(
            "{var}: alias {alias:?} ignored; \"default\" always means the configured default model"
        ));
        return;
    }
    let (Some(alias), Some(target)) = (
        valid_or_warn(var, alias.to_string(), warnings),
        valid_or_warn(var, target.to_string(), warnings),
    ) else {
        return;
    };
    out.insert(alias, (target, Source::Env));
}

/// `key=value` pairs separated by commas or newlines; malformed pairs are warned about and
/// skipped so one typo doesn't discard the rest.
fn parse_pairs<'a>(var: &str, raw: &'a str, warnings: &mut Vec<String>) -> Vec<(&'a str, &'a str)> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|pair| match pair.split_once('=') {
            Some((k, v)) => Some((k.trim(), v.trim())),
            None => {
                warnings.push(format!(
                    "{var}: entry {} is not alias=target; ignored",
                    preview(pair)
                ));
                None
            }
        })
        .collect()
}

fn home(env: &dyn Env) -> Option<PathBuf> {
    env_value(env, "HOME")
        .or_else(|| env_value(env, "USERPROFILE"))
        .map(PathBuf::from)
}

/// The default model the CLI's own config names, with the file it came from.
fn config_model(
    probe: &ConfigProbe,
    env: &dyn Env,
    warnings: &mut Vec<String>,
) -> Option<(String, PathBuf)> {
    let (path, explicit) = match env_value(env, probe.path_env) {
        Some(p) => match (p.strip_prefix("~/"), home(env)) {
            (Some(rest), Some(home)) => (home.join(rest), true),
            _ => (PathBuf::from(p), true),
        },
        None => (home(env)?.join(probe.default_path), false),
    };
    let text = match read_capped(&path) {
        Ok(text) => text,
        // Most users never create the file; only an explicitly configured path that
        // doesn't exist is a mistake worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return None,
        Err(e) => {
            warnings.push(format!("could not read {}: {e}", path.display()));
            return None;
        }
    };
    let found = match probe.format {
        ConfigFormat::TomlKey(key) => toml_key(&text, key),
        ConfigFormat::JsonPointer(pointer) => json_pointer(&text, pointer),
    };
    match found {
        Ok(Some(model)) => {
            let origin = path.display().to_string();
            valid_or_warn(&origin, model, warnings).map(|m| (m, path))
        }
        Ok(None) => None,
        Err(e) => {
            warnings.push(format!(
                "could not use {}: {e}; its default model is ignored",
                path.display()
            ));
            None
        }
    }
}

fn read_capped(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_CONFIG_BYTES} bytes, not a CLI config file"
        )));
    }
    Ok(text)
}

/// `Ok(None)` when the key is absent or blank: the CLI then uses its built-in default.
fn toml_key(text: &str, key: &str) -> Result<Option<String>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("invalid TOML: {}", e.message()))?;
    let mut parts = key.split('.');
    let mut current = parts.next().and_then(|first| table.get(first));
    for part in parts {
        current = current.and_then(|v| v.get(part));
    }
    match current {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(other) => Err(format!("{key} is a {}, not a string", other.type_str())),
    }
}

/// `Ok(None)` when the pointer is absent, null or blank: the CLI then uses its built-in
/// default.
fn json_pointer(text: &str, pointer: &str) -> Result<Option<String>, String> {
    // Some CLIs (Gemini) accept comments in their settings; retry without them before
    // calling the file broken.
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => serde_json::from_str(&strip_json_comments(text))
            .map_err(|_| format!("invalid JSON: {e}"))?,
    };
    match value.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(other) => Err(format!("{pointer} is {other}, not a string")),
    }
}

/// Drops `//` and `/* */` comments outside strings.
fn strip_json_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = '\0';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// `Err(reason)` for names that must not reach a command line.
fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("it is empty".into());
    }
    if name.starts_with('-') {
        return Err("it starts with '-', so the CLI would read it as an option".into());
    }
    if name.chars().any(char::is_control) {
        return Err("it contains control characters".into());
    }
    if name.chars().any(char::is_whitespace) {
        return Err("it contains whitespace".into());
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(format!("it is {len} characters long"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/@+-".contains(c);
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!("{c:?} is not allowed"));
    }
    Ok(())
}

/// Escaped and cut short, so a hostile or pasted value can't flood an error message.
fn preview(name: &str) -> String {
    const SHOWN: usize = 64;
    if name.chars().count() <= SHOWN {
        return format!("{name:?}");
    }
    let head: String = name.chars().take(SHOWN).collect();
    format!("{head:?}… ({} characters)", name.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST: Catalog = Catalog {
        provider: "acme",
        env_prefix: "ACME",
        models: &[("acme-large", "Big model"), ("acme-small", "Small model")],
        aliases: &[("fast", "acme-small"), ("best", "acme-large")],
        default_model: Some("acme-large"),
        config: None,
    };

    static NO_DEFAULT: Catalog = Catalog {
        default_model: None,
        ..TEST
    };

    static TOML_CAT: Catalog = Catalog {
        config: Some(ConfigProbe {
            path_env: "ACME_CONFIG_PATH",
            default_path: ".acme/config.toml",
            format: ConfigFormat::TomlKey("model"),
        }),
        ..TEST
    };

    static JSON_CAT: Catalog = Catalog {
        config: Some(ConfigProbe {
            path_env: "ACME_SETTINGS_PATH",
            default_path: ".acme/settings.json",
            format: ConfigFormat::JsonPointer("/model/name"),
        }),
        ..TEST
    };

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ok(cat: &Catalog, e: &HashMap<String, String>, name: Option<&str>) -> Resolved {
        resolve(cat, e, name).expect("resolves")
    }

    /// A HOME with `rel` holding `contents`.
    fn home_with(rel: &str, contents: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        dir
    }

    fn home_str(dir: &tempfile::TempDir) -> &str {
        dir.path().to_str().expect("utf-8 temp path")
    }

    #[test]
    fn no_request_uses_bundled_default() {
        let r = ok(&TEST, &env(&[]), None);
        assert_eq!(r.model.as_deref(), Some("acme-large"));
        assert_eq!(r.source, Source::Fallback);
        assert_eq!(r.requested, None);
        assert!(r.warning.is_none());
    }

    #[test]
    fn no_default_anywhere_passes_no_model() {
        for name in [None, Some("default"), Some("latest")] {
            let r = ok(&NO_DEFAULT, &env(&[]), name);
            assert_eq!(r.model, None, "{name:?}");
            assert!(r.warning.is_none());
        }
        let l = listing(&NO_DEFAULT, &env(&[]));
        let v = serde_json::to_value(&l).expect("serialize");
        assert!(v.get("defaultModel").is_none());
        assert!(v.get("defaultModelSource").is_none());
    }

    #[test]
    fn default_and_latest_keywords() {
        let e = env(&[("ACME_DEFAULT_MODEL", "acme-small")]);
        for kw in ["default", "DEFAULT", "latest"] {
            let r = ok(&TEST, &e, Some(kw));
            assert_eq!(r.model.as_deref(), Some("acme-small"), "{kw}");
            assert_eq!(r.source, Source::Env);
            assert_eq!(r.requested.as_deref(), Some(kw));
        }
    }

    #[test]
    fn latest_alias_overrides_keyword_but_default_is_reserved() {
        let e = env(&[("ACME_MODEL_ALIASES", "latest=acme-xl-2,default=acme-small")]);
        let r = ok(&TEST, &e, Some("latest"));
        assert_eq!(r.model.as_deref(), Some("acme-xl-2"));
        assert_eq!(r.via_alias.as_deref(), Some("latest"));
        assert_eq!(r.source, Source::Env);
        let r = ok(&TEST, &e, Some("default"));
        assert_eq!(r.model.as_deref(), Some("acme-large"));
        let l = listing(&TEST, &e);
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("\"default\" always means")),
            "{:?}",
            l.warnings
        );
        assert!(!l.aliases.contains_key("default"));
    }

    #[test]
    fn default_precedence_env_then_config_then_bundled() {
        let home = home_with(".acme/config.toml", "model = \"acme-config\"\n");
        let with_env = env(&[
            ("HOME", home_str(&home)),
            ("ACME_DEFAULT_MODEL", "acme-env"),
        ]);
        let r = ok(&TOML_CAT, &with_env, None);
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-env"), Source::Env)
        );

        let config_only = env(&[("HOME", home_str(&home))]);
        let r = ok(&TOML_CAT, &config_only, None);
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-config"), Source::Config)
        );

        let empty_home = tempfile::tempdir().expect("tempdir");
        let bundled = env(&[("HOME", home_str(&empty_home))]);
        let r = ok(&TOML_CAT, &bundled, None);
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-large"), Source::Fallback)
        );
        assert!(
            listing(&TOML_CAT, &bundled).warnings.is_empty(),
            "absent default config is normal"
        );
    }

    #[test]
    fn env_default_may_be_an_alias() {
        let e = env(&[("ACME_DEFAULT_MODEL", "fast")]);
        let r = ok(&TEST, &e, None);
        assert_eq!(r.model.as_deref(), Some("acme-small"));
        assert_eq!(r.via_alias.as_deref(), Some("fast"));
        assert_eq!(r.source, Source::Env);
        let l = listing(&TEST, &e);
        assert!(l.models.iter().all(|m| m.id != "fast"));
        assert_eq!(l.default_model.as_deref(), Some("acme-small"));
    }

    #[test]
    fn invalid_env_default_is_a_warning_not_an_error() {
        let e = env(&[("ACME_DEFAULT_MODEL", "--dangerously-skip")]);
        let r = ok(&TEST, &e, None);
        assert_eq!(r.model.as_deref(), Some("acme-large"));
        let l = listing(&TEST, &e);
        assert!(
            l.warnings.iter().any(|w| w.contains("ACME_DEFAULT_MODEL")),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn alias_resolves_one_level_with_via_alias() {
        let r = ok(&TEST, &env(&[]), Some("fast"));
        assert_eq!(r.model.as_deref(), Some("acme-small"));
        assert_eq!(r.via_alias.as_deref(), Some("fast"));
        assert_eq!(r.requested.as_deref(), Some("fast"));
        assert_eq!(r.source, Source::Fallback);
        assert!(r.warning.is_none());
    }

    #[test]
    fn alias_precedence_global_then_provider_then_bundled() {
        let provider = env(&[(
            "ACME_MODEL_ALIASES",
            "fast=acme-tiny, new = acme-new\nbest=acme-xl",
        )]);
        let r = ok(&TEST, &provider, Some("fast"));
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-tiny"), Source::Env)
        );
        assert_eq!(
            ok(&TEST, &provider, Some("new")).model.as_deref(),
            Some("acme-new")
        );

        let both = env(&[
            ("ACME_MODEL_ALIASES", "fast=acme-tiny"),
            (
                GLOBAL_ALIASES_ENV,
                "acme.fast=acme-micro,other.fast=nope,acme.best=acme-small",
            ),
        ]);
        assert_eq!(
            ok(&TEST, &both, Some("fast")).model.as_deref(),
            Some("acme-micro")
        );
        let r = ok(&TEST, &both, Some("best"));
        // The target is a bundled id, so that is where the model itself is known from.
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-small"), Source::Fallback)
        );

        let other_only = env(&[(GLOBAL_ALIASES_ENV, "other.fast=nope")]);
        assert_eq!(
            ok(&TEST, &other_only, Some("fast")).model.as_deref(),
            Some("acme-small")
        );

        let l = listing(&TEST, &both);
        assert_eq!(
            l.aliases.get("fast").map(String::as_str),
            Some("acme-micro")
        );
        assert_eq!(l.alias_sources.get("fast"), Some(&Source::Env));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn malformed_alias_entries_warn_and_the_rest_apply() {
        let e = env(&[
            ("ACME_MODEL_ALIASES", "oops,x=-bad,good=acme-small"),
            (GLOBAL_ALIASES_ENV, "noprefix=acme-large"),
        ]);
        assert_eq!(
            ok(&TEST, &e, Some("good")).model.as_deref(),
            Some("acme-small")
        );
        let l = listing(&TEST, &e);
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
        assert!(!l.aliases.contains_key("x"));
    }

    #[test]
    fn alias_cycle_and_self_reference_are_errors() {
        let e = env(&[("ACME_MODEL_ALIASES", "ping=pong,pong=ping,me=me")]);
        for name in ["ping", "pong", "me"] {
            let err = resolve(&TEST, &e, Some(name)).expect_err(name);
            assert!(matches!(err, ModelError::AliasChain { .. }), "{err}");
            let msg = err.to_string();
            assert!(msg.contains("acme") && msg.contains("list_models"), "{msg}");
        }
        let l = listing(&TEST, &e);
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    }

    #[test]
    fn alias_cycle_as_default_is_an_error_on_request_and_a_warning_in_listing() {
        let e = env(&[
            ("ACME_MODEL_ALIASES", "ping=pong,pong=ping"),
            ("ACME_DEFAULT_MODEL", "ping"),
        ]);
        assert!(resolve(&TEST, &e, None).is_err());
        let l = listing(&TEST, &e);
        assert!(l.default_model.is_none());
        assert!(
            l.warnings.iter().any(|w| w.starts_with("default model:")),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn alias_to_an_id_that_is_also_an_alias_stops_at_the_id() {
        let e = env(&[(
            "ACME_MODEL_ALIASES",
            "acme-small=acme-small-v2,quick=acme-small",
        )]);
        let r = ok(&TEST, &e, Some("quick"));
        assert_eq!(r.model.as_deref(), Some("acme-small"));
    }

    #[test]
    fn known_ids_resolve_to_themselves_with_their_source() {
        let home = home_with(".acme/config.toml", "model = \"acme-config\"\n");
        let e = env(&[
            ("HOME", home_str(&home)),
            ("ACME_MODELS", "acme-env-1,acme-small"),
            ("ACME_DEFAULT_MODEL", "acme-env-default"),
        ]);
        let cases = [
            ("acme-large", Source::Fallback),
            ("acme-small", Source::Env),
            ("acme-env-1", Source::Env),
            ("acme-env-default", Source::Env),
            ("acme-config", Source::Config),
        ];
        for (name, source) in cases {
            let r = ok(&TOML_CAT, &e, Some(name));
            assert_eq!(r.model.as_deref(), Some(name));
            assert_eq!(r.source, source, "{name}");
            assert!(r.warning.is_none() && r.via_alias.is_none());
        }
    }

    #[test]
    fn unknown_well_formed_name_passes_through_with_warning() {
        let r = ok(&TEST, &env(&[]), Some("acme-9000:preview@2030/beta+x"));
        assert_eq!(r.model.as_deref(), Some("acme-9000:preview@2030/beta+x"));
        assert_eq!(r.source, Source::Request);
        let w = r.warning.expect("warning");
        assert!(
            w.contains("not in the registry for acme; passed to the CLI as is"),
            "{w}"
        );
    }

    #[test]
    fn invalid_names_are_errors() {
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let cases = [
            "",
            "   ",
            "-m",
            "--help",
            "opus\n--yolo",
            "opus\n",
            "a b",
            "a\tb",
            long.as_str(),
            "a;b",
            "$(rm)",
            "modèle",
        ];
        for name in cases {
            let err = resolve(&TEST, &env(&[]), Some(name)).expect_err(name);
            assert!(matches!(err, ModelError::Invalid { .. }));
            let msg = err.to_string();
            assert!(msg.contains("acme") && msg.contains("list_models"), "{msg}");
            assert!(!msg.contains('\n'), "value must be escaped: {msg}");
        }
        let msg = resolve(&TEST, &env(&[]), Some("opus\n--yolo"))
            .expect_err("newline")
            .to_string();
        assert!(msg.contains(r#""opus\n--yolo""#), "{msg}");
        let msg = resolve(&TEST, &env(&[]), Some(&long))
            .expect_err("long")
            .to_string();
        assert!(msg.contains("129 characters"), "{msg}");
        let max = "a".repeat(MAX_NAME_LEN);
        assert!(resolve(&TEST, &env(&[]), Some(&max)).is_ok());
    }

    #[test]
    fn env_models_comma_and_newline_list() {
        let e = env(&[("ACME_MODELS", " acme-a ,acme-b\nacme-c,,\n")]);
        let l = listing(&TEST, &e);
        let ids: Vec<_> = l.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            ["acme-a", "acme-b", "acme-c", "acme-large", "acme-small"]
        );
        assert_eq!(l.models[0].source, Source::Env);
        assert_eq!(l.models[0].confidence, Confidence::High);
        assert_eq!(l.models[0].description, "listed in ACME_MODELS");
        assert_eq!(l.models[3].confidence, Confidence::Low);
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn env_models_json_array() {
        let e = env(&[(
            "ACME_MODELS",
            r#"["acme-a", {"id": "acme-b", "description": "B"}, 7]"#,
        )]);
        let l = listing(&TEST, &e);
        assert_eq!(l.models[0].id, "acme-a");
        assert_eq!(
            (l.models[1].id.as_str(), l.models[1].description.as_str()),
            ("acme-b", "B")
        );
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert_eq!(ok(&TEST, &e, Some("acme-b")).source, Source::Env);
    }

    #[test]
    fn env_models_json_object_with_descriptions() {
        let e = env(&[(
            "ACME_MODELS",
            r#"{"acme-pro": "Pro tier", "acme-small": "", "acme-lite": null}"#,
        )]);
        let l = listing(&TEST, &e);
        let find = |id: &str| l.models.iter().find(|m| m.id == id).expect(id);
        assert_eq!(find("acme-pro").description, "Pro tier");
        assert_eq!(find("acme-pro").source, Source::Env);
        // Env decides the source; the bundled entry still supplies a missing description.
        assert_eq!(find("acme-small").source, Source::Env);
        assert_eq!(find("acme-small").description, "Small model");
        assert_eq!(find("acme-lite").description, "listed in ACME_MODELS");
        assert_eq!(l.models.iter().filter(|m| m.id == "acme-small").count(), 1);
    }

    #[test]
    fn bad_json_models_warn_and_are_ignored() {
        let e = env(&[("ACME_MODELS", r#"["acme-a", "#)]);
        let l = listing(&TEST, &e);
        assert_eq!(l.warnings.len(), 1);
        assert!(l.warnings[0].contains("ACME_MODELS"), "{:?}", l.warnings);
        assert_eq!(l.models.len(), 2);
        assert_eq!(ok(&TEST, &e, Some("acme-a")).source, Source::Request);
    }

    #[test]
    fn config_toml_key() {
        let home = home_with(
            ".acme/config.toml",
            "approval = \"never\"\nmodel = \"acme-o5\"\n[profiles.x]\nmodel = \"no\"\n",
        );
        let e = env(&[("HOME", home_str(&home))]);
        let l = listing(&TOML_CAT, &e);
        assert_eq!(l.default_model.as_deref(), Some("acme-o5"));
        assert_eq!(l.default_model_source, Some(Source::Config));
        assert_eq!(l.models[0].id, "acme-o5");
        assert_eq!(l.models[0].confidence, Confidence::High);
        assert!(l.models[0].description.contains("config.toml"));
    }

    #[test]
    fn config_toml_dotted_key_and_path_override() {
        let dir = home_with("elsewhere.toml", "[defaults]\nmodel = \"acme-deep\"\n");
        let cat = Catalog {
            config: Some(ConfigProbe {
                path_env: "ACME_CONFIG_PATH",
                default_path: ".acme/config.toml",
                format: ConfigFormat::TomlKey("defaults.model"),
            }),
            ..TEST
        };
        let path = dir.path().join("elsewhere.toml");
        let e = env(&[("ACME_CONFIG_PATH", path.to_str().expect("utf-8"))]);
        assert_eq!(ok(&cat, &e, None).model.as_deref(), Some("acme-deep"));
    }

    #[test]
    fn config_json_pointer_with_comments() {
        let home = home_with(
            ".acme/settings.json",
            "{\n  // chosen in the UI\n  \"model\": {\"name\": \"acme-flash\" /* fast */},\n  \"url\": \"http://x//y\"\n}",
        );
        let e = env(&[("HOME", home_str(&home))]);
        let r = ok(&JSON_CAT, &e, None);
        assert_eq!(
            (r.model.as_deref(), r.source),
            (Some("acme-flash"), Source::Config)
        );
        assert!(listing(&JSON_CAT, &e).warnings.is_empty());
    }

    #[test]
    fn config_without_the_key_is_silent() {
        let home = home_with(".acme/settings.json", r#"{"theme": "dark", "model": {}}"#);
        let e = env(&[("HOME", home_str(&home))]);
        let l = listing(&JSON_CAT, &e);
        assert_eq!(l.default_model_source, Some(Source::Fallback));
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn config_default_is_not_reinterpreted_through_gateway_aliases() {
        let home = home_with(".acme/settings.json", r#"{"model": {"name": "fast"}}"#);
        let e = env(&[("HOME", home_str(&home))]);
        let r = ok(&JSON_CAT, &e, None);
        assert_eq!((r.model.as_deref(), r.via_alias), (Some("fast"), None));
    }

    #[test]
    fn broken_or_missing_config_warns_and_falls_back() {
        let bad_json = home_with(".acme/settings.json", "{\"model\": ");
        let bad_toml = home_with(".acme/config.toml", "model = = 1");
        let wrong_type = home_with(".acme/config.toml", "model = 5");
        let cases = [
            (&JSON_CAT, env(&[("HOME", home_str(&bad_json))])),
            (&TOML_CAT, env(&[("HOME", home_str(&bad_toml))])),
            (&TOML_CAT, env(&[("HOME", home_str(&wrong_type))])),
            (
                &TOML_CAT,
                env(&[("ACME_CONFIG_PATH", "/nonexistent/acme/config.toml")]),
            ),
            (
                &TOML_CAT,
                env(&[
                    ("HOME", home_str(&bad_toml)),
                    ("ACME_CONFIG_PATH", home_str(&bad_toml)),
                ]),
            ),
        ];
        for (cat, e) in cases {
            let r = ok(cat, &e, None);
            assert_eq!(
                (r.model.as_deref(), r.source),
                (Some("acme-large"), Source::Fallback)
            );
            let l = listing(cat, &e);
            assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        }
    }

    #[test]
    fn listing_shape() {
        let e = env(&[
            ("ACME_MODELS", r#"{"acme-pro": "Pro"}"#),
            ("ACME_DEFAULT_MODEL", "acme-pro"),
        ]);
        let v = serde_json::to_value(listing(&TEST, &e)).expect("serialize");
        assert_eq!(v["provider"], "acme");
        assert_eq!(v["defaultModel"], "acme-pro");
        assert_eq!(v["defaultModelSource"], "env");
        assert_eq!(
            v["models"][0],
            serde_json::json!({"id": "acme-pro", "description": "Pro", "source": "env", "confidence": "high"})
        );
        assert_eq!(v["models"][1]["confidence"], "low");
        assert_eq!(v["models"][1]["source"], "fallback");
        assert_eq!(
            v["aliases"],
            serde_json::json!({"best": "acme-large", "fast": "acme-small"})
        );
        assert_eq!(v["aliasSources"]["fast"], "fallback");
        assert_eq!(v["warnings"], serde_json::json!([]));

        let r = serde_json::to_value(ok(&TEST, &e, Some("fast"))).expect("serialize");
        assert_eq!(r["viaAlias"], "fast");
        assert_eq!(r["source"], "fallback");
    }

    #[test]
    fn blank_env_values_count_as_unset() {
        let e = env(&[
            ("ACME_DEFAULT_MODEL", "  "),
            ("ACME_MODELS", ""),
            ("ACME_MODEL_ALIASES", "\n"),
        ]);
        assert_eq!(ok(&TEST, &e, None).model.as_deref(), Some("acme-large"));
        assert!(listing(&TEST, &e).warnings.is_empty());
    }

    #[test]
    fn bundled_catalogs_are_consistent() {
        assert!(check_catalog(&TEST).is_empty());
        let problems: Vec<String> = crate::providers::ALL
            .iter()
            .flat_map(|p| check_catalog(p.catalog()))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
        let broken = Catalog {
            aliases: &[("fast", "nope"), ("acme-large", "acme-small")],
            default_model: Some("-x"),
            ..TEST
        };
        assert_eq!(
            check_catalog(&broken).len(),
            4,
            "{:#?}",
            check_catalog(&broken)
        );
    }
}
