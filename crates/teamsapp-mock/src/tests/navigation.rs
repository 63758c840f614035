//! Graph's navigations from an installation (`…/teamsApp`, `…/teamsAppDefinition`) and from a
//! catalog definition (`…/bot`), and the `/me/…` paths (issue 11), over the real model and the
//! demo tenant.

use serde_json::{Value, json};
use teamsapp_model::demo;
use teamsapp_types::AppInstallationId;
use teamsapp_types::operation::encode_path_segment as enc;

use super::{Harness, Reply, request};
use crate::TokenSpec;
use crate::graph::ME_WITHOUT_USER;

const ORIGIN: &str = "http://graph.test/v1.0/$metadata#";

/// The demo over the model, without throttling (these tests read one team many times).
fn unthrottled() -> Harness {
    Harness::model(|c| c.throttle.enabled = false)
}

/// The id of the demo's Contoso Tasks installation in the scope `scope_id`.
fn tasks_in(scope_id: &str) -> String {
    AppInstallationId::build(scope_id, demo::TASKS_APP_ID)
        .unwrap()
        .into_inner()
}

/// An application token of the fleet tool holding only `roles`.
fn app_with(h: &Harness, roles: &[&str]) -> String {
    h.state
        .mint_token(&TokenSpec {
            roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token
}

async fn get(h: &Harness, path: &str, token: &str) -> Reply {
    h.send(request("GET", path, Some(token), None)).await
}

#[track_caller]
fn ok(reply: &Reply, what: &str) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{what}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// One installation reached through every path Graph names for it: `(path below /v1.0, the
/// canonical context of the installation)`.
fn installation_paths() -> Vec<(String, String, String)> {
    let chat = enc(demo::SEED_CHAT_ID);
    let seed = enc(demo::SEED_INSTALLATION_ID);
    let team = demo::SALES_TEAM_ID;
    let team_inst = enc(&tasks_in(team));
    let user = demo::ADELE;
    let user_inst = enc(&tasks_in(user));
    let chat_ctx = format!("chats('{chat}')/installedApps('{seed}')");
    let team_ctx = format!("teams('{team}')/installedApps('{team_inst}')");
    let user_ctx = format!("users('{user}')/teamwork/installedApps('{user_inst}')");
    vec![
        (
            "chat".to_owned(),
            format!("/chats/{chat}/installedApps/{seed}"),
            chat_ctx.clone(),
        ),
        (
            "chat".to_owned(),
            format!("/me/chats/{chat}/installedApps/{seed}"),
            chat_ctx.clone(),
        ),
        (
            "chat".to_owned(),
            format!("/users/{user}/chats/{chat}/installedApps/{seed}"),
            chat_ctx,
        ),
        (
            "team".to_owned(),
            format!("/teams/{team}/installedApps/{team_inst}"),
            team_ctx.clone(),
        ),
        (
            "team".to_owned(),
            format!("/groups/{team}/team/installedApps/{team_inst}"),
            team_ctx.clone(),
        ),
        (
            "team".to_owned(),
            format!("/users/{user}/joinedTeams/{team}/installedApps/{team_inst}"),
            team_ctx.clone(),
        ),
        (
            "team".to_owned(),
            format!("/me/joinedTeams/{team}/installedApps/{team_inst}"),
            team_ctx,
        ),
        (
            "user".to_owned(),
            format!("/users/{user}/teamwork/installedApps/{user_inst}"),
            user_ctx.clone(),
        ),
        (
            "user".to_owned(),
            format!("/me/teamwork/installedApps/{user_inst}"),
            user_ctx,
        ),
    ]
}

#[tokio::test]
async fn installations_navigate_to_their_app_and_definition_in_every_scope_and_alias() {
    let h = unthrottled();
    // Adele signed in: `me` is Adele, who is in the seed's chat, the Sales team, and has Tasks
    // in her personal scope.
    let token = h.user_token(demo::ADELE);
    for (scope, path, context) in installation_paths() {
        let app = ok(
            &get(&h, &format!("/v1.0{path}/teamsApp"), &token).await,
            &path,
        );
        assert_eq!(app["id"], demo::TASKS_APP_ID, "{path}");
        assert_eq!(app["displayName"], "Contoso Tasks", "{path}");
        assert_eq!(app["externalId"], demo::TASKS_EXTERNAL_ID, "{path}");
        assert_eq!(app["distributionMethod"], "organization", "{path}");
        assert_eq!(
            app["@odata.context"],
            format!("{ORIGIN}{context}/teamsApp/$entity"),
            "{path}"
        );

        let def = ok(
            &get(&h, &format!("/v1.0{path}/teamsAppDefinition"), &token).await,
            &path,
        );
        assert_eq!(def["teamsAppId"], demo::TASKS_APP_ID, "{path}");
        assert_eq!(def["version"], demo::TASKS_OLD_VERSION, "{path} ({scope})");
        assert_eq!(def["publishingState"], "published", "{path}");
        assert!(def["@odata.etag"].is_string(), "{path}");
        assert!(def.get("bot").is_none(), "{path}: bot only with $expand");
        assert_eq!(
            def["@odata.context"],
            format!("{ORIGIN}{context}/teamsAppDefinition/$entity"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn navigations_take_select_and_expand() {
    let h = unthrottled();
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let (_, path, context) = installation_paths().swap_remove(0);
    let app = ok(
        &get(
            &h,
            &format!("/v1.0{path}/teamsApp?$select=displayName"),
            &token,
        )
        .await,
        "select",
    );
    assert_eq!(app["displayName"], "Contoso Tasks");
    assert_eq!(app["id"], demo::TASKS_APP_ID);
    assert!(app.get("distributionMethod").is_none(), "{app}");
    assert_eq!(
        app["@odata.context"],
        format!("{ORIGIN}{context}/teamsApp(displayName)/$entity")
    );
    let app = ok(
        &get(
            &h,
            &format!("/v1.0{path}/teamsApp?$expand=appDefinitions"),
            &token,
        )
        .await,
        "expand",
    );
    assert_eq!(app["appDefinitions"].as_array().map(Vec::len), Some(3));

    let def = ok(
        &get(
            &h,
            &format!("/v1.0{path}/teamsAppDefinition?$expand=bot&$select=version"),
            &token,
        )
        .await,
        "expand bot",
    );
    assert_eq!(def["version"], demo::TASKS_OLD_VERSION);
    assert_eq!(def["bot"]["id"], "c0ffee00-0000-4000-8000-00000000b07a");
    assert!(def.get("displayName").is_none(), "{def}");
    // What the definition has not is a 400, as for the get.
    get(&h, &format!("/v1.0{path}/teamsApp?$select=nope"), &token)
        .await
        .assert_graph_error(400, "BadRequest");
    get(&h, &format!("/v1.0{path}/teamsApp?$top=1"), &token)
        .await
        .assert_graph_error(400, "BadRequest");
}

#[tokio::test]
async fn navigations_need_the_installation_permissions_and_known_ids() {
    let h = unthrottled();
    // A catalog reader may not read a chat's installations, nor what they navigate to.
    let catalog_only = app_with(&h, &["AppCatalog.Read.All"]);
    for (_, path, _) in installation_paths()
        .into_iter()
        .filter(|(_, p, _)| !p.starts_with("/me/"))
    {
        for nav in ["teamsApp", "teamsAppDefinition"] {
            get(&h, &format!("/v1.0{path}/{nav}"), &catalog_only)
                .await
                .assert_graph_error(403, "Forbidden");
        }
    }
    // The least privileged permission of each scope's get is enough.
    for (scope, role) in [
        ("chat", "TeamsAppInstallation.ReadForChat.All"),
        ("team", "TeamsAppInstallation.ReadForTeam.All"),
        ("user", "TeamsAppInstallation.ReadForUser.All"),
    ] {
        let token = app_with(&h, &[role]);
        let (_, path, _) = installation_paths()
            .into_iter()
            .find(|(s, p, _)| *s == scope && !p.starts_with("/me/"))
            .unwrap();
        for nav in ["teamsApp", "teamsAppDefinition"] {
            ok(&get(&h, &format!("/v1.0{path}/{nav}"), &token).await, &path);
        }
    }

    let token = h.client_credentials(demo::CREDENTIALS).await;
    let chat = enc(demo::SEED_CHAT_ID);
    // An installation the chat does not have, and a chat the tenant does not have.
    let missing = enc(
        &AppInstallationId::build(demo::SEED_CHAT_ID, demo::PLANNER_APP_ID)
            .unwrap()
            .into_inner(),
    );
    let unknown_chat = enc("19:00000000000000000000000000000000@thread.v2");
    for path in [
        format!("/chats/{chat}/installedApps/{missing}"),
        format!(
            "/chats/{unknown_chat}/installedApps/{}",
            enc(demo::SEED_INSTALLATION_ID)
        ),
        format!(
            "/teams/{}/installedApps/{}",
            demo::SALES_TEAM_ID,
            enc(
                &AppInstallationId::build(demo::SALES_TEAM_ID, demo::PLANNER_APP_ID)
                    .unwrap()
                    .into_inner()
            )
        ),
        format!(
            "/users/{}/teamwork/installedApps/{}",
            demo::LEE,
            enc(&tasks_in(demo::LEE))
        ),
    ] {
        for nav in ["teamsApp", "teamsAppDefinition"] {
            get(&h, &format!("/v1.0{path}/{nav}"), &token)
                .await
                .assert_graph_error(404, "NotFound");
        }
    }
}

/// The id of `app`'s definition `version`, through the catalog.
async fn definition_id(h: &Harness, token: &str, app: &str, version: &str) -> String {
    let defs = ok(
        &get(
            h,
            &format!("/v1.0/appCatalogs/teamsApps/{app}/appDefinitions"),
            token,
        )
        .await,
        "definitions",
    );
    defs["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["version"] == version)
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("no {version} in {defs}"))
        .to_owned()
}

#[tokio::test]
async fn a_definitions_bot_is_its_navigation() {
    let h = unthrottled();
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let tasks = demo::TASKS_APP_ID;
    let def = definition_id(&h, &token, tasks, demo::TASKS_OLD_VERSION).await;
    let path = format!(
        "/v1.0/appCatalogs/teamsApps/{tasks}/appDefinitions/{}/bot",
        enc(&def)
    );
    let bot = ok(&get(&h, &path, &token).await, &path);
    assert_eq!(bot["id"], "c0ffee00-0000-4000-8000-00000000b07a");
    assert_eq!(
        bot["@odata.context"],
        format!(
            "{ORIGIN}appCatalogs/teamsApps('{tasks}')/appDefinitions('{}')/bot/$entity",
            enc(&def)
        )
    );
    let selected = ok(
        &get(&h, &format!("{path}?$select=id"), &token).await,
        "select",
    );
    assert_eq!(selected["id"], bot["id"]);
    assert_eq!(
        selected["@odata.context"],
        format!(
            "{ORIGIN}appCatalogs/teamsApps('{tasks}')/appDefinitions('{}')/bot(id)/$entity",
            enc(&def)
        )
    );
    get(&h, &format!("{path}?$select=displayName"), &token)
        .await
        .assert_graph_error(400, "BadRequest");

    // Contoso Polls has no bot: 404, as Graph answers for a null single-valued navigation.
    let polls = demo::POLLS_APP_ID;
    let def = definition_id(&h, &token, polls, "1.0.0").await;
    let message = get(
        &h,
        &format!(
            "/v1.0/appCatalogs/teamsApps/{polls}/appDefinitions/{}/bot",
            enc(&def)
        ),
        &token,
    )
    .await
    .assert_graph_error(404, "NotFound");
    assert!(message.contains("has no bot"), "{message}");

    // Unknown app, unknown definition.
    let unknown_def = enc(&teamsapp_types::TeamsAppDefinitionId::build(
        &teamsapp_types::TeamsAppId::new(tasks).unwrap(),
        "9.9.9",
        Some("Published"),
    )
    .unwrap()
    .into_inner());
    for path in [
        format!("/v1.0/appCatalogs/teamsApps/{tasks}/appDefinitions/{unknown_def}/bot"),
        format!(
            "/v1.0/appCatalogs/teamsApps/00000000-0000-4000-8000-000000000000/appDefinitions/{unknown_def}/bot"
        ),
    ] {
        get(&h, &path, &token)
            .await
            .assert_graph_error(404, "NotFound");
    }

    // The catalog's permissions: an installation reader may not read it.
    let installer = app_with(&h, &["TeamsAppInstallation.ReadWriteForChat.All"]);
    get(&h, &path, &installer)
        .await
        .assert_graph_error(403, "Forbidden");
    ok(
        &get(&h, &path, &app_with(&h, &["AppCatalog.Read.All"])).await,
        "least privileged",
    );
}

#[tokio::test]
async fn me_teamwork_is_the_signed_in_users_personal_scope() {
    let h = unthrottled();
    let adele = h.user_token(demo::ADELE);
    let canonical = ok(
        &get(
            &h,
            &format!("/v1.0/users/{}/teamwork/installedApps", demo::ADELE),
            &adele,
        )
        .await,
        "canonical",
    );
    let via_me = ok(
        &get(&h, "/v1.0/me/teamwork/installedApps", &adele).await,
        "me",
    );
    assert_eq!(via_me["value"], canonical["value"]);
    assert_eq!(via_me["@odata.context"], canonical["@odata.context"]);
    assert_eq!(
        via_me["@odata.context"],
        format!("{ORIGIN}users('{}')/teamwork/installedApps", demo::ADELE)
    );
    let id = tasks_in(demo::ADELE);
    let one = ok(
        &get(
            &h,
            &format!("/v1.0/me/teamwork/installedApps/{}", enc(&id)),
            &adele,
        )
        .await,
        "get",
    );
    assert_eq!(one["id"], id);
    // The installation's chat with the app's bot, through `me` too.
    let chat = ok(
        &get(
            &h,
            &format!("/v1.0/me/teamwork/installedApps/{}/chat", enc(&id)),
            &adele,
        )
        .await,
        "chat",
    );
    assert!(chat["id"].as_str().unwrap().contains(demo::ADELE), "{chat}");

    // Upgrade, uninstall and install again, all through `me`.
    for action in ["upgrade", "microsoft.graph.upgrade"] {
        let reply = h
            .send(request(
                "POST",
                &format!("/v1.0/me/teamwork/installedApps/{}/{action}", enc(&id)),
                Some(&adele),
                Some(json!({})),
            ))
            .await;
        assert_eq!(
            reply.status,
            204,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let def = ok(
        &get(
            &h,
            &format!(
                "/v1.0/me/teamwork/installedApps/{}/teamsAppDefinition",
                enc(&id)
            ),
            &adele,
        )
        .await,
        "definition",
    );
    assert_eq!(def["version"], demo::TASKS_LATEST_VERSION);
    let reply = h
        .send(request(
            "DELETE",
            &format!("/v1.0/me/teamwork/installedApps/{}", enc(&id)),
            Some(&adele),
            None,
        ))
        .await;
    assert_eq!(
        reply.status,
        204,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    get(
        &h,
        &format!(
            "/v1.0/users/{}/teamwork/installedApps/{}",
            demo::ADELE,
            enc(&id)
        ),
        &adele,
    )
    .await
    .assert_graph_error(404, "NotFound");
    let reply = h
        .send(request(
            "POST",
            "/v1.0/me/teamwork/installedApps",
            Some(&adele),
            Some(json!({
                "teamsApp@odata.bind": format!(
                    "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}",
                    demo::TASKS_APP_ID
                )
            })),
        ))
        .await;
    assert!(
        reply.status.is_success(),
        "{}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    ok(
        &get(
            &h,
            &format!(
                "/v1.0/users/{}/teamwork/installedApps/{}",
                demo::ADELE,
                enc(&id)
            ),
            &adele,
        )
        .await,
        "installed again in Adele's scope",
    );

    // Alex's `me` is Alex: Adele's installation is not in his personal scope.
    let alex = h.user_token(demo::ALEX);
    let alex_list = get(&h, "/v1.0/me/teamwork/installedApps", &alex).await;
    // Alex granted only chat permissions: the personal scope is forbidden to him.
    alex_list.assert_graph_error(403, "Forbidden");
}

#[tokio::test]
async fn me_with_an_application_token() {
    let h = unthrottled();
    let app = h.client_credentials(demo::CREDENTIALS).await;
    // `/me/teamwork/…` names no resource without a signed-in user: Graph's 400.
    let user_inst = enc(&tasks_in(demo::ADELE));
    for (method, path) in [
        ("GET", "/v1.0/me/teamwork/installedApps".to_owned()),
        (
            "GET",
            format!("/v1.0/me/teamwork/installedApps/{user_inst}"),
        ),
        (
            "GET",
            format!("/v1.0/me/teamwork/installedApps/{user_inst}/teamsApp"),
        ),
        (
            "DELETE",
            format!("/v1.0/me/teamwork/installedApps/{user_inst}"),
        ),
    ] {
        let message = h
            .send(request(method, &path, Some(&app), None))
            .await
            .assert_graph_error(400, "BadRequest");
        assert_eq!(message, ME_WITHOUT_USER, "{path}");
    }
    let reply = h
        .send(request(
            "POST",
            &format!("/v1.0/me/teamwork/installedApps/{user_inst}/upgrade"),
            Some(&app),
            Some(json!({})),
        ))
        .await;
    assert_eq!(reply.assert_graph_error(400, "BadRequest"), ME_WITHOUT_USER);

    // Every `/me` path, also those that name their chat or team, needs a signed-in user
    // ([me-app-only] in FIDELITY.md); with one, they answer as their canonical paths do.
    let team = demo::SALES_TEAM_ID;
    let chat = enc(demo::SEED_CHAT_ID);
    let adele = h.user_token(demo::ADELE);
    for (alias, canonical) in [
        (
            format!("/v1.0/me/chats/{chat}/installedApps"),
            format!("/v1.0/chats/{chat}/installedApps"),
        ),
        (
            format!("/v1.0/me/joinedTeams/{team}/installedApps"),
            format!("/v1.0/teams/{team}/installedApps"),
        ),
    ] {
        let message = h
            .send(request("GET", &alias, Some(&app), None))
            .await
            .assert_graph_error(400, "BadRequest");
        assert_eq!(message, ME_WITHOUT_USER, "{alias}");
        let via_me = ok(&get(&h, &alias, &adele).await, &alias);
        let direct = ok(&get(&h, &canonical, &adele).await, &canonical);
        assert_eq!(via_me, direct, "{alias}");
    }
}

/// The body of a `$count` answer, checked to be `text/plain` digits.
#[track_caller]
fn count_of(reply: &Reply, what: &str) -> u64 {
    assert_eq!(
        reply.status,
        200,
        "{what}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("text/plain"), "{what}");
    let text = std::str::from_utf8(&reply.body).unwrap();
    assert!(text.bytes().all(|b| b.is_ascii_digit()), "{what}: {text:?}");
    text.parse().unwrap()
}

#[tokio::test]
async fn installed_apps_count_is_text_and_honours_filter() {
    let h = unthrottled();
    let adele = h.user_token(demo::ADELE);
    let chat = enc(demo::SEED_CHAT_ID);
    let team = demo::SALES_TEAM_ID;
    let user = demo::ADELE;
    let cases = [
        (
            format!("/chats/{chat}/installedApps"),
            vec![
                format!("/me/chats/{chat}/installedApps"),
                format!("/users/{user}/chats/{chat}/installedApps"),
            ],
        ),
        (
            format!("/teams/{team}/installedApps"),
            vec![
                format!("/groups/{team}/team/installedApps"),
                format!("/users/{user}/joinedTeams/{team}/installedApps"),
                format!("/me/joinedTeams/{team}/installedApps"),
            ],
        ),
        (
            format!("/users/{user}/teamwork/installedApps"),
            vec!["/me/teamwork/installedApps".to_owned()],
        ),
    ];
    for (list, aliases) in cases {
        // The list comes whole (Graph documents no paging there, nor `$count=true`).
        let listed = ok(&get(&h, &format!("/v1.0{list}"), &adele).await, &list);
        let expected = listed["value"].as_array().unwrap().len() as u64;
        assert!(expected > 0, "{list}");
        for path in std::iter::once(list.clone()).chain(aliases) {
            for version in ["v1.0", "beta"] {
                let n = count_of(
                    &get(&h, &format!("/{version}{path}/$count"), &adele).await,
                    &path,
                );
                assert_eq!(n, expected, "{version}{path}");
            }
        }
        // Percent-encoded, as some clients send it.
        let n = count_of(
            &get(&h, &format!("/v1.0{list}/%24count"), &adele).await,
            &list,
        );
        assert_eq!(n, expected);
        // `$filter` as the list takes it.
        let tasks = format!("$filter=teamsApp/id%20eq%20'{}'", demo::TASKS_APP_ID);
        let planner = format!("$filter=teamsApp/id%20eq%20'{}'", demo::PLANNER_APP_ID);
        let filtered = ok(
            &get(&h, &format!("/v1.0{list}?{tasks}"), &adele).await,
            &list,
        )["value"]
            .as_array()
            .unwrap()
            .len() as u64;
        assert_eq!(filtered, 1, "{list}");
        assert_eq!(
            count_of(
                &get(&h, &format!("/v1.0{list}/$count?{tasks}"), &adele).await,
                &list
            ),
            filtered
        );
        assert_eq!(
            count_of(
                &get(&h, &format!("/v1.0{list}/$count?{planner}"), &adele).await,
                &list
            ),
            0
        );
        // Only `$filter`: the list's other options are 400s here.
        for option in ["$top=1", "$select=id", "$expand=teamsApp", "$count=true"] {
            get(&h, &format!("/v1.0{list}/$count?{option}"), &adele)
                .await
                .assert_graph_error(400, "BadRequest");
        }
        get(
            &h,
            &format!("/v1.0{list}/$count?$filter=nope%20eq%201"),
            &adele,
        )
        .await
        .assert_graph_error(400, "BadRequest");
    }
}

#[tokio::test]
async fn installed_apps_count_needs_the_list_permissions() {
    let h = unthrottled();
    let catalog_only = app_with(&h, &["AppCatalog.Read.All"]);
    let chat = enc(demo::SEED_CHAT_ID);
    let team = demo::SALES_TEAM_ID;
    let user = demo::ADELE;
    for (list, role) in [
        (
            format!("/v1.0/chats/{chat}/installedApps"),
            "TeamsAppInstallation.ReadForChat.All",
        ),
        (
            format!("/v1.0/teams/{team}/installedApps"),
            "TeamsAppInstallation.Read.Group",
        ),
        (
            format!("/v1.0/users/{user}/teamwork/installedApps"),
            "TeamsAppInstallation.ReadForUser.All",
        ),
    ] {
        get(&h, &format!("{list}/$count"), &catalog_only)
            .await
            .assert_graph_error(403, "Forbidden");
        let least = app_with(&h, &[role]);
        let listed = get(&h, &list, &least).await.status;
        let counted = get(&h, &format!("{list}/$count"), &least).await.status;
        assert_eq!(counted, listed, "{list}: the list's permissions");
    }
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let unknown_chat = enc("19:00000000000000000000000000000000@thread.v2");
    for path in [
        format!("/v1.0/chats/{unknown_chat}/installedApps/$count"),
        "/v1.0/teams/00000000-0000-4000-8000-000000000000/installedApps/$count".to_owned(),
        "/v1.0/users/00000000-0000-4000-8000-000000000000/teamwork/installedApps/$count".to_owned(),
    ] {
        get(&h, &path, &token)
            .await
            .assert_graph_error(404, "NotFound");
    }
    // `/me/teamwork/…/$count` with an application token: Graph's 400, as for the list.
    let message = get(&h, "/v1.0/me/teamwork/installedApps/$count", &token)
        .await
        .assert_graph_error(400, "BadRequest");
    assert_eq!(message, ME_WITHOUT_USER);
}

#[tokio::test]
async fn patching_an_installation_is_405_in_every_scope() {
    let h = unthrottled();
    let token = h.client_credentials(demo::CREDENTIALS).await;
    for (_, path, _) in installation_paths()
        .into_iter()
        .filter(|(_, p, _)| !p.starts_with("/me/"))
    {
        let before = ok(&get(&h, &format!("/v1.0{path}"), &token).await, &path);
        let reply = h
            .send(request(
                "PATCH",
                &format!("/v1.0{path}"),
                Some(&token),
                Some(json!({"consentedPermissionSet": null})),
            ))
            .await;
        let message = reply.assert_graph_error(405, "Request_BadRequest");
        assert_eq!(
            message, "Specified HTTP method is not allowed for the request target.",
            "{path}"
        );
        let allow = reply.header("allow").unwrap_or_default();
        assert!(
            allow.contains("GET") && allow.contains("DELETE"),
            "{path}: {allow}"
        );
        assert!(!allow.contains("PATCH"), "{path}: {allow}");
        let after = ok(&get(&h, &format!("/v1.0{path}"), &token).await, &path);
        assert_eq!(after, before, "{path}: nothing changed");
    }
}

#[tokio::test]
async fn a_count_in_a_batch_is_a_base64_body_with_its_content_type() {
    use base64::Engine as _;
    let h = unthrottled();
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let count = teamsapp_types::routes::COUNT_CHAT_INSTALLED_APPS.render(&[demo::SEED_CHAT_ID]);
    let direct = count_of(&get(&h, &format!("/v1.0{count}"), &token).await, &count);
    let navigation = teamsapp_types::routes::GET_CHAT_INSTALLED_APP_TEAMS_APP
        .render(&[demo::SEED_CHAT_ID, demo::SEED_INSTALLATION_ID]);
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": count},
        {"id": "2", "method": "GET", "url": navigation},
    ]});
    let body = h
        .send(request("POST", "/v1.0/$batch", Some(&token), Some(batch)))
        .await
        .json();
    let counted = &body["responses"][0];
    assert_eq!(counted["status"], 200, "{body}");
    assert_eq!(counted["headers"]["Content-Type"], "text/plain", "{body}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(counted["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), direct.to_string());
    let navigated = &body["responses"][1];
    assert_eq!(navigated["status"], 200, "{body}");
    assert_eq!(navigated["body"]["id"], demo::TASKS_APP_ID, "{body}");
}
