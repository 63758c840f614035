//! Adapter for `azure_core` credentials (feature `azure-identity`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::time::OffsetDateTime;

use crate::Error;
use crate::credential::{AccessToken, Credential, TokenCache, TokenRequest};

/// Any `azure_core` [`TokenCredential`] — so every credential of `azure_identity`
/// (`ClientSecretCredential`, `ManagedIdentityCredential`, `DeveloperToolsCredential`, …) — as a
/// [`Credential`]. Tokens are cached and refreshed before expiry like the built-in credentials.
///
/// ```ignore
/// let azure = azure_identity::DeveloperToolsCredential::new(None)?;
/// let client = teamsapp_client::Client::builder()
///     .credential(teamsapp_client::AzureCredential::new(azure))
///     .build()?;
/// ```
pub struct AzureCredential {
    inner: Arc<dyn TokenCredential>,
    tenant: Option<String>,
    cache: TokenCache,
}

impl AzureCredential {
    /// Wraps an `azure_core` credential.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            inner: credential,
            tenant: None,
            cache: TokenCache::default(),
        }
    }

    /// Names the credential's tenant, so the throttle gate and rate limits are keyed by it.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, Error> {
        let token = self
            .inner
            .get_token(scopes, None)
            .await
            .map_err(|e| Error::Auth {
                reason: "the azure credential could not get a token".into(),
                code: None,
                source: Some(Box::new(e)),
            })?;
        let left = token.expires_on - OffsetDateTime::now_utc();
        let left = u64::try_from(left.whole_seconds()).unwrap_or(0);
        Ok(AccessToken::expiring_in(
            token.token.secret(),
            Duration::from_secs(left),
        ))
    }
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCredential")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Credential for AzureCredential {
    async fn token(&self, request: &TokenRequest<'_>) -> Result<AccessToken, Error> {
        let scopes: Vec<&str> = request.scopes.iter().map(String::as_str).collect();
        self.cache
            .get(scopes.join(" "), || self.fetch(&scopes))
            .await
    }

    fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use azure_core::credentials::{AccessToken as AzureToken, TokenRequestOptions};

    use secrecy::ExposeSecret;

    use super::*;

    /// A fake `azure_core` credential (the trait is `async_trait`; this is its expansion).
    #[derive(Debug, Default)]
    struct Fake {
        calls: AtomicUsize,
    }

    impl TokenCredential for Fake {
        fn get_token<'a, 'b, 'c, 'd, 'f>(
            &'a self,
            scopes: &'b [&'c str],
            _options: Option<TokenRequestOptions<'d>>,
        ) -> Pin<Box<dyn Future<Output = azure_core::Result<AzureToken>> + Send + 'f>>
        where
            'a: 'f,
            'b: 'f,
            'c: 'f,
            'd: 'f,
            Self: 'f,
        {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                assert_eq!(scopes, ["https://graph.microsoft.com/.default"]);
                Ok(AzureToken::new(
                    "azure-token",
                    OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
                ))
            })
        }
    }

    #[tokio::test]
    async fn azure_credentials_are_adapted_and_cached() {
        let fake = Arc::new(Fake::default());
        let credential = AzureCredential::new(fake.clone()).with_tenant("contoso");
        let http = reqwest::Client::new();
        let scopes = ["https://graph.microsoft.com/.default".to_owned()];
        let request = TokenRequest {
            scopes: &scopes,
            authority: "https://login.microsoftonline.com",
            http: &http,
        };
        for _ in 0..3 {
            let token = credential.token(&request).await.unwrap();
            assert_eq!(token.secret().expose_secret(), "azure-token");
            assert!(token.expires_in() > Duration::from_secs(3500));
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        assert_eq!(credential.tenant(), Some("contoso"));
        assert!(!format!("{credential:?}").contains("azure-token"));
    }
}
