//! The permissions of this API family, as data.
//!
//! The tables are written once, in the fragment's `x-teamsapp-permissions`, and generated into
//! each operation's [`Route::permissions`](crate::Route::permissions). The emulator uses them to
//! answer `403` naming the permissions that would have allowed a call; the CLI uses them for an
//! offline preflight of a token's scopes or roles. [`for_operation`] finds one by `operationId`.
//!
//! Each list starts with the least privileged permission Microsoft documents for the operation;
//! the rest follow in the documentation's order (its "higher privileged" column, which Microsoft
//! generates alphabetically rather than by privilege). Names are compared ASCII
//! case-insensitively, as Microsoft Entra does.
//!
//! [`classify`] parses a `TeamsAppInstallation.*` name (and the resource-specific
//! `Chat.Manage.Chat`) into what it grants, for the rules a table cannot express: "Self"
//! permissions act only on the caller's own app, `AndConsent` and `ManageSelected` ones may grant
//! resource-specific consent, "Selected" ones act only on apps an admin selected.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Whether a permission is exercised on behalf of a signed-in user or by an app on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PermissionKind {
    /// Delegated permissions (scopes, the token's `scp` claim): an app acting for a user.
    Delegated,
    /// Application permissions (app roles, the token's `roles` claim): an app acting alone.
    /// Resource-specific consent (RSC) permissions are listed here too, as Microsoft does.
    Application,
}

impl PermissionKind {
    /// Both kinds, delegated first.
    pub const ALL: [Self; 2] = [Self::Delegated, Self::Application];

    /// `delegated` or `application`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Delegated => "delegated",
            Self::Application => "application",
        }
    }
}

impl fmt::Display for PermissionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PermissionKind {
    type Err = Error;

    /// Parses `delegated` or `application`, ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::unknown_name("permission kind", s, "delegated, application"))
    }
}

/// The permissions that allow one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationPermissions {
    /// Graph's `operationId`.
    pub operation_id: &'static str,
    /// Delegated permissions that allow the call, least privileged first; empty if delegated
    /// access is not supported.
    pub delegated: &'static [&'static str],
    /// Application permissions that allow the call, least privileged first; empty if
    /// application access is not supported.
    pub application: &'static [&'static str],
    /// Whether delegated access with a personal Microsoft account is supported (never, here).
    pub personal_account_supported: bool,
    /// Whether the operation needs a permission at all. `false` only for `$batch`, whose inner
    /// requests are each checked against their own operation.
    pub requires_permission: bool,
}

impl OperationPermissions {
    /// The permissions of `kind` that allow the call, least privileged first.
    pub fn allowed(&self, kind: PermissionKind) -> &'static [&'static str] {
        match kind {
            PermissionKind::Delegated => self.delegated,
            PermissionKind::Application => self.application,
        }
    }

    /// The least privileged permission of `kind` that allows the call, if `kind` is supported.
    pub fn least_privileged(&self, kind: PermissionKind) -> Option<&'static str> {
        self.allowed(kind).first().copied()
    }

    /// Whether the operation can be called with a token of `kind` at all.
    pub fn is_supported(&self, kind: PermissionKind) -> bool {
        !self.requires_permission || !self.allowed(kind).is_empty()
    }

    /// The permissions of `kind` in `granted` that allow the call, in table order and spelled as
    /// in the table.
    ///
    /// The emulator applies [`classify`]'s rules to these: a call allowed only through "Self"
    /// permissions must target the caller's own app, and so on.
    pub fn matching<'a>(
        &self,
        kind: PermissionKind,
        granted: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'static str> {
        let granted: Vec<&str> = granted.into_iter().collect();
        self.allowed(kind)
            .iter()
            .copied()
            .filter(|allowed| granted.iter().any(|g| g.eq_ignore_ascii_case(allowed)))
            .collect()
    }

    /// Whether any of the `granted` permissions of `kind` allows the call (always true when the
    /// operation needs no permission).
    pub fn is_satisfied_by<'a>(
        &self,
        kind: PermissionKind,
        granted: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        if !self.requires_permission {
            return true;
        }
        let allowed = self.allowed(kind);
        granted
            .into_iter()
            .any(|g| allowed.iter().any(|a| a.eq_ignore_ascii_case(g)))
    }
}

/// The permissions of the operation with this `operationId`, if it is one of this API family's.
pub fn for_operation(operation_id: &str) -> Option<&'static OperationPermissions> {
    all().find(|entry| entry.operation_id == operation_id)
}

