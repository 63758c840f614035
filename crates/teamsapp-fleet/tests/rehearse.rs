//! A rehearsal on a snapshot predicts the real run: the same counts by outcome, with consent
//! failures found from the snapshot alone and policy blocks given as known scenarios.

use std::collections::BTreeMap;
use teamsapp_fleet::rehearse::Rehearsal;
use teamsapp_fleet::snapshot::{Resume, SnapshotOptions, snapshot};
use teamsapp_fleet::{Action, Fleet, Options, State, ignore};
use teamsapp_mock::{Emulator, EmulatorConfig, Scenario, ScenarioMatch, ThrottleConfig};
use teamsapp_model::spec::{InstallationScope, InstallationSpec, TenantSpec};

mod common;

use common::{TENANT, tenant};

const POLLS: &str = "Contoso Polls";

/// The demo tenant with Contoso Polls 1.0.0 also in every team and personal scope, and a fleet
/// tool that may consent to RSC in teams and personal scopes but not in chats (Polls 2.0.0
/// needs an application RSC permission).
fn tenant_spec() -> TenantSpec {
    let mut spec = teamsapp_model::demo::tenant();
    let polls = spec
        .catalog
        .iter()
        .find(|a| a.display_name == POLLS)
        .unwrap()
        .id
        .clone();
    let add = |scope, scope_id: String| InstallationSpec {
        scope,
        scope_id,
        teams_app_id: polls.clone(),
        version: "1.0.0".into(),
        id: None,
        consented_permissions: None,
    };
    let teams: Vec<_> = spec
        .teams
        .iter()
        .map(|t| add(InstallationScope::Team, t.id.to_string()))
        .collect();
    let users: Vec<_> = spec
        .users
        .iter()
        .take(6)
        .map(|u| add(InstallationScope::User, u.id.clone()))
        .collect();
    spec.installations.extend(teams);
    spec.installations.extend(users);
    spec.app_registrations[0].application_permissions.extend([
        "TeamsAppInstallation.ReadWriteAndConsentForTeam.All".to_owned(),
        "TeamsAppInstallation.ReadWriteAndConsentForUser.All".to_owned(),
    ]);
    spec
}

