//! The CLI in-process (`teamsapp_cli::run`) against the checked emulator: every installedApps
//! command in each scope, the catalog, and a fleet plan and upgrade, signed in with the demo
//! fleet tool's client secret (from a file) or a delegated admin's token (from a file). Every
//! request the CLI sends and every answer it gets is checked against the fragment.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use teamsapp_cli::ExitStatus;
use teamsapp_e2e::{TestEmulator, run_cli};
use teamsapp_model::demo;
use teamsapp_model::package::build_package;

/// The global options that aim the CLI at `emulator` as the demo fleet tool.
fn app_args(emulator: &TestEmulator, dir: &Path) -> Vec<String> {
    let secret = dir.join("client-secret");
    std::fs::write(&secret, demo::CREDENTIALS.client_secret).unwrap();
    let mut args = aim(emulator);
    args.extend([
        "--tenant".into(),
        demo::CREDENTIALS.tenant_id.into(),
        "--client-id".into(),
        demo::CREDENTIALS.client_id.into(),
        "--client-secret-file".into(),
        secret.display().to_string(),
    ]);
    args
}

/// The global options that aim the CLI at `emulator` with `token` (read from a file).
fn token_args(emulator: &TestEmulator, dir: &Path, token: &str) -> Vec<String> {
    let file = dir.join("token");
    std::fs::write(&file, token).unwrap();
    let mut args = aim(emulator);
    args.extend(["--token-file".into(), file.display().to_string()]);
    args
}

fn aim(emulator: &TestEmulator) -> Vec<String> {
    [
        "--base-url",
        &emulator.graph_url(),
        "--authority",
        emulator.authority(),
        "--rate",
        "0",
        "-q",
        "-o",
        "json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

async fn json(global: &[String], command: &[&str]) -> Value {
    let args: Vec<String> = global
        .iter()
        .cloned()
        .chain(command.iter().map(|s| (*s).to_owned()))
        .collect();
    let run = run_cli(&args).await;
    run.assert_success();
    run.json()
}

#[tokio::test]
async fn every_apps_command_in_every_scope() {
    let emulator = TestEmulator::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let global = app_args(&emulator, dir.path());
    for (kind, scope_id) in [
        ("chat", demo::SEED_CHAT_ID),
        ("team", demo::MARKETING_TEAM_ID),
        ("user", demo::ALEX),
    ] {
        let listed = json(&global, &[kind, "apps", "list", scope_id]).await;
        let tasks = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["app"] == "Contoso Tasks")
            .unwrap_or_else(|| panic!("{kind}: {listed}"))
            .clone();
        assert_eq!(tasks["version"], demo::TASKS_OLD_VERSION, "{kind}");
        let id = tasks["installationId"].as_str().unwrap();

        // An installation named by its app.
        let got = json(&global, &[kind, "apps", "get", scope_id, "Contoso Tasks"]).await;
        assert_eq!(got["installationId"], id, "{kind}");

        let upgraded = json(&global, &[kind, "apps", "upgrade", scope_id, id]).await;
        assert_eq!(upgraded["result"], "upgraded", "{kind}: {upgraded}");
        assert_eq!(upgraded["from"], demo::TASKS_OLD_VERSION);
        assert_eq!(upgraded["to"], demo::TASKS_LATEST_VERSION);

        let removed = json(&global, &[kind, "apps", "remove", scope_id, id, "--yes"]).await;
        assert_eq!(removed["result"], "removed", "{kind}");

        let installed = json(
            &global,
            &[kind, "apps", "install", scope_id, "Contoso Tasks"],
        )
        .await;
        assert_eq!(installed["result"], "installed", "{kind}: {installed}");
        let listed = json(&global, &[kind, "apps", "list", scope_id]).await;
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["app"] == "Contoso Tasks" && r["version"] == demo::TASKS_LATEST_VERSION),
            "{kind}: {listed}"
        );
    }

    // Graph's errors exit 1, with Graph's code and the request-id.
    let mut args = global.clone();
    args.extend(
        [
            "chat",
            "apps",
            "upgrade",
            demo::SEED_CHAT_ID,
            "MTk6bm9wZUB0aHJlYWQudjIjIzAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA==",
        ]
        .map(str::to_owned),
    );
    let failed = run_cli(&args).await;
    assert_eq!(failed.status, ExitStatus::Failure, "{failed:?}");
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("NotFound") && error.contains("request-id"),
        "{error}"
    );
    emulator.finish().await;
}

fn package(dir: &Path, name: &str, version: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        build_package(
            "e2e0c11e-0000-4000-8000-000000000002",
            version,
            "E2E CLI App",
            &serde_json::Map::new(),
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn catalog_commands_as_a_delegated_admin() {
    let emulator = TestEmulator::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let token = emulator.admin().token(json!({"user": demo::ADELE})).await;
    let global = token_args(&emulator, dir.path(), &token);

    let apps = json(&global, &["catalog", "list"]).await;
    let tasks = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Contoso Tasks")
        .unwrap_or_else(|| panic!("{apps}"));
    assert_eq!(tasks["latestPublished"], demo::TASKS_LATEST_VERSION);
    let one = json(&global, &["catalog", "get", demo::TASKS_EXTERNAL_ID]).await;
    assert_eq!(one["appId"], demo::TASKS_APP_ID);

    let v1 = package(dir.path(), "v1.zip", "1.0.0");
    let published = json(&global, &["catalog", "publish", v1.to_str().unwrap()]).await;
    let app_id = published["appId"]
        .as_str()
        .unwrap_or_else(|| panic!("{published}"));
    let v2 = package(dir.path(), "v2.zip", "2.0.0");
    json(
        &global,
        &["catalog", "update", app_id, v2.to_str().unwrap()],
    )
    .await;
    let after = json(&global, &["catalog", "get", "E2E CLI App"]).await;
    assert_eq!(after["latestPublished"], "2.0.0", "{after}");
    emulator.finish().await;
}

#[tokio::test]
async fn fleet_plan_and_upgrade_verify_every_target() {
    let emulator = TestEmulator::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let global = app_args(&emulator, dir.path());

    let plan = json(&global, &["fleet", "plan", "--app", "Contoso Tasks"]).await;
    let behind = plan
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "upgrade")
        .count();
    assert_eq!(behind, 40, "the demo has Contoso Tasks 1.0.0 in 40 scopes");

    let journal = dir.path().join("fleet.jsonl");
    let report = json(
        &global,
        &[
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--yes",
            "--journal",
            journal.to_str().unwrap(),
        ],
    )
    .await;
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r["result"] == "verified"), "{report:#}");
    let metrics = emulator.admin().metrics().await;
    let upgrades = metrics["upgrades"].as_object().unwrap();
    assert_eq!(upgrades.len(), 40);
    assert!(upgrades.values().all(|n| n == 1), "{upgrades:?}");
    emulator.finish().await;
}
