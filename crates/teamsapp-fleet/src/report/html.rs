//! The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.
//!
//! Numbers a test (or a script reading the page) needs carry stable hooks: the summary values
//! have ids (`total-verified`, `total-throttled`, …), table cells a `data-count` naming what
//! they count, rows `data-tenant` and `data-scope`, charts an id and `data-total`.

use super::{
    FailureGroup, FleetReport, Series, count, escape_html as e, float, human_duration, parse_time,
    thousands,
};
use std::fmt::{self, Write as _};

/// Request-ids listed per failure row (the rest are in the JSON report).
const MAX_REQUEST_IDS: usize = 12;
/// Unreadable line numbers listed (the rest are counted).
const MAX_LINES: usize = 40;
/// Tenants named in the title.
const MAX_TITLE_TENANTS: usize = 3;

const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eaeef2;--panel:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#0969da;--throttle:#bc4c00}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 40px}
.kicker{margin:0;font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{margin:2px 0 4px;font-size:26px;line-height:1.25}
h1 .arrow{color:var(--muted);font-weight:400}
.sub{margin:0 0 18px;color:var(--muted);overflow-wrap:break-word}
.badge{display:inline-block;margin-left:10px;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;vertical-align:4px}
.badge.complete{background:#dafbe1;color:var(--ok)}
.badge.failed{background:#ffebe9;color:var(--bad)}
.badge.unfinished{background:#fff8c5;color:var(--warn)}
dl.meta{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px 24px;margin:0 0 22px;padding:12px 16px;background:var(--panel);border:1px solid var(--line);border-radius:8px}
dl.meta div{min-width:0}
dt{font-size:11px;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}
dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:break-word}
.cards{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:12px;margin:0 0 8px}
.card{padding:10px 12px;border:1px solid var(--line);border-top:3px solid var(--line);border-radius:8px}
.card .label{font-size:12px;color:var(--muted)}
.card .value{display:block;font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.3;white-space:nowrap}
.card.verified{border-top-color:var(--ok)}
.card.failed{border-top-color:var(--bad)}
.card.unfinished{border-top-color:var(--warn)}
.card.throttled,.card.waited{border-top-color:var(--throttle)}
.card.zero .value{color:var(--muted)}
h2{margin:30px 0 10px;padding-bottom:6px;font-size:17px;border-bottom:1px solid var(--line)}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--soft);text-align:left;vertical-align:baseline}
th{font-size:12px;font-weight:600;color:var(--muted);background:var(--panel);border-bottom:1px solid var(--line)}
.num{text-align:right;white-space:nowrap}
tr.sum td{font-weight:600;background:#fbfcfd;border-top:1px solid var(--line)}
td.bad{color:var(--bad);font-weight:600}
td.warn{color:var(--warn);font-weight:600}
code{padding:1px 5px;border-radius:4px;background:var(--panel);font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
.ids code{display:inline-block;margin:0 4px 3px 0;white-space:nowrap}
td.code{white-space:nowrap}
td.detail{min-width:260px}
.tenant{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
td.tenant{white-space:nowrap}
figure{margin:0 0 14px;padding:12px 14px 6px;border:1px solid var(--line);border-radius:8px;break-inside:avoid}
figcaption{font-weight:600}
figcaption span{font-weight:400;color:var(--muted)}
svg{display:block;width:100%;height:auto}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--muted)}
svg .grid{stroke:var(--soft);stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .line{fill:none;stroke:var(--accent);stroke-width:2;stroke-linejoin:round}
svg .area{fill:var(--accent);fill-opacity:.12}
svg .dot{fill:var(--accent)}
svg .bar{fill:var(--throttle)}
svg .bar.upgrades{fill:var(--accent)}
svg text.empty{font-size:13px}
.note{color:var(--muted)}
.ok{color:var(--ok);font-weight:600}
.callout{margin:8px 0;padding:8px 12px;border-left:3px solid var(--warn);border-radius:4px;background:#fff8c5}
footer{margin-top:34px;padding-top:10px;border-top:1px solid var(--line);font-size:12px;color:var(--muted)}
@media (max-width:900px){.cards{grid-template-columns:repeat(3,minmax(0,1fr))}dl.meta{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media print{main{padding:0}}
"#;

impl FleetReport {
    /// The report as one self-contained HTML page (inline CSS and SVG charts, no script,
    /// nothing fetched), for a change ticket: title with app, version and tenants, run times,
    /// counts per tenant and scope, durations, throttling, upgrades and 429s over time, and the
    /// failures with their request-ids. Every string from the journal is escaped.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(32 * 1024);
        // Writing to a String cannot fail.
        let _ = self.write_html(&mut out);
        out
    }

    fn write_html(&self, out: &mut String) -> fmt::Result {
        let to = if self.to.is_empty() {
            "?".to_owned()
        } else {
            self.to.join(", ")
        };
        let tenants: Vec<&str> = self.tenants.iter().map(|t| t.tenant.as_str()).collect();
        let mut tenant_list = tenants
            .iter()
            .take(MAX_TITLE_TENANTS)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if tenants.len() > MAX_TITLE_TENANTS {
            write!(
                tenant_list,
                " and {} more",
                tenants.len() - MAX_TITLE_TENANTS
            )?;
        }
        let tenant_word = if tenants.len() == 1 {
            "tenant"
        } else {
            "tenants"
        };
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"teamsapp-fleet {version}\">\n\
             <title>Fleet upgrade: {app} {to} in {n} {tenant_word} ({list})</title>\n\
             <style>{CSS}</style>\n</head>\n<body>\n<main>\n",
            version = env!("CARGO_PKG_VERSION"),
            app = e(&self.app),
            to = e(&to),
            n = tenants.len(),
            list = e(&tenant_list),
        )?;

        // Title and run facts.
        let status = self.status();
        let from = if self.from.is_empty() {
            String::new()
        } else {
            format!("from {} ", e(&self.from.join(", ")))
        };
        write!(
            out,
            "<header>\n<p class=\"kicker\">Teams app fleet upgrade report</p>\n\
             <h1 id=\"title\">{app} <span class=\"arrow\">→</span> <span id=\"version\">{to}</span>\
             <span class=\"badge {status}\" id=\"status\">{status}</span></h1>\n\
             <p class=\"sub\">{from}in {n} {tenant_word}: <span class=\"tenant\">{list}</span></p>\n",
            app = e(&self.app),
            to = e(&to),
            n = tenants.len(),
            list = e(&tenant_list),
        )?;
        out.push_str("<dl class=\"meta\">\n");
        meta(out, "started", "Started", &show_time(&self.started_at))?;
        meta(
            out,
            "last-record",
            "Last record",
            &self
                .last_record_at
                .as_deref()
                .map_or_else(|| "—".to_owned(), show_time),
        )?;
        meta(
            out,
            "elapsed",
            "Elapsed",
            &self
                .elapsed_ms
                .map_or_else(|| "—".to_owned(), human_duration),
        )?;
        meta(
            out,
            "runs",
            "Runs",
            &match self.throttling.runs {
                0 => "—".to_owned(),
                1 => "1".to_owned(),
                2 => "2 (resumed once)".to_owned(),
                n => format!("{n} (resumed {} times)", n - 1),
            },
        )?;
        meta(out, "tool", "Tool", &e(&self.tool))?;
        meta(
            out,
            "journal",
            "Journal",
            &self
                .journal
                .as_deref()
                .map_or_else(|| "—".to_owned(), |j| format!("<code>{}</code>", e(j))),
        )?;
        meta(
            out,
            "durations",
            "Per target (median / p95)",
            &match (self.durations.median_ms, self.durations.p95_ms) {
                (Some(m), Some(p)) => format!("{} / {}", human_duration(m), human_duration(p)),
                _ => "—".to_owned(),
            },
        )?;
        meta(
            out,
            "plan",
            "Plan",
            if self.planned {
                "complete"
            } else {
                "incomplete (the run stopped while planning)"
            },
        )?;
        out.push_str("</dl>\n</header>\n");

        // Summary cards.
        let t = &self.totals;
        out.push_str("<section class=\"cards\" aria-label=\"Summary\">\n");
        for (id, label, value, raw) in [
            ("total", "Targets", count(t.total), t.total as u64),
            ("verified", "Verified", count(t.verified), t.verified as u64),
            ("skipped", "Skipped", count(t.skipped), t.skipped as u64),
            ("failed", "Failed", count(t.failed), t.failed as u64),
            (
                "unfinished",
                "Unfinished",
                count(t.unfinished),
                t.unfinished as u64,
            ),
            (
                "throttled",
                "429s received",
                thousands(self.throttling.throttled),
                self.throttling.throttled,
            ),
            (
                "waited",
                "Waited (summed)",
                human_duration(self.throttling.waited_ms),
                self.throttling.waited_ms,
            ),
        ] {
            let zero = if raw == 0 { " zero" } else { "" };
            writeln!(
                out,
                "<div class=\"card {id}{zero}\"><span class=\"label\">{label}</span>\
                 <span id=\"total-{id}\" class=\"value\" data-value=\"{raw}\">{value}</span></div>"
            )?;
        }
        out.push_str("</section>\n");

        self.write_health(out)?;
        self.write_counts(out)?;

        // Charts.
        out.push_str("<h2>Over time</h2>\n");
        let s = &self.series;
        let start = s
            .start
            .as_deref()
            .map_or_else(String::new, |t| format!(", from {}", plain_time(t)));
        chart(
            out,
            &Chart {
                id: "chart-upgrades",
                title: "Upgrades per second",
                note: &format!(
                    "targets reaching verified, {}{start}",
                    bucket_words(s.bucket_seconds)
                ),
                unit: "upgrades / s",
                counts: &s.upgrades,
                series: s,
                bars: false,
                empty: "No target was verified.",
            },
        )?;
        chart(
            out,
            &Chart {
                id: "chart-throttled",
                title: "429 Too Many Requests per second",
                note: &format!("every tenant, {}{start}", bucket_words(s.bucket_seconds)),
                unit: "429s / s",
                counts: &s.throttled,
                series: s,
                bars: true,
                empty: "No 429 was received.",
            },
        )?;

        self.write_throttling(out)?;
        self.write_failures(out)?;

        writeln!(
            out,
            "<footer>Made by teamsapp-fleet {} from the run's journal. Counts take each \
             target's last record; durations run from <code>sending</code> to the final record; \
             429s and waits are summed over every run of the journal.</footer>\n\
             </main>\n</body>\n</html>",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn write_health(&self, out: &mut String) -> fmt::Result {
        if !self.unreadable_lines.is_empty() {
            let mut lines = self
                .unreadable_lines
                .iter()
                .take(MAX_LINES)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if self.unreadable_lines.len() > MAX_LINES {
                write!(
                    lines,
                    " and {} more",
                    self.unreadable_lines.len() - MAX_LINES
                )?;
            }
            writeln!(
                out,
                "<p class=\"callout\" id=\"unreadable\" data-count=\"{}\">{} unreadable journal \
                 line(s) were skipped: line {lines}. The counts leave them out.</p>",
                self.unreadable_lines.len(),
                count(self.unreadable_lines.len()),
            )?;
        }
        if self.torn_tail {
            out.push_str(
                "<p class=\"callout\" id=\"torn-tail\">The journal ends in an incomplete line \
                 (the process stopped mid-write); it was left out.</p>\n",
            );
        }
        if self.undated_records > 0 {
            writeln!(
                out,
                "<p class=\"callout\" id=\"undated\" data-count=\"{0}\">{0} record(s) have a \
                 time that could not be read: they count in the states but not in durations or \
                 charts.</p>",
                self.undated_records
            )?;
        }
        Ok(())
    }

    fn write_counts(&self, out: &mut String) -> fmt::Result {
        out.push_str(
            "<h2>Per tenant and scope</h2>\n<table id=\"counts\">\n<thead><tr><th>Tenant</th>\
             <th>Scope</th><th class=\"num\">Verified</th><th class=\"num\">Skipped</th>\
             <th class=\"num\">Failed</th><th class=\"num\">Unfinished</th>\
             <th class=\"num\">Total</th><th class=\"num\">Median</th><th class=\"num\">p95</th>\
             <th class=\"num\">Max</th></tr></thead>\n<tbody>\n",
        );
        if self.tenants.is_empty() {
            out.push_str(
                "<tr><td colspan=\"10\" class=\"note\">No target in the journal.</td></tr>\n",
            );
        }
        for t in &self.tenants {
            for s in &t.scopes {
                row(
                    out,
                    "",
                    &t.tenant,
                    &s.scope,
                    &s.scope,
                    &s.counts,
                    &s.durations,
                )?;
            }
            if t.scopes.len() != 1 {
                row(
                    out,
                    "sum",
                    &t.tenant,
                    "all",
                    "all scopes",
                    &t.counts,
                    &t.durations,
                )?;
            }
        }
        if self.tenants.len() > 1 {
            row(
                out,
                "sum",
                "",
                "all",
                "every tenant",
                &self.totals,
                &self.durations,
            )?;
        }
        out.push_str("</tbody>\n</table>\n");
        Ok(())
    }

    fn write_throttling(&self, out: &mut String) -> fmt::Result {
        out.push_str(
            "<h2>Throttling</h2>\n<table id=\"throttling\">\n<thead><tr><th>Tenant</th>\
             <th class=\"num\">429s received</th><th class=\"num\">Retries</th>\
             <th class=\"num\">Waited (sum over requests)</th><th class=\"num\">Runs</th></tr></thead>\n<tbody>\n",
        );
        for t in &self.tenants {
            let th = &t.throttling;
            writeln!(
                out,
                "<tr data-tenant=\"{tenant}\"><td class=\"tenant\">{tenant}</td>\
                 <td class=\"num\" data-count=\"throttled\">{}</td>\
                 <td class=\"num\" data-count=\"retries\">{}</td>\
                 <td class=\"num\" data-count=\"waited-ms\" data-value=\"{}\">{}</td>\
                 <td class=\"num\" data-count=\"runs\">{}</td></tr>",
                thousands(th.throttled),
                thousands(th.retries),
                th.waited_ms,
                human_duration(th.waited_ms),
                th.runs,
                tenant = e(&t.tenant),
            )?;
        }
        out.push_str("</tbody>\n</table>\n");
        Ok(())
    }

    fn write_failures(&self, out: &mut String) -> fmt::Result {
        out.push_str("<h2>Failures</h2>\n");
        if self.failure_rows().next().is_none() {
            out.push_str("<p class=\"ok\" id=\"no-failures\">No target failed.</p>\n");
            return Ok(());
        }
        out.push_str(
            "<table id=\"failures\">\n<thead><tr><th>Tenant</th><th>Scope</th><th>Error</th>\
             <th class=\"num\">HTTP</th><th class=\"num\">Targets</th><th>Request-ids</th>\
             <th>Example</th></tr></thead>\n<tbody>\n",
        );
        for (t, s, f) in self.failure_rows() {
            failure_row(out, &t.tenant, &s.scope, f)?;
        }
        out.push_str("</tbody>\n</table>\n");
        Ok(())
    }
}

fn meta(out: &mut String, id: &str, label: &str, html: &str) -> fmt::Result {
    writeln!(
        out,
        "<div><dt>{label}</dt><dd id=\"meta-{id}\">{html}</dd></div>"
    )
}

fn row(
    out: &mut String,
    class: &str,
    tenant: &str,
    scope: &str,
    scope_label: &str,
    c: &super::Counts,
    d: &super::Durations,
) -> fmt::Result {
    let dur = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), human_duration);
    let flag = |n: usize, class: &'static str| if n > 0 { class } else { "" };
    writeln!(
        out,
        "<tr class=\"{class}\" data-tenant=\"{t}\" data-scope=\"{scope}\">\
         <td class=\"tenant\">{t}</td><td>{label}</td>\
         <td class=\"num\" data-count=\"verified\">{}</td>\
         <td class=\"num\" data-count=\"skipped\">{}</td>\
         <td class=\"num {}\" data-count=\"failed\">{}</td>\
         <td class=\"num {}\" data-count=\"unfinished\">{}</td>\
         <td class=\"num\" data-count=\"total\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        count(c.verified),
        count(c.skipped),
        flag(c.failed, "bad"),
        count(c.failed),
        flag(c.unfinished, "warn"),
        count(c.unfinished),
        count(c.total),
        dur(d.median_ms),
        dur(d.p95_ms),
        dur(d.max_ms),
        t = e(tenant),
        scope = e(scope),
        label = e(scope_label),
    )
}

fn failure_row(out: &mut String, tenant: &str, scope: &str, f: &FailureGroup) -> fmt::Result {
    let statuses = f
        .statuses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut ids = String::new();
    for id in f.request_ids.iter().take(MAX_REQUEST_IDS) {
        write!(ids, "<code>{}</code>", e(id))?;
    }
    if f.request_ids.len() > MAX_REQUEST_IDS {
        write!(
            ids,
            "<span class=\"note\">and {} more (in the JSON report)</span>",
            f.request_ids.len() - MAX_REQUEST_IDS
        )?;
    }
    if f.request_ids.is_empty() {
        ids.push_str("<span class=\"note\">none</span>");
    }
    writeln!(
        out,
        "<tr data-tenant=\"{t}\" data-scope=\"{s}\" data-code=\"{code}\">\
         <td class=\"tenant\">{t}</td><td>{s}</td><td class=\"code\"><code>{code}</code></td>\
         <td class=\"num\">{statuses}</td>\
         <td class=\"num\" data-count=\"failures\">{n}</td>\
         <td class=\"ids\" data-count=\"request-ids\" data-value=\"{nids}\">{ids}</td>\
         <td class=\"detail\">{detail}</td></tr>",
        t = e(tenant),
        s = e(scope),
        code = e(&f.code),
        n = count(f.count),
        nids = f.request_ids.len(),
        detail = e(f.detail.as_deref().unwrap_or("")),
    )
}

/// A journal time for people, as text: `2026-12-02 15:22:20 UTC`, or the text as given.
fn plain_time(s: &str) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    parse_time(s)
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&fmt).ok())
        .map_or_else(|| s.to_owned(), |shown| format!("{shown} UTC"))
}

/// A journal time for people, as HTML: a `<time>` element, or the text as given, escaped.
fn show_time(s: &str) -> String {
    if parse_time(s).is_some() {
        format!("<time datetime=\"{}\">{}</time>", e(s), e(&plain_time(s)))
    } else {
        e(s)
    }
}

fn bucket_words(seconds: u64) -> String {
    match seconds {
        1 => "per second".to_owned(),
        s if s % 86400 == 0 => format!("averaged over {} day buckets", s / 86400),
        s if s % 3600 == 0 => format!("averaged over {} h buckets", s / 3600),
        s if s % 60 == 0 => format!("averaged over {} min buckets", s / 60),
        s => format!("averaged over {s} s buckets"),
    }
}

struct Chart<'a> {
    id: &'a str,
    title: &'a str,
    note: &'a str,
    unit: &'a str,
    counts: &'a [u64],
    series: &'a Series,
    bars: bool,
    empty: &'a str,
}

