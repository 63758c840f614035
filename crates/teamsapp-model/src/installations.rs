//! Installation operations in the three scopes: list, get, install, upgrade, uninstall, and the
//! personal installation's chat (reference §1.1–§1.3, §3.4).
//!
//! Every method checks, in order: the query options (`400`), the token's permissions (`403`),
//! the scope (`404`), delegated membership (`403`), the installation (`404`), the app-level
//! permission rules (`403`, see [`crate::authz`]), then Graph's rules (`409`, `400`).

use teamsapp_types::entities;
use teamsapp_types::entity::Entity;
use teamsapp_types::{
    AppInstallationId, Chat, ChatType, InstalledAppsPostRequestBody, Route, Scope, TeamsApp,
    TeamsAppDefinition, TeamsAppInstallation, TeamsAppPermissionSet, UpgradePostRequestBody,
    UserId, routes,
};
use time::OffsetDateTime;

use crate::authz::{caller_user, check_app, check_membership, check_token, may_see};
use crate::error::echo;
use crate::event::Event;
use crate::project::{app_wire, definition_wire, installation_wire};
use crate::query::{ListKind, ListRequest, Page, Shape, get_shape};
use crate::spec::Distribution;
use crate::spec::{InstallationScope, RscPermission, RscType};
use crate::state::{AppRec, DefRec, InstRec, ScopeKey, Tenant, same_permissions};
use crate::world::{AlreadyCurrent, Outcome, UpgradeReport};
use crate::{Caller, ModelError, Query, World};

/// What differs between the scopes for the installation operations: the generated route of each
/// operation (its permissions, query options and paging) and the entity its installations are.
struct ScopeRoutes {
    list: &'static Route,
    get: &'static Route,
    install: &'static Route,
    upgrade: &'static Route,
    uninstall: &'static Route,
    /// `…/installedApps/$count`.
    count: &'static Route,
    /// `…/installedApps/{id}/teamsApp`.
    teams_app: &'static Route,
    /// `…/installedApps/{id}/teamsAppDefinition`.
    definition: &'static Route,
    /// What `$select`, `$expand` and `$filter` may name: a personal installation is a
    /// `userScopeTeamsAppInstallation`, whose `chat` navigation is not expandable.
    entity: &'static Entity,
}

/// The kind of `scope` and the routes of its installation operations.
fn scope_routes(scope: &Scope) -> (InstallationScope, &'static ScopeRoutes) {
    static CHAT: ScopeRoutes = ScopeRoutes {
        list: &routes::LIST_CHAT_INSTALLED_APPS,
        get: &routes::GET_CHAT_INSTALLED_APP,
        install: &routes::INSTALL_CHAT_APP,
        upgrade: &routes::UPGRADE_CHAT_APP,
        uninstall: &routes::UNINSTALL_CHAT_APP,
        count: &routes::COUNT_CHAT_INSTALLED_APPS,
        teams_app: &routes::GET_CHAT_INSTALLED_APP_TEAMS_APP,
        definition: &routes::GET_CHAT_INSTALLED_APP_TEAMS_APP_DEFINITION,
        entity: &entities::TEAMS_APP_INSTALLATION,
    };
    static TEAM: ScopeRoutes = ScopeRoutes {
        list: &routes::LIST_TEAM_INSTALLED_APPS,
        get: &routes::GET_TEAM_INSTALLED_APP,
        install: &routes::INSTALL_TEAM_APP,
        upgrade: &routes::UPGRADE_TEAM_APP,
        uninstall: &routes::UNINSTALL_TEAM_APP,
        count: &routes::COUNT_TEAM_INSTALLED_APPS,
        teams_app: &routes::GET_TEAM_INSTALLED_APP_TEAMS_APP,
        definition: &routes::GET_TEAM_INSTALLED_APP_TEAMS_APP_DEFINITION,
        entity: &entities::TEAMS_APP_INSTALLATION,
    };
    static USER: ScopeRoutes = ScopeRoutes {
        list: &routes::LIST_USER_INSTALLED_APPS,
        get: &routes::GET_USER_INSTALLED_APP,
        install: &routes::INSTALL_USER_APP,
        upgrade: &routes::UPGRADE_USER_APP,
        uninstall: &routes::UNINSTALL_USER_APP,
        count: &routes::COUNT_USER_INSTALLED_APPS,
        teams_app: &routes::GET_USER_INSTALLED_APP_TEAMS_APP,
        definition: &routes::GET_USER_INSTALLED_APP_TEAMS_APP_DEFINITION,
        entity: &entities::USER_SCOPE_TEAMS_APP_INSTALLATION,
    };
    let kind = scope.installation_scope();
    let routes = match kind {
        InstallationScope::Chat => &CHAT,
        InstallationScope::Team => &TEAM,
        InstallationScope::User => &USER,
    };
    (kind, routes)
}

