//! Token buckets per (tenant, app, [`OperationClass`]), as Teams throttles Graph calls: by
//! default the published per-app-per-tenant limits (GET 30 rps, POST/PUT 30 rps, PATCH 30 rps,
//! DELETE 15 rps), each with a burst of one second's worth. `$batch` itself is not limited; each
//! of its requests counts in its own class. Requests on a team also count in a bucket per
//! (tenant, app, team): "A maximum of 4 requests per second per app can be issued on a given
//! team or channel" (Microsoft Graph service limits, Teams).
//!
//! The buckets are `governor`'s (GCRA), the rate limiter the client paces itself with: one keyed
//! limiter per class, keyed by (tenant, app), reading the emulator's monotonic clock
//! ([`Clock::elapsed`](crate::Clock::elapsed)) as the caller passes it in.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use teamsapp_types::operation::OperationClass;

/// The rate and burst of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second refilled.
    pub per_second: f64,
    /// Bucket size (requests that may arrive at once); defaults to one second's worth. Counted in
    /// whole requests: a fraction is rounded down, to at least 1.
    #[serde(default)]
    pub burst: Option<f64>,
}

impl RateLimit {
    /// `per_second` requests per second with a burst of one second's worth.
    pub const fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
        }
    }

    fn capacity(&self) -> f64 {
        self.burst.unwrap_or(self.per_second).max(1.0)
    }
}

/// Throttling settings (`GET`/`PUT /_emulator/throttle`).
///
/// New limits may be added in later versions: build one with `..ThrottleConfig::default()` so that
/// they keep their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ThrottleConfig {
    /// Whether throttling is on.
    pub enabled: bool,
    /// `GET` requests.
    pub read: RateLimit,
    /// `POST` and `PUT` requests.
    pub write: RateLimit,
    /// `PATCH` requests.
    pub patch: RateLimit,
    /// `DELETE` requests.
    pub delete: RateLimit,
    /// Every request on one team, per app (Graph: 4 per second); 0 per second for no limit.
    #[serde(default = "default_per_team")]
    pub per_team: RateLimit,
    /// The same classes per app across every tenant (Graph: 600, 300, 300 and 150 per second).
    #[serde(default = "AppLimits::graph")]
    pub per_app: AppLimits,
}

fn default_per_team() -> RateLimit {
    RateLimit::per_second(4.0)
}

/// The limits of one app across every tenant ([`ThrottleConfig::per_app`]); a rate of 0 per
/// second is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppLimits {
    /// `GET` requests.
    pub read: RateLimit,
    /// `POST` and `PUT` requests.
    pub write: RateLimit,
    /// `PATCH` requests.
    pub patch: RateLimit,
    /// `DELETE` requests.
    pub delete: RateLimit,
    /// Every request of the app to Graph ("130,000 requests per 10 seconds per app across all
    /// tenants"): 13,000 per second with a burst of 130,000.
    pub all: RateLimit,
}

impl AppLimits {
    /// Graph's documented limits for the Teams service (throttling-limits).
    pub const fn graph() -> Self {
        Self {
            read: RateLimit::per_second(600.0),
            write: RateLimit::per_second(300.0),
            patch: RateLimit::per_second(300.0),
            delete: RateLimit::per_second(150.0),
            all: RateLimit {
                per_second: 13_000.0,
                burst: Some(130_000.0),
            },
        }
    }

    fn limit(&self, class: OperationClass) -> Option<RateLimit> {
        match class {
            OperationClass::Read => Some(self.read),
            OperationClass::Write => Some(self.write),
            OperationClass::Patch => Some(self.patch),
            OperationClass::Delete => Some(self.delete),
            OperationClass::Batch => None,
        }
        .filter(|limit| limit.per_second > 0.0)
    }
}

impl Default for AppLimits {
    fn default() -> Self {
        Self::graph()
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            read: RateLimit::per_second(30.0),
            write: RateLimit::per_second(30.0),
            patch: RateLimit::per_second(30.0),
            delete: RateLimit::per_second(15.0),
            per_team: default_per_team(),
            per_app: AppLimits::graph(),
        }
    }
}

