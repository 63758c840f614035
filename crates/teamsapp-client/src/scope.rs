//! Typed conveniences for the common operations, in each installation scope and the catalog.
//!
//! Each method builds the generated request type of its scope and calls [`Client::send`] (or pages
//! with [`Client::items`]); for options they do not expose, build the request type yourself. The
//! installation methods are written once over the scope: one table per operation names its
//! generated request type in each scope.

use futures_util::TryStreamExt;
use teamsapp_types::{
    AppInstallationId, ChatId, GetCatalogApp, GetChatInstalledApp, GetTeamInstalledApp,
    GetUserInstalledApp, InstallChatApp, InstallTeamApp, InstallUserApp,
    InstalledAppsPostRequestBody, ListCatalogApps, ListChatInstalledApps, ListTeamInstalledApps,
    ListUserInstalledApps, Operation, PublishCatalogApp, TeamId, TeamsApp, TeamsAppDefinition,
    TeamsAppId, TeamsAppInstallation, TeamsAppPermissionSet, UninstallChatApp, UninstallTeamApp,
    UninstallUserApp, UpdateCatalogApp, UpgradeChatApp, UpgradePostRequestBody, UpgradeTeamApp,
    UpgradeUserApp, UserId, UserScopeTeamsAppInstallation, routes,
};

use crate::paging::Page;
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
}

/// A response as the scope methods return it: a user-scope installation as a plain installation
/// (its `chat` kept in `additional_properties["chat"]`), anything else as it is.
trait Flatten {
    /// What the public method returns.
    type Out;

    fn flatten(self) -> Self::Out;
}

impl Flatten for () {
    type Out = ();

    fn flatten(self) {}
}

impl Flatten for TeamsAppInstallation {
    type Out = Self;

    fn flatten(self) -> Self {
        self
    }
}

impl Flatten for UserScopeTeamsAppInstallation {
    type Out = TeamsAppInstallation;

    fn flatten(self) -> TeamsAppInstallation {
        let mut additional_properties = self.additional_properties;
        if let Some(chat) = self.chat.and_then(|c| serde_json::to_value(c).ok()) {
            additional_properties.insert("chat".to_owned(), chat);
        }
        TeamsAppInstallation {
            id: self.id,
            consented_permission_set: self.consented_permission_set,
            teams_app: self.teams_app,
            teams_app_definition: self.teams_app_definition,
            additional_properties,
        }
    }
}

impl<T: Flatten> Flatten for Option<T> {
    type Out = Option<T::Out>;

    fn flatten(self) -> Self::Out {
        self.map(Flatten::flatten)
    }
}

/// One operation over the three installation scopes: the generated request type of each scope,
/// built from the scope's id and the operation's other arguments. The public methods are written
/// once over it (`Client::send_in`, `Client::items_in`); only the `family!` table names the
/// per-scope request types.
trait Family {
    /// What the operation takes besides the scope.
    type Args;
    /// The request in a chat.
    type Chat: Operation + 'static;
    /// The request in a team.
    type Team: Operation + 'static;
    /// The request in a user's personal scope.
    type User: Operation + 'static;

    fn chat(id: ChatId, args: Self::Args) -> Self::Chat;
    fn team(id: TeamId, args: Self::Args) -> Self::Team;
    fn user(id: UserId, args: Self::Args) -> Self::User;
}

