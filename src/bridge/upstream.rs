//! The gateway end of the bridge: one MCP session over streamable HTTP, kept alive
//! across gateway restarts and token rotation so the stdio client never notices.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::jsonrpc;
use super::sse;
use crate::runtime::token::Token;

const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
/// An HTTP error body is only quoted in a message, so a little of it is enough.
const MAX_ERROR_BODY: usize = 4096;
/// How long to wait for a request's stream to end once it has been answered.
const STREAM_END_GRACE: Duration = Duration::from_millis(50);
/// How long the farewell `DELETE` may delay exit.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The session the gateway assigned; `generation` changes with every new one, so
/// concurrent requests that all find it gone re-initialize only once.
#[derive(Debug, Clone, Default)]
struct Session {
    id: Option<String>,
    protocol: Option<String>,
    generation: u64,
}

/// Why a message could not be delivered; each becomes a JSON-RPC error for the requests
/// in it.
#[derive(Debug)]
pub enum Failure {
    Unreachable(String),
    TokenRefused,
    Status(StatusCode, String),
    Broken(String),
}

pub struct Upstream {
    client: reqwest::Client,
    url: String,
    token_file: PathBuf,
    token: RwLock<Token>,
    session: Mutex<Session>,
    /// The client's initialize request, replayed when the gateway has forgotten us.
    initialize: Mutex<Option<Value>>,
    reinitializing: tokio::sync::Mutex<()>,
    /// True while the client's initialize is in flight: nothing else may go out without
    /// the session id it brings.
    initializing: watch::Sender<bool>,
}

/// One POST's answers on their way to the client (or, for a replayed initialize, to
/// nobody), with the requests still waiting for theirs.
struct Reply<'a> {
    out: Option<&'a mpsc::Sender<Value>>,
    pending: HashSet<String>,
    protocol: Option<String>,
}

impl Reply<'_> {
    /// Returns false once the client's stdout is gone.
    async fn take(&mut self, msg: Value) -> bool {
        if let Some(id) = jsonrpc::response_id(&msg) {
            self.pending.remove(&jsonrpc::id_key(id));
            if let Some(v) = msg
                .pointer("/result/protocolVersion")
                .and_then(Value::as_str)
            {
                self.protocol = Some(v.to_string());
            }
        }
        match self.out {
            Some(out) => out.send(msg).await.is_ok(),
            None => true,
        }
    }
}

impl Upstream {
    pub fn new(url: String, token_file: PathBuf, token: Token) -> Result<Self> {
        // reqwest is built without a default crypto provider (we compile ring, not
        // aws-lc); installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!(
                "llm-cli-gateway-bridge/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        if is_loopback(&url) {
            // A proxy from the client's environment must not see our token or add latency.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .context("could not set up the HTTP client")?;
        Ok(Self {
            client,
            url,
            token_file,
            token: RwLock::new(token),
            session: Mutex::new(Session::default()),
            initialize: Mutex::new(None),
            reinitializing: tokio::sync::Mutex::new(()),
            initializing: watch::Sender::new(false),
        })
    }

    /// Called in stdin order, before the initialize is sent, so that every later
    /// message waits for its session.
    pub fn begin_initialize(&self, msg: &Value) {
        *self.initialize.lock().unwrap() = Some(msg.clone());
        self.initializing.send_replace(true);
    }

    pub async fn until_initialized(&self) {
        let mut rx = self.initializing.subscribe();
        let _ = rx.wait_for(|busy| !busy).await;
    }

    /// Sends one message (or batch) and relays everything the gateway answers; requests
    /// left without an answer get a JSON-RPC error explaining why.
    pub async fn forward(&self, msg: Value, out: &mpsc::Sender<Value>) {
        let ids = jsonrpc::request_ids(&msg);
        let is_init = jsonrpc::is_initialize(&msg);
        let mut reply = Reply {
            out: Some(out),
            pending: ids.iter().map(jsonrpc::id_key).collect(),
            protocol: None,
        };
        let result = self.exchange(&msg, is_init, &mut reply).await;
        if is_init {
            self.initializing.send_replace(false);
        }
        let failure = match result {
            Ok(()) if reply.pending.is_empty() => return,
            Ok(()) => Failure::Broken("the gateway ended its reply without answering".to_string()),
            Err(f) => f,
        };
        let (code, message) = self.describe(&failure);
        eprintln!(
            "llm-cli-gateway bridge: {}",
            message.lines().next().unwrap_or_default()
        );
        for id in ids {
            if reply.pending.contains(&jsonrpc::id_key(&id)) {
                let _ = out.send(jsonrpc::error(id, code, message.clone())).await;
            }
        }
    }