impl ThrottleConfig {
    /// Throttling switched off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Checks that every rate is a finite number of requests per second (0 for no limit) and
    /// every burst a finite number of at least 1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, limit) in [
            ("read", self.read),
            ("write", self.write),
            ("patch", self.patch),
            ("delete", self.delete),
            ("perTeam", self.per_team),
            ("perApp.read", self.per_app.read),
            ("perApp.write", self.per_app.write),
            ("perApp.patch", self.per_app.patch),
            ("perApp.delete", self.per_app.delete),
            ("perApp.all", self.per_app.all),
        ] {
            if !limit.per_second.is_finite() || limit.per_second < 0.0 {
                return Err(format!(
                    "{name}.perSecond must be a finite number, 0 or more"
                ));
            }
            if limit.burst.is_some_and(|b| !b.is_finite() || b < 1.0) {
                return Err(format!("{name}.burst must be a finite number, 1 or more"));
            }
        }
        Ok(())
    }

    /// The limit of `class`, if it is limited.
    pub fn limit(&self, class: OperationClass) -> Option<RateLimit> {
        match class {
            OperationClass::Read => Some(self.read),
            OperationClass::Write => Some(self.write),
            OperationClass::Patch => Some(self.patch),
            OperationClass::Delete => Some(self.delete),
            OperationClass::Batch => None,
        }
        .filter(|limit| limit.per_second > 0.0)
    }
}

/// The longest span, in nanoseconds (about 73 years), a limiter measures: the emulator's uptime
/// and one burst's worth of time are clamped to it, so governor's `u64` nanosecond arithmetic
/// (which panics past 584 years) never overflows.
const MAX_SPAN: u64 = 1 << 61;

/// governor's clock for the throttler: the emulator's monotonic time of the request being checked,
/// which [`Throttler::acquire_on`] is given and sets before asking a limiter. Shared by every limiter
/// of one throttler; set and read under the throttler's `&mut`, so never by two requests at once.
#[derive(Debug, Clone, Default)]
struct RequestTime(Arc<AtomicU64>);

impl RequestTime {
    fn set(&self, now: Duration) {
        let nanos = u64::try_from(now.as_nanos()).map_or(MAX_SPAN, |n| n.min(MAX_SPAN));
        self.0.store(nanos, Ordering::Relaxed);
    }
}

impl governor::clock::Clock for RequestTime {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.0.load(Ordering::Relaxed))
    }
}

/// (tenant, app), lowercased.
type Key = (String, String);

type Limiter = RateLimiter<Key, DefaultKeyedStateStore<Key>, RequestTime, NoOpMiddleware<Nanos>>;

/// The limiter of one class.
#[derive(Debug)]
struct ClassLimiter {
    limiter: Limiter,
    /// Whether one request's worth of time (`1 / perSecond`) is longer than [`MAX_SPAN`]: the
    /// limiter then counts with the span, and a request it refuses waits [`Duration::MAX`].
    saturated: bool,
}

impl ClassLimiter {
    /// How long a refused request waits.
    fn wait(&self, not_until: &governor::NotUntil<Nanos>, clock: &RequestTime) -> Duration {
        if self.saturated {
            Duration::MAX
        } else {
            not_until.wait_time_from(clock.now())
        }
    }

    fn new(limit: RateLimit, clock: &RequestTime) -> Self {
        let span = Duration::from_nanos(MAX_SPAN);
        let period = Duration::try_from_secs_f64(limit.per_second.recip()).unwrap_or(Duration::MAX);
        let saturated = period > span;
        let period = period.clamp(Duration::from_nanos(1), span);
        // GCRA's burst is whole requests, as many as fit in the span.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a float-to-int `as` saturates; the capacity is at least 1"
        )]
        let capacity = limit.capacity() as u64;
        let fits = MAX_SPAN / u64::try_from(period.as_nanos()).unwrap_or(MAX_SPAN);
        let burst = NonZeroU32::new(u32::try_from(capacity.min(fits)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            saturated,
        }
    }
}

/// The buckets of every (tenant, app, class).
#[derive(Debug)]
pub(crate) struct Throttler {
    config: ThrottleConfig,
    clock: RequestTime,
    limiters: HashMap<OperationClass, ClassLimiter>,
    /// Keyed by (tenant and app, team).
    per_team: Option<ClassLimiter>,
    /// Per app across tenants, by class, keyed by ("", app); and for all its requests.
    per_app: HashMap<OperationClass, ClassLimiter>,
    per_app_all: Option<ClassLimiter>,
}

impl Default for Throttler {
    fn default() -> Self {
        Self::new(ThrottleConfig::default())
    }
}

impl Throttler {
    pub(crate) fn new(config: ThrottleConfig) -> Self {
        let clock = RequestTime::default();
        let limiters = Self::limiters(&config, &clock);
        let per_team = Self::per_team(&config, &clock);
        let (per_app, per_app_all) = Self::per_app(&config, &clock);
        Self {
            config,
            clock,
            limiters,
            per_team,
            per_app,
            per_app_all,
        }
    }

