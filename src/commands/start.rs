//! `start`: returns once `/healthz` answers, or fails with the log's last lines.

use anyhow::Result;

use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::report::{Report, SCHEMA_VERSION, ServiceReport};
use crate::runtime::service;

pub fn run(ctx: &Ctx) -> Result<Output> {
    let _lock = common::lock(ctx)?;
    let config = common::load_config(ctx)?;
    let started = service::start(&ctx.paths, &config, &|| {
        super::installation::installed(&ctx.paths)
    })?;
    let message = if started.already_running {
        format!(
            "Already running (pid {}) at {}",
            started.pid,
            config.local_url()
        )
    } else {
        format!(
            "Started gateway {} (pid {}) at {}",
            started.health.version,
            started.pid,
            config.local_url()
        )
    };
    Ok(Output {
        report: Report::Start(ServiceReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            changed: !started.already_running,
            service: common::running_state(&config, started.pid, &started.health),
            message: message.clone(),
        }),
        human: message,
    })
}
