//! `approval_list`: the record of the policy's decisions, newest first. Parameters and
//! output keep the seed gateway's shape (`cli`, `limit`; `{success, count, approvals}`,
//! each record with the seed's `ts`, `status`, `cli`, `policy`, `operation`) and add what
//! the seed lacked: a `status` filter and the exact decision (`allowed`, `refused`,
//! `user_approved`, `user_declined`) with its reasons, level, job and correlation ids.

use std::fmt::Write as _;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::sessions::{provider_id, tri};
use super::view;
use crate::gateway::server::Gateway;
use crate::platform::time::rfc3339;
use crate::store::decisions::{DecisionKind, DecisionRecord};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalListParams {
    /// Only this provider: claude, codex, gemini, grok or mistral (the seed's name for
    /// the parameter). All when omitted.
    #[serde(default)]
    pub cli: Option<String>,
    /// Only this decision: allowed, refused, user_approved or user_declined (the seed's
    /// approved and denied select allowed and refused). All when omitted.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many records, newest first (default 50, 1 to 500).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `ts` as the seed wrote it (`Date.toISOString()`: UTC with milliseconds).
fn iso_ms(at_ms: i64) -> String {
    let at_ms = at_ms.max(0);
    let secs = rfc3339((at_ms / 1000) as u64);
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), at_ms % 1000)
}

/// A record as JSON: ours in camelCase plus the seed's names for the same facts.
fn record(r: &DecisionRecord) -> Value {
    let mut v = json!(r);
    let o = v.as_object_mut().expect("a record is an object");
    o.insert("ts".into(), json!(iso_ms(r.at_ms)));
    o.insert("status".into(), json!(r.decision.seed_status()));
    o.insert("cli".into(), json!(r.provider));
    o.insert("policy".into(), json!(r.level));
    o.insert("operation".into(), json!(r.tool));
    v
}

/// For people: one line per decision, newest first, then its reasons indented.
fn render(records: &[DecisionRecord], filters: &str) -> String {
    if records.is_empty() {
        return format!(
            "No policy decisions recorded{filters}. Each request a provider tool receives is recorded here (allowed, refused, user_approved, user_declined) and kept as long as jobs are."
        );
    }
    let mut s = format!(
        "{} policy decision{}{filters}, newest first:\n",
        records.len(),
        if records.len() == 1 { "" } else { "s" },
    );
    for r in records {
        let _ = write!(
            s,
            "{}  {:<13}  {:<8} {}  level {}",
            iso_ms(r.at_ms),
            r.decision.as_str(),
            r.provider,
            r.tool,
            r.level
        );
        if let Some(job) = &r.job_id {
            let _ = write!(s, "  {job}");
        }
        if let Some(c) = &r.correlation_id {
            let _ = write!(s, "  correlation {c}");
        }
        let _ = writeln!(s, "  [{}]", r.id);
        for reason in &r.reasons {
            let _ = writeln!(s, "    - {reason}");
        }
        if let Some(p) = &r.prompt_preview {
            let _ = writeln!(s, "    prompt: {p}");
        }
    }
    s
}

#[tool_router(router = approval_tools, vis = "pub(crate)")]
impl Gateway {
    #[tool(
        description = "List the gateway's policy decisions, newest first: for each request a provider tool received, whether it was allowed by the operator's [policy], refused, approved by the user when asked, or declined, with the level in force, the reasons, the prompt's SHA-256 (a redacted preview only if the operator opted in) and the job it started. Filters: cli (provider), status (allowed, refused, user_approved, user_declined; the seed's approved/denied), limit (default 50, at most 500). Records are kept as long as jobs are.",
        annotations(
            title = "Policy decisions",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn approval_list(
        &self,
        Parameters(p): Parameters<ApprovalListParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let provider = tri!(p.cli.as_deref().map(provider_id).transpose());
        let status = tri!(
            p.status
                .as_deref()
                .map(str::parse::<DecisionKind>)
                .transpose()
                .map_err(|e| view::refused(e.to_string()))
        );
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let records = tri!(
            self.store()
                .list_decisions(provider, status, limit as usize)
                .map_err(|e| view::refused(format!("decision store: {e:#}")))
        );
        let mut filters = Vec::new();
        if let Some(p) = provider {
            filters.push(format!("cli {p}"));
        }
        if let Some(s) = status {
            filters.push(format!("status {s}"));
        }
        let filters = if filters.is_empty() {
            String::new()
        } else {
            format!(" ({})", filters.join(", "))
        };
        let text = render(&records, &filters);
        let value = json!({
            "success": true,
            "count": records.len(),
            "limit": limit,
            "filters": { "cli": provider, "status": status },
            "approvals": records.iter().map(record).collect::<Vec<_>>(),
        });
        Ok(view::reply(value, text, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(decision: DecisionKind) -> DecisionRecord {
        DecisionRecord {
            id: "dec-0123456789abcdef".into(),
            at_ms: 1_795_478_400_123,
            provider: "codex".into(),
            tool: "codex_request".into(),
            level: "balanced".into(),
            decision,
            reasons: vec!["sandboxMode \"danger-full-access\" needs level permissive".into()],
            prompt_sha256: "ab".repeat(32),
            prompt_preview: None,
            correlation_id: Some("corr-7".into()),
            job_id: None,
        }
    }

    #[test]
    fn records_carry_the_seeds_names_too() {
        let v = record(&rec(DecisionKind::UserDeclined));
        assert_eq!(v["ts"], "2026-11-24T00:00:00.123Z");
        assert_eq!(v["status"], "denied");
        assert_eq!(v["decision"], "user_declined");
        assert_eq!(
            (&v["cli"], &v["provider"]),
            (&json!("codex"), &json!("codex"))
        );
        assert_eq!(v["policy"], "balanced");
        assert_eq!(v["operation"], "codex_request");
        assert_eq!(v["atMs"], 1_795_478_400_123_i64);
        assert!(v["promptPreview"].is_null());
    }

    #[test]
    fn text_lists_each_decision_with_its_reasons() {
        let t = render(&[rec(DecisionKind::Refused)], " (cli codex)");
        assert!(
            t.starts_with("1 policy decision (cli codex), newest first:"),
            "{t}"
        );
        assert!(t.contains("refused"), "{t}");
        assert!(t.contains("    - sandboxMode"), "{t}");
        assert!(t.contains("correlation corr-7"), "{t}");
        let empty = render(&[], "");
        assert!(
            empty.starts_with("No policy decisions recorded."),
            "{empty}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_value::<ApprovalListParams>(json!({"limt": 5}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("limt"), "{e}");
        let p: ApprovalListParams =
            serde_json::from_value(json!({"cli": "grok", "status": "denied"})).unwrap();
        assert_eq!(p.cli.as_deref(), Some("grok"));
    }
}
