use super::*;

const GUID: &str = "a55ec032-36e9-4b60-b604-34b2fe55abf1";

fn extra(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A manifest valid against the 1.17 schema, to break one field at a time.
fn manifest() -> Value {
    serde_json::json!({
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
        "manifestVersion": "1.17",
        "id": GUID,
        "version": "1.0.0",
        "name": { "short": "Contoso Polls", "full": "Contoso Polls" },
        "description": { "short": "Polls for Microsoft Teams", "full": "Polls in chats and meetings." },
        "developer": { "name": "Contoso", "websiteUrl": "https://contoso.example", "privacyUrl": "https://contoso.example/privacy", "termsOfUseUrl": "https://contoso.example/terms" },
        "icons": { "color": "color.png", "outline": "outline.png" },
        "accentColor": "#FFFFFF"
    })
}

/// `manifest` zipped with both icons.
fn zip_manifest(manifest: &Value) -> Vec<u8> {
    let text = serde_json::to_vec(manifest).unwrap();
    zip_files(&[
        ("manifest.json", &text),
        ("color.png", COLOR_PNG),
        ("outline.png", OUTLINE_PNG),
    ])
}

fn problems(bytes: &[u8]) -> Vec<PackageProblem> {
    parse_package(bytes).unwrap_err().details
}

fn problems_with(bytes: &[u8], limits: PackageLimits) -> Vec<PackageProblem> {
    parse_package_with(bytes, limits).unwrap_err().details
}

/// The problems of `manifest` with the icons, as `(code, target)`.
fn found(manifest: &Value) -> Vec<(&'static str, String)> {
    problems(&zip_manifest(manifest))
        .into_iter()
        .map(|p| (p.code, p.target))
        .collect()
}

/// The one problem `manifest` has.
fn only_problem(manifest: &Value) -> PackageProblem {
    let mut all = problems(&zip_manifest(manifest));
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

#[test]
fn reads_a_real_package() {
    let package = build_package(
        GUID,
        "1.2.0",
        "Contoso Polls",
        &extra(serde_json::json!({
            "webApplicationInfo": { "id": "11111111-2222-3333-4444-555555555555", "resource": "api://x" },
            "authorization": { "permissions": { "resourceSpecific": [
                { "name": "ChatMessage.Read.Chat", "type": "Application" },
                { "name": "OnlineMeeting.ReadBasic.Chat", "type": "Delegated" }
            ] } },
            "bots": [ { "botId": "bb9f67a4-893b-48d7-ab17-40ed466c0f16", "scopes": ["personal"] } ]
        })),
    );
    let app = parse_package(&package).unwrap();
    assert_eq!(app.external_id, GUID);
    assert_eq!(app.version, "1.2.0");
    assert_eq!(app.display_name, "Contoso Polls");
    assert_eq!(
        app.client_app_id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(app.resource_specific_permissions.len(), 2);
    assert_eq!(
        app.resource_specific_permissions[0].permission_type,
        RscType::Application
    );
    assert_eq!(
        app.bot_id.as_deref(),
        Some("bb9f67a4-893b-48d7-ab17-40ed466c0f16")
    );
    assert_eq!(
        parse_package(&zip_manifest(&manifest())).unwrap().version,
        "1.0.0"
    );
}

#[test]
fn every_vendored_schema_compiles() {
    for version in SUPPORTED_MANIFEST_VERSIONS {
        if let Err(why) = schema::validator(version) {
            panic!("{version}: {why}");
        }
    }
    assert_eq!(SUPPORTED_MANIFEST_VERSIONS.last(), Some(&schema::NEWEST));
}

#[test]
fn build_package_is_valid_under_every_vendored_version() {
    for version in SUPPORTED_MANIFEST_VERSIONS {
        let zip = build_package_for(
            version,
            GUID,
            "1.0.0",
            "Contoso Tasks",
            &serde_json::Map::new(),
        );
        match parse_package(&zip) {
            Ok(app) => assert_eq!(app.display_name, "Contoso Tasks"),
            Err(e) => panic!("manifest version {version}: {e}"),
        }
    }
    // And what it writes by default, with the fields tests and the demo add.
    let zip = build_package(
        GUID,
        "2.0.0",
        "Contoso Standup",
        &extra(serde_json::json!({
            "webApplicationInfo": { "id": "c0ffee00-0000-4000-8000-0000000abcde", "resource": "api://contoso" },
            "authorization": { "permissions": { "resourceSpecific": [ { "name": "ChatMember.Read.Chat", "type": "Application" } ] } },
        })),
    );
    assert!(parse_package(&zip).is_ok());
}

#[test]
fn a_missing_property_is_required_at_its_path() {
    let mut m = manifest();
    m["developer"].as_object_mut().unwrap().remove("privacyUrl");
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str(), p.message.as_str()),
        (
            "SchemaError_Required",
            "developer.privacyUrl",
            "Required properties are missing from object: [privacyUrl]."
        )
    );
}

#[test]
fn a_pattern_mismatch_is_reported_in_graphs_words() {
    // Graph's documented example (teamsapp-publish, example 4).
    let mut m = manifest();
    m["developer"]["websiteUrl"] = "hs://www.yo.com".into();
    let p = only_problem(&m);
    assert_eq!(p.code, "SchemaError_Pattern");
    assert_eq!(p.target, "developer.websiteUrl");
    assert_eq!(
        p.message,
        r#"String "hs://www.yo.com" does not match regex pattern "^[Hh][Tt][Tt][Pp][Ss]?://"."#
    );
    let mut m = manifest();
    m["id"] = "not-a-guid".into();
    let p = only_problem(&m);
    assert_eq!((p.code, p.target.as_str()), ("SchemaError_Pattern", "id"));
}

#[test]
fn a_too_long_short_name_is_max_length() {
    let name = "A name that is longer than 30 c";
    assert_eq!(name.chars().count(), 31);
    let zip = build_package(GUID, "1.0.0", name, &serde_json::Map::new());
    let found = problems(&zip);
    let p = found
        .iter()
        .find(|p| p.target == "name.short")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(p.code, "SchemaError_MaxLength");
    assert_eq!(
        p.message,
        format!("String \"{name}\" exceeds maximum length of 30 (31 characters).")
    );
    // Characters, not bytes: 30 non-ASCII characters fit.
    let mut m = manifest();
    m["name"]["short"] = "é".repeat(30).into();
    assert!(parse_package(&zip_manifest(&m)).is_ok());
}

#[test]
fn a_wrong_type_says_what_was_expected_and_found() {
    let mut m = manifest();
    m["accentColor"] = 5.into();
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str(), p.message.as_str()),
        (
            "SchemaError_Type",
            "accentColor",
            "Invalid type. Expected String but got Integer."
        )
    );
}

