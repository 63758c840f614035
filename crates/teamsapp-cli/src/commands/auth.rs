//! `teamsapp auth login|token|logout` and the token cache: one JSON file readable by its owner only
//! (`$TEAMSAPP_TOKEN_CACHE`, else `$XDG_CACHE_HOME/teamsapp/token.json`, else
//! `~/.cache/teamsapp/token.json`).

use crate::cli::{AuthCommand, GlobalArgs};
use crate::context::{UsageError, base_builder, read_secret, tune, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::record;
use anyhow::{Context as _, Result};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use teamsapp_client::{ClientSecretCredential, DeviceCodeCredential};
use teamsapp_types::cloud::NationalCloud;

/// Tokens are not used in their last five minutes.
const MARGIN: Duration = Duration::from_mins(5);

/// The cached token.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cached {
    tenant: String,
    client_id: String,
    access_token: String,
    /// Seconds since the Unix epoch.
    expires_at: u64,
}

/// Where the token cache lives.
pub(crate) struct TokenCache {
    path: PathBuf,
}

impl TokenCache {
    /// The default location, if a home or cache directory is known.
    pub(crate) fn default_location() -> Option<Self> {
        let path = if let Some(p) = std::env::var_os("TEAMSAPP_TOKEN_CACHE") {
            PathBuf::from(p)
        } else if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
            PathBuf::from(p).join("teamsapp/token.json")
        } else {
            PathBuf::from(std::env::var_os("HOME")?).join(".cache/teamsapp/token.json")
        };
        Some(Self { path })
    }

    /// A cached token for `tenant` (any tenant when `None`) that is still valid.
    pub(crate) fn valid_token(&self, tenant: Option<&str>) -> Result<Option<String>> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Ok(None);
        };
        let cached: Cached = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a token cache", self.path.display()))?;
        if tenant.is_some_and(|t| !t.eq_ignore_ascii_case(&cached.tenant)) {
            return Ok(None);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok((Duration::from_secs(cached.expires_at) > now + MARGIN).then_some(cached.access_token))
    }

    fn store(&self, cached: &Cached) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&self.path)
            .with_context(|| format!("writing {}", self.path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(&serde_json::to_vec(cached)?)?;
        Ok(())
    }

    fn remove(&self) -> Result<bool> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
        }
    }
}

/// Runs one auth command.
pub(crate) async fn run(
    global: &GlobalArgs,
    command: AuthCommand,
    out: &mut dyn Write,
) -> Result<(Report, ExitStatus)> {
    let cache = TokenCache::default_location().ok_or_else(|| {
        UsageError("no home directory for the token cache; set TEAMSAPP_TOKEN_CACHE".into())
    })?;
    match command {
        AuthCommand::Logout => {
            let removed = cache.remove()?;
            let rec = record! {"result" => if removed { "signed out" } else { "no cached token" }, "cache" => cache.path.display().to_string()};
            Ok((
                Report::single(&["result", "cache"], rec),
                ExitStatus::Success,
            ))
        }
        AuthCommand::Token => {
            let Some(token) = cache.valid_token(global.tenant.as_deref())? else {
                return usage("no valid cached token; run `teamsapp auth login`");
            };
            // Printing the token is what this command is for (like `az account get-access-token`).
            writeln!(out, "{token}")?;
            Ok((Report::default(), ExitStatus::Success))
        }
        AuthCommand::Login { device_code } => {
            let (Some(tenant), Some(client_id)) = (global.tenant.clone(), global.client_id.clone())
            else {
                return usage(
                    "auth login needs --tenant and --client-id (or TEAMSAPP_TENANT and TEAMSAPP_CLIENT_ID)",
                );
            };
            let cloud = match &global.cloud {
                Some(name) => name
                    .parse::<NationalCloud>()
                    .map_err(|e| UsageError(e.to_string()))?,
                None => NationalCloud::Global,
            };
            let authority = global
                .authority
                .clone()
                .unwrap_or_else(|| format!("https://{}", cloud.login_host()));
            let mut builder = tune(base_builder(global)?.cloud(cloud), global)?
                .authority(authority.clone())
                .tenant(tenant.clone());
            if let Some(url) = &global.base_url {
                builder = builder.base_url(url.clone());
            }
            let client = if device_code {
                let credential =
                    DeviceCodeCredential::new(tenant.clone(), client_id.clone(), |prompt| {
                        #[allow(
                            clippy::print_stderr,
                            reason = "the sign-in instruction is for the person at the terminal"
                        )]
                        {
                            eprintln!("{}", prompt.message);
                        }
                    })
                    .with_authority(authority);
                builder.credential(credential).build()?
            } else {
                let Some(secret) = read_secret(
                    "TEAMSAPP_CLIENT_SECRET",
                    global.client_secret_file.as_deref(),
                )?
                else {
                    return usage(
                        "auth login without --device-code needs TEAMSAPP_CLIENT_SECRET or --client-secret-file",
                    );
                };
                builder
                    .credential(
                        ClientSecretCredential::new(tenant.clone(), client_id.clone(), secret)
                            .with_authority(authority),
                    )
                    .build()?
            };
            let token = client.access_token().await?;
            let lifetime = token
                .expires_at()
                .saturating_duration_since(tokio::time::Instant::now());
            let expires_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                + lifetime;
            cache.store(&Cached {
                tenant: tenant.clone(),
                client_id,
                access_token: token.secret().expose_secret().to_owned(),
                expires_at: expires_at.as_secs(),
            })?;
            let rec = record! {
                "result" => "signed in",
                "tenant" => tenant,
                "expiresInMinutes" => lifetime.as_secs() / 60,
                "cache" => cache.path.display().to_string(),
            };
            Ok((
                Report::single(&["result", "tenant", "expiresInMinutes", "cache"], rec),
                ExitStatus::Success,
            ))
        }
    }
}
