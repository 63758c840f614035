//! `teamsapp-bench`: the measurements behind `cargo xtask bench`.
//!
//! Every figure is a ratio against a baseline measured in the same run on the same machine; all
//! load stays on 127.0.0.1, and every run is bounded in time and count. The results go to a JSON
//! file that `cargo xtask bench` prints and lays out in `BENCHMARKS.md`. Nothing here asserts a
//! speed: the only checks that fail a run are correctness checks (every answer `204`, no fleet
//! target lost or repeated).
//!
//! Run it through `cargo xtask bench [--smoke]`, which builds it, installs the tools and peers it
//! can, and passes their paths; `teamsapp-bench --help` lists the options for running it by hand.

mod client;
mod fixtures;
mod fleet;
mod load;
mod memory;
mod procs;
mod report;
mod soak;
mod stack;
mod startup;
mod tenants;
mod throughput;
mod warmup;

use anyhow::{Context as _, Result};
use clap::Parser;
use report::{Suite, ratio_text};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The allocator the `teamsapp` binary runs with, so the in-process emulator is measured as users
/// run it (the baselines share it: one process, one allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The suites, in the order they run.
const SUITES: &[&str] = &[
    "throughput",
    "stack",
    "client",
    "fleet",
    "tenants",
    "memory",
    "model",
    "startup",
    "soak",
];

/// Measure the emulator, the client, fleet upgrades, memory and start-up against baselines.
#[derive(Debug, Parser)]
#[command(name = "teamsapp-bench")]
struct Args {
    /// Short runs that only prove every benchmark works (CI).
    #[arg(long)]
    smoke: bool,
    /// Run only these suites: throughput, stack, client, fleet, tenants, memory, model, startup, soak.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The `teamsapp` binary (default: next to this one).
    #[arg(long)]
    teamsapp: Option<PathBuf>,
    /// The `bench-bare-axum` binary (default: next to this one).
    #[arg(long)]
    bare_axum: Option<PathBuf>,
    /// The `teamsapp` binary built without its `emulator` feature, for the size comparison.
    #[arg(long)]
    teamsapp_no_emulator: Option<PathBuf>,
    /// The cargo profile the binaries were built with, for the report.
    #[arg(long, default_value = "release")]
    profile: String,
    /// Scratch directory for scripts, logs and journals.
    #[arg(long, default_value = "target/bench/work")]
    work: PathBuf,
    /// Where to write the results (JSON).
    #[arg(long, default_value = "target/bench/results.json")]
    out: PathBuf,
    /// The `wrk` load generator; without it an in-process reqwest loop generates the load.
    #[arg(long)]
    wrk: Option<PathBuf>,
    /// `hyperfine`; without it start-up is timed in-process.
    #[arg(long)]
    hyperfine: Option<PathBuf>,
    /// `java`, to run `WireMock`.
    #[arg(long)]
    java: Option<PathBuf>,
    /// The standalone jar of `WireMock`; `WireMock` is skipped without it.
    #[arg(long)]
    wiremock_jar: Option<PathBuf>,
    /// The version of `WireMock`, for the report.
    #[arg(long)]
    wiremock_version: Option<String>,
    /// Prism's `prism` command; Prism is skipped without it.
    #[arg(long)]
    prism: Option<PathBuf>,
    /// Prism's version, for the report.
    #[arg(long)]
    prism_version: Option<String>,
    /// A note for the throughput suite (why a peer is missing); repeatable.
    #[arg(long)]
    peer_note: Vec<String>,
}

/// A suite's entry point.
type SuiteFn = fn(&Settings, &mut Suite) -> Result<()>;

/// What every suite gets.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) smoke: bool,
    pub(crate) profile: String,
    pub(crate) work: PathBuf,
    pub(crate) teamsapp: PathBuf,
    pub(crate) bare_axum: PathBuf,
    /// The CLI without its embedded emulator, when built.
    pub(crate) teamsapp_no_emulator: Option<PathBuf>,
    pub(crate) wrk: Option<PathBuf>,
    pub(crate) wrk_version: Option<String>,
    pub(crate) hyperfine: Option<PathBuf>,
    pub(crate) hyperfine_version: Option<String>,
    pub(crate) java: Option<PathBuf>,
    pub(crate) wiremock_jar: Option<PathBuf>,
    pub(crate) wiremock_version: Option<String>,
    pub(crate) prism: Option<PathBuf>,
    pub(crate) prism_version: Option<String>,
}

#[allow(clippy::print_stderr, reason = "progress and the final error")]
fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this program")?;
    Ok(exe
        .parent()
        .context("this program has no directory")?
        .join(name))
}

