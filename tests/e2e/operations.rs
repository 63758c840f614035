//! The client through every operation of the fragment, in every scope, against the emulator
//! in-process: installed apps in a chat, a team and a user's personal scope; the catalog as a
//! signed-in admin; discovery; and `$batch`. Every exchange is checked against the fragment, and
//! the test ends by proving that every operation of `routes::ALL` was seen.

use futures_util::TryStreamExt;
use teamsapp_client::{Client, ListQuery, Scope};
use teamsapp_e2e::TestEmulator;
use teamsapp_model::demo;
use teamsapp_model::package::build_package;
use teamsapp_types::{
    AppInstallationId, ChatId, CountChatInstalledApps, CountTeamInstalledApps,
    CountUserInstalledApps, DeleteCatalogApp, GetCatalogApp, GetCatalogAppDefinition,
    GetCatalogAppDefinitionBot, GetChat, GetChatInstalledAppTeamsApp,
    GetChatInstalledAppTeamsAppDefinition, GetTeamInstalledAppTeamsApp,
    GetTeamInstalledAppTeamsAppDefinition, GetUserInstalledAppChat, GetUserInstalledAppTeamsApp,
    GetUserInstalledAppTeamsAppDefinition, ListCatalogAppDefinitions, ListCatalogApps,
    ListChatInstalledApps, ListTeams, ListUserChats, ListUsers, ReviewCatalogAppDefinition, TeamId,
    TeamsApp, TeamsAppDefinition, TeamsAppDefinitionId, TeamsAppId, TeamsAppInstallation,
    TeamsAppPublishingState, UpgradeChatApp, User, UserId, routes,
};

/// The Contoso Tasks installation of `scope`, from a list with the app and definition expanded.
async fn tasks_installation(client: &Client, scope: &Scope) -> Option<TeamsAppInstallation> {
    let query = ListQuery::new().expand(["teamsApp", "teamsAppDefinition"]);
    client
        .installed_apps(scope, &query)
        .await
        .unwrap_or_else(|e| panic!("listing {scope:?}: {e}"))
        .into_iter()
        .find(|i| {
            i.teams_app
                .as_ref()
                .and_then(|a| a.id.as_deref())
                .is_some_and(|id| id == demo::TASKS_APP_ID)
        })
}

fn version(installation: &TeamsAppInstallation) -> &str {
    installation
        .teams_app_definition
        .as_ref()
        .and_then(|d| d.version.as_deref())
        .unwrap_or("?")
}

/// What the Contoso Tasks installation of `scope` navigates to (its app and its installed
/// definition, with the bot expanded), and how many installations `scope` has.
async fn navigations(client: &Client, scope: &Scope) -> (TeamsApp, TeamsAppDefinition, u64) {
    let id = tasks_installation(client, scope)
        .await
        .and_then(|i| i.id)
        .unwrap_or_else(|| panic!("Contoso Tasks is installed in {scope:?}"));
    let id = AppInstallationId::new(id).unwrap();
    let bot = ["bot"];
    let answers = match scope {
        Scope::Chat(chat) => (
            client
                .send(&GetChatInstalledAppTeamsApp::new(chat.clone(), id.clone()))
                .await,
            client
                .send(&GetChatInstalledAppTeamsAppDefinition::new(chat.clone(), id).expand(bot))
                .await,
            client
                .send(&CountChatInstalledApps::new(chat.clone()))
                .await,
        ),
        Scope::Team(team) => (
            client
                .send(&GetTeamInstalledAppTeamsApp::new(team.clone(), id.clone()))
                .await,
            client
                .send(&GetTeamInstalledAppTeamsAppDefinition::new(team.clone(), id).expand(bot))
                .await,
            client
                .send(&CountTeamInstalledApps::new(team.clone()))
                .await,
        ),
        Scope::User(user) => (
            client
                .send(&GetUserInstalledAppTeamsApp::new(user.clone(), id.clone()))
                .await,
            client
                .send(&GetUserInstalledAppTeamsAppDefinition::new(user.clone(), id).expand(bot))
                .await,
            client
                .send(&CountUserInstalledApps::new(user.clone()))
                .await,
        ),
    };
    match answers {
        (Ok(app), Ok(definition), Ok(count)) => (app, definition, count),
        (app, definition, count) => panic!("{scope:?}: {app:?} {definition:?} {count:?}"),
    }
}

