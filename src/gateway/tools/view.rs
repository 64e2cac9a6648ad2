//! How results look to clients: structured JSON for programs plus readable text for
//! people, from one value so the two never disagree.
//!
//! Every reply that carries CLI output is bounded: text and structured content together
//! stay within `[jobs] max_reply_bytes` (MCP clients refuse messages over 1 MiB). A cut
//! field ends with [`marker`], and `llm_job_result` pages through the whole text with
//! `offset`/`limit` in bytes of UTF-8.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::providers::{self, Parsed};
use crate::store::jobs::{JobRow, JobStatus};
use crate::store::now_ms;

/// Room left in every reply for the JSON-RPC envelope, the content wrapper and SSE
/// framing around the tool result proper.
pub const ENVELOPE_BYTES: usize = 2048;
/// Reasons and CLI error messages are cut to this many characters in replies.
const MAX_NOTE_CHARS: usize = 4000;

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

/// What this gateway knows about a job beyond its row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    /// Queued or running in this gateway (not a leftover of a dead one).
    pub here: bool,
    /// 1-based place in the process queue.
    pub queue_position: Option<usize>,
}

/// Status without output: what `llm_job_status` returns.
pub fn summary(row: &JobRow, live: Live) -> Value {
    let end = row.finished_at_ms.unwrap_or_else(now_ms);
    let mut v = json!({
        "jobId": row.id,
        "provider": row.provider,
        "status": row.status,
        "running": row.status == JobStatus::Running && live.here,
        "correlationId": row.correlation_id,
        "model": row.model,
        "startedAtMs": row.started_at_ms,
        "finishedAtMs": row.finished_at_ms,
        "elapsedMs": end - row.started_at_ms,
        "exitCode": row.exit_code,
        "reason": row.reason.as_deref().map(|r| cut(r, MAX_NOTE_CHARS).0),
        "pid": row.pid,
        "stdoutBytes": row.stdout_bytes,
        "stderrBytes": row.stderr_bytes,
    });
    if row.status == JobStatus::Queued {
        v["queuePosition"] = json!(live.queue_position);
    }
    v
}

/// The parsed result of a job, for whichever provider ran it.
pub fn parse(row: &JobRow) -> Parsed {
    match providers::find(&row.provider) {
        Some(p) => p.parse(&row.output_format, &row.stdout, &row.stderr, row.exit_code),
        None => Parsed::text(&row.stdout),
    }
}

/// The end of a cut field: says how much is missing and how to get it.
pub fn marker(more_bytes: usize) -> String {
    format!("… [truncated: {more_bytes} more bytes; use llm_job_result with offset/limit]")
}

/// The longest a marker can be (for budgets).
const MARKER_MAX: usize = 100;

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn json_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Bytes `s` takes as a JSON string's contents.
pub fn json_len(s: &str) -> usize {
    s.chars().map(json_char_len).sum()
}

/// The longest prefix of `s` (a byte index on a char boundary) whose JSON form fits
/// in `budget` bytes.
pub fn prefix_within(s: &str, budget: usize) -> usize {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += json_char_len(c);
        if used > budget {
            return i;
        }
    }
    s.len()
}

/// `s` cut so its JSON form fits `budget`, with the marker when anything was cut;
/// and the byte offset where the cut text ends (the next page's start).
pub fn fit(s: &str, budget: usize) -> (String, Option<usize>) {
    if json_len(s) <= budget {
        return (s.to_string(), None);
    }
    let end = prefix_within(s, budget);
    (format!("{}{}", &s[..end], marker(s.len() - end)), Some(end))
}

/// The first `max` characters of `s`, and whether anything was cut.
pub fn cut(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// Shares `budget` among fields wanting `demands` bytes, fairly: no field gets more
/// than it wants, and what one does not need goes to the others.
pub fn share(demands: &[usize], budget: usize) -> Vec<usize> {
    let mut alloc = vec![0; demands.len()];
    let mut left = budget;
    let mut open: Vec<usize> = (0..demands.len()).filter(|&i| demands[i] > 0).collect();
    while !open.is_empty() && left > 0 {
        let each = (left / open.len()).max(1);
        let mut still = Vec::new();
        for &i in &open {
            let give = (demands[i] - alloc[i]).min(each).min(left);
            alloc[i] += give;
            left -= give;
            if alloc[i] < demands[i] {
                still.push(i);
            }
        }
        open = still;
    }
    alloc
}

/// Which text a page comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Response,
    Stdout,
    Stderr,
}

