//! [`AppState`]: the emulator's shared state, cheap to clone (an `Arc` inside), handed to every
//! handler and to tests.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use teamsapp_types::ids::is_guid;

use serde::{Deserialize, Serialize};

use crate::auth::{self, Claims, Principal, SigningKeys, TokenRequest};
use crate::backend::GraphBackend;
use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::device_codes::DeviceCodes;
use crate::error::{ApiError, Error};
use crate::faults::{
    EarlyRetry, EarlyRetryTracker, FaultConfig, FaultInjector, Scenario, ScenarioBook,
};
use crate::identity::{GRAPH_RESOURCE, IdentityRegistry, IdentityTenant};
use crate::journal::{Counters, Journal, JournalEntry, Metrics, Record};
use crate::origins::Origins;
use crate::store::EventStore;
use crate::throttle::{ThrottleConfig, Throttler};
use crate::tls::TlsSetup;

/// The metadata key of the signing key in the durable store.
const SIGNING_KEY_META: &str = "signing-key.pem";

/// The file name of the durable store inside `--data-dir`.
pub const STORE_FILE_NAME: &str = "emulator.redb";

/// Graph Explorer's client id: the app a minted delegated token names when none is given.
const GRAPH_EXPLORER_APP_ID: &str = "de8bc8b5-d9f9-48b1-a8ad-b748da725064";

/// The emulator's shared state.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: EmulatorConfig,
    pub(crate) keys: SigningKeys,
    pub(crate) identity: RwLock<IdentityRegistry>,
    pub(crate) devices: Mutex<DeviceCodes>,
    pub(crate) throttle: Mutex<Throttler>,
    pub(crate) faults: Mutex<FaultInjector>,
    pub(crate) scenarios: Mutex<ScenarioBook>,
    pub(crate) early: Mutex<EarlyRetryTracker>,
    pub(crate) journal: Mutex<Journal>,
    pub(crate) metrics: Mutex<Counters>,
    pub(crate) backend: Box<dyn GraphBackend>,
    pub(crate) tls: Option<TlsSetup>,
    pub(crate) origins: Origins,
}

use crate::sync::lock;

/// What `POST /_emulator/token` (and [`AppState::mint_token`]) is asked for: an application token
/// (`app` and `roles`) or, when `user` is given, a delegated one (`scopes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSpec {
    /// Tenant id or domain; defaults to the first tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The calling app's client id; defaults to the tenant's first app registration.
    #[serde(default)]
    pub app: Option<String>,
    /// Application permissions; default: what the app registration was granted.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// The signed-in user (object id or UPN) for a delegated token.
    #[serde(default)]
    pub user: Option<String>,
    /// Delegated permissions; default: what the user granted the app.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// `aud`; defaults to `https://graph.microsoft.com`.
    #[serde(default)]
    pub audience: Option<String>,
    /// Lifetime in seconds, 1 to 86,400 (a day, the longest access-token lifetime Microsoft
    /// Entra allows); defaults to the configured token lifetime.
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
}

/// The longest lifetime `POST /_emulator/token` mints: a day, the most Microsoft Entra's
/// configurable token lifetimes allow for access tokens.
const MAX_MINTED_LIFETIME_SECONDS: u64 = 86_400;

/// A minted access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MintedToken {
    /// The token, for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its claims, for reading.
    pub claims: Claims,
}

impl AppState {
    /// Builds the state for `config`: opens the durable store (replaying its events, or loading
    /// the configured tenants into an empty one), generates (or reloads) the signing key and
    /// prepares TLS.
    pub fn new(mut config: EmulatorConfig) -> Result<Self, Error> {
        config.throttle.validate().map_err(Error::Config)?;
        config.faults.validate().map_err(Error::Config)?;
        let store = open_store(&config)?;
        // The tenants move to the model (which keeps them for `reset`) rather than being kept
        // twice: at a million installations a spec is most of the emulator's memory.
        let tenants = std::mem::take(&mut config.tenants);
        let source = config.tenant_source.take();
        // The signing key is made on another thread while the model loads: a profile of
        // `mock serve --fleet 1000000` put 18 % of the start in RSA key generation.
        let (keys, backend) = std::thread::scope(|scope| {
            let keys = scope.spawn(|| signing_keys(store.as_deref()));
            let backend = crate::model::ModelBackend::open(
                config.world.clone(),
                tenants,
                source,
                store.clone(),
                config.clock.clone(),
            );
            let keys = keys.join().unwrap_or_else(|_| {
                Err(Error::Config(
                    "generating the token-signing key failed".to_owned(),
                ))
            });
            (keys, backend)
        });
        Self::assemble(config, keys?, Box::new(backend?))
    }

