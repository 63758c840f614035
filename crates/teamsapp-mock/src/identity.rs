//! The emulated Microsoft Entra directory: tenants, app registrations (client id, secrets,
//! granted application permissions), users and delegated grants — what the token endpoint needs
//! to authenticate a client and decide the `roles` or `scp` of the token it issues.
//!
//! The registry is data: it is loaded from the emulator's configuration and from every tenant spec
//! the model loads, and replaced as a whole on reset.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Microsoft Graph's application (client) id, the `client_id` Graph names in `WWW-Authenticate`.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Microsoft Graph's resource URI, the `aud` of the tokens this emulator issues.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// The directory the token endpoint consults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRegistry {
    /// Every tenant, in load order.
    #[serde(default)]
    pub tenants: Vec<IdentityTenant>,
}

/// One Microsoft Entra tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityTenant {
    /// The tenant id (a GUID): the `tid` claim.
    pub id: String,
    /// Verified domains (`contoso.onmicrosoft.com`), accepted in place of the id in token URLs.
    #[serde(default)]
    pub domains: Vec<String>,
    /// App registrations (service principals) in this tenant.
    #[serde(default)]
    pub apps: Vec<AppRegistration>,
    /// Users.
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    /// Delegated permission grants (what a user consented an app to do).
    #[serde(default)]
    pub grants: Vec<DelegatedGrant>,
}

/// An app registration as the tenant sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRegistration {
    /// The application (client) id.
    pub client_id: String,
    /// The display name (`app_displayname` claim).
    #[serde(default)]
    pub display_name: String,
    /// Client secrets that authenticate the app.
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
    /// Application permissions an admin granted (`roles` claim).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A client secret; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A new random secret: 32 bytes from the thread's cryptographically secure generator,
    /// base64url without padding (43 characters), e.g. for an admin key.
    pub fn generate() -> Self {
        use base64::Engine as _;
        use rand::RngExt as _;
        let bytes: [u8; 32] = rand::rng().random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whether `candidate` is this secret (compared in constant time).
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The secret's value (for the tools that print demo credentials).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// A user of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    /// The object id (`oid` claim).
    pub id: String,
    /// The user principal name (`upn` claim), e.g. `adele@contoso.onmicrosoft.com`.
    pub user_principal_name: String,
    /// The display name (`name` claim).
    #[serde(default)]
    pub display_name: String,
    /// Whether this is a personal Microsoft account (which this API family does not support).
    #[serde(default)]
    pub personal_account: bool,
}

/// A delegated permission grant: `user` (or every user, when `None`) let `client_id` use `scopes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelegatedGrant {
    /// The app the grant is for.
    pub client_id: String,
    /// The user's object id or UPN; `None` for an admin grant to every user.
    #[serde(default)]
    pub user: Option<String>,
    /// The delegated permissions granted.
    pub scopes: Vec<String>,
}

/// Tenant names that are not one tenant.
pub(crate) const MULTI_TENANT_ALIASES: &[&str] = &["common", "organizations", "consumers"];

impl IdentityRegistry {
    /// The tenant named by its id or one of its domains (ASCII case-insensitive).
    pub fn tenant(&self, name: &str) -> Option<&IdentityTenant> {
        self.tenants.iter().find(|t| {
            t.id.eq_ignore_ascii_case(name)
                || t.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
        })
    }

