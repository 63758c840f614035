//! One module per command group; each returns a [`Report`](crate::output::Report) and an exit status.

pub(crate) mod apps;
pub(crate) mod auth;
pub(crate) mod catalog;
#[cfg(feature = "emulator")]
pub(crate) mod mock;
pub(crate) mod tenant;
