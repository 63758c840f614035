//! A faithful local emulator of the Microsoft Graph Teams app installation API: a thin axum layer
//! over `teamsapp-model`, routed on the templates in [`teamsapp_types::routes`].
//!
//! It is what Teams app developers run their code and Microsoft's SDKs against instead of a real
//! tenant, so it behaves as Graph does down to ids, headers and error bodies: Graph's error
//! envelope with `innerError` tracing fields, `request-id`/`client-request-id`, OData query
//! option checks, bearer tokens issued by an emulated Microsoft identity platform (client
//! credentials and device code), throttling at the published Teams limits, reproducible faults,
//! scripted responses, `$batch`, an admin API, optional durable state and HTTPS.
//!
//! It is not a general Graph emulator: only the operations of the OpenAPI fragment are served.
//! Every behaviour that imitates Graph, with its source and the test that pins it:
//! [FIDELITY.md](https://github.com/teamsapp/teamsapp/blob/main/FIDELITY.md).
//!
//! # Getting started
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use teamsapp_mock::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! // Token URL: {authority}/{tenant}/oauth2/v2.0/token; Graph: {graph_url}/chats/…
//! println!("{} {}", emulator.authority(), emulator.graph_url());
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # Surfaces
//!
//! - **Graph**, under `/v1.0` and `/beta`: every operation of [`teamsapp_types::routes::ALL`], at
//!   its template and its aliases (`…/upgrade` and `…/microsoft.graph.upgrade`), answered by
//!   `teamsapp-model` (the demo tenant with [`EmulatorConfig::demo`], or any
//!   [`TenantSpec`](teamsapp_model::TenantSpec)).
//! - **Identity**: `POST /{tenant}/oauth2/v2.0/token` (client credentials, device code),
//!   `POST /{tenant}/oauth2/v2.0/devicecode`, `GET /{tenant}/discovery/v2.0/keys`,
//!   `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/instance`.
//!   `{tenant}` is a tenant id or a domain of its users' principal names.
//! - **Admin**, under `/_emulator` (no token; open on a loopback listener, behind
//!   [`EmulatorConfig::admin_key`] otherwise): `POST reset`, `POST tenants` (a tenant spec),
//!   `GET state`, `GET installations/{id}`, `GET journal?limit=N`, `GET metrics`,
//!   `GET`/`PUT faults`, `GET`/`PUT throttle`, `GET`/`PUT scenarios`, `POST token` (a
//!   [`TokenSpec`]), `POST devicecode/approve` (`{"user_code", "user"}`), `GET devicelogin`.
//!
//! # Durability
//!
//! With [`EmulatorConfig::data_dir`], every change is appended to an embedded redb store
//! ([`EventStore`], file [`STORE_FILE_NAME`]) in one durable transaction before the response is
//! sent, and the state is rebuilt from it at start: an acknowledged change survives `kill -9`.
//! The signing key is stored too, so tokens survive a restart. When the store already holds
//! state, it wins over [`EmulatorConfig::tenants`]; `POST /_emulator/reset` goes back to them.
//! The directory is made `0700` and the store `0600` (an existing one open to others is fixed,
//! with a warning); an empty or foreign file is a startup error, and every event carries a
//! checksum: a damaged one stops the start naming its position, and
//! [`EmulatorConfig::recovery`] ([`Recovery::TruncateDamaged`]) keeps the events before it. See
//! [`EventStore`].
//!
//! # Choices where Graph's behaviour is not documented
//!
//! - Tokens are RS256 JWTs signed with a 2048-bit key generated at startup; the JWKS is at
//!   `/{tenant}/discovery/v2.0/keys`. `aud` is `https://graph.microsoft.com` (or the emulator's
//!   origin when that was the requested resource), `iss` `https://sts.windows.net/{tid}/`; `exp`
//!   is checked exactly, `nbf` with five minutes of skew.
//! - A path below `/v1.0` or `/beta` that no route has answers `400 BadRequest` "Resource not
//!   found for the segment '…'." (OData's message); a path outside them answers `400 BadRequest`
//!   "Invalid version: …". A known path with another method answers `405` with Graph's
//!   `Request_BadRequest` "Specified HTTP method is not allowed for the request target.".
//!   Static path segments match ASCII case-insensitively, and one trailing slash is ignored.
//! - An OData option the operation does not support answers `400` with the OData library's
//!   message, which Graph relays: "The query specified in the URI is not valid. Query option
//!   `'OrderBy'` is not allowed. …"; an option OData does not define (`$foo`) answers "The query
//!   parameter '…' is not supported.". The `$` may be left out of system query options.
//! - A body without `Content-Type` is read as the operation's type; another type is `415`.
//! - Throttling answers `429 TooManyRequests` with `Retry-After` in whole seconds, rounded up;
//!   injected `503`s carry `Retry-After` too, `504`s do not.
//! - `$batch` items run one at a time, in dependency order; responses come in request order.
//! - Defaults: throttling on at 30/30/30/15 requests per second (GET, POST/PUT, PATCH, DELETE) per
//!   app per tenant, burst one second's worth; faults off; journal 1,000 entries; body limit
//!   30 MiB; request timeout 30 s (answered `504`; on the identity platform too, in Entra's
//!   shape; the admin API's body must arrive within it, else `408`); tokens live one hour; device
//!   codes 15 minutes.
//! - Connections ([`ConnectionLimits`]): 30 s to send a request's head (also the keep-alive idle
//!   limit), 60 s without a byte either way, 10 s for a TLS handshake, and a cap on open
//!   connections derived from the descriptor limit (above it, `503` with `Retry-After`).
//!   hyper's own answers to malformed requests (`400`, `414`, `431`) have empty bodies.
//!
//! Not served: CORS preflight, HTTP/2, refresh tokens, client assertions (certificates).

