//! The Graph handlers over the real model and the demo tenant.

use std::sync::Arc;

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};
use teamsapp_model::demo;

use super::{Harness, request};
use teamsapp_types::operation::encode_path_segment;

fn seed_path() -> String {
    // Verbatim from Graph's documentation: the chat id raw, the installation id padded.
    format!(
        "/v1.0/chats/{}/installedApps/{}/upgrade",
        demo::SEED_CHAT_ID,
        demo::SEED_INSTALLATION_ID
    )
}

async fn installation(h: &Harness, id: &str) -> Value {
    let reply = h
        .send(request(
            "GET",
            &format!(
                "/_emulator/installations/{}",
                teamsapp_types::operation::encode_path_segment(id)
            ),
            None,
            None,
        ))
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

#[tokio::test]
async fn the_seed_example_upgrades_to_the_latest_version() {
    let h = Harness::model(|_| {});
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["version"],
        demo::TASKS_OLD_VERSION
    );
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let req = Request::post(seed_path())
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let reply = h.send(req).await;
    assert_eq!(
        reply.status,
        204,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.body.is_empty());
    let after = installation(&h, demo::SEED_INSTALLATION_ID).await;
    assert_eq!(after["version"], demo::TASKS_LATEST_VERSION);
    assert_eq!(after["upgradeCount"], 1);
    assert_eq!(
        h.state.metrics().upgrades.get(demo::SEED_INSTALLATION_ID),
        Some(&1)
    );

    // Graph shows the new version too.
    let path = format!(
        "/v1.0/chats/{}/installedApps/{}?$expand=teamsAppDefinition",
        demo::SEED_CHAT_ID,
        demo::SEED_INSTALLATION_ID
    );
    let body = h
        .send(request("GET", &path, Some(&token), None))
        .await
        .json();
    assert_eq!(
        body["teamsAppDefinition"]["version"],
        demo::TASKS_LATEST_VERSION
    );
    assert_eq!(
        body["@odata.context"],
        "http://graph.test/v1.0/$metadata#chats('19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2')/installedApps(teamsAppDefinition())/$entity"
    );
}

#[tokio::test]
async fn a_self_permission_for_another_app_is_a_403() {
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::SELF_APP_CREDENTIALS).await;
    let reply = h
        .send(request("POST", &seed_path(), Some(&token), Some(json!({}))))
        .await;
    let message = reply.assert_graph_error(403, "Forbidden");
    assert!(!message.is_empty());
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["version"],
        demo::TASKS_OLD_VERSION
    );
}

#[tokio::test]
async fn lists_page_with_absolute_next_links() {
    let h = Harness::model(|c| c.world = teamsapp_model::WorldConfig::default().with_page_size(2));
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let first = h
        .send(request(
            "GET",
            "/v1.0/users?$select=id,displayName",
            Some(&token),
            None,
        ))
        .await
        .json();
    assert_eq!(
        first["@odata.context"],
        "http://graph.test/v1.0/$metadata#users(id,displayName)"
    );
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with("http://graph.test/v1.0/users?$select=id,displayName&$skiptoken="),
        "{next}"
    );
    let mut seen: Vec<Value> = first["value"].as_array().unwrap().clone();
    let mut link = Some(next.to_owned());
    while let Some(url) = link {
        let path = url.trim_start_matches("http://graph.test");
        let page = h
            .send(request("GET", path, Some(&token), None))
            .await
            .json();
        seen.extend(page["value"].as_array().unwrap().iter().cloned());
        link = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let mut ids: Vec<&str> = seen.iter().map(|v| v["id"].as_str().unwrap()).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a page repeated an item");
    assert!(total >= 4, "{total}");
}

