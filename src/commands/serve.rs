//! `serve`: the gateway server over Streamable HTTP (default) or stdio; with
//! `--supervised`, the process backend's supervisor around it.

use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::ServeArgs;
use crate::gateway::jobs::{JobManager, JobSettings};
use crate::gateway::{http, listener, process_info, server::Gateway};
use crate::platform::logfile::{self, Destination, Log, Rotation};
use crate::policy::Policy;
use crate::runtime::config::Config;
use crate::runtime::paths::Paths;
use crate::runtime::service::supervisor::{self, EXIT_NO_RESTART};
use crate::runtime::token::Token;

pub fn run(args: &ServeArgs) -> ExitCode {
    process_info::mark_started();
    if let Some(v) = crate::release::bundle::version_of_current_exe() {
        crate::gateway::server::set_version(v);
    }
    let paths = serve_paths(args);
    // Read before logging starts: `[log]` says how to rotate. Errors are reported once
    // the log is open (the supervisor leaves them to its child).
    let config = match &paths {
        Ok(p) if !args.supervised => Config::load_or_default(&p.config_file()),
        _ => Ok(Config::default()),
    };
    let log_file = match &paths {
        Ok(p) if args.log_file => Some(p.log_file()),
        _ => None,
    };
    let dest = match &log_file {
        // The supervisor appends its few lines by path (see `supervisor::run`); only the
        // gateway rotates the file.
        Some(path) if !args.supervised => Destination::File {
            path: path.clone(),
            rotation: rotation(config.as_ref().ok()),
        },
        _ => Destination::Stderr,
    };
    let _log = init_logging(dest);
    let rt = match super::multi_thread_runtime(None) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    if args.supervised {
        let child_args: Vec<std::ffi::OsString> = std::env::args_os()
            .skip(1)
            .filter(|a| a != "--supervised")
            .collect();
        return match rt.block_on(supervisor::run(child_args, log_file)) {
            Ok(code) => ExitCode::from(code as u8),
            Err(e) => {
                tracing::error!("supervisor: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let (paths, config) = match (paths, config) {
        (Ok(p), Ok(c)) => (p, c),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("{e:#}");
            return ExitCode::from(EXIT_NO_RESTART as u8);
        }
    };
    match rt.block_on(serve(args, paths, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            // anyhow finds a context value by its type, wherever it sits in the chain.
            let no_restart = e.downcast_ref::<NoRestart>().is_some();
            ExitCode::from(if no_restart { EXIT_NO_RESTART as u8 } else { 1 })
        }
    }
}

fn serve_paths(args: &ServeArgs) -> Result<Paths> {
    match (&args.config_dir, &args.data_dir) {
        (Some(c), Some(d)) => Ok(Paths {
            config_dir: c.clone(),
            data_dir: d.clone(),
        }),
        _ => Paths::resolve(),
    }
}

/// `[log]` rotation, defaults for what is not set.
fn rotation(config: Option<&Config>) -> Rotation {
    let mut r = Rotation::default();
    if let Some(c) = config {
        r.max_bytes = c.log.max_bytes.unwrap_or(r.max_bytes);
        r.keep = c.log.keep.unwrap_or(r.keep);
    }
    r
}

/// Marks failures that a restart cannot fix (bad config, port taken, unreadable token).
#[derive(Debug, thiserror::Error)]
#[error("configuration problem")]
struct NoRestart;

async fn serve(args: &ServeArgs, paths: Paths, mut config: Config) -> Result<()> {
    crate::commands::common::apply_endpoint(&args.endpoint, &mut config).context(NoRestart)?;
    let fds = listener::raise_fd_limit();
    match &fds {
        Some(l) if l.soft > l.before => tracing::info!(
            "file descriptors: soft limit raised from {} to {} (hard limit {})",
            l.before,
            l.soft,
            l.hard
        ),
        Some(l) => tracing::info!(
            "file descriptors: soft limit {} (hard limit {})",
            l.soft,
            l.hard
        ),
        None => {}
    }
    let settings = job_settings(&config, &|k| std::env::var(k).ok()).context(NoRestart)?;
    let jobs = JobManager::open(&paths, settings).context(NoRestart)?;
    let policy = load_policy(&paths, &config).context(NoRestart)?;
    tracing::info!(
        "policy: level {}, workspace roots {}",
        policy.level(),
        policy
            .roots()
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let gateway = Gateway::new(jobs.clone(), paths.clone(), policy)
        .with_client_probe(crate::clients::detect_all);
    spawn_pruning(jobs.clone());
    if args.stdio {
        use rmcp::ServiceExt;
        tracing::info!("serving MCP on stdio");
        let service = gateway.serve(rmcp::transport::stdio()).await?;
        let ended = service.waiting().await;
        jobs.shutdown().await;
        ended?;
        return Ok(());
    }
    let token_file = args
        .token_file
        .clone()
        .unwrap_or_else(|| paths.token_file());
    let token = Token::load(&token_file).context(NoRestart)?;
    let bind = if config.host.contains(':') {
        format!("[{}]:{}", config.host, config.port)
    } else {
        format!("{}:{}", config.host, config.port)
    };
    let tcp = listener::bind(&bind).await.map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "port {} on {} is already in use by another program",
                config.port, config.host
            )
        } else {
            format!("cannot listen on {bind}: {e}")
        };
        anyhow::anyhow!(why).context(NoRestart)
    })?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let app = http::router(&config, token, gateway, shutdown.clone());
    let mut limits = listener::Limits::from_config(&config);
    let configured = limits.max_connections;
    limits.max_connections = listener::connection_cap(configured, fds.map(|l| l.soft));
    tracing::info!(
        "llm-cli-gateway {} listening on http://{bind}{} (pid {}; at most {} connections{}; timeouts: headers {} s, idle {} s, body {} s)",
        crate::gateway::server::version(),
        config.path,
        std::process::id(),
        limits.max_connections,
        if limits.max_connections < configured {
            format!(", lowered from {configured} to fit the file descriptor limit")
        } else {
            String::new()
        },
        limits.header_timeout.as_secs(),
        limits.idle_timeout.as_secs(),
        limits.body_timeout.as_secs(),
    );
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    let served = listener::serve(tcp, app, limits, shutdown)
        .await
        .context("the HTTP server failed");
    jobs.shutdown().await;
    served
}

