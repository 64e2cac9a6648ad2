//! `stop`: returns only when the gateway process is gone.

use anyhow::Result;

use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::report::{Report, SCHEMA_VERSION, ServiceReport};
use crate::runtime::service::{self, process::Stopped};

pub fn run(ctx: &Ctx) -> Result<Output> {
    let _lock = common::lock(ctx)?;
    let config = common::load_config(ctx)?;
    let stopped = service::stop(&ctx.paths, &config)?;
    let (changed, message) = match &stopped {
        Stopped::Stopped { pid, forced: false } => {
            (true, format!("Stopped the gateway (pid {pid})"))
        }
        Stopped::Stopped { pid, forced: true } => (
            true,
            format!("Stopped the gateway (pid {pid}) with SIGKILL after it ignored SIGTERM"),
        ),
        Stopped::NotRunning => (false, "The gateway is not running".to_string()),
        Stopped::StalePidFile(why) => (
            false,
            format!(
                "The gateway is not running ({why}); removed the stale pid file without signalling anything"
            ),
        ),
    };
    Ok(Output {
        report: Report::Stop(ServiceReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            changed,
            service: common::stopped_state(&config),
            message: message.clone(),
        }),
        human: message,
    })
}
