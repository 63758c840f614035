//! Wire-level tests: golden JSON from Microsoft's docs round-trips through the generated types, and
//! the generated request types build exactly the requests Graph documents.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;
use teamsapp_types::routes;
use teamsapp_types::*;

/// Drops explicit nulls (OData treats `null` and absent alike) and lower-cases the values of
/// `permissionType` (Graph's docs send `Delegated`, Graph answers `delegated`).
fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| match (k.as_str(), v) {
                    ("permissionType", Value::String(s)) => {
                        (k.clone(), Value::String(s.to_lowercase()))
                    }
                    _ => (k.clone(), normalize(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(name: &str, json: &Value) {
    let typed: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{name}: does not deserialize: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        normalize(&back),
        normalize(json),
        "{name}: round trip changed the JSON"
    );
}

#[test]
fn every_documented_example_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ty = name.split('.').next().unwrap();
        match ty {
            "TeamsAppInstallation" => round_trip::<TeamsAppInstallation>(&name, &json),
            "TeamsAppInstallationCollectionResponse" => {
                round_trip::<TeamsAppInstallationCollectionResponse>(&name, &json);
            }
            "TeamsAppCollectionResponse" => round_trip::<TeamsAppCollectionResponse>(&name, &json),
            "TeamsAppDefinition" => round_trip::<TeamsAppDefinition>(&name, &json),
            "ODataError" => round_trip::<ODataError>(&name, &json),
            "UpgradePostRequestBody" => round_trip::<UpgradePostRequestBody>(&name, &json),
            "InstalledAppsPostRequestBody" => {
                round_trip::<InstalledAppsPostRequestBody>(&name, &json);
            }
            "BatchRequest" => round_trip::<BatchRequest>(&name, &json),
            "BatchResponse" => round_trip::<BatchResponse>(&name, &json),
            other => panic!("{name}: no round trip registered for type {other}"),
        }
        seen += 1;
    }
    assert!(
        seen >= 16,
        "expected every fixture to be checked, saw {seen}"
    );
}

#[test]
fn documented_fields_land_in_typed_fields() {
    let json = include_str!(
        "fixtures/TeamsAppCollectionResponse.appcatalogs-list-teamsapps-ex7-rsc-authorization.json"
    );
    let page: TeamsAppCollectionResponse = serde_json::from_str(json).unwrap();
    let app = &page.value[0];
    assert_eq!(
        app.distribution_method,
        Some(TeamsAppDistributionMethod::Organization)
    );
    // The nested `appDefinitions@odata.context` annotation is kept, not dropped.
    assert!(
        app.additional_properties
            .contains_key("appDefinitions@odata.context")
    );
    let permissions = app.app_definitions.as_ref().unwrap()[0]
        .authorization
        .as_ref()
        .unwrap()
        .required_permission_set
        .as_ref()
        .unwrap()
        .resource_specific_permissions
        .as_ref()
        .unwrap();
    assert_eq!(permissions.len(), 3);
    assert_eq!(
        permissions[2].permission_type,
        Some(TeamsAppResourceSpecificPermissionType::Delegated)
    );
    assert_eq!(
        permissions[2].permission_value.as_deref(),
        Some("ChannelMeeting.ReadBasic.Group")
    );

    let def: TeamsAppDefinition = serde_json::from_str(include_str!(
        "fixtures/TeamsAppDefinition.appcatalogs-list-teamsapps-ex5-definition-with-bot.json"
    ))
    .unwrap();
    assert_eq!(
        def.publishing_state,
        Some(TeamsAppPublishingState::Rejected)
    );
    assert_eq!(def.version.as_deref(), Some("1.0.9"));
    // v1.0 examples carry beta-only properties; they are kept as additional properties.
    assert!(def.additional_properties.contains_key("azureADAppId"));
    assert!(def.additional_properties.contains_key("@odata.etag"));
}

