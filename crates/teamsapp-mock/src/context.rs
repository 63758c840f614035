//! The middleware every request passes through, one per surface:
//!
//! - Graph (`/v1.0`, `/beta`): assigns `request-id`, echoes `client-request-id` (or reuses the
//!   `request-id`, as Graph does), enforces the body limit (the request timeout is tower-http's
//!   layer just inside this one, answering a bare `504`), turns every
//!   error — ours and axum's bare rejections alike — into Graph's envelope with `innerError`'s
//!   tracing fields, adds `Date`, `OData-Version`, `Cache-Control` and `WWW-Authenticate`, and
//!   records the request in the journal and the metrics;
//! - identity (`/{tenant}/oauth2/…`): tracing headers as Microsoft Entra sends them, journal;
//! - admin (`/_emulator/…`): the admin key check, Graph-shaped errors, no journal.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use rand::RngExt as _;
use teamsapp_types::GraphError;

use crate::auth;
use crate::clock::graph_date;
use crate::error::{ApiError, ODATA_JSON, PendingError, graph_error_response};
use crate::identity::GRAPH_APP_ID;
use crate::journal::Record;
pub(crate) use crate::request::{BatchItem, RequestContext};
use crate::state::AppState;
use crate::sync::lock;

// Header names parsed once, not on every insert.
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const MS_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const ODATA_VERSION: HeaderName = HeaderName::from_static("odata-version");
const AGS_DIAGNOSTIC: HeaderName = HeaderName::from_static("x-ms-ags-diagnostic");

/// The longest `client-request-id` echoed; longer ones are replaced.
const MAX_CLIENT_REQUEST_ID: usize = 200;

/// What a Graph handler learned about its request (left in the response's extensions for the
/// journal and the metrics).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallMeta {
    pub(crate) operation_id: Option<&'static str>,
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) app: Option<Arc<str>>,
}

impl RequestContext {
    /// The context of `request`, shared: handlers and the journal hold it without copying it.
    pub(crate) fn new(state: &AppState, request: &Request) -> Arc<Self> {
        // A version-4 GUID from the thread's generator: `Uuid::new_v4` asks the kernel each time, a
        // `getrandom` system call (and often a reschedule) per request under load.
        let uuid = uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let request_id = HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut text))
            .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
        let client_request_id = request
            .headers()
            .get(CLIENT_REQUEST_ID)
            .and_then(|v| {
                let text = v.to_str().ok()?;
                let trimmed = text.trim();
                if trimmed.is_empty() || trimmed.len() > MAX_CLIENT_REQUEST_ID {
                    None
                } else if trimmed.len() == text.len() {
                    // The request's own bytes, shared.
                    Some(v.clone())
                } else {
                    HeaderValue::from_str(trimmed).ok()
                }
            })
            .unwrap_or_else(|| request_id.clone());
        Arc::new(Self {
            request_id,
            client_request_id,
            origin: origin(state, request),
            batch_item: request.extensions().get::<BatchItem>().is_some(),
        })
    }
}

/// `scheme://host[:port]` from the `Host` header (or the URI's authority), `localhost` if neither.
/// The last origin built on this thread is kept: under load every request names the same one.
fn origin(state: &AppState, request: &Request) -> Arc<str> {
    /// Whether HTTPS, the `Host` header's bytes, and the origin they make.
    type Cached = (bool, Box<[u8]>, Arc<str>);
    thread_local! {
        static LAST: std::cell::RefCell<Option<Cached>> = const { std::cell::RefCell::new(None) };
    }
    let https = state.is_https();
    let header = request
        .headers()
        .get(header::HOST)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let cached = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(h, host, _)| *h == https && !header.is_empty() && **host == *header)
            .map(|(_, _, origin)| Arc::clone(origin))
    });
    if let Some(origin) = cached {
        return origin;
    }
    let scheme = if https { "https" } else { "http" };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '@']))
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(ToString::to_string))
        .unwrap_or_else(|| "localhost".to_owned());
    let origin: Arc<str> = Arc::from(format!("{scheme}://{host}"));
    if !header.is_empty() {
        LAST.with_borrow_mut(|last| *last = Some((https, header.into(), Arc::clone(&origin))));
    }
    origin
}

/// The Graph surface's middleware.
pub(crate) async fn graph_layer<F, Fut>(state: AppState, mut request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let ctx = RequestContext::new(&state, &request);
    request.extensions_mut().insert(Arc::clone(&ctx));
    let started = state.clock().elapsed();
    let arrived = state.clock().now_utc();
    let method = request.method().clone();
    let path = path_of(&request);

    let limit = state.config().body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let response = if let Some(error) = foreign_host(&state, &request) {
        error.into_response()
    } else if declared.is_some_and(|len| len > limit as u64) {
        ApiError::PayloadTooLarge { limit }.into_response()
    } else {
        // The request timeout is tower-http's layer inside this one (`graph::graph_router`).
        next(request).await
    };
    let mut response = finish_graph(&state, &ctx, response);

    let meta = response
        .extensions_mut()
        .remove::<CallMeta>()
        .unwrap_or_default();
    let status = response.status().as_u16();
    lock(&state.inner.metrics).count_request(meta.operation_id.unwrap_or("unmatched"), status);
    state.journal_push(Record {
        arrived,
        method,
        path,
        status,
        operation_id: meta.operation_id,
        ctx,
        app: meta.app,
        tenant: meta.tenant,
        latency_ms: millis(state.clock().elapsed().saturating_sub(started)),
    });
    response
}

