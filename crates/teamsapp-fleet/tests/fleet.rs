//! The fleet library against the emulator's demo tenant (Contoso Tasks 1.0.0 in 40 places;
//! 1.1.0 published; Contoso Standup 1.0.0 in 2 chats, 1.0.1 published).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use teamsapp_fleet::journal::Record;
use teamsapp_fleet::{Action, Error, Event, Fleet, Options, State, StopReason, TargetSpec};
use teamsapp_mock::{Emulator, EmulatorConfig, Scenario, ScenarioMatch, ThrottleConfig};

mod common;

use common::{TENANT, tenant};

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        throttle: ThrottleConfig {
            enabled: false,
            ..ThrottleConfig::default()
        },
        ..EmulatorConfig::demo()
    })
    .await
    .unwrap()
}

/// Every upgrade fails with a 403 that no retry changes.
fn upgrades_fail(emulator: &Emulator, times: Option<u32>) {
    emulator
        .state()
        .set_scenarios(vec![Scenario {
            matcher: ScenarioMatch {
                method: Some("POST".into()),
                ..ScenarioMatch::default()
            },
            times,
            status: 403,
            retry_after: None,
            code: Some("Forbidden".into()),
            message: Some("scripted".into()),
            headers: BTreeMap::new(),
        }])
        .unwrap();
}

/// How many upgrade requests per installation path the emulator answered 204.
fn upgrades(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in emulator.state().journal(None) {
        if e.method == "POST" && e.path.ends_with("/upgrade") && e.status == 204 {
            *out.entry(e.path).or_default() += 1;
        }
    }
    out
}

/// How many upgrade requests reached the emulator, whatever it answered.
fn posts(emulator: &Emulator) -> usize {
    emulator
        .state()
        .journal(None)
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/upgrade"))
        .count()
}

fn options(app: &str) -> Options {
    let mut o = Options::new(app);
    o.concurrency = 32;
    o
}

#[tokio::test]
async fn upgrades_every_installation_and_journals_the_run_identity() {
    let emulator = emulator().await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks"))
        .unwrap()
        .with_events(Arc::new(move |e: &Event| {
            sink.lock().unwrap().push(format!("{e:?}"));
        }));
    let plan = fleet.plan().await.unwrap();
    assert_eq!(plan.count(Action::Upgrade), 40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let summary = fleet.run(&plan, &path).await.unwrap();
    assert_eq!(summary.count(State::Verified), 40);
    assert!(summary.is_success());
    assert!(upgrades(&emulator).values().all(|n| *n == 1));
    assert_eq!(upgrades(&emulator).len(), 40);

    let text = std::fs::read_to_string(&path).unwrap();
    let first: Record = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let Record::Run(header) = first else {
        panic!("the first record is not the run header: {text}")
    };
    assert_eq!(header.tenants[0].tenant, TENANT);
    assert_eq!(header.tenants[0].base_url, emulator.graph_url());
    assert_eq!(header.tenants[0].app.name, "Contoso Tasks");
    assert_eq!(
        header.tenants[0].app.id,
        "0d820ecd-def2-4297-adad-78056cde7c78"
    );
    assert_eq!(header.tenants[0].to, "1.1.0");
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Discovery") && e.contains("done: true"))
    );
    assert!(events.iter().any(|e| e.starts_with("Planned")));
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Finished")).count(),
        40
    );
}

#[tokio::test]
async fn max_failures_never_lets_more_targets_fail_at_concurrency_32() {
    let emulator = emulator().await;
    upgrades_fail(&emulator, None);
    let mut o = options("Contoso Tasks");
    o.max_failures = Some(3);
    let fleet = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = fleet.plan().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = fleet.run(&plan, &dir.path().join("j.jsonl")).await.unwrap();
    assert_eq!(summary.count(State::Failed), 3);
    assert_eq!(summary.stopped, Some(StopReason::MaxFailures));
    assert_eq!(summary.not_started, 37);
    assert_eq!(posts(&emulator), 3, "no upgrade beyond the limit was sent");
}

#[tokio::test]
async fn a_canary_stops_the_run_when_it_fails_and_never_fails_more_than_its_size() {
    let emulator = emulator().await;
    upgrades_fail(&emulator, None);
    let mut o = options("Contoso Tasks");
    o.canary = Some(5);
    let fleet = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = fleet.plan().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = fleet.run(&plan, &dir.path().join("j.jsonl")).await.unwrap();
    assert!(summary.count(State::Failed) <= 5);
    assert!(summary.count(State::Failed) >= 1);
    assert_eq!(summary.stopped, Some(StopReason::CanaryFailed));
    assert_eq!(summary.not_started, 40 - summary.outcomes.len());
    assert!(posts(&emulator) <= 5);
}

