//! Connections: the accept loop behind [`serve`](crate::serve), plain or TLS, with the hygiene
//! `axum::serve` does not offer — a header-read timeout, an idle timeout, a cap on open
//! connections, a TLS handshake timeout — and an accept loop that outlives `EMFILE`.
//!
//! - **Header-read timeout** ([`ConnectionLimits::header_timeout`]): hyper's own. Its clock
//!   starts when a connection begins to wait for a request's head, so it bounds a slowloris
//!   trickling its headers *and* a kept-alive connection that never sends its next request.
//! - **Idle timeout** ([`ConnectionLimits::idle_timeout`]): a connection that neither reads nor
//!   writes a byte for this long is closed — a client that stops reading its response (hyper has
//!   no write timeout), a body that stalls — unless the emulator is still working on one of its
//!   requests (a long tenant load is not cut off).
//! - **Connection cap** ([`ConnectionLimits::max_connections`]): above it, a new plain
//!   connection gets one `503` in Graph's envelope with `Retry-After` and `Connection: close`
//!   (a TLS one is closed at once); open connections keep being served.
//! - **`EMFILE`/`ENFILE` on accept**: logged at most once a second, retried with a short
//!   back-off (5 ms doubling to 100 ms) until descriptors free up; the loop never ends on its own.
//!
//! hyper answers a malformed request line or headers itself (`400`, `414` for a long URI, `431`
//! for large headers) with an empty body: it gives no hook for that answer's body, so those stay
//! empty rather than in Graph's envelope.

use std::convert::Infallible;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::error::ApiError;

/// Connection hygiene: how long a client may take and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// How long a connection may take to send a request's line and headers, counted from when
    /// it starts waiting for one: so also how long a kept-alive connection may sit idle between
    /// requests. Default 30 s (hyper's).
    pub header_timeout: Duration,
    /// A connection that neither reads nor writes a byte for this long is closed (a client that
    /// stops reading its response, a stalled body), unless the emulator is still working on one
    /// of its requests. Default 60 s.
    pub idle_timeout: Duration,
    /// How long a TLS handshake may take. Default 10 s.
    pub handshake_timeout: Duration,
    /// The most connections open at once; above it a new connection is answered `503` (plain
    /// HTTP) or closed (TLS) while open ones keep being served. `None` (the default): the soft
    /// `RLIMIT_NOFILE` less a reserve of an eighth (at least 32) for the emulator's own files and
    /// the refusals themselves, at least 16 and at most 10,000; 10,000 where the limit cannot be
    /// read.
    pub max_connections: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_mins(1),
            handshake_timeout: Duration::from_secs(10),
            max_connections: None,
        }
    }
}

impl ConnectionLimits {
    /// The cap in force: [`max_connections`](Self::max_connections), or the one derived from the
    /// descriptor limit.
    pub fn effective_max_connections(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| derived_cap(soft_nofile_limit()))
            .max(1)
    }
}

/// The cap derived from a soft descriptor limit (see [`ConnectionLimits::max_connections`]).
fn derived_cap(soft_limit: Option<u64>) -> usize {
    const CEILING: u64 = 10_000;
    let Some(limit) = soft_limit else {
        return usize::try_from(CEILING).unwrap_or(usize::MAX);
    };
    let reserve = (limit / 8).max(32);
    let cap = limit.saturating_sub(reserve).clamp(16, CEILING);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (no `unsafe` for `getrlimit`);
/// `None` elsewhere or when unlimited.
fn soft_nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How many over-cap connections may be in the middle of getting their `503` at once; beyond,
/// they are closed without one (each holds a descriptor while it is answered).
const REFUSALS_IN_FLIGHT: usize = 64;

/// How long an over-cap connection is given to send its request and read the `503`.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);

/// Accepts connections on `listener` (TLS handshakes through `tls` when given) and serves each
/// with `service` until `shutdown` completes; then stops accepting, lets open connections finish
/// their requests, and returns once they have closed.
pub(crate) async fn run<S>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let cap = limits.effective_max_connections();
    tracing::debug!(max_connections = cap, "accepting connections");
    let permits = Arc::new(Semaphore::new(cap));
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let (signal_tx, signal_rx) = watch::channel(());
    let mut backoff = Backoff::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    backoff.wait(&error).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        backoff.reset();
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::debug!(%peer, max_connections = cap, "connection cap reached, refusing");
            if tls.is_none()
                && let Ok(refusal) = Arc::clone(&refusals).try_acquire_owned()
            {
                tokio::spawn(async move {
                    let _refusal = refusal;
                    refuse(stream).await;
                });
            }
            continue;
        };
        let signal = signal_rx.clone();
        let http = http.clone();
        let service = service.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, &http, service, &limits, signal).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, &http, service, &limits, signal).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, %peer, "tls handshake failed"),
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    // Every connection task holds a receiver: tell them to finish, then wait until all are gone.
    let _ = signal_tx.send(());
    drop(signal_rx);
    signal_tx.closed().await;
}

