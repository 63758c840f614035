//! Every operation of the route table: exact method, encoded path, query, body and headers.

use std::future::Future;
use std::pin::Pin;

use serde_json::json;
use teamsapp_client::{Client, Error, ListQuery, Scope};
use teamsapp_types::operation::{ResponseShape, Route};
use teamsapp_types::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

type Run = Box<dyn Fn(Client) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>>;

struct Case {
    route: &'static Route,
    path: String,
    query: Option<&'static str>,
    body: Option<(&'static str, Vec<u8>)>,
    run: Run,
}

fn case<O>(
    op: O,
    path: impl Into<String>,
    query: Option<&'static str>,
    body: Option<(&'static str, Vec<u8>)>,
) -> Case
where
    O: Operation + Send + Sync + 'static,
    O::Response: Send,
{
    let op = std::sync::Arc::new(op);
    Case {
        route: O::ROUTE,
        path: path.into(),
        query,
        body,
        run: Box::new(move |client| {
            let op = op.clone();
            Box::pin(async move { client.send(&*op).await.map(|_| ()) })
        }),
    }
}

fn json_body(value: &serde_json::Value) -> Option<(&'static str, Vec<u8>)> {
    let bytes = serde_json::to_vec(value).ok()?;
    Some(("application/json", bytes))
}

fn bind() -> InstalledAppsPostRequestBody {
    InstalledAppsPostRequestBody {
        teams_app_odata_bind: format!(
            "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{APP}"
        ),
        ..Default::default()
    }
}

fn bind_json() -> serde_json::Value {
    json!({ "teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{APP}") })
}

fn consent() -> TeamsAppPermissionSet {
    TeamsAppPermissionSet {
        resource_specific_permissions: Some(vec![TeamsAppResourceSpecificPermission {
            permission_type: Some(TeamsAppResourceSpecificPermissionType::Application),
            permission_value: Some("ChatMessage.Read.Chat".into()),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// One case per route, with the path and query exactly as they must go on the wire.
fn cases() -> Vec<Case> {
    let c = format!("/v1.0/chats/{CHAT_ENC}/installedApps");
    let t = format!("/v1.0/teams/{TEAM}/installedApps");
    let u = format!("/v1.0/users/{USER_ENC}/teamwork/installedApps");
    let a = "/v1.0/appCatalogs/teamsApps".to_owned();
    let zip = b"PK\x03\x04fake zip".to_vec();
    vec![
        case(
            ListChatInstalledApps::new(chat())
                .filter("teamsApp/id eq 'x'")
                .expand(["teamsApp", "teamsAppDefinition"]),
            c.clone(),
            Some("$filter=teamsApp/id%20eq%20%27x%27&$expand=teamsApp,teamsAppDefinition"),
            None,
        ),
        case(
            InstallChatApp::new(chat(), bind()),
            c.clone(),
            None,
            json_body(&bind_json()),
        ),
        case(
            GetChatInstalledApp::new(chat(), installation())
                .select(["consentedPermissionSet", "id"]),
            format!("{c}/{INSTALLATION_ENC}"),
            Some("$select=consentedPermissionSet,id"),
            None,
        ),
        case(
            UninstallChatApp::new(chat(), installation()),
            format!("{c}/{INSTALLATION_ENC}"),
            None,
            None,
        ),
        case(
            UpgradeChatApp::new(chat(), installation()),
            format!("{c}/{INSTALLATION_ENC}/upgrade"),
            None,
            json_body(&json!({})),
        ),
        case(
            ListTeamInstalledApps::new(team()).select(["id", "consentedPermissionSet"]),
            t.clone(),
            Some("$select=id,consentedPermissionSet"),
            None,
        ),
        case(
            InstallTeamApp::new(team(), bind()),
            t.clone(),
            None,
            json_body(&bind_json()),
        ),
        case(
            GetTeamInstalledApp::new(team(), installation())
                .expand(["teamsAppDefinition($expand=bot)"]),
            format!("{t}/{INSTALLATION_ENC}"),
            Some("$expand=teamsAppDefinition($expand%3Dbot)"),
            None,
        ),
        case(
            UninstallTeamApp::new(team(), installation()),
            format!("{t}/{INSTALLATION_ENC}"),
            None,
            None,
        ),
        case(
            UpgradeTeamApp::new(team(), installation()).with_body(UpgradePostRequestBody {
                consented_permission_set: Some(consent()),
                ..Default::default()
            }),
            format!("{t}/{INSTALLATION_ENC}/upgrade"),
            None,
            json_body(
                &json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
                    {"permissionType": "application", "permissionValue": "ChatMessage.Read.Chat"}
                ]}}),
            ),
        ),
        case(
            ListUserInstalledApps::new(user()).filter("teamsApp/externalId eq 'a+b'"),
            u.clone(),
            Some("$filter=teamsApp/externalId%20eq%20%27a%2Bb%27"),
            None,
        ),
        case(
            InstallUserApp::new(user(), bind()),
            u.clone(),
            None,
            json_body(&bind_json()),
        ),
        case(
            GetUserInstalledApp::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}"),
            None,
            None,
        ),
        case(
            UninstallUserApp::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}"),
            None,
            None,
        ),
        case(
            UpgradeUserApp::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}/upgrade"),
            None,
            json_body(&json!({})),
        ),
        case(
            GetUserInstalledAppChat::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}/chat"),
            None,
            None,
        ),
        case(
            ListCatalogApps::new().filter("distributionMethod eq 'organization'"),
            a.clone(),
            Some("$filter=distributionMethod%20eq%20%27organization%27"),
            None,
        ),
        case(
            PublishCatalogApp::new(zip.clone()).requires_review(true),
            a.clone(),
            Some("requiresReview=true"),
            Some(("application/zip", zip.clone())),
        ),
        case(GetCatalogApp::new(app()), format!("{a}/{APP}"), None, None),
        case(
            DeleteCatalogApp::new(app()),
            format!("{a}/{APP}"),
            None,
            None,
        ),
        case(
            ListCatalogAppDefinitions::new(app()),
            format!("{a}/{APP}/appDefinitions"),
            None,
            None,
        ),
        case(
            UpdateCatalogApp::new(app(), zip.clone()),
            format!("{a}/{APP}/appDefinitions"),
            None,
            Some(("application/zip", zip)),
        ),
        case(
            GetCatalogAppDefinition::new(app(), definition()),
            format!("{a}/{APP}/appDefinitions/{DEFINITION_ENC}"),
            None,
            None,
        ),
        case(
            ReviewCatalogAppDefinition::new(
                app(),
                definition(),
                TeamsAppDefinition {
                    publishing_state: Some(TeamsAppPublishingState::Published),
                    ..Default::default()
                },
            ),
            format!("{a}/{APP}/appDefinitions/{DEFINITION_ENC}"),
            None,
            json_body(&json!({"publishingState": "published"})),
        ),
        case(
            CountChatInstalledApps::new(chat()).filter("teamsApp/id eq 'x'"),
            format!("{c}/$count"),
            Some("$filter=teamsApp/id%20eq%20%27x%27"),
            None,
        ),
        case(
            CountTeamInstalledApps::new(team()),
            format!("{t}/$count"),
            None,
            None,
        ),
        case(
            CountUserInstalledApps::new(user()),
            format!("{u}/$count"),
            None,
            None,
        ),
        case(
            GetChatInstalledAppTeamsApp::new(chat(), installation()).select(["displayName"]),
            format!("{c}/{INSTALLATION_ENC}/teamsApp"),
            Some("$select=displayName"),
            None,
        ),
        case(
            GetChatInstalledAppTeamsAppDefinition::new(chat(), installation()).expand(["bot"]),
            format!("{c}/{INSTALLATION_ENC}/teamsAppDefinition"),
            Some("$expand=bot"),
            None,
        ),
        case(
            GetTeamInstalledAppTeamsApp::new(team(), installation()),
            format!("{t}/{INSTALLATION_ENC}/teamsApp"),
            None,
            None,
        ),
        case(
            GetTeamInstalledAppTeamsAppDefinition::new(team(), installation()),
            format!("{t}/{INSTALLATION_ENC}/teamsAppDefinition"),
            None,
            None,
        ),
        case(
            GetUserInstalledAppTeamsApp::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}/teamsApp"),
            None,
            None,
        ),
        case(
            GetUserInstalledAppTeamsAppDefinition::new(user(), installation()),
            format!("{u}/{INSTALLATION_ENC}/teamsAppDefinition"),
            None,
            None,
        ),
        case(
            GetCatalogAppDefinitionBot::new(app(), definition()),
            format!("{a}/{APP}/appDefinitions/{DEFINITION_ENC}/bot"),
            None,
            None,
        ),
        case(
            ListUsers::new().select(["id", "displayName"]),
            "/v1.0/users",
            Some("$select=id,displayName"),
            None,
        ),
        case(
            ListUserChats::new(user()),
            format!("/v1.0/users/{USER_ENC}/chats"),
            None,
            None,
        ),
        case(
            GetChat::new(chat()),
            format!("/v1.0/chats/{CHAT_ENC}"),
            None,
            None,
        ),
        case(
            ListTeams::new().top(999),
            "/v1.0/teams",
            Some("$top=999"),
            None,
        ),
        case(
            Batch::new(BatchRequest {
                requests: vec![],
                ..Default::default()
            }),
            "/v1.0/$batch",
            None,
            json_body(&json!({"requests": []})),
        ),
    ]
}