#[tokio::test]
async fn install_twice_is_a_409_and_unknown_installations_a_404() {
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let body = json!({"teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}", demo::TASKS_APP_ID)});
    let path = format!("/v1.0/chats/{}/installedApps", demo::SEED_CHAT_ID);
    h.send(request("POST", &path, Some(&token), Some(body)))
        .await
        .assert_graph_error(409, "Conflict");
    let unknown = teamsapp_types::AppInstallationId::build(demo::SEED_CHAT_ID, "nope").unwrap();
    let path = format!(
        "/v1.0{}",
        teamsapp_types::routes::UPGRADE_CHAT_APP.render(&[demo::SEED_CHAT_ID, unknown.as_str()])
    );
    h.send(request("POST", &path, Some(&token), None))
        .await
        .assert_graph_error(404, "NotFound");
}

#[tokio::test]
async fn publish_answers_201_with_location() {
    let h = Harness::model(|_| {});
    let token = h.user_token(demo::ADELE);
    let package = teamsapp_model::package::build_package(
        "3f0c9d4e-1111-4222-8333-944445555666",
        "1.0.0",
        "Emulated App",
        &serde_json::Map::new(),
    );
    let req = Request::post("/v1.0/appCatalogs/teamsApps")
        .header("host", "graph.test")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/zip")
        .body(Body::from(package))
        .unwrap();
    let reply = h.send(req).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("http://graph.test/v1.0/appCatalogs/teamsApps/{id}").as_str())
    );
    assert_eq!(
        body["@odata.context"],
        "http://graph.test/v1.0/$metadata#appCatalogs/teamsApps/$entity"
    );
    // A garbage package is Graph's 400 with the inner code.
    let req = Request::post("/v1.0/appCatalogs/teamsApps")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/zip")
        .body(Body::from("not a zip"))
        .unwrap();
    let reply = h.send(req).await;
    reply.assert_graph_error(400, "BadRequest");
    assert_eq!(
        reply.json()["error"]["innerError"]["code"],
        "UnableToParseTeamsAppManifest"
    );
}

#[tokio::test]
async fn batches_of_upgrades_reach_the_model() {
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let url = teamsapp_types::routes::UPGRADE_CHAT_APP
        .render(&[demo::SEED_CHAT_ID, demo::SEED_INSTALLATION_ID]);
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": url, "headers": {"Content-Type": "application/json"}, "body": {}},
        {"id": "2", "method": "POST", "url": url, "dependsOn": ["1"]},
    ]});
    let body = h
        .send(request("POST", "/v1.0/$batch", Some(&token), Some(batch)))
        .await
        .json();
    assert_eq!(body["responses"][0]["status"], 204, "{body}");
    assert_eq!(body["responses"][1]["status"], 204, "{body}");
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["upgradeCount"],
        2
    );
}

#[tokio::test]
async fn tenants_load_and_reset_through_the_admin_api() {
    let h = Harness::model(|_| {});
    let spec = json!({
        "tenantId": "0a0a0a0a-0000-4000-8000-000000000001",
        "displayName": "Fabrikam",
        "users": [{"id": "0a0a0a0a-0000-4000-8000-0000000000aa", "userPrincipalName": "kim@fabrikam.example", "displayName": "Kim"}],
        "appRegistrations": [{"clientId": "0a0a0a0a-0000-4000-8000-0000000000bb", "clientSecret": "fab-secret", "displayName": "Fab tool",
            "applicationPermissions": ["TeamsAppInstallation.ReadForChat.All"]}]
    });
    let reply = h
        .send(request("POST", "/_emulator/tenants", None, Some(spec)))
        .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["displayName"], "Fabrikam");
    // Its app can get a token at once, by tenant id or by its users' domain.
    let form = "grant_type=client_credentials&client_id=0a0a0a0a-0000-4000-8000-0000000000bb&client_secret=fab-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    let req = Request::post("/fabrikam.example/oauth2/v2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    assert_eq!(h.send(req).await.status, 200);
    let state = h
        .send(request("GET", "/_emulator/state", None, None))
        .await
        .json();
    assert_eq!(state["model"]["tenants"].as_array().unwrap().len(), 2);

    let bad = h
        .send(request(
            "POST",
            "/_emulator/tenants",
            None,
            Some(json!({"tenantId": "x", "nope": 1})),
        ))
        .await;
    bad.assert_graph_error(400, "BadRequest");

    assert_eq!(
        h.send(request("POST", "/_emulator/reset", None, None))
            .await
            .status,
        204
    );
    let state = h
        .send(request("GET", "/_emulator/state", None, None))
        .await
        .json();
    assert_eq!(state["model"]["tenants"].as_array().unwrap().len(), 1);
    let req = Request::post("/fabrikam.example/oauth2/v2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    assert_eq!(h.send(req).await.status, 400);
}

