//! Serving: [`router`] (no socket, for `oneshot` tests), [`serve`] (a listener, plain or TLS,
//! until a shutdown signal), and [`Emulator`], which does both in-process on `127.0.0.1:0`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::trace::TraceLayer;

use crate::config::EmulatorConfig;
use crate::error::Error;
use crate::journal::JournalEntry;
use crate::state::AppState;
use crate::{admin, graph, limits, oauth, routing};

/// The emulator's whole HTTP surface: Graph (`/v1.0`, `/beta`), the identity platform
/// (`/{tenant}/oauth2/v2.0/…`) and the admin API (`/_emulator/…`).
pub fn router(state: AppState) -> Router {
    Router::new().fallback_service(surface(state))
}

/// The surface as one service, with tower-http's request tracing (spans at `DEBUG`), which
/// [`serve`] runs without a router around it.
fn surface(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let items = graph::GraphService::new(
        tower::ServiceBuilder::new()
            .map_request(|mut request: Request| {
                routing::normalize(&mut request);
                request
            })
            .service(graph::graph_service(&state, None)),
    );
    let graph = graph::graph_service(&state, Some(&items));
    // Paths of neither the identity platform nor the admin API get Graph's answer (an unknown
    // segment or version, in Graph's envelope).
    // Each with a request timeout (the Graph surface's), answered in its own error shape: the
    // timeout covers reading the body, so a body trickled in never holds a request open.
    let identity = oauth::identity_router(&state).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limits::identity_timeout,
    ));
    let admin = admin::admin_router(&state).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limits::admin_timeout,
    ));
    let rest = Router::new()
        .merge(identity)
        .merge(admin)
        .with_state(state)
        .fallback_service(graph.clone());
    tower::ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .service(Surface {
            graph,
            rest: graph::GraphService::new(rest),
        })
}

/// The request's span (at `DEBUG`, as tower-http's default), with secret-bearing query values
/// redacted as in the journal: `?access_token=…` never reaches a log.
fn request_span(request: &Request) -> tracing::Span {
    // Nothing to build (the redaction copies the path) when no one listens at `DEBUG`.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return tracing::Span::none();
    }
    let uri = request.uri().path_and_query().map(crate::journal::redacted);
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %uri.as_ref().map_or("/", http::uri::PathAndQuery::as_str),
        version = ?request.version(),
    )
}

/// Normalizes a request's path, then hands it to the Graph surface (`/v1.0`, `/beta`) or to the
/// router of everything else: one match on the first segment instead of a router around routers.
#[derive(Clone)]
struct Surface {
    graph: graph::GraphService,
    rest: graph::GraphService,
}

impl tower::Service<Request> for Surface {
    type Response = Response;
    type Error = Infallible;
    type Future = <graph::GraphService as tower::Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.graph.poll_ready(cx)?.is_pending() {
            return Poll::Pending;
        }
        self.rest.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        routing::normalize(&mut request);
        if routing::is_graph_path(request.uri().path()) {
            self.graph.call(request)
        } else {
            self.rest.call(request)
        }
    }
}

/// Serves [`router`] on `listener` (over TLS when the state was configured for it) until
/// `shutdown` completes, then drains open requests.
///
/// Every connection is held to [`EmulatorConfig::connections`]: header-read, idle and TLS
/// handshake timeouts and a cap on open connections; the accept loop outlives running out of
/// file descriptors (see [`ConnectionLimits`](crate::ConnectionLimits)).
///
/// The admin API is open without a key only when `listener` is bound to a loopback address.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let local = listener
        .local_addr()
        .map_err(|e| Error::io("reading the listener's address", e))?;
    state.origins().set_listener(local);
    let tls = state
        .inner
        .tls
        .as_ref()
        .map(|tls| tokio_rustls::TlsAcceptor::from(tls.server_config.clone()));
    let limits = state.config().connections;
    crate::connections::run(listener, tls, surface(state), limits, shutdown).await;
    Ok(())
}

