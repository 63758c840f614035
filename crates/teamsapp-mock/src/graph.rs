//! The Graph surface: one route table entry per template and alias of every operation in
//! [`teamsapp_types::routes::ALL`], under `/v1.0` and `/beta`, and the pipeline each request
//! runs before the domain sees it:
//!
//! 1. bearer token (401 `InvalidAuthenticationToken`);
//! 2. path parameters, percent-decoded once and validated with [`teamsapp_types::ids`] (400);
//! 3. early-retry detection (a client back before the `Retry-After` it was given);
//! 4. throttling per (tenant, app, class) (429 with `Retry-After`);
//! 5. scripted responses, then seeded random faults (429, 503, 504, latency);
//! 6. query options against the route's list (400), body limit (413), content type (415), JSON
//!    well-formedness (400);
//! 7. the backend (the domain model), whose reply becomes a response with Graph's headers.
//!
//! Requests are normalized before routing as Graph reads them: path segments that name a static
//! part of a route match ASCII case-insensitively and percent-encoded (`/V1.0/Chats`, `%24batch`),
//! and one trailing slash is ignored.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, Uri, header};
use teamsapp_types::operation::OperationClass;
use teamsapp_types::{AppInstallationId, Route, routes};

use crate::auth::{self, Authenticated};
use crate::backend::{ApiVersion, GraphCall, GraphReply};
use crate::context::{CallMeta, RequestContext, graph_layer};
use crate::error::{ApiError, ODATA_JSON, ceil_seconds};
use crate::faults::{Fault, RequestFacts, Scenario, retry_key};
use crate::state::AppState;
use crate::sync::lock;

/// The Graph surface as one service: the routes (with `$batch` when `batch_items` is given: the
/// service its items run through) and their fallback, inside the body limit, the request timeout
/// and `graph_layer`, each applied once around the whole table. No axum router: one
/// `matchit` lookup finds the operation, and its parameters are decoded straight into the
/// pipeline's list (a profile under load put axum's router, its parameter map and its boxed
/// route services at 5 % of the CPU).
pub(crate) fn graph_service(state: &AppState, batch_items: Option<&GraphService>) -> GraphService {
    let table = Arc::new(RouteTable::new(state.clone(), batch_items.cloned()));
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

/// What a path and method lead to.
#[derive(Clone, Copy)]
enum Target {
    /// An operation, through its template or one of its aliases (`via_me`: a `/me/…` one).
    Operation {
        route: &'static Route,
        version: ApiVersion,
        via_me: bool,
    },
    /// `$batch`.
    Batch { version: ApiVersion },
}

/// One path of the table: its targets by method, and the `Allow` of a `405` there.
struct Endpoint {
    targets: Vec<(http::Method, Target)>,
    allow: HeaderValue,
}

impl Endpoint {
    /// The target of `method`; `HEAD` is answered as `GET` (hyper drops the body), as axum does.
    fn target(&self, method: &http::Method) -> Option<Target> {
        let find = |m: &http::Method| {
            self.targets
                .iter()
                .find(|(each, _)| each == m)
                .map(|(_, target)| *target)
        };
        find(method).or_else(|| (method == http::Method::HEAD).then(|| find(&http::Method::GET))?)
    }
}

/// Every template and alias of every operation under `/v1.0` and `/beta`, as one `matchit` table
/// (static segments before parameters, as axum's router, which is `matchit` too).
struct RouteTable {
    state: AppState,
    router: matchit::Router<Endpoint>,
    batch_items: Option<GraphService>,
}

impl RouteTable {
    fn new(state: AppState, batch_items: Option<GraphService>) -> Self {
        let mut by_path: BTreeMap<String, Vec<(http::Method, Target)>> = BTreeMap::new();
        for route in routes::ALL.iter().copied() {
            let is_batch = route.class == OperationClass::Batch;
            if is_batch && batch_items.is_none() {
                continue;
            }
            for version in ApiVersion::ALL {
                for template in std::iter::once(route.template).chain(route.aliases.iter().copied())
                {
                    let target = if is_batch {
                        Target::Batch { version }
                    } else {
                        Target::Operation {
                            route,
                            version,
                            via_me: template.starts_with(ME_PREFIX),
                        }
                    };
                    by_path
                        .entry(format!("/{}{template}", version.segment()))
                        .or_default()
                        .push((route.method.clone(), target));
                }
            }
        }
        let mut router = matchit::Router::new();
        for (path, targets) in by_path {
            let mut methods: Vec<&str> = Vec::new();
            for (method, _) in &targets {
                methods.push(method.as_str());
                if *method == http::Method::GET {
                    methods.push("HEAD");
                }
            }
            let allow = HeaderValue::from_str(&methods.join(","))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            if let Err(error) = router.insert(path.as_str(), Endpoint { targets, allow }) {
                // The route table's test proves every template fits; a conflict is a bug.
                tracing::error!(%error, path, "route skipped");
            }
        }
        Self {
            state,
            router,
            batch_items,
        }
    }

    /// The path's operation for the request's method; Graph's `400` for an unknown path, `405`
    /// (with `Allow`) for a known path and another method.
    async fn dispatch(&self, request: Request) -> Response {
        let (target, params) = {
            let Ok(matched) = self.router.at(request.uri().path()) else {
                return unknown_route(&request);
            };
            let Some(target) = matched.value.target(request.method()) else {
                return (
                    StatusCode::METHOD_NOT_ALLOWED,
                    [(header::ALLOW, matched.value.allow.clone())],
                )
                    .into_response();
            };
            let params = match target {
                Target::Operation { route, .. } => decode_params(route, &matched.params),
                Target::Batch { .. } => Ok(Vec::new()),
            };
            (target, params)
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
            (Target::Batch { .. }, None) => unknown_route(&request),
        }
    }
}

/// The captured parameters the route has, percent-decoded once, named by the route's own
/// (static) names; an alias's others (the user of `/users/{user-id}/chats/{chat-id}/…`) only
/// locate it. A segment that is not UTF-8 once decoded is Graph's `400`, answered after
/// authentication.
fn decode_params(
    route: &'static Route,
    captured: &matchit::Params<'_, '_>,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut params = Vec::with_capacity(route.path_params.len());
    for (key, value) in captured.iter() {
        let value = percent_decoded(value).ok_or_else(|| ApiError::bad_request(NOT_UTF8))?;
        if let Some(name) = route.path_params.iter().copied().find(|name| *name == key) {
            params.push((name, value.into_owned()));
        }
    }
    Ok(params)
}

/// `segment` percent-decoded as a URL path is (a `%` without two hex digits after it stays as it
/// is); borrowed when there is no `%`, `None` when the bytes are not UTF-8. Whole runs between
/// escapes are copied at once (`percent_encoding`'s byte-at-a-time iterator was 4 % of a
/// request's cost on two ids).
fn percent_decoded(segment: &str) -> Option<std::borrow::Cow<'_, str>> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = segment.as_bytes();
    let Some(first) = segment.find('%') else {
        return Some(std::borrow::Cow::Borrowed(segment));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            let next = segment[i + 1..]
                .find('%')
                .map_or(bytes.len(), |p| i + 1 + p);
            out.extend_from_slice(&bytes[i..next]);
            i = next;
        }
    }
    String::from_utf8(out).ok().map(std::borrow::Cow::Owned)
}

