//! The admin API under `/_emulator/` (no Graph token; open on a loopback listener, behind the
//! admin key otherwise):
//!
//! | method and path | what |
//! | --- | --- |
//! | `POST /_emulator/reset` | back to the initial state: the configured tenants, and those a [`TenantSource`](crate::TenantSource) makes again (`mock serve --tenant-file` reads its file again); `409` and nothing reset when it cannot |
//! | `POST /_emulator/tenants` | load a tenant spec (JSON) |
//! | `GET /_emulator/state` | summary: tenants, counts |
//! | `GET /_emulator/installations/{id}` | one installation: its version and upgrade count |
//! | `GET /_emulator/journal?limit=N` | the newest requests |
//! | `GET /_emulator/metrics` | requests by operation and status, 429s, faults, early retries, upgrades |
//! | `GET`/`PUT /_emulator/faults` | random faults ([`FaultConfig`]) |
//! | `GET`/`PUT /_emulator/throttle` | throttling ([`ThrottleConfig`]) |
//! | `GET`/`PUT /_emulator/scenarios` | scripted responses ([`Scenario`] list) |
//! | `POST /_emulator/token` | mint an access token ([`TokenSpec`]) |
//! | `POST /_emulator/devicecode/approve` | approve a device code: `{"user_code", "user"}` |
//! | `GET /_emulator/devicelogin` | how to approve a device code |

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::context::admin_layer;
use crate::error::ApiError;
use crate::faults::{FaultConfig, Scenario};
use crate::state::{AppState, TokenSpec};
use crate::throttle::ThrottleConfig;

/// The admin routes and their middleware.
pub(crate) fn admin_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/tenants", post(load_tenant))
        .route("/_emulator/state", get(summary))
        .route("/_emulator/installations/{id}", get(installation))
        .route("/_emulator/journal", get(journal))
        .route("/_emulator/metrics", get(metrics))
        .route("/_emulator/faults", get(faults).put(set_faults))
        .route("/_emulator/throttle", get(throttle).put(set_throttle))
        .route("/_emulator/scenarios", get(scenarios).put(set_scenarios))
        .route("/_emulator/token", post(token))
        .route("/_emulator/devicecode/approve", post(approve))
        .route("/_emulator/devicelogin", get(device_login))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config().admin_body_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin_layer,
        ))
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid json: {e}")))
}

fn ok(value: &serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

async fn reset(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.reset().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn load_tenant(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let spec: serde_json::Value = parse(&body)?;
    let loaded = state.backend().load_tenant(spec).await?;
    state.refresh_identity();
    Ok((StatusCode::CREATED, axum::Json(loaded)).into_response())
}

async fn summary(State(state): State<AppState>) -> Result<Response, ApiError> {
    let model = state.backend().summary().await?;
    let tenants: Vec<_> = state
        .read_identity()
        .tenants
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "domains": t.domains,
                "apps": t.apps.iter().map(|a| &a.client_id).collect::<Vec<_>>(),
                "users": t.users.len(),
            })
        })
        .collect();
    Ok(ok(&json!({
        "directory": tenants,
        "model": model,
        "journalEntries": state.journal(None).len(),
        "https": state.is_https(),
    })))
}

async fn installation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut value = state.backend().installation(id.clone()).await?;
    let canonical = teamsapp_types::AppInstallationId::new(id.as_str())
        .map_or(id, |id| id.canonical().into_inner());
    let upgrades = state
        .metrics()
        .upgrades
        .get(&canonical)
        .copied()
        .unwrap_or(0);
    if let Some(object) = value.as_object_mut() {
        object
            .entry("upgradeCount")
            .or_insert_with(|| json!(upgrades));
    }
    Ok(ok(&value))
}

#[derive(Debug, Deserialize)]
struct JournalQuery {
    limit: Option<usize>,
}

async fn journal(State(state): State<AppState>, Query(query): Query<JournalQuery>) -> Response {
    let entries = state.journal(query.limit);
    ok(&json!({ "entries": entries }))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.metrics();
    let early = state.early_retries();
    let mut value = serde_json::to_value(&metrics).unwrap_or_else(|_| json!({}));
    value["earlyRetries"] = json!(early);
    value["earlyRetriesTotal"] = json!(early.iter().map(|e| e.count).sum::<u64>());
    ok(&value)
}

async fn faults(State(state): State<AppState>) -> Response {
    ok(&json!(state.faults()))
}

async fn set_faults(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let faults: FaultConfig = parse(&body)?;
    state.set_faults(faults)?;
    Ok(ok(&json!(state.faults())))
}

async fn throttle(State(state): State<AppState>) -> Response {
    ok(&json!(state.throttle()))
}

async fn set_throttle(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let throttle: ThrottleConfig = parse(&body)?;
    state.set_throttle(throttle)?;
    Ok(ok(&json!(state.throttle())))
}

async fn scenarios(State(state): State<AppState>) -> Response {
    ok(&json!(state.scenarios()))
}

async fn set_scenarios(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let scenarios: Vec<Scenario> = parse(&body)?;
    state.set_scenarios(scenarios)?;
    Ok(ok(&json!(state.scenarios())))
}

async fn token(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let spec: TokenSpec = if body.is_empty() {
        TokenSpec::default()
    } else {
        parse(&body)?
    };
    let minted = state.mint_token(&spec)?;
    Ok(ok(&json!(minted)))
}

#[derive(Debug, Deserialize)]
struct Approve {
    user_code: String,
    user: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

async fn approve(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let approve: Approve = parse(&body)?;
    let shown = crate::oauth::approve(&state, &approve.user_code, &approve.user, approve.scopes)?;
    Ok(ok(&shown))
}

async fn device_login() -> &'static str {
    "teamsapp emulator: there is no sign-in page.\n\
     Approve a device code with:\n\
     curl -X POST <origin>/_emulator/devicecode/approve -H 'content-type: application/json' \
     -d '{\"user_code\":\"<code>\",\"user\":\"<upn or object id>\"}'\n"
}
