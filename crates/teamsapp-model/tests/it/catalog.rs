//! Catalog operations.

use teamsapp_model::demo::{self, CREDENTIALS};
use teamsapp_model::{Event, ModelError, Query};
use teamsapp_types::Scope;
use teamsapp_types::{
    TeamsAppDefinition, TeamsAppDefinitionId, TeamsAppId, TeamsAppPublishingState,
    UpgradePostRequestBody,
};

use crate::common::*;

const NEW_EXTERNAL: &str = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";

fn admin() -> teamsapp_model::Caller {
    delegated(demo::ADELE, &["AppCatalog.ReadWrite.All"])
}

#[test]
fn lists_and_filters_the_catalog() {
    let world = demo_world();
    let reader = app_with(&["AppCatalog.Read.All"]);
    let all = world.list_catalog_apps(&reader, &Query::new()).unwrap();
    assert_eq!(all.items.len(), 4);
    let planner = all
        .items
        .iter()
        .find(|a| a.id.as_deref() == Some(demo::PLANNER_APP_ID))
        .unwrap();
    assert_eq!(planner.external_id, None);
    assert!(planner.app_definitions.is_none());

    let org = world
        .list_catalog_apps(
            &reader,
            &Query::parse("$filter=distributionMethod eq 'organization'"),
        )
        .unwrap();
    assert_eq!(org.items.len(), 3);
    let bots = world
        .list_catalog_apps(
            &reader,
            &Query::parse(
                "$expand=appDefinitions($expand=bot)&$filter=appDefinitions/any(a:a/bot ne null)",
            ),
        )
        .unwrap();
    let ids: Vec<_> = bots.items.iter().map(|a| a.id.clone().unwrap()).collect();
    assert_eq!(ids, [demo::TASKS_APP_ID, demo::STANDUP_APP_ID]);
    assert!(
        bots.items[0].app_definitions.as_ref().unwrap()[0]
            .bot
            .is_some()
    );

    let rsc = world
        .list_catalog_apps(
            &reader,
            &Query::parse(&format!(
                "$filter=id+eq+'{}'&$expand=appDefinitions($select=id,authorization)",
                demo::POLLS_APP_ID
            )),
        )
        .unwrap();
    let defs = rsc.items[0].app_definitions.as_ref().unwrap();
    assert_eq!(defs.len(), 3);
    assert!(defs[0].version.is_none());
    let required = defs[1]
        .authorization
        .as_ref()
        .unwrap()
        .required_permission_set
        .as_ref()
        .unwrap();
    assert_eq!(
        required
            .resource_specific_permissions
            .as_ref()
            .unwrap()
            .len(),
        2
    );

    let by_external = world
        .list_catalog_apps(
            &reader,
            &Query::new().with_filter(format!("externalId eq '{}'", demo::TASKS_EXTERNAL_ID)),
        )
        .unwrap();
    assert_eq!(by_external.items.len(), 1);

    let app = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    let defs = world
        .list_catalog_app_definitions(
            &reader,
            &app,
            &Query::new().with_filter("publishingState eq 'published'"),
        )
        .unwrap();
    assert_eq!(defs.items.len(), 2);
    let id = TeamsAppDefinitionId::new(defs.items[1].id.clone().unwrap()).unwrap();
    let def = world
        .get_catalog_app_definition(&reader, &app, &id, &Query::new().with_expand("bot"))
        .unwrap();
    assert_eq!(def.version.as_deref(), Some("1.1.0"));
    assert!(def.bot.is_some());
    assert_eq!(
        def.authorization.unwrap().client_app_id.as_deref(),
        Some(demo::TASKS_CLIENT_APP_ID)
    );
    let stale = TeamsAppDefinitionId::build(&app, "1.1.0", Some("submitted")).unwrap();
    assert_eq!(
        world
            .get_catalog_app_definition(&reader, &app, &stale, &Query::new())
            .unwrap_err()
            .status(),
        404
    );
    let got = world
        .get_catalog_app(&reader, &app, &Query::new().with_select("displayName"))
        .unwrap();
    assert_eq!(
        (got.display_name.as_deref(), got.external_id),
        (Some("Contoso Tasks"), None)
    );
    assert_eq!(
        world
            .get_catalog_app(&reader, &TeamsAppId::new("nope").unwrap(), &Query::new())
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        world
            .list_catalog_apps(&fleet(), &Query::new())
            .unwrap()
            .items
            .len(),
        4
    );
    assert_eq!(
        world
            .list_catalog_apps(&app_with(&["User.Read.All"]), &Query::new())
            .unwrap_err()
            .status(),
        403
    );
}

