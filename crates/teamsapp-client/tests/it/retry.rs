//! Retries measured on tokio's paused clock: each `Retry-After` form, backoff, the budget, and
//! which operations are repeated.

use std::time::{Duration, SystemTime};

use serde_json::json;
use teamsapp_client::{Backoff, Error, RetryPolicy};
use teamsapp_types::{GetChat, InstallChatApp, InstalledAppsPostRequestBody, UpgradeChatApp};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// Mounts `first` for the first `times` requests, then 204/200 success.
async fn then_ok(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .respond_with(first.clone())
        .up_to_n_times(times)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .respond_with(first)
        .up_to_n_times(times)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(server)
        .await;
}

fn upgrade() -> UpgradeChatApp {
    UpgradeChatApp::new(chat(), installation())
}

fn throttled(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_json(
            json!({"error": {"code": "TooManyRequests", "message": "Too many requests"}}),
        )
}

/// Sends one upgrade and returns the virtual time it took.
async fn timed_upgrade(server: &MockServer) -> (Result<(), Error>, Duration) {
    let client = client(server);
    let start = Instant::now();
    let result = client.send(&upgrade()).await;
    (result, start.elapsed())
}

fn assert_about(elapsed: Duration, expected: Duration) {
    assert!(
        elapsed >= expected && elapsed < expected + Duration::from_millis(50),
        "waited {elapsed:?}, expected {expected:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn delta_seconds_wait_exactly() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("5"), 1).await;
    let (result, elapsed) = timed_upgrade(&server).await;
    result.unwrap();
    assert_about(elapsed, Duration::from_secs(5));
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    // The retry is the same request: same client-request-id, with Retry-Attempt like Kiota.
    assert_eq!(header(&requests[0], "retry-attempt"), None);
    assert_eq!(header(&requests[1], "retry-attempt"), Some("1"));
    assert_eq!(
        header(&requests[0], "client-request-id"),
        header(&requests[1], "client-request-id")
    );
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test(start_paused = true)]
async fn fractional_seconds_are_not_truncated() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("0.249"), 1).await;
    let (result, elapsed) = timed_upgrade(&server).await;
    result.unwrap();
    assert_about(elapsed, Duration::from_millis(249));
}

#[tokio::test(start_paused = true)]
async fn http_dates_count_from_the_response_date() {
    let server = MockServer::start().await;
    // The server's clock is an hour behind ours: the wait must come from its Date header, not from
    // our clock (which would give no wait at all), and keep the minutes (Kiota-dotnet's bug).
    let server_now = SystemTime::now() - Duration::from_hours(1);
    let retry_at = server_now + Duration::from_secs(125);
    let template = ResponseTemplate::new(429)
        .insert_header("Date", httpdate::fmt_http_date(server_now).as_str())
        .insert_header("Retry-After", httpdate::fmt_http_date(retry_at).as_str());
    then_ok(&server, template, 1).await;
    let (result, elapsed) = timed_upgrade(&server).await;
    result.unwrap();
    assert_about(elapsed, Duration::from_secs(125));
}

