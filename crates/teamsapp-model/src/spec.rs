//! [`TenantSpec`]: the documented JSON description of a tenant the emulator starts from.
//!
//! Every object refuses unknown fields, so a typo is an error that names the field and where it
//! is, not a silently ignored setting. Property names follow Graph's (camelCase). A minimal
//! tenant:
//!
//! ```json
//! {
//!   "tenantId": "c0ffee00-0000-4000-8000-000000000001",
//!   "displayName": "Contoso",
//!   "users": [
//!     { "id": "8b081ef6-4792-4def-b2c9-c363a1bf41d5", "userPrincipalName": "adele@contoso.example",
//!       "displayName": "Adele Vance" }
//!   ],
//!   "chats": [
//!     { "id": "19:ea28e88c00e94c7786b065394a61f296@thread.v2", "chatType": "group",
//!       "topic": "Launch", "members": ["8b081ef6-4792-4def-b2c9-c363a1bf41d5"] }
//!   ],
//!   "appRegistrations": [
//!     { "clientId": "c0ffee00-0000-4000-8000-00000000f1ee", "clientSecret": "s3cret",
//!       "displayName": "Fleet tool",
//!       "applicationPermissions": ["TeamsAppInstallation.ReadWriteForChat.All"] }
//!   ],
//!   "catalog": [
//!     { "id": "0d820ecd-def2-4297-adad-78056cde7c78", "externalId": "b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11",
//!       "displayName": "Contoso Tasks", "distributionMethod": "organization",
//!       "appDefinitions": [
//!         { "version": "1.0.0", "publishingState": "published" },
//!         { "version": "1.1.0", "publishingState": "published" }
//!       ] }
//!   ],
//!   "installations": [
//!     { "scope": "chat", "scopeId": "19:ea28e88c00e94c7786b065394a61f296@thread.v2",
//!       "teamsAppId": "0d820ecd-def2-4297-adad-78056cde7c78", "version": "1.0.0" }
//!   ]
//! }
//! ```
//!
//! Loading checks references too: members and grants name known users, installations name a
//! known scope, catalog app and version, an app is installed at most once per scope, and ids are
//! unique. See [`TenantSpec::from_json`].
//!
//! # Format version
//!
//! The format is versioned by an optional top-level `formatVersion` (currently
//! [`FORMAT_VERSION`], 1). A file without it is read as version 1, as every file written before
//! the field existed is; a file with a higher version than this crate reads is refused with a
//! message saying so, never half understood.
//!
//! # Snapshots
//!
//! A tenant file written by `teamsapp tenant snapshot` (a read of a real tenant through Graph)
//! carries `"formatVersion": 1` and a `snapshot` object ([`SnapshotProvenance`]) that records
//! where and when it was taken and with which permissions:
//!
//! ```json
//! "snapshot": {
//!   "startedAt": "2026-12-02T17:58:10Z", "takenAt": "2026-12-02T18:00:00Z", "tool": "teamsapp 0.1.0",
//!   "graph": "https://graph.microsoft.com/v1.0", "tenantId": "c0ffee00-…",
//!   "clientId": "c0ffee00-…", "permissionType": "application",
//!   "permissions": ["TeamsAppInstallation.ReadWriteForChat.All", "User.Read.All"],
//!   "apps": ["0d820ecd-def2-4297-adad-78056cde7c78"], "allApps": false,
//!   "pseudonymised": true, "unreadableScopes": 0, "skippedInstallations": 0
//! }
//! ```
//!
//! A snapshot holds no secret (no app registration, no grant) and no message content; chat
//! members and installations are kept by id, so a plan made on it maps back to the tenant. The
//! emulator ignores the provenance when it loads the file.

use std::fmt;

use serde::{Deserialize, Serialize};
pub use teamsapp_types::permissions::InstallationScope;
use teamsapp_types::{
    ChatId, ChatType, TeamId, TeamsAppDistributionMethod, TeamsAppId, TeamsAppPermissionSet,
    TeamsAppPublishingState,
};

use crate::ModelError;

mod build;
pub use teamsapp_package::{RscPermission, RscType};

