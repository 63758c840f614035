//! The admin API.

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};

use super::{APP, CHAT, Harness, INSTALLATION, TENANT, request, upgrade_path};
use crate::ClientSecret;

fn admin(method: &str, path: &str, body: Option<Value>) -> Request<Body> {
    request(method, path, None, body)
}

#[tokio::test]
async fn token_minting_works_for_curl_at_once() {
    let h = Harness::new();
    let reply = h
        .send(admin(
            "POST",
            "/_emulator/token",
            Some(json!({"tenant": TENANT, "app": APP, "roles": ["TeamsAppInstallation.ReadForChat.All"]})),
        ))
        .await;
    assert_eq!(reply.status, 200);
    let minted = reply.json();
    assert_eq!(
        minted["claims"]["roles"],
        json!(["TeamsAppInstallation.ReadForChat.All"])
    );
    assert_eq!(
        minted["claims"]["iss"],
        format!("https://sts.windows.net/{TENANT}/")
    );
    assert_eq!(minted["claims"]["aud"], "https://graph.microsoft.com");
    let token = minted["accessToken"].as_str().unwrap();
    let reply = h
        .send(request(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps"),
            Some(token),
            None,
        ))
        .await;
    assert_eq!(reply.status, 200);

    let delegated = h
        .send(admin(
            "POST",
            "/_emulator/token",
            Some(json!({"user": "adele@contoso.onmicrosoft.com", "scopes": ["TeamsAppInstallation.ReadForChat"]})),
        ))
        .await
        .json();
    assert_eq!(
        delegated["claims"]["scp"],
        "TeamsAppInstallation.ReadForChat"
    );
    assert_eq!(delegated["claims"]["idtyp"], "user");

    let reply = h
        .send(admin(
            "POST",
            "/_emulator/token",
            Some(json!({"tenant": "nowhere.example"})),
        ))
        .await;
    reply.assert_graph_error(404, "NotFound");
}

#[tokio::test]
async fn journal_metrics_and_reset() {
    let h = Harness::configured(|c| c.journal_capacity = 3);
    for _ in 0..4 {
        h.call("POST", &upgrade_path(INSTALLATION), None).await;
    }
    h.call("GET", "/v1.0/nope", None).await;
    let journal = h
        .send(admin("GET", "/_emulator/journal?limit=2", None))
        .await
        .json();
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["status"], 400);
    assert_eq!(entries[1]["seq"], 5);
    assert_eq!(entries[0]["app"], APP);
    assert_eq!(entries[0]["tenant"], TENANT);
    assert_eq!(
        entries[0]["operationId"],
        "chats.chat.installedApps.teamsAppInstallation.upgrade"
    );
    assert_eq!(h.state.journal(None).len(), 3);

    let metrics = h
        .send(admin("GET", "/_emulator/metrics", None))
        .await
        .json();
    assert_eq!(
        metrics["requests"]["chats.chat.installedApps.teamsAppInstallation.upgrade"]["204"],
        4
    );
    assert_eq!(metrics["requests"]["unmatched"]["400"], 1);
    assert_eq!(metrics["upgrades"][INSTALLATION], 4);
    assert_eq!(metrics["requestsTotal"], 5);
    assert_eq!(metrics["earlyRetriesTotal"], 0);

    let reply = h.send(admin("POST", "/_emulator/reset", None)).await;
    assert_eq!(reply.status, 204);
    assert!(h.state.journal(None).is_empty());
    assert_eq!(h.state.metrics().requests_total, 0);
}

#[tokio::test]
async fn faults_throttle_and_scenarios_round_trip() {
    let h = Harness::new();
    let reply = h
        .send(admin(
            "PUT",
            "/_emulator/faults",
            Some(json!({"seed": 9, "serviceUnavailable": 1.0})),
        ))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["retryAfterSeconds"], 2);
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        503
    );
    let reply = h
        .send(admin(
            "PUT",
            "/_emulator/faults",
            Some(json!({"tooManyRequests": 3})),
        ))
        .await;
    reply.assert_graph_error(400, "BadRequest");
    h.send(admin("PUT", "/_emulator/faults", Some(json!({}))))
        .await;

    let reply = h
        .send(admin(
            "PUT",
            "/_emulator/throttle",
            Some(json!({"enabled": true, "write": {"perSecond": 1}})),
        ))
        .await;
    assert_eq!(reply.json()["write"]["perSecond"], 1.0);
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        204
    );
    assert_eq!(
        h.call("POST", &upgrade_path(INSTALLATION), None)
            .await
            .status,
        429
    );

    let reply = h
        .send(admin(
            "PUT",
            "/_emulator/scenarios",
            Some(json!([{"match": {"operationId": "chats.ListInstalledApps"}, "times": 1, "status": 500}])),
        ))
        .await;
    assert_eq!(reply.status, 200);
    let listed = h
        .send(admin("GET", "/_emulator/scenarios", None))
        .await
        .json();
    assert_eq!(listed[0]["times"], 1);
    let reply = h
        .call("GET", &format!("/v1.0/chats/{CHAT}/installedApps"), None)
        .await;
    reply.assert_graph_error(500, "UnknownError");
    let reply = h
        .send(admin(
            "PUT",
            "/_emulator/scenarios",
            Some(json!({"not": "a list"})),
        ))
        .await;
    reply.assert_graph_error(400, "BadRequest");
}

#[tokio::test]
async fn the_admin_api_needs_the_key_off_loopback() {
    let h = Harness::configured(|c| c.admin_key = Some(ClientSecret::new("k3y")));
    assert_eq!(
        h.send(admin("GET", "/_emulator/metrics", None))
            .await
            .status,
        200
    );
    h.state
        .origins()
        .set_listener("10.0.0.1:8080".parse().unwrap());
    h.send(admin("GET", "/_emulator/metrics", None))
        .await
        .assert_graph_error(403, "Forbidden");
    let mut req = admin("GET", "/_emulator/metrics", None);
    req.headers_mut()
        .insert("x-emulator-admin-key", "wrong".parse().unwrap());
    h.send(req).await.assert_graph_error(403, "Forbidden");
    let mut req = admin("GET", "/_emulator/metrics", None);
    req.headers_mut()
        .insert("x-emulator-admin-key", "k3y".parse().unwrap());
    assert_eq!(h.send(req).await.status, 200);
    let mut req = admin("GET", "/_emulator/metrics", None);
    req.headers_mut()
        .insert("authorization", "Bearer k3y".parse().unwrap());
    assert_eq!(h.send(req).await.status, 200);

    let closed = Harness::new();
    closed
        .state
        .origins()
        .set_listener("10.0.0.1:8080".parse().unwrap());
    closed
        .send(admin("GET", "/_emulator/state", None))
        .await
        .assert_graph_error(403, "Forbidden");
}

#[tokio::test]
async fn state_summary_and_unwired_model_endpoints() {
    let h = Harness::new();
    let state = h.send(admin("GET", "/_emulator/state", None)).await.json();
    assert_eq!(state["directory"][0]["id"], TENANT);
    assert_eq!(state["https"], false);
    // The stand-in backend does not load tenants: the admin API says so, Graph-shaped.
    let reply = h
        .send(admin("POST", "/_emulator/tenants", Some(json!({}))))
        .await;
    reply.assert_graph_error(501, "NotImplemented");
    let reply = h.send(admin("POST", "/_emulator/tenants", None)).await;
    reply.assert_graph_error(400, "BadRequest");
}
