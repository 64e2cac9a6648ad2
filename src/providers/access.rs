//! What a request asks a CLI to be allowed to do, in words every provider shares.
//!
//! Each provider knows its own CLI's modes; the operator's policy (`crate::policy`) knows
//! what the operator allows. This module is the vocabulary between the two, so the policy
//! never needs a provider's flag names and a provider never needs the policy:
//!
//! - a [`Tier`] says how much a mode lets the CLI do;
//! - a provider's [`Modes`] table maps each parameter value a caller can send to a tier,
//!   with the reason — one table that both [`Provider::access`](super::Provider::access)
//!   reads and the policy's level table renders, so documentation cannot drift from code;
//! - an [`Access`] is one request's answer: the parameters that raise the tier, every
//!   path the caller named, the codex `-c` overrides, and what the CLI does with the
//!   mode the caller did not name.
//!
//! Tiers describe the CLI's built-in behaviour. The operator's own CLI configuration
//! (`~/.claude/settings.json`, `~/.codex/config.toml`, …) is the operator's decision and
//! is not second-guessed here; a request that asks the CLI to *ignore* that configuration
//! is, because only the operator may drop the operator's own restrictions.

use serde::Serialize;

use super::request::Common;

/// How much a mode lets a CLI do without a person approving it, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Reads files and answers; no edits, no shell that writes, no network tool the
    /// caller switched on.
    ReadOnly,
    /// Edits files in the workspace (the working directory and directories the caller
    /// added), or uses a network tool the caller switched on; no unconfined shell.
    WorkspaceWrite,
    /// Anything the CLI can do: unsandboxed shell, every tool approved, the CLI's own
    /// guards switched off or replaced by a model's judgement.
    Unrestricted,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::ReadOnly, Tier::WorkspaceWrite, Tier::Unrestricted];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::ReadOnly => "read-only",
            Tier::WorkspaceWrite => "workspace-write",
            Tier::Unrestricted => "unrestricted",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of a boolean switch in a [`Mode`] table.
pub const ON: &str = "true";
/// A [`Mode`] value that stands for every value not listed before it for that parameter.
pub const ANY: &str = "*";
/// The suffix of a [`Mode`] value that stands for a tool name followed by a rule in
/// parentheses (`Bash(git:*)`, `Read(//etc/**)`), as opposed to the bare tool name.
pub const WITH_RULE: &str = "(…)";

/// One value a caller can send and the tier it grants, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// The request parameter (`permissionMode`, `sandboxMode`, `allowedTools`, …).
    pub parameter: &'static str,
    /// The value: an enum value, [`ON`] for a switch, a tool name, `Tool(…)` for a tool
    /// with a rule, or [`ANY`] for everything else.
    pub value: &'static str,
    pub tier: Tier,
    /// Why this value has this tier, for people (refusals, `--help`, README).
    pub why: &'static str,
}

impl Mode {
    pub const fn new(
        parameter: &'static str,
        value: &'static str,
        tier: Tier,
        why: &'static str,
    ) -> Self {
        Self {
            parameter,
            value,
            tier,
            why,
        }
    }
}

/// A provider's whole mode table: what it does with no mode named, and every value a
/// caller can send.
#[derive(Debug)]
pub struct Modes {
    /// The parameter that names the mode, for messages about the default.
    pub mode_parameter: &'static str,
    /// The tier the run gets when the caller names no mode.
    pub default_tier: Tier,
    /// Why the default has that tier.
    pub default_why: &'static str,
    /// Modes the gateway can name instead of the default when the level forbids the
    /// default, lowest tier first. Empty when the default is read-only.
    pub safer_defaults: &'static [Mode],
    pub modes: &'static [Mode],
}

