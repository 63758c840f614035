//! Benchmark 3: `teamsapp fleet upgrade` of a whole fleet against `teamsapp mock serve` with a known
//! throttle limit: the achieved upgrade rate as a fraction of the limit, the 429s, and whether any
//! target was lost or repeated.

use crate::Settings;
use crate::fixtures::fleet_target;
use crate::procs::{self, Guard};
use crate::report::{Row, Suite, thousands, upgrades_per_second};
use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use teamsapp_model::demo;
use teamsapp_types::routes;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Plan {
    installations: usize,
    limit: u32,
    timeout: Duration,
}

/// What one fleet run gave.
struct Outcome {
    exit: String,
    wall: f64,
    upgrade_phase: f64,
    verified: usize,
    sent: usize,
    throttled: u64,
    too_many: u64,
    batches: u64,
    upgrade_requests: u64,
    lost: usize,
    repeated: usize,
    unexpected: usize,
    upgrades_total: u64,
}

/// Runs benchmark 3, with and without `--batch`.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    let plan = if s.smoke {
        Plan {
            installations: 300,
            limit: 200,
            timeout: Duration::from_mins(1),
        }
    } else {
        Plan {
            installations: 10_000,
            limit: 200,
            timeout: Duration::from_mins(10),
        }
    };
    let n = plan.installations;
    let limit = plan.limit;
    suite.method(format!(
        "Server: `teamsapp mock serve --fleet {n} --throttle {limit}` ({} build), a separate process: {} installations of Contoso Tasks 1.0.0, one per chat; every operation class limited to {limit} requests per second per app and tenant (token buckets, burst one second's worth), `429` with `Retry-After` above it.",
        s.profile,
        thousands(n as u64),
    ));
    suite.method(format!(
        "Client: the real binary, `teamsapp --base-url … --authority … --tenant … --client-id … --rate {limit} --concurrency 32 -q --output json fleet upgrade --app {} --targets FILE --journal FILE --yes [--batch]`, signing in with the demo client secret through the emulator's token endpoint (`TEAMSAPP_CLIENT_SECRET`). `--rate {limit}` tells the client the limit; without it the client keeps to Graph's published 30 rps.",
        demo::TASKS_APP_ID
    ));
    suite.method(format!(
        "Targets: a `--targets` CSV file naming all {} installations (`chat,chat-id,installation-id`), not discovery; the CLI reads each target back before planning ({} GETs), upgrades it (POST) and reads it back until it shows 1.1.0 (GET), so reads and upgrades each meet their own {limit} rps bucket.",
        thousands(n as u64),
        thousands(n as u64)
    ));
    suite.method("Achieved rate: installations upgraded divided by the upgrade phase, from the first `sending` to the last `upgraded` line of the CLI's journal (timestamps written by the CLI). 429s: the emulator's `throttled` metric. Lost and repeated: the emulator's `metrics.upgrades` (successful upgrades per installation) must hold every planned installation exactly once and nothing else.");

    let dir = s.work.join("fleet");
    std::fs::create_dir_all(&dir)?;
    let targets = dir.join("targets.csv");
    let mut text = String::from("scope,scopeId,installationId\n");
    let mut expected = HashSet::new();
    for i in 0..n {
        let (chat, id) = fleet_target(i);
        let _ = writeln!(text, "chat,{chat},{id}");
        expected.insert(id.canonical().into_inner());
    }
    std::fs::write(&targets, text)?;

    let mut failed = false;
    for batch in [false, true] {
        let name = if batch {
            "fleet upgrade --batch"
        } else {
            "fleet upgrade"
        };
        let outcome = one_run(s, &plan, &dir, &targets, &expected, batch)
            .with_context(|| format!("`{name}`"))?;
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let rate = outcome.verified as f64 / outcome.upgrade_phase;
        suite.row(
            Row::new(
                format!("`{name}` of {} installations, achieved upgrade rate", thousands(n as u64)),
                rate,
                "the emulator's limit",
                f64::from(limit),
                upgrades_per_second,
            )
            .detail(format!(
                "upgrade phase {:.1} s, whole command {:.1} s (exit {}); 429s: {} from throttling, {} in all; {} upgrade requests, {} `$batch` requests",
                outcome.upgrade_phase,
                outcome.wall,
                outcome.exit,
                thousands(outcome.throttled),
                thousands(outcome.too_many),
                thousands(outcome.upgrade_requests),
                thousands(outcome.batches),
            )),
        );
        let ok = outcome.lost == 0
            && outcome.repeated == 0
            && outcome.unexpected == 0
            && outcome.verified == n
            && outcome.exit == "0";
        failed |= !ok;
        suite.check(
            format!("`{name}`: 0 targets lost, 0 repeated"),
            ok,
            format!(
                "{} planned, {} sent, {} verified by the CLI; emulator: {} upgrades counted, {} installations never upgraded, {} upgraded more than once, {} not planned",
                thousands(n as u64),
                thousands(outcome.sent as u64),
                thousands(outcome.verified as u64),
                thousands(outcome.upgrades_total),
                outcome.lost,
                outcome.repeated,
                outcome.unexpected
            ),
        );
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        suite.row(Row::new(
            format!("`{name}`: 429s received"),
            outcome.throttled as f64,
            "installations upgraded",
            outcome.verified as f64,
            crate::report::count,
        ));
        if batch && outcome.batches == 0 {
            suite.note("`--batch` sent no `$batch` request: `teamsapp fleet upgrade` accepts the flag, but its fleet runner sent every upgrade as a request of its own (when this was written, `crates/teamsapp-cli/src/fleet/run.rs` did not read the flag), so both rows measure the same one-request-per-upgrade path.");
        }
    }
    if failed {
        bail!("a fleet upgrade lost or repeated targets (see the checks)");
    }
    Ok(())
}

