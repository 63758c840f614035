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
use crate::credential::{AccessToken, Credential, DynCredential, TokenRequest};
use crate::error::excerpt;
use crate::retry::{RetryPolicy, retry_after_delay};
pub use crate::stats::ClientStats;
use crate::stats::Stats;
use crate::throttle::{RateLimit, Throttle};

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
    http: reqwest::Client,
    /// The base URL without a trailing slash, e.g. `https://graph.microsoft.com/v1.0`.
    base: String,
    base_url: Url,
    authority: String,
    scopes: Vec<String>,
    credential: Option<Arc<dyn DynCredential>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) throttle: Throttle,
    pub(crate) stats: Stats,
    concurrency: Option<Semaphore>,
    pub(crate) tenant: String,
    user_agent: HeaderValue,
    request_timeout: Option<Duration>,
    cloud: Option<NationalCloud>,
    max_response_bytes: usize,
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

/// Builds a [`Client`]; start with [`Client::builder`].
pub struct ClientBuilder {
    cloud: Option<NationalCloud>,
    base_url: Option<String>,
    authority: Option<String>,
    credential: Option<Arc<dyn DynCredential>>,
    retry: RetryPolicy,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    user_agent: String,
    max_concurrency: Option<usize>,
    rate_limit: RateLimit,
    throttle: Option<Throttle>,
    tenant: Option<String>,
    scopes: Option<Vec<String>>,
    http: Option<reqwest::Client>,
    root_certificates: Vec<reqwest::Certificate>,
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("cloud", &self.cloud)
            .field("base_url", &self.base_url)
            .field("authority", &self.authority)
            .field("has_credential", &self.credential.is_some())
            .field("retry", &self.retry)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            cloud: None,
            base_url: None,
            authority: None,
            credential: None,
            retry: RetryPolicy::standard(),
            connect_timeout: Some(Duration::from_secs(10)),
            request_timeout: Some(Duration::from_secs(100)),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_concurrency: None,
            rate_limit: RateLimit::teams_defaults(),
            throttle: None,
            tenant: None,
            scopes: None,
            http: None,
            root_certificates: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClientBuilder {
    /// The national cloud: sets the Graph base URL (`https://{graph host}/v1.0`) and the sign-in
    /// authority, unless [`base_url`](Self::base_url) or [`authority`](Self::authority) override
    /// them. Operations the cloud does not offer fail with [`Error::Unsupported`] before any request.
    #[must_use]
    pub fn cloud(mut self, cloud: NationalCloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// The Graph base URL including the version, like Microsoft's SDKs:
    /// `https://graph.microsoft.com/v1.0`, or the emulator's `http://127.0.0.1:PORT/v1.0`.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The sign-in authority without tenant (`https://login.microsoftonline.com`, or the emulator's
    /// origin); credentials call `{authority}/{tenant}/oauth2/v2.0/token`.
    #[must_use]
    pub fn authority(mut self, url: impl Into<String>) -> Self {
        self.authority = Some(url.into());
        self
    }

    /// Where bearer tokens come from. Without one, requests carry no `Authorization` header.
    #[must_use]
    pub fn credential(mut self, credential: impl Credential + 'static) -> Self {
        self.credential = Some(Arc::new(credential));
        self
    }

    /// The retry policy (default [`RetryPolicy::standard`]).
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The connect timeout (default 10 s; `None` for none). Ignored with
    /// [`Client::from_reqwest`], whose client has its own.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// The timeout of one attempt, from sending to the end of the body (default 100 s, like
    /// Microsoft's SDKs; `None` for none).
    #[must_use]
    pub fn request_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.request_timeout = timeout.into();
        self
    }

    /// The `User-Agent` (default `teamsapp/<version>`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// At most `n` requests in flight at once (default: no limit besides the rate limit).
    #[must_use]
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// The client-side rate limits (default [`RateLimit::teams_defaults`]). Ignored when a shared
    /// [`throttle`](Self::throttle) is given: it carries its own.
    #[must_use]
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// Shares a throttle gate and rate limiter with other clients (for example one client per
    /// tenant, all in one process).
    #[must_use]
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The tenant that keys the throttle gate and the rate limits (default: the credential's
    /// tenant, if it knows it).
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The scopes tokens are requested for (default: `{origin of the base URL}/.default`, i.e.
    /// `https://graph.microsoft.com/.default` in the global cloud).
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The largest response body accepted (default 32 MiB).
    #[must_use]
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Also trusts the certificates of a PEM bundle (one or more `CERTIFICATE` blocks) as roots,
    /// besides the platform's: for a TLS-inspecting proxy or an emulator with its own
    /// certificate. Ignored when the client was built [`from_reqwest`](Client::from_reqwest).
    ///
    /// Fails with [`Error::Config`] when `pem` holds no certificate or a damaged one.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for der in CertificateDer::pem_slice_iter(pem) {
            let der =
                der.map_err(|e| Error::config(format!("not a PEM certificate bundle: {e}")))?;
            // Parsed here so a damaged certificate fails now, not at the first handshake.
            roots
                .add(der.clone())
                .map_err(|e| Error::config(format!("a damaged PEM certificate: {e}")))?;
            let cert = reqwest::Certificate::from_der(&der)
                .map_err(|e| Error::config(format!("a damaged PEM certificate: {e}")))?;
            self.root_certificates.push(cert);
        }
        if roots.is_empty() {
            return Err(Error::config(
                "not a PEM certificate bundle: no CERTIFICATE block",
            ));
        }
        Ok(self)
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let detected = self
            .base_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .and_then(|u| u.host_str().and_then(NationalCloud::from_graph_host));
        let cloud = self.cloud.or(detected);
        let effective = cloud.unwrap_or_default();
        let base = self
            .base_url
            .unwrap_or_else(|| format!("{}/v1.0", effective.graph_base_url()));
        let base = base.trim_end_matches('/').to_owned();
        let base_url = Url::parse(&base)
            .map_err(|e| Error::config(format!("base url {base:?} is not a url: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::config(format!(
                "base url {base:?} must be an http or https url"
            )));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(Error::config(format!(
                "base url {base:?} must not have a query or fragment"
            )));
        }
        let authority = self
            .authority
            .unwrap_or_else(|| format!("https://{}", effective.login_host()))
            .trim_end_matches('/')
            .to_owned();
        let scopes = self.scopes.unwrap_or_else(|| {
            vec![format!(
                "{}/.default",
                base_url.origin().ascii_serialization()
            )]
        });
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::config("the user agent is not a valid header value"))?;
        let http = if let Some(http) = self.http {
            http
        } else {
            let mut builder = reqwest::Client::builder().redirect(same_origin_redirects());
            if let Some(t) = self.connect_timeout {
                builder = builder.connect_timeout(t);
            }
            for cert in self.root_certificates {
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build()
                .map_err(|e| Error::config(format!("could not build the http client: {e}")))?
        };
        let tenant = self
            .tenant
            .or_else(|| {
                self.credential
                    .as_ref()
                    .and_then(|c| c.tenant_dyn().map(str::to_owned))
            })
            .unwrap_or_default();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                base_url,
                authority,
                scopes,
                credential: self.credential,
                retry: self.retry,
                throttle: self
                    .throttle
                    .unwrap_or_else(|| Throttle::new(self.rate_limit)),
                stats: Stats::default(),
                concurrency: self.max_concurrency.map(Semaphore::new),
                tenant,
                user_agent,
                request_timeout: self.request_timeout,
                cloud,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

/// Follows up to 5 redirects within the same origin; a redirect to another origin is not followed
/// (the 3xx comes back as an error), so `Authorization` never goes to another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("too many redirects");
        }
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
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
        ClientBuilder {
            http: Some(http),
            ..ClientBuilder::default()
        }
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
