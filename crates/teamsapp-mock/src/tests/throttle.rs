//! Throttling with a manual clock, and early-retry detection.

use std::time::Duration;

use super::{CHAT, Harness, INSTALLATION, upgrade_path};
use crate::throttle::{RateLimit, ThrottleConfig};

#[tokio::test]
async fn the_31st_write_in_a_second_is_a_429_and_the_bucket_refills() {
    let h = Harness::new();
    let path = upgrade_path(INSTALLATION);
    for i in 0..30 {
        assert_eq!(h.call("POST", &path, None).await.status, 204, "request {i}");
    }
    let reply = h.call("POST", &path, None).await;
    let message = reply.assert_graph_error(429, "TooManyRequests");
    assert!(
        message.starts_with("Too many requests from Identifier:"),
        "{message}"
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    // Reads have their own bucket.
    let list = format!("/v1.0/chats/{CHAT}/installedApps");
    assert_eq!(h.call("GET", &list, None).await.status, 200);
    // After a second, a full burst again.
    h.advance(Duration::from_secs(1));
    for _ in 0..30 {
        assert_eq!(h.call("POST", &path, None).await.status, 204);
    }
    assert_eq!(h.call("POST", &path, None).await.status, 429);
    // 1/30 s later, exactly one more.
    h.advance(Duration::from_millis(34));
    assert_eq!(h.call("POST", &path, None).await.status, 204);
    assert_eq!(h.call("POST", &path, None).await.status, 429);
    assert_eq!(h.state.metrics().throttled, 3);
    assert_eq!(h.state.metrics().too_many_requests_sent, 3);
}

#[tokio::test]
async fn limits_are_configurable_and_switchable() {
    let h = Harness::configured(|c| {
        c.throttle = ThrottleConfig {
            write: RateLimit::per_second(0.5),
            ..ThrottleConfig::default()
        };
    });
    let path = upgrade_path(INSTALLATION);
    assert_eq!(h.call("POST", &path, None).await.status, 204);
    let reply = h.call("POST", &path, None).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("2"));
    h.state.set_throttle(ThrottleConfig::disabled()).unwrap();
    for _ in 0..100 {
        assert_eq!(h.call("POST", &path, None).await.status, 204);
    }
}

#[tokio::test]
async fn retrying_before_retry_after_is_recorded() {
    let h = Harness::configured(|c| {
        c.throttle.write = RateLimit::per_second(1.0);
    });
    let path = upgrade_path(INSTALLATION);
    assert_eq!(h.call("POST", &path, None).await.status, 204);
    assert_eq!(h.call("POST", &path, None).await.status, 429);
    // Back after 200 ms although told 1 s: early (and throttled again).
    h.advance(Duration::from_millis(200));
    assert_eq!(h.call("POST", &path, None).await.status, 429);
    let early = h.state.early_retries();
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].count, 1);
    assert_eq!(early[0].last_early_by_ms, 800);
    assert_eq!(
        early[0].operation_id,
        teamsapp_types::routes::UPGRADE_CHAT_APP.operation_id
    );
    assert!(early[0].resource.contains(INSTALLATION));
    // A well-behaved retry is not recorded.
    h.advance(Duration::from_secs(1));
    assert_eq!(h.call("POST", &path, None).await.status, 204);
    assert_eq!(h.state.early_retries()[0].count, 1);
    // Another installation is another resource.
    let other = upgrade_path("b3RoZXI=");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.call("POST", &other, None).await.status, 204);
    assert_eq!(h.state.early_retries().len(), 1);
}
