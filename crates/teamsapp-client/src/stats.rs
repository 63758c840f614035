//! What a client met so far: the counters behind [`Client::stats`](crate::Client::stats).

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Duration;

/// Counters behind [`Client::stats`](crate::Client::stats).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) throttled: AtomicU64,
    pub(crate) retries: AtomicU64,
    waited_micros: AtomicU64,
}

impl Stats {
    pub(crate) fn add_wait(&self, wait: Duration) {
        if !wait.is_zero() {
            let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
            self.waited_micros
                .fetch_add(micros, AtomicOrdering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> ClientStats {
        ClientStats {
            throttled: self.throttled.load(AtomicOrdering::Relaxed),
            retries: self.retries.load(AtomicOrdering::Relaxed),
            waited: Duration::from_micros(self.waited_micros.load(AtomicOrdering::Relaxed)),
        }
    }
}

/// What a client met so far ([`Client::stats`](crate::Client::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// `429 Too Many Requests` answers received (`$batch` items included).
    pub throttled: u64,
    /// Requests (and `$batch` items) sent again after a 429, 503, 504 or connection failure.
    pub retries: u64,
    /// Time spent waiting before sending: `Retry-After`, backoff, the throttle gate and the
    /// rate limiter.
    pub waited: Duration,
}
