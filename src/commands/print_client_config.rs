//! `print-client-config`: the entry for each client in its own config format, and with
//! `--write` merged into the client's file.
//!
//! The default form starts `llm-cli-gateway bridge`, which reads the token from its 0600
//! file, so no token ever lands in a client's config. The HTTP forms keep it out where the
//! client can read it from elsewhere (an environment variable, a prompt, the token file at
//! paste time) and use a placeholder otherwise, unless `--show-token`.

use anyhow::Result;

use crate::cli::{Client, ClientConfigArgs, Transport};
use crate::clients::{self, Bridge, ClientSpec, SERVER_KEY, TOKEN_ENV, file};
use crate::commands::common;
use crate::commands::{Ctx, Output};
use crate::platform::error::coded;
use crate::report::{ClientConfigReport, Report, SCHEMA_VERSION, WriteOutcome};
use crate::runtime::receipt::{ClientEntry, Receipt};
use crate::runtime::token::{REDACTED, Token};

/// The `inputs` id VS Code prompts for (stored in its secret storage, not in mcp.json).
const VSCODE_INPUT: &str = "llm-cli-gateway-token";

/// A rendered configuration.
struct Snippet {
    format: &'static str,
    text: String,
    /// The token in `text` is a placeholder.
    redacted: bool,
    command_line: Option<String>,
    /// One line telling the user how to provide the token, where the snippet needs it.
    note: Option<String>,
}

pub fn run(ctx: &Ctx, args: &ClientConfigArgs) -> Result<Output> {
    let config = common::load_config(ctx)?;
    let spec = clients::spec(args.client);
    let transport = args.transport.unwrap_or(match args.client {
        Client::Generic => Transport::Http,
        _ => Transport::Bridge,
    });
    check_usage(args, spec, transport)?;
    let url = config.local_url();
    let bridge = Bridge::for_paths(&ctx.paths);
    let snippet = match transport {
        Transport::Bridge => {
            if !ctx.paths.receipt_file().exists() && !args.write {
                ctx.printer.warn(
                    "the gateway is not installed yet; run `llm-cli-gateway setup` so the bridge command exists",
                );
            }
            bridge_snippet(spec, &bridge)
        }
        Transport::Http => http_snippet(ctx, args, &url)?,
    };
    let written = match spec {
        Some(spec) if args.write => Some(write(ctx, spec, &bridge)?),
        _ => None,
    };
    let config_file = spec.and_then(ClientSpec::config_file);
    let human = human_text(
        args,
        spec,
        &snippet,
        config_file.as_deref(),
        written.as_ref(),
    );
    Ok(Output {
        report: Report::PrintClientConfig(ClientConfigReport {
            schema_version: SCHEMA_VERSION,
            ok: true,
            client: spec.map_or("generic", |s| s.id).into(),
            format: snippet.format.into(),
            config_file: config_file.map(|f| f.display().to_string()),
            snippet: snippet.text,
            token_redacted: snippet.redacted,
            url,
            transport: match transport {
                Transport::Bridge => "bridge",
                Transport::Http => "http",
            }
            .into(),
            command_line: snippet.command_line,
            written,
        }),
        human,
    })
}

/// Combinations that cannot work, refused before anything is read or written.
fn check_usage(
    args: &ClientConfigArgs,
    spec: Option<&ClientSpec>,
    transport: Transport,
) -> Result<()> {
    let usage = |msg: String| Err(coded("usage", msg));
    if args.client == Client::ClaudeDesktop && transport == Transport::Http {
        return usage(
            "Claude Desktop only starts local (stdio) servers from claude_desktop_config.json, so it cannot use --transport http\n\
             help: drop --transport to use the bridge, which forwards to the gateway over HTTP for it"
                .into(),
        );
    }
    if args.write {
        if spec.is_none() {
            return usage(
                "--client generic has no config file to write\nhelp: name the client, e.g. --client claude-desktop"
                    .into(),
            );
        }
        if transport == Transport::Http {
            return usage(
                "--write writes the bridge form only, which keeps the token out of the client's file\n\
                 help: drop --transport http, or paste the HTTP snippet by hand"
                    .into(),
            );
        }
    }
    Ok(())
}

