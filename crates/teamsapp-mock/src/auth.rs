//! Access tokens: the emulator's RS256 signing key (generated at startup, or reloaded from the
//! durable store so tokens survive a restart), the claims it issues as Microsoft Entra does for
//! Microsoft Graph, and the bearer check every Graph route runs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::HeaderMap;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use teamsapp_types::permissions::PermissionKind;

use crate::error::{ApiError, AuthFailure, Error};
use crate::identity::{GRAPH_APP_ID, GRAPH_RESOURCE};
use crate::origins::Origins;

/// Clock skew allowed on `nbf`, as Microsoft's validators allow (`exp` is checked exactly, so
/// tests can expire a token by moving a manual clock).
const NBF_SKEW: u64 = 300;

/// The emulator's token signing key (RS256, 2048-bit RSA).
pub(crate) struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    private_pem: String,
    /// Tokens whose signature and shape were already verified, by their exact text (a client
    /// sends the same token thousands of times; an RSA check each time dominated a request),
    /// with the caller decoded once. Only verified tokens are inserted, so nobody outside can
    /// choose the keys: a fast hasher is safe here.
    verified: Mutex<HashMap<Box<str>, Arc<Authenticated>, foldhash::fast::RandomState>>,
}

/// A token whose signature verified, with everything a request needs from it computed once.
#[derive(Debug)]
pub(crate) struct Authenticated {
    /// The token's claims.
    pub(crate) claims: Claims,
    /// Who is calling.
    pub(crate) caller: Caller,
    /// The caller as the model sees it (a delegated caller's personal-account flag is looked up
    /// per request, in the directory).
    pub(crate) model: teamsapp_model::Caller,
    /// The caller's tenant, shared with the journal.
    pub(crate) tenant: Arc<str>,
    /// The caller's client id, shared with the journal.
    pub(crate) app: Arc<str>,
    /// Whether `iss` is the tenant's v1 or v2 issuer.
    issuer_ok: bool,
}

impl Authenticated {
    fn new(claims: Claims) -> Self {
        let issuer_ok = claims.iss == issuer(&claims.tid)
            || claims.iss == format!("https://login.microsoftonline.com/{}/v2.0", claims.tid);
        let caller = Caller::from_claims(claims.clone());
        let model = match (caller.kind, &caller.user_id) {
            (PermissionKind::Delegated, Some(user)) => teamsapp_model::Caller::delegated(
                &caller.tenant_id,
                &caller.client_id,
                user,
                caller.permissions.iter().cloned(),
            ),
            _ => teamsapp_model::Caller::application(
                &caller.tenant_id,
                &caller.client_id,
                caller.permissions.iter().cloned(),
            ),
        };
        Self {
            model,
            tenant: caller.tenant_id.as_str().into(),
            app: caller.client_id.as_str().into(),
            caller,
            claims,
            issuer_ok,
        }
    }
}

/// How many verified tokens are remembered; the memo is emptied when it is full.
const VERIFIED_CAPACITY: usize = 4_096;

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Generates a fresh key.
    pub(crate) fn generate() -> Result<Self, Error> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .map_err(|e| Error::Keys(e.to_string()))?;
        Self::from_pem(&pair.serialize_pem())
    }

    /// Loads a key from its PKCS#8 PEM.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, Error> {
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| Error::Keys(e.to_string()))?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|e| Error::Keys(e.to_string()))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| Error::Keys(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| Error::Keys(e.to_string()))?;
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
            private_pem: pem.to_owned(),
            verified: Mutex::new(HashMap::default()),
        })
    }

    /// The private key as PKCS#8 PEM (kept in the durable store).
    pub(crate) fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// The JSON Web Key Set published at `/{tenant}/discovery/v2.0/keys`.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }

    /// Signs `claims` (any serializable claim set).
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies the signature and shape of `token` (not its lifetime, audience or issuer), from
    /// the memo of tokens already verified when it is there.
    pub(crate) fn verify(&self, token: &str) -> Result<Arc<Authenticated>, AuthFailure> {
        let lock = || self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = lock().get(token) {
            return Ok(Arc::clone(known));
        }
        let verified = Arc::new(Authenticated::new(self.verify_signature(token)?));
        let mut memo = lock();
        if memo.len() >= VERIFIED_CAPACITY {
            memo.clear();
        }
        memo.insert(token.into(), Arc::clone(&verified));
        Ok(verified)
    }

    fn verify_signature(&self, token: &str) -> Result<Claims, AuthFailure> {
        if token.split('.').count() != 3 {
            return Err(AuthFailure::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthFailure::Malformed)?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(AuthFailure::BadSignature);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthFailure::BadSignature,
                _ => AuthFailure::Malformed,
            })
    }
}

