//! The HTTP accept loop: hyper's HTTP/1 server around the axum app, with the limits
//! `axum::serve` does not have.
//!
//! - **A connection cap** below the file descriptor limit. At the cap, a new connection
//!   takes the place of the oldest one that has no request in flight (one that never
//!   sent a request goes first), so idle sockets held open by someone else cannot lock
//!   clients out; when every connection is busy, the new one is answered `503` with
//!   `Retry-After: 1` at once and closed.
//! - **A header timeout**: from accept (or from the first byte of a later request) the
//!   request's headers must arrive within it.
//! - **An idle timeout** for keep-alive connections between requests.
//! - **A body deadline**: a request's body must arrive within it, counted from its headers.
//!
//! Graceful shutdown keeps axum's meaning: on `shutdown` the listener closes, idle
//! connections close, in-flight requests finish (the MCP service ends its SSE streams on
//! the same token), and `serve` returns when the last connection is gone.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::gateway::refusals::{self, Refusal};
use crate::runtime::config::Config;
use crate::runtime::health::Connections;

/// File descriptors kept free below the limit for CLI pipes, the store and the log.
pub const FD_RESERVE: u64 = 128;
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// The listener's limits, from `[server]` and `[log] summary_interval_secs`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The configured cap; [`connection_cap`] lowers it to fit the fd limit.
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub summary_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            summary_interval: DEFAULT_SUMMARY_INTERVAL,
        }
    }
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        let d = Self::default();
        let s = &config.server;
        let secs = |v: Option<u64>, default: Duration| {
            v.map_or(default, |n| Duration::from_secs(n.max(1)))
        };
        Self {
            max_connections: s.max_connections.map_or(d.max_connections, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
            header_timeout: secs(s.header_timeout_secs, d.header_timeout),
            idle_timeout: secs(s.idle_timeout_secs, d.idle_timeout),
            body_timeout: secs(s.body_timeout_secs, d.body_timeout),
            summary_interval: secs(config.log.summary_interval_secs, d.summary_interval),
        }
    }
}

/// The open-file limit before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy)]
pub struct FdLimit {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; `None` where there is no such limit.
#[cfg(unix)]
pub fn raise_fd_limit() -> Option<FdLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let mut want = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
            // macOS refuses more than OPEN_MAX (10240) when the hard limit is unlimited.
            want.rlim_cur = want.rlim_cur.min(10_240);
            // SAFETY: as above.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) };
        }
        // SAFETY: as above.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
    }
    #[allow(clippy::useless_conversion)]
    Some(FdLimit {
        before: u64::from(before),
        soft: u64::from(lim.rlim_cur),
        hard: u64::from(lim.rlim_max),
    })
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<FdLimit> {
    None
}

/// The configured cap, lowered to leave [`FD_RESERVE`] descriptors under the limit.
pub fn connection_cap(configured: usize, fd_soft: Option<u64>) -> usize {
    let by_fds = fd_soft.map_or(usize::MAX, |soft| {
        usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX)
    });
    configured.min(by_fds).max(1)
}

/// Connections the kernel queues before `accept`: 1024 rather than the standard library's
/// 128, so a burst is held (up to `net.core.somaxconn`) instead of its SYNs being dropped
/// and retried a second later.
pub const BACKLOG: u32 = 1024;

/// Binds `addr` (`host:port`, the host may be a name) with [`BACKLOG`].
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        };
        let bound = socket.and_then(|s| {
            #[cfg(unix)]
            s.set_reuseaddr(true)?;
            s.bind(a)?;
            s.listen(BACKLOG)
        });
        match bound {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}

static SERVING: AtomicBool = AtomicBool::new(false);
static OPEN: AtomicU64 = AtomicU64::new(0);
static CAP: AtomicU64 = AtomicU64::new(0);

/// Open connections and the cap, while [`serve`] runs (for `/healthz`).
pub fn connections() -> Option<Connections> {
    SERVING.load(Ordering::Relaxed).then(|| Connections {
        open: OPEN.load(Ordering::Relaxed),
        max: CAP.load(Ordering::Relaxed),
    })
}

