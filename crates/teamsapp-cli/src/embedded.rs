//! The embedded emulator behind `--emulator` and `mock serve`: `teamsapp-mock` in this process,
//! with its demo tenant.
//!
//! It is the `emulator` cargo feature (on by default). A build without it (`cargo install
//! teamsapp-cli --no-default-features`) has no axum, redb, rcgen or jsonwebtoken in its tree;
//! there [`Embedded`] has no values, and starting it is a usage error that says which feature to
//! enable.

use crate::context::UsageError;

/// The embedded emulator's demo user, who signs in where a command needs a user.
pub(crate) const DEMO_USER: &str = "adele@contoso.example";

#[cfg(feature = "emulator")]
pub(crate) use with::Embedded;
#[cfg(not(feature = "emulator"))]
pub(crate) use without::Embedded;

/// What a build without the emulator says when a command needs it.
#[cfg_attr(feature = "emulator", allow(dead_code))]
pub(crate) fn missing(what: &str) -> UsageError {
    UsageError(format!(
        "{what} needs the embedded emulator, which this teamsapp was built without: \
         reinstall with its `emulator` feature (on by default), \
         e.g. `cargo install teamsapp-cli --features emulator`"
    ))
}

#[cfg(feature = "emulator")]
mod with {
    use super::DEMO_USER;
    use anyhow::{Context as _, Result};
    use teamsapp_mock::teamsapp_model::demo::CREDENTIALS;
    use teamsapp_mock::{Emulator, EmulatorConfig};

    /// A running emulator with the demo tenant; device codes are approved at once for
    /// [`DEMO_USER`].
    pub(crate) struct Embedded(Emulator);

    impl Embedded {
        /// Starts it on a free loopback port.
        pub(crate) async fn start() -> Result<Self> {
            let mut config = EmulatorConfig::demo();
            config.device_codes.auto_approve = true;
            config.device_codes.auto_approve_user = Some(DEMO_USER.to_owned());
            config.device_codes.interval = 1;
            Emulator::start(config)
                .await
                .map(Self)
                .context("starting the embedded emulator")
        }

        /// Its Graph base URL (`http://127.0.0.1:PORT/v1.0`).
        pub(crate) fn graph_url(&self) -> String {
            self.0.graph_url()
        }

        /// Its sign-in authority.
        pub(crate) fn authority(&self) -> &str {
            self.0.authority()
        }

        /// The demo tenant's id.
        #[allow(clippy::unused_self)] // Only a running emulator has a demo tenant.
        pub(crate) fn tenant_id(&self) -> &'static str {
            CREDENTIALS.tenant_id
        }

        /// The demo fleet app's client id.
        #[allow(clippy::unused_self)]
        pub(crate) fn client_id(&self) -> &'static str {
            CREDENTIALS.client_id
        }

        /// The demo fleet app's client secret (a published test value, not a real secret).
        #[allow(clippy::unused_self)]
        pub(crate) fn client_secret(&self) -> &'static str {
            CREDENTIALS.client_secret
        }

        /// Stops it.
        pub(crate) async fn shutdown(self) -> Result<()> {
            self.0
                .shutdown()
                .await
                .context("stopping the embedded emulator")
        }
    }
}

#[cfg(not(feature = "emulator"))]
mod without {
    use anyhow::Result;

    /// No emulator in this build: a type without values.
    pub(crate) enum Embedded {}

    impl Embedded {
        /// Fails: this build has no emulator.
        #[allow(clippy::unused_async)] // The same signature as with the feature.
        pub(crate) async fn start() -> Result<Self> {
            Err(super::missing("--emulator").into())
        }

        pub(crate) fn graph_url(&self) -> String {
            match *self {}
        }

        pub(crate) fn authority(&self) -> &str {
            match *self {}
        }

        pub(crate) fn tenant_id(&self) -> &'static str {
            match *self {}
        }

        pub(crate) fn client_id(&self) -> &'static str {
            match *self {}
        }

        pub(crate) fn client_secret(&self) -> &'static str {
            match *self {}
        }

        #[allow(clippy::unused_async)]
        pub(crate) async fn shutdown(self) -> Result<()> {
            match self {}
        }
    }
}

#[cfg(all(test, not(feature = "emulator")))]
mod tests {
    #[tokio::test]
    async fn without_the_feature_starting_says_which_feature_to_enable() {
        let err = super::Embedded::start().await.err().expect("no emulator");
        let msg = err.to_string();
        assert!(msg.contains("--emulator"), "{msg}");
        assert!(msg.contains("`emulator` feature"), "{msg}");
        assert!(err.downcast_ref::<crate::context::UsageError>().is_some());
    }
}