/// Two users' personal scopes where the app is blocked by policy.
fn blocks(spec: &TenantSpec) -> Vec<Scenario> {
    spec.users[..2]
        .iter()
        .map(|u| Scenario {
            matcher: ScenarioMatch {
                operation_id: Some(
                    "users.user.teamwork.installedApps.userScopeTeamsAppInstallation.upgrade"
                        .into(),
                ),
                params: BTreeMap::from([("user-id".to_owned(), u.id.clone())]),
                ..ScenarioMatch::default()
            },
            times: None,
            status: 403,
            retry_after: None,
            code: Some("Forbidden".into()),
            message: Some("The app is blocked by the tenant's app permission policy.".into()),
            headers: BTreeMap::new(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsal_predicts_the_real_runs_outcomes() {
    let spec = tenant_spec();
    let scenarios = blocks(&spec);
    let real = Emulator::start(EmulatorConfig {
        tenants: vec![spec],
        throttle: ThrottleConfig::disabled(),
        scenarios: scenarios.clone(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The snapshot first (read-only), then the rehearsal on it.
    let snap = snapshot(
        &tenant(&real),
        &SnapshotOptions::new([POLLS]),
        &dir.path().join("snapshot.progress.jsonl"),
        Resume::New,
        &ignore(),
    )
    .await
    .unwrap();
    let writes_before = real
        .state()
        .metrics()
        .requests
        .iter()
        .filter(|(op, _)| op.contains("upgrade"))
        .count();
    assert_eq!(writes_before, 0, "a snapshot sends no upgrade");
    let fast = Rehearsal::new(snap.spec.clone())
        .unwrap()
        .with_scenarios(scenarios.clone())
        .fast(true)
        .run(
            Options::new(POLLS),
            &dir.path().join("fast.jsonl"),
            ignore(),
        )
        .await
        .unwrap();
    let prediction = Rehearsal::new(snap.spec)
        .unwrap()
        .with_scenarios(scenarios)
        .run(
            Options::new(POLLS),
            &dir.path().join("rehearsal.jsonl"),
            ignore(),
        )
        .await
        .unwrap();
    assert_eq!(
        real.state()
            .metrics()
            .requests
            .iter()
            .filter(|(op, _)| op.contains("upgrade"))
            .count(),
        0,
        "the rehearsal sent nothing to the real tenant but reads"
    );

    // The real run on the same tenant.
    let fleet = Fleet::new(vec![tenant(&real)], Options::new(POLLS)).unwrap();
    let plan = fleet.plan().await.unwrap();
    let summary = fleet
        .run(&plan, &dir.path().join("real.jsonl"))
        .await
        .unwrap();
    let actual = BTreeMap::from([
        ("upgraded", summary.count(State::Verified)),
        ("failed", summary.count(State::Failed)),
        ("skipped", summary.count(State::Skipped)),
        ("current", plan.count(Action::Current)),
        ("gone", plan.count(Action::Gone)),
        ("not started", summary.not_started),
    ]);
    assert_eq!(prediction.counts(), actual);
    assert_eq!(
        prediction.plan.header.tenants[0].tenant, TENANT,
        "the plan keeps the tenant's ids"
    );
    assert_eq!(actual["upgraded"], 7, "3 teams and 4 personal scopes");
    assert_eq!(actual["failed"], 5, "3 chats (consent) and 2 blocked users");
    // The same targets fail in both.
    let failed = |outcomes: &[teamsapp_fleet::Outcome]| {
        let mut t: Vec<_> = outcomes
            .iter()
            .filter(|o| o.state == State::Failed)
            .map(|o| o.target.clone())
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        failed(&prediction.summary.outcomes),
        failed(&summary.outcomes)
    );

    // Grouped by cause, with the fix.
    let causes = &prediction.causes;
    assert_eq!(causes.len(), 2, "{causes:#?}");
    assert_eq!(causes[0].targets, 3);
    assert!(
        causes[0]
            .cause
            .contains("resource-specific consent in chat"),
        "{causes:#?}"
    );
    assert!(
        causes[0]
            .fix
            .contains("TeamsAppInstallation.ReadWriteAndConsentForChat.All")
    );
    assert_eq!(causes[1].targets, 2);
    assert!(causes[1].cause.contains("blocked"), "{causes:#?}");
    assert!(causes[1].fix.contains("unblock"));

    // The estimate is the requests at the limit (30 GET/s, 30 POST/s), not the wall time.
    let e = &prediction.estimate;
    assert_eq!(e.upgrades, 12);
    assert_eq!(e.verification_reads, 12);
    assert!((e.read_rate - 30.0).abs() < f64::EPSILON);
    // 1 catalog + 1 users page + 8 users' chat pages + 31 chats + 8 users + 1 teams page + 3 teams
    assert_eq!(e.discovery_reads, 53, "{e:?}");
    let expected = 53.0 / 30.0 + 12.0 / 30.0;
    assert!((e.duration.as_secs_f64() - expected).abs() < 1e-6, "{e:?}");
    // Unthrottled, the same prediction and the same estimate at the real limits.
    assert_eq!(fast.counts(), prediction.counts());
    assert_eq!(fast.causes, prediction.causes);
    assert_eq!(fast.estimate, prediction.estimate);
    // The report of the rehearsal's journal.
    assert_eq!(prediction.report.totals.get(State::Failed), 5);
    real.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tenant_file_that_is_not_a_snapshot_is_refused() {
    let err = Rehearsal::new(teamsapp_model::demo::tenant())
        .unwrap()
        .run(
            Options::new(POLLS),
            &tempfile::tempdir().unwrap().path().join("j.jsonl"),
            ignore(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a snapshot"), "{err}");
}
