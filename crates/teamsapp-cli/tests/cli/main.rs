//! Binary-level tests: the real `teamsapp` executable, its output and its exit code.

// Without the CLI's `emulator` feature only the suites that need no `--emulator`, `mock serve` or
// `--rehearse` build (`.ci/run` runs them with --no-default-features); the rest is the default.
#![cfg_attr(not(feature = "emulator"), allow(dead_code, unused_imports))]

#[cfg(feature = "emulator")]
mod chaos;
mod emu;
#[cfg(feature = "emulator")]
mod emulator;
mod files;
#[cfg(feature = "emulator")]
mod fleet;
#[cfg(feature = "emulator")]
mod fleet_edges;
mod rehearse;
#[cfg(feature = "emulator")]
mod standalone;
#[cfg(feature = "emulator")]
mod usage;

use assert_cmd::Command;

/// The binary, with a clean environment for credentials and caches.
pub fn teamsapp() -> Command {
    Command::from_std(teamsapp_std())
}

/// The same, as a plain `std::process::Command` (for spawning and killing).
pub fn teamsapp_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_teamsapp"));
    for var in [
        "TEAMSAPP_TOKEN",
        "TEAMSAPP_CLIENT_SECRET",
        "TEAMSAPP_TENANT",
        "TEAMSAPP_CLIENT_ID",
        "TEAMSAPP_BASE_URL",
        "TEAMSAPP_AUTHORITY",
        "TEAMSAPP_CLOUD",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "TEAMSAPP_TOKEN_CACHE",
        std::env::temp_dir().join("teamsapp-test-no-cache/token.json"),
    );
    cmd
}

/// Runs and parses stdout as JSON.
pub fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The seed's chat and installation, as documented by Microsoft.
pub const SEED_CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
/// The seed's installation id.
pub const SEED_INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";
