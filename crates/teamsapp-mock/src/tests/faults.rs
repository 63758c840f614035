//! Seeded faults replay identically; scripted responses answer as told.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use teamsapp_types::routes;

use super::{CHAT, Harness, INSTALLATION, upgrade_path};
use crate::{FaultConfig, Scenario, ScenarioMatch};

fn faults(seed: u64) -> FaultConfig {
    FaultConfig {
        seed,
        too_many_requests: 0.15,
        service_unavailable: 0.15,
        gateway_timeout: 0.1,
        latency: 0.2,
        latency_ms: 1500,
        retry_after_seconds: 3,
    }
}

/// Runs the same 60 requests against a fresh emulator; returns statuses and the clock's end.
async fn run(seed: u64) -> (Vec<u16>, Duration) {
    let h = Harness::configured(|c| {
        c.faults = faults(seed);
        c.throttle.enabled = false;
    });
    let mut statuses = Vec::new();
    for i in 0..60 {
        let path = if i % 3 == 0 {
            format!("/v1.0/chats/{CHAT}/installedApps")
        } else {
            upgrade_path(INSTALLATION)
        };
        let method = if i % 3 == 0 { "GET" } else { "POST" };
        statuses.push(h.call(method, &path, None).await.status.as_u16());
    }
    (statuses, h.state.clock().elapsed())
}

#[tokio::test]
async fn the_same_seed_replays_the_same_faults() {
    let (a, time_a) = run(42).await;
    let (b, time_b) = run(42).await;
    assert_eq!(a, b);
    assert_eq!(time_a, time_b);
    for status in [429, 503, 504] {
        assert!(a.contains(&status), "{status} never drawn in {a:?}");
    }
    // Latency went on the manual clock, not on the wall clock.
    assert!(time_a >= Duration::from_millis(1500));
    let (c, _) = run(43).await;
    assert_ne!(a, c);
}

#[tokio::test]
async fn injected_faults_look_like_graphs() {
    let h = Harness::configured(|c| {
        c.faults = FaultConfig {
            service_unavailable: 1.0,
            retry_after_seconds: 7,
            ..FaultConfig::default()
        };
    });
    let reply = h.call("POST", &upgrade_path(INSTALLATION), None).await;
    reply.assert_graph_error(503, "serviceNotAvailable");
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(h.state.metrics().faults.get("503"), Some(&1));
    // Faults are off by default, and can be switched off again.
    h.state.set_faults(FaultConfig::default()).unwrap();
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        204
    );
    assert!(
        h.state
            .set_faults(FaultConfig {
                latency: 2.0,
                ..FaultConfig::default()
            })
            .is_err()
    );
}

#[tokio::test]
async fn the_next_3_upgrades_of_this_installation_answer_503() {
    let h = Harness::new();
    h.state
        .set_scenarios(vec![Scenario {
            matcher: ScenarioMatch {
                operation_id: Some(routes::UPGRADE_CHAT_APP.operation_id.into()),
                params: BTreeMap::from([(
                    "teamsAppInstallation-id".to_owned(),
                    INSTALLATION.to_owned(),
                )]),
                ..ScenarioMatch::default()
            },
            times: Some(3),
            status: 503,
            retry_after: Some(2),
            code: None,
            message: None,
            headers: BTreeMap::from([("x-scripted".to_owned(), "yes".to_owned())]),
        }])
        .unwrap();
    let other = upgrade_path("b3RoZXI=");
    assert_eq!(h.call("POST", &other, None).await.status, 204);
    for _ in 0..3 {
        // Waiting as told each time, so no early retry is recorded.
        let reply = h.call("POST", &upgrade_path(INSTALLATION), None).await;
        reply.assert_graph_error(503, "serviceNotAvailable");
        assert_eq!(reply.header("retry-after"), Some("2"));
        assert_eq!(reply.header("x-scripted"), Some("yes"));
        h.advance(Duration::from_secs(2));
    }
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        204
    );
    assert_eq!(h.state.scenarios()[0].times, Some(0));
    assert_eq!(h.state.metrics().scripted, 3);
    assert!(h.state.early_retries().is_empty());
}

#[tokio::test]
async fn scenarios_match_by_method_and_path() {
    let h = Harness::new();
    let scenario: Scenario = serde_json::from_value(json!({
        "match": {"method": "GET", "path": format!("/v1.0/chats/{}/installedApps", CHAT.replace(':', "%3A"))},
        "status": 404,
        "code": "NotFound",
        "message": "Gone fishing."
    }))
    .unwrap();
    h.state.set_scenarios(vec![scenario]).unwrap();
    for _ in 0..2 {
        let reply = h
            .call("GET", &format!("/v1.0/chats/{CHAT}/installedApps"), None)
            .await;
        assert_eq!(reply.assert_graph_error(404, "NotFound"), "Gone fishing.");
    }
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        204
    );
    let bad: Scenario = serde_json::from_value(json!({"match": {}, "status": 200})).unwrap();
    assert!(h.state.set_scenarios(vec![bad]).is_err());
}