    /// The limiters of one app across tenants.
    fn per_app(
        config: &ThrottleConfig,
        clock: &RequestTime,
    ) -> (HashMap<OperationClass, ClassLimiter>, Option<ClassLimiter>) {
        let limits = config.per_app;
        let by_class = [
            OperationClass::Read,
            OperationClass::Write,
            OperationClass::Patch,
            OperationClass::Delete,
        ]
        .into_iter()
        .filter_map(|class| Some((class, ClassLimiter::new(limits.limit(class)?, clock))))
        .collect();
        let all = (limits.all.per_second > 0.0).then(|| ClassLimiter::new(limits.all, clock));
        (by_class, all)
    }

    /// A limiter for every limited class of `config`.
    fn limiters(
        config: &ThrottleConfig,
        clock: &RequestTime,
    ) -> HashMap<OperationClass, ClassLimiter> {
        [
            OperationClass::Read,
            OperationClass::Write,
            OperationClass::Patch,
            OperationClass::Delete,
            OperationClass::Batch,
        ]
        .into_iter()
        .filter_map(|class| Some((class, ClassLimiter::new(config.limit(class)?, clock))))
        .collect()
    }

    fn per_team(config: &ThrottleConfig, clock: &RequestTime) -> Option<ClassLimiter> {
        (config.per_team.per_second > 0.0).then(|| ClassLimiter::new(config.per_team, clock))
    }

    pub(crate) fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Replaces the settings and empties every bucket.
    pub(crate) fn configure(&mut self, config: ThrottleConfig) {
        self.limiters = Self::limiters(&config, &self.clock);
        self.per_team = Self::per_team(&config, &self.clock);
        (self.per_app, self.per_app_all) = Self::per_app(&config, &self.clock);
        self.config = config;
    }

    /// Takes one token for a request at monotonic time `now`, or says how long until one is
    /// available (from governor's `NotUntil`).
    #[cfg(test)]
    pub(crate) fn acquire(
        &mut self,
        tenant: &str,
        app: &str,
        class: OperationClass,
        now: Duration,
    ) -> Result<(), Duration> {
        self.acquire_on(tenant, app, class, None, now)
    }

    /// Takes one token for a request at monotonic time `now`, or says how long until one is
    /// available (from governor's `NotUntil`); for a request on `team` (if any), a token of the
    /// team's bucket first.
    pub(crate) fn acquire_on(
        &mut self,
        tenant: &str,
        app: &str,
        class: OperationClass,
        team: Option<&str>,
        now: Duration,
    ) -> Result<(), Duration> {
        if !self.config.enabled || class == OperationClass::Batch {
            return Ok(());
        }
        self.clock.set(now);
        let key = (tenant.to_ascii_lowercase(), app.to_ascii_lowercase());
        if let (Some(team), Some(limiter)) = (team, &self.per_team) {
            let team_key = (format!("{}\n{}", key.0, key.1), team.to_ascii_lowercase());
            limiter
                .limiter
                .check_key(&team_key)
                .map_err(|not_until| limiter.wait(&not_until, &self.clock))?;
        }
        if let Some(limiter) = self.limiters.get(&class) {
            limiter
                .limiter
                .check_key(&key)
                .map_err(|not_until| limiter.wait(&not_until, &self.clock))?;
        }
        // Then the app's limits across every tenant.
        let app_key = (String::new(), key.1);
        for limiter in self
            .per_app
            .get(&class)
            .into_iter()
            .chain(&self.per_app_all)
        {
            limiter
                .limiter
                .check_key(&app_key)
                .map_err(|not_until| limiter.wait(&not_until, &self.clock))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_takes_four_requests_a_second_per_app() {
        let mut t = Throttler::default();
        let now = Duration::from_secs(10);
        for _ in 0..4 {
            t.acquire_on("t", "a", OperationClass::Read, Some("team1"), now)
                .unwrap();
        }
        let wait = t
            .acquire_on("t", "a", OperationClass::Read, Some("team1"), now)
            .unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(250),
            "{wait:?}"
        );
        // Another team, another app, and the same app without a team are not held back.
        t.acquire_on("t", "a", OperationClass::Read, Some("team2"), now)
            .unwrap();
        t.acquire_on("t", "b", OperationClass::Read, Some("team1"), now)
            .unwrap();
        t.acquire("t", "a", OperationClass::Read, now).unwrap();
        // A quarter of a second later, one more.
        t.acquire_on(
            "t",
            "a",
            OperationClass::Read,
            Some("team1"),
            now + Duration::from_millis(250),
        )
        .unwrap();
        // Off: no limit.
        let mut off = Throttler::new(ThrottleConfig {
            per_team: RateLimit::per_second(0.0),
            ..ThrottleConfig::default()
        });
        for _ in 0..10 {
            off.acquire_on("t", "a", OperationClass::Read, Some("team1"), now)
                .unwrap();
        }
    }

    #[test]
    fn burst_then_refill() {
        let mut t = Throttler::new(ThrottleConfig::default());
        let now = Duration::from_secs(10);
        for _ in 0..30 {
            t.acquire("t", "a", OperationClass::Write, now).unwrap();
        }
        let wait = t.acquire("t", "a", OperationClass::Write, now).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(34),
            "{wait:?}"
        );
        // Other classes, apps and tenants have their own buckets.
        t.acquire("t", "a", OperationClass::Read, now).unwrap();
        t.acquire("t", "b", OperationClass::Write, now).unwrap();
        t.acquire("u", "a", OperationClass::Write, now).unwrap();
        // One token comes back after 1/30 s.
        t.acquire(
            "t",
            "a",
            OperationClass::Write,
            now + Duration::from_millis(34),
        )
        .unwrap();
        // A full second refills the burst, no more.
        let later = now + Duration::from_secs(5);
        for _ in 0..30 {
            t.acquire("t", "a", OperationClass::Write, later).unwrap();
        }
        assert!(t.acquire("t", "a", OperationClass::Write, later).is_err());
    }