    /// Adds `tenant`, replacing a tenant with the same id.
    pub fn upsert(&mut self, tenant: IdentityTenant) {
        match self
            .tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(&tenant.id))
        {
            Some(existing) => *existing = tenant,
            None => self.tenants.push(tenant),
        }
    }

    /// Adds `tenant`'s domains, apps, users and grants to the tenant with the same id (or adds
    /// the tenant).
    pub fn merge(&mut self, tenant: IdentityTenant) {
        match self
            .tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(&tenant.id))
        {
            Some(existing) => {
                existing.domains.extend(tenant.domains);
                existing.apps.extend(tenant.apps);
                existing.users.extend(tenant.users);
                existing.grants.extend(tenant.grants);
            }
            None => self.tenants.push(tenant),
        }
    }

    /// The first tenant that has a user with this object id or UPN.
    pub fn tenant_of_user(&self, login: &str) -> Option<&IdentityTenant> {
        self.tenants.iter().find(|t| t.user(login).is_some())
    }

    /// The first tenant where `client_id` is registered.
    pub fn tenant_of_app(&self, client_id: &str) -> Option<&IdentityTenant> {
        self.tenants.iter().find(|t| t.app(client_id).is_some())
    }
}

impl IdentityTenant {
    /// The app registration with this client id.
    pub fn app(&self, client_id: &str) -> Option<&AppRegistration> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The user with this object id or UPN (ASCII case-insensitive).
    pub fn user(&self, login: &str) -> Option<&DirectoryUser> {
        self.users.iter().find(|u| {
            u.id.eq_ignore_ascii_case(login) || u.user_principal_name.eq_ignore_ascii_case(login)
        })
    }

    /// Every scope granted to `client_id` for `user`, in grant order, without duplicates.
    pub fn granted_scopes(&self, client_id: &str, user: &DirectoryUser) -> Vec<String> {
        let mut scopes: Vec<String> = Vec::new();
        for grant in &self.grants {
            let for_user = grant.user.as_deref().is_none_or(|u| {
                u.eq_ignore_ascii_case(&user.id)
                    || u.eq_ignore_ascii_case(&user.user_principal_name)
            });
            if grant.client_id.eq_ignore_ascii_case(client_id) && for_user {
                for scope in &grant.scopes {
                    if !scopes.iter().any(|s| s.eq_ignore_ascii_case(scope)) {
                        scopes.push(scope.clone());
                    }
                }
            }
        }
        scopes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> IdentityTenant {
        IdentityTenant {
            id: "11111111-1111-1111-1111-111111111111".into(),
            domains: vec!["contoso.onmicrosoft.com".into()],
            apps: vec![AppRegistration {
                client_id: "app".into(),
                secrets: vec![ClientSecret::new("s3cret")],
                ..AppRegistration::default()
            }],
            users: vec![DirectoryUser {
                id: "u1".into(),
                user_principal_name: "adele@contoso.onmicrosoft.com".into(),
                ..DirectoryUser::default()
            }],
            grants: vec![
                DelegatedGrant {
                    client_id: "app".into(),
                    user: None,
                    scopes: vec!["A".into(), "B".into()],
                },
                DelegatedGrant {
                    client_id: "app".into(),
                    user: Some("adele@contoso.onmicrosoft.com".into()),
                    scopes: vec!["b".into(), "C".into()],
                },
            ],
        }
    }

    #[test]
    fn lookups_by_id_domain_and_upn() {
        let registry = IdentityRegistry {
            tenants: vec![tenant()],
        };
        assert!(registry.tenant("CONTOSO.onmicrosoft.com").is_some());
        assert!(
            registry
                .tenant("11111111-1111-1111-1111-111111111111")
                .is_some()
        );
        assert!(registry.tenant("fabrikam.com").is_none());
        assert!(
            registry
                .tenant_of_user("Adele@contoso.onmicrosoft.com")
                .is_some()
        );
        let t = registry.tenant("contoso.onmicrosoft.com").unwrap();
        let user = t.user("u1").unwrap();
        assert_eq!(t.granted_scopes("app", user), ["A", "B", "C"]);
    }

    #[test]
    fn secrets_compare_exactly_and_never_print() {
        let secret = ClientSecret::new("s3cret");
        assert!(secret.matches("s3cret"));
        assert!(!secret.matches("s3cre"));
        assert!(!secret.matches("s3creT"));
        assert!(!format!("{secret:?}").contains("s3cret"));
    }
}
