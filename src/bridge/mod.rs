//! `bridge`: MCP on stdin/stdout relayed, message by message, to the running gateway's
//! streamable HTTP endpoint.
//!
//! Stdio-only clients (Claude Desktop) then share the one gateway service (its job
//! store, dedup and sessions) with every HTTP client, and the token stays in its 0600
//! file instead of the client's config. The relay does not interpret MCP beyond what
//! HTTP needs: the session id and protocol version from `initialize`, and which
//! messages are requests that must be answered even when the gateway is not.

mod jsonrpc;
mod sse;
mod upstream;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::runtime::config::Config;
use crate::runtime::paths::Paths;
use crate::runtime::token::Token;
use upstream::Upstream;

/// A stdin line longer than this is refused (and skipped) instead of buffered.
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Where to relay to and with which credentials, resolved before stdin is read.
pub struct Target {
    pub url: String,
    pub token_file: PathBuf,
    pub token: Token,
}

impl Target {
    /// The configured local endpoint (or `url`) and the token from its file. Fails, with
    /// a `help:` line, when the gateway was never set up or the token file is unsafe.
    pub fn resolve(url: Option<&str>) -> Result<Self> {
        let paths = Paths::resolve()?;
        let config_file = paths.config_file();
        let url = match url {
            Some(u) => u.to_string(),
            None => Config::load(&config_file)?
                .with_context(|| {
                    format!(
                        "llm-cli-gateway is not set up: there is no configuration at {}\n\
                         help: run `llm-cli-gateway setup`",
                        config_file.display()
                    )
                })?
                .local_url(),
        };
        let token_file = paths.token_file();
        if !token_file.exists() {
            anyhow::bail!(
                "there is no auth token at {}\nhelp: run `llm-cli-gateway setup`",
                token_file.display()
            );
        }
        let token = Token::load(&token_file)?;
        Ok(Self {
            url,
            token_file,
            token,
        })
    }
}

/// Relays until `input` ends (or the client stops reading `output`), then ends the
/// gateway session. Requests still in flight are abandoned: the client has gone.
pub async fn run<R, W>(target: Target, input: R, output: W) -> Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let upstream = Arc::new(Upstream::new(target.url, target.token_file, target.token)?);
    // One writer, fed by every relay task, so lines never interleave.
    let (tx, rx) = mpsc::channel::<Value>(256);
    let mut writer = tokio::spawn(write_lines(rx, output));
    let mut input = BufReader::new(input);
    loop {
        let line = tokio::select! {
            line = read_line(&mut input) => line.context("reading stdin")?,
            _ = &mut writer => break,
        };
        match line {
            Line::Eof => break,
            Line::TooLong => {
                let msg = format!(
                    "a line on stdin is longer than {} MiB",
                    MAX_LINE_BYTES >> 20
                );
                let _ = tx
                    .send(jsonrpc::error(Value::Null, jsonrpc::PARSE_ERROR, msg))
                    .await;
            }
            Line::Text(bytes) => dispatch(&upstream, &tx, &bytes).await,
        }
    }
    upstream.close().await;
    Ok(())
}

/// Parses one line and starts relaying it; only the parse happens in stdin order.
async fn dispatch(upstream: &Arc<Upstream>, tx: &mpsc::Sender<Value>, bytes: &[u8]) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let msg: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let error = jsonrpc::error(
                Value::Null,
                jsonrpc::PARSE_ERROR,
                format!("stdin line is not JSON ({e}); expected one JSON-RPC message per line"),
            );
            let _ = tx.send(error).await;
            return;
        }
    };
    if !jsonrpc::is_message(&msg) {
        let error = jsonrpc::error(
            Value::Null,
            jsonrpc::INVALID_REQUEST,
            "stdin line is JSON but not a JSON-RPC message (an object, or a non-empty array of them)",
        );
        let _ = tx.send(error).await;
        return;
    }
    let is_init = jsonrpc::is_initialize(&msg);
    if is_init {
        upstream.begin_initialize(&msg);
    }
    let upstream = upstream.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        if !is_init {
            upstream.until_initialized().await;
        }
        upstream.forward(msg, &tx).await;
    });
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to a newline without trusting the sender to send one soon.
async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let limit = MAX_LINE_BYTES as u64 + 1;
    let n = (&mut *input)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if buf.len() <= MAX_LINE_BYTES || buf.last() == Some(&b'\n') {
        return Ok(Line::Text(buf));
    }
    // Skip the rest of the oversized line.
    loop {
        buf.clear();
        let n = (&mut *input)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 || buf.last() == Some(&b'\n') {
            return Ok(Line::TooLong);
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Value>, mut out: W) {
    while let Some(msg) = rx.recv().await {
        let mut line = serde_json::to_vec(&msg).unwrap_or_default();
        line.push(b'\n');
        if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
            return;
        }
    }
}
