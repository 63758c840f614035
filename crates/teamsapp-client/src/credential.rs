//! Credentials: where bearer tokens come from.
//!
//! - [`StaticToken`]: a token you already have;
//! - [`ClientSecretCredential`]: the OAuth 2.0 client credentials flow (application permissions);
//! - [`DeviceCodeCredential`]: the device authorization flow (delegated permissions, a person signs
//!   in on another device).
//!
//! The two flows cache tokens per (authority, scopes) and refresh them before they expire; concurrent
//! callers share one refresh. Tokens, client secrets, device codes and refresh tokens never appear in
//! `Debug`, `Display`, errors or logs.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use teamsapp_types::operation::encode_path_segment;
use tokio::time::Instant;

use crate::Error;

/// How long before expiry a cached token is refreshed (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_mins(5);

/// A lifetime long enough to mean "never expires".
const FAR_FUTURE: Duration = Duration::from_hours(100 * 365 * 24);

/// The grant type of the device authorization flow (RFC 8628).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Now, on tokio's clock (so a paused test clock drives token expiry too).
fn now() -> Instant {
    Instant::now()
}

/// `now + d`, saturating far in the future.
fn later(d: Duration) -> Instant {
    let now = now();
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// A bearer token and when it expires (on tokio's clock, like every wait of this crate). `Debug`
/// never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Instant,
}

impl AccessToken {
    /// A token that expires at `expires_at`.
    pub fn new(secret: impl Into<String>, expires_at: Instant) -> Self {
        Self {
            secret: SecretString::from(secret.into()),
            expires_at,
        }
    }

    /// A token that expires `lifetime` from now.
    pub fn expiring_in(secret: impl Into<String>, lifetime: Duration) -> Self {
        Self::new(secret, later(lifetime))
    }

    /// The token itself; call [`ExposeSecret::expose_secret`] to read it.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// How long until the token expires (zero once expired).
    pub fn expires_in(&self) -> Duration {
        self.expires_at.saturating_duration_since(now())
    }

    /// Whether the token has expired.
    pub fn is_expired(&self) -> bool {
        now() >= self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field(
                "expires_in",
                &self.expires_at.saturating_duration_since(now()),
            )
            .finish()
    }
}

/// What a credential is asked for: the scopes, and the context the client provides.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TokenRequest<'a> {
    /// The scopes, e.g. `["https://graph.microsoft.com/.default"]`.
    pub scopes: &'a [String],
    /// The sign-in authority without tenant, e.g. `https://login.microsoftonline.com`; token
    /// endpoints are `{authority}/{tenant}/oauth2/v2.0/token`.
    pub authority: &'a str,
    /// The client's HTTP client (rustls, redirects restricted to the same host), for token requests.
    pub http: &'a reqwest::Client,
}

/// A source of bearer tokens.
///
/// Implement it to plug in another token source; the client calls [`Credential::token`] before
/// every attempt, so implementations should cache.
pub trait Credential: Send + Sync {
    /// A token for `request.scopes`.
    fn token(
        &self,
        request: &TokenRequest<'_>,
    ) -> impl Future<Output = Result<AccessToken, Error>> + Send;

    /// The tenant the tokens are for, if known: the client keys its throttle gate and rate limits by
    /// it.
    fn tenant(&self) -> Option<&str> {
        None
    }
}

/// A boxed future, for the object-safe twin of [`Credential`].
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`Credential`], so the client can hold any credential.
pub(crate) trait DynCredential: Send + Sync {
    fn token_dyn<'a>(
        &'a self,
        request: &'a TokenRequest<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, Error>>;
    fn tenant_dyn(&self) -> Option<&str>;
}

impl<C: Credential> DynCredential for C {
    fn token_dyn<'a>(
        &'a self,
        request: &'a TokenRequest<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, Error>> {
        Box::pin(self.token(request))
    }

    fn tenant_dyn(&self) -> Option<&str> {
        self.tenant()
    }
}

/// A token you already have (from the Azure CLI, a test, an environment variable); it is used as
/// is and never refreshed.
#[derive(Clone)]
pub struct StaticToken {
    token: SecretString,
    tenant: Option<String>,
}

impl StaticToken {
    /// A static bearer token.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: SecretString::from(token.into()),
            tenant: None,
        }
    }

    /// Names the token's tenant, so the throttle gate and rate limits are keyed by it.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &"[redacted]")
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl Credential for StaticToken {
    async fn token(&self, _request: &TokenRequest<'_>) -> Result<AccessToken, Error> {
        Ok(AccessToken {
            secret: self.token.clone(),
            expires_at: later(FAR_FUTURE),
        })
    }

    fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}

