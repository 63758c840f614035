//! `--data-dir`: state and tokens survive a restart, and every acknowledged change survives
//! `kill -9`.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use teamsapp_model::demo;
use teamsapp_types::routes;

use super::{Harness, request};
use crate::{AppState, EmulatorConfig, ManualClock, TokenSpec, router};

fn state_in(dir: &std::path::Path) -> AppState {
    AppState::new(EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        clock: Arc::new(ManualClock::at_2025()),
        origins: vec![super::TEST_ORIGIN.to_owned()],
        ..EmulatorConfig::demo()
    })
    .unwrap()
}

async fn version(state: &AppState, id: &str) -> Value {
    state.backend().installation(id.to_owned()).await.unwrap()
}

#[tokio::test]
async fn state_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token;
    {
        let state = state_in(dir.path());
        token = state
            .mint_token(&TokenSpec::default())
            .unwrap()
            .access_token;
        let h = Harness {
            app: router(state.clone()),
            clock: Arc::new(ManualClock::at_2025()),
            state,
        };
        let path = format!(
            "/v1.0{}",
            routes::UPGRADE_CHAT_APP.render(&[demo::SEED_CHAT_ID, demo::SEED_INSTALLATION_ID])
        );
        assert_eq!(
            h.send(request("POST", &path, Some(&token), None))
                .await
                .status,
            204
        );
    }
    let state = state_in(dir.path());
    let info = version(&state, demo::SEED_INSTALLATION_ID).await;
    assert_eq!(info["version"], demo::TASKS_LATEST_VERSION);
    assert_eq!(info["upgradeCount"], 1);
    // The signing key was kept: the old token still works.
    let list = format!("/v1.0/chats/{}/installedApps", demo::SEED_CHAT_ID);
    let response =
        tower::ServiceExt::oneshot(router(state), request("GET", &list, Some(&token), None))
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
}

/// Two tenants, each under its own lock, write to one store; their events interleave there, and
/// a restart routes each back to its tenant.
#[tokio::test]
async fn two_tenants_written_together_replay_apart() {
    const OTHER: &str = "c0ffee00-0000-4000-8000-0000000000b2";
    let dir = tempfile::tempdir().unwrap();
    let path = format!(
        "/v1.0{}",
        routes::UPGRADE_CHAT_APP.render(&[demo::SEED_CHAT_ID, demo::SEED_INSTALLATION_ID])
    );
    {
        let state = state_in(dir.path());
        let mut other = demo::tenant();
        other.tenant_id = OTHER.to_owned();
        state
            .backend()
            .load_tenant(serde_json::to_value(other).unwrap())
            .await
            .unwrap();
        state.refresh_identity();
        let token = |tenant: &str| {
            state
                .mint_token(&TokenSpec {
                    tenant: Some(tenant.to_owned()),
                    ..TokenSpec::default()
                })
                .unwrap()
                .access_token
        };
        let (demo_token, other_token) = (token(demo::CREDENTIALS.tenant_id), token(OTHER));
        let h = Harness {
            app: router(state.clone()),
            clock: Arc::new(ManualClock::at_2025()),
            state: state.clone(),
        };
        let (a, b) = tokio::join!(
            h.send(request("POST", &path, Some(&demo_token), None)),
            h.send(request("POST", &path, Some(&other_token), None)),
        );
        assert_eq!((a.status.as_u16(), b.status.as_u16()), (204, 204));
        // The other tenant upgrades a second time: an already-current upgrade counts too.
        let again = h
            .send(request("POST", &path, Some(&other_token), None))
            .await;
        assert_eq!(again.status, 204);
    }
    let state = state_in(dir.path());
    let summary = state.backend().summary().await.unwrap();
    let upgrades: Vec<(&str, u64)> = summary["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenantId"].as_str().unwrap(),
                t["upgrades"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        upgrades,
        [(demo::CREDENTIALS.tenant_id, 1), (OTHER, 2)],
        "{summary}"
    );
}

/// Environment variable that turns [`child_emulator_serves_until_killed`] into the server.
const CHILD_DIR: &str = "TEAMSAPP_MOCK_EMULATOR_CHILD_DIR";

/// The child process of [`every_acknowledged_upgrade_survives_kill_9`]: an emulator with a data
/// directory, serving until killed. Ignored, so only its parent runs it (with `--ignored`); run on
/// its own it fails rather than pass without testing anything.
#[tokio::test]
#[ignore = "the child process of every_acknowledged_upgrade_survives_kill_9, which runs it"]
async fn child_emulator_serves_until_killed() {
    let dir = std::env::var_os(CHILD_DIR).unwrap_or_else(|| {
        panic!("{CHILD_DIR} is not set: every_acknowledged_upgrade_survives_kill_9 runs this")
    });
    let emulator = crate::Emulator::start(EmulatorConfig {
        data_dir: Some(dir.into()),
        ..EmulatorConfig::demo()
    })
    .await
    .unwrap();
    let token = emulator
        .state()
        .mint_token(&TokenSpec::default())
        .unwrap()
        .access_token;
    let mut out = std::io::stdout().lock();
    writeln!(out, "addr {}", emulator.local_addr()).unwrap();
    writeln!(out, "token {token}").unwrap();
    out.flush().unwrap();
    drop(out);
    std::future::pending::<()>().await;
}

/// The demo's chat installations of Contoso Tasks, in creation order.
fn chat_installations() -> Vec<(String, String)> {
    let mut world = teamsapp_model::World::default();
    world.load_tenant(demo::tenant()).unwrap();
    world
        .installations(demo::TENANT_ID)
        .into_iter()
        .filter(|i| {
            i.scope == teamsapp_types::permissions::InstallationScope::Chat
                && i.teams_app_id == demo::TASKS_APP_ID
        })
        .map(|i| (i.scope_id, i.id))
        .collect()
}

fn upgrade(addr: &str, token: &str, chat: &str, id: &str) -> std::io::Result<TcpStream> {
    let path = format!("/v1.0{}", routes::UPGRADE_CHAT_APP.render(&[chat, id]));
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    Ok(stream)
}

#[tokio::test]
async fn every_acknowledged_upgrade_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::durability::child_emulator_serves_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    let mut token = None;
    while addr.is_none() || token.is_none() {
        let line = lines.next().expect("the child stopped early").unwrap();
        // libtest may print "test … ... " before the first line on the same line.
        if let Some((_, a)) = line.split_once("addr ") {
            addr = Some(a.trim().to_owned());
        } else if let Some((_, t)) = line.split_once("token ") {
            token = Some(t.trim().to_owned());
        }
    }
    let (addr, token) = (addr.unwrap(), token.unwrap());
    let targets = chat_installations();
    assert!(targets.len() > 12, "{}", targets.len());

    let mut acknowledged = Vec::new();
    for (chat, id) in &targets[..12] {
        let mut stream = upgrade(&addr, &token, chat, id).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 204"), "{response}");
        acknowledged.push(id.clone());
    }
    // Mid-write: a request in flight, and the process killed (SIGKILL) without waiting for it.
    let (chat, id) = &targets[12];
    let _in_flight = upgrade(&addr, &token, chat, id).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    let state = state_in(dir.path());
    for id in &acknowledged {
        let info = version(&state, id).await;
        assert_eq!(info["version"], demo::TASKS_LATEST_VERSION, "{id}: {info}");
        assert_eq!(info["upgradeCount"], 1, "{id}: {info}");
    }
    for (_, id) in &targets[13..] {
        assert_eq!(
            version(&state, id).await["version"],
            demo::TASKS_OLD_VERSION
        );
    }
}
