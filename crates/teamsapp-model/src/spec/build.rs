//! Constructors for building a tenant in code, as a test suite does: the required fields as
//! arguments, everything else at its default (what the JSON form's defaults are).
//!
//! ```
//! use teamsapp_model::spec::{
//!     AppRegistrationSpec, CatalogAppSpec, ChatSpec, InstallationSpec, TeamSpec, TenantSpec, UserSpec,
//! };
//!
//! const ADELE: &str = "8b081ef6-4792-4def-b2c9-c363a1bf41d5";
//! const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
//! const APP: &str = "0d820ecd-def2-4297-adad-78056cde7c78";
//!
//! let mut tenant = TenantSpec::new("c0ffee00-0000-4000-8000-000000000001", "Fabrikam");
//! tenant.users.push(UserSpec::new(ADELE, "adele@fabrikam.example", "Adele Vance"));
//! tenant.chats.push(ChatSpec::group(CHAT, "Launch", [ADELE])?);
//! tenant.teams.push(TeamSpec::new("c0ffee00-0000-4000-8000-0000000000aa", "Sales", [ADELE])?);
//! tenant.app_registrations.push(AppRegistrationSpec::new(
//!     "c0ffee00-0000-4000-8000-00000000f1ee",
//!     "test-secret",
//!     "Our service",
//!     ["TeamsAppInstallation.ReadWriteForChat.All"],
//! ));
//! tenant.catalog.push(CatalogAppSpec::organization(APP, "Fabrikam Tasks", ["1.0.0", "1.1.0"])?);
//! tenant.installations.push(InstallationSpec::chat(CHAT, APP, "1.0.0")?);
//! assert_eq!(TenantSpec::from_json(&tenant.to_json())?, tenant);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use teamsapp_types::{ChatId, TeamId, TeamsAppId};

use super::{
    AppRegistrationSpec, CatalogAppSpec, ChatKind, ChatSpec, DefinitionSpec, Distribution,
    InstallationScope, InstallationSpec, PublishingState, TeamSpec, TenantSpec, UserSpec,
};

impl TenantSpec {
    /// An empty tenant: no users, chats, teams, registrations, grants, apps or installations;
    /// written in the current [`FORMAT_VERSION`](super::FORMAT_VERSION), with no snapshot
    /// provenance.
    pub fn new(tenant_id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            format_version: Some(super::FORMAT_VERSION),
            snapshot: None,
            tenant_id: tenant_id.into(),
            display_name: display_name.into(),
            users: Vec::new(),
            chats: Vec::new(),
            teams: Vec::new(),
            app_registrations: Vec::new(),
            delegated_grants: Vec::new(),
            catalog: Vec::new(),
            installations: Vec::new(),
        }
    }
}

impl UserSpec {
    /// An enabled work account.
    pub fn new(
        id: impl Into<String>,
        user_principal_name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            user_principal_name: user_principal_name.into(),
            display_name: display_name.into(),
            mail: None,
            user_type: None,
            account_enabled: true,
            personal_account: false,
            blocked_apps: Vec::new(),
        }
    }
}

impl ChatSpec {
    /// A group chat with a topic and members (user ids).
    pub fn group<I, S>(
        id: &str,
        topic: impl Into<String>,
        members: I,
    ) -> Result<Self, teamsapp_types::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            id: ChatId::new(id)?,
            chat_type: ChatKind::Group,
            topic: Some(topic.into()),
            members: members.into_iter().map(Into::into).collect(),
            online_meeting_info: None,
            created_date_time: None,
        })
    }
}

impl TeamSpec {
    /// A team with members (user ids).
    pub fn new<I, S>(
        id: &str,
        display_name: impl Into<String>,
        members: I,
    ) -> Result<Self, teamsapp_types::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            id: TeamId::new(id)?,
            display_name: display_name.into(),
            description: None,
            members: members.into_iter().map(Into::into).collect(),
        })
    }
}

impl AppRegistrationSpec {
    /// An app registration with a client secret and application permissions.
    pub fn new<I, S>(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        display_name: impl Into<String>,
        application_permissions: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            display_name: display_name.into(),
            application_permissions: application_permissions
                .into_iter()
                .map(Into::into)
                .collect(),
            selected_teams_apps: Vec::new(),
        }
    }
}

impl CatalogAppSpec {
    /// An app of the organization's catalog with these published versions (oldest first).
    pub fn organization<I, S>(
        id: &str,
        display_name: impl Into<String>,
        versions: I,
    ) -> Result<Self, teamsapp_types::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            id: TeamsAppId::new(id)?,
            external_id: None,
            display_name: display_name.into(),
            distribution_method: Distribution::Organization,
            blocked: false,
            app_definitions: versions
                .into_iter()
                .map(DefinitionSpec::published)
                .collect(),
        })
    }
}

impl DefinitionSpec {
    /// A published version with nothing else set.
    pub fn published(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            publishing_state: PublishingState::Published,
            display_name: None,
            short_description: None,
            description: None,
            client_app_id: None,
            resource_specific_permissions: Vec::new(),
            bot_id: None,
            installation_scopes: Vec::new(),
            last_modified_date_time: None,
            created_by: None,
        }
    }
}

impl InstallationSpec {
    /// An app installed in a chat, at a version of the catalog (checked when the tenant loads).
    pub fn chat(
        chat_id: &str,
        teams_app_id: &str,
        version: &str,
    ) -> Result<Self, teamsapp_types::Error> {
        Self::new(InstallationScope::Chat, chat_id, teams_app_id, version)
    }

    /// An app installed in a team.
    pub fn team(
        team_id: &str,
        teams_app_id: &str,
        version: &str,
    ) -> Result<Self, teamsapp_types::Error> {
        Self::new(InstallationScope::Team, team_id, teams_app_id, version)
    }

    /// An app installed in a user's personal scope.
    pub fn user(
        user_id: &str,
        teams_app_id: &str,
        version: &str,
    ) -> Result<Self, teamsapp_types::Error> {
        Self::new(InstallationScope::User, user_id, teams_app_id, version)
    }

    fn new(
        scope: InstallationScope,
        scope_id: &str,
        teams_app_id: &str,
        version: &str,
    ) -> Result<Self, teamsapp_types::Error> {
        Ok(Self {
            scope,
            scope_id: scope_id.to_owned(),
            teams_app_id: TeamsAppId::new(teams_app_id)?,
            version: version.to_owned(),
            id: None,
            consented_permissions: None,
        })
    }
}
