//! Reproducible trouble: seeded random faults, scripted responses, and the record of clients that
//! retried before `Retry-After` elapsed.
//!
//! **Random faults** ([`FaultConfig`]) are off by default. When any probability is above zero,
//! every Graph request (each `$batch` item included) draws exactly two numbers from one `ChaCha8`
//! generator seeded with [`FaultConfig::seed`]: the first picks 429, 503, 504 or nothing, the
//! second decides the extra latency. The same seed and the same sequence of requests therefore
//! give the same faults, run after run.
//!
//! **Scripted responses** ([`Scenario`]) answer matching requests with a given status, a given
//! number of times: "the next 3 upgrades of this installation answer 503".

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use teamsapp_types::AppInstallationId;

/// Random fault settings (`GET`/`PUT /_emulator/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultConfig {
    /// The generator's seed.
    pub seed: u64,
    /// Probability of a `429 TooManyRequests`.
    pub too_many_requests: f64,
    /// Probability of a `503 Service Unavailable`.
    pub service_unavailable: f64,
    /// Probability of a `504 Gateway Timeout`.
    pub gateway_timeout: f64,
    /// Probability of extra latency before the request is handled.
    pub latency: f64,
    /// The extra latency, in milliseconds.
    pub latency_ms: u64,
    /// `Retry-After` on injected 429s and 503s, in seconds; 0 sends `Retry-After: 0` (retry at
    /// once), which Graph never does but fast fault-heavy tests want.
    pub retry_after_seconds: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            too_many_requests: 0.0,
            service_unavailable: 0.0,
            gateway_timeout: 0.0,
            latency: 0.0,
            latency_ms: 0,
            retry_after_seconds: 2,
        }
    }
}

impl FaultConfig {
    /// Whether any fault can happen.
    pub fn is_active(&self) -> bool {
        self.too_many_requests > 0.0
            || self.service_unavailable > 0.0
            || self.gateway_timeout > 0.0
            || (self.latency > 0.0 && self.latency_ms > 0)
    }

    /// Checks that probabilities are in `0..=1` and sum to at most 1.
    pub fn validate(&self) -> Result<(), String> {
        let status = [
            self.too_many_requests,
            self.service_unavailable,
            self.gateway_timeout,
        ];
        if status
            .iter()
            .chain(std::iter::once(&self.latency))
            .any(|p| !(0.0..=1.0).contains(p))
        {
            return Err("probabilities must be between 0 and 1".to_owned());
        }
        if status.iter().sum::<f64>() > 1.0 {
            return Err(
                "tooManyRequests + serviceUnavailable + gatewayTimeout must not exceed 1"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// What a random draw decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Draw {
    pub(crate) fault: Option<Fault>,
    pub(crate) latency: Option<Duration>,
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    TooManyRequests,
    ServiceUnavailable,
    GatewayTimeout,
}

/// The seeded generator and its settings.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    config: FaultConfig,
    rng: ChaCha8Rng,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Self { config, rng }
    }

    pub(crate) fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Draws for one request: two numbers when faults are active, none otherwise.
    pub(crate) fn draw(&mut self) -> Draw {
        if !self.config.is_active() {
            return Draw {
                fault: None,
                latency: None,
            };
        }
        let c = &self.config;
        let x: f64 = self.rng.random();
        let y: f64 = self.rng.random();
        let fault = if x < c.too_many_requests {
            Some(Fault::TooManyRequests)
        } else if x < c.too_many_requests + c.service_unavailable {
            Some(Fault::ServiceUnavailable)
        } else if x < c.too_many_requests + c.service_unavailable + c.gateway_timeout {
            Some(Fault::GatewayTimeout)
        } else {
            None
        };
        let latency =
            (y < c.latency && c.latency_ms > 0).then(|| Duration::from_millis(c.latency_ms));
        Draw { fault, latency }
    }
}

/// Which requests a [`Scenario`] answers; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioMatch {
    /// Graph's `operationId` (`chats.chat.installedApps.teamsAppInstallation.upgrade`).
    #[serde(default)]
    pub operation_id: Option<String>,
    /// The HTTP method (ASCII case-insensitive).
    #[serde(default)]
    pub method: Option<String>,
    /// The path below the version prefix (a `/v1.0` or `/beta` prefix is ignored),
    /// percent-encoded or not, in the operation's canonical form (`…/upgrade` also matches
    /// requests sent to `…/microsoft.graph.upgrade`).
    #[serde(default)]
    pub path: Option<String>,
    /// Path parameters by template name (`{"teamsAppInstallation-id": "…"}`); installation ids
    /// match with or without base64 padding.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The calling app's client id.
    #[serde(default)]
    pub app: Option<String>,
}

