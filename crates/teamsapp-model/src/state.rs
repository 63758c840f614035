//! The in-memory state of a tenant, built from a [`TenantSpec`] and changed only by events.
//!
//! Layout, chosen for 1M installations: each scope (chat, team, user) holds its installations
//! inline, in a small vector of compact records (app and definition by index, consent shared with
//! the definition it matches, no id string unless the spec gave an explicit one). An installation
//! is found in O(1) from its id: Graph's ids decode to `{scopeId}##{teamsAppId}`, so the lookup is
//! a hash lookup of the scope plus a scan of that scope's few installations; explicit ids sit in
//! one small map.

use std::collections::HashMap;
use std::sync::Arc;

use teamsapp_types::ids::is_guid;
use teamsapp_types::{AppInstallationId, TeamsAppId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ModelError;
use crate::error::echo;
use crate::event::DefinitionRecord;
use crate::spec::{
    AppRegistrationSpec, ChatKind, DelegatedGrantSpec, Distribution, InstallationScope,
    OnlineMeetingSpec, PublishingState, RscPermission, TenantSpec,
};
use teamsapp_types::version::AppVersion;

/// `2024-01-01T00:00:00Z`: the timestamp of spec objects that give none.
pub(crate) const EPOCH: OffsetDateTime = time::macros::datetime!(2024-01-01 00:00:00 UTC);

/// Where an installation lives: a kind and an index into the tenant's chats, teams or users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ScopeKey {
    pub(crate) kind: InstallationScope,
    pub(crate) index: u32,
}

/// One installed app.
#[derive(Debug, Clone)]
pub(crate) struct InstRec {
    /// Tenant-wide order of creation: list order and skiptoken position.
    pub(crate) seq: u64,
    /// Index into the tenant's apps.
    pub(crate) app: u32,
    /// Index into the app's definitions.
    pub(crate) def: u32,
    /// Successful upgrade calls answered for this installation.
    pub(crate) upgrade_count: u32,
    /// The consented RSC permissions (shared with the definition when they are its own).
    pub(crate) consent: Arc<[RscPermission]>,
    /// The id, when the spec gave one that differs from Graph's formation (canonical spelling).
    pub(crate) explicit_id: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct UserRec {
    pub(crate) id: String,
    pub(crate) upn: String,
    pub(crate) display_name: String,
    pub(crate) mail: Option<String>,
    pub(crate) user_type: Option<String>,
    pub(crate) account_enabled: bool,
    pub(crate) personal_account: bool,
    /// Chats the user is a member of, by index, increasing.
    pub(crate) chats: Vec<u32>,
    pub(crate) installed: Vec<InstRec>,
}

#[derive(Debug)]
pub(crate) struct ChatRec {
    pub(crate) id: Arc<str>,
    pub(crate) kind: ChatKind,
    pub(crate) topic: Option<Box<str>>,
    pub(crate) members: Box<[u32]>,
    pub(crate) meeting: Option<Box<OnlineMeetingSpec>>,
    pub(crate) created: OffsetDateTime,
    pub(crate) installed: Vec<InstRec>,
}

#[derive(Debug)]
pub(crate) struct TeamRec {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) description: Option<String>,
    pub(crate) members: Box<[u32]>,
    pub(crate) installed: Vec<InstRec>,
}

#[derive(Debug)]
pub(crate) struct DefRec {
    pub(crate) version: AppVersion,
    pub(crate) state: PublishingState,
    pub(crate) display_name: String,
    pub(crate) short_description: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) client_app_id: Option<String>,
    pub(crate) rsc: Arc<[RscPermission]>,
    pub(crate) bot_id: Option<String>,
    pub(crate) last_modified: OffsetDateTime,
    pub(crate) created_by: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AppRec {
    pub(crate) id: TeamsAppId,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name: String,
    pub(crate) distribution: Distribution,
    pub(crate) defs: Vec<DefRec>,
    /// The published definition with the highest version.
    pub(crate) latest_published: Option<u32>,
    /// How many installations run this app.
    pub(crate) installed: u64,
    pub(crate) deleted: bool,
}

