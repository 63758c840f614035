//! A bounded soak: fleet upgrades of 500 installations, with 10 % injected faults, repeated
//! against one `teamsapp mock serve` process (the fleet re-loaded through the admin API between
//! rounds), while the process's resident memory stays flat. A regression guard, not a
//! benchmark: the bound is generous (1.5× the first round).

use serde_json::Value;
use teamsapp_e2e::{Checker, CheckingProxy, EmulatorProcess, http_client, run_cli};
use teamsapp_model::demo;

/// Installations in the fleet.
const FLEET: usize = 500;

/// Rounds of load, re-load and upgrade.
const ROUNDS: u64 = 5;

/// How much the last rounds' memory may exceed the first round's.
const GROWTH: f64 = 1.5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_fleet_upgrades_with_faults_keep_the_emulators_memory_flat() {
    let process = EmulatorProcess::spawn(&[
        "--fleet",
        &FLEET.to_string(),
        "--throttle",
        "0",
        "--faults",
        "0.1",
        "--fault-retry-after",
        "0",
        "--seed",
        "11",
    ]);
    // Every exchange is checked on its way, as in the rest of the suite.
    let proxy = CheckingProxy::start(process.origin(), http_client(), Checker::new()).await;
    let admin = process.admin();
    let fleet: Value = serde_json::from_str(&demo::fleet(FLEET).to_json()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, demo::CREDENTIALS.client_secret).unwrap();

    let mut rss = Vec::new();
    for round in 1..=ROUNDS {
        // Back to 1.0.0 everywhere, through the admin API.
        admin.post("/_emulator/tenants", Some(fleet.clone())).await;

        let journal = dir.path().join(format!("round-{round}.jsonl"));
        let run = run_cli([
            "--base-url",
            &proxy.graph_url(),
            "--authority",
            proxy.origin(),
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
            "--scope",
            "chats",
            "--yes",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .await;
        run.assert_success();
        let rows = run.json();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), FLEET, "round {round}");
        assert!(
            rows.iter().all(|r| r["result"] == "verified"),
            "round {round}: not every target was verified"
        );

        // Each installation upgraded exactly once per round, faults notwithstanding.
        let metrics = admin.metrics().await;
        let upgrades = metrics["upgrades"].as_object().unwrap();
        assert_eq!(upgrades.len(), FLEET, "round {round}");
        let off: Vec<_> = upgrades.iter().filter(|(_, n)| **n != round).collect();
        assert!(
            off.is_empty(),
            "round {round}: upgraded other than once: {off:?}"
        );
        assert_eq!(metrics["earlyRetriesTotal"], 0, "round {round}");

        if let Some(kib) = process.rss_kib() {
            rss.push(kib);
        }
    }
    proxy.checker().assert_clean();

    let faults: u64 = admin.metrics().await["faults"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(faults > 100, "faults were on: {faults}");
    if rss.is_empty() {
        return; // No /proc here: the rounds ran, the memory cannot be read.
    }
    let last = rss.iter().rev().take(2).copied().max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss, reason = "KiB counts far below 2^52")]
    let grew = last as f64 / rss[0] as f64;
    assert!(
        grew <= GROWTH,
        "the emulator's memory grew from {} KiB (round 1) to {last} KiB; RSS per round: {rss:?}",
        rss[0]
    );
}
