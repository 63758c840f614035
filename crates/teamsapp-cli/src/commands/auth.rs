//! `teamsapp auth login|token|status|logout`, over the token cache (`crate::token_cache`).

use crate::cli::{AuthCommand, GlobalArgs};
use crate::context::{
    self, CredentialError, Need, Selected, UsageError, base_builder, check_client_id,
    credential_error, read_secret, tune,
};
use crate::embedded::DEMO_USER;
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::record;
use crate::token_cache::{Cached, TokenCache, claims, now, rfc3339};
use anyhow::Result;
use secrecy::ExposeSecret;
use serde_json::Value;
use teamsapp_client::{Client, ClientSecretCredential, DeviceCodeCredential};

const STATUS_COLUMNS: &[&str] = &[
    "credential",
    "why",
    "tenant",
    "clientId",
    "identity",
    "user",
    "roles",
    "scopes",
    "expiresAt",
    "authority",
    "baseUrl",
];

/// Runs one auth command.
pub(crate) async fn run(global: &GlobalArgs, command: AuthCommand) -> Result<(Report, ExitStatus)> {
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
            // The cached sign-in, renewed first when it has expired; without one, the credential
            // any command would use signs in now (the embedded emulator, which caches nothing;
            // a token; a client secret).
            let cached = cache.load(global.tenant.as_deref())?;
            if global.emulator
                || (cached.is_none()
                    && !matches!(
                        context::select(global, Need::Any),
                        Ok(context::Selected::Cached(_)) | Err(_)
                    ))
            {
                let ctx = context::Context::new(global, Need::Any).await?;
                let token = ctx.client.access_token().await;
                ctx.finish().await?;
                return Ok((
                    Report::raw(format!("{}\n", token?.secret().expose_secret())),
                    ExitStatus::Success,
                ));
            }
            let Some(cached) = cached else {
                return credential_error(
                    "no cached sign-in; run `teamsapp auth login` (--device-code for a user)",
                );
            };
            let cached = if cached.is_expired() {
                renew(global, &cache, cached).await?
            } else {
                cached
            };
            // Printing the token is what this command is for (like `az account get-access-token`):
            // the token and a newline, nothing else, so `T=$(teamsapp auth token)` works.
            Ok((
                Report::raw(format!("{}\n", cached.access_token)),
                ExitStatus::Success,
            ))
        }
        AuthCommand::Status => status(global).await,
        AuthCommand::Login { device_code } => login(global, &cache, device_code).await,
    }
}

/// Renews an expiring cached app token with the client secret at hand; a user must sign in again.
async fn renew(global: &GlobalArgs, cache: &TokenCache, cached: Cached) -> Result<Cached> {
    let expired = cached.expires_at_rfc3339();
    if cached.is_delegated() {
        return credential_error(format!(
            "the cached sign-in of {} expires at {expired}; run `teamsapp auth login --device-code` again",
            cached.user.as_deref().unwrap_or("the user")
        ));
    }
    let Some(secret) = read_secret(
        "TEAMSAPP_CLIENT_SECRET",
        global.client_secret_file.as_deref(),
    )?
    else {
        return credential_error(format!(
            "the cached app token expires at {expired}; set TEAMSAPP_CLIENT_SECRET (or \
             --client-secret-file) to renew it, or run `teamsapp auth login` again"
        ));
    };
    let cloud = context::cloud(global)?;
    let authority = match (&global.authority, &cached.authority) {
        (None, Some(a)) => a.clone(),
        _ => context::authority(global, cloud)?,
    };
    let client = tune(base_builder(global)?.cloud(cloud), global)?
        .authority(authority.clone())
        .tenant(cached.tenant.clone())
        .credential(
            ClientSecretCredential::new(cached.tenant.clone(), cached.client_id.clone(), secret)
                .with_authority(authority.clone()),
        )
        .build()?;
    let renewed = fetch(&client, &cached.tenant, &cached.client_id, &authority, None).await?;
    cache.store(&renewed)?;
    Ok(renewed)
}

