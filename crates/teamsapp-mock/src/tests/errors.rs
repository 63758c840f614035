//! Every rejection is a Graph envelope with Graph's headers.

use std::time::Duration;

use axum::body::Body;
use http::Request;
use serde_json::json;

use super::{CHAT, Harness, INSTALLATION, Slow, request, upgrade_path};

#[tokio::test]
async fn success_carries_graphs_headers_and_echoes_client_request_id() {
    let h = Harness::new();
    let token = h.app_token();
    let mut req = request(
        "POST",
        &upgrade_path(INSTALLATION),
        Some(&token),
        Some(json!({})),
    );
    req.headers_mut()
        .insert("client-request-id", "my-id-42".parse().unwrap());
    let reply = h.send(req).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("client-request-id"), Some("my-id-42"));
    let request_id = reply.header("request-id").unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok());
    assert_eq!(reply.header("odata-version"), Some("4.0"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(reply.header("date"), Some("Wed, 01 Jan 2025 00:00:00 GMT"));

    // Without a client-request-id, Graph answers the request-id in both.
    let reply = h
        .call("GET", &format!("/v1.0/chats/{CHAT}/installedApps"), None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("client-request-id"),
        reply.header("request-id")
    );
    assert_eq!(
        reply.header("content-type"),
        Some(
            "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
        )
    );
}

#[tokio::test]
async fn unknown_segment_and_version() {
    let h = Harness::new();
    // A chat's installation has no `chat` navigation (only a personal installation has one).
    let reply = h
        .call(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps/x/chat"),
            None,
        )
        .await;
    let message = reply.assert_graph_error(400, "BadRequest");
    assert_eq!(message, "Resource not found for the segment 'chat'.");
    let reply = h.call("GET", "/v1.0/drives/chats", None).await;
    assert_eq!(
        reply.assert_graph_error(400, "BadRequest"),
        "Resource not found for the segment 'drives'."
    );
    let reply = h.call("GET", "/v2.0/chats", None).await;
    assert_eq!(
        reply.assert_graph_error(400, "BadRequest"),
        "Invalid version: v2.0"
    );
    let reply = h.call("GET", "/_emulator/nope", None).await;
    reply.assert_graph_error(404, "NotFound");
}

#[tokio::test]
async fn method_not_allowed() {
    let h = Harness::new();
    let reply = h.call("PUT", &upgrade_path(INSTALLATION), None).await;
    let message = reply.assert_graph_error(405, "Request_BadRequest");
    assert_eq!(
        message,
        "Specified HTTP method is not allowed for the request target."
    );
    assert!(reply.header("allow").unwrap().contains("POST"));
}

#[tokio::test]
async fn unsupported_media_type_and_malformed_json() {
    let h = Harness::new();
    let token = h.app_token();
    let req = Request::post(upgrade_path(INSTALLATION))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    h.send(req)
        .await
        .assert_graph_error(415, "UnsupportedMediaType");

    let req = Request::post(upgrade_path(INSTALLATION))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let message = h.send(req).await.assert_graph_error(400, "BadRequest");
    assert!(
        message.starts_with("Unable to read JSON request payload."),
        "{message}"
    );

    // Install needs a body.
    let reply = h
        .call("POST", &format!("/v1.0/chats/{CHAT}/installedApps"), None)
        .await;
    assert_eq!(
        reply.assert_graph_error(400, "BadRequest"),
        "Empty Payload. JSON content expected."
    );
}

#[tokio::test]
async fn body_too_large() {
    let h = Harness::configured(|c| c.body_limit = 1024);
    let token = h.app_token();
    // Declared length above the limit: refused before reading.
    let req = Request::post(upgrade_path(INSTALLATION))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-length", "4096")
        .body(Body::from(vec![b' '; 4096]))
        .unwrap();
    h.send(req)
        .await
        .assert_graph_error(413, "RequestEntityTooLarge");
    // Streamed without a length: refused while reading.
    let chunks = futures_chunks(vec![vec![b' '; 800], vec![b' '; 800]]);
    let req = Request::post(upgrade_path(INSTALLATION))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(chunks)
        .unwrap();
    h.send(req)
        .await
        .assert_graph_error(413, "RequestEntityTooLarge");
}

/// A body of several chunks and no length.
fn futures_chunks(chunks: Vec<Vec<u8>>) -> Body {
    Body::from_stream(futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::from(c))),
    ))
}