impl AppRec {
    fn refresh_latest(&mut self) {
        self.latest_published = self
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.state == PublishingState::Published)
            .max_by(|(_, a), (_, b)| a.version.cmp(&b.version))
            .and_then(|(i, _)| u32::try_from(i).ok());
    }

    /// The index of the definition with `version` (numeric equality).
    pub(crate) fn def_by_version(&self, version: &AppVersion) -> Option<u32> {
        self.defs
            .iter()
            .position(|d| d.version == *version)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The definition at `index`.
    pub(crate) fn def(&self, index: u32) -> Option<&DefRec> {
        self.defs.get(index as usize)
    }
}

/// One tenant's state.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) users: Vec<UserRec>,
    user_index: HashMap<String, u32>,
    upn_index: HashMap<String, u32>,
    pub(crate) chats: Vec<ChatRec>,
    chat_index: HashMap<Arc<str>, u32>,
    pub(crate) teams: Vec<TeamRec>,
    team_index: HashMap<String, u32>,
    pub(crate) registrations: Vec<AppRegistrationSpec>,
    pub(crate) grants: Vec<DelegatedGrantSpec>,
    pub(crate) apps: Vec<AppRec>,
    app_index: HashMap<String, u32>,
    external_index: HashMap<String, u32>,
    explicit_ids: HashMap<Box<str>, ScopeKey>,
    next_seq: u64,
    pub(crate) installation_count: u64,
}

fn index_u32(len: usize, what: &str) -> Result<u32, ModelError> {
    u32::try_from(len).map_err(|_| ModelError::spec(format!("too many {what}")))
}

