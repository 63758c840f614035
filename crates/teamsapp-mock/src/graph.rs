//! The Graph surface: the service in front of the route table (`routing.rs`), and the pipeline
//! each routed request runs before the domain sees it:
//!
//! 1. bearer token (401 `InvalidAuthenticationToken`);
//! 2. path parameters, percent-decoded once and validated with [`teamsapp_types::ids`] (400);
//! 3. early-retry detection (a client back before the `Retry-After` it was given);
//! 4. throttling per (tenant, app, class) (429 with `Retry-After`);
//! 5. scripted responses, then seeded random faults (429, 503, 504, latency);
//! 6. query options against the route's list (400), body limit (413), content type (415), JSON
//!    well-formedness (400);
//! 7. the backend (the domain model), whose reply becomes a response with Graph's headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use teamsapp_types::operation::OperationClass;
use teamsapp_types::{AppInstallationId, Route};

use crate::auth::{self, Authenticated};
use crate::backend::{ApiVersion, GraphCall, GraphReply};
use crate::context::{CallMeta, RequestContext, graph_layer};
use crate::error::{ApiError, ODATA_JSON, ceil_seconds};
use crate::faults::{Fault, RequestFacts, Scenario, retry_key};
use crate::routing::{Captured, Lookup, RouteTable, Target, unknown_route};
use crate::state::AppState;
use crate::sync::lock;

/// The Graph surface as one service: the routes (with `$batch` when `batch_items` is given: the
/// service its items run through) and their fallback, inside the body limit, the request timeout
/// and `graph_layer`, each applied once around the whole table. No axum router: one
/// `matchit` lookup finds the operation, and its parameters are decoded straight into the
/// pipeline's list (a profile under load put axum's router, its parameter map and its boxed
/// route services at 5 % of the CPU).
pub(crate) fn graph_service(state: &AppState, batch_items: Option<&GraphService>) -> GraphService {
    let table = Arc::new(GraphRoutes {
        table: RouteTable::new(batch_items.is_some()),
        state: state.clone(),
        batch_items: batch_items.cloned(),
    });
    let routes = tower::service_fn(move |request: Request| {
        let table = Arc::clone(&table);
        async move { Ok::<_, std::convert::Infallible>(table.dispatch(request).await) }
    });
    let inner = tower::ServiceBuilder::new()
        // tower's timeout polls the request before its timer, so a request answered at once
        // never registers one; tower-http's polls the timer first, which registered and
        // removed a timer on every request (9 % of a request's cost in-process).
        .layer(tower::timeout::TimeoutLayer::new(
            state.config().request_timeout,
        ))
        .layer(DefaultBodyLimit::max(state.config().body_limit))
        .service(routes);
    let state = state.clone();
    // `graph_layer` around the rest, as one service. The timeout's is the only error: a bare
    // `504`, which `graph_layer` renders as Graph's `GatewayTimeout`.
    GraphService::new(tower::service_fn(move |request: Request| {
        let state = state.clone();
        let inner = inner.clone();
        async move {
            Ok(graph_layer(state, request, move |request| async move {
                tower::ServiceExt::oneshot(inner, request)
                    .await
                    .unwrap_or_else(|_elapsed| StatusCode::GATEWAY_TIMEOUT.into_response())
            })
            .await)
        }
    }))
}

/// The Graph surface's service type.
pub(crate) type GraphService =
    tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible>;

/// The route table and what answers its targets: the pipeline, or `$batch`'s handler.
struct GraphRoutes {
    table: RouteTable,
    state: AppState,
    /// The service a `$batch`'s requests run through (none inside a batch).
    batch_items: Option<GraphService>,
}

impl GraphRoutes {
    /// Routes the request and runs it.
    async fn dispatch(&self, request: Request) -> Response {
        let (target, params) = match self.table.route(&request) {
            Lookup::Found(target, params) => (target, params),
            Lookup::Answered(answer) => return answer,
        };
        match (target, &self.batch_items) {
            (
                Target::Operation {
                    route,
                    version,
                    via_me,
                },
                _,
            ) => handle(self.state.clone(), route, version, via_me, request, params).await,
            (Target::Batch { version }, Some(items)) => {
                crate::batch::handle(self.state.clone(), items.clone(), version, request).await
            }
            // The table has no `$batch` entry without a service for its requests.
            (Target::Batch { .. }, None) => unknown_route(&request),
        }
    }
}

