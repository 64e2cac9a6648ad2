//! `doctor`: every check a working setup needs, run at once. The CLI command and the
//! gateway's `doctor` tool both call [`diagnose`], so they report the same document.
//!
//! Probes that can hang (provider CLIs, the public URL) each get the caller's timeout;
//! the local checks (files, pid, `/healthz` with its own 800 ms budget, the service
//! manager) run on a blocking thread alongside them. Doctor therefore takes about as
//! long as its slowest probe.

pub mod database;
mod exposure;
pub mod policy;
mod providers;
mod render;
pub mod state;

pub use render::render;

/// The report as the `--json` document carries it (tagged `command: doctor`), so one
/// schema validates the CLI's output and the gateway tool's.
pub fn document(report: DoctorReport) -> serde_json::Result<serde_json::Value> {
    serde_json::to_value(crate::report::Report::Doctor(Box::new(report)))
}

use std::time::{Duration, Instant};

use self::state as common;
use crate::platform::build::HOST_TARGET;
use crate::providers::auth::LoginStatus;
use crate::report::ClientPresence;
use crate::report::{
    DatabaseCheck, DatabaseState, DoctorReport, Exposure, HealthProbe, InstallCheck, PolicyCheck,
    PolicyLevel, Problem, ProviderCheck, RunState, SCHEMA_VERSION, ServiceState, Severity,
    SystemInfo, TokenCheck, TransportCheck, UrlCheck,
};
use crate::runtime::config::Config;
use crate::runtime::paths::Paths;
use crate::runtime::receipt::Receipt;
use crate::runtime::service::Snapshot;
use crate::runtime::token::Token;

pub struct Options {
    /// Send a HEAD request to the public URL.
    pub check_public_url: bool,
    /// Budget of each probe that can hang.
    pub timeout: Duration,
    /// Running inside the gateway (the MCP tool): this process's environment is the
    /// service's.
    pub inside_gateway: bool,
    /// Finds which MCP clients point at this gateway. Given by the caller: client
    /// configs are the bootstrapper's business, and the gateway receives this from `serve`.
    pub clients: Option<ClientProbe>,
}

/// See [`Options::clients`].
pub type ClientProbe = fn(&Paths, &Config) -> Vec<ClientPresence>;

/// What the blocking thread finds.
struct Local {
    install: InstallCheck,
    service: ServiceState,
    health: HealthProbe,
    health_warning: Option<String>,
    token: TokenCheck,
    database: DatabaseCheck,
    clients: Vec<ClientPresence>,
}

