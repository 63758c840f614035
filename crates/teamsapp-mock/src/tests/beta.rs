//! `/beta` answers with beta's shapes (beta CSDL; issue 11, item 8), through HTTP, over the real
//! model and the demo tenant; `/v1.0` keeps v1.0's.

use serde_json::{Value, json};
use teamsapp_model::demo;
use teamsapp_types::operation::encode_path_segment as enc;

use super::{Harness, request};

#[track_caller]
fn ok(status: http::StatusCode, body: &[u8], what: &str) -> Value {
    assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(body));
    serde_json::from_slice(body).unwrap()
}

async fn get(h: &Harness, token: &str, path: &str) -> Value {
    let reply = h.send(request("GET", path, Some(token), None)).await;
    ok(reply.status, &reply.body, path)
}

#[tokio::test]
async fn catalog_definitions_are_betas_on_beta() {
    let h = Harness::model(|c| c.throttle.enabled = false);
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let path = format!(
        "appCatalogs/teamsApps?$expand=appDefinitions&$filter=id+eq+'{}'",
        demo::TASKS_APP_ID
    );
    let beta = get(&h, &token, &format!("/beta/{path}")).await;
    let def = &beta["value"][0]["appDefinitions"][0];
    assert!(def.get("shortDescription").is_none(), "{def}");
    assert!(def.get("shortdescription").is_some(), "{def}");
    assert_eq!(def["azureADAppId"], demo::TASKS_CLIENT_APP_ID, "{def}");
    assert_eq!(def["allowedInstallationScopes"], Value::Null, "{def}");
    assert!(
        beta["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with("http://graph.test/beta/$metadata#"),
        "{beta}"
    );

    let v1 = get(&h, &token, &format!("/v1.0/{path}")).await;
    let def = &v1["value"][0]["appDefinitions"][0];
    assert!(def.get("shortDescription").is_some(), "{def}");
    for beta_only in [
        "shortdescription",
        "azureADAppId",
        "allowedInstallationScopes",
    ] {
        assert!(def.get(beta_only).is_none(), "{beta_only}: {def}");
    }

    // Each version's `$select` names its own properties.
    let reply = h
        .send(request(
            "GET",
            "/v1.0/appCatalogs/teamsApps?$expand=appDefinitions($select=azureADAppId)",
            Some(&token),
            None,
        ))
        .await;
    let message = reply.assert_graph_error(400, "BadRequest");
    assert!(
        message.contains("'azureADAppId' on type 'microsoft.graph.teamsAppDefinition'"),
        "{message}"
    );
    let beta = get(
        &h,
        &token,
        "/beta/appCatalogs/teamsApps?$expand=appDefinitions($select=id,azureADAppId)",
    )
    .await;
    let def = &beta["value"][0]["appDefinitions"][0];
    assert!(
        def.get("azureADAppId").is_some() && def.get("version").is_none(),
        "{def}"
    );
}

#[tokio::test]
async fn chat_installations_write_scope_info_on_beta() {
    let h = Harness::model(|c| c.throttle.enabled = false);
    let token = h.client_credentials(demo::CREDENTIALS).await;
    let chat = enc(demo::SEED_CHAT_ID);
    let beta = get(
        &h,
        &token,
        &format!(
            "/beta/chats/{chat}/installedApps?$select=id,scopeInfo&$expand=teamsAppDefinition"
        ),
    )
    .await;
    let item = &beta["value"][0];
    assert_eq!(
        item["scopeInfo"],
        json!({
            "@odata.type": "#microsoft.graph.groupChatTeamsAppInstallationScopeInfo",
            "scope": "groupChat",
            "chatId": demo::SEED_CHAT_ID,
        }),
        "{beta}"
    );
    assert!(
        item["teamsAppDefinition"].get("shortdescription").is_some(),
        "{item}"
    );

    // Installations default to their `id` on beta too.
    let plain = get(&h, &token, &format!("/beta/chats/{chat}/installedApps")).await;
    assert!(plain["value"][0].get("scopeInfo").is_none(), "{plain}");

    let reply = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{chat}/installedApps?$select=id,scopeInfo"),
            Some(&token),
            None,
        ))
        .await;
    let message = reply.assert_graph_error(400, "BadRequest");
    assert!(message.contains("'scopeInfo'"), "{message}");
}

#[tokio::test]
async fn the_review_answers_in_betas_shape_on_beta() {
    let h = Harness::model(|c| c.throttle.enabled = false);
    let token = h.user_token(demo::ADELE);
    let submitted = teamsapp_types::TeamsAppDefinitionId::build(
        &teamsapp_types::TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
        demo::TASKS_SUBMITTED_VERSION,
        Some("Submitted"),
    )
    .unwrap();
    let path = format!(
        "/beta/appCatalogs/teamsApps/{}/appDefinitions/{}",
        demo::TASKS_APP_ID,
        enc(submitted.as_str())
    );
    let reply = h
        .send(request(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"publishingState": "published"})),
        ))
        .await;
    let def = ok(reply.status, &reply.body, &path);
    assert_eq!(def["publishingState"], "published", "{def}");
    assert!(def.get("shortDescription").is_none(), "{def}");
    assert!(def.get("shortdescription").is_some(), "{def}");
    assert!(def.get("azureADAppId").is_some(), "{def}");
}
