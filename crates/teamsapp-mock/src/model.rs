//! The Graph handlers: one per operation of [`teamsapp_types::routes::ALL`], each a thin
//! translation between a [`GraphCall`] and one [`World`] method of `teamsapp-model`.
//!
//! Every handler parses the typed ids and the body, calls the model under the caller's tenant's
//! own async mutex ([`Shards`]), stores the events the model returns (one durable write
//! transaction, before the response is sent), and has the answer rendered as Graph's
//! ([`Ctx`], `render.rs`). When the durable store fails, the tenant's world is rebuilt from the
//! store, so what is in memory never runs ahead of what is on disk.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use teamsapp_model::{Caller as ModelCaller, Event, ModelError, TenantSpec, World, WorldConfig};
use teamsapp_types::operation::encode_path_segment;
use teamsapp_types::permissions::PermissionKind;
use teamsapp_types::{AppInstallationId, DecodeError, Request, Scope, TeamsAppPublishingState};
use time::OffsetDateTime;

use crate::backend::{BoxFuture, GraphBackend, GraphCall, GraphReply};
use crate::clock::Clock;
use crate::config::TenantSource;
use crate::error::{ApiError, Error};
use crate::identity::{
    AppRegistration, ClientSecret, DelegatedGrant, DirectoryUser, IdentityTenant,
};
use crate::render::Ctx;
use crate::shards::Shards;
use crate::store::EventStore;
use crate::sync::lock;

impl From<ModelError> for ApiError {
    fn from(error: ModelError) -> Self {
        match error {
            // An event that does not apply is a bug or a foreign log: never show its detail.
            ModelError::InvalidEvent { .. } => ApiError::internal(error),
            _ => ApiError::Graph {
                status: StatusCode::from_u16(error.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error: Box::new(error.to_graph_error()),
            },
        }
    }
}

/// The model behind the Graph routes, with its durable log.
pub(crate) struct ModelBackend {
    /// Every tenant under its own lock; the map itself is taken exclusively only to load a
    /// tenant or reset.
    shards: tokio::sync::RwLock<Shards>,
    config: WorldConfig,
    /// The configured tenants, kept for `reset`.
    initial: Vec<TenantSpec>,
    /// Tenants made again at each reset, never kept.
    source: Option<TenantSource>,
    store: Option<Arc<EventStore<Event>>>,
    clock: Arc<dyn Clock>,
    /// The directory of each loaded tenant (its users, app registrations and grants), for the
    /// token endpoint: only that, not a second copy of the whole spec with every chat and
    /// installation, which the world already holds.
    directory: Mutex<Vec<IdentityTenant>>,
}

impl ModelBackend {
    /// A world with `initial` tenants and those of `source`, or, when `store` already holds
    /// events, the world they describe.
    pub(crate) fn open(
        config: WorldConfig,
        initial: Vec<TenantSpec>,
        source: Option<TenantSource>,
        store: Option<Arc<EventStore<Event>>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let stored = match &store {
            Some(store) => store.load()?,
            None => Vec::new(),
        };
        let mut shards = Shards::new(config.clone());
        let events = if stored.is_empty() {
            let events = load_all(&mut shards, &initial, source.as_ref())?;
            if let Some(store) = &store {
                store.append(&events)?;
            }
            events
        } else {
            shards
                .replay(&stored)
                .map_err(|e| Error::Config(format!("the stored events do not replay: {e}")))?;
            stored
        };
        let backend = Self {
            shards: tokio::sync::RwLock::new(shards),
            config,
            initial,
            source,
            store,
            clock,
            directory: Mutex::new(Vec::new()),
        };
        backend.track_specs(&events);
        // The loaded specs (a million chats and installations for `--fleet 1000000`) are freed
        // off the start path: dropping them was 9 % of the start-up's profile.
        if events
            .iter()
            .any(|e| matches!(e, Event::TenantLoaded { .. }))
        {
            let _ = std::thread::Builder::new()
                .name("teamsapp-drop-specs".to_owned())
                .spawn(move || drop(events));
        }
        Ok(backend)
    }