/// The request's `Host` (or the URI's authority) when it is not one the emulator answers as its
/// own (see [`crate::origins`]): how a web page that rebinds its DNS name to 127.0.0.1 shows
/// itself.
fn foreign_host_name(state: &AppState, request: &Request) -> Option<String> {
    // Borrowed while checked: only a refused name is copied.
    let host = match request.headers().get(header::HOST) {
        Some(value) => String::from_utf8_lossy(value.as_bytes()),
        None => std::borrow::Cow::Borrowed(request.uri().authority()?.as_str()),
    };
    (!state.origins().host_allowed(&host)).then(|| host.into_owned())
}

/// `421 Misdirected Request` in Graph's envelope for a foreign `Host`.
fn foreign_host(state: &AppState, request: &Request) -> Option<ApiError> {
    let host = foreign_host_name(state, request)?;
    Some(ApiError::Graph {
        status: StatusCode::MISDIRECTED_REQUEST,
        error: Box::new(GraphError::new(
            "MisdirectedRequest",
            format!(
                "This emulator does not answer for the host {host:?}: it answers IP addresses, \
                 localhost and the origins it was configured with (--origin)."
            ),
        )),
    })
}

/// The request's path and query for the journal: the request's own bytes, unless the query
/// carries a secret (`?access_token=`, `?client_secret=`, …), whose value is redacted.
fn path_of(request: &Request) -> http::uri::PathAndQuery {
    request.uri().path_and_query().map_or_else(
        || http::uri::PathAndQuery::from_static("/"),
        crate::journal::redacted,
    )
}

/// Graph's headers, and Graph's envelope on every error.
fn finish_graph(state: &AppState, ctx: &RequestContext, response: Response) -> Response {
    let mut response = render_error(state, ctx, response, state.config().body_limit);
    let headers = response.headers_mut();
    add_trace_headers(state, ctx, headers);
    headers.insert(ODATA_VERSION, HeaderValue::from_static("4.0"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        AGS_DIAGNOSTIC,
        HeaderValue::from_static(
            r#"{"ServerInfo":{"DataCenter":"Local Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"teamsapp-mock"}}"#,
        ),
    );
    if response.status() == StatusCode::UNAUTHORIZED {
        let challenge = format!(
            "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\"",
            ctx.origin
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

/// Fills `innerError`'s tracing fields of a pending Graph error, and turns a bare error response
/// (axum's 405, a layer's 413, …) into one.
/// `body_limit` is the surface's, for the message of a bare `413`.
fn render_error(
    state: &AppState,
    ctx: &RequestContext,
    mut response: Response,
    body_limit: usize,
) -> Response {
    let status = response.status();
    let pending = response.extensions_mut().remove::<PendingError>();
    let error = match pending {
        Some(PendingError(error)) => error,
        None if status.is_client_error() || status.is_server_error() => {
            let is_json = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if is_json {
                return response;
            }
            bare_error(status, body_limit).to_graph_error()
        }
        None => return response,
    };
    let traced = error.with_trace(
        ctx.request_id().to_owned(),
        Some(ctx.client_request_id().to_owned()),
        graph_date(state.clock().now_utc()),
    );
    let mut rendered = graph_error_response(status, traced);
    rendered.extensions_mut().remove::<PendingError>();
    let (mut parts, body) = rendered.into_parts();
    // Keep the original headers (Retry-After, Allow, scripted ones) and extensions.
    let (original, _) = response.into_parts();
    let mut headers = original.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    parts.headers = headers;
    parts.extensions = original.extensions;
    Response::from_parts(parts, body)
}

/// The Graph error for a bare status from axum or a layer.
fn bare_error(status: StatusCode, body_limit: usize) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: body_limit },
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ApiError::GatewayTimeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType {
            content_type: String::new(),
            expected: "application/json",
        },
        status if status.is_server_error() => ApiError::internal(format!("bare {status}")),
        status => ApiError::Graph {
            status,
            error: Box::new(GraphError::new(
                match status {
                    StatusCode::UNAUTHORIZED => "InvalidAuthenticationToken",
                    StatusCode::FORBIDDEN => "Forbidden",
                    StatusCode::NOT_FOUND => "NotFound",
                    _ => "BadRequest",
                },
                status.canonical_reason().unwrap_or("Error"),
            )),
        },
    }
}

pub(crate) fn add_trace_headers(state: &AppState, ctx: &RequestContext, headers: &mut HeaderMap) {
    headers.insert(REQUEST_ID, ctx.request_id.clone());
    headers.insert(CLIENT_REQUEST_ID, ctx.client_request_id.clone());
    headers.insert(header::DATE, date_header(state));
}

/// `Date` on the emulator's clock, formatted once a second per thread.
fn date_header(state: &AppState) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(std::time::SystemTime, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let now = state.clock().now();
    // HTTP dates have whole seconds: the cached value holds for the second it names.
    let second = now.duration_since(std::time::UNIX_EPOCH).map_or(now, |d| {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs())
    });
    LAST.with_borrow_mut(|last| match last {
        Some((at, value)) if *at == second => value.clone(),
        _ => {
            let value = HeaderValue::from_str(&httpdate::fmt_http_date(second))
                .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
            *last = Some((second, value.clone()));
            value
        }
    })
}

