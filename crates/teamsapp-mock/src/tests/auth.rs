//! Bearer tokens on Graph routes, and the token endpoint (client credentials, device code).

use std::time::Duration;

use axum::body::Body;
use base64::Engine as _;
use http::Request;
use serde_json::Value;

use super::{
    APP, CHAT, DOMAIN, Harness, INSTALLATION, Reply, SECRET, TENANT, USER, USER_ID, request,
    upgrade_path,
};
use crate::{GRAPH_APP_ID, TokenSpec};

fn assert_401(reply: &Reply, message: &str) {
    assert_eq!(
        reply.assert_graph_error(401, "InvalidAuthenticationToken"),
        message
    );
    let challenge = reply.header("www-authenticate").unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"\", authorization_uri=\"http://graph.test/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\""
        )
    );
}

#[tokio::test]
async fn graph_routes_refuse_bad_tokens() {
    let h = Harness::new();
    let path = upgrade_path(INSTALLATION);
    assert_401(
        &h.send(request("POST", &path, None, None)).await,
        "Access token is empty.",
    );
    assert_401(
        &h.send(request("POST", &path, Some("not.a.jwt"), None))
            .await,
        "CompactToken parsing failed with error code: 80049217",
    );
    assert_401(
        &h.send(request("POST", &path, Some("garbage"), None)).await,
        "CompactToken parsing failed with error code: 80049217",
    );
    // Forged: the payload changed after signing.
    let token = h.app_token();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&engine.decode(&parts[1]).unwrap()).unwrap();
    claims["roles"] = serde_json::json!(["Directory.ReadWrite.All"]);
    parts[1] = engine.encode(claims.to_string());
    assert_401(
        &h.send(request("POST", &path, Some(&parts.join(".")), None))
            .await,
        "Access token validation failure.",
    );
    // Wrong audience.
    let other = h
        .state
        .mint_token(&TokenSpec {
            audience: Some("api://someone-else".into()),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token;
    assert_401(
        &h.send(request("POST", &path, Some(&other), None)).await,
        "Access token validation failure. Invalid audience.",
    );
    // Expired: an hour later.
    h.advance(Duration::from_hours(1));
    assert_401(
        &h.send(request("POST", &path, Some(&token), None)).await,
        "Lifetime validation failed, the token is expired.",
    );
}

#[tokio::test]
async fn the_decoded_caller_reaches_the_handler() {
    let h = Harness::new();
    let delegated = h
        .state
        .mint_token(&TokenSpec {
            user: Some(USER.into()),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token;
    let path = format!("/v1.0/chats/{CHAT}/installedApps");
    let body = h
        .send(request("GET", &path, Some(&delegated), None))
        .await
        .json();
    assert_eq!(body["caller"]["kind"], "delegated");
    assert_eq!(body["caller"]["user"], USER_ID);
    assert_eq!(body["caller"]["tenant"], TENANT);
    assert_eq!(body["caller"]["app"], APP);
    assert_eq!(
        body["caller"]["permissions"],
        serde_json::json!(["TeamsAppInstallation.ReadWriteForChat"])
    );
    let body = h.call("GET", &path, None).await.json();
    assert_eq!(body["caller"]["kind"], "application");
    assert_eq!(body["caller"]["user"], Value::Null);
}

fn form(path: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Request::post(path)
        .header("host", "graph.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn assert_identity_error(reply: &Reply, status: u16, error: &str, code: u32) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"][0], code);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(description.contains("Trace ID: "));
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
}

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

#[tokio::test]
async fn client_credentials() {
    let h = Harness::new();
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", APP),
        ("client_secret", SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let reply = h.send(form(&token_path(TENANT), &good)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    // The token works on Graph and carries the app's roles.
    let reply = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps"),
            Some(token),
            None,
        ))
        .await;
    assert_eq!(
        reply.json()["caller"]["permissions"][0],
        "TeamsAppInstallation.ReadWriteForChat.All"
    );

    // By domain, and with HTTP Basic.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{APP}:{SECRET}"));
    let mut req = form(
        &token_path(DOMAIN),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    );
    req.headers_mut()
        .insert("authorization", format!("Basic {basic}").parse().unwrap());
    assert_eq!(h.send(req).await.status, 200);

    // Bad secret.
    let mut bad = good;
    bad[2].1 = "wrong";
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &bad)).await,
        401,
        "invalid_client",
        7_000_215,
    );
    // No secret.
    let reply = h
        .send(form(&token_path(TENANT), &[good[0], good[1], good[3]]))
        .await;
    assert_identity_error(&reply, 401, "invalid_client", 7_000_218);
    // Scope without /.default.
    let mut bad = good;
    bad[3].1 = "https://graph.microsoft.com/Chat.Read";
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &bad)).await,
        400,
        "invalid_scope",
        1_002_012,
    );
    // Unknown resource.
    let mut bad = good;
    bad[3].1 = "api://unknown/.default";
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &bad)).await,
        400,
        "invalid_resource",
        500_011,
    );
    // Unknown app, unknown tenant, /common.
    let mut bad = good;
    bad[1].1 = "00000000-0000-0000-0000-000000000001";
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &bad)).await,
        400,
        "unauthorized_client",
        700_016,
    );
    assert_identity_error(
        &h.send(form(&token_path("fabrikam.com"), &good)).await,
        400,
        "invalid_request",
        90_002,
    );
    assert_identity_error(
        &h.send(form(&token_path("common"), &good)).await,
        400,
        "invalid_request",
        50_059,
    );
    // Missing and unsupported grant types.
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &good[1..])).await,
        400,
        "invalid_request",
        900_144,
    );
    let mut bad = good;
    bad[0].1 = "password";
    assert_identity_error(
        &h.send(form(&token_path(TENANT), &bad)).await,
        400,
        "unsupported_grant_type",
        70_003,
    );
    assert_eq!(h.state.metrics().tokens_issued, 2);
}

