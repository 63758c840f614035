//! A typed, throttle-aware Microsoft Graph client for Teams app installations.
//!
//! It installs, lists, upgrades and uninstalls Teams apps in chats, teams and users' personal
//! scopes, and manages the tenant app catalog, through Microsoft Graph v1.0. Every request is built
//! from the generated request types of [`teamsapp_types`]: no path string is written by hand.
//!
//! What it does for you:
//!
//! - **Throttling done right**: `Retry-After` as delta-seconds, fractional seconds (`0.249`) and
//!   HTTP-date (counted from the response's `Date`); exponential backoff with full jitter when it is
//!   absent; separate policies for 429 and 5xx, a maximum number of retries and a total time budget
//!   ([`RetryPolicy`]); only requests that are safe to repeat are repeated after a timeout
//!   ([`retry`] says which).
//! - **A shared throttle gate**: when Graph tells one request to wait, the other requests of the
//!   same tenant and operation class wait too, instead of each tripping the limit; and a client-side
//!   rate limiter preset to the published Teams limits ([`RateLimit`], [`Throttle`]).
//! - **Paging** as a [`Stream`](futures_util::Stream) that follows `@odata.nextLink`, refuses links
//!   to other hosts, detects loops and resumes from a saved link ([`Pages`]).
//! - **`$batch`** with typed per-item results, `dependsOn`, per-item retries and 424 handling
//!   ([`BatchBuilder`]).
//! - **Errors a support ticket can use**: status, Graph code and message, `request-id`,
//!   `client-request-id` and date ([`Error`]); every request carries a fresh `client-request-id`.
//! - **Credentials**: a static token, client secret and device code flows against any authority
//!   (the global cloud, a national cloud, the local emulator), cached and refreshed before expiry,
//!   never shown in `Debug`, errors or logs ([`Credential`]).
//!
//! # Getting started
//!
//! Upgrade an app installed in a chat, with application permissions:
//!
//! ```no_run
//! use teamsapp_client::{Client, ClientSecretCredential, Scope};
//! use teamsapp_types::{AppInstallationId, ChatId};
//!
//! # async fn run() -> Result<(), teamsapp_client::Error> {
//! let client = Client::builder()
//!     .credential(ClientSecretCredential::new(
//!         "contoso.onmicrosoft.com",
//!         "00000000-0000-0000-0000-000000000001", // the app registration's client id
//!         std::env::var("CLIENT_SECRET").unwrap_or_default(),
//!     ))
//!     .build()?;
//!
//! let chat = Scope::Chat(ChatId::new("19:ea28e88c00e94c7786b065394a61f296@thread.v2").unwrap());
//! for installation in client.installed_apps(&chat, &Default::default()).await? {
//!     let id = AppInstallationId::new(installation.id.unwrap_or_default()).unwrap();
//!     client.upgrade(&chat, &id, None).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Any operation of the API can be sent with [`Client::send`], and lists can be streamed:
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use teamsapp_client::{Client, StaticToken};
//! use teamsapp_types::ListCatalogApps;
//!
//! # async fn run() -> Result<(), teamsapp_client::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080/v1.0") // the local emulator, for instance
//!     .credential(StaticToken::new("eyJ0eXAi…"))
//!     .build()?;
//! let request = ListCatalogApps::new()
//!     .filter("distributionMethod eq 'organization'")
//!     .expand(["appDefinitions"]);
//! let mut apps = client.items(&request);
//! while let Some(app) = apps.try_next().await? {
//!     println!("{:?} {:?}", app.id, app.display_name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The building blocks need no network:
//!
//! ```
//! use std::time::Duration;
//! use teamsapp_client::{RetryPolicy, parse_retry_after, RetryAfter};
//!
//! assert_eq!(parse_retry_after("0.249"), Some(RetryAfter::Delay(Duration::from_millis(249))));
//! let policy = RetryPolicy::standard().with_budget(Duration::from_secs(60));
//! assert_eq!(policy.throttled.max_retries, 6);
//! ```

#[cfg(feature = "azure-identity")]
mod azure;
mod batch;
mod client;
mod credential;
mod error;
mod paging;
pub mod retry;
mod scope;
mod stats;
mod throttle;

#[cfg(feature = "azure-identity")]
pub use azure::AzureCredential;
pub use batch::{BatchBuilder, BatchItem, BatchResults, MAX_BATCH_SIZE};
pub use client::{Client, ClientBuilder, ClientStats, DEFAULT_USER_AGENT};
pub use credential::{
    AccessToken, ClientSecretCredential, Credential, DeviceCodeCredential, DeviceCodePrompt,
    StaticToken, TokenRequest,
};
pub use error::Error;
pub use paging::{Items, Page, Pages};
pub use retry::{Backoff, RetryAfter, RetryPolicy, parse_retry_after, retry_after_delay};
pub use scope::{ListQuery, Scope};
pub use throttle::{RateLimit, Throttle};

/// URLs as the client takes them (`reqwest`'s, the `url` crate's).
pub use reqwest::Url;

/// The operation classes that key the throttle gate and the rate limits.
pub use teamsapp_types::operation::OperationClass;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
