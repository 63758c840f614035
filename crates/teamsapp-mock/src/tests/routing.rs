//! Routes come from the route table: every template and alias, under both versions, with ids
//! decoded as Graph decodes them.

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};
use teamsapp_types::routes;

use teamsapp_types::operation::ResponseShape;

use super::{CHAT, Harness, INSTALLATION, USER, USER_ID, request, upgrade_path};
use crate::TokenSpec;

fn param<'a>(body: &'a Value, name: &str) -> &'a str {
    body["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
        .unwrap_or_else(|| panic!("no param {name} in {body}"))
}

#[tokio::test]
async fn every_route_answers_its_documented_success_under_both_versions() {
    let h = Harness::configured(|c| c.throttle.enabled = false);
    let token = h.app_token();
    let sample = |name: &str| match name {
        "chat-id" => CHAT.to_owned(),
        "team-id" | "user-id" => "02bd9fd6-8f93-4758-87c3-1fb73740a315".to_owned(),
        "teamsApp-id" => "0d820ecd-def2-4297-adad-78056cde7c78".to_owned(),
        _ => INSTALLATION.to_owned(),
    };
    for route in routes::ALL {
        if route.operation_id == "batch" {
            continue;
        }
        let values: Vec<String> = route.path_params.iter().map(|p| sample(p)).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let path = route.render(&values);
        for version in ["v1.0", "beta"] {
            let body = match route.request_content_type {
                Some("application/json") if !route.request_body_optional => Some(json!({})),
                _ => None,
            };
            let mut req = request(
                route.method.as_str(),
                &format!("/{version}{path}"),
                Some(&token),
                body,
            );
            if route.request_content_type == Some("application/zip") {
                *req.body_mut() = Body::from(&b"PK\x03\x04"[..]);
                req.headers_mut()
                    .insert("content-type", "application/zip".parse().unwrap());
            }
            let reply = h.send(req).await;
            assert_eq!(
                reply.status,
                route.success,
                "{} {version}{path}: {}",
                route.method,
                String::from_utf8_lossy(&reply.body)
            );
        }
    }
}

/// Every alias reaches its operation with the same parameters as the template does: the ones
/// it names, and for a `/me/teamwork/…` alias the signed-in user's id.
#[tokio::test]
async fn every_alias_reaches_its_operation_with_its_parameters() {
    let h = Harness::configured(|c| c.throttle.enabled = false);
    let delegated = h
        .state
        .mint_token(&TokenSpec {
            user: Some(USER.into()),
            ..TokenSpec::default()
        })
        .unwrap()
        .access_token;
    let sample = |name: &str| match name {
        "chat-id" => CHAT.to_owned(),
        "team-id" => "02bd9fd6-8f93-4758-87c3-1fb73740a315".to_owned(),
        "user-id" => "8b081ef6-4792-4def-b2c9-c363a1bf41d5".to_owned(),
        "teamsApp-id" => "0d820ecd-def2-4297-adad-78056cde7c78".to_owned(),
        _ => INSTALLATION.to_owned(),
    };
    let mut aliases = 0;
    for route in routes::ALL {
        for alias in route.aliases {
            // The alias with each `{name}` replaced by its sample, percent-encoded.
            let mut path = String::new();
            for (i, piece) in alias.split('{').enumerate() {
                match piece.split_once('}') {
                    Some((name, rest)) if i > 0 => {
                        path.push_str(&teamsapp_types::operation::encode_path_segment(&sample(
                            name,
                        )));
                        path.push_str(rest);
                    }
                    _ => path.push_str(piece),
                }
            }
            let body = match route.request_content_type {
                Some("application/json") if !route.request_body_optional => Some(json!({})),
                _ => None,
            };
            let reply = h
                .send(request(
                    route.method.as_str(),
                    &format!("/v1.0{path}"),
                    Some(&delegated),
                    body,
                ))
                .await;
            assert_eq!(
                reply.status,
                route.success,
                "{} {path}: {}",
                route.method,
                String::from_utf8_lossy(&reply.body)
            );
            if route.response != ResponseShape::Empty {
                let echoed = reply.json();
                assert_eq!(echoed["operationId"], route.operation_id, "{path}");
                for name in route.path_params {
                    let expected = if alias.contains(&format!("{{{name}}}")) {
                        sample(name)
                    } else {
                        // Only `/me/teamwork/…` leaves one out: the token's user.
                        assert!(alias.starts_with("/me/teamwork/"), "{alias} lacks {name}");
                        USER_ID.to_owned()
                    };
                    assert_eq!(param(&echoed, name), expected, "{path}");
                }
            }
            aliases += 1;
        }
    }
    assert!(aliases > 50, "{aliases}");
}

