//! `/beta`'s shapes (beta CSDL): `shortdescription`, `azureADAppId` and
//! `allowedInstallationScopes` on definitions, `scopeInfo` on installations; `/v1.0` unchanged.

use serde_json::{Value, json};
use teamsapp_model::demo;
use teamsapp_model::{ApiVersion, Query};
use teamsapp_types::{Scope, TeamsAppId};

use crate::common::*;

fn beta(query: Query) -> Query {
    query.with_version(ApiVersion::Beta)
}

fn tasks_definitions(query: &Query) -> Value {
    let world = demo_world();
    let app = world
        .get_catalog_app(
            &app_with(&["AppCatalog.Read.All"]),
            &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
            query,
        )
        .unwrap();
    serde_json::to_value(&app).unwrap()["appDefinitions"][0].clone()
}

#[test]
fn definitions_have_betas_properties_only_on_beta() {
    let expand = Query::parse("$expand=appDefinitions");
    let v1 = tasks_definitions(&expand);
    assert!(v1.get("shortDescription").is_some(), "{v1}");
    for beta_only in [
        "shortdescription",
        "azureADAppId",
        "allowedInstallationScopes",
    ] {
        assert!(v1.get(beta_only).is_none(), "{beta_only}: {v1}");
    }

    let b = tasks_definitions(&beta(expand));
    assert!(b.get("shortDescription").is_none(), "{b}");
    assert_eq!(b["shortdescription"], v1["shortDescription"], "{b}");
    assert_eq!(b["azureADAppId"], json!(demo::TASKS_CLIENT_APP_ID), "{b}");
    assert_eq!(b["authorization"]["clientAppId"], b["azureADAppId"], "{b}");
    assert_eq!(b["allowedInstallationScopes"], Value::Null, "{b}");
    // Everything else is as on v1.0.
    let mut rest = b.as_object().unwrap().clone();
    for beta_only in [
        "shortdescription",
        "azureADAppId",
        "allowedInstallationScopes",
    ] {
        rest.remove(beta_only);
    }
    let mut v1_rest = v1.as_object().unwrap().clone();
    v1_rest.remove("shortDescription");
    assert_eq!(rest, v1_rest);
}

#[test]
fn select_names_the_versions_properties() {
    let select = |version: ApiVersion, names: &str| {
        let world = demo_world();
        world
            .list_catalog_app_definitions(
                &app_with(&["AppCatalog.Read.All"]),
                &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
                &Query::new().with_select(names).with_version(version),
            )
            .map(|page| serde_json::to_value(&page.items[0]).unwrap())
    };
    let b = select(ApiVersion::Beta, "shortdescription,azureADAppId").unwrap();
    assert!(
        b.get("shortdescription").is_some() && b.get("azureADAppId").is_some(),
        "{b}"
    );
    assert!(
        b.get("version").is_none() && b.get("shortDescription").is_none(),
        "{b}"
    );
    for beta_only in ["azureADAppId", "allowedInstallationScopes"] {
        let err = select(ApiVersion::V1, beta_only).unwrap_err();
        assert_eq!(err.status(), 400, "{beta_only}");
        assert!(
            err.message().contains(&format!(
                "Could not find a property named '{beta_only}' on type 'microsoft.graph.teamsAppDefinition'"
            )),
            "{}",
            err.message()
        );
    }
    // Names match ASCII case-insensitively on both versions (FIDELITY: "Option names"), so the
    // other version's spelling of the short description finds the version's own property.
    let v1 = select(ApiVersion::V1, "shortdescription").unwrap();
    assert!(v1.get("shortDescription").is_some() && v1.get("shortdescription").is_none());
    let b = select(ApiVersion::Beta, "shortDescription").unwrap();
    assert!(b.get("shortdescription").is_some() && b.get("shortDescription").is_none());
    // Beta's `colorIcon`/`outlineIcon` navigations are not modelled: unknown on both versions.
    for version in ApiVersion::ALL {
        let world = demo_world();
        let err = world
            .get_catalog_app(
                &app_with(&["AppCatalog.Read.All"]),
                &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
                &Query::new()
                    .with_expand("appDefinitions($expand=colorIcon)")
                    .with_version(version),
            )
            .unwrap_err();
        assert_eq!(err.status(), 400, "{version:?}");
    }
    // `$filter` reads beta's table on beta.
    let world = demo_world();
    let filtered = world
        .list_catalog_app_definitions(
            &app_with(&["AppCatalog.Read.All"]),
            &TeamsAppId::new(demo::TASKS_APP_ID).unwrap(),
            &beta(Query::new().with_filter("azureADAppId eq 'x'")),
        )
        .unwrap_err();
    assert_eq!(filtered.status(), 400, "azureADAppId is not filterable");
}

