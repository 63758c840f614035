//! The request timeout and body limit of the identity platform and the admin API, each answered
//! in that surface's own error shape (the Graph surface has its own, in `graph::graph_service`).
//!
//! Both sit outside the surface's middleware (which `server.rs` cannot reach into), so they
//! render their answers whole: Entra's JSON error for the identity platform, Graph's envelope
//! with its tracing fields and headers for the admin API. The identity platform's timeout runs
//! around the whole request, reading its body included (`504`); the admin API's around reading
//! the body (`408`), not its handler.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::clock::graph_date;
use crate::error::{ApiError, PendingError, graph_error_response};
use crate::state::AppState;

/// The longest `client-request-id` echoed back (as the request middleware does).
const MAX_CLIENT_REQUEST_ID: usize = 200;

/// `AADSTS90033`: Entra's transient error, the nearest it has to a timed-out request.
const TRANSIENT_ERROR: u32 = 90_033;

/// The identity platform's request timeout: `504` with Entra's `temporarily_unavailable`.
pub(crate) async fn identity_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let ids = Ids::of(&request);
    match tokio::time::timeout(state.config().request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => entra_error(
            &state,
            &ids,
            StatusCode::GATEWAY_TIMEOUT,
            "temporarily_unavailable",
            TRANSIENT_ERROR,
            "The request timed out before its body arrived or its answer was ready. Please try \
             again.",
        ),
    }
}

/// The admin API's body: read here under the request timeout (`408 RequestTimeout` when it has
/// not all arrived in time) and the admin body limit (`413`, checked on `Content-Length` before
/// anything is read), in Graph's envelope. The handler then runs on the buffered body without a
/// timeout: a large tenant file may take long to load, and cutting it off half-way would answer
/// `504` for a load that goes on.
pub(crate) async fn admin_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let ids = Ids::of(&request);
    let limit = state.config().admin_body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return graph_error(&state, &ids, &ApiError::PayloadTooLarge { limit });
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        state.config().request_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await;
    let body = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return graph_error(&state, &ids, &ApiError::PayloadTooLarge { limit }),
        Err(_) => {
            let error = ApiError::Graph {
                status: StatusCode::REQUEST_TIMEOUT,
                error: Box::new(teamsapp_types::GraphError::new(
                    "RequestTimeout",
                    "The request body did not arrive within the request timeout.",
                )),
            };
            return graph_error(&state, &ids, &error);
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await
}

/// A request id of our own and the client's `client-request-id` (else the same id).
struct Ids {
    request_id: String,
    client_request_id: String,
}

impl Ids {
    fn of(request: &Request) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = request
            .headers()
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= MAX_CLIENT_REQUEST_ID)
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }

    fn add_headers(&self, state: &AppState, response: &mut Response) {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            headers.insert("request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.client_request_id) {
            headers.insert("client-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(state.clock().now())) {
            headers.insert(header::DATE, v);
        }
    }
}

/// `error`, in Graph's envelope with its tracing fields, as the admin middleware renders it.
fn graph_error(state: &AppState, ids: &Ids, error: &ApiError) -> Response {
    let traced = error.to_graph_error().with_trace(
        ids.request_id.clone(),
        Some(ids.client_request_id.clone()),
        graph_date(state.clock().now_utc()),
    );
    let mut response = graph_error_response(error.status(), traced);
    response.extensions_mut().remove::<PendingError>();
    ids.add_headers(state, &mut response);
    response
}

/// An error of the identity platform, in the shape of its other errors (`oauth.rs`).
fn entra_error(
    state: &AppState,
    ids: &Ids,
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
    let now = state.clock().now_utc();
    let timestamp = format!(
        "{} {:02}:{:02}:{:02}Z",
        now.date(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let (trace_id, correlation_id) = (&ids.request_id, &ids.client_request_id);
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} \
             Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    let mut response = (status, axum::Json(body)).into_response();
    ids.add_headers(state, &mut response);
    response
}