/// The operator's policy from `[policy]`, built as `doctor` and `policy` build it; an
/// invalid one stops the gateway (a restart cannot fix it) rather than running with a
/// policy the operator did not write.
pub fn load_policy(paths: &Paths, config: &Config) -> Result<Policy> {
    crate::doctor::policy::build(paths, &config.policy, None).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nhelp: fix [policy] in {}, or see `llm-cli-gateway policy --help`",
            paths.config_file().display()
        )
    })
}

/// Retention is enforced hourly as well as at start, so a long-running gateway does not
/// grow without bound.
fn spawn_pruning(jobs: Arc<JobManager>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        tick.tick().await;
        loop {
            tick.tick().await;
            jobs.prune();
        }
    });
}

/// Job tunables: config.toml `[jobs]`, overridden by the original gateway's environment
/// variables so existing deployments keep their settings.
pub fn job_settings(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Result<JobSettings> {
    let mut s = JobSettings::default();
    let j = &config.jobs;
    let num = |key: &str| -> Result<Option<u64>> {
        env(key)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .with_context(|| format!("{key}={v:?} is not a whole number"))
            })
            .transpose()
    };
    if let Some(d) = num("LLM_GATEWAY_JOB_RETENTION_DAYS")?.or(j.retention_days) {
        s.retention = Duration::from_secs(d * 86_400);
    }
    if let Some(ms) = num("LLM_GATEWAY_DEDUP_WINDOW_MS")?.or(j.dedup_window_secs.map(|x| x * 1000))
    {
        s.dedup_window = Duration::from_millis(ms);
    }
    if let Some(ms) = num("LLM_GATEWAY_SYNC_WAIT_MS")?.or(j.sync_wait_secs.map(|x| x * 1000)) {
        s.sync_wait = Duration::from_millis(ms);
    }
    if let Some(ms) = num("LLM_GATEWAY_IDLE_TIMEOUT_MS")?.or(j.idle_timeout_secs.map(|x| x * 1000))
    {
        s.idle_timeout = Duration::from_millis(ms.max(200));
    }
    if let Some(b) = num("LLM_GATEWAY_MAX_OUTPUT_BYTES")?.or(j.max_output_bytes) {
        s.max_output_bytes = usize::try_from(b).unwrap_or(usize::MAX);
    }
    if let Some(ms) = num("LLM_GATEWAY_FLUSH_INTERVAL_MS")? {
        s.flush_interval = Duration::from_millis(ms.max(10));
    }
    if let Some(ms) = num("LLM_GATEWAY_MAX_RUNTIME_MS")?.or(j.max_runtime_secs.map(|x| x * 1000)) {
        anyhow::ensure!(ms >= 1000, "[jobs] max_runtime_secs must be at least 1");
        s.max_runtime = Duration::from_millis(ms);
    }
    if let Some(b) = num("LLM_GATEWAY_MAX_REPLY_BYTES")?.or(j.max_reply_bytes) {
        let min = crate::gateway::jobs::MIN_REPLY_BYTES;
        anyhow::ensure!(
            b >= min as u64,
            "[jobs] max_reply_bytes must be at least {min}"
        );
        s.max_reply_bytes = usize::try_from(b).unwrap_or(usize::MAX);
    }
    if let Some(n) = num("LLM_GATEWAY_MAX_SESSIONS_PER_PROVIDER")?.or(j.max_sessions_per_provider) {
        anyhow::ensure!(
            n >= 1,
            "[jobs] max_sessions_per_provider must be at least 1"
        );
        s.max_sessions_per_provider = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = num("LLM_GATEWAY_MAX_CONCURRENT_PROCESSES")?.or(j.max_concurrent_processes) {
        anyhow::ensure!(n >= 1, "[jobs] max_concurrent_processes must be at least 1");
        s.max_concurrent_processes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(s)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Starts the log: lines are queued for a writer thread that drops (and counts) what it
/// cannot write, so neither a full disk nor a slow terminal stops or kills the gateway.
/// Panics are logged too, before the abort of a release build.
fn init_logging(dest: Destination) -> logfile::Guard {
    let (log, guard) = Log::start(dest);
    logfile::install_global(&log);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LLM_CLI_GATEWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log)
        .with_ansi(false)
        // Its own fallback is `eprintln!`, which panics when stderr cannot be written.
        .log_internal_errors(false)
        .try_init();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        logfile::flush(Duration::from_secs(1));
        default_hook(info);
    }));
    guard
}
