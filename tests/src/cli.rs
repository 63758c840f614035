//! The CLI in-process, through [`teamsapp_cli::run`]: parsed arguments in, the exit status and
//! what it printed out.

use std::ffi::OsString;

use clap::Parser as _;
use serde_json::Value;
use teamsapp_cli::{Cli, ExitStatus};

/// Variables the CLI reads that the tests' arguments do not always override: `TEAMSAPP_TOKEN`
/// wins over a client secret file, `TEAMSAPP_CLOUD` restricts the operations, the tenant and
/// client id fill in what a run leaves out.
const OVERRIDING_ENV: &[&str] = &[
    "TEAMSAPP_TOKEN",
    "TEAMSAPP_CLIENT_SECRET",
    "TEAMSAPP_CLOUD",
    "TEAMSAPP_TENANT",
    "TEAMSAPP_CLIENT_ID",
];

/// What one CLI run ended with.
#[derive(Debug)]
pub struct CliRun {
    /// The exit status (`Success` 0, `Failure` 1, `Error` 2, `Credentials` 3), as
    /// `teamsapp_cli::main` maps it.
    pub status: ExitStatus,
    /// What the command wrote to its output.
    pub stdout: String,
    /// The error `main` would print, if the command failed with one.
    pub error: Option<String>,
}

impl CliRun {
    /// Panics with the output and error unless the run exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.status,
            ExitStatus::Success,
            "the command failed: {:?}\nstdout: {}",
            self.error,
            self.stdout
        );
        self
    }

    /// The output as JSON (the run must have used `-o json`).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("the output is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `teamsapp ARGS…` in-process. Arguments that do not parse panic: tests pass valid ones.
///
/// The CLI reads `TEAMSAPP_*` variables; give every endpoint and secret as an argument or a file
/// (`--token-file`, `--client-secret-file`) so the shell's environment cannot change a run, and
/// always pass `-o` (the default depends on whether stdout is a terminal).
pub async fn run_cli<I, S>(args: I) -> CliRun
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let set: Vec<&str> = OVERRIDING_ENV
        .iter()
        .copied()
        .filter(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
        .collect();
    assert!(
        set.is_empty(),
        "the in-process CLI would read {set:?} from this shell's environment (a token there wins \
         over the test's credentials); unset them to run the end-to-end suite"
    );
    let arguments: Vec<OsString> = std::iter::once(OsString::from("teamsapp"))
        .chain(args.into_iter().map(Into::into))
        .collect();
    let cli = Cli::try_parse_from(&arguments)
        .unwrap_or_else(|e| panic!("{arguments:?} does not parse: {e}"));
    let mut out: Vec<u8> = Vec::new();
    let result = teamsapp_cli::run(cli, &mut out).await;
    let stdout = String::from_utf8_lossy(&out).into_owned();
    match result {
        Ok(status) => CliRun {
            status,
            stdout,
            error: None,
        },
        Err(error) => CliRun {
            status: teamsapp_cli::exit_status_for(&error),
            stdout,
            error: Some(format!("{error:#}")),
        },
    }
}