/// Declares a `Family`: its arguments, its generated request type in each scope, and one
/// expression building the request from `Op` (the scope's request type), the scope's id and the
/// arguments.
macro_rules! family {
    ($(#[$doc:meta])* $name:ident($args:ty) => [$chat:ty, $team:ty, $user:ty],
     |$id:ident, $a:pat_param| $build:expr) => {
        $(#[$doc])*
        struct $name;

        impl Family for $name {
            type Args = $args;
            type Chat = $chat;
            type Team = $team;
            type User = $user;

            fn chat($id: ChatId, $a: $args) -> $chat {
                type Op = $chat;
                $build
            }

            fn team($id: TeamId, $a: $args) -> $team {
                type Op = $team;
                $build
            }

            fn user($id: UserId, $a: $args) -> $user {
                type Op = $user;
                $build
            }
        }
    };
}

/// The properties [`Client::installed_app`] expands.
const EXPAND: [&str; 2] = ["teamsApp", "teamsAppDefinition"];

family! {
    /// `POST …/installedApps/{id}/upgrade`.
    Upgrade((AppInstallationId, Option<UpgradePostRequestBody>))
        => [UpgradeChatApp, UpgradeTeamApp, UpgradeUserApp],
    |id, (installation, body)| Op { body, ..Op::new(id, installation) }
}

family! {
    /// `POST …/installedApps`.
    Install(InstalledAppsPostRequestBody) => [InstallChatApp, InstallTeamApp, InstallUserApp],
    |id, body| Op::new(id, body)
}

family! {
    /// `GET …/installedApps/{id}?$expand=teamsApp,teamsAppDefinition`.
    Get(AppInstallationId) => [GetChatInstalledApp, GetTeamInstalledApp, GetUserInstalledApp],
    |id, installation| Op::new(id, installation).expand(EXPAND)
}

family! {
    /// `GET …/installedApps` with a [`ListQuery`]'s options.
    List(ListQuery) => [ListChatInstalledApps, ListTeamInstalledApps, ListUserInstalledApps],
    |id, query| Op {
        filter: query.filter,
        select: query.select,
        expand: query.expand,
        ..Op::new(id)
    }
}

family! {
    /// `DELETE …/installedApps/{id}`.
    Uninstall(AppInstallationId) => [UninstallChatApp, UninstallTeamApp, UninstallUserApp],
    |id, installation| Op::new(id, installation)
}

impl Client {
    /// Sends family `F`'s request in `scope`.
    async fn send_in<F, Out>(&self, scope: &Scope, args: F::Args) -> Result<Out, Error>
    where
        F: Family,
        <F::Chat as Operation>::Response: Flatten<Out = Out>,
        <F::Team as Operation>::Response: Flatten<Out = Out>,
        <F::User as Operation>::Response: Flatten<Out = Out>,
    {
        match scope {
            Scope::Chat(id) => self
                .send(&F::chat(id.clone(), args))
                .await
                .map(Flatten::flatten),
            Scope::Team(id) => self
                .send(&F::team(id.clone(), args))
                .await
                .map(Flatten::flatten),
            Scope::User(id) => self
                .send(&F::user(id.clone(), args))
                .await
                .map(Flatten::flatten),
        }
    }

    /// Every item of family `F`'s list in `scope`, across pages.
    async fn items_in<F, Out>(&self, scope: &Scope, args: F::Args) -> Result<Vec<Out>, Error>
    where
        F: Family,
        <F::Chat as Operation>::Response: Page<Item: Flatten<Out = Out> + Unpin> + Send + 'static,
        <F::Team as Operation>::Response: Page<Item: Flatten<Out = Out> + Unpin> + Send + 'static,
        <F::User as Operation>::Response: Page<Item: Flatten<Out = Out> + Unpin> + Send + 'static,
    {
        match scope {
            Scope::Chat(id) => {
                self.items(&F::chat(id.clone(), args))
                    .map_ok(Flatten::flatten)
                    .try_collect()
                    .await
            }
            Scope::Team(id) => {
                self.items(&F::team(id.clone(), args))
                    .map_ok(Flatten::flatten)
                    .try_collect()
                    .await
            }
            Scope::User(id) => {
                self.items(&F::user(id.clone(), args))
                    .map_ok(Flatten::flatten)
                    .try_collect()
                    .await
            }
        }
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
        self.send_in::<Upgrade, _>(scope, (installation.clone(), body))
            .await
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
        self.send_in::<Install, _>(scope, body).await
    }

    /// One installation, with its app and installed definition expanded.
    pub async fn installed_app(
        &self,
        scope: &Scope,
        installation: &AppInstallationId,
    ) -> Result<TeamsAppInstallation, Error> {
        self.send_in::<Get, _>(scope, installation.clone()).await
    }

    /// Every installation in a scope, across pages.
    pub async fn installed_apps(
        &self,
        scope: &Scope,
        query: &ListQuery,
    ) -> Result<Vec<TeamsAppInstallation>, Error> {
        self.items_in::<List, _>(scope, query.clone()).await
    }

    /// Uninstalls an app (`DELETE …/installedApps/{id}` → 204).
    pub async fn uninstall(
        &self,
        scope: &Scope,
        installation: &AppInstallationId,
    ) -> Result<(), Error> {
        self.send_in::<Uninstall, _>(scope, installation.clone())
            .await
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
