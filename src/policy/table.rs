//! What each level allows per provider, rendered from the providers' own mode tables
//! (the data `Provider::access` reads), for README, `--help` and `--json`.

use std::fmt::Write as _;

use serde::Serialize;

use super::Level;
use super::codex_keys;
use crate::providers::{
    self, Provider,
    access::{ANY, Mode, ON, Tier},
};

/// One provider's line of the level table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub provider: &'static str,
    pub display_name: &'static str,
    /// What each level allows on top of the level below it, strict first.
    pub levels: Vec<LevelValues>,
    /// What runs when the caller names no mode, per level.
    pub defaults: Vec<DefaultAt>,
}

/// The values a level adds, grouped by parameter (`permissionMode: default, plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelValues {
    pub level: Level,
    pub values: Vec<String>,
}

/// What a run with no mode named does under a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefaultAt {
    pub level: Level,
    pub tier: Tier,
    /// The mode the gateway names instead of the CLI's default, if it must.
    pub named_mode: Option<String>,
}

/// The table's rows, one per provider in [`providers::ALL`] order.
pub fn rows() -> Vec<Row> {
    providers::ALL.iter().map(|p| row(*p)).collect()
}

fn row(p: &dyn Provider) -> Row {
    let modes = p.modes();
    let levels = Level::ALL
        .iter()
        .map(|&level| LevelValues {
            level,
            values: grouped(modes.modes, level.max_tier()),
        })
        .collect();
    let defaults = Level::ALL
        .iter()
        .map(|&level| {
            if level.allows(modes.default_tier) {
                DefaultAt {
                    level,
                    tier: modes.default_tier,
                    named_mode: None,
                }
            } else {
                let safer = modes
                    .safer_defaults
                    .iter()
                    .filter(|m| level.allows(m.tier))
                    .max_by_key(|m| m.tier);
                DefaultAt {
                    level,
                    tier: safer.map_or(modes.default_tier, |m| m.tier),
                    named_mode: safer.map(|m| format!("{} {}", m.parameter, m.value)),
                }
            }
        })
        .collect();
    Row {
        provider: p.id(),
        display_name: p.display_name(),
        levels,
        defaults,
    }
}

/// The values of exactly `tier`, as `parameter: v1, v2` in table order.
fn grouped(modes: &[Mode], tier: Tier) -> Vec<String> {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for m in modes.iter().filter(|m| m.tier == tier) {
        let value = match m.value {
            ON => None,
            ANY if modes
                .iter()
                .any(|o| o.parameter == m.parameter && o.value != ANY) =>
            {
                Some("any other".to_string())
            }
            ANY => Some("any".to_string()),
            v => Some(v.to_string()),
        };
        match groups.iter_mut().find(|(p, _)| *p == m.parameter) {
            Some((_, values)) => values.extend(value),
            None => groups.push((m.parameter, value.into_iter().collect())),
        }
    }
    groups
        .into_iter()
        .map(|(p, values)| {
            if values.is_empty() {
                p.to_string()
            } else {
                format!("{p}: {}", values.join(", "))
            }
        })
        .collect()
}

/// The level table as Markdown, for README and the policy command's `--help`.
pub fn table() -> String {
    let rows = rows();
    let mut out = String::new();
    out.push_str(
        "| Provider | strict allows | balanced also allows | permissive also allows |\n|---|---|---|---|\n",
    );
    for r in &rows {
        let cells: Vec<String> = r
            .levels
            .iter()
            .map(|l| {
                if l.values.is_empty() {
                    "—".to_string()
                } else {
                    l.values.join("; ")
                }
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", r.provider, cells.join(" | "));
    }
    out.push_str("\nWith no mode named:\n");
    for (r, p) in rows.iter().zip(providers::ALL) {
        let modes = p.modes();
        if modes.default_tier == Tier::ReadOnly {
            let _ = writeln!(
                out,
                "- {}: read-only at every level ({}).",
                r.provider, modes.default_why
            );
            continue;
        }
        let named: Vec<String> = r
            .defaults
            .iter()
            .map(|d| match &d.named_mode {
                Some(mode) => format!("{} names {mode}", d.level),
                None => format!("{} runs the default", d.level),
            })
            .collect();
        let _ = writeln!(
            out,
            "- {}: {} ({}); {}.",
            r.provider,
            modes.default_tier,
            modes.default_why,
            named.join(", ")
        );
    }
    let denied: Vec<String> = codex_keys::denied_names();
    let _ = write!(
        out,
        "\nAt every level:\n\
         - every path a caller passes (cwd, added or included directories, policy files) must \
         resolve, symlinks followed, inside [policy] workspace_roots, and never in, at or above \
         the gateway's home;\n\
         - codex configOverrides (-c) may set only {} and the keys in [policy] \
         codex_config_keys; never {}, nor any key naming a program, file, directory, URL or \
         environment, whatever the level or setting.\n",
        codex_keys::BUILTIN.join(", "),
        denied.join(", ")
    );
    out
}
