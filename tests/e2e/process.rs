//! The emulator as a real process (`teamsapp mock serve`) on an ephemeral port: plain HTTP
//! behind the checking proxy, driven by the client and the in-process CLI; and HTTPS with its
//! generated certificate, trusted by the client (and by the CLI with `--ca-cert`) and nothing
//! else. Also the in-process emulator over HTTPS.
//!
//! HTTPS exchanges are not checked against the fragment (the checker sits in front of plain
//! HTTP); the same operations are, everywhere else in the suite.

use futures_util::TryStreamExt;
use teamsapp_client::{Client, Scope};
use teamsapp_e2e::{
    Checker, CheckingProxy, EmulatorProcess, aimed, demo_app_credential, http_client, run_cli,
    trusting,
};
use teamsapp_mock::{Emulator, EmulatorConfig, TlsConfig};
use teamsapp_model::demo;
use teamsapp_types::{AppInstallationId, ChatId, ListUsers};

fn seed() -> (Scope, AppInstallationId) {
    (
        Scope::Chat(ChatId::new(demo::SEED_CHAT_ID).unwrap()),
        AppInstallationId::new(demo::SEED_INSTALLATION_ID).unwrap(),
    )
}

/// Upgrades the seed's installation and reads it back at the latest version.
async fn upgrade_the_seed(client: &Client) {
    let (scope, installation) = seed();
    client.upgrade(&scope, &installation, None).await.unwrap();
    let got = client.installed_app(&scope, &installation).await.unwrap();
    assert_eq!(
        got.teams_app_definition.and_then(|d| d.version).as_deref(),
        Some(demo::TASKS_LATEST_VERSION)
    );
}

#[tokio::test]
async fn mock_serve_over_plain_http_behind_the_checking_proxy() {
    let process = EmulatorProcess::spawn(&["--seed", "5"]);
    assert!(process.origin().starts_with("http://127.0.0.1:"));
    let proxy = CheckingProxy::start(process.origin(), http_client(), Checker::new()).await;
    let client = aimed(Client::builder(), &proxy.graph_url(), proxy.origin())
        .credential(demo_app_credential(proxy.origin()))
        .build()
        .unwrap();

    // Paging follows @odata.nextLink, which the process writes for the proxy's host.
    let paged: Vec<_> = client
        .items(&ListUsers::new().select(["id"]).top(1))
        .try_collect()
        .await
        .unwrap();
    assert!(paged.len() >= 2, "{paged:?}");
    upgrade_the_seed(&client).await;
    let state = process
        .admin()
        .installation(demo::SEED_INSTALLATION_ID)
        .await;
    assert_eq!(state["upgradeCount"], 1, "{state}");

    // The CLI in-process against the process: a fleet plan.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, demo::CREDENTIALS.client_secret).unwrap();
    let plan = run_cli([
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
        "-o",
        "json",
        "fleet",
        "plan",
        "--app",
        "Contoso Tasks",
    ])
    .await;
    plan.assert_success();
    let behind = plan
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "upgrade")
        .count();
    assert_eq!(behind, 39, "40 in the demo, the seed already upgraded");

    assert!(proxy.checker().exchanges() > 10);
    proxy.checker().assert_clean();
}

#[tokio::test]
async fn mock_serve_over_https_with_its_generated_certificate() {
    let process = EmulatorProcess::spawn_tls(&[]);
    assert!(
        process.origin().starts_with("https://"),
        "{}",
        process.origin()
    );
    let cert = process.cert().unwrap().to_owned();
    assert!(
        std::fs::read_to_string(&cert)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // The client trusts the certificate (and nothing else), gets its token over HTTPS and
    // upgrades.
    upgrade_the_seed(&process.app_client()).await;

    // The CLI in-process, trusting the certificate with --ca-cert.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, demo::CREDENTIALS.client_secret).unwrap();
    let listed = run_cli([
        "--base-url",
        &process.graph_url(),
        "--authority",
        process.origin(),
        "--ca-cert",
        cert.to_str().unwrap(),
        "--tenant",
        demo::CREDENTIALS.tenant_id,
        "--client-id",
        demo::CREDENTIALS.client_id,
        "--client-secret-file",
        secret.to_str().unwrap(),
        "-o",
        "json",
        "chat",
        "apps",
        "list",
        demo::SEED_CHAT_ID,
    ])
    .await;
    listed.assert_success();
    assert!(
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["installationId"] == demo::SEED_INSTALLATION_ID
                && r["version"] == demo::TASKS_LATEST_VERSION),
        "{}",
        listed.stdout
    );

    // A client that does not trust it cannot connect; plain HTTP to the HTTPS port gets nothing
    // Graph-shaped.
    let untrusting = http_client()
        .get(format!("{}/v1.0/teams", process.origin()))
        .send()
        .await;
    assert!(untrusting.is_err(), "{untrusting:?}");
    let plain = http_client()
        .get(format!(
            "{}/v1.0/teams",
            process.origin().replacen("https://", "http://", 1)
        ))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "{plain:?}"
    );
}

#[tokio::test]
async fn the_in_process_emulator_serves_https_too() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(EmulatorConfig {
        tls: TlsConfig::SelfSigned {
            dir: Some(dir.path().to_owned()),
        },
        ..teamsapp_e2e::demo_config()
    })
    .await
    .unwrap();
    let cert = emulator.state().tls_cert_path().unwrap().to_owned();
    let client = aimed(
        Client::from_reqwest(trusting(&cert)),
        &emulator.graph_url(),
        emulator.authority(),
    )
    .credential(demo_app_credential(emulator.authority()))
    .build()
    .unwrap();
    upgrade_the_seed(&client).await;
    emulator.shutdown().await.unwrap();
}