const W: f64 = 960.0;
const H: f64 = 230.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

/// A round step of at least `raw`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// A number for an axis label: `3`, `2.5`, `0.25`, `0.025`.
fn axis_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Elapsed seconds for an axis label: `45s`, `3:05`, `1:02:00`, `2d 4h`.
fn elapsed_label(seconds: u64, span: u64) -> String {
    if span < 60 {
        format!("{seconds}s")
    } else if span < 3600 {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    } else if span < 3 * 86400 {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            (seconds % 3600) / 60,
            seconds % 60
        )
    } else {
        format!("{}d {}h", seconds / 86400, (seconds % 86400) / 3600)
    }
}

fn chart(out: &mut String, c: &Chart<'_>) -> fmt::Result {
    let width = c.series.bucket_seconds.max(1);
    let n = c.counts.len().max(1);
    let rates: Vec<f64> = c.counts.iter().map(|v| float(*v) / float(width)).collect();
    let total: u64 = c.counts.iter().fold(0u64, |a, b| a.saturating_add(*b));
    let peak = rates.iter().copied().fold(0.0, f64::max);
    let step = nice_step(peak / 4.0);
    let y_max = step * 4.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / float(n as u64);
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;

    writeln!(
        out,
        "<figure>\n<figcaption>{title} <span>— {note}; {total} in all, peak {peak} / s\
         </span></figcaption>\n<svg id=\"{id}\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"{title}\" data-points=\"{points}\" data-total=\"{raw_total}\" \
         data-bucket-seconds=\"{width}\" preserveAspectRatio=\"xMidYMid meet\">",
        title = e(c.title),
        note = e(c.note),
        id = c.id,
        points = c.counts.len(),
        raw_total = total,
        total = thousands(total),
        peak = axis_number(peak),
    )?;
    // Grid lines and y labels.
    for i in 0..=4u32 {
        let v = step * f64::from(i);
        let yy = y(v);
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 8.0,
            yy + 4.0,
            axis_number(v)
        )?;
    }
    writeln!(
        out,
        "<text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">\
         {}</text>",
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        e(c.unit)
    )?;
    // X ticks: a round number of seconds, at most 8 labels.
    let span = width.saturating_mul(n as u64);
    let tick = super::BUCKETS
        .into_iter()
        .find(|s| span / s <= 8)
        .unwrap_or_else(|| span.div_ceil(8 * 86400).max(1) * 86400);
    // `span / tick <= 8`, so at most 9 ticks whatever the span.
    for at in (0..=span / tick).map(|k| k * tick) {
        let x = LEFT + float(at) / float(width) * slot;
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h,
            TOP + plot_h + 5.0,
            TOP + plot_h + 18.0,
            elapsed_label(at, span)
        )?;
    }
    writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">time since the run started</text>",
        LEFT + plot_w / 2.0,
        H - 4.0
    )?;

    if total == 0 {
        writeln!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0,
            e(c.empty)
        )?;
    } else if c.bars {
        let gap = (slot * 0.15).min(2.0);
        for (i, (count, rate)) in c.counts.iter().zip(&rates).enumerate() {
            if *count == 0 {
                continue;
            }
            let top = y(*rate);
            writeln!(
                out,
                "<rect class=\"bar\" x=\"{:.2}\" y=\"{top:.2}\" width=\"{:.2}\" \
                 height=\"{:.2}\" data-value=\"{count}\"><title>{} / s at {}</title></rect>",
                LEFT + float(i as u64) * slot + gap,
                (slot - 2.0 * gap).max(0.6),
                TOP + plot_h - top,
                axis_number(*rate),
                elapsed_label(width * i as u64, span)
            )?;
        }
    } else {
        let points: Vec<(f64, f64)> = rates
            .iter()
            .enumerate()
            .map(|(i, r)| (LEFT + (float(i as u64) + 0.5) * slot, y(*r)))
            .collect();
        let mut line = String::new();
        for (i, (x, yy)) in points.iter().enumerate() {
            write!(line, "{}{x:.1} {yy:.1}", if i == 0 { "M" } else { " L" })?;
        }
        let (first_x, last_x) = (points[0].0, points[points.len() - 1].0);
        let base = TOP + plot_h;
        writeln!(
            out,
            "<path class=\"area\" d=\"{line} L{last_x:.1} {base:.1} L{first_x:.1} {base:.1} Z\"/>\
             \n<path class=\"line\" d=\"{line}\" data-total=\"{total}\"/>"
        )?;
        if points.len() <= 60 {
            for ((x, yy), count) in points.iter().zip(c.counts) {
                writeln!(
                    out,
                    "<circle class=\"dot\" cx=\"{x:.1}\" cy=\"{yy:.1}\" r=\"2.5\" \
                     data-value=\"{count}\"/>"
                )?;
            }
        }
    }
    // The axes last, over the marks.
    writeln!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\n</svg>\n\
         </figure>",
        TOP + plot_h,
        W - RIGHT,
        TOP + plot_h,
        TOP + plot_h
    )
}
