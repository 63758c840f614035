//! [`EmulatorBuilder`]: an emulator for a test suite in a few lines, in the spirit of
//! `wiremock::MockServer`.

use teamsapp_model::TenantSpec;

use crate::{
    Emulator, EmulatorConfig, Error, FaultConfig, Scenario, ScenarioMatch, TenantSource,
    ThrottleConfig,
};

/// Builds and starts an [`Emulator`]; start with [`Emulator::builder`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use teamsapp_mock::{Emulator, Scenario, ScenarioMatch};
/// use teamsapp_types::UpgradeChatApp;
///
/// let emulator = Emulator::builder()
///     .demo_tenant()
///     .without_throttling()
///     // The first upgrade of any chat installation answers 503, then Graph behaves.
///     .scenario(Scenario::new(ScenarioMatch::of::<UpgradeChatApp>(), 503).times(1))
///     .start()
///     .await?;
/// assert!(emulator.uri().starts_with("http://127.0.0.1:"));
/// assert!(emulator.received_requests().is_empty());
/// emulator.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl Emulator {
    /// An emulator with no tenant, on `127.0.0.1:0`, with the defaults of
    /// [`EmulatorConfig::default`]: add tenants, throttling, faults and scenarios, then
    /// [`start`](EmulatorBuilder::start) it.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: EmulatorConfig::default(),
        }
    }
}

impl EmulatorBuilder {
    /// Adds a tenant (see [`teamsapp_model::spec`] to build one in code).
    pub fn tenant(mut self, tenant: TenantSpec) -> Self {
        self.config.tenants.push(tenant);
        self
    }

    /// Makes the starting tenants with `make`, at start and again at each reset, without keeping
    /// them: for tenants large enough that a second copy matters (see [`TenantSource`]).
    pub fn tenants_from(
        mut self,
        make: impl Fn() -> Result<Vec<TenantSpec>, String> + Send + Sync + 'static,
    ) -> Self {
        self.config.tenant_source = Some(TenantSource::new(make));
        self
    }

    /// Adds the built-in demo tenant ([`teamsapp_model::demo`]); its app's credentials are
    /// [`Emulator::credentials`].
    pub fn demo_tenant(self) -> Self {
        self.tenant(teamsapp_model::demo::tenant())
    }

    /// Throttling (default: on, at Graph's published Teams limits).
    pub fn throttle(mut self, throttle: ThrottleConfig) -> Self {
        self.config.throttle = throttle;
        self
    }

    /// No throttling: for tests that send requests as fast as they can.
    pub fn without_throttling(self) -> Self {
        self.throttle(ThrottleConfig::disabled())
    }

    /// Random, reproducible faults (default: none).
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.config.faults = faults;
        self
    }

    /// Adds a scripted response; scenarios are tried in the order they were added.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.config.scenarios.push(scenario);
        self
    }

    /// How many requests [`Emulator::received_requests`] keeps (default 1,000).
    pub fn journal_capacity(mut self, capacity: usize) -> Self {
        self.config.journal_capacity = capacity;
        self
    }

    /// Every other setting ([`EmulatorConfig`]'s fields: TLS, durability, clock, limits…).
    pub fn configure(mut self, configure: impl FnOnce(&mut EmulatorConfig)) -> Self {
        configure(&mut self.config);
        self
    }

    /// Starts the emulator.
    pub async fn start(self) -> Result<Emulator, Error> {
        Emulator::start(self.config).await
    }
}

impl Scenario {
    /// Answers `status` to every request `matcher` matches, with Graph's error code for the status
    /// and a message saying the answer is scripted.
    pub fn new(matcher: ScenarioMatch, status: u16) -> Self {
        Self {
            matcher,
            times: None,
            status,
            retry_after: None,
            code: None,
            message: None,
            headers: std::collections::BTreeMap::new(),
        }
    }

    /// Answers only the first `n` matching requests.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Sends `Retry-After: seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Graph's `error.code` and `error.message`.
    #[must_use]
    pub fn error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self.message = Some(message.into());
        self
    }
}

impl ScenarioMatch {
    /// Requests of the operation `O` (a request type of `teamsapp-types`, e.g.
    /// [`UpgradeChatApp`](teamsapp_types::UpgradeChatApp)).
    pub fn of<O: teamsapp_types::Operation>() -> Self {
        Self::operation(O::ROUTE.operation_id)
    }

    /// Requests of one operation, by its `operationId` in the OpenAPI fragment (e.g.
    /// `chats.chat.installedApps.teamsAppInstallation.upgrade`).
    pub fn operation(operation_id: impl Into<String>) -> Self {
        Self {
            operation_id: Some(operation_id.into()),
            ..Self::default()
        }
    }

    /// Also requires a path parameter to have this value (by template name, e.g. `chat-id`).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// Also requires the calling app's client id.
    #[must_use]
    pub fn app(mut self, client_id: impl Into<String>) -> Self {
        self.app = Some(client_id.into());
        self
    }
}
