//! What the suites share: the installations of a `demo::fleet(n)` tenant and their upgrade paths,
//! a dedicated runtime for in-process servers, an emulator with throttling off and a token for it.

use anyhow::{Context as _, Result, anyhow};
use std::net::SocketAddr;
use teamsapp_mock::{Emulator, EmulatorConfig, ThrottleConfig, TokenSpec};
use teamsapp_model::demo;
use teamsapp_types::{AppInstallationId, ChatId, Operation as _, UpgradeChatApp};

/// The chat and installation of the `i`-th installation of `demo::fleet(n)` (for any `n > i`).
pub(crate) fn fleet_target(i: usize) -> (ChatId, AppInstallationId) {
    if i == 0 {
        (
            ChatId::new(demo::SEED_CHAT_ID).expect("the seed chat id is valid"),
            AppInstallationId::new(demo::SEED_INSTALLATION_ID)
                .expect("the seed installation id is valid"),
        )
    } else {
        let chat = demo::fleet_chat_id(i);
        let installation = AppInstallationId::build(&chat, demo::TASKS_APP_ID)
            .expect("fleet installation ids are valid");
        (
            ChatId::new(chat).expect("fleet chat ids are valid"),
            installation,
        )
    }
}

/// The upgrade path of the `i`-th fleet installation, below the origin:
/// `/v1.0/chats/{chat-id}/installedApps/{id}/upgrade`, percent-encoded as the client sends it.
pub(crate) fn fleet_upgrade_path(i: usize) -> String {
    let (chat, installation) = fleet_target(i);
    format!("/v1.0{}", UpgradeChatApp::new(chat, installation).path())
}

/// A multi-threaded runtime with one worker per core, for servers or for load, so that servers and
/// the code measuring them do not share a scheduler.
pub(crate) fn runtime(name: &str) -> Result<tokio::runtime::Runtime> {
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("building the {name} runtime"))
}

/// Starts an emulator with a `demo::fleet(n)` tenant, throttling off and no faults, on
/// `127.0.0.1:0`, in `rt`.
pub(crate) fn start_fleet_emulator(rt: &tokio::runtime::Runtime, n: usize) -> Result<Emulator> {
    let config = EmulatorConfig {
        tenants: vec![demo::fleet(n)],
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::default()
    };
    rt.block_on(Emulator::start(config))
        .context("starting the emulator")
}

/// An application token of the demo fleet tool (`TeamsAppInstallation.ReadWriteForChat.All`, …),
/// minted by the emulator itself.
pub(crate) fn fleet_token(emulator: &Emulator) -> Result<String> {
    let spec = TokenSpec {
        app: Some(demo::CREDENTIALS.client_id.to_owned()),
        ..TokenSpec::default()
    };
    let minted = emulator
        .state()
        .mint_token(&spec)
        .map_err(|e| anyhow!("minting a token: {e}"))?;
    Ok(minted.access_token)
}

/// The bare axum baseline, started in `rt` on `127.0.0.1:0`; it stops with the runtime.
pub(crate) fn start_bare_axum(rt: &tokio::runtime::Runtime) -> Result<SocketAddr> {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the bare axum server")?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, teamsapp_bench::bare_router()).await;
        });
        Ok(addr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_paths_are_percent_encoded_upgrade_paths() {
        let p = fleet_upgrade_path(0);
        assert!(
            p.starts_with(
                "/v1.0/chats/19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2/installedApps/"
            ),
            "{p}"
        );
        assert!(p.ends_with("/upgrade"), "{p}");
        let p = fleet_upgrade_path(7);
        assert!(p.contains("19%3Af1ee7"), "{p}");
    }
}
