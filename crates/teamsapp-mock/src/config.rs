//! [`EmulatorConfig`]: everything that can be set before the emulator starts. Faults, throttling
//! and scenarios can also be changed while it runs, through the admin API.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use teamsapp_model::{TenantSpec, WorldConfig};

use crate::clock::{Clock, SystemClock};
use crate::faults::{FaultConfig, Scenario};
use crate::identity::{ClientSecret, IdentityRegistry};
use crate::throttle::ThrottleConfig;

/// The default of [`EmulatorConfig::admin_body_limit`]: 256 MiB (a tenant file of 100,000 chats
/// is about 41 MB).
pub const DEFAULT_ADMIN_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// Default body limit: 30 MiB, room for Teams app packages.
pub const DEFAULT_BODY_LIMIT: usize = 30 * 1024 * 1024;

/// Default journal capacity.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000;

/// Tenants made on demand: when the emulator starts on an empty data directory, and again at
/// every `POST /_emulator/reset`. Unlike [`EmulatorConfig::tenants`], which the emulator keeps
/// for its resets, a source's tenants are handed to the model and dropped, so a large generated
/// fleet or tenant file is held once, in the model's compact state, not a second time as a spec.
#[derive(Clone)]
pub struct TenantSource(Arc<dyn Fn() -> Result<Vec<TenantSpec>, String> + Send + Sync>);

impl TenantSource {
    /// A source calling `make` each time; its error becomes the start's (or the reset's) error.
    pub fn new(make: impl Fn() -> Result<Vec<TenantSpec>, String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(make))
    }

    /// The tenants, made now.
    pub(crate) fn make(&self) -> Result<Vec<TenantSpec>, String> {
        (self.0)()
    }
}

impl std::fmt::Debug for TenantSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TenantSource(..)")
    }
}

/// How the emulator serves HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsConfig {
    /// Plain HTTP.
    #[default]
    Off,
    /// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, generated at startup and
    /// written (PEM) to `emulator-cert.pem` in `dir`, else in the data directory, else in a new
    /// temporary directory, so clients can trust it.
    SelfSigned {
        /// Where to write `emulator-cert.pem`.
        dir: Option<PathBuf>,
    },
    /// A certificate chain and private key from PEM files.
    Files {
        /// The certificate chain (PEM).
        cert: PathBuf,
        /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// The device code flow's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeConfig {
    /// Approve every device code at its first poll, as [`auto_approve_user`](Self::auto_approve_user)
    /// (or the tenant's first work account).
    pub auto_approve: bool,
    /// The user auto-approval signs in (object id or UPN).
    pub auto_approve_user: Option<String>,
    /// How long a device code lives (Microsoft: 15 minutes).
    pub expires_in: Duration,
    /// The polling interval announced, in seconds (Microsoft: 5).
    pub interval: u64,
}

impl Default for DeviceCodeConfig {
    fn default() -> Self {
        Self {
            auto_approve: false,
            auto_approve_user: None,
            expires_in: Duration::from_mins(15),
            interval: 5,
        }
    }
}

