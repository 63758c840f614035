//! `teamsapp catalog list|get|publish|update`.

use crate::cli::CatalogCommand;
use crate::context::{Context, UsageError};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::{record, resolve};
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::Path;
use teamsapp_types::{ListCatalogApps, TeamsApp};

const COLUMNS: &[&str] = &[
    "appId",
    "name",
    "externalId",
    "distribution",
    "latestPublished",
    "versions",
];

fn app_record(app: &TeamsApp) -> Map<String, Value> {
    let versions: Vec<String> = app
        .app_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            format!(
                "{} ({})",
                d.version.as_deref().unwrap_or("?"),
                d.publishing_state.as_ref().map_or("?", |s| s.as_str())
            )
        })
        .collect();
    record! {
        "appId" => app.id,
        "name" => app.display_name,
        "externalId" => app.external_id,
        "distribution" => app.distribution_method.as_ref().map(ToString::to_string),
        "latestPublished" => resolve::latest_published(app).and_then(|d| d.version.clone()),
        "versions" => versions.join(", "),
    }
}

fn read_package(path: &Path) -> Result<Vec<u8>> {
    Ok(std::fs::read(path).map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?)
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
            let app = client
                .publish_app(read_package(&zip)?, requires_review)
                .await?;
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
            let found = resolve::app(client, &app).await?;
            let id = resolve::app_id(&found)?;
            client
                .update_app(&id, read_package(&zip)?, requires_review)
                .await?;
            let app = resolve::app(client, id.as_str()).await?;
            Ok((
                Report::single(COLUMNS, app_record(&app)),
                ExitStatus::Success,
            ))
        }
    }
}
