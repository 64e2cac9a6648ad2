//! `serve`: the gateway server over Streamable HTTP (default) or stdio; with
//! `--supervised`, the process backend's supervisor around it.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::ServeArgs;
use crate::gateway::{http, process_info, server::Gateway};
use crate::runtime::config::Config;
use crate::runtime::paths::Paths;
use crate::runtime::service::supervisor::{self, EXIT_NO_RESTART};
use crate::runtime::token::Token;

pub fn run(args: &ServeArgs) -> ExitCode {
    process_info::mark_started();
    init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if args.supervised {
        let child_args: Vec<std::ffi::OsString> = std::env::args_os()
            .skip(1)
            .filter(|a| a != "--supervised")
            .collect();
        return match rt.block_on(supervisor::run(child_args)) {
            Ok(code) => ExitCode::from(code as u8),
            Err(e) => {
                eprintln!("supervisor: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    match rt.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            // anyhow finds a context value by its type, wherever it sits in the chain.
            let no_restart = e.downcast_ref::<NoRestart>().is_some();
            ExitCode::from(if no_restart { EXIT_NO_RESTART as u8 } else { 1 })
        }
    }
}

/// Marks failures that a restart cannot fix (bad config, port taken, unreadable token).
#[derive(Debug, thiserror::Error)]
#[error("configuration problem")]
struct NoRestart;

async fn serve(args: &ServeArgs) -> Result<()> {
    let paths = match (&args.config_dir, &args.data_dir) {
        (Some(c), Some(d)) => Paths {
            config_dir: c.clone(),
            data_dir: d.clone(),
        },
        _ => Paths::resolve().context(NoRestart)?,
    };
    let mut config = Config::load_or_default(&paths.config_file()).context(NoRestart)?;
    crate::commands::common::apply_endpoint(&args.endpoint, &mut config).context(NoRestart)?;
    if args.stdio {
        use rmcp::ServiceExt;
        tracing::info!("serving MCP on stdio");
        let service = Gateway::new().serve(rmcp::transport::stdio()).await?;
        service.waiting().await?;
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
    let listener = tokio::net::TcpListener::bind(&bind).await.map_err(|e| {
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
    let app = http::router(&config, token, shutdown.clone());
    tracing::info!(
        "llm-cli-gateway {} listening on http://{bind}{} (pid {})",
        env!("CARGO_PKG_VERSION"),
        config.path,
        std::process::id()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            shutdown.cancel();
        })
        .await
        .context("the HTTP server failed")
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

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LLM_CLI_GATEWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