/// The path parameter a `/me/…` alias leaves out: the signed-in user's id.
const ME_PARAM: &str = "user-id";

/// The route's parameters (`captured`, decoded once by the route table) validated, in template
/// order. Through a `/me/…` alias (`via_me`) the `user-id` the alias leaves out is the signed-in
/// user's (`signed_in`, the token's `oid`); without one (an application token) it is Graph's
/// `400`.
fn path_params(
    route: &'static Route,
    mut captured: Vec<(&'static str, String)>,
    via_me: bool,
    signed_in: Option<&str>,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut params = Vec::with_capacity(route.path_params.len());
    for (name, kind) in route.path_params.iter().zip(route.path_param_kinds) {
        let value = match captured.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => std::mem::take(v),
            None if via_me && *name == ME_PARAM => signed_in
                .map(str::to_owned)
                .ok_or_else(|| ApiError::bad_request(ME_WITHOUT_USER))?,
            None => return Err(ApiError::internal(format!("route lost parameter {name}"))),
        };
        kind.validate(&value)
            .map_err(|source| ApiError::InvalidId {
                param: name,
                source,
            })?;
        params.push((*name, value));
    }
    Ok(params)
}

/// The operation's path with decoded values: what scenarios match against.
fn canonical_path(route: &Route, params: &[(&'static str, String)]) -> String {
    let mut out = String::with_capacity(route.template.len() + 64);
    let mut rest = route.template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        if let Some((_, value)) = params.iter().find(|(n, _)| *n == name) {
            out.push_str(value);
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Graph's answer to `/me/…` with an application token (no signed-in user).
pub(crate) const ME_WITHOUT_USER: &str =
    "/me request is only valid with delegated authentication flow.";

/// Where the route table sent a request.
struct Routed {
    route: &'static Route,
    version: ApiVersion,
    /// Through a `/me/…` alias.
    via_me: bool,
    /// The path's parameters, decoded (or why they could not be).
    captured: Captured,
}

/// One Graph request, start to finish; `via_me` when it came through a `/me/…` alias.
async fn handle(
    state: AppState,
    route: &'static Route,
    version: ApiVersion,
    via_me: bool,
    request: Request,
    captured: Captured,
) -> Response {
    let mut meta = CallMeta {
        operation_id: Some(route.operation_id),
        ..CallMeta::default()
    };
    let target = Routed {
        route,
        version,
        via_me,
        captured,
    };
    let mut response = pipeline(&state, target, request, &mut meta)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(meta);
    response
}

/// Steps 1 and 2 (who is calling, which resource), then the rest of the pipeline; a `429` or
/// `503` with `Retry-After` is remembered for early-retry detection.
async fn pipeline(
    state: &AppState,
    target: Routed,
    request: Request,
    meta: &mut CallMeta,
) -> Result<Response, ApiError> {
    let Routed {
        route,
        version,
        via_me,
        captured,
    } = target;
    let (parts, body) = request.into_parts();
    let ctx = parts
        .extensions
        .get::<Arc<RequestContext>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("request context missing"))?;

    // 1. Who is calling.
    let who = auth::authenticate(
        state.keys(),
        &parts.headers,
        state.origins(),
        state.clock().unix_seconds(),
    )?;
    meta.tenant = Some(Arc::clone(&who.tenant));
    meta.app = Some(Arc::clone(&who.app));
    // Every `/me/…` path needs a signed-in user, whatever it names after `me`.
    if via_me && who.caller.user_id.is_none() {
        return Err(ApiError::bad_request(ME_WITHOUT_USER));
    }

    // 2. Path parameters.
    let params = path_params(route, captured?, via_me, who.caller.user_id.as_deref())?;

    // 3. Early retries: the key is only worked out when a client was told to wait.
    let key = || {
        let resource = params
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("|");
        retry_key(&who.tenant, &who.app, route.operation_id, &resource)
    };
    {
        let mut early = lock(&state.inner.early);
        if early.is_watching() {
            early.observe(key(), state.clock().elapsed(), state.clock().now());
        }
    }

    let response = checked(state, route, version, parts, body, &ctx, &who, &params)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if matches!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(seconds) = retry_after {
            lock(&state.inner.early).promise(key(), state.clock().elapsed(), seconds);
        }
    }
    Ok(response)
}

/// Steps 4 to 7, for a caller and resource already known.
#[allow(
    clippy::too_many_arguments,
    reason = "the pipeline's state at this step; a struct would only rename it"
)]
async fn checked(
    state: &AppState,
    route: &'static Route,
    version: ApiVersion,
    parts: http::request::Parts,
    body: axum::body::Body,
    ctx: &RequestContext,
    who: &Arc<Authenticated>,
    params: &[(&'static str, String)],
) -> Result<Response, ApiError> {
    let caller = &who.caller;
    // 4. Throttling: the class's bucket, and the team's for a request on a team.
    let team = params
        .iter()
        .find(|(name, _)| *name == "team-id")
        .map(|(_, id)| id.as_str());
    let throttled = lock(&state.inner.throttle).acquire_on(
        &caller.tenant_id,
        &caller.client_id,
        route.class,
        team,
        state.clock().elapsed(),
    );
    if let Err(wait) = throttled {
        lock(&state.inner.metrics).throttled += 1;
        return Err(ApiError::TooManyRequests {
            retry_after: ceil_seconds(wait),
            category: throttle_category(&caller.tenant_id, &caller.client_id, route.class),
        });
    }

    // 5. Scripted responses, then random faults.
    let scripted = {
        let mut book = lock(&state.inner.scenarios);
        if book.is_empty() {
            None
        } else {
            let canonical = canonical_path(route, params);
            book.take(&RequestFacts {
                operation_id: route.operation_id,
                method: parts.method.as_str(),
                canonical_path: &canonical,
                params,
                app: &caller.client_id,
            })
        }
    };
    if let Some(scenario) = scripted {
        lock(&state.inner.metrics).scripted += 1;
        return Err(scripted_error(&scenario));
    }
    let (draw, retry_after) = {
        let mut faults = lock(&state.inner.faults);
        (faults.draw(), faults.config().retry_after_seconds)
    };
    if let Some(latency) = draw.latency {
        lock(&state.inner.metrics).count_fault("latency");
        state.clock().sleep(latency).await;
    }
    if let Some(fault) = draw.fault {
        let (kind, error) = match fault {
            Fault::TooManyRequests => (
                "429",
                ApiError::TooManyRequests {
                    retry_after,
                    category: throttle_category(&caller.tenant_id, &caller.client_id, route.class),
                },
            ),
            Fault::ServiceUnavailable => (
                "503",
                ApiError::ServiceUnavailable {
                    retry_after: Some(retry_after),
                },
            ),
            Fault::GatewayTimeout => ("504", ApiError::GatewayTimeout),
        };
        lock(&state.inner.metrics).count_fault(kind);
        return Err(error);
    }

    // 6. Query options and body.
    let query = teamsapp_model::Query::for_route(route, parts.uri.query())?.with_version(version);
    let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    let if_match = parts
        .headers
        .get(header::IF_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.config().body_limit,
                }
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
    check_body(route, content_type.as_ref(), &body)?;

    // 7. The domain.
    let reply = state
        .backend()
        .call(GraphCall {
            route,
            version,
            params: params.to_vec(),
            query,
            body,
            caller: Arc::clone(who),
            origin: ctx.origin.clone(),
            if_match,
        })
        .await?;
    if route.action == Some("upgrade")
        && reply.status.is_success()
        && let Some((_, id)) = params.last()
    {
        let mut metrics = lock(&state.inner.metrics);
        // Keys are canonical: an id found as sent is its own canonical form (Graph's ids are),
        // so only another spelling is re-encoded.
        if !metrics.count_upgrade_if_known(id) {
            let id = AppInstallationId::new(id.as_str())
                .map_or_else(|_| id.clone(), |id| id.canonical().into_inner());
            metrics.count_upgrade(&id);
        }
    }
    Ok(render_reply(reply))
}

fn throttle_category(tenant: &str, app: &str, class: OperationClass) -> String {
    let class = match class {
        OperationClass::Read => "get",
        OperationClass::Write => "post",
        OperationClass::Patch => "patch",
        OperationClass::Delete => "delete",
        OperationClass::Batch => "batch",
    };
    format!("{tenant}+{app} under category:throttle.teams.installedapps.{class}")
}

fn scripted_error(scenario: &Scenario) -> ApiError {
    let status = StatusCode::from_u16(scenario.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = scenario.code.clone().unwrap_or_else(|| {
        match status {
            StatusCode::TOO_MANY_REQUESTS => "TooManyRequests",
            StatusCode::SERVICE_UNAVAILABLE => "serviceNotAvailable",
            StatusCode::GATEWAY_TIMEOUT => "GatewayTimeout",
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::CONFLICT => "Conflict",
            s if s.is_server_error() => "UnknownError",
            _ => "BadRequest",
        }
        .to_owned()
    });
    let message = scenario.message.clone().unwrap_or_else(|| {
        format!(
            "Scripted response: {} {}.",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
    });
    let headers = scenario
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                http::HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    ApiError::Scripted {
        status,
        code,
        message,
        retry_after: scenario.retry_after,
        headers,
    }
}

/// Content type (415), required body (400) and JSON well-formedness (400), from the route table.
fn check_body(
    route: &Route,
    content_type: Option<&HeaderValue>,
    body: &Bytes,
) -> Result<(), ApiError> {
    let Some(expected) = route.request_content_type else {
        return Ok(());
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        if route.request_body_optional {
            return Ok(());
        }
        return Err(ApiError::bad_request(if expected == "application/json" {
            "Empty Payload. JSON content expected."
        } else {
            "Empty Payload. A Teams app package (application/zip) is expected."
        }));
    }
    if let Some(sent) = content_type {
        let sent = sent.to_str().unwrap_or("");
        let essence = sent
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let accepted = essence == expected
            || (expected == "application/zip"
                && matches!(
                    essence.as_str(),
                    "application/x-zip-compressed"
                        | "application/x-zip"
                        | "application/octet-stream"
                ));
        if !accepted {
            return Err(ApiError::UnsupportedMediaType {
                content_type: sent.chars().take(100).collect(),
                expected,
            });
        }
    }
    if expected == "application/json"
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err()
    {
        return Err(ApiError::MalformedJson);
    }
    if let Some(action) = route.action {
        check_action_parameters(route, action, body)?;
    }
    Ok(())
}

/// An action's body may name only the action's parameters (and instance annotations such as
/// `@odata.type`): Microsoft.OData.Core, which Graph's actions run on, refuses any other with
/// "The parameter '…' in the request payload is not a valid parameter for the operation '…'."
#[allow(
    clippy::zero_sized_map_values,
    reason = "only the keys are read; the values are skipped"
)]
fn check_action_parameters(route: &Route, action: &str, body: &Bytes) -> Result<(), ApiError> {
    let Ok(object) = serde_json::from_slice::<BTreeMap<String, serde::de::IgnoredAny>>(body) else {
        // Not an object: the typed decoding answers it.
        return Ok(());
    };
    match object
        .keys()
        .find(|key| !key.contains('@') && !route.action_parameters.contains(&key.as_str()))
    {
        Some(unknown) => Err(ApiError::bad_request(format!(
            "The parameter '{unknown}' in the request payload is not a valid parameter for the \
             operation '{action}'."
        ))),
        None => Ok(()),
    }
}

/// A backend reply as an HTTP response.
fn render_reply(reply: GraphReply) -> Response {
    let mut response = match &reply.body {
        Some(body) => {
            let bytes = serde_json::to_vec(body).unwrap_or_default();
            let mut response = (reply.status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
            response
        }
        None => reply.status.into_response(),
    };
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::routes;

    #[test]
    fn canonical_paths_use_the_template_not_the_alias() {
        let params = vec![
            ("chat-id", "19:a@thread.v2".to_owned()),
            ("teamsAppInstallation-id", "a/b=".to_owned()),
        ];
        assert_eq!(
            canonical_path(&routes::UPGRADE_CHAT_APP, &params),
            "/chats/19:a@thread.v2/installedApps/a/b=/upgrade"
        );
    }
}
