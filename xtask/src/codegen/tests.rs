use super::{FRAGMENT, Mode};
use std::collections::BTreeSet;

fn fragment() -> serde_json::Value {
    let path = crate::project_root().join(FRAGMENT);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The committed generated code matches the fragment (rust-analyzer's freshness test).
#[test]
fn generated_code_is_fresh() {
    if let Err(err) = super::run(Mode::Check) {
        panic!("{err:#}");
    }
}

/// The fragment is a valid OpenAPI 3.0 document: it validates against the OpenAPI Initiative's own
/// JSON Schema for 3.0, parses as `openapiv3`, and its references and operations are consistent.
#[test]
fn fragment_is_valid_openapi_3_0() {
    let root = crate::project_root();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("openapi/vendor/oas-3.0-schema-2021-09-28.json"))
            .unwrap(),
    )
    .unwrap();
    let doc = fragment();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the OpenAPI 3.0 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect();
    assert!(
        errors.is_empty(),
        "{FRAGMENT} is not valid OpenAPI 3.0:\n{}",
        errors.join("\n")
    );

    let _: openapiv3::OpenAPI = serde_json::from_value(doc.clone()).expect("parses as openapiv3");

    // Every $ref resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }

    // operationIds and request type names are unique.
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "duplicate operationId"
            );
            assert!(
                names.insert(op["x-teamsapp-request"].as_str().unwrap().to_owned()),
                "duplicate request name"
            );
        }
    }
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_owned());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The fragment covers what the foundation issue asks for: every scope's five operations, the
/// personal-scope upgrade Graph's generated spec leaves out, the catalog, discovery and `$batch`.
#[test]
fn fragment_covers_the_api_family() {
    let doc = fragment();
    let paths = doc["paths"].as_object().unwrap();
    let has = |path: &str, method: &str| paths.get(path).and_then(|p| p.get(method)).is_some();
    for scope in ["/chats/{chat-id}", "/teams/{team-id}"] {
        assert!(has(&format!("{scope}/installedApps"), "get"));
        assert!(has(&format!("{scope}/installedApps"), "post"));
        assert!(has(
            &format!("{scope}/installedApps/{{teamsAppInstallation-id}}"),
            "get"
        ));
        assert!(has(
            &format!("{scope}/installedApps/{{teamsAppInstallation-id}}"),
            "delete"
        ));
        assert!(has(
            &format!("{scope}/installedApps/{{teamsAppInstallation-id}}/upgrade"),
            "post"
        ));
    }
    let user = "/users/{user-id}/teamwork/installedApps";
    assert!(has(user, "get") && has(user, "post"));
    assert!(has(
        &format!("{user}/{{userScopeTeamsAppInstallation-id}}"),
        "delete"
    ));
    assert!(has(
        &format!("{user}/{{userScopeTeamsAppInstallation-id}}/upgrade"),
        "post"
    ));
    for (p, m) in [
        ("/appCatalogs/teamsApps", "get"),
        ("/appCatalogs/teamsApps", "post"),
        ("/appCatalogs/teamsApps/{teamsApp-id}", "get"),
        ("/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions", "get"),
        (
            "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions",
            "post",
        ),
        (
            "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{teamsAppDefinition-id}",
            "get",
        ),
        ("/users", "get"),
        ("/users/{user-id}/chats", "get"),
        ("/chats/{chat-id}", "get"),
        ("/teams", "get"),
        ("/$batch", "post"),
    ] {
        assert!(has(p, m), "{m} {p} is missing");
    }
    let publish = &paths["/appCatalogs/teamsApps"]["post"]["requestBody"]["content"];
    assert!(publish.get("application/zip").is_some());
    let upgrade =
        &paths["/chats/{chat-id}/installedApps/{teamsAppInstallation-id}/upgrade"]["post"];
    assert_eq!(
        upgrade["operationId"],
        "chats.chat.installedApps.teamsAppInstallation.upgrade"
    );
    assert!(upgrade["responses"].get("204").is_some());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "teamsAppInstallation",
        "userScopeTeamsAppInstallation",
        "teamsApp",
        "teamsAppDefinition",
        "teamsAppAuthorization",
        "teamsAppPermissionSet",
        "teamsAppResourceSpecificPermission",
        "identitySet",
        "chat",
        "team",
        "user",
        "ODataErrors.ODataError",
        "ODataErrors.MainError",
        "ODataErrors.InnerError",
    ] {
        assert!(
            schemas.contains_key(&format!("microsoft.graph.{name}")),
            "schema {name} is missing"
        );
    }
    for name in [
        "teamsAppResourceSpecificPermissionType",
        "teamsAppPublishingState",
        "teamsAppDistributionMethod",
    ] {
        let members = schemas[&format!("microsoft.graph.{name}")]["enum"]
            .as_array()
            .unwrap();
        assert!(
            members.iter().any(|m| m == "unknownFutureValue"),
            "{name} lacks unknownFutureValue"
        );
    }
}