    /// Follows tenant loads and resets in `events`.
    fn track_specs(&self, events: &[Event]) {
        let mut directory = lock(&self.directory);
        for event in events {
            match event {
                Event::TenantLoaded { spec } => {
                    directory.retain(|t| !t.id.eq_ignore_ascii_case(&spec.tenant_id));
                    directory.push(identity_from_spec(spec));
                }
                Event::Reset => directory.clear(),
                _ => {}
            }
        }
    }

    /// Stores `events` durably (in one write transaction).
    async fn store(&self, events: Vec<Event>) -> Result<(), ApiError> {
        self.track_specs(&events);
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        if events.is_empty() {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || store.append(&events))
            .await
            .map_err(ApiError::internal)
            .and_then(|r| r.map(drop).map_err(ApiError::internal))
    }

    /// Stores the events of a call of tenant `tenant_id`; on failure, rebuilds that tenant's
    /// `world` from the store.
    async fn persist(
        &self,
        tenant_id: &str,
        world: &mut World,
        events: Vec<Event>,
    ) -> Result<(), ApiError> {
        let written = self.store(events).await;
        if written.is_err()
            && let Some(mut stored) = self.reread().await
        {
            *world = stored
                .take(tenant_id)
                .unwrap_or_else(|| World::new(self.config.clone()));
        }
        written
    }

    /// What the store holds, replayed, after a failed write (and the directory rebuilt from
    /// it); `None`, logged, when the store cannot be read back.
    async fn reread(&self) -> Option<Shards> {
        let store = self.store.clone()?;
        let loaded = tokio::task::spawn_blocking(move || store.load()).await;
        let mut fresh = Shards::new(self.config.clone());
        match loaded {
            Ok(Ok(events)) if fresh.replay(&events).is_ok() => {
                lock(&self.directory).clear();
                self.track_specs(&events);
                Some(fresh)
            }
            _ => {
                tracing::error!(
                    "the event store cannot be read back; the model may be ahead of it"
                );
                None
            }
        }
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.clock.now())
    }