#[test]
fn a_value_outside_an_enum_lists_the_allowed_ones() {
    let mut m = manifest();
    m["authorization"] = serde_json::json!({ "permissions": { "resourceSpecific": [
        { "name": "ChatMessage.Read.Chat", "type": "Sometimes" }
    ] } });
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str(), p.message.as_str()),
        (
            "SchemaError_Enum",
            "authorization.permissions.resourceSpecific[0].type",
            r#"Value "Sometimes" is not defined in enum [Application, Delegated]."#
        )
    );
}

#[test]
fn an_unknown_property_is_additional_properties_at_its_path() {
    let mut m = manifest();
    m["colour"] = "#FFFFFF".into();
    m["name"]["nickname"] = "CP".into();
    assert_eq!(
        found(&m),
        [
            ("SchemaError_AdditionalProperties", "colour".to_owned()),
            (
                "SchemaError_AdditionalProperties",
                "name.nickname".to_owned()
            ),
        ]
    );
    let p = &problems(&zip_manifest(&m))[0];
    assert_eq!(
        p.message,
        r#"Property "colour" has not been defined and the schema does not allow additional properties."#
    );
}

#[test]
fn array_and_format_keywords_have_their_codes() {
    let item = serde_json::json!({ "name": "ChatMessage.Read.Chat", "type": "Application" });
    let mut m = manifest();
    m["authorization"] =
        serde_json::json!({ "permissions": { "resourceSpecific": vec![item.clone(); 2] } });
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str()),
        (
            "SchemaError_UniqueItems",
            "authorization.permissions.resourceSpecific"
        )
    );
    let many: Vec<Value> = (0..17)
        .map(|i| serde_json::json!({ "name": format!("P{i}.Read.Chat"), "type": "Application" }))
        .collect();
    m["authorization"] = serde_json::json!({ "permissions": { "resourceSpecific": many } });
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str(), p.message.as_str()),
        (
            "SchemaError_MaxItems",
            "authorization.permissions.resourceSpecific",
            "Array item count 17 exceeds maximum count of 16."
        )
    );
    let mut m = manifest();
    m["$schema"] = "not a uri".into();
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str()),
        ("SchemaError_Format", "$schema")
    );
}