/// A model harness whose only tenants come from `make`, called with how many times it was called
/// before; the count is returned beside it.
fn with_source(
    make: impl Fn(usize) -> Result<Vec<teamsapp_model::TenantSpec>, String> + Send + Sync + 'static,
) -> (Harness, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let h = Harness::model(move |c| {
        c.tenants.clear();
        c.tenant_source = Some(crate::TenantSource::new(move || {
            make(counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        }));
    });
    (h, calls)
}

/// Upgrades the seed's installation with the demo's credentials; the answer's status.
async fn upgrade_seed(h: &Harness) -> http::StatusCode {
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let req = Request::post(seed_path())
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    h.send(req).await.status
}

#[tokio::test]
async fn a_tenant_source_is_made_at_start_and_again_at_each_reset_never_kept() {
    use std::sync::atomic::Ordering;
    let (h, made) = with_source(|_| Ok(vec![demo::tenant()]));
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert_eq!(upgrade_seed(&h).await, 204);
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["version"],
        "1.1.0"
    );
    assert!(h.state.config().tenants.is_empty());

    let reply = h
        .send(request("POST", "/_emulator/reset", None, None))
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(made.load(Ordering::SeqCst), 2);
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["version"],
        demo::TASKS_OLD_VERSION
    );
}

#[tokio::test]
async fn a_reset_whose_source_fails_is_refused_and_changes_nothing() {
    let (h, _) = with_source(|calls| {
        if calls == 0 {
            Ok(vec![demo::tenant()])
        } else {
            Err("contoso.json: expected value at line 1 column 1".to_owned())
        }
    });
    assert_eq!(upgrade_seed(&h).await, 204);

    let reply = h
        .send(request("POST", "/_emulator/reset", None, None))
        .await;
    reply.assert_graph_error(409, "Conflict");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("contoso.json: expected value at line 1 column 1"),
        "{message}"
    );
    // Nothing was reset: the upgrade stands.
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["version"],
        "1.1.0"
    );
}

#[tokio::test]
async fn a_failing_tenant_source_fails_the_start_with_its_message() {
    let config = crate::EmulatorConfig {
        tenant_source: Some(crate::TenantSource::new(|| {
            Err("contoso.json is not a tenant file".to_owned())
        })),
        ..crate::EmulatorConfig::default()
    };
    let Err(error) = crate::AppState::new(config) else {
        panic!("the start succeeded");
    };
    assert!(
        error
            .to_string()
            .contains("contoso.json is not a tenant file"),
        "{error}"
    );
}

