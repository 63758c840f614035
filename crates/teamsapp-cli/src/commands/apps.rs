//! `teamsapp chat|team|user apps list|get|install|upgrade|remove`.

use crate::cli::{AppsCommand, ConsentArgs};
use crate::context::{Context, UsageError, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::{record, resolve};
use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use teamsapp_client::{ListQuery, Scope};
use teamsapp_types::{
    TeamsAppInstallation, TeamsAppPermissionSet, TeamsAppResourceSpecificPermission,
    TeamsAppResourceSpecificPermissionType,
};

const COLUMNS: &[&str] = &["installationId", "app", "appId", "externalId", "version"];

/// A flat record of an installation (its app and definition expanded).
pub(crate) fn installation_record(i: &TeamsAppInstallation) -> Map<String, Value> {
    let app = i.teams_app.as_ref();
    let def = i.teams_app_definition.as_ref();
    record! {
        "installationId" => i.id,
        "app" => app.and_then(|a| a.display_name.clone()).or_else(|| def.and_then(|d| d.display_name.clone())),
        "appId" => app.and_then(|a| a.id.clone()).or_else(|| def.and_then(|d| d.teams_app_id.clone())),
        "externalId" => app.and_then(|a| a.external_id.clone()),
        "version" => def.and_then(|d| d.version.clone()),
    }
}

/// Runs one installedApps command in `scope`.
pub(crate) async fn run(
    ctx: &Context,
    scope: Scope,
    command: AppsCommand,
) -> Result<(Report, ExitStatus)> {
    let client = &ctx.client;
    match command {
        AppsCommand::List { filter, .. } => {
            let mut query = ListQuery::new().expand(["teamsApp", "teamsAppDefinition"]);
            if let Some(f) = filter {
                query = query.filter(f);
            }
            let installed = client.installed_apps(&scope, &query).await?;
            let mut report = Report::list(COLUMNS);
            for i in &installed {
                report.push(installation_record(i));
            }
            Ok((report, ExitStatus::Success))
        }
        AppsCommand::Get { installation, .. } => {
            let id = resolve::installation(client, &scope, &installation).await?;
            let i = client.installed_app(&scope, &id).await?;
            Ok((
                Report::single(COLUMNS, installation_record(&i)),
                ExitStatus::Success,
            ))
        }
        AppsCommand::Install { app, consent, .. } => {
            let app = resolve::app(client, &app).await?;
            let app_id = resolve::app_id(&app)?;
            let consent = consent_set(&consent, &app)?;
            client.install(&scope, &app_id, consent).await?;
            // Graph's install answer may have no body; read the installation back to show it.
            let id = resolve::installation(client, &scope, app_id.as_str()).await?;
            let i = client.installed_app(&scope, &id).await?;
            let mut rec = installation_record(&i);
            rec.insert("result".into(), "installed".into());
            Ok((
                Report::single(
                    &["result", "installationId", "app", "appId", "version"],
                    rec,
                ),
                ExitStatus::Success,
            ))
        }
        AppsCommand::Upgrade {
            installation,
            consent,
            ..
        } => {
            let id = resolve::installation(client, &scope, &installation).await?;
            let before = client.installed_app(&scope, &id).await?;
            let consent = match &before.teams_app {
                Some(app) if consent.consent_required => {
                    let app = resolve::app(client, app.id.as_deref().unwrap_or_default()).await?;
                    consent_set(&consent, &app)?
                }
                _ if consent.consent_required => {
                    return usage(
                        "--consent-required: the installation's app is not in the catalog",
                    );
                }
                Some(app) => consent_set(&consent, app)?,
                None => consent_set(&consent, &teamsapp_types::TeamsApp::default())?,
            };
            client.upgrade(&scope, &id, consent).await?;
            let after = client.installed_app(&scope, &id).await?;
            let mut rec = installation_record(&after);
            rec.insert("result".into(), "upgraded".into());
            rec.insert(
                "from".into(),
                before.teams_app_definition.and_then(|d| d.version).into(),
            );
            Ok((
                Report::single(&["result", "installationId", "app", "from", "version"], rec),
                ExitStatus::Success,
            ))
        }
        AppsCommand::Remove { installation, .. } => {
            let id = resolve::installation(client, &scope, &installation).await?;
            client.uninstall(&scope, &id).await?;
            let rec = record! {"result" => "removed", "installationId" => id.as_str()};
            Ok((
                Report::single(&["result", "installationId"], rec),
                ExitStatus::Success,
            ))
        }
    }
}

/// The consented permission set the flags describe, if any.
pub(crate) fn consent_set(
    args: &ConsentArgs,
    app: &teamsapp_types::TeamsApp,
) -> Result<Option<TeamsAppPermissionSet>> {
    if let Some(path) = &args.consent_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
        let set: TeamsAppPermissionSet = serde_json::from_str(&text).map_err(|e| {
            UsageError(format!(
                "{} is not a teamsAppPermissionSet: {e}",
                path.display()
            ))
        })?;
        return Ok(Some(set));
    }
    if args.consent_required {
        let def = resolve::latest_published(app).context("the app has no published version")?;
        let required = def
            .authorization
            .as_ref()
            .and_then(|a| a.required_permission_set.clone())
            .unwrap_or_default();
        return Ok(Some(required));
    }
    if args.rsc.is_empty() {
        return Ok(None);
    }
    let mut permissions = Vec::new();
    for item in &args.rsc {
        let Some((kind, name)) = item.split_once(':') else {
            return usage(format!(
                "--rsc {item:?}: expected TYPE:NAME, e.g. application:ChatMember.Read.Chat"
            ));
        };
        let kind = match kind.to_ascii_lowercase().as_str() {
            "application" => TeamsAppResourceSpecificPermissionType::Application,
            "delegated" => TeamsAppResourceSpecificPermissionType::Delegated,
            other => {
                return usage(format!(
                    "--rsc {item:?}: type {other:?} is not application or delegated"
                ));
            }
        };
        permissions.push(TeamsAppResourceSpecificPermission {
            permission_type: Some(kind),
            permission_value: Some(name.to_owned()),
            ..Default::default()
        });
    }
    Ok(Some(TeamsAppPermissionSet {
        resource_specific_permissions: Some(permissions),
        ..Default::default()
    }))
}
