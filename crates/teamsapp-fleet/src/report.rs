//! The fleet report: what a journal says about a run, for a change ticket.
//!
//! [`FleetReport::from_journal`] reads a journal ([`Replay::read`], which refuses empty and
//! foreign journals) and computes, per tenant and scope, where every target the journal knows
//! ended (its last record), how long targets took, how much the tenant was throttled, and which
//! Graph errors the failed targets met, with their request-ids. The report serializes to JSON
//! (camelCase) and renders to one self-contained HTML page ([`FleetReport::to_html`]: inline
//! CSS and SVG, no script, nothing fetched).
//!
//! Definitions:
//!
//! - **State counts** take each target's last record: `verified`, `skipped`, `failed`, and
//!   *unfinished* (`planned`, `sending` or `upgraded`: a resumed run would work on them again).
//! - **A target's duration** is from its last `sending` record to the final record
//!   (`verified`, `skipped` or `failed`) that follows it; targets never sent (skipped when
//!   planned, say) have none. A target sent before a crash and verified by the resumed run counts
//!   the time in between. Median and p95 are nearest-rank.
//! - **Throttling** comes from the `throttle` records, which are cumulative since each
//!   (resumed) run started: a counter that decreases starts a new sequence, and the totals are
//!   the sum of each sequence's last values.
//! - **Failures** are the targets whose last record is `failed`, grouped by Graph's error code,
//!   else the HTTP status (`HTTP 503`), else `no answer`.
//! - **Time series** count targets reaching `verified` (at their last record, as the counts
//!   do), and 429s (the increase of the cumulative throttle counters), in buckets of 1, 2, 5,
//!   10, 15, 30 seconds, 1, 2, 5, 10, 15, 30 minutes, 1, 2, 3, 6, 12 hours or whole days: the
//!   smallest that keeps a series within [`MAX_POINTS`] points.
//!
//! Everything read from the journal is untrusted: a line that does not parse is counted (and
//! listed) rather than fatal, a time that does not parse leaves that record out of durations
//! and charts (and is counted), and every string is escaped in the page.

use crate::error::Error;
use crate::journal::{Replay, State, Target, TargetRecord};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The most points a time series has, however long the run.
pub const MAX_POINTS: usize = 300;

/// Bucket sizes, in seconds, tried in order (then whole days).
const BUCKETS: [u64; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/// How many targets ended in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Counts {
    /// Read back at the target version: done.
    pub verified: usize,
    /// Nothing to do (already current, or no longer installed): done.
    pub skipped: usize,
    /// Gave up on (a resumed run tries again).
    pub failed: usize,
    /// Planned, never sent.
    pub planned: usize,
    /// Sent (or about to be), answer unknown.
    pub sending: usize,
    /// Graph answered success, not yet read back.
    pub upgraded: usize,
    /// `planned + sending + upgraded`: what a resumed run would still work on besides failures.
    pub unfinished: usize,
    /// Every target.
    pub total: usize,
}

impl Counts {
    /// How many targets ended in `state`.
    pub fn get(&self, state: State) -> usize {
        match state {
            State::Verified => self.verified,
            State::Skipped => self.skipped,
            State::Failed => self.failed,
            State::Planned => self.planned,
            State::Sending => self.sending,
            State::Upgraded => self.upgraded,
        }
    }

    fn add(&mut self, state: State) {
        match state {
            State::Verified => self.verified += 1,
            State::Skipped => self.skipped += 1,
            State::Failed => self.failed += 1,
            State::Planned => self.planned += 1,
            State::Sending => self.sending += 1,
            State::Upgraded => self.upgraded += 1,
        }
        if !matches!(state, State::Verified | State::Skipped | State::Failed) {
            self.unfinished += 1;
        }
        self.total += 1;
    }

    fn merge(&mut self, other: &Self) {
        self.verified += other.verified;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.planned += other.planned;
        self.sending += other.sending;
        self.upgraded += other.upgraded;
        self.unfinished += other.unfinished;
        self.total += other.total;
    }
}

/// How long targets took, from `sending` to their final record, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Durations {
    /// How many targets have a duration.
    pub targets: usize,
    /// The median (nearest rank).
    pub median_ms: Option<u64>,
    /// The 95th percentile (nearest rank).
    pub p95_ms: Option<u64>,
    /// The longest.
    pub max_ms: Option<u64>,
}

