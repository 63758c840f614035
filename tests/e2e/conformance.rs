//! The conformance checker itself: it compiles the fragment, agrees with the route table, reads
//! Graph's nullable references the way Graph means them, and catches bodies that stray, both by
//! hand and through a live server in front of a real client.

use axum::Json;
use axum::routing::get;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use teamsapp_client::{Client, ListQuery, Scope, StaticToken};
use teamsapp_e2e::conformance::{Exchange, convert_schema};
use teamsapp_e2e::{Checker, REQUEST_TIMEOUT, Spec};
use teamsapp_types::ChatId;

const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";

fn exchange(method: Method, path: &str, status: u16, body: &Value) -> Exchange {
    Exchange {
        method,
        path: path.to_owned(),
        request_content_type: None,
        request_body: Bytes::new(),
        status,
        response_content_type: Some("application/json;odata.metadata=minimal".to_owned()),
        response_body: Bytes::from(body.to_string()),
    }
}

fn messages(checker: &Checker, exchange: &Exchange) -> Vec<String> {
    checker
        .record(exchange)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_fragment_compiles_and_agrees_with_the_route_table() {
    // `Spec::from_fragment` fails unless every route of routes::ALL is an operation of the
    // fragment with the same method, template and aliases, and the other way round.
    let spec = Spec::get();
    assert!(format!("{spec:?}").contains("chats.chat.installedApps.teamsAppInstallation.upgrade"));
}

#[test]
fn openapi_nullable_becomes_json_schema_null() {
    assert_eq!(
        convert_schema(&json!({"type": "string", "nullable": true, "x-ms-foo": 1, "example": "a"})),
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        convert_schema(&json!({"enum": ["a"], "type": "string", "nullable": true})),
        json!({"enum": ["a", null], "type": ["string", "null"]})
    );
    // Graph's nullable reference: the placeholder branch means null, not "any object".
    assert_eq!(
        convert_schema(&json!({"anyOf": [
            {"$ref": "#/components/schemas/microsoft.graph.teamsApp"},
            {"type": "object", "nullable": true}
        ]})),
        json!({"anyOf": [{"$ref": "#/$defs/microsoft.graph.teamsApp"}, {"type": "null"}]})
    );
    // A property *named* like a keyword is a property, not a keyword.
    assert_eq!(
        convert_schema(
            &json!({"properties": {"example": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}}})
        ),
        json!({"properties": {"example": {"type": "integer", "exclusiveMinimum": 0}}})
    );
}

#[test]
fn a_wrong_response_body_is_caught_with_operation_pointer_and_value() {
    let checker = Checker::new();
    let path = format!("/v1.0/chats/{CHAT}/installedApps?$expand=teamsAppDefinition");
    let good = json!({"value": [{"id": "x", "teamsAppDefinition": {"version": "1.0.0"}}]});
    assert!(messages(&checker, &exchange(Method::GET, &path, 200, &good)).is_empty());

    let bad = json!({"value": [{"id": "x", "teamsAppDefinition": {"version": 3}}]});
    assert_eq!(
        messages(&checker, &exchange(Method::GET, &path, 200, &bad)),
        [
            r#"GET /chats/{chat-id}/installedApps 200: /value/0/teamsAppDefinition/version: 3 is not of types "null", "string""#
        ]
    );
    // A nested enum, through a nullable reference, and a missing required property.
    let bad = json!({"value": [{"teamsApp": {"distributionMethod": "carrier pigeon"}}]});
    let found = messages(&checker, &exchange(Method::GET, &path, 200, &bad));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("GET /chats/{chat-id}/installedApps 200: /value/0/teamsApp/distributionMethod: \"carrier pigeon\""),
        "{found:?}"
    );
    let found = messages(&checker, &exchange(Method::GET, &path, 200, &json!({})));
    assert_eq!(
        found,
        [r#"GET /chats/{chat-id}/installedApps 200: "value" is a required property"#]
    );
    // Errors must be Graph's envelope.
    let found = messages(
        &checker,
        &exchange(
            Method::GET,
            &path,
            404,
            &json!({"error": {"message": "gone"}}),
        ),
    );
    assert_eq!(
        found,
        [r#"GET /chats/{chat-id}/installedApps 404: /error: "code" is a required property"#]
    );
    assert_eq!(checker.take_violations().len(), 4);
}

#[test]
fn beta_responses_are_checked_against_betas_shapes_from_the_fragment() {
    // `x-teamsapp-beta`: on `/beta` a definition spells `shortdescription` and has
    // `azureADAppId`/`allowedInstallationScopes`, an installation has `scopeInfo` (an object);
    // v1.0's `shortDescription` is not a beta property.
    let checker = Checker::new();
    let path =
        |version: &str| format!("/{version}/chats/{CHAT}/installedApps?$expand=teamsAppDefinition");
    let beta_body = json!({"value": [{
        "id": "x",
        "scopeInfo": {"@odata.type": "#microsoft.graph.groupChatTeamsAppInstallationScopeInfo",
                      "scope": "groupChat", "chatId": CHAT},
        "teamsAppDefinition": {"shortdescription": "s", "azureADAppId": null,
                               "allowedInstallationScopes": "team,groupChat"}
    }]});
    assert!(
        messages(
            &checker,
            &exchange(Method::GET, &path("beta"), 200, &beta_body)
        )
        .is_empty()
    );
    let v1_body = json!({"value": [{"id": "x", "teamsAppDefinition": {"shortDescription": "s"}}]});
    assert!(
        messages(
            &checker,
            &exchange(Method::GET, &path("v1.0"), 200, &v1_body)
        )
        .is_empty()
    );

    let found = messages(
        &checker,
        &exchange(Method::GET, &path("beta"), 200, &v1_body),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "GET /chats/{chat-id}/installedApps 200: /value/0/teamsAppDefinition/shortDescription"
        ),
        "{found:?}"
    );
    let bad = json!({"value": [{"id": "x", "scopeInfo": "groupChat",
                                "teamsAppDefinition": {"azureADAppId": 7}}]});
    let found = messages(&checker, &exchange(Method::GET, &path("BETA"), 200, &bad));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().any(|m| m.contains("/value/0/scopeInfo")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|m| m.contains("/value/0/teamsAppDefinition/azureADAppId")),
        "{found:?}"
    );
    // A personal installation (`userScopeTeamsAppInstallation`, through `allOf`) inherits it.
    let user = "/beta/users/02bd9fd6-8f93-4758-87c3-1fb73740a315/teamwork/installedApps";
    let found = messages(
        &checker,
        &exchange(
            Method::GET,
            user,
            200,
            &json!({"value": [{"id": "x", "scopeInfo": 1}]}),
        ),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(checker.take_violations().len(), 4);
}

