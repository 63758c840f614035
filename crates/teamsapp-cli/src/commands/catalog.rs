//! `teamsapp catalog list|get|publish|update`.

use crate::cli::CatalogCommand;
use crate::context::{Context, UsageError, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::{record, resolve};
use anyhow::Result;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;
use teamsapp_package::{AppPackage, PackageError};
use teamsapp_types::version;
use teamsapp_types::{ListCatalogApps, TeamsApp, TeamsAppDefinition};

const COLUMNS: &[&str] = &[
    "appId",
    "name",
    "externalId",
    "distribution",
    "latestPublished",
    "versions",
];

fn app_record(app: &TeamsApp) -> Map<String, Value> {
    let mut definitions: Vec<&TeamsAppDefinition> = app
        .app_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .collect();
    definitions.sort_by(|a, b| {
        version::compare(
            a.version.as_deref().unwrap_or(""),
            b.version.as_deref().unwrap_or(""),
        )
    });
    let versions: Vec<Value> = definitions
        .iter()
        .map(|d| {
            serde_json::json!({
                "version": d.version,
                "state": d.publishing_state.as_ref().map(teamsapp_types::TeamsAppPublishingState::as_str),
            })
        })
        .collect();
    record! {
        "appId" => app.id,
        "name" => app.display_name,
        "externalId" => app.external_id,
        "distribution" => app.distribution_method.as_ref().map(ToString::to_string),
        "latestPublished" => resolve::latest_published(app).and_then(|d| d.version.clone()),
        "versions" => versions,
    }
}

/// Reads a package and checks it with the validator the emulator uses, listing every problem the
/// manifest has at once, before anything is uploaded.
pub(crate) fn read_package(path: &Path) -> Result<(Vec<u8>, AppPackage)> {
    let bytes =
        std::fs::read(path).map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
    match teamsapp_package::parse_package(&bytes) {
        Ok(parsed) => Ok((bytes, parsed)),
        Err(PackageError { details, .. }) => {
            let mut message = format!(
                "{} is not a valid Teams app package ({} problem{}, nothing was uploaded):",
                path.display(),
                details.len(),
                if details.len() == 1 { "" } else { "s" }
            );
            for p in &details {
                let target = if p.target.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", p.target)
                };
                let _ = write!(message, "\n  - {target}{} [{}]", p.message, p.code);
            }
            usage(message)
        }
    }
}

/// Runs one catalog command.
pub(crate) async fn run(ctx: &Context, command: CatalogCommand) -> Result<(Report, ExitStatus)> {
    let client = &ctx.client;
    match command {
        CatalogCommand::List { filter } => {
            let mut request = ListCatalogApps::new().expand(["appDefinitions"]);
            if let Some(f) = filter {
                request = request.filter(f);
            }
            let mut report = Report::list(COLUMNS);
            for app in client.catalog_apps(&request).await? {
                report.push(app_record(&app));
            }
            Ok((report, ExitStatus::Success))
        }
        CatalogCommand::Get { app } => {
            let app = resolve::app(client, &app).await?;
            Ok((
                Report::single(COLUMNS, app_record(&app)),
                ExitStatus::Success,
            ))
        }
        CatalogCommand::Publish {
            zip,
            requires_review,
        } => {
            let (bytes, _) = read_package(&zip)?;
            let app = client.publish_app(bytes, requires_review).await?;
            let app = match &app.id {
                Some(id) => resolve::app(client, id).await?,
                None => app,
            };
            Ok((
                Report::single(COLUMNS, app_record(&app)),
                ExitStatus::Success,
            ))
        }
        CatalogCommand::Update {
            app,
            zip,
            requires_review,
        } => {
            let (bytes, parsed) = read_package(&zip)?;
            let found = resolve::app(client, &app).await?;
            let id = resolve::app_id(&found)?;
            if let Some(latest) = found
                .app_definitions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.version.as_deref())
                .max_by(|a, b| version::compare(a, b))
                && version::compare(&parsed.version, latest) != std::cmp::Ordering::Greater
            {
                return usage(format!(
                    "{} holds version {}, but {} already has version {latest}: raise `version` in \
                     manifest.json above {latest} (nothing was uploaded)",
                    zip.display(),
                    parsed.version,
                    found.display_name.as_deref().unwrap_or("the app")
                ));
            }
            if let Some(external) = &found.external_id
                && !external.eq_ignore_ascii_case(&parsed.external_id)
            {
                return usage(format!(
                    "{} is the package of app id {}, not of {} ({external}) (nothing was uploaded)",
                    zip.display(),
                    parsed.external_id,
                    found.display_name.as_deref().unwrap_or("the app")
                ));
            }
            client.update_app(&id, bytes, requires_review).await?;
            let app = resolve::app(client, id.as_str()).await?;
            Ok((
                Report::single(COLUMNS, app_record(&app)),
                ExitStatus::Success,
            ))
        }
    }
}