mod admin;
mod auth;
mod backend;
mod batch;
mod builder;
mod clock;
mod config;
mod connections;
mod context;
mod device_codes;
mod error;
mod faults;
mod graph;
mod identity;
mod journal;
mod limits;
mod model;
mod oauth;
mod origins;
mod render;
mod request;
mod routing;
mod server;
mod shards;
mod state;
mod store;
mod sync;
mod throttle;
mod tls;

#[cfg(test)]
mod tests;

pub use auth::{Caller, Claims};
pub use backend::ApiVersion;
pub use batch::MAX_BATCH_REQUESTS;
pub use builder::EmulatorBuilder;
pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use config::{
    DEFAULT_ADMIN_BODY_LIMIT, DEFAULT_BODY_LIMIT, DEFAULT_JOURNAL_CAPACITY, DeviceCodeConfig,
    EmulatorConfig, TenantSource, TlsConfig,
};
pub use connections::ConnectionLimits;
pub use error::{ApiError, AuthFailure, Error};
pub use faults::{EarlyRetry, FaultConfig, Scenario, ScenarioMatch};
pub use identity::{
    AppRegistration, ClientSecret, DelegatedGrant, DirectoryUser, GRAPH_APP_ID, GRAPH_RESOURCE,
    IdentityRegistry, IdentityTenant,
};
pub use journal::{JournalEntry, Metrics};
pub use oauth::DEVICE_CODE_GRANT;
pub use server::{Credentials, Emulator, router, serve};
pub use state::{AppState, MintedToken, STORE_FILE_NAME, TokenSpec};
pub use store::{EventStore, Recovery, STORE_FORMAT, StoreError};
pub use throttle::{AppLimits, RateLimit, ThrottleConfig};
pub use tls::CERT_FILE_NAME;

/// The wire types and request types (`teamsapp-types`), so a test suite needs one dev-dependency.
pub use teamsapp_types;

/// The domain model the Graph handlers call (tenant specs, the demo tenant, [`WorldConfig`]).
///
/// [`WorldConfig`]: teamsapp_model::WorldConfig
pub use teamsapp_model;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
