//! The emulator in-process, served behind the conformance [`Checker`], with the helpers a test
//! needs: clients for the demo tenant, the admin API and raw requests.

use std::net::SocketAddr;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use teamsapp_client::{
    Client, ClientBuilder, ClientSecretCredential, DeviceCodeCredential, RateLimit,
};
use teamsapp_mock::{AppState, EmulatorConfig, TlsConfig};
use teamsapp_model::demo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::conformance::Checker;

/// How long one attempt of a test client may take: nothing in the suite may hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A plain reqwest client with the suite's timeouts, for the admin API and raw Graph requests.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("a reqwest client builds")
}

/// The demo configuration for tests: the demo tenant, throttling off (tests that want it turn it
/// on), device codes polled every second.
pub fn demo_config() -> EmulatorConfig {
    let mut config = EmulatorConfig::demo();
    config.throttle = teamsapp_mock::ThrottleConfig::disabled();
    config.device_codes.interval = 1;
    config
}

/// The emulator's router served in-process on `127.0.0.1:0`, every exchange checked against
/// the fragment.
///
/// Dropping it stops the server and, unless the test is already failing, asserts that nothing
/// strayed from the fragment; [`finish`](Self::finish) does the same after a graceful stop.
#[derive(Debug)]
pub struct TestEmulator {
    state: AppState,
    checker: Checker,
    origin: String,
    addr: SocketAddr,
    admin: Admin,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestEmulator {
    /// [`demo_config`], requests and responses checked.
    pub async fn demo() -> Self {
        Self::start(demo_config()).await
    }

    /// `config` (plain HTTP), requests and responses checked.
    pub async fn start(config: EmulatorConfig) -> Self {
        Self::start_checked(config, Checker::new()).await
    }

    /// `config` (plain HTTP) behind `checker`.
    pub async fn start_checked(config: EmulatorConfig, checker: Checker) -> Self {
        assert_eq!(
            config.tls,
            TlsConfig::Off,
            "the checked in-process emulator serves plain HTTP; use teamsapp_mock::Emulator or \
             EmulatorProcess for HTTPS"
        );
        let state = AppState::new(config).expect("the emulator's state builds");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds 127.0.0.1:0");
        let addr = listener.local_addr().expect("a local address");
        let app = checker.wrap(teamsapp_mock::router(state.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        let origin = format!("http://{addr}");
        Self {
            admin: Admin::new(&origin, http_client()),
            state,
            checker,
            origin,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `{origin}/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.origin)
    }

    /// The authority for token requests (the origin).
    pub fn authority(&self) -> &str {
        &self.origin
    }

    /// The emulator's state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The conformance checker in front of it.
    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// The admin API.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// A client builder aimed at this emulator: base URL, authority, no client-side rate limit,
    /// the suite's timeouts; add a credential.
    pub fn client_builder(&self) -> ClientBuilder {
        aimed(Client::builder(), &self.graph_url(), &self.origin)
    }

    /// The demo fleet tool (application permissions), signed in through the token endpoint with
    /// the client credentials flow.
    pub fn app_client(&self) -> Client {
        self.client_builder()
            .credential(demo_app_credential(&self.origin))
            .build()
            .expect("the client builds")
    }

    /// A delegated client for `user` (UPN or object id) through the device code flow: the
    /// prompt hands the user code to the admin API's approve endpoint, as a person would enter
    /// it.
    pub fn delegated_client(&self, user: &str) -> Client {
        self.client_builder()
            .credential(approving_device_code(&self.origin, user))
            .build()
            .expect("the client builds")
    }

    /// Stops the server gracefully and asserts every exchange conformed to the fragment.
    pub async fn finish(mut self) {
        self.stop().await;
        self.checker.assert_clean();
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("the emulator stopped with an error: {e}"),
                Ok(Err(e)) => panic!("the emulator's task failed: {e}"),
                Err(elapsed) => panic!("the emulator did not stop within 10 s ({elapsed})"),
            }
        }
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if !std::thread::panicking() {
            self.checker.assert_clean();
        }
    }
}

/// `builder` with a base URL, an authority, no client-side rate limit and the suite's timeouts.
pub fn aimed(builder: ClientBuilder, graph_url: &str, authority: &str) -> ClientBuilder {
    builder
        .base_url(graph_url)
        .authority(authority)
        .rate_limit(RateLimit::disabled())
        .request_timeout(REQUEST_TIMEOUT)
}

/// The demo fleet tool's client credentials against `authority`.
pub fn demo_app_credential(authority: &str) -> ClientSecretCredential {
    let creds = demo::CREDENTIALS;
    ClientSecretCredential::new(creds.tenant_id, creds.client_id, creds.client_secret)
        .with_authority(authority)
}

/// A device code credential of the demo fleet tool whose prompt approves the code for `user`
/// through `POST {authority}/_emulator/devicecode/approve`.
pub fn approving_device_code(authority: &str, user: &str) -> DeviceCodeCredential {
    let admin = Admin::new(authority, http_client());
    let user = user.to_owned();
    let creds = demo::CREDENTIALS;
    DeviceCodeCredential::new(creds.tenant_id, creds.client_id, move |prompt| {
        let admin = admin.clone();
        let body = json!({"user_code": prompt.user_code, "user": user});
        tokio::spawn(async move {
            let (status, answer) = admin
                .call(Method::POST, "/_emulator/devicecode/approve", Some(body))
                .await;
            assert!(
                status.is_success(),
                "approving the device code: {status} {answer}"
            );
        });
    })
    .with_authority(authority)
}

/// The admin API (`/_emulator/…`) of an emulator, in-process or not.
#[derive(Debug, Clone)]
pub struct Admin {
    origin: String,
    http: reqwest::Client,
}

impl Admin {
    /// The admin API at `origin`, through `http`.
    pub fn new(origin: &str, http: reqwest::Client) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Sends `method path` with an optional JSON body; the status and the JSON answer (`null`
    /// when there is none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (http::StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.origin));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("admin {path}: {e}"));
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    /// `GET path`, which must succeed.
    pub async fn get(&self, path: &str) -> Value {
        self.expect(Method::GET, path, None).await
    }

    /// `PUT path` with `body`, which must succeed.
    pub async fn put(&self, path: &str, body: Value) -> Value {
        self.expect(Method::PUT, path, Some(body)).await
    }

    /// `POST path` with `body`, which must succeed.
    pub async fn post(&self, path: &str, body: Option<Value>) -> Value {
        self.expect(Method::POST, path, body).await
    }

    async fn expect(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "admin {method} {path} answered {status}: {value}"
        );
        value
    }

    /// `GET /_emulator/metrics`.
    pub async fn metrics(&self) -> Value {
        self.get("/_emulator/metrics").await
    }

    /// `GET /_emulator/installations/{id}`: its version and upgrade count.
    pub async fn installation(&self, id: &str) -> Value {
        let id = teamsapp_types::operation::encode_path_segment(id);
        self.get(&format!("/_emulator/installations/{id}")).await
    }

    /// `POST /_emulator/token`: a minted access token (`spec` is a `TokenSpec` as JSON).
    pub async fn token(&self, spec: Value) -> String {
        let minted = self.post("/_emulator/token", Some(spec)).await;
        minted["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no accessToken in {minted}"))
            .to_owned()
    }
}
