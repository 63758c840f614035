//! Typed conveniences for the common operations, in each installation scope and the catalog.
//!
//! Each method builds the generated request type of its scope and calls [`Client::send`] (or pages
//! with [`Client::items`]); for options they do not expose, build the request type yourself.

use futures_util::TryStreamExt;
use teamsapp_types::{
    AppInstallationId, GetCatalogApp, GetChatInstalledApp, GetTeamInstalledApp,
    GetUserInstalledApp, InstallChatApp, InstallTeamApp, InstallUserApp,
    InstalledAppsPostRequestBody, ListCatalogApps, ListChatInstalledApps, ListTeamInstalledApps,
    ListUserInstalledApps, PublishCatalogApp, TeamsApp, TeamsAppDefinition, TeamsAppId,
    TeamsAppInstallation, TeamsAppPermissionSet, UninstallChatApp, UninstallTeamApp,
    UninstallUserApp, UpdateCatalogApp, UpgradeChatApp, UpgradePostRequestBody, UpgradeTeamApp,
    UpgradeUserApp, UserScopeTeamsAppInstallation, routes,
};

use crate::{Client, Error};

/// Where an app is installed: a chat, a team or a user's personal scope (shared with the model
/// and the CLI through `teamsapp-types`).
pub use teamsapp_types::Scope;

/// The query options of a list of installed apps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// `$filter`, e.g. `teamsApp/id eq '…'`.
    pub filter: Option<String>,
    /// `$select`.
    pub select: Option<Vec<String>>,
    /// `$expand`, e.g. `teamsApp,teamsAppDefinition`.
    pub expand: Option<Vec<String>>,
    /// `$top`: the page size.
    pub top: Option<u32>,
}

impl ListQuery {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `$filter`.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets `$select`.
    #[must_use]
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `$expand`.
    #[must_use]
    pub fn expand<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.expand = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `$top`.
    #[must_use]
    pub fn top(mut self, top: u32) -> Self {
        self.top = Some(top);
        self
    }
}

/// Applies a [`ListQuery`] to a generated list request.
macro_rules! apply_query {
    ($request:expr, $query:expr) => {{
        let mut request = $request;
        request.filter = $query.filter.clone();
        request.select = $query.select.clone();
        request.expand = $query.expand.clone();
        request.top = $query.top;
        request
    }};
}

/// A user-scope installation as a plain installation; its `chat` is kept in
/// `additional_properties["chat"]`.
fn flatten_user_installation(i: UserScopeTeamsAppInstallation) -> TeamsAppInstallation {
    let mut additional_properties = i.additional_properties;
    if let Some(chat) = i.chat.and_then(|c| serde_json::to_value(c).ok()) {
        additional_properties.insert("chat".to_owned(), chat);
    }
    TeamsAppInstallation {
        id: i.id,
        consented_permission_set: i.consented_permission_set,
        teams_app: i.teams_app,
        teams_app_definition: i.teams_app_definition,
        additional_properties,
    }
}

impl Client {
    /// Upgrades an installation to the catalog's latest version (`POST …/upgrade` → 204), consenting
    /// to `consent` when the new version needs resource-specific permissions.
    pub async fn upgrade(
        &self,
        scope: &Scope,
        installation: &AppInstallationId,
        consent: Option<TeamsAppPermissionSet>,
    ) -> Result<(), Error> {
        let body = consent.map(|set| UpgradePostRequestBody {
            consented_permission_set: Some(set),
            ..UpgradePostRequestBody::default()
        });
        let installation = installation.clone();
        match scope {
            Scope::Chat(id) => {
                let mut op = UpgradeChatApp::new(id.clone(), installation);
                op.body = body;
                self.send(&op).await
            }
            Scope::Team(id) => {
                let mut op = UpgradeTeamApp::new(id.clone(), installation);
                op.body = body;
                self.send(&op).await
            }
            Scope::User(id) => {
                let mut op = UpgradeUserApp::new(id.clone(), installation);
                op.body = body;
                self.send(&op).await
            }
        }
    }

