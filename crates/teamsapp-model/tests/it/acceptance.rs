//! The acceptance cases on the demo tenant.

use teamsapp_model::demo::{self, CREDENTIALS};
use teamsapp_model::{AlreadyCurrent, Query, WorldConfig};
use teamsapp_types::Scope;
use teamsapp_types::UpgradePostRequestBody;

use crate::common::*;

#[test]
fn the_seed_request_upgrades_with_read_write_for_chat() {
    let mut world = demo_world();
    let caller = app_with(&["TeamsAppInstallation.ReadWriteForChat.All"]);
    let chat = chat(demo::SEED_CHAT_ID);
    let id = installation_id(demo::SEED_INSTALLATION_ID);

    let before = world
        .get_installed_app(
            &caller,
            &Scope::from(&chat),
            &id,
            &Query::new().with_expand("teamsAppDefinition"),
        )
        .unwrap();
    assert_eq!(before.id.as_deref(), Some(demo::SEED_INSTALLATION_ID));
    let version = |i: &teamsapp_types::TeamsAppInstallation| {
        i.teams_app_definition
            .as_ref()
            .unwrap()
            .version
            .clone()
            .unwrap()
    };
    assert_eq!(version(&before), demo::TASKS_OLD_VERSION);

    let outcome = world
        .upgrade_app(
            &caller,
            &Scope::from(&chat),
            &id,
            &UpgradePostRequestBody::default(),
            &Query::new(),
            now(),
        )
        .unwrap();
    assert_eq!(outcome.value.from_version, demo::TASKS_OLD_VERSION);
    assert_eq!(outcome.value.to_version, demo::TASKS_LATEST_VERSION);
    assert!(!outcome.value.already_current);
    assert_eq!(outcome.events.len(), 1);

    let after = world
        .get_installed_app(
            &caller,
            &Scope::from(&chat),
            &id,
            &Query::new().with_expand("teamsAppDefinition"),
        )
        .unwrap();
    assert_eq!(version(&after), demo::TASKS_LATEST_VERSION);
    assert_eq!(world.upgrade_count(CREDENTIALS.tenant_id, &id), Some(1));
}

