//! Event sourcing: events serialize, and replaying them reproduces the state.

use teamsapp_model::demo::{self, CREDENTIALS};
use teamsapp_model::{Event, Query, World, WorldConfig};
use teamsapp_types::Scope;
use teamsapp_types::UpgradePostRequestBody;

use crate::common::*;

/// Everything observable about the demo tenant, for comparing two worlds.
pub(crate) fn snapshot(world: &World) -> String {
    let reader = app_with(&["AppCatalog.Read.All"]);
    let catalog = world
        .list_catalog_apps(
            &reader,
            &Query::new()
                .with_expand("appDefinitions($expand=bot)")
                .with_top(999),
        )
        .map(|p| serde_json::to_string(&p.items).unwrap())
        .unwrap_or_default();
    format!(
        "{:?}\n{catalog}\n{:?}",
        world.installations(CREDENTIALS.tenant_id),
        world.stats(CREDENTIALS.tenant_id)
    )
}

#[test]
fn events_round_trip_through_json_and_replay() {
    let mut world = World::new(WorldConfig::default().with_seed(7));
    let mut log = vec![world.load_tenant(demo::tenant()).unwrap()];
    let c = chat(demo::SEED_CHAT_ID);
    let admin = delegated(demo::ADELE, &["AppCatalog.ReadWrite.All"]);
    log.extend(
        world
            .upgrade_app(
                &fleet(),
                &Scope::from(&c),
                &installation_id(demo::SEED_INSTALLATION_ID),
                &UpgradePostRequestBody::default(),
                &Query::new(),
                now(),
            )
            .unwrap()
            .events,
    );
    let published = world
        .publish_catalog_app(
            &admin,
            &package(
                "0a0b0c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                "1.0.0",
                "Replay",
                &[],
            ),
            &Query::new(),
            now(),
        )
        .unwrap();
    let app_id = published.value.id.clone().unwrap();
    log.extend(published.events);
    log.extend(
        world
            .install_app(
                &fleet(),
                &Scope::from(&c),
                &bind(&app_id),
                &Query::new(),
                now(),
            )
            .unwrap()
            .events,
    );
    log.extend(
        world
            .uninstall_app(
                &fleet(),
                &Scope::from(&chat(&demo::group_chat_id(1))),
                &built(&demo::group_chat_id(1), demo::TASKS_APP_ID),
                &Query::new(),
            )
            .unwrap()
            .events,
    );

    let json: Vec<String> = log
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(
        json[1].starts_with(r#"{"type":"appUpgraded","tenantId":"#),
        "{}",
        json[1]
    );
    assert!(
        json[1].contains(r#""at":"2026-11-29T12:00:00Z""#),
        "{}",
        json[1]
    );
    let decoded: Vec<Event> = json
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    assert_eq!(decoded, log);

    let mut replayed = World::new(WorldConfig::default().with_seed(7));
    replayed.replay(&decoded).unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&world));
    // Generated ids continue identically after a replay.
    let next = |w: &mut World| {
        w.publish_catalog_app(
            &admin,
            &package("9a0b0c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "1.0.0", "Next", &[]),
            &Query::new(),
            now(),
        )
        .unwrap()
        .value
        .id
    };
    assert_eq!(next(&mut world), next(&mut replayed));

    // Reset is an event too.
    let reset = world.reset();
    replayed.apply(&reset).unwrap();
    assert!(world.tenant_ids().is_empty() && replayed.tenant_ids().is_empty());
}

#[test]
fn events_that_do_not_fit_are_errors_not_panics() {
    let mut world = demo_world();
    let event = Event::AppUninstalled {
        tenant_id: CREDENTIALS.tenant_id.to_owned(),
        scope: teamsapp_types::permissions::InstallationScope::Chat,
        scope_id: demo::SEED_CHAT_ID.to_owned(),
        teams_app_id: demo::POLLS_APP_ID.to_owned(),
    };
    let err = world.apply(&event).unwrap_err();
    assert_eq!(err.status(), 500);
    let mut empty = World::default();
    assert!(empty.apply(&event).is_err());
}

/// A change made to a spec.
type Change<'a> = &'a dyn Fn(&mut teamsapp_model::TenantSpec);

#[test]
fn invalid_specs_are_refused_with_a_path() {
    let mut world = World::default();
    let mut spec = demo::tenant();
    spec.chats[2]
        .members
        .push("00000000-0000-4000-8000-00000000dead".into());
    let err = world.load_tenant(spec).unwrap_err();
    assert!(
        err.to_string()
            .contains("chats[2].members[3]: unknown user"),
        "{err}"
    );
    let mut spec = demo::tenant();
    let dup = spec.installations[1].clone();
    spec.installations.push(dup);
    assert!(
        world
            .load_tenant(spec)
            .unwrap_err()
            .to_string()
            .contains("already installed")
    );
    let mut spec = demo::tenant();
    spec.installations[0].version = "9.9.9".into();
    assert!(
        world
            .load_tenant(spec)
            .unwrap_err()
            .to_string()
            .contains("has no version")
    );
    // A repeated chat id names the first chat that repeats an earlier one, whichever form the
    // id has (`thread.v2` ids are indexed together after the loop, others one by one).
    for (form, id) in [
        ("thread.v2", demo::fleet_chat_id(1)),
        ("another form", "19:meeting_Zm9v@thread.v2".to_owned()),
    ] {
        let mut spec = demo::fleet(6);
        for i in [1, 4, 3] {
            spec.chats[i].id = teamsapp_types::ChatId::new(id.clone()).unwrap();
        }
        let err = world.load_tenant(spec).unwrap_err().to_string();
        assert!(
            err.contains(&format!("chats[3].id: duplicate chat id {id}")),
            "{form}: {err}"
        );
    }
    // Across forms and other errors, the first error in spec order is named, as when every
    // chat was indexed in turn.
    let thread = |spec: &mut teamsapp_model::TenantSpec, i: usize| {
        spec.chats[i].id = teamsapp_types::ChatId::new(demo::fleet_chat_id(1)).unwrap();
    };
    let other = |spec: &mut teamsapp_model::TenantSpec, i: usize| {
        spec.chats[i].id = teamsapp_types::ChatId::new("19:meeting_Zm9v@thread.v2").unwrap();
    };
    let stranger = |spec: &mut teamsapp_model::TenantSpec, i: usize| {
        spec.chats[i].members = vec!["00000000-0000-4000-8000-00000000dead".into()];
    };
    let cases: [(&str, Change<'_>, &str); 4] = [
        (
            "a thread.v2 repeat before another form's",
            &|s| {
                thread(s, 3);
                other(s, 4);
                other(s, 5);
            },
            "chats[3].id: duplicate",
        ),
        (
            "another form's repeat before a thread.v2 one",
            &|s| {
                other(s, 2);
                other(s, 3);
                thread(s, 5);
            },
            "chats[3].id: duplicate",
        ),
        (
            "a repeat before a later unknown member",
            &|s| {
                thread(s, 3);
                stranger(s, 5);
            },
            "chats[3].id: duplicate",
        ),
        (
            "an unknown member before a later repeat",
            &|s| {
                stranger(s, 2);
                thread(s, 3);
            },
            "chats[2].members[0]: unknown user",
        ),
    ];
    for (case, change, expected) in cases {
        let mut spec = demo::fleet(6);
        change(&mut spec);
        let err = world.load_tenant(spec).unwrap_err().to_string();
        assert!(err.contains(expected), "{case}: {err}");
    }
    let json = demo::tenant().to_json();
    let parsed = teamsapp_model::TenantSpec::from_json(&json).unwrap();
    assert_eq!(parsed, demo::tenant());
    world.load_tenant(parsed).unwrap();
}
