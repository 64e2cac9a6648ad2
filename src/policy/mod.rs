//! The operator's policy: what a connected MCP client may make the CLIs do.
//!
//! The token lets a client ask; this module decides, before any process starts. It is
//! pure: it reads the `[policy]` table of `config.toml` ([`PolicySettings`]), the
//! filesystem (to resolve paths) and a provider's [`Access`] — nothing else of the
//! gateway — and answers with a [`Decision`]. Providers describe their modes as tiers
//! (`providers::access`) and never see the policy.
//!
//! - **Level** ([`Level`]): strict allows read-only runs, balanced adds edits in the
//!   workspace and network tools the caller switches on, permissive allows everything the
//!   CLIs offer. The operator sets it; a caller's `approvalPolicy` can only tighten it.
//! - **Paths**: every path a caller passes must resolve (symlinks followed) inside a
//!   workspace root and never in, at or above the gateway's own home. No level lifts the
//!   second rule.
//! - **Codex `-c` keys**: see [`codex_keys`]; a built-in allowlist, the operator's
//!   additions, and a hard denylist no level or setting lifts.
//!
//! # A default the level forbids
//!
//! Some runs are unrestricted without the caller asking: the gateway runs Vibe with its
//! `auto-approve` agent, and the third-party `grok` CLI approves everything headless.
//! Refusing those requests would make the provider unusable below permissive, so each
//! provider lists, in its mode table, safer modes it can be given instead
//! ([`Access::safer_defaults`]). [`Policy::decide`] picks the highest one the level
//! allows and returns it as [`Decision::default_override`]; the gateway inserts that
//! parameter into the request's arguments (`permissionMode: "accept-edits"`) before
//! building the argv, so the argv code stays the single place flags are made and the
//! providers never import the policy. A later refinement could pass the allowed
//! [`Tier`] into `Provider::invocation` instead; the data needed is already here.

pub mod codex_keys;
pub mod table;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::providers::access::{Access, Ask, Tier};
use codex_keys::{Key, Pattern};

pub use table::{Row, rows, table};

/// How much the operator lets connected clients make the CLIs do.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read-only runs: no edits, no shell that writes, no network tool the caller
    /// switches on.
    Strict,
    /// Adds edits inside the workspace roots and network tools; never a bypass, yolo,
    /// full-access, always-approve or auto-approve mode.
    #[default]
    Balanced,
    /// Everything the CLIs offer.
    Permissive,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Strict, Level::Balanced, Level::Permissive];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Strict => "strict",
            Level::Balanced => "balanced",
            Level::Permissive => "permissive",
        }
    }

    /// The highest tier this level allows.
    pub fn max_tier(self) -> Tier {
        match self {
            Level::Strict => Tier::ReadOnly,
            Level::Balanced => Tier::WorkspaceWrite,
            Level::Permissive => Tier::Unrestricted,
        }
    }

    pub fn allows(self, tier: Tier) -> bool {
        tier <= self.max_tier()
    }

    /// The lowest level that allows `tier`.
    pub fn needed_for(tier: Tier) -> Level {
        match tier {
            Tier::ReadOnly => Level::Strict,
            Tier::WorkspaceWrite => Level::Balanced,
            Tier::Unrestricted => Level::Permissive,
        }
    }

    /// One line for people: what the level allows.
    pub fn summary(self) -> &'static str {
        match self {
            Level::Strict => "read-only runs for every provider",
            Level::Balanced => {
                "edits inside the workspace roots and network tools; no bypass, yolo, full-access or auto-approve mode"
            }
            Level::Permissive => "everything the CLIs offer",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}: expected strict, balanced or permissive")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseLevelError(s.to_string()))
    }
}

