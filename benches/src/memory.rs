//! Benchmark 4: the emulator's memory per installation (resident memory of `teamsapp mock serve
//! --fleet N` against `--fleet 0`), and the model's upgrade cost as the tenant grows.

use crate::Settings;
use crate::fixtures::fleet_target;
use crate::fleet::origin_of;
use crate::procs;
use crate::report::{Row, Suite, bytes, mebibytes, median, millis, nanos, thousands};
use anyhow::{Context as _, Result, anyhow, bail};
use std::process::Command;
use std::time::{Duration, Instant};
use teamsapp_model::{Caller, Query, World, WorldConfig, demo};
use teamsapp_types::Scope;
use teamsapp_types::{AppInstallationId, UpgradePostRequestBody};

/// Resident memory of a `mock serve` process once it announced itself and settled.
struct Resident {
    rss: u64,
    peak: u64,
    start: f64,
}

fn serve_rss(s: &Settings, n: usize) -> Result<Resident> {
    let mut cmd = Command::new(&s.teamsapp);
    cmd.args(["-q", "mock", "serve", "--listen", "127.0.0.1:0"])
        .args(["--fleet", &n.to_string()])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::null());
    let t0 = Instant::now();
    let (server, line) = procs::spawn_announced(
        cmd,
        &format!("teamsapp mock serve --fleet {n}"),
        Duration::from_mins(10),
    )?;
    let start = t0.elapsed().as_secs_f64();
    origin_of(&line)?;
    // Let the allocator and the runtime settle, then take the lower of two readings a second apart.
    std::thread::sleep(Duration::from_secs(1));
    let (a, _) = procs::rss(server.id())?;
    std::thread::sleep(Duration::from_secs(1));
    let (b, peak) = procs::rss(server.id())?;
    server.stop();
    Ok(Resident {
        rss: a.min(b),
        peak,
        start,
    })
}

/// Processes started per size: the allocator returns the load's freed memory to the system in
/// some processes and not (yet) in others, so one reading is a draw from two levels.
const PROCESSES: usize = 3;
const _: () = assert!(
    PROCESSES % 2 == 1,
    "the median of an odd count is a reading"
);

