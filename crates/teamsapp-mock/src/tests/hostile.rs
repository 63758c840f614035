//! Hostile neighbours (issue 12): web pages that rebind their DNS name to the emulator or post to
//! its admin API, tokens for audiences taken from the request, lifetimes that overflow, the
//! published demo secrets beyond loopback, and secrets in query strings.

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};

use super::{APP, CHAT, Harness, SECRET, TENANT, request};
use crate::TokenSpec;

fn with_host(mut req: Request<Body>, host: &str) -> Request<Body> {
    req.headers_mut().insert("host", host.parse().unwrap());
    req
}

fn token_form(host: &str, tenant: &str, client: &str, secret: &str, scope: &str) -> Request<Body> {
    let enc = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    Request::post(format!("/{tenant}/oauth2/v2.0/token"))
        .header("host", host)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            enc(client),
            enc(secret),
            enc(scope)
        )))
        .unwrap()
}

fn installed_apps() -> String {
    format!("/v1.0/chats/{CHAT}/installedApps")
}

#[tokio::test]
async fn a_rebound_host_name_is_refused_on_every_surface() {
    let h = Harness::new();
    let token = h.app_token();
    // Graph.
    let reply = h
        .send(with_host(
            request("GET", &installed_apps(), Some(&token), None),
            "evil.example:8080",
        ))
        .await;
    let message = reply.assert_graph_error(421, "MisdirectedRequest");
    assert!(message.contains("evil.example"), "{message}");
    // Identity.
    let reply = h
        .send(token_form(
            "evil.example",
            TENANT,
            APP,
            SECRET,
            "https://graph.microsoft.com/.default",
        ))
        .await;
    assert_eq!(reply.status, 421);
    assert_eq!(reply.json()["error"], "invalid_request");
    // Admin.
    h.send(with_host(
        request("POST", "/_emulator/reset", None, None),
        "evil.example",
    ))
    .await
    .assert_graph_error(421, "MisdirectedRequest");
    // IP literals and localhost are always the emulator's own.
    for host in ["127.0.0.1:1", "[::1]:2", "localhost:3", "10.9.8.7"] {
        let reply = h
            .send(with_host(
                request("GET", &installed_apps(), Some(&token), None),
                host,
            ))
            .await;
        assert_eq!(reply.status, 200, "{host}");
    }
}