#[test]
fn every_problem_is_reported_sorted_by_path() {
    let mut m = manifest();
    m["name"]["short"] = "x".repeat(40).into();
    m["developer"]["websiteUrl"] = "hs://www.yo.com".into();
    m["accentColor"] = 5.into();
    m["zzz"] = true.into();
    m.as_object_mut().unwrap().remove("description");
    m["bots"] = serde_json::json!(
        (0..11)
            .map(|i| if i == 2 || i == 10 {
                serde_json::json!({"scopes": ["personal"]})
            } else {
                serde_json::json!({"botId": GUID, "scopes": ["personal"]})
            })
            .collect::<Vec<_>>()
    );
    let expected = [
        ("SchemaError_Type", "accentColor"),
        ("SchemaError_MaxItems", "bots"),
        ("SchemaError_Required", "bots[2].botId"),
        ("SchemaError_Required", "bots[10].botId"),
        ("SchemaError_Required", "description"),
        ("SchemaError_Pattern", "developer.websiteUrl"),
        ("SchemaError_MaxLength", "name.short"),
        ("SchemaError_AdditionalProperties", "zzz"),
    ];
    let zip = zip_manifest(&m);
    let err = parse_package(&zip).unwrap_err();
    let got: Vec<(&str, &str)> = err
        .details
        .iter()
        .map(|p| (p.code, p.target.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert!(
        err.message.starts_with(
            "accentColor | Invalid type. Expected String but got Integer.; bots | Array item count 11 exceeds maximum count of 1.; bots[2].botId | Required"
        ),
        "{err}"
    );
    // The same answer every time.
    assert_eq!(parse_package(&zip).unwrap_err(), err);
    // parse_manifest checks the same schema.
    let text = serde_json::to_vec(&m).unwrap();
    assert_eq!(parse_manifest(&text).unwrap_err(), err);
}

#[test]
fn an_unsupported_manifest_version_names_the_supported_ones() {
    for version in ["1.18", "2.0", "devPreview", ""] {
        let mut m = manifest();
        m["manifestVersion"] = version.into();
        let p = only_problem(&m);
        assert_eq!(
            (p.code, p.target.as_str()),
            ("UnsupportedManifestVersion", "manifestVersion")
        );
        assert_eq!(
            p.message,
            format!(
                "Manifest version \"{version}\" is not supported; the supported versions are 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.10, 1.11, 1.12, 1.13, 1.14, 1.15, 1.16, 1.17, 1.19, 1.20, 1.21, 1.22, 1.23, 1.24, 1.25, 1.26, 1.27, 1.28, 1.29, 1.30."
            )
        );
    }
    // Missing, or not a string: the newest schema says so.
    let mut m = manifest();
    m.as_object_mut().unwrap().remove("manifestVersion");
    m.as_object_mut().unwrap().remove("$schema");
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str()),
        ("SchemaError_Required", "manifestVersion")
    );
    m["manifestVersion"] = 1.17.into();
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str(), p.message.as_str()),
        (
            "SchemaError_Type",
            "manifestVersion",
            "Invalid type. Expected String but got Number."
        )
    );
}