/// A success answer for a route: its documented status, with a body that decodes.
fn success(route: &Route) -> ResponseTemplate {
    let template = ResponseTemplate::new(route.success.as_u16());
    match route.response {
        ResponseShape::Empty | ResponseShape::MaybeJson => template,
        ResponseShape::Json if route.request_type == "Batch" => {
            template.set_body_json(json!({"responses": []}))
        }
        ResponseShape::Json if route.request_type.starts_with("List") => {
            template.set_body_json(json!({"value": []}))
        }
        ResponseShape::Json => template.set_body_json(json!({"id": "x"})),
        ResponseShape::Text => template
            .set_body_string("3")
            .insert_header("content-type", "text/plain"),
    }
}

#[tokio::test]
async fn every_operation_sends_exactly_what_graph_expects() {
    let cases = cases();
    // The table covers the whole route table.
    let mut covered: Vec<_> = cases.iter().map(|c| c.route.operation_id).collect();
    let mut all: Vec<_> = routes::ALL.iter().map(|r| r.operation_id).collect();
    covered.sort_unstable();
    all.sort_unstable();
    assert_eq!(covered, all);

    for case in cases {
        let server = MockServer::start().await;
        Mock::given(method(case.route.method.as_str()))
            .and(path(case.path.as_str()))
            .respond_with(success(case.route))
            .expect(1)
            .mount(&server)
            .await;
        (case.run)(client(&server))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.route.operation_id));

        let requests = received(&server).await;
        assert_eq!(requests.len(), 1, "{}", case.route.operation_id);
        let r = &requests[0];
        let op = case.route.operation_id;
        assert_eq!(r.method.as_str(), case.route.method.as_str(), "{op}");
        assert_eq!(r.url.path(), case.path, "{op}");
        assert_eq!(r.url.query(), case.query, "{op}");
        assert_common_headers(&requests);
        assert_eq!(header(r, "accept"), Some("application/json"), "{op}");
        if let Some((content_type, bytes)) = &case.body {
            assert_eq!(header(r, "content-type"), Some(*content_type), "{op}");
            if *content_type == "application/json" {
                let sent: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                assert_eq!(sent, expected, "{op}");
            } else {
                assert_eq!(&r.body, bytes, "{op}");
            }
        } else {
            assert_eq!(header(r, "content-type"), None, "{op}");
            assert!(r.body.is_empty(), "{op}");
        }
    }
}

