//! Every command against the embedded emulator (`--emulator`): output and exit code, table and JSON.

use crate::{SEED_CHAT, SEED_INSTALLATION, json, teamsapp};
use predicates::prelude::*;

#[test]
fn chat_apps_list_shows_the_seed_installation_in_json_and_table() {
    let v = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "chat",
        "apps",
        "list",
        SEED_CHAT,
    ]));
    let rows = v.as_array().unwrap();
    let seed = rows
        .iter()
        .find(|r| r["installationId"] == SEED_INSTALLATION)
        .expect("the seed installation is listed");
    assert_eq!(seed["app"], "Contoso Tasks");
    assert_eq!(seed["version"], "1.0.0");

    teamsapp()
        .args([
            "--emulator",
            "-o",
            "table",
            "--wide",
            "chat",
            "apps",
            "list",
            SEED_CHAT,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Contoso Tasks"))
        .stdout(predicate::str::contains("installationId"));
}

#[test]
fn chat_apps_upgrade_moves_the_seed_to_the_latest_version() {
    let v = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "chat",
        "apps",
        "upgrade",
        SEED_CHAT,
        SEED_INSTALLATION,
    ]));
    assert_eq!(v["result"], "upgraded");
    assert_eq!(v["from"], "1.0.0");
    assert_eq!(v["to"], "1.1.0");
    assert_eq!(v["scope"], "chat");
    assert_eq!(v["scopeId"], SEED_CHAT);
}

#[test]
fn an_installation_can_be_named_by_its_app() {
    let v = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "chat",
        "apps",
        "get",
        SEED_CHAT,
        "Contoso Tasks",
    ]));
    assert_eq!(v["installationId"], SEED_INSTALLATION);
}

#[test]
fn a_graph_error_exits_1_with_code_and_request_id() {
    teamsapp()
        .args([
            "--emulator",
            "chat",
            "apps",
            "upgrade",
            SEED_CHAT,
            "MTk6bm9wZUB0aHJlYWQudjIjIzAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA==",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("404"))
        .stderr(predicate::str::contains("request-id"));
}

#[test]
fn catalog_list_and_get() {
    let v = json(teamsapp().args(["--emulator", "-o", "json", "catalog", "list"]));
    let tasks = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Contoso Tasks")
        .expect("Contoso Tasks is in the catalog");
    assert_eq!(tasks["latestPublished"], "1.1.0");
    let one = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "catalog",
        "get",
        "contoso tasks",
    ]));
    assert_eq!(one["appId"], tasks["appId"]);
    teamsapp()
        .args(["--emulator", "-o", "csv", "catalog", "list"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "appId,name,externalId,distribution,latestPublished,versions\n",
        ));
}

#[test]
fn team_and_user_scopes_work_too() {
    let teams = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "team",
        "apps",
        "list",
        "6903fa93-605b-43ef-920e-77c4729f8258",
    ]));
    assert!(!teams.as_array().unwrap().is_empty());
    let users = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "user",
        "apps",
        "list",
        "5b649834-7412-4cce-9e69-176e95a394f5",
    ]));
    assert!(users.as_array().is_some());
}

#[test]
fn global_options_work_after_the_subcommand_too() {
    let v = json(teamsapp().args([
        "chat",
        "apps",
        "list",
        SEED_CHAT,
        "--emulator",
        "-o",
        "json",
    ]));
    assert!(v.as_array().is_some_and(|rows| !rows.is_empty()));
}

