//! The client, its builder and the request pipeline: gate, rate limit, concurrency, token, send,
//! classify, retry.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Url;
use secrecy::ExposeSecret;
use teamsapp_types::cloud::NationalCloud;
use teamsapp_types::operation::{OperationClass, Route};
use teamsapp_types::{GraphError, Operation};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

use crate::Error;
use crate::credential::{AccessToken, DynCredential, TokenRequest};
use crate::error::excerpt;
use crate::retry::{RetryPolicy, retry_after_delay};
pub use crate::stats::ClientStats;
use crate::stats::Stats;
use crate::throttle::Throttle;

mod builder;
pub use builder::ClientBuilder;

/// The default `User-Agent`: `teamsapp/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("teamsapp/", env!("CARGO_PKG_VERSION"));

/// The default limit on a response body.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// The `client-request-id` header.
const CLIENT_REQUEST_ID: &str = "client-request-id";

/// Characters percent-encoded in query names and values: everything that would end or confuse a
/// query component, and `'`, which the URL parser would encode anyway. `$`, `,`, `/`, `(`, `)` and
/// `:` stay as they are, as Graph's documentation writes them (`$expand=teamsAppDefinition($expand=bot)`).
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A Microsoft Graph client for Teams app installations.
///
/// Cheap to clone: clones share the connection pool, the token cache, the throttle gate and the
/// rate limiter.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(super) http: reqwest::Client,
    /// The base URL without a trailing slash, e.g. `https://graph.microsoft.com/v1.0`.
    pub(super) base: String,
    pub(super) base_url: Url,
    pub(super) authority: String,
    pub(super) scopes: Vec<String>,
    pub(super) credential: Option<Arc<dyn DynCredential>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) throttle: Throttle,
    pub(crate) stats: Stats,
    pub(super) concurrency: Option<Semaphore>,
    pub(crate) tenant: String,
    pub(super) user_agent: HeaderValue,
    pub(super) request_timeout: Option<Duration>,
    pub(super) cloud: Option<NationalCloud>,
    pub(super) max_response_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("authority", &self.inner.authority)
            .field("tenant", &self.inner.tenant)
            .field("cloud", &self.inner.cloud)
            .field("has_credential", &self.inner.credential.is_some())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// A request ready to send (and to send again).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) route: &'static Route,
    pub(crate) url: Url,
    pub(crate) body: Option<(&'static str, Bytes)>,
    pub(crate) idempotent: bool,
    /// Rate-limit cells per class.
    pub(crate) costs: Vec<(OperationClass, u32)>,
    /// The gates to wait for, and to hold when Graph asks to wait.
    pub(crate) gates: Vec<OperationClass>,
}

/// A response, body read.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) client_request_id: String,
}

impl RawResponse {
    fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        let date = self
            .headers
            .get(http::header::DATE)
            .and_then(|d| d.to_str().ok());
        retry_after_delay(value, date, SystemTime::now())
    }
}

/// `name=value&…`, percent-encoded for a URL query.
pub(crate) fn encode_query(pairs: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, QUERY));
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY));
    }
    out
}

/// The operation's path and query below the version prefix, as `$batch` wants it.
pub(crate) fn relative_url<O: Operation>(op: &O) -> String {
    let query = encode_query(&op.query());
    if query.is_empty() {
        op.path()
    } else {
        format!("{}?{query}", op.path())
    }
}

/// Graph's `Retry-After`-carrying statuses and what they mean for a retry.
#[derive(Clone, Copy)]
enum Kind {
    Throttled,
    Transient,
    Connect,
}