impl Durations {
    fn of(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        let rank = |percent: usize| {
            let n = samples.len();
            (n > 0).then(|| samples[(percent * n).div_ceil(100).max(1) - 1])
        };
        Self {
            targets: samples.len(),
            median_ms: rank(50),
            p95_ms: rank(95),
            max_ms: samples.last().copied(),
        }
    }
}

/// Throttling a tenant met, summed over every (resumed) run of the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Throttling {
    /// `429 Too Many Requests` answers received.
    pub throttled: u64,
    /// Requests sent again (after 429, 503, 504 or a connection failure).
    pub retries: u64,
    /// Milliseconds spent waiting (`Retry-After`, backoff, the gate, the rate limit).
    pub waited_ms: u64,
    /// How many runs journaled throttling, as told by the counters restarting: a lower bound,
    /// since a run resumed after one whose counters all stayed 0 looks like its continuation
    /// (the totals are exact either way).
    pub runs: usize,
}

impl Throttling {
    fn merge(&mut self, other: &Self) {
        self.throttled = self.throttled.saturating_add(other.throttled);
        self.retries = self.retries.saturating_add(other.retries);
        self.waited_ms = self.waited_ms.saturating_add(other.waited_ms);
        self.runs = self.runs.max(other.runs);
    }
}

/// Failed targets that met the same Graph error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FailureGroup {
    /// Graph's error code (`error.code`), else `HTTP <status>`, else `no answer`.
    pub code: String,
    /// The HTTP statuses seen with it, ascending.
    pub statuses: Vec<u16>,
    /// How many targets.
    pub count: usize,
    /// The `request-id`s of the failed requests, in journal order, without repeats (the ones to
    /// give Microsoft support).
    pub request_ids: Vec<String>,
    /// The first failure's detail, as an example.
    pub detail: Option<String>,
}

/// One scope (`chat`, `team` or `user`) of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScopeReport {
    /// `chat`, `team` or `user`.
    pub scope: String,
    /// Where its targets ended.
    pub counts: Counts,
    /// How long its targets took.
    pub durations: Durations,
    /// Its failed targets by error, most frequent first.
    pub failures: Vec<FailureGroup>,
}

/// One tenant of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TenantReport {
    /// The tenant id.
    pub tenant: String,
    /// The app's display name in this tenant's catalog (from the journal header).
    pub app: Option<String>,
    /// The app's catalog id in this tenant.
    pub app_id: Option<String>,
    /// The version the run moved targets to, as the header says.
    pub to: Option<String>,
    /// Graph's base URL the run talked to.
    pub base_url: Option<String>,
    /// Where its targets ended (all scopes).
    pub counts: Counts,
    /// How long its targets took (all scopes).
    pub durations: Durations,
    /// Its scopes that have targets, in the order chat, team, user.
    pub scopes: Vec<ScopeReport>,
    /// The throttling it met.
    pub throttling: Throttling,
}

/// Upgrades and 429s over time, in equal buckets from [`Series::start`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Series {
    /// When bucket 0 starts (RFC 3339, UTC): the run's start, or its first record if earlier.
    pub start: Option<String>,
    /// The width of a bucket, in seconds.
    pub bucket_seconds: u64,
    /// Targets reaching `verified` in each bucket.
    pub upgrades: Vec<u64>,
    /// 429s received in each bucket (every tenant).
    pub throttled: Vec<u64>,
}

impl Series {
    /// Upgrades per second in each bucket.
    pub fn upgrades_per_second(&self) -> Vec<f64> {
        self.per_second(&self.upgrades)
    }

    /// 429s per second in each bucket.
    pub fn throttled_per_second(&self) -> Vec<f64> {
        self.per_second(&self.throttled)
    }

    fn per_second(&self, counts: &[u64]) -> Vec<f64> {
        let width = float(self.bucket_seconds.max(1));
        counts.iter().map(|c| float(*c) / width).collect()
    }
}

