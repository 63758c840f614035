//! Credentials against a wiremock token endpoint: the wire format, caching, refresh, single flight,
//! device code polling, and secrets kept out of every output.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use std::time::Duration;

use serde_json::json;
use teamsapp_client::{
    AccessToken, Client, ClientSecretCredential, DeviceCodeCredential, DeviceCodePrompt, Error,
    RateLimit, StaticToken,
};
use teamsapp_types::GetChat;
use tokio::time::Instant;
use wiremock::matchers::{body_string, body_string_contains, header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SECRET: &str = "s3cr3t~client~secret";
const ISSUED: &str = "issued-access-token-abcdef";
const REFRESH: &str = "refresh-token-xyz";
const DEVICE: &str = "device-code-123456";

fn token_path() -> &'static str {
    "/contoso.onmicrosoft.com/oauth2/v2.0/token"
}

fn token_answer(token: &str, expires_in: &serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": 3599, "access_token": token
    }))
}

async fn graph(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/chats/{CHAT_ENC}")))
        .and(header_is(
            "authorization",
            format!("Bearer {token}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": CHAT})))
        .mount(server)
        .await;
}

/// A client whose base URL and authority are both the wiremock server (as with the emulator).
fn client_with(
    server: &MockServer,
    credential: impl teamsapp_client::Credential + 'static,
) -> Client {
    Client::from_reqwest(quiet_http())
        .base_url(format!("{}/v1.0", server.uri()))
        .authority(server.uri())
        .credential(credential)
        .request_timeout(None)
        .rate_limit(RateLimit::disabled())
        .build()
        .unwrap()
}

fn secret_credential() -> ClientSecretCredential {
    ClientSecretCredential::new("contoso.onmicrosoft.com", "app-id", SECRET)
}

#[tokio::test]
async fn client_credentials_are_posted_as_a_form_and_the_token_is_cached() {
    let server = MockServer::start().await;
    let scope = format!("{}/.default", server.uri())
        .replace(':', "%3A")
        .replace('/', "%2F");
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(header_is("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=client_credentials&client_id=app-id&client_secret=s3cr3t%7Eclient%7Esecret&scope={scope}"
        )))
        .respond_with(token_answer(ISSUED, &json!(3599)))
        .expect(1)
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    let client = client_with(&server, secret_credential());
    assert_eq!(client.tenant(), "contoso.onmicrosoft.com");
    for _ in 0..3 {
        client.send(&GetChat::new(chat())).await.unwrap();
    }
    // One token request, three Graph requests.
    assert_eq!(received(&server).await.len(), 4);
    // The cached token is available to callers too.
    let token = client.access_token().await.unwrap();
    assert_eq!(token.secret().expose_secret(), ISSUED);
    assert!(token.expires_in() > Duration::from_secs(3500) && !token.is_expired());
    assert_eq!(received(&server).await.len(), 4);
    let anonymous = Client::builder().build().unwrap();
    assert!(matches!(
        anonymous.access_token().await,
        Err(Error::Auth { .. })
    ));
}

#[tokio::test]
async fn the_global_scope_can_be_asked_for_explicitly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .respond_with(token_answer(ISSUED, &json!("3599")))
        .expect(1)
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    let client = Client::from_reqwest(quiet_http())
        .base_url(format!("{}/v1.0", server.uri()))
        .authority(format!("{}/", server.uri()))
        .scopes(["https://graph.microsoft.com/.default"])
        .credential(secret_credential())
        .build()
        .unwrap();
    client.send(&GetChat::new(chat())).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn tokens_are_refreshed_before_they_expire() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token_answer(ISSUED, &json!(3600)))
        .expect(2)
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    let client = client_with(&server, secret_credential());
    client.send(&GetChat::new(chat())).await.unwrap();
    // Still fresh 5 minutes before expiry...
    tokio::time::advance(Duration::from_secs(3299)).await;
    client.send(&GetChat::new(chat())).await.unwrap();
    let token_requests =
        |r: &Vec<wiremock::Request>| r.iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(token_requests(&received(&server).await), 1);
    // ...refreshed within the last 5 minutes, before it expires.
    tokio::time::advance(Duration::from_secs(2)).await;
    client.send(&GetChat::new(chat())).await.unwrap();
    assert_eq!(token_requests(&received(&server).await), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token_answer(ISSUED, &json!(3599)).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    let client = client_with(&server, secret_credential());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&GetChat::new(chat())).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn entra_errors_are_kept_whole_with_their_aadsts_code() {
    let long = "AADSTS700016: Application with identifier 'c0ffee00-0000-4000-8000-0000000000ff' was not \
                found in the directory 'Contoso'. This can happen if the application has not been \
                installed by the administrator of the tenant or consented to by any user in the \
                tenant. You may have sent your authentication request to the wrong tenant.";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "unauthorized_client",
            "error_description": format!("{long}\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-12-02 10:00:00Z"),
            "error_codes": [700_016],
        })))
        .mount(&server)
        .await;
    let err = client_with(&server, secret_credential())
        .send(&GetChat::new(chat()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("authentication failed: unauthorized_client: {long}"),
        "the whole sentence, not its first 200 characters"
    );
}