/// The claims of an access token for Microsoft Graph (a v1.0 token, as Graph receives them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience: `https://graph.microsoft.com`, or the emulator's origin.
    pub aud: String,
    /// Issuer: `https://sts.windows.net/{tid}/`.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Expires (Unix seconds).
    pub exp: u64,
    /// The calling app's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_displayname: Option<String>,
    /// The calling app's client id (v1 claim).
    pub appid: String,
    /// How the client authenticated: `1` secret, `0` public client.
    #[serde(default)]
    pub appidacr: String,
    /// The calling app's client id (v2 claim).
    #[serde(default)]
    pub azp: String,
    /// `app` for application tokens, `user` for delegated ones.
    #[serde(default)]
    pub idtyp: String,
    /// The object id of the principal: the user, or the app's service principal.
    pub oid: String,
    /// The subject.
    #[serde(default)]
    pub sub: String,
    /// The tenant id.
    pub tid: String,
    /// Application permissions (application tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated permissions, space-separated (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// The user's principal name (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// The user's display name (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A unique token id.
    #[serde(default)]
    pub uti: String,
    /// The token version, `1.0`.
    #[serde(default)]
    pub ver: String,
}

/// Who is calling, as decoded from a valid bearer token; every Graph handler gets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant (`tid`).
    pub tenant_id: String,
    /// The calling app's client id (`appid`/`azp`).
    pub client_id: String,
    /// Delegated (a user is signed in) or application (the app alone).
    pub kind: PermissionKind,
    /// The signed-in user's object id, for delegated calls.
    pub user_id: Option<String>,
    /// The signed-in user's principal name, for delegated calls.
    pub user_principal_name: Option<String>,
    /// The permissions the token carries: `roles` or the words of `scp`.
    pub permissions: Vec<String>,
}

impl Caller {
    fn from_claims(claims: Claims) -> Self {
        let delegated = claims.scp.is_some() || claims.idtyp == "user";
        let permissions = if delegated {
            claims
                .scp
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        } else {
            claims.roles.unwrap_or_default()
        };
        Self {
            tenant_id: claims.tid,
            client_id: if claims.appid.is_empty() {
                claims.azp
            } else {
                claims.appid
            },
            kind: if delegated {
                PermissionKind::Delegated
            } else {
                PermissionKind::Application
            },
            user_id: delegated.then_some(claims.oid),
            user_principal_name: claims.upn,
            permissions,
        }
    }
}

/// Whether `aud` names Microsoft Graph, or the emulator itself at one of its own origins (from
/// its configuration and listener, never from the request's `Host`).
pub(crate) fn is_graph_audience(aud: &str, origins: &Origins) -> bool {
    let aud = aud.trim_end_matches('/');
    aud.eq_ignore_ascii_case(GRAPH_RESOURCE)
        || aud.eq_ignore_ascii_case(GRAPH_APP_ID)
        || origins.is_own(aud)
}