    #[cfg(test)]
    pub(crate) fn with_backend(
        config: EmulatorConfig,
        backend: Box<dyn GraphBackend>,
    ) -> Result<Self, Error> {
        config.throttle.validate().map_err(Error::Config)?;
        config.faults.validate().map_err(Error::Config)?;
        let store = open_store(&config)?;
        let keys = signing_keys(store.as_deref())?;
        Self::assemble(config, keys, backend)
    }

    fn assemble(
        config: EmulatorConfig,
        keys: SigningKeys,
        backend: Box<dyn GraphBackend>,
    ) -> Result<Self, Error> {
        let tls = crate::tls::setup(&config.tls, config.data_dir.as_deref())?;
        let inner = Inner {
            keys,
            identity: RwLock::new(merged_identity(&config.identity, backend.directory())),
            devices: Mutex::new(DeviceCodes::default()),
            throttle: Mutex::new(Throttler::new(config.throttle.clone())),
            faults: Mutex::new(FaultInjector::new(config.faults.clone())),
            scenarios: Mutex::new(ScenarioBook::new(config.scenarios.clone())),
            early: Mutex::new(EarlyRetryTracker::default()),
            journal: Mutex::new(Journal::new(config.journal_capacity)),
            metrics: Mutex::new(Counters::default()),
            backend,
            tls,
            origins: Origins::new(&config.origins)?,
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The configuration the state was built from, without its
    /// [`tenants`](EmulatorConfig::tenants): they were handed to the model at start (which keeps
    /// them for `POST /_emulator/reset`) and are empty here, so they are not held twice.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.config.clock.as_ref()
    }

    /// Whether the emulator serves HTTPS.
    pub fn is_https(&self) -> bool {
        self.inner.tls.is_some()
    }

    /// Where the self-signed certificate was written, if one was generated.
    pub fn tls_cert_path(&self) -> Option<&Path> {
        self.inner.tls.as_ref()?.cert_path.as_deref()
    }

    /// The TLS certificate (PEM), if the emulator serves HTTPS.
    pub fn tls_cert_pem(&self) -> Option<&str> {
        self.inner.tls.as_ref().map(|t| t.cert_pem.as_str())
    }

    /// The counters.
    pub fn metrics(&self) -> Metrics {
        lock(&self.inner.metrics).snapshot()
    }

    /// The newest `limit` journal entries (all when `None`), oldest first.
    pub fn journal(&self, limit: Option<usize>) -> Vec<JournalEntry> {
        lock(&self.inner.journal).tail(limit)
    }

    /// The clients that retried before `Retry-After` elapsed.
    pub fn early_retries(&self) -> Vec<EarlyRetry> {
        lock(&self.inner.early).offences()
    }

    /// The random fault settings.
    pub fn faults(&self) -> FaultConfig {
        lock(&self.inner.faults).config().clone()
    }

    /// Replaces the random fault settings and reseeds the generator.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), ApiError> {
        faults.validate().map_err(ApiError::bad_request)?;
        *lock(&self.inner.faults) = FaultInjector::new(faults);
        Ok(())
    }

    /// The throttling settings.
    pub fn throttle(&self) -> ThrottleConfig {
        lock(&self.inner.throttle).config().clone()
    }

    /// Replaces the throttling settings and empties every bucket.
    pub fn set_throttle(&self, throttle: ThrottleConfig) -> Result<(), ApiError> {
        throttle.validate().map_err(ApiError::bad_request)?;
        lock(&self.inner.throttle).configure(throttle);
        Ok(())
    }

    /// The scripted responses, with their remaining counts.
    pub fn scenarios(&self) -> Vec<Scenario> {
        lock(&self.inner.scenarios).list().to_vec()
    }