#[test]
fn the_seed_request_is_forbidden_to_another_apps_self_permission() {
    let mut world = demo_world();
    let err = world
        .upgrade_app(
            &standup(),
            &Scope::from(&chat(demo::SEED_CHAT_ID)),
            &installation_id(demo::SEED_INSTALLATION_ID),
            &UpgradePostRequestBody::default(),
            &Query::new(),
            now(),
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(err.code(), "Forbidden");
    assert!(
        err.message()
            .contains("TeamsAppInstallation.ReadWriteSelfForChat.All"),
        "{err}"
    );
    assert!(err.message().contains(demo::TASKS_APP_ID), "{err}");
    assert_eq!(
        world.upgrade_count(
            CREDENTIALS.tenant_id,
            &installation_id(demo::SEED_INSTALLATION_ID)
        ),
        Some(0)
    );
}

#[test]
fn the_seed_id_works_unpadded_and_the_built_id_does_not() {
    let mut world = demo_world();
    let unpadded = installation_id(demo::SEED_INSTALLATION_ID.trim_end_matches('='));
    world
        .upgrade_app(
            &fleet(),
            &Scope::from(&chat(demo::SEED_CHAT_ID)),
            &unpadded,
            &UpgradePostRequestBody::default(),
            &Query::new(),
            now(),
        )
        .unwrap();
    // The installation has the seed's explicit id, not the one Graph would form.
    let formed = built(demo::SEED_CHAT_ID, demo::TASKS_APP_ID);
    let err = world
        .get_installed_app(
            &fleet(),
            &Scope::from(&chat(demo::SEED_CHAT_ID)),
            &formed,
            &Query::new(),
        )
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

#[test]
fn upgrading_twice_counts_twice_and_the_second_is_current() {
    let mut world = demo_world();
    let (c, id) = (
        chat(demo::SEED_CHAT_ID),
        installation_id(demo::SEED_INSTALLATION_ID),
    );
    let body = UpgradePostRequestBody::default();
    world
        .upgrade_app(&fleet(), &Scope::from(&c), &id, &body, &Query::new(), now())
        .unwrap();
    let second = world
        .upgrade_app(&fleet(), &Scope::from(&c), &id, &body, &Query::new(), now())
        .unwrap();
    assert!(second.value.already_current);
    assert_eq!(second.value.to_version, demo::TASKS_LATEST_VERSION);
    assert_eq!(world.upgrade_count(CREDENTIALS.tenant_id, &id), Some(2));
}

#[test]
fn already_current_is_configurable() {
    for (mode, status) in [
        (AlreadyCurrent::BadRequest, 400),
        (AlreadyCurrent::Conflict, 409),
    ] {
        let mut world = demo_world_with(WorldConfig::default().with_already_current(mode));
        let (c, id) = (
            chat(demo::SEED_CHAT_ID),
            installation_id(demo::SEED_INSTALLATION_ID),
        );
        let body = UpgradePostRequestBody::default();
        world
            .upgrade_app(&fleet(), &Scope::from(&c), &id, &body, &Query::new(), now())
            .unwrap();
        let err = world
            .upgrade_app(&fleet(), &Scope::from(&c), &id, &body, &Query::new(), now())
            .unwrap_err();
        assert_eq!(err.status(), status);
        assert_eq!(world.upgrade_count(CREDENTIALS.tenant_id, &id), Some(1));
    }
}

#[test]
fn the_demo_has_forty_installations_of_contoso_tasks() {
    let world = demo_world();
    let all = world.installations(CREDENTIALS.tenant_id);
    let tasks: Vec<_> = all
        .iter()
        .filter(|i| i.teams_app_id == demo::TASKS_APP_ID)
        .collect();
    assert_eq!(tasks.len(), 40);
    assert!(tasks.iter().all(|i| i.version == demo::TASKS_OLD_VERSION));
    for kind in ["chat", "team", "user"] {
        assert!(tasks.iter().any(|i| i.scope.as_str() == kind), "{kind}");
    }
    let stats = world.stats(CREDENTIALS.tenant_id).unwrap();
    assert_eq!(stats.installations, all.len() as u64);
    assert_eq!(stats.display_name, "Contoso");
}

#[test]
fn the_demo_credentials_are_served_for_the_token_endpoint() {
    let world = demo_world();
    let reg = world
        .app_registration(CREDENTIALS.tenant_id, CREDENTIALS.client_id)
        .unwrap();
    assert_eq!(reg.client_secret, CREDENTIALS.client_secret);
    assert!(
        reg.application_permissions
            .iter()
            .any(|p| p == "TeamsAppInstallation.ReadWriteForChat.All")
    );
    assert!(!format!("{reg:?}").contains(CREDENTIALS.client_secret));
    assert!(!format!("{CREDENTIALS:?}").contains(CREDENTIALS.client_secret));
    let scopes = world
        .delegated_scopes(
            CREDENTIALS.tenant_id,
            "adele@contoso.example",
            CREDENTIALS.client_id,
        )
        .unwrap();
    assert!(
        scopes
            .iter()
            .any(|s| s == "TeamsAppInstallation.ReadWriteForChat")
    );
    assert_eq!(
        world.user_identity(CREDENTIALS.tenant_id, "PAT@outlook.example"),
        Some((demo::PAT.to_owned(), true))
    );
    assert!(
        world
            .delegated_scopes(CREDENTIALS.tenant_id, demo::LEE, CREDENTIALS.client_id)
            .is_none()
    );
}

#[test]
fn a_fleet_of_two_thousand_upgrades_one_by_one() {
    let mut world = demo_world_with(WorldConfig::default());
    world.load_tenant(demo::fleet(2000)).unwrap();
    let caller = fleet();
    let body = UpgradePostRequestBody::default();
    // Walk every page of every chat the way a fleet tool discovers installations.
    let mut upgraded = 0;
    for n in 1..2000 {
        let c = chat(&demo::fleet_chat_id(n));
        let page = world
            .list_installed_apps(
                &caller,
                &Scope::from(&c),
                &Query::new().with_filter(format!("teamsApp/id eq '{}'", demo::TASKS_APP_ID)),
            )
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let id = installation_id(page.items[0].id.as_deref().unwrap());
        world
            .upgrade_app(&caller, &Scope::from(&c), &id, &body, &Query::new(), now())
            .unwrap();
        upgraded += 1;
    }
    assert_eq!(upgraded, 1999);
    let all = world.installations(CREDENTIALS.tenant_id);
    assert_eq!(all.len(), 2000);
    assert_eq!(
        all.iter()
            .filter(|i| i.version == demo::TASKS_LATEST_VERSION)
            .count(),
        1999
    );
    assert!(
        all.iter()
            .filter(|i| i.upgrade_count > 0)
            .all(|i| i.upgrade_count == 1)
    );
}