/// Serves one connection until it closes, its idle timeout passes, or (after shutdown was
/// signalled) its request in progress is answered.
async fn serve_connection<I, S>(
    io: I,
    http: &hyper::server::conn::http1::Builder,
    service: S,
    limits: &ConnectionLimits,
    mut signal: watch::Receiver<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: io,
        activity: Arc::clone(&activity),
    });
    // Requests in flight are counted: the idle timeout never drops a connection (and with it
    // the handler's future) while the emulator is still working on its request.
    let counting = Arc::clone(&activity);
    let service = tower::util::MapFuture::new(service, move |future: S::Future| {
        let guard = InFlight::enter(&counting);
        async move {
            let response = future.await;
            drop(guard);
            response
        }
    });
    let service = hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
        service,
        |request: http::Request<hyper::body::Incoming>| request.map(axum::body::Body::new),
    ));
    let mut connection = pin!(http.serve_connection(io, service));
    let idle = limits.idle_timeout;
    let mut idle_timer = pin!(tokio::time::sleep(idle));
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            changed = signal.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = idle_timer.as_mut() => {
                let deadline = activity.last() + idle;
                if activity.in_flight.load(Ordering::Relaxed) > 0 {
                    idle_timer.as_mut().reset(Instant::now() + idle);
                } else if deadline <= Instant::now() {
                    tracing::debug!(?idle, "closing an idle connection");
                    return;
                }
                idle_timer.as_mut().reset(deadline);
            }
        }
    }
}

/// Answers one `503` in Graph's envelope on an over-cap connection (after reading its request
/// head, so the client reads it as the answer to its request) and closes it.
async fn refuse(stream: tokio::net::TcpStream) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_DEADLINE)
        .keep_alive(false);
    let service = hyper::service::service_fn(|_request: http::Request<hyper::body::Incoming>| {
        let mut response = ApiError::ServiceUnavailable {
            retry_after: Some(1),
        }
        .into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let served = http.serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(REFUSAL_DEADLINE, served).await;
}

/// The accept loop's back-off after an error: `EMFILE`/`ENFILE` (and anything else) waits 5 ms,
/// doubling to 100 ms while errors continue; logged at most once a second.
#[derive(Default)]
struct Backoff {
    delay: Option<Duration>,
    last_log: Option<Instant>,
    suppressed: u64,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_millis(100);

    async fn wait(&mut self, error: &io::Error) {
        // A connection reset before it was accepted costs nothing: accept the next one.
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
                | io::ErrorKind::Interrupted
        ) {
            return;
        }
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            tracing::warn!(
                %error,
                suppressed = self.suppressed,
                "accept failed; retrying (raise the descriptor limit or lower --max-connections)"
            );
            self.last_log = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        let delay = self.delay.map_or(Self::FIRST, |d| (d * 2).min(Self::MAX));
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        self.delay = None;
    }
}

/// When a connection last read or wrote a byte, in milliseconds since it opened, and how many of
/// its requests the emulator is working on.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

/// One request in flight on a connection, for as long as its service future lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn enter(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's stream, noting each read and write that moved bytes in its [`Activity`].
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_cap_leaves_a_reserve() {
        assert_eq!(derived_cap(None), 10_000);
        assert_eq!(derived_cap(Some(64)), 32);
        assert_eq!(derived_cap(Some(512)), 448);
        assert_eq!(derived_cap(Some(1024)), 896);
        assert_eq!(derived_cap(Some(20)), 16);
        assert_eq!(derived_cap(Some(1 << 20)), 10_000);
    }
}