#[tokio::test]
async fn client_request_ids_differ_between_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let client = client(&server);
    for _ in 0..5 {
        client.send(&GetChat::new(chat())).await.unwrap();
    }
    let requests = received(&server).await;
    assert_eq!(requests.len(), 5);
    assert_common_headers(&requests);
}

#[tokio::test]
async fn install_accepts_200_and_201_with_or_without_a_body() {
    for (status, body) in [
        (201, None),
        (200, None),
        (201, Some(json!({"id": "new"}))),
        (200, Some(json!({"id": "new"}))),
    ] {
        let server = MockServer::start().await;
        let mut template = ResponseTemplate::new(status);
        if let Some(body) = &body {
            template = template.set_body_json(body);
        }
        Mock::given(method("POST"))
            .respond_with(template)
            .mount(&server)
            .await;
        let client = client(&server);
        for scope in [
            Scope::Chat(chat()),
            Scope::Team(team()),
            Scope::User(user()),
        ] {
            let installed = client.install(&scope, &app(), None).await.unwrap();
            assert_eq!(
                installed.and_then(|i| i.id).is_some(),
                body.is_some(),
                "{status} {scope:?}"
            );
        }
    }
}

#[tokio::test]
async fn scope_conveniences_map_to_the_right_operations() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/users/{USER_ENC}/teamwork/installedApps/{INSTALLATION_ENC}/upgrade"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/teams/{TEAM}/installedApps")))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "/v1.0/chats/{CHAT_ENC}/installedApps/{INSTALLATION_ENC}"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1.0/users/{USER_ENC}/teamwork/installedApps"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "i1", "chat": {"id": CHAT}}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .upgrade(&Scope::User(user()), &installation(), Some(consent()))
        .await
        .unwrap();
    client.install(&team().into(), &app(), None).await.unwrap();
    client
        .uninstall(&chat().into(), &installation())
        .await
        .unwrap();
    let listed = client
        .installed_apps(
            &Scope::User(user()),
            &ListQuery::new().expand(["teamsAppDefinition"]),
        )
        .await
        .unwrap();
    assert_eq!(listed[0].additional_properties["chat"]["id"], CHAT);

    let requests = received(&server).await;
    let upgrade: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        upgrade["consentedPermissionSet"]["resourceSpecificPermissions"][0]["permissionValue"],
        "ChatMessage.Read.Chat"
    );
    let install: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(
        install["teamsApp@odata.bind"],
        format!("{}/v1.0/appCatalogs/teamsApps/{APP}", server.uri())
    );
    assert_eq!(requests[3].url.query(), Some("$expand=teamsAppDefinition"));
}

#[tokio::test]
async fn operations_a_cloud_lacks_fail_before_any_request() {
    let server = MockServer::start().await;
    let client = builder(&server)
        .cloud(teamsapp_types::cloud::NationalCloud::China)
        .build()
        .unwrap();
    let err = client
        .upgrade(&Scope::Team(team()), &installation(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "teams.team.installedApps.teamsAppInstallation.upgrade is not available in the china cloud"
    );
    assert!(received(&server).await.is_empty());
}

#[test]
fn futures_and_streams_can_be_spawned() {
    fn is_send<T: Send + 'static>(_: &T) {}
    let client = Client::builder().build().unwrap();
    let op = UpgradeChatApp::new(chat(), installation());
    let c = client.clone();
    is_send(&async move { c.send(&op).await });
    is_send(&client.pages(&ListChatInstalledApps::new(chat())));
    is_send(&client.items(&ListCatalogApps::new()));
    let c = client.clone();
    is_send(&async move {
        c.installed_apps(&Scope::Team(team()), &ListQuery::new())
            .await
    });
    let mut batch = client.batch();
    batch
        .add(&UpgradeChatApp::new(chat(), installation()))
        .unwrap();
    is_send(&batch.send());
    is_send(&client);
}
