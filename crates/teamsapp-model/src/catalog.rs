//! App catalog operations: list, get, publish, update, review and delete apps and their
//! definitions (reference §1.4).

use teamsapp_types::entities;
use teamsapp_types::permissions::PermissionKind;
use teamsapp_types::{
    TeamsApp, TeamsAppDefinition, TeamsAppDefinitionId, TeamsAppId, TeamsAppPublishingState,
    TeamworkBot, routes,
};
use time::OffsetDateTime;

use crate::authz::check_token;
use crate::error::echo;
use crate::event::{DefinitionRecord, Event};
use crate::package::{AppPackage, parse_package};
use crate::project::{AppView, DefView, app_wire, definition_wire};
use crate::query::{ListKind, ListRequest, Page, Shape, get_shape, requires_review};
use crate::spec::{Distribution, PublishingState};
use crate::state::{AppRec, Tenant};
use crate::world::{Outcome, generated_guid};
use crate::{Caller, ModelError, Query, World};
use teamsapp_types::version::AppVersion;

fn app_not_found(id: &str) -> ModelError {
    ModelError::not_found(format!(
        "The app '{}' was not found in the tenant's app catalog.",
        echo(id)
    ))
}

fn find_app<'t>(tenant: &'t Tenant, id: &TeamsAppId) -> Result<(u32, &'t AppRec), ModelError> {
    let index = tenant
        .app_by_id(id.as_str())
        .ok_or_else(|| app_not_found(id.as_str()))?;
    Ok((index, &tenant.apps[index as usize]))
}

/// The definition of `app` named by `id`: its version, and its state when the id carries one
/// (ids change with the state, so an id of a state left behind is a `404`).
fn find_definition(app: &AppRec, id: &TeamsAppDefinitionId) -> Result<u32, ModelError> {
    let not_found = || {
        ModelError::not_found(format!(
            "The app definition '{}' was not found for app '{}'.",
            echo(id.as_str()),
            app.id
        ))
    };
    let decoded = id.decode().ok_or_else(not_found)?;
    if !decoded.teams_app_id.eq_ignore_ascii_case(app.id.as_str()) {
        return Err(not_found());
    }
    let version = AppVersion::parse(&decoded.version).ok_or_else(not_found)?;
    let index = app.def_by_version(&version).ok_or_else(not_found)?;
    let def = &app.defs[index as usize];
    match decoded.state {
        Some(state) if !state.eq_ignore_ascii_case(def.state.name()) => Err(not_found()),
        _ => Ok(index),
    }
}

/// Whether the caller holds only `AppCatalog.Submit` among the matching permissions: it may
/// submit for review but not publish (reference §1.4: only admins can skip the review).
fn submit_only(matching: &[&str]) -> bool {
    matching
        .iter()
        .all(|p| p.eq_ignore_ascii_case("AppCatalog.Submit"))
}

fn record(
    package: AppPackage,
    state: PublishingState,
    caller: &Caller,
    now: OffsetDateTime,
) -> DefinitionRecord {
    DefinitionRecord {
        external_id: package.external_id,
        version: package.version,
        publishing_state: state,
        display_name: package.display_name,
        short_description: package.short_description,
        description: package.description,
        client_app_id: package.client_app_id,
        resource_specific_permissions: package.resource_specific_permissions,
        bot_id: package.bot_id,
        installation_scopes: package.installation_scopes,
        created_by: match caller.kind {
            PermissionKind::Delegated => caller.user_id.clone(),
            PermissionKind::Application => None,
        },
        at: now,
    }
}

impl World {
    /// `GET /appCatalogs/teamsApps` (`appCatalogs.ListTeamsApps`).
    ///
    /// `$filter` on `id`, `externalId`, `displayName`, `distributionMethod` and
    /// `appDefinitions/any(a:a/bot ne null)`-style lambdas; `$expand=appDefinitions` (with nested
    /// `$select`/`$expand=bot`); `$select`; paging.
    pub fn list_catalog_apps(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Page<TeamsApp>, ModelError> {
        let route = &routes::LIST_CATALOG_APPS;
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            &entities::TEAMS_APP,
            ListKind::CatalogApps,
            self.config.page_size,
        )?;
        check_token(caller, route)?;
        let items = tenant
            .apps
            .iter()
            .enumerate()
            .filter(|(_, app)| !app.deleted && request.keeps(&AppView { app }));
        Ok(
            request.collect_page(items.map(|(i, app)| (i as u64, app)), |app| {
                app_wire(tenant, app, &request.shape)
            }),
        )
    }

