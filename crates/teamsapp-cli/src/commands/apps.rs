//! `teamsapp chat|team|user apps list|get|install|upgrade|remove`.

use crate::cli::{AppsCommand, ConsentArgs};
use crate::context::{Context, UsageError, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::{record, resolve};
use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use teamsapp_client::{ListQuery, Scope};
use teamsapp_types::version;
use teamsapp_types::{
    TeamsAppInstallation, TeamsAppPermissionSet, TeamsAppResourceSpecificPermission,
    TeamsAppResourceSpecificPermissionType,
};

const COLUMNS: &[&str] = &[
    "scope",
    "scopeId",
    "installationId",
    "app",
    "appId",
    "externalId",
    "version",
];

/// The fields of a change to one target: the same names as fleet's records.
const CHANGE_COLUMNS: &[&str] = &[
    "result",
    "scope",
    "scopeId",
    "installationId",
    "app",
    "appId",
    "from",
    "to",
];

/// A flat record of an installation (its app and definition expanded).
pub(crate) fn installation_record(scope: &Scope, i: &TeamsAppInstallation) -> Map<String, Value> {
    let app = i.teams_app.as_ref();
    let def = i.teams_app_definition.as_ref();
    record! {
        "scope" => scope.kind(),
        "scopeId" => scope.id(),
        "installationId" => i.id,
        "app" => app.and_then(|a| a.display_name.clone()).or_else(|| def.and_then(|d| d.display_name.clone())),
        "appId" => app.and_then(|a| a.id.clone()).or_else(|| def.and_then(|d| d.teams_app_id.clone())),
        "externalId" => app.and_then(|a| a.external_id.clone()),
        "version" => def.and_then(|d| d.version.clone()),
    }
}

/// A change record: `result`, the target, and the version `from` and `to` (`null` when none).
fn change_record(
    result: &str,
    scope: &Scope,
    i: &TeamsAppInstallation,
    from: Option<String>,
    to: Option<String>,
) -> Map<String, Value> {
    let mut rec = installation_record(scope, i);
    rec.remove("externalId");
    rec.remove("version");
    rec.insert("result".into(), result.into());
    rec.insert("from".into(), from.into());
    rec.insert("to".into(), to.into());
    rec
}

fn version_of(i: &TeamsAppInstallation) -> Option<String> {
    i.teams_app_definition
        .as_ref()
        .and_then(|d| d.version.clone())
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
                report.push(installation_record(&scope, i));
            }
            Ok((report, ExitStatus::Success))
        }
        AppsCommand::Get { installation, .. } => {
            let id = resolve::installation(client, &scope, &installation).await?;
            let i = client.installed_app(&scope, &id).await?;
            Ok((
                Report::single(COLUMNS, installation_record(&scope, &i)),
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
            let to = version_of(&i);
            Ok((
                Report::single(
                    CHANGE_COLUMNS,
                    change_record("installed", &scope, &i, None, to),
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
            let from = version_of(&before);
            // The catalog's latest published version: an installation already there is
            // `current`, and nothing is sent.
            let catalog_app = match before.teams_app.as_ref().and_then(|a| a.id.as_deref()) {
                Some(app_id) => Some(resolve::app(client, app_id).await?),
                None => None,
            };
            let latest = catalog_app
                .as_ref()
                .and_then(resolve::latest_published)
                .and_then(|d| d.version.clone());
            if let (Some(from), Some(latest)) = (&from, &latest)
                && version::compare(from, latest) != std::cmp::Ordering::Less
            {
                return Ok((
                    Report::single(
                        CHANGE_COLUMNS,
                        change_record(
                            "current",
                            &scope,
                            &before,
                            Some(from.clone()),
                            Some(from.clone()),
                        ),
                    ),
                    ExitStatus::Success,
                ));
            }
            let consent = match (&catalog_app, &before.teams_app) {
                (Some(app), _) if consent.consent_required => consent_set(&consent, app)?,
                _ if consent.consent_required => {
                    return usage(
                        "--consent-required: the installation's app is not in the catalog",
                    );
                }
                (_, Some(app)) => consent_set(&consent, app)?,
                (_, None) => consent_set(&consent, &teamsapp_types::TeamsApp::default())?,
            };
            client.upgrade(&scope, &id, consent).await?;
            let after = client.installed_app(&scope, &id).await?;
            let to = version_of(&after);
            let result = if to == from { "current" } else { "upgraded" };
            Ok((
                Report::single(
                    CHANGE_COLUMNS,
                    change_record(result, &scope, &after, from, to),
                ),
                ExitStatus::Success,
            ))
        }
        AppsCommand::Remove {
            installation, yes, ..
        } => {
            let id = resolve::installation(client, &scope, &installation).await?;
            let before = client.installed_app(&scope, &id).await?;
            if !yes {
                confirm_remove(&scope, &before)?;
            }
            client.uninstall(&scope, &id).await?;
            let from = version_of(&before);
            Ok((
                Report::single(
                    CHANGE_COLUMNS,
                    change_record("removed", &scope, &before, from, None),
                ),
                ExitStatus::Success,
            ))
        }
    }
}

/// Asks on the terminal before a removal; off a terminal, refuses (exit 2) without `--yes`.
#[allow(
    clippy::print_stderr,
    reason = "the question is for the person at the terminal"
)]
fn confirm_remove(scope: &Scope, i: &TeamsAppInstallation) -> Result<()> {
    use std::io::{BufRead as _, IsTerminal as _};
    let name = i
        .teams_app
        .as_ref()
        .and_then(|a| a.display_name.clone())
        .unwrap_or_else(|| i.id.clone().unwrap_or_default());
    if !std::io::stdin().is_terminal() {
        return usage(format!(
            "refusing to remove {name} from {scope} without --yes: standard input is not a \
             terminal, so nobody can confirm"
        ));
    }
    eprint!("Remove {name} from {scope}? Its data in this scope may be lost. [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| UsageError(format!("reading the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        usage("cancelled: nothing was removed")
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
