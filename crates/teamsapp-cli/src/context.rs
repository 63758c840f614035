//! Turning the global options into a ready [`Client`]: the cloud or base URL, the credential (from
//! the environment, a file, the token cache, or the embedded emulator, in the one precedence
//! documented in `teamsapp --help`), retry and rate knobs.

use crate::cli::GlobalArgs;
use crate::embedded::{DEMO_USER, Embedded};
use crate::token_cache::{Cached, TokenCache};
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::time::Duration;
use teamsapp_client::{
    Backoff, Client, ClientSecretCredential, DeviceCodeCredential, OperationClass, RateLimit,
    RetryPolicy, StaticToken,
};
use teamsapp_types::cloud::NationalCloud;

pub(crate) use crate::errors::{CredentialError, NotFound, UsageError};

/// Fails with a [`UsageError`].
pub(crate) fn usage<T>(message: impl Into<String>) -> Result<T> {
    Err(UsageError(message.into()).into())
}

/// Fails with a [`CredentialError`].
pub(crate) fn credential_error<T>(message: impl Into<String>) -> Result<T> {
    Err(CredentialError(message.into()).into())
}

/// What kind of caller a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// An app or a user.
    Any,
    /// A signed-in user (Graph accepts only delegated permissions for it).
    Delegated,
}

/// The credential a command uses, chosen by the documented precedence.
pub(crate) enum Selected {
    /// `--emulator`: the embedded emulator's demo app, or its demo user for delegated commands.
    Emulator {
        /// Whether the demo user signs in (device code, approved by the emulator).
        delegated: bool,
    },
    /// `TEAMSAPP_TOKEN` or `--token-file`.
    Token {
        /// The access token.
        token: String,
        /// Where it came from.
        source: &'static str,
    },
    /// The client secret of an app registration.
    Secret {
        /// The tenant.
        tenant: String,
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
        /// Where it came from.
        source: &'static str,
    },
    /// The sign-in cached by `teamsapp auth login`.
    Cached(Cached),
}

impl Selected {
    /// What the credential is, in words: `auth status`'s `credential`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Emulator { delegated: false } => "emulator demo app",
            Self::Emulator { delegated: true } => "emulator demo user (device code)",
            Self::Token { .. } => "access token",
            Self::Secret { .. } => "client secret",
            Self::Cached(c) if c.is_delegated() => "cached sign-in (delegated)",
            Self::Cached(_) => "cached sign-in (app)",
        }
    }

    /// Why it was chosen: `auth status`'s `why`.
    pub(crate) fn why(&self, need: Need) -> String {
        match self {
            Self::Emulator { delegated: false } => "--emulator".into(),
            Self::Emulator { delegated: true } => {
                "--emulator, and this command needs a user: the emulator approves the device code \
                 for its demo user"
                    .into()
            }
            Self::Token { source, .. } => format!("{source} is set (it comes first)"),
            Self::Secret { source, .. } => {
                format!("{source} is set with --tenant and --client-id (TEAMSAPP_TOKEN is not set)")
            }
            Self::Cached(_) if need == Need::Delegated => {
                "this command needs a user, and `teamsapp auth login --device-code` cached one"
                    .into()
            }
            Self::Cached(_) => {
                "no TEAMSAPP_TOKEN and no client secret; `teamsapp auth login` cached this".into()
            }
        }
    }
}

