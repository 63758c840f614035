//! Turning the global options into a ready [`Client`]: the cloud or base URL, the credential (from
//! the environment, a file, the token cache, or the embedded emulator), retry and rate knobs.

use crate::cli::GlobalArgs;
use crate::commands::auth::TokenCache;
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::time::Duration;
use teamsapp_client::{
    Backoff, Client, ClientSecretCredential, OperationClass, RateLimit, RetryPolicy, StaticToken,
};
use teamsapp_types::cloud::NationalCloud;

/// A usage problem: bad arguments, missing credentials, unreadable input. Exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Fails with a [`UsageError`].
pub(crate) fn usage<T>(message: impl Into<String>) -> Result<T> {
    Err(UsageError(message.into()).into())
}

/// Where the commands send their requests.
pub(crate) struct Context {
    /// The client.
    pub(crate) client: Client,
    /// The tenant the client works in.
    pub(crate) tenant: String,
    /// The embedded emulator, when `--emulator` started one (kept alive for the command's run).
    pub(crate) emulator: Option<teamsapp_mock::Emulator>,
}

impl Context {
    /// Builds the client the global options describe.
    pub(crate) async fn new(global: &GlobalArgs) -> Result<Self> {
        if global.emulator {
            return Self::embedded(global).await;
        }
        let cloud = match &global.cloud {
            Some(name) => name
                .parse::<NationalCloud>()
                .map_err(|e| UsageError(e.to_string()))?,
            None => NationalCloud::Global,
        };
        let mut builder = tune(base_builder(global)?.cloud(cloud), global)?;
        if let Some(url) = &global.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(url) = &global.authority {
            builder = builder.authority(url.clone());
        }
        let authority = global
            .authority
            .clone()
            .unwrap_or_else(|| format!("https://{}", cloud.login_host()));
        let tenant = global.tenant.clone();
        let builder = if let Some(token) =
            read_secret("TEAMSAPP_TOKEN", global.token_file.as_deref())?
        {
            builder.credential(StaticToken::new(token))
        } else if let Some(secret) = read_secret(
            "TEAMSAPP_CLIENT_SECRET",
            global.client_secret_file.as_deref(),
        )? {
            let (Some(tenant), Some(client_id)) = (&tenant, &global.client_id) else {
                return usage(
                    "a client secret needs --tenant and --client-id (or TEAMSAPP_TENANT and TEAMSAPP_CLIENT_ID)",
                );
            };
            builder.credential(
                ClientSecretCredential::new(tenant.clone(), client_id.clone(), secret)
                    .with_authority(authority),
            )
        } else if let Some(token) = TokenCache::default_location()
            .and_then(|c| c.valid_token(tenant.as_deref()).ok().flatten())
        {
            builder.credential(StaticToken::new(token))
        } else {
            return usage(
                "no credentials: set TEAMSAPP_TOKEN (or --token-file), or --tenant, --client-id and TEAMSAPP_CLIENT_SECRET \
                 (or --client-secret-file), or run `teamsapp auth login`; or try everything locally with --emulator",
            );
        };
        let builder = match &tenant {
            Some(t) => builder.tenant(t.clone()),
            None => builder,
        };
        let client = builder.build().context("building the Graph client")?;
        let tenant = client.tenant().to_owned();
        Ok(Self {
            client,
            tenant,
            emulator: None,
        })
    }

    /// Starts the embedded emulator with its demo tenant and signs in as the demo fleet app,
    /// through the emulator's own token endpoint.
    async fn embedded(global: &GlobalArgs) -> Result<Self> {
        let emulator = teamsapp_mock::Emulator::start(teamsapp_mock::EmulatorConfig::demo())
            .await
            .context("starting the embedded emulator")?;
        let creds = teamsapp_model::demo::CREDENTIALS;
        let credential =
            ClientSecretCredential::new(creds.tenant_id, creds.client_id, creds.client_secret)
                .with_authority(emulator.authority().to_owned());
        let client = tune(base_builder(global)?, global)?
            .base_url(emulator.graph_url())
            .authority(emulator.authority().to_owned())
            .tenant(creds.tenant_id)
            .credential(credential)
            .build()
            .context("building the Graph client")?;
        tracing::info!(graph = %emulator.graph_url(), "embedded emulator started with the demo tenant");
        Ok(Self {
            client,
            tenant: creds.tenant_id.to_owned(),
            emulator: Some(emulator),
        })
    }

    /// Stops the embedded emulator, if any.
    pub(crate) async fn finish(self) -> Result<()> {
        if let Some(emulator) = self.emulator {
            emulator
                .shutdown()
                .await
                .context("stopping the embedded emulator")?;
        }
        Ok(())
    }
}

/// A client builder that trusts `--ca-cert` when given.
pub(crate) fn base_builder(global: &GlobalArgs) -> Result<teamsapp_client::ClientBuilder> {
    let Some(path) = &global.ca_cert else {
        return Ok(Client::builder());
    };
    let pem =
        std::fs::read(path).map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
    let cert = reqwest::Certificate::from_pem(&pem)
        .map_err(|e| UsageError(format!("{} is not a PEM certificate: {e}", path.display())))?;
    let http = reqwest::Client::builder()
        .add_root_certificate(cert)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    Ok(Client::from_reqwest(http))
}

/// Applies the retry, rate and concurrency knobs.
pub(crate) fn tune(
    mut builder: teamsapp_client::ClientBuilder,
    global: &GlobalArgs,
) -> Result<teamsapp_client::ClientBuilder> {
    // A fleet run sends thousands of requests: ride out longer streaks of 503/504 than the
    // client's default (3 retries), within the same time budget.
    let mut retry = RetryPolicy::standard().with_transient(Backoff::new(
        8,
        Duration::from_millis(500),
        Duration::from_secs(30),
    ));
    if let Some(n) = global.max_attempts {
        if n == 0 {
            return usage("--max-attempts must be at least 1");
        }
        retry = retry.with_max_retries(n - 1);
    }
    if let Some(secs) = global.retry_budget {
        retry = retry.with_budget(Duration::from_secs(secs));
    }
    builder = builder
        .retry(retry)
        .max_concurrency(global.concurrency.max(1));
    if let Some(rps) = global.rate {
        let limit = [
            OperationClass::Read,
            OperationClass::Write,
            OperationClass::Patch,
            OperationClass::Delete,
        ]
        .into_iter()
        .fold(RateLimit::teams_defaults(), |limit, class| {
            limit.with_rate(class, rps)
        });
        builder = builder.rate_limit(limit);
    }
    Ok(builder)
}

/// A secret from an environment variable or a file (trailing newline trimmed); never from argv.
pub(crate) fn read_secret(env: &str, file: Option<&Path>) -> Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
        let text = text.trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            bail!(UsageError(format!("{} is empty", path.display())));
        }
        return Ok(Some(text));
    }
    Ok(std::env::var(env).ok().filter(|v| !v.is_empty()))
}
