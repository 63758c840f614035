//! A typed, throttle-aware Microsoft Graph client for Teams app installations.
//!
//! **Status: skeleton.** This crate is filled by the client issue; today it exports nothing.
//! It will be built on the generated request types and route templates of [`teamsapp_types`].
