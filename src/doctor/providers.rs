//! Each provider CLI as the gateway service will see it: on the service's PATH, its
//! version, and its login state from the check its [`AuthProbe`] names.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::platform::bounded::run_bounded;
use crate::providers::Provider;
use crate::providers::auth::{AuthProbe, LoginStatus, Verdict};
use crate::report::ProviderCheck;
use crate::runtime::config::Config;
use crate::runtime::paths::Paths;
use crate::runtime::service::pidfile::{self, PidState};

/// The environment the gateway's CLIs run with, which is not the shell's running doctor:
/// an OS service gets PATH and HOME (and any keys the user added) from `service.env`;
/// the process backend's gateway has the environment of the command that started it,
/// which `/proc/<pid>/environ` shows. Probing with the shell's PATH would report a CLI
/// the gateway cannot find as fine.
pub struct ProbeEnv {
    /// What the probes run with.
    vars: Vec<(String, String)>,
    /// The gateway's own environment, when known (values stay in memory, only presence
    /// is ever reported).
    gateway: Option<Vec<(String, String)>>,
    /// The shell's PATH when it differs from the gateway's, to spot a CLI the service
    /// cannot see.
    shell_path: Option<String>,
    /// How to give the gateway this shell's environment.
    pub refresh: &'static str,
}

impl ProbeEnv {
    pub fn load(paths: &Paths, config: &Config, inside_gateway: bool) -> Self {
        let shell: Vec<(String, String)> = std::env::vars().collect();
        let gateway = if inside_gateway {
            Some(shell.clone())
        } else if config.service_backend == crate::runtime::service::PROCESS_BACKEND {
            match pidfile::read(&paths.pid_file()) {
                PidState::Running(pf) => process_environ(pf.pid),
                _ => None,
            }
        } else {
            std::fs::read_to_string(paths.service_env_file())
                .ok()
                .map(|t| crate::runtime::service::definition::parse_env_file(&t))
        };
        let mut vars = shell.clone();
        for (k, v) in gateway.iter().flatten() {
            vars.retain(|(key, _)| key != k);
            vars.push((k.clone(), v.clone()));
        }
        let shell_path = std::env::var("PATH").ok();
        let differs = shell_path.as_deref() != Some(var_in(&vars, "PATH").as_str());
        let refresh = if config.service_backend == crate::runtime::service::PROCESS_BACKEND {
            "restart the gateway from this shell (`llm-cli-gateway stop && llm-cli-gateway start`)"
        } else {
            "run `llm-cli-gateway repair` (it refreshes service.env from this shell)"
        };
        Self {
            vars,
            gateway,
            shell_path: shell_path.filter(|_| differs),
            refresh,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        Some(var_in(&self.vars, name)).filter(|v| !v.is_empty())
    }

    /// A variable as the gateway sees it (the shell's when the gateway's is unknown).
    fn gateway_var(&self, name: &str) -> Option<String> {
        match &self.gateway {
            Some(g) => Some(var_in(g, name)).filter(|v| !v.is_empty()),
            None => self.get(name),
        }
    }

    /// HOME as the gateway's CLIs see it, when set.
    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }

    fn which(&self, binary: &str) -> Option<PathBuf> {
        which_in(&self.get("PATH").unwrap_or_default(), binary)
    }

    /// Found on the shell's PATH but not the gateway's: `repair` refreshes service.env,
    /// and restarts a process-backend gateway from this shell.
    fn shell_only(&self, binary: &str) -> Option<PathBuf> {
        which_in(self.shell_path.as_ref()?, binary)
    }
}

/// Another process's environment (Linux; ours, so readable). `None` elsewhere.
fn process_environ(pid: u32) -> Option<Vec<(String, String)>> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter_map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

fn var_in(vars: &[(String, String)], name: &str) -> String {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn which_in(path: &str, binary: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(binary))
        .find(|p| crate::providers::is_executable(p))
}