/// The identity surface's middleware: Microsoft Entra's tracing headers, journal.
pub(crate) async fn identity_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ctx = RequestContext::new(&state, &request);
    request.extensions_mut().insert(Arc::clone(&ctx));
    let started = state.clock().elapsed();
    let arrived = state.clock().now_utc();
    let method = request.method().clone();
    let foreign = foreign_host_name(&state, &request);
    // The identity surface journals the path without its query (which may carry a code).
    let path = http::uri::PathAndQuery::try_from(request.uri().path())
        .unwrap_or_else(|_| http::uri::PathAndQuery::from_static("/"));
    let mut response = match foreign {
        Some(host) => crate::oauth::OAuthError::misdirected(&host).render(&state, Some(&ctx)),
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(MS_REQUEST_ID, ctx.request_id.clone());
    headers.insert(CLIENT_REQUEST_ID, ctx.client_request_id.clone());
    headers.insert(header::DATE, date_header(&state));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    let meta = response
        .extensions_mut()
        .remove::<CallMeta>()
        .unwrap_or_default();
    state.journal_push(Record {
        arrived,
        method,
        path,
        status: response.status().as_u16(),
        operation_id: meta.operation_id,
        ctx,
        app: meta.app,
        tenant: meta.tenant,
        latency_ms: millis(state.clock().elapsed().saturating_sub(started)),
    });
    response
}

/// The admin surface's middleware: loopback or admin key, Graph-shaped errors.
pub(crate) async fn admin_layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ctx = RequestContext::new(&state, &request);
    request.extensions_mut().insert(Arc::clone(&ctx));
    let checked = match foreign_host(&state, &request) {
        Some(error) => Err(error),
        None => admin_allowed(&state, request.headers())
            .and_then(|()| admin_same_origin(&state, request.headers()))
            .and_then(|()| admin_json_only(&request)),
    };
    let response = match checked {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    };
    let mut response = render_error(&state, &ctx, response, state.config().admin_body_limit);
    add_trace_headers(&state, &ctx, response.headers_mut());
    response
}

/// Refuses an admin request a browser sent on behalf of another site (CSRF): a foreign `Origin`,
/// or `Sec-Fetch-Site: cross-site`. Clients that are not browsers send neither.
fn admin_same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !state.origins().is_own(origin) {
            return Err(ApiError::Forbidden {
                message: format!(
                    "the admin API does not take requests from web pages of another origin \
                     ({origin:?})"
                ),
            });
        }
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Err(ApiError::Forbidden {
            message: "the admin API does not take cross-site requests".to_owned(),
        });
    }
    Ok(())
}

/// A body sent to the admin API must be declared JSON: a web page can send `text/plain` (or a
/// form) to any origin without asking first, but not `application/json`.
fn admin_json_only(request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let declared_empty = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    let has_body = !declared_empty
        && (headers.contains_key(header::CONTENT_LENGTH)
            || headers.contains_key(header::TRANSFER_ENCODING));
    let content_type = headers.get(header::CONTENT_TYPE);
    let is_json = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if (has_body || content_type.is_some()) && !is_json {
        return Err(ApiError::UnsupportedMediaType {
            content_type: content_type
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
            expected: "application/json",
        });
    }
    Ok(())
}

fn admin_allowed(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get("x-emulator-admin-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| auth::bearer(headers));
    match (&state.config().admin_key, presented) {
        (Some(key), Some(given)) if key.matches(given) => Ok(()),
        (Some(_), Some(_)) => Err(ApiError::Forbidden {
            message: "the admin key is not valid".to_owned(),
        }),
        _ if state.on_loopback() => Ok(()),
        (Some(_), None) => Err(ApiError::Forbidden {
            message: "the admin API needs the admin key (x-emulator-admin-key) on a non-loopback \
                      listener"
                .to_owned(),
        }),
        (None, _) => Err(ApiError::Forbidden {
            message: "the admin API is closed on a non-loopback listener without an admin key"
                .to_owned(),
        }),
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
