//! OData query strings: `teamsapp_model::Query::parse` on the raw query string, then every list
//! and get operation of the demo tenant with the result, so `$select`/`$expand` shapes (nested
//! `$expand=appDefinitions($select=…;$expand=bot)`), `$top`, `$count`, `$skiptoken` and
//! `$filter` are all parsed, checked against the route and applied.
//! Properties: never a panic; every refusal is a 4xx; a page never holds more than the page size.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use teamsapp_fuzz::{app_caller, delegated_caller, demo_world};
use teamsapp_model::{ModelError, Page, Query, demo};
use teamsapp_types::{
    AppInstallationId, ChatId, Scope, TeamId, TeamsAppDefinitionId, TeamsAppId, UserId,
};

/// The default page size of `WorldConfig`.
const PAGE: usize = 100;

fn page<T>(result: Result<Page<T>, ModelError>) {
    match result {
        Ok(page) => assert!(page.items.len() <= PAGE, "a page of {}", page.items.len()),
        Err(e) => refused(&e),
    }
}

fn one<T>(result: Result<T, ModelError>) {
    if let Err(e) = result {
        refused(&e);
    }
}

fn refused(e: &ModelError) {
    assert!(
        (400..500).contains(&e.status()),
        "answered {}: {e:?}",
        e.status()
    );
}

/// The id of Contoso Tasks' first definition in the demo catalog.
fn definition() -> &'static TeamsAppDefinitionId {
    static ID: OnceLock<TeamsAppDefinitionId> = OnceLock::new();
    ID.get_or_init(|| {
        let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
        let defs = demo_world()
            .list_catalog_app_definitions(&app_caller(), &app, &Query::new())
            .expect("the demo lists its definitions");
        let id = defs.items[0].id.clone().expect("definitions have ids");
        TeamsAppDefinitionId::new(id).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let query = Query::parse(raw);
    // Parsing is a pure function of the string.
    assert_eq!(query, Query::parse(raw));

    let world = demo_world();
    let chat = ChatId::new(demo::SEED_CHAT_ID).unwrap();
    let team = TeamId::new(demo::ENGINEERING_TEAM_ID).unwrap();
    let user = UserId::new(demo::ADELE).unwrap();
    let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    let installation = AppInstallationId::new(demo::SEED_INSTALLATION_ID).unwrap();
    for caller in [app_caller(), delegated_caller()] {
        page(world.list_catalog_apps(&caller, &query));
        page(world.list_catalog_app_definitions(&caller, &app, &query));
        page(world.list_installed_apps(&caller, &Scope::from(&chat), &query));
        page(world.list_installed_apps(&caller, &Scope::from(&team), &query));
        page(world.list_installed_apps(&caller, &Scope::from(&user), &query));
        page(world.list_users(&caller, &query));
        page(world.list_user_chats(&caller, &user, &query));
        page(world.list_teams(&caller, &query));
        one(world.get_catalog_app(&caller, &app, &query));
        one(world.get_installed_app(&caller, &Scope::from(&chat), &installation, &query));
        one(world.get_chat(&caller, &chat, &query));
        one(world.get_catalog_app_definition(&caller, &app, definition(), &query));
    }
});