/// The permissions of every operation, in the fragment's order.
pub fn all() -> impl Iterator<Item = &'static OperationPermissions> {
    crate::routes::ALL.iter().map(|route| &route.permissions)
}

/// Whether `name` is a resource-specific consent (RSC) permission, granted per chat, team or user
/// rather than tenant-wide: by Microsoft's naming convention these end in `.Chat`, `.Group` or
/// `.User` (e.g. `Chat.Manage.Chat`, `TeamsAppInstallation.Read.Group`).
pub fn is_resource_specific(name: &str) -> bool {
    [".Chat", ".Group", ".User"].into_iter().any(|suffix| {
        name.len() > suffix.len()
            && name
                .get(name.len() - suffix.len()..)
                .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
    })
}

// ---------------------------------------------------------------------------------------------
// Classification of `TeamsAppInstallation.*` names.

/// What a Teams app installation permission lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstallationAccess {
    /// Read installations (`ReadFor…`, `Read.All`, and the RSC `Read.Chat` and `Read.Group`).
    Read,
    /// Read installations of apps an admin selected (`ReadSelectedFor…`).
    ReadSelected,
    /// Read, install, upgrade and uninstall any app, without granting resource-specific consent.
    ReadWrite,
    /// Read, install, upgrade and uninstall the caller's own app only, without granting
    /// resource-specific consent.
    ReadWriteSelf,
    /// Read, install, upgrade and uninstall apps an admin selected, without granting
    /// resource-specific consent.
    ReadWriteSelected,
    /// Read, install, upgrade and uninstall any app, and grant its resource-specific consent.
    ReadWriteAndConsent,
    /// Read, install, upgrade and uninstall the caller's own app, and grant its
    /// resource-specific consent.
    ReadWriteAndConsentSelf,
    /// Read, install, upgrade and uninstall apps an admin selected, and manage their
    /// resource-specific consent.
    ManageSelected,
    /// `Chat.Manage.Chat`: the resource-specific permission to manage one chat, its apps included.
    Manage,
}

impl InstallationAccess {
    const NAMES: [(&'static str, Self); 8] = [
        ("Read", Self::Read),
        ("ReadSelected", Self::ReadSelected),
        ("ReadWrite", Self::ReadWrite),
        ("ReadWriteSelf", Self::ReadWriteSelf),
        ("ReadWriteSelected", Self::ReadWriteSelected),
        ("ReadWriteAndConsent", Self::ReadWriteAndConsent),
        ("ReadWriteAndConsentSelf", Self::ReadWriteAndConsentSelf),
        ("ManageSelected", Self::ManageSelected),
    ];

    /// The access as it appears in permission names, e.g. `ReadWriteSelf`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Read => "Read",
            Self::ReadSelected => "ReadSelected",
            Self::ReadWrite => "ReadWrite",
            Self::ReadWriteSelf => "ReadWriteSelf",
            Self::ReadWriteSelected => "ReadWriteSelected",
            Self::ReadWriteAndConsent => "ReadWriteAndConsent",
            Self::ReadWriteAndConsentSelf => "ReadWriteAndConsentSelf",
            Self::ManageSelected => "ManageSelected",
            Self::Manage => "Manage",
        }
    }
}

/// An installation scope: the kind of place an app is installed in, and the scope a permission
/// covers. The one scope-kind enum of the project: the model's installations and events, the
/// permission rules and fleet discovery all use it; [`Scope`](crate::Scope) pairs it with an id.
///
/// Serialized as `chat`, `team` or `user`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum InstallationScope {
    /// Apps installed in chats (and so in meetings).
    Chat,
    /// Apps installed in teams.
    Team,
    /// Apps installed for a user (personal scope).
    User,
}

impl InstallationScope {
    const NAMES: [(&'static str, Self); 3] = [
        ("Chat", Self::Chat),
        ("Team", Self::Team),
        ("User", Self::User),
    ];

    /// `chat`, `team` or `user`, as messages, events and command lines write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Team => "team",
            Self::User => "user",
        }
    }

    /// The scope as it appears in permission names, e.g. `Chat`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Chat => "Chat",
            Self::Team => "Team",
            Self::User => "User",
        }
    }
}

/// A Teams app installation permission, parsed by [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TeamsAppPermission {
    /// What it lets its holder do.
    pub access: InstallationAccess,
    /// The scope it covers; `None` for `TeamsAppInstallation.Read.All`, which covers all three.
    pub scope: Option<InstallationScope>,
    /// Whether the name ends in `.All`: a tenant-wide application permission.
    pub all: bool,
    /// Whether it is a resource-specific consent permission, granted for one chat or team
    /// (`Chat.Manage.Chat`, `TeamsAppInstallation.Read.Chat`, `TeamsAppInstallation.Read.Group`).
    pub resource_specific: bool,
}