pub async fn check(p: &dyn Provider, env: &ProbeEnv, timeout: Duration) -> ProviderCheck {
    let started = Instant::now();
    let info = p.info();
    let mut check = ProviderCheck {
        id: info.id.into(),
        name: info.display_name.into(),
        binary: info.binary.into(),
        found: false,
        path: None,
        version: None,
        version_error: None,
        login: LoginStatus::Unknown,
        login_detail: String::new(),
        install_hint: None,
        login_hint: None,
        duration_ms: 0,
    };
    let Some(path) = env.which(info.binary) else {
        check.login_detail = match env.shell_only(info.binary) {
            Some(p) => format!(
                "{} is on your shell's PATH but not the gateway's; {}",
                p.display(),
                env.refresh
            ),
            None => format!("`{}` is not on the gateway's PATH", info.binary),
        };
        check.install_hint = Some(info.install_hint.into());
        check.duration_ms = ms(started);
        return check;
    };
    let (version, (login, detail)) = tokio::join!(
        version_of(&path, env, timeout),
        login_of(p, &path, env, timeout)
    );
    match version {
        Ok(v) => check.version = Some(v),
        Err(e) => check.version_error = Some(e),
    }
    check.found = true;
    check.path = Some(path);
    check.login = login;
    check.login_detail = detail;
    if login != LoginStatus::Authenticated {
        check.login_hint = Some(info.login_hint.into());
    }
    check.duration_ms = ms(started);
    check
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn version_of(path: &Path, env: &ProbeEnv, timeout: Duration) -> Result<String, String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    match run_bounded(path, &["--version"], Some(&env.vars), timeout).await {
        Err(e) => Err(format!("could not run {}: {e}", path.display())),
        Ok(r) if r.timed_out => Err(format!(
            "`{name} --version` timed out after {} ms",
            timeout.as_millis()
        )),
        Ok(r) => {
            let first = |s: &str| {
                s.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(|l| l.chars().take(200).collect::<String>())
            };
            match (r.code, first(&r.stdout)) {
                (Some(0), Some(line)) => Ok(line),
                (Some(0), None) => {
                    first(&r.stderr).ok_or_else(|| format!("`{name} --version` printed nothing"))
                }
                (code, _) => Err(format!(
                    "`{name} --version` failed (exit {}): {}",
                    code.map_or("by signal".to_string(), |c| c.to_string()),
                    first(&r.stderr).unwrap_or_default()
                )),
            }
        }
    }
}

async fn login_of(p: &dyn Provider, path: &Path, env: &ProbeEnv, timeout: Duration) -> Verdict {
    match p.auth() {
        AuthProbe::Command { args, read } => {
            let shown = format!("`{} {}`", p.binary(), args.join(" "));
            match run_bounded(path, args, Some(&env.vars), timeout).await {
                Err(e) => (LoginStatus::Unknown, format!("could not run {shown}: {e}")),
                Ok(r) if r.timed_out => (
                    LoginStatus::Unknown,
                    format!("{shown} timed out after {} ms", timeout.as_millis()),
                ),
                Ok(r) => read(r.code, &r.stdout, &r.stderr),
            }
        }
        AuthProbe::Presence { any_of, otherwise } => {
            let home = env.home().unwrap_or_default();
            let var = |name: &str| env.gateway_var(name);
            if let Some(c) = any_of.iter().find(|c| c.present(&var, &home)) {
                return (
                    LoginStatus::Authenticated,
                    format!("credentials found: {}", c.describe()),
                );
            }
            // Set where doctor runs but not where the service runs: say so, it is the
            // usual reason a CLI works in a terminal and fails through the gateway.
            let shell = |name: &str| env.get(name);
            let mut detail = otherwise.1.to_string();
            if let Some(c) = any_of.iter().find(|c| c.present(&shell, &home)) {
                detail = format!(
                    "{} is set in this shell but not in the gateway's environment; {}",
                    c.describe(),
                    if env.refresh.contains("repair") {
                        "add it to service.env and restart the gateway"
                    } else {
                        env.refresh
                    }
                );
            } else {
                let looked: Vec<String> = any_of.iter().map(|c| c.describe()).collect();
                detail.push_str(&format!(" (looked for {})", looked.join(", ")));
            }
            (otherwise.0, detail)
        }
    }
}