    /// Answers one call: one arm per operation of the fragment, no wildcard, so an operation
    /// added to `openapi/teamsapp.json` without a handler here does not compile (see
    /// [`teamsapp_types::Request`] for the demonstration).
    #[deny(clippy::wildcard_enum_match_arm)]
    async fn dispatch(&self, call: GraphCall) -> Result<GraphReply, ApiError> {
        let params: Vec<&str> = call.params.iter().map(|(_, v)| v.as_str()).collect();
        let request = Request::decode(call.route.kind, &params, &call.body).map_err(|e| {
            // A body that is JSON but not the operation's type is the client's error; ids were
            // validated at the edge, so a bad one here is a bug.
            if matches!(e, DecodeError::Body { .. }) {
                ApiError::MalformedJson
            } else {
                ApiError::internal(e)
            }
        })?;
        let shards = self.shards.read().await;
        let tenant_id = call.caller.model.tenant_id.as_str();
        // A tenant that is not loaded gets an empty world, which answers as the model does for
        // an unknown tenant.
        let (mut guard, mut unknown);
        let world: &mut World = if let Some(shard) = shards.tenant(tenant_id) {
            guard = shard.lock().await;
            &mut guard
        } else {
            unknown = World::new(shards.config().clone());
            &mut unknown
        };
        let caller = model_caller(world, &call);
        let query = &call.query;
        let now = self.now();
        let ctx = Ctx::new(&call);

        let scope_of = request.scope();
        let (reply, events) = match request {
            // Reads. One model method per operation over the scope the request names.
            Request::ListChatInstalledApps { .. }
            | Request::ListTeamInstalledApps { .. }
            | Request::ListUserInstalledApps { .. } => {
                return ctx.page(&world.list_installed_apps(&caller, &scope(scope_of)?, query)?);
            }
            Request::CountChatInstalledApps { .. }
            | Request::CountTeamInstalledApps { .. }
            | Request::CountUserInstalledApps { .. } => {
                return Ok(ctx.count(world.count_installed_apps(
                    &caller,
                    &scope(scope_of)?,
                    query,
                )?));
            }
            Request::GetChatInstalledApp {
                installation_id, ..
            }
            | Request::GetTeamInstalledApp {
                installation_id, ..
            }
            | Request::GetUserInstalledApp {
                installation_id, ..
            } => {
                return ctx.entity(&world.get_installed_app(
                    &caller,
                    &scope(scope_of)?,
                    &installation_id,
                    query,
                )?);
            }
            Request::GetChatInstalledAppTeamsApp {
                installation_id, ..
            }
            | Request::GetTeamInstalledAppTeamsApp {
                installation_id, ..
            }
            | Request::GetUserInstalledAppTeamsApp {
                installation_id, ..
            } => {
                return ctx.entity(&world.get_installed_app_teams_app(
                    &caller,
                    &scope(scope_of)?,
                    &installation_id,
                    query,
                )?);
            }
            Request::GetChatInstalledAppTeamsAppDefinition {
                installation_id, ..
            }
            | Request::GetTeamInstalledAppTeamsAppDefinition {
                installation_id, ..
            }
            | Request::GetUserInstalledAppTeamsAppDefinition {
                installation_id, ..
            } => {
                return ctx.entity(&world.get_installed_app_definition(
                    &caller,
                    &scope(scope_of)?,
                    &installation_id,
                    query,
                )?);
            }
            Request::GetUserInstalledAppChat {
                user_id,
                installation_id,
            } => {
                return ctx.entity(&world.get_user_installed_app_chat(
                    &caller,
                    &user_id,
                    &installation_id,
                    query,
                )?);
            }
            Request::ListCatalogApps => {
                return ctx.page(&world.list_catalog_apps(&caller, query)?);
            }
            Request::GetCatalogApp { teams_app_id } => {
                return ctx.entity(&world.get_catalog_app(&caller, &teams_app_id, query)?);
            }
            Request::ListCatalogAppDefinitions { teams_app_id } => {
                return ctx.page(&world.list_catalog_app_definitions(
                    &caller,
                    &teams_app_id,
                    query,
                )?);
            }
            Request::GetCatalogAppDefinition {
                teams_app_id,
                definition_id,
            } => {
                return ctx.entity(&world.get_catalog_app_definition(
                    &caller,
                    &teams_app_id,
                    &definition_id,
                    query,
                )?);
            }
            Request::GetCatalogAppDefinitionBot {
                teams_app_id,
                definition_id,
            } => {
                return ctx.entity(&world.get_catalog_app_definition_bot(
                    &caller,
                    &teams_app_id,
                    &definition_id,
                    query,
                )?);
            }
            Request::ListUsers => return ctx.page(&world.list_users(&caller, query)?),
            Request::ListUserChats { user_id } => {
                return ctx.page(&world.list_user_chats(&caller, &user_id, query)?);
            }
            Request::GetChat { chat_id } => {
                return ctx.entity(&world.get_chat(&caller, &chat_id, query)?);
            }
            Request::ListTeams => return ctx.page(&world.list_teams(&caller, query)?),

            // Writes: the events are stored before the answer leaves; one model method per
            // operation over the scope, as for the reads.
            Request::InstallChatApp { body, .. }
            | Request::InstallTeamApp { body, .. }
            | Request::InstallUserApp { body, .. } => {
                let o = world.install_app(&caller, &scope(scope_of)?, &body, query, now)?;
                (ctx.no_content(), o.events)
            }
            Request::UpgradeChatApp {
                installation_id,
                body,
                ..
            }
            | Request::UpgradeTeamApp {
                installation_id,
                body,
                ..
            }
            | Request::UpgradeUserApp {
                installation_id,
                body,
                ..
            } => {
                let o = world.upgrade_app(
                    &caller,
                    &scope(scope_of)?,
                    &installation_id,
                    &body,
                    query,
                    now,
                )?;
                (ctx.no_content(), o.events)
            }
            Request::UninstallChatApp {
                installation_id, ..
            }
            | Request::UninstallTeamApp {
                installation_id, ..
            }
            | Request::UninstallUserApp {
                installation_id, ..
            } => {
                let o = world.uninstall_app(&caller, &scope(scope_of)?, &installation_id, query)?;
                (ctx.no_content(), o.events)
            }
            Request::PublishCatalogApp { package } => {
                let o = world.publish_catalog_app(&caller, &package, query, now)?;
                let id = o.value.id.clone().unwrap_or_default();
                let mut reply = ctx.entity(&o.value)?;
                let location = format!(
                    "{}/{}/appCatalogs/teamsApps/{}",
                    call.origin,
                    call.version.segment(),
                    encode_path_segment(&id)
                );
                if let Ok(value) = HeaderValue::from_str(&location) {
                    reply.headers.push((header::LOCATION, value));
                }
                (reply, o.events)
            }
            Request::UpdateCatalogApp {
                teams_app_id,
                package,
            } => {
                let o = world.update_catalog_app(&caller, &teams_app_id, &package, query, now)?;
                // With `requiresReview=true` Graph answers `201 Created` with the submitted
                // definition and its `Location` (Update teamsApp, Example 2); otherwise `204`.
                if o.value.publishing_state == Some(TeamsAppPublishingState::Submitted) {
                    let app = encode_path_segment(teams_app_id.as_str());
                    let mut reply = ctx.entity_with_context(
                        &o.value,
                        &format!("appCatalogs/teamsApps('{app}')/appDefinitions/$entity"),
                    )?;
                    reply.status = StatusCode::CREATED;
                    let location = format!(
                        "{}/{}/appCatalogs/teamsApps/{app}/appDefinitions/{}",
                        call.origin,
                        call.version.segment(),
                        encode_path_segment(o.value.id.as_deref().unwrap_or_default())
                    );
                    if let Ok(value) = HeaderValue::from_str(&location) {
                        reply.headers.push((header::LOCATION, value));
                    }
                    (reply, o.events)
                } else {
                    (ctx.no_content(), o.events)
                }
            }
            Request::ReviewCatalogAppDefinition {
                teams_app_id,
                definition_id,
                body,
            } => {
                let o = world.review_catalog_app_definition(
                    &caller,
                    &teams_app_id,
                    &definition_id,
                    &body,
                    call.if_match.as_deref(),
                    query,
                    now,
                )?;
                let reply = ctx.entity_with_context(
                    &o.value,
                    &format!(
                        "appCatalogs/teamsApps('{}')/appDefinitions/$entity",
                        encode_path_segment(teams_app_id.as_str())
                    ),
                )?;
                (reply, o.events)
            }
            Request::DeleteCatalogApp { teams_app_id } => {
                let o = world.delete_catalog_app(&caller, &teams_app_id, query)?;
                (ctx.no_content(), o.events)
            }
            // `$batch` is answered by its own handler (`crate::batch`), which sends each of its
            // requests through the router again; it never reaches the model as one request.
            Request::Batch { .. } => {
                return Err(ApiError::internal("$batch reached the model backend"));
            }
        };
        self.persist(tenant_id, world, events).await?;
        Ok(reply)
    }
}

