//! [`World`]: every loaded tenant, the configuration, event application and inspection.

use std::collections::HashMap;

use teamsapp_types::AppInstallationId;

use crate::ModelError;
use crate::error::echo;
use crate::event::Event;
use crate::spec::{AppRegistrationSpec, InstallationScope, TenantSpec};
use crate::state::Tenant;

/// What upgrading an installation that already runs the latest published version answers.
///
/// Graph's behaviour is undocumented (reference §3.4, §9: "not found anywhere"); an idempotent
/// `204` is the most plausible, so it is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlreadyCurrent {
    /// `204 No Content`, as for an upgrade; the call is counted.
    #[default]
    NoContent,
    /// `400 BadRequest`.
    BadRequest,
    /// `409 Conflict`.
    Conflict,
}

/// How the world behaves where Graph leaves a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldConfig {
    /// The most items a list page holds (`$top` can ask for fewer). Graph does not document a
    /// page size for these lists; 100 by default.
    pub page_size: usize,
    /// What upgrading an installation that is already current answers.
    pub already_current: AlreadyCurrent,
    /// The seed of generated ids (catalog ids of published apps). The same seed and the same
    /// events give the same ids.
    pub seed: u64,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            page_size: 100,
            already_current: AlreadyCurrent::NoContent,
            seed: 0x7EA_75A9,
        }
    }
}

impl WorldConfig {
    /// Sets the page size (at least 1).
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets what upgrading a current installation answers.
    #[must_use]
    pub fn with_already_current(mut self, already_current: AlreadyCurrent) -> Self {
        self.already_current = already_current;
        self
    }

    /// Sets the seed of generated ids.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// The result of a mutating operation: its value and the events that made the change (already
/// applied). Store the events to make the change durable.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Outcome<T> {
    /// What the operation answers.
    pub value: T,
    /// The changes made, in order.
    pub events: Vec<Event>,
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeReport {
    /// The version before.
    pub from_version: String,
    /// The version after.
    pub to_version: String,
    /// Whether the installation already ran the latest published version.
    pub already_current: bool,
}

/// What the model knows about one installation, for inspection and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallationInfo {
    /// The installation id.
    pub id: String,
    /// The scope kind.
    pub scope: InstallationScope,
    /// The chat id, team id or user object id.
    pub scope_id: String,
    /// The catalog app.
    pub teams_app_id: String,
    /// The installed version.
    pub version: String,
    /// Successful upgrade calls answered for it (including "already current" `204`s).
    pub upgrade_count: u32,
}

/// A tenant's name and the counts of its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantStats {
    /// The organization's name.
    pub display_name: String,
    /// Users.
    pub users: usize,
    /// Chats.
    pub chats: usize,
    /// Teams.
    pub teams: usize,
    /// Live catalog apps.
    pub catalog_apps: usize,
    /// Installations in every scope.
    pub installations: u64,
    /// Successful upgrade calls over all current installations.
    pub upgrades: u64,
}

/// Every tenant the emulator serves, and its configuration: a synchronous, deterministic state
/// machine changed only by [`Event`]s.
#[derive(Debug)]
pub struct World {
    pub(crate) config: WorldConfig,
    pub(crate) tenants: HashMap<String, Tenant>,
}