#[tokio::test]
async fn a_canary_that_passes_is_announced_and_the_rest_follows() {
    let emulator = emulator().await;
    let passed = Arc::new(Mutex::new(None));
    let sink = passed.clone();
    let mut o = options("Contoso Tasks");
    o.canary = Some(5);
    let fleet = Fleet::new(vec![tenant(&emulator)], o)
        .unwrap()
        .with_events(Arc::new(move |e: &Event| {
            if let Event::CanaryPassed { targets } = e {
                *sink.lock().unwrap() = Some(*targets);
            }
        }));
    let plan = fleet.plan().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = fleet.run(&plan, &dir.path().join("j.jsonl")).await.unwrap();
    assert_eq!(summary.count(State::Verified), 40);
    assert_eq!(*passed.lock().unwrap(), Some(5));
}

#[tokio::test]
async fn the_error_rate_limit_is_exact_at_concurrency_32() {
    let emulator = emulator().await;
    upgrades_fail(&emulator, None);
    let mut o = options("Contoso Tasks");
    o.max_error_rate = Some(0.25);
    let fleet = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = fleet.plan().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = fleet.run(&plan, &dir.path().join("j.jsonl")).await.unwrap();
    // 25 % of the minimum sample of 20: at most 5 may fail.
    assert_eq!(summary.count(State::Failed), 5);
    assert_eq!(summary.stopped, Some(StopReason::MaxErrorRate));
    assert_eq!(posts(&emulator), 5);
}

#[tokio::test]
async fn a_journal_of_another_app_is_refused_before_anything_is_sent() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.jsonl");
    // A Contoso Tasks run that stops after two failures.
    upgrades_fail(&emulator, Some(2));
    let mut o = options("Contoso Tasks");
    o.max_failures = Some(2);
    let tasks = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = tasks.plan().await.unwrap();
    let summary = tasks.run(&plan, &path).await.unwrap();
    assert_eq!(summary.count(State::Failed), 2);
    let before = std::fs::read(&path).unwrap();
    let posts_before = posts(&emulator);

    let standup = Fleet::new(vec![tenant(&emulator)], options("Contoso Standup")).unwrap();
    let err = standup.resume(&path).await.unwrap_err();
    assert!(
        matches!(err, Error::Journal { .. }) && err.is_usage(),
        "{err}"
    );
    assert!(err.to_string().contains("Contoso Tasks"), "{err}");
    assert_eq!(posts(&emulator), posts_before, "nothing was sent");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the journal is untouched"
    );

    // The right app resumes (the two failed targets are tried again), and every installation
    // is upgraded exactly once.
    let summary = tasks.resume(&path).await.unwrap();
    assert_eq!(summary.count(State::Verified), 40);
    assert_eq!(summary.earlier, 0);
    let upgraded = upgrades(&emulator);
    assert_eq!(upgraded.len(), 40);
    assert!(upgraded.values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_journal_of_another_endpoint_or_tenant_is_refused() {
    let first = emulator().await;
    let second = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let fleet = Fleet::new(vec![tenant(&first)], options("Contoso Tasks")).unwrap();
    let plan = fleet.plan().await.unwrap();
    fleet.run(&plan, &path).await.unwrap();
    let other = Fleet::new(vec![tenant(&second)], options("Contoso Tasks")).unwrap();
    let err = other.resume(&path).await.unwrap_err().to_string();
    assert!(err.contains(&second.graph_url()), "{err}");
    let mut t = tenant(&first);
    t.id = "11111111-2222-4333-8444-555555555555".into();
    let other = Fleet::new(vec![t], options("Contoso Tasks")).unwrap();
    let err = other.resume(&path).await.unwrap_err().to_string();
    assert!(err.contains("11111111-2222"), "{err}");
    assert!(upgrades(&second).is_empty());
}

#[tokio::test]
async fn targets_that_are_gone_are_skipped_not_fatal() {
    let emulator = emulator().await;
    let seed_chat = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
    let text = format!(
        "chat,{seed_chat}\nchat,19:00000000000000000000000000000000@thread.v2\n\
         chat,{seed_chat},Z29uZSMjMGQ4MjBlY2QtZGVmMi00Mjk3LWFkYWQtNzgwNTZjZGU3Yzc4\n"
    );
    let specs: Vec<TargetSpec> = teamsapp_fleet::parse_targets(&text).unwrap();
    let mut o = options("Contoso Tasks");
    o.targets = Some(specs);
    let fleet = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = fleet.plan().await.unwrap();
    assert_eq!(plan.count(Action::Upgrade), 1);
    assert_eq!(plan.count(Action::Gone), 2);
    let dir = tempfile::tempdir().unwrap();
    let summary = fleet.run(&plan, &dir.path().join("j.jsonl")).await.unwrap();
    assert_eq!(summary.count(State::Verified), 1);
    assert_eq!(summary.gone, 2);
}

#[tokio::test]
async fn a_scope_that_keeps_failing_is_reported_and_the_plan_goes_on() {
    let emulator = emulator().await;
    let seed_chat = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
    emulator
        .state()
        .set_scenarios(vec![Scenario {
            matcher: ScenarioMatch {
                method: Some("GET".into()),
                path: Some(format!("/chats/{seed_chat}/installedApps")),
                ..ScenarioMatch::default()
            },
            times: None,
            status: 503,
            retry_after: Some(0),
            code: None,
            message: None,
            headers: BTreeMap::new(),
        }])
        .unwrap();
    let unreadable = Arc::new(Mutex::new(Vec::new()));
    let sink = unreadable.clone();
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks"))
        .unwrap()
        .with_events(Arc::new(move |e: &Event| {
            if let Event::ScopeUnreadable { scope, .. } = e {
                sink.lock().unwrap().push(scope.clone());
            }
        }));
    let plan = fleet.plan().await.unwrap();
    assert_eq!(plan.count(Action::Upgrade), 39, "every other installation");
    assert_eq!(plan.unreadable.len(), 1);
    assert_eq!(*unreadable.lock().unwrap(), [format!("chat/{seed_chat}")]);
}

#[tokio::test]
async fn a_resumed_run_reads_back_what_it_may_have_sent_and_finishes_exactly_once() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks")).unwrap();
    let plan = fleet.plan().await.unwrap();
    fleet.run(&plan, &path).await.unwrap();
    // Make it look as if the process died right after sending every upgrade: each target's
    // last line is `sending`, so the resumed run must read each back before sending anything.
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"state\":\"verified\"") && !l.contains("\"state\":\"upgraded\""))
        .collect();
    // The last line lacks its newline, as if the write of the newline was cut short.
    std::fs::write(&path, kept.join("\n")).unwrap();
    let summary = fleet.resume(&path).await.unwrap();
    assert_eq!(summary.count(State::Verified), 40);
    assert!(
        summary
            .outcomes
            .iter()
            .filter(|o| o.detail.as_deref() == Some("already at the target version"))
            .count()
            == 40,
        "every target was upgraded before, so each reads back at 1.1.0 and none is sent again"
    );
    assert!(upgrades(&emulator).values().all(|n| *n == 1));
}

