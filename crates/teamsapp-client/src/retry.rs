//! Retry policy, backoff and `Retry-After` parsing.
//!
//! What is retried:
//!
//! - `429 Too Many Requests`: every operation (Graph rejected the request without running it), after
//!   `Retry-After` or, when absent, exponential backoff with full jitter, under
//!   [`RetryPolicy::throttled`];
//! - `503 Service Unavailable`: every operation (the service did not take the request), the same
//!   way, under [`RetryPolicy::transient`];
//! - `504 Gateway Timeout` and transport failures after the request may have reached Graph: only
//!   operations that are safe to repeat (GET, DELETE, PATCH and the `upgrade` action, which moves an
//!   installation to the catalog's latest version however often it runs); not install, publish,
//!   update or a `$batch` holding one of them, which could run twice;
//! - connection failures (the request never left: refused, unreachable, DNS): every operation, under
//!   [`RetryPolicy::connect`], a few quick retries rather than the throttling budget, so a wrong
//!   `--base-url` or a stopped emulator fails within seconds.
//!
//! Every wait counts against [`RetryPolicy::budget`], measured from the first attempt: a wait that
//! would end past the budget is not started, and the request fails with
//! [`Error::Throttled`](crate::Error::Throttled).

use std::time::{Duration, SystemTime};

/// The longest wait a `Retry-After` value is taken to ask for; longer (or absurd) values are capped
/// to it, and the time budget then ends the retries at once.
pub const MAX_RETRY_AFTER: Duration = Duration::from_hours(24);

/// How to retry one kind of failure: how many times, and the backoff used when the server gives no
/// `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// How many retries after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// The cap of the first backoff; each retry doubles it.
    pub initial: Duration,
    /// The largest backoff cap.
    pub max: Duration,
}

impl Backoff {
    /// A backoff with `max_retries` retries, starting at `initial` and doubling up to `max`.
    pub const fn new(max_retries: u32, initial: Duration, max: Duration) -> Self {
        Self {
            max_retries,
            initial,
            max,
        }
    }

    /// No retries.
    pub const fn none() -> Self {
        Self::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The cap of the wait before retry number `retry` (1-based): `min(max, initial × 2^(retry-1))`.
    pub fn cap(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The wait before retry number `retry` (1-based) when the server gave no `Retry-After`:
    /// "full jitter", a uniformly random duration between zero and [`Backoff::cap`].
    pub fn delay(&self, retry: u32) -> Duration {
        let cap = self.cap(retry);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// When and how often to retry.
///
/// [`RetryPolicy::standard`] is the default: up to 6 retries on 429, up to 3 on 503/504 and
/// transport failures, 2 quick ones on connection failures, within 180 seconds from the first
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// For `429 Too Many Requests`.
    pub throttled: Backoff,
    /// For `503`, `504` and transport failures after the connection was made.
    pub transient: Backoff,
    /// For connection failures (refused, unreachable, DNS): the request never left, and a server
    /// that is not there rarely appears within seconds, so these retries are few and quick.
    pub connect: Backoff,
    /// The total time from the first attempt within which a retry may start.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryPolicy {
    /// Up to 6 retries on 429 (backoff 2 s doubling to 60 s when `Retry-After` is absent), up to 3
    /// on 503/504 and transport failures (1 s doubling to 30 s), up to 2 on connection failures
    /// (250 ms doubling to 1 s), within 180 s.
    pub const fn standard() -> Self {
        Self {
            throttled: Backoff::new(6, Duration::from_secs(2), Duration::from_mins(1)),
            transient: Backoff::new(3, Duration::from_secs(1), Duration::from_secs(30)),
            connect: Backoff::new(2, Duration::from_millis(250), Duration::from_secs(1)),
            budget: Duration::from_mins(3),
        }
    }

    /// No retries at all: a 429 comes back as [`Error::Api`](crate::Error::Api) with its
    /// `retry_after`, for callers that schedule throttled work themselves.
    pub const fn disabled() -> Self {
        Self {
            throttled: Backoff::none(),
            transient: Backoff::none(),
            connect: Backoff::none(),
            budget: Duration::ZERO,
        }
    }

    /// Replaces the policy for 429.
    #[must_use]
    pub const fn with_throttled(mut self, backoff: Backoff) -> Self {
        self.throttled = backoff;
        self
    }

    /// Replaces the policy for connection failures.
    #[must_use]
    pub const fn with_connect(mut self, backoff: Backoff) -> Self {
        self.connect = backoff;
        self
    }

    /// Replaces the policy for 503, 504 and transport failures.
    #[must_use]
    pub const fn with_transient(mut self, backoff: Backoff) -> Self {
        self.transient = backoff;
        self
    }

    /// Sets the number of retries for every kind of failure (connection failures keep their
    /// smaller number when it is smaller).
    #[must_use]
    pub const fn with_max_retries(mut self, retries: u32) -> Self {
        self.throttled.max_retries = retries;
        self.transient.max_retries = retries;
        if retries < self.connect.max_retries {
            self.connect.max_retries = retries;
        }
        self
    }

    /// Sets the total time budget.
    #[must_use]
    pub const fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }
}

/// A parsed `Retry-After` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delta-seconds, possibly fractional (`5`, `0.249`), capped at [`MAX_RETRY_AFTER`].
    Delay(Duration),
    /// An HTTP-date.
    At(SystemTime),
}

impl RetryAfter {
    /// The wait this value asks for, counting an HTTP-date from `reference` (the response's `Date`
    /// or, without one, now). A date in the past means no wait. Capped at [`MAX_RETRY_AFTER`].
    pub fn delay_from(self, reference: SystemTime) -> Duration {
        match self {
            Self::Delay(delay) => delay,
            Self::At(at) => at
                .duration_since(reference)
                .unwrap_or(Duration::ZERO)
                .min(MAX_RETRY_AFTER),
        }
    }
}

/// Parses a `Retry-After` header value; never panics.
///
/// Accepts delta-seconds (`120`), fractional seconds as Graph sends inside `$batch` (`0.249`,
/// `2.128`; digits beyond nanoseconds are ignored) and HTTP-dates in the three forms of RFC 9110
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, …). Surrounding whitespace is ignored. Negative numbers, signs,
/// exponents, empty strings and other garbage give `None`; huge numbers are capped at
/// [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if let Some(delay) = parse_seconds(value) {
        return Some(RetryAfter::Delay(delay));
    }
    httpdate::parse_http_date(value).ok().map(RetryAfter::At)
}

