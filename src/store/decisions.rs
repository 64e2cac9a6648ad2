//! The record of every policy decision: which provider and tool a request asked for, the
//! level in force, what was decided and why. `approval_list` reads it; retention follows
//! the jobs'. The prompt itself is never stored: its SHA-256 always, a short redacted
//! preview only when the operator opts in.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use rusqlite::types::Type;
use rusqlite::{Row, params};
use serde::Serialize;

use super::Store;
use super::redact::redact_secrets;
use crate::platform::hash::sha256_bytes;

/// What the gateway did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The operator's policy allows it; it ran without asking.
    Allowed,
    /// The policy does not allow it and nobody was asked (or could be): nothing ran.
    Refused,
    /// Beyond the policy; the user accepted when the client asked them, and it ran once.
    UserApproved,
    /// Beyond the policy; the user declined, cancelled or did not answer: nothing ran.
    UserDeclined,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 4] = [
        Self::Allowed,
        Self::Refused,
        Self::UserApproved,
        Self::UserDeclined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::UserApproved => "user_approved",
            Self::UserDeclined => "user_declined",
        }
    }

    /// The seed gateway's two-valued `status`: `approved` when the request ran, `denied`
    /// when it did not.
    pub fn seed_status(self) -> &'static str {
        match self {
            Self::Allowed | Self::UserApproved => "approved",
            Self::Refused | Self::UserDeclined => "denied",
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a decision; its message lists the names that are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDecision(pub String);

impl fmt::Display for UnknownDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown status {:?}; expected one of: allowed, refused, user_approved, user_declined (or the seed gateway's approved = allowed, denied = refused)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDecision {}

impl FromStr for DecisionKind {
    type Err = UnknownDecision;

    /// Our four names, plus the seed gateway's `approved` and `denied`. The seed had no
    /// consent step: its `approved` meant the policy let the request through (`allowed`)
    /// and `denied` that the policy stopped it (`refused`), so that is what they select.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "allowed" | "approved" => Self::Allowed,
            "refused" | "denied" => Self::Refused,
            "user_approved" => Self::UserApproved,
            "user_declined" => Self::UserDeclined,
            _ => return Err(UnknownDecision(s.to_string())),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    /// `dec-…` (see [`super::new_id`]).
    pub id: String,
    pub at_ms: i64,
    pub provider: String,
    /// The MCP tool the request came through (`codex_request`, `validate_with_models`, …).
    pub tool: String,
    /// The policy level in force for this request (after any tightening by the caller).
    pub level: String,
    pub decision: DecisionKind,
    /// Why, in words a person can act on; empty for a plain `allowed`.
    pub reasons: Vec<String>,
    pub prompt_sha256: String,
    /// Only when the operator opted in to recording prompts; redacted even then.
    pub prompt_preview: Option<String>,
    pub correlation_id: Option<String>,
    /// The job that ran, when one did.
    pub job_id: Option<String>,
}

/// How many characters of a prompt a preview keeps.
pub const PREVIEW_CHARS: usize = 120;

/// What goes into a record for a prompt: its SHA-256 (hex) always; a preview only when
/// `record_prompts` is on, else `None`. The preview is the prompt with secrets redacted
/// (over the whole prompt, so no secret is cut in half and half kept), whitespace runs
/// collapsed to one space, then the first [`PREVIEW_CHARS`] characters, with `…` when
/// there was more.
pub fn prompt_fields(prompt: &str, record_prompts: bool) -> (String, Option<String>) {
    let sha = sha256_bytes(prompt.as_bytes());
    if !record_prompts {
        return (sha, None);
    }
    let clean = redact_secrets(prompt);
    let words: Vec<&str> = clean.split_whitespace().collect();
    let flat = words.join(" ");
    let preview = match flat.char_indices().nth(PREVIEW_CHARS) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    };
    (sha, Some(preview))
}

const COLS: &str = "id, at_ms, provider, tool, level, decision, reasons, prompt_sha256, prompt_preview, \
     correlation_id, job_id";

/// A column this code wrote but cannot read back: fails the read, naming the column,
/// rather than guessing (an audit record must not change meaning).
fn bad_column(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e))
}

fn row(r: &Row) -> rusqlite::Result<DecisionRecord> {
    let decision: String = r.get(5)?;
    let reasons: String = r.get(6)?;
    Ok(DecisionRecord {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        provider: r.get(2)?,
        tool: r.get(3)?,
        level: r.get(4)?,
        decision: decision.parse().map_err(|e| bad_column(5, e))?,
        reasons: serde_json::from_str(&reasons).map_err(|e| bad_column(6, e))?,
        prompt_sha256: r.get(7)?,
        prompt_preview: r.get(8)?,
        correlation_id: r.get(9)?,
        job_id: r.get(10)?,
    })
}