impl Modes {
    /// The entry for `value` of `parameter`: the exact value, else the parameter's
    /// [`ANY`] entry.
    pub fn lookup(&self, parameter: &str, value: &str) -> Option<&'static Mode> {
        let of_param = || self.modes.iter().filter(|m| m.parameter == parameter);
        of_param()
            .find(|m| m.value == value)
            .or_else(|| of_param().find(|m| m.value == ANY))
    }

    /// The entry for a tool name in an allow list: `Tool` matches a bare entry,
    /// `Tool(rule)` matches the `Tool(…)` entry, and anything else the [`ANY`] entry.
    /// A name with a comma or whitespace anywhere may be read by the CLI as several
    /// tools (Claude splits its list on both), so it gets the [`ANY`] entry.
    pub fn lookup_tool(&self, parameter: &str, tool: &str) -> Option<&'static Mode> {
        if tool.is_empty() || tool.contains(|c: char| c == ',' || c.is_whitespace()) {
            return self.lookup(parameter, ANY);
        }
        let key = match tool.split_once('(') {
            Some((base, _)) => format!("{base}{WITH_RULE}"),
            None => tool.to_string(),
        };
        self.lookup(parameter, &key)
    }

    /// An empty [`Access`] for a request: the default applies only when the caller did
    /// not name the mode (`mode_given`), since a named mode carries its own tier.
    pub fn access(&self, mode_given: bool) -> Access {
        let (default_tier, default_why, safer_defaults) = if mode_given {
            (Tier::ReadOnly, String::new(), Vec::new())
        } else {
            (
                self.default_tier,
                self.default_why.to_string(),
                self.safer_defaults
                    .iter()
                    .map(|m| Ask::from_mode(m, m.value))
                    .collect(),
            )
        };
        Access {
            asks: Vec::new(),
            paths: Vec::new(),
            codex_overrides: Vec::new(),
            mode_parameter: self.mode_parameter.to_string(),
            default_tier,
            default_why,
            safer_defaults,
        }
    }
}

/// A parameter whose value raises the tier above read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ask {
    /// The request parameter, e.g. `permissionMode`.
    pub parameter: String,
    /// The value the caller sent, e.g. `bypassPermissions` (`true` for a switch).
    pub value: String,
    pub tier: Tier,
    pub why: String,
}

impl Ask {
    pub fn from_mode(mode: &Mode, value: &str) -> Self {
        Self {
            parameter: mode.parameter.to_string(),
            value: value.to_string(),
            tier: mode.tier,
            why: mode.why.to_string(),
        }
    }
}

/// A filesystem path the caller passed; the policy resolves it and checks it against
/// the workspace roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathAsk {
    /// `cwd`, `includeDirectories`, `policyFiles`, …
    pub parameter: String,
    pub value: String,
}

/// One codex `-c key=value` the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigOverride {
    pub key: String,
    pub value: String,
}

/// What one request asks of the CLI. Built by [`Provider::access`](super::Provider::access)
/// from the same parameter structs the argv is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// Every parameter value that raises the tier above read-only.
    pub asks: Vec<Ask>,
    /// Every path the caller passed, in request order.
    pub paths: Vec<PathAsk>,
    /// Codex `-c` overrides (empty for other providers).
    pub codex_overrides: Vec<ConfigOverride>,
    /// The parameter that names the mode (for messages about the default).
    pub mode_parameter: String,
    /// The tier the run gets from the mode the caller did *not* name: the CLI's (or the
    /// gateway's) default. Read-only when the caller named the mode, whose [`Ask`] then
    /// carries the tier.
    pub default_tier: Tier,
    /// Why the default has that tier (empty when the caller named the mode).
    pub default_why: String,
    /// Modes the gateway may name instead of the default when the level forbids it,
    /// lowest tier first: the policy picks the highest one the level allows and the
    /// gateway adds it to the request's arguments before building the argv.
    pub safer_defaults: Vec<Ask>,
}

impl Access {
    /// The most the request lets the CLI do, if run as asked.
    pub fn tier(&self) -> Tier {
        self.asks
            .iter()
            .map(|a| a.tier)
            .fold(self.default_tier, Tier::max)
    }

    /// Records `value` of `parameter` when its entry in `modes` raises the tier. A value
    /// the table does not cover counts as unrestricted: a gap in a table must fail closed.
    pub fn ask_value(&mut self, modes: &Modes, parameter: &str, value: &str) {
        self.record(parameter, value, modes.lookup(parameter, value));
    }