/// Chooses the credential for a command, by the precedence in `teamsapp --help`.
pub(crate) fn select(global: &GlobalArgs, need: Need) -> Result<Selected> {
    if global.emulator {
        return Ok(Selected::Emulator {
            delegated: need == Need::Delegated,
        });
    }
    if let Some(id) = &global.client_id {
        check_client_id(id)?;
    }
    if let Some(token) = read_secret("TEAMSAPP_TOKEN", global.token_file.as_deref())? {
        let source = if global.token_file.is_some() {
            "--token-file"
        } else {
            "TEAMSAPP_TOKEN"
        };
        return Ok(Selected::Token { token, source });
    }
    let secret = read_secret(
        "TEAMSAPP_CLIENT_SECRET",
        global.client_secret_file.as_deref(),
    )?;
    let secret_source = if global.client_secret_file.is_some() {
        "--client-secret-file"
    } else {
        "TEAMSAPP_CLIENT_SECRET"
    };
    let cache = TokenCache::default_location();
    let cached = cache
        .as_ref()
        .map(|c| c.load(global.tenant.as_deref()))
        .transpose()?
        .flatten();
    if need == Need::Delegated {
        return match cached {
            Some(c) if c.is_delegated() && !c.is_expired() => Ok(Selected::Cached(c)),
            Some(c) if c.is_delegated() => credential_error(format!(
                "this command needs a signed-in user, and the cached sign-in of {} expired at {}; \
                 run `teamsapp auth login --device-code` again",
                c.user.as_deref().unwrap_or("the user"),
                c.expires_at_rfc3339()
            )),
            _ => {
                let also = if secret.is_some() {
                    format!(
                        " ({secret_source} is set, but Graph accepts only delegated permissions \
                         here, so an app credential is not tried)"
                    )
                } else {
                    String::new()
                };
                credential_error(format!(
                    "this command needs a signed-in user{also}; run \
                     `teamsapp --tenant {} --client-id {} auth login --device-code` first, \
                     or set TEAMSAPP_TOKEN to a delegated token",
                    global.tenant.as_deref().unwrap_or("<tenant>"),
                    global.client_id.as_deref().unwrap_or("<client id>"),
                ))
            }
        };
    }
    if let Some(secret) = secret {
        let (Some(tenant), Some(client_id)) = (&global.tenant, &global.client_id) else {
            return credential_error(format!(
                "{secret_source} is set, but a client secret needs --tenant and --client-id \
                 (or TEAMSAPP_TENANT and TEAMSAPP_CLIENT_ID)"
            ));
        };
        return Ok(Selected::Secret {
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            secret,
            source: secret_source,
        });
    }
    match cached {
        Some(c) if !c.is_expired() => Ok(Selected::Cached(c)),
        Some(c) => credential_error(format!(
            "the cached sign-in expired at {}; run `teamsapp auth login` again (with \
             --device-code for a user), or set TEAMSAPP_CLIENT_SECRET",
            c.expires_at_rfc3339()
        )),
        None => credential_error(
            "no credentials: set TEAMSAPP_TOKEN (or --token-file), or --tenant, --client-id and \
             TEAMSAPP_CLIENT_SECRET (or --client-secret-file), or run `teamsapp auth login`; or \
             try everything locally with --emulator",
        ),
    }
}

/// An application (client) id is a GUID; anything else fails here, before a request leaves.
pub(crate) fn check_client_id(id: &str) -> Result<()> {
    let groups: Vec<&str> = id.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        credential_error(format!(
            "--client-id {id:?} is not an application (client) id: expected a GUID such as \
             c0ffee00-0000-4000-8000-00000000f1ee (Entra admin center → App registrations → \
             Overview → Application (client) ID)"
        ))
    }
}

/// The cloud `--cloud` names (global by default).
pub(crate) fn cloud(global: &GlobalArgs) -> Result<NationalCloud> {
    match &global.cloud {
        Some(name) => Ok(name
            .parse::<NationalCloud>()
            .map_err(|e| UsageError(e.to_string()))?),
        None => Ok(NationalCloud::Global),
    }
}

