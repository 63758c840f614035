//! Exit statuses, documented in `--help` (see [`crate::cli::EXIT_CODES`]).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything succeeded: exit 0.
    Success,
    /// The command ran and some targets failed, or Graph answered an error: exit 1.
    Failure,
    /// Usage error or unexpected error: exit 2.
    Error,
    /// Sign-in or credential error: exit 3.
    Credentials,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Error => Self::from(2),
            ExitStatus::Credentials => Self::from(3),
        }
    }
}