/// Tokens cached per key, refreshed before expiry, with one refresh at a time per cache.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: tokio::sync::Mutex<HashMap<String, Cached>>,
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

impl TokenCache {
    /// The cached token for `key` or, when it is missing or due for refresh, a new one from `fetch`.
    ///
    /// The lock is held during `fetch`, so concurrent callers wait for the one refresh and share its
    /// result. If a refresh fails while the cached token is still valid, the cached token is used.
    pub(crate) async fn get<F, Fut>(&self, key: String, fetch: F) -> Result<AccessToken, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, Error>>,
    {
        let mut entries = self.entries.lock().await;
        let stale = match entries.get(&key) {
            Some(cached) if now() < cached.refresh_at => return Ok(cached.token.clone()),
            Some(cached) if !cached.token.is_expired() => Some(cached.token.clone()),
            _ => None,
        };
        let token = match fetch().await {
            Ok(token) => token,
            Err(err) => {
                if let Some(stale) = stale {
                    tracing::warn!(error = %err, "token refresh failed; using the cached token until it expires");
                    return Ok(stale);
                }
                return Err(err);
            }
        };
        let fetched = now();
        let lifetime = token.expires_at.saturating_duration_since(fetched);
        let margin = (lifetime / 2).min(REFRESH_MARGIN);
        entries.insert(
            key,
            Cached {
                refresh_at: fetched + lifetime.saturating_sub(margin),
                token: token.clone(),
            },
        );
        Ok(token)
    }
}

/// The OAuth 2.0 client credentials flow against `{authority}/{tenant}/oauth2/v2.0/token`, with a
/// client secret.
///
/// The authority comes from the client ([`ClientBuilder::authority`](crate::ClientBuilder::authority)
/// or its cloud) unless [`ClientSecretCredential::with_authority`] overrides it.
pub struct ClientSecretCredential {
    tenant: String,
    client_id: String,
    secret: SecretString,
    authority: Option<String>,
    cache: TokenCache,
}

impl ClientSecretCredential {
    /// A credential for the app `client_id` in `tenant` (an id or a domain), with its secret.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            secret: SecretString::from(client_secret.into()),
            authority: None,
            cache: TokenCache::default(),
        }
    }

    /// Uses this authority (`https://login.microsoftonline.com`, the emulator's origin, …) instead
    /// of the client's.
    #[must_use]
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into().trim_end_matches('/').to_owned());
        self
    }

    async fn fetch(
        &self,
        url: &str,
        scope: &str,
        http: &reqwest::Client,
    ) -> Result<AccessToken, Error> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            ("scope", scope),
        ];
        match post_form(http, url, &form, &[self.secret.expose_secret()]).await? {
            TokenAnswer::Token(token) => token.into_access_token(),
            TokenAnswer::Error(err) => Err(err.into_error()),
        }
    }
}

impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretCredential")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl Credential for ClientSecretCredential {
    async fn token(&self, request: &TokenRequest<'_>) -> Result<AccessToken, Error> {
        let authority = self.authority.as_deref().unwrap_or(request.authority);
        let url = endpoint(authority, &self.tenant, "token");
        let scope = request.scopes.join(" ");
        let key = format!("{url} {scope}");
        self.cache
            .get(key, || self.fetch(&url, &scope, request.http))
            .instrument_token()
            .await
    }

    fn tenant(&self) -> Option<&str> {
        Some(&self.tenant)
    }
}

/// What the person signing in must be told: open `verification_uri` and enter `user_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCodePrompt {
    /// The code to enter.
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// The identity platform's ready-made instruction, to show as is.
    pub message: String,
    /// How long the code is valid.
    pub expires_in: Duration,
}

/// The prompt callback of a [`DeviceCodeCredential`].
type Prompt = Arc<dyn Fn(&DeviceCodePrompt) + Send + Sync>;

/// The device authorization flow (RFC 8628) against `{authority}/{tenant}/oauth2/v2.0/devicecode`
/// and `…/token`, for delegated permissions.
///
/// On the first token request it asks for a device code, calls the prompt callback with the message
/// to show, and polls the token endpoint at the interval the server asked for (`authorization_pending`:
/// keep polling; `slow_down`: poll 5 s less often; `expired_token`, `access_denied`: fail). When the
/// answer carries a refresh token (the flow asks for `offline_access`), later refreshes use it
/// without prompting again.
pub struct DeviceCodeCredential {
    tenant: String,
    client_id: String,
    prompt: Prompt,
    authority: Option<String>,
    cache: TokenCache,
    refresh_token: Mutex<Option<SecretString>>,
}