/// Gets a token from `client`'s credential and makes it a cache entry.
async fn fetch(
    client: &Client,
    tenant: &str,
    client_id: &str,
    authority: &str,
    user: Option<String>,
) -> Result<Cached> {
    let token = client.access_token().await?;
    let lifetime = token
        .expires_at()
        .saturating_duration_since(tokio::time::Instant::now());
    let access_token = token.secret().expose_secret().to_owned();
    let user = user.or_else(|| {
        claims(&access_token).and_then(|c| {
            c.get("upn")
                .or_else(|| c.get("preferred_username"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    });
    Ok(Cached {
        tenant: tenant.to_owned(),
        client_id: client_id.to_owned(),
        access_token,
        expires_at: (now() + lifetime).as_secs(),
        user,
        authority: Some(authority.to_owned()),
    })
}

/// `auth login`: device code (a user) or the client secret (the app), cached.
async fn login(
    global: &GlobalArgs,
    cache: &TokenCache,
    device_code: bool,
) -> Result<(Report, ExitStatus)> {
    if global.emulator {
        return emulator_login(global, device_code).await;
    }
    let (Some(tenant), Some(client_id)) = (global.tenant.clone(), global.client_id.clone()) else {
        return credential_error(
            "auth login needs --tenant and --client-id (or TEAMSAPP_TENANT and TEAMSAPP_CLIENT_ID); \
             or try it on the embedded emulator: `teamsapp --emulator auth login --device-code`",
        );
    };
    check_client_id(&client_id)?;
    let cloud = context::cloud(global)?;
    let authority = context::authority(global, cloud)?;
    let mut builder = tune(base_builder(global)?.cloud(cloud), global)?
        .authority(authority.clone())
        .tenant(tenant.clone());
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url.clone());
    }
    let client = if device_code {
        let credential = DeviceCodeCredential::new(tenant.clone(), client_id.clone(), |prompt| {
            #[allow(
                clippy::print_stderr,
                reason = "the sign-in instruction is for the person at the terminal"
            )]
            {
                eprintln!("{}", prompt.message);
            }
        })
        .with_authority(authority.clone());
        builder.credential(credential).build()?
    } else {
        let Some(secret) = read_secret(
            "TEAMSAPP_CLIENT_SECRET",
            global.client_secret_file.as_deref(),
        )?
        else {
            return credential_error(
                "auth login without --device-code signs the app in with its secret: set \
                 TEAMSAPP_CLIENT_SECRET or --client-secret-file (or sign a user in with --device-code)",
            );
        };
        builder
            .credential(
                ClientSecretCredential::new(tenant.clone(), client_id.clone(), secret)
                    .with_authority(authority.clone()),
            )
            .build()?
    };
    let cached = fetch(&client, &tenant, &client_id, &authority, None).await?;
    cache.store(&cached)?;
    let rec = record! {
        "result" => "signed in",
        "tenant" => tenant,
        "identity" => if cached.is_delegated() { "user" } else { "app" },
        "user" => cached.user,
        "expiresAt" => cached.expires_at_rfc3339(),
        "cache" => cache.path.display().to_string(),
    };
    Ok((
        Report::single(
            &["result", "tenant", "identity", "user", "expiresAt", "cache"],
            rec,
        ),
        ExitStatus::Success,
    ))
}

/// `--emulator auth login`: the embedded emulator lives for this command only, so its sign-in is
/// shown, not cached; other `--emulator` commands sign in the same way by themselves.
async fn emulator_login(global: &GlobalArgs, device_code: bool) -> Result<(Report, ExitStatus)> {
    let need = if device_code {
        Need::Delegated
    } else {
        Need::Any
    };
    let ctx = context::Context::new(global, need).await?;
    let result = ctx.client.access_token().await;
    let authority = ctx.client.authority().to_owned();
    let tenant = ctx.tenant.clone();
    ctx.finish().await?;
    let token = result?;
    let claims = claims(token.secret().expose_secret()).unwrap_or_default();
    let rec = record! {
        "result" => "signed in",
        "tenant" => tenant,
        "identity" => if device_code { "user" } else { "app" },
        "user" => device_code.then_some(DEMO_USER),
        "scopes" => words(claims.get("scp")),
        "roles" => claims.get("roles").cloned().unwrap_or(Value::Null),
        "authority" => authority,
        "cache" => Value::Null,
        "note" => "the embedded emulator lives for one command: nothing is cached; every --emulator command signs in like this by itself",
    };
    Ok((
        Report::single(
            &[
                "result",
                "tenant",
                "identity",
                "user",
                "scopes",
                "roles",
                "authority",
                "cache",
                "note",
            ],
            rec,
        ),
        ExitStatus::Success,
    ))
}