/// The login authority: `--authority`; else, for a `--base-url` outside the known clouds (an
/// emulator, a proxy), that URL's origin; else the cloud's.
pub(crate) fn authority(global: &GlobalArgs, cloud: NationalCloud) -> Result<String> {
    if let Some(url) = &global.authority {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    if let Some(base) = &global.base_url {
        let url = teamsapp_client::Url::parse(base)
            .map_err(|e| UsageError(format!("--base-url {base:?} is not a URL: {e}")))?;
        let host = url.host_str().unwrap_or_default();
        let known = NationalCloud::ALL
            .iter()
            .any(|c| c.graph_host().eq_ignore_ascii_case(host));
        if !known {
            return Ok(url.origin().ascii_serialization());
        }
    }
    Ok(format!("https://{}", cloud.login_host()))
}

/// Where the commands send their requests.
pub(crate) struct Context {
    /// The client.
    pub(crate) client: Client,
    /// The tenant the client works in.
    pub(crate) tenant: String,
    /// The embedded emulator, when `--emulator` started one (kept alive for the command's run).
    pub(crate) emulator: Option<Embedded>,
}

impl Context {
    /// Builds the client the global options describe, for a command that needs `need`.
    pub(crate) async fn new(global: &GlobalArgs, need: Need) -> Result<Self> {
        let selected = select(global, need)?;
        tracing::debug!(credential = selected.name(), why = %selected.why(need), "credential");
        if let Selected::Emulator { delegated } = selected {
            return Self::embedded(global, delegated).await;
        }
        let cloud = cloud(global)?;
        let authority = authority(global, cloud)?;
        let mut builder =
            tune(base_builder(global)?.cloud(cloud), global)?.authority(authority.clone());
        if let Some(url) = &global.base_url {
            builder = builder.base_url(url.clone());
        }
        let mut tenant = global.tenant.clone();
        let builder = match selected {
            Selected::Emulator { .. } => unreachable!("handled above"),
            Selected::Token { token, .. } => builder.credential(StaticToken::new(token)),
            Selected::Secret {
                tenant,
                client_id,
                secret,
                ..
            } => builder.credential(
                ClientSecretCredential::new(tenant, client_id, secret).with_authority(authority),
            ),
            Selected::Cached(cached) => {
                tenant.get_or_insert_with(|| cached.tenant.clone());
                builder.credential(StaticToken::new(cached.access_token.clone()))
            }
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

    /// Starts the embedded emulator with its demo tenant and signs in through its own token
    /// endpoint: as the demo fleet app, or (`delegated`) as its demo user Adele with the device
    /// code flow, which this emulator approves by itself.
    async fn embedded(global: &GlobalArgs, delegated: bool) -> Result<Self> {
        let emulator = Embedded::start().await?;
        let tenant = emulator.tenant_id();
        let builder = tune(base_builder(global)?, global)?
            .base_url(emulator.graph_url())
            .authority(emulator.authority().to_owned())
            .tenant(tenant);
        let builder = if delegated {
            builder.credential(
                DeviceCodeCredential::new(tenant, emulator.client_id(), |_prompt| {
                    tracing::info!(
                        "signing in as the emulator's demo user {DEMO_USER} (device code, approved by the emulator)"
                    );
                })
                .with_authority(emulator.authority().to_owned()),
            )
        } else {
            builder.credential(
                ClientSecretCredential::new(tenant, emulator.client_id(), emulator.client_secret())
                    .with_authority(emulator.authority().to_owned()),
            )
        };
        let client = builder.build().context("building the Graph client")?;
        tracing::info!(graph = %emulator.graph_url(), "embedded emulator started with the demo tenant");
        Ok(Self {
            client,
            tenant: tenant.to_owned(),
            emulator: Some(emulator),
        })
    }

    /// Stops the embedded emulator, if any.
    pub(crate) async fn finish(self) -> Result<()> {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await?;
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
    Ok(Client::builder()
        .root_certificates_pem(&pem)
        .map_err(|e| UsageError(format!("--ca-cert {}: {e}", path.display())))?)
}

/// Applies the retry, rate and concurrency knobs.
pub(crate) fn tune(
    mut builder: teamsapp_client::ClientBuilder,
    global: &GlobalArgs,
) -> Result<teamsapp_client::ClientBuilder> {
    // A fleet run sends thousands of requests: ride out longer streaks of 503/504 than the
    // client's default (3 retries), within the same time budget. Connection failures keep the
    // client's few quick retries, so a wrong --base-url fails within seconds.
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
        builder = builder.rate_limit(per_class(rps));
    }
    Ok(builder)
}

/// The same rate for every operation class; 0 turns the client-side limit off.
pub(crate) fn per_class(rps: u32) -> RateLimit {
    [
        OperationClass::Read,
        OperationClass::Write,
        OperationClass::Patch,
        OperationClass::Delete,
    ]
    .into_iter()
    .fold(RateLimit::teams_defaults(), |limit, class| {
        limit.with_rate(class, rps)
    })
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