impl TeamsAppPermission {
    const fn new(
        access: InstallationAccess,
        scope: Option<InstallationScope>,
        all: bool,
        resource_specific: bool,
    ) -> Self {
        Self {
            access,
            scope,
            all,
            resource_specific,
        }
    }

    /// Whether it acts only on the caller's own app: "Self" permissions let an app read, install,
    /// upgrade and uninstall only installations of the Teams app whose
    /// `authorization.clientAppId` is the calling Microsoft Entra app's id.
    pub fn is_self_only(&self) -> bool {
        matches!(
            self.access,
            InstallationAccess::ReadWriteSelf | InstallationAccess::ReadWriteAndConsentSelf
        )
    }

    /// Whether it may install or upgrade an app that requires resource-specific consent.
    ///
    /// The `AndConsent` and `ManageSelected` permissions may; the plain, "Self" and "Selected"
    /// read-write ones may not (Microsoft: "`ReadWriteSelfForChat`, `ReadWriteForChat`, … can't be
    /// used to install apps that require consent to resource-specific permissions").
    /// `Chat.Manage.Chat` is not among the documented exceptions, so it may (inference).
    pub fn can_consent_rsc(&self) -> bool {
        matches!(
            self.access,
            InstallationAccess::ReadWriteAndConsent
                | InstallationAccess::ReadWriteAndConsentSelf
                | InstallationAccess::ManageSelected
                | InstallationAccess::Manage
        )
    }

    /// Whether it acts only on apps an admin selected for the caller.
    pub fn is_selected_only(&self) -> bool {
        matches!(
            self.access,
            InstallationAccess::ReadSelected
                | InstallationAccess::ReadWriteSelected
                | InstallationAccess::ManageSelected
        )
    }

    /// Whether it may install, upgrade or uninstall (every access but the read-only ones).
    pub fn can_write(&self) -> bool {
        !matches!(
            self.access,
            InstallationAccess::Read | InstallationAccess::ReadSelected
        )
    }

    /// Whether it is a resource-specific consent permission.
    pub fn is_resource_specific(&self) -> bool {
        self.resource_specific
    }

    /// Whether it covers installations in `scope`.
    pub fn applies_to(&self, scope: InstallationScope) -> bool {
        self.scope.is_none_or(|own| own == scope)
    }
}

impl fmt::Display for TeamsAppPermission {
    /// Writes the permission's canonical name, e.g. `TeamsAppInstallation.ReadWriteSelfForChat.All`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.access, self.scope, self.resource_specific) {
            (InstallationAccess::Manage, _, _) => f.write_str("Chat.Manage.Chat"),
            (access, Some(InstallationScope::Chat), true) => {
                write!(f, "TeamsAppInstallation.{}.Chat", access.name())
            }
            (access, _, true) => write!(f, "TeamsAppInstallation.{}.Group", access.name()),
            (access, None, false) => write!(f, "TeamsAppInstallation.{}.All", access.name()),
            (access, Some(scope), false) => {
                write!(
                    f,
                    "TeamsAppInstallation.{}For{}{}",
                    access.name(),
                    scope.name(),
                    if self.all { ".All" } else { "" }
                )
            }
        }
    }
}

