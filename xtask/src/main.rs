//! See <https://github.com/matklad/cargo-xtask/>.
//!
//! Repository automation for `teamsapp`, run as `cargo xtask <task>`:
//!
//! - `cargo xtask codegen` regenerates `crates/teamsapp-types/src/generated.rs` and its lock from
//!   `openapi/teamsapp.json`;
//! - `cargo xtask codegen --check` writes nothing and fails with a diff when they are stale;
//! - `cargo xtask bench` measures the emulator, the client, fleet upgrades, memory and start-up
//!   against baselines and rewrites `BENCHMARKS.md`; `--smoke` is CI's short proof that every
//!   benchmark runs.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod codegen;

const USAGE: &str = "usage: cargo xtask codegen [--check]
       cargo xtask bench [--smoke] [--only SUITES] [--no-install]

tasks:
  codegen           regenerate crates/teamsapp-types/src/generated.rs from openapi/teamsapp.json
  codegen --check   fail with a diff if the committed generated code is stale
  bench             build in release, run every benchmark against its baseline, print the
                    ratios and rewrite BENCHMARKS.md (installs wrk, hyperfine and the npm peers
                    WireMock and Prism when it can; --no-install installs nothing)
  bench --smoke     short runs on the debug build that prove every benchmark works (CI)
  bench --only S    only the suites S (comma-separated): throughput, client, fleet, tenants,
                    memory, model, startup, soak";

#[allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "xtask reports to the developer"
)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen::run(codegen::Mode::Write),
        ["codegen", "--check"] => codegen::run(codegen::Mode::Check),
        ["bench", rest @ ..] => match bench::Options::parse(rest) {
            Ok(options) => bench::run(&options),
            Err(err) => {
                eprintln!("error: {err:#}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (rust-analyzer's `project_root`).
fn project_root() -> PathBuf {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    PathBuf::from(dir)
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}
