//! `print-client-config`: ready-to-use snippets in each client's own config format.
//!
//! The token is a placeholder unless `--show-token`; where a client can read the token
//! from an environment variable (Codex), the snippet uses that so the token stays out of
//! the client's config file altogether.

use anyhow::{Result, bail};

use crate::cli::{Client, ClientConfigArgs};
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::report::{ClientConfigReport, Report, SCHEMA_VERSION};
use crate::runtime::token::{REDACTED, Token};

/// The server name clients register us under.
pub const SERVER_KEY: &str = "llm-cli-gateway";
/// Environment variable that carries the token for clients that read it from there.
pub const TOKEN_ENV: &str = "LLM_CLI_GATEWAY_TOKEN";

pub fn run(ctx: &Ctx, args: &ClientConfigArgs) -> Result<Output> {
    let config = common::load_config(ctx)?;
    let token_file = ctx.paths.token_file();
    let token = if args.show_token {
        if !token_file.exists() {
            bail!(crate::error::coded(
                "not-installed",
                format!(
                    "there is no auth token yet at {}\nhelp: run `llm-cli-gateway setup` first",
                    token_file.display()
                )
            ));
        }
        Token::load(&token_file)?.expose().to_string()
    } else {
        REDACTED.to_string()
    };
    if !token_file.exists() {
        ctx.printer
            .warn("the gateway is not set up yet; run `llm-cli-gateway setup` first");
    }
    let url = config.local_url();
    let token_from_file = format!("$(cat '{}')", token_file.display());
    let (client, format, file, snippet, redacted) = match args.client {
        Client::ClaudeDesktop | Client::Cursor | Client::Vscode => {
            bail!("print-client-config: this client is not built yet")
        }
        Client::Generic => (
            "generic",
            "json",
            None,
            serde_json::to_string_pretty(&serde_json::json!({
                "mcpServers": { SERVER_KEY: {
                    "type": "http",
                    "url": url,
                    "headers": { "Authorization": format!("Bearer {token}") }
                }}
            }))?,
            !args.show_token,
        ),
        Client::ClaudeCode => (
            "claude-code",
            "shell",
            None,
            if args.show_token {
                format!(
                    "claude mcp add --transport http {SERVER_KEY} {url} --header \"Authorization: Bearer {token}\""
                )
            } else {
                // Reads the token at paste time, so it is never shown on screen.
                format!(
                    "claude mcp add --transport http {SERVER_KEY} {url} --header \"Authorization: Bearer {token_from_file}\""
                )
            },
            false,
        ),
        Client::Codex => (
            "codex",
            "toml",
            Some("~/.codex/config.toml".to_string()),
            format!(
                "# Add to ~/.codex/config.toml; Codex reads the token from ${TOKEN_ENV}:\n\
                 [mcp_servers.{SERVER_KEY}]\n\
                 url = \"{url}\"\n\
                 bearer_token_env_var = \"{TOKEN_ENV}\"\n\
                 \n\
                 # and in the shell that starts codex:\n\
                 # export {TOKEN_ENV}={}\n",
                if args.show_token {
                    token.clone()
                } else {
                    format!("\"{token_from_file}\"")
                }
            ),
            false,
        ),
        Client::GeminiCli => (
            "gemini-cli",
            "json",
            Some("~/.gemini/settings.json".to_string()),
            serde_json::to_string_pretty(&serde_json::json!({
                "mcpServers": { SERVER_KEY: {
                    "httpUrl": url,
                    "headers": { "Authorization": format!("Bearer {token}") }
                }}
            }))?,
            !args.show_token,
        ),
    };
    let mut human = String::new();
    if let Some(f) = &file {
        human.push_str(&format!("# {client}: merge into {f}\n"));
    }
    human.push_str(&snippet);
    human.push('\n');
    if redacted {
        human.push_str("# The token is hidden; add --show-token to include it.\n");
    }
    Ok(Output {
        report: Report::PrintClientConfig(ClientConfigReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            client: client.into(),
            format: format.into(),
            config_file: file,
            snippet,
            token_redacted: redacted,
            url,
        }),
        human,
    })
}
