//! Router-level tests: the whole HTTP surface through `tower::ServiceExt::oneshot`, no socket,
//! with a stand-in backend ([`Echo`]) that answers each operation's documented success status
//! and echoes what the HTTP layer handed it. It knows nothing of Graph's rules: those are the
//! model's, tested there.

mod admin;
mod auth;
mod batch;
mod beta;
mod durability;
mod errors;
mod faults;
mod hostile;
mod model;
mod navigation;
mod permissions;
mod routing;
mod serving;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use teamsapp_types::operation::ResponseShape;
use tower::ServiceExt as _;

use crate::backend::{BoxFuture, GraphBackend, GraphCall, GraphReply};
use crate::{
    ApiError, AppRegistration, AppState, ClientSecret, DelegatedGrant, DirectoryUser,
    EmulatorConfig, IdentityRegistry, IdentityTenant, ManualClock, TokenSpec, router,
};

pub(crate) const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub(crate) const DOMAIN: &str = "contoso.onmicrosoft.com";
pub(crate) const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub(crate) const SECRET: &str = "emulator-secret";
pub(crate) const USER: &str = "adele@contoso.onmicrosoft.com";
pub(crate) const USER_ID: &str = "99999999-8888-7777-6666-555555555555";
pub(crate) const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
pub(crate) const INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";

/// The upgrade path of the seed's example, SDK-encoded.
pub(crate) fn upgrade_path(installation: &str) -> String {
    format!(
        "/v1.0{}",
        teamsapp_types::routes::UPGRADE_CHAT_APP.render(&[CHAT, installation])
    )
}

/// Answers every operation with its documented success status; JSON operations get a body that
/// shows what the HTTP layer passed on.
#[derive(Debug, Default)]
pub(crate) struct Echo;

impl GraphBackend for Echo {
    fn call(&self, call: GraphCall) -> BoxFuture<'_, Result<GraphReply, ApiError>> {
        Box::pin(async move {
            let body = match call.route.response {
                ResponseShape::Empty => None,
                _ => Some(json!({
                    "operationId": call.route.operation_id,
                    "version": call.version.segment(),
                    "params": call.params.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
                    "query": call.query.iter().map(|(n, v)| json!([n.name(), v])).collect::<Vec<_>>(),
                    "caller": {
                        "tenant": call.caller.caller.tenant_id,
                        "app": call.caller.caller.client_id,
                        "kind": call.caller.caller.kind.name(),
                        "user": call.caller.caller.user_id,
                        "permissions": call.caller.caller.permissions,
                    },
                    "bodyLength": call.body.len(),
                    "origin": &*call.origin,
                })),
            };
            Ok(GraphReply {
                status: call.route.success,
                headers: Vec::new(),
                body,
            })
        })
    }
}

/// A backend that takes an hour to answer.
#[derive(Debug, Default)]
pub(crate) struct Slow;

impl GraphBackend for Slow {
    fn call(&self, _call: GraphCall) -> BoxFuture<'_, Result<GraphReply, ApiError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_hours(1)).await;
            Ok(GraphReply::empty(StatusCode::NO_CONTENT))
        })
    }
}

pub(crate) fn directory() -> IdentityRegistry {
    IdentityRegistry {
        tenants: vec![IdentityTenant {
            id: TENANT.into(),
            domains: vec![DOMAIN.into()],
            apps: vec![AppRegistration {
                client_id: APP.into(),
                display_name: "Contoso Fleet Upgrader".into(),
                secrets: vec![ClientSecret::new(SECRET)],
                roles: vec!["TeamsAppInstallation.ReadWriteForChat.All".into()],
            }],
            users: vec![DirectoryUser {
                id: USER_ID.into(),
                user_principal_name: USER.into(),
                display_name: "Adele Vance".into(),
                personal_account: false,
            }],
            grants: vec![DelegatedGrant {
                client_id: APP.into(),
                user: None,
                scopes: vec!["TeamsAppInstallation.ReadWriteForChat".into()],
            }],
        }],
    }
}

/// A test emulator: manual clock, the test directory, the echo backend.
pub(crate) struct Harness {
    pub(crate) state: AppState,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) app: Router,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(|_| {}, Box::new(Echo))
    }

    pub(crate) fn configured(configure: impl FnOnce(&mut EmulatorConfig)) -> Self {
        Self::with(configure, Box::new(Echo))
    }

    pub(crate) fn with(
        configure: impl FnOnce(&mut EmulatorConfig),
        backend: Box<dyn GraphBackend>,
    ) -> Self {
        let clock = Arc::new(ManualClock::at_2025());
        let mut config = EmulatorConfig {
            identity: directory(),
            clock: clock.clone(),
            origins: vec![TEST_ORIGIN.to_owned()],
            ..EmulatorConfig::default()
        };
        configure(&mut config);
        let state = AppState::with_backend(config, backend).unwrap();
        let app = router(state.clone());
        Self { state, clock, app }
    }

    /// An application token of the test app with its granted roles.
    pub(crate) fn app_token(&self) -> String {
        self.state
            .mint_token(&TokenSpec::default())
            .unwrap()
            .access_token
    }

    /// A delegated token of `user` for the test app, with what the user granted it.
    pub(crate) fn user_token(&self, user: &str) -> String {
        self.state
            .mint_token(&TokenSpec {
                user: Some(user.to_owned()),
                ..TokenSpec::default()
            })
            .unwrap()
            .access_token
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends `method path` with the test app's token and an optional JSON body.
    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let token = self.app_token();
        self.send(request(method, path, Some(&token), body)).await
    }
}

/// The origin the tests' requests name in `Host` (configured as one of the emulator's own).
pub(crate) const TEST_ORIGIN: &str = "http://graph.test";

pub(crate) fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "graph.test");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Graph error envelope with `status` and `code`, with every tracing field and
    /// header Graph sends; returns the message.
    #[track_caller]
    pub(crate) fn assert_graph_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        let inner = &body["error"]["innerError"];
        let request_id = inner["request-id"].as_str().expect("innerError.request-id");
        assert_eq!(self.header("request-id"), Some(request_id));
        assert_eq!(
            inner["client-request-id"].as_str(),
            self.header("client-request-id")
        );
        let date = inner["date"].as_str().expect("innerError.date");
        assert_eq!(date.len(), 19, "{date}");
        assert!(!date.ends_with('Z'), "{date}");
        assert!(
            self.header("content-type")
                .unwrap()
                .starts_with("application/json;odata.metadata=minimal"),
        );
        assert!(self.header("date").is_some());
        body["error"]["message"].as_str().unwrap_or("").to_owned()
    }
}

impl Harness {
    /// A test emulator over the real model, with the demo tenant.
    pub(crate) fn model(configure: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let clock = Arc::new(ManualClock::at_2025());
        let mut config = EmulatorConfig {
            clock: clock.clone(),
            origins: vec![TEST_ORIGIN.to_owned()],
            ..EmulatorConfig::demo()
        };
        configure(&mut config);
        let state = AppState::new(config).unwrap();
        let app = router(state.clone());
        Self { state, clock, app }
    }

    /// A token for the demo's client credentials, through the token endpoint.
    pub(crate) async fn client_credentials(
        &self,
        creds: teamsapp_model::demo::DemoCredentials,
    ) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
            creds.client_id,
            percent_encoding::utf8_percent_encode(
                creds.client_secret,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let req = Request::post(format!("/{}/oauth2/v2.0/token", creds.tenant_id))
            .header("host", "graph.test")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let reply = self.send(req).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }
}
