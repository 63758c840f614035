//! The token cache: one JSON file readable by its owner only (`$TEAMSAPP_TOKEN_CACHE`, else
//! `$XDG_CACHE_HOME/teamsapp/token.json`, else `~/.cache/teamsapp/token.json`), shared by
//! `teamsapp auth` (which writes it) and the credential selection in `crate::context` (which
//! reads it), so neither needs the other.

use anyhow::{Context as _, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::errors::CredentialError;

/// Tokens are not used in their last five minutes.
const MARGIN: Duration = Duration::from_mins(5);

/// The cached sign-in. No `Debug`: it holds a token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cached {
    /// The tenant it was issued for, as given at sign-in.
    pub(crate) tenant: String,
    /// The client id.
    pub(crate) client_id: String,
    /// The access token.
    pub(crate) access_token: String,
    /// Seconds since the Unix epoch.
    pub(crate) expires_at: u64,
    /// The signed-in user (UPN), for a delegated sign-in.
    #[serde(default)]
    pub(crate) user: Option<String>,
    /// The authority it came from (to renew an app token).
    #[serde(default)]
    pub(crate) authority: Option<String>,
}

impl Cached {
    /// Whether a user signed in (the token carries scopes, not roles).
    pub(crate) fn is_delegated(&self) -> bool {
        claims(&self.access_token).is_some_and(|c| c.get("scp").is_some()) || self.user.is_some()
    }

    /// Whether it expires within the margin.
    pub(crate) fn is_expired(&self) -> bool {
        Duration::from_secs(self.expires_at) <= now() + MARGIN
    }

    /// The expiry, as RFC 3339.
    pub(crate) fn expires_at_rfc3339(&self) -> String {
        rfc3339(self.expires_at)
    }
}

pub(crate) fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

pub(crate) fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// The claims of a JWT access token (not verified: only shown). `None` for an opaque token.
pub(crate) fn claims(token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Where the token cache lives.
pub(crate) struct TokenCache {
    /// The cache file.
    pub(crate) path: PathBuf,
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

    /// The cached sign-in for `tenant` (any tenant when `None`), expired or not.
    pub(crate) fn load(&self, tenant: Option<&str>) -> Result<Option<Cached>> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Ok(None);
        };
        let cached: Cached = serde_json::from_str(&text).map_err(|e| {
            CredentialError(format!(
                "{} is not a token cache ({e}); run `teamsapp auth logout`",
                self.path.display()
            ))
        })?;
        if tenant.is_some_and(|t| !t.eq_ignore_ascii_case(&cached.tenant)) {
            return Ok(None);
        }
        Ok(Some(cached))
    }

    pub(crate) fn store(&self, cached: &Cached) -> Result<()> {
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

    pub(crate) fn remove(&self) -> Result<bool> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
        }
    }
}
