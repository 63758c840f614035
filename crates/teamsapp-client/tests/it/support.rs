//! Shared helpers: ids, servers and clients that behave under tokio's paused clock.

use std::collections::HashSet;

use teamsapp_client::{Client, ClientBuilder, RateLimit, StaticToken};
use teamsapp_types::{AppInstallationId, ChatId, TeamId, TeamsAppDefinitionId, TeamsAppId, UserId};
use wiremock::{MockServer, Request};

/// The bearer token every test client sends.
pub(crate) const TOKEN: &str = "test-token-0123456789";

/// A group chat id: `:` and `@` travel encoded.
pub(crate) const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
pub(crate) const CHAT_ENC: &str = "19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2";
/// An installation id with `+`, `/` and `=`, which travel encoded.
pub(crate) const INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS+/MDQyLThkNDct==";
pub(crate) const INSTALLATION_ENC: &str = "NjRiOWM3NDYtYjE1NS%2B%2FMDQyLThkNDct%3D%3D";
pub(crate) const TEAM: &str = "6903fa93-605b-43ef-920e-77c4729f8258";
/// A user principal name: `@` travels encoded.
pub(crate) const USER: &str = "megan.bowen@contoso.com";
pub(crate) const USER_ENC: &str = "megan.bowen%40contoso.com";
pub(crate) const APP: &str = "0d820ecd-def2-4297-adad-78056cde7c78";
pub(crate) const DEFINITION: &str = "MGQ4MjBlY2QtZGVmMi00Mjk3LWFkYWQtNzgwNTZjZGU3Yzc4IyMxLjAuMA==";
pub(crate) const DEFINITION_ENC: &str =
    "MGQ4MjBlY2QtZGVmMi00Mjk3LWFkYWQtNzgwNTZjZGU3Yzc4IyMxLjAuMA%3D%3D";

pub(crate) fn chat() -> ChatId {
    ChatId::new(CHAT).unwrap()
}
pub(crate) fn installation() -> AppInstallationId {
    AppInstallationId::new(INSTALLATION).unwrap()
}
pub(crate) fn team() -> TeamId {
    TeamId::new(TEAM).unwrap()
}
pub(crate) fn user() -> UserId {
    UserId::new(USER).unwrap()
}
pub(crate) fn app() -> TeamsAppId {
    TeamsAppId::new(APP).unwrap()
}
pub(crate) fn definition() -> TeamsAppDefinitionId {
    TeamsAppDefinitionId::new(DEFINITION).unwrap()
}

/// A reqwest client without timers of its own (no pool idle task, no timeouts), so that tokio's
/// paused clock only jumps to the client's own waits.
pub(crate) fn quiet_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(None)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A builder pointed at `server`, with a static token, no timeouts and no client-side rate limit.
pub(crate) fn builder(server: &MockServer) -> ClientBuilder {
    Client::from_reqwest(quiet_http())
        .base_url(format!("{}/v1.0", server.uri()))
        .credential(StaticToken::new(TOKEN).with_tenant("contoso"))
        .request_timeout(None)
        .connect_timeout(None)
        .rate_limit(RateLimit::disabled())
}

pub(crate) fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// The requests `server` received.
pub(crate) async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// A header of a received request, as a string.
pub(crate) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts the headers every request carries: a GUID `client-request-id` (distinct across
/// `requests`), the user agent and the bearer token.
pub(crate) fn assert_common_headers(requests: &[Request]) {
    let mut ids = HashSet::new();
    for r in requests {
        let id = header(r, "client-request-id").expect("client-request-id");
        let parsed = uuid::Uuid::parse_str(id).expect("client-request-id is a GUID");
        assert_eq!(parsed.hyphenated().to_string(), id, "canonical GUID form");
        assert!(ids.insert(id.to_owned()), "client-request-id {id} reused");
        assert_eq!(
            header(r, "user-agent"),
            Some(concat!("teamsapp/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            header(r, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(header(r, "retry-attempt"), None);
    }
}