#[test]
fn enums_accept_values_they_do_not_know_and_any_case() {
    let p: TeamsAppResourceSpecificPermission = serde_json::from_str(
        r#"{"permissionType":"Application","permissionValue":"ChatMember.Read.Chat"}"#,
    )
    .unwrap();
    assert_eq!(
        p.permission_type,
        Some(TeamsAppResourceSpecificPermissionType::Application)
    );
    let future: TeamsAppPublishingState = serde_json::from_str(r#""pendingSomething""#).unwrap();
    assert_eq!(
        future,
        TeamsAppPublishingState::Unknown("pendingSomething".into())
    );
    assert_eq!(
        serde_json::to_string(&future).unwrap(),
        r#""pendingSomething""#
    );
}

#[test]
fn optional_fields_are_omitted_when_none() {
    let installation = TeamsAppInstallation {
        id: Some("x".into()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&installation).unwrap(),
        r#"{"id":"x"}"#
    );
    assert_eq!(
        serde_json::to_string(&UpgradePostRequestBody::default()).unwrap(),
        "{}"
    );
}

/// The seed's example request, built from the generated request type.
#[test]
fn the_seed_upgrade_request_is_built_as_documented() {
    let chat = ChatId::new("19:ea28e88c00e94c7786b065394a61f296@thread.v2").unwrap();
    let installation = AppInstallationId::new(
        "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=",
    )
    .unwrap();
    let request = UpgradeChatApp::new(chat, installation);
    assert_eq!(
        request.path(),
        "/chats/19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2/installedApps/\
         NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg%3D/upgrade"
    );
    assert_eq!(UpgradeChatApp::ROUTE.method, http::Method::POST);
    assert_eq!(UpgradeChatApp::ROUTE.success, http::StatusCode::NO_CONTENT);
    assert_eq!(
        UpgradeChatApp::ROUTE.operation_id,
        "chats.chat.installedApps.teamsAppInstallation.upgrade"
    );
    assert!(request.query().is_empty());
    let body = request.body().unwrap().unwrap();
    assert_eq!(body.content_type, "application/json");
    assert_eq!(body.bytes, b"{}");
    UpgradeChatApp::decode(b"").unwrap();

    let with_consent = request.with_body(UpgradePostRequestBody {
        consented_permission_set: Some(TeamsAppPermissionSet {
            resource_specific_permissions: Some(vec![TeamsAppResourceSpecificPermission {
                permission_type: Some(TeamsAppResourceSpecificPermissionType::Application),
                permission_value: Some("ChatMember.Read.Chat".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    });
    let body: Value = serde_json::from_slice(&with_consent.body().unwrap().unwrap().bytes).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"consentedPermissionSet":{"resourceSpecificPermissions":[
            {"permissionType":"application","permissionValue":"ChatMember.Read.Chat"}]}})
    );
}

#[test]
fn list_requests_carry_typed_query_options() {
    let team = TeamId::new("6903fa93-605b-43ef-920e-77c4729f8258").unwrap();
    let request = ListTeamInstalledApps::new(team)
        .expand(["teamsApp", "teamsAppDefinition"])
        .filter("teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'")
        .select(["id", "consentedPermissionSet"]);
    assert_eq!(
        request.path(),
        "/teams/6903fa93-605b-43ef-920e-77c4729f8258/installedApps"
    );
    assert_eq!(
        request.query(),
        vec![
            (
                "$filter",
                "teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'".to_owned()
            ),
            ("$select", "id,consentedPermissionSet".to_owned()),
            ("$expand", "teamsApp,teamsAppDefinition".to_owned()),
        ]
    );
    assert!(request.body().unwrap().is_none());
}

#[test]
fn install_accepts_a_body_or_none() {
    // Graph's docs show 201 without a body; its metadata says the entity; teams answer 200 empty.
    assert_eq!(InstallChatApp::decode(b"").unwrap(), None);
    let created = InstallChatApp::decode(br#"{"id":"abc"}"#).unwrap().unwrap();
    assert_eq!(created.id.as_deref(), Some("abc"));
    assert!(InstallTeamApp::ROUTE.accepts(http::StatusCode::OK));
    assert!(InstallTeamApp::ROUTE.accepts(http::StatusCode::CREATED));
    assert!(!InstallTeamApp::ROUTE.accepts(http::StatusCode::ACCEPTED));
}

#[test]
fn publish_sends_the_zip_as_is() {
    let request = PublishCatalogApp::new(b"PK\x03\x04zip".to_vec()).requires_review(true);
    let body = request.body().unwrap().unwrap();
    assert_eq!(body.content_type, "application/zip");
    assert_eq!(body.bytes, b"PK\x03\x04zip");
    assert_eq!(request.query(), vec![("requiresReview", "true".to_owned())]);
}

#[test]
fn the_route_table_is_consistent() {
    let mut seen = std::collections::BTreeSet::new();
    for route in routes::ALL {
        assert!(
            seen.insert((route.method.as_str(), route.template)),
            "duplicate route {}",
            route.template
        );
        for alias in route.aliases {
            assert!(
                seen.insert((route.method.as_str(), alias)),
                "duplicate alias {alias}"
            );
        }
        let placeholders = route.template.matches('{').count();
        assert_eq!(
            placeholders,
            route.path_params.len(),
            "{}",
            route.operation_id
        );
    }
    assert_eq!(routes::ALL.len(), 39);
    // The personal-scope upgrade that Graph's generated spec leaves out is here.
    assert!(routes::ALL.iter().any(|r| r.template
        == "/users/{user-id}/teamwork/installedApps/{userScopeTeamsAppInstallation-id}/upgrade"));
    for alias in [
        "/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/microsoft.graph.upgrade",
        "/me/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade",
        "/users/{user-id}/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade",
    ] {
        assert!(routes::UPGRADE_CHAT_APP.aliases.contains(&alias), "{alias}");
    }
    // Every alias names every parameter of its template (the handler reads them by name),
    // except the user of a `/me/…` alias, who is the token's signed-in user (and only that one).
    for route in routes::ALL {
        for alias in route.aliases {
            for param in route.path_params {
                if alias.starts_with("/me/teamwork/") && *param == "user-id" {
                    assert!(!alias.contains("{user-id}"), "{alias}");
                    continue;
                }
                assert!(
                    alias.contains(&format!("{{{param}}}")),
                    "{alias} lacks {{{param}}}"
                );
            }
        }
    }
}

#[test]
fn every_route_knows_its_kind_ids_action_and_idempotency() {
    assert_eq!(RequestKind::ALL.len(), routes::ALL.len());
    for (kind, route) in RequestKind::ALL.iter().zip(routes::ALL) {
        assert_eq!(kind.route().operation_id, route.operation_id);
        assert_eq!(route.kind, *kind, "{}", route.operation_id);
        assert_eq!(route.path_param_kinds.len(), route.path_params.len());
        // Graph's own names say which id a parameter holds; the generated kinds must agree.
        for (name, id) in route.path_params.iter().zip(route.path_param_kinds) {
            let expected = match name.strip_suffix("-id").unwrap() {
                "chat" => IdKind::Chat,
                "team" => IdKind::Team,
                "user" => IdKind::User,
                "teamsApp" => IdKind::TeamsApp,
                "teamsAppDefinition" => IdKind::TeamsAppDefinition,
                e if e.ends_with("AppInstallation") => IdKind::AppInstallation,
                other => panic!("{other}"),
            };
            assert_eq!(*id, expected, "{}: {name}", route.operation_id);
        }
        let upgrade = route.template.ends_with("/upgrade");
        assert_eq!(
            route.action,
            upgrade.then_some("upgrade"),
            "{}",
            route.operation_id
        );
        assert_eq!(
            route.idempotent,
            route.method != http::Method::POST || upgrade,
            "{}",
            route.operation_id
        );
    }
}

#[test]
fn requests_decode_with_typed_ids_and_bodies() {
    const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
    const INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";
    let upgrade = Request::decode(RequestKind::UpgradeChatApp, &[CHAT, INSTALLATION], b"").unwrap();
    assert_eq!(
        upgrade,
        Request::UpgradeChatApp {
            chat_id: ChatId::new(CHAT).unwrap(),
            installation_id: AppInstallationId::new(INSTALLATION).unwrap(),
            body: UpgradePostRequestBody::default(),
        }
    );
    assert_eq!(upgrade.kind(), RequestKind::UpgradeChatApp);
    assert!(matches!(
        Request::decode(RequestKind::UpgradeChatApp, &[CHAT, INSTALLATION], b" {} "),
        Ok(Request::UpgradeChatApp { .. })
    ));
    assert!(matches!(
        Request::decode(
            RequestKind::UpgradeChatApp,
            &["not-a-chat", INSTALLATION],
            b""
        ),
        Err(DecodeError::InvalidId {
            param: "chat-id",
            ..
        })
    ));
    assert!(matches!(
        Request::decode(RequestKind::UpgradeChatApp, &[CHAT], b""),
        Err(DecodeError::ParamCount {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        Request::decode(
            RequestKind::InstallChatApp,
            &[CHAT],
            b"{\"teamsApp@odata.bind\": 1"
        ),
        Err(DecodeError::Body {
            ty: "InstalledAppsPostRequestBody",
            ..
        })
    ));
    // A required JSON body may not be left out; a zip body is taken as it is.
    assert!(Request::decode(RequestKind::InstallChatApp, &[CHAT], b"").is_err());
    assert_eq!(
        Request::decode::<&str>(RequestKind::PublishCatalogApp, &[], b"PK\x03\x04").unwrap(),
        Request::PublishCatalogApp {
            package: b"PK\x03\x04".to_vec()
        }
    );
    assert_eq!(
        Request::decode::<&str>(RequestKind::ListUsers, &[], b"").unwrap(),
        Request::ListUsers
    );
}
