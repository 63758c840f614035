//! An emulator on its own runtime, and the command line signed in to its demo app: what the
//! fleet and rehearsal suites drive the binary against.

use crate::teamsapp_std;
use teamsapp_mock::{Emulator, EmulatorConfig, ThrottleConfig};
use teamsapp_model::demo;

pub(crate) struct Emu {
    /// The runtime the emulator serves on.
    pub(crate) runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    /// The command line's working directory and token cache.
    pub(crate) dir: tempfile::TempDir,
}

impl Emu {
    pub(crate) fn start(config: EmulatorConfig) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let emulator = runtime.block_on(Emulator::start(config)).unwrap();
        Self {
            runtime,
            emulator: Some(emulator),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The demo tenant, unthrottled.
    pub(crate) fn demo() -> Self {
        Self::start(EmulatorConfig {
            throttle: ThrottleConfig::disabled(),
            ..EmulatorConfig::demo()
        })
    }

    pub(crate) fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().unwrap()
    }

    /// The command line signed in to the emulator's demo app, run in [`Self::dir`].
    pub(crate) fn std_cmd(&self) -> std::process::Command {
        let emulator = self.emulator();
        let creds = demo::CREDENTIALS;
        let mut cmd = teamsapp_std();
        cmd.args(["--base-url", &emulator.graph_url()])
            .args(["--authority", emulator.authority()])
            .args(["--tenant", creds.tenant_id, "--client-id", creds.client_id])
            .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
            .env("TEAMSAPP_TOKEN_CACHE", self.dir.path().join("token.json"))
            .current_dir(self.dir.path());
        cmd
    }

    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.runtime.block_on(e.shutdown());
        }
    }
}
