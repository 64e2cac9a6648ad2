//! `policy`: show the operator's policy, or set its level, workspace roots and prompt
//! recording.
//!
//! Plan, check, act, report: the new `[policy]` is built from the current one and the
//! options, validated exactly as the gateway validates it at start
//! ([`crate::doctor::policy::build`], i.e. `Policy::from_table` with the user's home and
//! the install's directories) before anything is written, then only `[policy]` in
//! config.toml is rewritten (atomically, everything else kept as written), and a running
//! gateway is restarted because it reads the policy at start. Setting values already in
//! force writes nothing and restarts nothing.

use std::path::Path;

use anyhow::{Result, anyhow};

use crate::cli::PolicyArgs;
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::doctor::policy::{build, level as report_level, settings};
use crate::platform::error::coded;
use crate::policy::{self, Policy, codex_keys};
use crate::report::{
    CodexKeys, LevelAllows, LevelDefault, PolicyApplied, PolicyReport, ProviderLevels, Report,
    SCHEMA_VERSION,
};
use crate::runtime::config::Config;
use crate::runtime::service::{self, Snapshot};

const LEVEL: &str = "level";
const ROOTS: &str = "workspace_roots";
const RECORD_PROMPTS: &str = "record_prompts";

pub fn run(ctx: &Ctx, args: &PolicyArgs) -> Result<Output> {
    if !args.sets_anything() {
        let config = common::load_config(ctx)?;
        let (report, human) = report(ctx, &config.policy, false, None, String::new(), true);
        return Ok(Output {
            report: Report::Policy(report),
            human,
        });
    }
    let _lock = common::lock(ctx)?;
    let config = common::load_config(ctx)?;
    let old = config.policy.clone();
    let before = build(&ctx.paths, &old, None).ok();
    let table = wanted(ctx, args, &old)?;
    let after = build(&ctx.paths, &table, None).map_err(|why| {
        coded(
            "invalid-policy",
            format!(
                "{why}\nhelp: nothing was changed. Workspace roots must be existing directories outside the gateway's own ({}); --workspace-root replaces the configured list, and other [policy] keys are edited in {}",
                ctx.paths.data_dir.display(),
                ctx.paths.config_file().display()
            ),
        )
    })?;
    let changed = table != old;
    if changed {
        Config::write_policy(&ctx.paths.config_file(), &table)?;
    }
    let config = Config {
        policy: table,
        ..config
    };
    let file = ctx.paths.config_file();
    let (applied, message) = if before.as_ref() == Some(&after) {
        let message = if changed {
            format!(
                "Saved [policy] in {}; the policy in force is the same, so the gateway was not restarted.",
                file.display()
            )
        } else {
            "Nothing to change: the policy already has these values.".to_string()
        };
        (PolicyApplied::Unchanged, message)
    } else {
        match restart_if_running(ctx, &config)? {
            Some(pid) => (
                PolicyApplied::Restarted,
                format!(
                    "Saved [policy] in {} and restarted the running gateway (pid {pid}), which applies it now.",
                    file.display()
                ),
            ),
            None => (
                PolicyApplied::AtNextStart,
                format!(
                    "Saved [policy] in {}; the gateway is not running, so it applies at the next start.",
                    file.display()
                ),
            ),
        }
    };
    let (report, human) = report(ctx, &config.policy, changed, Some(applied), message, false);
    Ok(Output {
        report: Report::Policy(report),
        human,
    })
}

