//! The acceptance run: a fleet upgrade of 2,000 installations against an emulator that
//! injects 20 % faults, killed with SIGKILL mid-run and resumed (in `$batch`es), ends with every
//! installation upgraded exactly once, as the emulator's own per-installation upgrade counts show.

use crate::teamsapp_std;
use std::time::{Duration, Instant};
use teamsapp_mock::{Emulator, EmulatorConfig, ThrottleConfig};

const TARGETS: usize = 2_000;

fn journal_states(path: &std::path::Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut last = std::collections::HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["record"] != "target" {
            continue;
        }
        if let (Some(t), Some(s)) = (v["installationId"].as_str(), v["state"].as_str()) {
            let key = format!("{}/{}/{t}", v["scope"], v["scopeId"]);
            last.insert(key, s.to_owned());
        }
    }
    last
}

#[test]
fn fleet_upgrade_with_faults_killed_and_resumed_upgrades_each_target_exactly_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime.block_on(async {
        let mut config = EmulatorConfig::demo();
        config.tenants = vec![teamsapp_model::demo::fleet(TARGETS)];
        config.throttle = ThrottleConfig::disabled();
        config.faults.seed = 20_26;
        config.faults.too_many_requests = 0.2 / 3.0;
        config.faults.service_unavailable = 0.2 / 3.0;
        config.faults.gateway_timeout = 0.2 / 3.0;
        config.faults.retry_after_seconds = 0;
        Emulator::start(config).await.unwrap()
    });
    let creds = teamsapp_model::demo::CREDENTIALS;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("fleet.jsonl");
    let command = |resume: bool| {
        let mut cmd = teamsapp_std();
        cmd.args([
            "--base-url",
            &emulator.graph_url(),
            "--authority",
            emulator.authority(),
        ])
        .args(["--tenant", creds.tenant_id, "--client-id", creds.client_id])
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .args(["--rate", "0", "-q", "-o", "json"])
        .args([
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--scope",
            "chats",
            "--yes",
            "--journal",
        ])
        .arg(&journal);
        if resume {
            // The resumed run also sends the rest in $batch requests.
            cmd.args(["--resume", "--batch"]);
        }
        cmd
    };

    // Arrange: a run that is killed once a quarter of the targets are done.
    let mut first = command(false)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(5);
    loop {
        let verified = journal_states(&journal)
            .values()
            .filter(|s| *s == "verified")
            .count();
        if verified >= TARGETS / 4 {
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first run ended ({status}) before it could be killed; {verified} verified");
        }
        assert!(
            Instant::now() < deadline,
            "the first run made no progress: {verified} verified"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up.
    first.wait().unwrap();
    let done_before = journal_states(&journal)
        .values()
        .filter(|s| *s == "verified")
        .count();
    assert!(
        done_before < TARGETS,
        "the kill came too late to test anything"
    );

    // Act: resume.
    let out = command(true).output().unwrap();
    assert!(
        out.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Assert: every target verified in the journal, and upgraded exactly once by the emulator.
    let states = journal_states(&journal);
    let targets: Vec<_> = states.iter().collect();
    assert_eq!(targets.len(), TARGETS);
    assert!(
        targets.iter().all(|(_, s)| *s == "verified"),
        "not all verified"
    );
    let metrics = emulator.state().metrics();
    assert_eq!(
        metrics.upgrades.len(),
        TARGETS,
        "every installation was upgraded"
    );
    let twice: Vec<_> = metrics.upgrades.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "upgraded more than once: {twice:?}");
    let faults: u64 = metrics.faults.values().sum();
    assert!(faults > 500, "the emulator injected only {faults} faults");
    runtime.block_on(emulator.shutdown()).unwrap();
}
