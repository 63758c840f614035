//! Errors: what a support ticket needs, decode excerpts, non-JSON bodies, redirects.

use serde_json::json;
use teamsapp_client::{Client, Error, StaticToken};
use teamsapp_types::{GetChat, UpgradeChatApp};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn graph_errors_display_what_a_support_ticket_needs() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": "NotFound",
            "message": "Installation not found.",
            "innerError": {
                "date": "2025-02-13T10:17:05",
                "request-id": "d1878136-bc88-421a-b342-c3d883db31a1",
                "client-request-id": "676e8303-44ce-4a69-a752-d25cc7b62e41"
            }
        }})))
        .mount(&server)
        .await;
    let err = client(&server)
        .send(&UpgradeChatApp::new(chat(), installation()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "graph answered 404 Not Found: NotFound: Installation not found. (request-id: \
         d1878136-bc88-421a-b342-c3d883db31a1, client-request-id: \
         676e8303-44ce-4a69-a752-d25cc7b62e41, date: 2025-02-13T10:17:05)"
    );
    assert!(err.is_not_found());
    assert!(!err.is_throttled());
    assert_eq!(err.graph_code(), Some("NotFound"));
    assert_eq!(
        err.request_id(),
        Some("d1878136-bc88-421a-b342-c3d883db31a1")
    );
    assert_eq!(
        err.client_request_id(),
        Some("676e8303-44ce-4a69-a752-d25cc7b62e41")
    );
}

#[tokio::test]
async fn a_non_json_error_body_still_yields_a_useful_api_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("request-id", "r-42")
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Bad gateway</body></html>"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .send(&GetChat::new(chat()))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(err.graph_code(), Some("BadGateway"));
    assert_eq!(err.request_id(), Some("r-42"));
    let sent = received(&server).await;
    let ours = header(&sent[0], "client-request-id").unwrap();
    assert_eq!(err.client_request_id(), Some(ours));
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "graph answered 502 Bad Gateway: BadGateway: <html><body>Bad gateway</body></html> (request-id: r-42, client-request-id: {ours}, date: "
        )),
        "{shown}"
    );
}

#[tokio::test]
async fn decode_errors_carry_an_excerpt_of_the_body() {
    let server = MockServer::start().await;
    let body = format!("{{\"id\": 42, \"padding\": \"{}\"}}", "x".repeat(500));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body.clone()))
        .mount(&server)
        .await;
    let err = client(&server)
        .send(&GetChat::new(chat()))
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            operation,
            status,
            excerpt,
            ..
        } => {
            assert_eq!(*operation, "chats.chat.GetChat");
            assert_eq!(status.as_u16(), 200);
            assert_eq!(excerpt.as_str(), &body[..200]);
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("the body starts with \"{\\\"id\\\": 42"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());

    // Invalid UTF-8 is shown lossily, never a panic.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0xff, 0xfe, b'{']))
        .mount(&server)
        .await;
    let err = client(&server)
        .send(&GetChat::new(chat()))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Decode { excerpt, .. } if excerpt == "\u{fffd}\u{fffd}{"));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("y".repeat(10_000)))
        .mount(&server)
        .await;
    let client = builder(&server).max_response_bytes(1000).build().unwrap();
    let err = client.send(&GetChat::new(chat())).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 1000, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_never_take_the_token_to_another_host() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&elsewhere)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/chats/{CHAT_ENC}")))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    // The client's own reqwest client, with its redirect policy.
    let client = Client::builder()
        .base_url(format!("{}/v1.0", server.uri()))
        .credential(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let err = client.send(&GetChat::new(chat())).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    assert!(received(&elsewhere).await.is_empty());
}