fn one_run(
    s: &Settings,
    plan: &Plan,
    dir: &Path,
    targets: &Path,
    expected: &HashSet<String>,
    batch: bool,
) -> Result<Outcome> {
    let tag = if batch { "batch" } else { "plain" };
    let mut serve = Command::new(&s.teamsapp);
    serve
        .args(["-q", "mock", "serve", "--listen", "127.0.0.1:0"])
        .args(["--fleet", &plan.installations.to_string()])
        .args(["--throttle", &plan.limit.to_string()])
        .env_remove("RUST_LOG")
        .stderr(std::fs::File::create(dir.join(format!("serve-{tag}.log")))?);
    let (server, line) =
        procs::spawn_announced(serve, "teamsapp mock serve", Duration::from_mins(2))?;
    let origin = origin_of(&line)?;

    let journal = dir.join(format!("journal-{tag}.jsonl"));
    let _ = std::fs::remove_file(&journal);
    let mut cli = Command::new(&s.teamsapp);
    cli.args(["--base-url", &format!("{origin}/v1.0")])
        .args(["--authority", &origin])
        .args(["--tenant", demo::CREDENTIALS.tenant_id])
        .args(["--client-id", demo::CREDENTIALS.client_id])
        .args(["--rate", &plan.limit.to_string(), "--concurrency", "32"])
        .args(["-q", "--output", "json", "fleet", "upgrade"])
        .args(["--app", demo::TASKS_APP_ID, "--targets"])
        .arg(targets)
        .arg("--journal")
        .arg(&journal)
        .arg("--yes");
    if batch {
        cli.arg("--batch");
    }
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TEAMSAPP_") {
            cli.env_remove(key);
        }
    }
    cli.env_remove("RUST_LOG")
        .env("TEAMSAPP_CLIENT_SECRET", demo::CREDENTIALS.client_secret)
        .env("TEAMSAPP_TOKEN_CACHE", dir.join("token-cache.json"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("cli-{tag}.json")))?)
        .stderr(std::fs::File::create(dir.join(format!("cli-{tag}.log")))?);
    let t0 = Instant::now();
    let status = procs::run_with_timeout(cli, "teamsapp fleet upgrade", plan.timeout)?;
    let wall = t0.elapsed().as_secs_f64();
    let exit = status
        .code()
        .map_or_else(|| status.to_string(), |c| c.to_string());

    let phases = read_journal(&journal)?;
    let metrics = fetch_metrics(&origin)?;
    stop(server);

    let upgrades = metrics["upgrades"]
        .as_object()
        .ok_or_else(|| anyhow!("no upgrades in the emulator's metrics"))?;
    let mut lost = 0;
    let mut repeated = 0;
    for id in expected {
        match upgrades.get(id).and_then(Value::as_u64) {
            None | Some(0) => lost += 1,
            Some(1) => {}
            Some(_) => repeated += 1,
        }
    }
    let unexpected = upgrades.keys().filter(|k| !expected.contains(*k)).count();
    let count_requests = |operation: &str| -> u64 {
        metrics["requests"][operation]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
    };
    Ok(Outcome {
        exit,
        wall,
        upgrade_phase: phases.upgrade_phase,
        verified: phases.verified,
        sent: phases.sending,
        throttled: metrics["throttled"].as_u64().unwrap_or(0),
        too_many: metrics["tooManyRequestsSent"].as_u64().unwrap_or(0),
        batches: count_requests(routes::BATCH.operation_id),
        upgrade_requests: count_requests(routes::UPGRADE_CHAT_APP.operation_id),
        lost,
        repeated,
        unexpected,
        upgrades_total: upgrades.values().filter_map(Value::as_u64).sum(),
    })
}