#[test]
fn statuses_bodies_and_requests_are_checked_too() {
    let checker = Checker::new();
    let upgrade = format!(
        "/v1.0/chats/{CHAT}/installedApps/{}/microsoft.graph.upgrade",
        "YWJj"
    );
    // An undocumented status, and a body where none is documented.
    let found = messages(&checker, &exchange(Method::POST, &upgrade, 200, &json!({})));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("POST /chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade 200: status 200 is not documented"),
        "{found:?}"
    );
    let found = messages(&checker, &exchange(Method::POST, &upgrade, 204, &json!({})));
    assert!(
        found[0].contains("204: the fragment documents no body"),
        "{found:?}"
    );

    // The client's side: a wrong type, a missing required property, a wrong content type.
    let install = format!("/v1.0/chats/{CHAT}/installedApps");
    let mut sent = exchange(Method::POST, &install, 201, &json!({"id": "x"}));
    sent.request_content_type = Some("application/json".to_owned());
    sent.request_body = Bytes::from(json!({"teamsApp@odata.bind": 5}).to_string());
    assert_eq!(
        messages(&checker, &sent),
        [
            r#"POST /chats/{chat-id}/installedApps request: /teamsApp@odata.bind: 5 is not of type "string""#
        ]
    );
    sent.request_body = Bytes::from_static(b"{}");
    assert_eq!(
        messages(&checker, &sent),
        [
            r#"POST /chats/{chat-id}/installedApps request: "teamsApp@odata.bind" is a required property"#
        ]
    );
    sent.request_content_type = Some("text/plain".to_owned());
    assert!(
        messages(&checker, &sent)[0]
            .contains("Content-Type \"text/plain\" is not one the fragment documents")
    );

    // A path no operation serves: success is a violation, an error must be the envelope.
    let found = messages(
        &checker,
        &exchange(Method::GET, "/v1.0/nowhere", 200, &json!({})),
    );
    assert!(
        found[0].contains("no operation of the fragment serves this request"),
        "{found:?}"
    );
    // The admin API and the identity platform are not Graph: not checked.
    assert!(
        messages(
            &checker,
            &exchange(Method::GET, "/_emulator/metrics", 200, &json!(1))
        )
        .is_empty()
    );

    // $batch items are checked against their own operations.
    let mut batch = exchange(
        Method::POST,
        "/v1.0/$batch",
        200,
        &json!({"responses": [{"id": "1", "status": 200, "body": {"value": [{"id": 7}]}}]}),
    );
    batch.request_content_type = Some("application/json".to_owned());
    batch.request_body = Bytes::from(
        json!({"requests": [{"id": "1", "method": "GET", "url": format!("/chats/{CHAT}/installedApps")}]})
            .to_string(),
    );
    assert_eq!(
        messages(&checker, &batch),
        [
            r#"POST /$batch [1] GET /chats/{chat-id}/installedApps 200: /value/0/id: 7 is not of type "string""#
        ]
    );
    checker.take_violations();
}

/// A live server that answers a list with a wrong body, behind the checker, called by the real
/// client: the checker sees what went over the wire.
#[tokio::test]
async fn a_live_wrong_body_is_caught_between_server_and_client() {
    let checker = Checker::new();
    let app = axum::Router::new().route(
        "/v1.0/chats/{chat}/installedApps",
        get(|| async {
            Json(json!({"value": [{"id": "x", "teamsAppDefinition": {"version": 3}}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = checker.wrap(app);
    tokio::spawn(async move { axum::serve(listener, served).await });

    let client = Client::builder()
        .base_url(format!("http://{addr}/v1.0"))
        .credential(StaticToken::new("not-checked"))
        .request_timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let scope = Scope::Chat(ChatId::new(CHAT).unwrap());
    // The client may or may not decode it; the checker must flag it either way.
    let _ = client.installed_apps(&scope, &ListQuery::new()).await;
    let found: Vec<String> = checker
        .take_violations()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            r#"GET /chats/{chat-id}/installedApps 200: /value/0/teamsAppDefinition/version: 3 is not of types "null", "string""#
        ]
    );
}
