//! Property tests of the model's invariants.

use std::collections::HashSet;

use proptest::prelude::*;
use teamsapp_model::demo;
use teamsapp_model::{AppVersion, Caller, Event, Query, World, WorldConfig};
use teamsapp_types::Scope;
use teamsapp_types::{
    AppInstallationId, TeamsAppDefinition, TeamsAppDefinitionId, TeamsAppId,
    TeamsAppPublishingState, UpgradePostRequestBody,
};

use crate::common::*;
use crate::events::snapshot;

/// The scopes the operations touch: kind and id.
fn scopes() -> Vec<(&'static str, String)> {
    vec![
        ("chat", demo::SEED_CHAT_ID.to_owned()),
        ("chat", demo::group_chat_id(0)),
        ("chat", demo::group_chat_id(3)),
        ("chat", demo::ONE_ON_ONE_CHAT_ID.to_owned()),
        ("team", demo::SALES_TEAM_ID.to_owned()),
        ("user", demo::DIEGO.to_owned()),
    ]
}

const APPS: [&str; 3] = [
    demo::TASKS_APP_ID,
    demo::STANDUP_APP_ID,
    demo::PLANNER_APP_ID,
];

#[derive(Debug, Clone)]
enum Op {
    Install(usize, usize),
    Uninstall(usize, usize),
    Upgrade(usize, usize),
    Update(usize, bool),
    Review(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6_usize, 0..3_usize).prop_map(|(s, a)| Op::Install(s, a)),
        (0..6_usize, 0..3_usize).prop_map(|(s, a)| Op::Uninstall(s, a)),
        (0..6_usize, 0..3_usize).prop_map(|(s, a)| Op::Upgrade(s, a)),
        (0..3_usize, any::<bool>()).prop_map(|(a, r)| Op::Update(a, r)),
        (0..3_usize, any::<bool>()).prop_map(|(a, p)| Op::Review(a, p)),
    ]
}

fn caller() -> Caller {
    app_with(&[
        "TeamsAppInstallation.ReadWriteForChat.All",
        "TeamsAppInstallation.ReadWriteForTeam.All",
        "TeamsAppInstallation.ReadWriteForUser.All",
        "AppCatalog.ReadWrite.All",
    ])
}

fn external_id(app: usize) -> &'static str {
    [
        demo::TASKS_EXTERNAL_ID,
        demo::STANDUP_EXTERNAL_ID,
        "planner",
    ][app]
}

/// Runs one operation, returning its events (errors are part of the game) and checking the
/// upgrade invariant on the way.
fn run(world: &mut World, op: &Op, step: usize) -> Vec<Event> {
    let caller = caller();
    let admin = delegated(demo::ADELE, &["AppCatalog.ReadWrite.All"]);
    let q = Query::new();
    let scopes = scopes();
    let id_in = |s: usize, a: usize| AppInstallationId::build(&scopes[s].1, APPS[a]).unwrap();
    let explicit = |s: usize, a: usize| {
        if s == 0 && a == 0 {
            installation_id(demo::SEED_INSTALLATION_ID)
        } else {
            id_in(s, a)
        }
    };
    match *op {
        Op::Install(s, a) => {
            let body = bind(APPS[a]);
            let result = match scopes[s].0 {
                "chat" => {
                    world.install_app(&caller, &Scope::from(&chat(&scopes[s].1)), &body, &q, now())
                }
                "team" => {
                    world.install_app(&caller, &Scope::from(&team(&scopes[s].1)), &body, &q, now())
                }
                _ => {
                    world.install_app(&caller, &Scope::from(&user(&scopes[s].1)), &body, &q, now())
                }
            };
            result.map(|o| o.events).unwrap_or_default()
        }
        Op::Uninstall(s, a) => {
            let id = explicit(s, a);
            let result = match scopes[s].0 {
                "chat" => world.uninstall_app(&caller, &Scope::from(&chat(&scopes[s].1)), &id, &q),
                "team" => world.uninstall_app(&caller, &Scope::from(&team(&scopes[s].1)), &id, &q),
                _ => world.uninstall_app(&caller, &Scope::from(&user(&scopes[s].1)), &id, &q),
            };
            result.map(|o| o.events).unwrap_or_default()
        }
        Op::Upgrade(s, a) => {
            let id = explicit(s, a);
            let body = UpgradePostRequestBody::default();
            let result = match scopes[s].0 {
                "chat" => world.upgrade_app(
                    &caller,
                    &Scope::from(&chat(&scopes[s].1)),
                    &id,
                    &body,
                    &q,
                    now(),
                ),
                "team" => world.upgrade_app(
                    &caller,
                    &Scope::from(&team(&scopes[s].1)),
                    &id,
                    &body,
                    &q,
                    now(),
                ),
                _ => world.upgrade_app(
                    &caller,
                    &Scope::from(&user(&scopes[s].1)),
                    &id,
                    &body,
                    &q,
                    now(),
                ),
            };
            match result {
                Ok(outcome) => {
                    let from = AppVersion::parse(&outcome.value.from_version).unwrap();
                    let to = AppVersion::parse(&outcome.value.to_version).unwrap();
                    assert!(to >= from, "upgrade moved backwards: {from} -> {to}");
                    if to > from {
                        let app = TeamsAppId::new(APPS[a]).unwrap();
                        let def = TeamsAppDefinitionId::build(&app, to.as_str(), Some("published"))
                            .unwrap();
                        let got = world.get_catalog_app_definition(&caller, &app, &def, &q);
                        assert!(
                            got.is_ok(),
                            "upgraded to a version that is not published: {to}"
                        );
                    }
                    outcome.events
                }
                Err(_) => Vec::new(),
            }
        }
        Op::Update(a, review) => {
            let app = TeamsAppId::new(APPS[a]).unwrap();
            let version = format!("{}.0.0", 10 + step);
            let package = package(external_id(a), &version, "Updated", &[]);
            world
                .update_catalog_app(
                    &admin,
                    &app,
                    &package,
                    &Query::new().with_requires_review(review),
                    now(),
                )
                .map(|o| o.events)
                .unwrap_or_default()
        }
        Op::Review(a, publish) => {
            let app = TeamsAppId::new(APPS[a]).unwrap();
            let submitted = world
                .list_catalog_app_definitions(
                    &caller,
                    &app,
                    &Query::new().with_filter("publishingState eq 'submitted'"),
                )
                .map(|p| p.items)
                .unwrap_or_default();
            let Some(def) = submitted.first() else {
                return Vec::new();
            };
            let id = TeamsAppDefinitionId::new(def.id.clone().unwrap()).unwrap();
            let body = TeamsAppDefinition {
                publishing_state: Some(if publish {
                    TeamsAppPublishingState::Published
                } else {
                    TeamsAppPublishingState::Rejected
                }),
                ..TeamsAppDefinition::default()
            };
            world
                .review_catalog_app_definition(&admin, &app, &id, &body, None, &q, now())
                .map(|o| o.events)
                .unwrap_or_default()
        }
    }
}