/// What a fleet journal says about its run: see the [module docs](self) for the definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetReport {
    /// The journal read, when read from a file.
    pub journal: Option<String>,
    /// The app: its catalog display name, else the name the run was started with.
    pub app: String,
    /// The versions targets were moved to (usually one).
    pub to: Vec<String>,
    /// The versions targets were at when planned.
    pub from: Vec<String>,
    /// The tool that wrote the journal.
    pub tool: String,
    /// When the run started (the header's `startedAt`).
    pub started_at: String,
    /// The earliest time of a target or throttle record.
    pub first_record_at: Option<String>,
    /// The latest time of a target or throttle record.
    pub last_record_at: Option<String>,
    /// From the run's start to its last record (resumed runs and the time between included).
    pub elapsed_ms: Option<u64>,
    /// Whether the plan was complete (every target journaled).
    pub planned: bool,
    /// Every target, every tenant.
    pub totals: Counts,
    /// How long targets took, every tenant.
    pub durations: Durations,
    /// Throttling, every tenant.
    pub throttling: Throttling,
    /// The tenants: the header's in its order, then any other a record names.
    pub tenants: Vec<TenantReport>,
    /// Upgrades and 429s over time.
    pub series: Series,
    /// Line numbers (1-based) of journal lines that could not be read and were skipped.
    pub unreadable_lines: Vec<usize>,
    /// Whether the journal ended in an incomplete line (a write cut short), left out.
    pub torn_tail: bool,
    /// Target and throttle records whose time could not be read (left out of durations and
    /// charts, still counted in the states).
    pub undated_records: usize,
}

