//! A faithful local emulator of the Microsoft Graph Teams app installation API.
//!
//! **Status: skeleton.** This crate is filled by the emulator issue; today it exports nothing.
//! It will be a thin axum layer over `teamsapp-model`, routed on the templates in
//! [`teamsapp_types`].