    /// `GET /appCatalogs/teamsApps/{teamsApp-id}` (`appCatalogs.GetTeamsApps`).
    pub fn get_catalog_app(
        &self,
        caller: &Caller,
        app: &TeamsAppId,
        query: &Query,
    ) -> Result<TeamsApp, ModelError> {
        let route = &routes::GET_CATALOG_APP;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, &entities::TEAMS_APP)?;
        check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        Ok(app_wire(tenant, rec, &shape))
    }

    /// `GET /appCatalogs/teamsApps/{teamsApp-id}/appDefinitions`.
    pub fn list_catalog_app_definitions(
        &self,
        caller: &Caller,
        app: &TeamsAppId,
        query: &Query,
    ) -> Result<Page<TeamsAppDefinition>, ModelError> {
        let route = &routes::LIST_CATALOG_APP_DEFINITIONS;
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            &entities::TEAMS_APP_DEFINITION,
            ListKind::Definitions,
            self.config.page_size,
        )?;
        check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        let items = rec
            .defs
            .iter()
            .enumerate()
            .filter(|(_, def)| request.keeps(&DefView { app: rec, def }));
        Ok(
            request.collect_page(items.map(|(i, d)| (i as u64, d)), |def| {
                definition_wire(rec, def, &request.shape)
            }),
        )
    }

    /// `GET /appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{teamsAppDefinition-id}`.
    pub fn get_catalog_app_definition(
        &self,
        caller: &Caller,
        app: &TeamsAppId,
        definition: &TeamsAppDefinitionId,
        query: &Query,
    ) -> Result<TeamsAppDefinition, ModelError> {
        let route = &routes::GET_CATALOG_APP_DEFINITION;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, &entities::TEAMS_APP_DEFINITION)?;
        check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        let index = find_definition(rec, definition)?;
        Ok(definition_wire(rec, &rec.defs[index as usize], &shape))
    }

    /// `GET /appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{teamsAppDefinition-id}/bot`
    /// (`appCatalogs.teamsApps.appDefinitions.GetBot`): the definition's bot (`id` only).
    ///
    /// A definition without a bot is `404 NotFound`: OData's protocol says `204` for a
    /// single-valued navigation with nothing related, but Graph answers `404` for one (a user's
    /// `manager`, "by design"), so the emulator does too (our choice; FIDELITY.md).
    pub fn get_catalog_app_definition_bot(
        &self,
        caller: &Caller,
        app: &TeamsAppId,
        definition: &TeamsAppDefinitionId,
        query: &Query,
    ) -> Result<TeamworkBot, ModelError> {
        let route = &routes::GET_CATALOG_APP_DEFINITION_BOT;
        let tenant = self.caller_tenant(caller)?;
        // `$select` may name only `id`, and the bot has nothing to expand: parsed for its 400s.
        let _shape = get_shape(query, route, &entities::TEAMWORK_BOT)?;
        check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        let index = find_definition(rec, definition)?;
        let def = &rec.defs[index as usize];
        let id = def.bot_id.clone().ok_or_else(|| {
            ModelError::not_found(format!(
                "The app definition '{}' has no bot.",
                echo(definition.as_str())
            ))
        })?;
        Ok(TeamworkBot {
            id: Some(id),
            additional_properties: serde_json::Map::new(),
        })
    }

    /// `POST /appCatalogs/teamsApps[?requiresReview=true]` (`appCatalogs.CreateTeamsApps`):
    /// publishes a Teams app package (zip) to the tenant catalog as an `organization` app.
    ///
    /// The package's manifest `id` must be new (`409 Conflict` with inner
    /// `AppDefinitionAlreadyExists`, §3.3 #1); an invalid package is a `400` with inner
    /// `UnableToParseTeamsAppManifest` and `details` (§3.3 #2). `requiresReview=true` submits the
    /// version for review (`submitted`), else it is `published`; callers holding only
    /// `AppCatalog.Submit` must ask for a review (`403` otherwise: "Users with admin privileges
    /// can submit apps without triggering a review"). Returns the new `teamsApp` (Graph: `201`).
    pub fn publish_catalog_app(
        &mut self,
        caller: &Caller,
        package: &[u8],
        query: &Query,
        now: OffsetDateTime,
    ) -> Result<Outcome<TeamsApp>, ModelError> {
        let route = &routes::PUBLISH_CATALOG_APP;
        let tenant = self.caller_tenant(caller)?;
        let review = requires_review(query, route)?;
        let matching = check_token(caller, route)?;
        if !review && submit_only(&matching) {
            return Err(ModelError::forbidden(
                "Only Teams service admins can publish an app without review; with AppCatalog.Submit set requiresReview=true.",
            ));
        }
        let package = parse_package(package)?;
        if tenant.app_by_external_id(&package.external_id).is_some() {
            return Err(ModelError::conflict(
                "Conflict",
                Some("AppDefinitionAlreadyExists"),
            ));
        }
        let state = if review {
            PublishingState::Submitted
        } else {
            PublishingState::Published
        };
        let app_id = generated_guid(self.config.seed, &tenant.id, tenant.generated);
        let event = Event::CatalogAppPublished {
            tenant_id: tenant.id.clone(),
            teams_app_id: app_id.clone(),
            distribution_method: Distribution::Organization,
            definition: record(package, state, caller, now),
        };
        let events = self.commit(vec![event])?;
        let tenant = self.caller_tenant(caller)?;
        let app = tenant
            .app_by_id(&app_id)
            .map(|i| &tenant.apps[i as usize])
            .ok_or_else(|| ModelError::event("the published app is missing"))?;
        Ok(Outcome {
            value: app_wire(
                tenant,
                app,
                &Shape::default_for(entities::TEAMS_APP.in_version(query.version())),
            ),
            events,
        })
    }

    /// `POST /appCatalogs/teamsApps/{teamsApp-id}/appDefinitions[?requiresReview=true]`
    /// (`appCatalogs.teamsApps.CreateAppDefinitions`): adds a new version from a package whose
    /// manifest `id` is the app's `externalId` (`400` otherwise). A version not higher than every
    /// existing version is refused: the same version is a `409` (`AppDefinitionAlreadyExists`), a
    /// lower one a `400` (Graph's exact answers are undocumented). Returns the new definition
    /// (Graph answers `201 Created` with it when it was submitted for review, `204` otherwise).
    pub fn update_catalog_app(
        &mut self,
        caller: &Caller,
        app: &TeamsAppId,
        package: &[u8],
        query: &Query,
        now: OffsetDateTime,
    ) -> Result<Outcome<TeamsAppDefinition>, ModelError> {
        let route = &routes::UPDATE_CATALOG_APP;
        let tenant = self.caller_tenant(caller)?;
        let review = requires_review(query, route)?;
        let matching = check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        if rec.distribution == Distribution::Store {
            return Err(ModelError::bad_request(
                "Only apps with distributionMethod 'organization' can be updated.",
            ));
        }
        if !review && submit_only(&matching) {
            return Err(ModelError::forbidden(
                "Only Teams service admins can publish an app version without review; with AppCatalog.Submit set requiresReview=true.",
            ));
        }
        let package = parse_package(package)?;
        if !rec
            .external_id
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&package.external_id))
        {
            return Err(ModelError::bad_request(format!(
                "The manifest id '{}' of the package does not match the externalId '{}' of the app.",
                echo(&package.external_id),
                rec.external_id.as_deref().unwrap_or("")
            )));
        }
        let version = AppVersion::parse(&package.version)
            .ok_or_else(|| ModelError::bad_request("The manifest version is not valid."))?;
        if rec.defs.iter().any(|d| d.version == version) {
            return Err(ModelError::conflict(
                "Conflict",
                Some("AppDefinitionAlreadyExists"),
            ));
        }
        if let Some(highest) = rec.defs.iter().map(|d| &d.version).max()
            && version < *highest
        {
            return Err(ModelError::bad_request(format!(
                "The version '{version}' of the package is not higher than the current version '{highest}'."
            )));
        }
        let state = if review {
            PublishingState::Submitted
        } else {
            PublishingState::Published
        };
        let app_id = rec.id.as_str().to_owned();
        let event = Event::CatalogAppUpdated {
            tenant_id: tenant.id.clone(),
            teams_app_id: app_id.clone(),
            definition: record(package, state, caller, now),
        };
        let events = self.commit(vec![event])?;
        let tenant = self.caller_tenant(caller)?;
        let (_, rec) = find_app(tenant, app)?;
        let def = rec
            .defs
            .last()
            .ok_or_else(|| ModelError::event("the new definition is missing"))?;
        Ok(Outcome {
            value: definition_wire(
                rec,
                def,
                &Shape::default_for(entities::TEAMS_APP_DEFINITION.in_version(query.version())),
            ),
            events,
        })
    }

    /// `PATCH /appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{teamsAppDefinition-id}` with
    /// `{"publishingState": "published" | "rejected"}`: reviews a submitted version. Its id
    /// changes with its state (§5.2); the answer carries the new id.
    ///
    /// `if_match` is the request's `If-Match`: when given, it must be the definition's current
    /// `@odata.etag` (or `*`), else `412 PreconditionFailed` and nothing changes (Graph's example
    /// sends one; its absence is accepted, our choice).
    #[allow(
        clippy::too_many_arguments,
        reason = "the operation's inputs, as the other catalog operations take them"
    )]
    pub fn review_catalog_app_definition(
        &mut self,
        caller: &Caller,
        app: &TeamsAppId,
        definition: &TeamsAppDefinitionId,
        body: &TeamsAppDefinition,
        if_match: Option<&str>,
        query: &Query,
        now: OffsetDateTime,
    ) -> Result<Outcome<TeamsAppDefinition>, ModelError> {
        let route = &routes::REVIEW_CATALOG_APP_DEFINITION;
        let tenant = self.caller_tenant(caller)?;
        query.check_allowed(route)?;
        check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        let index = find_definition(rec, definition)?;
        let def = &rec.defs[index as usize];
        if let Some(expected) = if_match {
            let current = crate::project::definition_etag(rec, def);
            let matches = expected
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == current);
            if !matches {
                return Err(ModelError::PreconditionFailed {
                    message: format!(
                        "The If-Match header ({}) does not match the current ETag of the app \
                         definition ({current}).",
                        echo(expected)
                    ),
                });
            }
        }
        let state = match &body.publishing_state {
            Some(TeamsAppPublishingState::Published) => PublishingState::Published,
            Some(TeamsAppPublishingState::Rejected) => PublishingState::Rejected,
            _ => {
                return Err(ModelError::bad_request(
                    "The body must set publishingState to 'published' or 'rejected'.",
                ));
            }
        };
        if def.state != PublishingState::Submitted {
            return Err(ModelError::bad_request(format!(
                "Only a submitted app definition can be reviewed; this one is {}.",
                def.state.name()
            )));
        }
        let version = def.version.as_str().to_owned();
        let event = Event::DefinitionReviewed {
            tenant_id: tenant.id.clone(),
            teams_app_id: rec.id.as_str().to_owned(),
            version,
            publishing_state: state,
            at: now,
        };
        let events = self.commit(vec![event])?;
        let tenant = self.caller_tenant(caller)?;
        let (_, rec) = find_app(tenant, app)?;
        Ok(Outcome {
            value: definition_wire(
                rec,
                &rec.defs[index as usize],
                &Shape::default_for(entities::TEAMS_APP_DEFINITION.in_version(query.version())),
            ),
            events,
        })
    }

    /// `DELETE /appCatalogs/teamsApps/{teamsApp-id}` (`appCatalogs.DeleteTeamsApps`): removes an
    /// `organization` app (Graph: "distributionMethod … must be set to organization"; others are
    /// a `400`). Callers holding only `AppCatalog.Submit` may delete only an app they submitted.
    /// Its installations are removed with it (inference: Graph does not say).
    pub fn delete_catalog_app(
        &mut self,
        caller: &Caller,
        app: &TeamsAppId,
        query: &Query,
    ) -> Result<Outcome<()>, ModelError> {
        let route = &routes::DELETE_CATALOG_APP;
        let tenant = self.caller_tenant(caller)?;
        query.check_allowed(route)?;
        let matching = check_token(caller, route)?;
        let (_, rec) = find_app(tenant, app)?;
        if rec.distribution != Distribution::Organization {
            return Err(ModelError::bad_request(format!(
                "Only apps with distributionMethod 'organization' can be deleted; this one is '{}'.",
                rec.distribution.to_wire()
            )));
        }
        if caller.kind == PermissionKind::Delegated && submit_only(&matching) {
            let own = rec
                .defs
                .first()
                .and_then(|d| d.created_by.as_deref())
                .is_some_and(|by| {
                    caller
                        .user_id
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(by))
                });
            if !own {
                return Err(ModelError::forbidden(
                    "With AppCatalog.Submit a user can delete only an app they submitted.",
                ));
            }
        }
        let event = Event::CatalogAppDeleted {
            tenant_id: tenant.id.clone(),
            teams_app_id: rec.id.as_str().to_owned(),
        };
        let events = self.commit(vec![event])?;
        Ok(Outcome { value: (), events })
    }
}