#[test]
fn publish_update_install_upgrade() {
    let mut world = demo_world();
    let outcome = world
        .publish_catalog_app(
            &admin(),
            &package(NEW_EXTERNAL, "1.0.0", "Contoso Notes", &[]),
            &Query::new(),
            now(),
        )
        .unwrap();
    let app = outcome.value;
    assert_eq!(app.external_id.as_deref(), Some(NEW_EXTERNAL));
    assert_eq!(app.display_name.as_deref(), Some("Contoso Notes"));
    let app_id = TeamsAppId::new(app.id.clone().unwrap()).unwrap();
    // A new GUID, not the manifest's id.
    assert!(app_id.is_guid());
    assert!(!app_id.as_str().eq_ignore_ascii_case(NEW_EXTERNAL));
    assert!(matches!(
        outcome.events[0],
        Event::CatalogAppPublished { .. }
    ));

    let c = chat(demo::SEED_CHAT_ID);
    world
        .install_app(
            &fleet(),
            &Scope::from(&c),
            &bind(app_id.as_str()),
            &Query::new(),
            now(),
        )
        .unwrap();
    let err = world
        .publish_catalog_app(
            &admin(),
            &package(NEW_EXTERNAL, "2.0.0", "Again", &[]),
            &Query::new(),
            now(),
        )
        .unwrap_err();
    assert_eq!(
        (err.status(), err.inner_code()),
        (409, Some("AppDefinitionAlreadyExists"))
    );

    for (version, status) in [("1.0.0", 409), ("0.9.0", 400)] {
        let err = world
            .update_catalog_app(
                &admin(),
                &app_id,
                &package(NEW_EXTERNAL, version, "Contoso Notes", &[]),
                &Query::new(),
                now(),
            )
            .unwrap_err();
        assert_eq!(err.status(), status, "{version}");
    }
    let err = world
        .update_catalog_app(
            &admin(),
            &app_id,
            &package(demo::TASKS_EXTERNAL_ID, "3.0.0", "x", &[]),
            &Query::new(),
            now(),
        )
        .unwrap_err();
    assert!(
        err.message().contains("does not match the externalId"),
        "{err}"
    );
    let def = world
        .update_catalog_app(
            &admin(),
            &app_id,
            &package(NEW_EXTERNAL, "1.10.0", "Contoso Notes 2", &[]),
            &Query::new(),
            now(),
        )
        .unwrap()
        .value;
    assert_eq!(
        def.publishing_state,
        Some(TeamsAppPublishingState::Published)
    );
    let id = built(demo::SEED_CHAT_ID, app_id.as_str());
    let report = world
        .upgrade_app(
            &fleet(),
            &Scope::from(&c),
            &id,
            &UpgradePostRequestBody::default(),
            &Query::new(),
            now(),
        )
        .unwrap();
    assert_eq!(report.value.to_version, "1.10.0");
    let listed = world
        .get_catalog_app(&fleet(), &app_id, &Query::new())
        .unwrap();
    assert_eq!(listed.display_name.as_deref(), Some("Contoso Notes 2"));

    // Deleting the app removes its installations.
    world
        .delete_catalog_app(&admin(), &app_id, &Query::new())
        .unwrap();
    assert!(world.installation(CREDENTIALS.tenant_id, &id).is_none());
    assert_eq!(
        world
            .get_catalog_app(&fleet(), &app_id, &Query::new())
            .unwrap_err()
            .status(),
        404
    );
    // The manifest id is free again.
    world
        .publish_catalog_app(
            &admin(),
            &package(NEW_EXTERNAL, "1.0.0", "Contoso Notes", &[]),
            &Query::new(),
            now(),
        )
        .unwrap();
}

