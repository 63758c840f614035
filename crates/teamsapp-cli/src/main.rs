//! The `teamsapp` binary. A skeleton until the CLI issue lands: it says so and exits 2.

use std::process::ExitCode;

#[allow(
    clippy::print_stderr,
    reason = "the one place the binary reports to its user"
)]
fn main() -> ExitCode {
    eprintln!(
        "teamsapp {}: no commands are implemented yet (see the CLI issue)",
        teamsapp_cli::VERSION
    );
    ExitCode::from(2)
}
