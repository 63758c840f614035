//! The app as each tenant's catalog has it: its id, name, latest published version and the
//! resource-specific consent that version needs.

use crate::error::Error;
use crate::journal::AppIdentity;
use std::collections::BTreeSet;
use teamsapp_client::Client;
use teamsapp_types::{
    ListCatalogApps, TeamsApp, TeamsAppDefinition, TeamsAppId, TeamsAppPermissionSet,
    TeamsAppPublishingState, version,
};

/// The app in one tenant's catalog.
#[derive(Debug, Clone)]
pub struct CatalogApp {
    /// The catalog id.
    pub id: TeamsAppId,
    /// The manifest id.
    pub external_id: Option<String>,
    /// The display name.
    pub name: String,
    /// The latest published version: what targets are moved to.
    pub latest: String,
    /// The consent to send with each upgrade, when the latest version needs resource-specific
    /// permissions.
    pub consent: Option<TeamsAppPermissionSet>,
    /// Those permissions as `type:name`, for plans and reports.
    pub required: BTreeSet<String>,
}

impl CatalogApp {
    /// The app as journaled.
    pub fn identity(&self) -> AppIdentity {
        AppIdentity {
            id: self.id.to_string(),
            external_id: self.external_id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Finds one catalog app by catalog id, externalId or display name (case-insensitive), in that
/// order of preference, with its definitions.
pub async fn find_app(client: &Client, name: &str) -> Result<TeamsApp, Error> {
    let apps = client
        .catalog_apps(&ListCatalogApps::new().expand(["appDefinitions"]))
        .await
        .map_err(|e| Error::graph("listing the app catalog", e))?;
    pick_app(&apps, name).cloned()
}

/// The catalog apps `name` may mean, most specific first: those whose catalog id is `name`; if
/// none, those whose externalId is `name`; if none, those whose display name is `name` (both
/// ignoring case). One match names an app; more are ambiguous.
pub fn matching_apps<'a>(apps: &'a [TeamsApp], name: &str) -> Vec<&'a TeamsApp> {
    let by = |f: &dyn Fn(&TeamsApp) -> bool| apps.iter().filter(|a| f(a)).collect::<Vec<_>>();
    let mut found = by(&|a| a.id.as_deref() == Some(name));
    if found.is_empty() {
        found = by(&|a| {
            a.external_id
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(name))
        });
    }
    if found.is_empty() {
        found = by(&|a| {
            a.display_name
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(name))
        });
    }
    found
}

/// The app `name` names among `apps` (see [`matching_apps`]).
pub fn pick_app<'a>(apps: &'a [TeamsApp], name: &str) -> Result<&'a TeamsApp, Error> {
    match matching_apps(apps, name).as_slice() {
        [one] => Ok(one),
        [] => Err(Error::AppNotFound {
            name: name.to_owned(),
            tenant: None,
            known: apps.iter().filter_map(|a| a.display_name.clone()).collect(),
        }),
        many => Err(Error::App(format!(
            "{name:?} names {} catalog apps ({}); use a catalog id",
            many.len(),
            many.iter()
                .filter_map(|a| a.id.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The latest published definition of an app (its definitions must be expanded).
pub fn latest_published(app: &TeamsApp) -> Option<&TeamsAppDefinition> {
    app.app_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|d| d.publishing_state == Some(TeamsAppPublishingState::Published))
        .filter(|d| d.version.is_some())
        .max_by(|a, b| {
            version::compare(
                a.version.as_deref().unwrap_or(""),
                b.version.as_deref().unwrap_or(""),
            )
        })
}

fn permission_names(set: Option<&TeamsAppPermissionSet>) -> BTreeSet<String> {
    set.and_then(|s| s.resource_specific_permissions.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{}:{}",
                p.permission_type.as_ref().map_or("?", |t| t.as_str()),
                p.permission_value.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

/// Resolves the app in one tenant's catalog: which app, and which version it goes to.
pub(crate) async fn resolve(
    client: &Client,
    tenant: &str,
    name: &str,
) -> Result<CatalogApp, Error> {
    let app = find_app(client, name).await.map_err(|e| match e {
        Error::App(msg) => Error::App(format!("tenant {tenant}: {msg}")),
        Error::AppNotFound { name, known, .. } => Error::AppNotFound {
            name,
            tenant: Some(tenant.to_owned()),
            known,
        },
        other => other,
    })?;
    let Some(id) = app.id.as_deref().and_then(|id| TeamsAppId::new(id).ok()) else {
        return Err(Error::App(format!(
            "tenant {tenant}: the catalog returned {name:?} without a valid id"
        )));
    };
    let Some(latest) = latest_published(&app) else {
        return Err(Error::App(format!(
            "{name:?} has no published version in tenant {tenant}"
        )));
    };
    let required_set = latest
        .authorization
        .as_ref()
        .and_then(|a| a.required_permission_set.clone());
    let required = permission_names(required_set.as_ref());
    Ok(CatalogApp {
        name: app.display_name.clone().unwrap_or_else(|| id.to_string()),
        external_id: app.external_id.clone(),
        id,
        latest: latest.version.clone().unwrap_or_default(),
        consent: if required.is_empty() {
            None
        } else {
            required_set
        },
        required,
    })
}