fn parse_time(text: Option<&str>, path: &str) -> Result<OffsetDateTime, ModelError> {
    match text {
        None => Ok(EPOCH),
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
            ModelError::spec(format!(
                "{path}: \"{}\" is not an RFC 3339 date-time ({e})",
                echo(t)
            ))
        }),
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
            user_index: HashMap::with_capacity(spec.users.len()),
            upn_index: HashMap::with_capacity(spec.users.len()),
            chats: Vec::with_capacity(spec.chats.len()),
            chat_index: HashMap::with_capacity(spec.chats.len()),
            teams: Vec::with_capacity(spec.teams.len()),
            team_index: HashMap::with_capacity(spec.teams.len()),
            registrations: spec.app_registrations.clone(),
            grants: spec.delegated_grants.clone(),
            apps: Vec::with_capacity(spec.catalog.len()),
            app_index: HashMap::with_capacity(spec.catalog.len()),
            external_index: HashMap::with_capacity(spec.catalog.len()),
            explicit_ids: HashMap::new(),
            next_seq: 0,
            installation_count: 0,
        };
        for (i, user) in spec.users.iter().enumerate() {
            let path = format!("users[{i}]");
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
                chats: Vec::new(),
                installed: Vec::new(),
            });
        }
        for (i, chat) in spec.chats.iter().enumerate() {
            let path = format!("chats[{i}]");
            let members = tenant.members(&chat.members, &path)?;
            let index = index_u32(tenant.chats.len(), "chats")?;
            let id: Arc<str> = Arc::from(chat.id.as_str());
            if tenant.chat_index.insert(id.clone(), index).is_some() {
                return Err(ModelError::spec(format!(
                    "{path}.id: duplicate chat id {}",
                    chat.id
                )));
            }
            for member in &members {
                tenant.users[*member as usize].chats.push(index);
            }
            tenant.chats.push(ChatRec {
                id,
                kind: chat.chat_type,
                topic: chat.topic.as_deref().map(Box::from),
                members: members.into_boxed_slice(),
                meeting: chat.online_meeting_info.clone().map(Box::new),
                created: parse_time(
                    chat.created_date_time.as_deref(),
                    &format!("{path}.createdDateTime"),
                )?,
                installed: Vec::new(),
            });
        }
        for (i, team) in spec.teams.iter().enumerate() {
            let path = format!("teams[{i}]");
            let members = tenant.members(&team.members, &path)?;
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
                installed: Vec::new(),
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
            let path = format!("catalog[{i}]");
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
                let dpath = format!("{path}.appDefinitions[{j}]");
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
                    last_modified: parse_time(
                        def.last_modified_date_time.as_deref(),
                        &format!("{dpath}.lastModifiedDateTime"),
                    )?,
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
            };
            rec.refresh_latest();
            tenant.apps.push(rec);
        }
        for (i, inst) in spec.installations.iter().enumerate() {
            let path = format!("installations[{i}]");
            let scope = tenant
                .scope_by_id(inst.scope, &inst.scope_id)
                .ok_or_else(|| {
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
            let def = AppVersion::parse(&inst.version)
                .and_then(|v| tenant.apps[app as usize].def_by_version(&v))
                .ok_or_else(|| {
                    ModelError::spec(format!(
                        "{path}.version: app {} has no version \"{}\"",
                        inst.teams_app_id,
                        echo(&inst.version)
                    ))
                })?;
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

    fn members(&self, ids: &[String], path: &str) -> Result<Vec<u32>, ModelError> {
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

    /// A user by object id or UPN (ASCII case-insensitive).
    pub(crate) fn user(&self, id_or_upn: &str) -> Option<u32> {
        let key = id_or_upn.to_ascii_lowercase();
        self.user_index
            .get(&key)
            .or_else(|| self.upn_index.get(&key))
            .copied()
    }

    /// A chat by id (exact).
    pub(crate) fn chat(&self, id: &str) -> Option<u32> {
        self.chat_index.get(id).copied()
    }

    /// A team by id (ASCII case-insensitive).
    pub(crate) fn team(&self, id: &str) -> Option<u32> {
        self.team_index.get(&id.to_ascii_lowercase()).copied()
    }

    /// A live catalog app by id (ASCII case-insensitive).
    pub(crate) fn app_by_id(&self, id: &str) -> Option<u32> {
        self.app_index.get(&id.to_ascii_lowercase()).copied()
    }

    /// A live catalog app by manifest id (ASCII case-insensitive).
    pub(crate) fn app_by_external_id(&self, id: &str) -> Option<u32> {
        self.external_index.get(&id.to_ascii_lowercase()).copied()
    }

    /// A scope by kind and id.
    pub(crate) fn scope_by_id(&self, kind: InstallationScope, id: &str) -> Option<ScopeKey> {
        let index = match kind {
            InstallationScope::Chat => self.chat(id)?,
            InstallationScope::Team => self.team(id)?,
            InstallationScope::User => self.user(id)?,
        };
        Some(ScopeKey { kind, index })
    }

    /// The id of a scope as Graph writes it in installation ids.
    pub(crate) fn scope_id(&self, scope: ScopeKey) -> &str {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self.chats.get(i).map_or("", |c| &c.id),
            InstallationScope::Team => self.teams.get(i).map_or("", |t| &t.id),
            InstallationScope::User => self.users.get(i).map_or("", |u| &u.id),
        }
    }

    /// The installations of a scope.
    pub(crate) fn installed(&self, scope: ScopeKey) -> &[InstRec] {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self.chats.get(i).map_or(&[], |c| &c.installed),
            InstallationScope::Team => self.teams.get(i).map_or(&[], |t| &t.installed),
            InstallationScope::User => self.users.get(i).map_or(&[], |u| &u.installed),
        }
    }

    fn installed_mut(&mut self, scope: ScopeKey) -> Option<&mut Vec<InstRec>> {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self.chats.get_mut(i).map(|c| &mut c.installed),
            InstallationScope::Team => self.teams.get_mut(i).map(|t| &mut t.installed),
            InstallationScope::User => self.users.get_mut(i).map(|u| &mut u.installed),
        }
    }

    /// The id Graph would form for the installation of `app` in `scope`.
    pub(crate) fn built_installation_id(&self, scope: ScopeKey, app: u32) -> Option<String> {
        let app = self.apps.get(app as usize)?;
        AppInstallationId::build(self.scope_id(scope), app.id.as_str())
            .ok()
            .map(AppInstallationId::into_inner)
    }

    /// The id of an installation.
    pub(crate) fn installation_id(&self, scope: ScopeKey, rec: &InstRec) -> String {
        match &rec.explicit_id {
            Some(id) => id.to_string(),
            None => self
                .built_installation_id(scope, rec.app)
                .unwrap_or_default(),
        }
    }

    /// The position in `scope` of the installation with id `id` (padded or not, standard or
    /// URL-safe base64).
    pub(crate) fn find_installation(
        &self,
        scope: ScopeKey,
        id: &AppInstallationId,
    ) -> Option<usize> {
        let canonical = id.canonical();
        if let Some(owner) = self.explicit_ids.get(canonical.as_str()) {
            if *owner != scope {
                return None;
            }
            return self
                .installed(scope)
                .iter()
                .position(|r| r.explicit_id.as_deref() == Some(canonical.as_str()));
        }
        let decoded = canonical.decode()?;
        let own = self.scope_id(scope);
        let same_scope = match scope.kind {
            InstallationScope::Chat => own == decoded.scope_id,
            InstallationScope::Team | InstallationScope::User => {
                own.eq_ignore_ascii_case(&decoded.scope_id)
            }
        };
        if !same_scope {
            return None;
        }
        let app = self.app_by_id(&decoded.teams_app_id)?;
        self.installed(scope)
            .iter()
            .position(|r| r.app == app && r.explicit_id.is_none())
    }

    /// The scope and position of an installation, from its id alone.
    pub(crate) fn find_installation_anywhere(
        &self,
        id: &AppInstallationId,
    ) -> Option<(ScopeKey, usize)> {
        let canonical = id.canonical();
        if let Some(scope) = self.explicit_ids.get(canonical.as_str()) {
            return Some((*scope, self.find_installation(*scope, &canonical)?));
        }
        let decoded = canonical.decode()?;
        [
            InstallationScope::Chat,
            InstallationScope::Team,
            InstallationScope::User,
        ]
        .into_iter()
        .filter_map(|kind| self.scope_by_id(kind, &decoded.scope_id))
        .find_map(|scope| Some((scope, self.find_installation(scope, &canonical)?)))
    }

    fn insert_installation(
        &mut self,
        scope: ScopeKey,
        app: u32,
        def: u32,
        consent: Arc<[RscPermission]>,
        explicit_id: Option<Box<str>>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(id) = &explicit_id {
            self.explicit_ids.insert(id.clone(), scope);
        }
        if let Some(list) = self.installed_mut(scope) {
            list.push(InstRec {
                seq,
                app,
                def,
                upgrade_count: 0,
                consent,
                explicit_id,
            });
            if let Some(rec) = self.apps.get_mut(app as usize) {
                rec.installed += 1;
            }
            self.installation_count += 1;
        }
    }

    fn remove_installation(&mut self, scope: ScopeKey, position: usize) -> Option<InstRec> {
        let list = self.installed_mut(scope)?;
        if position >= list.len() {
            return None;
        }
        let rec = list.remove(position);
        if let Some(id) = &rec.explicit_id {
            self.explicit_ids.remove(id);
        }
        if let Some(app) = self.apps.get_mut(rec.app as usize) {
            app.installed = app.installed.saturating_sub(1);
        }
        self.installation_count = self.installation_count.saturating_sub(1);
        Some(rec)
    }

    /// The app registration with `client_id`.
    pub(crate) fn registration(&self, client_id: &str) -> Option<&AppRegistrationSpec> {
        self.registrations
            .iter()
            .find(|r| r.client_id.eq_ignore_ascii_case(client_id))
    }

    // --- events ------------------------------------------------------------------------------

    fn event_scope(&self, kind: InstallationScope, id: &str) -> Result<ScopeKey, ModelError> {
        self.scope_by_id(kind, id).ok_or_else(|| {
            ModelError::event(format!(
                "no {} {} in tenant {}",
                kind.as_str(),
                echo(id),
                self.id
            ))
        })
    }

    fn event_app(&self, id: &str) -> Result<u32, ModelError> {
        self.app_by_id(id).ok_or_else(|| {
            ModelError::event(format!("no catalog app {} in tenant {}", echo(id), self.id))
        })
    }

    fn event_def(&self, app: u32, version: &str) -> Result<u32, ModelError> {
        AppVersion::parse(version)
            .and_then(|v| self.apps.get(app as usize)?.def_by_version(&v))
            .ok_or_else(|| ModelError::event(format!("no version {} of app {app}", echo(version))))
    }

    fn consent_for(
        &self,
        app: u32,
        def: u32,
        permissions: &[RscPermission],
    ) -> Arc<[RscPermission]> {
        match self.apps.get(app as usize).and_then(|a| a.def(def)) {
            Some(d) if same_permissions(permissions, &d.rsc) => d.rsc.clone(),
            _ => permissions.to_vec().into(),
        }
    }

    pub(crate) fn apply_install(
        &mut self,
        kind: InstallationScope,
        scope_id: &str,
        app_id: &str,
        version: &str,
        consent: &[RscPermission],
    ) -> Result<(), ModelError> {
        let scope = self.event_scope(kind, scope_id)?;
        let app = self.event_app(app_id)?;
        let def = self.event_def(app, version)?;
        if self.installed(scope).iter().any(|r| r.app == app) {
            return Err(ModelError::event(format!(
                "app {} is already installed in {} {}",
                echo(app_id),
                kind.as_str(),
                echo(scope_id)
            )));
        }
        let consent = self.consent_for(app, def, consent);
        self.insert_installation(scope, app, def, consent, None);
        Ok(())
    }

    pub(crate) fn apply_upgrade(
        &mut self,
        kind: InstallationScope,
        scope_id: &str,
        app_id: &str,
        to_version: &str,
        consent: &[RscPermission],
    ) -> Result<(), ModelError> {
        let scope = self.event_scope(kind, scope_id)?;
        let app = self.event_app(app_id)?;
        let def = self.event_def(app, to_version)?;
        let consent = self.consent_for(app, def, consent);
        let rec = self
            .installed_mut(scope)
            .and_then(|list| list.iter_mut().find(|r| r.app == app))
            .ok_or_else(|| {
                ModelError::event(format!(
                    "app {} is not installed in {} {}",
                    echo(app_id),
                    kind.as_str(),
                    echo(scope_id)
                ))
            })?;
        rec.def = def;
        rec.consent = consent;
        rec.upgrade_count = rec.upgrade_count.saturating_add(1);
        Ok(())
    }

    pub(crate) fn apply_uninstall(
        &mut self,
        kind: InstallationScope,
        scope_id: &str,
        app_id: &str,
    ) -> Result<(), ModelError> {
        let scope = self.event_scope(kind, scope_id)?;
        let app = self.event_app(app_id)?;
        let position = self
            .installed(scope)
            .iter()
            .position(|r| r.app == app)
            .ok_or_else(|| {
                ModelError::event(format!(
                    "app {} is not installed in {} {}",
                    echo(app_id),
                    kind.as_str(),
                    echo(scope_id)
                ))
            })?;
        self.remove_installation(scope, position);
        Ok(())
    }

    fn def_from_record(record: &DefinitionRecord) -> Result<DefRec, ModelError> {
        Ok(DefRec {
            version: AppVersion::parse(&record.version).ok_or_else(|| {
                ModelError::event(format!("invalid version {}", echo(&record.version)))
            })?,
            state: record.publishing_state,
            display_name: record.display_name.clone(),
            short_description: record.short_description.clone(),
            description: record.description.clone(),
            client_app_id: record.client_app_id.clone(),
            rsc: record.resource_specific_permissions.clone().into(),
            bot_id: record.bot_id.clone(),
            last_modified: record.at,
            created_by: record.created_by.clone(),
        })
    }

    pub(crate) fn apply_publish(
        &mut self,
        app_id: &str,
        distribution: Distribution,
        record: &DefinitionRecord,
    ) -> Result<(), ModelError> {
        let id = TeamsAppId::new(app_id).map_err(|e| ModelError::event(e.to_string()))?;
        if self.app_by_id(app_id).is_some() {
            return Err(ModelError::event(format!(
                "app {} already exists",
                echo(app_id)
            )));
        }
        if self.app_by_external_id(&record.external_id).is_some() {
            return Err(ModelError::event(format!(
                "an app with external id {} already exists",
                echo(&record.external_id)
            )));
        }
        let def = Self::def_from_record(record)?;
        let index =
            u32::try_from(self.apps.len()).map_err(|_| ModelError::event("too many apps"))?;
        let mut app = AppRec {
            id,
            external_id: Some(record.external_id.clone()),
            display_name: record.display_name.clone(),
            distribution,
            defs: vec![def],
            latest_published: None,
            installed: 0,
            deleted: false,
        };
        app.refresh_latest();
        self.apps.push(app);
        self.app_index.insert(app_id.to_ascii_lowercase(), index);
        self.external_index
            .insert(record.external_id.to_ascii_lowercase(), index);
        Ok(())
    }

    pub(crate) fn apply_update(
        &mut self,
        app_id: &str,
        record: &DefinitionRecord,
    ) -> Result<(), ModelError> {
        let app = self.event_app(app_id)?;
        let def = Self::def_from_record(record)?;
        let rec = &mut self.apps[app as usize];
        if rec.defs.iter().any(|d| d.version == def.version) {
            return Err(ModelError::event(format!(
                "app {} already has version {}",
                echo(app_id),
                def.version
            )));
        }
        if def.state == PublishingState::Published {
            rec.display_name.clone_from(&def.display_name);
        }
        rec.defs.push(def);
        rec.refresh_latest();
        Ok(())
    }

    pub(crate) fn apply_review(
        &mut self,
        app_id: &str,
        version: &str,
        state: PublishingState,
        at: OffsetDateTime,
    ) -> Result<(), ModelError> {
        let app = self.event_app(app_id)?;
        let def = self.event_def(app, version)?;
        let rec = &mut self.apps[app as usize];
        let d = &mut rec.defs[def as usize];
        d.state = state;
        d.last_modified = at;
        if state == PublishingState::Published {
            let name = d.display_name.clone();
            rec.display_name = name;
        }
        rec.refresh_latest();
        Ok(())
    }

    pub(crate) fn apply_delete_app(&mut self, app_id: &str) -> Result<(), ModelError> {
        let app = self.event_app(app_id)?;
        if self.apps[app as usize].installed > 0 {
            let scopes: Vec<ScopeKey> = (0..self.chats.len())
                .map(|i| (InstallationScope::Chat, i))
                .chain((0..self.teams.len()).map(|i| (InstallationScope::Team, i)))
                .chain((0..self.users.len()).map(|i| (InstallationScope::User, i)))
                .filter_map(|(kind, i)| {
                    Some(ScopeKey {
                        kind,
                        index: u32::try_from(i).ok()?,
                    })
                })
                .collect();
            for scope in scopes {
                if let Some(position) = self.installed(scope).iter().position(|r| r.app == app) {
                    self.remove_installation(scope, position);
                }
            }
        }
        let rec = &mut self.apps[app as usize];
        rec.deleted = true;
        let external = rec.external_id.clone();
        self.app_index.remove(&app_id.to_ascii_lowercase());
        if let Some(external) = external {
            self.external_index.remove(&external.to_ascii_lowercase());
        }
        Ok(())
    }

    /// Whether chat `chat` has user `user` as a member.
    pub(crate) fn chat_has_member(&self, chat: u32, user: u32) -> bool {
        self.chats
            .get(chat as usize)
            .is_some_and(|c| c.members.contains(&user))
    }

    /// Whether team `team` has user `user` as a member.
    pub(crate) fn team_has_member(&self, team: u32, user: u32) -> bool {
        self.teams
            .get(team as usize)
            .is_some_and(|t| t.members.contains(&user))
    }
}

/// Whether two permission lists hold the same permissions (names ignoring ASCII case, in any
/// order, duplicates ignored).
pub(crate) fn same_permissions(a: &[RscPermission], b: &[RscPermission]) -> bool {
    a.iter().all(|p| b.iter().any(|q| p.same_as(q)))
        && b.iter().all(|p| a.iter().any(|q| p.same_as(q)))
}