#[tokio::test]
async fn token_errors_are_auth_errors_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided ({SECRET}).\r\nTrace ID: t\r\nCorrelation ID: c"),
            "error_codes": [7_000_215],
            "trace_id": "trace-1",
            "correlation_id": "corr-1"
        })))
        .mount(&server)
        .await;
    let client = client_with(&server, secret_credential());
    let err = client.send(&GetChat::new(chat())).await.unwrap_err();
    assert!(matches!(&err, Error::Auth { code: Some(code), .. } if code == "invalid_client"));
    assert_eq!(
        err.to_string(),
        "authentication failed: invalid_client: AADSTS7000215: Invalid client secret provided ([redacted]). \
         (trace-id: trace-1, correlation-id: corr-1)"
    );
    assert!(!format!("{err:?}").contains(SECRET));
    assert_eq!(received(&server).await.len(), 1, "graph was not called");

    // A 200 that is not a token response: no excerpt, since it could hold a token.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": ISSUED, "expires_in": {"no": 1}, "token_type": "pop"}),
        ))
        .mount(&server)
        .await;
    let err = client_with(&server, secret_credential())
        .send(&GetChat::new(chat()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }));
    assert!(
        !err.to_string().contains(ISSUED) && !format!("{err:?}").contains(ISSUED),
        "{err}"
    );
}

/// Mounts a device code endpoint and a token endpoint answering `polls` in order, then a token.
async fn device_server(polls: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/devicecode"))
        .and(body_string_contains("client_id=public-app"))
        .and(body_string_contains("offline_access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": DEVICE,
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 5,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."
        })))
        .expect(1)
        .mount(&server)
        .await;
    for error in polls {
        Mock::given(method("POST"))
            .and(path("/organizations/oauth2/v2.0/token"))
            .and(body_string_contains(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
            ))
            .and(body_string_contains(
                format!("device_code={DEVICE}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(json!({"error": error, "error_description": "pending"})),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("device_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": ISSUED, "refresh_token": REFRESH
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            format!("refresh_token={REFRESH}").as_str(),
        ))
        .respond_with(token_answer("refreshed-token", &json!(3600)))
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    graph(&server, "refreshed-token").await;
    server
}

fn device_credential(prompts: Arc<Mutex<Vec<DeviceCodePrompt>>>) -> DeviceCodeCredential {
    DeviceCodeCredential::new("organizations", "public-app", move |prompt| {
        prompts.lock().unwrap().push(prompt.clone());
    })
}

#[tokio::test(start_paused = true)]
async fn device_code_polls_at_the_interval_and_honours_slow_down() {
    let server = device_server(&[
        "authorization_pending",
        "authorization_pending",
        "slow_down",
    ])
    .await;
    let prompts = Arc::default();
    let client = client_with(&server, device_credential(Arc::clone(&prompts)));
    let start = Instant::now();
    client.send(&GetChat::new(chat())).await.unwrap();
    // Polls at 5, 10, 15 (slow_down: interval 10 s), 25.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(25) && elapsed < Duration::from_millis(25_100),
        "{elapsed:?}"
    );
    let prompts = prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].user_code, "ABCD-EFGH");
    assert!(prompts[0].message.contains("ABCD-EFGH"));

    // After expiry the refresh token is used, without a new prompt.
    tokio::time::advance(Duration::from_hours(1)).await;
    client.send(&GetChat::new(chat())).await.unwrap();
    let last = received(&server).await;
    assert_eq!(
        header(last.last().unwrap(), "authorization"),
        Some("Bearer refreshed-token")
    );
}

#[tokio::test(start_paused = true)]
async fn device_code_failures_end_the_sign_in() {
    for (error, expected) in [
        (
            "expired_token",
            "authentication failed: the device code expired before sign-in completed",
        ),
        (
            "access_denied",
            "authentication failed: the person declined the sign-in",
        ),
        (
            "bad_verification_code",
            "authentication failed: bad_verification_code: pending",
        ),
    ] {
        let server = device_server(&["authorization_pending", error]).await;
        let client = client_with(&server, device_credential(Arc::default()));
        let err = client.send(&GetChat::new(chat())).await.unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert!(!format!("{err:?}").contains(DEVICE));
    }
}

#[tokio::test]
async fn secrets_never_show_in_debug_display_or_errors() {
    let server = MockServer::start().await;
    let credential = secret_credential();
    let device = DeviceCodeCredential::new("t", "c", |_| {});
    let token = AccessToken::expiring_in(ISSUED, Duration::from_mins(1));
    let static_token = StaticToken::new(TOKEN);
    let client = client_with(&server, secret_credential());
    let builder = builder(&server);
    let shown = [
        format!("{credential:?}"),
        format!("{device:?}"),
        format!("{token:?}"),
        format!("{static_token:?}"),
        format!("{client:?}"),
        format!("{builder:?}"),
        format!("{:?}", token.secret()),
    ];
    for text in &shown {
        for secret in [SECRET, ISSUED, TOKEN] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    assert_eq!(token.secret().expose_secret(), ISSUED);
}

/// A writer that keeps everything tracing writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture: a global subscriber at TRACE (a thread-local one would miss
/// callsites whose interest other test threads cached first). Tests that run after it is installed
/// log into it too, which only widens the check.
fn capture() -> &'static Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer({
                let capture = capture.clone();
                move || capture.clone()
            })
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        capture
    })
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_the_logs() {
    let capture = capture();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token_answer(ISSUED, &json!(3599)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0.01"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    graph(&server, ISSUED).await;
    let client = client_with(&server, secret_credential());
    client.send(&GetChat::new(chat())).await.unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("graph.request"), "spans are logged: {logs}");
    assert!(logs.contains("chats.chat.GetChat"));
    assert!(logs.contains("client_request_id"));
    assert!(logs.contains("retrying"));
    assert!(!logs.contains(ISSUED), "the token leaked into the logs");
    assert!(
        !logs.contains(SECRET),
        "the client secret leaked into the logs"
    );
}
