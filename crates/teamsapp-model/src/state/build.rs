//! Building a [`Tenant`] from its [`TenantSpec`], checking every reference.

use teamsapp_types::AppInstallationId;
use teamsapp_types::ids::is_guid;
use teamsapp_types::version::AppVersion;

use super::{
    AppRec, ChatId, ChatIndex, ChatRec, DefRec, Index, Installed, ScopeKey, TeamRec, Tenant,
    UserRec, index_u32, index_with_capacity, installation_scopes, join, parse_time,
    same_permissions,
};
use crate::ModelError;
use crate::error::echo;
use crate::spec::{InstallationScope, TenantSpec};

/// Where in a spec an item is (`chats[3]`, `catalog[0].appDefinitions[1]`), formatted only when
/// an error names it: a tenant of a million chats formats no path.
#[derive(Clone, Copy)]
struct At {
    list: &'static str,
    index: usize,
    child: Option<(&'static str, usize)>,
}

impl At {
    fn new(list: &'static str, index: usize) -> Self {
        Self {
            list,
            index,
            child: None,
        }
    }

    fn child(self, list: &'static str, index: usize) -> Self {
        Self {
            child: Some((list, index)),
            ..self
        }
    }
}

/// The error for a chat whose id an earlier chat has.
fn duplicate_chat(path: At, id: &impl std::fmt::Display) -> ModelError {
    ModelError::spec(format!("{path}.id: duplicate chat id {id}"))
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.list, self.index)?;
        if let Some((list, index)) = self.child {
            write!(f, ".{list}[{index}]")?;
        }
        Ok(())
    }
}

