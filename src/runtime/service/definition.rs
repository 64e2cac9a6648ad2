//! The unit, plist and service command line we hand to the service manager.
//!
//! We write these ourselves (through `service-manager`'s `contents` override) because the
//! crate's templates join arguments without quoting (a home path with a space breaks
//! `ExecStart`), write environment values unescaped, and give launchd no log
//! destination. Everything here is pure, so each backend's output is unit-tested on any OS.

use std::path::{Path, PathBuf};

use super::backend::Level;

/// Service label: unit `llm-cli-gateway.service`, launchd `dev.llm-cli-gateway.gateway`.
pub const UNIT_NAME: &str = "llm-cli-gateway";
pub const LAUNCHD_LABEL: &str = "dev.llm-cli-gateway.gateway";

/// Exit code `serve` uses for configuration errors a restart cannot fix.
const EXIT_NO_RESTART: u8 = 78;

/// What the service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The installed bundle's entrypoint through the `current` pointer, so an upgrade
    /// needs a restart, not a new unit.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Environment captured at setup (PATH for the provider CLIs, HOME); also written to
    /// `env_file` so `repair` can refresh it without rewriting the unit.
    pub env: Vec<(String, String)>,
    pub env_file: PathBuf,
    /// Where the manager sends stdout and stderr; the gateway writes its own log
    /// (`serve --log-file`), so only what it says before that is open lands here.
    pub output_file: PathBuf,
    pub working_dir: PathBuf,
    pub level: Level,
}

/// systemd quoting for one word of `ExecStart=` or one `Environment=` assignment:
/// double quotes, with `\`, `"`, `%` (specifiers) and `$` (variable expansion) escaped.
pub fn systemd_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Paths in `StandardOutput=append:` and `EnvironmentFile=` are not unquoted by systemd;
/// only specifiers need escaping there.
fn systemd_path(p: &Path) -> String {
    p.to_string_lossy().replace('%', "%%")
}

pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let exec: Vec<String> = std::iter::once(spec.program.to_string_lossy().into_owned())
        .chain(spec.args.iter().cloned())
        .map(|w| systemd_quote(&w))
        .collect();
    let wanted_by = match spec.level {
        Level::System => "multi-user.target",
        Level::User => "default.target",
    };
    format!(
        "# Written by llm-cli-gateway setup; `llm-cli-gateway repair` rewrites it.\n\
[Unit]\n\
Description=llm-cli-gateway: personal MCP gateway to your AI coding CLIs\n\
After=network.target\n\
StartLimitIntervalSec=60\n\
StartLimitBurst=10\n\
\n\
[Service]\n\
Type=simple\n\
ExecStart={exec}\n\
Environment={log_env}=1\n\
EnvironmentFile=-{env_file}\n\
WorkingDirectory={wd}\n\
Restart=on-failure\n\
RestartSec=1\n\
RestartPreventExitStatus={EXIT_NO_RESTART}\n\
UMask=0077\n\
StandardOutput=append:{output}\n\
StandardError=append:{output}\n\
\n\
[Install]\n\
WantedBy={wanted_by}\n",
        exec = exec.join(" "),
        log_env = crate::platform::logfile::ENV,
        env_file = systemd_path(&spec.env_file),
        wd = systemd_path(&spec.working_dir),
        output = systemd_path(&spec.output_file),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A launchd job: `KeepAlive` restarts it unless it exits cleanly, `RunAtLoad` starts it
/// at login (agent) or boot (daemon), and stray output goes to the app's output file.
pub fn launchd_plist(spec: &ServiceSpec) -> String {
    let args: String = std::iter::once(spec.program.to_string_lossy().into_owned())
        .chain(spec.args.iter().cloned())
        .map(|a| format!("    <string>{}</string>\n", xml_escape(&a)))
        .collect();
    // The gateway writes its own log (see `platform::logfile::ENV`).
    let own_log = [(crate::platform::logfile::ENV.to_string(), "1".to_string())];
    let env: String = spec
        .env
        .iter()
        .chain(own_log.iter())
        .map(|(k, v)| {
            format!(
                "    <key>{}</key>\n    <string>{}</string>\n",
                xml_escape(k),
                xml_escape(v)
            )
        })
        .collect();
    let output = xml_escape(&spec.output_file.to_string_lossy());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
{args}  </array>
  <key>EnvironmentVariables</key>
  <dict>
{env}  </dict>
  <key>WorkingDirectory</key>
  <string>{wd}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>2</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>{output}</string>
  <key>StandardErrorPath</key>
  <string>{output}</string>
</dict>
</plist>
"#,
        wd = xml_escape(&spec.working_dir.to_string_lossy()),
    )
}