/// The tenant file format version this crate writes and the highest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// A tenant: its directory, chats, teams, app registrations, app catalog and installations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    /// The format version ([`FORMAT_VERSION`]); absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    /// Where, when and how the tenant was read, for a file `teamsapp tenant snapshot` wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotProvenance>,
    /// The tenant (directory) id: a GUID, the token's `tid`.
    pub tenant_id: String,
    /// The organization's name.
    pub display_name: String,
    /// Users of the directory.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Chats: group, one-on-one and meeting chats.
    #[serde(default)]
    pub chats: Vec<ChatSpec>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
    /// Microsoft Entra app registrations that can get tokens for the tenant.
    #[serde(default)]
    pub app_registrations: Vec<AppRegistrationSpec>,
    /// Delegated permissions users consented to for an app.
    #[serde(default)]
    pub delegated_grants: Vec<DelegatedGrantSpec>,
    /// The tenant's app catalog.
    #[serde(default)]
    pub catalog: Vec<CatalogAppSpec>,
    /// Apps installed in chats, teams and personal scopes.
    #[serde(default)]
    pub installations: Vec<InstallationSpec>,
}

impl TenantSpec {
    /// Parses a tenant from JSON; errors name the offending field and its line and column.
    ///
    /// This checks the shape only; [`World::load_tenant`](crate::World::load_tenant) checks the
    /// references between objects.
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        let spec: Self = serde_json::from_str(json).map_err(|e| ModelError::spec(e.to_string()))?;
        spec.check_format()?;
        Ok(spec)
    }

    /// Refuses a file of a format version this crate does not read.
    pub fn check_format(&self) -> Result<(), ModelError> {
        match self.format_version {
            None | Some(FORMAT_VERSION) => Ok(()),
            Some(v) => Err(ModelError::spec(format!(
                "tenant file format version {v} is not one this build reads (it reads {FORMAT_VERSION}); use a newer teamsapp"
            ))),
        }
    }

    /// The tenant as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Where, when and how a snapshot of a real tenant was taken (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotProvenance {
    /// When reading started (RFC 3339, UTC): a tenant is read over time, not at one instant,
    /// and a resumed snapshot started in its first run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the snapshot was complete (RFC 3339, UTC).
    pub taken_at: String,
    /// The tool and version that took it.
    pub tool: String,
    /// Graph's base URL it was read from.
    pub graph: String,
    /// The tenant id it was read from (the token's `tid`).
    pub tenant_id: String,
    /// The application (client) id that read it, when the token names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `application` (app roles) or `delegated` (a user's scopes).
    pub permission_type: String,
    /// The permissions the token carried: its `roles`, or its `scp` split.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The catalog ids of the apps whose installations were read.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Whether the installations of every app were read.
    #[serde(default)]
    pub all_apps: bool,
    /// Whether display names, UPNs and chat topics are pseudonyms.
    #[serde(default)]
    pub pseudonymised: bool,
    /// Scopes that could not be read (their installations are missing).
    #[serde(default)]
    pub unreadable_scopes: usize,
    /// Installations left out because their app or version is not in the catalog.
    #[serde(default)]
    pub skipped_installations: usize,
}

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    /// The object id (a GUID).
    pub id: String,
    /// The user principal name (`name@domain`), unique in the tenant ignoring case.
    pub user_principal_name: String,
    /// The display name.
    pub display_name: String,
    /// The email address; defaults to the UPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// `Member` (default) or `Guest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Whether the account is enabled (default `true`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub account_enabled: bool,
    /// Whether the user signs in with a personal Microsoft account (MSA): Graph answers delegated
    /// calls of this API family for such accounts with "not supported".
    #[serde(default, skip_serializing_if = "is_false")]
    pub personal_account: bool,
    /// Catalog apps (by `teamsApp.id`) the user's app permission policy blocks: installing one
    /// in the user's personal scope is Graph's `403` "App is blocked by app permission policy".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_apps: Vec<String>,
}