/// Graph's `400` for a path segment that is not UTF-8 once percent-decoded.
const NOT_UTF8: &str =
    "The request URI is not valid: a path segment is not valid UTF-8 once percent-decoded.";

/// Normalizes `request`'s path (see the module docs) in place.
pub(crate) fn normalize(request: &mut Request) {
    if let Some(uri) = normalize_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
}

/// Whether a normalized path is below a Graph version (`/v1.0/…`, `/beta/…`).
pub(crate) fn is_graph_path(path: &str) -> bool {
    let first = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .next()
        .unwrap_or("");
    ApiVersion::ALL.iter().any(|v| v.segment() == first)
}

/// Static path segments of every route, lowercase → as written (our keys: a fast hasher).
static VOCABULARY: LazyLock<HashMap<String, &'static str, foldhash::fast::RandomState>> =
    LazyLock::new(|| {
        let mut words = HashMap::default();
        for version in ApiVersion::ALL {
            words.insert(version.segment().to_owned(), version.segment());
        }
        for route in routes::ALL {
            for template in std::iter::once(route.template).chain(route.aliases.iter().copied()) {
                for segment in template.split('/') {
                    if !segment.is_empty() && !segment.starts_with('{') {
                        words.insert(segment.to_ascii_lowercase(), segment);
                    }
                }
            }
        }
        words
    });

/// The longest static segment, in bytes: a longer segment (an id) is never looked up.
const MAX_WORD: usize = 48;

/// Bytes that may appear in a static segment once percent-decoded (letters, digits, `$`, `.`, …,
/// taken from the routes): a segment with any other byte (an id's `:`, `@`, `=`) is no word.
static WORD_BYTES: LazyLock<[bool; 256]> = LazyLock::new(|| {
    let mut table = [false; 256];
    for word in VOCABULARY.keys() {
        for b in word.bytes() {
            table[usize::from(b)] = true;
            table[usize::from(b.to_ascii_uppercase())] = true;
        }
    }
    table
});

/// The static segment `segment` names when it is not already written that way (another case,
/// percent-encoded); `None` for ids and for segments already canonical. Allocates nothing: the
/// segment is decoded and lowercased into a buffer on the stack, and given up at the first byte
/// no word has.
fn respelled(segment: &str) -> Option<&'static str> {
    // A percent-encoded word is at most three times as long.
    if segment.is_empty() || segment.len() > 3 * MAX_WORD {
        return None;
    }
    let mut buffer = [0u8; MAX_WORD];
    let mut len = 0;
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                i += 3;
                u8::from_str_radix(hex, 16).ok()?
            }
            b => {
                i += 1;
                b
            }
        };
        if !WORD_BYTES[usize::from(b)] || len == MAX_WORD {
            return None;
        }
        buffer[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let lower = std::str::from_utf8(&buffer[..len]).ok()?;
    VOCABULARY
        .get(lower)
        .copied()
        .filter(|canonical| *canonical != segment)
}