/// The `[policy]` table the options ask for. Errors are usage errors: a root the
/// policy could never read.
fn wanted(ctx: &Ctx, args: &PolicyArgs, old: &toml::Table) -> Result<toml::Table> {
    let mut table = old.clone();
    if let Some(level) = args.level {
        table.insert(LEVEL.into(), level.as_str().into());
    }
    if let Some(record) = args.record_prompts {
        table.insert(RECORD_PROMPTS.into(), record.into());
    }
    if !args.workspace_root.is_empty() {
        let mut entries: Vec<String> = Vec::new();
        for dir in &args.workspace_root {
            let entry = root_entry("--workspace-root", dir)?;
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
        table.insert(ROOTS.into(), entries.into());
    }
    for dir in &args.add_workspace_root {
        let entry = root_entry("--add-workspace-root", dir)?;
        let mut entries = configured_roots(&table).ok_or_else(|| {
            coded(
                "invalid-policy",
                format!(
                    "[policy] workspace_roots in {} is not a list of directories, so nothing can be added to it\nhelp: set the whole list with --workspace-root DIR (repeatable); nothing was changed",
                    ctx.paths.config_file().display()
                ),
            )
        })?;
        if entries.contains(&entry) {
            continue;
        }
        entries.push(entry);
        let mut candidate = table.clone();
        candidate.insert(ROOTS.into(), entries.into());
        // A root that resolves to one already listed adds nothing.
        if let (Ok(now), Ok(then)) = (
            build(&ctx.paths, &table, None),
            build(&ctx.paths, &candidate, None),
        ) && now.roots() == then.roots()
        {
            continue;
        }
        table = candidate;
    }
    Ok(table)
}

/// The configured roots, `["~"]` when none are; `None` when the value is not a list of
/// strings.
fn configured_roots(table: &toml::Table) -> Option<Vec<String>> {
    match table.get(ROOTS) {
        None => Some(vec!["~".to_string()]),
        Some(toml::Value::Array(a)) => a.iter().map(|v| v.as_str().map(String::from)).collect(),
        Some(_) => None,
    }
}

/// A root as config.toml keeps it: `~` and `~/…` as given (the gateway expands them),
/// other relative paths made absolute from the current directory.
fn root_entry(flag: &str, dir: &Path) -> Result<String> {
    let usage = |why: String| coded("usage", format!("{flag} {}: {why}", dir.display()));
    let text = dir.to_str().ok_or_else(|| {
        usage("the path is not valid UTF-8, which config.toml cannot hold".into())
    })?;
    if text == "~" || text.starts_with("~/") {
        return Ok(text.to_string());
    }
    if text.starts_with('~') {
        return Err(usage(
            "only ~ and ~/… are expanded (to your home directory)\nhelp: write another user's home as an absolute path, e.g. /home/NAME".into(),
        ));
    }
    if text.is_empty() {
        return Err(usage("an empty path is not a directory".into()));
    }
    let absolute =
        std::path::absolute(dir).map_err(|e| usage(format!("cannot be made absolute: {e}")))?;
    absolute
        .to_str()
        .map(String::from)
        .ok_or_else(|| usage("the path is not valid UTF-8, which config.toml cannot hold".into()))
}

/// Restarts a running gateway so it reads the new policy; `None` when none runs.
fn restart_if_running(ctx: &Ctx, config: &Config) -> Result<Option<u32>> {
    if Snapshot::take(&ctx.paths, config).running().is_none() {
        return Ok(None);
    }
    ctx.printer
        .step("Restarting the gateway so it applies the new policy ...");
    let restart = || -> Result<u32> {
        service::stop(&ctx.paths, config)?;
        let started = service::start(&ctx.paths, config, &|| {
            super::installation::installed(&ctx.paths)
        })?;
        Ok(started.pid)
    };
    restart().map(Some).map_err(|e| {
        anyhow!(
            "the new policy is saved in {}, but the gateway did not start again: {e:#}\nhelp: run `llm-cli-gateway doctor` to see why, then `llm-cli-gateway start`",
            ctx.paths.config_file().display()
        )
    })
}

/// The document and the page for `table`; `with_table` adds the levels table to the page.
fn report(
    ctx: &Ctx,
    table: &toml::Table,
    changed: bool,
    applied: Option<PolicyApplied>,
    message: String,
    with_table: bool,
) -> (PolicyReport, String) {
    let built: Result<Policy, String> = build(&ctx.paths, table, None);
    let s = settings(table);
    let level = built
        .as_ref()
        .map_or(s.level.unwrap_or_default(), Policy::level);
    let roots = s
        .workspace_roots
        .clone()
        .unwrap_or_else(|| vec!["~".into()]);
    let resolved = built
        .as_ref()
        .map(|p| p.roots().to_vec())
        .unwrap_or_default();
    let mut protected = vec![ctx.paths.data_dir.clone()];
    if ctx.paths.config_dir != ctx.paths.data_dir {
        protected.push(ctx.paths.config_dir.clone());
    }
    let keys = CodexKeys {
        builtin: codex_keys::BUILTIN.iter().map(|k| k.to_string()).collect(),
        operator: s.codex_config_keys.clone().unwrap_or_default(),
        denied: codex_keys::denied_names(),
    };
    let record_prompts = built
        .as_ref()
        .map_or(s.record_prompts.unwrap_or(false), Policy::record_prompts);
    let problem = built.as_ref().err().cloned();
    let message = if message.is_empty() {
        match &problem {
            Some(_) => {
                "The policy in config.toml is not valid; the gateway refuses to start with it."
                    .to_string()
            }
            None => format!("The policy in force is {level}."),
        }
    } else {
        message
    };

    let mut page = String::new();
    let fixed = if applied.is_some() {
        format!("{message}\n\n")
    } else {
        format!("Policy from {}:\n\n", ctx.paths.config_file().display())
    };
    page.push_str(&fixed);
    if let Some(why) = &problem {
        page.push_str(&format!(
            "NOT VALID: {why}\nThe gateway refuses to start with this policy; set a valid value with the options below or fix {}.\n\n",
            ctx.paths.config_file().display()
        ));
    }
    let default = |configured: bool| if configured { "" } else { " (default)" };
    let join = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join(", ");
    page.push_str(&format!(
        "  level            {level}{}: {}\n",
        default(table.contains_key(LEVEL)),
        level.summary()
    ));
    page.push_str(&format!(
        "  workspace roots  {}{}\n",
        join(&mut roots.iter().cloned()),
        default(table.contains_key(ROOTS))
    ));
    if built.is_ok() {
        page.push_str(&format!(
            "    resolved       {}\n",
            if resolved.is_empty() {
                "none: callers can name no directory".to_string()
            } else {
                join(&mut resolved.iter().map(|p| p.display().to_string()))
            }
        ));
    }
    page.push_str(&format!(
        "  protected        {} (the gateway's own files: no caller path in, at or above them)\n",
        join(&mut protected.iter().map(|p| p.display().to_string()))
    ));
    page.push_str(&format!(
        "  codex -c keys    {} (built-in){}\n",
        keys.builtin.join(", "),
        if keys.operator.is_empty() {
            String::new()
        } else {
            format!(
                "; {} ([policy] codex_config_keys)",
                keys.operator.join(", ")
            )
        }
    ));
    page.push_str(&format!(
        "  prompts          {}\n",
        if record_prompts {
            "previews kept in the decision records (record_prompts = true)"
        } else {
            "redacted in the decision records; only each prompt's SHA-256 is kept"
        }
    ));
    if with_table {
        page.push_str(&format!(
            "\nWhat each level allows, per provider:\n\n{}",
            policy::table()
        ));
        page.push_str(
            "\nA caller's approvalPolicy can only tighten the level, never loosen it.\n\
             Change it: llm-cli-gateway policy --level LEVEL | --workspace-root DIR ... | --add-workspace-root DIR | --record-prompts true|false\n",
        );
    }

    let report = PolicyReport {
        schema_version: SCHEMA_VERSION,
        ok: problem.is_none(),
        changed,
        config_file: ctx.paths.config_file(),
        level: report_level(level),
        level_summary: level.summary().to_string(),
        level_configured: table.contains_key(LEVEL),
        workspace_roots: roots,
        workspace_roots_configured: table.contains_key(ROOTS),
        resolved_workspace_roots: resolved,
        protected_dirs: protected,
        codex_config_keys: keys,
        record_prompts,
        levels: levels(),
        problem,
        applied,
        message,
    };
    (report, page)
}

/// The level table's rows as the document carries them.
fn levels() -> Vec<ProviderLevels> {
    policy::rows()
        .into_iter()
        .map(|r| ProviderLevels {
            provider: r.provider.to_string(),
            name: r.display_name.to_string(),
            levels: r
                .levels
                .into_iter()
                .map(|l| LevelAllows {
                    level: report_level(l.level),
                    values: l.values,
                })
                .collect(),
            defaults: r
                .defaults
                .into_iter()
                .map(|d| LevelDefault {
                    level: report_level(d.level),
                    tier: d.tier.to_string(),
                    named_mode: d.named_mode,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    const START: &str = "<!-- policy-table -->\n";
    const END: &str = "<!-- /policy-table -->";

    /// README's levels table is `policy::table()`, pasted; this fails when they drift and
    /// rewrites README's copy with `UPDATE_README=1`.
    #[test]
    fn readme_policy_table_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme
            .find(START)
            .expect("README has <!-- policy-table -->")
            + START.len();
        let end = start
            + readme[start..]
                .find(END)
                .expect("README has <!-- /policy-table -->");
        let fresh = format!("\n{}\n", crate::policy::table().trim_end());
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{fresh}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            readme[start..end] == fresh,
            "README.md's levels table differs from policy::table(); run `UPDATE_README=1 cargo test readme_policy_table_is_current`"
        );
    }
}