/// Finds a scope, answering Graph's `404`s.
pub(crate) fn resolve_scope(
    tenant: &Tenant,
    kind: InstallationScope,
    id: &str,
) -> Result<ScopeKey, ModelError> {
    tenant.scope_by_id(kind, id).ok_or_else(|| {
        ModelError::not_found(match kind {
            InstallationScope::Chat => format!("Chat '{}' was not found.", echo(id)),
            InstallationScope::Team => format!("No team found with Group Id {}.", echo(id)),
            InstallationScope::User => format!(
                "Resource '{}' does not exist or one of its queried reference-property objects are not present.",
                echo(id)
            ),
        })
    })
}

fn installation_not_found(kind: InstallationScope, id: &AppInstallationId) -> ModelError {
    ModelError::not_found(format!(
        "The app installation '{}' was not found in this {}.",
        echo(id.as_str()),
        kind.as_str()
    ))
}

/// The catalog id named by `teamsApp@odata.bind`: the last segment of
/// `…/appCatalogs/teamsApps/{id}` (any host and version, so national clouds and the emulator's
/// own base URL work).
fn bound_app_id(bind: &str) -> Result<&str, ModelError> {
    const MARKER: &str = "/appcatalogs/teamsapps";
    let invalid = || {
        ModelError::bad_request(format!(
            "The value '{}' of teamsApp@odata.bind is not a URL of the form https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{{teamsApp-id}}.",
            echo(bind)
        ))
    };
    let lower = bind.to_ascii_lowercase();
    let at = lower.rfind(MARKER).ok_or_else(invalid)?;
    let rest = &bind[at + MARKER.len()..];
    let id = match rest.strip_prefix('/') {
        Some(id) => id.trim_end_matches('/'),
        None => rest
            .strip_prefix("('")
            .and_then(|s| s.strip_suffix("')"))
            .ok_or_else(invalid)?,
    };
    if teamsapp_types::TeamsAppId::new(id).is_err() {
        return Err(invalid());
    }
    Ok(id)
}

