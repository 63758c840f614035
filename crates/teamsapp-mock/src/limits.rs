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
use axum::response::Response;
use http::{StatusCode, header};

use crate::clock::graph_date;
use crate::context::add_trace_headers;
use crate::error::{ApiError, PendingError, graph_error_response};
use crate::oauth::OAuthError;
use crate::request::RequestContext;
use crate::state::AppState;

/// The identity platform's request timeout: `504` with Entra's `temporarily_unavailable`.
pub(crate) async fn identity_timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let ctx = RequestContext::new(&state, &request);
    if let Ok(response) =
        tokio::time::timeout(state.config().request_timeout, next.run(request)).await
    {
        return response;
    }
    let mut response = OAuthError::timed_out().render(&state, Some(&ctx));
    add_trace_headers(&state, &ctx, response.headers_mut());
    response
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
    let ctx = RequestContext::new(&state, &request);
    let limit = state.config().admin_body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return graph_error(&state, &ctx, &ApiError::PayloadTooLarge { limit });
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        state.config().request_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await;
    let body = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return graph_error(&state, &ctx, &ApiError::PayloadTooLarge { limit }),
        Err(_) => {
            let error = ApiError::Graph {
                status: StatusCode::REQUEST_TIMEOUT,
                error: Box::new(teamsapp_types::GraphError::new(
                    "RequestTimeout",
                    "The request body did not arrive within the request timeout.",
                )),
            };
            return graph_error(&state, &ctx, &error);
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await
}

/// `error`, in Graph's envelope with its tracing fields, as the admin middleware renders it.
fn graph_error(state: &AppState, ctx: &RequestContext, error: &ApiError) -> Response {
    let traced = error.to_graph_error().with_trace(
        ctx.request_id().to_owned(),
        Some(ctx.client_request_id().to_owned()),
        graph_date(state.clock().now_utc()),
    );
    let mut response = graph_error_response(error.status(), traced);
    response.extensions_mut().remove::<PendingError>();
    add_trace_headers(state, ctx, response.headers_mut());
    response
}