impl DeviceCodeCredential {
    /// A credential for the public client `client_id` in `tenant` (an id, a domain or
    /// `organizations`); `prompt` shows the sign-in instruction to the person.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        prompt: impl Fn(&DeviceCodePrompt) + Send + Sync + 'static,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            prompt: Arc::new(prompt),
            authority: None,
            cache: TokenCache::default(),
            refresh_token: Mutex::new(None),
        }
    }

    /// Uses this authority instead of the client's.
    #[must_use]
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into().trim_end_matches('/').to_owned());
        self
    }

    async fn fetch(
        &self,
        authority: &str,
        scope: &str,
        http: &reqwest::Client,
    ) -> Result<AccessToken, Error> {
        let token_url = endpoint(authority, &self.tenant, "token");
        let refresh = self
            .refresh_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(refresh) = refresh {
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("refresh_token", refresh.expose_secret()),
                ("scope", scope),
            ];
            match post_form(http, &token_url, &form, &[refresh.expose_secret()]).await {
                Ok(TokenAnswer::Token(token)) => return self.accept(token),
                Ok(TokenAnswer::Error(err)) => {
                    tracing::debug!(code = %err.error, "refresh token refused; signing in again");
                }
                Err(err) => tracing::debug!(error = %err, "refresh failed; signing in again"),
            }
        }
        self.sign_in(authority, &token_url, scope, http).await
    }

    async fn sign_in(
        &self,
        authority: &str,
        token_url: &str,
        scope: &str,
        http: &reqwest::Client,
    ) -> Result<AccessToken, Error> {
        let code_url = endpoint(authority, &self.tenant, "devicecode");
        let form = [("client_id", self.client_id.as_str()), ("scope", scope)];
        let response = http
            .post(&code_url)
            .header(http::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(token_transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(token_transport_error)?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<TokenErrorBody>(&body) {
                Ok(err) => err.into_error(),
                Err(_) => Error::auth(format!("the device code endpoint answered {status}"), None),
            });
        }
        let code: DeviceCodeBody = serde_json::from_slice(&body).map_err(|_| {
            Error::auth(
                "the device code endpoint's answer is not a device code response",
                None,
            )
        })?;
        let device_code = SecretString::from(code.device_code);
        let expires_in = Duration::from_secs(code.expires_in.unwrap_or(900));
        (self.prompt)(&DeviceCodePrompt {
            message: code.message.unwrap_or_else(|| {
                format!(
                    "To sign in, open {} and enter the code {}",
                    code.verification_uri, code.user_code
                )
            }),
            user_code: code.user_code,
            verification_uri: code.verification_uri,
            expires_in,
        });
        let deadline = Instant::now() + expires_in;
        let mut interval = Duration::from_secs(code.interval.unwrap_or(5).clamp(1, 60));
        loop {
            tokio::time::sleep(interval).await;
            if Instant::now() >= deadline {
                return Err(Error::auth(
                    "the device code expired before sign-in completed",
                    Some("expired_token".into()),
                ));
            }
            let form = [
                ("grant_type", DEVICE_CODE_GRANT),
                ("client_id", self.client_id.as_str()),
                ("device_code", device_code.expose_secret()),
            ];
            match post_form(http, token_url, &form, &[device_code.expose_secret()]).await? {
                TokenAnswer::Token(token) => return self.accept(token),
                TokenAnswer::Error(err) => match err.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => interval += Duration::from_secs(5),
                    "expired_token" => {
                        return Err(Error::auth(
                            "the device code expired before sign-in completed",
                            Some(err.error),
                        ));
                    }
                    "access_denied" | "authorization_declined" => {
                        return Err(Error::auth(
                            "the person declined the sign-in",
                            Some(err.error),
                        ));
                    }
                    _ => return Err(err.into_error()),
                },
            }
        }
    }

    /// Keeps the refresh token, if any, and returns the access token.
    fn accept(&self, token: TokenBody) -> Result<AccessToken, Error> {
        let refresh = token.refresh_token.clone().map(SecretString::from);
        let access = token.into_access_token()?;
        if let Some(refresh) = refresh {
            *self
                .refresh_token
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(refresh);
        }
        Ok(access)
    }
}

impl fmt::Debug for DeviceCodeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCodeCredential")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl Credential for DeviceCodeCredential {
    async fn token(&self, request: &TokenRequest<'_>) -> Result<AccessToken, Error> {
        let authority = self.authority.as_deref().unwrap_or(request.authority);
        let mut scopes: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        if !scopes.contains(&"offline_access") {
            scopes.push("offline_access");
        }
        let scope = scopes.join(" ");
        let key = format!("{authority} {scope}");
        self.cache
            .get(key, || self.fetch(authority, &scope, request.http))
            .instrument_token()
            .await
    }

    fn tenant(&self) -> Option<&str> {
        Some(&self.tenant)
    }
}

