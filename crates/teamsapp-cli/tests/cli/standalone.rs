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
        Self::start_with(EmulatorConfig::demo())
    }

    fn start_with(config: EmulatorConfig) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let emulator = runtime.block_on(Emulator::start(config)).unwrap();
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
    let removed = emu.json(&[
        "chat",
        "apps",
        "remove",
        SEED_CHAT,
        "Contoso Tasks",
        "--yes",
    ]);
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
        installed["to"], "1.1.0",
        "an install gets the latest published version"
    );
    assert_eq!(installed["from"], serde_json::Value::Null);

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

    // Publishing is delegated only: with just the app's secret at hand, the CLI says what to run
    // instead of letting Graph answer 403 (exit 3: a credential problem).
    emu.cmd()
        .args(["catalog", "publish", v1.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("needs a signed-in user"))
        .stderr(predicate::str::contains("auth login --device-code"))
        .stderr(predicate::str::contains("TEAMSAPP_CLIENT_SECRET is set"));

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

    // The same version again is refused before anything is uploaded: exit 2, saying why.
    emu.as_catalog_admin()
        .args(["catalog", "update", external, v2.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "already has version 1.1.0: raise `version`",
        ));
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
    // Exactly the token and a newline, in every output format, so `T=$(teamsapp auth token)` works.
    for format in ["table", "json"] {
        let token = emu
            .cmd()
            .args(["-o", format, "auth", "token"])
            .output()
            .unwrap();
        assert!(token.status.success());
        let text = String::from_utf8(token.stdout).unwrap();
        assert!(text.starts_with("eyJ"), "a JWT is printed: {text:?}");
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n') && !text.contains(' ') && !text.contains("[]"));
    }

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

    // The banner's `export` lines are all another shell needs: no --authority (it defaults to
    // the base URL's origin).
    let mut exports = Vec::new();
    loop {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if line.starts_with("demo tenant") || line.is_empty() {
            break;
        }
        if let Some(kv) = line.trim().strip_prefix("export ") {
            let (k, v) = kv.split_once('=').unwrap();
            exports.push((k.to_owned(), v.trim_matches('\'').to_owned()));
        }
    }
    let names: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "TEAMSAPP_BASE_URL",
            "TEAMSAPP_TENANT",
            "TEAMSAPP_CLIENT_ID",
            "TEAMSAPP_CLIENT_SECRET"
        ]
    );
    assert_eq!(exports[0].1, format!("{origin}/v1.0"));
    let out = teamsapp()
        .envs(exports)
        .args(["-o", "json", "chat", "apps", "list", SEED_CHAT])
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
        String::from_utf8_lossy(&untrusted.stderr).contains("--ca-cert"),
        "the error says how to trust it: {}",
        String::from_utf8_lossy(&untrusted.stderr)
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

#[test]
fn upgrading_an_installation_already_current_reports_current() {
    let emu = Emu::start();
    let first = emu.json(&["chat", "apps", "upgrade", SEED_CHAT, "Contoso Tasks"]);
    assert_eq!(first["result"], "upgraded");
    let again = emu.json(&["chat", "apps", "upgrade", SEED_CHAT, "Contoso Tasks"]);
    assert_eq!(again["result"], "current", "{again:#}");
    assert_eq!(again["from"], "1.1.0");
    assert_eq!(again["to"], "1.1.0");
    let upgrades: u64 = emu
        .emulator
        .as_ref()
        .unwrap()
        .state()
        .metrics()
        .upgrades
        .values()
        .sum();
    assert_eq!(upgrades, 1, "nothing is sent for a current installation");
}

