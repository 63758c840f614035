//! `POST /{version}/$batch`: JSON batching as Graph does it.
//!
//! The batch is checked as a whole first (400 when malformed: not JSON, no requests or more than
//! 20, duplicate ids (case-insensitive), a `dependsOn` naming an unknown id or forming a cycle, a
//! body without `Content-Type`, and a mixed dependency graph: Graph runs a batch "either fully
//! sequential or fully parallel", see [`teamsapp_types::batch`]). Then each request runs through the same Graph router, in-process
//! (`tower::ServiceExt::oneshot`), with the batch's `Authorization` and `Host` and a
//! `client-request-id` derived from the batch's, so authentication, throttling (each request in
//! its own class), scripted responses and faults apply per request. Requests run one at a time in
//! dependency order (request order among independent ones); a request whose dependency failed is
//! not run and answers `424 FailedDependency`. Responses come back in request order.

use std::collections::BTreeMap;

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use teamsapp_types::{BatchRequest, BatchRequestStep, BatchResponse, BatchResponseStep, routes};
use tower::ServiceExt as _;

use crate::auth;
use crate::backend::ApiVersion;
use crate::context::{BatchItem, CallMeta, RequestContext};
use crate::error::{ApiError, ODATA_JSON};
use crate::graph::GraphService;
use crate::state::AppState;

/// Graph's limit on requests per batch.
pub const MAX_BATCH_REQUESTS: usize = 20;

pub(crate) async fn handle(
    state: AppState,
    items: GraphService,
    version: ApiVersion,
    request: Request,
) -> Response {
    let mut meta = CallMeta {
        operation_id: Some(routes::BATCH.operation_id),
        ..CallMeta::default()
    };
    let response = run(&state, items, version, request, &mut meta)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    let mut response = response;
    response.extensions_mut().insert(meta);
    response
}

async fn run(
    state: &AppState,
    items: GraphService,
    version: ApiVersion,
    request: Request,
    meta: &mut CallMeta,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let ctx = parts
        .extensions
        .get::<Arc<RequestContext>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("request context missing"))?;
    let caller = auth::authenticate(
        state.keys(),
        &parts.headers,
        state.origins(),
        state.clock().unix_seconds(),
    )?;
    meta.tenant = Some(Arc::clone(&caller.tenant));
    meta.app = Some(Arc::clone(&caller.app));
    teamsapp_model::Query::for_route(&routes::BATCH, parts.uri.query())?;
    if let Some(sent) = parts.headers.get(header::CONTENT_TYPE) {
        let sent = sent.to_str().unwrap_or("");
        if !sent
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(ApiError::UnsupportedMediaType {
                content_type: sent.chars().take(100).collect(),
                expected: "application/json",
            });
        }
    }
    let outer_headers = parts.headers.clone();
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
    let batch: BatchRequest = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("Invalid batch payload format."))?;
    let order = validate(&batch.requests)?;

    let mut results: Vec<Option<BatchResponseStep>> = vec![None; batch.requests.len()];
    for index in order {
        let step = &batch.requests[index];
        let failed = step.depends_on.iter().flatten().find_map(|dep| {
            let dep_index = position(&batch.requests, dep)?;
            let status = results[dep_index].as_ref().map_or(0, |r| r.status);
            (!(200..300).contains(&status)).then(|| batch.requests[dep_index].id.clone())
        });
        let result = match failed {
            Some(depends_on) => failed_dependency(state, &ctx, step, depends_on),
            None => execute(state, &items, version, &ctx, &outer_headers, step).await,
        };
        results[index] = Some(result);
    }
    let response = BatchResponse {
        responses: results.into_iter().flatten().collect(),
        ..BatchResponse::default()
    };
    let bytes = serde_json::to_vec(&response).map_err(ApiError::internal)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    Ok(response)
}

fn position(steps: &[BatchRequestStep], id: &str) -> Option<usize> {
    steps.iter().position(|s| s.id.eq_ignore_ascii_case(id))
}