    /// Replaces the scripted responses.
    pub fn set_scenarios(&self, scenarios: Vec<Scenario>) -> Result<(), ApiError> {
        for scenario in &scenarios {
            let valid = http::StatusCode::from_u16(scenario.status)
                .is_ok_and(|s| s.is_client_error() || s.is_server_error());
            if !valid {
                return Err(ApiError::bad_request(format!(
                    "scenario status {} is not an error status (400-599)",
                    scenario.status
                )));
            }
            for name in scenario.headers.keys() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(ApiError::bad_request(format!(
                        "scenario header {name:?} is not a valid header name"
                    )));
                }
            }
        }
        *lock(&self.inner.scenarios) = ScenarioBook::new(scenarios);
        Ok(())
    }

    /// The directory the token endpoint consults.
    pub fn identity(&self) -> IdentityRegistry {
        self.read_identity().clone()
    }

    /// Adds (or replaces) a tenant in the directory, until the next reset (which rebuilds the
    /// directory from the configuration and the loaded tenants).
    pub fn add_identity_tenant(&self, tenant: IdentityTenant) {
        self.inner
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .upsert(tenant);
    }

    pub(crate) fn read_identity(&self) -> std::sync::RwLockReadGuard<'_, IdentityRegistry> {
        self.inner
            .identity
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Rebuilds the directory from the configuration and the loaded tenants.
    pub(crate) fn refresh_identity(&self) {
        let merged = merged_identity(&self.inner.config.identity, self.backend().directory());
        *self
            .inner
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = merged;
    }

    pub(crate) fn backend(&self) -> &dyn GraphBackend {
        self.inner.backend.as_ref()
    }

    pub(crate) fn keys(&self) -> &SigningKeys {
        &self.inner.keys
    }

    /// Whether the emulator listens on loopback only (or on no socket at all, as with
    /// [`router`](crate::router) in tests): the admin API is open without a key there, and the
    /// published demo secrets sign in.
    pub(crate) fn on_loopback(&self) -> bool {
        self.inner
            .origins
            .listener()
            .is_none_or(|addr| addr.ip().is_loopback())
    }

    /// The hosts and origins the emulator answers as its own.
    pub(crate) fn origins(&self) -> &Origins {
        &self.inner.origins
    }

    /// Returns to the initial state: the backend's tenants, the configured faults, throttling and
    /// scenarios; empties the journal, metrics, buckets, device codes and early-retry records.
    pub async fn reset(&self) -> Result<(), ApiError> {
        self.backend().reset().await?;
        self.refresh_identity();
        let config = &self.inner.config;
        *lock(&self.inner.devices) = DeviceCodes::default();
        lock(&self.inner.throttle).configure(config.throttle.clone());
        *lock(&self.inner.faults) = FaultInjector::new(config.faults.clone());
        *lock(&self.inner.scenarios) = ScenarioBook::new(config.scenarios.clone());
        *lock(&self.inner.early) = EarlyRetryTracker::default();
        lock(&self.inner.journal).clear();
        *lock(&self.inner.metrics) = Counters::default();
        Ok(())
    }

    /// Mints an access token without the OAuth dance (`POST /_emulator/token`).
    pub fn mint_token(&self, spec: &TokenSpec) -> Result<MintedToken, ApiError> {
        let request = {
            let registry = self.read_identity();
            self.token_request(&registry, spec)?
        };
        let issued = auth::issue(self.keys(), request, self.clock().unix_seconds())?;
        lock(&self.inner.metrics).tokens_issued += 1;
        Ok(MintedToken {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            claims: issued.claims,
        })
    }

    fn token_request(
        &self,
        registry: &IdentityRegistry,
        spec: &TokenSpec,
    ) -> Result<TokenRequest, ApiError> {
        let tenant = match spec.tenant.as_deref() {
            Some(name) => registry.tenant(name),
            None => registry.tenants.first(),
        };
        let tenant_id = match (tenant, spec.tenant.as_deref()) {
            (Some(t), _) => t.id.clone(),
            (None, Some(name)) if is_guid(name) => name.to_owned(),
            (None, Some(name)) => {
                return Err(ApiError::NotFound {
                    message: format!("tenant {name:?} not found"),
                });
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    "no tenant is loaded: name one with \"tenant\"",
                ));
            }
        };
        let lifetime = match spec.lifetime_seconds {
            None => self.inner.config.token_lifetime,
            Some(seconds) if (1..=MAX_MINTED_LIFETIME_SECONDS).contains(&seconds) => {
                Duration::from_secs(seconds)
            }
            Some(seconds) => {
                return Err(ApiError::bad_request(format!(
                    "lifetimeSeconds {seconds}: expected 1 to {MAX_MINTED_LIFETIME_SECONDS} (a \
                     day, the longest access-token lifetime Microsoft Entra allows)"
                )));
            }
        };
        let audience = spec
            .audience
            .clone()
            .unwrap_or_else(|| GRAPH_RESOURCE.to_owned());
        if let Some(login) = spec.user.as_deref() {
            let user = tenant.and_then(|t| t.user(login));
            let (oid, upn, name) = match user {
                Some(u) => (
                    u.id.clone(),
                    u.user_principal_name.clone(),
                    u.display_name.clone(),
                ),
                None if is_guid(login) => (login.to_owned(), login.to_owned(), String::new()),
                None => {
                    return Err(ApiError::NotFound {
                        message: format!("user {login:?} not found in tenant {tenant_id}"),
                    });
                }
            };
            let client_id = spec
                .app
                .clone()
                .or_else(|| {
                    tenant
                        .and_then(|t| t.apps.first())
                        .map(|a| a.client_id.clone())
                })
                .unwrap_or_else(|| GRAPH_EXPLORER_APP_ID.to_owned());
            let scopes = match (&spec.scopes, tenant, user) {
                (Some(scopes), _, _) => scopes.clone(),
                (None, Some(t), Some(u)) => t.granted_scopes(&client_id, u),
                _ => Vec::new(),
            };
            let app = tenant.and_then(|t| t.app(&client_id));
            Ok(TokenRequest {
                tenant_id,
                app_display_name: app.map(|a| a.display_name.clone()),
                client_id,
                audience,
                principal: Principal::User {
                    oid,
                    upn,
                    name,
                    scopes,
                },
                confidential: false,
                lifetime,
            })
        } else {
            let app = match spec.app.as_deref() {
                Some(id) => tenant.and_then(|t| t.app(id)),
                None => tenant.and_then(|t| t.apps.first()),
            };
            let client_id = match (app, spec.app.as_deref()) {
                (Some(a), _) => a.client_id.clone(),
                (None, Some(id)) => id.to_owned(),
                (None, None) => {
                    return Err(ApiError::bad_request(format!(
                        "tenant {tenant_id} has no app registration: name one with \"app\""
                    )));
                }
            };
            let roles = spec
                .roles
                .clone()
                .or_else(|| app.map(|a| a.roles.clone()))
                .unwrap_or_default();
            Ok(TokenRequest {
                tenant_id,
                app_display_name: app.map(|a| a.display_name.clone()),
                client_id,
                audience,
                principal: Principal::App { roles },
                confidential: true,
                lifetime,
            })
        }
    }

    /// Appends a journal entry.
    pub(crate) fn journal_push(&self, record: Record) {
        lock(&self.inner.journal).push(record);
    }
}

