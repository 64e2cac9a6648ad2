//! `config.toml`: the endpoint and choices that survive re-runs.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::platform::fsutil;

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 3333;
pub const DEFAULT_PATH: &str = "/mcp";

/// The first line of a config.toml we create.
const HEADER: &str =
    "# llm-cli-gateway configuration. Re-run `llm-cli-gateway setup` after editing.\n";
const POLICY: &str = "policy";

fn invalid(path: &Path, e: &toml::de::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "the configuration at {} is not valid: {}\nhelp: fix or delete the file, then re-run `llm-cli-gateway setup`",
        path.display(),
        e.to_string().trim_end()
    )
}

/// The persisted configuration. Unknown keys are rejected so that a typo such as
/// `prot = 4444` is reported instead of silently falling back to a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_path")]
    pub path: String,
    /// An HTTPS URL under which a tunnel or reverse proxy exposes the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Where `upgrade` looks for release manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_url: Option<String>,
    /// The service backend chosen at setup.
    #[serde(default = "default_backend")]
    pub service_backend: String,
    /// Job store tunables (`[jobs]`); environment variables override them.
    #[serde(default, skip_serializing_if = "JobsConfig::is_default")]
    pub jobs: JobsConfig,
    /// The gateway's log file (`[log]`): rotation and the refusal summaries.
    #[serde(default, skip_serializing_if = "LogConfig::is_default")]
    pub log: LogConfig,
    /// Connection limits and timeouts (`[server]`).
    #[serde(default, skip_serializing_if = "ServerConfig::is_default")]
    pub server: ServerConfig,
    /// The operator's policy (`[policy]`), kept as written: `policy::PolicySettings`
    /// reads and validates it (the runtime does not interpret policy).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub policy: toml::Table,
}

/// `[jobs]` in config.toml. Absent keys keep the built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Days finished jobs stay queryable (default 30).
    pub retention_days: Option<u64>,
    /// Seconds within which identical requests share a job (default 3600; 0 disables).
    pub dedup_window_secs: Option<u64>,
    /// Seconds a sync request waits before returning a job id (default 40).
    pub sync_wait_secs: Option<u64>,
    /// Seconds of silence after which a CLI is killed (default 600).
    pub idle_timeout_secs: Option<u64>,
    /// Bytes of output kept per stream (default 8 MiB).
    pub max_output_bytes: Option<u64>,
    /// Most bytes one tool reply may hold, text and structured content together (default
    /// 786432, 768 KiB: MCP clients refuse messages over 1 MiB). Longer output is cut
    /// with a marker; `llm_job_result` pages through the rest.
    pub max_reply_bytes: Option<u64>,
    /// Gateway sessions one provider may have (default 100); `session_create` refuses more.
    pub max_sessions_per_provider: Option<u64>,
    /// CLI processes running at once (default 16); further jobs wait `queued`, in order.
    pub max_concurrent_processes: Option<u64>,
    /// Total seconds a run may take, however much it prints (default 1800); a request's
    /// `maxRuntimeMs` may lower it, never raise it.
    pub max_runtime_secs: Option<u64>,
}

impl JobsConfig {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// `[log]` in config.toml. Absent keys keep the built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Size at which `logs/gateway.log` is rotated (default 10 MiB, at least 1024).
    pub max_bytes: Option<u64>,
    /// Rotated files kept, `gateway.log.1` … (default 3; 0 keeps none).
    pub keep: Option<u32>,
    /// Seconds between the summary lines for refused, malformed and timed-out requests,
    /// which are never logged one line each (default 60).
    pub summary_interval_secs: Option<u64>,
}

impl LogConfig {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// `[server]` in config.toml. Absent keys keep the built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Open connections at most (default 512; never more than the file descriptor limit
    /// minus a reserve for CLI pipes and the store).
    pub max_connections: Option<u64>,
    /// Seconds a client has to send a request's headers (default 10).
    pub header_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection stays open (default 60).
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's body (default 30).
    pub body_timeout_secs: Option<u64>,
}

impl ServerConfig {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

fn default_host() -> String {
    DEFAULT_HOST.into()
}
fn default_port() -> u16 {
    DEFAULT_PORT
}
fn default_path() -> String {
    DEFAULT_PATH.into()
}
fn default_backend() -> String {
    "process".into()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: default_host(),
            port: default_port(),
            path: default_path(),
            public_url: None,
            release_url: None,
            service_backend: default_backend(),
            jobs: JobsConfig::default(),
            log: LogConfig::default(),
            server: ServerConfig::default(),
            policy: toml::Table::new(),
        }
    }
}

