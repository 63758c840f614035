//! `$batch`: limits, ids, dependencies, per-item statuses, and per-item throttling.

use serde_json::{Value, json};

use super::{CHAT, Harness, INSTALLATION, request};
use crate::throttle::RateLimit;

fn upgrade_url(installation: &str) -> String {
    teamsapp_types::routes::UPGRADE_CHAT_APP.render(&[CHAT, installation])
}

async fn batch(h: &Harness, body: Value) -> super::Reply {
    h.call("POST", "/v1.0/$batch", Some(body)).await
}

fn response<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id} in {body}"))
}

#[tokio::test]
async fn items_run_through_the_router_and_answer_in_request_order() {
    let h = Harness::new();
    let reply = batch(
        &h,
        json!({"requests": [
            {"id": "1", "method": "POST", "url": upgrade_url(INSTALLATION),
             "headers": {"Content-Type": "application/json"}, "body": {}},
            {"id": "2", "method": "GET", "url": format!("/chats/{CHAT}/installedApps?$orderby=id")},
            {"id": "3", "method": "GET", "url": format!("chats/{CHAT}/installedApps")},
            {"id": "4", "method": "GET", "url": "/nope"},
        ]}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json;odata.metadata=minimal")
    );
    let body = reply.json();
    let ids: Vec<&str> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert_eq!(response(&body, "1")["status"], 204);
    assert!(response(&body, "1").get("body").is_none());
    let two = response(&body, "2");
    assert_eq!(two["status"], 400);
    assert_eq!(two["body"]["error"]["code"], "BadRequest");
    assert!(two["body"]["error"]["innerError"]["request-id"].is_string());
    assert_eq!(
        two["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .split(';')
            .next(),
        Some("application/json")
    );
    assert_eq!(response(&body, "3")["status"], 200);
    assert_eq!(
        response(&body, "3")["body"]["operationId"],
        "chats.ListInstalledApps"
    );
    assert_eq!(response(&body, "4")["status"], 400);
    // Each item is in the journal, marked, with a derived client-request-id.
    let journal = h.state.journal(None);
    let items: Vec<_> = journal.iter().filter(|e| e.batch_item).collect();
    assert_eq!(items.len(), 4);
    let outer = journal.iter().find(|e| !e.batch_item).unwrap();
    assert!(
        items
            .iter()
            .all(|e| e.client_request_id != outer.client_request_id)
    );
    assert!(
        items
            .iter()
            .all(|e| uuid::Uuid::parse_str(&e.client_request_id).is_ok())
    );
}

#[tokio::test]
async fn failed_dependencies_answer_424() {
    let h = Harness::new();
    let body = batch(
        &h,
        // Fully sequential, as Graph requires of a batch with dependsOn.
        json!({"requests": [
            {"id": "a", "method": "GET", "url": "/chats/not-a-chat/installedApps"},
            {"id": "b", "method": "POST", "url": upgrade_url(INSTALLATION), "dependsOn": ["A"]},
            {"id": "c", "method": "POST", "url": upgrade_url(INSTALLATION), "dependsOn": ["b"]},
        ]}),
    )
    .await
    .json();
    assert_eq!(response(&body, "a")["status"], 400);
    assert_eq!(response(&body, "b")["status"], 424);
    assert_eq!(
        response(&body, "b")["body"]["error"]["code"],
        "FailedDependency"
    );
    assert_eq!(response(&body, "c")["status"], 424);
    // b and c never ran.
    assert_eq!(
        h.state
            .journal(None)
            .iter()
            .filter(|e| e.batch_item)
            .count(),
        1
    );
}

#[tokio::test]
async fn malformed_batches_are_400() {
    let h = Harness::new();
    let get = |id: String| json!({"id": id, "method": "GET", "url": "/chats"});
    let cases = [
        json!({"requests": (0..21).map(|i| get(i.to_string())).collect::<Vec<_>>()}),
        json!({"requests": [get("x".into()), get("X".into())]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": "/chats", "dependsOn": ["9"]}]}),
        json!({"requests": []}),
        json!({"nope": true}),
        json!({"requests": [{"id": "1", "method": "POST", "url": "/chats", "body": {}}]}),
        // Mixed: a chain beside an independent request (Graph: "fully sequential or fully
        // parallel").
        json!({"requests": [get("1".into()), {"id": "2", "method": "GET", "url": "/chats", "dependsOn": ["1"]}, get("3".into())]}),
    ];
    for case in cases {
        let reply = batch(&h, case.clone()).await;
        reply.assert_graph_error(400, "BadRequest");
    }
    let twenty = json!({"requests": (0..20).map(|i| get(i.to_string())).collect::<Vec<_>>()});
    assert_eq!(batch(&h, twenty).await.status, 200);
}

#[tokio::test]
async fn items_are_throttled_and_authenticated_one_by_one() {
    let h = Harness::configured(|c| c.throttle.write = RateLimit::per_second(2.0));
    let requests: Vec<Value> = (0..4)
        .map(|i| json!({"id": i.to_string(), "method": "POST", "url": upgrade_url(INSTALLATION)}))
        .collect();
    let body = batch(&h, json!({"requests": requests})).await.json();
    let statuses: Vec<u64> = (0..4)
        .map(|i| response(&body, &i.to_string())["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [204, 204, 429, 429]);
    assert_eq!(response(&body, "2")["headers"]["Retry-After"], "1");

    // Without a token the whole batch is refused.
    let reply = h
        .send(request(
            "POST",
            "/v1.0/$batch",
            None,
            Some(json!({"requests": []})),
        ))
        .await;
    reply.assert_graph_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn binary_bodies_travel_as_base64() {
    let h = Harness::new();
    let body = batch(
        &h,
        json!({"requests": [{"id": "1", "method": "POST", "url": "/appCatalogs/teamsApps",
            "headers": {"Content-Type": "application/zip"}, "body": "UEsDBA"}]}),
    )
    .await
    .json();
    assert_eq!(response(&body, "1")["status"], 201);
    assert_eq!(response(&body, "1")["body"]["bodyLength"], 4);
}