/// A scripted response (`PUT /_emulator/scenarios`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// Which requests it answers.
    #[serde(rename = "match")]
    pub matcher: ScenarioMatch,
    /// How many requests it answers; absent means every matching request.
    #[serde(default)]
    pub times: Option<u32>,
    /// The status to answer.
    pub status: u16,
    /// `Retry-After`, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// `error.code`; defaults to Graph's code for the status.
    #[serde(default)]
    pub code: Option<String>,
    /// `error.message`; defaults to a message saying the response is scripted.
    #[serde(default)]
    pub message: Option<String>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A request, as scenarios see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFacts<'a> {
    pub(crate) operation_id: &'a str,
    pub(crate) method: &'a str,
    pub(crate) canonical_path: &'a str,
    pub(crate) params: &'a [(&'static str, String)],
    pub(crate) app: &'a str,
}

impl ScenarioMatch {
    pub(crate) fn matches(&self, request: &RequestFacts<'_>) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        eq(&self.operation_id, request.operation_id)
            && eq(&self.method, request.method)
            && eq(&self.app, request.app)
            && self
                .path
                .as_deref()
                .is_none_or(|p| canonical_scenario_path(p) == request.canonical_path)
            && self.params.iter().all(|(name, want)| {
                request
                    .params
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .is_some_and(|(_, have)| same_id(want, have))
            })
    }
}

/// Two path values name the same thing: equal, or the same installation id spelled with and
/// without padding.
fn same_id(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (AppInstallationId::new(a), AppInstallationId::new(b)) {
        (Ok(a), Ok(b)) => a.normalized_eq(&b),
        _ => false,
    }
}

/// A scenario path, decoded, without a version prefix or trailing slash.
fn canonical_scenario_path(path: &str) -> String {
    let decoded = crate::routing::decoded_segments(path);
    let rest = match decoded.first() {
        Some(v) if v.eq_ignore_ascii_case("v1.0") || v.eq_ignore_ascii_case("beta") => {
            &decoded[1..]
        }
        _ => &decoded[..],
    };
    format!("/{}", rest.join("/"))
}

/// The scripted responses, consumed in order.
#[derive(Debug, Default)]
pub(crate) struct ScenarioBook {
    scenarios: Vec<Scenario>,
}

impl ScenarioBook {
    pub(crate) fn new(scenarios: Vec<Scenario>) -> Self {
        Self { scenarios }
    }

    /// The scenarios with their remaining counts.
    pub(crate) fn list(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The first scenario that matches `request` and has uses left; uses one.
    /// Whether no scenario is loaded (then no request needs its facts worked out).
    pub(crate) fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    pub(crate) fn take(&mut self, request: &RequestFacts<'_>) -> Option<Scenario> {
        let scenario = self
            .scenarios
            .iter_mut()
            .find(|s| s.times != Some(0) && s.matcher.matches(request))?;
        if let Some(times) = &mut scenario.times {
            *times -= 1;
        }
        Some(scenario.clone())
    }
}

/// A client that retried before `Retry-After` elapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlyRetry {
    /// The tenant.
    pub tenant: String,
    /// The calling app's client id.
    pub app: String,
    /// The operation retried.
    pub operation_id: String,
    /// The resource (the path parameters, e.g. chat and installation id).
    pub resource: String,
    /// How many early retries.
    pub count: u64,
    /// When the last one happened (RFC 3339).
    pub last_at: String,
    /// How early the last one was, in milliseconds.
    pub last_early_by_ms: u64,
}

pub(crate) type RetryKey = (String, String, String, String);

/// `Retry-After` promises and the clients that broke them.
#[derive(Debug, Default)]
pub(crate) struct EarlyRetryTracker {
    not_before: BTreeMap<RetryKey, Duration>,
    offences: BTreeMap<RetryKey, EarlyRetry>,
}

impl EarlyRetryTracker {
    /// Whether some client was told to wait (then a request's key is worth working out).
    pub(crate) fn is_watching(&self) -> bool {
        !self.not_before.is_empty()
    }

    /// Notes a request at monotonic `now`; an early one (before a `Retry-After` this key was
    /// given) is recorded. Either way the promise is used up.
    pub(crate) fn observe(&mut self, key: RetryKey, now: Duration, wall: SystemTime) {
        let Some(not_before) = self.not_before.remove(&key) else {
            return;
        };
        if now >= not_before {
            return;
        }
        let early_by = not_before.saturating_sub(now);
        let last_at = time::OffsetDateTime::from(wall)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let (tenant, app, operation_id, resource) = key.clone();
        let record = self.offences.entry(key).or_insert(EarlyRetry {
            tenant,
            app,
            operation_id,
            resource,
            count: 0,
            last_at: String::new(),
            last_early_by_ms: 0,
        });
        record.count += 1;
        record.last_at = last_at;
        record.last_early_by_ms = u64::try_from(early_by.as_millis()).unwrap_or(u64::MAX);
    }

