//! `Retry-After` parsing: `teamsapp_client::parse_retry_after` and `retry_after_delay`.
//!
//! Input: the header value, optionally followed by `\n` and a `Date` header value.
//! Properties: never a panic; every wait is at most `MAX_RETRY_AFTER` (24 h), whatever the
//! reference time; delta-seconds are only ever read from `digits[.digits]` (after trimming) and
//! whole seconds below the cap are exact; an HTTP-date in the past is no wait.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use teamsapp_client::retry::MAX_RETRY_AFTER;
use teamsapp_client::{RetryAfter, parse_retry_after, retry_after_delay};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (value, date) = match input.split_once('\n') {
        Some((value, date)) => (value, Some(date)),
        None => (input, None),
    };

    let at = |text: &str| httpdate::parse_http_date(text).expect("a valid HTTP-date");
    let references = [
        UNIX_EPOCH,
        at("Wed, 01 Jan 2025 00:00:00 GMT"),
        at("Fri, 31 Dec 9999 23:59:59 GMT"),
        SystemTime::now(),
    ];

    match parse_retry_after(value) {
        Some(RetryAfter::Delay(delay)) => {
            assert!(delay <= MAX_RETRY_AFTER, "{value:?} gave {delay:?}");
            let trimmed = value.trim();
            let (int, frac) = trimmed.split_once('.').unwrap_or((trimmed, ""));
            assert!(
                !(int.is_empty() && frac.is_empty())
                    && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()),
                "{value:?} is not delta-seconds but gave {delay:?}"
            );
            if frac.is_empty() && int.len() <= 5 {
                let secs: u64 = int.parse().unwrap();
                assert_eq!(delay, Duration::from_secs(secs).min(MAX_RETRY_AFTER));
            }
            for reference in references {
                assert_eq!(RetryAfter::Delay(delay).delay_from(reference), delay);
            }
        }
        Some(RetryAfter::At(at)) => {
            for reference in references {
                let wait = RetryAfter::At(at).delay_from(reference);
                assert!(wait <= MAX_RETRY_AFTER);
                if at <= reference {
                    assert_eq!(wait, Duration::ZERO, "a past date asks for a wait");
                }
            }
        }
        None => {}
    }

    for now in references {
        let wait = retry_after_delay(value, date, now);
        assert_eq!(wait.is_some(), parse_retry_after(value).is_some());
        if let Some(wait) = wait {
            assert!(wait <= MAX_RETRY_AFTER, "{input:?} gave {wait:?}");
        }
    }
});
