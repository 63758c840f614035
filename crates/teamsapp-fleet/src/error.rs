//! The one error type of the fleet library.

use std::path::{Path, PathBuf};

/// What can stop a fleet command.
///
/// [`Error::is_usage`] tells the errors a person fixes by changing what they asked for (a journal
/// of another run, an unknown app, a targets file with a bad line) from those Graph or the
/// machine caused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Graph (or the network, or sign-in) failed where the run cannot go on without it.
    #[error("{context}: {source}")]
    Graph {
        /// What the run was doing.
        context: String,
        /// The client's error (Graph's code, message and request-id when Graph answered).
        #[source]
        source: teamsapp_client::Error,
    },
    /// More than one catalog app has the name asked for, or the app cannot be used.
    #[error("{0}")]
    App(String),
    /// No catalog app has the id, externalId or display name asked for.
    #[error("no app in the catalog{} has the id, externalId or display name {name:?}", tenant.as_ref().map(|t| format!(" of tenant {t}")).unwrap_or_default())]
    AppNotFound {
        /// What was asked for.
        name: String,
        /// The tenant whose catalog was searched, when the run has one.
        tenant: Option<String>,
        /// The display names the catalog has (for suggestions).
        known: Vec<String>,
    },
    /// A journal could not be used: unreadable, empty, of another tool, format or run.
    #[error("journal {}: {reason}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Appending to the journal failed; the run stops, since it could not record what it does.
    #[error("writing the journal: {0}")]
    JournalWrite(String),
    /// A targets file has a line that is not a target.
    #[error("targets line {line}: {reason}")]
    Targets {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The options contradict each other or are out of range.
    #[error("{0}")]
    Options(String),
}

impl Error {
    pub(crate) fn graph(context: impl Into<String>, source: teamsapp_client::Error) -> Self {
        Self::Graph {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn journal(path: &Path, reason: String) -> Self {
        Self::Journal {
            path: path.to_owned(),
            reason,
        }
    }

    /// Whether the person running the command can fix it by changing the command or its inputs
    /// (CLIs map this to their usage exit code).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::App(_)
                | Self::AppNotFound { .. }
                | Self::Journal { .. }
                | Self::Targets { .. }
                | Self::Options(_)
        )
    }

    /// The client error, when Graph, the network or sign-in caused this.
    pub fn client_error(&self) -> Option<&teamsapp_client::Error> {
        match self {
            Self::Graph { source, .. } => Some(source),
            _ => None,
        }
    }
}