#[tokio::test]
async fn an_audience_is_the_emulators_own_only_by_configuration() {
    let h = Harness::new();
    // A token whose audience is the request's Host origin (the probe: aud=http://evil.example,
    // Host: evil.example), minted through the admin API.
    let minted = h
        .send(request(
            "POST",
            "/_emulator/token",
            None,
            Some(json!({"tenant": TENANT, "app": APP, "audience": "http://evil.example"})),
        ))
        .await
        .json();
    let foreign = minted["accessToken"].as_str().unwrap().to_owned();
    let reply = h
        .send(request("GET", &installed_apps(), Some(&foreign), None))
        .await;
    reply.assert_graph_error(401, "InvalidAuthenticationToken");
    // The configured origin, and loopback, are the emulator's own.
    for audience in ["http://graph.test", "http://127.0.0.1:9"] {
        let minted = h
            .send(request(
                "POST",
                "/_emulator/token",
                None,
                Some(json!({"tenant": TENANT, "app": APP, "audience": audience})),
            ))
            .await
            .json();
        let own = minted["accessToken"].as_str().unwrap();
        let reply = h
            .send(request("GET", &installed_apps(), Some(own), None))
            .await;
        assert_eq!(reply.status, 200, "{audience}");
    }
    // The token endpoint names no audience the configuration does not.
    let reply = h
        .send(token_form(
            "graph.test",
            TENANT,
            APP,
            SECRET,
            "http://evil.example/.default",
        ))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error_codes"][0], 500_011);
    let reply = h
        .send(token_form(
            "graph.test",
            TENANT,
            APP,
            SECRET,
            "http://graph.test/.default",
        ))
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[tokio::test]
async fn minted_lifetimes_are_bounded_and_never_overflow() {
    let h = Harness::new();
    for bad in [0, 86_401, u64::MAX] {
        let reply = h
            .send(request(
                "POST",
                "/_emulator/token",
                None,
                Some(json!({"tenant": TENANT, "app": APP, "lifetimeSeconds": bad})),
            ))
            .await;
        let message = reply.assert_graph_error(400, "BadRequest");
        assert!(message.contains("lifetimeSeconds"), "{message}");
    }
    let minted = h.state.mint_token(&TokenSpec {
        lifetime_seconds: Some(86_400),
        ..TokenSpec::default()
    });
    let minted = minted.unwrap();
    assert_eq!(minted.expires_in, 86_400);
    assert!(minted.claims.exp > minted.claims.iat);
}

#[tokio::test]
async fn the_admin_api_takes_json_from_its_own_origin_only() {
    let h = Harness::new();
    // A form a web page can post anywhere without asking: text/plain.
    let plain = Request::post("/_emulator/tenants")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    h.send(plain)
        .await
        .assert_graph_error(415, "UnsupportedMediaType");
    // A foreign Origin, even without a body (reset), and even on an allowed Host.
    for origin in ["http://evil.example", "null", "http://evil.example:8080"] {
        let mut reset = request("POST", "/_emulator/reset", None, None);
        reset
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        let message = h.send(reset).await.assert_graph_error(403, "Forbidden");
        assert!(message.contains("another origin"), "{message}");
    }
    let mut cross = request("POST", "/_emulator/reset", None, None);
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    h.send(cross).await.assert_graph_error(403, "Forbidden");
    // The emulator's own origin, and no Origin at all (curl), are served.
    let mut own = request("POST", "/_emulator/reset", None, None);
    own.headers_mut()
        .insert("origin", "http://graph.test".parse().unwrap());
    assert_eq!(h.send(own).await.status, 204);
    assert_eq!(
        h.send(request("POST", "/_emulator/reset", None, None))
            .await
            .status,
        204
    );
    let json_body = request(
        "POST",
        "/_emulator/token",
        None,
        Some(json!({"tenant": TENANT, "app": APP})),
    );
    assert_eq!(h.send(json_body).await.status, 200);
}

#[tokio::test]
async fn an_admin_body_over_the_limit_names_the_limit() {
    let h = Harness::model(|c| c.admin_body_limit = 64);
    let big = request(
        "POST",
        "/_emulator/tenants",
        None,
        Some(json!({"tenantId": "x".repeat(100)})),
    );
    let message = h
        .send(big)
        .await
        .assert_graph_error(413, "RequestEntityTooLarge");
    assert!(message.contains("limit of 64 bytes"), "{message}");
}

#[tokio::test]
async fn published_demo_secrets_sign_in_on_loopback_only_unless_allowed() {
    let demo = teamsapp_model::demo::CREDENTIALS;
    let sign_in = || {
        token_form(
            "graph.test",
            demo.tenant_id,
            demo.client_id,
            demo.client_secret,
            "https://graph.microsoft.com/.default",
        )
    };
    let local = Harness::model(|_| {});
    assert_eq!(local.send(sign_in()).await.status, 200);

    let exposed = Harness::model(|_| {});
    exposed
        .state
        .origins()
        .set_listener("0.0.0.0:8080".parse().unwrap());
    let reply = exposed.send(sign_in()).await;
    assert_eq!(reply.status, 401);
    let body: Value = reply.json();
    assert_eq!(body["error"], "invalid_client");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("--allow-demo-credentials"),
        "{description}"
    );

    let allowed = Harness::model(|c| c.allow_demo_credentials = true);
    allowed
        .state
        .origins()
        .set_listener("0.0.0.0:8080".parse().unwrap());
    assert_eq!(allowed.send(sign_in()).await.status, 200);
}

#[tokio::test]
async fn secrets_in_query_strings_never_reach_the_journal() {
    let h = Harness::new();
    let token = h.app_token();
    let path = format!(
        "{}?access_token={token}&client_secret=hunter2",
        installed_apps()
    );
    h.send(request("GET", &path, Some(&token), None)).await;
    let journal = serde_json::to_string(&h.state.journal(None)).unwrap();
    assert!(!journal.contains(&token), "{journal}");
    assert!(!journal.contains("hunter2"), "{journal}");
    assert!(
        journal.contains("access_token=REDACTED&client_secret=REDACTED"),
        "{journal}"
    );
}