/// Serves `app` on `listener` until `shutdown`, then waits for the open connections to
/// finish. `max_connections` in `limits` is used as given (see [`connection_cap`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let registry = Arc::new(Registry::default());
    CAP.store(limits.max_connections as u64, Ordering::Relaxed);
    SERVING.store(true, Ordering::Relaxed);
    let summaries = tokio::spawn(refusals::run(
        limits.summary_interval.max(Duration::from_secs(1)),
        shutdown.clone(),
    ));
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        // Without TCP_NODELAY a response written as headers then body waits for the
        // client's delayed ACK: ~40 ms per MCP call on Linux.
        let _ = tcp.set_nodelay(true);
        match registry.admit(limits.max_connections) {
            Some(conn) => {
                tokio::spawn(serve_connection(
                    tcp,
                    peer,
                    conn,
                    app.clone(),
                    limits.clone(),
                    registry.clone(),
                    shutdown.clone(),
                ));
            }
            None => {
                refuse_busy(&tcp);
                refusals::note(Refusal::OverCapacity, Some(peer.ip()));
            }
        }
    }
    drop(listener);
    registry.wait_empty().await;
    let _ = summaries.await;
    SERVING.store(false, Ordering::Relaxed);
    Ok(())
}

async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    // The peer gave up between SYN and accept: nothing to do.
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::debug!("accept: {e}");
    refusals::note(Refusal::AcceptFailed, None);
    // Out of descriptors or memory: the pending connection stays queued, so retrying at
    // once would spin.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The whole 503 answer, written without waiting and followed by closing the socket.
fn busy_response() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let body = r#"{"error":"busy","message":"too many open connections; retry in a second"}"#;
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

fn refuse_busy(tcp: &TcpStream) {
    let _ = tcp.try_write(busy_response());
    // Discard what the client already sent, so closing sends FIN rather than a reset
    // that could destroy the answer; never wait for more.
    let mut buf = [0u8; 4096];
    for _ in 0..4 {
        match tcp.try_read(&mut buf) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

/// Milliseconds on one clock shared by every connection.
fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX)
}

const NOT_READING_HEAD: u64 = u64::MAX;

/// One connection's state, shared by its reader, its requests and its watchdog.
struct Conn {
    id: u64,
    born_ms: u64,
    /// The last read that brought bytes, or the end of the last response.
    last_active_ms: AtomicU64,
    /// When the headers now awaited began (accept, or a later request's first byte);
    /// [`NOT_READING_HEAD`] between requests and while one is served.
    head_since_ms: AtomicU64,
    in_flight: AtomicU64,
    requests: AtomicU64,
    /// Wakes the watchdog when the deadlines move.
    wake: Notify,
    evict: CancellationToken,
}

