//! The CLI's error kinds, each with its exit status (see `crate::exit`); a leaf module, so the
//! token cache and the credential selection can both name them.

/// A usage problem: bad arguments, unreadable input. Exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A sign-in or credential problem: none at hand, malformed, expired or of the wrong kind. Exits 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CredentialError(pub(crate) String);

/// A named target (an app, an installation) that does not exist. Exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(pub(crate) String);
