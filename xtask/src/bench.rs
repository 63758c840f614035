//! `cargo xtask bench [--smoke] [--only SUITES] [--no-install]`: builds the `teamsapp` binary and
//! the `teamsapp-bench` measurements, finds or installs the tools and peers they use, runs them,
//! prints every ratio and rewrites `BENCHMARKS.md`.
//!
//! The measuring happens in `benches/` (package `teamsapp-bench`); this module only orchestrates
//! with the standard library, so xtask stays free of tokio, reqwest and axum:
//!
//! 1. `cargo build --locked -p teamsapp-cli --no-default-features` (kept aside as
//!    `teamsapp-no-emulator`), then `cargo build --locked -p teamsapp-cli -p teamsapp-bench`, with
//!    `--release` for a full run
//!    (the smoke uses the debug build CI already has);
//! 2. `wrk` and `hyperfine` from `PATH`, else (full run only) `apt-get install -y wrk hyperfine`;
//!    without `wrk` the load comes from an in-process reqwest loop, without `hyperfine` start-up is
//!    timed in-process;
//! 3. the peers, `WireMock` (npm `wiremock`, which ships its jar; needs `java`) and Prism (npm
//!    `@stoplight/prism-cli`), `npm install`ed into `target/bench-peers/` (full run only; the smoke
//!    uses them when they are already there); a peer that cannot be installed is skipped with the
//!    reason, never failing the run;
//! 4. `teamsapp-bench`, which writes `target/bench/results.json` (smoke: `smoke-results.json`);
//! 5. the ratios on stdout, and `BENCHMARKS.md` rewritten from the results (a full run of every
//!    suite only; other runs write `target/bench/BENCHMARKS-<mode>.md`).
//!
//! It fails when a suite could not run or a correctness check failed, never because of a speed.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "xtask reports to the developer"
)]

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `WireMock` npm package, pinned so reruns compare like with like.
const WIREMOCK_PACKAGE: &str = "wiremock@3.13.2";
/// The Prism npm package, pinned likewise.
const PRISM_PACKAGE: &str = "@stoplight/prism-cli@5.14.2";
/// The suites `teamsapp-bench` knows.
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

/// Options of `cargo xtask bench`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Short runs on the debug build that prove every benchmark works (CI).
    pub(crate) smoke: bool,
    /// Run only these suites.
    pub(crate) only: Vec<String>,
    /// Install nothing (no apt-get, no npm).
    pub(crate) no_install: bool,
}

impl Options {
    /// Parses the arguments after `bench`.
    pub(crate) fn parse(args: &[&str]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--smoke" => options.smoke = true,
                "--no-install" => options.no_install = true,
                "--only" => {
                    let list = args.next().context("--only needs a list of suites")?;
                    for suite in list.split(',').filter(|s| !s.is_empty()) {
                        if !SUITES.contains(&suite) {
                            bail!("unknown suite {suite:?}; the suites: {}", SUITES.join(", "));
                        }
                        options.only.push(suite.to_owned());
                    }
                }
                other => bail!("unknown option {other:?}"),
            }
        }
        Ok(options)
    }
}

/// A tool found (or not), with the reason when it is not usable.
#[derive(Debug, Default)]
struct Tools {
    wrk: Option<PathBuf>,
    hyperfine: Option<PathBuf>,
    java: Option<PathBuf>,
    wiremock_jar: Option<(PathBuf, String)>,
    prism: Option<(PathBuf, String)>,
    peer_notes: Vec<String>,
}