impl Config {
    /// Loads the file; `Ok(None)` when it does not exist. A corrupt file is an error that
    /// names the file and the line, never silently replaced by defaults.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = fsutil::read_to_string("configuration", path)?;
        let config: Config = toml::from_str(&text).map_err(|e| invalid(path, &e))?;
        config
            .validate()
            .with_context(|| format!("the configuration at {} is not valid", path.display()))?;
        Ok(Some(config))
    }

    /// Loads the file or returns defaults when absent.
    pub fn load_or_default(path: &Path) -> Result<Self> {
        Ok(Self::load(path)?.unwrap_or_default())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate()?;
        let mut text = String::from(HEADER);
        text.push_str(&toml::to_string(self).context("serializing the configuration")?);
        fsutil::write_atomic("configuration", path, text.as_bytes(), 0o600)
    }

    /// Replaces `[policy]` in the file at `path` with `policy` (removed when empty),
    /// keeping everything else as written: other settings, comments, order, and the keys
    /// of `[policy]` whose value stays the same. The result must load as a valid
    /// configuration before it is written (atomically, 0600). A missing file is created
    /// holding only `[policy]`.
    pub fn write_policy(path: &Path, policy: &toml::Table) -> Result<()> {
        let existed = path.exists();
        let text = if existed {
            fsutil::read_to_string("configuration", path)?
        } else {
            String::new()
        };
        let old: toml::Table = toml::from_str(&text).map_err(|e| invalid(path, &e))?;
        let old_policy = match old.get(POLICY) {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => toml::Table::new(),
        };
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .with_context(|| format!("reading {} for editing", path.display()))?;
        if policy.is_empty() {
            doc.remove(POLICY);
        } else {
            let mut wrapper = toml::Table::new();
            wrapper.insert(POLICY.into(), toml::Value::Table(policy.clone()));
            let fresh: toml_edit::DocumentMut = toml::to_string(&wrapper)
                .context("serializing [policy]")?
                .parse()
                .context("re-reading [policy]")?;
            let fresh = fresh[POLICY].as_table().cloned().unwrap_or_default();
            let item = doc
                .entry(POLICY)
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
            if item.as_table_like().is_none() {
                *item = toml_edit::Item::Table(toml_edit::Table::new());
            }
            let table = item.as_table_like_mut().expect("made a table above");
            let stale: Vec<String> = table
                .iter()
                .map(|(k, _)| k.to_string())
                .filter(|k| !policy.contains_key(k))
                .collect();
            for k in stale {
                table.remove(&k);
            }
            for (k, v) in policy {
                if old_policy.get(k) != Some(v)
                    && let Some(value) = fresh.get(k)
                {
                    table.insert(k, value.clone());
                }
            }
        }
        let text = if existed {
            doc.to_string()
        } else {
            format!("{HEADER}{doc}")
        };
        let config: Config = toml::from_str(&text).map_err(|e| invalid(path, &e))?;
        config
            .validate()
            .with_context(|| format!("the configuration at {} is not valid", path.display()))?;
        if config.policy != *policy {
            bail!(
                "editing [policy] in {} did not give the values asked for; nothing was written",
                path.display()
            );
        }
        fsutil::write_atomic("configuration", path, text.as_bytes(), 0o600)
    }

    /// Whether the file at `path` names `service_backend`. One that `policy` created
    /// before the first `setup` does not, and setup then picks the backend as on a first
    /// run.
    pub fn names_service_backend(path: &Path) -> bool {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .is_some_and(|t| t.contains_key("service_backend"))
    }

    pub fn validate(&self) -> Result<()> {
        validate_host(&self.host)?;
        if self.port == 0 {
            bail!("port must be between 1 and 65535");
        }
        validate_path(&self.path)?;
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("public_url must be an http(s) URL, got {url:?}");
        }
        self.validate_limits()
    }

    fn validate_limits(&self) -> Result<()> {
        use crate::platform::logfile::{MAX_KEEP, MIN_MAX_BYTES};
        if let Some(b) = self.log.max_bytes
            && b < MIN_MAX_BYTES
        {
            bail!("[log] max_bytes must be at least {MIN_MAX_BYTES}, got {b}");
        }
        if let Some(k) = self.log.keep
            && k > MAX_KEEP
        {
            bail!("[log] keep must be at most {MAX_KEEP}, got {k}");
        }
        let at_least_one = [
            (
                "[log] summary_interval_secs",
                self.log.summary_interval_secs,
            ),
            ("[server] max_connections", self.server.max_connections),
            (
                "[server] header_timeout_secs",
                self.server.header_timeout_secs,
            ),
            ("[server] idle_timeout_secs", self.server.idle_timeout_secs),
            ("[server] body_timeout_secs", self.server.body_timeout_secs),
        ];
        for (key, value) in at_least_one {
            if value == Some(0) {
                bail!("{key} must be at least 1");
            }
        }
        Ok(())
    }

    /// The URL local clients use.
    pub fn local_url(&self) -> String {
        format!("http://{}{}", self.authority(), self.path)
    }

    /// `host:port` as a client should write it (IPv6 bracketed).
    pub fn authority(&self) -> String {
        let host = match self.host.as_str() {
            "0.0.0.0" => "127.0.0.1",
            "::" => "[::1]",
            h if h.contains(':') => return format!("[{h}]:{}", self.port),
            h => h,
        };
        format!("{host}:{}", self.port)
    }

    pub fn health_url(&self) -> String {
        format!("http://{}/healthz", self.authority())
    }
}