#[tokio::test]
async fn bad_ids_are_graph_400s() {
    let h = Harness::new();
    let reply = h
        .call(
            "POST",
            &format!("/v1.0/chats/not-a-chat/installedApps/{INSTALLATION}/upgrade"),
            None,
        )
        .await;
    let message = reply.assert_graph_error(400, "BadRequest");
    assert!(
        message.starts_with("Invalid chat id \"not-a-chat\""),
        "{message}"
    );
    let reply = h
        .call("GET", "/v1.0/teams/not-a-guid/installedApps", None)
        .await;
    reply.assert_graph_error(400, "BadRequest");
}

#[tokio::test]
async fn unknown_and_unsupported_query_options() {
    let h = Harness::new();
    let path = format!("/v1.0/chats/{CHAT}/installedApps?$orderby=id");
    let message = h
        .call("GET", &path, None)
        .await
        .assert_graph_error(400, "BadRequest");
    assert!(
        message.contains("Query option 'OrderBy' is not allowed."),
        "{message}"
    );
    let path = format!("/v1.0/chats/{CHAT}/installedApps?$foo=1");
    let message = h
        .call("GET", &path, None)
        .await
        .assert_graph_error(400, "BadRequest");
    assert_eq!(message, "The query parameter '$foo' is not supported.");
    let path = format!("{}?$select=id", upgrade_path(INSTALLATION));
    h.call("POST", &path, None)
        .await
        .assert_graph_error(400, "BadRequest");
    let path = format!("/v1.0/chats/{CHAT}/installedApps?$top=x");
    h.call("GET", &path, None)
        .await
        .assert_graph_error(400, "BadRequest");
}

#[tokio::test(start_paused = true)]
async fn a_request_that_takes_too_long_is_a_504() {
    let h = Harness::with(
        |c| c.request_timeout = Duration::from_secs(5),
        Box::new(Slow),
    );
    let reply = h.call("POST", &upgrade_path(INSTALLATION), None).await;
    reply.assert_graph_error(504, "GatewayTimeout");
}

#[tokio::test]
async fn a_tenant_the_model_does_not_serve_is_a_401() {
    // The test directory's tenant issues valid tokens, but the model serves only the demo tenant.
    let h = Harness::model(|c| c.identity = super::directory());
    let token = h
        .state
        .mint_token(&crate::TokenSpec {
            tenant: Some(super::TENANT.into()),
            ..crate::TokenSpec::default()
        })
        .unwrap()
        .access_token;
    let reply = h
        .send(request(
            "POST",
            &upgrade_path(INSTALLATION),
            Some(&token),
            None,
        ))
        .await;
    reply.assert_graph_error(401, "InvalidAuthenticationToken");
    assert!(reply.header("www-authenticate").is_some());
}

#[tokio::test]
async fn an_unknown_action_parameter_is_a_400_as_odata_answers() {
    let h = Harness::new();
    let token = h.app_token();
    let upgrade = upgrade_path(INSTALLATION);
    let reply = h
        .send(request(
            "POST",
            &upgrade,
            Some(&token),
            Some(serde_json::json!({"consentedPermissionSet": null, "targetVersion": "9.9.9"})),
        ))
        .await;
    let message = reply.assert_graph_error(400, "BadRequest");
    assert_eq!(
        message,
        "The parameter 'targetVersion' in the request payload is not a valid parameter for the \
         operation 'upgrade'."
    );
    // Instance annotations are not parameters.
    let reply = h
        .send(request(
            "POST",
            &upgrade,
            Some(&token),
            Some(serde_json::json!({"@odata.type": "#microsoft.graph.x"})),
        ))
        .await;
    assert_ne!(
        reply.status,
        400,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}
