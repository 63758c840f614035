//! What a run reports: suites of figures, each with its baseline and the ratio between them, as
//! JSON for `cargo xtask bench` to print and to lay out in `BENCHMARKS.md`.

use serde::Serialize;

/// One benchmark's results.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Suite {
    /// A short stable name (`throughput`, `client`, …).
    pub(crate) id: &'static str,
    /// The heading.
    pub(crate) title: String,
    /// What was measured and how, one Markdown sentence per entry.
    pub(crate) method: Vec<String>,
    /// The figures.
    pub(crate) rows: Vec<Row>,
    /// Small tables of numbers behind the figures (a peer's warm-up curve, …), each under its title.
    pub(crate) tables: Vec<Table>,
    /// Correctness checks (the only things a benchmark may fail on).
    pub(crate) checks: Vec<Check>,
    /// What was skipped and why, and anything else worth knowing about the numbers.
    pub(crate) notes: Vec<String>,
    /// Why the suite could not finish, if it could not.
    pub(crate) error: Option<String>,
    /// Wall time of the suite.
    pub(crate) seconds: f64,
    /// The share of the machine's CPU that processes other than this run used meanwhile.
    pub(crate) others_cpu: Option<f64>,
}

impl Suite {
    pub(crate) fn new(id: &'static str, title: impl Into<String>) -> Self {
        Self {
            id,
            title: title.into(),
            method: Vec::new(),
            rows: Vec::new(),
            tables: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
            error: None,
            seconds: 0.0,
            others_cpu: None,
        }
    }

    /// Adds a sentence to the method.
    pub(crate) fn method(&mut self, text: impl Into<String>) {
        self.method.push(text.into());
    }

    /// Adds a note, echoing it on stderr.
    #[allow(
        clippy::print_stderr,
        reason = "progress for the person running the bench"
    )]
    pub(crate) fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("  note: {text}");
        self.notes.push(text);
    }

    /// Adds a figure, echoing it on stderr.
    #[allow(
        clippy::print_stderr,
        reason = "progress for the person running the bench"
    )]
    pub(crate) fn row(&mut self, row: Row) {
        eprintln!(
            "  {}: {} vs {} {} = {}",
            row.figure,
            row.value_text,
            row.baseline,
            row.baseline_text,
            ratio_text(row.ratio)
        );
        self.rows.push(row);
    }

    /// Adds a table, echoing its title on stderr.
    #[allow(
        clippy::print_stderr,
        reason = "progress for the person running the bench"
    )]
    pub(crate) fn table(&mut self, table: Table) {
        eprintln!("  {}", table.title);
        self.tables.push(table);
    }

    /// Adds a correctness check, echoing it on stderr.
    #[allow(
        clippy::print_stderr,
        reason = "progress for the person running the bench"
    )]
    pub(crate) fn check(&mut self, name: impl Into<String>, ok: bool, detail: impl Into<String>) {
        let check = Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        };
        eprintln!(
            "  check {}: {} ({})",
            check.name,
            if ok { "ok" } else { "FAILED" },
            check.detail
        );
        self.checks.push(check);
    }
}

/// One figure against its baseline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    /// What was measured.
    pub(crate) figure: String,
    /// The figure.
    pub(crate) value: f64,
    /// The figure, formatted with its unit.
    pub(crate) value_text: String,
    /// What the figure is compared with.
    pub(crate) baseline: String,
    /// The baseline's figure.
    pub(crate) baseline_value: f64,
    /// The baseline's figure, formatted with its unit.
    pub(crate) baseline_text: String,
    /// `value / baseline_value`.
    pub(crate) ratio: f64,
    /// Anything else about this figure (latency percentiles, spread of the runs, …).
    pub(crate) detail: String,
}

impl Row {
    /// A row whose ratio is `value / baseline_value`, formatted by `fmt`.
    pub(crate) fn new(
        figure: impl Into<String>,
        value: f64,
        baseline: impl Into<String>,
        baseline_value: f64,
        fmt: fn(f64) -> String,
    ) -> Self {
        Self {
            figure: figure.into(),
            value,
            value_text: fmt(value),
            baseline: baseline.into(),
            baseline_value,
            baseline_text: fmt(baseline_value),
            ratio: if baseline_value == 0.0 {
                f64::NAN
            } else {
                value / baseline_value
            },
            detail: String::new(),
        }
    }

