//! Throttling and faults end to end: the emulator's limit set low through the admin API, seeded
//! random faults, and the client, `$batch` and the CLI riding them out, with the emulator's own
//! metrics as the witness (429s sent, no early retries, each installation upgraded once).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use teamsapp_client::{Backoff, Client, ListQuery, RetryPolicy, Scope};
use teamsapp_e2e::{TestEmulator, demo_config, run_cli};
use teamsapp_mock::FaultConfig;
use teamsapp_model::demo;
use teamsapp_types::{AppInstallationId, ChatId, ListChatInstalledApps, UpgradeChatApp};

/// The Contoso Tasks installation in the demo's group chat `n`.
fn tasks_in_group_chat(n: usize) -> (ChatId, AppInstallationId) {
    let chat = demo::group_chat_id(n);
    let installation = AppInstallationId::build(&chat, demo::TASKS_APP_ID).unwrap();
    (ChatId::new(chat).unwrap(), installation)
}

/// Retries that ride out faults quickly: backoff in tens of milliseconds when the emulator
/// gives no `Retry-After` (504s).
fn fast_retries() -> RetryPolicy {
    RetryPolicy::standard().with_transient(Backoff::new(
        8,
        Duration::from_millis(20),
        Duration::from_millis(200),
    ))
}

#[tokio::test]
async fn a_low_limit_set_through_the_admin_api_is_waited_out_without_early_retries() {
    let emulator = TestEmulator::demo().await;
    // Writes at 4 per second, burst 4; the rest at the defaults.
    let throttle = emulator
        .admin()
        .put(
            "/_emulator/throttle",
            json!({
                "enabled": true,
                "read": {"perSecond": 30},
                "write": {"perSecond": 4, "burst": 4},
                "patch": {"perSecond": 30},
                "delete": {"perSecond": 15},
            }),
        )
        .await;
    assert_eq!(throttle["write"]["perSecond"], 4.0, "{throttle}");

    // Twelve upgrades at once (three times the burst), from a client whose own rate limiter is
    // off.
    let app = emulator.app_client();
    let started = Instant::now();
    let targets: Vec<_> = (0..12).map(tasks_in_group_chat).collect();
    let results = join_all(targets.iter().map(|(chat, installation)| {
        let app = app.clone();
        async move {
            app.upgrade(&Scope::Chat(chat.clone()), installation, None)
                .await
        }
    }))
    .await;
    for ((_, installation), result) in targets.iter().zip(results) {
        result.unwrap_or_else(|e| panic!("upgrading {installation:?}: {e}"));
        let state = emulator.admin().installation(installation.as_str()).await;
        assert_eq!(state["upgradeCount"], 1, "{state}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the client waited for Retry-After (whole seconds): {:?}",
        started.elapsed()
    );
    let metrics = emulator.admin().metrics().await;
    assert!(metrics["throttled"].as_u64().unwrap() >= 1, "{metrics}");
    assert_eq!(metrics["earlyRetriesTotal"], 0, "{metrics}");

    // The negative control: a client that comes back at once is recorded as an early retry.
    let token = emulator
        .admin()
        .token(json!({"app": demo::CREDENTIALS.client_id}))
        .await;
    let (chat, installation) = tasks_in_group_chat(20);
    let url = format!(
        "{}{}",
        emulator.graph_url(),
        teamsapp_types::routes::UPGRADE_CHAT_APP.render(&[chat.as_str(), installation.as_str()])
    );
    let raw = teamsapp_e2e::http_client();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = raw
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let metrics = emulator.admin().metrics().await;
    assert!(
        metrics["earlyRetriesTotal"].as_u64().unwrap() >= 1,
        "an impatient client is recorded: {metrics}"
    );
    emulator.finish().await;
}

/// A fixed sequence of requests, one at a time: lists, then upgrades.
async fn fixed_sequence(app: &Client) {
    for n in 0..12 {
        let (chat, _) = tasks_in_group_chat(n);
        app.installed_apps(&Scope::Chat(chat), &ListQuery::new())
            .await
            .unwrap_or_else(|e| panic!("listing chat {n}: {e}"));
    }
    for n in 0..12 {
        let (chat, installation) = tasks_in_group_chat(n);
        app.upgrade(&Scope::Chat(chat), &installation, None)
            .await
            .unwrap_or_else(|e| panic!("upgrading chat {n}: {e}"));
    }
}

fn faulty(seed: u64) -> FaultConfig {
    FaultConfig {
        seed,
        too_many_requests: 0.1,
        service_unavailable: 0.1,
        gateway_timeout: 0.1,
        retry_after_seconds: 0,
        ..FaultConfig::default()
    }
}

/// What a run looked like from the emulator: each Graph request's method, path and status.
async fn trace(emulator: &TestEmulator) -> Vec<(String, String, u64)> {
    let journal = emulator.admin().get("/_emulator/journal?limit=1000").await;
    journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operationId"].is_string())
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn seeded_faults_are_reproducible_and_ridden_out() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut config = demo_config();
        config.faults = faulty(20_26);
        let emulator = TestEmulator::start(config).await;
        let app = emulator
            .client_builder()
            .retry(fast_retries())
            .credential(teamsapp_e2e::demo_app_credential(emulator.authority()))
            .build()
            .unwrap();
        fixed_sequence(&app).await;
        for n in 0..12 {
            let (_, installation) = tasks_in_group_chat(n);
            let state = emulator.admin().installation(installation.as_str()).await;
            assert_eq!(
                state["upgradeCount"], 1,
                "exactly once despite faults: {state}"
            );
        }
        let metrics = emulator.admin().metrics().await;
        runs.push((metrics["faults"].clone(), trace(&emulator).await));
        emulator.finish().await;
    }
    let faults: u64 = runs[0]
        .0
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(faults >= 3, "the seed injects faults: {}", runs[0].0);
    assert_eq!(runs[0].0, runs[1].0, "the same seed, the same faults");
    assert_eq!(
        runs[0].1, runs[1].1,
        "the same seed, the same answers in the same order"
    );
}

