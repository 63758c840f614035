//! The fleet report of a real run against the emulator (some upgrades refused, writes
//! throttled), checked against the journal, then rendered in headless Chromium: the numbers in
//! the browser's DOM are the journal's, the charts are drawn, and the screenshot is a page.
//!
//! Chromium (the Debian package `chromium`, or `$TEAMSAPP_CHROMIUM`) must be installed; with
//! `TEAMSAPP_SKIP_BROWSER=1` the browser half is skipped with a message.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use teamsapp_fleet::report::FleetReport;
use teamsapp_fleet::{Fleet, Options, State};
use teamsapp_mock::{Emulator, EmulatorConfig, Scenario, ScenarioMatch, ThrottleConfig};

mod common;

use common::{TENANT, tenant};
/// Chat upgrades the emulator refuses (403 Forbidden).
const REFUSED: usize = 3;

/// The demo tenant with writes throttled hard (10 a second, burst 10) and reads not at all.
async fn throttled_emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        throttle: ThrottleConfig {
            enabled: true,
            read: teamsapp_mock::RateLimit::per_second(0.0),
            write: teamsapp_mock::RateLimit::per_second(10.0),
            ..ThrottleConfig::default()
        },
        ..EmulatorConfig::demo()
    })
    .await
    .unwrap()
}

/// The first `REFUSED` chat upgrades that get past the throttle are refused for good.
fn chat_upgrades_fail(emulator: &Emulator) {
    emulator
        .state()
        .set_scenarios(vec![Scenario {
            matcher: ScenarioMatch {
                operation_id: Some("chats.chat.installedApps.teamsAppInstallation.upgrade".into()),
                ..ScenarioMatch::default()
            },
            times: Some(u32::try_from(REFUSED).unwrap()),
            status: 403,
            retry_after: None,
            code: Some("Forbidden".into()),
            message: Some("scripted".into()),
            headers: BTreeMap::new(),
        }])
        .unwrap();
}

/// Where every target ended, per scope, read straight from the journal's lines (not through
/// the library): scope → state → count.
fn journal_counts(path: &Path) -> BTreeMap<String, BTreeMap<String, usize>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut last: HashMap<(String, String, String, String), String> = HashMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["record"] == "target" {
            let key = ["tenant", "scope", "scopeId", "installationId"]
                .map(|k| v[k].as_str().unwrap().to_owned());
            last.insert(key.into(), v["state"].as_str().unwrap().to_owned());
        }
    }
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for ((_, scope, _, _), state) in last {
        *out.entry(scope.clone())
            .or_default()
            .entry(state.clone())
            .or_default() += 1;
        *out.entry("all".into())
            .or_default()
            .entry(state)
            .or_default() += 1;
    }
    out
}