/// The issuer of tokens for `tenant_id`.
pub(crate) fn issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// Checks the `Authorization: Bearer` header of a Graph request.
pub(crate) fn authenticate(
    keys: &SigningKeys,
    headers: &HeaderMap,
    origins: &Origins,
    now: u64,
) -> Result<Arc<Authenticated>, ApiError> {
    let token = bearer(headers).ok_or(ApiError::InvalidToken(AuthFailure::Missing))?;
    let verified = keys.verify(token).map_err(ApiError::InvalidToken)?;
    let claims = &verified.claims;
    if !verified.issuer_ok {
        return Err(ApiError::InvalidToken(AuthFailure::WrongIssuer));
    }
    if !is_graph_audience(&claims.aud, origins) {
        return Err(ApiError::InvalidToken(AuthFailure::WrongAudience));
    }
    if now >= claims.exp {
        return Err(ApiError::InvalidToken(AuthFailure::Expired));
    }
    if claims.nbf > now + NBF_SKEW {
        return Err(ApiError::InvalidToken(AuthFailure::NotYetValid));
    }
    Ok(verified)
}

/// The token of an `Authorization: Bearer …` header (scheme matched case-insensitively).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What a token is for: an app alone, or a user through an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// Application permissions.
    App {
        /// `roles`.
        roles: Vec<String>,
    },
    /// Delegated permissions.
    User {
        /// The user's object id.
        oid: String,
        /// The user's principal name.
        upn: String,
        /// The user's display name.
        name: String,
        /// `scp`.
        scopes: Vec<String>,
    },
}

/// Everything needed to issue one access token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRequest {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) app_display_name: Option<String>,
    pub(crate) audience: String,
    pub(crate) principal: Principal,
    pub(crate) confidential: bool,
    pub(crate) lifetime: Duration,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) claims: Claims,
}

/// Issues an access token at Unix time `now`.
pub(crate) fn issue(
    keys: &SigningKeys,
    request: TokenRequest,
    now: u64,
) -> Result<IssuedToken, ApiError> {
    let lifetime = request.lifetime.as_secs().max(1);
    let exp = now.checked_add(lifetime).ok_or_else(|| {
        ApiError::bad_request(format!(
            "a token lifetime of {lifetime} s from {now} overflows the expiry time"
        ))
    })?;
    let (oid, sub, idtyp, roles, scp, upn, name) = match request.principal {
        Principal::App { roles } => {
            let sp = service_principal_id(&request.tenant_id, &request.client_id);
            (sp.clone(), sp, "app", Some(roles), None, None, None)
        }
        Principal::User {
            oid,
            upn,
            name,
            scopes,
        } => {
            let sub = derived_id(&format!("sub|{oid}|{}", request.client_id));
            (
                oid,
                sub,
                "user",
                None,
                Some(scopes.join(" ")),
                Some(upn),
                Some(name),
            )
        }
    };
    let claims = Claims {
        aud: request.audience,
        iss: issuer(&request.tenant_id),
        iat: now,
        nbf: now,
        exp,
        app_displayname: request.app_display_name,
        appid: request.client_id.clone(),
        appidacr: if request.confidential { "1" } else { "0" }.to_owned(),
        azp: request.client_id,
        idtyp: idtyp.to_owned(),
        oid,
        sub,
        tid: request.tenant_id,
        roles,
        scp,
        upn,
        name,
        uti: uuid::Uuid::new_v4().simple().to_string(),
        ver: "1.0".to_owned(),
    };
    let access_token = keys.sign(&claims)?;
    Ok(IssuedToken {
        access_token,
        expires_in: lifetime,
        claims,
    })
}

/// A stable GUID for an app's service principal in a tenant.
pub(crate) fn service_principal_id(tenant_id: &str, client_id: &str) -> String {
    derived_id(&format!(
        "sp|{}|{}",
        tenant_id.to_ascii_lowercase(),
        client_id.to_ascii_lowercase()
    ))
}

