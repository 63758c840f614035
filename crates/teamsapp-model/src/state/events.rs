//! Applying events to a [`Tenant`]: the only way its state changes after it is built.

use std::sync::Arc;

use teamsapp_types::TeamsAppId;
use teamsapp_types::version::AppVersion;
use time::OffsetDateTime;

use super::{AppRec, DefRec, ScopeKey, Tenant, installation_scopes, same_permissions};
use crate::ModelError;
use crate::error::echo;
use crate::event::DefinitionRecord;
use crate::spec::{Distribution, InstallationScope, PublishingState, RscPermission};

impl Tenant {
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
            installation_scopes: installation_scopes(&record.installation_scopes)
                .map_err(ModelError::event)?,
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
            blocked: false,
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
}