/// How many installedApps lists the emulator answered.
fn scope_reads(emulator: &Emulator) -> usize {
    emulator
        .state()
        .journal(None)
        .iter()
        .filter(|e| e.method == "GET" && e.path.contains("/installedApps?"))
        .count()
}

#[tokio::test]
async fn a_crash_during_discovery_resumes_discovery_where_it_stopped() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks")).unwrap();
    // Discover with every scope read journaled, then "crash" before the plan is complete:
    // keep the header and the first 10 scopes read.
    let prepared = fleet.prepare(&path).await.unwrap();
    assert_eq!(prepared.plan.count(Action::Upgrade), 40);
    drop(prepared);
    let total_reads = scope_reads(&emulator);
    let text = std::fs::read_to_string(&path).unwrap();
    let scanned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"record\":\"scanned\""))
        .collect();
    assert_eq!(scanned.len(), total_reads, "every scope read is journaled");
    assert!(!text.contains("\"record\":\"planned\""));
    let kept: Vec<&str> = std::iter::once(text.lines().next().unwrap())
        .chain(scanned.iter().copied().take(10))
        .collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();

    let summary = fleet.resume(&path).await.unwrap();
    assert_eq!(
        scope_reads(&emulator) - total_reads,
        total_reads - 10,
        "only the scopes the journal did not show as read were read again"
    );
    assert_eq!(summary.count(State::Verified), 40);
    assert!(upgrades(&emulator).values().all(|n| *n == 1));
    assert_eq!(upgrades(&emulator).len(), 40);
}