/// The scope of an installation request (every one has a chat, team or user id first).
fn scope(scope: Option<Scope>) -> Result<Scope, ApiError> {
    scope.ok_or_else(|| ApiError::internal("an installation request without a scope"))
}

/// Loads `kept` (copies: they stay for the next reset) and then what `source` makes (moved into
/// the events, which the caller stores and drops) into `shards`; returns the events to store.
fn load_all(
    shards: &mut Shards,
    kept: &[TenantSpec],
    source: Option<&TenantSource>,
) -> Result<Vec<Event>, Error> {
    let made = match source {
        Some(source) => source
            .make()
            .map_err(|e| Error::Config(format!("the initial tenants: {e}")))?,
        None => Vec::new(),
    };
    kept.iter()
        .cloned()
        .chain(made)
        .map(|spec| {
            let id = spec.tenant_id.clone();
            shards
                .load_tenant(spec)
                .map_err(|e| Error::Config(format!("tenant {id}: {e}")))
        })
        .collect()
}

/// The model's caller for a verified token; personal accounts are looked up in the directory.
fn model_caller<'a>(world: &World, call: &'a GraphCall) -> Cow<'a, ModelCaller> {
    let model = &call.caller.model;
    match (model.kind, &model.user_id) {
        (PermissionKind::Delegated, Some(user)) => {
            let personal = world
                .user_identity(&model.tenant_id, user)
                .is_some_and(|(_, personal)| personal);
            Cow::Owned(model.clone().with_personal_account(personal))
        }
        _ => Cow::Borrowed(model),
    }
}

