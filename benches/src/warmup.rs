//! Warming a JIT-compiled peer until its throughput stops climbing.
//!
//! A fixed warm-up flatters whoever warms fastest: `WireMock` on the JVM keeps climbing long after
//! 30 s. So a peer is warmed in consecutive measured runs of a fixed length until two consecutive
//! runs are within a tolerance of each other (a plateau), after a floor of a few runs (two early
//! runs can agree by chance before the JIT has done its work), or until a cap on the number of runs. The
//! rule itself is [`verdict`], a pure function over the throughputs so far; [`warm_up`] drives it
//! and records the curve for the report.

use crate::report::{self, Table};
use anyhow::Result;
use std::time::{Duration, Instant};

/// How a peer is warmed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// The length of one warm-up run.
    pub(crate) run: Duration,
    /// Two consecutive runs whose throughputs differ by at most this share of the earlier one
    /// (0.05 is 5 %) make a plateau.
    pub(crate) tolerance: f64,
    /// The fewest warm-up runs, plateau or not.
    pub(crate) min_runs: usize,
    /// The most warm-up runs, plateau or not.
    pub(crate) max_runs: usize,
}

impl Rule {
    /// The longest the warm-up may take, without the load generator's start and stop.
    pub(crate) fn cap(&self) -> Duration {
        self.run
            .saturating_mul(u32::try_from(self.max_runs).unwrap_or(u32::MAX))
    }
}

/// Where a warm-up stands after the runs so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Neither a plateau nor the cap yet: run again.
    Continue,
    /// The last two runs are within the tolerance of each other.
    Plateaued,
    /// The cap was reached without a plateau.
    Capped,
}

/// The change from `previous` to `current` as a share of `previous` (`0.05` is +5 %); `None` when
/// it has no meaning: `previous` zero, negative or not a number, or `current` negative or not a
/// number.
pub(crate) fn change(previous: f64, current: f64) -> Option<f64> {
    (previous.is_finite() && previous > 0.0 && current.is_finite() && current >= 0.0)
        .then(|| (current - previous) / previous)
}

/// The warm-up rule over the throughputs of the runs so far, oldest first: a plateau when there
/// have been at least `min_runs` runs and the last two are within `tolerance` of each other
/// (relative to the earlier of the two), else the cap when there have been `max_runs` runs, else
/// another run. A zero or NaN throughput never makes a plateau, so a peer that answers nothing is
/// warmed until the cap.
pub(crate) fn verdict(rps: &[f64], tolerance: f64, min_runs: usize, max_runs: usize) -> Verdict {
    if rps.len() >= min_runs
        && let [.., previous, current] = rps
        && change(*previous, *current).is_some_and(|c| c.abs() <= tolerance)
    {
        Verdict::Plateaued
    } else if rps.len() >= max_runs {
        Verdict::Capped
    } else {
        Verdict::Continue
    }
}

/// One warm-up run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    /// Seconds from the start of the first warm-up run to the end of this one.
    pub(crate) elapsed: f64,
    /// Requests answered per second in this run.
    pub(crate) rps: f64,
}

/// A peer's warm-up: its curve and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct WarmUp {
    /// The rule it followed.
    pub(crate) rule: Rule,
    /// The runs, oldest first.
    pub(crate) curve: Vec<Point>,
    /// [`Verdict::Plateaued`] or [`Verdict::Capped`].
    pub(crate) outcome: Verdict,
}

/// Warms with `rule`: calls `run_once` (one load run of `rule.run`, returning its throughput)
/// until [`verdict`] says to stop.
pub(crate) fn warm_up(rule: Rule, mut run_once: impl FnMut() -> Result<f64>) -> Result<WarmUp> {
    let started = Instant::now();
    let mut curve: Vec<Point> = Vec::new();
    let mut rps: Vec<f64> = Vec::new();
    loop {
        let r = run_once()?;
        rps.push(r);
        curve.push(Point {
            elapsed: started.elapsed().as_secs_f64(),
            rps: r,
        });
        match verdict(&rps, rule.tolerance, rule.min_runs, rule.max_runs) {
            Verdict::Continue => {}
            outcome => {
                return Ok(WarmUp {
                    rule,
                    curve,
                    outcome,
                });
            }
        }
    }
}

/// The measured runs that are not within `tolerance` of `warm`, the last warm-up run's throughput:
/// a plateau that did not hold (a JIT that compiled a hot path only later, or a neighbour's build
/// that came or went). Empty when every run held; every run when `warm` is zero or NaN.
pub(crate) fn off_plateau(warm: f64, measured: &[f64], tolerance: f64) -> Vec<f64> {
    measured
        .iter()
        .copied()
        .filter(|m| !change(warm, *m).is_some_and(|c| c.abs() <= tolerance))
        .collect()
}

/// `+5.1 %`, `-0.3 %`, or `n/a`.
pub(crate) fn change_text(change: Option<f64>) -> String {
    change.map_or_else(|| "n/a".to_owned(), |c| format!("{:+.1} %", c * 100.0))
}

