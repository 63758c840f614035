//! Discovery operations.

use teamsapp_model::Query;
use teamsapp_model::demo;

use crate::common::*;

#[test]
fn users() {
    let world = demo_world();
    let page = world.list_users(&fleet(), &Query::new()).unwrap();
    assert_eq!(page.items.len(), 8);
    assert!(page.items[0].user_type.is_none() && page.items[0].user_principal_name.is_some());
    let one = world
        .list_users(
            &fleet(),
            &Query::new()
                .with_filter("userPrincipalName eq 'ADELE@contoso.example'")
                .with_select("id,userType"),
        )
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].id.as_deref(), Some(demo::ADELE));
    assert_eq!(one.items[0].user_type.as_deref(), Some("Member"));
    assert!(one.items[0].display_name.is_none());
    let paged = world
        .list_users(&fleet(), &Query::new().with_top(3).with_count(true))
        .unwrap();
    assert_eq!((paged.items.len(), paged.count), (3, Some(8)));
    assert!(paged.next_skiptoken.is_some());
    assert_eq!(
        world
            .list_users(&fleet(), &Query::new().with_expand("manager"))
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn chats() {
    let world = demo_world();
    let page = world
        .list_user_chats(&fleet(), &user(demo::ADELE), &Query::new())
        .unwrap();
    assert_eq!(page.items.len(), 31);
    let meetings = world
        .list_user_chats(
            &fleet(),
            &user(demo::ADELE),
            &Query::new().with_filter("chatType eq 'meeting'"),
        )
        .unwrap();
    assert_eq!(meetings.items.len(), 1);
    assert!(
        meetings.items[0]
            .online_meeting_info
            .as_ref()
            .unwrap()
            .join_web_url
            .is_some()
    );
    assert!(
        world
            .list_user_chats(&fleet(), &user(demo::LEE), &Query::new())
            .unwrap()
            .items
            .is_empty()
    );
    let alex = delegated(demo::ALEX, &["Chat.ReadBasic"]);
    assert_eq!(
        world
            .list_user_chats(&alex, &user(demo::ADELE), &Query::new())
            .unwrap_err()
            .status(),
        403
    );
    assert!(
        world
            .list_user_chats(&alex, &user(demo::ALEX), &Query::new())
            .is_ok()
    );

    let got = world
        .get_chat(&fleet(), &chat(demo::SEED_CHAT_ID), &Query::new())
        .unwrap();
    assert_eq!(got.topic.as_deref(), Some("Contoso Tasks launch"));
    assert_eq!(got.tenant_id.as_deref(), Some(demo::TENANT_ID));
    let err = world
        .get_chat(
            &fleet(),
            &chat(demo::SEED_CHAT_ID),
            &Query::new().with_expand("installedApps"),
        )
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message().contains("NonExpandableProperties"), "{err}");
    let lee = delegated(demo::LEE, &["Chat.ReadBasic"]);
    assert_eq!(
        world
            .get_chat(&lee, &chat(demo::SEED_CHAT_ID), &Query::new())
            .unwrap_err()
            .status(),
        403
    );
    let one = world
        .get_chat(
            &fleet(),
            &chat(demo::ONE_ON_ONE_CHAT_ID),
            &Query::new().with_select("chatType"),
        )
        .unwrap();
    assert_eq!(one.chat_type, Some(teamsapp_types::ChatType::OneOnOne));
    assert!(one.topic.is_none());
}

#[test]
fn teams() {
    let world = demo_world();
    let page = world
        .list_teams(
            &fleet(),
            &Query::new().with_filter("displayName eq 'sales'"),
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id.as_deref(), Some(demo::SALES_TEAM_ID));
    let adele = delegated(demo::ADELE, &["Team.ReadBasic.All"]);
    let err = world.list_teams(&adele, &Query::new()).unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(
        err.message()
            .contains("does not support delegated permissions"),
        "{err}"
    );
}
