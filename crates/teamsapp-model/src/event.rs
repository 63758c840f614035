//! [`Event`]: the changes the model makes, self-contained so they can be stored and replayed.
//!
//! Every mutating operation validates, produces its events, applies them with
//! [`World::apply`](crate::World::apply) and returns them. Generated ids and timestamps are inside
//! the events, so replaying them on a world built from the same [`WorldConfig`](crate::WorldConfig)
//! reproduces the same state exactly: restart = `World::new(config)` + `apply` of every event in
//! order (tenant loads and resets are events too).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::spec::{Distribution, InstallationScope, PublishingState, RscPermission, TenantSpec};

/// One change to the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Event {
    /// A tenant was loaded (replacing any tenant with the same id).
    TenantLoaded {
        /// The tenant.
        spec: Box<TenantSpec>,
    },
    /// Every tenant was removed.
    Reset,
    /// An app was installed in a scope.
    AppInstalled {
        /// The tenant.
        tenant_id: String,
        /// The scope kind.
        scope: InstallationScope,
        /// The chat id, team id or user object id.
        scope_id: String,
        /// The catalog app.
        teams_app_id: String,
        /// The version installed.
        version: String,
        /// The RSC permissions consented to.
        consented_permissions: Vec<RscPermission>,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An installation was upgraded (or found current: `from_version == to_version`; the call
    /// still counts in the installation's upgrade count).
    AppUpgraded {
        /// The tenant.
        tenant_id: String,
        /// The scope kind.
        scope: InstallationScope,
        /// The chat id, team id or user object id.
        scope_id: String,
        /// The catalog app.
        teams_app_id: String,
        /// The version before.
        from_version: String,
        /// The version after.
        to_version: String,
        /// The RSC permissions consented to for the new version.
        consented_permissions: Vec<RscPermission>,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// An app was uninstalled from a scope.
    AppUninstalled {
        /// The tenant.
        tenant_id: String,
        /// The scope kind.
        scope: InstallationScope,
        /// The chat id, team id or user object id.
        scope_id: String,
        /// The catalog app.
        teams_app_id: String,
    },
    /// A new app was published to the catalog, with its first definition.
    CatalogAppPublished {
        /// The tenant.
        tenant_id: String,
        /// The generated catalog id.
        teams_app_id: String,
        /// The distribution method.
        distribution_method: Distribution,
        /// The first definition.
        definition: DefinitionRecord,
    },
    /// A new definition (version) was added to a catalog app.
    CatalogAppUpdated {
        /// The tenant.
        tenant_id: String,
        /// The catalog app.
        teams_app_id: String,
        /// The new definition.
        definition: DefinitionRecord,
    },
    /// A submitted definition was published or rejected.
    DefinitionReviewed {
        /// The tenant.
        tenant_id: String,
        /// The catalog app.
        teams_app_id: String,
        /// The definition's version.
        version: String,
        /// The new state.
        publishing_state: PublishingState,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A catalog app was deleted, and with it its installations.
    CatalogAppDeleted {
        /// The tenant.
        tenant_id: String,
        /// The catalog app.
        teams_app_id: String,
    },
}

impl Event {
    /// The tenant the event changes: the loaded tenant's id for [`Event::TenantLoaded`], none
    /// for [`Event::Reset`] (it changes every tenant). A server that keeps each tenant under its
    /// own lock routes stored events by it on replay.
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Event::TenantLoaded { spec } => Some(&spec.tenant_id),
            Event::Reset => None,
            Event::AppInstalled { tenant_id, .. }
            | Event::AppUpgraded { tenant_id, .. }
            | Event::AppUninstalled { tenant_id, .. }
            | Event::CatalogAppPublished { tenant_id, .. }
            | Event::CatalogAppUpdated { tenant_id, .. }
            | Event::DefinitionReviewed { tenant_id, .. }
            | Event::CatalogAppDeleted { tenant_id, .. } => Some(tenant_id),
        }
    }
}

/// A definition as an event carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionRecord {
    /// The manifest id (the app's `externalId`).
    pub external_id: String,
    /// The version.
    pub version: String,
    /// The state.
    pub publishing_state: PublishingState,
    /// The name.
    pub display_name: String,
    /// The short description.
    pub short_description: Option<String>,
    /// The full description.
    pub description: Option<String>,
    /// `authorization.clientAppId`.
    pub client_app_id: Option<String>,
    /// The RSC permissions it requires.
    pub resource_specific_permissions: Vec<RscPermission>,
    /// The bot id.
    pub bot_id: Option<String>,
    /// Where it can be installed (`team`, `groupChat`, `personal`); empty when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installation_scopes: Vec<String>,
    /// The submitting user's object id, for delegated calls.
    pub created_by: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
