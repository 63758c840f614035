//! What the fleet library's integration tests share.

use teamsapp_client::{Client, ClientSecretCredential, RateLimit};
use teamsapp_fleet::Tenant;
use teamsapp_mock::Emulator;

/// The demo tenant's id.
pub(crate) const TENANT: &str = "c0ffee00-0000-4000-8000-000000000001";

/// The emulator's first tenant, signed in with its app's client secret, with a client that does
/// not pace itself (the emulator's own limit, when on, answers 429s the client retries).
pub(crate) fn tenant(emulator: &Emulator) -> Tenant {
    let creds = emulator.credentials().unwrap();
    let client = Client::builder()
        .base_url(emulator.graph_url())
        .authority(emulator.authority())
        .rate_limit(RateLimit::disabled())
        .credential(
            ClientSecretCredential::new(
                &creds.tenant_id,
                &creds.client_id,
                creds.client_secret.expose(),
            )
            .with_authority(emulator.authority()),
        )
        .build()
        .unwrap();
    Tenant {
        id: creds.tenant_id,
        client,
    }
}