pub fn validate_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<std::net::IpAddr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !ok {
        bail!("host must be an IP address or a DNS name, got {host:?}");
    }
    Ok(())
}

pub fn validate_path(path: &str) -> Result<()> {
    let ok = path.starts_with('/')
        && path.len() > 1
        && path != "/healthz"
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c));
    if !ok {
        bail!(
            "path must start with '/', use only letters, digits and -_.~/, and not be /healthz; got {path:?}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        assert_eq!(Config::load(&p).unwrap(), None);
        let c = Config {
            port: 4444,
            ..Default::default()
        };
        c.save(&p).unwrap();
        assert_eq!(Config::load(&p).unwrap().unwrap(), c);
        std::fs::write(&p, "port = 5000\n").unwrap();
        let c = Config::load(&p).unwrap().unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.path.as_str()),
            ("127.0.0.1", 5000, "/mcp")
        );
    }

    #[test]
    fn corrupt_file_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "host = \"127.0.0.1\"\nport = [nope\n").unwrap();
        let err = format!("{:#}", Config::load(&p).unwrap_err());
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        std::fs::write(&p, "port = 0\n").unwrap();
        assert!(Config::load(&p).is_err());
        std::fs::write(&p, "path = \"mcp\"\n").unwrap();
        assert!(Config::load(&p).is_err());
    }

    #[test]
    fn write_policy_keeps_everything_else_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        let original = "# mine\nport = 4444 # my port\n\n[policy]\n# why strict\nlevel = \"strict\"\nrecord_prompts = false\n\n[jobs]\nretention_days = 3\n";
        std::fs::write(&p, original).unwrap();
        let mut policy: toml::Table =
            toml::from_str("level = \"strict\"\nworkspace_roots = [\"~\", \"/srv/x\"]").unwrap();
        Config::write_policy(&p, &policy).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# mine\nport = 4444 # my port\n"),
            "{text}"
        );
        assert!(
            text.contains("# why strict\nlevel = \"strict\"\n"),
            "{text}"
        );
        assert!(!text.contains("record_prompts"), "{text}");
        assert!(text.contains("[jobs]\nretention_days = 3"), "{text}");
        let c = Config::load(&p).unwrap().unwrap();
        assert_eq!((c.port, &c.policy), (4444, &policy));
        policy.clear();
        Config::write_policy(&p, &policy).unwrap();
        let c = Config::load(&p).unwrap().unwrap();
        assert!(c.policy.is_empty() && c.jobs.retention_days == Some(3));

        let fresh = dir.path().join("new.toml");
        policy.insert("level".into(), "permissive".into());
        Config::write_policy(&fresh, &policy).unwrap();
        assert_eq!(Config::load(&fresh).unwrap().unwrap().policy, policy);
        let text = std::fs::read_to_string(&fresh).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        assert!(!Config::names_service_backend(&fresh));
        Config::default().save(&fresh).unwrap();
        assert!(Config::names_service_backend(&fresh));
    }

    #[test]
    fn jobs_limits_are_read() {
        let c: Config = toml::from_str(
            "[jobs]\nmax_reply_bytes = 65536\nmax_sessions_per_provider = 2\nmax_concurrent_processes = 1\nmax_runtime_secs = 5\n",
        )
        .unwrap();
        assert_eq!(c.jobs.max_reply_bytes, Some(65536));
        assert_eq!(c.jobs.max_sessions_per_provider, Some(2));
        assert_eq!(c.jobs.max_concurrent_processes, Some(1));
        assert_eq!(c.jobs.max_runtime_secs, Some(5));
        assert!(toml::from_str::<Config>("[jobs]\nmax_runtime = 5\n").is_err());
    }

    #[test]
    fn log_and_server_tables() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "[log]\nmax_bytes = 4096\nkeep = 1\n[server]\nmax_connections = 64\nheader_timeout_secs = 2\n",
        )
        .unwrap();
        let c = Config::load(&p).unwrap().unwrap();
        assert_eq!((c.log.max_bytes, c.log.keep), (Some(4096), Some(1)));
        assert_eq!(c.server.max_connections, Some(64));
        c.save(&p).unwrap();
        assert_eq!(Config::load(&p).unwrap().unwrap(), c);
        for bad in [
            "[log]\nmax_bytes = 10\n",
            "[log]\nkeep = 1000\n",
            "[log]\nkepe = 1\n",
            "[server]\nmax_connections = 0\n",
            "[server]\nidle_timeout_secs = 0\n",
            "[server]\nmax_conections = 5\n",
        ] {
            std::fs::write(&p, bad).unwrap();
            assert!(Config::load(&p).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        let mut c = Config::default();
        assert_eq!(c.local_url(), "http://127.0.0.1:3333/mcp");
        c.host = "::1".into();
        assert_eq!(c.health_url(), "http://[::1]:3333/healthz");
        c.host = "0.0.0.0".into();
        assert_eq!(c.authority(), "127.0.0.1:3333");
    }
}