#[tokio::test]
async fn tenant_ids_match_ignoring_case_and_a_target_of_another_tenant_is_refused() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    upgrades_fail(&emulator, Some(2));
    let mut o = options("Contoso Tasks");
    o.max_failures = Some(2);
    let fleet = Fleet::new(vec![tenant(&emulator)], o).unwrap();
    let plan = fleet.plan().await.unwrap();
    fleet.run(&plan, &path).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    // A target line of a tenant the header does not name: refused, nothing sent.
    let foreign = text
        .lines()
        .find(|l| l.contains("\"state\":\"failed\""))
        .unwrap()
        .replace(TENANT, "ffffffff-0000-4000-8000-000000000009");
    std::fs::write(&path, format!("{text}{foreign}\n")).unwrap();
    let before = posts(&emulator);
    let err = fleet.resume(&path).await.unwrap_err();
    assert!(matches!(err, Error::Journal { .. }), "{err}");
    assert!(err.to_string().contains("ffffffff-0000"), "{err}");
    assert_eq!(posts(&emulator), before);

    // The same journal written with the tenant id in capitals resumes and finishes exactly once.
    std::fs::write(&path, text.replace(TENANT, &TENANT.to_uppercase())).unwrap();
    let summary = fleet.resume(&path).await.unwrap();
    assert_eq!(summary.count(State::Verified), 40);
    let upgraded = upgrades(&emulator);
    assert_eq!(upgraded.len(), 40);
    assert!(upgraded.values().all(|n| *n == 1));
}

#[tokio::test]
async fn discovery_reads_each_scope_once() {
    let emulator = emulator().await;
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks")).unwrap();
    fleet.plan().await.unwrap();
    let mut reads: BTreeMap<String, usize> = BTreeMap::new();
    for e in emulator.state().journal(None) {
        if e.method == "GET" && e.path.contains("/installedApps?") {
            let scope = e.path.split("/installedApps").next().unwrap().to_owned();
            *reads.entry(scope).or_default() += 1;
        }
    }
    assert!(reads.len() > 30, "{reads:?}");
    let twice: Vec<_> = reads.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "read more than once (a chat with many members?): {twice:?}"
    );
}

#[tokio::test]
async fn a_resumed_target_that_is_now_another_apps_installation_fails_and_is_not_upgraded() {
    const POLLS: &str = "a5228c26-a9ae-4702-90e0-79a5246d2f7d";
    let emulator = emulator().await;
    let t = tenant(&emulator);
    // A chat where both Contoso Tasks and Polls are installed.
    let fleet = Fleet::new(vec![t.clone()], options("Contoso Tasks")).unwrap();
    let plan = fleet.plan().await.unwrap();
    let mut swap = None;
    for p in plan.behind() {
        let apps = t
            .client
            .installed_apps(
                &p.target.scope,
                &teamsapp_client::ListQuery::new().expand(["teamsApp"]),
            )
            .await
            .unwrap();
        if let Some(polls) = apps
            .iter()
            .find(|i| i.teams_app.as_ref().and_then(|a| a.id.as_deref()) == Some(POLLS))
        {
            swap = Some((p.target.installation.clone(), polls.id.clone().unwrap()));
            break;
        }
    }
    let (tasks_id, polls_id) = swap.expect("the demo has a chat with both apps");
    // A journal that says the Tasks target was being sent, but names the Polls installation
    // (as a damaged or hand-edited journal might).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    upgrades_fail(&emulator, Some(1));
    let mut o = options("Contoso Tasks");
    o.max_failures = Some(1);
    let first = Fleet::new(vec![t.clone()], o).unwrap();
    let plan = first.plan().await.unwrap();
    first.run(&plan, &path).await.unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(tasks_id.as_str(), &polls_id)
        .replace("\"state\":\"planned\"", "\"state\":\"sending\"");
    std::fs::write(&path, text).unwrap();
    let summary = Fleet::new(vec![t], options("Contoso Tasks"))
        .unwrap()
        .resume(&path)
        .await
        .unwrap();
    let polls = summary
        .outcomes
        .iter()
        .find(|o| o.target.installation.as_str() == polls_id)
        .expect("the swapped target was worked on");
    assert_eq!(polls.state, State::Failed);
    assert!(
        polls.detail.as_deref().unwrap_or("").contains(POLLS),
        "{:?}",
        polls.detail
    );
    let upgraded = upgrades(&emulator);
    assert!(
        !upgraded.keys().any(|k| k.contains(&polls_id)),
        "the Polls installation was not upgraded: {upgraded:?}"
    );
}

#[tokio::test]
async fn a_plan_of_another_tenant_is_refused_before_a_journal_is_created() {
    let emulator = emulator().await;
    let fleet = Fleet::new(vec![tenant(&emulator)], options("Contoso Tasks")).unwrap();
    let plan = fleet.plan().await.unwrap();
    let mut other = tenant(&emulator);
    other.id = "11111111-2222-4333-8444-555555555555".into();
    let stranger = Fleet::new(vec![other], options("Contoso Tasks")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let err = stranger.run(&plan, &path).await.unwrap_err();
    assert!(matches!(err, Error::Options(_)), "{err}");
    assert!(!path.exists());
    assert_eq!(posts(&emulator), 0);
}
