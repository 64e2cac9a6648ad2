//! The operator's policy as `doctor` and the `policy` command see it: built from
//! `[policy]` exactly as the gateway builds it at start (the user's home for `~`, the
//! install's data and config directories protected), so what they report is what the
//! gateway will enforce.

use std::path::{Path, PathBuf};

use crate::policy::{Level, Policy, PolicySettings};
use crate::report::{PolicyCheck, PolicyLevel};
use crate::runtime::paths::{Paths, user_home};

/// The policy `table` makes for this install, with `home` (default: the user's home)
/// standing for `~`. The error names the entry at fault.
pub fn build(paths: &Paths, table: &toml::Table, home: Option<&Path>) -> Result<Policy, String> {
    let home = match home {
        Some(h) => h.to_path_buf(),
        None => user_home().ok_or(
            "could not determine the home directory, which `~` in [policy] workspace_roots means; set HOME",
        )?,
    };
    Policy::from_table(table, &home, &[&paths.data_dir, &paths.config_dir])
}

/// `[policy]` as written, or the defaults when it cannot be read.
pub fn settings(table: &toml::Table) -> PolicySettings {
    toml::Value::Table(table.clone())
        .try_into()
        .unwrap_or_default()
}

/// A level as reports show it.
pub fn level(level: Level) -> PolicyLevel {
    match level {
        Level::Strict => PolicyLevel::Strict,
        Level::Balanced => PolicyLevel::Balanced,
        Level::Permissive => PolicyLevel::Permissive,
    }
}

/// Doctor's policy section. `home` is the gateway's HOME when doctor knows it.
pub fn check(paths: &Paths, table: &toml::Table, home: Option<&Path>) -> PolicyCheck {
    match build(paths, table, home) {
        Ok(p) => PolicyCheck {
            valid: true,
            level: level(p.level()),
            workspace_roots: p.roots().to_vec(),
            record_prompts: p.record_prompts(),
            problem: None,
        },
        Err(problem) => {
            let s = settings(table);
            PolicyCheck {
                valid: false,
                level: level(s.level.unwrap_or_default()),
                workspace_roots: Vec::<PathBuf>::new(),
                record_prompts: s.record_prompts.unwrap_or(false),
                problem: Some(problem),
            }
        }
    }
}
