//! Every operation's permission table (`x-teamsapp-permissions` in the fragment, as Graph's pages
//! list them) decides who gets past authorization: each listed permission that does not depend on
//! the calling app or on resource-specific consent lets a request through (whatever the request
//! meets next), and a token holding none of them is Graph's `403`.

use axum::body::Body;
use serde_json::{Value, json};
use teamsapp_model::demo;
use teamsapp_model::package::build_package;
use teamsapp_types::permissions::{self, PermissionKind};
use teamsapp_types::{AppInstallationId, Route, TeamsAppDefinitionId, TeamsAppId, routes};

use super::{Harness, request};
use crate::TokenSpec;

/// A permission whose effect depends on more than the token: the calling app's identity
/// (`…Self…`, `…Selected…`) or resource-specific consent.
fn depends_on_more_than_the_token(name: &str) -> bool {
    name.contains("Self") || name.contains("Selected") || permissions::is_resource_specific(name)
}

/// The path (with demo ids Adele may reach) and body of a request to `route`.
fn sample(route: &Route) -> (String, Option<Body>, Option<&'static str>) {
    let values: Vec<String> = route
        .path_params
        .iter()
        .map(|name| match *name {
            "chat-id" => demo::SEED_CHAT_ID.to_owned(),
            "team-id" => demo::ENGINEERING_TEAM_ID.to_owned(),
            "user-id" => demo::ADELE.to_owned(),
            "teamsApp-id" => demo::TASKS_APP_ID.to_owned(),
            "teamsAppDefinition-id" => TeamsAppDefinitionId::build(
                &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
                demo::TASKS_SUBMITTED_VERSION,
                Some("Submitted"),
            )
            .unwrap()
            .into_inner(),
            // An installation: of Tasks in the scope the route names.
            _ => {
                let scope = if route.template.starts_with("/teams") {
                    demo::ENGINEERING_TEAM_ID
                } else if route.template.starts_with("/users") {
                    demo::ADELE
                } else {
                    demo::SEED_CHAT_ID
                };
                AppInstallationId::build(scope, demo::TASKS_APP_ID)
                    .unwrap()
                    .into_inner()
            }
        })
        .collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let mut path = format!("/v1.0{}", route.render(&values));
    // `AppCatalog.Submit` may only submit for review (checked after authorization).
    if route.query_options.contains(&"requiresReview") {
        path.push_str("?requiresReview=true");
    }
    let json = |v: Value| Some(Body::from(v.to_string()));
    let (body, content_type) = match route.request_content_type {
        Some("application/zip") => (
            Some(Body::from(build_package(
                demo::TASKS_EXTERNAL_ID,
                "9.0.0",
                "Contoso Tasks",
                &serde_json::Map::default(),
            ))),
            Some("application/zip"),
        ),
        Some(_) if route.method == http::Method::PATCH => (
            json(json!({"publishingState": "published"})),
            Some("application/json"),
        ),
        Some(_) if route.action.is_some() => (json(json!({})), Some("application/json")),
        Some(_) => (
            json(json!({"teamsApp@odata.bind": format!(
                "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}",
                demo::STANDUP_APP_ID
            )})),
            Some("application/json"),
        ),
        None => (None, None),
    };
    (path, body, content_type)
}

fn token(h: &Harness, kind: PermissionKind, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let spec = match kind {
        PermissionKind::Delegated => TokenSpec {
            user: Some(demo::ADELE.to_owned()),
            scopes: Some(names),
            ..TokenSpec::default()
        },
        PermissionKind::Application => TokenSpec {
            roles: Some(names),
            ..TokenSpec::default()
        },
    };
    h.state.mint_token(&spec).unwrap().access_token
}

async fn status(h: &Harness, route: &Route, token: &str) -> (http::StatusCode, String) {
    let (path, body, content_type) = sample(route);
    let mut req = request(route.method.as_str(), &path, Some(token), None);
    if let Some(body) = body {
        *req.body_mut() = body;
    }
    if let Some(content_type) = content_type {
        req.headers_mut()
            .insert("content-type", content_type.parse().unwrap());
    }
    let reply = h.send(req).await;
    (
        reply.status,
        format!(
            "{} {path}: {}",
            route.method,
            String::from_utf8_lossy(&reply.body)
        ),
    )
}

#[tokio::test]
async fn every_listed_permission_gets_past_authorization_and_none_is_a_403() {
    let mut checked = 0;
    for route in routes::ALL {
        if route.operation_id == "batch" {
            continue;
        }
        // One emulator per operation: a request may change the demo (the second install is a
        // `409`, the second delete a `404`), which is past authorization all the same.
        let h = Harness::model(|c| c.throttle.enabled = false);
        for kind in [PermissionKind::Delegated, PermissionKind::Application] {
            let listed = route.permissions.allowed(kind);
            for name in listed.iter().filter(|n| !depends_on_more_than_the_token(n)) {
                let (status, what) = status(&h, route, &token(&h, kind, &[name])).await;
                assert!(
                    status != 401 && status != 403,
                    "{kind:?} {name} on {what} answered {status}"
                );
                checked += 1;
            }
            // `User.Read` is in no table of this API family; authorization comes before the
            // lookups, so this is a `403` even after a delete above.
            if !listed.is_empty() {
                let (status, what) = status(&h, route, &token(&h, kind, &["User.Read"])).await;
                assert_eq!(status, 403, "{kind:?} User.Read on {what}");
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