    /// Notes that `key` was told to wait `retry_after` seconds from monotonic `now`.
    pub(crate) fn promise(&mut self, key: RetryKey, now: Duration, retry_after: u64) {
        let not_before = now
            .checked_add(Duration::from_secs(retry_after))
            .unwrap_or(Duration::MAX);
        self.not_before.insert(key, not_before);
    }

    /// Every client that retried early.
    pub(crate) fn offences(&self) -> Vec<EarlyRetry> {
        self.offences.values().cloned().collect()
    }

    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.offences.values().map(|o| o.count).sum()
    }
}

/// The key early retries are tracked by.
pub(crate) fn retry_key(tenant: &str, app: &str, operation_id: &str, resource: &str) -> RetryKey {
    (
        tenant.to_ascii_lowercase(),
        app.to_ascii_lowercase(),
        operation_id.to_owned(),
        resource.to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, n: usize) -> Vec<Draw> {
        let mut f = FaultInjector::new(FaultConfig {
            seed,
            too_many_requests: 0.2,
            service_unavailable: 0.2,
            gateway_timeout: 0.1,
            latency: 0.3,
            latency_ms: 250,
            ..FaultConfig::default()
        });
        (0..n).map(|_| f.draw()).collect()
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        assert_eq!(run(7, 200), run(7, 200));
        assert_ne!(run(7, 200), run(8, 200));
        let draws = run(7, 1000);
        let count = |f| draws.iter().filter(|d| d.fault == Some(f)).count();
        assert!((150..250).contains(&count(Fault::TooManyRequests)));
        assert!((50..150).contains(&count(Fault::GatewayTimeout)));
    }

    #[test]
    fn off_by_default() {
        let mut f = FaultInjector::new(FaultConfig::default());
        assert!(!f.config().is_active());
        assert!((0..100).all(|_| f.draw()
            == Draw {
                fault: None,
                latency: None
            }));
        assert!(
            FaultConfig {
                too_many_requests: 0.7,
                service_unavailable: 0.7,
                ..FaultConfig::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn scenarios_match_and_count_down() {
        let installation = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";
        let mut book = ScenarioBook::new(vec![Scenario {
            matcher: ScenarioMatch {
                operation_id: Some("op".into()),
                params: [(
                    "teamsAppInstallation-id".to_owned(),
                    installation.trim_end_matches('=').to_owned(),
                )]
                .into(),
                ..ScenarioMatch::default()
            },
            times: Some(2),
            status: 503,
            retry_after: Some(2),
            code: None,
            message: None,
            headers: BTreeMap::new(),
        }]);
        let params = [("teamsAppInstallation-id", installation.to_owned())];
        let facts = RequestFacts {
            operation_id: "op",
            method: "POST",
            canonical_path: "/x",
            params: &params,
            app: "a",
        };
        assert!(book.take(&facts).is_some());
        assert!(book.take(&facts).is_some());
        assert!(book.take(&facts).is_none());
        assert_eq!(book.list()[0].times, Some(0));
        let other = RequestFacts {
            operation_id: "other",
            ..facts
        };
        assert!(!book.list()[0].matcher.matches(&other));
    }

    #[test]
    fn scenario_paths_ignore_version_and_encoding() {
        let m = ScenarioMatch {
            path: Some("/v1.0/chats/19%3Aabc%40thread.v2/installedApps".into()),
            ..ScenarioMatch::default()
        };
        let facts = RequestFacts {
            operation_id: "op",
            method: "GET",
            canonical_path: "/chats/19:abc@thread.v2/installedApps",
            params: &[],
            app: "a",
        };
        assert!(m.matches(&facts));
    }

    #[test]
    fn early_retries_are_recorded_once_per_promise() {
        let mut t = EarlyRetryTracker::default();
        let key = retry_key("T", "A", "op", "r");
        let wall = SystemTime::UNIX_EPOCH;
        t.promise(key.clone(), Duration::from_secs(10), 2);
        t.observe(key.clone(), Duration::from_millis(11_500), wall);
        assert_eq!(t.total(), 1);
        assert_eq!(t.offences()[0].last_early_by_ms, 500);
        // The promise was used up: a second retry is not early.
        t.observe(key.clone(), Duration::from_millis(11_600), wall);
        assert_eq!(t.total(), 1);
        // A retry after the wait is fine.
        t.promise(key.clone(), Duration::from_secs(20), 2);
        t.observe(key, Duration::from_secs(22), wall);
        assert_eq!(t.total(), 1);
    }
}