/// The emulator's configuration.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Where [`Emulator::start`](crate::Emulator::start) listens (default `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// Durable state: an embedded store in this directory; in memory when `None`.
    pub data_dir: Option<PathBuf>,
    /// What the store in [`data_dir`](Self::data_dir) does with a damaged event: refuse to start
    /// (the default) or keep the events before it (`mock serve --truncate-damaged`).
    pub recovery: crate::store::Recovery,
    /// HTTPS.
    pub tls: TlsConfig,
    /// Throttling (on by default, at the published Teams limits).
    pub throttle: ThrottleConfig,
    /// Random faults (off by default).
    pub faults: FaultConfig,
    /// Scripted responses.
    pub scenarios: Vec<Scenario>,
    /// How many requests the journal keeps.
    pub journal_capacity: usize,
    /// The largest request body accepted, in bytes (413 above).
    pub body_limit: usize,
    /// The largest admin request body accepted, in bytes (413 above; tenant files are large).
    pub admin_body_limit: usize,
    /// How long a request may take before it is answered `504`.
    pub request_timeout: Duration,
    /// Connection hygiene on the listener: header-read, idle and TLS handshake timeouts, and the
    /// cap on open connections.
    pub connections: crate::ConnectionLimits,
    /// How long issued access tokens live (Microsoft: about an hour).
    pub token_lifetime: Duration,
    /// The key admin requests must carry (`Authorization: Bearer` or `x-emulator-admin-key`)
    /// when the emulator listens on a non-loopback address; without one, the admin API is closed
    /// there.
    pub admin_key: Option<ClientSecret>,
    /// Public origins the emulator also answers as its own (`https://teamsapp.ci.example:8443`):
    /// their hosts pass the `Host` check, and they are accepted as token audiences and as the
    /// admin API's `Origin`. Loopback names and IP literals always pass; any other host name is
    /// refused with `421` (DNS rebinding).
    pub origins: Vec<String>,
    /// Whether the published demo client secrets
    /// ([`teamsapp_model::demo::CREDENTIALS`] and its siblings) sign in when the emulator listens
    /// beyond loopback. Off by default: anyone who can reach the port knows them.
    pub allow_demo_credentials: bool,
    /// The device code flow.
    pub device_codes: DeviceCodeConfig,
    /// The tenants to start with (ignored when the data directory already holds state).
    pub tenants: Vec<TenantSpec>,
    /// Tenants made on demand, loaded after [`tenants`](Self::tenants) and never kept (see
    /// [`TenantSource`]).
    pub tenant_source: Option<TenantSource>,
    /// The model's choices where Graph is silent (page size, already-current upgrades, …).
    pub world: WorldConfig,
    /// App registrations, users and grants beyond those of the loaded tenants.
    pub identity: IdentityRegistry,
    /// The clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("recovery", &self.recovery)
            .field("tls", &self.tls)
            .field("throttle", &self.throttle)
            .field("faults", &self.faults)
            .field("scenarios", &self.scenarios.len())
            .field("journal_capacity", &self.journal_capacity)
            .field("body_limit", &self.body_limit)
            .field("admin_body_limit", &self.admin_body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("connections", &self.connections)
            .field("token_lifetime", &self.token_lifetime)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("origins", &self.origins)
            .field("allow_demo_credentials", &self.allow_demo_credentials)
            .field("device_codes", &self.device_codes)
            .field(
                "tenants",
                &self
                    .tenants
                    .iter()
                    .map(|t| &t.tenant_id)
                    .collect::<Vec<_>>(),
            )
            .field("tenant_source", &self.tenant_source)
            .field("world", &self.world)
            .field("identity_tenants", &self.identity.tenants.len())
            .field("clock", &self.clock)
            .finish()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data_dir: None,
            recovery: crate::store::Recovery::Refuse,
            tls: TlsConfig::Off,
            throttle: ThrottleConfig::default(),
            faults: FaultConfig::default(),
            scenarios: Vec::new(),
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            body_limit: DEFAULT_BODY_LIMIT,
            admin_body_limit: DEFAULT_ADMIN_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            connections: crate::ConnectionLimits::default(),
            token_lifetime: Duration::from_hours(1),
            admin_key: None,
            origins: Vec::new(),
            allow_demo_credentials: false,
            device_codes: DeviceCodeConfig::default(),
            tenants: Vec::new(),
            tenant_source: None,
            world: WorldConfig::default(),
            identity: IdentityRegistry::default(),
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl EmulatorConfig {
    /// The defaults with the built-in demo tenant (`teamsapp_model::demo`), whose well-known
    /// credentials are [`teamsapp_model::demo::CREDENTIALS`].
    pub fn demo() -> Self {
        Self {
            tenants: vec![teamsapp_model::demo::tenant()],
            ..Self::default()
        }
    }
}