/// `[policy]` in config.toml, as written. Every key is optional; unknown keys are an
/// error so that a typo such as `levle = "strict"` cannot leave the default in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// strict, balanced (default) or permissive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Absolute directories (`~` and `~/…` expand to the home directory) inside which
    /// callers may point the CLIs. Default: the home directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_roots: Option<Vec<String>>,
    /// Codex `-c` keys callers may set, on top of the built-in model and reasoning keys;
    /// `prefix.*` allows every key below `prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_config_keys: Option<Vec<String>>,
    /// Keep prompt previews in the decision records (default false: redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_prompts: Option<bool>,
}

/// A `[policy]` table the gateway cannot run with. Each names the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("[policy] workspace_roots entry {entry:?} is not an absolute path (write /… or ~/…)")]
    RelativeRoot { entry: String },
    #[error("[policy] workspace_roots entry {entry:?}: only ~ and ~/… are expanded")]
    UnexpandableRoot { entry: String },
    #[error("[policy] workspace_roots entry {entry:?} cannot be used: {error}")]
    MissingRoot { entry: String, error: String },
    #[error("[policy] workspace_roots entry {entry:?} is not a directory")]
    RootNotADirectory { entry: String },
    #[error(
        "[policy] workspace_roots entry {entry:?} is inside the gateway's home ({}), where no CLI may run",
        gateway_home.display()
    )]
    RootInGatewayHome {
        entry: String,
        gateway_home: PathBuf,
    },
    #[error("[policy] codex_config_keys entry {key:?} cannot be read as a dotted key: {error}")]
    UnreadableCodexKey { key: String, error: String },
    #[error("[policy] codex_config_keys entry {key:?} {why}; no setting can allow it")]
    ForbiddenCodexKey { key: String, why: String },
}

/// The policy in force: levels, resolved roots and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    level: Level,
    roots: Vec<PathBuf>,
    gateway_home: PathBuf,
    /// Other directories of the gateway's (its config dir when it differs from the data
    /// dir), protected like the home.
    also_private: Vec<PathBuf>,
    codex_keys: Vec<Pattern>,
    record_prompts: bool,
}

impl Policy {
    /// Validates `settings`: roots are expanded (`~`), must be absolute and exist, and
    /// are canonicalized; codex keys must parse and not be on the hard denylist.
    pub fn new(
        settings: &PolicySettings,
        user_home: &Path,
        gateway_home: &Path,
    ) -> Result<Policy, PolicyError> {
        let gateway_home = canonical_prefix(gateway_home);
        let mut roots: Vec<PathBuf> = Vec::new();
        match &settings.workspace_roots {
            Some(entries) => {
                for entry in entries {
                    let root = resolve_root(entry, user_home, &gateway_home)?;
                    if !roots.contains(&root) {
                        roots.push(root);
                    }
                }
            }
            // The default root is the home directory; where that cannot be a root (no
            // home, or the gateway's files live in it), there is none: runs without a
            // `cwd` still work in their scratch directory, and every `cwd` is refused
            // until the operator names a root. The operator's own entries are never
            // dropped like this: a bad one is an error.
            None => {
                if let Ok(root) = resolve_root("~", user_home, &gateway_home) {
                    roots.push(root);
                }
            }
        }
        let mut codex_keys = Vec::new();
        for raw in settings.codex_config_keys.iter().flatten() {
            let pattern = Pattern::parse(raw).map_err(|error| PolicyError::UnreadableCodexKey {
                key: raw.clone(),
                error,
            })?;
            if let Some(why) = codex_keys::hard_denied(pattern.key()) {
                return Err(PolicyError::ForbiddenCodexKey {
                    key: raw.clone(),
                    why: why.to_string(),
                });
            }
            codex_keys.push(pattern);
        }
        Ok(Policy {
            level: settings.level.unwrap_or_default(),
            roots,
            gateway_home,
            also_private: Vec::new(),
            codex_keys,
            record_prompts: settings.record_prompts.unwrap_or(false),
        })
    }

