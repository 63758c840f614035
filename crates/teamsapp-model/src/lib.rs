//! The domain model behind the `teamsapp` emulator: tenants, the app catalog, app versions,
//! installations in chats, teams and personal scopes, permissions and Graph's upgrade rules.
//!
//! It is a synchronous, deterministic state machine with no HTTP and no clock: the emulator
//! decodes a request into typed ids, a body, a [`Query`] and a [`Caller`], calls one [`World`]
//! method per Graph operation, and renders the wire value or the [`ModelError`] it gets back.
//! Mutations return the [`Event`]s that made them; storing and replaying those events
//! ([`World::apply`]) rebuilds the same state.
//!
//! Graph's behaviour follows `shared/reference/graph-teamsapp-api.md`; where Graph is silent the
//! choice is documented on the item that makes it (and configurable in [`WorldConfig`] when it
//! matters to clients).
//!
//! # For the emulator
//!
//! - Build the world: [`World::new`], then [`World::load_tenant`] with [`demo::tenant`], a
//!   [`demo::fleet`] or a [`TenantSpec`] read with [`TenantSpec::from_json`].
//! - Per request: [`Query::for_route`] the raw query string, build a [`Caller`] from the verified
//!   token, call the operation's method (one per operation over the scope: `UpgradeChatApp`,
//!   `UpgradeTeamApp` and `UpgradeUserApp` → [`World::upgrade_app`]), pass the current time to
//!   mutations.
//! - Errors: [`ModelError::status`], [`ModelError::code`], [`ModelError::message`], or the whole
//!   envelope with [`ModelError::to_graph_error`] (add the trace fields).
//! - Lists: [`Page::next_skiptoken`] goes into `@odata.nextLink`; [`Page::count`] into
//!   `@odata.count`.
//! - Durability: store every [`Outcome::events`] (and the events `load_tenant`/`reset` return) in
//!   order; on restart, [`World::replay`] them on a new world with the same [`WorldConfig`].
//! - Token endpoint and admin API: [`World::app_registration`], [`World::delegated_scopes`],
//!   [`World::user_identity`], [`World::installation`], [`World::upgrade_count`],
//!   [`World::stats`].
//!
//! # Where Graph is silent
//!
//! Each choice is the most plausible reading of the reference, documented where it is made:
//! upgrading a current installation answers `204` ([`AlreadyCurrent`], configurable) and counts;
//! page size 100; an unknown installation is `404 NotFound`; a delegated caller outside the
//! chat or team is `403`; RSC permissions (`Chat.Manage.Chat`, `…Read.Chat`) hold only where the
//! caller's own Teams app is installed with them consented; "Selected" apps are listed on the app
//! registration; an omitted consent stores the definition's (delegated) permissions; updating to
//! the same version is `409 AppDefinitionAlreadyExists`, to a lower one `400`; deleting a catalog
//! app removes its installations; a personal installation's chat is
//! `19:{userId}_{botId}@unq.gbl.spaces`; string comparisons in `$filter` ignore ASCII case.
//!
//! # Getting started
//!
//! The seed's documented request, against the built-in demo tenant:
//!
//! ```
//! use teamsapp_model::{Caller, Query, World, WorldConfig, demo};
//! use teamsapp_types::{AppInstallationId, ChatId, Scope, UpgradePostRequestBody};
//!
//! let mut world = World::new(WorldConfig::default());
//! world.load_tenant(demo::tenant())?;
//! let caller = Caller::application(
//!     demo::CREDENTIALS.tenant_id,
//!     demo::CREDENTIALS.client_id,
//!     ["TeamsAppInstallation.ReadWriteForChat.All"],
//! );
//! let chat = ChatId::new(demo::SEED_CHAT_ID)?;
//! let installation = AppInstallationId::new(demo::SEED_INSTALLATION_ID)?;
//! let now = time::OffsetDateTime::UNIX_EPOCH;
//! let outcome = world.upgrade_app(
//!     &caller,
//!     &Scope::Chat(chat),
//!     &installation,
//!     &UpgradePostRequestBody::default(),
//!     &Query::new(),
//!     now,
//! )?;
//! assert_eq!(outcome.value.to_version, "1.1.0");
//! assert_eq!(world.upgrade_count(demo::CREDENTIALS.tenant_id, &installation), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authz;
mod caller;
mod catalog;
pub mod demo;
mod directory;
mod error;
mod event;
pub mod filter;
mod installations;
mod options;
mod project;
mod query;
/// Teams app packages (the `teamsapp-package` crate): what the catalog reads when an app is
/// published.
pub use teamsapp_package as package;
pub mod spec;
mod state;
mod world;

pub use caller::Caller;
pub use error::{ModelError, PackageProblem};
pub use event::{DefinitionRecord, Event};
pub use options::{Query, QueryError, QueryOption};
pub use query::{ExpandItem, Page, expand_items};
pub use spec::TenantSpec;
pub use teamsapp_types::ApiVersion;
pub use teamsapp_types::version::AppVersion;
pub use world::{
    AlreadyCurrent, InstallationInfo, Outcome, TenantStats, UpgradeReport, World, WorldConfig,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