    /// Installs a catalog app (`POST …/installedApps`); Graph answers 201 or 200, with or without
    /// the installation, so the result is optional.
    pub async fn install(
        &self,
        scope: &Scope,
        app: &TeamsAppId,
        consent: Option<TeamsAppPermissionSet>,
    ) -> Result<Option<TeamsAppInstallation>, Error> {
        let bind = format!(
            "{}{}",
            self.base_url(),
            routes::GET_CATALOG_APP.render(&[app.as_str()])
        );
        let body = InstalledAppsPostRequestBody {
            teams_app_odata_bind: bind,
            consented_permission_set: consent,
            ..InstalledAppsPostRequestBody::default()
        };
        match scope {
            Scope::Chat(id) => self.send(&InstallChatApp::new(id.clone(), body)).await,
            Scope::Team(id) => self.send(&InstallTeamApp::new(id.clone(), body)).await,
            Scope::User(id) => Ok(self
                .send(&InstallUserApp::new(id.clone(), body))
                .await?
                .map(flatten_user_installation)),
        }
    }

    /// One installation, with its app and installed definition expanded.
    pub async fn installed_app(
        &self,
        scope: &Scope,
        installation: &AppInstallationId,
    ) -> Result<TeamsAppInstallation, Error> {
        const EXPAND: [&str; 2] = ["teamsApp", "teamsAppDefinition"];
        let installation = installation.clone();
        match scope {
            Scope::Chat(id) => {
                self.send(&GetChatInstalledApp::new(id.clone(), installation).expand(EXPAND))
                    .await
            }
            Scope::Team(id) => {
                self.send(&GetTeamInstalledApp::new(id.clone(), installation).expand(EXPAND))
                    .await
            }
            Scope::User(id) => self
                .send(&GetUserInstalledApp::new(id.clone(), installation).expand(EXPAND))
                .await
                .map(flatten_user_installation),
        }
    }

    /// Every installation in a scope, across pages.
    pub async fn installed_apps(
        &self,
        scope: &Scope,
        query: &ListQuery,
    ) -> Result<Vec<TeamsAppInstallation>, Error> {
        match scope {
            Scope::Chat(id) => {
                let op = apply_query!(ListChatInstalledApps::new(id.clone()), query);
                self.items(&op).try_collect().await
            }
            Scope::Team(id) => {
                let op = apply_query!(ListTeamInstalledApps::new(id.clone()), query);
                self.items(&op).try_collect().await
            }
            Scope::User(id) => {
                let op = apply_query!(ListUserInstalledApps::new(id.clone()), query);
                let items: Vec<UserScopeTeamsAppInstallation> =
                    self.items(&op).try_collect().await?;
                Ok(items.into_iter().map(flatten_user_installation).collect())
            }
        }
    }

    /// Uninstalls an app (`DELETE …/installedApps/{id}` → 204).
    pub async fn uninstall(
        &self,
        scope: &Scope,
        installation: &AppInstallationId,
    ) -> Result<(), Error> {
        let installation = installation.clone();
        match scope {
            Scope::Chat(id) => {
                self.send(&UninstallChatApp::new(id.clone(), installation))
                    .await
            }
            Scope::Team(id) => {
                self.send(&UninstallTeamApp::new(id.clone(), installation))
                    .await
            }
            Scope::User(id) => {
                self.send(&UninstallUserApp::new(id.clone(), installation))
                    .await
            }
        }
    }

    /// Every app of the tenant catalog matching `request`'s options, across pages.
    pub async fn catalog_apps(&self, request: &ListCatalogApps) -> Result<Vec<TeamsApp>, Error> {
        self.items(request).try_collect().await
    }

    /// One catalog app, with its definitions (versions) expanded.
    pub async fn catalog_app(&self, app: &TeamsAppId) -> Result<TeamsApp, Error> {
        self.send(&GetCatalogApp::new(app.clone()).expand(["appDefinitions"]))
            .await
    }

    /// Publishes an app package (a zip holding `manifest.json`) to the tenant catalog.
    pub async fn publish_app(
        &self,
        package: Vec<u8>,
        requires_review: bool,
    ) -> Result<TeamsApp, Error> {
        let mut op = PublishCatalogApp::new(package);
        if requires_review {
            op = op.requires_review(true);
        }
        self.send(&op).await
    }

    /// Uploads a new version of a catalog app; Graph answers 201 with the definition or 204.
    pub async fn update_app(
        &self,
        app: &TeamsAppId,
        package: Vec<u8>,
        requires_review: bool,
    ) -> Result<Option<TeamsAppDefinition>, Error> {
        let mut op = UpdateCatalogApp::new(app.clone(), package);
        if requires_review {
            op = op.requires_review(true);
        }
        self.send(&op).await
    }
}
