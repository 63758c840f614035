//! The measurements behind `cargo xtask bench`, and the baselines they are measured against.
//!
//! The library holds what the two binaries share: the bare axum server that answers `204` on the
//! upgrade route ([`bare_router`]), the throughput baseline of the emulator and, built as the
//! `bench-bare-axum` program, the baseline of the binary-size figure.
//! The measurements themselves live in the `teamsapp-bench` binary; `cargo xtask bench` builds
//! and runs it, then writes `BENCHMARKS.md`.
//!
//! It is not a test suite: nothing here asserts a speed.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use teamsapp_types::routes;

/// The upgrade route as the emulator serves it: `/v1.0` and the template of
/// [`routes::UPGRADE_CHAT_APP`] (`/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade`).
pub fn upgrade_route() -> String {
    format!("/v1.0{}", routes::UPGRADE_CHAT_APP.template)
}

/// A bare axum router that answers `204 No Content` to `POST` on [`upgrade_route`] and nothing
/// else: no token check, no state, no tracing.
pub fn bare_router() -> Router {
    Router::new().route(&upgrade_route(), post(|| async { StatusCode::NO_CONTENT }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_is_the_emulators_upgrade_route() {
        assert_eq!(
            upgrade_route(),
            "/v1.0/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade"
        );
    }
}