/// The wait a response asks for: its `Retry-After` value, an HTTP-date counted from its `Date`
/// header when that parses, else from `now`. Never panics.
pub fn retry_after_delay(value: &str, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let parsed = parse_retry_after(value)?;
    let reference = date
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(now);
    Some(parsed.delay_from(reference))
}

/// `digits`, `digits.digits`, `digits.` or `.digits`, as a duration; anything else is `None`.
fn parse_seconds(value: &str) -> Option<Duration> {
    let (int, frac) = match value.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (value, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut secs: u64 = 0;
    for b in int.bytes() {
        secs = secs.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    if secs >= MAX_RETRY_AFTER.as_secs() {
        return Some(MAX_RETRY_AFTER);
    }
    let mut nanos: u32 = 0;
    let mut scale: u32 = 100_000_000;
    for b in frac.bytes().take(9) {
        nanos += u32::from(b - b'0') * scale;
        scale /= 10;
    }
    Some(Duration::new(secs, nanos).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(value: &str) -> Option<Duration> {
        match parse_retry_after(value)? {
            RetryAfter::Delay(d) => Some(d),
            RetryAfter::At(_) => None,
        }
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(delay("5"), Some(Duration::from_secs(5)));
        assert_eq!(delay(" 120 "), Some(Duration::from_mins(2)));
        assert_eq!(delay("0"), Some(Duration::ZERO));
        assert_eq!(delay("007"), Some(Duration::from_secs(7)));
    }

    #[test]
    fn fractional_seconds() {
        assert_eq!(delay("0.249"), Some(Duration::from_millis(249)));
        assert_eq!(delay("2.128"), Some(Duration::from_millis(2128)));
        assert_eq!(delay(".5"), Some(Duration::from_millis(500)));
        assert_eq!(delay("3."), Some(Duration::from_secs(3)));
        assert_eq!(
            delay("1.1234567891234"),
            Some(Duration::new(1, 123_456_789))
        );
    }

    #[test]
    fn huge_values_are_capped() {
        assert_eq!(delay("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            delay("99999999999999999999999999999999"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            delay(&format!("{}.{}", "9".repeat(5000), "9".repeat(5000))),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn garbage_is_none() {
        for value in [
            "",
            " ",
            ".",
            "-5",
            "+5",
            "-0.5",
            "1e3",
            "5s",
            "1.2.3",
            "abc",
            "0x10",
            "∞",
            "NaN",
            "Sun, 99 Foo 1994 08:49:37 GMT",
            "1 2",
        ] {
            assert_eq!(parse_retry_after(value), None, "{value:?}");
        }
    }

    #[test]
    fn http_dates_count_from_the_response_date() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let retry = "Sun, 06 Nov 1994 08:51:42 GMT"; // 2 min 5 s later, Kiota-dotnet's trap.
        let now = SystemTime::UNIX_EPOCH; // far in the past: must not be used when Date is present.
        assert_eq!(
            retry_after_delay(retry, Some(date), now),
            Some(Duration::from_secs(125))
        );
        // Without Date, from now.
        let at = httpdate::parse_http_date(retry).unwrap();
        assert_eq!(
            retry_after_delay(retry, None, at - Duration::from_secs(30)),
            Some(Duration::from_secs(30))
        );
        // A garbage Date header falls back to now.
        assert_eq!(
            retry_after_delay(retry, Some("yesterday"), at - Duration::from_secs(7)),
            Some(Duration::from_secs(7))
        );
        // A date in the past: no wait.
        assert_eq!(
            retry_after_delay(date, Some(retry), now),
            Some(Duration::ZERO)
        );
        // RFC 850 and asctime forms.
        assert!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT").is_some());
        assert!(parse_retry_after("Sun Nov  6 08:49:37 1994").is_some());
        // A date far in the future is capped.
        assert_eq!(
            retry_after_delay("Fri, 31 Dec 9999 23:59:59 GMT", Some(date), now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn never_panics_on_random_input() {
        // A cheap fuzz pass; the real fuzz target calls the same function.
        let alphabet: Vec<char> = "0123456789.,:- +eE GMTSunNov\t\u{0}é∞".chars().collect();
        for _ in 0..20_000 {
            let len = rand::random_range(0..40);
            let s: String = (0..len)
                .map(|_| alphabet[rand::random_range(0..alphabet.len())])
                .collect();
            let _ = retry_after_delay(&s, Some(&s), SystemTime::now());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_parses_without_panicking(value in ".{0,64}", date in ".{0,40}") {
            let _ = retry_after_delay(&value, Some(&date), SystemTime::now());
        }

        #[test]
        fn whole_and_fractional_seconds_round_trip(secs in 0u64..86_399, millis in 0u32..1000) {
            let value = format!("{secs}.{millis:03}");
            proptest::prop_assert_eq!(
                delay(&value),
                Some(Duration::from_secs(secs) + Duration::from_millis(u64::from(millis)))
            );
        }

        #[test]
        fn waits_never_exceed_the_cap(value in "[0-9]{0,30}(\\.[0-9]{0,30})?") {
            if let Some(d) = delay(&value) {
                proptest::prop_assert!(d <= MAX_RETRY_AFTER);
            }
        }
    }

    #[test]
    fn backoff_caps_double_and_saturate() {
        let b = Backoff::new(10, Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(b.cap(1), Duration::from_secs(1));
        assert_eq!(b.cap(2), Duration::from_secs(2));
        assert_eq!(b.cap(5), Duration::from_secs(16));
        assert_eq!(b.cap(6), Duration::from_secs(30));
        assert_eq!(b.cap(u32::MAX), Duration::from_secs(30));
        for retry in 1..50 {
            assert!(b.delay(retry) <= b.cap(retry));
        }
        assert_eq!(Backoff::none().delay(3), Duration::ZERO);
    }

    #[test]
    fn policies() {
        let p = RetryPolicy::standard()
            .with_max_retries(2)
            .with_budget(Duration::from_secs(9));
        assert_eq!(p.throttled.max_retries, 2);
        assert_eq!(p.transient.max_retries, 2);
        assert_eq!(p.budget, Duration::from_secs(9));
        assert_eq!(RetryPolicy::disabled().throttled.max_retries, 0);
        assert_eq!(RetryPolicy::default(), RetryPolicy::standard());
    }
}
