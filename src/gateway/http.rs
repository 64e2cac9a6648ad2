//! Streamable HTTP transport: `/healthz`, and the MCP endpoint behind Host/Origin checks
//! and bearer-token auth.
//!
//! Host and Origin are checked before auth: a browser page on another origin (DNS
//! rebinding) must get 403 whether or not it guessed the token.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde_json::json;

use crate::gateway::refusals::{self, Refusal};
use crate::gateway::{listener, process_info, server};
use crate::platform::logfile;
use crate::runtime::config::Config;
use crate::runtime::token::{Token, constant_time_eq};

/// Who may talk to us: the allowed `Host` authorities and browser `Origin`s.
#[derive(Debug, Clone)]
pub struct Access {
    hosts: Vec<String>,
    origins: Vec<String>,
    token: Token,
}

impl Access {
    pub fn new(config: &Config, token: Token) -> Self {
        let port = config.port;
        let mut names = vec!["127.0.0.1".to_string(), "localhost".into(), "[::1]".into()];
        let own = if config.host.contains(':') {
            format!("[{}]", config.host)
        } else {
            config.host.clone()
        };
        if !names.contains(&own) && own != "0.0.0.0" && own != "[::]" {
            names.push(own);
        }
        // Bare names too: some clients omit the port from Host. Rebinding attacks arrive
        // with a foreign name, which neither form admits.
        let mut hosts: Vec<String> = names
            .iter()
            .flat_map(|n| [format!("{n}:{port}"), n.clone()])
            .collect();
        let mut origins: Vec<String> = names
            .iter()
            .flat_map(|n| [format!("http://{n}:{port}"), format!("https://{n}:{port}")])
            .collect();
        if let Some(public) = &config.public_url
            && let Some((scheme, rest)) = public.split_once("://")
        {
            let authority = rest
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !authority.is_empty() {
                hosts.push(authority.clone());
                origins.push(format!("{scheme}://{authority}"));
            }
        }
        Self {
            hosts,
            origins,
            token,
        }
    }

    fn host_ok(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(h) => self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)),
            // HTTP/1.1 requires Host; a request without one is not from a normal client.
            None => false,
        }
    }

    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(o) => o
                .to_str()
                .is_ok_and(|o| self.origins.iter().any(|a| a.eq_ignore_ascii_case(o))),
        }
    }

    fn token_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, presented)) = value.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && constant_time_eq(presented.trim().as_bytes(), self.token.expose().as_bytes())
    }
}

async fn check_host_origin(
    State(access): State<Arc<Access>>,
    req: Request,
    next: Next,
) -> Response {
    if !access.host_ok(req.headers()) {
        refusals::note(Refusal::Forbidden, peer_ip(&req));
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Host header is not an allowed address of this gateway",
        );
    }
    if !access.origin_ok(req.headers()) {
        refusals::note(Refusal::Forbidden, peer_ip(&req));
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Origin is not allowed to use this gateway",
        );
    }
    next.run(req).await
}

async fn check_token(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    if !access.token_ok(req.headers()) {
        refusals::note(Refusal::Unauthorized, peer_ip(&req));
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required; see `llm-cli-gateway print-client-config`",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"llm-cli-gateway\""),
        );
        return resp;
    }
    next.run(req).await
}

/// The client's address, which the listener puts on every request.
fn peer_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

async fn healthz() -> Response {
    let mut resp = Json(json!({
        "status": "ok",
        "name": server::SERVER_NAME,
        "version": server::version(),
        "pid": std::process::id(),
        "uptime_secs": process_info::uptime_secs(),
        "instance": process_info::instance(),
        "log_file": logfile::log_path(),
        "dropped_log_lines": logfile::dropped_lines(),
        "connections": listener::connections(),
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The whole HTTP app: `/healthz` and the MCP endpoint at `config.path`.
pub fn router(
    config: &Config,
    token: Token,
    gateway: server::Gateway,
    shutdown: tokio_util::sync::CancellationToken,
) -> Router {
    let access = Arc::new(Access::new(config, token));
    let mcp_config = StreamableHttpServerConfig::default()
        // Host/Origin are enforced by our own middleware for every route, with the
        // configured port and public URL included.
        .disable_allowed_hosts()
        .with_cancellation_token(shutdown);
    let mcp: StreamableHttpService<server::Gateway, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(gateway.clone()), Default::default(), mcp_config);
    let mcp_routes = Router::new()
        .nest_service(&config.path, mcp)
        .layer(middleware::from_fn_with_state(access.clone(), check_token));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(mcp_routes)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(middleware::from_fn_with_state(access, check_host_origin))
}