/// A chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatSpec {
    /// The thread id (`19:…@thread.v2`, `19:{guid}_{guid}@unq.gbl.spaces`).
    pub id: ChatId,
    /// `group`, `oneOnOne` or `meeting`.
    pub chat_type: ChatKind,
    /// The topic (group and meeting chats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Member user ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// The online meeting a meeting chat belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_meeting_info: Option<OnlineMeetingSpec>,
    /// When the chat was created (RFC 3339); `2024-01-01T00:00:00Z` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
}

/// The kind of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChatKind {
    /// A group chat.
    Group,
    /// A one-on-one chat.
    OneOnOne,
    /// An online meeting's chat.
    Meeting,
}

impl ChatKind {
    /// The wire value.
    pub fn to_wire(self) -> ChatType {
        match self {
            Self::Group => ChatType::Group,
            Self::OneOnOne => ChatType::OneOnOne,
            Self::Meeting => ChatType::Meeting,
        }
    }
}

/// A meeting chat's online meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnlineMeetingSpec {
    /// The join URL.
    pub join_web_url: String,
    /// The calendar event id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_event_id: Option<String>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamSpec {
    /// The team's (Microsoft 365 group's) id.
    pub id: TeamId,
    /// The name.
    pub display_name: String,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member user ids.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A Microsoft Entra app registration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppRegistrationSpec {
    /// The application (client) id, the token's `appid`/`azp`.
    pub client_id: String,
    /// The client secret the emulator's token endpoint checks. Never shown by `Debug`.
    pub client_secret: String,
    /// The name.
    pub display_name: String,
    /// Application permissions (app roles) an admin granted: the token's `roles`.
    #[serde(default)]
    pub application_permissions: Vec<String>,
    /// Catalog ids of the Teams apps this registration may manage under the `…Selected…`
    /// permissions (Graph's "selected Teams apps"; how an admin selects them is undocumented).
    #[serde(default)]
    pub selected_teams_apps: Vec<String>,
}

impl fmt::Debug for AppRegistrationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRegistrationSpec")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("application_permissions", &self.application_permissions)
            .field("selected_teams_apps", &self.selected_teams_apps)
            .finish()
    }
}

/// Delegated permissions a user consented to for an app: the token's `scp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelegatedGrantSpec {
    /// The user's object id.
    pub user_id: String,
    /// The app's client id.
    pub client_id: String,
    /// The scopes.
    pub scopes: Vec<String>,
}

/// An app of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogAppSpec {
    /// The catalog id (`teamsApp.id`).
    pub id: TeamsAppId,
    /// The manifest id; absent for store apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The name.
    pub display_name: String,
    /// `organization` (default), `store` or `sideloaded`.
    #[serde(default = "organization")]
    pub distribution_method: Distribution,
    /// Its versions, in increasing version order.
    pub app_definitions: Vec<DefinitionSpec>,
    /// Blocked for the whole organization by the tenant admin (Teams admin center, Manage
    /// apps): installing it anywhere is Graph's `403` "… explicitly blocked by the tenant admin."
    #[serde(default, skip_serializing_if = "is_false")]
    pub blocked: bool,
}

/// How a catalog app is distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Distribution {
    /// The Microsoft Teams store.
    Store,
    /// The tenant's own catalog.
    Organization,
    /// Sideloaded by a user or team.
    Sideloaded,
}

impl Distribution {
    /// The wire value.
    pub fn to_wire(self) -> TeamsAppDistributionMethod {
        match self {
            Self::Store => TeamsAppDistributionMethod::Store,
            Self::Organization => TeamsAppDistributionMethod::Organization,
            Self::Sideloaded => TeamsAppDistributionMethod::Sideloaded,
        }
    }
}

/// One version of a catalog app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefinitionSpec {
    /// The version (`1.0.0`).
    pub version: String,
    /// `published` (default), `submitted` or `rejected`.
    #[serde(default = "published")]
    pub publishing_state: PublishingState,
    /// The name; the app's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// The full description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `authorization.clientAppId`: the Microsoft Entra app linked to this Teams app (what "Self"
    /// permissions compare with the caller's client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_app_id: Option<String>,
    /// `authorization.requiredPermissionSet.resourceSpecificPermissions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_specific_permissions: Vec<RscPermission>,
    /// The bot's id, if the app has a bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// Where it can be installed (`team`, `groupChat`, `personal`: beta's
    /// `allowedInstallationScopes`); empty when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installation_scopes: Vec<String>,
    /// When this version was last modified (RFC 3339); `2024-01-01T00:00:00Z` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date_time: Option<String>,
    /// The object id of the user who submitted it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// The publishing state of an app version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PublishingState {
    /// Submitted for review.
    Submitted,
    /// Rejected by an admin.
    Rejected,
    /// Published: installable.
    Published,
}