#[tokio::test]
async fn device_code_pending_then_approved() {
    let h = Harness::new();
    let start = h
        .send(form(
            &format!("/{TENANT}/oauth2/v2.0/devicecode"),
            &[
                ("client_id", APP),
                ("scope", "https://graph.microsoft.com/TeamsAppInstallation.ReadWriteForChat openid offline_access"),
            ],
        ))
        .await;
    assert_eq!(
        start.status,
        200,
        "{}",
        String::from_utf8_lossy(&start.body)
    );
    let start = start.json();
    for field in ["device_code", "user_code", "verification_uri", "message"] {
        assert!(start[field].is_string(), "{field}");
    }
    assert_eq!(start["expires_in"], 900);
    assert_eq!(start["interval"], 5);
    let device_code = start["device_code"].as_str().unwrap();
    let user_code = start["user_code"].as_str().unwrap();
    let poll = [
        ("grant_type", crate::DEVICE_CODE_GRANT),
        ("client_id", APP),
        ("device_code", device_code),
    ];
    let reply = h.send(form(&token_path(TENANT), &poll)).await;
    assert_identity_error(&reply, 400, "authorization_pending", 70_016);

    // Approve through the admin API.
    let approve = Request::post("/_emulator/devicecode/approve")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"user_code": user_code.to_lowercase(), "user": USER}).to_string(),
        ))
        .unwrap();
    let approved = h.send(approve).await;
    assert_eq!(
        approved.status,
        200,
        "{}",
        String::from_utf8_lossy(&approved.body)
    );

    let reply = h.send(form(&token_path(TENANT), &poll)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert!(body["id_token"].is_string());
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .contains("TeamsAppInstallation.ReadWriteForChat")
    );
    let token = body["access_token"].as_str().unwrap();
    let caller = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps"),
            Some(token),
            None,
        ))
        .await
        .json()["caller"]
        .clone();
    assert_eq!(caller["kind"], "delegated");
    assert_eq!(caller["user"], USER_ID);
    assert_eq!(
        caller["permissions"],
        serde_json::json!(["TeamsAppInstallation.ReadWriteForChat"])
    );

    // A redeemed code is gone.
    let reply = h.send(form(&token_path(TENANT), &poll)).await;
    assert_identity_error(&reply, 400, "invalid_grant", 70_000);
}

