//! The library behind the `teamsapp` command line.
//!
//! **Status: skeleton.** The commands arrive with the CLI issue; today only [`VERSION`] exists.

/// The version of the `teamsapp` command line.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
