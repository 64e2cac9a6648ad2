//! How each CLI's login state can be learned without logging in, prompting, or reading a
//! secret. Each provider's [`Info`](super::Info) names one [`AuthProbe`]; `doctor` runs
//! it. The value of a credential is never read into memory beyond "is it non-empty".

use schemars::JsonSchema;
use serde::Serialize;

/// What a probe concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginStatus {
    /// The CLI (or its credential store) says it can make requests.
    Authenticated,
    /// It cannot: requests will fail until the user logs in.
    NotAuthenticated,
    /// No safe check could tell (the CLI's check hung or failed, or the credential may be
    /// somewhere doctor does not look, such as a system keyring).
    Unknown,
}

/// A verdict and the evidence for it, for people.
pub type Verdict = (LoginStatus, String);

/// How a provider's login is checked.
pub enum AuthProbe {
    /// Run the CLI's own non-interactive status command (`claude auth status`, `codex
    /// login status`) and read its answer.
    Command {
        args: &'static [&'static str],
        read: fn(exit_code: Option<i32>, stdout: &str, stderr: &str) -> Verdict,
    },
    /// The CLI reads credentials from the environment or files: any one present counts.
    Presence {
        any_of: &'static [Credential],
        /// What "none found" means: not authenticated, or unknown when the CLI has a store
        /// doctor does not open (and why).
        otherwise: (LoginStatus, &'static str),
    },
}

/// One place a credential can be.
pub enum Credential {
    /// A non-empty environment variable.
    Env(&'static str),
    /// Several variables that only work together (e.g. Vertex AI project + switch).
    EnvAll(&'static [&'static str]),
    /// A file under HOME, such as an OAuth token cache.
    File(&'static str),
    /// A non-empty string under `key` in a JSON file under HOME.
    JsonKey(&'static str, &'static str),
    /// A non-empty `KEY=value` line in a dotenv file under HOME.
    DotenvKey(&'static str, &'static str),
}

impl Credential {
    /// Where to look, for people ("GEMINI_API_KEY", "~/.gemini/oauth_creds.json").
    pub fn describe(&self) -> String {
        match self {
            Credential::Env(v) => (*v).to_string(),
            Credential::EnvAll(vs) => vs.join(" + "),
            Credential::File(f) => format!("~/{f}"),
            Credential::JsonKey(f, k) => format!("\"{k}\" in ~/{f}"),
            Credential::DotenvKey(f, k) => format!("{k} in ~/{f}"),
        }
    }

    /// Whether it is present, given how to read a variable and the home directory.
    pub fn present(&self, var: &dyn Fn(&str) -> Option<String>, home: &std::path::Path) -> bool {
        let set = |v: &str| var(v).is_some_and(|s| !s.trim().is_empty());
        match self {
            Credential::Env(v) => set(v),
            Credential::EnvAll(vs) => vs.iter().all(|v| set(v)),
            Credential::File(f) => home.join(f).metadata().is_ok_and(|m| m.len() > 0),
            Credential::JsonKey(f, k) => std::fs::read(home.join(f))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v[*k].as_str().is_some_and(|s| !s.trim().is_empty())),
            Credential::DotenvKey(f, k) => {
                std::fs::read_to_string(home.join(f))
                    .ok()
                    .is_some_and(|text| {
                        text.lines().any(|l| {
                            let l = l.trim().strip_prefix("export ").unwrap_or(l.trim());
                            l.strip_prefix(*k)
                                .and_then(|rest| rest.trim_start().strip_prefix('='))
                                .is_some_and(|v| !v.trim().trim_matches(['"', '\'']).is_empty())
                        })
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_checks_never_need_the_value() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".grok")).unwrap();
        std::fs::create_dir_all(h.join(".vibe")).unwrap();
        let none = |_: &str| None;
        let only_a = |v: &str| (v == "A").then(|| "x".to_string());
        let blank = |_: &str| Some("  ".to_string());
        assert!(Credential::Env("A").present(&only_a, h));
        assert!(!Credential::Env("A").present(&blank, h), "blank is unset");
        assert!(!Credential::EnvAll(&["A", "B"]).present(&only_a, h));
        // Grok writes user-settings.json on every run, key or not: only the field counts.
        let settings = h.join(".grok/user-settings.json");
        std::fs::write(&settings, r#"{"apiKey": ""}"#).unwrap();
        assert!(!Credential::JsonKey(".grok/user-settings.json", "apiKey").present(&none, h));
        std::fs::write(&settings, r#"{"apiKey": "xai-1"}"#).unwrap();
        assert!(Credential::JsonKey(".grok/user-settings.json", "apiKey").present(&none, h));
        std::fs::write(&settings, "not json").unwrap();
        assert!(!Credential::JsonKey(".grok/user-settings.json", "apiKey").present(&none, h));
        let env = h.join(".vibe/.env");
        for (text, want) in [
            ("MISTRAL_API_KEY=abc\n", true),
            ("export MISTRAL_API_KEY = 'abc'\n", true),
            ("MISTRAL_API_KEY=\n", false),
            ("MISTRAL_API_KEY_OLD=abc\n", false),
            ("# MISTRAL_API_KEY=abc\n", false),
        ] {
            std::fs::write(&env, text).unwrap();
            assert_eq!(
                Credential::DotenvKey(".vibe/.env", "MISTRAL_API_KEY").present(&none, h),
                want,
                "{text:?}"
            );
        }
        assert!(!Credential::File(".gemini/oauth_creds.json").present(&none, h));
    }
}
