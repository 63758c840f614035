//! The shared throttle gate and the client-side rate limiter, both keyed by (tenant, operation
//! class): Graph's Teams limits are per app, per tenant and per class.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use teamsapp_types::operation::OperationClass;
use tokio::time::Instant;

/// Requests per second per class, per app and per tenant.
///
/// [`RateLimit::teams_defaults`] holds the published Microsoft Teams service limits: GET 30 rps,
/// POST/PUT 30 rps, PATCH 30 rps, DELETE 15 rps. `$batch` itself is not limited: each request it
/// carries counts in its own class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    rates: BTreeMap<OperationClass, u32>,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::teams_defaults()
    }
}

impl RateLimit {
    /// The published Teams limits per app per tenant: GET 30, POST/PUT 30, PATCH 30, DELETE 15
    /// requests per second.
    pub fn teams_defaults() -> Self {
        Self {
            rates: BTreeMap::from([
                (OperationClass::Read, 30),
                (OperationClass::Write, 30),
                (OperationClass::Patch, 30),
                (OperationClass::Delete, 15),
            ]),
        }
    }

    /// No client-side limit for any class.
    pub fn disabled() -> Self {
        Self {
            rates: BTreeMap::new(),
        }
    }

    /// Sets the rate of one class in requests per second (also its burst); 0 removes the limit.
    #[must_use]
    pub fn with_rate(mut self, class: OperationClass, per_second: u32) -> Self {
        if per_second == 0 {
            self.rates.remove(&class);
        } else {
            self.rates.insert(class, per_second);
        }
        self
    }

    /// The rate of one class in requests per second, if limited.
    pub fn rate(&self, class: OperationClass) -> Option<u32> {
        self.rates.get(&class).copied()
    }
}

/// governor's clock on tokio's time, so that a paused test clock drives the limiter too.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    TokioClock,
    NoOpMiddleware<std::time::Instant>,
>;

/// The throttle state one or more clients share: a gate that holds back requests of a (tenant,
/// class) after Graph asked one of them to wait, and a rate limiter per (tenant, class).
///
/// Cheap to clone; clones share state. Give the same `Throttle` to clients of several tenants
/// (through [`ClientBuilder::throttle`](crate::ClientBuilder::throttle)) and each tenant is limited on
/// its own.
#[derive(Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

struct Inner {
    gate: Mutex<HashMap<(String, OperationClass), Instant>>,
    limiters: HashMap<OperationClass, (u32, Limiter)>,
    config: RateLimit,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("rate_limit", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(RateLimit::teams_defaults())
    }
}