#[test]
fn review_flow_and_submit_permissions() {
    let mut world = demo_world();
    let alex = delegated(demo::ALEX, &["AppCatalog.Submit"]);
    let err = world
        .publish_catalog_app(
            &alex,
            &package(NEW_EXTERNAL, "1.0.0", "Notes", &[]),
            &Query::new(),
            now(),
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let app = world
        .publish_catalog_app(
            &alex,
            &package(NEW_EXTERNAL, "1.0.0", "Notes", &[]),
            &Query::new().with_requires_review(true),
            now(),
        )
        .unwrap()
        .value;
    let app_id = TeamsAppId::new(app.id.unwrap()).unwrap();
    let c = chat(demo::SEED_CHAT_ID);
    assert_eq!(
        world
            .install_app(
                &fleet(),
                &Scope::from(&c),
                &bind(app_id.as_str()),
                &Query::new(),
                now()
            )
            .unwrap_err()
            .status(),
        400
    );

    let submitted = TeamsAppDefinitionId::build(&app_id, "1.0.0", Some("submitted")).unwrap();
    let publish = TeamsAppDefinition {
        publishing_state: Some(TeamsAppPublishingState::Published),
        ..TeamsAppDefinition::default()
    };
    assert_eq!(
        world
            .review_catalog_app_definition(
                &alex,
                &app_id,
                &submitted,
                &publish,
                None,
                &Query::new(),
                now()
            )
            .unwrap_err()
            .status(),
        403
    );
    let bad = TeamsAppDefinition {
        publishing_state: Some(TeamsAppPublishingState::Submitted),
        ..TeamsAppDefinition::default()
    };
    assert_eq!(
        world
            .review_catalog_app_definition(
                &admin(),
                &app_id,
                &submitted,
                &bad,
                None,
                &Query::new(),
                now()
            )
            .unwrap_err()
            .status(),
        400
    );
    // A stale If-Match is refused and changes nothing; `*` matches any version.
    let stale = world.review_catalog_app_definition(
        &admin(),
        &app_id,
        &submitted,
        &publish,
        Some("\"c3RhbGU=\""),
        &Query::new(),
        now(),
    );
    assert_eq!(stale.unwrap_err().status(), 412);
    let reviewed = world
        .review_catalog_app_definition(
            &admin(),
            &app_id,
            &submitted,
            &publish,
            None,
            &Query::new(),
            now(),
        )
        .unwrap()
        .value;
    let new_id = TeamsAppDefinitionId::new(reviewed.id.unwrap()).unwrap();
    assert_ne!(new_id, submitted);
    assert_eq!(new_id.decode().unwrap().state.as_deref(), Some("Published"));
    assert_eq!(
        world
            .review_catalog_app_definition(
                &admin(),
                &app_id,
                &submitted,
                &publish,
                None,
                &Query::new(),
                now()
            )
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        world
            .review_catalog_app_definition(
                &admin(),
                &app_id,
                &new_id,
                &publish,
                None,
                &Query::new(),
                now()
            )
            .unwrap_err()
            .status(),
        400
    );
    world
        .install_app(
            &fleet(),
            &Scope::from(&c),
            &bind(app_id.as_str()),
            &Query::new(),
            now(),
        )
        .unwrap();

    // Alex may delete only what Alex submitted.
    let tasks = TeamsAppId::new(demo::TASKS_APP_ID).unwrap();
    assert_eq!(
        world
            .delete_catalog_app(&alex, &tasks, &Query::new())
            .unwrap_err()
            .status(),
        403
    );
    world
        .delete_catalog_app(&alex, &app_id, &Query::new())
        .unwrap();
    // Store apps cannot be deleted; apps cannot publish.
    let planner = TeamsAppId::new(demo::PLANNER_APP_ID).unwrap();
    assert_eq!(
        world
            .delete_catalog_app(&admin(), &planner, &Query::new())
            .unwrap_err()
            .status(),
        400
    );
    let err = world
        .publish_catalog_app(
            &app_with(&["AppCatalog.ReadWrite.All"]),
            &package("a-b", "1.0.0", "n", &[]),
            &Query::new(),
            now(),
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(
        err.message()
            .contains("does not support application permissions"),
        "{err}"
    );
}

#[test]
fn invalid_packages_are_graphs_400() {
    let mut world = demo_world();
    let err = world
        .publish_catalog_app(&admin(), b"PK\x03\x04 not really", &Query::new(), now())
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.inner_code(), Some("UnableToParseTeamsAppManifest"));
    let manifest = br#"{"id":"x1","version":"1.0","description":{}}"#;
    let zip = teamsapp_model::package::zip_files(&[("manifest.json", manifest)]);
    let err = world
        .publish_catalog_app(&admin(), &zip, &Query::new(), now())
        .unwrap_err();
    let ModelError::InvalidPackage { details, .. } = &err else {
        panic!("{err:?}")
    };
    // Every schema problem is listed, sorted by path: `name` is among them.
    assert!(
        details
            .iter()
            .any(|d| d.target == "name" && d.code == "SchemaError_Required"),
        "{details:?}"
    );
    let graph = err.to_graph_error();
    let json = serde_json::to_value(&graph).unwrap();
    assert_eq!(json["error"]["code"], "BadRequest");
    assert_eq!(
        json["error"]["innerError"]["code"],
        "UnableToParseTeamsAppManifest"
    );
    assert_eq!(
        json["error"]["innerError"]["details"][0]["code"],
        "SchemaError_Required"
    );
    assert_eq!(
        world
            .publish_catalog_app(
                &admin(),
                &[],
                &Query::new().with_requires_review(true),
                now()
            )
            .unwrap_err()
            .status(),
        400
    );
    let q = Query::parse("requiresReview=maybe");
    assert_eq!(
        world
            .publish_catalog_app(&admin(), &[], &q, now())
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn published_rsc_apps_need_consent_to_install() {
    let mut world = demo_world();
    let app = world
        .publish_catalog_app(
            &admin(),
            &package(
                NEW_EXTERNAL,
                "1.0.0",
                "Rsc",
                &[("ChatMember.Read.Chat", "Application")],
            ),
            &Query::new(),
            now(),
        )
        .unwrap()
        .value;
    let c = chat(demo::SEED_CHAT_ID);
    let mut body = bind(app.id.as_deref().unwrap());
    assert_eq!(
        world
            .install_app(&fleet(), &Scope::from(&c), &body, &Query::new(), now())
            .unwrap_err()
            .status(),
        400,
        "a permission that cannot consent to RSC (microsoft-graph-docs#13348)"
    );
    body.consented_permission_set =
        Some(permission_set(&[("ChatMember.Read.Chat", "Application")]));
    let consenting = app_with(&["TeamsAppInstallation.ReadWriteAndConsentForChat.All"]);
    let id = world
        .install_app(&consenting, &Scope::from(&c), &body, &Query::new(), now())
        .unwrap()
        .value
        .id
        .unwrap();
    let got = world
        .get_installed_app(
            &fleet(),
            &Scope::from(&c),
            &installation_id(&id),
            &Query::new().with_select("id,consentedPermissionSet"),
        )
        .unwrap();
    assert_eq!(
        got.consented_permission_set
            .unwrap()
            .resource_specific_permissions
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn unset_properties_are_null_and_created_by_is_a_whole_identity_set() {
    // Graph writes what it returns, `null` when unset, and `createdBy` with every identity of
    // the set (catalog-list Example 5; chat-list Example 2 shows `"createdBy": null`).
    let world = demo_world();
    let reader = app_with(&["AppCatalog.Read.All"]);
    let expand = Query::parse("$expand=appDefinitions");
    let planner = world
        .get_catalog_app(
            &reader,
            &TeamsAppId::new(demo::PLANNER_APP_ID).unwrap(),
            &expand,
        )
        .unwrap();
    let planner = serde_json::to_value(&planner).unwrap();
    assert_eq!(planner["externalId"], serde_json::Value::Null, "{planner}");
    let def = &planner["appDefinitions"][0];
    for name in ["createdBy", "description", "shortDescription"] {
        assert!(
            def.get(name).is_some_and(serde_json::Value::is_null),
            "{name}: {def}"
        );
    }

    let tasks = world
        .get_catalog_app(
            &reader,
            &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
            &expand,
        )
        .unwrap();
    let tasks = serde_json::to_value(&tasks).unwrap();
    assert_eq!(
        tasks["appDefinitions"][0]["createdBy"],
        serde_json::json!({
            "application": null,
            "device": null,
            "conversation": null,
            "user": {"id": demo::ADELE, "displayName": null, "userIdentityType": "aadUser"}
        })
    );
    // `$select` narrows: what is not selected is left out, not `null`.
    let narrow = world
        .get_catalog_app(
            &reader,
            &TeamsAppId::new(demo::PLANNER_APP_ID).unwrap(),
            &Query::parse("$select=id,displayName"),
        )
        .unwrap();
    let narrow = serde_json::to_value(&narrow).unwrap();
    assert!(narrow.get("externalId").is_none(), "{narrow}");
}