pub async fn diagnose(paths: &Paths, opts: &Options) -> DoctorReport {
    let started = Instant::now();
    let mut problems = Vec::new();
    let config = match Config::load_or_default(&paths.config_file()) {
        Ok(c) => c,
        Err(e) => {
            problems.push(problem(Severity::Blocking, "config", first_line(&e)));
            Config::default()
        }
    };
    let env = providers::ProbeEnv::load(paths, &config, opts.inside_gateway);
    // `~` is the gateway's HOME, which the service may have from service.env.
    let policy = policy::check(paths, &config.policy, env.home().as_deref());
    let local = {
        let (paths, config) = (paths.clone(), config.clone());
        let clients = opts.clients;
        tokio::task::spawn_blocking(move || local_checks(&paths, &config, clients))
    };
    let provider_checks = futures_util::future::join_all(
        crate::providers::ALL
            .iter()
            .map(|p| providers::check(*p, &env, opts.timeout)),
    );
    let (exposure, https, detail) = exposure::classify(&config.host, config.public_url.as_deref());
    let public_check = async {
        match (&config.public_url, opts.check_public_url) {
            (Some(url), true) => Some(head(url, opts.timeout).await),
            _ => None,
        }
    };
    let (local, providers, public_check) = tokio::join!(local, provider_checks, public_check);
    let local = local.unwrap_or_else(|e| Local::failed(paths, &config, &e.to_string()));

    let transport = TransportCheck {
        transport: "streamable-http".into(),
        local_url: config.local_url(),
        public_url: config.public_url.clone(),
        exposure,
        https,
        detail,
        public_check,
    };
    let next_actions = judge(
        paths,
        &local,
        &transport,
        &providers,
        &policy,
        &mut problems,
    );
    problems.sort_by_key(|p| p.severity);
    DoctorReport {
        schema_version: SCHEMA_VERSION,
        ok: !problems.iter().any(|p| p.severity == Severity::Blocking),
        system: SystemInfo {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            target: HOST_TARGET.into(),
            bootstrapper_version: crate::platform::build::VERSION.into(),
            locations: common::locations_of(paths),
        },
        install: local.install,
        service: local.service,
        health: local.health,
        transport,
        token: local.token,
        database: local.database,
        providers,
        clients: local.clients,
        policy,
        problems,
        next_actions,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn local_checks(paths: &Paths, config: &Config, clients: Option<ClientProbe>) -> Local {
    let receipt = Receipt::load(&paths.receipt_file()).ok().flatten();
    let version = paths.current_version();
    let mismatched = receipt
        .as_ref()
        .filter(|_| version.is_some())
        .map(|r| r.mismatched_files(&paths.version_dir(&r.active.version)));
    let installed = version.is_some();
    let snap = Snapshot::take(paths, config);
    let mut service = common::service_state(config, &snap, installed);
    if service.log.is_none() {
        service.log = Some(paths.log_file());
    }
    let (health, health_warning) = common::health_probe(config, &snap);
    let token_file = paths.token_file();
    let token = match Token::load(&token_file) {
        Ok(_) => TokenCheck {
            configured: true,
            file: token_file,
            problem: None,
        },
        Err(e) => TokenCheck {
            configured: false,
            problem: Some(if token_file.exists() {
                first_line(&e)
            } else {
                format!("{} does not exist", token_file.display())
            }),
            file: token_file,
        },
    };
    Local {
        install: InstallCheck {
            installed,
            version,
            receipt: receipt.is_some(),
            files_match: mismatched.as_ref().map(Vec::is_empty),
            mismatched_files: mismatched.unwrap_or_default(),
        },
        service,
        health,
        health_warning,
        token,
        database: database::check(&paths.db_file()),
        clients: clients
            .map(|probe| probe(paths, config))
            .unwrap_or_default(),
    }
}

impl Local {
    /// The blocking thread panicked: report that rather than nothing.
    fn failed(paths: &Paths, config: &Config, why: &str) -> Self {
        Local {
            install: InstallCheck {
                installed: false,
                version: None,
                receipt: false,
                files_match: None,
                mismatched_files: Vec::new(),
            },
            service: common::stopped_state(config),
            health: HealthProbe {
                ok: false,
                url: config.health_url(),
                version: None,
                latency_ms: None,
                error: Some(format!("local checks failed: {why}")),
            },
            health_warning: None,
            token: TokenCheck {
                configured: false,
                file: paths.token_file(),
                problem: Some("not checked".into()),
            },
            database: DatabaseCheck {
                file: paths.db_file(),
                state: DatabaseState::Unreadable,
                detail: Some("not checked".into()),
            },
            clients: Vec::new(),
        }
    }
}

async fn head(url: &str, timeout: Duration) -> UrlCheck {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let result = match reqwest::Client::builder()
        .user_agent(concat!(
            "llm-cli-gateway-doctor/",
            env!("CARGO_PKG_VERSION")
        ))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client.head(url).send().await.map_err(|e| error_chain(&e)),
        Err(e) => Err(error_chain(&e)),
    };
    let latency_ms = (started.elapsed().as_secs_f64() * 1e5).round() / 100.0;
    match result {
        Ok(r) => UrlCheck {
            reachable: true,
            status: Some(r.status().as_u16()),
            error: None,
            latency_ms,
        },
        Err(e) => UrlCheck {
            reachable: false,
            status: None,
            error: Some(e),
            latency_ms,
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

fn first_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn problem(severity: Severity, check: &str, message: impl Into<String>) -> Problem {
    Problem {
        severity,
        check: check.into(),
        message: message.into(),
    }
}

/// Turns the findings into problems and the actions that fix them, in the order a person
/// should take them: the install, then the service, exposure, providers, clients.
fn judge(
    paths: &Paths,
    local: &Local,
    transport: &TransportCheck,
    providers: &[ProviderCheck],
    policy: &PolicyCheck,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let clients = &local.clients;
    let mut actions: Vec<String> = Vec::new();
    let mut act = |a: String| {
        if !actions.contains(&a) {
            actions.push(a);
        }
    };
    if problems.iter().any(|p| p.check == "config") {
        act(format!(
            "fix or remove {} (the message above says where), then re-run `llm-cli-gateway doctor`",
            paths.config_file().display()
        ));
    }
    if let Some(why) = &policy.problem {
        problems.push(problem(
            Severity::Blocking,
            "policy",
            format!("{why}; the gateway refuses to start with this policy"),
        ));
        act(format!(
            "fix [policy] in {} (`llm-cli-gateway policy --help` shows how to set each key), then run `llm-cli-gateway start`",
            paths.config_file().display()
        ));
    } else if policy.level == PolicyLevel::Permissive {
        problems.push(problem(
            Severity::Warning,
            "policy",
            "the policy level is permissive: a connected client may make the CLIs do anything they offer (bypass, yolo, full-access and auto-approve modes); `llm-cli-gateway policy --level balanced` keeps them to edits inside the workspace roots",
        ));
    }
    let install = &local.install;
    if !install.installed {
        problems.push(problem(
            Severity::Blocking,
            "install",
            "the gateway is not installed",
        ));
        act("run `llm-cli-gateway setup --yes` to install and start the gateway".into());
    } else {
        if !install.receipt {
            problems.push(problem(
                Severity::Blocking,
                "install",
                "receipt.json is missing, so installed files cannot be verified",
            ));
            act("run `llm-cli-gateway setup --yes` to write a fresh receipt".into());
        } else if install.files_match == Some(false) {
            problems.push(problem(
                Severity::Blocking,
                "install",
                format!(
                    "installed files no longer match the receipt: {}",
                    install.mismatched_files.join(", ")
                ),
            ));
            act("run `llm-cli-gateway repair` to reinstall the verified files".into());
        }
        if !local.token.configured {
            problems.push(problem(
                Severity::Blocking,
                "token",
                local.token.problem.clone().unwrap_or_default(),
            ));
            act("run `llm-cli-gateway repair` to restore the auth token".into());
        }
        match local.service.state {
            RunState::Running => {}
            RunState::Unhealthy => {
                problems.push(problem(
                    Severity::Blocking,
                    "service",
                    format!(
                        "the gateway process runs but {} does not answer: {}",
                        local.health.url,
                        local.health.error.clone().unwrap_or_default()
                    ),
                ));
                act(format!(
                    "read {} and run `llm-cli-gateway repair`",
                    paths.log_file().display()
                ));
            }
            RunState::Stopped | RunState::NotInstalled => {
                problems.push(problem(
                    Severity::Blocking,
                    "service",
                    "the gateway is not running",
                ));
                act("run `llm-cli-gateway start`".into());
            }
        }
    }
    let db = &local.database;
    match db.state {
        DatabaseState::Ok => {}
        DatabaseState::Corrupt => {
            problems.push(problem(
                Severity::Blocking,
                "database",
                format!(
                    "the jobs database {} is corrupt: {}",
                    db.file.display(),
                    db.detail.clone().unwrap_or_default()
                ),
            ));
            act("run `llm-cli-gateway repair` to move the corrupt jobs database aside; the gateway then creates a new one".into());
        }
        // Before the first start there is nothing yet; once installed, a missing file
        // means it was deleted, and a running gateway now writes into nothing.
        DatabaseState::Missing if install.installed => {
            problems.push(problem(
                Severity::Warning,
                "database",
                format!(
                    "the jobs database {} is missing: job results and sessions are gone, and a running gateway records nothing until it restarts",
                    db.file.display()
                ),
            ));
            act("run `llm-cli-gateway repair` to restart the gateway, which creates a new jobs database".into());
        }
        DatabaseState::Missing => {}
        DatabaseState::Unreadable => problems.push(problem(
            Severity::Warning,
            "database",
            db.detail.clone().unwrap_or_default(),
        )),
    }
    if let Some(w) = &local.health_warning {
        problems.push(problem(Severity::Warning, "service", w.clone()));
    }
    if let Some(w) = common::dropped_log_warning(&local.service) {
        problems.push(problem(Severity::Warning, "log", w));
        act(format!(
            "free space on the disk that holds {}, or make it writable",
            local
                .service
                .log
                .as_deref()
                .unwrap_or(&paths.log_file())
                .display()
        ));
    }
    match transport.exposure {
        Exposure::Misconfigured => {
            problems.push(problem(
                Severity::Blocking,
                "transport",
                transport.detail.clone(),
            ));
            act(format!(
                "set public_url in {} to the https:// URL of your tunnel or reverse proxy, or remove it",
                paths.config_file().display()
            ));
        }
        Exposure::Lan => {
            problems.push(problem(
                Severity::Warning,
                "transport",
                transport.detail.clone(),
            ));
            act("bind loopback (`llm-cli-gateway setup --yes --host 127.0.0.1`) and reach it remotely through an HTTPS tunnel or reverse proxy".into());
        }
        _ => {}
    }
    if let Some(c) = &transport.public_check
        && !c.reachable
    {
        problems.push(problem(
            Severity::Warning,
            "transport",
            format!(
                "the public URL did not answer: {}",
                c.error.clone().unwrap_or_default()
            ),
        ));
        act("start the tunnel or reverse proxy that serves public_url, then re-run `llm-cli-gateway doctor --check-public-url`".into());
    }
    let usable = providers
        .iter()
        .filter(|p| p.found && p.login != LoginStatus::NotAuthenticated)
        .count();
    if usable == 0 {
        problems.push(problem(
            Severity::Blocking,
            "providers",
            "no provider CLI is installed and logged in, so every request would fail",
        ));
    }
    // Logging in to what is installed comes before installing more.
    for p in providers.iter().filter(|p| p.found) {
        let check = format!("provider:{}", p.id);
        if let Some(e) = &p.version_error {
            problems.push(problem(Severity::Warning, &check, e.clone()));
        }
        if p.login == LoginStatus::NotAuthenticated {
            problems.push(problem(
                Severity::Warning,
                &check,
                format!("{} is not logged in: {}", p.name, p.login_detail),
            ));
            act(format!(
                "log in to {}: {}",
                p.name,
                p.login_hint.as_deref().unwrap_or_default()
            ));
        }
    }
    for p in providers.iter().filter(|p| !p.found) {
        let check = format!("provider:{}", p.id);
        problems.push(problem(Severity::Warning, &check, p.login_detail.clone()));
        if let Some((_, fix)) = p.login_detail.split_once("but not the gateway's; ") {
            act(format!("so the gateway finds `{}`, {fix}", p.binary));
        } else {
            act(format!(
                "to use {} through the gateway, install it: {}",
                p.name,
                p.install_hint.as_deref().unwrap_or_default()
            ));
        }
    }
    for c in clients {
        let check = format!("client:{}", c.client);
        if let Some(why) = &c.problem {
            problems.push(problem(
                Severity::Warning,
                &check,
                format!("{}: {why}", c.config_file.display()),
            ));
        } else if c.has_entry && !c.points_at_gateway {
            problems.push(problem(
                Severity::Warning,
                &check,
                format!(
                    "the llm-cli-gateway entry in {} does not reach this gateway",
                    c.config_file.display()
                ),
            ));
            act(format!(
                "point {} at this gateway: `llm-cli-gateway print-client-config --write --client {}`",
                c.name, c.client
            ));
        }
    }
    if install.installed && !clients.iter().any(|c| c.points_at_gateway) {
        // The client whose config file exists is the one the user has.
        let pick = clients
            .iter()
            .find(|c| c.exists && c.problem.is_none())
            .map_or("claude-code", |c| c.client.as_str());
        act(format!(
            "connect an MCP client: `llm-cli-gateway print-client-config --write --client {pick}` (or see `print-client-config --help` for the others)"
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(id: &str, found: bool, login: LoginStatus) -> ProviderCheck {
        ProviderCheck {
            id: id.into(),
            name: id.into(),
            binary: id.into(),
            found,
            path: None,
            version: None,
            version_error: None,
            login,
            login_detail: String::new(),
            install_hint: Some(format!("install {id}")),
            login_hint: Some(format!("login {id}")),
            duration_ms: 0,
        }
    }

    /// The transport check of a gateway on loopback with no public URL.
    fn local_transport(config: &Config) -> TransportCheck {
        let (exposure, https, detail) = exposure::classify("127.0.0.1", None);
        TransportCheck {
            transport: "streamable-http".into(),
            local_url: config.local_url(),
            public_url: None,
            exposure,
            https,
            detail,
            public_check: None,
        }
    }

    #[test]
    fn actions_come_in_the_order_to_take_them() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let config = Config::default();
        let local = Local::failed(&paths, &config, "x");
        let transport = local_transport(&config);
        let providers = vec![
            provider("a", false, LoginStatus::Unknown),
            provider("b", true, LoginStatus::NotAuthenticated),
        ];
        let mut problems = Vec::new();
        let user_home = tempfile::tempdir().unwrap();
        let policy = policy::check(&paths, &toml::Table::new(), Some(user_home.path()));
        assert!(policy.valid, "{policy:?}");
        let actions = judge(
            &paths,
            &local,
            &transport,
            &providers,
            &policy,
            &mut problems,
        );
        assert!(actions[0].contains("setup"), "{actions:?}");
        assert!(actions[1].contains("login b"), "{actions:?}");
        assert!(actions[2].contains("install a"), "{actions:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.check == "providers" && p.severity == Severity::Blocking),
            "nothing usable blocks use: {problems:?}"
        );
    }

    #[test]
    fn dropped_log_lines_are_a_warning_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let config = Config::default();
        let mut local = Local::failed(&paths, &config, "x");
        local.service.log = Some(paths.log_file());
        local.service.dropped_log_lines = Some(0);
        let transport = local_transport(&config);
        let policy = policy::check(&paths, &toml::Table::new(), Some(dir.path()));
        let mut problems = Vec::new();
        judge(&paths, &local, &transport, &[], &policy, &mut problems);
        assert!(!problems.iter().any(|p| p.check == "log"), "{problems:?}");
        local.service.dropped_log_lines = Some(42);
        let mut problems = Vec::new();
        let actions = judge(&paths, &local, &transport, &[], &policy, &mut problems);
        let p = problems.iter().find(|p| p.check == "log").unwrap();
        assert_eq!(p.severity, Severity::Warning);
        assert!(p.message.contains("42 log line(s)"), "{}", p.message);
        assert!(p.message.contains("gateway.log"), "{}", p.message);
        assert!(
            actions.iter().any(|a| a.contains("free space")),
            "{actions:?}"
        );
    }
}