fn stop(server: Guard) {
    server.stop();
}

/// `http://127.0.0.1:PORT` from `teamsapp emulator listening on http://127.0.0.1:PORT (Graph: …)`.
pub(crate) fn origin_of(line: &str) -> Result<String> {
    line.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no address in the emulator's first line {line:?}"))
}

/// What a fleet journal says about the upgrade phase.
pub(crate) struct Phases {
    /// Seconds from the first `sending` to the last `upgraded`.
    pub(crate) upgrade_phase: f64,
    /// `sending` lines.
    pub(crate) sending: usize,
    /// `verified` lines.
    pub(crate) verified: usize,
}

pub(crate) fn read_journal(path: &Path) -> Result<Phases> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut first_sending: Option<OffsetDateTime> = None;
    let mut last_upgraded: Option<OffsetDateTime> = None;
    let (mut sending, mut verified) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).context("a journal line")?;
        let at = v["at"].as_str().unwrap_or_default();
        let state = v["state"].as_str().unwrap_or_default();
        match state {
            "sending" => {
                sending += 1;
                let at = OffsetDateTime::parse(at, &Rfc3339).context("a journal time")?;
                first_sending = Some(first_sending.map_or(at, |f| f.min(at)));
            }
            "upgraded" => {
                let at = OffsetDateTime::parse(at, &Rfc3339).context("a journal time")?;
                last_upgraded = Some(last_upgraded.map_or(at, |l| l.max(at)));
            }
            "verified" => verified += 1,
            _ => {}
        }
    }
    let (Some(first), Some(last)) = (first_sending, last_upgraded) else {
        bail!("the journal {} records no upgrade", path.display());
    };
    Ok(Phases {
        upgrade_phase: (last - first).as_seconds_f64(),
        sending,
        verified,
    })
}

pub(crate) fn fetch_metrics(origin: &str) -> Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{origin}/_emulator/metrics"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .context("reading the emulator's metrics")?
            .error_for_status()?;
        Ok(response.json::<Value>().await?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_origin_from_the_first_line() {
        let line = "teamsapp emulator listening on http://127.0.0.1:40123 (Graph: http://127.0.0.1:40123/v1.0)";
        assert_eq!(origin_of(line).unwrap(), "http://127.0.0.1:40123");
    }
}