#[test]
fn each_version_is_checked_against_its_own_schema() {
    // packageName is required up to 1.4 and unknown from 1.17 on.
    let mut m = manifest();
    m["manifestVersion"] = "1.4".into();
    m["$schema"] =
        "https://developer.microsoft.com/json-schemas/teams/v1.4/MicrosoftTeams.schema.json".into();
    assert_eq!(
        found(&m),
        [("SchemaError_Required", "packageName".to_owned())]
    );
    let mut m = manifest();
    m["packageName"] = "com.contoso.polls".into();
    assert_eq!(
        found(&m),
        [("SchemaError_AdditionalProperties", "packageName".to_owned())]
    );
}

#[test]
fn icons_must_be_present_pngs_of_the_right_size() {
    let text = serde_json::to_vec(&manifest()).unwrap();
    let codes = |files: &[(&str, &[u8])]| -> Vec<(&'static str, String, String)> {
        problems(&zip_files(files))
            .into_iter()
            .map(|p| (p.code, p.target, p.message))
            .collect()
    };
    // Missing.
    assert_eq!(
        codes(&[("manifest.json", &text), ("color.png", COLOR_PNG)]),
        [(
            "FileNotFound",
            "icons.outline".to_owned(),
            "The app package has no file \"outline.png\" (the outline icon).".to_owned()
        )]
    );
    // Swapped: each the other's size.
    assert_eq!(
        codes(&[
            ("manifest.json", &text),
            ("color.png", OUTLINE_PNG),
            ("outline.png", COLOR_PNG)
        ]),
        [
            (
                "InvalidIconSize",
                "icons.color".to_owned(),
                "The color icon \"color.png\" is 32x32 pixels; it must be 192x192.".to_owned()
            ),
            (
                "InvalidIconSize",
                "icons.outline".to_owned(),
                "The outline icon \"outline.png\" is 192x192 pixels; it must be 32x32.".to_owned()
            ),
        ]
    );
    // Not PNGs: a GIF, an empty file, a truncated PNG header.
    for not_png in [&b"GIF89a\x20\x00\x20\x00"[..], b"", &COLOR_PNG[..20]] {
        assert_eq!(
            codes(&[
                ("manifest.json", &text),
                ("color.png", not_png),
                ("outline.png", OUTLINE_PNG)
            ]),
            [(
                "InvalidIconFormat",
                "icons.color".to_owned(),
                "The color icon \"color.png\" is not a PNG image.".to_owned()
            )]
        );
    }
    // Not named at all: the schema's Required.
    let mut m = manifest();
    m.as_object_mut().unwrap().remove("icons");
    assert_eq!(found(&m), [("SchemaError_Required", "icons".to_owned())]);
    assert_eq!(png_size(COLOR_PNG), Some((192, 192)));
    assert_eq!(png_size(OUTLINE_PNG), Some((32, 32)));
}

/// Zips `files`, then renames every entry called `from` to `to` (same length) in the raw bytes:
/// what a zip writer refuses to write.
fn zip_renamed(files: &[(&str, &[u8])], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut zip = zip_files(files);
    let mut at = 0;
    let mut renamed = 0;
    while let Some(found) = zip[at..].windows(from.len()).position(|w| w == from) {
        let start = at + found;
        zip[start..start + to.len()].copy_from_slice(to);
        at = start + to.len();
        renamed += 1;
    }
    assert_eq!(renamed, 2, "the local and the central header");
    zip
}