    /// One message with its recoveries: a rotated token is re-read once, a forgotten
    /// session is re-established once.
    async fn exchange(
        &self,
        msg: &Value,
        is_init: bool,
        reply: &mut Reply<'_>,
    ) -> Result<(), Failure> {
        let mut token_reloaded = false;
        let mut session_renewed = false;
        loop {
            let session = self.session.lock().unwrap().clone();
            match self.send(msg, is_init, &session, reply).await? {
                Sent::Done => return Ok(()),
                Sent::Unauthorized if !token_reloaded && self.reload_token() => {
                    token_reloaded = true;
                }
                Sent::Unauthorized => return Err(Failure::TokenRefused),
                Sent::SessionGone if !session_renewed => {
                    session_renewed = true;
                    self.reinitialize(session.generation).await?;
                }
                Sent::SessionGone => {
                    return Err(Failure::Status(
                        StatusCode::NOT_FOUND,
                        "the gateway forgot the session it had just created".into(),
                    ));
                }
            }
        }
    }

    /// Replays the client's initialize and `notifications/initialized` to get a new
    /// session after the gateway restarted. Concurrent callers that saw the same session
    /// vanish wait for the first one's result instead of creating more sessions.
    async fn reinitialize(&self, lost_generation: u64) -> Result<(), Failure> {
        let _one_at_a_time = self.reinitializing.lock().await;
        if self.session.lock().unwrap().generation != lost_generation {
            return Ok(());
        }
        let Some(init) = self.initialize.lock().unwrap().clone() else {
            return Err(Failure::Status(
                StatusCode::NOT_FOUND,
                "the gateway does not know this session, and the client never initialized one"
                    .into(),
            ));
        };
        eprintln!(
            "llm-cli-gateway bridge: the gateway lost our session (restarted?); starting a new one"
        );
        let fresh = Session::default();
        let mut quiet = Reply {
            out: None,
            pending: jsonrpc::request_ids(&init)
                .iter()
                .map(jsonrpc::id_key)
                .collect(),
            protocol: None,
        };
        match self.send(&init, true, &fresh, &mut quiet).await? {
            Sent::Done if quiet.pending.is_empty() => {}
            Sent::Done | Sent::SessionGone => {
                return Err(Failure::Broken(
                    "the gateway did not answer the replayed initialize".into(),
                ));
            }
            Sent::Unauthorized => return Err(Failure::TokenRefused),
        }
        let session = self.session.lock().unwrap().clone();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let mut none = Reply {
            out: None,
            pending: HashSet::new(),
            protocol: None,
        };
        match self.send(&initialized, false, &session, &mut none).await? {
            Sent::Done => Ok(()),
            Sent::Unauthorized => Err(Failure::TokenRefused),
            Sent::SessionGone => Err(Failure::Broken(
                "the gateway dropped the new session at once".into(),
            )),
        }
    }

    /// One POST. A successful initialize records the session it creates.
    async fn send(
        &self,
        msg: &Value,
        is_init: bool,
        session: &Session,
        reply: &mut Reply<'_>,
    ) -> Result<Sent, Failure> {
        // A new session is never joined to an old one.
        let none = Session::default();
        let req = self
            .client
            .post(&self.url)
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .headers(self.auth_headers(if is_init { &none } else { session }))
            .body(serde_json::to_vec(msg).unwrap_or_default());
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Unreachable(root_cause(&e)))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED {
            return Ok(Sent::Unauthorized);
        }
        if status == StatusCode::NOT_FOUND && session.id.is_some() && !is_init {
            return Ok(Sent::SessionGone);
        }
        if status == StatusCode::ACCEPTED {
            return Ok(Sent::Done);
        }
        if !status.is_success() {
            return self.relay_error(resp, reply).await;
        }
        let new_session = is_init.then(|| {
            resp.headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        self.relay(resp, reply).await?;
        if let Some(id) = new_session {
            let mut s = self.session.lock().unwrap();
            s.id = id;
            s.protocol = reply.protocol.take();
            s.generation += 1;
        }
        Ok(Sent::Done)
    }

    fn auth_headers(&self, session: &Session) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = self.token.read().unwrap();
        if let Ok(mut v) =
            format!("Bearer {}", token.expose()).parse::<reqwest::header::HeaderValue>()
        {
            v.set_sensitive(true);
            h.insert(AUTHORIZATION, v);
        }
        if let Some(id) = session.id.as_deref().and_then(|s| s.parse().ok()) {
            h.insert(SESSION_HEADER, id);
        }
        if let Some(p) = session.protocol.as_deref().and_then(|s| s.parse().ok()) {
            h.insert(PROTOCOL_HEADER, p);
        }
        h
    }