#[tokio::test]
async fn batch_items_are_retried_through_faults() {
    let mut config = demo_config();
    config.faults = faulty(7);
    let emulator = TestEmulator::start(config).await;
    let app = emulator
        .client_builder()
        .retry(fast_retries())
        .credential(teamsapp_e2e::demo_app_credential(emulator.authority()))
        .build()
        .unwrap();
    let mut builder = app.batch();
    let mut items = Vec::new();
    for n in 0..25 {
        let (chat, installation) = tasks_in_group_chat(n);
        let read = builder
            .add(&ListChatInstalledApps::new(chat.clone()))
            .unwrap();
        let upgrade = builder
            .add(&UpgradeChatApp::new(chat, installation.clone()))
            .unwrap();
        builder.depends_on(&upgrade, &read).unwrap();
        items.push((installation, read, upgrade));
    }
    let mut results = builder.send().await;
    for (installation, read, upgrade) in &items {
        results.take(read).unwrap();
        results
            .take(upgrade)
            .unwrap_or_else(|e| panic!("upgrading {installation:?}: {e}"));
        let state = emulator.admin().installation(installation.as_str()).await;
        assert_eq!(state["upgradeCount"], 1, "{state}");
    }
    let metrics = emulator.admin().metrics().await;
    let faults: u64 = metrics["faults"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(faults >= 3, "{metrics}");
    emulator.finish().await;
}

#[tokio::test]
async fn a_cli_fleet_upgrade_through_faults_upgrades_each_target_once() {
    let mut config = demo_config();
    config.faults = faulty(99);
    let emulator = TestEmulator::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, demo::CREDENTIALS.client_secret).unwrap();
    let journal = dir.path().join("fleet.jsonl");
    let run = run_cli([
        "--base-url",
        &emulator.graph_url(),
        "--authority",
        emulator.authority(),
        "--tenant",
        demo::CREDENTIALS.tenant_id,
        "--client-id",
        demo::CREDENTIALS.client_id,
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--rate",
        "0",
        "-q",
        "-o",
        "json",
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--yes",
        "--journal",
        journal.to_str().unwrap(),
    ])
    .await;
    run.assert_success();
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 40);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["result"] == "verified"),
        "{rows:#}"
    );
    let metrics = emulator.admin().metrics().await;
    let upgrades = metrics["upgrades"].as_object().unwrap();
    assert_eq!(upgrades.len(), 40);
    assert!(upgrades.values().all(|n| n == 1), "{upgrades:?}");
    assert!(
        metrics["faults"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum::<u64>()
            > 0,
        "{metrics}"
    );
    emulator.finish().await;
}