/// Client credentials for an emulator's tenant (the secret is never shown by `Debug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The tenant id.
    pub tenant_id: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: crate::identity::ClientSecret,
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub token_url: String,
    /// `https://graph.microsoft.com/.default`.
    pub scope: String,
}

/// An emulator running in-process, for tests anywhere.
///
/// ```no_run
/// # async fn run() -> Result<(), teamsapp_mock::Error> {
/// let emulator = teamsapp_mock::Emulator::start(teamsapp_mock::EmulatorConfig::default()).await?;
/// println!("Graph at {}", emulator.graph_url());
/// emulator.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Emulator {
    origin: String,
    local_addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), Error>>>,
}

impl Emulator {
    /// Starts an emulator on `config.listen` (default `127.0.0.1:0`).
    pub async fn start(config: EmulatorConfig) -> Result<Self, Error> {
        let listen = config.listen;
        let state = AppState::new(config)?;
        Self::start_with_state(listen, state).await
    }

    /// Starts an emulator with the built-in demo tenant on `127.0.0.1:0`; get tokens with
    /// [`credentials`](Self::credentials) (the well-known
    /// [`teamsapp_model::demo::CREDENTIALS`]).
    pub async fn demo() -> Result<Self, Error> {
        Self::start(EmulatorConfig::demo()).await
    }

    /// Starts an emulator for an already built state.
    pub async fn start_with_state(listen: SocketAddr, state: AppState) -> Result<Self, Error> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Error::io(format!("binding {listen}"), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the listener's address", e))?;
        let host = if local_addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local_addr.port())
        } else {
            local_addr
        };
        let scheme = if state.is_https() { "https" } else { "http" };
        let origin = format!("{scheme}://{host}");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(Self {
            origin,
            local_addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `scheme://127.0.0.1:PORT`, as wiremock's `MockServer::uri`: the same as
    /// [`origin`](Self::origin).
    pub fn uri(&self) -> &str {
        &self.origin
    }

    /// Every request the emulator answered, oldest first (Graph, identity and admin alike; the
    /// last [`journal_capacity`](crate::EmulatorBuilder::journal_capacity) of them), with the
    /// operation, status, calling app and tenant of each: what a test asserts on, as with
    /// wiremock's `received_requests`.
    pub fn received_requests(&self) -> Vec<JournalEntry> {
        self.state.journal(None)
    }

    /// The received requests of one operation (`O`, a request type of `teamsapp-types`).
    pub fn received<O: teamsapp_types::Operation>(&self) -> Vec<JournalEntry> {
        self.received_requests()
            .into_iter()
            .filter(|e| e.operation_id.as_deref() == Some(O::ROUTE.operation_id))
            .collect()
    }

    /// `scheme://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Graph's base URL: `{origin}/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.origin)
    }

    /// Graph's beta base URL: `{origin}/beta`.
    pub fn beta_url(&self) -> String {
        format!("{}/beta", self.origin)
    }

    /// The authority host for token requests (the origin): the token URL of a tenant is
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn authority(&self) -> &str {
        &self.origin
    }

    /// The token URL of `tenant`.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.origin)
    }

    /// Client credentials that work at once: the first app registration with a secret of the
    /// first tenant (for the demo tenant, the fleet tool of
    /// [`teamsapp_model::demo::CREDENTIALS`]).
    pub fn credentials(&self) -> Option<Credentials> {
        let registry = self.state.read_identity();
        registry.tenants.iter().find_map(|tenant| {
            let app = tenant.apps.iter().find(|a| !a.secrets.is_empty())?;
            Some(Credentials {
                tenant_id: tenant.id.clone(),
                client_id: app.client_id.clone(),
                client_secret: app.secrets[0].clone(),
                token_url: self.token_url(&tenant.id),
                scope: format!("{}/.default", crate::identity::GRAPH_RESOURCE),
            })
        })
    }

    /// The emulator's state (metrics, journal, faults, token minting, …).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, drains open requests and waits for the server to stop.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.stop().await
    }

    async fn stop(&mut self) -> Result<(), Error> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| Error::Server(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