/// Runs `cargo xtask bench`.
pub(crate) fn run(options: &Options) -> Result<String> {
    let started = Instant::now();
    let root = crate::project_root();
    let target = target_dir(&root);
    let bench_dir = target.join("bench");
    std::fs::create_dir_all(&bench_dir)?;
    let profile = if options.smoke { "debug" } else { "release" };
    let mode = if options.smoke { "smoke" } else { "full" };

    println!("--- build ({profile})");
    let t0 = Instant::now();
    let bin_dir = target.join(profile);
    // First the CLI without its emulator feature, kept aside for the size comparison (the
    // full build below overwrites `teamsapp`).
    let mut lean = Command::new(cargo());
    lean.current_dir(&root).args([
        "build",
        "--locked",
        "-p",
        "teamsapp-cli",
        "--no-default-features",
    ]);
    if !options.smoke {
        lean.arg("--release");
    }
    let status = lean.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --no-default-features failed ({status})");
    }
    let lean_bin = bench_dir.join("teamsapp-no-emulator");
    std::fs::copy(bin_dir.join("teamsapp"), &lean_bin)
        .with_context(|| format!("copying the lean CLI to {}", lean_bin.display()))?;
    let mut build = Command::new(cargo());
    build.current_dir(&root).args([
        "build",
        "--locked",
        "-p",
        "teamsapp-cli",
        "-p",
        "teamsapp-bench",
    ]);
    if !options.smoke {
        build.arg("--release");
    }
    let status = build.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    let build_seconds = t0.elapsed().as_secs_f64();

    println!("--- tools");
    let tools = find_tools(options, &root, &target, &bench_dir);
    for line in describe_tools(&tools) {
        println!("{line}");
    }

    println!("--- measure");
    let out = bench_dir.join(if options.smoke {
        "smoke-results.json"
    } else {
        "results.json"
    });
    let mut cmd = Command::new(bin_dir.join("teamsapp-bench"));
    cmd.current_dir(&root)
        .arg("--profile")
        .arg(profile)
        .arg("--teamsapp")
        .arg(bin_dir.join("teamsapp"))
        .arg("--bare-axum")
        .arg(bin_dir.join("bench-bare-axum"))
        .arg("--teamsapp-no-emulator")
        .arg(&lean_bin)
        .arg("--work")
        .arg(bench_dir.join(format!("{mode}-work")))
        .arg("--out")
        .arg(&out);
    if options.smoke {
        cmd.arg("--smoke");
    }
    if !options.only.is_empty() {
        cmd.arg("--only").arg(options.only.join(","));
    }
    if let Some(p) = &tools.wrk {
        cmd.arg("--wrk").arg(p);
    }
    if let Some(p) = &tools.hyperfine {
        cmd.arg("--hyperfine").arg(p);
    }
    if let Some(p) = &tools.java {
        cmd.arg("--java").arg(p);
    }
    if let Some((jar, version)) = &tools.wiremock_jar {
        cmd.arg("--wiremock-jar")
            .arg(jar)
            .arg("--wiremock-version")
            .arg(version);
    }
    if let Some((prism, version)) = &tools.prism {
        cmd.arg("--prism")
            .arg(prism)
            .arg("--prism-version")
            .arg(version);
    }
    for note in &tools.peer_notes {
        cmd.arg("--peer-note").arg(note);
    }
    let _ = std::fs::remove_file(&out);
    let status = cmd.status().context("running teamsapp-bench")?;
    let text = std::fs::read_to_string(&out).with_context(|| {
        format!(
            "teamsapp-bench ({status}) wrote no results to {}",
            out.display()
        )
    })?;
    let results: Value = serde_json::from_str(&text).context("reading the results")?;
    let total = started.elapsed().as_secs_f64();

    println!("--- ratios");
    print!("{}", ratios_text(&results));

    let full = !options.smoke && options.only.is_empty();
    let doc = render(&results, options, build_seconds, total);
    let written = if full {
        root.join("BENCHMARKS.md")
    } else {
        bench_dir.join(format!("BENCHMARKS-{mode}.md"))
    };
    std::fs::write(&written, doc).with_context(|| format!("writing {}", written.display()))?;

    let ok = results["ok"].as_bool().unwrap_or(false) && status.success();
    let summary = format!(
        "{} {} in {:.0} s (build {:.0} s); wrote {}",
        if options.smoke {
            "bench smoke"
        } else {
            "bench"
        },
        if ok { "finished" } else { "FAILED" },
        total,
        build_seconds,
        written.strip_prefix(&root).unwrap_or(&written).display()
    );
    if !ok {
        bail!("{summary}: a suite failed or a correctness check did not hold (see above)");
    }
    Ok(summary)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// `CARGO_TARGET_DIR`, else `target/` under the root.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || root.join("target"),
        |dir| {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        },
    )
}

