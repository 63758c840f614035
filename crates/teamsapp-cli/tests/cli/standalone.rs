//! Commands that change state, against one emulator shared by several runs of the binary:
//! install, remove, catalog publish and update, sign-in, and `mock serve` itself.

use crate::{SEED_CHAT, teamsapp, teamsapp_std};
use predicates::prelude::*;
use std::io::{BufRead, BufReader};
use teamsapp_mock::{Emulator, EmulatorConfig};

/// An in-process emulator with the demo tenant, and commands pointed at it.
struct Emu {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    cache: tempfile::TempDir,
}

impl Emu {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let emulator = runtime
            .block_on(Emulator::start(EmulatorConfig::demo()))
            .unwrap();
        Self {
            runtime,
            emulator: Some(emulator),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self) -> assert_cmd::Command {
        let emulator = self.emulator.as_ref().unwrap();
        let creds = teamsapp_model::demo::CREDENTIALS;
        let mut cmd = teamsapp();
        cmd.args([
            "--base-url",
            &emulator.graph_url(),
            "--authority",
            emulator.authority(),
        ])
        .args(["--tenant", creds.tenant_id, "--client-id", creds.client_id])
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", self.cache.path().join("token.json"));
        cmd
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        crate::json(self.cmd().args(["-o", "json"]).args(args))
    }

    /// A command signed in as Adele (delegated, `AppCatalog.ReadWrite.All` granted): the catalog's
    /// publish and update accept delegated permissions only.
    fn as_catalog_admin(&self) -> assert_cmd::Command {
        let emulator = self.emulator.as_ref().unwrap();
        let token = emulator
            .state()
            .mint_token(&teamsapp_mock::TokenSpec {
                user: Some(teamsapp_model::demo::ADELE.to_owned()),
                scopes: Some(vec!["AppCatalog.ReadWrite.All".to_owned()]),
                ..Default::default()
            })
            .unwrap();
        let mut cmd = teamsapp();
        cmd.args(["--base-url", &emulator.graph_url(), "-o", "json"])
            .env("TEAMSAPP_TOKEN", token.access_token);
        cmd
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.runtime.block_on(e.shutdown());
        }
    }
}

#[test]
fn remove_then_install_an_app_in_a_chat() {
    let emu = Emu::start();
    let removed = emu.json(&["chat", "apps", "remove", SEED_CHAT, "Contoso Tasks"]);
    assert_eq!(removed["result"], "removed");
    let listed = emu.json(&["chat", "apps", "list", SEED_CHAT]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["app"] != "Contoso Tasks")
    );

    let installed = emu.json(&["chat", "apps", "install", SEED_CHAT, "Contoso Tasks"]);
    assert_eq!(installed["result"], "installed");
    assert_eq!(
        installed["version"], "1.1.0",
        "an install gets the latest published version"
    );

    // Installing it again is Graph's 409: the command ran and Graph answered an error.
    emu.cmd()
        .args(["chat", "apps", "install", SEED_CHAT, "Contoso Tasks"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("409"))
        .stderr(predicate::str::contains("request-id"));
}