#[tokio::test(start_paused = true)]
async fn http_dates_without_a_date_header_count_from_now() {
    let server = MockServer::start().await;
    let retry_at = SystemTime::now() + Duration::from_secs(30);
    let template = ResponseTemplate::new(503)
        .insert_header("Retry-After", httpdate::fmt_http_date(retry_at).as_str());
    then_ok(&server, template, 1).await;
    let (result, elapsed) = timed_upgrade(&server).await;
    result.unwrap();
    // HTTP-dates have one-second resolution.
    assert!(
        elapsed >= Duration::from_secs(28) && elapsed <= Duration::from_secs(31),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_retry_after_backoff_is_exponential_with_full_jitter() {
    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(429), 3).await;
    let policy = RetryPolicy::standard().with_throttled(Backoff::new(
        5,
        Duration::from_secs(1),
        Duration::from_mins(1),
    ));
    let client = builder(&server).retry(policy).build().unwrap();
    let start = Instant::now();
    client.send(&upgrade()).await.unwrap();
    // Three waits capped at 1 s, 2 s and 4 s.
    assert!(
        start.elapsed() <= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn garbage_retry_after_falls_back_to_backoff() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("-5"), 1).await;
    let policy = RetryPolicy::standard().with_throttled(Backoff::new(
        1,
        Duration::from_secs(3),
        Duration::from_secs(3),
    ));
    let client = builder(&server).retry(policy).build().unwrap();
    let start = Instant::now();
    client.send(&upgrade()).await.unwrap();
    assert!(start.elapsed() <= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_budget_ends_retries() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("40"), 10).await;
    let client = builder(&server)
        .retry(RetryPolicy::standard().with_budget(Duration::from_secs(100)))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client.send(&upgrade()).await.unwrap_err();
    // 40 s, 80 s; a third wait would end at 120 s > 100 s: not started.
    assert_about(start.elapsed(), Duration::from_secs(80));
    match &err {
        Error::Throttled {
            attempts,
            waited,
            last,
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(*waited, Duration::from_secs(80));
            assert_eq!(last.status().map(|s| s.as_u16()), Some(429));
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(40)));
    assert_eq!(err.graph_code(), Some("TooManyRequests"));
    assert!(err.to_string().starts_with("gave up after 3 attempts and 80s of waiting; last answer: graph answered 429 Too Many Requests: TooManyRequests: Too many requests"), "{err}");
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_budget_is_not_waited_for() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("999999999999"), 10).await;
    let (result, elapsed) = timed_upgrade(&server).await;
    assert!(matches!(result, Err(Error::Throttled { attempts: 1, .. })));
    assert!(elapsed < Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn max_retries_end_retries() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("1"), 10).await;
    let client = builder(&server)
        .retry(RetryPolicy::standard().with_max_retries(2))
        .build()
        .unwrap();
    let err = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn disabled_retries_return_the_429_with_its_retry_after() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("7"), 1).await;
    let client = builder(&server)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(err, Error::Api { .. }));
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn gateway_timeouts_repeat_idempotent_requests_only() {
    // Upgrade is idempotent: retried.
    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(504), 1).await;
    client(&server).send(&upgrade()).await.unwrap();
    assert_eq!(received(&server).await.len(), 2);
    // GET: retried.
    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(504), 1).await;
    client(&server).send(&GetChat::new(chat())).await.unwrap();
    assert_eq!(received(&server).await.len(), 2);
    // Install is not: a 504 may hide a completed install, and a repeat would answer 409.
    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(504), 1).await;
    let install = InstallChatApp::new(chat(), InstalledAppsPostRequestBody::default());
    let err = client(&server).send(&install).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(504));
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttled_and_unavailable_installs_are_repeated() {
    for first in [
        throttled("1"),
        ResponseTemplate::new(503).insert_header("Retry-After", "1"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(first)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&server)
            .await;
        let install = InstallChatApp::new(chat(), InstalledAppsPostRequestBody::default());
        client(&server).send(&install).await.unwrap();
        assert_eq!(received(&server).await.len(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn other_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 409, 500, 502] {
        let server = MockServer::start().await;
        then_ok(&server, ResponseTemplate::new(status), 1).await;
        let err = client(&server).send(&upgrade()).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(received(&server).await.len(), 1, "{status}");
    }
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported() {
    // A port nothing listens on: connection refused, so even a POST install may be repeated.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = teamsapp_client::Client::from_reqwest(quiet_http())
        .base_url(format!("http://127.0.0.1:{port}/v1.0"))
        .retry(RetryPolicy::standard().with_connect(Backoff::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(2),
        )))
        .build()
        .unwrap();
    let install = InstallChatApp::new(chat(), InstalledAppsPostRequestBody::default());
    let err = client.send(&install).await.unwrap_err();
    match &err {
        Error::Transport {
            operation,
            client_request_id,
            ..
        } => {
            assert_eq!(*operation, "chats.CreateInstalledApps");
            assert!(uuid::Uuid::parse_str(client_request_id).is_ok());
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the request for chats.CreateInstalledApps failed before graph answered"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn connection_failures_get_quick_retries_not_the_throttling_budget() {
    // A generous budget for 503s and throttling (like the CLI's) must not make a closed port take
    // a minute to report: connection failures have their own few, short retries.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = teamsapp_client::Client::from_reqwest(quiet_http())
        .base_url(format!("http://127.0.0.1:{port}/v1.0"))
        .retry(RetryPolicy::standard().with_transient(Backoff::new(
            8,
            Duration::from_millis(500),
            Duration::from_secs(30),
        )))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.send(&GetChat::new(chat())).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(RetryPolicy::standard().connect.max_retries, 2);
}

#[tokio::test(start_paused = true)]
async fn stats_count_429s_retries_and_the_time_waited() {
    let server = MockServer::start().await;
    then_ok(&server, throttled("3"), 2).await;
    let client = client(&server);
    assert_eq!(client.stats().throttled, 0);
    client.send(&upgrade()).await.unwrap();
    let stats = client.clone().stats();
    assert_eq!(stats.throttled, 2);
    assert_eq!(stats.retries, 2);
    assert!(
        stats.waited >= Duration::from_secs(6) && stats.waited < Duration::from_secs(7),
        "{stats:?}"
    );
}