/// The first `name` on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `cmd` with its output in `log`, killing it after `timeout`.
fn run_logged(mut cmd: Command, log: &Path, timeout: Duration) -> Result<bool> {
    let file = std::fs::File::create(log)?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    let mut child = cmd.spawn()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {timeout:?} (log: {})", log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn find_tools(options: &Options, root: &Path, target: &Path, bench_dir: &Path) -> Tools {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let install = !options.smoke && !options.no_install;
    let mut tools = Tools {
        wrk: which("wrk"),
        hyperfine: which("hyperfine"),
        java: which("java"),
        ..Tools::default()
    };
    if install && (tools.wrk.is_none() || tools.hyperfine.is_none()) {
        if let Err(e) = apt_install(bench_dir) {
            println!("apt-get install wrk hyperfine failed: {e:#}");
        }
        tools.wrk = which("wrk");
        tools.hyperfine = which("hyperfine");
    }

    let peers = target.join("bench-peers");
    let wiremock_dir = peers.join("wiremock");
    let prism_dir = peers.join("prism");
    let wanted = |suite: &str| options.only.is_empty() || options.only.iter().any(|o| o == suite);
    if !wanted("throughput") {
        return tools;
    }
    let npm = which("npm");
    for (dir, package) in [
        (&wiremock_dir, WIREMOCK_PACKAGE),
        (&prism_dir, PRISM_PACKAGE),
    ] {
        let name = if package == WIREMOCK_PACKAGE {
            "WireMock"
        } else {
            "Prism"
        };
        let installed = dir.join("node_modules").is_dir();
        if installed || !install {
            if !installed {
                tools.peer_notes.push(format!(
                    "{name} skipped: not installed in `{}` (the smoke installs nothing; a full `cargo xtask bench` installs it)",
                    rel(dir)
                ));
            }
            continue;
        }
        let Some(npm) = &npm else {
            tools
                .peer_notes
                .push(format!("{name} skipped: npm is not installed"));
            continue;
        };
        println!("npm install {package} into {}", dir.display());
        let _ = std::fs::create_dir_all(dir);
        let mut cmd = Command::new(npm);
        cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .arg(package);
        match run_logged(cmd, &dir.join("npm-install.log"), Duration::from_mins(5)) {
            Ok(true) => {}
            Ok(false) => {
                let _ = std::fs::remove_dir_all(dir.join("node_modules"));
                tools.peer_notes.push(format!(
                    "{name} skipped: `npm install {package}` failed (log: `{}`)",
                    rel(&dir.join("npm-install.log"))
                ));
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(dir.join("node_modules"));
                tools
                    .peer_notes
                    .push(format!("{name} skipped: `npm install {package}`: {e:#}"));
            }
        }
    }

    let wiremock_pkg = wiremock_dir.join("node_modules/wiremock");
    if wiremock_pkg.is_dir() {
        let jar = std::fs::read_dir(wiremock_pkg.join("build"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("wiremock-standalone")
                        && Path::new(n)
                            .extension()
                            .is_some_and(|e| e.eq_ignore_ascii_case("jar"))
                })
            });
        match (jar, &tools.java) {
            (Some(jar), Some(_)) => {
                tools.wiremock_jar = Some((jar, package_version(&wiremock_pkg)));
            }
            (None, _) => tools.peer_notes.push(format!(
                "WireMock skipped: no wiremock-standalone jar in `{}`",
                rel(&wiremock_pkg.join("build"))
            )),
            (_, None) => tools
                .peer_notes
                .push("WireMock skipped: java is not installed".to_owned()),
        }
    }
    let prism_pkg = prism_dir.join("node_modules/@stoplight/prism-cli");
    let prism_bin = prism_dir.join("node_modules/.bin/prism");
    if prism_pkg.is_dir() {
        if prism_bin.exists() {
            tools.prism = Some((prism_bin, package_version(&prism_pkg)));
        } else {
            tools.peer_notes.push(format!(
                "Prism skipped: no `{}` after npm install",
                rel(&prism_bin)
            ));
        }
    }
    tools
}