impl Stream {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "response" => Self::Response,
            "stdout" => Self::Stdout,
            "stderr" => Self::Stderr,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// The full result, with the response, stdout and stderr cut (each to `max_chars`
/// characters if given, and together to what `reply_bytes` leaves after everything
/// else). Cut fields end with [`marker`]; `paging` says, per field, its total length
/// and where the next page starts (bytes). `extra` fields are added as they are.
/// Returns the structured value and the text (the response, or a headline).
pub fn result(
    row: &JobRow,
    live: Live,
    reply_bytes: usize,
    max_chars: Option<usize>,
    extra: &[(&str, Value)],
) -> (Value, String) {
    let parsed = parse(row);
    let response = parsed.response.clone().unwrap_or_default();
    let fields: [&str; 3] = [&response, &row.stdout, &row.stderr];
    // maxChars first, as a plain character cut.
    let limited: Vec<&str> = fields
        .iter()
        .map(|f| match max_chars.and_then(|m| f.char_indices().nth(m)) {
            Some((i, _)) => &f[..i],
            None => f,
        })
        .collect();
    let build = |texts: [&str; 3], nexts: [Option<usize>; 3]| -> (Value, String) {
        let mut v = summary(row, live);
        let o = v.as_object_mut().expect("summary is an object");
        let page = |i: usize| json!({"totalLength": fields[i].len(), "nextOffset": nexts[i]});
        o.insert(
            "response".into(),
            json!(parsed.response.as_ref().map(|_| texts[0])),
        );
        o.insert("responseTruncated".into(), json!(nexts[0].is_some()));
        o.insert("sessionId".into(), json!(parsed.session_id));
        o.insert("usage".into(), json!(parsed.usage));
        o.insert(
            "cliError".into(),
            json!(parsed.error.as_deref().map(|e| cut(e, MAX_NOTE_CHARS).0)),
        );
        o.insert("notAuthenticated".into(), json!(parsed.not_authenticated));
        o.insert("parseWarning".into(), json!(parsed.parse_warning));
        o.insert("stdout".into(), json!(texts[1]));
        o.insert("stderr".into(), json!(texts[2]));
        o.insert(
            "stdoutTruncated".into(),
            json!(nexts[1].is_some() || row.stdout_truncated),
        );
        o.insert(
            "stderrTruncated".into(),
            json!(nexts[2].is_some() || row.stderr_truncated),
        );
        o.insert(
            "outputCapped".into(),
            json!(row.stdout_truncated || row.stderr_truncated),
        );
        // The response's paging at the top, as the common case; each field's below.
        o.insert("totalLength".into(), json!(fields[0].len()));
        o.insert("nextOffset".into(), json!(nexts[0]));
        o.insert(
            "paging".into(),
            json!({"unit": "bytes", "response": page(0), "stdout": page(1), "stderr": page(2)}),
        );
        for (k, val) in extra {
            o.insert((*k).to_string(), val.clone());
        }
        let text = headline(&v);
        (v, text)
    };
    // The text repeats the response when the job completed.
    let completed = row.status == JobStatus::Completed;
    let weights = [if completed { 2 } else { 1 }, 1, 1];
    let max_next = Some(usize::MAX);
    let (skeleton, skeleton_text) = build(["", "", ""], [max_next; 3]);
    let fixed = serde_json::to_string(&skeleton).map_or(0, |s| s.len())
        + json_len(&skeleton_text)
        + ENVELOPE_BYTES
        + 3 * 2 * MARKER_MAX;
    let budget = reply_bytes.saturating_sub(fixed);
    let demands: Vec<usize> = limited
        .iter()
        .zip(weights)
        .map(|(f, w)| json_len(f) * w)
        .collect();
    // The answer first: it may take half the budget before the raw streams share.
    let response_first = demands[0].min(budget / 2);
    let streams = share(&demands[1..], budget - response_first);
    let spare = budget - response_first - streams.iter().sum::<usize>();
    let allowance = [
        (response_first + spare) / weights[0],
        streams[0],
        streams[1],
    ];
    let mut texts: Vec<String> = Vec::with_capacity(3);
    let mut nexts = [None; 3];
    for i in 0..3 {
        let (t, next) = fit(limited[i], allowance[i]);
        // Cut by maxChars alone: no marker needed beyond the flag, but say where to go on.
        let next = next.or((limited[i].len() < fields[i].len()).then_some(limited[i].len()));
        let t = if next.is_some() && t.len() == limited[i].len() {
            format!("{t}{}", marker(fields[i].len() - limited[i].len()))
        } else {
            t
        };
        texts.push(t);
        nexts[i] = next;
    }
    build([&texts[0], &texts[1], &texts[2]], nexts)
}

/// One page of a job's response, stdout or stderr: bytes `offset` up to `offset +
/// limit` (snapped to character boundaries), no more than the reply budget allows.
/// Returns the structured value and the text (the page itself).
pub fn page(
    row: &JobRow,
    live: Live,
    stream: Stream,
    offset: usize,
    limit: Option<usize>,
    reply_bytes: usize,
) -> (Value, String) {
    let parsed;
    let full: &str = match stream {
        Stream::Response => {
            parsed = parse(row);
            parsed.response.as_deref().unwrap_or_default()
        }
        Stream::Stdout => &row.stdout,
        Stream::Stderr => &row.stderr,
    };
    let total = full.len();
    let mut start = offset.min(total);
    while !full.is_char_boundary(start) {
        start += 1;
    }
    let rest = &full[start..];
    let mut want = limit.unwrap_or(usize::MAX).min(rest.len());
    while !rest.is_char_boundary(want) {
        want -= 1;
    }
    if want == 0 && !rest.is_empty() && limit != Some(0) {
        want = rest.chars().next().map_or(0, char::len_utf8);
    }
    let build = |text: &str, next: Option<usize>| -> Value {
        let mut v = summary(row, live);
        let o = v.as_object_mut().expect("summary is an object");
        o.insert("stream".into(), json!(stream.name()));
        o.insert("unit".into(), json!("bytes"));
        o.insert("offset".into(), json!(start));
        o.insert("length".into(), json!(text.len()));
        o.insert("totalLength".into(), json!(total));
        o.insert("nextOffset".into(), json!(next));
        o.insert(
            "outputCapped".into(),
            json!(row.stdout_truncated || row.stderr_truncated),
        );
        o.insert("text".into(), json!(text));
        v
    };
    let skeleton = serde_json::to_string(&build("", Some(usize::MAX))).map_or(0, |s| s.len());
    // The page is in the structured content and again as the text.
    let budget = reply_bytes.saturating_sub(skeleton + ENVELOPE_BYTES) / 2;
    let end = prefix_within(&rest[..want], budget);
    let text = &rest[..end];
    let next = (start + end < total).then_some(start + end);
    (build(text, next), text.to_string())
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
        "queued" => format!(
            "{provider} job {id} is queued (position {}): the gateway's cap on concurrent CLI processes is reached and it starts when a slot frees; poll llm_job_status and fetch llm_job_result with this jobId.",
            v["queuePosition"]
        ),
        status => format!(
            "{provider} job {id} {status}: {}",
            v["reason"].as_str().unwrap_or("no reason recorded")
        ),
    }
}