/// The directory a tenant spec describes: its app registrations, users and grants; its domains
/// are those of its users' principal names.
pub(crate) fn identity_from_spec(spec: &TenantSpec) -> IdentityTenant {
    let mut domains: Vec<String> = Vec::new();
    for user in &spec.users {
        if let Some((_, domain)) = user.user_principal_name.rsplit_once('@') {
            let domain = domain.to_ascii_lowercase();
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
    }
    IdentityTenant {
        id: spec.tenant_id.clone(),
        domains,
        apps: spec
            .app_registrations
            .iter()
            .map(|a| AppRegistration {
                client_id: a.client_id.clone(),
                display_name: a.display_name.clone(),
                secrets: vec![ClientSecret::new(a.client_secret.clone())],
                roles: a.application_permissions.clone(),
            })
            .collect(),
        users: spec
            .users
            .iter()
            .map(|u| DirectoryUser {
                id: u.id.clone(),
                user_principal_name: u.user_principal_name.clone(),
                display_name: u.display_name.clone(),
                personal_account: u.personal_account,
            })
            .collect(),
        grants: spec
            .delegated_grants
            .iter()
            .map(|g| DelegatedGrant {
                client_id: g.client_id.clone(),
                user: Some(g.user_id.clone()),
                scopes: g.scopes.clone(),
            })
            .collect(),
    }
}

impl GraphBackend for ModelBackend {
    fn call(&self, call: GraphCall) -> BoxFuture<'_, Result<GraphReply, ApiError>> {
        Box::pin(self.dispatch(call))
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move {
            let mut shards = self.shards.write().await;
            let mut fresh = Shards::new(self.config.clone());
            // A source that cannot make its tenants again (a tenant file since damaged or
            // removed) refuses the reset and leaves the state as it was.
            let events = load_all(&mut fresh, &self.initial, self.source.as_ref()).map_err(|e| {
                ApiError::Graph {
                    status: StatusCode::CONFLICT,
                    error: Box::new(teamsapp_types::GraphError::new(
                        "Conflict",
                        format!("The emulator cannot return to its initial state, so nothing was reset: {e}"),
                    )),
                }
            })?;
            if let Some(store) = self.store.clone() {
                let events = events.clone();
                tokio::task::spawn_blocking(move || {
                    store.clear()?;
                    store.append(&events)
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
            }
            *shards = fresh;
            lock(&self.directory).clear();
            self.track_specs(&events);
            Ok(())
        })
    }

    fn load_tenant(&self, spec: Value) -> BoxFuture<'_, Result<Value, ApiError>> {
        Box::pin(async move {
            let spec: TenantSpec = serde_json::from_value(spec)
                .map_err(|e| ApiError::bad_request(format!("invalid tenant spec: {e}")))?;
            let tenant_id = spec.tenant_id.clone();
            let mut shards = self.shards.write().await;
            let event = shards.load_tenant(spec)?;
            if let Err(error) = self.store(vec![event]).await {
                if let Some(stored) = self.reread().await {
                    *shards = stored;
                }
                return Err(error);
            }
            let world = shards
                .tenant(&tenant_id)
                .ok_or_else(|| ApiError::internal("the loaded tenant is missing"))?
                .lock()
                .await;
            Ok(tenant_summary(&world, &tenant_id))
        })
    }

    fn summary(&self) -> BoxFuture<'_, Result<Value, ApiError>> {
        Box::pin(async move {
            let shards = self.shards.read().await;
            let mut tenants = Vec::new();
            for id in shards.tenant_ids() {
                if let Some(shard) = shards.tenant(&id) {
                    tenants.push(tenant_summary(&*shard.lock().await, &id));
                }
            }
            let events = match self.store.clone() {
                Some(store) => Some(
                    tokio::task::spawn_blocking(move || store.len())
                        .await
                        .map_err(ApiError::internal)?
                        .map_err(ApiError::internal)?,
                ),
                None => None,
            };
            Ok(json!({ "tenants": tenants, "storedEvents": events }))
        })
    }

    fn installation(&self, id: String) -> BoxFuture<'_, Result<Value, ApiError>> {
        Box::pin(async move {
            let wanted = AppInstallationId::new(id.as_str())
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let shards = self.shards.read().await;
            for tenant in shards.tenant_ids() {
                let Some(shard) = shards.tenant(&tenant) else {
                    continue;
                };
                let world = shard.lock().await;
                if let Some(info) = world.installation(&tenant, &wanted) {
                    return Ok(json!({
                        "id": info.id,
                        "tenantId": tenant,
                        "scope": info.scope.as_str(),
                        "scopeId": info.scope_id,
                        "teamsAppId": info.teams_app_id,
                        "version": info.version,
                        "upgradeCount": info.upgrade_count,
                    }));
                }
            }
            Err(ApiError::NotFound {
                message: format!("no installation {id:?} in any tenant"),
            })
        })
    }

    fn directory(&self) -> Vec<IdentityTenant> {
        lock(&self.directory).clone()
    }
}