impl Throttle {
    /// A throttle with the given client-side rate limits.
    pub fn new(rate_limit: RateLimit) -> Self {
        let limiters = rate_limit
            .rates
            .iter()
            .filter_map(|(&class, &rate)| {
                let rate = NonZeroU32::new(rate)?;
                let limiter = RateLimiter::new(
                    Quota::per_second(rate),
                    DefaultKeyedStateStore::default(),
                    TokioClock,
                );
                Some((class, (rate.get(), limiter)))
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                gate: Mutex::new(HashMap::new()),
                limiters,
                config: rate_limit,
            }),
        }
    }

    /// The rate limits this throttle enforces.
    pub fn rate_limit(&self) -> &RateLimit {
        &self.inner.config
    }

    /// When requests of `class` for `tenant` may go again, if Graph asked them to wait and the wait
    /// has not ended yet.
    pub fn resume_at(&self, tenant: &str, class: OperationClass) -> Option<Instant> {
        let gate = self
            .inner
            .gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        gate.get(&(tenant.to_owned(), class))
            .copied()
            .filter(|&until| until > Instant::now())
    }

    /// Holds back requests of `class` for `tenant` for `wait` from now (or longer, if already held
    /// longer).
    pub fn pause(&self, tenant: &str, class: OperationClass, wait: Duration) {
        let until = Instant::now() + wait;
        let mut gate = self
            .inner
            .gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = gate.entry((tenant.to_owned(), class)).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// Waits until no gate of `classes` for `tenant` is held; returns how long it waited.
    pub(crate) async fn wait_gate(&self, tenant: &str, classes: &[OperationClass]) -> Duration {
        let start = Instant::now();
        loop {
            let until = classes
                .iter()
                .filter_map(|&class| self.resume_at(tenant, class))
                .max();
            match until {
                Some(until) => {
                    tracing::debug!(
                        wait_ms = until.duration_since(Instant::now()).as_millis(),
                        "waiting for the shared throttle gate"
                    );
                    tokio::time::sleep_until(until).await;
                }
                None => return start.elapsed(),
            }
        }
    }

    /// Takes `n` cells of `class`'s rate limit for `tenant`, waiting as needed; returns how long it
    /// waited.
    pub(crate) async fn acquire(&self, tenant: &str, class: OperationClass, n: u32) -> Duration {
        let start = Instant::now();
        let Some((burst, limiter)) = self.inner.limiters.get(&class) else {
            return Duration::ZERO;
        };
        let key = tenant.to_owned();
        let mut left = n;
        while left > 0 {
            let take = left.min(*burst);
            let Some(cells) = NonZeroU32::new(take) else {
                break;
            };
            match limiter.check_key_n(&key, cells) {
                Ok(Ok(())) => left -= take,
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(TokioClock.now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
                // `take` never exceeds the burst, so this cannot happen; do not spin if it does.
                Err(_) => break,
            }
        }
        start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_teams_limits() {
        let r = RateLimit::default();
        assert_eq!(r.rate(OperationClass::Read), Some(30));
        assert_eq!(r.rate(OperationClass::Write), Some(30));
        assert_eq!(r.rate(OperationClass::Patch), Some(30));
        assert_eq!(r.rate(OperationClass::Delete), Some(15));
        assert_eq!(r.rate(OperationClass::Batch), None);
        let r = r
            .with_rate(OperationClass::Read, 0)
            .with_rate(OperationClass::Delete, 5);
        assert_eq!(r.rate(OperationClass::Read), None);
        assert_eq!(r.rate(OperationClass::Delete), Some(5));
        assert_eq!(RateLimit::disabled().rate(OperationClass::Write), None);
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_requests_after_the_burst() {
        let t = Throttle::new(RateLimit::disabled().with_rate(OperationClass::Delete, 15));
        let start = Instant::now();
        for _ in 0..15 {
            t.acquire("t1", OperationClass::Delete, 1).await;
        }
        assert!(start.elapsed() < Duration::from_millis(5), "burst is free");
        for _ in 0..15 {
            t.acquire("t1", OperationClass::Delete, 1).await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(930) && elapsed <= Duration::from_millis(1100),
            "{elapsed:?}"
        );
        // Another tenant has its own bucket.
        let before = Instant::now();
        t.acquire("t2", OperationClass::Delete, 15).await;
        assert!(before.elapsed() < Duration::from_millis(5));
        // More cells than the burst at once: taken in chunks, never an error.
        t.acquire("t3", OperationClass::Delete, 40).await;
        // Unlimited classes never wait.
        assert_eq!(
            t.acquire("t1", OperationClass::Read, 1000).await,
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gate_holds_until_the_latest_pause() {
        let t = Throttle::default();
        t.pause("t", OperationClass::Write, Duration::from_secs(5));
        t.pause("t", OperationClass::Write, Duration::from_secs(2)); // shorter: ignored
        assert!(t.resume_at("t", OperationClass::Write).is_some());
        assert!(t.resume_at("t", OperationClass::Read).is_none());
        assert!(t.resume_at("other", OperationClass::Write).is_none());
        let waited = t
            .wait_gate("t", &[OperationClass::Read, OperationClass::Write])
            .await;
        assert_eq!(waited, Duration::from_secs(5));
        assert!(t.resume_at("t", OperationClass::Write).is_none());
    }
}
