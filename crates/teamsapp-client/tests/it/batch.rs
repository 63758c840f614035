//! `$batch`: shape, splitting, typed results, per-item retries and 424.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use teamsapp_client::{Error, MAX_BATCH_SIZE};
use teamsapp_types::{
    BatchRequest, ChatId, CountChatInstalledApps, GetChatInstalledApp, PublishCatalogApp,
    UninstallChatApp, UpgradeChatApp,
};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

/// Answers each `$batch` item with what `script(id, times this id was seen)` says: a status and an
/// optional `Retry-After`. Items whose dependency failed get 424, as Graph does.
type Script = dyn Fn(&str, usize) -> (u16, Option<&'static str>) + Send + Sync;

#[derive(Clone)]
struct Scripted {
    seen: Arc<Mutex<HashMap<String, usize>>>,
    script: Arc<Script>,
}

impl Scripted {
    fn new(
        script: impl Fn(&str, usize) -> (u16, Option<&'static str>) + Send + Sync + 'static,
    ) -> Self {
        Self {
            seen: Arc::default(),
            script: Arc::new(script),
        }
    }
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let batch: BatchRequest = serde_json::from_slice(&request.body).unwrap();
        let mut statuses: HashMap<String, u16> = HashMap::new();
        let mut responses = Vec::new();
        for step in &batch.requests {
            let failed_dep = step
                .depends_on
                .iter()
                .flatten()
                .any(|d| statuses.get(d).is_none_or(|s| !(200..300).contains(s)));
            let (status, retry_after) = if failed_dep {
                (424, None)
            } else {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(step.id.clone()).or_default();
                *n += 1;
                (self.script)(&step.id, *n)
            };
            statuses.insert(step.id.clone(), status);
            let mut headers = json!({"Content-Type": "application/json"});
            if let Some(ra) = retry_after {
                headers["Retry-After"] = json!(ra);
            }
            let body = match status {
                200 => json!({"id": format!("installation-{}", step.id)}),
                204 => Value::Null,
                _ => json!({"error": {"code": "Code", "message": format!("status {status}")}}),
            };
            let mut response = json!({"id": step.id, "status": status, "headers": headers});
            if !body.is_null() {
                response["body"] = body;
            }
            responses.push(response);
        }
        // Graph may answer in any order.
        responses.reverse();
        ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
    }
}

async fn batch_server(responder: Scripted) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

/// The bodies of the `$batch` requests the server received.
async fn batches(server: &MockServer) -> Vec<Value> {
    received(server)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn step_ids(batch: &Value) -> Vec<&str> {
    batch["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

fn upgrade() -> UpgradeChatApp {
    UpgradeChatApp::new(chat(), installation())
}

#[tokio::test]
async fn items_carry_relative_urls_bodies_and_typed_results() {
    let server = batch_server(Scripted::new(|id, _| match id {
        "get" => (200, None),
        "gone" => (404, None),
        _ => (204, None),
    }))
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    let up = batch.add_with_id("up", &upgrade()).unwrap();
    let get = batch
        .add_with_id(
            "get",
            &GetChatInstalledApp::new(chat(), installation()).expand(["teamsApp"]),
        )
        .unwrap();
    let gone = batch
        .add_with_id("gone", &UninstallChatApp::new(chat(), installation()))
        .unwrap();
    assert_eq!(batch.len(), 3);
    let mut results = batch.send().await;

    let sent = batches(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0],
        json!({"requests": [
            {"id": "up", "method": "POST",
             "url": format!("/chats/{CHAT_ENC}/installedApps/{INSTALLATION_ENC}/upgrade"),
             "headers": {"Content-Type": "application/json"}, "body": {}},
            {"id": "get", "method": "GET",
             "url": format!("/chats/{CHAT_ENC}/installedApps/{INSTALLATION_ENC}?$expand=teamsApp")},
            {"id": "gone", "method": "DELETE",
             "url": format!("/chats/{CHAT_ENC}/installedApps/{INSTALLATION_ENC}")},
        ]})
    );
    assert_common_headers(&received(&server).await);

    assert!(results.is_success("up"));
    results.take(&up).unwrap();
    let installation = results.take(&get).unwrap();
    assert_eq!(installation.id.as_deref(), Some("installation-get"));
    let err = results.take(&gone).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.graph_code(), Some("Code"));
    assert!(results.is_empty());
    assert!(matches!(
        results.take(&up),
        Err(Error::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn more_than_20_items_are_split() {
    let server = batch_server(Scripted::new(|_, _| (204, None))).await;
    let client = client(&server);
    let mut batch = client.batch();
    let items: Vec<_> = (0..45).map(|_| batch.add(&upgrade()).unwrap()).collect();
    let mut results = batch.send().await;
    let sent = batches(&server).await;
    let mut sizes: Vec<_> = sent.iter().map(|b| step_ids(b).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, MAX_BATCH_SIZE, MAX_BATCH_SIZE]);
    for item in &items {
        results.take(item).unwrap();
    }
    assert_eq!(items[44].id(), "45");
}

#[tokio::test(start_paused = true)]
async fn only_throttled_items_are_retried_after_the_largest_retry_after() {
    let server = batch_server(Scripted::new(|id, n| match (id, n) {
        ("2", 1) => (429, Some("1")),
        ("3", 1) => (503, Some("3")),
        ("4", 1..=2) => (429, Some("0.5")),
        _ => (204, None),
    }))
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    let items: Vec<_> = (0..5).map(|_| batch.add(&upgrade()).unwrap()).collect();
    let start = Instant::now();
    let mut results = batch.send().await;
    let elapsed = start.elapsed();
    // Round 1: all; round 2 after max(1, 3, 0.5) = 3 s: 2, 3, 4; round 3 after 0.5 s: 4.
    assert!(
        elapsed >= Duration::from_millis(3500) && elapsed < Duration::from_millis(3600),
        "{elapsed:?}"
    );
    let sent = batches(&server).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(step_ids(&sent[0]), ["1", "2", "3", "4", "5"]);
    assert_eq!(step_ids(&sent[1]), ["2", "3", "4"]);
    assert_eq!(step_ids(&sent[2]), ["4"]);
    assert_eq!(results.attempts("1"), Some(1));
    assert_eq!(results.attempts("4"), Some(3));
    for item in &items {
        results.take(item).unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn items_whose_retries_end_report_the_last_answer() {
    let server = batch_server(Scripted::new(|id, _| match id {
        "1" => (429, Some("1")),
        _ => (204, None),
    }))
    .await;
    let client = builder(&server)
        .retry(teamsapp_client::RetryPolicy::standard().with_max_retries(2))
        .build()
        .unwrap();
    let mut batch = client.batch();
    let one = batch.add(&upgrade()).unwrap();
    let mut results = batch.send().await;
    let err = results.take(&one).unwrap_err();
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(batches(&server).await.len(), 3);
}

/// Asserts a sent `$batch` body has a dependency shape Graph accepts.
fn assert_accepted_shape(batch: &Value) {
    let requests = batch["requests"].as_array().unwrap();
    let ids: Vec<&str> = requests.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let shape: Vec<Vec<usize>> = requests
        .iter()
        .map(|r| {
            r["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| ids.iter().position(|i| Some(*i) == d.as_str()).unwrap())
                .collect()
        })
        .collect();
    assert!(
        teamsapp_types::batch::is_accepted_shape(&shape),
        "a mixed batch was sent: {batch}"
    );
}

#[tokio::test]
async fn mixed_dependencies_are_sent_in_batches_graph_accepts() {
    let server = batch_server(Scripted::new(|_, _| (204, None))).await;
    let client = client(&server);
    let mut batch = client.batch();
    // A chain, a fork, a star and loose items, all in one builder.
    let items: Vec<_> = (0..12)
        .map(|i| batch.add_with_id(format!("i{i}"), &upgrade()).unwrap())
        .collect();
    batch.depends_on(&items[1], &items[0]).unwrap();
    batch.depends_on(&items[2], &items[1]).unwrap();
    batch.depends_on(&items[4], &items[3]).unwrap();
    batch.depends_on(&items[5], &items[3]).unwrap();
    batch.depends_on(&items[6], &items[5]).unwrap();
    batch.depends_on(&items[8], &items[7]).unwrap();
    batch.depends_on(&items[9], &items[7]).unwrap();
    batch.depends_on(&items[9], &items[8]).unwrap();
    let mut results = batch.send().await;
    let sent = batches(&server).await;
    for batch in &sent {
        assert_accepted_shape(batch);
    }
    for item in &items {
        results.take(item).unwrap();
    }
    // Each item was sent once.
    let mut all: Vec<&str> = sent.iter().flat_map(step_ids).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 12);
    assert_eq!(sent.iter().map(|b| step_ids(b).len()).sum::<usize>(), 12);
}

#[tokio::test(start_paused = true)]
async fn a_424_behind_a_throttled_dependency_is_resent_with_it() {
    let server = batch_server(Scripted::new(|id, n| match (id, n) {
        ("install", 1) => (429, Some("2")),
        _ => (204, None),
    }))
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    let install = batch.add_with_id("install", &upgrade()).unwrap();
    let then = batch.add_with_id("then", &upgrade()).unwrap();
    let other = batch.add_with_id("other", &upgrade()).unwrap();
    batch.depends_on(&then, &install).unwrap();
    let mut results = batch.send().await;
    let sent = batches(&server).await;
    // The chain travels alone (Graph runs a batch fully sequential or fully parallel), then
    // again, with its 424, after the throttled install's Retry-After.
    assert_eq!(sent.len(), 3);
    let mut first_round: Vec<Vec<&str>> = sent[..2].iter().map(step_ids).collect();
    first_round.sort();
    assert_eq!(first_round, [vec!["install", "then"], vec!["other"]]);
    assert_eq!(step_ids(&sent[2]), ["install", "then"]);
    assert_eq!(sent[2]["requests"][1]["dependsOn"], json!(["install"]));
    for batch in &sent {
        assert_accepted_shape(batch);
    }
    assert_eq!(
        results.attempts("then"),
        Some(1),
        "the 424 was not an attempt"
    );
    assert_eq!(results.attempts("install"), Some(2));
    results.take(&install).unwrap();
    results.take(&then).unwrap();
    results.take(&other).unwrap();
}

#[tokio::test]
async fn a_424_behind_a_failed_dependency_names_it() {
    let server = batch_server(Scripted::new(|id, _| match id {
        "a" => (403, None),
        _ => (204, None),
    }))
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    let a = batch.add_with_id("a", &upgrade()).unwrap();
    let b = batch.add_with_id("b", &upgrade()).unwrap();
    let c = batch.add_with_id("c", &upgrade()).unwrap();
    batch.depends_on(&b, &a).unwrap();
    batch.depends_on(&c, &b).unwrap();
    let mut results = batch.send().await;
    assert_eq!(batches(&server).await.len(), 1, "nothing is resent");
    assert_eq!(
        results.take(&a).unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    let err = results.take(&b).unwrap_err();
    assert!(
        matches!(&err, Error::FailedDependency { id, dependency } if id == "b" && dependency == "a")
    );
    assert_eq!(
        err.to_string(),
        "batch request b was not run because request a failed"
    );
    assert!(
        matches!(results.take(&c).unwrap_err(), Error::FailedDependency { dependency, .. } if dependency == "b")
    );
}

#[tokio::test]
async fn long_dependency_chains_are_split_across_rounds() {
    let server = batch_server(Scripted::new(|_, _| (204, None))).await;
    let client = client(&server);
    let mut batch = client.batch();
    let items: Vec<_> = (0..25).map(|_| batch.add(&upgrade()).unwrap()).collect();
    for pair in items.windows(2) {
        batch.depends_on(&pair[1], &pair[0]).unwrap();
    }
    let mut results = batch.send().await;
    let sent = batches(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(step_ids(&sent[0]).len(), 20);
    assert_eq!(step_ids(&sent[1]).len(), 5);
    // Item 21's dependency (20) already succeeded: no dependsOn across batches.
    assert!(sent[1]["requests"][0].get("dependsOn").is_none());
    assert_eq!(sent[1]["requests"][1]["dependsOn"], json!(["21"]));
    for item in &items {
        results.take(item).unwrap();
    }
}

#[tokio::test]
async fn a_failed_envelope_fails_its_items() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": "BadRequest", "message": "Invalid batch payload"}}),
        ))
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    let a = batch.add(&upgrade()).unwrap();
    let b = batch.add(&upgrade()).unwrap();
    let mut results = batch.send().await;
    for item in [a, b] {
        let err = results.take(&item).unwrap_err();
        assert!(matches!(err, Error::BatchFailed { .. }));
        assert_eq!(err.graph_code(), Some("BadRequest"));
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("Invalid batch payload")
        );
    }
}

#[tokio::test]
async fn the_builder_refuses_what_graph_would_reject() {
    let server = MockServer::start().await;
    let client = client(&server);
    let mut batch = client.batch();
    let a = batch.add_with_id("A", &upgrade()).unwrap();
    assert!(
        batch.add_with_id("a", &upgrade()).is_err(),
        "ids ignore case"
    );
    assert!(batch.add_with_id("", &upgrade()).is_err());
    assert!(
        batch.add(&PublishCatalogApp::new(vec![1, 2, 3])).is_err(),
        "zip bodies"
    );
    assert!(
        batch
            .add(&teamsapp_types::Batch::new(BatchRequest::default()))
            .is_err()
    );
    let other = ChatId::new("19:x@thread.v2").unwrap();
    let b = batch
        .add(&UpgradeChatApp::new(other, installation()))
        .unwrap();
    assert_eq!(b.id(), "2");
    assert!(batch.depends_on(&a, &b).is_err(), "dependencies come first");
    assert!(batch.depends_on(&b, &a).is_ok());
}

#[tokio::test]
async fn a_text_body_comes_base64_encoded_and_is_decoded() {
    // Graph carries a body that is not JSON (a `$count`'s text/plain) as a base64 string.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [{
                "id": "count", "status": 200,
                "headers": {"Content-Type": "text/plain"},
                "body": "MTI=",
            }]})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    let count = batch
        .add_with_id("count", &CountChatInstalledApps::new(chat()))
        .unwrap();
    let mut results = batch.send().await;
    assert_eq!(results.take(&count).unwrap(), 12);
}