#[test]
fn duplicate_entries_are_refused() {
    let text = serde_json::to_vec(&manifest()).unwrap();
    let zip = zip_renamed(
        &[
            ("manifest.json", &text),
            ("color.png", COLOR_PNG),
            ("outline.png", OUTLINE_PNG),
            ("colorXpng", COLOR_PNG),
        ],
        b"colorXpng",
        b"color.png",
    );
    let found = problems(&zip);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].code, found[0].target.as_str()),
        ("DuplicateEntry", "")
    );
    // A second manifest.json too.
    let zip = zip_renamed(
        &[
            ("manifest.json", &text),
            ("manifestXjson", b"{}"),
            ("color.png", COLOR_PNG),
            ("outline.png", OUTLINE_PNG),
        ],
        b"manifestXjson",
        b"manifest.json",
    );
    assert!(problems(&zip).iter().any(|p| p.code == "DuplicateEntry"));
}

#[test]
fn entry_names_with_nul_are_refused() {
    let text = serde_json::to_vec(&manifest()).unwrap();
    let zip = zip_renamed(
        &[
            ("manifest.json", &text),
            ("color.png", COLOR_PNG),
            ("outline.png", OUTLINE_PNG),
            ("readme_txt", b"hello"),
        ],
        b"readme_txt",
        b"readme\0txt",
    );
    let found = problems(&zip);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (
            found[0].code,
            found[0].target.as_str(),
            found[0].message.as_str()
        ),
        (
            "InvalidEntryName",
            "",
            r#"The app package has an entry whose name has a NUL character ("readme\0txt")."#
        )
    );
}

#[test]
fn explains_what_is_wrong_with_the_package() {
    assert_eq!(problems(b"")[0].code, "InvalidPackage");
    assert_eq!(problems(b"not a zip")[0].code, "InvalidPackage");
    let no_manifest = zip_files(&[("icon.png", b"png")]);
    assert_eq!(problems(&no_manifest)[0].code, "ManifestNotFound");
    let nested = zip_files(&[("app/manifest.json", b"{}")]);
    assert_eq!(problems(&nested)[0].code, "ManifestNotFound");
    let bad_json = zip_files(&[("manifest.json", b"{")]);
    assert_eq!(problems(&bad_json)[0].code, "InvalidJson");
    let array = zip_files(&[("manifest.json", b"[]")]);
    assert_eq!(problems(&array)[0].code, "SchemaError_Type");

    // No schema fits (no version): the catalog's own checks still run, every problem listed.
    let missing = zip_files(&[(
        "manifest.json",
        br#"{"manifestVersion":"9.9","version":"x","name":{}}"#,
    )]);
    let found = problems(&missing);
    let codes: Vec<(&str, &str)> = found.iter().map(|p| (p.code, p.target.as_str())).collect();
    assert_eq!(
        codes,
        [
            ("SchemaError_Required", "id"),
            ("UnsupportedManifestVersion", "manifestVersion"),
            ("SchemaError_Required", "name.short"),
            ("SchemaError_Pattern", "version"),
        ]
    );
    let err = parse_package(&missing).unwrap_err();
    assert!(
        err.message
            .contains("name.short | Required properties are missing from object: [short]."),
        "{err}"
    );
    // A BOM is fine.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(serde_json::to_vec(&manifest()).unwrap());
    assert!(parse_manifest(&with_bom).is_ok());
}

#[test]
fn the_catalog_needs_more_than_the_schema() {
    // The 1.0 schema caps `version` at 256 characters and nothing else; the catalog orders
    // versions, so it needs MAJOR.MINOR.PATCH.
    let zip = build_package_for("1.0", GUID, "one", "Old App", &serde_json::Map::new());
    let found = problems(&zip);
    assert_eq!(
        found
            .iter()
            .map(|p| (p.code, p.target.as_str()))
            .collect::<Vec<_>>(),
        [("SchemaError_Pattern", "version")]
    );
    // A blank name passes the schema, not the catalog.
    let mut m = manifest();
    m["name"]["short"] = "   ".into();
    let p = only_problem(&m);
    assert_eq!(
        (p.code, p.target.as_str()),
        ("SchemaError_MinLength", "name.short")
    );
}

