//! The report's arithmetic on hand-written journals.

use super::*;
use std::io::Write as _;

const CHAT_A: &str = "19:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@thread.v2";
const CHAT_B: &str = "19:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@thread.v2";
const TEAM: &str = "6903fa93-605b-43ef-920e-77c4729f8258";
const USER: &str = "9b2f3c1a-1111-4222-8333-444455556666";

fn header(started: &str, tenants: &[&str]) -> String {
    let tenants: Vec<serde_json::Value> = tenants
        .iter()
        .map(|t| {
            serde_json::json!({
                "tenant": t, "baseUrl": "http://127.0.0.1:1/v1.0",
                "app": {"id": "app-id", "externalId": "ext", "name": "Contoso Tasks"},
                "to": "1.1.0"
            })
        })
        .collect();
    serde_json::json!({
        "record": "run", "format": 1, "tool": "teamsapp 0.1.0", "startedAt": started,
        "app": "contoso tasks", "scopes": ["chat", "team", "user"], "source": "discovery",
        "tenants": tenants
    })
    .to_string()
}

fn target(at: &str, tenant: &str, scope: &str, id: &str, inst: &str, state: &str) -> String {
    serde_json::json!({
        "record": "target", "at": at, "tenant": tenant, "scope": scope, "scopeId": id,
        "installationId": inst, "state": state, "from": "1.0.0", "to": "1.1.0"
    })
    .to_string()
}

fn failed(at: &str, scope: &str, id: &str, inst: &str, error: serde_json::Value) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&target(at, "t1", scope, id, inst, "failed")).unwrap();
    v["detail"] = "the upgrade was refused".into();
    if !error.is_null() {
        v["error"] = error;
    }
    v.to_string()
}

fn throttle(at: &str, tenant: &str, throttled: u64, retries: u64, waited_ms: u64) -> String {
    serde_json::json!({
        "record": "throttle", "at": at, "tenant": tenant, "throttled": throttled,
        "retries": retries, "waitedMs": waited_ms
    })
    .to_string()
}

fn t(hms: &str) -> String {
    format!("2026-12-01T{hms}Z")
}

fn write(lines: &[String]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    (dir, path)
}

/// A run over two tenants, resumed once, with every kind of ending, garbage lines, and ids
/// containing `/`.
fn resumed_journal() -> Vec<String> {
    let (a, b) = ("a/b+1==", "a/b+2==");
    vec![
        header(&t("10:00:00.000"), &["t1", "T2"]),
        target(&t("10:00:01.000"), "t1", "chat", CHAT_A, a, "planned"),
        target(&t("10:00:01.000"), "t1", "chat", CHAT_B, b, "planned"),
        target(&t("10:00:01.000"), "t1", "team", TEAM, "c/1", "planned"),
        target(&t("10:00:01.000"), "t1", "user", USER, "d", "planned"),
        target(&t("10:00:01.000"), "t1", "user", USER, "e", "planned"),
        target(&t("10:00:01.000"), "t1", "chat", CHAT_A, "f", "planned"),
        target(&t("10:00:01.000"), "t1", "chat", CHAT_A, "g", "planned"),
        target(&t("10:00:01.000"), "t1", "team", TEAM, "h", "planned"),
        target(&t("10:00:01.000"), "t2", "chat", CHAT_B, "x/y", "planned"),
        r#"{"record":"planned","at":"2026-12-01T10:00:01.000Z","targets":9}"#.to_owned(),
        throttle(&t("10:00:02.000"), "t1", 0, 0, 0),
        throttle(&t("10:00:02.000"), "T2", 0, 0, 0),
        target(&t("10:00:02.000"), "t1", "chat", CHAT_A, a, "sending"),
        target(&t("10:00:02.000"), "t1", "chat", CHAT_B, b, "sending"),
        target(&t("10:00:02.000"), "t1", "team", TEAM, "c/1", "sending"),
        target(&t("10:00:02.000"), "t1", "user", USER, "d", "sending"),
        target(&t("10:00:02.000"), "t1", "user", USER, "e", "sending"),
        target(&t("10:00:02.500"), "t1", "chat", CHAT_A, a, "upgraded"),
        "garbage".to_owned(),
        target(&t("10:00:03.000"), "t1", "chat", CHAT_A, a, "verified"),
        throttle(&t("10:00:03.000"), "t1", 5, 5, 3000),
        failed(
            &t("10:00:04.000"),
            "chat",
            CHAT_B,
            b,
            serde_json::json!({"status": 403, "code": "Forbidden", "requestId": "r-1"}),
        ),
        throttle(&t("10:00:04.000"), "t1", 7, 7, 4000),
        failed(
            &t("10:00:05.000"),
            "team",
            TEAM,
            "c/1",
            serde_json::json!({"status": 403, "code": "Forbidden", "requestId": "r-2"}),
        ),
        failed(
            &t("10:00:06.000"),
            "user",
            USER,
            "d",
            serde_json::json!({"status": 503, "requestId": "r-4"}),
        ),
        r#"{"record":"target","at":"2026-12-01T10:00:07Z","tenant":"t1","scope":"galaxy"}"#
            .to_owned(),
        target(&t("10:00:10.000"), "t2", "chat", CHAT_B, "x/y", "sending"),
        target(&t("10:00:10.500"), "t1", "team", TEAM, "h", "skipped"),
        failed(
            &t("10:00:12.000"),
            "user",
            USER,
            "e",
            serde_json::Value::Null,
        ),
        target(&t("10:00:12.000"), "t2", "chat", CHAT_B, "x/y", "verified"),
        throttle(&t("10:00:12.000"), "T2", 1, 1, 1000),
        // The process died; half a line of a sending record, then the resumed run.
        r#"{"record":"target","at":"2026-12-01T10:00:13Z","tena"#.to_owned(),
        throttle(&t("10:30:00.000"), "t1", 0, 0, 0),
        target(&t("10:30:00.000"), "t1", "chat", CHAT_A, "g", "sending"),
        target(&t("10:30:00.000"), "t1", "team", TEAM, "c/1", "sending"),
        failed(
            &t("10:30:01.000"),
            "team",
            TEAM,
            "c/1",
            serde_json::json!({"status": 403, "code": "Forbidden", "requestId": "r-3"}),
        ),
        throttle(&t("10:30:01.000"), "t1", 3, 4, 1500),
    ]
}