#[test]
fn remove_off_a_terminal_without_yes_refuses_with_exit_2() {
    let emu = Emu::start();
    emu.cmd()
        .args(["chat", "apps", "remove", SEED_CHAT, "Contoso Tasks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("without --yes"));
    let listed = emu.json(&["chat", "apps", "list", SEED_CHAT]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["app"] == "Contoso Tasks"),
        "nothing was removed"
    );
}

#[test]
fn sign_in_errors_exit_3_with_the_whole_entra_message() {
    let emu = Emu::start();
    let creds = teamsapp_model::demo::CREDENTIALS;
    emu.cmd()
        .env("TEAMSAPP_CLIENT_SECRET", "wrong")
        .args(["catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("AADSTS7000215"))
        .stderr(predicate::str::contains(creds.client_id))
        .stderr(predicate::str::contains("wrong").not());
    let emulator = emu.emulator.as_ref().unwrap();
    let with = |tenant: &str, client_id: &str| {
        let mut cmd = teamsapp();
        cmd.args(["--base-url", &emulator.graph_url()])
            .args(["--tenant", tenant, "--client-id", client_id])
            .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
            .env("TEAMSAPP_TOKEN_CACHE", emu.cache.path().join("token.json"));
        cmd
    };
    with("c0ffee00-0000-4000-8000-0000000000ff", creds.client_id)
        .args(["catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("AADSTS90002"));
    // The whole sentence, past the 200 characters it used to be cut at.
    with(creds.tenant_id, "c0ffee00-0000-4000-8000-0000000000ff")
        .args(["catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("AADSTS700016"))
        .stderr(predicate::str::contains(
            "You may have sent your authentication request to the wrong tenant.",
        ));
    // Not a GUID: refused before any request.
    with(creds.tenant_id, "contoso-fleet-tool")
        .args(["catalog", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "is not an application (client) id",
        ));
}

#[test]
fn an_unknown_app_name_exits_1_with_did_you_mean() {
    let emu = Emu::start();
    emu.cmd()
        .args(["catalog", "get", "Contoso Taks"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean \"Contoso Tasks\"?"));
}

#[test]
fn a_closed_port_fails_within_5_seconds_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v1.0");
    let started = std::time::Instant::now();
    teamsapp()
        .env("TEAMSAPP_TOKEN", "opaque-test-token")
        .args(["--base-url", &url, "catalog", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}/v1.0")))
        .stderr(predicate::str::contains("hint:"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn debug_logs_every_request_and_never_the_token() {
    let emu = Emu::start();
    let out = emu
        .cmd()
        .args(["--debug", "-o", "json", "chat", "apps", "list", SEED_CHAT])
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    let graph = emu.emulator.as_ref().unwrap().graph_url();
    assert!(
        log.contains(&format!("GET {graph}/chats/")) && log.contains("-> 200 in"),
        "{log}"
    );
    assert!(log.contains("request-id "), "{log}");
    assert!(log.contains("/oauth2/v2.0/token -> 200"), "{log}");
    assert!(!log.contains("eyJ"), "no token in the log: {log}");
    let secret = teamsapp_model::demo::CREDENTIALS.client_secret;
    assert!(!log.contains(secret), "no secret in the log");
}

#[test]
fn auth_status_names_the_credential_and_why_in_every_format() {
    let emu = Emu::start();
    let v = emu.json(&["auth", "status"]);
    assert_eq!(v["credential"], "client secret");
    assert!(
        v["why"]
            .as_str()
            .unwrap()
            .contains("TEAMSAPP_CLIENT_SECRET")
    );
    assert_eq!(v["identity"], "app");
    assert!(
        v["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "AppCatalog.Read.All")
    );
    assert!(v["expiresAt"].as_str().unwrap().ends_with('Z'));
    let creds = teamsapp_model::demo::CREDENTIALS;
    assert_eq!(v["tenant"], creds.tenant_id);
    assert_eq!(v["clientId"], creds.client_id);
    for (format, expect) in [
        (
            "csv",
            "credential,why,tenant,clientId,identity,user,roles,scopes,expiresAt",
        ),
        ("table", "client secret"),
        ("ndjson", "\"credential\":\"client secret\""),
    ] {
        emu.cmd()
            .args(["-o", format, "auth", "status"])
            .assert()
            .success()
            .stdout(predicate::str::contains(expect));
    }
}

#[test]
fn a_cached_delegated_sign_in_beats_the_app_secret_for_catalog_publish() {
    let mut config = EmulatorConfig::demo();
    config.device_codes.auto_approve = true;
    config.device_codes.auto_approve_user = Some("adele@contoso.example".to_owned());
    config.device_codes.interval = 1;
    let emu = Emu::start_with(config);
    let login = emu.json(&["auth", "login", "--device-code"]);
    assert_eq!(login["identity"], "user");
    assert_eq!(login["user"], "adele@contoso.example");

    // The secret is still set (Emu::cmd sets it): publish uses the cached user all the same.
    let status = emu.json(&["auth", "status"]);
    assert_eq!(
        status["credential"], "client secret",
        "other commands keep the app"
    );
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("notes.zip");
    std::fs::write(
        &zip,
        teamsapp_model::package::build_package(
            "5e1f0000-0000-4000-8000-00000000cafe",
            "1.0.0",
            "Fabrikam Notes",
            &serde_json::Map::new(),
        ),
    )
    .unwrap();
    let published = emu.json(&["catalog", "publish", zip.to_str().unwrap()]);
    assert_eq!(published["name"], "Fabrikam Notes");
}

#[test]
fn catalog_update_with_an_older_version_is_refused_before_upload() {
    let emu = Emu::start();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("old.zip");
    std::fs::write(
        &zip,
        teamsapp_model::package::build_package(
            teamsapp_model::demo::TASKS_EXTERNAL_ID,
            "1.0.5",
            "Contoso Tasks",
            &serde_json::Map::new(),
        ),
    )
    .unwrap();
    emu.as_catalog_admin()
        .args(["catalog", "update", "Contoso Tasks", zip.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds version 1.0.5"))
        .stderr(predicate::str::contains("nothing was uploaded"));
}

#[test]
fn auth_token_renews_an_expiring_app_token_and_asks_a_user_to_sign_in_again() {
    let emu = Emu::start();
    let creds = teamsapp_model::demo::CREDENTIALS;
    let cache = emu.cache.path().join("token.json");
    let authority = emu.emulator.as_ref().unwrap().authority().to_owned();
    let write = |user: Option<&str>| {
        let entry = serde_json::json!({
            "tenant": creds.tenant_id,
            "clientId": creds.client_id,
            "accessToken": "expired-token",
            "expiresAt": 60,
            "user": user,
            "authority": authority,
        });
        std::fs::write(&cache, entry.to_string()).unwrap();
    };

    write(None);
    let out = emu.cmd().args(["auth", "token"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(
        token.starts_with("eyJ") && token.ends_with('\n'),
        "{token:?}"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(
        stored["accessToken"],
        token.trim_end(),
        "the renewed token is cached"
    );

    write(Some("adele@contoso.example"));
    emu.cmd()
        .args(["auth", "token"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("auth login --device-code"));
}

/// One raw HTTP/1.1 request; the status code of the answer.
fn raw_status(addr: &str, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn mock_serve_beyond_loopback_says_where_it_listens_and_locks_the_doors() {
    let mut child = teamsapp_std()
        .args(["mock", "serve", "--listen", "0.0.0.0:0"])
        .env_remove("TEAMSAPP_EMULATOR_ADMIN_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = Vec::new();
    loop {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let last = line.starts_with("demo tenant") || line.is_empty();
        banner.push(line);
        if last {
            break;
        }
    }
    let banner = banner.concat();
    // The real bound address, not 127.0.0.1.
    let first = banner.lines().next().unwrap();
    assert!(
        first.starts_with("teamsapp emulator listening on http://0.0.0.0:"),
        "{banner}"
    );
    assert!(first.contains("all interfaces"), "{banner}");
    let port = first
        .split("0.0.0.0:")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .to_owned();
    // A generated admin key, printed; no demo secret to paste.
    let key = banner
        .lines()
        .find_map(|l| l.strip_prefix("admin key (generated; send it as x-emulator-admin-key): "))
        .expect("a generated admin key")
        .to_owned();
    assert!(key.len() >= 40, "{key}");
    assert!(!banner.contains("TEAMSAPP_CLIENT_SECRET"), "{banner}");
    assert!(banner.contains("--allow-demo-credentials"), "{banner}");

    let addr = format!("127.0.0.1:{port}");
    let reset = |extra: &str| {
        raw_status(
            &addr,
            &format!(
                "POST /_emulator/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n"
            ),
        )
    };
    assert_eq!(reset(""), 403, "no key");
    assert_eq!(reset(&format!("x-emulator-admin-key: {key}\r\n")), 204);
    // The demo secret is refused (the CLI signs in with it, as a user of the README would).
    let out = teamsapp()
        .env("TEAMSAPP_BASE_URL", format!("http://{addr}/v1.0"))
        .env(
            "TEAMSAPP_TENANT",
            teamsapp_model::demo::CREDENTIALS.tenant_id,
        )
        .env(
            "TEAMSAPP_CLIENT_ID",
            teamsapp_model::demo::CREDENTIALS.client_id,
        )
        .env(
            "TEAMSAPP_CLIENT_SECRET",
            teamsapp_model::demo::CREDENTIALS.client_secret,
        )
        .args(["chat", "apps", "list", SEED_CHAT])
        .output()
        .unwrap();
    child.kill().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    child.wait().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-demo-credentials"), "{err}");
    // The warning names the address.
    assert!(stderr.contains("beyond loopback"), "{stderr}");
}

#[test]
fn secrets_in_query_strings_never_reach_the_emulators_log() {
    let mut child = teamsapp_std()
        .args(["-vv", "mock", "serve", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let status = raw_status(
        &addr,
        &format!(
            "GET /v1.0/chats?access_token=s3cr3t-t0ken&client_secret=hunter2&$top=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!((400..500).contains(&status), "{status}");
    child.kill().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    child.wait().unwrap();
    // The request was logged (so the check below means something), its secrets were not.
    assert!(log.contains("/v1.0/chats?"), "{log}");
    assert!(log.contains("access_token=REDACTED"), "{log}");
    assert!(!log.contains("s3cr3t-t0ken"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}
