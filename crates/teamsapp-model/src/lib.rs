//! The domain model behind the `teamsapp` emulator: tenants, the app catalog, app versions,
//! installations in chats, teams and personal scopes, permissions and Graph's upgrade rules.
//!
//! **Status: skeleton.** This crate is filled by the emulator issue; today it exports nothing.
//! It will never depend on an HTTP crate or on tokio.
