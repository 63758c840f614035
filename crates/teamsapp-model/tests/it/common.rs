//! Shared helpers.

use teamsapp_model::demo::{self, CREDENTIALS, SELF_APP_CREDENTIALS};
use teamsapp_model::{Caller, World, WorldConfig};
use teamsapp_types::{
    AppInstallationId, ChatId, InstalledAppsPostRequestBody, TeamId, TeamsAppPermissionSet,
    TeamsAppResourceSpecificPermission, TeamsAppResourceSpecificPermissionType, UserId,
};
use time::OffsetDateTime;

pub(crate) fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-29 12:00:00 UTC)
}

pub(crate) fn demo_world() -> World {
    demo_world_with(WorldConfig::default())
}

pub(crate) fn demo_world_with(config: WorldConfig) -> World {
    let mut world = World::new(config);
    world.load_tenant(demo::tenant()).unwrap();
    world
}

/// The fleet tool with all its roles.
pub(crate) fn fleet() -> Caller {
    Caller::application(
        CREDENTIALS.tenant_id,
        CREDENTIALS.client_id,
        demo::FLEET_PERMISSIONS.iter().copied(),
    )
}

/// The fleet tool's registration with other roles.
pub(crate) fn app_with(roles: &[&str]) -> Caller {
    Caller::application(
        CREDENTIALS.tenant_id,
        CREDENTIALS.client_id,
        roles.iter().copied(),
    )
}

/// The Standup bot with its one Self role.
pub(crate) fn standup() -> Caller {
    Caller::application(
        SELF_APP_CREDENTIALS.tenant_id,
        SELF_APP_CREDENTIALS.client_id,
        ["TeamsAppInstallation.ReadWriteSelfForChat.All"],
    )
}

pub(crate) fn delegated(user: &str, scopes: &[&str]) -> Caller {
    Caller::delegated(
        CREDENTIALS.tenant_id,
        CREDENTIALS.client_id,
        user,
        scopes.iter().copied(),
    )
}

pub(crate) fn chat(id: &str) -> ChatId {
    ChatId::new(id).unwrap()
}

pub(crate) fn team(id: &str) -> TeamId {
    TeamId::new(id).unwrap()
}

pub(crate) fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

pub(crate) fn installation_id(id: &str) -> AppInstallationId {
    AppInstallationId::new(id).unwrap()
}

/// Graph's id of the installation of `app` in `scope`.
pub(crate) fn built(scope: &str, app: &str) -> AppInstallationId {
    AppInstallationId::build(scope, app).unwrap()
}

pub(crate) fn bind(app: &str) -> InstalledAppsPostRequestBody {
    InstalledAppsPostRequestBody {
        teams_app_odata_bind: format!(
            "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{app}"
        ),
        ..InstalledAppsPostRequestBody::default()
    }
}

pub(crate) fn permission_set(list: &[(&str, &str)]) -> TeamsAppPermissionSet {
    TeamsAppPermissionSet {
        resource_specific_permissions: Some(
            list.iter()
                .map(|(name, kind)| TeamsAppResourceSpecificPermission {
                    permission_value: Some((*name).to_owned()),
                    permission_type: Some(TeamsAppResourceSpecificPermissionType::from_wire(kind)),
                    ..TeamsAppResourceSpecificPermission::default()
                })
                .collect(),
        ),
        ..TeamsAppPermissionSet::default()
    }
}

/// A Teams app package with optional RSC permissions and client app id.
pub(crate) fn package(
    external_id: &str,
    version: &str,
    name: &str,
    rsc: &[(&str, &str)],
) -> Vec<u8> {
    let extra = serde_json::json!({
        "webApplicationInfo": { "id": "c0ffee00-0000-4000-8000-0000000abcde", "resource": "api://contoso" },
        "authorization": { "permissions": { "resourceSpecific":
            rsc.iter().map(|(n, t)| serde_json::json!({"name": n, "type": t})).collect::<Vec<_>>() } },
    });
    let serde_json::Value::Object(extra) = extra else {
        unreachable!()
    };
    teamsapp_model::package::build_package(external_id, version, name, &extra)
}
