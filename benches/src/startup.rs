//! Benchmark 5: `teamsapp --help` start-up against `true`, and the binary's size against the bare
//! axum server's.

use crate::Settings;
use crate::procs;
use crate::report::{Row, Suite, mebibytes, median, millis};
use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs benchmark 5.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    let runs = if s.smoke { 10 } else { 200 };
    let truth = which("true").context("finding `true` on PATH")?;
    let help = format!("{} --help", s.teamsapp.display());
    let (teamsapp_ms, true_ms, how) = if let Some(hyperfine) = &s.hyperfine {
        let json = s.work.join("startup-hyperfine.json");
        let mut cmd = Command::new(hyperfine);
        cmd.args(["-N", "--style", "none", "--warmup", "5"])
            .args(["--runs", &runs.to_string(), "--export-json"])
            .arg(&json)
            .arg(&help)
            .arg(truth.display().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = procs::run_with_timeout(cmd, "hyperfine", Duration::from_mins(5))?;
        if !status.success() {
            bail!("hyperfine failed ({status})");
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
        let mean = |i: usize| -> Result<(f64, f64)> {
            let r = &v["results"][i];
            Ok((
                r["mean"].as_f64().context("hyperfine mean")? * 1000.0,
                r["stddev"].as_f64().unwrap_or(0.0) * 1000.0,
            ))
        };
        let (t, t_sd) = mean(0)?;
        let (b, b_sd) = mean(1)?;
        (
            t,
            b,
            format!(
                "hyperfine ({}), `-N` (no shell), 5 warm-up runs, {runs} runs each; mean ± σ: {t:.2} ± {t_sd:.2} ms vs {b:.2} ± {b_sd:.2} ms",
                s.hyperfine_version.as_deref().unwrap_or("version unknown")
            ),
        )
    } else {
        let t = time_runs(&s.teamsapp, &["--help"], runs)?;
        let b = time_runs(&truth, &[], runs)?;
        (
            t,
            b,
            format!(
                "timed in-process (hyperfine not found): 5 warm-up runs, then the median of {runs} runs of spawn → exit, stdout to /dev/null"
            ),
        )
    };
    suite.method(format!(
        "Start-up: `teamsapp --help` ({} build) from process start to exit, against `{}` as the baseline (a process that does nothing); every run is a new process, with the binary in the page cache (no cache dropping).",
        s.profile,
        truth.display()
    ));
    suite.method(format!(
        "Size: the `teamsapp` binary as built by `cargo build{}` (workspace profile, symbols not stripped) against `bench-bare-axum` from the same build, the bare axum 204 server of benchmark 1 as a program of its own (tokio, hyper, axum).",
        if s.profile == "release" { " --release" } else { "" }
    ));
    suite.row(
        Row::new(
            "`teamsapp --help` start-up",
            teamsapp_ms,
            format!("`{}`", truth.display()),
            true_ms,
            millis,
        )
        .detail(how),
    );
    let size = file_size(&s.teamsapp)?;
    let base = file_size(&s.bare_axum)?;
    suite.row(Row::new(
        "`teamsapp` binary size",
        size,
        "`bench-bare-axum` binary size",
        base,
        mebibytes,
    ));
    if let Some(lean) = &s.teamsapp_no_emulator {
        suite.method(
            "Size without the emulator: `teamsapp` built with `--no-default-features` (no axum, redb, rcgen or jsonwebtoken), same profile, against the default `teamsapp`.",
        );
        suite.row(Row::new(
            "`teamsapp` without the `emulator` feature, binary size",
            file_size(lean)?,
            "`teamsapp` (default features) binary size",
            size,
            mebibytes,
        ));
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss, reason = "file sizes far below 2^52")]
fn file_size(path: &Path) -> Result<f64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len() as f64)
}

/// The median wall time of `runs` runs, in milliseconds, after 5 warm-up runs.
fn time_runs(program: &Path, args: &[&str], runs: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 5 {
        let t0 = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", program.display()))?;
        let elapsed = t0.elapsed();
        if !status.success() {
            bail!("{} exited with {status}", program.display());
        }
        if i >= 5 {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    Ok(median(&times))
}

/// The first `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}
