//! A small recording reverse proxy: plain HTTP on `127.0.0.1:0`, forwarding every request to a
//! running emulator (a process, say) behind the conformance [`Checker`].
//!
//! The `Host` header is passed through, so the emulator writes `@odata.nextLink` and `Location`
//! for the proxy and clients keep talking through it; tokens are requested through it too, so
//! their audience is the proxy's origin, which the emulator accepts as its own.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, StatusCode, header};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::conformance::Checker;

/// Hop-by-hop headers, which a proxy does not forward.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct CheckingProxy {
    origin: String,
    checker: Checker,
    shutdown: Option<oneshot::Sender<()>>,
}

#[derive(Clone)]
struct Upstream {
    origin: String,
    http: reqwest::Client,
}

impl CheckingProxy {
    /// Starts a proxy to the plain-HTTP emulator at `upstream` (`http://host:port`), sending
    /// through `http`. (An HTTPS emulator would write its links with its own scheme and the
    /// proxy's host, which is neither.)
    pub async fn start(upstream: &str, http: reqwest::Client, checker: Checker) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds 127.0.0.1:0");
        assert!(
            upstream.starts_with("http://"),
            "the proxy forwards to plain HTTP only, not {upstream}"
        );
        let origin = format!("http://{}", listener.local_addr().expect("an address"));
        let upstream = Upstream {
            origin: upstream.trim_end_matches('/').to_owned(),
            http,
        };
        let app = checker.wrap(axum::Router::new().fallback(forward).with_state(upstream));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            origin,
            checker,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `{origin}/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.origin)
    }

    /// The checker every exchange goes through.
    pub fn checker(&self) -> &Checker {
        &self.checker
    }
}

impl Drop for CheckingProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    let target = format!(
        "{}{}",
        upstream.origin,
        parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str())
    );
    let mut outgoing = upstream
        .http
        .request(parts.method, target)
        .timeout(Duration::from_mins(1))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) && name != header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(name) && name != header::CONTENT_LENGTH {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
