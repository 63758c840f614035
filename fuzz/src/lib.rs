//! Shared fixtures of the fuzz targets: the demo world and callers for the model targets, and the
//! emulator for the `emulator` target. Built once per process.

use std::sync::OnceLock;

use teamsapp_model::{Caller, World, WorldConfig, demo};

/// The demo tenant, loaded once (the model targets only read it).
pub fn demo_world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(fresh_demo_world)
}

/// A new demo world, for targets that change it.
///
/// # Panics
///
/// If the demo tenant does not load (a bug in `teamsapp_model::demo`).
#[must_use]
pub fn fresh_demo_world() -> World {
    let mut world = World::new(WorldConfig::default());
    world
        .load_tenant(demo::tenant())
        .expect("the demo tenant loads");
    world
}

/// The demo's fleet tool, with every application permission the read operations need.
#[must_use]
pub fn app_caller() -> Caller {
    let mut roles: Vec<&str> = demo::FLEET_PERMISSIONS.to_vec();
    roles.push("AppCatalog.ReadWrite.All");
    Caller::application(
        demo::CREDENTIALS.tenant_id,
        demo::CREDENTIALS.client_id,
        roles,
    )
}

/// Adele, signed in to the fleet tool, with the delegated scopes of the read operations.
#[must_use]
pub fn delegated_caller() -> Caller {
    Caller::delegated(
        demo::CREDENTIALS.tenant_id,
        demo::CREDENTIALS.client_id,
        demo::ADELE,
        [
            "TeamsAppInstallation.ReadWriteForChat",
            "TeamsAppInstallation.ReadWriteForTeam",
            "TeamsAppInstallation.ReadWriteForUser",
            "AppCatalog.Read.All",
            "User.ReadBasic.All",
            "Chat.Read",
            "Team.ReadBasic.All",
        ],
    )
}
