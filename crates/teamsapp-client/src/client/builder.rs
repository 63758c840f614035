//! [`ClientBuilder`]: a [`Client`]'s settings, checked and assembled by [`ClientBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use reqwest::Url;
use teamsapp_types::cloud::NationalCloud;
use tokio::sync::Semaphore;

use super::{Client, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_USER_AGENT, Inner};
use crate::Error;
use crate::credential::{Credential, DynCredential};
use crate::retry::RetryPolicy;
use crate::stats::Stats;
use crate::throttle::{RateLimit, Throttle};

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
    /// The defaults, sending through `http`.
    pub(super) fn with_http(http: reqwest::Client) -> Self {
        Self {
            http: Some(http),
            ..Self::default()
        }
    }

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
