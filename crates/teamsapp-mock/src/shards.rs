//! [`Shards`]: the model's tenants, each a one-tenant [`World`] under a lock of its own, so
//! the calls of one tenant never wait for another tenant's.
//!
//! The map of tenants sits behind a [`tokio::sync::RwLock`] that every Graph call holds,
//! shared, for as long as it runs. Loading a tenant and resetting take it exclusively, so they
//! fall between calls in the durable store exactly as they fell in memory. The calls of one
//! tenant are ordered by its own mutex, which is held until their events are stored. Events of
//! different tenants touch nothing in common (ids are generated per tenant), so replaying the
//! store in its order rebuilds every tenant as it was, whatever the interleaving.

use std::collections::HashMap;

use teamsapp_model::{Event, ModelError, TenantSpec, World, WorldConfig};
use teamsapp_types::ids::ascii_lowercase;
use tokio::sync::Mutex;

/// Every loaded tenant, each in its own one-tenant [`World`] behind its own mutex.
pub(crate) struct Shards {
    config: WorldConfig,
    /// Keyed by the lowercase tenant id.
    tenants: HashMap<String, Mutex<World>, foldhash::fast::RandomState>,
}

impl Shards {
    /// No tenants.
    pub(crate) fn new(config: WorldConfig) -> Self {
        Self {
            config,
            tenants: HashMap::default(),
        }
    }

    /// The configuration each tenant's world is made with.
    pub(crate) fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// The world of tenant `id` (any case).
    pub(crate) fn tenant(&self, id: &str) -> Option<&Mutex<World>> {
        // Tenant ids in tokens are lowercase: those are looked up without a copy.
        self.tenants.get(ascii_lowercase(id).as_ref())
    }

    /// The ids of the loaded tenants, sorted.
    pub(crate) fn tenant_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.tenants.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Loads a tenant in a world of its own, replacing any tenant with the same id; returns the
    /// event to store (see [`World::load_tenant`]).
    pub(crate) fn load_tenant(&mut self, spec: TenantSpec) -> Result<Event, ModelError> {
        let id = spec.tenant_id.to_ascii_lowercase();
        let mut world = World::new(self.config.clone());
        let event = world.load_tenant(spec)?;
        self.tenants.insert(id, Mutex::new(world));
        Ok(event)
    }

    /// Applies one stored event to the tenant it names (see [`World::apply`]).
    pub(crate) fn apply(&mut self, event: &Event) -> Result<(), ModelError> {
        match event {
            Event::Reset => {
                self.tenants.clear();
                Ok(())
            }
            Event::TenantLoaded { spec } => {
                let mut world = World::new(self.config.clone());
                world.apply(event)?;
                self.tenants
                    .insert(spec.tenant_id.to_ascii_lowercase(), Mutex::new(world));
                Ok(())
            }
            _ => {
                let id = ascii_lowercase(event.tenant_id().unwrap_or_default());
                match self.tenants.get_mut(id.as_ref()) {
                    Some(world) => world.get_mut().apply(event),
                    // The world's own error for an event of a tenant it does not hold.
                    None => World::new(self.config.clone()).apply(event),
                }
            }
        }
    }

    /// Applies `events` in order, stopping at the first that does not apply.
    pub(crate) fn replay(&mut self, events: &[Event]) -> Result<(), ModelError> {
        events.iter().try_for_each(|e| self.apply(e))
    }

    /// Takes tenant `id`'s world out (after a replay that rebuilt it).
    pub(crate) fn take(&mut self, id: &str) -> Option<World> {
        self.tenants
            .remove(ascii_lowercase(id).as_ref())
            .map(Mutex::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_model::demo;

    fn second_tenant() -> TenantSpec {
        let mut spec = demo::tenant();
        spec.tenant_id = "C0FFEE00-0000-4000-8000-0000000000B2".to_owned();
        spec
    }

    #[test]
    fn each_tenant_gets_its_own_world_and_replay_routes_events_to_it() {
        let mut shards = Shards::new(WorldConfig::default());
        let mut events = vec![
            shards.load_tenant(demo::tenant()).unwrap(),
            shards.load_tenant(second_tenant()).unwrap(),
        ];
        assert_eq!(
            shards.tenant_ids(),
            [
                demo::CREDENTIALS.tenant_id.to_owned(),
                "c0ffee00-0000-4000-8000-0000000000b2".to_owned()
            ]
        );
        let second = shards
            .tenant("c0ffee00-0000-4000-8000-0000000000B2")
            .unwrap();
        assert_eq!(
            second.try_lock().unwrap().tenant_ids(),
            ["c0ffee00-0000-4000-8000-0000000000b2"],
            "one tenant per world"
        );
        assert!(shards.tenant(demo::CREDENTIALS.tenant_id).is_some());
        assert!(
            shards
                .tenant("c0ffee00-0000-4000-8000-0000000000ff")
                .is_none()
        );

        // A reset in the log empties everything; what follows it is loaded again.
        events.push(Event::Reset);
        events.push(Event::TenantLoaded {
            spec: Box::new(second_tenant()),
        });
        let mut replayed = Shards::new(WorldConfig::default());
        replayed.replay(&events).unwrap();
        assert_eq!(
            replayed.tenant_ids(),
            ["c0ffee00-0000-4000-8000-0000000000b2"]
        );
        assert!(
            replayed
                .take("C0FFEE00-0000-4000-8000-0000000000B2")
                .is_some()
        );
        assert!(replayed.tenant_ids().is_empty());
    }

    #[test]
    fn an_event_of_a_tenant_not_loaded_is_refused() {
        let mut shards = Shards::new(WorldConfig::default());
        let event = Event::CatalogAppDeleted {
            tenant_id: "c0ffee00-0000-4000-8000-0000000000ff".to_owned(),
            teams_app_id: "a".to_owned(),
        };
        let error = shards.apply(&event).unwrap_err();
        assert!(
            matches!(error, ModelError::InvalidEvent { .. }),
            "{error:?}"
        );
    }
}