impl World {
    /// An empty world.
    pub fn new(config: WorldConfig) -> Self {
        Self {
            config,
            tenants: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// Loads a tenant, replacing any tenant with the same id and its state.
    ///
    /// Fails with [`ModelError::InvalidSpec`] when a reference does not resolve (unknown member,
    /// scope, app or version; duplicate ids; an app installed twice in one scope). Returns the
    /// event to store, which carries the whole spec.
    pub fn load_tenant(&mut self, spec: TenantSpec) -> Result<Event, ModelError> {
        spec.check_format()?;
        let tenant = Tenant::from_spec(&spec)?;
        self.tenants.insert(tenant.id.clone(), tenant);
        Ok(Event::TenantLoaded {
            spec: Box::new(spec),
        })
    }

    /// Removes every tenant. Returns the event to store.
    pub fn reset(&mut self) -> Event {
        self.tenants.clear();
        Event::Reset
    }

    /// The ids of the loaded tenants, sorted.
    pub fn tenant_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.tenants.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Applies one event. Replaying the events a world returned, in order, on a new world with the
    /// same configuration reproduces its state.
    pub fn apply(&mut self, event: &Event) -> Result<(), ModelError> {
        match event {
            Event::TenantLoaded { spec } => {
                let tenant = Tenant::from_spec(spec)?;
                self.tenants.insert(tenant.id.clone(), tenant);
                Ok(())
            }
            Event::Reset => {
                self.tenants.clear();
                Ok(())
            }
            Event::AppInstalled {
                tenant_id,
                scope,
                scope_id,
                teams_app_id,
                version,
                consented_permissions,
                ..
            } => self.event_tenant(tenant_id)?.apply_install(
                *scope,
                scope_id,
                teams_app_id,
                version,
                consented_permissions,
            ),
            Event::AppUpgraded {
                tenant_id,
                scope,
                scope_id,
                teams_app_id,
                to_version,
                consented_permissions,
                ..
            } => self.event_tenant(tenant_id)?.apply_upgrade(
                *scope,
                scope_id,
                teams_app_id,
                to_version,
                consented_permissions,
            ),
            Event::AppUninstalled {
                tenant_id,
                scope,
                scope_id,
                teams_app_id,
            } => self
                .event_tenant(tenant_id)?
                .apply_uninstall(*scope, scope_id, teams_app_id),
            Event::CatalogAppPublished {
                tenant_id,
                teams_app_id,
                distribution_method,
                definition,
            } => {
                let tenant = self.event_tenant(tenant_id)?;
                tenant.apply_publish(teams_app_id, *distribution_method, definition)?;
                tenant.generated += 1;
                Ok(())
            }
            Event::CatalogAppUpdated {
                tenant_id,
                teams_app_id,
                definition,
            } => self
                .event_tenant(tenant_id)?
                .apply_update(teams_app_id, definition),
            Event::DefinitionReviewed {
                tenant_id,
                teams_app_id,
                version,
                publishing_state,
                at,
            } => self.event_tenant(tenant_id)?.apply_review(
                teams_app_id,
                version,
                *publishing_state,
                *at,
            ),
            Event::CatalogAppDeleted {
                tenant_id,
                teams_app_id,
            } => self.event_tenant(tenant_id)?.apply_delete_app(teams_app_id),
        }
    }

    /// Applies `events` in order, stopping at the first that does not apply.
    pub fn replay<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), ModelError> {
        events.into_iter().try_for_each(|e| self.apply(e))
    }

    fn event_tenant(&mut self, id: &str) -> Result<&mut Tenant, ModelError> {
        self.tenants
            .get_mut(&id.to_ascii_lowercase())
            .ok_or_else(|| ModelError::event(format!("no tenant {}", echo(id))))
    }

    pub(crate) fn tenant(&self, id: &str) -> Option<&Tenant> {
        // Tenant ids in tokens are lowercase: those are looked up without a copy.
        self.tenants.get(crate::state::lowercase(id).as_ref())
    }

    /// Applies freshly produced events; they were validated, so failing here is a bug, reported
    /// as an error rather than a panic.
    pub(crate) fn commit(&mut self, events: Vec<Event>) -> Result<Vec<Event>, ModelError> {
        for event in &events {
            self.apply(event)?;
        }
        Ok(events)
    }

    // --- inspection --------------------------------------------------------------------------

    /// The app registration `client_id` of tenant `tenant_id`, for the emulator's token endpoint
    /// (it checks `client_secret` and issues `application_permissions` as roles).
    pub fn app_registration(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Option<&AppRegistrationSpec> {
        self.tenant(tenant_id)?.registration(client_id)
    }

    /// The scopes user `user` (object id or UPN) granted to app `client_id`, for the emulator's
    /// token endpoint; `None` without a grant.
    pub fn delegated_scopes(
        &self,
        tenant_id: &str,
        user: &str,
        client_id: &str,
    ) -> Option<&[String]> {
        let tenant = self.tenant(tenant_id)?;
        let user = tenant.user(user)?;
        let user_id = &tenant.users[user as usize].id;
        tenant
            .grants
            .iter()
            .find(|g| {
                g.user_id.eq_ignore_ascii_case(user_id)
                    && g.client_id.eq_ignore_ascii_case(client_id)
            })
            .map(|g| g.scopes.as_slice())
    }

    /// A user's object id and whether it is a personal Microsoft account, by object id or UPN.
    pub fn user_identity(&self, tenant_id: &str, user: &str) -> Option<(String, bool)> {
        let tenant = self.tenant(tenant_id)?;
        let rec = &tenant.users[tenant.user(user)? as usize];
        Some((rec.id.clone(), rec.personal_account))
    }

    /// An installation, by tenant and id (padded or not), whatever its scope.
    pub fn installation(
        &self,
        tenant_id: &str,
        id: &AppInstallationId,
    ) -> Option<InstallationInfo> {
        let tenant = self.tenant(tenant_id)?;
        let (scope, position) = tenant.find_installation_anywhere(id)?;
        let rec = tenant.installed(scope).get(position)?;
        let app = tenant.apps.get(rec.app as usize)?;
        Some(InstallationInfo {
            id: tenant.installation_id(scope, rec),
            scope: scope.kind,
            scope_id: tenant.scope_id(scope).into_owned(),
            teams_app_id: app.id.as_str().to_owned(),
            version: app.def(rec.def)?.version.as_str().to_owned(),
            upgrade_count: rec.upgrade_count,
        })
    }

    /// How many successful upgrade calls an installation has answered: the CLI's tests prove
    /// "exactly once" with it. `None` for an unknown installation.
    pub fn upgrade_count(&self, tenant_id: &str, id: &AppInstallationId) -> Option<u32> {
        self.installation(tenant_id, id).map(|i| i.upgrade_count)
    }

    /// Every installation of a tenant, in creation order (O(n): for inspection, not for hot
    /// paths).
    pub fn installations(&self, tenant_id: &str) -> Vec<InstallationInfo> {
        let Some(tenant) = self.tenant(tenant_id) else {
            return Vec::new();
        };
        let mut all = Vec::new();
        let kinds = [
            (InstallationScope::Chat, tenant.chats.len()),
            (InstallationScope::Team, tenant.teams.len()),
            (InstallationScope::User, tenant.users.len()),
        ];
        for (kind, len) in kinds {
            for index in 0..len {
                let Ok(index) = u32::try_from(index) else {
                    break;
                };
                let scope = crate::state::ScopeKey { kind, index };
                for rec in tenant.installed(scope) {
                    let Some(app) = tenant.apps.get(rec.app as usize) else {
                        continue;
                    };
                    let Some(def) = app.def(rec.def) else {
                        continue;
                    };
                    all.push((
                        rec.seq,
                        InstallationInfo {
                            id: tenant.installation_id(scope, rec),
                            scope: kind,
                            scope_id: tenant.scope_id(scope).into_owned(),
                            teams_app_id: app.id.as_str().to_owned(),
                            version: def.version.as_str().to_owned(),
                            upgrade_count: rec.upgrade_count,
                        },
                    ));
                }
            }
        }
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, info)| info).collect()
    }