fn words(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str) {
        Some(s) => Value::Array(s.split_whitespace().map(Value::from).collect()),
        None => Value::Null,
    }
}

/// `auth status`: which credential a command would use and why, and what it carries.
async fn status(global: &GlobalArgs) -> Result<(Report, ExitStatus)> {
    let cloud = context::cloud(global)?;
    let selected = match context::select(global, Need::Any) {
        Ok(selected) => selected,
        // No usable credential: say so in the chosen format, and exit 3.
        Err(err) if err.downcast_ref::<CredentialError>().is_some() => {
            let rec = record! {
                "credential" => Value::Null,
                "why" => err.to_string(),
                "tenant" => global.tenant,
                "clientId" => global.client_id,
                "authority" => context::authority(global, cloud)?,
            };
            return Ok((Report::single(STATUS_COLUMNS, rec), ExitStatus::Credentials));
        }
        Err(err) => return Err(err),
    };
    let mut rec = record! {
        "credential" => selected.name(),
        "why" => selected.why(Need::Any),
        "tenant" => global.tenant,
        "clientId" => global.client_id,
        "identity" => Value::Null,
        "user" => Value::Null,
        "roles" => Value::Null,
        "scopes" => Value::Null,
        "expiresAt" => Value::Null,
        "authority" => context::authority(global, cloud)?,
        "baseUrl" => global.base_url.clone().unwrap_or_else(|| format!("https://{}/v1.0", cloud.graph_host())),
    };
    let token = match &selected {
        Selected::Emulator { .. } => {
            let ctx = context::Context::new(global, Need::Any).await?;
            let token = ctx.client.access_token().await;
            rec.insert("authority".into(), ctx.client.authority().into());
            rec.insert("baseUrl".into(), ctx.client.base_url().into());
            if let Some(emulator) = &ctx.emulator {
                rec.insert("tenant".into(), emulator.tenant_id().into());
                rec.insert("clientId".into(), emulator.client_id().into());
            }
            ctx.finish().await?;
            Some(token?.secret().expose_secret().to_owned())
        }
        Selected::Token { token, .. } => Some(token.clone()),
        // Getting a token proves the secret works, and shows the roles it carries.
        Selected::Secret { .. } => {
            let ctx = context::Context::new(global, Need::Any).await?;
            Some(
                ctx.client
                    .access_token()
                    .await?
                    .secret()
                    .expose_secret()
                    .to_owned(),
            )
        }
        Selected::Cached(c) => {
            rec.insert("tenant".into(), c.tenant.clone().into());
            rec.insert("clientId".into(), c.client_id.clone().into());
            rec.insert("user".into(), c.user.clone().into());
            rec.insert("expiresAt".into(), c.expires_at_rfc3339().into());
            if let Some(a) = &c.authority {
                rec.insert("authority".into(), a.clone().into());
            }
            Some(c.access_token.clone())
        }
    };
    if let Some(claims) = token.as_deref().and_then(claims) {
        let delegated = claims.get("scp").is_some();
        rec.insert(
            "identity".into(),
            if delegated { "user" } else { "app" }.into(),
        );
        if let Some(tid) = claims.get("tid") {
            rec.insert("tenant".into(), tid.clone());
        }
        if let Some(appid) = claims.get("appid").or_else(|| claims.get("azp")) {
            rec.insert("clientId".into(), appid.clone());
        }
        if let Some(upn) = claims
            .get("upn")
            .or_else(|| claims.get("preferred_username"))
        {
            rec.insert("user".into(), upn.clone());
        }
        if let Some(roles) = claims.get("roles") {
            rec.insert("roles".into(), roles.clone());
        }
        rec.insert("scopes".into(), words(claims.get("scp")));
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
            rec.insert("expiresAt".into(), rfc3339(exp).into());
        }
    }
    Ok((Report::single(STATUS_COLUMNS, rec), ExitStatus::Success))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn claims_of_a_jwt_and_of_an_opaque_token() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scp":"AppCatalog.ReadWrite.All User.Read","tid":"t"}"#);
        let c = claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(c["tid"], "t");
        assert_eq!(
            words(c.get("scp")),
            serde_json::json!(["AppCatalog.ReadWrite.All", "User.Read"])
        );
        assert!(claims("opaque").is_none());
    }
}