#[test]
fn publish_and_update_an_app_in_the_catalog() {
    let emu = Emu::start();
    let dir = tempfile::tempdir().unwrap();
    let external = "5e1f0000-0000-4000-8000-00000000beef";
    let v1 = dir.path().join("v1.zip");
    let v2 = dir.path().join("v2.zip");
    let extra = serde_json::Map::new();
    std::fs::write(
        &v1,
        teamsapp_model::package::build_package(external, "1.0.0", "Fabrikam Notes", &extra),
    )
    .unwrap();
    std::fs::write(
        &v2,
        teamsapp_model::package::build_package(external, "1.1.0", "Fabrikam Notes", &extra),
    )
    .unwrap();

    // With the fleet tool's application permissions, Graph refuses: publishing is delegated only.
    emu.cmd()
        .args(["catalog", "publish", v1.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("403"));

    let published =
        crate::json(
            emu.as_catalog_admin()
                .args(["catalog", "publish", v1.to_str().unwrap()]),
        );
    assert_eq!(published["name"], "Fabrikam Notes");
    assert_eq!(published["externalId"], external);
    assert_eq!(published["latestPublished"], "1.0.0");

    let updated = crate::json(emu.as_catalog_admin().args([
        "catalog",
        "update",
        "Fabrikam Notes",
        v2.to_str().unwrap(),
    ]));
    assert_eq!(updated["latestPublished"], "1.1.0");

    // The same version again is refused by the catalog: exit 1 with Graph's error.
    emu.as_catalog_admin()
        .args(["catalog", "update", external, v2.to_str().unwrap()])
        .assert()
        .code(1);
    // An unreadable package is a usage error: exit 2.
    emu.cmd()
        .args(["catalog", "publish", "/nonexistent/app.zip"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reading /nonexistent/app.zip"));
}

#[test]
fn auth_login_caches_a_token_that_later_commands_use() {
    let emu = Emu::start();
    let login = emu.json(&["auth", "login"]);
    assert_eq!(login["result"], "signed in");
    let cache = emu.cache.path().join("token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token cache is readable by its owner only");
    }
    let token = emu.cmd().args(["auth", "token"]).output().unwrap();
    assert!(token.status.success());
    assert!(
        String::from_utf8_lossy(&token.stdout).starts_with("eyJ"),
        "a JWT is printed"
    );

    // Without a secret in the environment, the cached token is used.
    let emulator = emu.emulator.as_ref().unwrap();
    let v = crate::json(teamsapp().env("TEAMSAPP_TOKEN_CACHE", &cache).args([
        "--base-url",
        &emulator.graph_url(),
        "-o",
        "json",
        "catalog",
        "list",
    ]));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "Contoso Tasks")
    );

    let logout = emu.json(&["auth", "logout"]);
    assert_eq!(logout["result"], "signed out");
    assert!(!cache.exists());
}

#[test]
fn mock_serve_prints_its_base_url_first_and_answers() {
    let mut child = teamsapp_std()
        .args(["mock", "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    let origin = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL on the first line")
        .to_owned();

    let creds = teamsapp_model::demo::CREDENTIALS;
    let out = teamsapp()
        .args([
            "--base-url",
            &format!("{origin}/v1.0"),
            "--authority",
            &origin,
        ])
        .args([
            "--tenant",
            creds.tenant_id,
            "--client-id",
            creds.client_id,
            "-o",
            "json",
        ])
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .args(["chat", "apps", "list", SEED_CHAT])
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["app"] == "Contoso Tasks")
    );
}

#[test]
fn mock_serve_tls_with_its_certificate_trusted_by_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = teamsapp_std()
        .args(["mock", "serve", "--tls", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let origin = first
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .expect("an https URL")
        .to_owned();
    let cert = second
        .strip_prefix("certificate: ")
        .expect("the certificate's path on the second line")
        .to_owned();

    let creds = teamsapp_model::demo::CREDENTIALS;
    let run = |ca: Option<&str>| {
        let mut cmd = teamsapp();
        cmd.args([
            "--base-url",
            &format!("{origin}/v1.0"),
            "--authority",
            &origin,
        ])
        .args([
            "--tenant",
            creds.tenant_id,
            "--client-id",
            creds.client_id,
            "-o",
            "json",
        ])
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .args(["--max-attempts", "1"]);
        if let Some(ca) = ca {
            cmd.args(["--ca-cert", ca]);
        }
        cmd.args(["catalog", "list"]).output().unwrap()
    };
    let untrusted = run(None);
    let trusted = run(Some(&cert));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        untrusted.status.code(),
        Some(2),
        "an untrusted self-signed certificate is refused"
    );
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
}

#[test]
fn fleet_upgrade_with_batch_sends_batches_and_upgrades_each_target_once() {
    let emu = Emu::start();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let v = crate::json(
        emu.cmd()
            .args([
                "-o",
                "json",
                "fleet",
                "upgrade",
                "--app",
                "Contoso Tasks",
                "--yes",
                "--batch",
                "--journal",
            ])
            .arg(&journal),
    );
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r["result"] == "verified"), "{v:#}");
    let metrics = emu.emulator.as_ref().unwrap().state().metrics();
    let batches: u64 = metrics
        .requests
        .get("batch")
        .map_or(0, |by_status| by_status.values().sum());
    assert_eq!(
        batches,
        2,
        "40 upgrades go in two $batch requests of 20: {:?}",
        metrics.requests.keys()
    );
    assert_eq!(metrics.upgrades.len(), 40);
    assert!(metrics.upgrades.values().all(|n| *n == 1));
}
