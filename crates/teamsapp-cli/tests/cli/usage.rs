//! Help, exit codes and usage errors: no network needed.

use crate::teamsapp;
use predicates::prelude::*;

#[test]
fn help_documents_the_exit_codes() {
    teamsapp()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains(
            "1  the command ran, and some targets failed",
        ))
        .stdout(predicate::str::contains("fleet"));
}

#[test]
fn a_bad_chat_id_is_a_usage_error_with_exit_2() {
    teamsapp()
        .args(["--emulator", "chat", "apps", "list", "not-a-chat"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid chat id \"not-a-chat\""));
}

#[test]
fn unknown_arguments_exit_2() {
    teamsapp()
        .args(["fleet", "upgrade", "--frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn no_credentials_is_explained_and_exits_3() {
    teamsapp()
        .args(["catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no credentials"))
        .stderr(predicate::str::contains("--emulator"));
}

#[test]
fn secrets_are_not_accepted_as_arguments() {
    teamsapp()
        .args(["--client-secret", "hunter2", "catalog", "list"])
        .assert()
        .code(2);
}

#[test]
fn completions_are_printed_for_bash() {
    teamsapp()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_teamsapp"));
}

#[test]
fn global_options_are_documented_once_and_accepted_everywhere() {
    let top = teamsapp().arg("--help").output().unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains("Global options"), "{top}");
    assert!(top.contains("--base-url") && top.contains("--wide") && top.contains("--debug"));
    assert!(top.contains("3  sign-in or credential error"), "{top}");
    assert!(top.contains("Credentials, first match wins"), "{top}");

    let leaf = teamsapp()
        .args(["chat", "apps", "list", "--help"])
        .output()
        .unwrap();
    let leaf = String::from_utf8(leaf.stdout).unwrap();
    assert!(!leaf.contains("--base-url"), "{leaf}");
    assert!(!leaf.contains("--client-secret-file"), "{leaf}");
    assert!(leaf.contains("Examples:"), "{leaf}");
    assert!(
        leaf.contains("teamsapp chat apps list 19:ea28e88c00e94c7786b065394a61f296@thread.v2"),
        "{leaf}"
    );
    let usage_line = leaf.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert_eq!(
        usage_line,
        "Usage: teamsapp chat apps list [OPTIONS] <SCOPE_ID>"
    );

    // Team examples use a team id, not a chat id.
    teamsapp()
        .args(["team", "apps", "upgrade", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "teamsapp team apps upgrade 6903fa93-605b-43ef-920e-77c4729f8258",
        ));
}

#[test]
fn every_accepted_cloud_is_listed_and_others_are_refused() {
    teamsapp()
        .arg("--help")
        .assert()
        .stdout(predicate::str::contains("usgovdod"))
        .stdout(predicate::str::contains("china"));
    teamsapp()
        .args(["--cloud", "mars", "--emulator", "catalog", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: global, usgov, usgovdod, china",
        ));
}

#[test]
fn mock_serve_takes_a_tenant_file_not_a_tenant() {
    teamsapp()
        .args(["mock", "serve", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--tenant-file <FILE>"))
        .stdout(predicate::str::contains("Examples:"));
    teamsapp()
        .args(["mock", "serve", "--tenant-file", "/nonexistent/tenant.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reading /nonexistent/tenant.json"));
}

#[test]
fn a_client_id_that_is_not_a_guid_exits_3_before_any_request() {
    teamsapp()
        .env("TEAMSAPP_CLIENT_SECRET", "s")
        .args([
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "my-app",
        ])
        .args(["--base-url", "http://127.0.0.1:9/v1.0", "catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("expected a GUID"));
}

#[test]
fn auth_token_without_a_sign_in_says_what_to_run_and_exits_3() {
    teamsapp()
        .args(["auth", "token"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("teamsapp auth login"));
}

#[test]
fn auth_status_without_credentials_says_so_in_the_format_asked_and_exits_3() {
    let out = teamsapp()
        .args(["-o", "json", "auth", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["credential"], serde_json::Value::Null);
    assert!(v["why"].as_str().unwrap().contains("no credentials"), "{v}");
    assert_eq!(v["authority"], "https://login.microsoftonline.com");
}
