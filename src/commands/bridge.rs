//! `bridge`: MCP on stdio, forwarded to the running gateway over streamable HTTP.

use std::process::ExitCode;

use crate::cli::BridgeArgs;

pub fn run(_args: &BridgeArgs) -> ExitCode {
    eprintln!("llm-cli-gateway bridge: not built yet");
    ExitCode::from(1)
}