impl Client {
    /// A builder with the defaults: global cloud, [`RetryPolicy::standard`], the published Teams
    /// rate limits, 10 s connect and 100 s request timeouts.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A builder that sends through a preconfigured reqwest client (proxies, custom roots, …).
    ///
    /// The client's own redirect policy applies: reqwest's default drops `Authorization` when a
    /// redirect leaves the host, and the builder's [`connect_timeout`](ClientBuilder::connect_timeout)
    /// is ignored.
    pub fn from_reqwest(http: reqwest::Client) -> ClientBuilder {
        ClientBuilder::with_http(http)
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The sign-in authority.
    pub fn authority(&self) -> &str {
        &self.inner.authority
    }

    /// The tenant that keys the throttle gate and the rate limits (empty when unknown).
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The shared throttle gate and rate limiter.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// What this client (and its clones) met so far: `429` answers, retries and time spent
    /// waiting (`Retry-After`, backoff, the shared gate and the rate limiter). Cumulative; take
    /// two readings and subtract to measure a stretch of work.
    pub fn stats(&self) -> ClientStats {
        self.inner.stats.snapshot()
    }

    /// Sends one operation and decodes its answer.
    ///
    /// The path, query and body come from the generated request type; success is any status its
    /// route accepts (`O::ROUTE.accepts`). Throttling, retries, the shared gate and the rate limit
    /// apply as the client is configured.
    pub async fn send<O: Operation>(&self, op: &O) -> Result<O::Response, Error> {
        let prepared = self.prepare(op)?;
        let raw = self.execute(prepared).await?;
        decode::<O>(&raw)
    }

    /// The absolute URL of a path below the version prefix, plus a query.
    pub(crate) fn url_for(&self, relative: &str) -> Result<Url, Error> {
        let full = format!("{}{relative}", self.inner.base);
        Url::parse(&full).map_err(|e| Error::invalid(format!("{full:?} is not a url: {e}")))
    }

    /// Refuses operations the configured cloud does not offer.
    pub(crate) fn check_cloud(&self, route: &'static Route) -> Result<(), Error> {
        match self.inner.cloud {
            Some(cloud) if !route.available_in(cloud) => Err(Error::Unsupported {
                operation: route.operation_id,
                cloud: cloud.name(),
            }),
            _ => Ok(()),
        }
    }

    /// Turns a typed operation into a request.
    pub(crate) fn prepare<O: Operation>(&self, op: &O) -> Result<Prepared, Error> {
        let route = O::ROUTE;
        self.check_cloud(route)?;
        let url = self.url_for(&relative_url(op))?;
        let body = op
            .body()
            .map_err(|e| {
                Error::invalid(format!(
                    "could not serialize the body of {}: {e}",
                    route.operation_id
                ))
            })?
            .map(|b| (b.content_type, Bytes::from(b.bytes)));
        Ok(Prepared {
            route,
            url,
            body,
            idempotent: route.idempotent,
            costs: vec![(route.class, 1)],
            gates: vec![route.class],
        })
    }

    /// Whether `link` has the base URL's origin (scheme, host and port).
    pub(crate) fn same_origin(&self, link: &Url) -> bool {
        link.origin() == self.inner.base_url.origin()
    }

    /// A token from the client's credential for its scopes (cached by the credential), e.g. to
    /// check a sign-in or to hand to another tool.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let Some(credential) = &self.inner.credential else {
            return Err(Error::auth("the client has no credential", None));
        };
        let request = TokenRequest {
            scopes: &self.inner.scopes,
            authority: &self.inner.authority,
            http: &self.inner.http,
        };
        credential.token_dyn(&request).await
    }

    /// The `Authorization` value, if the client has a credential.
    async fn bearer(&self) -> Result<Option<HeaderValue>, Error> {
        if self.inner.credential.is_none() {
            return Ok(None);
        }
        let token = self.access_token().await?;
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.secret().expose_secret())).map_err(
                |_| Error::auth("the token holds characters a header cannot carry", None),
            )?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Sends a prepared request with the gate, the rate limit, the concurrency limit and retries.
    pub(crate) async fn execute(&self, prepared: Prepared) -> Result<RawResponse, Error> {
        let id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "graph.request",
            operation = prepared.route.operation_id,
            method = %prepared.route.method,
            client_request_id = %id,
        );
        self.execute_inner(prepared, id).instrument(span).await
    }

    async fn execute_inner(&self, prepared: Prepared, id: String) -> Result<RawResponse, Error> {
        let inner = &self.inner;
        let policy = &inner.retry;
        let tenant = inner.tenant.as_str();
        let start = Instant::now();
        let mut attempts: u32 = 0;
        let mut waited = Duration::ZERO;
        let mut throttled_retries: u32 = 0;
        let mut transient_retries: u32 = 0;
        let mut connect_retries: u32 = 0;
        loop {
            let mut held = inner.throttle.wait_gate(tenant, &prepared.gates).await;
            for &(class, n) in &prepared.costs {
                held += inner.throttle.acquire(tenant, class, n).await;
            }
            inner.stats.add_wait(held);
            waited += held;
            let permit = match &inner.concurrency {
                Some(semaphore) => Some(
                    semaphore
                        .acquire()
                        .await
                        .map_err(|_| Error::config("the concurrency limiter was closed"))?,
                ),
                None => None,
            };
            let auth = self.bearer().await?;
            attempts += 1;
            let attempt_span = tracing::debug_span!(
                "graph.attempt",
                attempt = attempts,
                status = tracing::field::Empty,
                wait_ms = tracing::field::Empty,
            );
            let sent = Instant::now();
            let outcome = self
                .attempt(&prepared, auth.as_ref(), &id, attempts)
                .instrument(attempt_span.clone())
                .await?;
            drop(permit);
            log_attempt(&prepared, &outcome, sent.elapsed(), attempts, waited);
            let (kind, retry_after, error) = match outcome {
                Ok(raw) => {
                    attempt_span.record("status", raw.status.as_u16());
                    if prepared.route.accepts(raw.status) {
                        return Ok(raw);
                    }
                    let retry_after = raw.retry_after();
                    if raw.status == StatusCode::TOO_MANY_REQUESTS {
                        inner.stats.throttled.fetch_add(1, AtomicOrdering::Relaxed);
                    }
                    let kind = match raw.status {
                        StatusCode::TOO_MANY_REQUESTS => Some(Kind::Throttled),
                        StatusCode::SERVICE_UNAVAILABLE => Some(Kind::Transient),
                        StatusCode::GATEWAY_TIMEOUT if prepared.idempotent => Some(Kind::Transient),
                        _ => None,
                    };
                    if let (Some(wait), true) = (
                        retry_after,
                        matches!(
                            raw.status,
                            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                        ),
                    ) {
                        for &class in &prepared.gates {
                            inner.throttle.pause(tenant, class, wait);
                        }
                    }
                    let error = api_error(&raw, retry_after);
                    match kind {
                        Some(kind) => (kind, retry_after, error),
                        None => return Err(error),
                    }
                }
                Err(source) => {
                    let connect = source.is_connect();
                    let retryable = connect || prepared.idempotent;
                    let error = Error::Transport {
                        operation: prepared.route.operation_id,
                        client_request_id: id.clone(),
                        source,
                    };
                    if !retryable {
                        return Err(error);
                    }
                    let kind = if connect {
                        Kind::Connect
                    } else {
                        Kind::Transient
                    };
                    (kind, None, error)
                }
            };
            let (rule, used) = match kind {
                Kind::Throttled => (&policy.throttled, &mut throttled_retries),
                Kind::Transient => (&policy.transient, &mut transient_retries),
                Kind::Connect => (&policy.connect, &mut connect_retries),
            };
            if rule.max_retries == 0 {
                return Err(error);
            }
            let delay = retry_after.unwrap_or_else(|| rule.delay(*used + 1));
            if *used >= rule.max_retries || start.elapsed() + delay > policy.budget {
                tracing::debug!(attempts, ?waited, "giving up");
                return Err(match error {
                    Error::Api { .. } => Error::Throttled {
                        attempts,
                        waited,
                        last: Box::new(error),
                    },
                    other => other,
                });
            }
            *used += 1;
            attempt_span.record(
                "wait_ms",
                u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            );
            tracing::debug!(parent: &attempt_span, ?delay, retry_after = retry_after.is_some(), "retrying");
            tokio::time::sleep(delay).await;
            inner.stats.retries.fetch_add(1, AtomicOrdering::Relaxed);
            inner.stats.add_wait(delay);
            waited += delay;
        }
    }

    /// One attempt: the outer error ends the request, the inner one is a transport failure.
    async fn attempt(
        &self,
        prepared: &Prepared,
        auth: Option<&HeaderValue>,
        id: &str,
        attempt: u32,
    ) -> Result<Result<RawResponse, reqwest::Error>, Error> {
        let inner = &self.inner;
        let mut request = inner
            .http
            .request(prepared.route.method.clone(), prepared.url.clone())
            .header(CLIENT_REQUEST_ID, id)
            .header(USER_AGENT, inner.user_agent.clone())
            .header(ACCEPT, "application/json");
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if attempt > 1 {
            request = request.header("Retry-Attempt", (attempt - 1).to_string());
        }
        if let Some((content_type, bytes)) = &prepared.body {
            request = request
                .header(CONTENT_TYPE, *content_type)
                .body(bytes.clone());
        }
        if let Some(timeout) = inner.request_timeout {
            request = request.timeout(timeout);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Ok(Err(e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > inner.max_response_bytes {
                        return Err(Error::BodyTooLarge {
                            operation: prepared.route.operation_id,
                            limit: inner.max_response_bytes,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(RawResponse {
            status,
            headers,
            body: Bytes::from(body),
            client_request_id: id.to_owned(),
        }))
    }
}

/// One line per attempt at debug level (`--debug`): method, URL, status, duration, request-id, the
/// attempt number and the time waited so far. Graph URLs carry no secret, and the token is never
/// logged (it travels in a header that is not logged).
fn log_attempt(
    prepared: &Prepared,
    outcome: &Result<RawResponse, reqwest::Error>,
    took: Duration,
    attempt: u32,
    waited: Duration,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    let waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(raw) => {
            let request_id = raw
                .headers
                .get("request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::debug!(
                attempt,
                waited_ms,
                "{} {} -> {} in {took_ms} ms (request-id {request_id})",
                prepared.route.method,
                prepared.url,
                raw.status.as_u16(),
            );
        }
        Err(err) => tracing::debug!(
            attempt,
            waited_ms,
            "{} {} -> no answer after {took_ms} ms: {err}",
            prepared.route.method,
            prepared.url,
        ),
    }
}

/// Decodes a success body into the operation's response type.
pub(crate) fn decode<O: Operation>(raw: &RawResponse) -> Result<O::Response, Error> {
    O::decode(&raw.body).map_err(|source| Error::Decode {
        operation: O::ROUTE.operation_id,
        status: raw.status,
        client_request_id: raw.client_request_id.clone(),
        excerpt: excerpt(&raw.body),
        source,
    })
}

/// An [`Error::Api`] from a response.
fn api_error(raw: &RawResponse, retry_after: Option<Duration>) -> Error {
    let header = |name: &str| {
        raw.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let error = graph_error(
        raw.status,
        &raw.body,
        header("request-id"),
        header(CLIENT_REQUEST_ID).or_else(|| Some(raw.client_request_id.clone())),
        header("date"),
    );
    Error::Api {
        status: raw.status,
        error: Box::new(error),
        retry_after,
    }
}

/// Graph's error envelope from a body, or one made up from the status and the body's start when the
/// body is not an envelope; tracing fields missing from the body are filled in from the headers.
pub(crate) fn graph_error(
    status: StatusCode,
    body: &[u8],
    request_id: Option<String>,
    client_request_id: Option<String>,
    date: Option<String>,
) -> GraphError {
    let mut error = serde_json::from_slice::<GraphError>(body).unwrap_or_else(|_| {
        let code: String = status
            .canonical_reason()
            .unwrap_or("UnknownError")
            .split(|c: char| !c.is_ascii_alphanumeric())
            .collect();
        GraphError::new(code, excerpt(body).trim())
    });
    let inner = error.error.inner_error.get_or_insert_with(Default::default);
    if inner.request_id.is_none() {
        inner.request_id = request_id;
    }
    if inner.client_request_id.is_none() {
        inner.client_request_id = client_request_id;
    }
    if inner.date.is_none() {
        inner.date = date;
    }
    error
}

#[cfg(test)]
mod tests;
