//! Snapshots against the emulator: a tenant read through Graph and loaded into a second emulator
//! is the same tenant (up to pseudonymised names), and an interrupted snapshot resumes.

use serde_json::{Value, json};
use std::path::Path;
use teamsapp_fleet::snapshot::{PseudonymKey, Resume, Snapshot, SnapshotOptions, snapshot};
use teamsapp_fleet::{Error, ignore};
use teamsapp_mock::{Emulator, EmulatorConfig, ThrottleConfig};
use teamsapp_model::spec::TenantSpec;

mod common;

use common::{TENANT, tenant};

async fn emulator(spec: TenantSpec) -> Emulator {
    Emulator::start(EmulatorConfig {
        tenants: vec![spec],
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// An emulator on `spec` with the demo's app registrations (a snapshot has none: it holds no
/// secret), so the test can sign in to it.
async fn emulator_with_demo_apps(mut spec: TenantSpec) -> Emulator {
    spec.app_registrations = teamsapp_model::demo::tenant().app_registrations;
    emulator(spec).await
}

async fn take(emulator: &Emulator, options: &SnapshotOptions, dir: &Path) -> Snapshot {
    snapshot(
        &tenant(emulator),
        options,
        &dir.join(format!("progress-{}.jsonl", uuid())),
        Resume::New,
        &ignore(),
    )
    .await
    .unwrap()
}

fn uuid() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// What two states must share: apps, definitions, versions, RSC, installations (by effective
/// id, app, version and consent), chats with their members, users and teams by id; names only
/// when `names`. Emulator defaults are spelled out, so "absent" and "the default" compare equal.
fn comparable(spec: &TenantSpec, names: bool) -> Value {
    let name = |n: &str| if names { json!(n) } else { Value::Null };
    let mut users: Vec<Value> = spec
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "upn": name(&u.user_principal_name),
                "name": name(&u.display_name),
                "mail": if names { json!(u.mail.as_deref().unwrap_or(&u.user_principal_name)) } else { Value::Null },
                "type": u.user_type.as_deref().unwrap_or("Member"),
                "enabled": u.account_enabled,
            })
        })
        .collect();
    users.sort_by_key(|v| v["id"].to_string());
    let mut chats: Vec<Value> = spec
        .chats
        .iter()
        .map(|c| {
            let mut members = c.members.clone();
            members.sort();
            json!({
                "id": c.id.as_str(),
                "kind": c.chat_type,
                "topic": if names { json!(c.topic) } else { json!(c.topic.is_some()) },
                "members": members,
                "meeting": c.online_meeting_info.as_ref().map(|m| &m.join_web_url),
                "created": c.created_date_time.as_deref().unwrap_or("2024-01-01T00:00:00Z"),
            })
        })
        .collect();
    chats.sort_by_key(|v| v["id"].to_string());
    let mut teams: Vec<Value> = spec
        .teams
        .iter()
        .map(|t| json!({"id": t.id.as_str(), "name": name(&t.display_name)}))
        .collect();
    teams.sort_by_key(|v| v["id"].to_string());
    let mut catalog: Vec<Value> = spec
        .catalog
        .iter()
        .map(|a| {
            json!({
                "id": a.id.as_str(),
                "externalId": a.external_id,
                "name": a.display_name,
                "distribution": a.distribution_method,
                "definitions": a.app_definitions.iter().map(|d| json!({
                    "version": d.version,
                    "state": d.publishing_state,
                    "name": d.display_name.as_deref().unwrap_or(&a.display_name),
                    "short": d.short_description,
                    "description": d.description,
                    "clientAppId": d.client_app_id,
                    "rsc": d.resource_specific_permissions,
                    "bot": d.bot_id,
                    "modified": d.last_modified_date_time.as_deref().unwrap_or("2024-01-01T00:00:00Z"),
                    "createdBy": d.created_by,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    catalog.sort_by_key(|v| v["id"].to_string());
    let required = |app: &str, version: &str| {
        spec.catalog
            .iter()
            .find(|a| a.id.as_str() == app)
            .and_then(|a| a.app_definitions.iter().find(|d| d.version == version))
            .map(|d| d.resource_specific_permissions.clone())
            .unwrap_or_default()
    };
    let mut installations: Vec<Value> = spec
        .installations
        .iter()
        .map(|i| {
            let id = i.id.clone().unwrap_or_else(|| {
                teamsapp_types::AppInstallationId::build(&i.scope_id, i.teams_app_id.as_str())
                    .unwrap()
                    .to_string()
            });
            json!({
                "id": id,
                "scope": i.scope,
                "scopeId": i.scope_id,
                "app": i.teams_app_id.as_str(),
                "version": i.version,
                "consent": i.consented_permissions.clone().unwrap_or_else(|| required(i.teams_app_id.as_str(), &i.version)),
            })
        })
        .collect();
    installations.sort_by_key(|v| format!("{}{}", v["scopeId"], v["id"]));
    json!({
        "tenant": spec.tenant_id,
        "users": users,
        "chats": chats,
        "teams": teams,
        "catalog": catalog,
        "installations": installations,
    })
}

/// The first difference between two JSON values, for a readable failure.
fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            diff(
                &x[k],
                y.get(k).unwrap_or(&Value::Null),
                &format!("{path}.{k}"),
            )
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| diff(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} != {b}")),
    }
}

fn assert_same(a: &Value, b: &Value) {
    if let Some(d) = diff(a, b, "") {
        panic!("the states differ at {d}");
    }
}

#[tokio::test]
async fn the_demo_tenant_round_trips_through_a_snapshot() {
    let original = teamsapp_model::demo::tenant();
    let first = emulator(original.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = take(&first, &SnapshotOptions::all_apps(), dir.path()).await;
    assert!(snap.is_complete(), "{:?}", snap.unreadable);
    assert!(snap.skipped.is_empty(), "{:?}", snap.skipped);
    assert_eq!(snap.spec.tenant_id, TENANT);
    assert_eq!(snap.spec.installations.len(), original.installations.len());
    assert_eq!(snap.spec.chats.len(), original.chats.len());
    assert_eq!(snap.spec.catalog.len(), original.catalog.len());

    // Team members are not readable through this API surface; everything else is the tenant.
    let mut expected = original.clone();
    for t in &mut expected.teams {
        t.members.clear();
    }
    assert_same(&comparable(&snap.spec, true), &comparable(&expected, true));

    // The file is what `mock serve --tenant-file` loads; it holds no secret.
    let json = snap.spec.to_json();
    assert!(!json.contains(teamsapp_model::demo::CREDENTIALS.client_secret));
    assert!(json.contains("\"formatVersion\": 1"));
    let loaded = TenantSpec::from_json(&json).unwrap();
    let provenance = loaded.snapshot.as_ref().unwrap();
    assert_eq!(provenance.permission_type, "application");
    assert!(
        provenance
            .permissions
            .contains(&"TeamsAppInstallation.ReadWriteForChat.All".to_owned()),
        "{provenance:?}"
    );
    assert_eq!(provenance.graph, first.graph_url());
    assert!(provenance.all_apps);
    assert!(provenance.apps.is_empty(), "all apps: none named");

    // A second emulator on the snapshot holds the same state: read it back the same way.
    let second = emulator_with_demo_apps(loaded).await;
    let again = take(&second, &SnapshotOptions::all_apps(), dir.path()).await;
    assert_same(
        &comparable(&again.spec, true),
        &comparable(&snap.spec, true),
    );
    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();
}

#[tokio::test]
async fn pseudonyms_replace_names_and_keep_ids() {
    let original = teamsapp_model::demo::tenant();
    let emulator = emulator(original.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = || PseudonymKey::new(b"a key of at least sixteen bytes".to_vec()).unwrap();
    let mut options = SnapshotOptions::new(["Contoso Tasks"]);
    options.pseudonymise = Some(key());
    let snap = take(&emulator, &options, dir.path()).await;
    let json = snap.spec.to_json();
    for u in &original.users {
        assert!(!json.contains(&u.display_name), "{} leaked", u.display_name);
        assert!(
            !json.contains(&u.user_principal_name),
            "{} leaked",
            u.user_principal_name
        );
        assert!(json.contains(&u.id));
    }
    for c in original.chats.iter().filter_map(|c| c.topic.as_ref()) {
        assert!(!json.contains(&format!("\"{c}\"")), "topic {c} leaked");
    }
    for t in &original.teams {
        assert!(!json.contains(&t.display_name), "{} leaked", t.display_name);
    }
    // Only the chosen app's installations, and the same ones, by id.
    let mut expected = original.clone();
    // The store apps neither named nor installed are left out.
    expected
        .catalog
        .retain(|a| a.distribution_method != teamsapp_model::spec::Distribution::Store);
    expected
        .installations
        .retain(|i| i.teams_app_id.as_str() == "0d820ecd-def2-4297-adad-78056cde7c78");
    assert_eq!(snap.spec.installations.len(), 40);
    assert_same(
        &comparable(&snap.spec, false),
        &comparable(&expected, false),
    );
    // The same key gives the same pseudonyms.
    let mut options = SnapshotOptions::new(["Contoso Tasks"]);
    options.pseudonymise = Some(key());
    let again = take(&emulator, &options, dir.path()).await;
    assert_eq!(again.spec.users, snap.spec.users);
    assert_eq!(again.spec.chats, snap.spec.chats);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_interrupted_snapshot_resumes_without_reading_again() {
    let emulator = emulator(teamsapp_model::demo::tenant()).await;
    let dir = tempfile::tempdir().unwrap();
    let full_path = dir.path().join("full.jsonl");
    let options = SnapshotOptions::new(["Contoso Tasks"]);
    let full = snapshot(
        &tenant(&emulator),
        &options,
        &full_path,
        Resume::New,
        &ignore(),
    )
    .await
    .unwrap();
    let requests_full = emulator.state().metrics().requests_total;

    // As if killed part way: half the scopes journaled, then half a line.
    let text = std::fs::read_to_string(&full_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines.len() / 2;
    let mut cut = lines[..keep].join("\n");
    cut.push('\n');
    cut.push_str(&lines[keep][..lines[keep].len() / 2]);
    let path = dir.path().join("cut.jsonl");
    std::fs::write(&path, cut).unwrap();

    let before = emulator.state().metrics().requests_total;
    let resumed = snapshot(
        &tenant(&emulator),
        &options,
        &path,
        Resume::Continue,
        &ignore(),
    )
    .await
    .unwrap();
    let requests_resumed = emulator.state().metrics().requests_total - before;
    // The provenance says when the first, interrupted call started.
    let first_start = serde_json::from_str::<Value>(lines[0]).unwrap()["startedAt"].clone();
    assert_eq!(
        json!(resumed.spec.snapshot.as_ref().unwrap().started_at),
        first_start
    );
    assert_same(
        &comparable(&resumed.spec, true),
        &comparable(&full.spec, true),
    );
    assert!(resumed.scopes_resumed > 0);
    assert_eq!(
        resumed.scopes_read + resumed.scopes_resumed,
        full.scopes_read,
        "every scope read exactly once over both calls"
    );
    assert!(
        requests_resumed < requests_full,
        "{requests_resumed} requests resumed vs {requests_full} in full"
    );
    // The progress file is whole again: a second resume reads no scope.
    let third = snapshot(
        &tenant(&emulator),
        &options,
        &path,
        Resume::Continue,
        &ignore(),
    )
    .await
    .unwrap();
    assert_eq!(third.scopes_read, 0);
    assert_eq!(third.scopes_resumed, full.scopes_read);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn foreign_or_damaged_progress_files_are_refused() {
    let emulator = emulator(teamsapp_model::demo::tenant()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jsonl");
    let tasks = SnapshotOptions::new(["Contoso Tasks"]);
    snapshot(&tenant(&emulator), &tasks, &path, Resume::New, &ignore())
        .await
        .unwrap();
    let refused = |r: Result<Snapshot, Error>| match r {
        Err(e @ Error::Journal { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Not replaced.
    let e = refused(snapshot(&tenant(&emulator), &tasks, &path, Resume::New, &ignore()).await);
    assert!(e.contains("already exists"), "{e}");
    // Another app choice.
    let e = refused(
        snapshot(
            &tenant(&emulator),
            &SnapshotOptions::all_apps(),
            &path,
            Resume::Continue,
            &ignore(),
        )
        .await,
    );
    assert!(e.contains("all apps"), "{e}");
    // Another pseudonym choice.
    let mut pseudo = SnapshotOptions::new(["Contoso Tasks"]);
    pseudo.pseudonymise = Some(PseudonymKey::new(vec![7u8; 32]).unwrap());
    let e = refused(
        snapshot(
            &tenant(&emulator),
            &pseudo,
            &path,
            Resume::Continue,
            &ignore(),
        )
        .await,
    );
    assert!(e.contains("keeps names"), "{e}");
    // A damaged line in the middle.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[2] = "{\"record\":\"scope\",\"sco".to_owned();
    let damaged = dir.path().join("damaged.jsonl");
    std::fs::write(&damaged, lines.join("\n") + "\n").unwrap();
    let e = refused(
        snapshot(
            &tenant(&emulator),
            &tasks,
            &damaged,
            Resume::Continue,
            &ignore(),
        )
        .await,
    );
    assert!(e.contains("line 3 is damaged"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&damaged).unwrap(),
        lines.join("\n") + "\n"
    );
    // Nothing to resume.
    let e = refused(
        snapshot(
            &tenant(&emulator),
            &tasks,
            &dir.path().join("none.jsonl"),
            Resume::Continue,
            &ignore(),
        )
        .await,
    );
    assert!(e.contains("there is no snapshot to resume"), "{e}");
    // A fleet journal is not a snapshot progress file.
    let foreign = dir.path().join("fleet.jsonl");
    std::fs::write(&foreign, "{\"record\":\"run\",\"format\":1}\n").unwrap();
    let e = refused(
        snapshot(
            &tenant(&emulator),
            &tasks,
            &foreign,
            Resume::Continue,
            &ignore(),
        )
        .await,
    );
    assert!(e.contains("not a snapshot progress file"), "{e}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_installation_fleet_round_trips() {
    let original = teamsapp_model::demo::fleet(10_000);
    let first = emulator(original.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = take(&first, &SnapshotOptions::new(["Contoso Tasks"]), dir.path()).await;
    assert!(snap.is_complete());
    assert_eq!(snap.spec.installations.len(), 10_000);
    let mut expected = original.clone();
    for t in &mut expected.teams {
        t.members.clear();
    }
    expected
        .catalog
        .retain(|a| a.distribution_method != teamsapp_model::spec::Distribution::Store);
    assert_same(&comparable(&snap.spec, true), &comparable(&expected, true));
    let loaded = TenantSpec::from_json(&snap.spec.to_json()).unwrap();
    let second = emulator_with_demo_apps(loaded).await;
    let again = take(
        &second,
        &SnapshotOptions::new(["Contoso Tasks"]),
        dir.path(),
    )
    .await;
    assert_same(
        &comparable(&again.spec, true),
        &comparable(&snap.spec, true),
    );
    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();
}