/// Checks the batch as a whole; returns the execution order.
fn validate(steps: &[BatchRequestStep]) -> Result<Vec<usize>, ApiError> {
    if steps.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid batch payload format: the batch contains no requests.",
        ));
    }
    if steps.len() > MAX_BATCH_REQUESTS {
        return Err(ApiError::bad_request(format!(
            "The batch contains {} requests; the limit is {MAX_BATCH_REQUESTS}.",
            steps.len()
        )));
    }
    for (i, step) in steps.iter().enumerate() {
        if step.id.trim().is_empty() {
            return Err(ApiError::bad_request(
                "Invalid batch payload format: every request needs an id.",
            ));
        }
        if steps[..i]
            .iter()
            .any(|s| s.id.eq_ignore_ascii_case(&step.id))
        {
            return Err(ApiError::bad_request(format!(
                "Batch request ids must be unique; '{}' appears more than once.",
                step.id
            )));
        }
        if Method::from_bytes(step.method.to_ascii_uppercase().as_bytes()).is_err()
            || step.url.trim().is_empty()
        {
            return Err(ApiError::bad_request(format!(
                "Invalid batch payload format: request '{}' needs a method and a url.",
                step.id
            )));
        }
        let has_content_type = step
            .headers
            .iter()
            .flatten()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if step.body.is_some() && !has_content_type {
            return Err(ApiError::bad_request(format!(
                "Write request id : {} does not contain Content-Type header or body.",
                step.id
            )));
        }
    }
    for step in steps {
        for dep in step.depends_on.iter().flatten() {
            if position(steps, dep).is_none() || dep.eq_ignore_ascii_case(&step.id) {
                return Err(ApiError::bad_request(format!(
                    "Request '{}' depends on '{dep}', which is not a request of this batch.",
                    step.id
                )));
            }
        }
    }
    // Kahn's algorithm, taking the earliest ready request each time.
    let mut done = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    while order.len() < steps.len() {
        let next = (0..steps.len()).find(|&i| {
            !done[i]
                && steps[i]
                    .depends_on
                    .iter()
                    .flatten()
                    .all(|dep| position(steps, dep).is_some_and(|d| done[d]))
        });
        let Some(next) = next else {
            return Err(ApiError::bad_request(
                "Invalid batch payload format: the dependsOn relations form a cycle.",
            ));
        };
        done[next] = true;
        order.push(next);
    }
    // Graph runs a batch fully in parallel or fully in sequence: a mixed one is a 400.
    let depends_on: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            s.depends_on
                .iter()
                .flatten()
                .filter_map(|dep| position(steps, dep))
                .collect()
        })
        .collect();
    if !teamsapp_types::batch::is_accepted_shape(&depends_on) {
        return Err(ApiError::bad_request(
            "Invalid batch payload format: Batch should be either fully sequential or fully \
             parallel (every request depending on the one before it, or all on the same one).",
        ));
    }
    Ok(order)
}

fn failed_dependency(
    state: &AppState,
    ctx: &RequestContext,
    step: &BatchRequestStep,
    depends_on: String,
) -> BatchResponseStep {
    let error = ApiError::FailedDependency { depends_on }
        .to_graph_error()
        .with_trace(
            ctx.request_id().to_owned(),
            Some(item_client_request_id(ctx, step)),
            crate::clock::graph_date(state.clock().now_utc()),
        );
    BatchResponseStep {
        id: step.id.clone(),
        status: 424,
        headers: Some(BTreeMap::from([(
            "Content-Type".to_owned(),
            ODATA_JSON.to_owned(),
        )])),
        body: serde_json::to_value(error).ok(),
        ..BatchResponseStep::default()
    }
}

/// The item's own `client-request-id`, else one derived from the batch's and the item's id.
fn item_client_request_id(ctx: &RequestContext, step: &BatchRequestStep) -> String {
    step.headers
        .iter()
        .flatten()
        .find(|(name, _)| name.eq_ignore_ascii_case("client-request-id"))
        .map_or_else(
            || {
                let base = uuid::Uuid::parse_str(ctx.client_request_id()).unwrap_or_else(|_| {
                    uuid::Uuid::new_v5(
                        &uuid::Uuid::NAMESPACE_URL,
                        ctx.client_request_id().as_bytes(),
                    )
                });
                uuid::Uuid::new_v5(&base, step.id.as_bytes()).to_string()
            },
            |(_, value)| value.clone(),
        )
}

async fn execute(
    state: &AppState,
    items: &GraphService,
    version: ApiVersion,
    ctx: &RequestContext,
    outer: &http::HeaderMap,
    step: &BatchRequestStep,
) -> BatchResponseStep {
    match build_item(version, ctx, outer, step) {
        Ok(request) => {
            let response = match items.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            into_step(state, step, response).await
        }
        Err(error) => {
            // A request that cannot even be built answers 400 on its own, like Graph.
            let graph = error.to_graph_error().with_trace(
                ctx.request_id().to_owned(),
                Some(item_client_request_id(ctx, step)),
                crate::clock::graph_date(state.clock().now_utc()),
            );
            BatchResponseStep {
                id: step.id.clone(),
                status: i32::from(error.status().as_u16()),
                headers: Some(BTreeMap::from([(
                    "Content-Type".to_owned(),
                    ODATA_JSON.to_owned(),
                )])),
                body: serde_json::to_value(graph).ok(),
                ..BatchResponseStep::default()
            }
        }
    }
}