impl WarmUp {
    /// How the warm-up ended, as a phrase: `plateaued at run 6 (…)` or `hit the cap of …`.
    pub(crate) fn outcome_text(&self) -> String {
        let n = self.curve.len();
        let secs = self.curve.last().map_or(0.0, |p| p.elapsed);
        let percent = self.rule.tolerance * 100.0;
        match self.outcome {
            Verdict::Plateaued => format!(
                "plateaued at run {n} of at most {} ({secs:.0} s): runs {} and {n} within {percent:.0} % of each other",
                self.rule.max_runs,
                n - 1
            ),
            Verdict::Capped | Verdict::Continue => format!(
                "hit the cap of {} runs ({secs:.0} s) without two consecutive runs within {percent:.0} % of each other",
                self.rule.max_runs
            ),
        }
    }

    /// The curve as a table for the report: run, elapsed seconds, req/s and the change from the
    /// run before.
    pub(crate) fn table(&self, peer: &str) -> Table {
        let rows = self
            .curve
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let before = i.checked_sub(1).map(|j| self.curve[j].rps);
                vec![
                    (i + 1).to_string(),
                    format!("{:.1}", p.elapsed),
                    report::rounded(p.rps),
                    before.map_or_else(|| "–".to_owned(), |b| change_text(change(b, p.rps))),
                ]
            })
            .collect();
        Table {
            title: format!(
                "{peer} warm-up ({} s runs): {}",
                self.rule.run.as_secs(),
                self.outcome_text()
            ),
            header: ["run", "elapsed s", "req/s", "change vs previous"]
                .map(str::to_owned)
                .to_vec(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: f64 = 0.05;

    #[test]
    fn one_run_is_never_a_plateau() {
        assert_eq!(verdict(&[], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(verdict(&[30_000.0], FIVE, 2, 24), Verdict::Continue);
    }

    #[test]
    fn two_consecutive_runs_within_five_percent_are_a_plateau() {
        // Climbing: 20 % then 10 % then 6 % are not within 5 %.
        assert_eq!(
            verdict(&[10_000.0, 12_000.0], FIVE, 2, 24),
            Verdict::Continue
        );
        assert_eq!(
            verdict(&[10_000.0, 12_000.0, 13_200.0, 14_000.0], FIVE, 2, 24),
            Verdict::Continue
        );
        // +4.9 % and -4.9 % are; the rule looks at the last two runs only.
        assert_eq!(
            verdict(&[10_000.0, 20_000.0, 20_980.0], FIVE, 2, 24),
            Verdict::Plateaued
        );
        assert_eq!(
            verdict(&[10_000.0, 20_000.0, 19_020.0], FIVE, 2, 24),
            Verdict::Plateaued
        );
        // Exactly 5 % is within; just over is not.
        assert_eq!(verdict(&[100.0, 105.0], FIVE, 2, 24), Verdict::Plateaued);
        assert_eq!(verdict(&[100.0, 105.1], FIVE, 2, 24), Verdict::Continue);
        // A drop of more than 5 % is no plateau either (a GC pause, a noisy neighbour).
        assert_eq!(verdict(&[100.0, 90.0], FIVE, 2, 24), Verdict::Continue);
    }

    #[test]
    fn no_plateau_before_the_floor() {
        // Two early runs that agree by chance do not end a warm-up with a floor of 3 runs.
        assert_eq!(verdict(&[5_000.0, 5_100.0], FIVE, 3, 24), Verdict::Continue);
        assert_eq!(
            verdict(&[5_000.0, 5_100.0, 9_000.0], FIVE, 3, 24),
            Verdict::Continue
        );
        assert_eq!(
            verdict(&[5_000.0, 5_100.0, 5_200.0], FIVE, 3, 24),
            Verdict::Plateaued
        );
        // The cap still wins over a floor above it.
        assert_eq!(verdict(&[1.0, 1.0], FIVE, 3, 2), Verdict::Capped);
    }

    #[test]
    fn the_cap_stops_a_peer_that_keeps_climbing() {
        let climbing: Vec<f64> = (0..24).map(|i| 10_000.0 * 1.1_f64.powi(i)).collect();
        for n in 1..24 {
            assert_eq!(
                verdict(&climbing[..n], FIVE, 2, 24),
                Verdict::Continue,
                "{n}"
            );
        }
        assert_eq!(verdict(&climbing, FIVE, 2, 24), Verdict::Capped);
        // A plateau on the last allowed run counts as a plateau, not as the cap.
        assert_eq!(verdict(&[1.0, 2.0, 2.0], FIVE, 2, 3), Verdict::Plateaued);
        // The smoke's cap of 2 runs.
        assert_eq!(verdict(&[1_000.0, 2_000.0], FIVE, 2, 2), Verdict::Capped);
    }

    #[test]
    fn zero_and_nan_never_make_a_plateau_and_do_not_panic() {
        assert_eq!(verdict(&[0.0, 0.0], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(verdict(&[0.0, 0.0], FIVE, 2, 2), Verdict::Capped);
        assert_eq!(
            verdict(&[f64::NAN, f64::NAN], FIVE, 2, 24),
            Verdict::Continue
        );
        assert_eq!(verdict(&[100.0, f64::NAN], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(verdict(&[f64::NAN, 100.0], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(verdict(&[100.0, 0.0], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(verdict(&[0.0, 100.0], FIVE, 2, 24), Verdict::Continue);
        assert_eq!(
            verdict(&[f64::INFINITY, f64::INFINITY], FIVE, 2, 24),
            Verdict::Continue
        );
        assert_eq!(change(0.0, 0.0), None);
        assert_eq!(change(f64::NAN, 1.0), None);
        assert_eq!(change(1.0, f64::NAN), None);
        // A zero after a good run is a change of -100 %, shown as such.
        assert_eq!(change(100.0, 0.0), Some(-1.0));
        // Once two good runs agree after a zero, that is a plateau.
        assert_eq!(
            verdict(&[0.0, 100.0, 102.0], FIVE, 2, 24),
            Verdict::Plateaued
        );
    }

    #[test]
    fn measured_runs_off_the_plateau_are_found() {
        // The second real run on a busy machine: WireMock sat at about 3,000 req/s for four
        // runs, then jumped to about 15,000.
        assert_eq!(
            off_plateau(3_021.0, &[3_042.0, 15_261.0, 15_253.0], FIVE),
            [15_261.0, 15_253.0]
        );
        assert!(off_plateau(11_803.0, &[11_500.0, 12_300.0, 11_803.0], FIVE).is_empty());
        assert_eq!(off_plateau(10_000.0, &[9_400.0], FIVE), [9_400.0]);
        assert_eq!(off_plateau(0.0, &[1.0, 0.0], FIVE), [1.0, 0.0]);
        assert_eq!(off_plateau(f64::NAN, &[1.0], FIVE), [1.0]);
        assert_eq!(off_plateau(1.0, &[f64::NAN], FIVE).len(), 1);
        assert!(off_plateau(1.0, &[], FIVE).is_empty());
    }

    #[test]
    fn warm_up_runs_until_the_plateau_and_records_the_curve() {
        let rule = Rule {
            run: Duration::from_secs(10),
            tolerance: FIVE,
            min_runs: 2,
            max_runs: 24,
        };
        let mut script = [5_000.0, 15_000.0, 30_000.0, 31_000.0, 99_999.0].into_iter();
        let w = warm_up(rule, || Ok(script.next().expect("stopped in time"))).unwrap();
        assert_eq!(w.outcome, Verdict::Plateaued);
        let rps: Vec<f64> = w.curve.iter().map(|p| p.rps).collect();
        assert_eq!(rps, [5_000.0, 15_000.0, 30_000.0, 31_000.0]);
        assert_eq!(script.next(), Some(99_999.0), "no run after the plateau");
        assert!(w.curve.windows(2).all(|p| p[0].elapsed <= p[1].elapsed));
        let table = w.table("WireMock");
        assert!(
            table
                .title
                .starts_with("WireMock warm-up (10 s runs): plateaued at run 4 of at most 24 ("),
            "{}",
            table.title
        );
        assert_eq!(table.header.len(), 4);
        assert_eq!(table.rows.len(), 4);
        assert_eq!(table.rows[0][0], "1");
        assert_eq!(table.rows[0][2], "5,000");
        assert_eq!(table.rows[0][3], "–");
        assert_eq!(table.rows[1][3], "+200.0 %");
        assert_eq!(table.rows[2][3], "+100.0 %");
        assert_eq!(table.rows[3][3], "+3.3 %");
    }

    #[test]
    fn warm_up_stops_at_the_cap_and_says_so() {
        let rule = Rule {
            run: Duration::from_secs(1),
            tolerance: FIVE,
            min_runs: 2,
            max_runs: 2,
        };
        assert_eq!(rule.cap(), Duration::from_secs(2));
        let mut calls = 0;
        let w = warm_up(rule, || {
            calls += 1;
            Ok(if calls == 1 { 0.0 } else { f64::NAN })
        })
        .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(w.outcome, Verdict::Capped);
        assert!(w.outcome_text().starts_with("hit the cap of 2 runs"));
        let table = w.table("Prism");
        assert_eq!(table.rows[0][2], "0");
        assert_eq!(table.rows[1][2], "NaN");
        assert_eq!(table.rows[1][3], "n/a");
    }

    #[test]
    fn a_failed_run_ends_the_warm_up_with_its_error() {
        let rule = Rule {
            run: Duration::from_secs(1),
            tolerance: FIVE,
            min_runs: 2,
            max_runs: 5,
        };
        let err = warm_up(rule, || anyhow::bail!("wrk failed")).unwrap_err();
        assert_eq!(err.to_string(), "wrk failed");
    }
}