#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    left: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new connection: free, or taken from the oldest one with no request
    /// in flight; `None` when every connection is busy.
    fn admit(&self, cap: usize) -> Option<Arc<Conn>> {
        let mut conns = self.lock();
        if conns.len() >= cap {
            let victim = conns
                .values()
                .filter(|c| c.in_flight.load(Ordering::Relaxed) == 0)
                .min_by_key(|c| {
                    let served = c.requests.load(Ordering::Relaxed) > 0;
                    let since = if served {
                        c.last_active_ms.load(Ordering::Relaxed)
                    } else {
                        c.born_ms
                    };
                    (served, since)
                })
                .map(|c| c.id)?;
            if let Some(v) = conns.remove(&victim) {
                v.evict.cancel();
            }
        }
        let now = now_ms();
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            born_ms: now,
            last_active_ms: AtomicU64::new(now),
            head_since_ms: AtomicU64::new(now),
            in_flight: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            wake: Notify::new(),
            evict: CancellationToken::new(),
        });
        conns.insert(conn.id, conn.clone());
        OPEN.store(conns.len() as u64, Ordering::Relaxed);
        Some(conn)
    }

    fn leave(&self, id: u64) {
        let mut conns = self.lock();
        conns.remove(&id);
        OPEN.store(conns.len() as u64, Ordering::Relaxed);
        drop(conns);
        self.left.notify_waiters();
    }

    async fn wait_empty(&self) {
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            if self.lock().is_empty() {
                return;
            }
            left.await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expired {
    Headers,
    Idle,
}

/// Resolves when the connection has waited too long for headers or sat idle too long.
async fn watchdog(conn: &Conn, limits: &Limits) -> Expired {
    let header_ms = u64::try_from(limits.header_timeout.as_millis()).unwrap_or(u64::MAX);
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    loop {
        let wake = conn.wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let deadline = if conn.in_flight.load(Ordering::Relaxed) > 0 {
            None
        } else {
            match conn.head_since_ms.load(Ordering::Relaxed) {
                NOT_READING_HEAD => Some((
                    conn.last_active_ms
                        .load(Ordering::Relaxed)
                        .saturating_add(idle_ms),
                    Expired::Idle,
                )),
                since => Some((since.saturating_add(header_ms), Expired::Headers)),
            }
        };
        match deadline {
            None => wake.await,
            Some((at, why)) => {
                let now = now_ms();
                if at <= now {
                    return why;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(at - now)) => {}
                    _ = wake => {}
                }
            }
        }
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: Arc<Conn>,
    app: Router,
    limits: Arc<Limits>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    let io = TokioIo::new(Watched {
        inner: tcp,
        conn: conn.clone(),
    });
    let handler = Handler {
        app,
        conn: conn.clone(),
        peer,
        body_timeout: limits.body_timeout,
    };
    let service = hyper::service::service_fn(move |req| handler.clone().call(req));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our watchdog keeps the header and idle timeouts: hyper's own header timeout also
    // runs between keep-alive requests.
    builder.keep_alive(true).header_read_timeout(None);
    let http = builder.serve_connection(io, service);
    tokio::pin!(http);
    let watch = watchdog(&conn, &limits);
    tokio::pin!(watch);
    let mut draining = false;
    loop {
        tokio::select! {
            result = http.as_mut() => {
                if let Err(e) = result {
                    if e.is_parse() || e.is_parse_too_large() {
                        refusals::note(Refusal::Malformed, Some(peer.ip()));
                    } else if e.is_timeout() {
                        refusals::note(Refusal::TimedOut, Some(peer.ip()));
                    } else {
                        tracing::debug!("connection from {peer}: {e}");
                    }
                }
                break;
            }
            why = &mut watch => {
                if why == Expired::Headers {
                    refusals::note(Refusal::TimedOut, Some(peer.ip()));
                } else {
                    tracing::debug!("closing idle connection from {peer}");
                }
                break;
            }
            _ = conn.evict.cancelled() => {
                tracing::debug!("closing idle connection from {peer} to admit a new one");
                break;
            }
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                http.as_mut().graceful_shutdown();
            }
        }
    }
    registry.leave(conn.id);
}

