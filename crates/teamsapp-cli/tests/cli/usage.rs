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
fn no_credentials_is_explained_and_exits_2() {
    teamsapp()
        .args(["catalog", "list"])
        .assert()
        .code(2)
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