#[tokio::test]
async fn the_report_of_a_throttled_run_with_failures_shows_the_journal_in_a_browser() {
    let emulator = throttled_emulator().await;
    chat_upgrades_fail(&emulator);
    let tenant = tenant(&emulator);
    let client = tenant.client.clone();
    let fleet = Fleet::new(vec![tenant], Options::new("Contoso Tasks")).unwrap();
    let plan = fleet.plan().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let summary = fleet.run(&plan, &journal).await.unwrap();
    let throttled = client.stats().throttled;
    assert!(
        throttled > 0,
        "32 upgrades at once against 10 a second meet 429s"
    );
    assert_eq!(summary.count(State::Failed), REFUSED);

    // The report against the journal, the run's summary and the client's own counters.
    let report = FleetReport::from_journal(&journal).unwrap();
    let counts = journal_counts(&journal);
    let all = &counts["all"];
    let n = |m: &BTreeMap<String, usize>, s: &str| m.get(s).copied().unwrap_or(0);
    assert_eq!(report.totals.total, 40);
    assert_eq!(report.totals.verified, n(all, "verified"));
    assert_eq!(report.totals.verified, summary.count(State::Verified));
    assert_eq!(report.totals.verified, 40 - REFUSED);
    assert_eq!(report.totals.failed, REFUSED);
    assert_eq!(report.totals.unfinished, 0);
    assert_eq!(report.throttling.throttled, throttled);
    assert_eq!(report.throttling.runs, 1);
    assert!(report.throttling.waited_ms > 0);
    assert_eq!(report.series.throttled.iter().sum::<u64>(), throttled);
    assert_eq!(
        report.series.upgrades.iter().sum::<u64>(),
        u64::try_from(40 - REFUSED).unwrap()
    );
    assert_eq!(report.tenants.len(), 1);
    assert_eq!(report.tenants[0].tenant, TENANT);
    let failures: Vec<_> = report.failure_rows().collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (_, scope, group) = failures[0];
    assert_eq!(
        (scope.scope.as_str(), group.code.as_str()),
        ("chat", "Forbidden")
    );
    assert_eq!(group.count, REFUSED);
    assert_eq!(group.statuses, [403]);
    assert_eq!(
        group.request_ids.len(),
        REFUSED,
        "one request-id per refusal"
    );
    assert!(report.durations.median_ms.is_some());
    emulator.shutdown().await.unwrap();

    let page = dir.path().join("report.html");
    std::fs::write(&page, report.to_html()).unwrap();
    let Some(chromium) = chromium() else { return };

    // The DOM as the browser built it.
    let dom = run_chromium(&chromium, dir.path(), &page, &["--dump-dom"]).await;
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert!(dom.contains("Contoso Tasks"), "{dom}");
    for (id, expected) in [
        ("total", 40),
        ("verified", n(all, "verified")),
        ("skipped", n(all, "skipped")),
        ("failed", n(all, "failed")),
        ("unfinished", 0),
    ] {
        assert_eq!(
            number(&text_after(&dom, &format!("id=\"total-{id}\""))),
            u64::try_from(expected).unwrap(),
            "total-{id}"
        );
    }
    assert_eq!(
        number(&text_after(&dom, "id=\"total-throttled\"")),
        throttled
    );
    for (scope, states) in &counts {
        if scope == "all" {
            continue;
        }
        let row = element(
            &dom,
            &format!("data-tenant=\"{TENANT}\" data-scope=\"{scope}\""),
            "</tr>",
        );
        for state in ["verified", "skipped", "failed", "unfinished"] {
            let expected = if state == "unfinished" {
                ["planned", "sending", "upgraded"]
                    .iter()
                    .map(|s| n(states, s))
                    .sum()
            } else {
                n(states, state)
            };
            assert_eq!(
                number(&text_after(row, &format!("data-count=\"{state}\""))),
                u64::try_from(expected).unwrap(),
                "{scope} {state}: {row}"
            );
        }
    }
    let failure = element(&dom, "data-code=\"Forbidden\"", "</tr>");
    assert_eq!(
        number(&text_after(failure, "data-count=\"failures\"")),
        u64::try_from(REFUSED).unwrap()
    );
    for id in &group.request_ids {
        assert!(failure.contains(&format!("<code>{id}</code>")), "{failure}");
    }

    // The charts are drawn: a line through the upgrades, bars for the 429s.
    let upgrades = element(&dom, "<svg id=\"chart-upgrades\"", "</svg>");
    assert!(upgrades.contains(&format!("data-total=\"{}\"", 40 - REFUSED)));
    let d = attribute(upgrades, "<path class=\"line\"", "d");
    assert!(d.starts_with('M') && d.contains(" L"), "{d}");
    let throttled_chart = element(&dom, "<svg id=\"chart-throttled\"", "</svg>");
    assert!(throttled_chart.contains(&format!("data-total=\"{throttled}\"")));
    let bars: u64 = throttled_chart
        .match_indices("<rect class=\"bar\"")
        .map(|(i, _)| number(&attribute(&throttled_chart[i..], "<rect", "data-value")))
        .sum();
    assert_eq!(bars, throttled, "the bars add up to every 429");

    // A screenshot: a real page, not a blank or flat image.
    let png = dir.path().join("page.png");
    run_chromium(
        &chromium,
        dir.path(),
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,900",
            "--hide-scrollbars",
        ],
    )
    .await;
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1200, 900));
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let pixels = &pixels[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> = pixels.chunks(channels).collect();
    assert!(
        colours.len() > 50,
        "{} colours: a drawn page has text, lines and bars",
        colours.len()
    );
    let background = &pixels[..channels];
    let drawn = pixels.chunks(channels).filter(|p| *p != background).count();
    assert!(
        drawn > pixels.len() / channels / 50,
        "only {drawn} pixels differ from the background"
    );
    if let Some(keep) = std::env::var_os("TEAMSAPP_REPORT_KEEP") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(&page, keep.join("report.html")).unwrap();
        std::fs::copy(&png, keep.join("page.png")).unwrap();
    }
}

/// The browser, or `None` (the test skips its browser half) when `TEAMSAPP_SKIP_BROWSER=1`.
#[allow(clippy::print_stderr, reason = "a skipped check must say so")]
fn chromium() -> Option<String> {
    if std::env::var("TEAMSAPP_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED the browser checks of the fleet report: TEAMSAPP_SKIP_BROWSER=1 \
             (the report and its page were still checked without a browser)"
        );
        return None;
    }
    Some(std::env::var("TEAMSAPP_CHROMIUM").unwrap_or_else(|_| "chromium".into()))
}

/// Runs headless Chromium on `page` with its own profile in `dir`, offline, within 2 minutes.
async fn run_chromium(chromium: &str, dir: &Path, page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(Duration::from_mins(2), command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{chromium} is not installed: install the Debian package `chromium` \
             (.ci/run does), set TEAMSAPP_CHROMIUM to a Chromium or Chrome binary, or set \
             TEAMSAPP_SKIP_BROWSER=1 to skip the browser checks"
        ),
        Ok(Err(e)) => panic!("{chromium} could not start: {e}"),
        Err(elapsed) => panic!("{chromium} did not finish: {elapsed} (2 minutes)"),
    };
    assert!(
        output.status.success(),
        "{chromium} {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The text of the element whose start tag contains `marker`.
fn text_after(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not in the page"));
    let rest = &html[at..];
    let start = rest.find('>').expect("the tag ends") + 1;
    let end = rest[start..].find('<').expect("the text ends") + start;
    rest[start..end].to_owned()
}

/// From the tag containing `start` to the first `end` after it.
fn element<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} is not in the page"));
    let len = html[at..]
        .find(end)
        .unwrap_or_else(|| panic!("{start} is not closed"));
    &html[at..at + len]
}

/// The value of attribute `name` in the first tag starting with `tag`.
fn attribute(html: &str, tag: &str, name: &str) -> String {
    let element = element(html, tag, ">");
    let key = format!(" {name}=\"");
    let at = element
        .find(&key)
        .unwrap_or_else(|| panic!("{tag} has no {name}: {element}"))
        + key.len();
    let len = element[at..].find('"').expect("the value ends");
    element[at..at + len].to_owned()
}

/// A number as the page shows it (`1,234`).
fn number(text: &str) -> u64 {
    text.trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} is not a number: {e}"))
}
