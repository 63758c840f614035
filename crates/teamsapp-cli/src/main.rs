//! The `teamsapp` binary: a thin shim over [`teamsapp_cli::main`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    teamsapp_cli::main(teamsapp_cli::Cli::parse())
}