/// Graph's `x-ms-pageable` marks only operations that answer a collection (and every collection
/// the fragment does not page says why), and every
/// operation states its permissions and national clouds (codegen refuses one that does not).
#[test]
fn collections_page_and_every_operation_states_its_facts() {
    let doc = fragment();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let schema = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap_or("");
            let collection = schema.ends_with("CollectionResponse");
            if op.get("x-ms-pageable").is_some() {
                assert!(
                    collection,
                    "{method} {path} ({id}): x-ms-pageable without a collection"
                );
            } else if collection {
                // Graph's OpenAPI marks every collection pageable; the fragment leaves the mark
                // off only where the documentation describes no paging, and says so.
                let note = op["x-teamsapp-note"].as_str().unwrap_or("");
                assert!(
                    note.contains("x-ms-pageable"),
                    "{method} {path} ({id}): a collection without x-ms-pageable must say why"
                );
            }
            assert!(op.get("x-teamsapp-permissions").is_some(), "{id}");
            assert!(op.get("x-teamsapp-national-clouds").is_some(), "{id}");
        }
    }
}

/// `x-teamsapp-beta` builds each entity's `/beta` table: renames, additions, inheritance along
/// `allOf`; and a rename of a property the schema lacks is refused.
#[test]
fn beta_tables_come_from_x_teamsapp_beta() {
    let doc = fragment();
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc.clone()).unwrap();
    let entities = super::entities::build(&spec).unwrap();
    let beta = |name: &str| {
        entities
            .iter()
            .find(|e| e.wire == name)
            .and_then(|e| e.beta.as_deref())
            .unwrap_or_else(|| panic!("no beta table for {name}"))
    };
    let names =
        |e: &super::entities::Entity| e.props.iter().map(|p| p.wire.clone()).collect::<Vec<_>>();
    let def = beta("microsoft.graph.teamsAppDefinition");
    assert!(names(def).contains(&"shortdescription".to_owned()));
    assert!(!names(def).contains(&"shortDescription".to_owned()));
    assert!(def.defaults.contains(&"shortdescription".to_owned()));
    assert!(def.defaults.contains(&"azureADAppId".to_owned()));
    for installation in [
        "microsoft.graph.teamsAppInstallation",
        "microsoft.graph.userScopeTeamsAppInstallation",
    ] {
        let e = beta(installation);
        assert!(names(e).contains(&"scopeInfo".to_owned()), "{installation}");
        assert_eq!(e.defaults, ["id"], "{installation}");
    }
    assert!(beta("microsoft.graph.teamsApp").beta.is_none());

    let mut broken = doc;
    broken["components"]["schemas"]["microsoft.graph.teamsApp"]["x-teamsapp-beta"] =
        serde_json::json!({"rename": {"noSuchProperty": "x"}});
    let spec: openapiv3::OpenAPI = serde_json::from_value(broken).unwrap();
    let err = format!("{:#}", super::entities::build(&spec).err().unwrap());
    assert!(err.contains("noSuchProperty is not a property"), "{err}");
}