#[tokio::test]
async fn ids_are_decoded_once_raw_or_encoded() {
    let h = Harness::new();
    let get = |path: String| {
        let h = &h;
        async move { h.call("GET", &path, None).await.json() }
    };
    // SDK-encoded.
    let encoded = routes::GET_CHAT_INSTALLED_APP.render(&[CHAT, INSTALLATION]);
    assert!(encoded.contains("19%3Aea28"));
    let body = get(format!("/v1.0{encoded}")).await;
    assert_eq!(param(&body, "chat-id"), CHAT);
    assert_eq!(param(&body, "teamsAppInstallation-id"), INSTALLATION);
    // Raw, as in Graph's docs.
    let body = get(format!("/v1.0/chats/{CHAT}/installedApps/{INSTALLATION}")).await;
    assert_eq!(param(&body, "chat-id"), CHAT);
    assert_eq!(param(&body, "teamsAppInstallation-id"), INSTALLATION);
    // `%2F` inside an installation id is part of the id; `+` is a plus.
    let body = get(format!("/v1.0/chats/{CHAT}/installedApps/ab%2Fc+d%3D")).await;
    assert_eq!(param(&body, "teamsAppInstallation-id"), "ab/c+d=");
}

#[tokio::test]
async fn upgrade_answers_at_both_action_paths_and_in_any_case() {
    let h = Harness::new();
    let plain = upgrade_path(INSTALLATION);
    let namespaced = plain.replace("/upgrade", "/microsoft.graph.upgrade");
    let shouting = plain
        .replace("/v1.0/chats", "/V1.0/CHATS")
        .replace("installedApps", "INSTALLEDAPPS");
    for path in [
        plain.clone(),
        namespaced,
        shouting,
        format!("{plain}/"),
        plain.replace("/v1.0", "/beta"),
    ] {
        let reply = h.call("POST", &path, None).await;
        assert_eq!(reply.status, 204, "{path}");
    }
    let journal = h.state.journal(None);
    assert!(
        journal
            .iter()
            .all(|e| e.operation_id.as_deref() == Some(routes::UPGRADE_CHAT_APP.operation_id))
    );
}

#[tokio::test]
async fn upgrade_takes_every_body_shape_with_or_without_content_type() {
    let h = Harness::new();
    let token = h.app_token();
    let consent = json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
        {"permissionValue": "ChatMember.Read.Chat", "permissionType": "Application"}]}});
    let bodies: Vec<(&str, Option<&str>)> = vec![
        ("", None),
        ("", Some("application/json")),
        ("{}", None),
        ("{}", Some("application/json")),
        ("{}", Some("application/json; charset=utf-8")),
    ];
    let consent_text = consent.to_string();
    for (body, content_type) in bodies.into_iter().chain([
        (consent_text.as_str(), Some("application/json")),
        (consent_text.as_str(), None),
    ]) {
        let mut builder = Request::post(upgrade_path(INSTALLATION))
            .header("authorization", format!("Bearer {token}"));
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        let reply = h
            .send(builder.body(Body::from(body.to_owned())).unwrap())
            .await;
        assert_eq!(reply.status, 204, "{body:?} {content_type:?}");
    }
}

#[tokio::test]
async fn query_options_reach_the_backend_in_canonical_form() {
    let h = Harness::new();
    let body = h
        .call(
            "GET",
            &format!("/v1.0/chats/{CHAT}/installedApps?expand=teamsApp&$FILTER=teamsApp/id+eq+'x'"),
            None,
        )
        .await
        .json();
    assert_eq!(
        body["query"],
        json!([["$expand", "teamsApp"], ["$filter", "teamsApp/id eq 'x'"]])
    );
    assert_eq!(body["origin"], "http://graph.test");
}
