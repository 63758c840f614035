//! Fleet commands at the edges admins meet: plans fed back as targets, a resume hint that runs
//! as printed, a journal of another app, and one run over several tenants with their own limits.

use crate::emu::Emu;
use crate::teamsapp;
use std::collections::BTreeMap;
use std::path::Path;
use teamsapp_mock::{EmulatorConfig, RateLimit, Scenario, ScenarioMatch, ThrottleConfig};
use teamsapp_model::demo;

impl Emu {
    fn fail_upgrades(&self, times: Option<u32>) {
        let method = ScenarioMatch {
            method: Some("POST".into()),
            ..ScenarioMatch::default()
        };
        let mut scenario = Scenario::new(method, 403).error("Forbidden", "scripted");
        scenario.times = times;
        self.emulator()
            .state()
            .set_scenarios(vec![scenario])
            .unwrap();
    }

    /// Successful upgrades per installation.
    fn upgrades(&self) -> BTreeMap<String, u64> {
        self.emulator()
            .state()
            .metrics()
            .upgrades
            .into_iter()
            .collect()
    }
}

fn run(cmd: &mut assert_cmd::Command) -> std::process::Output {
    cmd.output().unwrap()
}

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn plan_output_in_ndjson_csv_and_json_is_valid_targets_input() {
    for format in ["ndjson", "csv", "json"] {
        let emu = Emu::demo();
        let plan = run(emu
            .cmd()
            .args(["-o", format, "fleet", "plan", "--app", "Contoso Tasks"]));
        assert!(
            plan.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&plan.stderr)
        );
        let targets = emu.dir.path().join(format!("plan.{format}"));
        std::fs::write(&targets, &plan.stdout).unwrap();
        let out = run(emu
            .cmd()
            .args([
                "-o",
                "json",
                "fleet",
                "upgrade",
                "--app",
                "Contoso Tasks",
                "--yes",
            ])
            .arg("--targets")
            .arg(&targets)
            .args(["--journal", "j.jsonl"]));
        let rows = stdout_json(&out);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 40, "{format}");
        assert!(rows.iter().all(|r| r["result"] == "verified"), "{format}");
        assert_eq!(emu.upgrades().len(), 40, "{format}");
    }
}