/// The normalized form of `uri`, if it differs.
fn normalize_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let trimmed = if path.len() > 1 && path.ends_with('/') {
        &path[..path.len() - 1]
    } else {
        path
    };
    // The common case, a path already as Graph writes it, is checked without building anything.
    if trimmed.len() == path.len() && trimmed.split('/').all(|s| respelled(s).is_none()) {
        return None;
    }
    let mut rebuilt = String::with_capacity(uri.path_and_query().map_or(0, |p| p.as_str().len()));
    for (i, segment) in trimmed.split('/').enumerate() {
        if i > 0 {
            rebuilt.push('/');
        }
        rebuilt.push_str(respelled(segment).unwrap_or(segment));
    }
    if let Some(query) = uri.query() {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = rebuilt.parse().ok();
    Uri::from_parts(parts).ok()
}

/// 400 for a path no route has: `Resource not found for the segment '…'` below a version,
/// `Invalid version: …` otherwise.
fn unknown_route(request: &Request) -> Response {
    let segments: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let error = match segments.first().map(String::as_str) {
        Some(v) if ApiVersion::ALL.iter().any(|a| a.segment() == v) => ApiError::UnknownSegment {
            segment: first_unknown_segment(&segments[1..]),
        },
        Some("_emulator") => ApiError::NotFound {
            message: format!("no admin endpoint at {}", request.uri().path()),
        },
        Some(version) => ApiError::InvalidVersion {
            version: version.to_owned(),
        },
        None => ApiError::InvalidVersion {
            version: String::new(),
        },
    };
    error.into_response()
}

/// The first segment of `segments` (below the version) that no template can match there.
fn first_unknown_segment(segments: &[String]) -> String {
    let mut best = 0;
    for route in routes::ALL {
        for template in std::iter::once(route.template).chain(route.aliases.iter().copied()) {
            let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
            let matched = parts
                .iter()
                .zip(segments)
                .take_while(|(t, s)| t.starts_with('{') || **t == s.as_str())
                .count();
            best = best.max(matched);
        }
    }
    segments
        .get(best)
        .cloned()
        .unwrap_or_else(|| segments.last().cloned().unwrap_or_default())
}

/// The first segment of Graph's aliases that name the signed-in user (`/me/teamwork/…`,
/// `/me/chats/…`, `/me/joinedTeams/…`).
const ME_PREFIX: &str = "/me/";

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
    captured: Result<Vec<(&'static str, String)>, ApiError>,
}

/// One Graph request, start to finish; `via_me` when it came through a `/me/…` alias.
async fn handle(
    state: AppState,
    route: &'static Route,
    version: ApiVersion,
    via_me: bool,
    request: Request,
    captured: Result<Vec<(&'static str, String)>, ApiError>,
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

    #[test]
    fn normalization_fixes_case_encoding_and_trailing_slash() {
        let uri: Uri = "/V1.0/Chats/19%3Aabc%40thread.v2/INSTALLEDAPPS/?$top=1"
            .parse()
            .unwrap();
        assert_eq!(
            normalize_uri(&uri).unwrap().to_string(),
            "/v1.0/chats/19%3Aabc%40thread.v2/installedApps?$top=1"
        );
        let uri: Uri = "/v1.0/%24batch".parse().unwrap();
        assert_eq!(normalize_uri(&uri).unwrap().path(), "/v1.0/$batch");
        let uri: Uri = "/v1.0/chats/x/installedApps".parse().unwrap();
        assert_eq!(normalize_uri(&uri), None);
    }

    #[test]
    fn path_segments_decode_as_percent_encoding_does() {
        for segment in [
            "",
            "plain",
            "19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2",
            "a%3D%3d",
            "%",
            "%4",
            "%zz%41",
            "100%",
            "%%41",
            "%C3%A9t%C3%A9",
            "%E2%82",
            "%ff",
        ] {
            let expected = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()
                .map(std::borrow::Cow::into_owned);
            assert_eq!(
                super::percent_decoded(segment).map(std::borrow::Cow::into_owned),
                expected,
                "{segment:?}"
            );
        }
    }

    #[test]
    fn every_static_segment_fits_the_lookup_buffer() {
        assert!(VOCABULARY.keys().all(|word| word.len() <= MAX_WORD));
    }

    #[test]
    fn unknown_segments_are_found() {
        let s = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(first_unknown_segment(&s("chats/x/foo")), "foo");
        assert_eq!(first_unknown_segment(&s("drives/chats")), "drives");
        assert_eq!(first_unknown_segment(&s("me/chats/x/messages")), "messages");
        assert_eq!(
            first_unknown_segment(&s("chats/x/installedApps/y/upgrade/z")),
            "z"
        );
    }

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
