//! The end-to-end suite, one binary: the emulator (in-process and as a process), the client and
//! the CLI together, every exchange checked against `openapi/teamsapp.json`.
//!
//! - `operations`: the client through every operation of the fragment, in every scope;
//! - `cli`: the CLI in-process through every command, a fleet plan and upgrade;
//! - `tokens`: client credentials, device code (admin approval and auto-approval), `teamsapp
//!   auth` as a process;
//! - `resilience`: throttling set low through the admin API, seeded faults, `$batch` and the CLI
//!   through faults;
//! - `process`: `teamsapp mock serve` plain (behind the checking proxy) and over HTTPS;
//! - `readme`: the README's main command, as written;
//! - `conformance`: the checker itself, and proof that it catches a wrong body;
//! - `bad_input`: the bad-input matrix (89 cases);
//! - `connections`: connection hygiene — idle, slowloris, slow bodies, the connection cap,
//!   running out of descriptors;
//! - `soak`: repeated fleet upgrades with faults while the emulator's memory stays flat.
//!
//! Run with `cargo test --workspace` (which builds the `teamsapp` binary the process tests
//! spawn), or `cargo build -p teamsapp-cli && cargo test -p teamsapp-e2e`.

mod bad_input;
mod cli;
mod conformance;
mod connections;
mod operations;
mod process;
mod readme;
mod resilience;
mod soak;
mod tokens;