/// Graph's consent rule (reference §3.4): the consented permissions must match the definition's
/// RSC permissions; they may be omitted when those are all delegated. Returns what is consented.
fn consent(
    given: Option<&TeamsAppPermissionSet>,
    required: &[RscPermission],
) -> Result<Vec<RscPermission>, ModelError> {
    let describe = |list: &[RscPermission]| {
        list.iter()
            .map(|p| {
                format!(
                    "{} ({})",
                    p.permission_value,
                    match p.permission_type {
                        RscType::Delegated => "delegated",
                        RscType::Application => "application",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(given) = given else {
        if required
            .iter()
            .all(|p| p.permission_type == RscType::Delegated)
        {
            return Ok(required.to_vec());
        }
        return Err(ModelError::bad_request(format!(
            "The app requires resource-specific application permissions, so consentedPermissionSet must list its permissions: '{}'.",
            describe(required)
        )));
    };
    let mut consented = Vec::new();
    for wire in given.resource_specific_permissions.iter().flatten() {
        let permission = RscPermission::from_wire(wire).ok_or_else(|| {
            ModelError::bad_request(
                "Each resource-specific permission of consentedPermissionSet needs a permissionValue and a permissionType of delegated or application.",
            )
        })?;
        consented.push(permission);
    }
    if same_permissions(&consented, required) {
        Ok(consented)
    } else {
        Err(ModelError::bad_request(format!(
            "The permissions consented to must match the resource-specific permissions defined in the teamsAppDefinition of the app. Required: '{}'. Consented: '{}'.",
            describe(required),
            describe(&consented)
        )))
    }
}

impl World {
    // --- generic implementations -------------------------------------------------------------

    /// Finds an installation the caller may act on: scope, membership, id, app rules.
    fn locate<'t>(
        tenant: &'t Tenant,
        caller: &Caller,
        kind: InstallationScope,
        scope_id: &str,
        id: &AppInstallationId,
    ) -> Result<(ScopeKey, &'t InstRec, &'t DefRec), ModelError> {
        let scope = resolve_scope(tenant, kind, scope_id)?;
        check_membership(tenant, caller_user(tenant, caller)?, scope)?;
        let position = tenant
            .find_installation(scope, id)
            .ok_or_else(|| installation_not_found(kind, id))?;
        let rec = &tenant.installed(scope)[position];
        let def = tenant
            .apps
            .get(rec.app as usize)
            .and_then(|a| a.def(rec.def))
            .ok_or_else(|| installation_not_found(kind, id))?;
        Ok((scope, rec, def))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the shared body of one operation in three scopes"
    )]
    fn install_in(
        &mut self,
        caller: &Caller,
        kind: InstallationScope,
        scope_id: &str,
        body: &InstalledAppsPostRequestBody,
        query: &Query,
        now: OffsetDateTime,
        route: &Route,
    ) -> Result<Outcome<TeamsAppInstallation>, ModelError> {
        let tenant = self.caller_tenant(caller)?;
        query.check_allowed(route)?;
        let matching = check_token(caller, route)?;
        let scope = resolve_scope(tenant, kind, scope_id)?;
        check_membership(tenant, caller_user(tenant, caller)?, scope)?;
        let app_id = bound_app_id(&body.teams_app_odata_bind)?;
        let app_index = tenant.app_by_id(app_id).ok_or_else(|| {
            ModelError::not_found(format!(
                "The app '{}' was not found in the tenant's app catalog.",
                echo(app_id)
            ))
        })?;
        let app = &tenant.apps[app_index as usize];
        let target_index = app.latest_published.ok_or_else(|| {
            ModelError::bad_request(format!(
                "The app '{}' has no published version to install.",
                app.id
            ))
        })?;
        let target = &app.defs[target_index as usize];
        check_app(
            tenant,
            caller,
            &matching,
            scope,
            app_index,
            &[target],
            !target.rsc.is_empty(),
        )?;
        check_not_blocked(tenant, scope, app_index)?;
        if tenant.installed(scope).iter().any(|r| r.app == app_index) {
            return Err(ModelError::conflict(
                format!(
                    "The app '{}' is already installed in this {}.",
                    app.id,
                    kind.as_str()
                ),
                None,
            ));
        }
        let consented = consent(body.consented_permission_set.as_ref(), &target.rsc)?;
        let scope_id = tenant.scope_id(scope).into_owned();
        let id = AppInstallationId::build(&scope_id, app.id.as_str())
            .map(AppInstallationId::into_inner)
            .unwrap_or_default();
        let event = Event::AppInstalled {
            tenant_id: tenant.id.clone(),
            scope: kind,
            scope_id,
            teams_app_id: app.id.as_str().to_owned(),
            version: target.version.as_str().to_owned(),
            consented_permissions: consented,
            at: now,
        };
        let events = self.commit(vec![event])?;
        Ok(Outcome {
            value: TeamsAppInstallation {
                id: Some(id),
                ..TeamsAppInstallation::default()
            },
            events,
        })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the shared body of one operation in three scopes"
    )]
    fn upgrade_in(
        &mut self,
        caller: &Caller,
        kind: InstallationScope,
        scope_id: &str,
        id: &AppInstallationId,
        body: &UpgradePostRequestBody,
        query: &Query,
        now: OffsetDateTime,
        route: &Route,
    ) -> Result<Outcome<UpgradeReport>, ModelError> {
        let tenant = self.caller_tenant(caller)?;
        query.check_allowed(route)?;
        let matching = check_token(caller, route)?;
        let (scope, rec, current) = Self::locate(tenant, caller, kind, scope_id, id)?;
        let app = &tenant.apps[rec.app as usize];
        // Never to an older, rejected or submitted definition: only the latest published one,
        // and only forward.
        let target = app
            .latest_published
            .and_then(|i| app.def(i))
            .filter(|t| t.version > current.version);
        let (target, consented) = match target {
            None => {
                check_app(tenant, caller, &matching, scope, rec.app, &[current], false)?;
                match self.config.already_current {
                    AlreadyCurrent::NoContent => {}
                    AlreadyCurrent::BadRequest => {
                        return Err(ModelError::bad_request(format!(
                            "The app installation already runs the latest published version ({}).",
                            current.version
                        )));
                    }
                    AlreadyCurrent::Conflict => {
                        return Err(ModelError::conflict(
                            format!(
                                "The app installation already runs the latest published version ({}).",
                                current.version
                            ),
                            None,
                        ));
                    }
                }
                (current, rec.consent.to_vec())
            }
            Some(target) => {
                check_app(
                    tenant,
                    caller,
                    &matching,
                    scope,
                    rec.app,
                    &[current, target],
                    !target.rsc.is_empty(),
                )?;
                let consented = consent(body.consented_permission_set.as_ref(), &target.rsc)?;
                (target, consented)
            }
        };
        let report = UpgradeReport {
            from_version: current.version.as_str().to_owned(),
            to_version: target.version.as_str().to_owned(),
            already_current: std::ptr::eq(current, target),
        };
        let event = Event::AppUpgraded {
            tenant_id: tenant.id.clone(),
            scope: kind,
            // A chat is found by its exact id, so the path's is the chat's (without reading it).
            scope_id: match kind {
                InstallationScope::Chat => scope_id.to_owned(),
                InstallationScope::Team | InstallationScope::User => {
                    tenant.scope_id(scope).into_owned()
                }
            },
            teams_app_id: app.id.as_str().to_owned(),
            from_version: report.from_version.clone(),
            to_version: report.to_version.clone(),
            consented_permissions: consented,
            at: now,
        };
        let events = self.commit(vec![event])?;
        Ok(Outcome {
            value: report,
            events,
        })
    }

    fn uninstall_in(
        &mut self,
        caller: &Caller,
        kind: InstallationScope,
        scope_id: &str,
        id: &AppInstallationId,
        query: &Query,
        route: &Route,
    ) -> Result<Outcome<()>, ModelError> {
        let tenant = self.caller_tenant(caller)?;
        query.check_allowed(route)?;
        let matching = check_token(caller, route)?;
        let (scope, rec, def) = Self::locate(tenant, caller, kind, scope_id, id)?;
        check_app(tenant, caller, &matching, scope, rec.app, &[def], false)?;
        let event = Event::AppUninstalled {
            tenant_id: tenant.id.clone(),
            scope: kind,
            scope_id: tenant.scope_id(scope).into_owned(),
            teams_app_id: tenant.apps[rec.app as usize].id.as_str().to_owned(),
        };
        let events = self.commit(vec![event])?;
        Ok(Outcome { value: (), events })
    }

    // --- writes, one method per operation over the scope ----------------------------------------

    /// `POST /{chats|teams|users}/{id}/installedApps` (`chats.CreateInstalledApps`,
    /// `teams.CreateInstalledApps`, `users.teamwork.CreateInstalledApps`): installs the latest
    /// published definition of the bound catalog app in `scope`. `409` when the app is already
    /// installed there; `400` when the consented permissions do not match the definition's RSC
    /// permissions. Returns the new installation (Graph answers `201` for a chat and `200` for a
    /// team, both without a body).
    pub fn install_app(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        body: &InstalledAppsPostRequestBody,
        query: &Query,
        now: OffsetDateTime,
    ) -> Result<Outcome<TeamsAppInstallation>, ModelError> {
        let (kind, routes) = scope_routes(scope);
        self.install_in(caller, kind, scope.id(), body, query, now, routes.install)
    }

    /// `POST /{chats|teams|users}/{id}/installedApps/{id}/upgrade`: moves the installation to the
    /// latest published definition of its app (never backwards, never to a submitted or rejected
    /// one). Already current: per [`WorldConfig::already_current`](crate::WorldConfig). Every
    /// success counts in [`World::upgrade_count`].
    pub fn upgrade_app(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        body: &UpgradePostRequestBody,
        query: &Query,
        now: OffsetDateTime,
    ) -> Result<Outcome<UpgradeReport>, ModelError> {
        let (kind, routes) = scope_routes(scope);
        self.upgrade_in(
            caller,
            kind,
            scope.id(),
            installation,
            body,
            query,
            now,
            routes.upgrade,
        )
    }

    /// `DELETE /{chats|teams|users}/{id}/installedApps/{id}` (`chats.DeleteInstalledApps`, …).
    pub fn uninstall_app(
        &mut self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        query: &Query,
    ) -> Result<Outcome<()>, ModelError> {
        let (kind, routes) = scope_routes(scope);
        self.uninstall_in(
            caller,
            kind,
            scope.id(),
            installation,
            query,
            routes.uninstall,
        )
    }

    // --- reads, one method per operation over the scope ---------------------------------------

    /// `GET /{chats|teams|users}/{id}/installedApps` (`chats.ListInstalledApps`,
    /// `teams.ListInstalledApps`, `users.teamwork.ListInstalledApps`).
    ///
    /// Supports `$filter` (`teamsApp/id`, `teamsApp/externalId`, … ; see [`crate::filter`]),
    /// `$select`, `$expand` (`teamsApp`, `teamsAppDefinition`, `teamsAppDefinition($expand=bot)`),
    /// `$top`, `$count`, `$skiptoken`. Items: `id` only by default. Callers holding only "Self"
    /// or "Selected" permissions see only the installations those permissions cover.
    ///
    /// The scope's generated route decides the permissions, options and paging, and its entity
    /// what the options may name. A user's personal installations are
    /// `userScopeTeamsAppInstallation`s on the wire; they come back as [`TeamsAppInstallation`]s
    /// too, since the one property they add, the `chat` navigation, is not expandable (its JSON is
    /// the same).
    pub fn list_installed_apps(
        &self,
        caller: &Caller,
        scope: &Scope,
        query: &Query,
    ) -> Result<Page<TeamsAppInstallation>, ModelError> {
        let (_, routes) = scope_routes(scope);
        let (tenant, key, request, visible) =
            self.visible_installations(caller, scope, query, routes.list)?;
        Ok(
            request.collect_page(visible.into_iter().map(|rec| (rec.seq, rec)), |rec| {
                installation_wire(tenant, key, rec, &request.shape)
            }),
        )
    }

    /// The checks and the filter of the installation list, under `route` (the list's or its
    /// `$count`'s, each with its own permissions and options): the caller's tenant, the scope,
    /// the parsed options, and the scope's installations that the caller may see and that pass
    /// `$filter`, in order.
    fn visible_installations<'w>(
        &'w self,
        caller: &Caller,
        scope: &Scope,
        query: &Query,
        route: &'static teamsapp_types::Route,
    ) -> Result<(&'w Tenant, ScopeKey, ListRequest, Vec<&'w InstRec>), ModelError> {
        let (kind, routes) = scope_routes(scope);
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            routes.entity,
            ListKind::Installations,
            self.config.page_size,
        )?;
        let matching = check_token(caller, route)?;
        let key = resolve_scope(tenant, kind, scope.id())?;
        check_membership(tenant, caller_user(tenant, caller)?, key)?;
        let visible = tenant
            .installed(key)
            .iter()
            .filter(|rec| {
                let Some(def) = tenant
                    .apps
                    .get(rec.app as usize)
                    .and_then(|app| app.def(rec.def))
                else {
                    return false;
                };
                may_see(tenant, caller, &matching, key, rec.app, def)
                    && request.keeps(&crate::project::InstallationView {
                        tenant,
                        scope: key,
                        rec,
                    })
            })
            .collect();
        Ok((tenant, key, request, visible))
    }

    /// `GET /{chats|teams|users}/{id}/installedApps/{id}` (`chats.GetInstalledApps`, …):
    /// `$select` and `$expand`; the id is accepted padded or unpadded. Personal installations as
    /// in [`list_installed_apps`](Self::list_installed_apps).
    pub fn get_installed_app(
        &self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        query: &Query,
    ) -> Result<TeamsAppInstallation, ModelError> {
        let (kind, routes) = scope_routes(scope);
        let route = routes.get;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, routes.entity)?;
        let matching = check_token(caller, route)?;
        let (key, rec, def) = Self::locate(tenant, caller, kind, scope.id(), installation)?;
        check_app(tenant, caller, &matching, key, rec.app, &[def], false)?;
        Ok(installation_wire(tenant, key, rec, &shape))
    }

    /// `GET /{chats|teams|users}/{id}/installedApps/$count` (`chats.installedApps.GetCount-3987`,
    /// …): how many of the scope's installations the caller may see pass `$filter` (the one
    /// option it takes, as in [`list_installed_apps`](Self::list_installed_apps)); the list's
    /// checks, with this route's permissions (the list's, in the fragment).
    pub fn count_installed_apps(
        &self,
        caller: &Caller,
        scope: &Scope,
        query: &Query,
    ) -> Result<u64, ModelError> {
        let (_, routes) = scope_routes(scope);
        let (_, _, _, visible) = self.visible_installations(caller, scope, query, routes.count)?;
        let count = visible.len();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    /// `GET /{chats|teams|users}/{id}/installedApps/{id}/teamsApp`
    /// (`chats.installedApps.GetTeamsApp`, …): the catalog app the installation is of, shaped by
    /// `$select` and `$expand` (`appDefinitions`) as the catalog's get shapes it. The checks are
    /// the installation get's, with this route's permissions (the get's, in the fragment).
    pub fn get_installed_app_teams_app(
        &self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        query: &Query,
    ) -> Result<TeamsApp, ModelError> {
        let route = scope_routes(scope).1.teams_app;
        let (tenant, app, _, shape) = self.installed_app(
            caller,
            scope,
            installation,
            query,
            route,
            &entities::TEAMS_APP,
        )?;
        Ok(app_wire(tenant, app, &shape))
    }

    /// `GET /{chats|teams|users}/{id}/installedApps/{id}/teamsAppDefinition`
    /// (`chats.installedApps.GetTeamsAppDefinition`, …): the version of the app that is
    /// installed, shaped by `$select` and `$expand` (`bot`) as the catalog's definition get
    /// shapes it; checks as in [`get_installed_app_teams_app`](Self::get_installed_app_teams_app).
    pub fn get_installed_app_definition(
        &self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        query: &Query,
    ) -> Result<TeamsAppDefinition, ModelError> {
        let route = scope_routes(scope).1.definition;
        let (_, app, def, shape) = self.installed_app(
            caller,
            scope,
            installation,
            query,
            route,
            &entities::TEAMS_APP_DEFINITION,
        )?;
        Ok(definition_wire(app, def, &shape))
    }

    /// What a navigation from an installation (`route`) reads: the installation's app and
    /// installed definition, after the installation get's checks with `route`'s permissions,
    /// and the answer's shape from `query` over `entity`.
    fn installed_app(
        &self,
        caller: &Caller,
        scope: &Scope,
        installation: &AppInstallationId,
        query: &Query,
        route: &Route,
        entity: &'static Entity,
    ) -> Result<(&Tenant, &AppRec, &DefRec, Shape), ModelError> {
        let kind = scope_routes(scope).0;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, entity)?;
        let matching = check_token(caller, route)?;
        let (key, rec, def) = Self::locate(tenant, caller, kind, scope.id(), installation)?;
        check_app(tenant, caller, &matching, key, rec.app, &[def], false)?;
        let app = tenant
            .apps
            .get(rec.app as usize)
            .ok_or_else(|| installation_not_found(kind, installation))?;
        Ok((tenant, app, def, shape))
    }

    // --- users (personal scope) --------------------------------------------------------------

    /// `GET /users/{user-id | upn}/teamwork/installedApps/{id}/chat`: the one-on-one chat
    /// between the user and the app's bot, `19:{userId}_{botId}@unq.gbl.spaces` (Graph's 1:1
    /// form, §5.3). `404` when the installed version has no bot (inference: no bot, no chat).
    pub fn get_user_installed_app_chat(
        &self,
        caller: &Caller,
        user: &UserId,
        installation: &AppInstallationId,
        query: &Query,
    ) -> Result<Chat, ModelError> {
        let route = &routes::GET_USER_INSTALLED_APP_CHAT;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, &entities::CHAT)?;
        let matching = check_token(caller, route)?;
        let (scope, rec, def) = Self::locate(
            tenant,
            caller,
            InstallationScope::User,
            user.as_str(),
            installation,
        )?;
        check_app(tenant, caller, &matching, scope, rec.app, &[def], false)?;
        let Some(bot) = &def.bot_id else {
            return Err(ModelError::not_found(
                "The installed app has no bot, so there is no chat between the user and the app.",
            ));
        };
        let id = format!("19:{}_{bot}@unq.gbl.spaces", tenant.scope_id(scope));
        Ok(Chat {
            id: Some(id),
            chat_type: shape.has("chatType").then_some(ChatType::OneOnOne),
            tenant_id: shape.has("tenantId").then(|| tenant.id.clone()),
            created_date_time: shape
                .has("createdDateTime")
                .then(|| crate::project::timestamp(def.last_modified)),
            last_updated_date_time: shape
                .has("lastUpdatedDateTime")
                .then(|| crate::project::timestamp(def.last_modified)),
            ..Chat::default()
        })
    }
}