/// [`serve_rss`] in [`PROCESSES`] fresh processes: the medians of their resident memory, peak
/// and start, and every reading of resident memory, in MiB, for the detail.
fn serve_rss_median(s: &Settings, n: usize) -> Result<(Resident, Vec<String>)> {
    let runs = (0..PROCESSES)
        .map(|_| serve_rss(s, n))
        .collect::<Result<Vec<_>>>()?;
    // An odd count: the median is a reading, not an average of two.
    let middle = |f: fn(&Resident) -> u64| {
        let mut v: Vec<u64> = runs.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let resident = Resident {
        rss: middle(|r| r.rss),
        peak: middle(|r| r.peak),
        start: median(&runs.iter().map(|r| r.start).collect::<Vec<_>>()),
    };
    #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    let readings = runs.iter().map(|r| mebibytes(r.rss as f64)).collect();
    Ok((resident, readings))
}

/// Runs the memory half of benchmark 4.
pub(crate) fn run_rss(s: &Settings, suite: &mut Suite) -> Result<()> {
    let sizes: &[usize] = if s.smoke {
        &[10_000]
    } else {
        // 10M: the "10M installations in one process within 12 GiB" (peak in the detail).
        &[100_000, 1_000_000, 10_000_000]
    };
    suite.method(format!(
        "Memory: `teamsapp -q mock serve --fleet N` ({} build), a separate process, started and given two seconds to settle; its resident memory (`VmRSS` in `/proc/PID/status`, the lower of two readings a second apart) minus that of the baseline `--fleet 0` (the same tenant with no chats and no installations), divided by N. Each size, the baseline too, is measured in {PROCESSES} fresh processes and each figure is their median; the detail lists every reading.",
        s.profile
    ));
    suite.method("Each installation of `demo::fleet(N)` comes with a group chat of its own (one member), so the figure is the memory the emulator holds for a chat and its installation together.");
    suite.method("The readings of one size fall on two levels: the spec a fleet is built from is freed on another thread once the model holds it, and whether mimalloc has handed that memory back to the system two seconds later depends on which threads have reclaimed the pages since, so the readings of 1M differ by hundreds of MiB from process to process. The lower level is closer to what the model holds; the median is what a user should expect.");
    if s.smoke {
        suite.note(
            "smoke: memory at 10,000 installations only (100,000, 1,000,000 and 10,000,000 skipped)",
        );
    }
    let (base, base_readings) = serve_rss_median(s, 0)?;
    suite.note(format!(
        "baseline `--fleet 0` readings: {}",
        base_readings.join(", ")
    ));
    let mut per_install = Vec::new();
    for &n in sizes {
        let (r, readings) = serve_rss_median(s, n)?;
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        let per = (r.rss.saturating_sub(base.rss)) as f64 / n as f64;
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        suite.row(
            Row::new(
                format!(
                    "`mock serve --fleet {}` resident memory",
                    thousands(n as u64)
                ),
                r.rss as f64,
                "`mock serve --fleet 0`",
                base.rss as f64,
                mebibytes,
            )
            .detail(format!(
                "{} per installation; readings {}; peak {} (baseline peak {}); ready after {:.1} s",
                bytes(per),
                readings.join(", "),
                mebibytes(r.peak as f64),
                mebibytes(base.peak as f64),
                r.start
            )),
        );
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        suite.row(Row::new(
            format!("`mock serve --fleet {}` ready", thousands(n as u64)),
            r.start * 1000.0,
            "`mock serve --fleet 0` ready",
            base.start * 1000.0,
            millis,
        ));
        per_install.push((n, per));
    }
    if let [(n0, p0), rest @ ..] = per_install.as_slice() {
        for (n, p) in rest {
            suite.row(Row::new(
                format!("memory per installation at {}", thousands(*n as u64)),
                *p,
                format!("memory per installation at {}", thousands(*n0 as u64)),
                *p0,
                bytes,
            ));
        }
    }
    Ok(())
}

/// The model's cost of one upgrade call at one tenant size.
#[derive(Debug, Clone, Copy)]
struct Cost {
    build: f64,
    upgrade_ns: f64,
    upgrade_mean_ns: f64,
    current_ns: f64,
    current_mean_ns: f64,
}

/// Installations sampled, spread evenly over the tenant.
const SAMPLE: usize = 1_000;

fn model_cost(n: usize, rounds: usize) -> Result<Cost> {
    let t0 = Instant::now();
    let mut world = World::new(WorldConfig::default());
    world
        .load_tenant(demo::fleet(n))
        .map_err(|e| anyhow!("loading fleet({n}): {e}"))?;
    let build = t0.elapsed().as_secs_f64();
    let caller = Caller::application(
        demo::CREDENTIALS.tenant_id,
        demo::CREDENTIALS.client_id,
        demo::FLEET_PERMISSIONS.iter().copied(),
    );
    // Scopes built before timing, so the timed call is the model's alone.
    let sample: Vec<(Scope, AppInstallationId)> = (0..SAMPLE)
        .map(|k| {
            let (chat, id) = fleet_target(k * n / SAMPLE);
            (Scope::Chat(chat), id)
        })
        .collect();
    let body = UpgradePostRequestBody::default();
    let query = Query::new();
    let now = time::OffsetDateTime::now_utc();
    // One call, timed on its own; the flag says whether the installation was already current.
    let mut upgrade = |chat: &Scope, id: &AppInstallationId| -> Result<(f64, bool)> {
        let t0 = Instant::now();
        let outcome = world.upgrade_app(&caller, chat, id, &body, &query, now);
        let ns = t0.elapsed().as_secs_f64() * 1e9;
        let outcome = outcome.map_err(|e| anyhow!("upgrading {id}: {e}"))?;
        Ok((ns, std::hint::black_box(outcome).value.already_current))
    };
    // Warm-up: the even half of the sample, upgraded for real and then once more (current).
    for (chat, id) in sample.iter().step_by(2) {
        upgrade(chat, id)?;
        upgrade(chat, id)?;
    }
    // Real upgrades, 1.0.0 to 1.1.0: the odd half.
    let mut first = Vec::with_capacity(SAMPLE / 2);
    for (chat, id) in sample.iter().skip(1).step_by(2) {
        let (ns, current) = upgrade(chat, id)?;
        if current {
            bail!("{id} was already current before its first upgrade");
        }
        first.push(ns);
    }
    // Already current (Graph answers 204 again): the whole sample, `rounds` times.
    let mut again = Vec::with_capacity(SAMPLE * rounds);
    for _ in 0..rounds {
        for (chat, id) in &sample {
            again.push(upgrade(chat, id)?.0);
        }
    }
    drop(world);
    Ok(Cost {
        build,
        upgrade_ns: median(&first),
        upgrade_mean_ns: mean(&first),
        current_ns: median(&again),
        current_mean_ns: mean(&again),
    })
}

/// Fresh worlds measured per size; each figure is the median of their figures.
const REPEATS: usize = 5;

/// [`model_cost`] on [`REPEATS`] fresh worlds of each size, each figure the median of theirs
/// (one world's 500 first upgrades are too few to stand alone). The sizes take turns, one world
/// of each per round, so a slow spell of the machine (seconds long on a shared host) falls on
/// every size alike instead of on whichever was being measured.
fn repeated_costs(sizes: &[usize], rounds: usize) -> Result<Vec<Cost>> {
    let mut all: Vec<Vec<Cost>> = sizes.iter().map(|_| Vec::new()).collect();
    for _ in 0..REPEATS {
        for (&n, costs) in sizes.iter().zip(&mut all) {
            costs.push(model_cost(n, rounds).with_context(|| format!("fleet({n})"))?);
        }
    }
    Ok(all
        .iter()
        .map(|costs| {
            let pick = |f: fn(&Cost) -> f64| median(&costs.iter().map(f).collect::<Vec<_>>());
            Cost {
                build: pick(|c| c.build),
                upgrade_ns: pick(|c| c.upgrade_ns),
                upgrade_mean_ns: pick(|c| c.upgrade_mean_ns),
                current_ns: pick(|c| c.current_ns),
                current_mean_ns: pick(|c| c.current_mean_ns),
            }
        })
        .collect())
}

#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Runs the model half of benchmark 4.
pub(crate) fn run_model(s: &Settings, suite: &mut Suite) -> Result<()> {
    let (sizes, rounds): (&[usize], usize) = if s.smoke {
        (&[1_000, 10_000], 10)
    } else {
        (&[1_000, 10_000, 100_000, 1_000_000], 200)
    };
    suite.method(format!(
        "Model: `World::upgrade_app` in a chat called directly ({} build, one thread, no HTTP) on a `World` loaded with `demo::fleet(N)`, on {} installations spread evenly over the tenant. Every call is timed on its own and the figure is the median call (the mean is in the detail). After a warm-up on every other one of them, \"upgrade\" moves the other {} from 1.0.0 to 1.1.0, and \"already current\" is {rounds} more rounds over all {}, now current (answered `204`, as Graph does); each is compared with its figure at 1,000 installations. Each size is measured on {REPEATS} fresh worlds, the sizes taking turns (one world of each per round, so a slow spell of a shared machine falls on all sizes alike), and each figure is the median of their figures, after one unmeasured pass at the smallest size.",
        s.profile,
        thousands(SAMPLE as u64),
        SAMPLE / 2,
        thousands(SAMPLE as u64),
    ));
    if s.smoke {
        suite.note("smoke: model cost at 1,000 and 10,000 installations only");
    }
    // One unmeasured pass first: the first size measured would otherwise also pay for a cold
    // process (page faults, an allocator still growing its pools) and flatter every ratio.
    model_cost(sizes[0], rounds).context("warm-up")?;
    let mut base: Option<Cost> = None;
    let mut growth = Vec::new();
    for (&n, cost) in sizes.iter().zip(repeated_costs(sizes, rounds)?) {
        let Some(b) = base else {
            suite.note(format!(
                "model baseline, {} installations: upgrade {} (mean {}), already current {} (mean {}) per call; tenant built and loaded in {:.2} s",
                thousands(n as u64),
                nanos(cost.upgrade_ns),
                nanos(cost.upgrade_mean_ns),
                nanos(cost.current_ns),
                nanos(cost.current_mean_ns),
                cost.build
            ));
            base = Some(cost);
            continue;
        };
        let (b_up, b_cur) = (b.upgrade_ns, b.current_ns);
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        let size_ratio = n as f64 / sizes[0] as f64;
        growth.push(format!(
            "{}: {:.2} (upgrade), {:.2} (already current)",
            thousands(n as u64),
            (cost.upgrade_ns / b_up).ln() / size_ratio.ln(),
            (cost.current_ns / b_cur).ln() / size_ratio.ln()
        ));
        suite.row(
            Row::new(
                format!(
                    "`upgrade_app` (chat) at {} installations, upgrade",
                    thousands(n as u64)
                ),
                cost.upgrade_ns,
                "at 1,000 installations",
                b_up,
                nanos,
            )
            .detail(format!(
                "mean {} vs {}; tenant built and loaded in {:.2} s",
                nanos(cost.upgrade_mean_ns),
                nanos(b.upgrade_mean_ns),
                cost.build
            )),
        );
        suite.row(
            Row::new(
                format!(
                    "`upgrade_app` (chat) at {} installations, already current",
                    thousands(n as u64)
                ),
                cost.current_ns,
                "at 1,000 installations",
                b_cur,
                nanos,
            )
            .detail(format!(
                "mean {} vs {}",
                nanos(cost.current_mean_ns),
                nanos(b.current_mean_ns)
            )),
        );
    }
    if !growth.is_empty() {
        suite.note(format!(
            "growth exponent k in cost ∝ N^k against 1,000 installations (k = 1 would be a cost linear in the tenant's size, k = 0 none): {}",
            growth.join("; ")
        ));
    }
    Ok(())
}