impl Tenant {
    /// Builds a tenant from its description, checking every reference.
    pub(crate) fn from_spec(spec: &TenantSpec) -> Result<Self, ModelError> {
        if !is_guid(&spec.tenant_id) {
            return Err(ModelError::spec(format!(
                "tenantId: \"{}\" is not a GUID",
                echo(&spec.tenant_id)
            )));
        }
        let mut tenant = Self {
            id: spec.tenant_id.to_ascii_lowercase(),
            display_name: spec.display_name.clone(),
            users: Vec::with_capacity(spec.users.len()),
            user_index: index_with_capacity(spec.users.len()),
            upn_index: index_with_capacity(spec.users.len()),
            chats: Vec::with_capacity(spec.chats.len()),
            chat_index: ChatIndex::with_capacity(spec.chats.len()),
            teams: Vec::with_capacity(spec.teams.len()),
            team_index: index_with_capacity(spec.teams.len()),
            registrations: spec.app_registrations.clone(),
            grants: spec.delegated_grants.clone(),
            apps: Vec::with_capacity(spec.catalog.len()),
            app_index: index_with_capacity(spec.catalog.len()),
            external_index: index_with_capacity(spec.catalog.len()),
            explicit_ids: Index::default(),
            next_seq: 0,
            installation_count: 0,
            generated: 0,
        };
        for (i, user) in spec.users.iter().enumerate() {
            let path = At::new("users", i);
            if !is_guid(&user.id) {
                return Err(ModelError::spec(format!(
                    "{path}.id: \"{}\" is not a GUID",
                    echo(&user.id)
                )));
            }
            let valid_upn = teamsapp_types::UserId::new(user.user_principal_name.as_str())
                .is_ok_and(|u| u.is_upn());
            if !valid_upn {
                return Err(ModelError::spec(format!(
                    "{path}.userPrincipalName: \"{}\" is not a user principal name (name@domain)",
                    echo(&user.user_principal_name)
                )));
            }
            let index = index_u32(tenant.users.len(), "users")?;
            if tenant
                .user_index
                .insert(user.id.to_ascii_lowercase(), index)
                .is_some()
            {
                return Err(ModelError::spec(format!(
                    "{path}.id: duplicate user id {}",
                    user.id
                )));
            }
            if tenant
                .upn_index
                .insert(user.user_principal_name.to_ascii_lowercase(), index)
                .is_some()
            {
                return Err(ModelError::spec(format!(
                    "{path}.userPrincipalName: duplicate {}",
                    echo(&user.user_principal_name)
                )));
            }
            tenant.users.push(UserRec {
                id: user.id.to_ascii_lowercase(),
                upn: user.user_principal_name.clone(),
                display_name: user.display_name.clone(),
                mail: user.mail.clone(),
                user_type: user.user_type.clone(),
                account_enabled: user.account_enabled,
                personal_account: user.personal_account,
                blocked_apps: Box::default(),
                chats: Vec::new(),
                installed: Installed::new(),
            });
        }
        // Chats of Graph's usual id form are indexed together once the loop is done (see
        // `ChatIndex::insert_keyed`); others one by one.
        let mut keyed = Vec::with_capacity(spec.chats.len());
        let failed = spec
            .chats
            .iter()
            .enumerate()
            .try_for_each(|(i, chat)| tenant.add_chat(At::new("chats", i), chat, &mut keyed))
            .err();
        // A repeated id comes first even when a later chat failed: one by one, it was found
        // before the loop reached that chat (and a chat's own repeat before its date).
        if let Some(index) = tenant.chat_index.insert_keyed(&tenant.chats, &keyed) {
            let i = index as usize;
            return Err(duplicate_chat(At::new("chats", i), &spec.chats[i].id));
        }
        if let Some(error) = failed {
            return Err(error);
        }
        drop(keyed);
        for (i, team) in spec.teams.iter().enumerate() {
            let path = At::new("teams", i);
            let members = tenant.members(&team.members, path)?;
            let index = index_u32(tenant.teams.len(), "teams")?;
            if tenant
                .team_index
                .insert(team.id.as_str().to_ascii_lowercase(), index)
                .is_some()
            {
                return Err(ModelError::spec(format!(
                    "{path}.id: duplicate team id {}",
                    team.id
                )));
            }
            tenant.teams.push(TeamRec {
                id: team.id.as_str().to_ascii_lowercase(),
                display_name: team.display_name.clone(),
                description: team.description.clone(),
                members: members.into_boxed_slice(),
                installed: Installed::new(),
            });
        }
        for (i, reg) in spec.app_registrations.iter().enumerate() {
            if !is_guid(&reg.client_id) {
                return Err(ModelError::spec(format!(
                    "appRegistrations[{i}].clientId: \"{}\" is not a GUID",
                    echo(&reg.client_id)
                )));
            }
            if spec.app_registrations[..i]
                .iter()
                .any(|r| r.client_id.eq_ignore_ascii_case(&reg.client_id))
            {
                return Err(ModelError::spec(format!(
                    "appRegistrations[{i}].clientId: duplicate {}",
                    reg.client_id
                )));
            }
        }
        for (i, grant) in spec.delegated_grants.iter().enumerate() {
            if tenant.user(&grant.user_id).is_none() {
                return Err(ModelError::spec(format!(
                    "delegatedGrants[{i}].userId: unknown user {}",
                    echo(&grant.user_id)
                )));
            }
        }
        for (i, app) in spec.catalog.iter().enumerate() {
            let path = At::new("catalog", i);
            let index = index_u32(tenant.apps.len(), "apps")?;
            if tenant
                .app_index
                .insert(app.id.as_str().to_ascii_lowercase(), index)
                .is_some()
            {
                return Err(ModelError::spec(format!(
                    "{path}.id: duplicate app id {}",
                    app.id
                )));
            }
            if let Some(external) = &app.external_id
                && tenant
                    .external_index
                    .insert(external.to_ascii_lowercase(), index)
                    .is_some()
            {
                return Err(ModelError::spec(format!(
                    "{path}.externalId: duplicate {}",
                    echo(external)
                )));
            }
            if app.app_definitions.is_empty() {
                return Err(ModelError::spec(format!(
                    "{path}.appDefinitions: an app needs at least one definition"
                )));
            }
            let mut defs: Vec<DefRec> = Vec::with_capacity(app.app_definitions.len());
            for (j, def) in app.app_definitions.iter().enumerate() {
                let dpath = path.child("appDefinitions", j);
                let version = AppVersion::parse(&def.version).ok_or_else(|| {
                    ModelError::spec(format!(
                        "{dpath}.version: \"{}\" is not a dotted numeric version",
                        echo(&def.version)
                    ))
                })?;
                if defs.iter().any(|d| d.version == version) {
                    return Err(ModelError::spec(format!(
                        "{dpath}.version: duplicate version {version}"
                    )));
                }
                defs.push(DefRec {
                    version,
                    state: def.publishing_state,
                    display_name: def
                        .display_name
                        .clone()
                        .unwrap_or_else(|| app.display_name.clone()),
                    short_description: def.short_description.clone(),
                    description: def.description.clone(),
                    client_app_id: def.client_app_id.clone(),
                    rsc: def.resource_specific_permissions.clone().into(),
                    bot_id: def.bot_id.clone(),
                    installation_scopes: installation_scopes(&def.installation_scopes).map_err(
                        |e| ModelError::spec(format!("{dpath}.installationScopes: {e}")),
                    )?,
                    last_modified: parse_time(def.last_modified_date_time.as_deref(), || {
                        format!("{dpath}.lastModifiedDateTime")
                    })?,
                    created_by: def.created_by.clone(),
                });
            }
            let mut rec = AppRec {
                id: app.id.clone(),
                external_id: app.external_id.clone(),
                display_name: app.display_name.clone(),
                distribution: app.distribution_method,
                defs,
                latest_published: None,
                installed: 0,
                deleted: false,
                blocked: app.blocked,
            };
            rec.refresh_latest();
            tenant.apps.push(rec);
        }
        // App permission policies name catalog apps, read above.
        for (i, user) in spec.users.iter().enumerate() {
            if user.blocked_apps.is_empty() {
                continue;
            }
            let path = At::new("users", i);
            let blocked = user
                .blocked_apps
                .iter()
                .map(|id| {
                    tenant.app_by_id(id).ok_or_else(|| {
                        ModelError::spec(format!("{path}.blockedApps: no catalog app {}", echo(id)))
                    })
                })
                .collect::<Result<Box<[u32]>, _>>()?;
            tenant.users[i].blocked_apps = blocked;
        }
        // Files list installations in the order of their chats (a fleet, a snapshot): try the
        // chat after the last one before hashing (a profile of 1M installations put 12 % of the
        // load in that hash lookup's cache misses), and the last version before parsing one.
        let mut next_chat: u32 = 0;
        let mut last_version: Option<(u32, &str, u32)> = None;
        for (i, inst) in spec.installations.iter().enumerate() {
            let path = At::new("installations", i);
            let hinted = (inst.scope == InstallationScope::Chat)
                .then_some(next_chat)
                .filter(|&c| {
                    tenant
                        .chats
                        .get(c as usize)
                        .is_some_and(|rec| rec.id.is(&inst.scope_id))
                })
                .map(|index| ScopeKey {
                    kind: InstallationScope::Chat,
                    index,
                });
            let scope = match hinted {
                Some(scope) => Some(scope),
                None => tenant.scope_by_id(inst.scope, &inst.scope_id),
            };
            let scope = scope.ok_or_else(|| {
                ModelError::spec(format!(
                    "{path}.scopeId: no {} with id {}",
                    inst.scope.as_str(),
                    echo(&inst.scope_id)
                ))
            })?;
            let app = tenant
                .app_by_id(inst.teams_app_id.as_str())
                .ok_or_else(|| {
                    ModelError::spec(format!(
                        "{path}.teamsAppId: no catalog app {}",
                        inst.teams_app_id
                    ))
                })?;
            let cached = last_version
                .filter(|&(a, v, _)| a == app && v == inst.version)
                .map(|(_, _, def)| def);
            let def = cached
                .or_else(|| {
                    AppVersion::parse(&inst.version)
                        .and_then(|v| tenant.apps[app as usize].def_by_version(&v))
                })
                .ok_or_else(|| {
                    ModelError::spec(format!(
                        "{path}.version: app {} has no version \"{}\"",
                        inst.teams_app_id,
                        echo(&inst.version)
                    ))
                })?;
            last_version = Some((app, inst.version.as_str(), def));
            if scope.kind == InstallationScope::Chat {
                next_chat = scope.index.saturating_add(1);
            }
            if tenant.installed(scope).iter().any(|r| r.app == app) {
                return Err(ModelError::spec(format!(
                    "{path}: app {} is already installed in {} {}",
                    inst.teams_app_id,
                    inst.scope.as_str(),
                    echo(&inst.scope_id)
                )));
            }
            let explicit = match &inst.id {
                None => None,
                Some(raw) => {
                    let id = AppInstallationId::new(raw.as_str())
                        .map_err(|e| ModelError::spec(format!("{path}.id: {e}")))?
                        .canonical();
                    let built = tenant.built_installation_id(scope, app);
                    if built.as_deref() == Some(id.as_str()) {
                        None
                    } else {
                        if tenant.explicit_ids.contains_key(id.as_str()) {
                            return Err(ModelError::spec(format!(
                                "{path}.id: duplicate installation id {id}"
                            )));
                        }
                        Some(id.into_inner().into_boxed_str())
                    }
                }
            };
            let definition = &tenant.apps[app as usize].defs[def as usize];
            let consent = match &inst.consented_permissions {
                None => definition.rsc.clone(),
                Some(list) if same_permissions(list, &definition.rsc) => definition.rsc.clone(),
                Some(list) => list.clone().into(),
            };
            tenant.insert_installation(scope, app, def, consent, explicit);
        }
        Ok(tenant)
    }