    /// Protects `dir` like the gateway's home (no root in it, no path in, at or above
    /// it): for installs whose config and data live in different directories.
    pub fn with_private_dir(mut self, dir: &Path) -> Result<Policy, PolicyError> {
        let dir = canonical_prefix(dir);
        if dir == self.gateway_home || self.also_private.contains(&dir) {
            return Ok(self);
        }
        if let Some(root) = self.roots.iter().find(|r| r.starts_with(&dir)) {
            return Err(PolicyError::RootInGatewayHome {
                entry: root.display().to_string(),
                gateway_home: dir,
            });
        }
        self.also_private.push(dir);
        Ok(self)
    }

    /// Reads `[policy]` as config.toml holds it and builds the policy for an install
    /// whose files live in `private_dirs` (the first is its home).
    pub fn from_table(
        table: &toml::Table,
        user_home: &Path,
        private_dirs: &[&Path],
    ) -> Result<Policy, String> {
        let settings: PolicySettings = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("[policy] in config.toml: {}", e.message()))?;
        let (home, rest) = private_dirs
            .split_first()
            .ok_or_else(|| "no gateway home given".to_string())?;
        let mut policy = Policy::new(&settings, user_home, home).map_err(|e| e.to_string())?;
        for dir in rest {
            policy = policy.with_private_dir(dir).map_err(|e| e.to_string())?;
        }
        Ok(policy)
    }

    /// The operator's level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The workspace roots, canonical.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn gateway_home(&self) -> &Path {
        &self.gateway_home
    }

    pub fn record_prompts(&self) -> bool {
        self.record_prompts
    }

    /// Every codex `-c` key a request may set: the built-in ones, then the operator's.
    pub fn codex_keys(&self) -> Vec<String> {
        codex_keys::BUILTIN
            .iter()
            .map(|k| k.to_string())
            .chain(self.codex_keys.iter().map(Pattern::to_string))
            .collect()
    }

    /// The level in force for a caller asking for `caller`: the lower of the two.
    pub fn effective_level(&self, caller: Option<Level>) -> Level {
        caller.map_or(self.level, |c| c.min(self.level))
    }

    /// Resolves a path a caller passed as `parameter`: absolute, existing, symlinks
    /// followed, inside a workspace root, and neither in, at nor above the gateway's home.
    /// The CLI must be given the returned path, not the caller's text.
    pub fn check_path(&self, parameter: &str, value: &str) -> Result<PathBuf, Refusal> {
        self.resolve_path(value)
            .map_err(|reason| self.refusal(parameter, value, self.level, reason))
    }

    /// Checks one codex `-c key=value` a request asks for.
    pub fn check_codex_override(&self, key: &str, value: &str) -> Result<(), Refusal> {
        self.judge_codex_override(key, value)
            .map_err(|reason| self.refusal(CODEX_OVERRIDES, key, self.level, reason))
    }

    /// Decides a request: the level in force is the operator's, tightened by the
    /// caller's `approvalPolicy`; every ask, path and codex key is judged, and every
    /// refusal is listed, not only the first.
    pub fn decide(&self, caller: Option<Level>, access: &Access) -> Decision {
        let level = self.effective_level(caller);
        let mut refusals = Vec::new();
        let mut tier = Tier::ReadOnly;
        let mut default_override = None;
        if level.allows(access.default_tier) {
            tier = access.default_tier;
        } else {
            let safer = access
                .safer_defaults
                .iter()
                .filter(|a| level.allows(a.tier))
                .max_by_key(|a| a.tier);
            match safer {
                Some(ask) => {
                    tier = ask.tier;
                    default_override = Some(ask.clone());
                }
                None => refusals.push(self.tier_refusal(
                    caller,
                    level,
                    &access.mode_parameter,
                    NOT_GIVEN,
                    access.default_tier,
                    &access.default_why,
                )),
            }
        }
        for ask in &access.asks {
            if level.allows(ask.tier) {
                tier = tier.max(ask.tier);
            } else {
                refusals.push(self.tier_refusal(
                    caller,
                    level,
                    &ask.parameter,
                    &ask.value,
                    ask.tier,
                    &ask.why,
                ));
            }
        }
        let mut paths = Vec::new();
        for p in &access.paths {
            match self.resolve_path(&p.value) {
                Ok(resolved) => paths.push(ResolvedPath {
                    parameter: p.parameter.clone(),
                    value: p.value.clone(),
                    resolved,
                }),
                Err(reason) => refusals.push(self.refusal(&p.parameter, &p.value, level, reason)),
            }
        }
        for o in &access.codex_overrides {
            if let Err(reason) = self.judge_codex_override(&o.key, &o.value) {
                refusals.push(self.refusal(CODEX_OVERRIDES, &o.key, level, reason));
            }
        }
        Decision {
            operator_level: self.level,
            caller_level: caller,
            level,
            tier,
            default_override,
            paths,
            refusals,
        }
    }

    fn resolve_path(&self, value: &str) -> Result<PathBuf, Reason> {
        if value.is_empty() || value.contains('\0') {
            return Err(Reason::PathUnusable {
                error: "it is empty or contains a NUL character".into(),
            });
        }
        let path = Path::new(value);
        if !path.is_absolute() {
            return Err(Reason::PathNotAbsolute);
        }
        let resolved = std::fs::canonicalize(path).map_err(|e| Reason::PathUnusable {
            error: match e.kind() {
                std::io::ErrorKind::NotFound => "it does not exist".to_string(),
                _ => format!("it cannot be resolved ({e})"),
            },
        })?;
        for home in std::iter::once(&self.gateway_home).chain(&self.also_private) {
            if resolved.starts_with(home) || home.starts_with(&resolved) {
                return Err(Reason::PathInGatewayHome {
                    resolved,
                    gateway_home: home.clone(),
                });
            }
        }
        if !self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Err(Reason::PathOutsideRoots {
                resolved,
                roots: self.roots.clone(),
            });
        }
        Ok(resolved)
    }

    fn judge_codex_override(&self, key: &str, value: &str) -> Result<(), Reason> {
        let parsed = Key::parse(key).map_err(|error| Reason::CodexKeyUnreadable { error })?;
        if let Some(why) = codex_keys::hard_denied(&parsed) {
            return Err(Reason::CodexKeyForbidden { why: why.into() });
        }
        if codex_keys::is_structured(value) {
            return Err(Reason::CodexValueStructured);
        }
        let builtin = codex_keys::BUILTIN
            .iter()
            .any(|k| parsed.segments() == [*k]);
        if builtin || self.codex_keys.iter().any(|p| p.matches(&parsed)) {
            Ok(())
        } else {
            Err(Reason::CodexKeyNotAllowed {
                allowed: self.codex_keys(),
            })
        }
    }

    fn tier_refusal(
        &self,
        caller: Option<Level>,
        level: Level,
        parameter: &str,
        value: &str,
        tier: Tier,
        why: &str,
    ) -> Refusal {
        let needed = Level::needed_for(tier);
        // The caller is what stands in the way only when the operator would allow it.
        let tightened_by = caller.filter(|_| self.level.allows(tier));
        self.refusal(
            parameter,
            value,
            level,
            Reason::NeedsLevel {
                needed,
                tier,
                why: why.to_string(),
                operator_level: self.level,
                tightened_by,
            },
        )
    }

    fn refusal(&self, parameter: &str, value: &str, level: Level, reason: Reason) -> Refusal {
        let (needed_level, config_key) = match &reason {
            Reason::NeedsLevel {
                needed,
                tightened_by: Some(_),
                ..
            } => (Some(*needed), Some("approvalPolicy".to_string())),
            Reason::NeedsLevel { needed, .. } => (
                Some(*needed),
                Some(format!("[policy] level = \"{needed}\"")),
            ),
            Reason::PathOutsideRoots { .. } => (None, Some("[policy] workspace_roots".into())),
            Reason::CodexKeyNotAllowed { .. } => (None, Some("[policy] codex_config_keys".into())),
            _ => (None, None),
        };
        Refusal {
            parameter: parameter.to_string(),
            value: value.to_string(),
            level_in_force: level,
            needed_level,
            config_key,
            reason: Box::new(reason),
        }
    }
}

