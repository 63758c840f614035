//! [`Caller`]: who is calling, as the emulator decodes it from a verified access token.

use teamsapp_types::permissions::PermissionKind;

/// The identity and permissions behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The tenant the token was issued for (`tid`).
    pub tenant_id: String,
    /// The calling app's client id (`appid` in v1 tokens, `azp` in v2 tokens).
    pub client_id: String,
    /// The signed-in user's object id (`oid`), for delegated tokens.
    pub user_id: Option<String>,
    /// Delegated (`scp`) or application (`roles`).
    pub kind: PermissionKind,
    /// The granted permission names: the roles, or the scopes split on spaces.
    pub permissions: Vec<String>,
    /// Whether the user signed in with a personal Microsoft account.
    pub personal_account: bool,
}

impl Caller {
    /// An app calling on its own with the given roles.
    pub fn application(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            user_id: None,
            kind: PermissionKind::Application,
            permissions: roles.into_iter().map(Into::into).collect(),
            personal_account: false,
        }
    }

    /// An app calling for a signed-in user with the given scopes.
    pub fn delegated(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        user_id: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            user_id: Some(user_id.into()),
            kind: PermissionKind::Delegated,
            permissions: scopes.into_iter().map(Into::into).collect(),
            personal_account: false,
        }
    }

    /// Marks the user as signed in with a personal Microsoft account.
    #[must_use]
    pub fn with_personal_account(mut self, personal: bool) -> Self {
        self.personal_account = personal;
        self
    }
}
