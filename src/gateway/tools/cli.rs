//! `cli_versions` and `cli_upgrade`: the provider CLIs themselves.

use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::sessions::{CliFilter, provider_id, tri};
use super::view;
use crate::gateway::server::Gateway;
use crate::platform::bounded::run_bounded;
use crate::providers::{self, Provider};

/// `--version` should answer in well under a second; Gemini's takes ~1.5 s.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_UPGRADE_TIMEOUT_MS: u64 = 300_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeParams {
    /// Provider: claude, codex, gemini, grok or mistral.
    pub cli: String,
    /// "latest" (default) or a version such as 2.1.330.
    #[serde(default)]
    pub target: Option<String>,
    /// Only return the plan (default true). Set false to run it.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Per-command timeout when running (default 300000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

async fn version_of(provider: &dyn Provider) -> Value {
    let Some(path) = providers::which(provider.binary()) else {
        return json!({
            "cli": provider.id(), "binary": provider.binary(), "installed": false,
            "install": provider.install_hint(),
        });
    };
    let base =
        json!({"cli": provider.id(), "binary": provider.binary(), "installed": true, "path": path});
    let mut v = base;
    match run_bounded(&path, &["--version"], None, VERSION_TIMEOUT).await {
        Ok(r) if r.timed_out => {
            v["error"] = json!(format!(
                "`{} --version` timed out after {} s",
                provider.binary(),
                VERSION_TIMEOUT.as_secs()
            ))
        }
        Ok(r) => {
            let first = r.stdout.lines().map(str::trim).find(|l| !l.is_empty());
            v["version"] = json!(first);
            if r.code != Some(0) {
                v["error"] = json!(format!("exit code {:?}: {}", r.code, r.stderr.trim()));
            }
        }
        Err(e) => v["error"] = json!(format!("could not run {}: {e}", path.display())),
    }
    v
}

fn valid_target(t: &str) -> bool {
    t == "latest"
        || (t.len() <= 64
            && t.starts_with(|c: char| c.is_ascii_alphanumeric())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c)))
}

fn tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(max)).collect()
}

#[tool_router(router = cli_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "Installed provider CLI versions (first line of `<cli> --version`), checked concurrently; a missing CLI is reported with how to install it."
    )]
    async fn cli_versions(
        &self,
        Parameters(p): Parameters<CliFilter>,
    ) -> Result<CallToolResult, ErrorData> {
        let only = tri!(p.cli.as_deref().map(provider_id).transpose());
        let probes = providers::ALL
            .iter()
            .filter(|pr| only.is_none_or(|id| pr.id() == id))
            .map(|pr| version_of(*pr));
        let versions = futures_util::future::join_all(probes).await;
        Ok(view::data(json!({ "clis": versions })))
    }

    #[tool(
        description = "Plan (dryRun, the default) or run the upgrade of one provider CLI: claude update / claude install <v>, codex update / npm @openai/codex@<v>, npm @google/gemini-cli@<v>, grok update, uv/pipx mistral-vibe."
    )]
    async fn cli_upgrade(
        &self,
        Parameters(p): Parameters<UpgradeParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = tri!(provider_id(&p.cli));
        let provider = providers::find(id).expect("provider_id returned a known id");
        let target = p.target.unwrap_or_else(|| "latest".into());
        if !valid_target(&target) {
            return Ok(view::refused(format!(
                "target {target:?} must be \"latest\" or a version like 1.2.3 (letters, digits, . + _ -)"
            )));
        }
        let plan = provider.upgrade_plan(&target);
        if p.dry_run.unwrap_or(true) {
            return Ok(view::data(json!({
                "cli": id, "target": target, "dryRun": true, "commands": plan,
                "note": "nothing was run; call again with dryRun: false to run these commands",
            })));
        }
        let timeout = Duration::from_millis(p.timeout_ms.unwrap_or(DEFAULT_UPGRADE_TIMEOUT_MS));
        let mut ran = Vec::new();
        let mut ok = true;
        for command in &plan {
            let Some(program) = providers::which(&command[0]) else {
                ok = false;
                ran.push(json!({"command": command, "error": format!("`{}` is not on the gateway's PATH", command[0])}));
                break;
            };
            let args: Vec<&str> = command[1..].iter().map(String::as_str).collect();
            match run_bounded(&program, &args, None, timeout).await {
                Ok(r) => {
                    ok &= r.code == Some(0) && !r.timed_out;
                    ran.push(json!({
                        "command": command, "exitCode": r.code, "timedOut": r.timed_out,
                        "stdout": tail(&r.stdout, 4000), "stderr": tail(&r.stderr, 4000),
                    }));
                }
                Err(e) => {
                    ok = false;
                    ran.push(json!({"command": command, "error": e.to_string()}));
                }
            }
            if !ok {
                break;
            }
        }
        let v = json!({"cli": id, "target": target, "dryRun": false, "success": ok, "ran": ran});
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        Ok(view::reply(v, text, !ok))
    }
}
