//! The Microsoft identity platform, as far as Graph clients need it:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: `client_credentials` (client id and secret from the form
//!   or HTTP Basic, checked against the directory; `scope` must end in `/.default`) and the
//!   device code grant;
//! - `POST /{tenant}/oauth2/v2.0/devicecode`: starts the device code flow; a code is approved
//!   with `POST /_emulator/devicecode/approve` (or automatically, when configured);
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/v2.0/keys`
//!   (the JWKS of the RS256 signing key) and `GET /{tenant}/discovery/instance`, which MSAL
//!   fetches before it asks for a token.
//!
//! Errors are in the identity platform's shape: `error`, `error_description` (starting with the
//! `AADSTS` code and ending with trace id, correlation id and timestamp), `error_codes`,
//! `timestamp`, `trace_id`, `correlation_id`, `error_uri`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rand::RngExt as _;
use serde_json::json;

use crate::auth::{self, Principal, TokenRequest};
use crate::context::{CallMeta, RequestContext, identity_layer};
use crate::device_codes::{Approval, PendingCode};
use crate::identity::{
    DirectoryUser, GRAPH_APP_ID, GRAPH_RESOURCE, IdentityRegistry, IdentityTenant,
    MULTI_TENANT_ALIASES,
};
use crate::origins::Origins;
use crate::state::AppState;
use crate::sync::lock;

/// The device code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Scopes that are about the sign-in, not about Graph.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// The identity routes and their middleware.
pub(crate) fn identity_router(state: &AppState) -> axum::Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/discovery/keys", get(keys))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/instance", get(instance_discovery))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity_layer,
        ))
}

/// An error of the identity platform.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, code: u32, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    /// `421`: the request's `Host` is not one the emulator answers as its own (DNS rebinding).
    pub(crate) fn misdirected(host: &str) -> Self {
        Self {
            status: StatusCode::MISDIRECTED_REQUEST,
            ..Self::new(
                "invalid_request",
                900_023,
                format!(
                    "This emulator does not answer for the host {host:?}: it answers IP \
                     addresses, localhost and the origins it was configured with (--origin)."
                ),
            )
        }
    }

    /// `504`: the request's body or answer did not come within the request timeout; Entra's
    /// transient error (`AADSTS90033`), the nearest it has to a timed-out request.
    pub(crate) fn timed_out() -> Self {
        Self {
            status: StatusCode::GATEWAY_TIMEOUT,
            ..Self::new(
                "temporarily_unavailable",
                90_033,
                "The request timed out before its body arrived or its answer was ready. Please \
                 try again.",
            )
        }
    }

    fn missing(parameter: &str) -> Self {
        Self::new(
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    pub(crate) fn render(self, state: &AppState, ctx: Option<&RequestContext>) -> Response {
        let trace_id = ctx.map_or_else(
            || uuid::Uuid::new_v4().to_string(),
            |c| c.request_id().to_owned(),
        );
        let correlation_id = ctx.map_or_else(
            || uuid::Uuid::new_v4().to_string(),
            |c| c.client_request_id().to_owned(),
        );
        let now = state.clock().now_utc();
        let timestamp = format!(
            "{} {:02}:{:02}:{:02}Z",
            now.date(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"login.microsoftonline.com\""),
            );
        }
        response
    }
}

fn json_ok(body: &serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// The form's value for `name` (first occurrence).
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Client id and secret from HTTP Basic, if sent.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((decode_component(id), decode_component(secret)))
}

async fn read_form(request: Request) -> Result<(HeaderMap, Vec<(String, String)>), OAuthError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        OAuthError::new("invalid_request", 900_144, "The request body is too large.")
    })?;
    let form = form_urlencoded::parse(&bytes).into_owned().collect();
    Ok((parts.headers, form))
}

/// Decodes one `application/x-www-form-urlencoded` component of a Basic credential (RFC 6749
/// §2.3.1): `+` is a space, then percent-decoding; invalid UTF-8 is replaced, never rejected.
fn decode_component(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The resource a scope names (`https://graph.microsoft.com/.default` → Graph), and the scope's
/// short name (`https://graph.microsoft.com/Chat.Read` → `Chat.Read`).
fn split_scope<'a>(scope: &'a str, origin: &str) -> (Option<&'static str>, &'a str) {
    let lower = scope.to_ascii_lowercase();
    for resource in [GRAPH_RESOURCE, GRAPH_APP_ID] {
        if lower.starts_with(&format!("{resource}/")) {
            return (Some(GRAPH_RESOURCE), &scope[resource.len() + 1..]);
        }
    }
    if !origin.is_empty() && lower.starts_with(&format!("{}/", origin.to_ascii_lowercase())) {
        return (Some("origin"), &scope[origin.len() + 1..]);
    }
    (None, scope)
}

