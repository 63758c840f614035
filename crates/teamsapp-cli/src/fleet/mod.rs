//! Fleet upgrades: find every installation of an app, upgrade those behind, verify, journal.

pub(crate) mod journal;
pub(crate) mod run;
pub(crate) mod targets;

use crate::cli::GlobalArgs;
use crate::context::{Context, UsageError, base_builder, read_secret, tune, usage};
use anyhow::{Context as _, Result};
use serde::Deserialize;
use std::path::Path;
use teamsapp_client::ClientSecretCredential;

/// One tenant of a `--tenants` file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantEntry {
    tenant: String,
    client_id: String,
    #[serde(default)]
    client_secret_file: Option<std::path::PathBuf>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    authority: Option<String>,
}

/// The tenants of a fleet run: the context's own, or each of a `--tenants` file, each with its own
/// credential and throttle budget.
pub(crate) fn tenants(
    ctx: &Context,
    global: &GlobalArgs,
    file: Option<&Path>,
) -> Result<Vec<run::Tenant>> {
    let Some(file) = file else {
        return Ok(vec![run::Tenant {
            id: ctx.tenant.clone(),
            client: ctx.client.clone(),
        }]);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("reading {}: {e}", file.display())))?;
    let entries: Vec<TenantEntry> = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{} is not a tenants file: {e}", file.display())))?;
    if entries.is_empty() {
        return usage(format!("{} lists no tenants", file.display()));
    }
    let (default_base, default_authority) = match &ctx.emulator {
        Some(emulator) => (
            Some(emulator.graph_url()),
            Some(emulator.authority().to_owned()),
        ),
        None => (global.base_url.clone(), global.authority.clone()),
    };
    let mut out = Vec::new();
    for e in entries {
        let secret = match (&e.client_secret_env, &e.client_secret_file) {
            (Some(var), _) => std::env::var(var).ok().filter(|v| !v.is_empty()),
            (None, Some(path)) => read_secret("", Some(path))?,
            (None, None) => None,
        };
        let Some(secret) = secret else {
            return usage(format!(
                "tenant {}: set clientSecretEnv or clientSecretFile",
                e.tenant
            ));
        };
        let authority = e
            .authority
            .or_else(|| default_authority.clone())
            .unwrap_or_else(|| "https://login.microsoftonline.com".into());
        let mut builder = tune(base_builder(global)?, global)?
            .authority(authority.clone())
            .tenant(e.tenant.clone())
            .credential(
                ClientSecretCredential::new(e.tenant.clone(), e.client_id, secret)
                    .with_authority(authority),
            );
        if let Some(base) = e.base_url.or_else(|| default_base.clone()) {
            builder = builder.base_url(base);
        }
        let client = builder
            .build()
            .with_context(|| format!("tenant {}", e.tenant))?;
        out.push(run::Tenant {
            id: e.tenant,
            client,
        });
    }
    Ok(out)
}
