//! Admission control that keeps a run within its failure limits exactly: a target starts only
//! if the run stays within every limit even when it and every target in flight fail.

use crate::event::StopReason;

/// The error rate is judged over at least this many targets, so that the first few failures of
/// a run do not stop it at once: with `max_error_rate` 0.1, the first 20 targets may have 2.
pub const MIN_SAMPLE: usize = 20;

/// The failure limits of a run (or of its canary phase).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Limits {
    pub(crate) max_failures: Option<usize>,
    pub(crate) max_error_rate: Option<f64>,
}

impl Limits {
    /// Whether a run with `failures` failed targets out of `total` finished or in flight is
    /// within the limits, and if not, which one it breaks.
    fn check(&self, failures: usize, total: usize) -> Result<(), StopReason> {
        if self.max_failures.is_some_and(|max| failures > max) {
            return Err(StopReason::MaxFailures);
        }
        if let Some(rate) = self.max_error_rate {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "target counts are far below 2^52; the product is a non-negative count"
            )]
            let allowed = (rate * total.max(MIN_SAMPLE) as f64 + 1e-9).floor() as usize;
            if failures > allowed {
                return Err(StopReason::MaxErrorRate);
            }
        }
        Ok(())
    }

    /// How many more targets (at most `want`) may start now, given `finished` targets of which
    /// `failures` failed and `in_flight` still running; or, when none may and nothing is in
    /// flight, the limit that ends the run.
    pub(crate) fn room(
        &self,
        finished: usize,
        failures: usize,
        in_flight: usize,
        want: usize,
    ) -> Result<usize, StopReason> {
        let mut room = 0;
        let mut blocked = None;
        for k in 1..=want {
            // Worst case: every target in flight and every new one fails.
            match self.check(failures + in_flight + k, finished + in_flight + k) {
                Ok(()) => room = k,
                Err(reason) => {
                    blocked = Some(reason);
                    break;
                }
            }
        }
        match (room, blocked) {
            (0, Some(reason)) if in_flight == 0 => Err(reason),
            _ => Ok(room),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_failures_caps_what_is_in_flight_by_what_may_still_fail() {
        let limits = Limits {
            max_failures: Some(3),
            max_error_rate: None,
        };
        assert_eq!(limits.room(0, 0, 0, 32), Ok(3));
        assert_eq!(limits.room(10, 0, 3, 32), Ok(0));
        assert_eq!(limits.room(10, 2, 0, 32), Ok(1));
        assert_eq!(limits.room(10, 3, 0, 32), Err(StopReason::MaxFailures));
        assert_eq!(
            limits.room(10, 2, 1, 32),
            Ok(0),
            "waits for the one in flight"
        );
    }

    #[test]
    fn the_error_rate_grows_the_room_as_targets_succeed() {
        let limits = Limits {
            max_failures: None,
            max_error_rate: Some(0.1),
        };
        assert_eq!(limits.room(0, 0, 0, 32), Ok(2));
        // After 100 successes, 11 may be in flight: 11 failures of 111 is within 10 %.
        assert_eq!(limits.room(100, 0, 0, 32), Ok(11));
        assert_eq!(limits.room(18, 2, 0, 32), Err(StopReason::MaxErrorRate));
        assert_eq!(limits.room(1000, 0, 0, 32), Ok(32));
    }

    #[test]
    fn no_limits_means_no_cap() {
        assert_eq!(Limits::default().room(0, 500, 0, 32), Ok(32));
    }

    #[test]
    fn a_simulated_run_never_exceeds_its_limits_whatever_fails() {
        // Every target fails: the worst case for both limits, at concurrency 32.
        for limits in [
            Limits {
                max_failures: Some(3),
                max_error_rate: None,
            },
            Limits {
                max_failures: None,
                max_error_rate: Some(0.25),
            },
            Limits {
                max_failures: Some(1),
                max_error_rate: Some(0.5),
            },
        ] {
            let (mut finished, mut failures, mut in_flight) = (0, 0, 0);
            let mut remaining = 1000;
            while let Ok(k) = limits.room(finished, failures, in_flight, 32 - in_flight) {
                let k = k.min(remaining);
                remaining -= k;
                in_flight += k;
                if in_flight == 0 {
                    break;
                }
                in_flight -= 1;
                finished += 1;
                failures += 1;
            }
            assert!(
                limits.check(failures, finished).is_ok(),
                "{limits:?}: {failures}/{finished}"
            );
            assert!(failures > 0);
        }
    }
}