#[test]
fn counts_durations_throttling_and_failures_of_a_resumed_journal() {
    let lines = resumed_journal();
    let (_dir, path) = write(&lines);
    let r = FleetReport::from_journal(&path).unwrap();

    assert_eq!(r.app, "Contoso Tasks");
    assert_eq!(r.to, ["1.1.0"]);
    assert_eq!(r.from, ["1.0.0"]);
    assert_eq!(r.tool, "teamsapp 0.1.0");
    assert!(r.planned);
    assert_eq!(r.started_at, "2026-12-01T10:00:00.000Z");
    assert_eq!(r.first_record_at.as_deref(), Some("2026-12-01T10:00:01Z"));
    assert_eq!(r.last_record_at.as_deref(), Some("2026-12-01T10:30:01Z"));
    assert_eq!(r.elapsed_ms, Some(1_801_000));
    // Lines 20 ("garbage"), 27 (a scope that is none) and 33 (a torn line in the middle).
    assert_eq!(r.unreadable_lines, [20, 27, 33]);
    assert!(!r.torn_tail);
    assert_eq!(r.undated_records, 0);

    // Tenants in header order; "t2" in records is the header's "T2".
    let ids: Vec<&str> = r.tenants.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(ids, ["t1", "T2"]);
    let t1 = &r.tenants[0];
    let scopes: Vec<&str> = t1.scopes.iter().map(|s| s.scope.as_str()).collect();
    assert_eq!(scopes, ["chat", "team", "user"]);
    let chat = &t1.scopes[0];
    assert_eq!(
        (
            chat.counts.verified,
            chat.counts.failed,
            chat.counts.planned,
            chat.counts.sending,
            chat.counts.unfinished,
            chat.counts.total
        ),
        (1, 1, 1, 1, 2, 4)
    );
    let team = &t1.scopes[1];
    assert_eq!((team.counts.failed, team.counts.skipped), (1, 1));
    let user = &t1.scopes[2];
    assert_eq!((user.counts.failed, user.counts.total), (2, 2));
    assert_eq!(t1.counts.total, 8);
    assert_eq!(r.totals.total, 9);
    assert_eq!(r.totals.verified, 2);
    assert_eq!(r.totals.failed, 4);
    assert_eq!(r.totals.skipped, 1);
    assert_eq!(r.totals.unfinished, 2);
    assert_eq!(r.totals.get(State::Sending), 1);
    assert_eq!(r.status(), "failed");

    // Durations: A 1 s, B 2 s, C 1 s (its last attempt), D 4 s, E 10 s; the skipped target was
    // never sent. T2's target 2 s.
    assert_eq!(
        chat.durations,
        Durations {
            targets: 2,
            median_ms: Some(1000),
            p95_ms: Some(2000),
            max_ms: Some(2000)
        }
    );
    assert_eq!(team.durations.targets, 1);
    assert_eq!(team.durations.max_ms, Some(1000));
    assert_eq!(
        t1.durations,
        Durations {
            targets: 5,
            median_ms: Some(2000),
            p95_ms: Some(10000),
            max_ms: Some(10000)
        }
    );
    assert_eq!(r.durations.targets, 6);
    assert_eq!(r.durations.median_ms, Some(2000));

    // Throttling: t1 ran twice (7 + 3 429s), T2 once.
    assert_eq!(
        t1.throttling,
        Throttling {
            throttled: 10,
            retries: 11,
            waited_ms: 5500,
            runs: 2
        }
    );
    assert_eq!(r.tenants[1].throttling.throttled, 1);
    assert_eq!(r.throttling.throttled, 11);
    assert_eq!(r.throttling.waited_ms, 6500);
    assert_eq!(r.throttling.runs, 2);

    // Failures by code, per scope, with the request-ids of their last attempts.
    let rows: Vec<(&str, &str, &str, usize, Vec<&str>)> = r
        .failure_rows()
        .map(|(t, s, f)| {
            (
                t.tenant.as_str(),
                s.scope.as_str(),
                f.code.as_str(),
                f.count,
                f.request_ids.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("t1", "chat", "Forbidden", 1, vec!["r-1"]),
            ("t1", "team", "Forbidden", 1, vec!["r-3"]),
            ("t1", "user", "HTTP 503", 1, vec!["r-4"]),
            ("t1", "user", "no answer", 1, vec![]),
        ]
    );
    assert_eq!(user.failures[0].statuses, [503]);
    assert_eq!(
        user.failures[0].detail.as_deref(),
        Some("the upgrade was refused")
    );

    // Series: 10 s buckets over 30 min; the two verified targets and every 429 are there.
    let s = &r.series;
    assert_eq!(s.start.as_deref(), Some("2026-12-01T10:00:00Z"));
    assert_eq!(s.bucket_seconds, 10);
    assert_eq!(s.upgrades.len(), 181);
    assert_eq!(s.throttled.len(), 181);
    assert_eq!((s.upgrades[0], s.upgrades[1]), (1, 1));
    assert_eq!(s.upgrades.iter().sum::<u64>(), 2);
    assert_eq!(
        (s.throttled[0], s.throttled[1], s.throttled[180]),
        (7, 1, 3)
    );
    assert_eq!(s.throttled.iter().sum::<u64>(), r.throttling.throttled);
    assert!((s.upgrades_per_second()[0] - 0.1).abs() < 1e-9);
    assert!((s.throttled_per_second()[0] - 0.7).abs() < 1e-9);
}

#[test]
fn the_report_serializes_in_camel_case() {
    let (_dir, path) = write(&resumed_journal());
    let v = serde_json::to_value(FleetReport::from_journal(&path).unwrap()).unwrap();
    assert_eq!(v["startedAt"], "2026-12-01T10:00:00.000Z");
    assert_eq!(v["totals"]["verified"], 2);
    assert_eq!(v["totals"]["unfinished"], 2);
    assert_eq!(v["tenants"][0]["throttling"]["waitedMs"], 5500);
    assert_eq!(v["tenants"][0]["scopes"][0]["durations"]["p95Ms"], 2000);
    assert_eq!(
        v["tenants"][0]["scopes"][0]["failures"][0]["requestIds"][0],
        "r-1"
    );
    assert_eq!(v["series"]["bucketSeconds"], 10);
    assert_eq!(v["unreadableLines"], serde_json::json!([20, 27, 33]));
}

#[test]
fn a_torn_tail_and_unreadable_times_are_reported_not_fatal() {
    let mut lines = vec![
        header("not a time", &["t1"]),
        target("yesterday", "t1", "chat", CHAT_A, "a", "planned"),
        target(&t("10:00:01.000"), "t1", "chat", CHAT_A, "a", "sending"),
        target(&t("10:00:02.000"), "t1", "chat", CHAT_A, "a", "verified"),
        throttle("soon", "t1", 2, 2, 10),
    ];
    lines.push(r#"{"record":"target","at":"2026-12-01T10"#.to_owned());
    let (_dir, path) = write(&lines);
    // Without its newline, the last line is a write cut short.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.trim_end()).unwrap();
    let r = FleetReport::from_journal(&path).unwrap();
    assert!(r.torn_tail);
    assert_eq!(r.undated_records, 2);
    assert_eq!(r.totals.verified, 1);
    assert_eq!(r.durations.max_ms, Some(1000));
    assert_eq!(r.elapsed_ms, None, "the start time is unreadable");
    assert_eq!(r.throttling.throttled, 2, "counted, though not charted");
    assert_eq!(r.series.throttled.iter().sum::<u64>(), 0);
    assert_eq!(r.series.start.as_deref(), Some("2026-12-01T10:00:01Z"));
    let html = r.to_html();
    assert!(html.contains("id=\"torn-tail\""));
    assert!(html.contains("id=\"undated\" data-count=\"2\""));
    assert!(html.contains("not a time"));
}

#[test]
fn a_long_or_absurd_span_stays_within_the_point_limit() {
    assert_eq!(bucket_seconds(0), 1);
    assert_eq!(bucket_seconds(299_999), 1);
    assert_eq!(bucket_seconds(300_000), 2);
    assert_eq!(bucket_seconds(2 * 3_600_000), 30);
    assert_eq!(bucket_seconds(10 * 3_600_000), 300);
    assert_eq!(bucket_seconds(u64::MAX) % 86400, 0);
    let lines = vec![
        header("0001-01-01T00:00:00Z", &["t1"]),
        target("0001-01-01T00:00:01Z", "t1", "chat", CHAT_A, "a", "sending"),
        target(
            "9999-12-31T23:59:59Z",
            "t1",
            "chat",
            CHAT_A,
            "a",
            "verified",
        ),
        throttle("9999-12-31T23:59:59Z", "t1", 4, 4, 1),
    ];
    let (_dir, path) = write(&lines);
    let r = FleetReport::from_journal(&path).unwrap();
    let s = &r.series;
    assert!(s.upgrades.len() <= MAX_POINTS, "{}", s.upgrades.len());
    assert!(s.upgrades.len() > MAX_POINTS / 2, "{}", s.upgrades.len());
    assert_eq!(s.upgrades.last(), Some(&1));
    assert_eq!(s.throttled.last(), Some(&4));
    // The page renders whatever the span.
    assert!(r.to_html().contains("id=\"chart-upgrades\""));
}

#[test]
fn a_journal_with_only_its_header_reports_nothing_done() {
    let (_dir, path) = write(&[header(&t("10:00:00.000"), &["t1"])]);
    let r = FleetReport::from_journal(&path).unwrap();
    assert_eq!(r.totals, Counts::default());
    assert_eq!(r.status(), "unfinished", "the plan was never completed");
    assert_eq!(r.durations.median_ms, None);
    assert_eq!(r.series.upgrades, [0]);
    let html = r.to_html();
    assert!(html.contains("No target was verified."));
    assert!(html.contains("No 429 was received."));
    assert!(html.contains("id=\"no-failures\""));
}

#[test]
fn a_journal_without_a_readable_time_still_renders() {
    let (_dir, path) = write(&[
        header("never", &["t1"]),
        target("", "t1", "chat", CHAT_A, "a", "verified"),
        throttle("\u{0}", "t1", 1, 1, 1),
    ]);
    let r = FleetReport::from_journal(&path).unwrap();
    assert_eq!(r.series, Series::default());
    assert_eq!((r.totals.verified, r.undated_records), (1, 2));
    assert_eq!((r.elapsed_ms, r.first_record_at.as_deref()), (None, None));
    let html = r.to_html();
    assert!(html.contains("data-points=\"0\""));
    assert!(html.contains("id=\"total-verified\" class=\"value\" data-value=\"1\">1<"));
}

#[test]
fn empty_and_foreign_journals_are_refused_with_a_message() {
    let (_dir, path) = write(&[]);
    let err = FleetReport::from_journal(&path).unwrap_err();
    assert!(err.to_string().contains("it is empty"), "{err}");
    assert!(err.is_usage());
    std::fs::write(&path, "{\"hello\":1}\n").unwrap();
    let err = FleetReport::from_journal(&path).unwrap_err().to_string();
    assert!(err.contains("first line is not the run record"), "{err}");
    std::fs::write(&path, [0xff, 0xfe, 0x00, b'\n']).unwrap();
    assert!(FleetReport::from_journal(&path).is_err());
    let err = FleetReport::from_journal(&path.with_extension("missing"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("journal"), "{err}");
}

#[test]
fn every_string_from_the_journal_is_escaped_and_nothing_is_fetched() {
    let evil = "<script>alert(1)</script>\"'&";
    let mut h: serde_json::Value =
        serde_json::from_str(&header(&t("10:00:00.000"), &[evil])).unwrap();
    h["tool"] = evil.into();
    h["tenants"][0]["app"]["name"] = evil.into();
    h["tenants"][0]["to"] = "<b>9</b>".into();
    let mut f: serde_json::Value = serde_json::from_str(&failed(
        &t("10:00:02.000"),
        "chat",
        CHAT_A,
        "a",
        serde_json::json!({"status": 400, "code": "\"><img src=x onerror=alert(2)>", "requestId": "<i>r</i>"}),
    ))
    .unwrap();
    f["tenant"] = evil.into();
    f["detail"] = "</td></tr></table><iframe src=\"https://example.invalid\">".into();
    let (_dir, path) = write(&[h.to_string(), f.to_string()]);
    let r = FleetReport::from_journal(&path).unwrap();
    assert_eq!(r.totals.failed, 1);
    let html = r.to_html();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    assert!(html.contains("&lt;i&gt;r&lt;/i&gt;"));
    assert!(html.contains("&lt;iframe src=&quot;https://example.invalid&quot;&gt;"));
    // Every `<` left in the page opens one of the page's own tags: none from the journal, and
    // none that loads anything (self-contained) or runs anything.
    let tags: Vec<&str> = html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
        .collect();
    for tag in &tags {
        let name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap_or("");
        assert!(
            [
                "!DOCTYPE",
                "html",
                "head",
                "meta",
                "title",
                "style",
                "body",
                "main",
                "header",
                "p",
                "h1",
                "h2",
                "span",
                "dl",
                "div",
                "dt",
                "dd",
                "time",
                "code",
                "section",
                "table",
                "thead",
                "tbody",
                "tr",
                "th",
                "td",
                "figure",
                "figcaption",
                "svg",
                "line",
                "text",
                "path",
                "circle",
                "rect",
                "footer"
            ]
            .contains(&name),
            "unexpected tag <{tag}>"
        );
        // Outside its quoted values (where journal text goes, escaped), a tag has only the
        // page's own attribute names.
        let names: String = tag.split('"').step_by(2).collect();
        for attr in [" src=", " href=", " on", "javascript:"] {
            assert!(!names.contains(attr), "<{tag}> has {attr}");
        }
    }
    for fetch in ["url(", "@import"] {
        assert!(!html.contains(fetch), "{fetch} is in the page");
    }
}

#[test]
fn the_page_carries_the_numbers_and_draws_the_charts() {
    let (_dir, path) = write(&resumed_journal());
    let r = FleetReport::from_journal(&path).unwrap();
    let html = r.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<title>Fleet upgrade: Contoso Tasks 1.1.0 in 2 tenants (t1, T2)</title>")
    );
    assert!(html.contains("id=\"total-verified\" class=\"value\" data-value=\"2\">2<"));
    assert!(html.contains("id=\"total-failed\" class=\"value\" data-value=\"4\">4<"));
    assert!(html.contains("id=\"total-throttled\" class=\"value\" data-value=\"11\">11<"));
    assert!(html.contains(
        "<tr class=\"\" data-tenant=\"t1\" data-scope=\"chat\"><td class=\"tenant\">t1</td>\
         <td>chat</td><td class=\"num\" data-count=\"verified\">1</td>"
    ));
    assert!(html.contains("data-code=\"HTTP 503\""));
    assert!(html.contains("<code>r-3</code>"));
    assert!(html.contains("line 20, 27, 33"));
    assert!(html.contains("2 (resumed once)"));
    // The upgrades chart is a line through every bucket; the 429 chart has one bar per
    // non-empty bucket.
    assert!(html.contains("id=\"chart-upgrades\""));
    assert!(html.contains("data-points=\"181\" data-total=\"2\""));
    assert!(html.contains("<path class=\"line\" d=\"M"));
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 3);
}

#[test]
fn durations_and_counts_read_well() {
    assert_eq!(human_duration(0), "0 ms");
    assert_eq!(human_duration(999), "999 ms");
    assert_eq!(human_duration(12_345), "12.3 s");
    assert_eq!(human_duration(245_000), "4 min 05 s");
    assert_eq!(human_duration(7_380_000), "2 h 03 min");
    assert_eq!(human_duration(3 * 86_400_000 + 4 * 3_600_000), "3 d 04 h");
    assert_eq!(thousands(0u64), "0");
    assert_eq!(thousands(999u64), "999");
    assert_eq!(thousands(1_000u64), "1,000");
    assert_eq!(thousands(12_345_678u64), "12,345,678");
    assert_eq!(escape_html("a\u{0}b"), "a\u{FFFD}b");
}

#[test]
#[ignore = "writes a page to look at, to $TEAMSAPP_REPORT_OUT or the temp dir"]
fn write_a_sample_page() {
    let (_dir, path) = write(&resumed_journal());
    let out = std::env::var_os("TEAMSAPP_REPORT_OUT").map_or_else(
        || std::env::temp_dir().join("teamsapp-fleet-report-sample.html"),
        std::path::PathBuf::from,
    );
    std::fs::write(out, FleetReport::from_journal(&path).unwrap().to_html()).unwrap();
}

mod arbitrary {
    //! Whatever a journal holds past its header, the report neither panics nor loses a target,
    //! its series stay small, and the page holds only the page's own tags.

    use super::*;
    use proptest::prelude::*;

    fn time() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..4000).prop_map(|s| format!(
                "2026-12-01T{:02}:{:02}:{:02}.{:03}Z",
                10 + s / 3600,
                (s / 60) % 60,
                s % 60,
                s % 1000
            )),
            Just("0001-01-01T00:00:00Z".to_owned()),
            Just("9999-12-31T23:59:59.999Z".to_owned()),
            Just("2026-12-01T10:00:00+14:00".to_owned()),
            ".{0,12}",
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let state = prop_oneof![
            Just("planned"),
            Just("sending"),
            Just("upgraded"),
            Just("verified"),
            Just("skipped"),
            Just("failed")
        ];
        let scope = prop_oneof![
            Just(("chat", CHAT_A)),
            Just(("Teams", TEAM)),
            Just(("user", USER))
        ];
        let tenant = prop_oneof![Just("t1"), Just("T1"), Just("<t2>")];
        prop_oneof![
            (
                time(),
                tenant.clone(),
                scope,
                "[a-c/+=]{1,4}",
                state,
                any::<Option<u16>>(),
                ".{0,8}"
            )
                .prop_map(|(at, tenant, (scope, id), inst, state, status, code)| {
                    let mut v: serde_json::Value =
                        serde_json::from_str(&target(&at, tenant, scope, id, &inst, state))
                            .unwrap();
                    if state == "failed" {
                        v["error"] = serde_json::json!({
                            "status": status, "code": code, "requestId": code
                        });
                    }
                    v.to_string()
                }),
            (time(), tenant, any::<u64>(), 0u64..100, any::<u64>())
                .prop_map(|(at, tenant, a, b, c)| throttle(&at, tenant, a, b, c)),
            ".{0,40}",
            Just(r#"{"record":"planned","at":"x","targets":1}"#.to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_journal_gives_a_report_and_a_page(
            started in time(),
            lines in proptest::collection::vec(line(), 0..60),
        ) {
            let mut all = vec![header(&started, &["t1"])];
            all.extend(lines.into_iter().map(|l| l.replace('\n', " ")));
            let (_dir, path) = write(&all);
            let replay = Replay::read(&path).unwrap();
            let r = FleetReport::from_replay(&replay);
            prop_assert_eq!(r.totals.total, replay.last.len());
            let c = r.totals;
            prop_assert_eq!(c.verified + c.skipped + c.failed + c.unfinished, c.total);
            prop_assert_eq!(r.failure_rows().map(|f| f.2.count).sum::<usize>(), c.failed);
            prop_assert!(r.series.upgrades.len() <= MAX_POINTS);
            prop_assert_eq!(r.series.upgrades.len(), r.series.throttled.len());
            prop_assert!(r.series.upgrades.iter().sum::<u64>() <= c.verified as u64);
            let charted = r.series.throttled.iter().fold(0u64, |a, b| a.saturating_add(*b));
            prop_assert!(charted <= r.throttling.throttled);
            let html = r.to_html();
            prop_assert!(!html.contains("<t2>"));
            prop_assert!(html.ends_with("</html>\n"));
        }
    }
}