/// The socket, telling the connection's state when bytes arrive.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let c = &self.conn;
            let now = now_ms();
            c.last_active_ms.store(now, Ordering::Relaxed);
            if c.in_flight.load(Ordering::Relaxed) == 0
                && c.head_since_ms
                    .compare_exchange(NOT_READING_HEAD, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                c.wake.notify_one();
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Marks a request in flight from its headers until its response body is done (or
/// dropped: the client went away).
struct InFlight(Arc<Conn>);

impl InFlight {
    fn start(conn: Arc<Conn>) -> Self {
        conn.head_since_ms
            .store(NOT_READING_HEAD, Ordering::Relaxed);
        conn.requests.fetch_add(1, Ordering::Relaxed);
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(conn)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_active_ms.store(now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.wake.notify_one();
    }
}

/// The app as one connection's hyper service.
#[derive(Clone)]
struct Handler {
    app: Router,
    conn: Arc<Conn>,
    peer: SocketAddr,
    body_timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Handler {
    fn call(
        mut self,
        req: Request<Incoming>,
    ) -> impl Future<Output = Result<Response<Body>, Infallible>> + Send {
        let guard = InFlight::start(self.conn.clone());
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let expired = Arc::new(AtomicBool::new(false));
        let body = if http_body::Body::is_end_stream(&body) {
            Body::new(body)
        } else {
            Body::new(TimedBody {
                inner: body,
                deadline: tokio::time::Instant::now() + self.body_timeout,
                limit: self.body_timeout,
                sleep: None,
                state: BodyState::Reading,
                peer: self.peer.ip(),
                expired: expired.clone(),
            })
        };
        let req = Request::from_parts(parts, body);
        let limit = self.body_timeout;
        async move {
            // The router is always ready; its error type is Infallible.
            let resp = match self.app.call(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // Whatever the handler made of the failed read, it was the client's delay.
            let resp = if expired.load(Ordering::Relaxed) {
                body_timed_out(limit)
            } else {
                resp
            };
            Ok(resp.map(|inner| {
                Body::new(Tracked {
                    inner,
                    _guard: guard,
                })
            }))
        }
    }
}

/// `408 Request Timeout`; the connection closes after it (its body was not read).
fn body_timed_out(limit: Duration) -> Response<Body> {
    let body = serde_json::json!({
        "error": "request_timeout",
        "message": format!("the request body did not arrive within {} s", limit.as_secs()),
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = axum::http::StatusCode::REQUEST_TIMEOUT;
    let headers = resp.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    resp
}

/// A response body that keeps its request counted in flight until it is done.
struct Tracked {
    inner: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[derive(PartialEq)]
enum BodyState {
    Reading,
    Done,
    Expired,
}

/// A request body that fails when it has not fully arrived by its deadline.
struct TimedBody {
    inner: Incoming,
    deadline: tokio::time::Instant,
    limit: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    state: BodyState,
    peer: IpAddr,
    /// Set when the deadline passed, so the answer can say so.
    expired: Arc<AtomicBool>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match this.state {
            BodyState::Expired => return Poll::Ready(None),
            BodyState::Done => {
                return Pin::new(&mut this.inner)
                    .poll_frame(cx)
                    .map_err(BoxError::from);
            }
            BodyState::Reading => {}
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.state = BodyState::Done;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if this.inner.is_end_stream() {
                    this.state = BodyState::Done;
                }
                Poll::Ready(Some(frame.map_err(BoxError::from)))
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.state = BodyState::Expired;
                    this.expired.store(true, Ordering::Relaxed);
                    refusals::note(Refusal::TimedOut, Some(this.peer));
                    return Poll::Ready(Some(Err(format!(
                        "the request body did not arrive within {} s",
                        this.limit.as_secs()
                    )
                    .into())));
                }
                Poll::Pending
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.state == BodyState::Expired || self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_leaves_a_reserve_under_the_fd_limit() {
        assert_eq!(connection_cap(512, Some(1_048_576)), 512);
        assert_eq!(connection_cap(512, Some(1024)), 512);
        assert_eq!(connection_cap(512, Some(256)), 128);
        assert_eq!(connection_cap(512, Some(100)), 1);
        assert_eq!(connection_cap(512, None), 512);
    }

    #[test]
    fn at_the_cap_the_oldest_unused_connection_makes_room() {
        let r = Registry::default();
        let a = r.admit(2).unwrap();
        let b = r.admit(2).unwrap();
        // a served a request and is idle again; b never sent one: b goes first.
        a.requests.store(1, Ordering::Relaxed);
        let c = r.admit(2).unwrap();
        assert!(b.evict.is_cancelled() && !a.evict.is_cancelled());
        // Every connection busy: no room.
        a.in_flight.store(1, Ordering::Relaxed);
        c.in_flight.store(1, Ordering::Relaxed);
        assert!(r.admit(2).is_none());
    }

    #[test]
    fn the_busy_answer_is_a_complete_503() {
        let text = String::from_utf8(busy_response().to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains("retry-after: 1"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