fn open_store(
    config: &EmulatorConfig,
) -> Result<Option<Arc<EventStore<teamsapp_model::Event>>>, Error> {
    Ok(config
        .data_dir
        .as_ref()
        .map(|dir| EventStore::open_with(dir.join(STORE_FILE_NAME), config.recovery).map(Arc::new))
        .transpose()?)
}

/// The loaded tenants' directory, extended with the configured one.
fn merged_identity(configured: &IdentityRegistry, loaded: Vec<IdentityTenant>) -> IdentityRegistry {
    let mut registry = IdentityRegistry { tenants: loaded };
    for tenant in &configured.tenants {
        registry.merge(tenant.clone());
    }
    registry
}

/// The token-signing key: the store's, or a new one (kept in the store when there is one).
fn signing_keys(store: Option<&EventStore<teamsapp_model::Event>>) -> Result<SigningKeys, Error> {
    let Some(store) = store else {
        return SigningKeys::generate();
    };
    if let Some(pem) = store.meta(SIGNING_KEY_META)? {
        return SigningKeys::from_pem(&String::from_utf8_lossy(&pem));
    }
    let keys = SigningKeys::generate()?;
    store.put_meta(SIGNING_KEY_META, keys.private_pem().as_bytes())?;
    Ok(keys)
}