/// Runs the chosen suites; `Ok(false)` when a suite failed or a check did not hold.
#[allow(
    clippy::print_stderr,
    reason = "progress for the person running the bench"
)]
fn run(args: Args) -> Result<bool> {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    // `wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer`: keep the name and version.
    let wrk_version = args
        .wrk
        .as_deref()
        .and_then(|w| procs::version_line(w, &["-v"]))
        .map(|v| v.split(" Copyright").next().unwrap_or_default().to_owned());
    let hyperfine_version = args
        .hyperfine
        .as_deref()
        .and_then(|h| procs::version_line(h, &["--version"]));
    let mut settings = Settings {
        smoke: args.smoke,
        profile: args.profile.clone(),
        work: args.work.clone(),
        teamsapp: match args.teamsapp {
            Some(p) => p,
            None => sibling("teamsapp")?,
        },
        bare_axum: match args.bare_axum {
            Some(p) => p,
            None => sibling("bench-bare-axum")?,
        },
        teamsapp_no_emulator: args.teamsapp_no_emulator.clone(),
        wrk: args.wrk.clone(),
        wrk_version: wrk_version.clone(),
        hyperfine: args.hyperfine.clone(),
        hyperfine_version: hyperfine_version.clone(),
        java: args.java.clone(),
        wiremock_jar: args.wiremock_jar.clone(),
        wiremock_version: args.wiremock_version.clone(),
        prism: args.prism.clone(),
        prism_version: args.prism_version.clone(),
    };
    std::fs::create_dir_all(&settings.work)
        .with_context(|| format!("creating {}", settings.work.display()))?;
    // Absolute, because the fleet suite runs the CLI in a directory of its own.
    settings.work = std::fs::canonicalize(&settings.work)?;
    for p in [&settings.teamsapp, &settings.bare_axum] {
        if !p.is_file() {
            anyhow::bail!("{} does not exist: build it first", p.display());
        }
    }

    let mut suites = Vec::new();
    for &id in SUITES {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == id) {
            continue;
        }
        let (title, f): (&str, SuiteFn) = match id {
            "throughput" => ("1. Emulator upgrade throughput", throughput::run),
            "stack" => (
                "1b. The emulator's own cost per request, without the network",
                stack::run_stack,
            ),
            "client" => ("2. Client upgrade calls", client::run),
            "fleet" => ("3. Fleet upgrade at a known throttle limit", fleet::run),
            "tenants" => (
                "3b. One fleet upgrade over many tenants, each at its own limit",
                tenants::run,
            ),
            "memory" => ("4a. Emulator memory per installation", memory::run_rss),
            "model" => (
                "4b. Model upgrade cost as the tenant grows",
                memory::run_model,
            ),
            "soak" => ("6. A soak under 1,000 slow clients", soak::run),
            _ => ("5. Start-up and binary size", startup::run),
        };
        eprintln!("--- {title}");
        let mut suite = Suite::new(id, title);
        if id == "throughput" {
            for note in &args.peer_note {
                suite.note(note.clone());
            }
        }
        let t0 = Instant::now();
        let load = procs::load_average();
        let ticks = procs::CpuTicks::now();
        if let Err(e) = f(&settings, &mut suite) {
            eprintln!("  error: {e:#}");
            suite.error = Some(format!("{e:#}"));
        }
        suite.seconds = t0.elapsed().as_secs_f64();
        if let (Some(before), Some(after)) = (ticks, procs::CpuTicks::now()) {
            let share = after.others_share_since(before);
            suite.others_cpu = Some(share);
            suite.note(format!(
                "other processes on the machine used {:.0} % of its CPU during this suite (1-minute load average {} at its start){}",
                share * 100.0,
                load.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}")),
                if share > 0.10 {
                    ": the figures are perturbed, rerun on a quiet machine to compare"
                } else {
                    ""
                }
            ));
        }
        eprintln!("  ({:.1} s)", suite.seconds);
        suites.push(suite);
    }

    let ok = suites
        .iter()
        .all(|s| s.error.is_none() && s.checks.iter().all(|c| c.ok));
    let results = json!({
        "mode": if args.smoke { "smoke" } else { "full" },
        "profile": args.profile,
        "startedAt": started_at,
        "seconds": started.elapsed().as_secs_f64(),
        "machine": machine(),
        "tools": {
            "wrk": wrk_version,
            "hyperfine": hyperfine_version,
            "java": args.java.as_deref().and_then(|j| procs::version_line(j, &["-version"])),
            "wiremock": args.wiremock_version,
            "prism": args.prism_version,
        },
        "suites": suites,
        "ok": ok,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("--- summary");
    for suite in &suites {
        for row in &suite.rows {
            eprintln!(
                "  {}: {} vs {} {}: {}",
                row.figure,
                row.value_text,
                row.baseline,
                row.baseline_text,
                ratio_text(row.ratio)
            );
        }
    }
    eprintln!("results: {}", args.out.display());
    Ok(ok)
}

/// The machine, for the report.
fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned());
    let memory_kib: Option<u64> = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned());
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        "cpu": cpu,
        "memoryGiB": memory_kib
            .and_then(|k| u32::try_from(k / 1024 / 102).ok())
            .map(|tenths| f64::from(tenths) / 10.0),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "os": os,
        "rustc": procs::version_line(Path::new("rustc"), &["-V"]),
    })
}