/// Whether a result value's status means "no answer yet" rather than failure.
pub fn is_live_status(v: &Value) -> bool {
    matches!(v["status"].as_str(), Some("running" | "queued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stdout: &str, status: JobStatus) -> JobRow {
        JobRow {
            id: "job-1".into(),
            provider: "unknown-cli".into(),
            status,
            argv: vec![],
            cwd: "/".into(),
            request_key: "k".into(),
            correlation_id: "c".into(),
            model: None,
            output_format: "text".into(),
            started_at_ms: 1,
            finished_at_ms: Some(2),
            exit_code: Some(0),
            reason: None,
            pid: None,
            stdout: stdout.into(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            stdout_bytes: stdout.len() as u64,
            stderr_bytes: 0,
        }
    }

    fn size(v: &Value, text: &str) -> usize {
        serde_json::to_string(v).unwrap().len() + serde_json::to_string(text).unwrap().len()
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("héllo", 2), ("hé".to_string(), true));
        assert_eq!(cut("hi", 2), ("hi".to_string(), false));
    }

    #[test]
    fn json_lengths_count_escapes() {
        assert_eq!(json_len("a\"b\\\n\u{1}é"), 1 + 2 + 1 + 2 + 2 + 6 + 2);
        for s in [
            "plain",
            "quo\"te",
            "tab\there",
            "\u{0}\u{1f}",
            "日本語",
            "e\u{301}",
        ] {
            assert_eq!(
                json_len(s) + 2,
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
        assert_eq!(prefix_within("日本語", 7), 6);
        assert_eq!(prefix_within("ab\ncd", 3), 2);
    }

    #[test]
    fn fit_adds_the_marker_and_says_where_to_go_on() {
        let (t, next) = fit("hello world", 100);
        assert_eq!((t.as_str(), next), ("hello world", None));
        let (t, next) = fit("hello world", 5);
        assert_eq!(next, Some(5));
        assert_eq!(
            t,
            "hello… [truncated: 6 more bytes; use llm_job_result with offset/limit]"
        );
        assert!(marker(usize::MAX).len() <= MARKER_MAX);
    }

    #[test]
    fn share_is_fair_and_gives_back_what_is_not_needed() {
        assert_eq!(share(&[10, 1000], 100), vec![10, 90]);
        assert_eq!(share(&[1000, 1000], 100), vec![50, 50]);
        assert_eq!(share(&[5, 5], 100), vec![5, 5]);
        assert_eq!(share(&[0, 300, 300, 10], 100), vec![0, 45, 45, 10]);
        assert_eq!(share(&[], 100), Vec::<usize>::new());
    }

    #[test]
    fn a_big_result_fits_the_reply_budget_with_markers() {
        let big = "line of output with \"quotes\" and ünïcödé\n".repeat(50_000);
        let r = row(&big, JobStatus::Completed);
        for cap in [16 << 10, 100_000, 768 << 10] {
            let (v, text) = result(&r, Live::default(), cap, None, &[]);
            assert!(
                size(&v, &text) + ENVELOPE_BYTES <= cap,
                "cap {cap}: {}",
                size(&v, &text)
            );
            let resp = v["response"].as_str().unwrap();
            assert!(
                resp.contains("[truncated: "),
                "{}",
                &resp[resp.len() - 120..]
            );
            assert_eq!(v["responseTruncated"], true);
            assert_eq!(v["totalLength"], big.trim().len());
            let next = v["nextOffset"].as_u64().unwrap() as usize;
            assert!(resp.starts_with(&big.trim()[..next]));
            assert_eq!(text, resp, "the text is the cut response");
            assert_eq!(v["paging"]["stdout"]["totalLength"], big.len());
        }
        let (v, _) = result(
            &row("short", JobStatus::Completed),
            Live::default(),
            16 << 10,
            None,
            &[],
        );
        assert_eq!(v["response"], "short");
        assert_eq!(v["nextOffset"], Value::Null);
        assert_eq!(v["responseTruncated"], false);
    }

    #[test]
    fn max_chars_still_cuts_and_points_at_the_rest() {
        let (v, _) = result(
            &row("abcdefghij", JobStatus::Completed),
            Live::default(),
            1 << 20,
            Some(4),
            &[("deduped", json!(true))],
        );
        assert!(
            v["response"]
                .as_str()
                .unwrap()
                .starts_with("abcd… [truncated: 6 more bytes")
        );
        assert_eq!(v["nextOffset"], 4);
        assert_eq!(v["deduped"], true);
    }

    #[test]
    fn pages_cover_the_text_exactly_once() {
        let text = "αβγ δεζ ηθι\n".repeat(3000);
        let r = row(&text, JobStatus::Completed);
        for limit in [Some(1), Some(7), Some(1000), None] {
            let mut got = String::new();
            let mut offset = 0;
            let mut pages = 0;
            loop {
                let (v, page_text) =
                    page(&r, Live::default(), Stream::Stdout, offset, limit, 16 << 10);
                assert!(size(&v, &page_text) + ENVELOPE_BYTES <= 16 << 10);
                assert_eq!(v["offset"], offset);
                assert_eq!(v["totalLength"], text.len());
                assert_eq!(v["text"], page_text);
                got.push_str(&page_text);
                pages += 1;
                match v["nextOffset"].as_u64() {
                    Some(n) => offset = n as usize,
                    None => break,
                }
                if limit == Some(1) && pages > 50 {
                    break;
                }
            }
            if limit != Some(1) {
                assert_eq!(got, text, "limit {limit:?}");
            } else {
                assert!(text.starts_with(&got));
            }
        }
        // An offset inside a character moves to the next boundary; past the end is empty.
        let (v, t) = page(&r, Live::default(), Stream::Stdout, 1, Some(2), 1 << 20);
        assert_eq!((v["offset"].as_u64(), t.as_str()), (Some(2), "β"));
        let (v, t) = page(
            &r,
            Live::default(),
            Stream::Stdout,
            10_000_000,
            None,
            1 << 20,
        );
        assert_eq!((v["nextOffset"].clone(), t.as_str()), (Value::Null, ""));
        let (v, t) = page(&r, Live::default(), Stream::Response, 0, Some(4), 1 << 20);
        assert_eq!(t, "αβ");
        assert_eq!(v["stream"], "response");
    }

    #[test]
    fn queued_jobs_say_where_they_stand() {
        let r = row("", JobStatus::Queued);
        let v = summary(
            &r,
            Live {
                here: true,
                queue_position: Some(3),
            },
        );
        assert_eq!(v["queuePosition"], 3);
        assert!(
            headline(&v).contains("queued (position 3)"),
            "{}",
            headline(&v)
        );
        assert!(is_live_status(&v));
    }
}
