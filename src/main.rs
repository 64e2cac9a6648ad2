use std::process::ExitCode;

use clap::Parser;
use llm_cli_gateway::{cli::Cli, commands};

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::run(cli)
}
