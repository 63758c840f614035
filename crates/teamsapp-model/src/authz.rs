//! Permission checks, from the tables in [`teamsapp_types::permissions`] (reference §1.8).
//!
//! A call passes in three steps:
//! 1. the token: a delegated call from a personal Microsoft account is "not supported" (every
//!    table of this family says so); the operation must support the token's kind; and one of the
//!    granted permissions must be in the operation's table (`403` naming the permissions that
//!    would allow it, in Graph's words);
//! 2. the resource: a delegated caller must be a member of the chat or team, or be the user of a
//!    personal scope;
//! 3. the app (installation operations): of the matching permissions, at least one must allow
//!    acting on this app. "Self" permissions act only on the Teams app whose definition's
//!    `authorization.clientAppId` is the caller's client id (§1.8.2); "Selected" ones only on
//!    the apps selected for the caller's app registration; resource-specific ones
//!    (`Chat.Manage.Chat`, `TeamsAppInstallation.Read.Chat`/`.Group`) only where the caller's own
//!    app is installed with that permission consented; and installing or upgrading to a
//!    definition that requires RSC permissions needs an `AndConsent`, `ManageSelected` or
//!    `Chat.Manage.Chat` permission ("… `ReadWriteSelfForChat`, … `ReadWriteForChat` … can't be used to
//!    install apps that require consent to resource-specific permissions", §1.8.1). When that is
//!    the only reason, the answer is `400` (the one public report, microsoft-graph-docs#13348);
//!    any other reason is `403`.

use teamsapp_types::Route;
use teamsapp_types::permissions::{self, PermissionKind};

use crate::spec::InstallationScope;
use crate::state::{DefRec, ScopeKey, Tenant};
use crate::{Caller, ModelError, World};

impl World {
    /// The caller's tenant (`401` when it is not loaded).
    pub(crate) fn caller_tenant(&self, caller: &Caller) -> Result<&Tenant, ModelError> {
        self.tenant(&caller.tenant_id)
            .ok_or_else(|| ModelError::Unauthorized {
                message: format!(
                    "The tenant '{}' of the access token is not served by this emulator.",
                    crate::error::echo(&caller.tenant_id)
                ),
            })
    }
}

/// Step 1: the permissions of the caller that the operation's table (generated into its route
/// from the fragment's `x-teamsapp-permissions`) accepts.
pub(crate) fn check_token(caller: &Caller, route: &Route) -> Result<Vec<&'static str>, ModelError> {
    let table = &route.permissions;
    if caller.kind == PermissionKind::Delegated
        && caller.personal_account
        && !table.personal_account_supported
    {
        return Err(ModelError::forbidden(
            "This API is not supported for personal Microsoft accounts (delegated, personal Microsoft account: Not supported).",
        ));
    }
    if !table.is_supported(caller.kind) {
        return Err(ModelError::forbidden(format!(
            "This API does not support {} permissions; it requires one of '{}' ({}).",
            caller.kind,
            table.allowed(other(caller.kind)).join(", "),
            other(caller.kind)
        )));
    }
    let matching = table.matching(caller.kind, caller.permissions.iter().map(String::as_str));
    if matching.is_empty() {
        return Err(missing(caller, table.allowed(caller.kind)));
    }
    Ok(matching)
}

fn other(kind: PermissionKind) -> PermissionKind {
    match kind {
        PermissionKind::Delegated => PermissionKind::Application,
        PermissionKind::Application => PermissionKind::Delegated,
    }
}

/// Graph's 403 for a token without any accepted permission.
pub(crate) fn missing(caller: &Caller, allowed: &[&str]) -> ModelError {
    let (what, on) = match caller.kind {
        PermissionKind::Application => ("role", "Roles"),
        PermissionKind::Delegated => ("scope", "Scopes"),
    };
    ModelError::forbidden(format!(
        "Missing {what} permissions on the request. API requires one of '{}'. {on} on the request '{}'.",
        allowed.join(", "),
        caller.permissions.join(", ")
    ))
}

/// The delegated caller's user index (`None` for application callers).
pub(crate) fn caller_user(tenant: &Tenant, caller: &Caller) -> Result<Option<u32>, ModelError> {
    match caller.kind {
        PermissionKind::Application => Ok(None),
        PermissionKind::Delegated => {
            let id = caller.user_id.as_deref().unwrap_or_default();
            tenant
                .user(id)
                .map(Some)
                .ok_or_else(|| ModelError::Unauthorized {
                    message: format!(
                        "The signed-in user '{}' of the access token is not a user of the tenant.",
                        crate::error::echo(id)
                    ),
                })
        }
    }
}