/// `apt-get install -y wrk hyperfine`, with `apt-get update` first if the first try fails.
fn apt_install(bench_dir: &Path) -> Result<()> {
    let Some(apt) = which("apt-get") else {
        bail!("apt-get is not available");
    };
    let install = || {
        let mut cmd = Command::new(&apt);
        cmd.args(["install", "-y", "-q", "wrk", "hyperfine"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_logged(
            cmd,
            &bench_dir.join("apt-install.log"),
            Duration::from_mins(5),
        )
    };
    println!("apt-get install -y wrk hyperfine");
    if install()? {
        return Ok(());
    }
    println!("apt-get update");
    let mut update = Command::new(&apt);
    update.args(["update", "-q"]);
    run_logged(
        update,
        &bench_dir.join("apt-update.log"),
        Duration::from_mins(5),
    )?;
    if install()? {
        Ok(())
    } else {
        bail!("see {}", bench_dir.join("apt-install.log").display())
    }
}

/// The `version` of an npm package's `package.json`.
fn package_version(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown version".to_owned())
}

fn describe_tools(tools: &Tools) -> Vec<String> {
    let show = |p: &Option<PathBuf>, missing: &str| {
        p.as_ref()
            .map_or_else(|| missing.to_owned(), |p| p.display().to_string())
    };
    let mut lines = vec![
        format!(
            "wrk: {}",
            show(&tools.wrk, "not found: in-process reqwest load instead")
        ),
        format!(
            "hyperfine: {}",
            show(&tools.hyperfine, "not found: start-up timed in-process")
        ),
        format!("java: {}", show(&tools.java, "not found")),
    ];
    if let Some((jar, v)) = &tools.wiremock_jar {
        lines.push(format!("WireMock {v}: {}", jar.display()));
    }
    if let Some((bin, v)) = &tools.prism {
        lines.push(format!("Prism {v}: {}", bin.display()));
    }
    lines.extend(tools.peer_notes.iter().cloned());
    lines
}

fn suites(results: &Value) -> &[Value] {
    results["suites"].as_array().map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// `0.123×`, three significant digits.
fn ratio_text(ratio: &Value) -> String {
    match ratio.as_f64() {
        Some(r) if r.is_finite() && r != 0.0 => {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "the magnitude of an f64 fits an i32"
            )]
            let magnitude = r.abs().log10().floor() as i32;
            let decimals = usize::try_from((2 - magnitude).max(0)).unwrap_or(0);
            format!("{r:.decimals$}×")
        }
        Some(0.0) => "0×".to_owned(),
        _ => "n/a".to_owned(),
    }
}

/// Every ratio, one line each, then the checks, errors and notes.
fn ratios_text(results: &Value) -> String {
    let mut out = String::new();
    for suite in suites(results) {
        let _ = writeln!(out, "{}", text(suite, "title"));
        for row in suite["rows"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {:>9}  {}: {} vs {}: {}",
                ratio_text(&row["ratio"]),
                text(row, "figure"),
                text(row, "valueText"),
                text(row, "baseline"),
                text(row, "baselineText"),
            );
        }
        for check in suite["checks"].as_array().into_iter().flatten() {
            let ok = check["ok"].as_bool().unwrap_or(false);
            let _ = writeln!(
                out,
                "  check {}: {}",
                text(check, "name"),
                if ok { "ok" } else { "FAILED" }
            );
        }
        if let Some(e) = suite["error"].as_str() {
            let _ = writeln!(out, "  ERROR: {e}");
        }
    }
    out
}

