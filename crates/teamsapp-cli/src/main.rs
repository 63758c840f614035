//! The `teamsapp` binary: a thin shim over [`teamsapp_cli::main`].

use std::process::ExitCode;

fn main() -> ExitCode {
    teamsapp_cli::main(teamsapp_cli::cli::parse())
}