/// List, get, upgrade, uninstall and install again, in one scope.
async fn scope_round_trip(emulator: &TestEmulator, client: &Client, scope: &Scope) {
    // List and get: Contoso Tasks 1.0.0, as the demo installs it everywhere.
    let listed = tasks_installation(client, scope)
        .await
        .unwrap_or_else(|| panic!("Contoso Tasks is installed in {scope:?}"));
    assert_eq!(version(&listed), demo::TASKS_OLD_VERSION, "{scope:?}");
    let id = AppInstallationId::new(listed.id.clone().expect("an id")).unwrap();
    let got = client.installed_app(scope, &id).await.unwrap();
    assert_eq!(got.id, listed.id);

    // Upgrade: 204, then the installation reads at the catalog's latest version, once.
    client.upgrade(scope, &id, None).await.unwrap();
    let got = client.installed_app(scope, &id).await.unwrap();
    assert_eq!(version(&got), demo::TASKS_LATEST_VERSION, "{scope:?}");
    let admin = emulator.admin().installation(id.as_str()).await;
    assert_eq!(admin["upgradeCount"], 1, "{admin}");

    // Uninstall: 204, then the installation is gone.
    client.uninstall(scope, &id).await.unwrap();
    let gone = client.installed_app(scope, &id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    assert!(tasks_installation(client, scope).await.is_none());

    // Install again: the catalog's latest published version.
    let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    client.install(scope, &app, None).await.unwrap();
    let again = tasks_installation(client, scope)
        .await
        .unwrap_or_else(|| panic!("Contoso Tasks is installed again in {scope:?}"));
    assert_eq!(version(&again), demo::TASKS_LATEST_VERSION, "{scope:?}");
}

#[tokio::test]
async fn the_client_drives_every_operation_in_every_scope() {
    let emulator = TestEmulator::demo().await;
    let app = emulator.app_client();

    // Installed apps, in each of the three scopes.
    let chat = Scope::Chat(ChatId::new(demo::SEED_CHAT_ID).unwrap());
    let team = Scope::Team(TeamId::new(demo::SALES_TEAM_ID).unwrap());
    let user = Scope::User(UserId::new(demo::DIEGO).unwrap());
    for scope in [&chat, &team, &user] {
        // The navigations and `$count` first, while Contoso Tasks is at 1.0.0.
        let (teams_app, definition, count) = navigations(&app, scope).await;
        assert_eq!(
            teams_app.id.as_deref(),
            Some(demo::TASKS_APP_ID),
            "{scope:?}"
        );
        assert_eq!(
            definition.version.as_deref(),
            Some(demo::TASKS_OLD_VERSION),
            "{scope:?}"
        );
        assert!(definition.bot.and_then(|b| b.id).is_some(), "{scope:?}");
        let listed = app.installed_apps(scope, &ListQuery::new()).await.unwrap();
        assert_eq!(count, u64::try_from(listed.len()).unwrap(), "{scope:?}");
        scope_round_trip(&emulator, &app, scope).await;
    }

    // A personal installation's chat.
    let personal = tasks_installation(&app, &user).await.unwrap();
    let chat_of = app
        .send(&GetUserInstalledAppChat::new(
            UserId::new(demo::DIEGO).unwrap(),
            AppInstallationId::new(personal.id.unwrap()).unwrap(),
        ))
        .await
        .unwrap();
    assert!(chat_of.id.is_some_and(|id| id.starts_with("19:")));

    // A chat's installations come whole: Graph documents no paging there, and `$top` is a 400.
    let group = ChatId::new(demo::group_chat_id(0)).unwrap();
    let all = app
        .installed_apps(&Scope::Chat(group.clone()), &ListQuery::new())
        .await
        .unwrap();
    assert!(all.len() >= 2, "group chat 0 has Tasks and Polls");
    let page = app
        .pages(&ListChatInstalledApps::new(group.clone()))
        .try_next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!((page.value.len(), page.odata_next_link), (all.len(), None));

    // Paging: a page size of 2 walks every user of the directory through @odata.nextLink.
    let whole: Vec<User> = app
        .items(&ListUsers::new().select(["id"]))
        .try_collect()
        .await
        .unwrap();
    let paged: Vec<User> = app
        .items(&ListUsers::new().select(["id"]).top(2))
        .try_collect()
        .await
        .unwrap();
    assert!(whole.len() > 2, "{whole:?}");
    assert_eq!(paged, whole);

    discovery(&app).await;
    catalog(&emulator).await;
    batch(&emulator, &app).await;

    // Every operation of the fragment went through the checker at least once.
    let seen = emulator.checker().seen();
    let missing: Vec<&str> = routes::ALL
        .iter()
        .map(|r| r.operation_id)
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "operations never exercised: {missing:?}"
    );
    emulator.finish().await;
}