#[test]
fn the_resume_hint_runs_exactly_as_printed() {
    let emu = Emu::demo();
    emu.fail_upgrades(Some(1));
    let out = run(emu.cmd().args([
        "-o",
        "json",
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--yes",
        "--max-failures",
        "1",
        "--concurrency",
        "4",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let hint = stderr
        .lines()
        .find_map(|l| {
            l.split_once("continue with: ")
                .map(|(_, h)| h.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no resume hint in: {stderr}"));
    let words = shlex::split(&hint).unwrap();
    assert!(words.iter().any(|w| w == "--resume"), "{hint}");
    // Paste it, in another directory, with the same environment.
    let elsewhere = tempfile::tempdir().unwrap();
    let creds = demo::CREDENTIALS;
    let resumed = std::process::Command::new(&words[0])
        .args(&words[1..])
        .env_remove("TEAMSAPP_TOKEN")
        .env("TEAMSAPP_CLIENT_SECRET", creds.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", emu.dir.path().join("token.json"))
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "the hint failed: {hint}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let upgrades = emu.upgrades();
    assert_eq!(upgrades.len(), 40);
    assert!(upgrades.values().all(|n| *n == 1), "{upgrades:?}");
}

#[test]
fn resuming_with_a_journal_of_another_app_exits_2_and_sends_nothing() {
    let emu = Emu::demo();
    emu.fail_upgrades(Some(2));
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--yes",
        "--max-failures",
        "2",
        "--journal",
        "tasks.jsonl",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let before = emu.upgrades();
    let journal = std::fs::read(emu.dir.path().join("tasks.jsonl")).unwrap();
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--app",
        "Contoso Standup",
        "--yes",
        "--resume",
        "--journal",
        "tasks.jsonl",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Contoso Tasks"), "{stderr}");
    assert_eq!(emu.upgrades(), before, "nothing was upgraded");
    assert_eq!(
        std::fs::read(emu.dir.path().join("tasks.jsonl")).unwrap(),
        journal
    );
    // A damaged or empty journal is refused the same way.
    std::fs::write(emu.dir.path().join("empty.jsonl"), "").unwrap();
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--yes",
        "--resume",
        "--journal",
        "empty.jsonl",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn without_yes_off_a_terminal_it_refuses_before_discovery() {
    let emu = Emu::demo();
    let out = run(emu
        .cmd()
        .args(["fleet", "upgrade", "--app", "Contoso Tasks"])
        .write_stdin(""));
    assert_eq!(out.status.code(), Some(2));
    let listed = emu
        .emulator()
        .state()
        .journal(None)
        .iter()
        .filter(|e| e.method == "GET")
        .count();
    assert_eq!(listed, 0, "no discovery request was sent");
}

fn tenant_config(id: &str, chats: usize, writes_per_second: f64) -> EmulatorConfig {
    let mut tenant = demo::fleet(chats);
    id.clone_into(&mut tenant.tenant_id);
    EmulatorConfig {
        tenants: vec![tenant],
        throttle: ThrottleConfig {
            enabled: true,
            write: RateLimit::per_second(writes_per_second),
            ..ThrottleConfig::default()
        },
        ..EmulatorConfig::default()
    }
}

fn journal_header(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

#[test]
fn one_run_over_several_tenants_lands_each_target_in_its_own_tenant() {
    let ids = [
        "a0000000-0000-4000-8000-00000000000a",
        "b0000000-0000-4000-8000-00000000000b",
        "c0000000-0000-4000-8000-00000000000c",
    ];
    let limits: [u32; 3] = [10, 20, 40];
    let emus: Vec<Emu> = ids
        .iter()
        .zip(limits)
        .map(|(id, limit)| Emu::start(tenant_config(id, 30, f64::from(limit))))
        .collect();
    let creds = demo::CREDENTIALS;
    let tenants: Vec<serde_json::Value> = ids
        .iter()
        .zip(&emus)
        .zip(limits)
        .map(|((id, emu), limit)| {
            serde_json::json!({
                "tenant": id,
                "clientId": creds.client_id,
                "clientSecretEnv": "DEMO_SECRET",
                "baseUrl": emu.emulator().graph_url(),
                "authority": emu.emulator().authority(),
                // Each tenant's client keeps to that tenant's own limit.
                "rate": limit,
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenants.json");
    std::fs::write(&file, serde_json::to_vec(&tenants).unwrap()).unwrap();
    let journal = dir.path().join("j.jsonl");
    let out = teamsapp()
        .args([
            "-o",
            "json",
            "--rate",
            "0",
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
        ])
        .args(["--scope", "chats", "--yes", "--tenants"])
        .arg(&file)
        .arg("--journal")
        .arg(&journal)
        .env("DEMO_SECRET", creds.client_secret)
        .output()
        .unwrap();
    let rows = stdout_json(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 90);
    for (id, emu) in ids.iter().zip(&emus) {
        let mine: Vec<_> = rows.iter().filter(|r| r["tenant"] == *id).collect();
        assert_eq!(mine.len(), 30, "{id}");
        assert!(mine.iter().all(|r| r["result"] == "verified"));
        let upgrades = emu.upgrades();
        assert_eq!(upgrades.len(), 30, "each target landed in its own tenant");
        assert!(upgrades.values().all(|n| *n == 1));
    }
    let header = journal_header(&journal);
    let journaled: Vec<(&str, &str)> = header["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenant"].as_str().unwrap(),
                t["baseUrl"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, String)> = ids
        .iter()
        .zip(&emus)
        .map(|(id, e)| (*id, e.emulator().graph_url()))
        .collect();
    assert_eq!(journaled.len(), 3);
    for (id, url) in &expected {
        assert!(journaled.contains(&(*id, url.as_str())), "{journaled:?}");
    }
}

#[test]
fn fleet_report_summarises_a_journal_per_tenant_and_scope_with_failures_and_a_page() {
    let emu = Emu::demo();
    emu.fail_upgrades(Some(3));
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--yes",
        "--concurrency",
        "1",
        "--journal",
        "j.jsonl",
    ]));
    assert_eq!(out.status.code(), Some(1), "three targets failed");
    let journal = emu.dir.path().join("j.jsonl");
    let html = emu.dir.path().join("report.html");
    // No credentials: a report reads only the journal.
    let out = teamsapp()
        .args(["-o", "json", "fleet", "report"])
        .arg(&journal)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let rows = stdout_json(&out);
    let rows = rows.as_array().unwrap();
    let sum = |field: &str| rows.iter().map(|r| r[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("verified"), 37);
    assert_eq!(sum("failed"), 3);
    let scopes: Vec<&str> = rows.iter().map(|r| r["scope"].as_str().unwrap()).collect();
    for scope in ["chat", "team", "user"] {
        assert!(scopes.contains(&scope), "{scopes:?}");
    }
    let failures: Vec<&serde_json::Value> = rows
        .iter()
        .flat_map(|r| r["failures"].as_array().unwrap())
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["code"], "Forbidden");
    assert_eq!(failures[0]["requestIds"].as_array().unwrap().len(), 3);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("Contoso Tasks"));
    // A file that is not a journal is refused as usage, naming it.
    let out = teamsapp()
        .args(["fleet", "report"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report.html"));
}

#[test]
fn progress_announces_a_passed_canary_and_the_rate_with_one_decimal() {
    let emu = Emu::demo();
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--app",
        "Contoso Tasks",
        "--yes",
        "--canary",
        "5",
    ]));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("canary passed: 5 target(s) upgraded and verified; continuing with the rest"),
        "{stderr}"
    );
    let closing = stderr
        .lines()
        .find(|l| l.contains("installation(s) now run 1.1.0, read back and verified, in"))
        .unwrap_or_else(|| panic!("no closing line: {stderr}"));
    let rate = closing
        .rsplit_once('(')
        .and_then(|(_, r)| r.strip_suffix("/s)"))
        .unwrap_or_else(|| panic!("no rate in {closing:?}"));
    assert!(
        rate.split_once('.').is_some_and(|(_, d)| d.len() == 1),
        "{rate}"
    );
    assert!(closing.contains(" 40 installation(s)"), "{closing}");
}

#[test]
fn a_token_file_run_journals_its_tenant_and_resumes_with_client_credentials() {
    let emu = Emu::demo();
    emu.fail_upgrades(Some(1));
    let token = emu
        .emulator()
        .state()
        .mint_token(&teamsapp_mock::TokenSpec {
            app: Some(demo::CREDENTIALS.client_id.to_owned()),
            ..Default::default()
        })
        .unwrap();
    let token_file = emu.dir.path().join("token.txt");
    std::fs::write(&token_file, &token.access_token).unwrap();
    // Only a token: no tenant, no client id, no secret.
    let out = teamsapp()
        .args(["--base-url", &emu.emulator().graph_url()])
        .arg("--token-file")
        .arg(&token_file)
        .args(["fleet", "upgrade", "--app", "Contoso Tasks", "--yes"])
        .args([
            "--max-failures",
            "1",
            "--concurrency",
            "1",
            "--journal",
            "j.jsonl",
        ])
        .current_dir(emu.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = journal_header(&emu.dir.path().join("j.jsonl"));
    assert_eq!(header["tenants"][0]["tenant"], demo::CREDENTIALS.tenant_id);
    // Resumed with the app's client credentials, naming the tenant by id.
    let out = run(emu.cmd().args([
        "fleet",
        "upgrade",
        "--yes",
        "--resume",
        "--journal",
        "j.jsonl",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let upgrades = emu.upgrades();
    assert_eq!(upgrades.len(), 40);
    assert!(upgrades.values().all(|n| *n == 1));
}

#[test]
fn ctrl_c_during_discovery_stops_at_once_and_the_hint_continues_where_it_stopped() {
    let emu = Emu::start(EmulatorConfig {
        throttle: ThrottleConfig {
            enabled: true,
            read: RateLimit::per_second(5.0),
            ..ThrottleConfig::default()
        },
        ..EmulatorConfig::demo()
    });
    let journal = emu.dir.path().join("j.jsonl");
    let mut child = crate::teamsapp_std()
        .args(["--base-url", &emu.emulator().graph_url()])
        .args(["--authority", emu.emulator().authority()])
        .args(["--tenant", demo::CREDENTIALS.tenant_id])
        .args(["--client-id", demo::CREDENTIALS.client_id, "--rate", "5"])
        .env("TEAMSAPP_CLIENT_SECRET", demo::CREDENTIALS.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", emu.dir.path().join("token.json"))
        .args([
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--yes",
            "--journal",
        ])
        .arg(&journal)
        .current_dir(emu.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (polling the journal, no fixed sleep) until discovery has read a few scopes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let scanned = std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .matches("\"record\":\"scanned\"")
            .count();
        if scanned >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "discovery made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(std::time::Duration::from_millis(20)); // polling, not timing
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(emu.upgrades().is_empty(), "nothing was upgraded");
    let hint = stderr
        .lines()
        .find_map(|l| {
            l.split_once("continue with: ")
                .map(|(_, h)| h.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no hint: {stderr}"));
    let scanned_before = std::fs::read_to_string(&journal)
        .unwrap()
        .matches("\"record\":\"scanned\"")
        .count();
    let words = shlex::split(&hint).unwrap();
    let resumed = std::process::Command::new(&words[0])
        .args(&words[1..])
        .env("TEAMSAPP_CLIENT_SECRET", demo::CREDENTIALS.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", emu.dir.path().join("token.json"))
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{hint}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let scanned_after = std::fs::read_to_string(&journal)
        .unwrap()
        .matches("\"record\":\"scanned\"")
        .count();
    assert_eq!(
        scanned_after, 42,
        "each scope read once across both runs ({scanned_before} before)"
    );
    let upgrades = emu.upgrades();
    assert_eq!(upgrades.len(), 40);
    assert!(upgrades.values().all(|n| *n == 1));
}

#[test]
fn an_unknown_app_exits_1_with_a_suggestion_as_other_commands_do() {
    let emu = Emu::demo();
    let out = run(emu.cmd().args(["fleet", "plan", "--app", "Contoso Taks"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did you mean \"Contoso Tasks\"?"),
        "{stderr}"
    );
    assert!(stderr.contains("of tenant c0ffee00"), "{stderr}");
}