#[test]
fn installations_write_scope_info_per_scope_on_beta_with_select() {
    let world = demo_world();
    let cases = [
        (
            Scope::from(&chat(demo::SEED_CHAT_ID)),
            "groupChatTeamsAppInstallationScopeInfo",
            "groupChat",
            "chatId",
            demo::SEED_CHAT_ID,
        ),
        (
            Scope::from(&team(demo::SALES_TEAM_ID)),
            "teamTeamsAppInstallationScopeInfo",
            "team",
            "teamId",
            demo::SALES_TEAM_ID,
        ),
        (
            Scope::from(&user(demo::ADELE)),
            "personalTeamsAppInstallationScopeInfo",
            "personal",
            "userId",
            demo::ADELE,
        ),
    ];
    for (scope, odata_type, name, id_name, id) in cases {
        let list = |query: &Query| {
            let page = world.list_installed_apps(&fleet(), &scope, query).unwrap();
            assert!(!page.items.is_empty(), "{scope:?} has installations");
            serde_json::to_value(&page.items[0]).unwrap()
        };
        // Not in the default projection: the default is the `id` on both versions.
        let default = list(&beta(Query::new()));
        assert_eq!(default.as_object().unwrap().len(), 1, "{default}");
        let selected = list(&beta(Query::new().with_select("id,scopeInfo")));
        assert_eq!(
            selected["scopeInfo"],
            json!({
                "@odata.type": format!("#microsoft.graph.{odata_type}"),
                "scope": name,
                id_name: id,
            }),
            "{scope:?}"
        );
        // `/v1.0` has no `scopeInfo`.
        let err = world
            .list_installed_apps(&fleet(), &scope, &Query::new().with_select("id,scopeInfo"))
            .unwrap_err();
        assert_eq!(err.status(), 400, "{scope:?}");
    }
}

#[test]
fn expanded_definitions_of_installations_are_betas_on_beta() {
    let world = demo_world();
    let scope = Scope::from(&chat(demo::SEED_CHAT_ID));
    let list = |query: Query| {
        let page = world.list_installed_apps(&fleet(), &scope, &query).unwrap();
        serde_json::to_value(&page.items[0]).unwrap()
    };
    let expand = "teamsApp($expand=appDefinitions),teamsAppDefinition";
    let b = list(beta(Query::new().with_expand(expand)));
    assert!(
        b["teamsAppDefinition"].get("shortdescription").is_some(),
        "{b}"
    );
    assert!(
        b["teamsApp"]["appDefinitions"][0]
            .get("azureADAppId")
            .is_some(),
        "{b}"
    );
    let v1 = list(Query::new().with_expand(expand));
    assert!(
        v1["teamsAppDefinition"].get("shortDescription").is_some(),
        "{v1}"
    );
    assert!(
        v1["teamsAppDefinition"].get("azureADAppId").is_none(),
        "{v1}"
    );
}

#[test]
fn allowed_installation_scopes_come_from_the_manifests_capabilities() {
    let mut world = demo_world();
    let admin = delegated(demo::ADELE, &["AppCatalog.ReadWrite.All"]);
    let serde_json::Value::Object(extra) = json!({
        "bots": [{"botId": "c0ffee00-0000-4000-8000-00000000b07a", "scopes": ["personal", "team"]}],
        "configurableTabs": [{"configurationUrl": "https://contoso.example/config", "scopes": ["groupChat"]}],
    }) else {
        unreachable!()
    };
    let zip = teamsapp_model::package::build_package(
        "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a99",
        "1.0.0",
        "Contoso Scopes",
        &extra,
    );
    let app = world
        .publish_catalog_app(&admin, &zip, &Query::new(), now())
        .unwrap()
        .value;
    let id = TeamsAppId::new(app.id.unwrap()).unwrap();
    let get = |query: Query| {
        let app = world.get_catalog_app(&admin, &id, &query).unwrap();
        serde_json::to_value(&app).unwrap()["appDefinitions"][0].clone()
    };
    let def = get(beta(Query::parse("$expand=appDefinitions")));
    // Graph's order, whatever the manifest's.
    assert_eq!(
        def["allowedInstallationScopes"], "team,groupChat,personal",
        "{def}"
    );
    let v1 = get(Query::parse("$expand=appDefinitions"));
    assert!(v1.get("allowedInstallationScopes").is_none(), "{v1}");
}
