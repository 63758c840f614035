//! Files that protect themselves: the emulator's `--data-dir` store (private, identified,
//! checksummed, recoverable) and the files the CLI writes (never through a symbolic link).

#![cfg(unix)]

use crate::teamsapp;
#[cfg(feature = "emulator")]
use crate::teamsapp_std;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A file someone else cares about, and a symbolic link at `link` pointing to it.
fn precious_behind(link: &Path) -> std::path::PathBuf {
    let target = link.with_file_name("precious.txt");
    std::fs::write(&target, "someone else's file\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&target, link).unwrap();
    target
}

fn assert_untouched(target: &Path) {
    assert_eq!(
        std::fs::read_to_string(target).unwrap(),
        "someone else's file\n"
    );
    assert_eq!(mode(target), 0o644, "the link's target was not chmodded");
}

/// Runs `mock serve --data-dir dir [extra]` until it prints its first line, then kills it;
/// returns that line and everything it wrote to stderr.
#[cfg(feature = "emulator")]
fn serve_once(dir: &Path, extra: &[&str]) -> (String, String) {
    use std::io::{BufRead as _, Read as _};
    let mut child = teamsapp_std()
        .args(["mock", "serve", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(first.contains("listening"), "{first}\n{stderr}");
    (first, stderr)
}

/// `mock serve --data-dir dir` expected to refuse to start; returns its stderr.
#[cfg(feature = "emulator")]
fn serve_refused(dir: &Path) -> String {
    let out = teamsapp()
        .args(["mock", "serve", "--data-dir"])
        .arg(dir)
        .timeout(std::time::Duration::from_mins(1))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "it started: {stderr}");
    assert!(out.stdout.is_empty(), "it listened");
    stderr
}

#[cfg(feature = "emulator")]
#[test]
fn mock_serve_data_dir_is_0700_and_its_store_0600() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    serve_once(&data, &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(teamsapp_mock::STORE_FILE_NAME)), 0o600);
}

#[cfg(feature = "emulator")]
#[test]
fn mock_serve_fixes_a_store_open_to_others_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = data.join(teamsapp_mock::STORE_FILE_NAME);
    serve_once(&data, &[]);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, stderr) = serve_once(&data, &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&store), 0o600);
    assert!(stderr.contains("changed it to 600"), "{stderr}");
    assert!(stderr.contains("changed it to 700"), "{stderr}");
}

#[cfg(feature = "emulator")]
#[test]
fn mock_serve_refuses_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(teamsapp_mock::STORE_FILE_NAME);
    std::fs::write(&store, b"").unwrap();
    let stderr = serve_refused(dir.path());
    assert!(stderr.contains(&store.display().to_string()), "{stderr}");
    assert!(stderr.contains("is empty"), "{stderr}");
    assert_eq!(std::fs::metadata(&store).unwrap().len(), 0, "left as found");
}

#[cfg(feature = "emulator")]
#[test]
fn mock_serve_refuses_a_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(teamsapp_mock::STORE_FILE_NAME);
    let journal = "{\"record\":\"run\",\"format\":1}\n".repeat(4);
    std::fs::write(&store, &journal).unwrap();
    let stderr = serve_refused(dir.path());
    assert!(
        stderr.contains("is not a teamsapp emulator store"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&store).unwrap(), journal);
}

#[cfg(feature = "emulator")]
#[test]
fn mock_serve_refuses_a_damaged_event_and_truncate_damaged_recovers() {
    use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
    const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");

    let dir = tempfile::tempdir().unwrap();
    serve_once(dir.path(), &[]);
    let store = dir.path().join(teamsapp_mock::STORE_FILE_NAME);
    // Change one byte inside the last stored event, through redb, behind the emulator's back.
    let last = {
        let db = redb::Database::create(&store).unwrap();
        let last = {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(EVENTS).unwrap();
            table.last().unwrap().unwrap().0.value()
        };
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(EVENTS).unwrap();
            let mut bytes = table.get(last).unwrap().unwrap().value().to_vec();
            let at = bytes.len() - 2;
            bytes[at] ^= 0x01;
            table.insert(last, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
        last
    };

    let stderr = serve_refused(dir.path());
    let expected = format!("event {last} of {} is damaged", store.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("--truncate-damaged"), "{stderr}");

    let (_, stderr) = serve_once(dir.path(), &["--truncate-damaged"]);
    assert!(
        stderr.contains(&format!(
            "kept the {} event(s) before it, dropped 1",
            last - 1
        )),
        "{stderr}"
    );
    // Recovered for good: a plain start now works.
    serve_once(dir.path(), &[]);
}

#[cfg(feature = "emulator")]
#[test]
fn truncate_damaged_needs_a_data_dir() {
    teamsapp()
        .args(["mock", "serve", "--truncate-damaged"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--data-dir"));
}

#[cfg(feature = "emulator")]
#[test]
fn auth_login_replaces_a_symlinked_token_cache_and_never_touches_its_target() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime
        .block_on(teamsapp_mock::Emulator::start(
            teamsapp_mock::EmulatorConfig::demo(),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("token.json");
    let target = precious_behind(&cache);
    let creds = teamsapp_model::demo::CREDENTIALS;
    teamsapp()
        .args([
            "--base-url",
            &emulator.graph_url(),
            "--authority",
            emulator.authority(),
        ])
        .args(["--tenant", creds.tenant_id, "--client-id", creds.client_id])
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", &cache)
        .args(["auth", "login"])
        .assert()
        .success();
    let _ = runtime.block_on(emulator.shutdown());
    assert_untouched(&target);
    let meta = std::fs::symlink_metadata(&cache).unwrap();
    assert!(meta.is_file(), "the link itself became the cache");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[cfg(feature = "emulator")]
#[test]
fn fleet_journal_that_is_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("fleet.jsonl");
    let target = precious_behind(&journal);
    let out = teamsapp()
        .args([
            "--emulator",
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--yes",
            "--journal",
        ])
        .arg(&journal)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_untouched(&target);
}

#[test]
fn fleet_report_html_replaces_a_symlink_and_never_writes_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("fleet.jsonl");
    teamsapp_fleet_journal(&journal);
    let html = dir.path().join("report.html");
    let target = precious_behind(&html);
    teamsapp()
        .args(["fleet", "report"])
        .arg(&journal)
        .arg("--html")
        .arg(&html)
        .assert()
        .success();
    assert_untouched(&target);
    let meta = std::fs::symlink_metadata(&html).unwrap();
    assert!(meta.is_file(), "the link itself became the report");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"),);
}

/// A minimal fleet journal: a run header and nothing else.
fn teamsapp_fleet_journal(path: &Path) {
    let header = serde_json::json!({
        "record": "run",
        "format": 1,
        "tool": "test",
        "startedAt": "2025-01-01T00:00:00Z",
        "app": "Contoso Tasks",
        "scopes": ["chat"],
        "source": "discovery",
        "tenants": [],
    });
    std::fs::write(path, format!("{header}\n")).unwrap();
}
