//! `status`: fast, read-only; the only network use is the local health probe.

use anyhow::Result;

use crate::commands::common::{self, endpoint, locations};
use crate::commands::{Ctx, Output};
use crate::release::bundle::HOST_TARGET;
use crate::report::{Report, RunState, SCHEMA_VERSION, StatusReport};
use crate::runtime::receipt::Receipt;
use crate::runtime::service::{Snapshot, pidfile::PidState};
use crate::runtime::token::Token;

pub fn run(ctx: &Ctx) -> Result<Output> {
    let paths = &ctx.paths;
    let config = common::load_config(ctx)?;
    let receipt = Receipt::load(&paths.receipt_file())?;
    let version = paths.current_version();
    let installed = version.is_some();
    let snap = Snapshot::take(paths, &config);
    let mut service = common::service_state(&config, &snap, installed);
    if service.log.is_none() {
        service.log = Some(paths.log_file());
    }
    let mut warnings = Vec::new();
    warnings.extend(common::dropped_log_warning(&service));
    if let PidState::Untrusted(why) = &snap.pid {
        warnings.push(format!("ignoring the pid file: {why}"));
    }
    let token_configured = match Token::load(&paths.token_file()) {
        Ok(_) => true,
        Err(e) => {
            if paths.token_file().exists() {
                warnings.push(
                    format!("{e:#}")
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            false
        }
    };
    if installed && receipt.is_none() {
        warnings.push("the install receipt is missing; re-run `llm-cli-gateway setup`".into());
    }
    let (health, not_ours) = common::health_probe(&config, &snap);
    warnings.extend(not_ours);
    let ok = installed && service.state == RunState::Running && token_configured;
    let mut human = String::new();
    let line = |k: &str, v: String| format!("{k:<12} {v}\n");
    human.push_str(&line(
        "version",
        match &version {
            Some(v) => v.clone(),
            None => "not installed (run `llm-cli-gateway setup`)".into(),
        },
    ));
    human.push_str(&line("backend", config.service_backend.clone()));
    if let Some(m) = &service.manager {
        human.push_str(&line(
            "service",
            format!(
                "{}, {}{}{}",
                m.active,
                m.enabled,
                m.main_pid
                    .map(|p| format!(", main pid {p}"))
                    .unwrap_or_default(),
                m.restarts
                    .map(|n| format!(", {n} restart(s)"))
                    .unwrap_or_default()
            ),
        ));
        if let Some(d) = &m.definition {
            human.push_str(&line("unit", d.display().to_string()));
        }
    }
    if let Some(log) = &service.log {
        human.push_str(&line("log", log.display().to_string()));
    }
    human.push_str(&line(
        "state",
        match (&service.state, service.pid) {
            (RunState::Running, Some(pid)) => format!("running (pid {pid})"),
            (RunState::Unhealthy, Some(pid)) => {
                format!("unhealthy (pid {pid} alive, /healthz not answering)")
            }
            (RunState::Stopped, _) => "stopped (start with `llm-cli-gateway start`)".into(),
            (RunState::NotInstalled, _) => "not installed".into(),
            (s, _) => format!("{s:?}"),
        },
    ));
    if let Some(up) = service.uptime_secs {
        human.push_str(&line("uptime", format_duration(up)));
    }
    human.push_str(&line("endpoint", config.local_url()));
    human.push_str(&line(
        "health",
        if health.ok {
            format!("ok ({} ms)", health.latency_ms.unwrap_or_default())
        } else {
            format!(
                "no answer ({})",
                health.error.clone().unwrap_or_else(|| "not ours".into())
            )
        },
    ));
    human.push_str(&line(
        "token",
        if token_configured {
            format!("configured ({})", paths.token_file().display())
        } else {
            "missing".into()
        },
    ));
    human.push_str(&line("log", paths.log_file().display().to_string()));
    for w in &warnings {
        human.push_str(&format!("warning: {w}\n"));
    }
    Ok(Output {
        report: Report::Status(StatusReport {
            schema_version: SCHEMA_VERSION,
            ok,
            installed,
            version,
            previous_version: receipt.as_ref().and_then(|r| r.previous_version.clone()),
            bootstrapper_version: env!("CARGO_PKG_VERSION").into(),
            target: HOST_TARGET.into(),
            service,
            endpoint: endpoint(&config),
            health,
            token_configured,
            locations: locations(ctx),
            warnings,
        }),
        human,
    })
}

fn format_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}