    /// Counts of a tenant's objects.
    pub fn stats(&self, tenant_id: &str) -> Option<TenantStats> {
        let tenant = self.tenant(tenant_id)?;
        let upgrades = tenant
            .chats
            .iter()
            .map(|c| &c.installed)
            .chain(tenant.teams.iter().map(|t| &t.installed))
            .chain(tenant.users.iter().map(|u| &u.installed))
            .flatten()
            .map(|r| u64::from(r.upgrade_count))
            .sum();
        Some(TenantStats {
            display_name: tenant.display_name.clone(),
            users: tenant.users.len(),
            chats: tenant.chats.len(),
            teams: tenant.teams.len(),
            catalog_apps: tenant.apps.iter().filter(|a| !a.deleted).count(),
            installations: tenant.installation_count,
            upgrades,
        })
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new(WorldConfig::default())
    }
}

/// The `n`-th GUID generated for tenant `tenant_id` (lowercase) under `seed`: the same seed,
/// tenant and count give the same id, whatever the other tenants did.
pub(crate) fn generated_guid(seed: u64, tenant_id: &str, n: u64) -> String {
    let mut state = seed;
    for chunk in tenant_id.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        state ^= u64::from_le_bytes(word);
        state = splitmix64(&mut state);
    }
    state ^= n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let a = splitmix64(&mut state);
    let b = splitmix64(&mut state);
    // Version 4, variant 1, so the id looks like the GUIDs Graph generates.
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_guids_are_valid_and_seeded_per_tenant() {
        const T1: &str = "c0ffee00-0000-4000-8000-000000000001";
        const T2: &str = "c0ffee00-0000-4000-8000-000000000002";
        let a = generated_guid(1, T1, 0);
        assert!(teamsapp_types::TeamId::new(a.as_str()).is_ok(), "{a}");
        assert_eq!(&a[14..15], "4");
        assert_eq!(a, generated_guid(1, T1, 0));
        assert_ne!(a, generated_guid(2, T1, 0), "the seed decides");
        assert_ne!(a, generated_guid(1, T2, 0), "the tenant decides");
        assert_ne!(a, generated_guid(1, T1, 1), "the count decides");
    }
}