/// Tests keep a handle on the backend they hand to the state (to hold a tenant's lock).
#[cfg(test)]
impl GraphBackend for Arc<ModelBackend> {
    fn call(&self, call: GraphCall) -> BoxFuture<'_, Result<GraphReply, ApiError>> {
        (**self).call(call)
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        (**self).reset()
    }

    fn load_tenant(&self, spec: Value) -> BoxFuture<'_, Result<Value, ApiError>> {
        (**self).load_tenant(spec)
    }

    fn summary(&self) -> BoxFuture<'_, Result<Value, ApiError>> {
        (**self).summary()
    }

    fn installation(&self, id: String) -> BoxFuture<'_, Result<Value, ApiError>> {
        (**self).installation(id)
    }

    fn directory(&self) -> Vec<IdentityTenant> {
        (**self).directory()
    }
}

#[cfg(test)]
impl ModelBackend {
    /// The map of tenants, read-locked (as a Graph call holds it).
    pub(crate) async fn shards(&self) -> tokio::sync::RwLockReadGuard<'_, Shards> {
        self.shards.read().await
    }
}

fn tenant_summary(world: &World, tenant_id: &str) -> Value {
    match world.stats(tenant_id) {
        Some(stats) => json!({
            "tenantId": tenant_id,
            "displayName": stats.display_name,
            "users": stats.users,
            "chats": stats.chats,
            "teams": stats.teams,
            "catalogApps": stats.catalog_apps,
            "installations": stats.installations,
            "upgrades": stats.upgrades,
        }),
        None => json!({ "tenantId": tenant_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_directory_has_the_demo_credentials() {
        let tenant = identity_from_spec(&teamsapp_model::demo::tenant());
        let creds = teamsapp_model::demo::CREDENTIALS;
        assert_eq!(tenant.id, creds.tenant_id);
        let app = tenant.app(creds.client_id).unwrap();
        assert!(app.secrets[0].matches(creds.client_secret));
        assert!(!tenant.domains.is_empty());
    }
}