fn resource_not_found(resource: &str, tenant: &str) -> OAuthError {
    OAuthError::new(
        "invalid_resource",
        500_011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. \
             This can happen if the application has not been installed by the administrator of \
             the tenant or consented to by any user in the tenant. You might have sent your \
             authentication request to the wrong tenant."
        ),
    )
}

fn tenant_not_found(name: &str) -> OAuthError {
    OAuthError::new(
        "invalid_request",
        90_002,
        format!(
            "Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are \
             signing into the correct cloud."
        ),
    )
}

fn app_not_found(client_id: &str, tenant: &str) -> OAuthError {
    OAuthError::new(
        "unauthorized_client",
        700_016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory \
             '{tenant}'. This can happen if the application has not been installed by the \
             administrator of the tenant or consented to by any user in the tenant. You may have \
             sent your authentication request to the wrong tenant."
        ),
    )
}

fn request_context(request: &Request) -> Option<Arc<RequestContext>> {
    request.extensions().get::<Arc<RequestContext>>().cloned()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    request: Request,
) -> Response {
    let ctx = request_context(&request);
    let result = match read_form(request).await {
        Ok((headers, form)) => match field(&form, "grant_type") {
            None => Err(OAuthError::missing("grant_type")),
            Some("client_credentials") => client_credentials(&state, &tenant, &headers, &form),
            Some(DEVICE_CODE_GRANT) => redeem_device_code(&state, &tenant, &form),
            Some(other) => Err(OAuthError::new(
                "unsupported_grant_type",
                70_003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        },
        Err(error) => Err(error),
    };
    match result {
        Ok((body, meta)) => {
            lock(&state.inner.metrics).tokens_issued += 1;
            let mut response = json_ok(&body);
            response.extensions_mut().insert(meta);
            response
        }
        Err(error) => error.render(&state, ctx.as_deref()),
    }
}

fn client_credentials(
    state: &AppState,
    tenant_name: &str,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<(serde_json::Value, CallMeta), OAuthError> {
    let basic = basic_credentials(headers);
    let client_id = field(form, "client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
        .ok_or_else(|| OAuthError::missing("client_id"))?;
    let secret = field(form, "client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, secret)| secret));
    if MULTI_TENANT_ALIASES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(tenant_name))
    {
        return Err(OAuthError::new(
            "invalid_request",
            50_059,
            "No tenant-identifying information found in either the request or implied by any \
             provided credentials.",
        ));
    }
    let registry = state.read_identity();
    let tenant = registry
        .tenant(tenant_name)
        .ok_or_else(|| tenant_not_found(tenant_name))?;
    let app = tenant
        .app(&client_id)
        .ok_or_else(|| app_not_found(&client_id, &tenant.id))?;
    if secret.is_none() && field(form, "client_assertion").is_some() {
        return Err(OAuthError::new(
            "invalid_client",
            7_000_218,
            "This emulator does not accept client assertions (certificates): use the app's client \
             secret (its tenant file's clientSecret).",
        ));
    }
    let Some(secret) = secret else {
        return Err(OAuthError::new(
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        ));
    };
    if !app.secrets.iter().any(|s| s.matches(&secret)) {
        return Err(OAuthError::new(
            "invalid_client",
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is \
                 the client secret value, not the client secret ID, for a secret added to app \
                 '{}'.",
                app.client_id
            ),
        ));
    }
    refuse_published_secret(state, &secret)?;
    let scope = field(form, "scope").ok_or_else(|| OAuthError::missing("scope"))?;
    let scope = scope.trim();
    let Some(resource) = scope
        .strip_suffix("/.default")
        .filter(|_| !scope.contains(' '))
    else {
        return Err(OAuthError::new(
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must \
                 have a scope value with /.default suffixed to the resource identifier \
                 (application ID URI)."
            ),
        ));
    };
    let audience = audience_for(resource, state.origins())
        .ok_or_else(|| resource_not_found(resource, &tenant.id))?;
    let request = TokenRequest {
        tenant_id: tenant.id.clone(),
        client_id: app.client_id.clone(),
        app_display_name: Some(app.display_name.clone()).filter(|n| !n.is_empty()),
        audience,
        principal: Principal::App {
            roles: app.roles.clone(),
        },
        confidential: true,
        lifetime: state.config().token_lifetime,
    };
    let meta = CallMeta {
        operation_id: Some("oauth2.token.client_credentials"),
        tenant: Some(tenant.id.as_str().into()),
        app: Some(app.client_id.as_str().into()),
    };
    drop(registry);
    let issued =
        auth::issue(state.keys(), request, state.clock().unix_seconds()).map_err(|_| {
            OAuthError::new(
                "server_error",
                90_033,
                "A transient error has occurred. Please try again.",
            )
        })?;
    Ok((
        json!({
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }),
        meta,
    ))
}

/// The `aud` for a resource named in a scope: Graph, or the emulator itself at one of its own
/// origins (configured or listened on; never the request's `Host`).
fn audience_for(resource: &str, origins: &Origins) -> Option<String> {
    let trimmed = resource.trim_end_matches('/');
    if trimmed.eq_ignore_ascii_case(GRAPH_RESOURCE) || trimmed.eq_ignore_ascii_case(GRAPH_APP_ID) {
        Some(GRAPH_RESOURCE.to_owned())
    } else if origins.is_own(trimmed) {
        Some(trimmed.to_owned())
    } else {
        None
    }
}

/// The client secrets published with the demo tenant (in the README and the banner).
const PUBLISHED_SECRETS: [&str; 2] = [
    teamsapp_model::demo::CREDENTIALS.client_secret,
    teamsapp_model::demo::SELF_APP_CREDENTIALS.client_secret,
];

/// Refuses a published demo secret when the emulator listens beyond loopback, unless the
/// configuration allows it: anyone who can reach the port knows those secrets.
fn refuse_published_secret(state: &AppState, secret: &str) -> Result<(), OAuthError> {
    if state.on_loopback()
        || state.config().allow_demo_credentials
        || !PUBLISHED_SECRETS.contains(&secret)
    {
        return Ok(());
    }
    Err(OAuthError::new(
        "invalid_client",
        7_000_215,
        "Invalid client secret provided. This emulator listens beyond loopback, where the \
         published demo client secrets are refused: load a tenant file with a secret of your \
         own, or start it with --allow-demo-credentials.",
    ))
}

fn random_code(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
async fn device_code(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    request: Request,
) -> Response {
    let ctx = request_context(&request);
    let origin = ctx
        .as_ref()
        .map(|c| c.origin.to_string())
        .unwrap_or_default();
    let result = match read_form(request).await {
        Ok((_, form)) => start_device_flow(&state, &tenant, &form, &origin),
        Err(error) => Err(error),
    };
    match result {
        Ok(body) => json_ok(&body),
        Err(error) => error.render(&state, ctx.as_deref()),
    }
}

fn start_device_flow(
    state: &AppState,
    tenant_name: &str,
    form: &[(String, String)],
    origin: &str,
) -> Result<serde_json::Value, OAuthError> {
    let client_id = field(form, "client_id").ok_or_else(|| OAuthError::missing("client_id"))?;
    let scope = field(form, "scope").ok_or_else(|| OAuthError::missing("scope"))?;
    let multi = MULTI_TENANT_ALIASES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(tenant_name));
    {
        let registry = state.read_identity();
        let known = if multi {
            registry.tenant_of_app(client_id).is_some()
        } else {
            let tenant = registry
                .tenant(tenant_name)
                .ok_or_else(|| tenant_not_found(tenant_name))?;
            tenant.app(client_id).is_some()
        };
        if !known {
            return Err(app_not_found(client_id, tenant_name));
        }
    }
    let mut scopes = Vec::new();
    let mut default_scope = false;
    let mut wants_openid = false;
    let mut audience = GRAPH_RESOURCE.to_owned();
    for word in scope.split_whitespace() {
        if OIDC_SCOPES.iter().any(|s| s.eq_ignore_ascii_case(word)) {
            wants_openid |= word.eq_ignore_ascii_case("openid");
            continue;
        }
        let (resource, name) = split_scope(word, origin);
        if resource == Some("origin") {
            origin.clone_into(&mut audience);
        }
        if resource.is_none() && word.contains("://") {
            let resource = word.rsplit_once('/').map_or(word, |(r, _)| r);
            return Err(resource_not_found(resource, tenant_name));
        }
        if name.eq_ignore_ascii_case(".default") {
            default_scope = true;
        } else if !scopes.iter().any(|s: &String| s.eq_ignore_ascii_case(name)) {
            scopes.push(name.to_owned());
        }
    }
    let user_code = random_code(9, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789");
    let device_code = random_code(
        64,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    );
    let settings = &state.config().device_codes;
    let now = state.clock().elapsed();
    let verification_uri = format!("{origin}/_emulator/devicelogin");
    let mut devices = lock(&state.inner.devices);
    devices.prune(now);
    devices.codes.push(PendingCode {
        device_code: device_code.clone(),
        user_code: user_code.clone(),
        tenant_hint: tenant_name.to_owned(),
        client_id: client_id.to_owned(),
        scopes,
        default_scope,
        wants_openid,
        audience,
        expires_at: now + settings.expires_in,
        approval: None,
    });
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": settings.expires_in.as_secs(),
        "interval": settings.interval,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the \
             code {user_code} to authenticate. (Emulator: POST {origin}/_emulator/devicecode/approve \
             with {{\"user_code\":\"{user_code}\",\"user\":\"<upn>\"}}.)"
        ),
    }))
}

/// The tenant and user that approve a code: the named user, in the code's tenant (or, for
/// `common`/`organizations`, the first tenant that has both the user and the app).
fn resolve_approver(
    registry: &IdentityRegistry,
    code: &PendingCode,
    login: Option<&str>,
) -> Option<(String, DirectoryUser)> {
    let candidates: Vec<&IdentityTenant> = match registry.tenant(&code.tenant_hint) {
        Some(tenant) => vec![tenant],
        None => registry
            .tenants
            .iter()
            .filter(|t| t.app(&code.client_id).is_some())
            .collect(),
    };
    candidates.into_iter().find_map(|tenant| {
        let user = match login {
            Some(login) => tenant.user(login)?,
            None => tenant.users.iter().find(|u| !u.personal_account)?,
        };
        Some((tenant.id.clone(), user.clone()))
    })
}

/// Approves the pending code `user_code` as `user` (`POST /_emulator/devicecode/approve`).
pub(crate) fn approve(
    state: &AppState,
    user_code: &str,
    user: &str,
    scopes: Option<Vec<String>>,
) -> Result<serde_json::Value, crate::error::ApiError> {
    use crate::error::ApiError;
    let wanted: String = user_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let now = state.clock().elapsed();
    let registry = state.read_identity();
    let mut devices = lock(&state.inner.devices);
    let code = devices
        .codes
        .iter_mut()
        .find(|c| c.user_code.eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| ApiError::NotFound {
            message: format!("no device code with user code {user_code:?}"),
        })?;
    if now >= code.expires_at {
        return Err(ApiError::bad_request(format!(
            "the device code {user_code:?} has expired"
        )));
    }
    let (tenant_id, user) =
        resolve_approver(&registry, code, Some(user)).ok_or_else(|| ApiError::NotFound {
            message: format!(
                "user {user:?} not found in a tenant where app {} is registered",
                code.client_id
            ),
        })?;
    let shown = json!({
        "approved": true,
        "userCode": code.user_code,
        "tenant": tenant_id,
        "user": user.user_principal_name,
        "app": code.client_id,
    });
    code.approval = Some(Approval {
        tenant_id,
        user,
        scopes,
    });
    Ok(shown)
}

fn redeem_device_code(
    state: &AppState,
    tenant_name: &str,
    form: &[(String, String)],
) -> Result<(serde_json::Value, CallMeta), OAuthError> {
    let device_code =
        field(form, "device_code").ok_or_else(|| OAuthError::missing("device_code"))?;
    let client_id = field(form, "client_id").ok_or_else(|| OAuthError::missing("client_id"))?;
    let now = state.clock().elapsed();
    let registry = state.read_identity();
    let mut devices = lock(&state.inner.devices);
    let index = devices
        .codes
        .iter()
        .position(|c| c.device_code == device_code && c.client_id.eq_ignore_ascii_case(client_id))
        .filter(|&i| {
            let hint = &devices.codes[i].tenant_hint;
            hint.eq_ignore_ascii_case(tenant_name)
                || MULTI_TENANT_ALIASES
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(tenant_name) || a.eq_ignore_ascii_case(hint))
                || registry.tenant(hint).map(|t| &t.id)
                    == registry.tenant(tenant_name).map(|t| &t.id)
        })
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_grant",
                70_000,
                "Provided grant is invalid or malformed.",
            )
        })?;
    if now >= devices.codes[index].expires_at {
        devices.codes.remove(index);
        return Err(OAuthError::new(
            "expired_token",
            70_020,
            "The provided value for the input parameter 'device_code' is not valid. This device \
             code has expired.",
        ));
    }
    let settings = &state.config().device_codes;
    if devices.codes[index].approval.is_none() && settings.auto_approve {
        let code = &devices.codes[index];
        if let Some((tenant_id, user)) =
            resolve_approver(&registry, code, settings.auto_approve_user.as_deref())
        {
            devices.codes[index].approval = Some(Approval {
                tenant_id,
                user,
                scopes: None,
            });
        }
    }
    let Some(approval) = devices.codes[index].approval.clone() else {
        return Err(OAuthError::new(
            "authorization_pending",
            70_016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ));
    };
    let code = devices.codes.remove(index);
    drop(devices);
    let tenant = registry.tenant(&approval.tenant_id);
    let app = tenant.and_then(|t| t.app(&code.client_id));
    let mut scopes = approval
        .scopes
        .clone()
        .unwrap_or_else(|| code.scopes.clone());
    if code.default_scope
        && approval.scopes.is_none()
        && let Some(tenant) = tenant
    {
        for granted in tenant.granted_scopes(&code.client_id, &approval.user) {
            if !scopes.iter().any(|s| s.eq_ignore_ascii_case(&granted)) {
                scopes.push(granted);
            }
        }
    }
    let request = TokenRequest {
        tenant_id: approval.tenant_id.clone(),
        client_id: code.client_id.clone(),
        app_display_name: app
            .map(|a| a.display_name.clone())
            .filter(|n| !n.is_empty()),
        audience: code.audience.clone(),
        principal: Principal::User {
            oid: approval.user.id.clone(),
            upn: approval.user.user_principal_name.clone(),
            name: approval.user.display_name.clone(),
            scopes: scopes.clone(),
        },
        confidential: false,
        lifetime: state.config().token_lifetime,
    };
    drop(registry);
    let now_s = state.clock().unix_seconds();
    let issued = auth::issue(state.keys(), request, now_s).map_err(|_| {
        OAuthError::new(
            "server_error",
            90_033,
            "A transient error has occurred. Please try again.",
        )
    })?;
    let shown_scopes: Vec<String> = scopes
        .iter()
        .map(|s| format!("{GRAPH_RESOURCE}/{s}"))
        .chain(["openid", "profile", "offline_access"].map(str::to_owned))
        .collect();
    let mut body = json!({
        "token_type": "Bearer",
        "scope": shown_scopes.join(" "),
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    });
    if code.wants_openid {
        let id_claims = json!({
            "aud": code.client_id,
            "iss": format!("https://login.microsoftonline.com/{}/v2.0", approval.tenant_id),
            "iat": now_s,
            "nbf": now_s,
            "exp": now_s + issued.expires_in,
            "name": approval.user.display_name,
            "oid": approval.user.id,
            "preferred_username": approval.user.user_principal_name,
            "sub": issued.claims.sub,
            "tid": approval.tenant_id,
            "ver": "2.0",
        });
        if let Ok(id_token) = state.keys().sign(&id_claims) {
            body["id_token"] = json!(id_token);
        }
        let client_info = json!({ "uid": approval.user.id, "utid": approval.tenant_id });
        body["client_info"] =
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(client_info.to_string()));
    }
    let meta = CallMeta {
        operation_id: Some("oauth2.token.device_code"),
        tenant: Some(approval.tenant_id.into()),
        app: Some(code.client_id.into()),
    };
    Ok((body, meta))
}

/// `GET /{tenant}/discovery/v2.0/keys`.
async fn keys(State(state): State<AppState>) -> Response {
    json_ok(&state.keys().jwks())
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    request: Request,
) -> Response {
    let origin = request_context(&request)
        .map(|c| c.origin.to_string())
        .unwrap_or_default();
    let tenant_id = state
        .read_identity()
        .tenant(&tenant)
        .map_or_else(|| "{tenantid}".to_owned(), |t| t.id.clone());
    json_ok(&json!({
        "token_endpoint": format!("{origin}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": format!("{origin}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{origin}/oidc/userinfo"),
        "authorization_endpoint": format!("{origin}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{origin}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": false,
        "frontchannel_logout_supported": false,
        "end_session_endpoint": format!("{origin}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "preferred_username"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": origin.trim_start_matches("https://").trim_start_matches("http://"),
    }))
}

/// `GET /{tenant}/discovery/instance` (MSAL's instance discovery).
async fn instance_discovery(request: Request) -> Response {
    let origin = request_context(&request)
        .map(|c| c.origin.to_string())
        .unwrap_or_default();
    let host = origin
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_owned();
    json_ok(&json!({
        "tenant_discovery_endpoint": format!("{origin}/common/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}
