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
    assert_eq!(v["version"], "1.1.0");
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
