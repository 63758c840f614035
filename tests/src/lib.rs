//! End-to-end harness for `teamsapp`: the emulator, the client and the CLI run together, and
//! every exchange is checked against the OpenAPI fragment.
//!
//! - [`TestEmulator`]: `teamsapp_mock::router` served in-process on `127.0.0.1:0` behind the
//!   conformance [`Checker`], with clients for the demo tenant (client credentials, device code)
//!   and the admin API ([`Admin`]);
//! - [`EmulatorProcess`]: `teamsapp mock serve` as a real process, plain or HTTPS (clients trust
//!   its generated certificate and nothing else), its memory read from `/proc`;
//! - [`CheckingProxy`]: a recording reverse proxy that puts a running emulator behind a checker;
//! - [`conformance`]: the fragment converted to JSON Schema and the checks;
//! - [`run_cli`]: the CLI in-process through [`teamsapp_cli::run`];
//! - [`raw`]: raw HTTP/1.1 for requests no well-behaved client sends.
//!
//! The tests themselves are one binary, `tests/e2e/main.rs`; `cargo test --workspace` builds
//! the `teamsapp` binary that [`EmulatorProcess`] and the README test run.
//!
//! # Getting started
//!
//! ```rust
//! use teamsapp_client::Scope;
//! use teamsapp_e2e::TestEmulator;
//! use teamsapp_types::ChatId;
//!
//! #[tokio::test]
//! async fn lists_the_seed_chat() {
//!     let emulator = TestEmulator::demo().await; // the demo tenant, behind the checker
//!     let client = emulator.app_client(); // client credentials through its token endpoint
//!     let chat = Scope::Chat(ChatId::new(teamsapp_model::demo::SEED_CHAT_ID).unwrap());
//!     let apps = client.installed_apps(&chat, &Default::default()).await.unwrap();
//!     assert!(!apps.is_empty());
//!     emulator.finish().await; // stops it, and fails on any exchange that strayed from the fragment
//! }
//! ```

mod cli;
pub mod conformance;
mod emulator;
mod process;
mod proxy;
pub mod raw;

pub use cli::{CliRun, run_cli};
pub use conformance::{Checker, Spec, Violation};
pub use emulator::{
    Admin, REQUEST_TIMEOUT, TestEmulator, aimed, approving_device_code, demo_app_credential,
    demo_config, http_client,
};
pub use process::{CLI_ENV, EmulatorProcess, teamsapp_binary, teamsapp_command, trusting};
pub use proxy::CheckingProxy;
