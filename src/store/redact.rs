//! Secrets out of text that is kept for people to read (prompt previews in the decision
//! records). Errs on the side of hiding: a preview with a harmless word blacked out costs
//! nothing, a token in the store is a leak that outlives the request.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A rule: what to look for, and what of the match to keep in front of [`REDACTED`]
/// (capture group 1, when the pattern has one: a key name, a token's well-known prefix).
struct Rule {
    re: Regex,
    /// Only matches this accepts are redacted (`None`: all).
    accept: Option<fn(&str) -> bool>,
}

fn rule(pattern: &str) -> Rule {
    Rule {
        re: Regex::new(pattern).expect("redaction patterns are valid"),
        accept: None,
    }
}

/// In order: a later rule never sees what an earlier one replaced (brackets are in none
/// of the token classes).
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // PEM private keys, up to their end line (or the end of the text).
        rule(
            r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
        ),
        // HTTP credentials: the scheme word is no protection.
        rule(
            r#"(?i)\b(authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token|digest)\s+)?[^\s,;'"]+"#,
        ),
        rule(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"),
        // `password=…`, `api_key: …`, `"client_secret": "…"`, `export GITHUB_TOKEN=…`.
        rule(
            r#"(?i)\b((?:[a-z0-9]+[_.-])*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?)(?:[_.-][a-z0-9]+)*["']?\s*[:=]\s*)(?:"[^"\n]*"|'[^'\n]*'|[^\s,;'"]+)"#,
        ),
        // Well-known token shapes, prefix kept so a reader knows what was there.
        rule(r"\b(sk-)[A-Za-z0-9_\-]{12,}"),
        rule(r"\b((?:sk|rk|pk)_(?:live|test)_)[A-Za-z0-9]{8,}"),
        rule(r"\b((?:ghp|gho|ghu|ghs|ghr)_|github_pat_)[A-Za-z0-9_]{16,}"),
        rule(r"\b(glpat-)[A-Za-z0-9_\-]{16,}"),
        rule(r"\b(xox[abposr]-)[A-Za-z0-9\-]{8,}"),
        rule(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
        rule(r"\b(AIza)[A-Za-z0-9_\-]{30,}"),
        rule(r"\b(hf_)[A-Za-z0-9]{30,}"),
        rule(r"\b(npm_)[A-Za-z0-9]{30,}"),
        // JSON Web Tokens.
        rule(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
        // Long hex (keys, digests of secrets, session tokens).
        rule(r"\b[0-9A-Fa-f]{32,}\b"),
        // Long base64 / base64url runs that look random: digits and both cases, which
        // long words, identifiers and most paths lack.
        Rule {
            re: Regex::new(r"[A-Za-z0-9+/_\-]{32,}={0,2}").expect("valid"),
            accept: Some(|m| {
                m.bytes().any(|b| b.is_ascii_digit())
                    && m.bytes().any(|b| b.is_ascii_lowercase())
                    && m.bytes().any(|b| b.is_ascii_uppercase())
            }),
        },
    ]
});

/// `text` with anything that looks like a secret replaced by [`REDACTED`] (a key name
/// or a token's well-known prefix is kept in front of it).
pub fn redact_secrets(text: &str) -> String {
    let mut out = Cow::Borrowed(text);
    for r in RULES.iter() {
        let replaced = r.re.replace_all(&out, |c: &Captures| {
            let whole = &c[0];
            if r.accept.is_some_and(|ok| !ok(whole)) {
                return whole.to_string();
            }
            let keep = c.get(1).map_or("", |m| m.as_str());
            format!("{keep}{REDACTED}")
        });
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
    }
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &str, secret: &str) {
        let got = redact_secrets(text);
        assert!(!got.contains(secret), "{secret:?} survived in {got:?}");
        assert!(got.contains(REDACTED), "{got:?}");
    }

    #[test]
    fn well_known_tokens_keep_only_their_prefix() {
        let cases = [
            ("use sk-ant-api03-AbCdEf0123456789xyz please", "sk-"),
            ("key sk-proj-abcdefghijklmnop1234", "sk-"),
            ("gh ghp_0123456789abcdefABCDEF0123456789abcd", "ghp_"),
            (
                "pat github_pat_11ABCDEFG0123456789_abcdefghijk",
                "github_pat_",
            ),
            ("slack xoxb-123456789012-abcdefABCDEF", "xoxb-"),
            ("aws AKIAIOSFODNN7EXAMPLE now", "AKIA"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_"),
            ("gl glpat-xxxxxxxxxxxxxxxxxxxx", "glpat-"),
        ];
        for (text, prefix) in cases {
            let secret = text.split(' ').nth(1).unwrap();
            let got = redact_secrets(text);
            assert!(!got.contains(secret), "{got:?}");
            assert!(got.contains(&format!("{prefix}{REDACTED}")), "{got:?}");
        }
    }

    #[test]
    fn assignments_hide_the_value_and_keep_the_key() {
        for (text, secret) in [
            ("password=hunter2", "hunter2"),
            ("db PASSWORD: hunter2 and more", "hunter2"),
            ("api_key: abc123", "abc123"),
            (
                "export OPENAI_API_KEY=zz-not-a-known-shape",
                "zz-not-a-known-shape",
            ),
            (r#"{"client_secret": "s3cr3t value"}"#, "s3cr3t value"),
            ("token='t0k'", "t0k"),
            ("access-key = AbC", "AbC"),
        ] {
            hidden(text, secret);
        }
        assert_eq!(redact_secrets("password=hunter2"), "password=[REDACTED]");
        assert_eq!(
            redact_secrets("set api_key: abc123 now"),
            "set api_key: [REDACTED] now"
        );
    }

    #[test]
    fn http_credentials() {
        hidden(
            "curl -H 'Authorization: Bearer abcdefgh12345678'",
            "abcdefgh12345678",
        );
        hidden("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz");
        hidden("bearer tok_live_0123456789", "tok_live_0123456789");
    }

    #[test]
    fn long_random_runs() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        hidden(&format!("sha {hex} end"), hex);
        let b64 = "QWxhZGRpbjpvcGVuIHNlc2FtZQ0KQWxhZGRpbjpvcGVu";
        hidden(&format!("blob {b64}=="), b64);
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc_DEF-123";
        hidden(jwt, "eyJzdWIiOiIxMjM0NTY3ODkwIn0");
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- tail";
        let got = redact_secrets(pem);
        assert!(!got.contains("MIIEpAIBAAKCAQEA"), "{got}");
        assert!(got.ends_with(" tail"), "{got}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "Refactor src/gateway/tools/sessions.rs to use the store",
            "explain the tokens: input and output, and max_tokens=4096",
            "the author wrote a long_identifier_without_any_digits_at_all_here",
            "pip install sk-learn; short hex deadbeef",
            "",
        ] {
            assert_eq!(redact_secrets(text), text);
        }
    }
}
