//! Fleet plan and upgrade against the embedded emulator's demo tenant.

use crate::{json, teamsapp};

#[test]
fn plan_lists_every_installation_behind_the_catalog() {
    let v = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "fleet",
        "plan",
        "--app",
        "Contoso Tasks",
    ]));
    let rows = v.as_array().unwrap();
    let upgrades: Vec<_> = rows.iter().filter(|r| r["action"] == "upgrade").collect();
    assert_eq!(
        upgrades.len(),
        40,
        "the demo has Contoso Tasks 1.0.0 in 40 scopes"
    );
    assert!(
        upgrades
            .iter()
            .all(|r| r["from"] == "1.0.0" && r["to"] == "1.1.0")
    );
    for scope in ["chat", "team", "user"] {
        assert!(
            upgrades.iter().any(|r| r["scope"] == scope),
            "no {scope} target"
        );
    }
}

#[test]
fn upgrade_upgrades_and_verifies_every_target_and_journals_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("fleet.jsonl");
    let v = json(
        teamsapp()
            .args([
                "--emulator",
                "-o",
                "json",
                "fleet",
                "upgrade",
                "--app",
                "Contoso Tasks",
                "--yes",
                "--journal",
            ])
            .arg(&journal),
    );
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r["result"] == "verified"), "{v:#}");
    let text = std::fs::read_to_string(&journal).unwrap();
    let verified = text
        .lines()
        .filter(|l| l.contains("\"state\":\"verified\""))
        .count();
    assert_eq!(verified, 40);
}

#[test]
fn upgrade_without_yes_off_a_terminal_refuses_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    teamsapp()
        .args([
            "--emulator",
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--journal",
        ])
        .arg(dir.path().join("j.jsonl"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--yes"));
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let v = json(teamsapp().args([
        "--emulator",
        "-o",
        "json",
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--dry-run",
    ]));
    assert_eq!(
        v.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "upgrade")
            .count(),
        40
    );
}