#[test]
fn problems_are_capped_saying_how_many_more() {
    let mut m = manifest();
    for i in 0..250 {
        m[format!("extra{i:03}")] = i.into();
    }
    let found = problems(&zip_manifest(&m));
    assert_eq!(found.len(), MAX_PROBLEMS);
    assert!(
        found[..MAX_PROBLEMS - 1]
            .iter()
            .all(|p| p.code == "SchemaError_AdditionalProperties")
    );
    let last = &found[MAX_PROBLEMS - 1];
    assert_eq!(last.code, "TooManyProblems");
    assert_eq!(
        last.message,
        "151 more problems were found and are not listed; 99 are listed."
    );
    // A manifest as large as the limit allows, made of errors, stays capped.
    let mut m = manifest();
    m["authorization"] =
        serde_json::json!({ "permissions": { "resourceSpecific": vec![Value::Null; 200_000] } });
    let text = serde_json::to_vec(&m).unwrap();
    assert!(text.len() < PackageLimits::default().max_manifest_bytes);
    let err = parse_manifest(&text).unwrap_err();
    assert_eq!(err.details.len(), MAX_PROBLEMS);
    assert!(err.message.len() < 64 << 10, "{}", err.message.len());
}

#[test]
fn bounds_hold() {
    let package = build_package(GUID, "1.0.0", "n", &serde_json::Map::new());
    let small = PackageLimits {
        max_package_bytes: 10,
        ..PackageLimits::default()
    };
    assert_eq!(problems_with(&package, small)[0].code, "PackageTooLarge");
    // A manifest that inflates past the limit, however its sizes are declared.
    let bomb = zip_files(&[("manifest.json", &vec![b' '; 4 << 20])]);
    assert!(bomb.len() < 64 << 10);
    let found = problems_with(&bomb, PackageLimits::default());
    assert_eq!(found[0].code, "PackageTooLarge");
    let many: Vec<(String, Vec<u8>)> = (0..100).map(|i| (format!("f{i}"), vec![])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    assert_eq!(problems(&zip_files(&refs))[0].code, "PackageTooLarge");
    // Hostile strings: long, and against the schemas' one backtracking pattern (an `.xll` file).
    let mut m = manifest();
    m["name"]["short"] = "x".repeat(500_000).into();
    let p = only_problem(&m);
    assert_eq!(p.code, "SchemaError_MaxLength");
    assert!(p.message.len() < 300, "{}", p.message);
}

#[test]
fn targets_sort_by_path_with_numeric_indexes() {
    use schema::Segment::{Index, Property};
    assert_eq!(
        schema::segments("a.b[10][2].c"),
        [
            Property("a".into()),
            Property("b".into()),
            Index(10),
            Index(2),
            Property("c".into())
        ]
    );
    assert!(schema::segments("bots[2]") < schema::segments("bots[10]"));
    assert!(schema::segments("") < schema::segments("a"));
    assert_eq!(
        schema::segments("x[y"),
        [Property("x".into()), Property("[y".into())]
    );
}

#[test]
fn installation_scopes_are_the_capabilities_scopes_in_graphs_order() {
    let serde_json::Value::Object(extra) = serde_json::json!({
        "staticTabs": [{"entityId": "home", "scopes": ["personal"]}],
        "bots": [{"botId": "c0ffee00-0000-4000-8000-00000000b07a", "scopes": ["team"]}],
    }) else {
        unreachable!()
    };
    let zip = build_package(
        "b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11",
        "1.0.0",
        "Contoso",
        &extra,
    );
    let package = parse_package(&zip).unwrap();
    assert_eq!(package.installation_scopes, ["team", "personal"]);
    let plain = parse_package(&build_package(
        "b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11",
        "1.0.0",
        "Contoso",
        &serde_json::Map::new(),
    ))
    .unwrap();
    assert!(plain.installation_scopes.is_empty());
}