    #[test]
    fn delete_is_15_and_batch_and_disabled_are_free() {
        let mut t = Throttler::new(ThrottleConfig::default());
        let now = Duration::ZERO;
        for _ in 0..15 {
            t.acquire("t", "a", OperationClass::Delete, now).unwrap();
        }
        assert!(t.acquire("t", "a", OperationClass::Delete, now).is_err());
        for _ in 0..1000 {
            t.acquire("t", "a", OperationClass::Batch, now).unwrap();
        }
        t.configure(ThrottleConfig::disabled());
        for _ in 0..1000 {
            t.acquire("t", "a", OperationClass::Delete, now).unwrap();
        }
    }

    #[test]
    fn absurd_rates_never_panic() {
        let mut t = Throttler::new(ThrottleConfig {
            write: RateLimit::per_second(1e-300),
            ..ThrottleConfig::default()
        });
        t.acquire("t", "a", OperationClass::Write, Duration::ZERO)
            .unwrap();
        let wait = t
            .acquire("t", "a", OperationClass::Write, Duration::ZERO)
            .unwrap_err();
        assert_eq!(wait, Duration::MAX);
        let bad = ThrottleConfig {
            read: RateLimit::per_second(f64::NAN),
            ..ThrottleConfig::default()
        };
        assert!(bad.validate().is_err());
        assert!(ThrottleConfig::default().validate().is_ok());
    }

    #[test]
    fn extreme_bursts_and_uptimes_never_panic() {
        let mut t = Throttler::new(ThrottleConfig {
            read: RateLimit {
                per_second: 1e300,
                burst: Some(1e300),
            },
            write: RateLimit {
                per_second: 1e-10,
                burst: Some(1e300),
            },
            per_app: AppLimits {
                read: RateLimit {
                    per_second: 1e300,
                    burst: Some(1e300),
                },
                ..AppLimits::graph()
            },
            ..ThrottleConfig::default()
        });
        for now in [Duration::ZERO, Duration::from_secs(1 << 40), Duration::MAX] {
            for _ in 0..1000 {
                t.acquire("t", "a", OperationClass::Read, now).unwrap();
            }
            let _ = t.acquire("t", "a", OperationClass::Write, now);
        }
    }

    #[test]
    fn custom_burst() {
        let mut t = Throttler::new(ThrottleConfig {
            write: RateLimit {
                per_second: 1.0,
                burst: Some(3.0),
            },
            ..ThrottleConfig::default()
        });
        for _ in 0..3 {
            t.acquire("t", "a", OperationClass::Write, Duration::ZERO)
                .unwrap();
        }
        let wait = t
            .acquire("t", "a", OperationClass::Write, Duration::ZERO)
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
    }

    #[test]
    fn an_app_is_limited_across_tenants_too() {
        let mut t = Throttler::new(ThrottleConfig {
            per_app: AppLimits {
                delete: RateLimit::per_second(2.0),
                ..AppLimits::graph()
            },
            ..ThrottleConfig::default()
        });
        let now = Duration::from_secs(10);
        // Two tenants, one app: each tenant is far from its own 15 deletes a second.
        t.acquire("t1", "app", OperationClass::Delete, now).unwrap();
        t.acquire("t2", "app", OperationClass::Delete, now).unwrap();
        let wait = t
            .acquire("t3", "app", OperationClass::Delete, now)
            .unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another app, and another class of the same app, are not held up.
        t.acquire("t3", "other", OperationClass::Delete, now)
            .unwrap();
        t.acquire("t3", "app", OperationClass::Read, now).unwrap();
        // Graph's defaults.
        assert_eq!(ThrottleConfig::default().per_app, AppLimits::graph());
        assert_eq!(AppLimits::graph().delete, RateLimit::per_second(150.0));
    }
}