#[test]
fn emulator_device_code_sign_in_is_approved_for_the_demo_user() {
    let v = json(teamsapp().args(["--emulator", "-o", "json", "auth", "login", "--device-code"]));
    assert_eq!(v["identity"], "user");
    assert_eq!(v["user"], "adele@contoso.example");
    assert!(
        v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "AppCatalog.ReadWrite.All"),
        "{v:#}"
    );
    let status = json(teamsapp().args(["--emulator", "-o", "json", "auth", "status"]));
    assert_eq!(status["credential"], "emulator demo app");
    assert_eq!(status["identity"], "app");
    assert!(status["roles"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn catalog_publish_works_on_the_embedded_emulator_and_checks_the_package_first() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("notes.zip");
    std::fs::write(
        &good,
        teamsapp_model::package::build_package(
            "5e1f0000-0000-4000-8000-00000000f00d",
            "1.0.0",
            "Fabrikam Notes",
            &serde_json::Map::new(),
        ),
    )
    .unwrap();
    let v = json(
        teamsapp()
            .args(["--emulator", "-o", "json", "catalog", "publish"])
            .arg(&good),
    );
    assert_eq!(v["name"], "Fabrikam Notes");
    assert_eq!(
        v["versions"],
        serde_json::json!([{"version": "1.0.0", "state": "published"}])
    );

    // Every problem at once, and nothing uploaded: exit 2.
    let manifest = br#"{"manifestVersion":"1.17","id":"not a guid!","version":"one"}"#;
    let bad = dir.path().join("bad.zip");
    std::fs::write(
        &bad,
        teamsapp_model::package::zip_files(&[("manifest.json", manifest)]),
    )
    .unwrap();
    let out = teamsapp()
        .args(["--emulator", "catalog", "publish"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was uploaded"), "{err}");
    assert!(
        err.contains("  - id:") && err.contains("  - version:"),
        "{err}"
    );
    assert!(
        err.matches("\n  - ").count() >= 3,
        "every problem listed: {err}"
    );

    // A manifest that names icons the package does not hold: the same check the emulator runs.
    // Valid against the 1.17 schema, so the missing icons are its only problems.
    let manifest = br##"{"manifestVersion":"1.17","id":"5e1f0000-0000-4000-8000-00000000f00e","version":"1.0.0","name":{"short":"No Icons","full":"No Icons"},"description":{"short":"No icons","full":"A package without its icons."},"developer":{"name":"Fabrikam","websiteUrl":"https://fabrikam.example","privacyUrl":"https://fabrikam.example/privacy","termsOfUseUrl":"https://fabrikam.example/terms"},"icons":{"color":"color.png","outline":"outline.png"},"accentColor":"#FFFFFF"}"##;
    let no_icons = dir.path().join("no-icons.zip");
    std::fs::write(
        &no_icons,
        teamsapp_model::package::zip_files(&[("manifest.json", manifest)]),
    )
    .unwrap();
    teamsapp()
        .args(["--emulator", "catalog", "publish"])
        .arg(&no_icons)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "(2 problems, nothing was uploaded)",
        ))
        .stderr(predicate::str::contains(
            "icons.color: The app package has no file \"color.png\"",
        ))
        .stderr(predicate::str::contains("icons.outline:"));

    let not_zip = dir.path().join("readme.zip");
    std::fs::write(&not_zip, "hello").unwrap();
    teamsapp()
        .args(["--emulator", "catalog", "publish"])
        .arg(&not_zip)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid zip file"));
}

#[test]
fn one_schema_in_every_format_and_tables_fit_the_terminal() {
    let v = json(teamsapp().args(["--emulator", "-o", "json", "catalog", "list"]));
    let tasks = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Contoso Tasks")
        .unwrap()
        .clone();
    assert!(tasks["versions"].is_array(), "arrays stay arrays");
    let planner = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["externalId"].is_null())
        .expect("an app without externalId");
    assert_eq!(
        planner["externalId"],
        serde_json::Value::Null,
        "null, not \"\""
    );

    let nd = teamsapp()
        .args(["--emulator", "-o", "ndjson", "catalog", "list"])
        .output()
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&nd.stdout).lines().next().unwrap()).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&first),
        keys(&tasks),
        "NDJSON and JSON have the same fields"
    );

    let table = teamsapp()
        .env("COLUMNS", "80")
        .args(["--emulator", "-o", "table", "catalog", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 80, "{widest} columns:\n{text}");
    for header in [
        "appId",
        "name",
        "externalId",
        "distribution",
        "latestPublished",
        "versions",
    ] {
        assert!(text.contains(header), "{header} is whole in:\n{text}");
    }
    let wide = teamsapp()
        .env("COLUMNS", "80")
        .args(["--emulator", "-o", "table", "--wide", "catalog", "list"])
        .output()
        .unwrap();
    let wide = String::from_utf8(wide.stdout).unwrap();
    assert!(wide.lines().map(|l| l.chars().count()).max().unwrap() > 80);
    assert!(wide.contains("0d820ecd-def2-4297-adad-78056cde7c78"));
}

#[test]
fn auth_token_with_the_embedded_emulator_prints_exactly_a_token() {
    let out = teamsapp()
        .args(["--emulator", "auth", "token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("eyJ") && text.ends_with('\n'), "{text:?}");
    assert_eq!(text.matches('\n').count(), 1);
    assert_eq!(text.trim_end().split('.').count(), 3, "a JWT: {text:?}");
}
