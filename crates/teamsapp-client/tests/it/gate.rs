//! The shared throttle gate: one 429 holds back the requests of the same tenant and class.

use std::time::Duration;

use serde_json::json;
use teamsapp_client::{OperationClass, Throttle};
use teamsapp_types::{ChatId, GetChat, UpgradeChatApp};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const OTHER_CHAT: &str = "19:0000000000000000000000000000000a@thread.v2";

#[tokio::test(start_paused = true)]
async fn a_429_holds_back_concurrent_requests_of_the_same_tenant_and_class() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1.0/chats/{CHAT_ENC}/installedApps/{INSTALLATION_ENC}/upgrade"
        )))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "5"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let client = client(&server);
    let start = Instant::now();

    // Task A is told to wait 5 s.
    let a = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .send(&UpgradeChatApp::new(chat(), installation()))
                .await
                .unwrap();
            start.elapsed()
        }
    });
    while client
        .throttle()
        .resume_at("contoso", OperationClass::Write)
        .is_none()
    {
        tokio::task::yield_now().await;
    }
    assert!(start.elapsed() < Duration::from_millis(50));

    // Task B, another chat, starts after A was throttled: it must not reach Graph before 5 s.
    let b = tokio::spawn({
        let client = client.clone();
        async move {
            let other = ChatId::new(OTHER_CHAT).unwrap();
            client
                .send(&UpgradeChatApp::new(other, installation()))
                .await
                .unwrap();
            start.elapsed()
        }
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(
        a >= Duration::from_secs(5) && a < Duration::from_millis(5050),
        "{a:?}"
    );
    assert!(
        b >= Duration::from_secs(5) && b < Duration::from_millis(5050),
        "{b:?}"
    );
    // A's 429, A's retry, B: B never tripped the limit.
    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path().contains("0000000000000000000000000000000a"))
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn the_gate_is_per_class_and_per_tenant() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let shared = Throttle::default();
    let contoso = builder(&server).throttle(shared.clone()).build().unwrap();
    let fabrikam = builder(&server)
        .throttle(shared.clone())
        .tenant("fabrikam")
        .build()
        .unwrap();
    shared.pause("contoso", OperationClass::Write, Duration::from_secs(5));

    // Reads of the same tenant are not held.
    let start = Instant::now();
    contoso.send(&GetChat::new(chat())).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(50));
    // Writes of another tenant are not held.
    let start = Instant::now();
    fabrikam
        .send(&UpgradeChatApp::new(chat(), installation()))
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_millis(50));
    // Writes of the held tenant wait.
    let start = Instant::now();
    contoso
        .send(&UpgradeChatApp::new(chat(), installation()))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_limiter_spaces_requests_at_the_published_limit() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    // The Teams default: DELETE 15 rps per tenant.
    let client = builder(&server)
        .rate_limit(teamsapp_client::RateLimit::teams_defaults())
        .build()
        .unwrap();
    let start = Instant::now();
    for _ in 0..30 {
        client
            .send(&teamsapp_types::UninstallChatApp::new(
                chat(),
                installation(),
            ))
            .await
            .unwrap();
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(930) && elapsed < Duration::from_millis(1100),
        "{elapsed:?}"
    );
}