const CODEX_OVERRIDES: &str = "configOverrides";
/// The value shown for a mode parameter the caller left out.
const NOT_GIVEN: &str = "(not given)";

/// `path` with its longest existing ancestor canonicalized: the gateway's home may not
/// exist yet at first start, and must still compare equal to the canonical paths
/// callers' paths resolve to (`/tmp` → `/private/tmp` on macOS).
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut current = path;
    loop {
        if let Ok(canonical) = std::fs::canonicalize(current) {
            return rest.iter().rev().fold(canonical, |acc, c| acc.join(c));
        }
        match (current.parent(), current.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                current = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

fn resolve_root(
    entry: &str,
    user_home: &Path,
    gateway_home: &Path,
) -> Result<PathBuf, PolicyError> {
    let expanded = if entry == "~" {
        user_home.to_path_buf()
    } else if let Some(rest) = entry.strip_prefix("~/") {
        user_home.join(rest)
    } else if entry.starts_with('~') {
        return Err(PolicyError::UnexpandableRoot {
            entry: entry.into(),
        });
    } else {
        PathBuf::from(entry)
    };
    if !expanded.is_absolute() {
        return Err(PolicyError::RelativeRoot {
            entry: entry.into(),
        });
    }
    let root = std::fs::canonicalize(&expanded).map_err(|e| PolicyError::MissingRoot {
        entry: entry.into(),
        error: match e.kind() {
            std::io::ErrorKind::NotFound => format!("{} does not exist", expanded.display()),
            _ => format!("{}: {e}", expanded.display()),
        },
    })?;
    if !root.is_dir() {
        return Err(PolicyError::RootNotADirectory {
            entry: entry.into(),
        });
    }
    if root.starts_with(gateway_home) {
        return Err(PolicyError::RootInGatewayHome {
            entry: entry.into(),
            gateway_home: gateway_home.to_path_buf(),
        });
    }
    Ok(root)
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub operator_level: Level,
    /// The caller's `approvalPolicy`, if it sent one.
    pub caller_level: Option<Level>,
    /// The level in force: the lower of the two.
    pub level: Level,
    /// The most the run may do if it goes ahead (after [`Self::default_override`]).
    pub tier: Tier,
    /// A mode the gateway must add to the request's arguments because the provider's
    /// default exceeds the level (see the module doc).
    pub default_override: Option<Ask>,
    /// Every path the request named, resolved; the CLI gets these, not the raw text.
    pub paths: Vec<ResolvedPath>,
    /// Everything the level does not allow, in request order; empty when allowed.
    pub refusals: Vec<Refusal>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }

    /// Whether the person at the machine could allow this run once (MCP elicitation):
    /// only refusals that a level or a root would lift, never one that no setting lifts.
    pub fn user_can_allow(&self) -> bool {
        !self.refusals.is_empty() && self.refusals.iter().all(Refusal::user_can_allow)
    }

    /// All refusals as one tool error text, one per line.
    pub fn message(&self) -> String {
        self.refusals
            .iter()
            .map(Refusal::message)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The resolved path for `parameter` (the first, for list parameters).
    pub fn path(&self, parameter: &str) -> Option<&Path> {
        self.paths
            .iter()
            .find(|p| p.parameter == parameter)
            .map(|p| p.resolved.as_path())
    }
}

/// A path the caller passed and where it resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedPath {
    pub parameter: String,
    pub value: String,
    pub resolved: PathBuf,
}

/// One thing the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The request parameter (`permissionMode`, `cwd`, `configOverrides`, …).
    pub parameter: String,
    /// The value the caller sent (for `configOverrides`, the key).
    pub value: String,
    pub level_in_force: Level,
    /// The lowest level that would allow it; `None` when no level does.
    pub needed_level: Option<Level>,
    /// The setting that would allow it; `None` when nothing can.
    pub config_key: Option<String>,
    pub reason: Box<Reason>,
}

