//! `$filter` parsing and evaluation.
//!
//! The input, as UTF-8, is parsed with `teamsapp_model::filter::parse_filter` and then used as
//! the `$filter` of every list operation of the demo tenant (catalog apps and their definitions,
//! installations in a chat, a team and a user, users, chats, teams), so the checker against each
//! collection's properties and the evaluator run on whatever the parser accepts.
//! Properties: never a panic; the parser accepts nothing longer than `MAX_FILTER_LEN`; an
//! operation answers `400` whenever the parser refuses the filter; any refusal is a 4xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsapp_fuzz::{app_caller, delegated_caller, demo_world};
use teamsapp_model::filter::{MAX_FILTER_LEN, parse_filter};
use teamsapp_model::{ModelError, Query, demo};
use teamsapp_types::{ChatId, Scope, TeamId, TeamsAppId, UserId};

fn check<T>(result: Result<T, ModelError>, parsed: bool) {
    match result {
        Ok(_) => assert!(parsed, "an operation accepted a filter the parser refuses"),
        Err(e) => assert!(
            (400..500).contains(&e.status()),
            "a filter was answered {}: {e:?}",
            e.status()
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_filter(input);
    if parsed.is_ok() {
        assert!(input.len() <= MAX_FILTER_LEN);
    }
    let parsed = parsed.is_ok();

    let world = demo_world();
    let query = Query::new().with_filter(input);
    let chat = ChatId::new(demo::SEED_CHAT_ID).unwrap();
    let team = TeamId::new(demo::ENGINEERING_TEAM_ID).unwrap();
    let user = UserId::new(demo::ADELE).unwrap();
    let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    for caller in [app_caller(), delegated_caller()] {
        check(world.list_catalog_apps(&caller, &query), parsed);
        check(
            world.list_catalog_app_definitions(&caller, &app, &query),
            parsed,
        );
        check(
            world.list_installed_apps(&caller, &Scope::from(&chat), &query),
            parsed,
        );
        check(
            world.list_installed_apps(&caller, &Scope::from(&team), &query),
            parsed,
        );
        check(
            world.list_installed_apps(&caller, &Scope::from(&user), &query),
            parsed,
        );
        check(world.list_users(&caller, &query), parsed);
        check(world.list_user_chats(&caller, &user, &query), parsed);
        check(world.list_teams(&caller, &query), parsed);
    }
});