/// `text` as a sentence: a capital first and a period last.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Escapes `|` for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `BENCHMARKS.md`.
fn render(results: &Value, options: &Options, build_seconds: f64, total: f64) -> String {
    let machine = &results["machine"];
    let tools = &results["tools"];
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "<!-- Written by `cargo xtask bench` from target/bench/results.json; do not edit by hand. -->\n"
    );
    let _ = writeln!(
        md,
        "What the emulator, the client and the `teamsapp` binary cost, each figure measured against a baseline in the same run on the same machine, and given as a ratio to it."
    );
    let _ = writeln!(
        md,
        "All load went to 127.0.0.1, and every run was bounded in time and count."
    );
    let _ = writeln!(
        md,
        "These are measurements, not timed tests: nothing fails on a speed, only on a correctness check (every answer `204`, no fleet target lost or repeated)."
    );
    let _ = writeln!(
        md,
        "Absolute figures belong to this machine; the ratios are what carries over.\n"
    );
    let _ = writeln!(md, "## Reproduce\n");
    let _ = writeln!(md, "```sh");
    let _ = writeln!(
        md,
        "cargo xtask bench           # release build, every suite (about {:.0} min here); rewrites this file",
        (total / 60.0).ceil()
    );
    let _ = writeln!(
        md,
        "cargo xtask bench --smoke   # debug build, short runs that prove every benchmark works (CI)"
    );
    let _ = writeln!(
        md,
        "cargo xtask bench --only throughput,client   # some suites; writes target/bench/BENCHMARKS-full.md"
    );
    let _ = writeln!(md, "```\n");
    let _ = writeln!(
        md,
        "A full run installs `wrk` and `hyperfine` with `apt-get` when they are missing, and the peers with `npm install {WIREMOCK_PACKAGE}` and `npm install {PRISM_PACKAGE}` into `target/bench-peers/` (`--no-install` installs nothing); a peer that cannot be installed or started is skipped with the reason."
    );
    let _ = writeln!(
        md,
        "The measurements are the `teamsapp-bench` binary in `benches/`; raw results go to `target/bench/results.json`.\n"
    );

    let _ = writeln!(md, "## Machine and run\n");
    let _ = writeln!(md, "| | |\n| --- | --- |");
    let cpu = text(machine, "cpu");
    let _ = writeln!(
        md,
        "| cores (`nproc`) | {} |",
        machine["nproc"].as_u64().unwrap_or(0)
    );
    let _ = writeln!(md, "| CPU (`/proc/cpuinfo`) | {} |", cell(cpu));
    if let Some(gib) = machine["memoryGiB"].as_f64() {
        let _ = writeln!(md, "| memory | {gib} GiB |");
    }
    let _ = writeln!(
        md,
        "| OS | {}, Linux {} |",
        cell(text(machine, "os")),
        cell(text(machine, "kernel"))
    );
    let _ = writeln!(md, "| rustc | {} |", cell(text(machine, "rustc")));
    let tool = |name: &str| {
        tools[name]
            .as_str()
            .map_or_else(|| "not used".to_owned(), cell)
    };
    let _ = writeln!(md, "| load generator | {} |", tool("wrk"));
    let _ = writeln!(md, "| hyperfine | {} |", tool("hyperfine"));
    let _ = writeln!(md, "| Java (WireMock) | {} |", tool("java"));
    let _ = writeln!(md, "| WireMock (npm `wiremock`) | {} |", tool("wiremock"));
    let _ = writeln!(
        md,
        "| Prism (npm `@stoplight/prism-cli`) | {} |",
        tool("prism")
    );
    let others: Vec<String> = suites(results)
        .iter()
        .filter_map(|s| {
            let share = s["othersCpu"].as_f64()?;
            Some(format!("{} {:.0} %", text(s, "id"), share * 100.0))
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            md,
            "| CPU used by other processes meanwhile | {} |",
            others.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "| run | {}, {} build{}; build {:.0} s, measurements {:.0} s, whole command {:.0} s |\n",
        text(results, "startedAt"),
        text(results, "profile"),
        if options.smoke { ", smoke" } else { "" },
        build_seconds,
        results["seconds"].as_f64().unwrap_or(0.0),
        total
    );

    let _ = writeln!(md, "## Summary\n");
    let _ = writeln!(md, "| figure | value | baseline | baseline value | ratio |");
    let _ = writeln!(md, "| --- | ---: | --- | ---: | ---: |");
    for suite in suites(results) {
        for row in suite["rows"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | **{}** |",
                cell(text(row, "figure")),
                cell(text(row, "valueText")),
                cell(text(row, "baseline")),
                cell(text(row, "baselineText")),
                ratio_text(&row["ratio"])
            );
        }
    }
    md.push('\n');

    for suite in suites(results) {
        let _ = writeln!(md, "## {}\n", text(suite, "title"));
        for m in suite["method"].as_array().into_iter().flatten() {
            let _ = writeln!(md, "- {}", m.as_str().unwrap_or_default());
        }
        md.push('\n');
        let rows = suite["rows"].as_array().map_or(&[][..], Vec::as_slice);
        if !rows.is_empty() {
            let _ = writeln!(md, "| figure | value | baseline | ratio | detail |");
            let _ = writeln!(md, "| --- | ---: | --- | ---: | --- |");
            for row in rows {
                let _ = writeln!(
                    md,
                    "| {} | {} | {}: {} | **{}** | {} |",
                    cell(text(row, "figure")),
                    cell(text(row, "valueText")),
                    cell(text(row, "baseline")),
                    cell(text(row, "baselineText")),
                    ratio_text(&row["ratio"]),
                    cell(text(row, "detail"))
                );
            }
            md.push('\n');
        }
        for table in suite["tables"].as_array().into_iter().flatten() {
            render_table(&mut md, table);
        }
        let checks = suite["checks"].as_array().map_or(&[][..], Vec::as_slice);
        if !checks.is_empty() {
            let _ = writeln!(md, "Checks:\n");
            for c in checks {
                let ok = c["ok"].as_bool().unwrap_or(false);
                let _ = writeln!(
                    md,
                    "- {} {}: {}.",
                    if ok { "✅" } else { "❌" },
                    text(c, "name"),
                    text(c, "detail")
                );
            }
            md.push('\n');
        }
        let notes = suite["notes"].as_array().map_or(&[][..], Vec::as_slice);
        if !notes.is_empty() {
            let _ = writeln!(md, "Notes:\n");
            for n in notes {
                let _ = writeln!(md, "- {}", sentence(n.as_str().unwrap_or_default()));
            }
            md.push('\n');
        }
        if let Some(e) = suite["error"].as_str() {
            let _ = writeln!(md, "**The suite did not finish:** {}\n", cell(e));
        }
        let _ = writeln!(
            md,
            "_Suite time: {:.0} s._\n",
            suite["seconds"].as_f64().unwrap_or(0.0)
        );
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

/// A suite's table of numbers (`{"title", "header": [..], "rows": [[..]]}`): its title as a
/// sentence, then the table, every column right-aligned.
fn render_table(md: &mut String, table: &Value) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|c| cell(c.as_str().unwrap_or_default()))
            .collect()
    };
    let header = strings(&table["header"]);
    let _ = writeln!(md, "{}\n", sentence(text(table, "title")));
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", " ---: |".repeat(header.len()));
    for row in table["rows"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "| {} |", strings(row).join(" | "));
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        let o = Options::parse(&["--smoke", "--only", "client,model"]).unwrap();
        assert!(o.smoke);
        assert_eq!(o.only, ["client", "model"]);
        assert!(Options::parse(&["--only", "nope"]).is_err());
        assert!(Options::parse(&["--fast"]).is_err());
    }

    #[test]
    fn ratios_have_three_significant_digits() {
        assert_eq!(ratio_text(&serde_json::json!(0.123_456)), "0.123×");
        assert_eq!(ratio_text(&serde_json::json!(1.0)), "1.00×");
        assert_eq!(ratio_text(&serde_json::json!(12.345)), "12.3×");
        assert_eq!(ratio_text(&serde_json::json!(null)), "n/a");
    }

    #[test]
    fn renders_a_report() {
        let results = serde_json::json!({
            "mode": "smoke", "profile": "debug", "startedAt": "2026-01-01T00:00:00Z", "seconds": 1.0,
            "machine": {"nproc": 2, "cpu": "CPU", "memoryGiB": 1.0, "kernel": "6", "os": "Linux", "rustc": "rustc 1.95.0"},
            "tools": {"wrk": null},
            "suites": [{
                "id": "client", "title": "2. Client", "method": ["How."],
                "rows": [{"figure": "f", "value": 1.0, "valueText": "1 x", "baseline": "b", "baselineValue": 2.0,
                          "baselineText": "2 x", "ratio": 0.5, "detail": "d|e"}],
                "tables": [{"title": "w warm-up: plateaued", "header": ["run", "req/s"],
                            "rows": [["1", "10"], ["2", "10"]]}],
                "checks": [{"name": "c", "ok": true, "detail": "fine"}],
                "notes": ["n"], "error": null, "seconds": 1.0
            }],
            "ok": true
        });
        let md = render(&results, &Options::default(), 1.0, 2.0);
        assert!(md.contains("| f | 1 x | b | 2 x | **0.500×** |"), "{md}");
        assert!(md.contains("d\\|e"), "{md}");
        assert!(md.contains("- ✅ c: fine."), "{md}");
        assert!(
            md.contains(
                "W warm-up: plateaued.\n\n| run | req/s |\n| ---: | ---: |\n| 1 | 10 |\n| 2 | 10 |\n"
            ),
            "{md}"
        );
        assert!(md.contains("- N."), "{md}");
        assert_eq!(sentence("the end."), "The end.");
        assert!(ratios_text(&results).contains("0.500×  f: 1 x vs b: 2 x"));
    }
}
