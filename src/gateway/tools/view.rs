//! How results look to clients: structured JSON for programs plus readable text for
//! people, from one value so the two never disagree.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::providers::{self, Parsed};
use crate::store::jobs::{JobRow, JobStatus};
use crate::store::now_ms;

/// A tool result whose structured content is `value` and whose text is `text`.
pub fn reply(value: Value, text: String, is_error: bool) -> CallToolResult {
    let mut result = CallToolResult::structured(value);
    result.content = vec![ContentBlock::text(text)];
    result.is_error = Some(is_error);
    result
}

/// A result that is data: the text is the pretty JSON.
pub fn data(value: Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    reply(value, text, false)
}

/// A refused request: nothing ran. Tool errors (not protocol errors) so the model sees
/// the message and can correct itself.
pub fn refused(message: impl Into<String>) -> CallToolResult {
    let message = message.into();
    reply(json!({ "error": message }), message, true)
}

/// Status without output: what `llm_job_status` returns.
pub fn summary(row: &JobRow, running_here: bool) -> Value {
    let end = row.finished_at_ms.unwrap_or_else(now_ms);
    json!({
        "jobId": row.id,
        "provider": row.provider,
        "status": row.status,
        "running": row.status == JobStatus::Running && running_here,
        "correlationId": row.correlation_id,
        "model": row.model,
        "startedAtMs": row.started_at_ms,
        "finishedAtMs": row.finished_at_ms,
        "elapsedMs": end - row.started_at_ms,
        "exitCode": row.exit_code,
        "reason": row.reason,
        "pid": row.pid,
        "stdoutBytes": row.stdout_bytes,
        "stderrBytes": row.stderr_bytes,
    })
}

/// The parsed result of a job, for whichever provider ran it.
pub fn parse(row: &JobRow) -> Parsed {
    match providers::find(&row.provider) {
        Some(p) => p.parse(&row.output_format, &row.stdout, &row.stderr, row.exit_code),
        None => Parsed::text(&row.stdout),
    }
}

/// Full result with output cut to `max_chars` per field; flags say when anything is
/// missing, whether cut here or dropped by the capture cap while running.
pub fn result(row: &JobRow, running_here: bool, max_chars: usize) -> Value {
    let parsed = parse(row);
    let (stdout, cut_out) = cut(&row.stdout, max_chars);
    let (stderr, cut_err) = cut(&row.stderr, max_chars);
    let (response, cut_resp) = match &parsed.response {
        Some(r) => {
            let (t, c) = cut(r, max_chars);
            (Some(t), c)
        }
        None => (None, false),
    };
    let mut v = summary(row, running_here);
    let o = v.as_object_mut().expect("summary is an object");
    o.insert("response".into(), json!(response));
    o.insert("responseTruncated".into(), json!(cut_resp));
    o.insert("sessionId".into(), json!(parsed.session_id));
    o.insert("usage".into(), json!(parsed.usage));
    o.insert("cliError".into(), json!(parsed.error));
    o.insert("notAuthenticated".into(), json!(parsed.not_authenticated));
    o.insert("parseWarning".into(), json!(parsed.parse_warning));
    o.insert("stdout".into(), json!(stdout));
    o.insert("stderr".into(), json!(stderr));
    o.insert(
        "stdoutTruncated".into(),
        json!(cut_out || row.stdout_truncated),
    );
    o.insert(
        "stderrTruncated".into(),
        json!(cut_err || row.stderr_truncated),
    );
    o.insert(
        "outputCapped".into(),
        json!(row.stdout_truncated || row.stderr_truncated),
    );
    v
}

/// The first `max` characters of `s`, and whether anything was cut.
pub fn cut(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// One line for people about a finished or running job.
pub fn headline(v: &Value) -> String {
    let id = v["jobId"].as_str().unwrap_or_default();
    let provider = v["provider"].as_str().unwrap_or_default();
    match v["status"].as_str().unwrap_or_default() {
        "completed" => v["response"].as_str().unwrap_or("(no output)").to_string(),
        "running" => format!(
            "{provider} job {id} is still running; poll llm_job_status and fetch llm_job_result with this jobId."
        ),
        status => format!(
            "{provider} job {id} {status}: {}",
            v["reason"].as_str().unwrap_or("no reason recorded")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo", 2), ("hé".to_string(), true));
        assert_eq!(cut("hi", 2), ("hi".to_string(), false));
    }
}
