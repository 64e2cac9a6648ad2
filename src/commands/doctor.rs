//! `doctor`: every probe at once, one report, next actions in order. The checks and the
//! page people read live in [`crate::doctor`], which the gateway's `doctor` tool shares.

use std::time::Duration;

use anyhow::Result;

use crate::cli::DoctorArgs;
use crate::commands::{Ctx, Output};
use crate::doctor::{self, Options};
use crate::report::Report;

pub async fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<Output> {
    let opts = Options {
        check_public_url: args.check_public_url,
        timeout: Duration::from_millis(args.timeout_ms),
        inside_gateway: false,
        clients: Some(crate::clients::detect_all),
    };
    let report = doctor::diagnose(&ctx.paths, &opts).await;
    let human = doctor::render(&report);
    Ok(Output {
        report: Report::Doctor(Box::new(report)),
        human,
    })
}