/// `{authority}/{tenant}/oauth2/v2.0/{what}`, with the tenant encoded as one path segment.
fn endpoint(authority: &str, tenant: &str, what: &str) -> String {
    format!(
        "{}/{}/oauth2/v2.0/{what}",
        authority.trim_end_matches('/'),
        encode_path_segment(tenant)
    )
}

/// A token endpoint's success body. No `Debug`: it holds the token.
#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

impl TokenBody {
    fn into_access_token(self) -> Result<AccessToken, Error> {
        if let Some(kind) = &self.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::auth(
                format!("the token endpoint issued a {kind:?} token, not a bearer token"),
                None,
            ));
        }
        // Older endpoints send `expires_in` as a string.
        let expires_in = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(3600);
        Ok(AccessToken::expiring_in(
            self.access_token,
            Duration::from_secs(expires_in),
        ))
    }
}

/// A token endpoint's error body.
#[derive(Debug, Deserialize)]
struct TokenErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

impl TokenErrorBody {
    fn into_error(self) -> Error {
        let mut reason = self.error.clone();
        if let Some(description) = &self.error_description {
            // Entra's description is `AADSTS…: what happened` (sometimes over several lines), then
            // `Trace ID`, `Correlation ID` and `Timestamp` lines: keep the whole message, uncut and
            // on one line, so the AADSTS code and the advice in it reach the reader; the trace and
            // correlation ids follow from their own fields.
            let whole = description
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take_while(|l| {
                    !["Trace ID:", "Correlation ID:", "Timestamp:"]
                        .iter()
                        .any(|p| l.starts_with(p))
                })
                .collect::<Vec<_>>()
                .join(" ");
            // Some answers put the trailer on the same line.
            let whole = match (&self.trace_id, whole.find(" Trace ID:")) {
                (Some(_), Some(cut)) => whole[..cut].to_owned(),
                _ => whole,
            };
            reason.push_str(": ");
            reason.push_str(&whole);
        }
        if let Some(trace) = &self.trace_id {
            reason.push_str(" (trace-id: ");
            reason.push_str(trace);
            if let Some(correlation) = &self.correlation_id {
                reason.push_str(", correlation-id: ");
                reason.push_str(correlation);
            }
            reason.push(')');
        }
        Error::auth(reason, Some(self.error))
    }
}

/// A device code endpoint's success body. No `Debug`: it holds the device code.
#[derive(Deserialize)]
struct DeviceCodeBody {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

enum TokenAnswer {
    Token(TokenBody),
    Error(TokenErrorBody),
}

/// POSTs a token form; secrets listed in `redact` are removed from any error text.
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    redact: &[&str],
) -> Result<TokenAnswer, Error> {
    let sent = std::time::Instant::now();
    let response = http
        .post(url)
        .header(http::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(token_transport_error)?;
    let status = response.status();
    // The URL names the tenant only; the form (secret, device code) is never logged.
    tracing::debug!(
        "POST {url} -> {} in {} ms",
        status.as_u16(),
        sent.elapsed().as_millis()
    );
    let body = response.bytes().await.map_err(token_transport_error)?;
    if status == StatusCode::OK {
        return serde_json::from_slice::<TokenBody>(&body)
            .map(TokenAnswer::Token)
            .map_err(|_| {
                // No excerpt: the body may hold a token.
                Error::auth("the token endpoint's answer is not a token response", None)
            });
    }
    match serde_json::from_slice::<TokenErrorBody>(&body) {
        Ok(mut err) => {
            for secret in redact.iter().filter(|s| !s.is_empty()) {
                if let Some(d) = &mut err.error_description {
                    *d = d.replace(secret, "[redacted]");
                }
                err.error = err.error.replace(secret, "[redacted]");
            }
            Ok(TokenAnswer::Error(err))
        }
        Err(_) => Err(Error::auth(
            format!("the token endpoint answered {status}"),
            None,
        )),
    }
}

/// A transport failure on a token request (reqwest's error names the URL, which holds no secret).
fn token_transport_error(err: reqwest::Error) -> Error {
    Error::Auth {
        reason: "the token request failed before the identity platform answered".into(),
        code: None,
        source: Some(Box::new(err)),
    }
}

/// Wraps token futures in a span that names no secret.
trait InstrumentToken: Future + Sized {
    fn instrument_token(self) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, tracing::debug_span!("token"))
    }
}

impl<F: Future> InstrumentToken for F {}