/// Refuses to install an app the tenant admin blocked for the organization (Graph's `403`
/// "Trying to `CreateTeamAppEntitlement` for an App that is explicitly blocked by the tenant
/// admin.", microsoft/powerapps-tools#107), or one the personal scope's user's app permission
/// policy blocks (`403` with inner code `AccessDenied`, "App is blocked by app permission policy.
/// `TenantId`: …, `UserObjectId`: …, `AppId`: …, `AppType`: Private",
/// OfficeDev/microsoft-teams-apps-company-communicator#1537).
fn check_not_blocked(tenant: &Tenant, scope: ScopeKey, app: u32) -> Result<(), ModelError> {
    let rec = &tenant.apps[app as usize];
    if rec.blocked {
        return Err(ModelError::forbidden(
            "Trying to CreateTeamAppEntitlement for an App that is explicitly blocked by the \
             tenant admin.",
        ));
    }
    if scope.kind == InstallationScope::User {
        let user = &tenant.users[scope.index as usize];
        if user.blocked_apps.contains(&app) {
            let app_type = match rec.distribution {
                Distribution::Organization => "Private",
                Distribution::Store => "Store",
                Distribution::Sideloaded => "Sideloaded",
            };
            return Err(ModelError::Forbidden {
                message: format!(
                    "App is blocked by app permission policy. TenantId: {}, UserObjectId: {}, \
                     AppId: {}, AppType: {app_type}",
                    tenant.id, user.id, rec.id
                ),
                inner_code: Some("AccessDenied"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds() {
        let id = "0d820ecd-def2-4297-adad-78056cde7c78";
        for ok in [
            format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{id}"),
            format!("https://graph.microsoft.com/beta/appcatalogs/teamsapps/{id}"),
            format!("https://127.0.0.1:8443/v1.0/appCatalogs/teamsApps('{id}')"),
            format!("/appCatalogs/teamsApps/{id}"),
        ] {
            assert_eq!(bound_app_id(&ok).unwrap(), id, "{ok}");
        }
        for bad in [
            String::new(),
            id.to_owned(),
            "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/".to_owned(),
            format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{id}/x y"),
        ] {
            assert_eq!(bound_app_id(&bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    fn p(name: &str, kind: RscType) -> RscPermission {
        RscPermission {
            permission_value: name.into(),
            permission_type: kind,
        }
    }

    #[test]
    fn consent_rule() {
        let delegated = [p("OnlineMeeting.ReadBasic.Chat", RscType::Delegated)];
        let mixed = [
            p("OnlineMeeting.ReadBasic.Chat", RscType::Delegated),
            p("ChatMember.Read.Chat", RscType::Application),
        ];
        assert!(consent(None, &[]).unwrap().is_empty());
        assert_eq!(consent(None, &delegated).unwrap(), delegated);
        assert_eq!(consent(None, &mixed).unwrap_err().status(), 400);
        let set = crate::spec::permission_set(&mixed);
        assert_eq!(consent(Some(&set), &mixed).unwrap().len(), 2);
        let partial = crate::spec::permission_set(&delegated);
        let err = consent(Some(&partial), &mixed).unwrap_err();
        assert!(err.message().contains("must match"), "{err}");
        let extra = crate::spec::permission_set(&mixed);
        assert_eq!(consent(Some(&extra), &[]).unwrap_err().status(), 400);
    }
}