#[tokio::test]
async fn the_demo_emulator_serves_its_credentials() {
    let emulator = crate::Emulator::demo().await.unwrap();
    let creds = emulator.credentials().unwrap();
    assert_eq!(creds.tenant_id, demo::CREDENTIALS.tenant_id);
    assert_eq!(creds.client_id, demo::CREDENTIALS.client_id);
    assert!(creds.client_secret.matches(demo::CREDENTIALS.client_secret));
    assert_eq!(
        creds.token_url,
        format!(
            "{}/{}/oauth2/v2.0/token",
            emulator.origin(),
            demo::TENANT_ID
        )
    );
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_update_for_review_answers_201_with_the_submitted_definition() {
    let h = Harness::model(|_| {});
    let token = h.user_token(demo::ADELE);
    let external = "3f0c9d4e-1111-4222-8333-944445555777";
    let zip = |version: &str| {
        teamsapp_model::package::build_package(
            external,
            version,
            "Reviewed App",
            &serde_json::Map::new(),
        )
    };
    let post = |path: String, version: &str| {
        Request::post(path)
            .header("host", "graph.test")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/zip")
            .body(Body::from(zip(version)))
            .unwrap()
    };
    let published = h
        .send(post("/v1.0/appCatalogs/teamsApps".to_owned(), "1.0.0"))
        .await;
    assert_eq!(published.status, 201);
    let app = published.json()["id"].as_str().unwrap().to_owned();
    let definitions = format!("/v1.0/appCatalogs/teamsApps/{app}/appDefinitions");

    // With review: 201, the submitted definition, its Location (Update teamsApp, Example 2).
    let reply = h
        .send(post(format!("{definitions}?requiresReview=true"), "1.1.0"))
        .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["publishingState"], "submitted");
    assert_eq!(body["version"], "1.1.0");
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(
            format!(
                "http://graph.test{definitions}/{}",
                teamsapp_types::operation::encode_path_segment(id)
            )
            .as_str()
        )
    );
    assert_eq!(
        body["@odata.context"],
        format!(
            "http://graph.test/v1.0/$metadata#appCatalogs/teamsApps('{app}')/appDefinitions/$entity"
        )
    );

    // Without: 204, no body.
    let reply = h.send(post(definitions.clone(), "1.2.0")).await;
    assert_eq!(
        reply.status,
        204,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn definitions_carry_an_etag_and_the_review_checks_if_match() {
    let h = Harness::model(|_| {});
    let token = h.user_token(demo::ADELE);
    let app = demo::TASKS_APP_ID;
    let list = h
        .send(request(
            "GET",
            &format!("/v1.0/appCatalogs/teamsApps/{app}/appDefinitions"),
            Some(&token),
            None,
        ))
        .await
        .json();
    let submitted = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["publishingState"] == "submitted")
        .expect("the demo has a submitted version")
        .clone();
    let etag = submitted["@odata.etag"].as_str().unwrap().to_owned();
    // Base64 of a quoted string, as Graph writes them.
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &etag).unwrap();
    let decoded = String::from_utf8(decoded).unwrap();
    assert!(
        decoded.starts_with('"') && decoded.ends_with('"'),
        "{decoded}"
    );

    let path = format!(
        "/v1.0/appCatalogs/teamsApps/{app}/appDefinitions/{}",
        teamsapp_types::operation::encode_path_segment(submitted["id"].as_str().unwrap())
    );
    let review = |if_match: &str| {
        let mut req = request(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"publishingState": "published"})),
        );
        req.headers_mut()
            .insert("if-match", if_match.parse().unwrap());
        req
    };
    h.send(review("\"c3RhbGU=\""))
        .await
        .assert_graph_error(412, "PreconditionFailed");
    let reply = h.send(review(&etag)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let reviewed = reply.json();
    assert_eq!(reviewed["publishingState"], "published");
    assert_ne!(
        reviewed["@odata.etag"], etag,
        "the etag changes with the definition"
    );
}