impl Store {
    pub fn record_decision(&self, r: &DecisionRecord) -> Result<()> {
        let reasons = serde_json::to_string(&r.reasons)?;
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO decisions ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    r.id,
                    r.at_ms,
                    r.provider,
                    r.tool,
                    r.level,
                    r.decision.as_str(),
                    reasons,
                    r.prompt_sha256,
                    r.prompt_preview,
                    r.correlation_id,
                    r.job_id
                ],
            )
            .with_context(|| format!("recording decision {}", r.id))?;
        Ok(())
    }

    /// Newest first (ties in insertion order, newest first too), optionally for one
    /// provider and one kind of decision, at most `limit`. One statement per filter
    /// combination so each walks its index instead of sorting the table.
    pub fn list_decisions(
        &self,
        provider: Option<&str>,
        decision: Option<DecisionKind>,
        limit: usize,
    ) -> Result<Vec<DecisionRecord>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        const ORDER: &str = "ORDER BY at_ms DESC, rowid DESC LIMIT ?";
        let rows = match (provider, decision) {
            (None, None) => conn
                .prepare_cached(&format!("SELECT {COLS} FROM decisions {ORDER}"))?
                .query_map(params![limit], row)?
                .collect::<rusqlite::Result<Vec<_>>>(),
            (Some(p), None) => conn
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM decisions WHERE provider = ? {ORDER}"
                ))?
                .query_map(params![p, limit], row)?
                .collect(),
            (None, Some(d)) => conn
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM decisions WHERE decision = ? {ORDER}"
                ))?
                .query_map(params![d.as_str(), limit], row)?
                .collect(),
            (Some(p), Some(d)) => conn
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM decisions WHERE provider = ? AND decision = ? {ORDER}"
                ))?
                .query_map(params![p, d.as_str(), limit], row)?
                .collect(),
        };
        rows.context("reading decision records")
    }

    /// Retention: drops the records made before `cutoff_ms`; returns how many.
    pub fn prune_decisions(&self, cutoff_ms: i64) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM decisions WHERE at_ms < ?1", [cutoff_ms])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::new_id;

    fn rec(at_ms: i64, provider: &str, decision: DecisionKind) -> DecisionRecord {
        let (prompt_sha256, prompt_preview) = prompt_fields("hello", false);
        DecisionRecord {
            id: new_id("dec-"),
            at_ms,
            provider: provider.into(),
            tool: format!("{provider}_request"),
            level: "balanced".into(),
            decision,
            reasons: vec![],
            prompt_sha256,
            prompt_preview,
            correlation_id: None,
            job_id: None,
        }
    }

    fn ats(v: &[DecisionRecord]) -> Vec<i64> {
        v.iter().map(|r| r.at_ms).collect()
    }

    #[test]
    fn a_record_round_trips() {
        let s = Store::open_in_memory().unwrap();
        let (sha, preview) = prompt_fields("fix the build, password=hunter2", true);
        let r = DecisionRecord {
            id: new_id("dec-"),
            at_ms: 1_000,
            provider: "codex".into(),
            tool: "codex_request".into(),
            level: "strict".into(),
            decision: DecisionKind::UserDeclined,
            reasons: vec![
                "sandboxMode \"danger-full-access\" is beyond level strict".into(),
                "the user declined".into(),
            ],
            prompt_sha256: sha,
            prompt_preview: preview,
            correlation_id: Some("corr-1".into()),
            job_id: Some("job-1".into()),
        };
        s.record_decision(&r).unwrap();
        let got = s.list_decisions(None, None, 10).unwrap();
        assert_eq!(got.len(), 1);
        let g = &got[0];
        assert_eq!(
            serde_json::to_value(g).unwrap(),
            serde_json::to_value(&r).unwrap()
        );
        assert_eq!(
            g.prompt_preview.as_deref(),
            Some("fix the build, password=[REDACTED]")
        );
        assert!(s.record_decision(&r).is_err(), "ids are unique");
    }

    #[test]
    fn serializes_camel_case_with_snake_case_kinds() {
        let v = serde_json::to_value(rec(5, "gemini", DecisionKind::UserApproved)).unwrap();
        assert_eq!(v["decision"], "user_approved");
        assert_eq!(v["atMs"], 5);
        assert!(v["promptSha256"].is_string());
        assert!(v["promptPreview"].is_null());
        assert!(v.get("jobId").is_some() && v.get("correlationId").is_some());
    }

    #[test]
    fn newest_first_with_filters_and_limit() {
        let s = Store::open_in_memory().unwrap();
        use DecisionKind::*;
        for (at, p, d) in [
            (10, "claude", Allowed),
            (30, "codex", Refused),
            (20, "claude", Refused),
            (50, "claude", UserApproved),
            (40, "gemini", UserDeclined),
        ] {
            s.record_decision(&rec(at, p, d)).unwrap();
        }
        assert_eq!(
            ats(&s.list_decisions(None, None, 50).unwrap()),
            [50, 40, 30, 20, 10]
        );
        assert_eq!(ats(&s.list_decisions(None, None, 2).unwrap()), [50, 40]);
        assert_eq!(
            ats(&s.list_decisions(Some("claude"), None, 50).unwrap()),
            [50, 20, 10]
        );
        assert_eq!(
            ats(&s.list_decisions(None, Some(Refused), 50).unwrap()),
            [30, 20]
        );
        assert_eq!(
            ats(&s.list_decisions(Some("claude"), Some(Refused), 50).unwrap()),
            [20]
        );
        assert_eq!(
            ats(&s.list_decisions(Some("claude"), Some(Refused), 0).unwrap()),
            [] as [i64; 0]
        );
        assert!(s.list_decisions(Some("grok"), None, 50).unwrap().is_empty());
    }

    #[test]
    fn same_millisecond_keeps_insertion_order_newest_first() {
        let s = Store::open_in_memory().unwrap();
        let ids: Vec<String> = (0..3)
            .map(|_| {
                let r = rec(7, "claude", DecisionKind::Allowed);
                s.record_decision(&r).unwrap();
                r.id
            })
            .collect();
        let got: Vec<String> = s
            .list_decisions(None, None, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(got, ids.into_iter().rev().collect::<Vec<_>>());
    }

    #[test]
    fn prune_drops_only_older_records() {
        let s = Store::open_in_memory().unwrap();
        for at in [100, 200, 300] {
            s.record_decision(&rec(at, "grok", DecisionKind::Allowed))
                .unwrap();
        }
        assert_eq!(s.prune_decisions(200).unwrap(), 1);
        assert_eq!(ats(&s.list_decisions(None, None, 10).unwrap()), [300, 200]);
        assert_eq!(s.prune_decisions(200).unwrap(), 0);
    }

    #[test]
    fn kinds_parse_ours_and_the_seeds() {
        for k in DecisionKind::ALL {
            assert_eq!(k.as_str().parse::<DecisionKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        assert_eq!("approved".parse(), Ok(DecisionKind::Allowed));
        assert_eq!("denied".parse(), Ok(DecisionKind::Refused));
        assert_eq!(DecisionKind::UserApproved.seed_status(), "approved");
        assert_eq!(DecisionKind::UserDeclined.seed_status(), "denied");
        let e = "Allowed".parse::<DecisionKind>().unwrap_err().to_string();
        assert!(
            e.contains("\"Allowed\"") && e.contains("user_declined"),
            "{e}"
        );
    }

    #[test]
    fn prompts_are_hashed_and_previewed_only_on_request() {
        let prompt = "deploy with  ghp_0123456789abcdefABCDEF0123456789abcd\n\nthen report";
        let (sha, none) = prompt_fields(prompt, false);
        assert_eq!(sha, sha256_bytes(prompt.as_bytes()));
        assert_eq!(sha.len(), 64);
        assert_eq!(none, None);
        let (sha2, preview) = prompt_fields(prompt, true);
        assert_eq!(sha2, sha);
        assert_eq!(
            preview.as_deref(),
            Some("deploy with ghp_[REDACTED] then report")
        );
        let long = "é".repeat(500);
        let p = prompt_fields(&long, true).1.unwrap();
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
        assert_eq!(
            prompt_fields(&"x".repeat(PREVIEW_CHARS), true).1.unwrap(),
            "x".repeat(PREVIEW_CHARS)
        );
    }

    #[test]
    fn a_secret_across_the_preview_boundary_is_not_half_kept() {
        let prompt = format!("{} sk-ant-api03-AbCdEf0123456789xyzXYZ", "a".repeat(110));
        let p = prompt_fields(&prompt, true).1.unwrap();
        assert!(!p.contains("sk-ant"), "{p}");
        assert!(!p.contains("AbCd"), "{p}");
    }
}