    /// Records each tool of an allow list by its [`Modes::lookup_tool`] entry.
    pub fn ask_tools(&mut self, modes: &Modes, parameter: &str, tools: Option<&Vec<String>>) {
        for tool in tools.into_iter().flatten() {
            self.record(parameter, tool, modes.lookup_tool(parameter, tool));
        }
    }

    /// Records a switch that is on.
    pub fn ask_switch(&mut self, modes: &Modes, parameter: &str, on: bool) {
        if on {
            self.ask_value(modes, parameter, ON);
        }
    }

    fn record(&mut self, parameter: &str, value: &str, mode: Option<&Mode>) {
        let ask = match mode {
            Some(m) => Ask::from_mode(m, value),
            None => Ask {
                parameter: parameter.to_string(),
                value: value.to_string(),
                tier: Tier::Unrestricted,
                why: "the gateway has no tier for this value".to_string(),
            },
        };
        if ask.tier > Tier::ReadOnly {
            self.asks.push(ask);
        }
    }

    pub fn path(&mut self, parameter: &str, value: &str) {
        self.paths.push(PathAsk {
            parameter: parameter.to_string(),
            value: value.to_string(),
        });
    }

    /// Records the paths every provider shares (`cwd`).
    pub fn common_paths(&mut self, common: &Common) {
        if let Some(cwd) = &common.cwd {
            self.path("cwd", cwd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static MODES: Modes = Modes {
        mode_parameter: "mode",
        default_tier: Tier::Unrestricted,
        default_why: "the CLI approves everything by default",
        safer_defaults: &[Mode {
            parameter: "mode",
            value: "ask",
            tier: Tier::ReadOnly,
            why: "asks",
        }],
        modes: &[
            Mode {
                parameter: "tools",
                value: "Read",
                tier: Tier::ReadOnly,
                why: "reads",
            },
            Mode {
                parameter: "tools",
                value: "Read(…)",
                tier: Tier::Unrestricted,
                why: "a path rule",
            },
            Mode {
                parameter: "tools",
                value: ANY,
                tier: Tier::Unrestricted,
                why: "unknown",
            },
            Mode {
                parameter: "danger",
                value: ON,
                tier: Tier::Unrestricted,
                why: "no guard",
            },
        ],
    };

    #[test]
    fn tiers_are_ordered() {
        assert!(Tier::ReadOnly < Tier::WorkspaceWrite);
        assert!(Tier::WorkspaceWrite < Tier::Unrestricted);
        assert_eq!(Tier::ALL.iter().max(), Some(&Tier::Unrestricted));
    }

    #[test]
    fn tools_match_bare_rule_and_any() {
        assert_eq!(
            MODES.lookup_tool("tools", "Read").unwrap().tier,
            Tier::ReadOnly
        );
        assert_eq!(
            MODES.lookup_tool("tools", "Read(//etc/**)").unwrap().why,
            "a path rule"
        );
        assert_eq!(MODES.lookup_tool("tools", "read").unwrap().why, "unknown");
        assert!(MODES.lookup_tool("other", "Read").is_none());
    }

    #[test]
    fn default_applies_only_without_a_named_mode() {
        let a = MODES.access(false);
        assert_eq!(a.tier(), Tier::Unrestricted);
        assert_eq!(a.safer_defaults.len(), 1);
        let mut a = MODES.access(true);
        assert_eq!(a.tier(), Tier::ReadOnly);
        a.ask_tools(&MODES, "tools", Some(&vec!["Read".into()]));
        assert!(a.asks.is_empty(), "read-only values are not asks");
        a.ask_switch(&MODES, "danger", false);
        assert!(a.asks.is_empty());
        a.ask_switch(&MODES, "danger", true);
        assert_eq!(a.tier(), Tier::Unrestricted);
        assert_eq!(a.asks[0].value, "true");
        a.ask_value(&MODES, "unknown", "x");
        assert_eq!(a.asks[1].tier, Tier::Unrestricted, "gaps fail closed");
        a.ask_tools(
            &MODES,
            "tools",
            Some(&vec!["Read Bash".into(), "Read,Bash".into()]),
        );
        assert_eq!(a.asks.len(), 4, "lists inside one name are unknown tools");
    }
}
