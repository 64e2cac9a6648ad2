//! What a CLI printed, reduced to what callers and the flight recorder need.

use serde::Serialize;
use serde_json::Value;

/// Tokens and cost a CLI reported for one run; the flight recorder stores these.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_creation_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parsed {
    /// The answer text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// The CLI's own session id, to resume with `sessionId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub usage: Usage,
    /// The CLI's own error message when it reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The CLI said it has no credentials.
    pub not_authenticated: bool,
    /// Output that should have been JSON was not (garbage, cut short).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_warning: Option<String>,
}

impl Parsed {
    /// Plain text output: the answer is what was printed.
    pub fn text(stdout: &str) -> Self {
        let t = stdout.trim();
        Self {
            response: (!t.is_empty()).then(|| t.to_string()),
            ..Self::default()
        }
    }

    /// Fills in what every CLI shares: a failed run's error is its last stderr line
    /// (else stdout's), and any of `auth_markers` in the output means "not logged in".
    pub fn finish(
        mut self,
        stdout: &str,
        stderr: &str,
        exit_code: Option<i32>,
        auth_markers: &[&str],
    ) -> Self {
        if exit_code != Some(0) && self.error.is_none() {
            self.error = last_line(stderr).or_else(|| last_line(stdout));
        }
        self.not_authenticated |= auth_markers
            .iter()
            .any(|m| stdout.contains(m) || stderr.contains(m));
        self
    }

    /// Marks the output unparseable while keeping the raw text as the answer, so a
    /// caller still sees what the CLI said.
    pub fn garbage(stdout: &str, expected: &str) -> Self {
        Self {
            parse_warning: Some(format!(
                "expected {expected} from the CLI but got something else; the raw output is in `response`"
            )),
            ..Self::text(stdout)
        }
    }
}

/// Every line of `stdout` that parses as a JSON value; noise between lines (warnings,
/// a cut-off last line) is skipped rather than failing the whole parse.
pub fn parse_jsonl(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            (l.starts_with('{') || l.starts_with('[')).then_some(l)
        })
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The first JSON document in `text`, tolerating a preamble before it.
pub fn parse_document(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    let start = t.find(['{', '['])?;
    serde_json::Deserializer::from_str(&t[start..])
        .into_iter::<Value>()
        .next()?
        .ok()
}

pub fn u64_at(v: &Value, pointer: &str) -> Option<u64> {
    v.pointer(pointer).and_then(Value::as_u64)
}

pub fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The last non-empty line of stderr: where CLIs put their one-line error.
pub fn last_line(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_skips_noise() {
        let v = parse_jsonl("WARNING x\n{\"a\":1}\n{broken\n{\"b\":2}\n");
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn document_after_preamble() {
        let v = parse_document("Loaded cached credentials.\n{\"x\": [1]}\ntrailing").unwrap();
        assert_eq!(v["x"][0], 1);
        assert!(parse_document("not json at all").is_none());
    }
}
