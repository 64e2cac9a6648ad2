//! `doctor`: every probe at once, one report, next actions in order.

use anyhow::{Result, bail};

use crate::cli::DoctorArgs;
use crate::commands::{Ctx, Output};

pub async fn run(_ctx: &Ctx, _args: &DoctorArgs) -> Result<Output> {
    bail!("doctor: not built yet")
}