/// Why a [`Refusal`] was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The value's tier is above the level in force.
    NeedsLevel {
        needed: Level,
        tier: Tier,
        why: String,
        operator_level: Level,
        /// The caller's `approvalPolicy`, when it (not the operator) set the limit.
        tightened_by: Option<Level>,
    },
    PathNotAbsolute,
    PathUnusable {
        error: String,
    },
    PathOutsideRoots {
        resolved: PathBuf,
        roots: Vec<PathBuf>,
    },
    PathInGatewayHome {
        resolved: PathBuf,
        gateway_home: PathBuf,
    },
    CodexKeyUnreadable {
        error: String,
    },
    CodexKeyForbidden {
        why: String,
    },
    CodexKeyNotAllowed {
        allowed: Vec<String>,
    },
    CodexValueStructured,
}

impl Refusal {
    /// See [`Decision::user_can_allow`].
    pub fn user_can_allow(&self) -> bool {
        matches!(
            *self.reason,
            Reason::NeedsLevel {
                tightened_by: None,
                ..
            } | Reason::PathOutsideRoots { .. }
        )
    }

    /// The tool error text: the parameter, the value, the level in force, and the
    /// setting that would allow it (or that none can).
    pub fn message(&self) -> String {
        let (p, v, level) = (&self.parameter, &self.value, self.level_in_force);
        let what = if v == NOT_GIVEN {
            format!("no {p} given")
        } else {
            format!("{p} {v:?}")
        };
        match &*self.reason {
            Reason::NeedsLevel {
                needed,
                why,
                operator_level,
                tightened_by: None,
                ..
            } => format!(
                "{what} needs level {needed} ({why}); the operator's policy is {operator_level} ([policy] level = \"{needed}\" in config.toml allows it)"
            ),
            Reason::NeedsLevel {
                needed,
                why,
                operator_level,
                tightened_by: Some(caller),
                ..
            } => format!(
                "{what} needs level {needed} ({why}); the caller's approvalPolicy \"{caller}\" tightened the level to {level} (the operator's policy is {operator_level}; approvalPolicy \"{needed}\" or none allows it)"
            ),
            Reason::PathNotAbsolute => format!(
                "{what} is not an absolute path; the level in force is {level} and only absolute paths inside the workspace roots are accepted"
            ),
            Reason::PathUnusable { error } => {
                format!("{what} cannot be used: {error} (level in force: {level})")
            }
            Reason::PathOutsideRoots { resolved, roots } => format!(
                "{what} resolves to {}, outside the workspace roots ({}); the level in force is {level}, and a root in [policy] workspace_roots in config.toml would allow it",
                resolved.display(),
                join_paths(roots)
            ),
            Reason::PathInGatewayHome {
                resolved,
                gateway_home,
            } => format!(
                "{what} resolves to {}, which {} the gateway's home ({}); no level or setting lets a CLI there (level in force: {level})",
                resolved.display(),
                if resolved.starts_with(gateway_home) {
                    "is in"
                } else {
                    "contains"
                },
                gateway_home.display()
            ),
            Reason::CodexKeyUnreadable { error } => format!(
                "{p} key {v:?} cannot be read as a dotted key ({error}), so it is refused at every level (level in force: {level})"
            ),
            Reason::CodexKeyForbidden { why } => format!(
                "{p} key {v:?} {why}; no level or setting allows it (level in force: {level})"
            ),
            Reason::CodexKeyNotAllowed { allowed } => format!(
                "{p} key {v:?} is not an allowed codex -c key ({}); the level in force is {level}, and [policy] codex_config_keys in config.toml would allow it",
                allowed.join(", ")
            ),
            Reason::CodexValueStructured => format!(
                "{p} key {v:?} has a table value, which could set keys no allowlist names; set each key on its own (level in force: {level})"
            ),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none configured".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
