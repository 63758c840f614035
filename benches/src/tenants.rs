//! Benchmark 3b: one `teamsapp fleet upgrade --tenants` run over many tenants, each behind its
//! own emulator throttled at its own limit: the achieved aggregate upgrade rate as a fraction of
//! the sum of the limits, and whether any target was lost or repeated.

use crate::Settings;
use crate::fixtures::fleet_target;
use crate::fleet::{fetch_metrics, origin_of, read_journal};
use crate::procs::{self, Guard};
use crate::report::{Row, Suite, thousands, upgrades_per_second};
use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use teamsapp_model::demo;

/// Runs benchmark 3b.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    // Limits 10, 11, …: distinct, and below Graph's published 30 rps per app per tenant.
    let (tenants, seconds, timeout) = if s.smoke {
        (3_u32, 4_u32, Duration::from_mins(2))
    } else {
        (20_u32, 20_u32, Duration::from_mins(10))
    };
    let limits: Vec<u32> = (0..tenants).map(|i| 10 + i).collect();
    let sum: u32 = limits.iter().sum();
    suite.method(format!(
        "Servers: {tenants} `teamsapp mock serve --tenant-file T --throttle L` processes ({} build), tenant i with its own tenant id, Contoso Tasks 1.0.0 in L × {seconds} chats, and its own limit L = 10, 11, … {} requests per second per operation class (sum {sum}).",
        s.profile,
        limits.last().copied().unwrap_or(0)
    ));
    suite.method(format!(
        "Client: one run of the real binary, `teamsapp -q --output json fleet upgrade --app {} --tenants FILE --targets FILE --journal FILE --yes`; the tenants file gives each tenant its base URL, the demo credentials and `rate: L` (its client keeps to its tenant's limit); `--concurrency` (32) is per tenant.",
        demo::TASKS_APP_ID
    ));
    suite.method("Achieved rate: installations upgraded in all tenants divided by the upgrade phase (first `sending` to last `upgraded` in the journal), against the sum of the limits. Lost and repeated: each emulator's `metrics.upgrades` must hold each of its own installations exactly once.");

    let dir = s.work.join("tenants");
    std::fs::create_dir_all(&dir)?;
    let mut servers: Vec<Guard> = Vec::new();
    let mut entries = Vec::new();
    let mut targets = String::from("tenant,scope,scopeId,installationId\n");
    let mut expected: Vec<(String, usize)> = Vec::new();
    for (i, limit) in limits.iter().enumerate() {
        let n = (limit * seconds) as usize;
        let tenant_id = format!("{:08x}-0000-4000-8000-0000000be0c4", i + 1);
        let mut spec = demo::fleet(n);
        spec.tenant_id.clone_from(&tenant_id);
        let spec_file = dir.join(format!("tenant-{i}.json"));
        std::fs::write(&spec_file, serde_json::to_vec(&spec)?)?;
        let mut serve = Command::new(&s.teamsapp);
        serve
            .args([
                "-q",
                "mock",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tenant-file",
            ])
            .arg(&spec_file)
            .args(["--throttle", &limit.to_string()])
            .env_remove("RUST_LOG")
            .stderr(std::fs::File::create(dir.join(format!("serve-{i}.log")))?);
        let (server, line) =
            procs::spawn_announced(serve, "teamsapp mock serve", Duration::from_mins(2))?;
        let origin = origin_of(&line)?;
        servers.push(server);
        entries.push(json!({
            "tenant": tenant_id,
            "clientId": demo::CREDENTIALS.client_id,
            "clientSecretEnv": "TEAMSAPP_BENCH_SECRET",
            "baseUrl": format!("{origin}/v1.0"),
            "authority": origin,
            "rate": limit,
        }));
        for k in 0..n {
            let (chat, id) = fleet_target(k);
            let _ = writeln!(targets, "{tenant_id},chat,{chat},{id}");
        }
        expected.push((origin, n));
    }
    let tenants_file = dir.join("tenants.json");
    std::fs::write(&tenants_file, serde_json::to_vec_pretty(&entries)?)?;
    let targets_file = dir.join("targets.csv");
    std::fs::write(&targets_file, targets)?;
    let journal = dir.join("journal.jsonl");
    let _ = std::fs::remove_file(&journal);

    let mut cli = Command::new(&s.teamsapp);
    cli.args(["-q", "--output", "json", "fleet", "upgrade"])
        .args(["--app", demo::TASKS_APP_ID, "--yes", "--tenants"])
        .arg(&tenants_file)
        .arg("--targets")
        .arg(&targets_file)
        .arg("--journal")
        .arg(&journal);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TEAMSAPP_") {
            cli.env_remove(key);
        }
    }
    cli.env_remove("RUST_LOG")
        .env("TEAMSAPP_BENCH_SECRET", demo::CREDENTIALS.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", dir.join("token-cache.json"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("cli.json"))?)
        .stderr(std::fs::File::create(dir.join("cli.log"))?);
    let t0 = Instant::now();
    let status = procs::run_with_timeout(cli, "teamsapp fleet upgrade --tenants", timeout)?;
    let wall = t0.elapsed().as_secs_f64();
    let phases = read_journal(&journal)?;

    let (mut lost, mut repeated, mut upgraded, mut throttled) = (0usize, 0usize, 0u64, 0u64);
    for (origin, n) in &expected {
        let metrics: Value = fetch_metrics(origin)?;
        throttled += metrics["throttled"].as_u64().unwrap_or(0);
        let per_installation = metrics["upgrades"]
            .as_object()
            .context("no upgrades in an emulator's metrics")?;
        upgraded += per_installation
            .values()
            .filter_map(Value::as_u64)
            .sum::<u64>();
        repeated += per_installation
            .values()
            .filter(|v| v.as_u64() > Some(1))
            .count();
        lost += n.saturating_sub(per_installation.len());
    }
    for server in servers {
        server.stop();
    }
    let total: usize = expected.iter().map(|(_, n)| n).sum();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = phases.verified as f64 / phases.upgrade_phase;
    suite.row(
        Row::new(
            format!(
                "{tenants} tenants, {} installations, one run: achieved aggregate upgrade rate",
                thousands(total as u64)
            ),
            rate,
            "the sum of the tenants' limits",
            f64::from(sum),
            upgrades_per_second,
        )
        .detail(format!(
            "upgrade phase {:.1} s, whole command {wall:.1} s (exit {}); 429s: {}",
            phases.upgrade_phase,
            status
                .code()
                .map_or_else(|| status.to_string(), |c| c.to_string()),
            thousands(throttled),
        )),
    );
    let ok = lost == 0 && repeated == 0 && phases.verified == total && status.success();
    suite.check(
        format!("{tenants} tenants: 0 targets lost, 0 repeated"),
        ok,
        format!(
            "{} planned, {} verified by the CLI; emulators: {} upgrades counted, {lost} never upgraded, {repeated} upgraded more than once",
            thousands(total as u64),
            thousands(phases.verified as u64),
            thousands(upgraded),
        ),
    );
    if !ok {
        bail!("the multi-tenant fleet upgrade lost or repeated targets (see the checks)");
    }
    Ok(())
}