fn bridge_snippet(spec: Option<&ClientSpec>, bridge: &Bridge) -> Snippet {
    let format = spec.map_or(clients::MCP_SERVERS, |s| s.format);
    let entry = format.bridge_entry(bridge);
    // The name comes before `-e`: claude's `-e` takes several values and would swallow
    // a name that follows it ("Invalid environment variable format").
    let command_line = (spec.map(|s| s.client) == Some(Client::ClaudeCode)).then(|| {
        let mut line = format!("claude mcp add --scope user {SERVER_KEY}");
        if let Some(home) = &bridge.home {
            line.push_str(&format!(
                " -e {}",
                sh_quote(&format!("{}={home}", crate::runtime::paths::HOME_ENV))
            ));
        }
        line.push_str(&format!(
            " -- {} {}",
            sh_quote(&bridge.command),
            clients::BRIDGE_ARG
        ));
        line
    });
    Snippet {
        format: format.name(),
        text: file::render_fresh(format, SERVER_KEY, &entry)
            .trim_end()
            .to_string(),
        redacted: false,
        command_line,
        note: None,
    }
}

fn http_snippet(ctx: &Ctx, args: &ClientConfigArgs, url: &str) -> Result<Snippet> {
    let token_file = ctx.paths.token_file();
    let token = if args.show_token {
        if !token_file.exists() {
            return Err(coded(
                "not-installed",
                format!(
                    "there is no auth token yet at {}\nhelp: run `llm-cli-gateway setup` first",
                    token_file.display()
                ),
            ));
        }
        Token::load(&token_file)?.expose().to_string()
    } else {
        if !token_file.exists() {
            ctx.printer
                .warn("the gateway is not set up yet; run `llm-cli-gateway setup` first");
        }
        REDACTED.to_string()
    };
    // Inside "…", `$(…)` is parsed as a command of its own, so the quoted path stays
    // one word whatever it contains.
    let from_file = format!("$(cat {})", sh_quote(&token_file.display().to_string()));
    let shown = args.show_token;
    let json = |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("JSON renders");
    let bearer = |t: &str| serde_json::json!({ "Authorization": format!("Bearer {t}") });
    let export_note = format!(
        "Start the client from a shell with the token exported: export {TOKEN_ENV}=\"{from_file}\""
    );
    let s = |format, text: String, redacted, note: Option<String>| Snippet {
        format,
        text,
        redacted,
        command_line: None,
        note,
    };
    Ok(match args.client {
        Client::ClaudeDesktop => unreachable!("refused by check_usage"),
        Client::Generic => s(
            "json",
            json(serde_json::json!({ "mcpServers": { SERVER_KEY: {
                "type": "http", "url": url, "headers": bearer(&token) }}})),
            !shown,
            None,
        ),
        // Reads the token at paste time, so it is never shown on screen.
        Client::ClaudeCode => s(
            "shell",
            format!(
                "claude mcp add --transport http {SERVER_KEY} {} --header {}",
                sh_quote(url),
                if shown {
                    sh_quote(&format!("Authorization: Bearer {token}"))
                } else {
                    format!("\"Authorization: Bearer {from_file}\"")
                }
            ),
            false,
            None,
        ),
        Client::Codex => s(
            "toml",
            format!(
                "# Codex reads the token from ${TOKEN_ENV}:\n\
                 [mcp_servers.{SERVER_KEY}]\n\
                 url = \"{url}\"\n\
                 bearer_token_env_var = \"{TOKEN_ENV}\"\n\
                 \n\
                 # and in the shell that starts codex:\n\
                 {}\n",
                comment(&format!(
                    "export {TOKEN_ENV}={}",
                    if shown {
                        sh_quote(&token)
                    } else {
                        format!("\"{from_file}\"")
                    }
                ))
            ),
            false,
            None,
        ),
        Client::GeminiCli => s(
            "json",
            json(serde_json::json!({ "mcpServers": { SERVER_KEY: {
                "httpUrl": url, "headers": bearer(&token) }}})),
            !shown,
            None,
        ),
        // Cursor expands ${env:NAME} in mcp.json, so the file holds only the reference.
        Client::Cursor => s(
            "json",
            json(serde_json::json!({ "mcpServers": { SERVER_KEY: {
                "url": url,
                "headers": bearer(if shown { &token } else { "${env:LLM_CLI_GATEWAY_TOKEN}" }) }}})),
            false,
            (!shown).then_some(export_note),
        ),
        // VS Code prompts once for a `password` input and keeps it in its secret storage.
        Client::Vscode => {
            let reference = format!("${{input:{VSCODE_INPUT}}}");
            let mut doc = serde_json::json!({ "servers": { SERVER_KEY: {
                "type": "http", "url": url,
                "headers": bearer(if shown { &token } else { &reference }) }}});
            if !shown {
                doc["inputs"] = serde_json::json!([{
                    "type": "promptString",
                    "id": VSCODE_INPUT,
                    "description": format!("llm-cli-gateway token (the contents of {})", token_file.display()),
                    "password": true
                }]);
            }
            s("json", json(doc), false, None)
        }
    })
}