#[tokio::test]
async fn deletes_ignore_if_match_as_odata_does_without_a_concurrency_token() {
    // Neither installations nor catalog apps carry an `@odata.etag`, and the CSDL declares no
    // concurrency token for them: there is no tag an `If-Match` could be compared with.
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let path = format!(
        "/v1.0{}",
        teamsapp_types::routes::UNINSTALL_CHAT_APP
            .render(&[demo::SEED_CHAT_ID, demo::SEED_INSTALLATION_ID])
    );
    let installation = h
        .send(request("GET", &path, Some(&token), None))
        .await
        .json();
    assert!(installation.get("@odata.etag").is_none(), "{installation}");
    let mut delete = request("DELETE", &path, Some(&token), None);
    delete
        .headers_mut()
        .insert("if-match", "\"c3RhbGU=\"".parse().unwrap());
    let reply = h.send(delete).await;
    assert_eq!(
        reply.status,
        204,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    h.send(request("GET", &path, Some(&token), None))
        .await
        .assert_graph_error(404, "NotFound");
}

#[tokio::test]
async fn graphs_other_paths_to_the_same_installations_answer_the_same() {
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let chat = teamsapp_types::operation::encode_path_segment(demo::SEED_CHAT_ID);
    let canonical = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{chat}/installedApps"),
            Some(&token),
            None,
        ))
        .await
        .json();
    // (`/me/…` needs a delegated token: `tests::navigation::me_with_an_application_token`.)
    for alias in [format!(
        "/v1.0/users/{}/chats/{chat}/installedApps",
        demo::ADELE
    )] {
        let reply = h.send(request("GET", &alias, Some(&token), None)).await;
        assert_eq!(
            reply.status,
            200,
            "{alias}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["value"], canonical["value"], "{alias}");
    }
    // The upgrade through an alias reaches the same installation.
    let upgrade = format!(
        "/v1.0/users/{}/chats/{chat}/installedApps/{}/upgrade",
        demo::ADELE,
        teamsapp_types::operation::encode_path_segment(demo::SEED_INSTALLATION_ID)
    );
    let reply = h
        .send(request("POST", &upgrade, Some(&token), Some(json!({}))))
        .await;
    assert_eq!(
        reply.status,
        204,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        installation(&h, demo::SEED_INSTALLATION_ID).await["upgradeCount"],
        1
    );
    // A team through its group.
    let team = demo_team_id(&h, &token).await;
    let via_group = h
        .send(request(
            "GET",
            &format!("/v1.0/groups/{team}/team/installedApps"),
            Some(&token),
            None,
        ))
        .await;
    assert_eq!(
        via_group.status,
        200,
        "{}",
        String::from_utf8_lossy(&via_group.body)
    );
}

