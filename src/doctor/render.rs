//! The doctor report as a page a person reads top to bottom: state, problems, then what
//! to do.

use std::fmt::Write as _;

use crate::providers::auth::LoginStatus;
use crate::report::{DoctorReport, RunState};

pub fn render(r: &DoctorReport) -> String {
    let mut s = String::new();
    let row = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{k:<10} {v}");
    };
    let _ = writeln!(
        s,
        "llm-cli-gateway doctor ({:.2} s)\n",
        r.duration_ms as f64 / 1000.0
    );
    row(
        &mut s,
        "system",
        format!(
            "{} {} ({}), llm-cli-gateway {}",
            r.system.os, r.system.arch, r.system.target, r.system.bootstrapper_version
        ),
    );
    row(
        &mut s,
        "install",
        match (&r.install.version, r.install.files_match) {
            (None, _) => "not installed".into(),
            (Some(v), Some(true)) => format!("{v}, files match the receipt"),
            (Some(v), Some(false)) => format!(
                "{v}, {} file(s) differ from the receipt",
                r.install.mismatched_files.len()
            ),
            (Some(v), None) => format!("{v}, no receipt to verify against"),
        },
    );
    row(
        &mut s,
        "service",
        format!(
            "{}: {}{}{}",
            r.service.backend,
            match r.service.state {
                RunState::Running => "running",
                RunState::Stopped => "stopped",
                RunState::Unhealthy => "unhealthy",
                RunState::NotInstalled => "not installed",
            },
            r.service
                .gateway_pid
                .or(r.service.pid)
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default(),
            match (r.health.ok, r.health.latency_ms) {
                (true, Some(ms)) => format!(", /healthz ok in {ms} ms"),
                _ => String::new(),
            }
        ),
    );
    row(
        &mut s,
        "endpoint",
        format!(
            "{} ({})",
            r.transport.local_url,
            serde_json::to_value(r.transport.exposure)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        ),
    );
    if let Some(p) = &r.transport.public_url {
        let checked = match &r.transport.public_check {
            Some(c) if c.reachable => format!(", answered HTTP {}", c.status.unwrap_or_default()),
            Some(c) => format!(", no answer: {}", c.error.clone().unwrap_or_default()),
            None => String::new(),
        };
        row(&mut s, "public", format!("{p}{checked}"));
    }
    row(
        &mut s,
        "token",
        if r.token.configured {
            format!("configured ({})", r.token.file.display())
        } else {
            format!("missing: {}", r.token.problem.clone().unwrap_or_default())
        },
    );
    let level = serde_json::to_value(r.policy.level)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    row(
        &mut s,
        "policy",
        match &r.policy.problem {
            Some(why) => format!("{level}, NOT VALID: {why}"),
            None => format!(
                "{level}; workspace roots {}; prompts {}",
                if r.policy.workspace_roots.is_empty() {
                    "none".to_string()
                } else {
                    r.policy
                        .workspace_roots
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if r.policy.record_prompts {
                    "recorded"
                } else {
                    "redacted in records"
                }
            ),
        },
    );
    let _ = writeln!(s, "\nproviders");
    for p in &r.providers {
        let version = match (&p.version, &p.version_error, p.found) {
            (_, _, false) => "not installed".to_string(),
            (Some(v), _, _) => v.clone(),
            (None, Some(e), _) => e.clone(),
            (None, None, _) => "?".into(),
        };
        let login = match (p.found, p.login) {
            (false, _) => String::new(),
            (_, LoginStatus::Authenticated) => "logged in".into(),
            (_, LoginStatus::NotAuthenticated) => "NOT logged in".into(),
            (_, LoginStatus::Unknown) => "login unknown".into(),
        };
        let _ = writeln!(s, "  {:<8} {:<34} {login}", p.id, version);
    }
    if !r.clients.is_empty() {
        let _ = writeln!(s, "\nclients");
        for c in &r.clients {
            let state = if c.points_at_gateway {
                "connected to this gateway"
            } else if c.problem.is_some() {
                "unreadable config"
            } else if c.has_entry {
                "has an llm-cli-gateway entry that does not reach this gateway"
            } else if c.exists {
                "not connected"
            } else {
                "no config file"
            };
            let _ = writeln!(
                s,
                "  {:<15} {state} ({})",
                c.client,
                c.config_file.display()
            );
        }
    }
    if !r.problems.is_empty() {
        let _ = writeln!(s, "\nproblems");
        for p in &r.problems {
            let sev = serde_json::to_value(p.severity)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = writeln!(s, "  {sev:<9} {}: {}", p.check, p.message);
        }
    }
    if r.next_actions.is_empty() {
        let _ = writeln!(s, "\nEverything checks out.");
    } else {
        let _ = writeln!(s, "\nnext");
        for (i, a) in r.next_actions.iter().enumerate() {
            let _ = writeln!(s, "  {}. {a}", i + 1);
        }
    }
    s
}