    /// Adds the chat at `path`; a `thread.v2` id goes to `keyed` (indexed after the loop), any
    /// other to the index now.
    fn add_chat(
        &mut self,
        path: At,
        chat: &crate::spec::ChatSpec,
        keyed: &mut Vec<(u128, u32)>,
    ) -> Result<(), ModelError> {
        let members = self.members(&chat.members, path)?;
        let index = index_u32(self.chats.len(), "chats")?;
        let id = ChatId::new(chat.id.as_str());
        match &id {
            ChatId::Thread(halves) => keyed.push((join(*halves), index)),
            ChatId::Other(other) => {
                if !self.chat_index.insert_other(&self.chats, other, index) {
                    return Err(duplicate_chat(path, &chat.id));
                }
            }
        }
        let created = parse_time(chat.created_date_time.as_deref(), || {
            format!("{path}.createdDateTime")
        })?;
        for member in &members {
            self.users[*member as usize].chats.push(index);
        }
        self.chats.push(ChatRec {
            id,
            kind: chat.chat_type,
            topic: chat.topic.as_deref().map(Box::from),
            members: members.into_boxed_slice(),
            meeting: chat.online_meeting_info.clone().map(Box::new),
            created,
            installed: Installed::new(),
        });
        Ok(())
    }

    fn members(&self, ids: &[String], path: At) -> Result<Vec<u32>, ModelError> {
        let mut members = Vec::with_capacity(ids.len());
        for (j, id) in ids.iter().enumerate() {
            let index = self.user(id).ok_or_else(|| {
                ModelError::spec(format!("{path}.members[{j}]: unknown user {}", echo(id)))
            })?;
            if !members.contains(&index) {
                members.push(index);
            }
        }
        Ok(members)
    }
}
