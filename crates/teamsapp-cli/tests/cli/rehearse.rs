//! `tenant snapshot` and `fleet … --rehearse` as an admin runs them: a snapshot, a rehearsal on
//! it that predicts the real run and sends the tenant nothing, bad files refused, and a large
//! snapshot killed and resumed.

use crate::emu::Emu;
#[cfg(feature = "emulator")]
use crate::teamsapp;
use std::path::Path;
use std::time::{Duration, Instant};
use teamsapp_mock::{Emulator, EmulatorConfig, RateLimit, ThrottleConfig};
use teamsapp_model::demo;
use teamsapp_model::spec::TenantSpec;

impl Emu {
    /// Upgrade requests the emulator answered, any status.
    #[cfg(feature = "emulator")]
    fn upgrade_requests(&self) -> u64 {
        self.emulator()
            .state()
            .metrics()
            .requests
            .iter()
            .filter(|(op, _)| op.contains("upgrade"))
            .flat_map(|(_, by_status)| by_status.values())
            .sum()
    }
}

fn output(cmd: &mut assert_cmd::Command) -> (Option<i32>, serde_json::Value, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, stderr)
}

#[cfg(feature = "emulator")]
#[test]
fn a_rehearsal_on_a_snapshot_predicts_the_real_run_and_sends_nothing() {
    let emu = Emu::start(EmulatorConfig {
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::demo()
    });
    // Contoso Polls 2.0.0 needs an application RSC permission the demo app cannot consent to
    // in chats: every chat target fails, for the same reason.
    let (code, snap, stderr) = output(emu.cmd().args([
        "-o",
        "json",
        "tenant",
        "snapshot",
        "--app",
        "Contoso Polls",
        "--out",
        "snap.json",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(snap["installations"], 3);
    assert!(
        !emu.dir.path().join("snap.json.progress.jsonl").exists(),
        "a complete snapshot leaves no progress file"
    );

    // The rehearsal needs no sign-in: no credentials at all.
    let (code, predicted, stderr) = output(
        teamsapp()
            .current_dir(emu.dir.path())
            .args(["--rate", "0", "-o", "json", "fleet", "upgrade"])
            .args([
                "--app",
                "Contoso Polls",
                "--rehearse",
                "--snapshot",
                "snap.json",
            ]),
    );
    assert_eq!(code, Some(1), "failures predicted exit 1: {stderr}");
    let outcomes = predicted["outcomes"].as_array().unwrap();
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| o["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{predicted:#}");
    assert_eq!(failed[0]["targets"], 3);
    assert!(
        failed[0]["fix"]
            .as_str()
            .unwrap()
            .contains("TeamsAppInstallation.ReadWriteAndConsentForChat.All"),
        "{predicted:#}"
    );
    assert_eq!(predicted["estimate"]["upgrades"], 3);
    assert_eq!(predicted["report"][0]["failed"], 3, "{predicted:#}");
    assert!(stderr.contains("nothing is sent to the tenant"), "{stderr}");
    assert_eq!(
        emu.upgrade_requests(),
        0,
        "the rehearsal sent the tenant nothing"
    );

    // --fast: unthrottled, the same prediction and the same estimate at the real limits.
    let (code, fast, stderr) = output(
        teamsapp()
            .current_dir(emu.dir.path())
            .args(["-o", "json", "fleet", "upgrade", "--app", "Contoso Polls"])
            .args(["--rehearse", "--fast", "--snapshot", "snap.json"]),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("without throttling (--fast)"), "{stderr}");
    assert_eq!(fast["outcomes"], predicted["outcomes"]);
    assert_eq!(fast["estimate"], predicted["estimate"]);

    // The run's own options are rehearsed: a canary of 1 stops at its failure.
    let (code, canary, stderr) = output(
        teamsapp()
            .current_dir(emu.dir.path())
            .args(["--rate", "0", "-o", "json", "fleet", "upgrade"])
            .args(["--app", "Contoso Polls", "--canary", "1", "--rehearse"])
            .args(["--snapshot", "snap.json", "--journal", "canary.jsonl"]),
    );
    assert_eq!(code, Some(1), "{stderr}");
    let count = |v: &serde_json::Value, outcome: &str| -> u64 {
        v["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["outcome"] == outcome)
            .map(|o| o["targets"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(count(&canary, "failed"), 1, "{canary:#}");
    assert_eq!(count(&canary, "not started"), 2, "{canary:#}");
    assert_eq!(canary["estimate"]["upgrades"], 1, "only the canary is sent");
    assert!(
        stderr.contains("the run would stop early: the canary failed"),
        "{stderr}"
    );
    assert!(
        emu.dir.path().join("canary.jsonl").exists(),
        "--journal names the rehearsal's"
    );

    // The real run fails the same 3 targets.
    let (code, real, stderr) = output(emu.cmd().args([
        "-o",
        "json",
        "fleet",
        "upgrade",
        "--app",
        "Contoso Polls",
        "--yes",
    ]));
    assert_eq!(code, Some(1), "{stderr}");
    let real_failed = real
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "failed")
        .count();
    assert_eq!(real_failed, 3);
    assert_eq!(emu.upgrade_requests(), 3);
}

#[cfg(feature = "emulator")]
#[test]
fn plan_rehearse_takes_a_snapshot_first_and_keeps_it() {
    let emu = Emu::start(EmulatorConfig {
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::demo()
    });
    let (code, predicted, stderr) = output(emu.cmd().args([
        "--rate",
        "0",
        "-o",
        "json",
        "fleet",
        "plan",
        "--app",
        "Contoso Tasks",
        "--rehearse",
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    let upgraded = predicted["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["outcome"] == "upgraded and verified")
        .unwrap();
    assert_eq!(upgraded["targets"], 40, "{predicted:#}");
    assert_eq!(predicted["estimate"]["upgrades"], 40);
    assert_eq!(emu.upgrade_requests(), 0, "the tenant was only read");
    // The snapshot it took is kept, to rehearse on again with --snapshot.
    let kept: Vec<_> = std::fs::read_dir(emu.dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.starts_with("teamsapp-snapshot-contoso-tasks-")
                && Path::new(n).extension().is_some_and(|e| e == "json")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let spec =
        TenantSpec::from_json(&std::fs::read_to_string(emu.dir.path().join(&kept[0])).unwrap())
            .unwrap();
    assert_eq!(spec.installations.len(), 40);
}

#[cfg(feature = "emulator")]
#[test]
fn damaged_foreign_or_unversioned_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rehearse = |file: &str| {
        let (code, _, stderr) = output(
            teamsapp()
                .current_dir(dir.path())
                .args(["fleet", "upgrade", "--app", "Contoso Tasks", "--rehearse"])
                .args(["--snapshot", file]),
        );
        (code, stderr)
    };
    std::fs::write(dir.path().join("garbage.json"), "{\"record\":\"run\"").unwrap();
    let (code, stderr) = rehearse("garbage.json");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("garbage.json is not a tenant file"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("demo.json"), demo::tenant().to_json()).unwrap();
    let (code, stderr) = rehearse("demo.json");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a snapshot"), "{stderr}");

    let newer = demo::tenant()
        .to_json()
        .replacen('{', "{\"formatVersion\": 99,", 1);
    std::fs::write(dir.path().join("newer.json"), newer).unwrap();
    let (code, stderr) = rehearse("newer.json");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("format version 99"), "{stderr}");

    let (code, stderr) = rehearse("missing.json");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("reading missing.json"), "{stderr}");

    // --snapshot means nothing without --rehearse.
    let (code, _, _) =
        output(teamsapp().args(["fleet", "upgrade", "--app", "x", "--snapshot", "demo.json"]));
    assert_eq!(code, Some(2));
}

#[test]
fn snapshot_options_are_checked_before_anything_is_read() {
    let emu = Emu::start(EmulatorConfig {
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::demo()
    });
    let (code, _, stderr) = output(emu.cmd().args([
        "tenant",
        "snapshot",
        "--all-apps",
        "--pseudonymise",
        "--out",
        "p.json",
    ]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("TEAMSAPP_PSEUDONYM_KEY"), "{stderr}");

    std::fs::write(emu.dir.path().join("exists.json"), "{}").unwrap();
    let (code, _, stderr) =
        output(
            emu.cmd()
                .args(["tenant", "snapshot", "--all-apps", "--out", "exists.json"]),
        );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("exists.json exists"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(emu.dir.path().join("exists.json")).unwrap(),
        "{}"
    );

    let (code, _, stderr) = output(emu.cmd().args([
        "tenant",
        "snapshot",
        "--app",
        "Contoso Taks",
        "--out",
        "t.json",
    ]));
    assert_eq!(code, Some(1), "an unknown app exits 1: {stderr}");
    assert!(stderr.contains("Contoso Tasks"), "a suggestion: {stderr}");

    // Pseudonymised with a key from the environment: no name of the tenant in the file.
    let (code, _, stderr) = output(
        emu.cmd()
            .env("TEAMSAPP_PSEUDONYM_KEY", "a key of at least sixteen bytes")
            .args([
                "tenant",
                "snapshot",
                "--all-apps",
                "--pseudonymise",
                "--out",
                "p.json",
            ]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let text = std::fs::read_to_string(emu.dir.path().join("p.json")).unwrap();
    assert!(!text.contains("Adele Vance") && !text.contains("adele@contoso.example"));
    assert!(!text.contains("a key of at least sixteen bytes"));
    let spec = TenantSpec::from_json(&text).unwrap();
    assert!(spec.snapshot.as_ref().unwrap().pseudonymised);
    // Pseudonyms are valid names: the emulator loads the file.
    emu.runtime.block_on(async {
        let loaded = Emulator::start(EmulatorConfig {
            tenants: vec![spec],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        loaded.shutdown().await.unwrap();
    });
}

/// Chats in the large tenant.
const CHATS: usize = 3_000;
/// The read limit of the large tenant, and the CLI's own rate (requests per second).
const READ_RATE: u32 = 300;

#[test]
fn a_large_snapshot_at_the_read_limit_is_killed_resumed_and_loads() {
    let emu = Emu::start(EmulatorConfig {
        tenants: vec![demo::fleet(CHATS)],
        throttle: ThrottleConfig {
            read: RateLimit::per_second(f64::from(READ_RATE)),
            ..ThrottleConfig::default()
        },
        ..EmulatorConfig::default()
    });
    let out = emu.dir.path().join("big.json");
    let progress = emu.dir.path().join("big.json.progress.jsonl");
    let command = |resume: bool| {
        let mut cmd = emu.std_cmd();
        cmd.args(["--rate", &READ_RATE.to_string(), "-q", "-o", "json"])
            .args([
                "tenant",
                "snapshot",
                "--app",
                "Contoso Tasks",
                "--out",
                "big.json",
            ]);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    let started = Instant::now();
    let mut first = command(false)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let scopes_journaled = |path: &Path| {
        std::fs::read_to_string(path).map_or(0, |t| {
            t.lines()
                .filter(|l| l.contains("\"record\":\"scope\""))
                .count()
        })
    };
    let deadline = Instant::now() + Duration::from_mins(3);
    while scopes_journaled(&progress) < CHATS / 4 {
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the snapshot ended ({status}) before it could be killed");
        }
        assert!(Instant::now() < deadline, "the snapshot made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up.
    first.wait().unwrap();
    let before = scopes_journaled(&progress);
    assert!(before < CHATS, "the kill came too late to test anything");
    assert!(!out.exists(), "no tenant file from a killed snapshot");

    let (code, done, stderr) = output(&mut assert_cmd::Command::from_std(command(true)));
    let elapsed = started.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(done["installations"], CHATS);
    let resumed = done["scopesResumed"].as_u64().unwrap();
    assert!(resumed >= before as u64, "{done}");
    // Chats, users (8) and teams (3): each read by one of the two runs; the killed run may
    // have had up to --concurrency reads in flight that it did not journal.
    let scopes = (CHATS + 8 + 3) as u64;
    assert_eq!(
        resumed + done["scopesRead"].as_u64().unwrap(),
        scopes,
        "{done}"
    );
    let metrics = emu.emulator().state().metrics();
    // Reads answered (a 429 is answered again later, and is not a read of the scope).
    let by_status = &metrics.requests["chats.ListInstalledApps"];
    let chat_reads = by_status.get(&200).copied().unwrap_or(0);
    assert!(
        chat_reads >= CHATS as u64 && chat_reads <= CHATS as u64 + 32,
        "{chat_reads} reads of {CHATS} chats: {by_status:?}"
    );
    // At the read limit: the client paced itself (429s only where the resumed process's full
    // bucket met the emulator's, which the killed one had just drained) and could not go faster.
    let reads: u64 = metrics
        .requests
        .iter()
        .filter(|(op, _)| !op.contains("token"))
        .flat_map(|(_, s)| s.values())
        .sum();
    // (A client that did not pace itself would meet a 429 for most reads above the limit.)
    assert!(
        metrics.throttled * 20 <= reads,
        "{} 429s in {reads} reads",
        metrics.throttled
    );
    // Less one second's burst on each side of the kill.
    let floor =
        Duration::from_millis((reads - u64::from(READ_RATE) * 2) * 1000 / u64::from(READ_RATE));
    assert!(
        elapsed >= floor,
        "{reads} reads in {elapsed:?}: faster than {READ_RATE}/s"
    );

    // The file loads in an emulator: the same installations.
    let spec = TenantSpec::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let second = Emulator::start(EmulatorConfig {
            tenants: vec![spec],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        second.shutdown().await.unwrap();
    });
    assert!(
        !progress.exists(),
        "the progress file is gone once complete"
    );
}