/// Merges the bridge entry into the client's file and records it in the receipt.
fn write(ctx: &Ctx, spec: &ClientSpec, bridge: &Bridge) -> Result<WriteOutcome> {
    let receipt_file = ctx.paths.receipt_file();
    let not_installed = || {
        coded(
            "not-installed",
            format!(
                "llm-cli-gateway is not installed here (no receipt at {}), so the bridge command {} does not exist yet\n\
                 help: run `llm-cli-gateway setup` first, then this again",
                receipt_file.display(),
                bridge.command
            ),
        )
    };
    // Checked before locking: taking the lock would create the state directory.
    if !receipt_file.exists() {
        return Err(not_installed());
    }
    let _lock = common::lock(ctx)?;
    let mut receipt = Receipt::load(&receipt_file)?.ok_or_else(not_installed)?;
    let Some(path) = spec.config_file() else {
        anyhow::bail!(
            "could not determine the home directory, so not where {}'s config lives\nhelp: set HOME",
            spec.name
        );
    };
    let entry = spec.bridge_entry(bridge);
    let outcome = file::edit(spec, &path, true, |doc| doc.upsert(SERVER_KEY, &entry))?;
    let recorded = receipt.record_client_entry(ClientEntry {
        client: spec.id.into(),
        file: path,
        key: SERVER_KEY.into(),
        command: bridge.command.clone(),
    });
    if recorded {
        receipt.save(&receipt_file)?;
    }
    Ok(WriteOutcome {
        file: outcome.file,
        created: outcome.changed && !outcome.existed,
        backup: outcome.backup,
        changed: outcome.changed,
    })
}

fn human_text(
    args: &ClientConfigArgs,
    spec: Option<&ClientSpec>,
    snippet: &Snippet,
    config_file: Option<&std::path::Path>,
    written: Option<&WriteOutcome>,
) -> String {
    let mut out = String::new();
    if let Some(w) = written {
        let name = spec.map_or("the client", |s| s.name);
        match (w.changed, &w.backup) {
            (false, _) => out.push_str(&format!(
                "{} already has this entry for {name}; nothing changed.\n",
                w.file.display()
            )),
            (true, Some(b)) => out.push_str(&format!(
                "Added {SERVER_KEY} to {} (the previous version is in {}).\n",
                w.file.display(),
                b.display()
            )),
            (true, None) => out.push_str(&format!(
                "Created {} with the {SERVER_KEY} entry.\n",
                w.file.display()
            )),
        }
        out.push_str(&format!(
            "Restart {name} to pick it up. `llm-cli-gateway uninstall` removes the entry again.\n"
        ));
        return out;
    }
    if let (Some(spec), Some(f)) = (spec, config_file) {
        out.push_str(&comment(&format!(
            "{}: merge into {}",
            spec.name,
            f.display()
        )));
        out.push('\n');
    }
    out.push_str(&snippet.text);
    out.push('\n');
    if let Some(line) = &snippet.command_line {
        out.push_str(&format!("# or run:\n{line}\n"));
    }
    if let Some(note) = &snippet.note {
        out.push_str(&comment(note));
        out.push('\n');
    }
    if snippet.redacted {
        out.push_str("# The token is hidden; add --show-token to include it.\n");
    }
    if spec.is_some() && !args.write && args.transport != Some(Transport::Http) {
        out.push_str("# Or let llm-cli-gateway merge it in: add --write.\n");
    }
    out
}

/// `s` as one word for a POSIX shell: in single quotes, inside which nothing is special,
/// with each `'` written as `'\''` (close, escaped quote, reopen). Spaces, `"`, `$`,
/// backticks, `\` and newlines all stay literal.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `text` as shell comment lines: every line starts with `# `, so a path with a newline
/// in it cannot end the comment early.
fn comment(text: &str) -> String {
    text.lines()
        .map(|l| format!("# {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