/// The id of the demo's first team, through `GET /teams`.
async fn demo_team_id(h: &Harness, token: &str) -> String {
    let teams = h
        .send(request("GET", "/v1.0/teams", Some(token), None))
        .await
        .json();
    teams["value"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn contexts_write_select_and_expand_as_graphs_examples_do() {
    let h = Harness::model(|_| {});
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let get = |path: String| {
        let h = &h;
        let token = token.clone();
        async move {
            h.send(request("GET", &path, Some(&token), None))
                .await
                .json()
        }
    };
    let metadata = "http://graph.test/v1.0/$metadata#";
    let tasks = demo::TASKS_APP_ID;

    // Catalog Example 7: a nested `$select` is written into the clause, and each app carries
    // `appDefinitions@odata.context`.
    let body = get(format!(
        "/v1.0/appCatalogs/teamsApps?$filter=id%20eq%20'{tasks}'&$expand=appDefinitions($select=id,authorization)"
    ))
    .await;
    assert_eq!(
        body["@odata.context"],
        format!("{metadata}appCatalogs/teamsApps(appDefinitions(id,authorization))")
    );
    assert_eq!(
        body["value"][0]["appDefinitions@odata.context"],
        format!("{metadata}appCatalogs/teamsApps('{tasks}')/appDefinitions(id,authorization)")
    );
    // The same on a single app.
    let body = get(format!(
        "/v1.0/appCatalogs/teamsApps/{tasks}?$expand=appDefinitions($select=id,version)"
    ))
    .await;
    assert_eq!(
        body["appDefinitions@odata.context"],
        format!("{metadata}appCatalogs/teamsApps('{tasks}')/appDefinitions(id,version)")
    );

    // Catalog Example 5: a nested `$expand` of a collection is written, without the annotation.
    let body = get("/v1.0/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)".into()).await;
    assert_eq!(
        body["@odata.context"],
        format!("{metadata}appCatalogs/teamsApps(appDefinitions(bot()))")
    );
    assert!(
        body["value"][0]
            .get("appDefinitions@odata.context")
            .is_none()
    );

    // Chat-list Example 2: a single navigation's nested options are not written.
    let chat = encode_path_segment(demo::SEED_CHAT_ID);
    let body = get(format!(
        "/v1.0/chats/{}/installedApps?$expand=teamsAppDefinition($expand=bot)",
        demo::SEED_CHAT_ID
    ))
    .await;
    assert_eq!(
        body["@odata.context"],
        format!("{metadata}chats('{chat}')/installedApps(teamsAppDefinition())")
    );
    // `$select` and `$expand` together: the selected properties, then the expansions.
    let body = get(format!(
        "/v1.0/chats/{}/installedApps?$select=id,consentedPermissionSet&$expand=teamsApp",
        demo::SEED_CHAT_ID
    ))
    .await;
    assert_eq!(
        body["@odata.context"],
        format!("{metadata}chats('{chat}')/installedApps(id,consentedPermissionSet,teamsApp())")
    );

    // A personal installation's chat: the CSDL binds no entity set to the navigation, so the
    // context is the navigation path.
    let installation =
        teamsapp_types::AppInstallationId::build(demo::ADELE, demo::TASKS_APP_ID).unwrap();
    let installation = installation.as_str();
    let body = get(format!(
        "/v1.0/users/{}/teamwork/installedApps/{installation}/chat",
        demo::ADELE
    ))
    .await;
    assert_eq!(
        body["@odata.context"],
        format!(
            "{metadata}users('{}')/teamwork/installedApps('{}')/chat/$entity",
            demo::ADELE,
            encode_path_segment(installation)
        ),
        "{body}"
    );
}

/// Each tenant is served under its own lock: while a call of one tenant holds it (as a slow
/// durable write would), a call of another tenant goes through at once, and the first
/// tenant's next call waits its turn.
#[tokio::test]
async fn one_tenants_calls_do_not_wait_for_anothers() {
    use futures_util::FutureExt as _;
    use tower::ServiceExt as _;

    const OTHER: &str = "c0ffee00-0000-4000-8000-0000000000b2";
    let clock = Arc::new(crate::ManualClock::at_2025());
    let config = crate::EmulatorConfig {
        clock: clock.clone(),
        origins: vec![super::TEST_ORIGIN.to_owned()],
        ..crate::EmulatorConfig::demo()
    };
    let mut other = demo::tenant();
    other.tenant_id = OTHER.to_owned();
    let backend = Arc::new(
        crate::model::ModelBackend::open(
            config.world.clone(),
            vec![demo::tenant(), other],
            None,
            None,
            clock.clone(),
        )
        .unwrap(),
    );
    let state = crate::AppState::with_backend(config, Box::new(backend.clone())).unwrap();
    let h = Harness {
        app: crate::router(state.clone()),
        state,
        clock,
    };
    let demo_token = h.client_credentials(demo::CREDENTIALS).await;
    let other_token = h
        .client_credentials(demo::DemoCredentials {
            tenant_id: OTHER,
            ..demo::CREDENTIALS
        })
        .await;
    let upgrade = |token: &str| {
        Request::post(seed_path())
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("host", "graph.test")
            .body(Body::from("{}"))
            .unwrap()
    };

    let shards = backend.shards().await;
    let held = shards
        .tenant(demo::CREDENTIALS.tenant_id)
        .unwrap()
        .lock()
        .await;
    // The other tenant's upgrade completes in one poll: nothing it needs is held.
    let other_reply = h
        .app
        .clone()
        .oneshot(upgrade(&other_token))
        .now_or_never()
        .expect("the other tenant's call waited for the held tenant")
        .unwrap();
    assert_eq!(other_reply.status(), 204);
    // The held tenant's own upgrade waits for its lock, and completes once it is released.
    let mut demo_call = Box::pin(h.app.clone().oneshot(upgrade(&demo_token)));
    assert!(
        (&mut demo_call).now_or_never().is_none(),
        "the held tenant did not wait"
    );
    drop(held);
    drop(shards);
    assert_eq!(demo_call.await.unwrap().status(), 204);
    for tenant in [demo::CREDENTIALS.tenant_id, OTHER] {
        let world = backend.shards().await;
        let world = world.tenant(tenant).unwrap().lock().await;
        let id = teamsapp_types::AppInstallationId::new(demo::SEED_INSTALLATION_ID).unwrap();
        assert_eq!(world.upgrade_count(tenant, &id), Some(1), "{tenant}");
    }
}