    /// Sets the detail.
    #[must_use]
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// A small table of numbers under a title, laid out in `BENCHMARKS.md` after the suite's figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Table {
    /// What the table shows, one Markdown phrase.
    pub(crate) title: String,
    /// The column headings.
    pub(crate) header: Vec<String>,
    /// The rows, each as long as `header`.
    pub(crate) rows: Vec<Vec<String>>,
}

/// A correctness check.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Check {
    /// What was checked.
    pub(crate) name: String,
    /// Whether it held.
    pub(crate) ok: bool,
    /// The numbers behind it.
    pub(crate) detail: String,
}

/// `0.123×`, with three significant digits.
pub(crate) fn ratio_text(ratio: f64) -> String {
    if ratio.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{}×", sig3(ratio))
    }
}

/// Three significant digits, without exponent notation.
pub(crate) fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the magnitude of an f64 fits an i32"
    )]
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = usize::try_from((2 - magnitude).max(0)).unwrap_or(0);
    format!("{x:.decimals$}")
}

/// A whole number with thousands separators: `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count: `12,345`.
pub(crate) fn count(x: f64) -> String {
    rounded(x)
}

/// Requests per second: `12,345 req/s`.
pub(crate) fn per_second(x: f64) -> String {
    format!("{} req/s", rounded(x))
}

/// Calls per second: `12,345 calls/s`.
pub(crate) fn calls_per_second(x: f64) -> String {
    format!("{} calls/s", rounded(x))
}

/// Upgrades per second, one decimal: `199.8 upgrades/s`.
pub(crate) fn upgrades_per_second(x: f64) -> String {
    format!("{x:.1} upgrades/s")
}

/// Bytes in MiB, one decimal.
pub(crate) fn mebibytes(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
}

/// Bytes, three significant digits.
pub(crate) fn bytes(x: f64) -> String {
    format!("{} B", sig3(x))
}

/// Nanoseconds, three significant digits.
pub(crate) fn nanos(x: f64) -> String {
    format!("{} ns", sig3(x))
}

/// Milliseconds, three significant digits.
pub(crate) fn millis(x: f64) -> String {
    format!("{} ms", sig3(x))
}

/// `x` rounded to a whole number with thousands separators.
pub(crate) fn rounded(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked finite and non-negative; figures are far below 2^64"
        )]
        thousands(x.round() as u64)
    } else {
        format!("{x}")
    }
}

/// The median of `xs` (the mean of the two middle values for an even count); 0 when empty.
pub(crate) fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        f64::midpoint(v[mid - 1], v[mid])
    } else {
        v[mid]
    }
}

/// When there were several runs of each and their ranges overlap, a warning that the difference
/// between `a` and `b` is within run-to-run noise.
pub(crate) fn overlap(a: &[f64], b: &[f64]) -> Option<&'static str> {
    let range = |xs: &[f64]| {
        xs.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(*x), hi.max(*x))
            })
    };
    let ((a_lo, a_hi), (b_lo, b_hi)) = (range(a), range(b));
    (a.len() > 1 && b.len() > 1 && a_hi >= b_lo && b_hi >= a_lo)
        .then_some("the runs' ranges overlap, so the difference is within run-to-run noise")
}

/// `a / b / c` of the runs, for the detail column.
pub(crate) fn runs_text(xs: &[f64], fmt: fn(f64) -> String) -> String {
    xs.iter().map(|x| fmt(*x)).collect::<Vec<_>>().join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(sig3(0.123_456), "0.123");
        assert_eq!(sig3(1.234_56), "1.23");
        assert_eq!(sig3(123.456), "123");
        assert_eq!(sig3(12_345.6), "12346");
        assert_eq!(ratio_text(0.5), "0.500×");
        assert!(overlap(&[1.0, 3.0], &[2.0, 4.0]).is_some());
        assert!(overlap(&[1.0, 2.0], &[3.0, 4.0]).is_none());
        assert!(overlap(&[1.0], &[1.0]).is_none());
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
    }
}