/// Step 2: a delegated caller must belong to the scope.
pub(crate) fn check_membership(
    tenant: &Tenant,
    user: Option<u32>,
    scope: ScopeKey,
) -> Result<(), ModelError> {
    let Some(user) = user else { return Ok(()) };
    let member = match scope.kind {
        InstallationScope::Chat => tenant.chat_has_member(scope.index, user),
        InstallationScope::Team => tenant.team_has_member(scope.index, user),
        InstallationScope::User => scope.index == user,
    };
    if member {
        Ok(())
    } else {
        Err(ModelError::forbidden(match scope.kind {
            InstallationScope::Chat => "The signed-in user is not a member of the chat.",
            InstallationScope::Team => "The signed-in user is not a member of the team.",
            InstallationScope::User => {
                "A delegated call can only manage the signed-in user's own personal apps."
            }
        }))
    }
}

/// Step 3: whether one of `matching` allows acting on an installation of `app` in `scope`.
///
/// `subjects` are the definitions the call touches (the installed one, the target one);
/// `needs_consent` says whether the call installs or upgrades to a definition that requires RSC
/// permissions.
pub(crate) fn check_app(
    tenant: &Tenant,
    caller: &Caller,
    matching: &[&'static str],
    scope: ScopeKey,
    app: u32,
    subjects: &[&DefRec],
    needs_consent: bool,
) -> Result<(), ModelError> {
    let mut reasons: Vec<String> = Vec::new();
    let mut only_consent = true;
    for name in matching {
        match permission_allows(tenant, caller, name, scope, app, subjects, needs_consent) {
            Ok(()) => return Ok(()),
            Err(reason) => {
                only_consent &= reason == rsc_reason(name);
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        }
    }
    // When the caller's permissions fail only because they cannot consent to the app's
    // resource-specific permissions, Graph answers 400, not 403: the one public report
    // (microsoft-graph-docs#13348, "It shows 400-Bad request. It is an expected behavior").
    if only_consent && !reasons.is_empty() {
        return Err(ModelError::bad_request(reasons.join(" ")));
    }
    Err(ModelError::forbidden(reasons.join(" ")))
}

/// Whether the caller may see an installation of `app` in `scope` (for lists).
pub(crate) fn may_see(
    tenant: &Tenant,
    caller: &Caller,
    matching: &[&'static str],
    scope: ScopeKey,
    app: u32,
    def: &DefRec,
) -> bool {
    matching
        .iter()
        .any(|name| permission_allows(tenant, caller, name, scope, app, &[def], false).is_ok())
}

fn permission_allows(
    tenant: &Tenant,
    caller: &Caller,
    name: &str,
    scope: ScopeKey,
    app: u32,
    subjects: &[&DefRec],
    needs_consent: bool,
) -> Result<(), String> {
    let Some(permission) = permissions::classify(name) else {
        // Directory.* and Group.*: tenant-wide, kept for backward compatibility, no consent.
        return if needs_consent {
            Err(rsc_reason(name))
        } else {
            Ok(())
        };
    };
    if permission.is_resource_specific() && !holds_rsc(tenant, caller, scope, name) {
        return Err(format!(
            "The resource-specific permission '{name}' was not consented to for the calling app in this {}.",
            scope.kind.as_str()
        ));
    }
    let app_rec = tenant.apps.get(app as usize);
    let app_id = app_rec.map_or("", |a| a.id.as_str());
    if permission.is_self_only() {
        let own = subjects.iter().all(|d| {
            d.client_app_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(&caller.client_id))
        });
        if !own {
            return Err(format!(
                "The permission '{name}' lets an app manage only its own Teams app, and the Teams app '{app_id}' is not linked to the calling app '{}' (authorization.clientAppId).",
                caller.client_id
            ));
        }
    }
    if permission.is_selected_only() {
        let selected = tenant.registration(&caller.client_id).is_some_and(|r| {
            r.selected_teams_apps.iter().any(|s| {
                s.eq_ignore_ascii_case(app_id)
                    || app_rec
                        .and_then(|a| a.external_id.as_deref())
                        .is_some_and(|e| e.eq_ignore_ascii_case(s))
            })
        });
        if !selected {
            return Err(format!(
                "The permission '{name}' lets an app manage only the Teams apps selected for it, and '{app_id}' is not one of them."
            ));
        }
    }
    if needs_consent && !permission.can_consent_rsc() {
        return Err(rsc_reason(name));
    }
    Ok(())
}

fn rsc_reason(name: &str) -> String {
    format!(
        "The permission '{name}' can't be used to install apps that require consent to resource-specific permissions; use a ReadWriteAndConsent or ManageSelected permission."
    )
}

/// Whether the caller's own Teams app is installed in `scope` with `name` consented.
fn holds_rsc(tenant: &Tenant, caller: &Caller, scope: ScopeKey, name: &str) -> bool {
    tenant.installed(scope).iter().any(|rec| {
        let own = tenant
            .apps
            .get(rec.app as usize)
            .and_then(|a| a.def(rec.def))
            .and_then(|d| d.client_app_id.as_deref())
            .is_some_and(|id| id.eq_ignore_ascii_case(&caller.client_id));
        own && rec
            .consent
            .iter()
            .any(|p| p.permission_value.eq_ignore_ascii_case(name))
    })
}