/// A GUID derived from `name` (UUID v5 in the URL namespace): stable across runs.
pub(crate) fn derived_id(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    pub(crate) fn keys() -> &'static SigningKeys {
        static KEYS: OnceLock<SigningKeys> = OnceLock::new();
        KEYS.get_or_init(|| SigningKeys::generate().unwrap())
    }

    fn app_token(now: u64, audience: &str) -> String {
        issue(
            keys(),
            TokenRequest {
                tenant_id: "t1".into(),
                client_id: "c1".into(),
                app_display_name: Some("App".into()),
                audience: audience.into(),
                principal: Principal::App {
                    roles: vec!["TeamsAppInstallation.ReadWriteForChat.All".into()],
                },
                confidential: true,
                lifetime: Duration::from_hours(1),
            },
            now,
        )
        .unwrap()
        .access_token
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    fn failure(result: Result<Arc<Authenticated>, ApiError>) -> AuthFailure {
        match result {
            Err(ApiError::InvalidToken(f)) => f,
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    #[test]
    fn a_fresh_token_authenticates_as_its_app() {
        let token = app_token(1000, GRAPH_RESOURCE);
        let verified =
            authenticate(keys(), &headers(&token), &Origins::new(&[]).unwrap(), 1000).unwrap();
        let caller = &verified.caller;
        assert_eq!(caller.tenant_id, "t1");
        assert_eq!(caller.client_id, "c1");
        assert_eq!(caller.kind, PermissionKind::Application);
        assert_eq!(
            caller.permissions,
            ["TeamsAppInstallation.ReadWriteForChat.All"]
        );
        assert_eq!(caller.user_id, None);
    }

    #[test]
    fn every_bad_token_is_a_401_with_its_reason() {
        let origin = "http://127.0.0.1:1";
        let own_origins = Origins::new(&[]).unwrap();
        let origins = &own_origins;
        assert_eq!(
            failure(authenticate(keys(), &HeaderMap::new(), origins, 0)),
            AuthFailure::Missing
        );
        assert_eq!(
            failure(authenticate(keys(), &headers("abc"), origins, 0)),
            AuthFailure::Malformed
        );
        let token = app_token(1000, GRAPH_RESOURCE);
        assert_eq!(
            failure(authenticate(keys(), &headers(&token), origins, 4600)),
            AuthFailure::Expired
        );
        let wrong = app_token(1000, "api://other");
        assert_eq!(
            failure(authenticate(keys(), &headers(&wrong), origins, 1000)),
            AuthFailure::WrongAudience
        );
        let own = app_token(1000, origin);
        assert!(authenticate(keys(), &headers(&own), origins, 1000).is_ok());
        // The request's Host does not make an audience the emulator's own.
        let foreign = app_token(1000, "http://evil.example");
        assert_eq!(
            failure(authenticate(keys(), &headers(&foreign), origins, 1000)),
            AuthFailure::WrongAudience
        );
        // Forged: same claims signed by another key.
        let other = SigningKeys::generate().unwrap();
        let claims = keys().verify(&token).unwrap();
        let mut forged = other.sign(&claims.claims).unwrap();
        assert_eq!(
            failure(authenticate(keys(), &headers(&forged), origins, 1000)),
            AuthFailure::BadSignature
        );
        // Forged: a valid header and payload with someone else's signature.
        let (head, _) = token.rsplit_once('.').unwrap();
        let (_, sig) = forged.rsplit_once('.').unwrap();
        forged = format!("{head}.{sig}");
        assert_eq!(
            failure(authenticate(keys(), &headers(&forged), origins, 1000)),
            AuthFailure::BadSignature
        );
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let again = SigningKeys::from_pem(keys().private_pem()).unwrap();
        let token = app_token(5, GRAPH_RESOURCE);
        assert!(again.verify(&token).is_ok());
        assert_eq!(again.jwks(), keys().jwks());
        assert_eq!(keys().jwks()["keys"][0]["kty"], "RSA");
    }
}