fn one_per_app_per_scope(world: &World) {
    let mut seen = HashSet::new();
    for info in world.installations(demo::TENANT_ID) {
        assert!(
            seen.insert((info.scope, info.scope_id.clone(), info.teams_app_id.clone())),
            "two installations of {} in {}",
            info.teams_app_id,
            info.scope_id
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_and_replay_reproduces_the_state(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new(WorldConfig::default().with_seed(3));
        let mut log = vec![world.load_tenant(demo::tenant()).unwrap()];
        for (step, op) in ops.iter().enumerate() {
            log.extend(run(&mut world, op, step));
            one_per_app_per_scope(&world);
        }
        let mut replayed = World::new(WorldConfig::default().with_seed(3));
        replayed.replay(&log).unwrap();
        prop_assert_eq!(snapshot(&replayed), snapshot(&world));
    }

    #[test]
    fn filter_parser_never_panics(input in any::<String>()) {
        let _ = teamsapp_model::filter::parse_filter(&input);
    }

    #[test]
    fn filter_parser_never_panics_on_filter_like_input(
        input in "((not |\\(|\\))?[a-zA-Z/]{0,12}( eq | ne | and | or |/any\\(a:|\\)|')?){0,12}"
    ) {
        let _ = teamsapp_model::filter::parse_filter(&input);
    }

    #[test]
    fn queries_never_panic(raw in any::<String>()) {
        let world = demo_world();
        let query = Query::parse(&raw);
        let _ = world.list_installed_apps(&fleet(), &Scope::from(&chat(demo::SEED_CHAT_ID)), &query);
        let _ = world.list_catalog_apps(&fleet(), &query);
    }

    #[test]
    fn package_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = teamsapp_model::package::parse_package(&bytes);
    }

    #[test]
    fn package_parser_never_panics_on_damaged_zips(
        cut in 0_usize..400,
        flips in proptest::collection::vec((0_usize..400, any::<u8>()), 0..8),
    ) {
        let mut bytes = package("x", "1.0.0", "n", &[("A.Chat", "Application")]);
        for (at, value) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b = value;
            }
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        let _ = teamsapp_model::package::parse_package(&bytes);
    }

    #[test]
    fn manifest_parser_never_panics(json in "\\{(\"[a-z]{1,8}\":(\"[a-z0-9.]{0,8}\"|\\{\\}|\\[\\]|1|null),?){0,6}\\}") {
        let _ = teamsapp_model::package::parse_manifest(json.as_bytes());
    }

    #[test]
    fn installation_ids_round_trip(scope in "19:[a-f0-9]{32}@thread\\.v2|[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-8[a-f0-9]{3}-[a-f0-9]{12}", app in "[A-Za-z0-9._-]{1,64}") {
        let id = AppInstallationId::build(&scope, &app).unwrap();
        let decoded = id.decode().unwrap();
        prop_assert_eq!(&decoded.scope_id, &scope);
        prop_assert_eq!(&decoded.teams_app_id, &app);
        let unpadded = AppInstallationId::new(id.as_str().trim_end_matches('=')).unwrap();
        prop_assert_eq!(unpadded.canonical(), id);
    }
}