fn build_item(
    version: ApiVersion,
    ctx: &RequestContext,
    outer: &http::HeaderMap,
    step: &BatchRequestStep,
) -> Result<Request, ApiError> {
    let url = step.url.trim();
    let relative = match url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    let uri = if url.contains("://") {
        relative.to_owned()
    } else if relative.starts_with('/') {
        format!("/{}{relative}", version.segment())
    } else {
        format!("/{}/{relative}", version.segment())
    };
    let method = Method::from_bytes(step.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| ApiError::bad_request("Invalid method."))?;
    let mut builder = Request::builder().method(method).uri(uri.as_str());
    let mut content_type = None;
    for (name, value) in step.headers.iter().flatten() {
        if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_ascii_lowercase());
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    for name in [header::AUTHORIZATION, header::HOST] {
        if let Some(value) = outer.get(&name) {
            builder = builder.header(name, value.clone());
        }
    }
    if !step
        .headers
        .iter()
        .flatten()
        .any(|(n, _)| n.eq_ignore_ascii_case("client-request-id"))
    {
        builder = builder.header("client-request-id", item_client_request_id(ctx, step));
    }
    let body = match &step.body {
        None => Bytes::new(),
        Some(serde_json::Value::String(text))
            if !content_type
                .as_deref()
                .is_some_and(|ct| ct.starts_with("application/json")) =>
        {
            decode_base64(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The body of request '{}' is not valid base64.",
                    step.id
                ))
            })?
        }
        Some(value) => Bytes::from(serde_json::to_vec(value).map_err(ApiError::internal)?),
    };
    builder
        .extension(BatchItem)
        .body(axum::body::Body::from(body))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "Request '{}' has an invalid url or header.",
                step.id
            ))
        })
}

fn decode_base64(text: &str) -> Option<Bytes> {
    teamsapp_types::batch::decode_base64(text).map(Bytes::from)
}

async fn into_step(
    state: &AppState,
    step: &BatchRequestStep,
    response: Response,
) -> BatchResponseStep {
    let status = response.status();
    let (parts, body) = response.into_parts();
    let mut headers = BTreeMap::new();
    for (name, value) in &parts.headers {
        if matches!(
            name.as_str(),
            "content-length" | "date" | "x-ms-ags-diagnostic"
        ) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.insert(display_name(name.as_str()), value.to_owned());
        }
    }
    let limit = state.config().body_limit.saturating_mul(2);
    let bytes = axum::body::to_bytes(body, limit).await.unwrap_or_default();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // A body without a type is a JSON body's to `encode_body`; here it is not JSON.
        .unwrap_or("application/octet-stream");
    let body = teamsapp_types::batch::encode_body(Some(content_type), &bytes);
    BatchResponseStep {
        id: step.id.clone(),
        status: i32::from(status.as_u16()),
        headers: (!headers.is_empty()).then_some(headers),
        body,
        ..BatchResponseStep::default()
    }
}

/// Header names as Graph writes them in batch responses.
fn display_name(name: &str) -> String {
    match name {
        "content-type" => "Content-Type",
        "location" => "Location",
        "retry-after" => "Retry-After",
        "odata-version" => "OData-Version",
        "cache-control" => "Cache-Control",
        "www-authenticate" => "WWW-Authenticate",
        "etag" => "ETag",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, deps: &[&str]) -> BatchRequestStep {
        BatchRequestStep {
            id: id.into(),
            method: "GET".into(),
            url: "/chats".into(),
            depends_on: (!deps.is_empty()).then(|| deps.iter().map(|d| (*d).to_owned()).collect()),
            ..BatchRequestStep::default()
        }
    }

    #[test]
    fn order_follows_dependencies_then_request_order() {
        // "Same": every request that depends on one depends on the third.
        let steps = [step("1", &["3"]), step("2", &["3"]), step("3", &[])];
        assert_eq!(validate(&steps).unwrap(), [2, 0, 1]);
        let serial = [step("1", &[]), step("2", &["1"]), step("3", &["2"])];
        assert_eq!(validate(&serial).unwrap(), [0, 1, 2]);
    }

    #[test]
    fn a_mixed_dependency_graph_is_refused_as_graph_does() {
        let mixed = [step("1", &["3"]), step("2", &[]), step("3", &[])];
        let error = validate(&mixed).unwrap_err();
        assert!(
            error
                .message()
                .contains("either fully sequential or fully parallel"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn malformed_batches_are_rejected() {
        assert!(validate(&[]).is_err());
        let many: Vec<_> = (0..21).map(|i| step(&i.to_string(), &[])).collect();
        assert!(
            validate(&many)
                .unwrap_err()
                .message()
                .contains("limit is 20")
        );
        assert!(validate(&many[..20]).is_ok());
        assert!(validate(&[step("a", &[]), step("A", &[])]).is_err());
        assert!(validate(&[step("a", &["x"])]).is_err());
        assert!(validate(&[step("a", &["a"])]).is_err());
        assert!(validate(&[step("a", &["b"]), step("b", &["a"])]).is_err());
        let mut with_body = step("a", &[]);
        with_body.body = Some(serde_json::json!({}));
        assert!(validate(&[with_body]).is_err());
    }

    #[test]
    fn base64_bodies_decode_in_both_alphabets() {
        assert_eq!(decode_base64("UEsDBA").unwrap(), &b"PK\x03\x04"[..]);
        assert_eq!(decode_base64("-_8=").unwrap(), &[0xfb, 0xff][..]);
        assert_eq!(decode_base64("+/8=").unwrap(), &[0xfb, 0xff][..]);
        assert!(decode_base64("!!").is_none());
    }
}
