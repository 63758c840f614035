//! Token buckets per (tenant, app, [`OperationClass`]), as Teams throttles Graph calls: by
//! default the published per-app-per-tenant limits (GET 30 rps, POST/PUT 30 rps, PATCH 30 rps,
//! DELETE 15 rps), each with a burst of one second's worth. `$batch` itself is not limited; each
//! of its requests counts in its own class.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use teamsapp_types::operation::OperationClass;

/// The rate and burst of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second refilled.
    pub per_second: f64,
    /// Bucket size (requests that may arrive at once); defaults to one second's worth.
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
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            read: RateLimit::per_second(30.0),
            write: RateLimit::per_second(30.0),
            patch: RateLimit::per_second(30.0),
            delete: RateLimit::per_second(15.0),
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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Duration,
}

/// The buckets of every (tenant, app, class).
#[derive(Debug, Default)]
pub(crate) struct Throttler {
    config: ThrottleConfig,
    buckets: HashMap<(String, String, OperationClass), Bucket>,
}

impl Throttler {
    pub(crate) fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            buckets: HashMap::new(),
        }
    }

    pub(crate) fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Replaces the settings and empties every bucket.
    pub(crate) fn configure(&mut self, config: ThrottleConfig) {
        self.config = config;
        self.buckets.clear();
    }

    /// Takes one token for a request at monotonic time `now`, or says how long until one is
    /// available.
    pub(crate) fn acquire(
        &mut self,
        tenant: &str,
        app: &str,
        class: OperationClass,
        now: Duration,
    ) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        let Some(limit) = self.config.limit(class) else {
            return Ok(());
        };
        let capacity = limit.capacity();
        let bucket = self
            .buckets
            .entry((tenant.to_ascii_lowercase(), app.to_ascii_lowercase(), class))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        let refill = now.saturating_sub(bucket.at).as_secs_f64() * limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / limit.per_second;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
