//! `bridge`: MCP on stdio, forwarded to the running gateway over streamable HTTP.
//!
//! Like `serve`, it speaks a protocol on stdout, so it prints no report document:
//! problems go to stderr, and to the client as JSON-RPC errors once it is running.

use std::process::ExitCode;

use crate::bridge::{self, Target};
use crate::cli::BridgeArgs;
use crate::platform::error::split_hint;
use crate::runtime::service::supervisor::EXIT_NO_RESTART;

pub fn run(args: &BridgeArgs) -> ExitCode {
    // Checked before stdin is read: a client that starts us without a gateway set up
    // sees the reason on stderr (most log it) and exit status 78 (EX_CONFIG).
    let target = match Target::resolve(args.url.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_NO_RESTART as u8);
        }
    };
    let rt = match super::multi_thread_runtime(Some(2)) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(bridge::run(target, tokio::io::stdin(), tokio::io::stdout()));
    // Requests still in flight at EOF are abandoned, not awaited.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(1)
        }
    }
}

fn report(e: &anyhow::Error) {
    let (message, hint) = split_hint(e);
    let mut text = format!("llm-cli-gateway bridge: error: {message}\n");
    for line in hint.iter().flat_map(|h| h.lines()) {
        text.push_str(&format!("help: {line}\n"));
    }
    eprint!("{text}");
}
