//! How fleet commands show themselves: progress from the library's events (a bar on a
//! terminal, a log line every few seconds otherwise), the plan and the summary as reports.

use crate::cli::OutputFormat;
use crate::output::Report;
use crate::record;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use teamsapp_fleet::{Action, Event, EventSink, Plan, State, Summary};

/// How often progress is logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Progress of a fleet command, fed by its events.
#[derive(Clone)]
pub(crate) struct Progress {
    inner: Arc<Mutex<Shown>>,
    upgrading: Arc<std::sync::atomic::AtomicBool>,
}

struct Shown {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
    last_log: Option<Instant>,
    started: Option<Instant>,
    total: usize,
    done: usize,
    failed: usize,
    throttled: BTreeMap<String, u64>,
}

impl Shown {
    fn bar(&mut self, template: &str, len: Option<u64>) -> Option<&indicatif::ProgressBar> {
        if self.quiet || !self.terminal {
            return None;
        }
        if self.bar.is_none() {
            let bar = match len {
                Some(n) => indicatif::ProgressBar::new(n),
                None => indicatif::ProgressBar::new_spinner(),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
        self.bar.as_ref()
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Whether a periodic log line is due (always false on a terminal, which has the bar).
    fn log_due(&mut self) -> bool {
        if self.quiet || self.terminal {
            return false;
        }
        let due = self.last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if due {
            self.last_log = Some(Instant::now());
        }
        due
    }

    fn upgrade_line(&self) -> String {
        let elapsed = self.started.map_or(Duration::ZERO, |s| s.elapsed());
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let rate = if elapsed.as_secs_f64() > 0.0 {
            self.done as f64 / elapsed.as_secs_f64()
        } else {
            0.0
        };
        let left = self.total.saturating_sub(self.done);
        let eta = if rate > 0.0 {
            #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let secs = left as f64 / rate;
            format!("eta {}", human(Duration::from_secs_f64(secs)))
        } else {
            "eta unknown".into()
        };
        format!(
            "{}/{} done, {} failed, {} throttled (429), {rate:.1}/s, {eta}",
            self.done,
            self.total,
            self.failed,
            self.throttled.values().sum::<u64>()
        )
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            upgrading: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            inner: Arc::new(Mutex::new(Shown {
                quiet,
                bar: None,
                terminal: std::io::stderr().is_terminal(),
                last_log: None,
                started: None,
                total: 0,
                done: 0,
                failed: 0,
                throttled: BTreeMap::new(),
            })),
        }
    }

    /// Set once the upgrade phase has started (its first event).
    pub(crate) fn upgrading(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.upgrading.clone()
    }

    /// The sink to give the library.
    pub(crate) fn sink(&self) -> EventSink {
        let me = self.clone();
        Arc::new(move |e: &Event| me.on(e))
    }

    /// Clears the bar (before the summary or a question).
    pub(crate) fn finish(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn nothing_to_do(plan: &Plan) {
        tracing::info!(
            current = plan.count(Action::Current),
            "nothing to upgrade: every installation found runs the catalog's latest version"
        );
    }

    #[allow(clippy::too_many_lines, reason = "one arm per event")]
    fn on(&self, event: &Event) {
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::Discovery {
                tenant,
                progress: p,
                done,
            } => {
                #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let rate = p.scopes_read as f64 / p.elapsed.as_secs_f64().max(0.001);
                let line = format!(
                    "discovering in {tenant}: {} users, {} chats, {} teams listed; {}/{} scopes read ({rate:.1}/s); {} installations found",
                    p.users, p.chats, p.teams, p.scopes_read, p.scopes_total, p.installations
                );
                if *done {
                    s.clear();
                    if !s.quiet {
                        tracing::info!("{}", line.replacen("discovering", "discovered", 1));
                    }
                } else if let Some(bar) = s.bar("{spinner} {msg}", None) {
                    bar.set_message(line);
                } else if s.log_due() {
                    tracing::info!("{line}");
                }
            }
            Event::ScopeUnreadable {
                tenant,
                scope,
                error,
            } => {
                if let Some(bar) = &s.bar {
                    bar.suspend(|| {
                        tracing::warn!(tenant = %tenant, "could not read {scope}, its installations are missing from the plan: {error}");
                    });
                } else {
                    tracing::warn!(tenant = %tenant, "could not read {scope}, its installations are missing from the plan: {error}");
                }
            }
            Event::Planned {
                tenant,
                app,
                to,
                behind,
                current,
                gone,
            } => {
                s.clear();
                tracing::info!(tenant = %tenant, app = %app, latest = %to, behind, current, gone, "plan ready");
            }
            Event::Started { targets, resumed } => {
                self.upgrading
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                s.clear();
                s.started = Some(Instant::now());
                s.total = *targets;
                if *resumed > 0 {
                    tracing::info!(
                        "resuming: {targets} target(s) left, {resumed} to read back first"
                    );
                }
            }
            Event::Finished { state, .. } => {
                s.done += 1;
                if *state == State::Failed {
                    s.failed += 1;
                }
                let line = s.upgrade_line();
                let total = s.total as u64;
                if let Some(bar) = s.bar("{spinner} [{bar:30}] {msg}", Some(total)) {
                    bar.inc(1);
                    bar.set_message(line);
                } else if s.log_due() {
                    tracing::info!("upgrading: {line}");
                }
            }
            Event::Throttling {
                tenant, throttled, ..
            } => {
                s.throttled.insert(tenant.clone(), *throttled);
            }
            Event::CanaryPassed { targets } => {
                let line = format!(
                    "canary passed: {targets} target(s) upgraded and verified; continuing with the rest"
                );
                if let Some(bar) = &s.bar {
                    bar.suspend(|| tracing::info!("{line}"));
                } else {
                    tracing::info!("{line}");
                }
            }
            Event::Stopping { reason } => {
                let line = format!("stopping: {}; targets in flight finish", reason.describe());
                if let Some(bar) = &s.bar {
                    bar.suspend(|| tracing::warn!("{line}"));
                } else {
                    tracing::warn!("{line}");
                }
            }
            _ => {}
        }
    }
}

/// The plan, one record per target: valid `--targets` input in every format.
pub(crate) fn plan(plan: &Plan) -> Report {
    let mut report = Report::list(&[
        "tenant",
        "scope",
        "scopeId",
        "installationId",
        "from",
        "to",
        "action",
        "consent",
    ]);
    for t in &plan.targets {
        report.push(record! {
            "tenant" => t.target.tenant,
            "scope" => t.target.scope.kind(),
            "scopeId" => t.target.scope.id(),
            "installationId" => t.target.installation.as_str(),
            "from" => t.from,
            "to" => t.to,
            "action" => t.action.name(),
            "consent" => t.consent,
        });
    }
    report
}

/// The log lines after a run: failures, per-tenant results, journal problems, the resume hint.
pub(crate) fn summary_log(summary: &Summary, hint: Option<&str>) {
    for o in summary
        .outcomes
        .iter()
        .filter(|o| o.state == State::Failed)
        .take(20)
    {
        tracing::error!(target = %o.target, "{}", o.detail.as_deref().unwrap_or("failed"));
    }
    if !summary.unreadable_journal_lines.is_empty() {
        tracing::warn!(
            "the journal had {} unreadable line(s), skipped: {:?}",
            summary.unreadable_journal_lines.len(),
            summary.unreadable_journal_lines
        );
    }
    if summary.torn_tail {
        tracing::warn!(
            "the journal's last line was incomplete (a write cut short) and was dropped"
        );
    }
    if summary.unreadable_scopes > 0 {
        tracing::warn!(
            "{} scope(s) could not be read; their installations were not planned",
            summary.unreadable_scopes
        );
    }
    let verified = summary.count(State::Verified);
    if let Some(to) = summary.outcomes.first().map(|o| &o.to) {
        let secs = summary.elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let rate = if secs > 0.0 {
            verified as f64 / secs
        } else {
            0.0
        };
        tracing::info!(
            "{verified} installation(s) now run {to}, read back and verified, in {} ({rate:.1}/s)",
            human(summary.elapsed)
        );
    }
    tracing::info!("journal: {}", summary.journal.display());
    if let Some(reason) = summary.stopped {
        if let Some(hint) = hint {
            tracing::warn!(
                "stopped early: {}; {} target(s) not started; continue with: {hint}",
                reason.describe(),
                summary.not_started
            );
        } else {
            tracing::warn!(
                "stopped early: {}; {} target(s) not started (the embedded emulator's state ends with this process, so this run cannot be resumed)",
                reason.describe(),
                summary.not_started
            );
        }
    }
}

/// The summary: counts as a table, or one record per target ended in this run.
pub(crate) fn summary(summary: &Summary, format: OutputFormat) -> Report {
    if format == OutputFormat::Table {
        let mut report = Report::list(&["result", "count"]);
        for (name, n) in [
            ("upgraded and verified", summary.count(State::Verified)),
            ("already current", summary.current),
            (
                "skipped (gone)",
                summary.count(State::Skipped) + summary.gone,
            ),
            ("failed", summary.count(State::Failed)),
            ("not started", summary.not_started),
            ("done in an earlier run", summary.earlier),
        ] {
            report.push(record! {"result" => name, "count" => n});
        }
        return report;
    }
    let mut report = Report::list(&[
        "tenant",
        "scope",
        "scopeId",
        "installationId",
        "from",
        "to",
        "result",
        "detail",
        "errorCode",
        "requestId",
    ]);
    for o in &summary.outcomes {
        report.push(record! {
            "tenant" => o.target.tenant,
            "scope" => o.target.scope.kind(),
            "scopeId" => o.target.scope.id(),
            "installationId" => o.target.installation.as_str(),
            "from" => o.from,
            "to" => o.to,
            "result" => o.state.name(),
            "detail" => o.detail,
            "errorCode" => o.error.as_ref().and_then(|e| e.code.clone()),
            "requestId" => o.error.as_ref().and_then(|e| e.request_id.clone()),
        });
    }
    report
}

/// A journal's report, one record per tenant and scope (`fleet report`).
pub(crate) fn report(report: &teamsapp_fleet::FleetReport) -> Report {
    let mut out = Report::list(&[
        "tenant",
        "scope",
        "verified",
        "skipped",
        "failed",
        "unfinished",
        "medianMs",
        "p95Ms",
        "throttled",
        "waitedMs",
        "failures",
    ]);
    for (tenant, scope) in report.scope_rows() {
        let failures: Vec<serde_json::Value> = scope
            .failures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "code": f.code,
                    "count": f.count,
                    "requestIds": f.request_ids,
                })
            })
            .collect();
        out.push(record! {
            "tenant" => tenant.tenant,
            "scope" => scope.scope,
            "verified" => scope.counts.verified,
            "skipped" => scope.counts.skipped,
            "failed" => scope.counts.failed,
            "unfinished" => scope.counts.unfinished,
            "medianMs" => scope.durations.median_ms,
            "p95Ms" => scope.durations.p95_ms,
            // Throttling is per tenant (one client per tenant): shown on each of its rows.
            "throttled" => tenant.throttling.throttled,
            "waitedMs" => tenant.throttling.waited_ms,
            "failures" => failures,
        });
    }
    if !report.unreadable_lines.is_empty() {
        tracing::warn!(
            "the journal has {} unreadable line(s), skipped: {:?}",
            report.unreadable_lines.len(),
            report.unreadable_lines
        );
    }
    tracing::info!(
        "{}: {} verified, {} skipped, {} failed, {} unfinished ({})",
        report.app,
        report.totals.verified,
        report.totals.skipped,
        report.totals.failed,
        report.totals.unfinished,
        report.status()
    );
    out
}