/// A time as journaled.
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `b - a` in whole milliseconds, 0 if `b` is earlier.
fn millis_between(a: OffsetDateTime, b: OffsetDateTime) -> u64 {
    u64::try_from((b - a).whole_milliseconds()).unwrap_or(if b < a { 0 } else { u64::MAX })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[allow(clippy::cast_precision_loss, reason = "chart and rate arithmetic")]
fn float(v: u64) -> f64 {
    v as f64
}

/// The header's spelling of a tenant id (ids are compared ignoring case, as resuming does).
fn tenant_id(header: &crate::journal::RunHeader, id: &str) -> String {
    header
        .tenants
        .iter()
        .find(|t| t.tenant.eq_ignore_ascii_case(id))
        .map_or(id, |t| t.tenant.as_str())
        .to_owned()
}

/// The group a failure belongs to.
fn failure_code(r: &TargetRecord) -> String {
    let error = r.error.as_ref();
    match (
        error.and_then(|e| e.code.as_deref()).map(str::trim),
        error.and_then(|e| e.status),
    ) {
        (Some(code), _) if !code.is_empty() => code.to_owned(),
        (_, Some(status)) => format!("HTTP {status}"),
        _ => "no answer".to_owned(),
    }
}

fn scope_rank(scope: &str) -> (usize, &str) {
    let rank = ["chat", "team", "user"]
        .iter()
        .position(|s| *s == scope)
        .unwrap_or(3);
    (rank, scope)
}

/// The smallest bucket that keeps `span_ms` within [`MAX_POINTS`] buckets.
fn bucket_seconds(span_ms: u64) -> u64 {
    let fits = |seconds: u64| span_ms / seconds.saturating_mul(1000) < MAX_POINTS as u64;
    BUCKETS.into_iter().find(|s| fits(*s)).unwrap_or_else(|| {
        let days = (span_ms / 1000).div_ceil(86400 * (MAX_POINTS as u64 - 1));
        days.max(1) * 86400
    })
}

#[derive(Default)]
struct ScopeAcc {
    counts: Counts,
    durations: Vec<u64>,
    failures: Vec<FailureGroup>,
}

#[derive(Default)]
struct TenantAcc {
    scopes: HashMap<String, ScopeAcc>,
    throttling: Throttling,
    last_throttle: Option<(u64, u64, u64)>,
}

impl FleetReport {
    /// Reads the journal at `path` and reports on it.
    ///
    /// Fails, with [`Error::Journal`], on a journal that cannot be read, is empty, or is not a
    /// fleet journal of a format this crate reads; damaged lines inside are reported, not fatal.
    pub fn from_journal(path: &Path) -> Result<Self, Error> {
        let replay = Replay::read(path)?;
        let mut report = Self::from_replay(&replay);
        report.journal = Some(path.display().to_string());
        Ok(report)
    }

    /// Reports on a journal already read.
    pub fn from_replay(replay: &Replay) -> Self {
        let header = &replay.header;
        let mut undated = 0usize;
        let mut first: Option<OffsetDateTime> = None;
        let mut last: Option<OffsetDateTime> = None;
        let mut seen = |t: OffsetDateTime| {
            first = Some(first.map_or(t, |f| f.min(t)));
            last = Some(last.map_or(t, |l| l.max(t)));
        };

        // Per target: when its last `sending` was, and its duration if its last final record
        // followed one.
        let mut sent: HashMap<Target, Option<OffsetDateTime>> = HashMap::new();
        let mut took: HashMap<Target, Option<u64>> = HashMap::new();
        for r in &replay.records {
            let Ok(target) = r.target() else { continue };
            let at = parse_time(&r.at);
            match at {
                Some(t) => seen(t),
                None => undated += 1,
            }
            match r.state {
                State::Sending => {
                    sent.insert(target, at);
                }
                State::Verified | State::Skipped | State::Failed => {
                    let start = sent.get(&target).copied().flatten();
                    took.insert(target, start.zip(at).map(|(s, e)| millis_between(s, e)));
                }
                State::Planned | State::Upgraded => {}
            }
        }

        // Throttling, per tenant in journal order; 429 increases over time for the chart.
        let mut tenants: HashMap<String, TenantAcc> = HashMap::new();
        let mut throttle_events: Vec<(OffsetDateTime, u64)> = Vec::new();
        for r in &replay.throttling {
            let acc = tenants.entry(tenant_id(header, &r.tenant)).or_default();
            let now = (r.throttled, r.retries, r.waited_ms);
            let base = match acc.last_throttle {
                Some(prev) if now.0 >= prev.0 && now.1 >= prev.1 && now.2 >= prev.2 => prev,
                _ => {
                    acc.throttling.runs += 1;
                    (0, 0, 0)
                }
            };
            let delta = (now.0 - base.0, now.1 - base.1, now.2 - base.2);
            acc.throttling.throttled = acc.throttling.throttled.saturating_add(delta.0);
            acc.throttling.retries = acc.throttling.retries.saturating_add(delta.1);
            acc.throttling.waited_ms = acc.throttling.waited_ms.saturating_add(delta.2);
            acc.last_throttle = Some(now);
            match parse_time(&r.at) {
                Some(t) => {
                    seen(t);
                    if delta.0 > 0 {
                        throttle_events.push((t, delta.0));
                    }
                }
                None => undated += 1,
            }
        }

        // Where each target ended.
        let mut from = BTreeSet::new();
        let mut to: BTreeSet<String> = header.tenants.iter().map(|t| t.to.clone()).collect();
        for (target, r) in &replay.last {
            let scope = tenants
                .entry(tenant_id(header, &target.tenant))
                .or_default()
                .scopes
                .entry(target.scope.kind().to_owned())
                .or_default();
            scope.counts.add(r.state);
            if matches!(r.state, State::Verified | State::Skipped | State::Failed)
                && let Some(Some(ms)) = took.get(target)
            {
                scope.durations.push(*ms);
            }
            if r.state == State::Failed {
                add_failure(&mut scope.failures, r);
            }
            from.extend(r.from.clone());
            to.extend(r.to.clone());
        }

        let started = parse_time(&header.started_at);
        let mut report = Self {
            journal: None,
            app: header
                .tenants
                .iter()
                .map(|t| t.app.name.trim())
                .find(|n| !n.is_empty())
                .unwrap_or(&header.app)
                .to_owned(),
            to: to.into_iter().filter(|v| !v.is_empty()).collect(),
            from: from.into_iter().collect(),
            tool: header.tool.clone(),
            started_at: header.started_at.clone(),
            first_record_at: first.map(rfc3339),
            last_record_at: last.map(rfc3339),
            elapsed_ms: started.zip(last).map(|(s, l)| millis_between(s, l)),
            planned: replay.planned,
            unreadable_lines: replay.unreadable.clone(),
            torn_tail: replay.torn_tail,
            undated_records: undated,
            ..Self::default()
        };

        // Tenants: the header's first, in its order, then the others by id.
        let mut order: Vec<String> = header.tenants.iter().map(|t| t.tenant.clone()).collect();
        let mut others: Vec<String> = tenants
            .keys()
            .filter(|k| !order.contains(k))
            .cloned()
            .collect();
        others.sort();
        order.extend(others);
        let mut all_durations = Vec::new();
        for id in order {
            let acc = tenants.remove(&id).unwrap_or_default();
            let h = header.tenants.iter().find(|t| t.tenant == id);
            let mut tenant = TenantReport {
                tenant: id,
                app: h.map(|h| h.app.name.clone()),
                app_id: h.map(|h| h.app.id.clone()),
                to: h.map(|h| h.to.clone()),
                base_url: h.map(|h| h.base_url.clone()),
                throttling: acc.throttling,
                ..TenantReport::default()
            };
            let mut scopes: Vec<(String, ScopeAcc)> = acc.scopes.into_iter().collect();
            scopes.sort_by(|a, b| scope_rank(&a.0).cmp(&scope_rank(&b.0)));
            let mut tenant_durations = Vec::new();
            for (name, mut s) in scopes {
                s.failures
                    .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
                for f in &mut s.failures {
                    f.statuses.sort_unstable();
                    f.statuses.dedup();
                }
                tenant.counts.merge(&s.counts);
                tenant_durations.extend_from_slice(&s.durations);
                tenant.scopes.push(ScopeReport {
                    scope: name,
                    counts: s.counts,
                    durations: Durations::of(s.durations),
                    failures: s.failures,
                });
            }
            all_durations.extend_from_slice(&tenant_durations);
            tenant.durations = Durations::of(tenant_durations);
            report.totals.merge(&tenant.counts);
            report.throttling.merge(&tenant.throttling);
            report.tenants.push(tenant);
        }
        report.durations = Durations::of(all_durations);

        // Time series.
        let start = match (started, first) {
            (Some(s), Some(f)) => Some(s.min(f)),
            (s, f) => s.or(f),
        };
        if let Some(start) = start {
            let end = last.map_or(start, |l| l.max(start));
            let width = bucket_seconds(millis_between(start, end));
            let index = |t: OffsetDateTime| {
                usize::try_from(millis_between(start, t) / (width * 1000)).unwrap_or(usize::MAX)
            };
            let n = index(end).saturating_add(1).min(MAX_POINTS);
            let mut upgrades = vec![0u64; n];
            let mut throttled = vec![0u64; n];
            // As in the counts: a target upgraded is one whose last record is `verified`.
            for r in replay.last.values() {
                if r.state == State::Verified
                    && let Some(t) = parse_time(&r.at)
                {
                    upgrades[index(t).min(n - 1)] += 1;
                }
            }
            for (t, count) in throttle_events {
                let slot = &mut throttled[index(t).min(n - 1)];
                *slot = slot.saturating_add(count);
            }
            report.series = Series {
                start: Some(rfc3339(start)),
                bucket_seconds: width,
                upgrades,
                throttled,
            };
        }
        report
    }

    /// Every (tenant, scope) pair, in report order: one table row each.
    pub fn scope_rows(&self) -> impl Iterator<Item = (&TenantReport, &ScopeReport)> {
        self.tenants
            .iter()
            .flat_map(|t| t.scopes.iter().map(move |s| (t, s)))
    }

    /// Every failure group with its tenant and scope, in report order: one table row each.
    pub fn failure_rows(
        &self,
    ) -> impl Iterator<Item = (&TenantReport, &ScopeReport, &FailureGroup)> {
        self.scope_rows()
            .flat_map(|(t, s)| s.failures.iter().map(move |f| (t, s, f)))
    }

    /// `complete` (every target verified or skipped), `failed` (some failed), or `unfinished`
    /// (none failed, some not done).
    pub fn status(&self) -> &'static str {
        if self.totals.failed > 0 {
            "failed"
        } else if self.totals.unfinished > 0 || !self.planned {
            "unfinished"
        } else {
            "complete"
        }
    }
}

fn add_failure(groups: &mut Vec<FailureGroup>, r: &TargetRecord) {
    let code = failure_code(r);
    let i = if let Some(i) = groups.iter().position(|g| g.code == code) {
        i
    } else {
        groups.push(FailureGroup {
            code,
            detail: r.detail.clone(),
            ..FailureGroup::default()
        });
        groups.len() - 1
    };
    let g = &mut groups[i];
    g.count += 1;
    if let Some(e) = &r.error {
        g.statuses.extend(e.status);
        if let Some(id) = e.request_id.as_deref().map(str::trim)
            && !id.is_empty()
            && !g.request_ids.iter().any(|x| x == id)
        {
            g.request_ids.push(id.to_owned());
        }
    }
    if g.detail.is_none() {
        g.detail.clone_from(&r.detail);
    }
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`, `3 d 04 h`.
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{}.{} s", s, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{} min {:02} s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {:02} h", s / 86400, (s % 86400) / 3600),
    }
}

/// A count with thousands separators: `12,345`.
fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count(n: usize) -> String {
    thousands(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Escapes text for HTML content and double- or single-quoted attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business in a page; show them as the replacement mark.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

mod html;

#[cfg(test)]
mod tests;