/// Parses a Teams app installation permission name (ASCII case-insensitively); `None` for any
/// other name.
///
/// Accepted: `TeamsAppInstallation.{Access}For{Chat|Team|User}` with an optional `.All`, where
/// `{Access}` is one of [`InstallationAccess`]'s names; `TeamsAppInstallation.Read.All`; and the
/// resource-specific `TeamsAppInstallation.Read.Chat`, `TeamsAppInstallation.Read.Group` and
/// `Chat.Manage.Chat`.
pub fn classify(name: &str) -> Option<TeamsAppPermission> {
    use InstallationAccess::{Manage, Read};
    use InstallationScope::{Chat, Team};

    const FIXED: [(&str, TeamsAppPermission); 4] = [
        (
            "Chat.Manage.Chat",
            TeamsAppPermission::new(Manage, Some(Chat), false, true),
        ),
        (
            "TeamsAppInstallation.Read.Chat",
            TeamsAppPermission::new(Read, Some(Chat), false, true),
        ),
        (
            "TeamsAppInstallation.Read.Group",
            TeamsAppPermission::new(Read, Some(Team), false, true),
        ),
        (
            "TeamsAppInstallation.Read.All",
            TeamsAppPermission::new(Read, None, true, false),
        ),
    ];
    if let Some((_, permission)) = FIXED
        .iter()
        .find(|(fixed, _)| fixed.eq_ignore_ascii_case(name))
    {
        return Some(*permission);
    }

    let rest = strip_prefix_ignore_case(name, "TeamsAppInstallation.")?;
    let (rest, all) = match strip_suffix_ignore_case(rest, ".All") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    // No access name contains "for", so the last "For" separates access from scope.
    let split = rest.to_ascii_lowercase().rfind("for")?;
    let (access, scope) = (&rest[..split], &rest[split + 3..]);
    let access = InstallationAccess::NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(access))?
        .1;
    let scope = InstallationScope::NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(scope))?
        .1;
    Some(TeamsAppPermission::new(access, Some(scope), all, false))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// Every `operationId` of the API description (`openapi/teamsapp.json`).
    const OPERATION_IDS: &[&str] = &[
        "chats.ListInstalledApps",
        "chats.CreateInstalledApps",
        "chats.GetInstalledApps",
        "chats.DeleteInstalledApps",
        "chats.chat.installedApps.teamsAppInstallation.upgrade",
        "chats.installedApps.GetTeamsApp",
        "chats.installedApps.GetTeamsAppDefinition",
        "chats.installedApps.GetCount-3987",
        "teams.ListInstalledApps",
        "teams.CreateInstalledApps",
        "teams.GetInstalledApps",
        "teams.DeleteInstalledApps",
        "teams.team.installedApps.teamsAppInstallation.upgrade",
        "teams.installedApps.GetTeamsApp",
        "teams.installedApps.GetTeamsAppDefinition",
        "teams.installedApps.GetCount-d47b",
        "users.teamwork.ListInstalledApps",
        "users.teamwork.CreateInstalledApps",
        "users.teamwork.GetInstalledApps",
        "users.teamwork.DeleteInstalledApps",
        "users.user.teamwork.installedApps.userScopeTeamsAppInstallation.upgrade",
        "users.teamwork.installedApps.GetChat",
        "users.teamwork.installedApps.GetTeamsApp",
        "users.teamwork.installedApps.GetTeamsAppDefinition",
        "users.teamwork.installedApps.GetCount-0292",
        "appCatalogs.ListTeamsApps",
        "appCatalogs.CreateTeamsApps",
        "appCatalogs.GetTeamsApps",
        "appCatalogs.DeleteTeamsApps",
        "appCatalogs.teamsApps.ListAppDefinitions",
        "appCatalogs.teamsApps.GetAppDefinitions",
        "appCatalogs.teamsApps.CreateAppDefinitions",
        "appCatalogs.teamsApps.UpdateAppDefinitions",
        "appCatalogs.teamsApps.appDefinitions.GetBot",
        "users.user.ListUser",
        "users.ListChats",
        "chats.chat.GetChat",
        "teams.team.ListTeam",
        "batch",
    ];

    const CHAT_UPGRADE: &str = "chats.chat.installedApps.teamsAppInstallation.upgrade";

    fn all_names() -> impl Iterator<Item = (PermissionKind, &'static str)> {
        all().flat_map(|entry| {
            PermissionKind::ALL
                .into_iter()
                .flat_map(move |kind| entry.allowed(kind).iter().map(move |name| (kind, *name)))
        })
    }

    #[test]
    fn every_operation_has_exactly_one_entry() {
        for op in OPERATION_IDS {
            assert_eq!(all().filter(|e| e.operation_id == *op).count(), 1, "{op}");
            assert!(for_operation(op).is_some(), "{op}");
        }
        assert_eq!(all().count(), OPERATION_IDS.len());
        assert!(for_operation("chats.UpdateInstalledApps").is_none());
    }

    #[test]
    fn lists_have_no_duplicates() {
        for entry in all() {
            for kind in PermissionKind::ALL {
                let list = entry.allowed(kind);
                let unique: HashSet<String> = list.iter().map(|n| n.to_ascii_lowercase()).collect();
                assert_eq!(unique.len(), list.len(), "{} {kind}", entry.operation_id);
            }
        }
    }

    #[test]
    fn every_teams_app_installation_name_classifies() {
        for (kind, name) in all_names() {
            if name.starts_with("TeamsAppInstallation.") || name == "Chat.Manage.Chat" {
                let permission = classify(name).unwrap_or_else(|| panic!("{name}"));
                assert_eq!(permission.to_string(), name);
                assert_eq!(
                    permission.all || permission.resource_specific,
                    kind == PermissionKind::Application,
                    "{kind} {name}"
                );
            }
        }
    }

    #[test]
    fn application_names_are_tenant_wide_or_resource_specific() {
        for (kind, name) in all_names() {
            if kind == PermissionKind::Application {
                assert!(
                    name.ends_with(".All") || is_resource_specific(name),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn nobody_supports_personal_accounts() {
        assert!(all().all(|e| !e.personal_account_supported));
    }

    #[test]
    fn chat_upgrade_permissions() {
        let upgrade = for_operation(CHAT_UPGRADE).unwrap();
        let app = PermissionKind::Application;
        assert!(upgrade.is_satisfied_by(app, ["TeamsAppInstallation.ReadWriteForChat.All"]));
        assert!(upgrade.is_satisfied_by(app, ["TeamsAppInstallation.ReadWriteSelfForChat.All"]));
        assert!(!upgrade.is_satisfied_by(app, ["TeamsAppInstallation.ReadForChat.All"]));
        assert!(!upgrade.is_satisfied_by(app, std::iter::empty()));
        // A delegated scope does not satisfy an application check, and vice versa.
        assert!(!upgrade.is_satisfied_by(app, ["TeamsAppInstallation.ReadWriteForChat"]));
        let delegated = PermissionKind::Delegated;
        assert!(upgrade.is_satisfied_by(delegated, ["TeamsAppInstallation.ReadWriteSelfForChat"]));
        assert!(upgrade.is_satisfied_by(delegated, ["TeamsAppInstallation.ReadWriteForChat"]));
        assert!(!upgrade.is_satisfied_by(delegated, ["TeamsAppInstallation.ReadWriteForChat.All"]));
        assert_eq!(
            upgrade.least_privileged(delegated),
            Some("TeamsAppInstallation.ReadWriteSelfForChat")
        );
        assert_eq!(
            upgrade.least_privileged(app),
            Some("TeamsAppInstallation.ReadWriteSelfForChat.All")
        );
        // Names are case-insensitive; matches come back spelled as in the table.
        let granted = ["User.Read", "teamsappinstallation.readwriteforchat.all"];
        assert!(upgrade.is_satisfied_by(app, granted));
        assert_eq!(
            upgrade.matching(app, granted),
            ["TeamsAppInstallation.ReadWriteForChat.All"]
        );
    }

    #[test]
    fn unsupported_kinds_and_batch() {
        let publish = for_operation("appCatalogs.CreateTeamsApps").unwrap();
        let app = PermissionKind::Application;
        assert!(!publish.is_supported(app));
        assert_eq!(publish.least_privileged(app), None);
        assert!(!publish.is_satisfied_by(app, ["AppCatalog.ReadWrite.All"]));
        assert!(publish.is_satisfied_by(PermissionKind::Delegated, ["AppCatalog.Submit"]));

        let list_teams = for_operation("teams.team.ListTeam").unwrap();
        assert!(!list_teams.is_supported(PermissionKind::Delegated));

        let batch = for_operation("batch").unwrap();
        for kind in PermissionKind::ALL {
            assert!(batch.is_supported(kind));
            assert!(batch.is_satisfied_by(kind, std::iter::empty()));
        }
    }

    #[test]
    fn review_is_not_allowed_by_submit() {
        let review = for_operation("appCatalogs.teamsApps.UpdateAppDefinitions").unwrap();
        assert!(!review.is_satisfied_by(PermissionKind::Delegated, ["AppCatalog.Submit"]));
        let delete = for_operation("appCatalogs.DeleteTeamsApps").unwrap();
        assert!(delete.is_satisfied_by(PermissionKind::Delegated, ["AppCatalog.Submit"]));
    }

    #[test]
    fn classification() {
        let p = classify("TeamsAppInstallation.ReadWriteSelfForChat.All").unwrap();
        assert_eq!(p.access, InstallationAccess::ReadWriteSelf);
        assert_eq!(p.scope, Some(InstallationScope::Chat));
        assert!(p.all && !p.resource_specific);
        assert!(p.is_self_only() && p.can_write() && !p.can_consent_rsc() && !p.is_selected_only());
        assert!(p.applies_to(InstallationScope::Chat) && !p.applies_to(InstallationScope::Team));

        let p = classify("TeamsAppInstallation.ReadWriteForChat").unwrap();
        assert!(!p.all && !p.is_self_only() && !p.can_consent_rsc());

        let p = classify("TeamsAppInstallation.ReadWriteAndConsentSelfForTeam").unwrap();
        assert!(p.is_self_only() && p.can_consent_rsc());
        assert_eq!(p.scope, Some(InstallationScope::Team));

        let p = classify("TeamsAppInstallation.ManageSelectedForUser.All").unwrap();
        assert!(p.is_selected_only() && p.can_consent_rsc() && p.can_write());

        let p = classify("TeamsAppInstallation.ReadWriteSelectedForUser").unwrap();
        assert!(p.is_selected_only() && !p.can_consent_rsc() && p.can_write());

        let p = classify("TeamsAppInstallation.ReadSelectedForChat.All").unwrap();
        assert!(p.is_selected_only() && !p.can_write());

        let p = classify("TeamsAppInstallation.Read.All").unwrap();
        assert_eq!(p.scope, None);
        assert!(p.all && !p.can_write());
        for scope in [
            InstallationScope::Chat,
            InstallationScope::Team,
            InstallationScope::User,
        ] {
            assert!(p.applies_to(scope));
        }

        let p = classify("TeamsAppInstallation.Read.Group").unwrap();
        assert!(p.is_resource_specific() && !p.all && !p.can_write());
        assert_eq!(p.scope, Some(InstallationScope::Team));

        let p = classify("Chat.Manage.Chat").unwrap();
        assert!(p.is_resource_specific() && p.can_write() && p.can_consent_rsc());
        assert_eq!(p.access, InstallationAccess::Manage);

        assert_eq!(
            classify("teamsappinstallation.readforchat.all")
                .unwrap()
                .to_string(),
            "TeamsAppInstallation.ReadForChat.All"
        );

        for other in [
            "",
            "Chat.Read",
            "TeamsAppInstallation.",
            "TeamsAppInstallation.ReadForChannel",
            "TeamsAppInstallation.WriteForChat",
            "TeamsAppInstallation.ReadForChat.All.All",
            "TeamsAppInstallation.ReadFor",
            "TeamsAppInstallation.Read",
            "TeamsAppInstallation.Read.Team",
            "AppCatalog.ReadWrite.All",
        ] {
            assert_eq!(classify(other), None, "{other}");
        }
    }

    #[test]
    fn resource_specific_names() {
        for rsc in [
            "Chat.Manage.Chat",
            "ChatSettings.Read.Chat",
            "TeamsAppInstallation.Read.Group",
            "TeamsActivity.Send.User",
        ] {
            assert!(is_resource_specific(rsc), "{rsc}");
        }
        for other in [
            "Chat.Read.All",
            "TeamsAppInstallation.ReadForUser",
            "TeamsAppInstallation.ReadForChat",
            ".Chat",
            "",
        ] {
            assert!(!is_resource_specific(other), "{other}");
        }
    }

    #[test]
    fn permission_kind_names() {
        for kind in PermissionKind::ALL {
            assert_eq!(kind.to_string().parse::<PermissionKind>().unwrap(), kind);
        }
        assert_eq!(
            "Application".parse::<PermissionKind>().unwrap(),
            PermissionKind::Application
        );
        assert_eq!(
            "app".parse::<PermissionKind>().unwrap_err().to_string(),
            r#"unknown permission kind "app": expected one of delegated, application"#
        );
    }

    proptest! {
        #[test]
        fn classify_never_panics(name in any::<String>()) {
            let _ = classify(&name);
            let _ = is_resource_specific(&name);
        }

        #[test]
        fn classify_round_trips_through_display(
            access in "(Read|ReadWrite|ReadWriteSelf|ReadWriteSelected|ReadWriteAndConsent|ReadWriteAndConsentSelf|ManageSelected|ReadSelected)",
            scope in "(Chat|Team|User)",
            all in any::<bool>(),
            flips in proptest::collection::vec(any::<bool>(), 64),
        ) {
            let canonical = format!(
                "TeamsAppInstallation.{access}For{scope}{}",
                if all { ".All" } else { "" }
            );
            // The same name with the ASCII case of some letters flipped.
            let name: String = canonical
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, &flip)| if flip { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
                .collect();
            let permission = classify(&name).unwrap();
            prop_assert_eq!(permission.to_string(), canonical);
            prop_assert_eq!(classify(&permission.to_string()), Some(permission));
            prop_assert_eq!(permission.all, all);
        }
    }
}