/// One argument for a Windows command line (CommandLineToArgvW rules): quoted when it
/// has spaces or quotes, with backslashes before a quote doubled.
pub fn windows_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

/// The service's `binPath` for `sc.exe create`: program and arguments, each quoted.
pub fn windows_bin_path(spec: &ServiceSpec) -> String {
    std::iter::once(spec.program.to_string_lossy().into_owned())
        .chain(spec.args.iter().cloned())
        .map(|a| windows_quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `KEY="value"` lines for the environment file (systemd's `EnvironmentFile=` syntax:
/// no `$`/`%` expansion, `\` and `"` escaped). Values with newlines are dropped; no PATH
/// has one.
pub fn env_file_contents(env: &[(String, String)]) -> String {
    let mut s = String::from(
        "# Environment for the llm-cli-gateway service, captured by setup; `llm-cli-gateway repair` refreshes PATH.\n\
         # Add provider API keys here if the CLIs need them (this file is 0600).\n",
    );
    for (k, v) in env {
        if !v.contains(['\n', '\r']) {
            let v = v.replace('\\', "\\\\").replace('"', "\\\"");
            s.push_str(&format!("{k}=\"{v}\"\n"));
        }
    }
    s
}

/// Reads an environment file the way systemd's `EnvironmentFile=` does for the lines we
/// and users write: `KEY=value` or `KEY="value"` with `\\` and `\"` escapes, `#` comments,
/// an optional `export `. Lines it cannot read are skipped, as systemd skips them.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => {
                let mut s = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    match (c, c == '\\') {
                        (_, true) => s.extend(chars.next()),
                        (c, false) => s.push(c),
                    }
                }
                s
            }
            None => value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value)
                .to_string(),
        };
        out.retain(|(k, _): &(String, String)| k != key);
        out.push((key.to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_round_trips_and_reads_hand_edits() {
        let env = vec![
            ("PATH".to_string(), "/a b/bin:/usr/bin".to_string()),
            (
                "WEIRD".to_string(),
                r#"quote " and \ backslash"#.to_string(),
            ),
        ];
        assert_eq!(parse_env_file(&env_file_contents(&env)), env);
        let hand = "# comment\nexport GEMINI_API_KEY=abc\nMISTRAL_API_KEY='x y'\nnot a line\n=v\nPATH=/first\nPATH=/second\n";
        assert_eq!(
            parse_env_file(hand),
            vec![
                ("GEMINI_API_KEY".to_string(), "abc".to_string()),
                ("MISTRAL_API_KEY".to_string(), "x y".to_string()),
                ("PATH".to_string(), "/second".to_string()),
            ]
        );
    }

    fn spec(home: &str) -> ServiceSpec {
        ServiceSpec {
            program: PathBuf::from(format!("{home}/current/bin/llm-cli-gateway")),
            args: vec![
                "serve".into(),
                "--config-dir".into(),
                home.into(),
                "--data-dir".into(),
                home.into(),
            ],
            env: vec![
                ("PATH".into(), "/home/a b/.nvm/bin:/usr/bin".into()),
                ("HOME".into(), "/home/a b".into()),
            ],
            env_file: PathBuf::from(format!("{home}/service.env")),
            output_file: PathBuf::from(format!("{home}/logs/gateway.stderr.log")),
            working_dir: PathBuf::from(home),
            level: Level::User,
        }
    }

    #[test]
    fn systemd_quotes_paths_with_spaces_and_specials() {
        let unit = systemd_unit(&spec("/home/a b/100%/$x"));
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert_eq!(
            exec,
            r#"ExecStart="/home/a b/100%%/$$x/current/bin/llm-cli-gateway" "serve" "--config-dir" "/home/a b/100%%/$$x" "--data-dir" "/home/a b/100%%/$$x""#
        );
        assert!(unit.contains("EnvironmentFile=-/home/a b/100%%/$x/service.env"));
        assert!(unit.contains("StandardOutput=append:/home/a b/100%%/$x/logs/gateway.stderr.log"));
        assert!(unit.contains("RestartPreventExitStatus=78"));
        assert!(unit.contains("\nEnvironment=LLM_CLI_GATEWAY_LOG_FILE=1\n"));
        assert!(unit.contains("Restart=on-failure"));
        assert!(unit.contains("WantedBy=default.target"));
        let system = systemd_unit(&ServiceSpec {
            level: Level::System,
            ..spec("/var/lib/g")
        });
        assert!(system.contains("WantedBy=multi-user.target"));
    }

    #[test]
    fn systemd_quote_escapes() {
        assert_eq!(systemd_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(systemd_quote("x\ny"), r#""x\ny""#);
    }

    #[test]
    fn launchd_plist_escapes_and_logs() {
        let p = launchd_plist(&spec("/Users/a&b/<gw>"));
        assert!(
            p.contains("<string>/Users/a&amp;b/&lt;gw&gt;/current/bin/llm-cli-gateway</string>")
        );
        assert!(p.contains("<key>StandardOutPath</key>"));
        assert!(p.contains("<string>/Users/a&amp;b/&lt;gw&gt;/logs/gateway.stderr.log</string>"));
        assert!(p.contains("<key>SuccessfulExit</key>\n    <false/>"));
        assert!(p.contains("<key>PATH</key>"));
        assert!(p.contains("<key>LLM_CLI_GATEWAY_LOG_FILE</key>\n    <string>1</string>"));
        // Well-formed enough for a strict parser: every <string> closed.
        assert_eq!(
            p.matches("<string>").count(),
            p.matches("</string>").count()
        );
    }

    #[test]
    fn windows_quoting_follows_argv_rules() {
        assert_eq!(windows_quote("serve"), "serve");
        assert_eq!(
            windows_quote(r"C:\Program Files\gw"),
            r#""C:\Program Files\gw""#
        );
        assert_eq!(windows_quote(r#"a"b"#), r#""a\"b""#);
        assert_eq!(
            windows_quote(r"C:\dir with space\"),
            r#""C:\dir with space\\""#
        );
        assert_eq!(windows_quote(""), r#""""#);
        let s = ServiceSpec {
            program: PathBuf::from(
                r"C:\Users\A B\AppData\Local\llm-cli-gateway\current\bin\llm-cli-gateway.exe",
            ),
            ..spec("x")
        };
        assert!(windows_bin_path(&s).starts_with(
            r#""C:\Users\A B\AppData\Local\llm-cli-gateway\current\bin\llm-cli-gateway.exe" serve"#
        ));
    }

    #[test]
    fn env_file_drops_multiline_values() {
        let s = env_file_contents(&[
            ("PATH".into(), "/a:/b$c%d".into()),
            ("BAD".into(), "x\ny".into()),
            ("Q".into(), r#"say "hi"\"#.into()),
        ]);
        assert!(s.contains("PATH=\"/a:/b$c%d\"\n"), "{s}");
        assert!(s.contains(r#"Q="say \"hi\"\\""#), "{s}");
        assert!(!s.contains("BAD"));
    }
}