/// Users, their chats, one chat and the teams: what fleet discovery reads.
async fn discovery(app: &Client) {
    let users: Vec<_> = app
        .items(&ListUsers::new().top(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 8, "the demo has eight users");
    let chats: Vec<_> = app
        .items(&ListUserChats::new(UserId::new(demo::ADELE).unwrap()))
        .try_collect()
        .await
        .unwrap();
    assert!(chats.len() >= 30, "Adele is in most chats: {}", chats.len());
    let seed = app
        .send(&GetChat::new(ChatId::new(demo::SEED_CHAT_ID).unwrap()))
        .await
        .unwrap();
    assert_eq!(seed.id.as_deref(), Some(demo::SEED_CHAT_ID));
    let teams: Vec<_> = app.items(&ListTeams::new()).try_collect().await.unwrap();
    assert_eq!(teams.len(), 3);
}

/// The catalog, as Adele (a delegated admin, signed in with the device code flow): list, get,
/// publish, update, definitions, review, delete.
async fn catalog(emulator: &TestEmulator) {
    let adele = emulator.delegated_client(demo::ADELE);
    let apps = adele
        .catalog_apps(&ListCatalogApps::new().filter("distributionMethod eq 'organization'"))
        .await
        .unwrap();
    assert!(
        apps.iter()
            .any(|a| a.id.as_deref() == Some(demo::TASKS_APP_ID))
    );
    let tasks = adele
        .catalog_app(&TeamsAppId::new(demo::TASKS_APP_ID).unwrap())
        .await
        .unwrap();
    let versions: Vec<_> = tasks
        .app_definitions
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| d.version)
        .collect();
    assert!(
        versions.iter().any(|v| v == demo::TASKS_LATEST_VERSION),
        "{versions:?}"
    );

    // Publish a new app from a real package, then a new version for review.
    let external_id = "e2e0c0de-0000-4000-8000-000000000001";
    let published = adele
        .publish_app(
            build_package(external_id, "1.0.0", "E2E App", &serde_json::Map::new()),
            false,
        )
        .await
        .unwrap();
    assert_eq!(published.external_id.as_deref(), Some(external_id));
    let id = TeamsAppId::new(published.id.clone().unwrap()).unwrap();
    adele
        .update_app(
            &id,
            build_package(external_id, "1.1.0", "E2E App", &serde_json::Map::new()),
            true,
        )
        .await
        .unwrap();
    let definitions: Vec<TeamsAppDefinition> = adele
        .items(&ListCatalogAppDefinitions::new(id.clone()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(definitions.len(), 2, "{definitions:?}");
    let submitted = definitions
        .iter()
        .find(|d| d.publishing_state == Some(TeamsAppPublishingState::Submitted))
        .unwrap_or_else(|| panic!("1.1.0 waits for review: {definitions:?}"));
    let submitted_id = TeamsAppDefinitionId::new(submitted.id.clone().unwrap()).unwrap();
    let got = adele
        .send(&GetCatalogAppDefinition::new(
            id.clone(),
            submitted_id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(got.version.as_deref(), Some("1.1.0"));
    // The published Contoso Tasks definition's bot.
    let tasks_id = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    let tasks_definition = adele
        .items(&ListCatalogAppDefinitions::new(tasks_id.clone()))
        .try_collect::<Vec<TeamsAppDefinition>>()
        .await
        .unwrap()
        .into_iter()
        .find_map(|d| d.id)
        .map(|id| TeamsAppDefinitionId::new(id).unwrap())
        .unwrap();
    let bot = adele
        .send(&GetCatalogAppDefinitionBot::new(tasks_id, tasks_definition))
        .await
        .unwrap();
    assert!(bot.id.is_some(), "{bot:?}");

    // Review: approve the submitted version.
    let reviewed = adele
        .send(&ReviewCatalogAppDefinition::new(
            id.clone(),
            submitted_id,
            TeamsAppDefinition {
                publishing_state: Some(TeamsAppPublishingState::Published),
                ..TeamsAppDefinition::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        reviewed.publishing_state,
        Some(TeamsAppPublishingState::Published)
    );

    // Delete, then the app is gone.
    adele
        .send(&DeleteCatalogApp::new(id.clone()))
        .await
        .unwrap();
    let gone = adele.send(&GetCatalogApp::new(id)).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

/// `$batch` through the client's builder: 22 lists (two batches), then upgrades that depend on
/// them, typed results per item.
async fn batch(emulator: &TestEmulator, app: &Client) {
    let chats: Vec<ChatId> = (5..27)
        .map(|n| ChatId::new(demo::group_chat_id(n)).unwrap())
        .collect();
    let mut builder = app.batch();
    let lists: Vec<_> = chats
        .iter()
        .map(|chat| {
            builder
                .add(&ListChatInstalledApps::new(chat.clone()).expand(["teamsApp"]))
                .unwrap()
        })
        .collect();
    let mut results = builder.send().await;
    assert_eq!(results.len(), chats.len());
    let mut installations = Vec::new();
    for (chat, item) in chats.iter().zip(&lists) {
        let page = results.take(item).unwrap();
        let tasks = page
            .value
            .into_iter()
            .find(|i| {
                i.teams_app
                    .as_ref()
                    .is_some_and(|a| a.id.as_deref() == Some(demo::TASKS_APP_ID))
            })
            .unwrap_or_else(|| panic!("Contoso Tasks in {chat:?}"));
        installations.push((
            chat.clone(),
            AppInstallationId::new(tasks.id.unwrap()).unwrap(),
        ));
    }

    // Upgrades, each after a read of the same chat (dependsOn), and one of an unknown
    // installation, which fails alone.
    let mut builder = app.batch();
    let mut upgrades = Vec::new();
    for (chat, installation) in installations.iter().take(9) {
        let read = builder
            .add(&ListChatInstalledApps::new(chat.clone()))
            .unwrap();
        let upgrade = builder
            .add(&UpgradeChatApp::new(chat.clone(), installation.clone()))
            .unwrap();
        builder.depends_on(&upgrade, &read).unwrap();
        upgrades.push((installation.clone(), upgrade));
    }
    let unknown =
        AppInstallationId::build(chats[0].as_str(), "00000000-0000-4000-8000-00000000dead")
            .unwrap();
    let missing = builder
        .add(&UpgradeChatApp::new(chats[0].clone(), unknown))
        .unwrap();
    let mut results = builder.send().await;
    for (installation, item) in &upgrades {
        results
            .take(item)
            .unwrap_or_else(|e| panic!("upgrading {installation:?}: {e}"));
        let state = emulator.admin().installation(installation.as_str()).await;
        assert_eq!(state["upgradeCount"], 1, "{state}");
    }
    let err = results.take(&missing).unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// The `/beta` prefix and the namespaced action alias (`…/microsoft.graph.upgrade`) are checked
/// as the operations they are.
#[tokio::test]
async fn beta_and_the_namespaced_alias_are_checked_as_their_operations() {
    let emulator = TestEmulator::demo().await;
    let beta = emulator
        .client_builder()
        .base_url(format!("{}/beta", emulator.origin()))
        .credential(teamsapp_e2e::demo_app_credential(emulator.authority()))
        .build()
        .unwrap();
    let chat = Scope::Chat(ChatId::new(demo::SEED_CHAT_ID).unwrap());
    assert!(
        !beta
            .installed_apps(&chat, &ListQuery::new())
            .await
            .unwrap()
            .is_empty()
    );

    let token = emulator
        .admin()
        .token(serde_json::json!({"app": demo::CREDENTIALS.client_id}))
        .await;
    let alias = routes::UPGRADE_CHAT_APP.aliases[0]
        .replace(
            "{chat-id}",
            &teamsapp_types::operation::encode_path_segment(demo::SEED_CHAT_ID),
        )
        .replace(
            "{teamsAppInstallation-id}",
            &teamsapp_types::operation::encode_path_segment(demo::SEED_INSTALLATION_ID),
        );
    let answer = teamsapp_e2e::http_client()
        .post(format!("{}{alias}", emulator.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let seen = emulator.checker().seen();
    assert!(seen["chats.ListInstalledApps"].contains(&200));
    assert!(seen[routes::UPGRADE_CHAT_APP.operation_id].contains(&204));
    emulator.finish().await;
}