impl PublishingState {
    /// The wire value.
    pub fn to_wire(self) -> TeamsAppPublishingState {
        match self {
            Self::Submitted => TeamsAppPublishingState::Submitted,
            Self::Rejected => TeamsAppPublishingState::Rejected,
            Self::Published => TeamsAppPublishingState::Published,
        }
    }

    /// The wire name (`published`), as definition ids spell it (after capitalizing).
    pub fn name(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Rejected => "rejected",
            Self::Published => "published",
        }
    }
}

/// The wire permission set of a list of permissions.
pub(crate) fn permission_set(permissions: &[RscPermission]) -> TeamsAppPermissionSet {
    TeamsAppPermissionSet {
        resource_specific_permissions: Some(
            permissions.iter().map(RscPermission::to_wire).collect(),
        ),
        additional_properties: serde_json::Map::new(),
    }
}

/// An installed app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallationSpec {
    /// Where it is installed.
    pub scope: InstallationScope,
    /// The chat id, team id or user object id.
    pub scope_id: String,
    /// The catalog id of the app.
    pub teams_app_id: TeamsAppId,
    /// The installed version; one of the app's definitions.
    pub version: String,
    /// An explicit installation id. By default the id is formed as Graph forms it,
    /// `base64("{scopeId}##{teamsAppId}")`; Graph's documented example id
    /// `NjRiOWM3…Nzg=` decodes to a first part that is not its chat's id, so the demo needs this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The RSC permissions consented to; by default those the installed definition requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consented_permissions: Option<Vec<RscPermission>>,
}

fn yes() -> bool {
    true
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_true(b: &bool) -> bool {
    *b
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

fn organization() -> Distribution {
    Distribution::Organization
}

fn published() -> PublishingState {
    PublishingState::Published
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named() {
        let err = TenantSpec::from_json(
            r#"{"tenantId":"x","displayName":"y","users":[{"id":"a","userPrincipalName":"b","displayName":"c","upn":"d"}]}"#,
        )
        .unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("unknown field `upn`"), "{shown}");
        assert!(shown.contains("line 1"), "{shown}");
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn format_versions_are_checked() {
        let old = r#"{"tenantId":"x","displayName":"y"}"#;
        assert_eq!(TenantSpec::from_json(old).unwrap().format_version, None);
        let v1 = r#"{"formatVersion":1,"tenantId":"x","displayName":"y","snapshot":{"takenAt":"2026-12-02T18:00:00Z","tool":"t","graph":"g","tenantId":"x","permissionType":"application"}}"#;
        let spec = TenantSpec::from_json(v1).unwrap();
        assert_eq!(spec.snapshot.unwrap().permission_type, "application");
        let err = TenantSpec::from_json(r#"{"formatVersion":2,"tenantId":"x","displayName":"y"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("format version 2"), "{err}");
    }

    #[test]
    fn invalid_ids_are_refused_while_parsing() {
        let err = TenantSpec::from_json(
            r#"{"tenantId":"x","displayName":"y","chats":[{"id":"abc","chatType":"group"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid chat id"), "{err}");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let reg = AppRegistrationSpec {
            client_id: "id".into(),
            client_secret: "hunter2".into(),
            display_name: "n".into(),
            application_permissions: vec![],
            selected_teams_apps: vec![],
        };
        assert!(!format!("{reg:?}").contains("hunter2"));
    }

    #[test]
    fn rsc_types_accept_both_cases() {
        let p: RscPermission = serde_json::from_str(
            r#"{"permissionValue":"ChatMember.Read.Chat","permissionType":"Application"}"#,
        )
        .unwrap();
        assert_eq!(p.permission_type, RscType::Application);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["permissionType"],
            "application"
        );
    }
}
