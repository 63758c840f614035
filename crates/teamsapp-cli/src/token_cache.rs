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

    /// Writes the cache: to a new `0600` file beside it (`O_EXCL`), synced, then renamed over
    /// it. A symbolic link at the cache's path is replaced by the file, never followed: its
    /// target is neither written nor chmodded. A directory made for it is `0700`.
    pub(crate) fn store(&self, cached: &Cached) -> Result<()> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let mut temp = tempfile::Builder::new();
        temp.prefix(".token.").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut file = temp
            .tempfile_in(dir)
            .with_context(|| format!("writing a temporary file in {}", dir.display()))?;
        file.write_all(&serde_json::to_vec(cached)?)
            .and_then(|()| file.as_file().sync_all())
            .with_context(|| format!("writing {}", file.path().display()))?;
        file.persist(&self.path)
            .with_context(|| format!("writing {}", self.path.display()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cached() -> Cached {
        Cached {
            tenant: "contoso".to_owned(),
            client_id: "app".to_owned(),
            access_token: "opaque".to_owned(),
            expires_at: 4_000_000_000,
            user: None,
            authority: None,
        }
    }

    #[test]
    fn store_writes_a_private_file_and_replaces_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache {
            path: dir.path().join("sub/token.json"),
        };
        cache.store(&cached()).unwrap();
        cache.store(&cached()).unwrap();
        assert_eq!(cache.load(None).unwrap().unwrap().access_token, "opaque");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&cache.path), 0o600);
            assert_eq!(mode(&dir.path().join("sub")), 0o700);
        }
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["token.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn store_replaces_a_symlink_and_never_touches_its_target() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "someone else's file").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = dir.path().join("token.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();

        TokenCache { path: path.clone() }.store(&cached()).unwrap();

        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "someone else's file"
        );
        let target_mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(target_mode, 0o644, "the link's target was not chmodded");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file(), "the link itself was replaced by the cache");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