async fn start_device_flow(h: &Harness) -> Value {
    let req = form(
        "/organizations/oauth2/v2.0/devicecode",
        &[
            ("client_id", APP),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    );
    h.send(req).await.json()
}

#[tokio::test]
async fn device_codes_expire_and_can_be_auto_approved() {
    let h = Harness::configured(|c| c.device_codes.auto_approve = true);
    let code = start_device_flow(&h).await;
    let poll = |code: &Value| {
        form(
            "/organizations/oauth2/v2.0/token",
            &[
                ("grant_type", crate::DEVICE_CODE_GRANT),
                ("client_id", APP),
                ("device_code", code["device_code"].as_str().unwrap()),
            ],
        )
    };
    // Auto-approved as the tenant's first work account, with the app's grants (.default).
    let reply = h.send(poll(&code)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );

    let h = Harness::new();
    let code = start_device_flow(&h).await;
    h.advance(Duration::from_secs(901));
    assert_identity_error(&h.send(poll(&code)).await, 400, "expired_token", 70_020);
}

#[tokio::test]
async fn discovery_documents() {
    let h = Harness::new();
    let keys = h
        .send(
            Request::get(format!("/{TENANT}/discovery/v2.0/keys"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    assert!(keys["keys"][0]["kid"].is_string());
    let config = h
        .send(
            Request::get(format!("/{DOMAIN}/v2.0/.well-known/openid-configuration"))
                .header("host", "graph.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(
        config["token_endpoint"],
        format!("http://graph.test/{DOMAIN}/oauth2/v2.0/token")
    );
    assert_eq!(
        config["issuer"],
        format!("https://login.microsoftonline.com/{TENANT}/v2.0")
    );
}

#[tokio::test]
async fn read_all_lists_a_chats_apps_as_the_current_page_says() {
    // learn.microsoft.com/graph/api/chat-list-installedapps lists TeamsAppInstallation.Read.All
    // (application) for this operation; the older permissions include file lacked it.
    let h = Harness::new();
    let token = h
        .state
        .mint_token(&TokenSpec {
            tenant: Some(TENANT.to_owned()),
            app: Some(APP.to_owned()),
            roles: Some(vec!["TeamsAppInstallation.Read.All".to_owned()]),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token;
    let reply = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps"),
            Some(&token),
            None,
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
async fn each_surface_writes_its_own_headers_and_msal_finds_its_instance() {
    let h = Harness::new();
    // The identity platform: Entra's tracing headers, never cached.
    let reply = h
        .send(
            Request::get(format!("/{TENANT}/discovery/instance"))
                .header("host", "graph.test")
                .header("client-request-id", "c0ffee00-1111-4000-8000-000000000001")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("x-ms-request-id")
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
    assert_eq!(
        reply.header("client-request-id"),
        Some("c0ffee00-1111-4000-8000-000000000001")
    );
    assert!(reply.header("date").is_some());
    assert_eq!(reply.header("cache-control"), Some("no-store, no-cache"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    // MSAL's instance discovery names the emulator as its own authority.
    let instance = reply.json();
    assert_eq!(
        instance["tenant_discovery_endpoint"],
        "http://graph.test/common/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(instance["metadata"][0]["aliases"][0], "graph.test");

    // Graph: its diagnostic header, in the shape Graph writes it.
    let reply = h
        .send(
            Request::get("/v1.0/users")
                .header("host", "graph.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let diagnostic: serde_json::Value =
        serde_json::from_str(reply.header("x-ms-ags-diagnostic").unwrap()).unwrap();
    for field in ["DataCenter", "Slice", "Ring", "ScaleUnit", "RoleInstance"] {
        assert!(
            diagnostic["ServerInfo"][field].is_string(),
            "{field}: {diagnostic}"
        );
    }
    assert_eq!(reply.header("odata-version"), Some("4.0"));
}

#[tokio::test]
async fn refresh_tokens_and_client_assertions_are_refused_saying_so() {
    let h = Harness::new();
    // No refresh tokens: Entra's answer to a grant it does not support.
    let reply = h
        .send(form(
            &token_path(TENANT),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", APP),
                ("refresh_token", "0.AAAA"),
            ],
        ))
        .await;
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["error"], "unsupported_grant_type", "{body}");
    assert_eq!(body["error_codes"][0], 70_003, "{body}");
    // A certificate's client assertion instead of a secret: refused, naming what to send.
    let reply = h
        .send(form(
            &token_path(TENANT),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        ))
        .await;
    assert_eq!(reply.status, 401);
    let body = reply.json();
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("does not accept client assertions"),
        "{body}"
    );
}