    /// Writes every message of a JSON or SSE body to the client. A request's stream is
    /// left as soon as all its requests are answered.
    async fn relay(&self, resp: reqwest::Response, reply: &mut Reply<'_>) -> Result<(), Failure> {
        let is_sse = content_type(&resp).eq_ignore_ascii_case("text/event-stream");
        let mut body = resp.bytes_stream();
        if !is_sse {
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Failure::Broken(root_cause(&e)))?;
                if bytes.len() + chunk.len() > sse::MAX_EVENT_BYTES {
                    return Err(Failure::Broken(sse::TooLarge.to_string()));
                }
                bytes.extend_from_slice(&chunk);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            let msg: Value = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Broken(format!("the gateway answered with invalid JSON ({e})"))
            })?;
            self.deliver(msg, reply).await;
            return Ok(());
        }
        let had_requests = !reply.pending.is_empty();
        let mut decoder = sse::Decoder::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                Failure::Broken(format!(
                    "the gateway's stream broke off ({})",
                    root_cause(&e)
                ))
            })?;
            let events = decoder
                .feed(&chunk)
                .map_err(|e| Failure::Broken(e.to_string()))?;
            for data in events {
                if data.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(&data) {
                    Ok(msg) => {
                        if !self.deliver(msg, reply).await {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        eprintln!("llm-cli-gateway bridge: skipped an event that is not JSON ({e})")
                    }
                }
            }
            if had_requests && reply.pending.is_empty() {
                // The gateway ends a request's stream after the answer; reading that end
                // lets the connection go back to the pool instead of being closed.
                let _ = tokio::time::timeout(STREAM_END_GRACE, async {
                    while body.next().await.is_some() {}
                })
                .await;
                return Ok(());
            }
        }
        Ok(())
    }

    /// A batch is written as its messages, one line each.
    async fn deliver(&self, msg: Value, reply: &mut Reply<'_>) -> bool {
        match msg {
            Value::Array(items) => {
                for m in items {
                    if !reply.take(m).await {
                        return false;
                    }
                }
                true
            }
            m => reply.take(m).await,
        }
    }

    /// An HTTP error whose body is a JSON-RPC message (a refused header, say) is the
    /// gateway's own answer and goes to the client as is; anything else is described.
    async fn relay_error(
        &self,
        resp: reqwest::Response,
        reply: &mut Reply<'_>,
    ) -> Result<Sent, Failure> {
        let status = resp.status();
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ERROR_BODY {
                body.truncate(MAX_ERROR_BODY);
                break;
            }
        }
        if let Ok(msg) = serde_json::from_slice::<Value>(&body)
            && msg.get("jsonrpc").is_some()
        {
            self.deliver(msg, reply).await;
            return Ok(Sent::Done);
        }
        let text = String::from_utf8_lossy(&body);
        let text = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        Err(Failure::Status(status, text))
    }

    /// Re-reads the token file (`repair` may have rotated it); true when it changed.
    fn reload_token(&self) -> bool {
        let Ok(fresh) = Token::load(&self.token_file) else {
            return false;
        };
        let mut token = self.token.write().unwrap();
        if fresh.expose() == token.expose() {
            return false;
        }
        eprintln!("llm-cli-gateway bridge: the auth token changed on disk; using the new one");
        *token = fresh;
        true
    }

    /// Ends the session (best effort) so the gateway frees it now rather than at idle
    /// timeout.
    pub async fn close(&self) {
        let session = self.session.lock().unwrap().clone();
        if session.id.is_none() {
            return;
        }
        let req = self
            .client
            .delete(&self.url)
            .headers(self.auth_headers(&session));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, req.send()).await;
    }

    /// The JSON-RPC error code and message (with a `help:` line) for a failure.
    pub fn describe(&self, failure: &Failure) -> (i64, String) {
        let url = &self.url;
        match failure {
            Failure::Unreachable(why) => (
                jsonrpc::GATEWAY_UNREACHABLE,
                format!(
                    "the gateway at {url} is not reachable ({why})\n\
                     help: run `llm-cli-gateway start`, or `llm-cli-gateway status` to see why it is down"
                ),
            ),
            Failure::TokenRefused => (
                jsonrpc::TOKEN_REFUSED,
                format!(
                    "the gateway at {url} refused the auth token in {}\n\
                     help: run `llm-cli-gateway repair` to bring the token and the gateway back in step",
                    self.token_file.display()
                ),
            ),
            Failure::Status(status, text) => (
                jsonrpc::GATEWAY_ERROR,
                format!(
                    "the gateway at {url} answered HTTP {status}: {text}\n\
                     help: check the URL, and `llm-cli-gateway status` and logs/gateway.log for the gateway's side"
                ),
            ),
            Failure::Broken(why) => (
                jsonrpc::GATEWAY_ERROR,
                format!(
                    "the gateway at {url} did not complete its answer: {why}\n\
                     help: `llm-cli-gateway status` and logs/gateway.log show whether it restarted or crashed"
                ),
            ),
        }
    }
}

enum Sent {
    Done,
    Unauthorized,
    SessionGone,
}

fn content_type(resp: &reqwest::Response) -> &str {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
}

/// reqwest's top-level message is generic ("error sending request"); the innermost
/// cause ("Connection refused") is what a person needs.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(h, _)| h);
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        assert!(is_loopback("http://127.0.0.1:3333/mcp"));
        assert!(is_loopback("http://localhost/mcp"));
        assert!(is_loopback("http://[::1]:8080/mcp"));
        assert!(!is_loopback("https://gateway.example.com/mcp"));
        assert!(!is_loopback("http://127.example.com:80/mcp"));
    }
}
