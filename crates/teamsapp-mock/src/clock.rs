//! [`Clock`]: where the emulator reads time, so throttling, token lifetimes, device codes and fault
//! latency are deterministic under test.
//!
//! [`SystemClock`] follows the real clock (through `tokio::time`, so a runtime started with
//! `start_paused` freezes it too); [`ManualClock`] moves only when a test calls
//! [`ManualClock::advance`], and its [`sleep`](Clock::sleep) advances it instead of waiting.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

/// A future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of time for the emulator.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Monotonic time since the clock was created: token buckets, `Retry-After` bookkeeping and
    /// latencies are measured on it.
    fn elapsed(&self) -> Duration;

    /// Wall-clock time: the `Date` header, `innerError.date`, token `iat`/`nbf`/`exp`.
    fn now(&self) -> SystemTime;

    /// Waits for `duration` (a manual clock advances by it and returns at once).
    fn sleep(&self, duration: Duration) -> Sleep;

    /// [`now`](Self::now) as a UTC date-time.
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.now())
    }

    /// [`now`](Self::now) in whole seconds since the Unix epoch (0 before 1970).
    fn unix_seconds(&self) -> u64 {
        self.now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// The real clock; monotonic time comes from `tokio::time::Instant`, so a paused tokio runtime
/// pauses it too.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: tokio::time::Instant,
}

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that moves only when told to: for tests that must not depend on timing.
#[derive(Debug)]
pub struct ManualClock {
    start: SystemTime,
    offset: Mutex<Duration>,
}

impl ManualClock {
    /// A clock whose wall time starts at `start` and whose monotonic time starts at zero.
    pub fn new(start: SystemTime) -> Self {
        Self {
            start,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// A clock starting at 2025-01-01T00:00:00Z, so dates in tests are predictable.
    pub fn at_2025() -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_hours(482_136))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset = offset.saturating_add(by);
    }

    fn offset(&self) -> Duration {
        *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        self.offset()
    }

    fn now(&self) -> SystemTime {
        self.start + self.offset()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Formats a date as Graph does in `innerError.date`: `YYYY-MM-DDTHH:MM:SS`, UTC, no zone.
pub(crate) fn graph_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_2025();
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert_eq!(graph_date(clock.now_utc()), "2025-01-01T00:00:00");
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.elapsed(), Duration::from_millis(1500));
        assert_eq!(graph_date(clock.now_utc()), "2025-01-01T00:00:01");
        assert_eq!(clock.unix_seconds(), 1_735_689_601);
    }

    #[tokio::test]
    async fn manual_sleep_advances_instead_of_waiting() {
        let clock = ManualClock::at_2025();
        clock.sleep(Duration::from_secs(30)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(30));
    }
}
