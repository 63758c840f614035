//! Benchmark 1: the emulator's upgrade throughput against a bare axum handler on the same route,
//! and against `WireMock` and Prism when they could be installed.

use crate::Settings;
use crate::fixtures::{self, fleet_upgrade_path};
use crate::load::{self, Generator, Load, Workload};
use crate::procs::{self, Guard};
use crate::report::{self, Row, Suite, median, per_second, runs_text, thousands};
use crate::warmup::{self, Verdict, WarmUp};
use anyhow::{Context as _, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use teamsapp_types::routes;

struct Plan {
    installations: usize,
    /// The one unmeasured warm-up run of the emulator and of the axum baseline: native code, with
    /// no JIT to warm.
    warm_up: Duration,
    /// `WireMock`'s warm-up: the JVM keeps compiling hot code for minutes.
    wiremock_warm_up: warmup::Rule,
    /// Prism's warm-up: Node.js compiles hot code too.
    prism_warm_up: warmup::Rule,
    duration: Duration,
    runs: usize,
}

/// Two consecutive warm-up runs within 5 % of each other make a plateau.
const PLATEAU: f64 = 0.05;

impl Plan {
    fn for_settings(s: &Settings) -> Self {
        if s.smoke {
            Self {
                installations: 1_000,
                warm_up: Duration::from_secs(1),
                // Enough to prove the warm-up works, not to warm anything.
                wiremock_warm_up: warmup::Rule {
                    run: Duration::from_secs(1),
                    tolerance: PLATEAU,
                    min_runs: 2,
                    max_runs: 2,
                },
                prism_warm_up: warmup::Rule {
                    run: Duration::from_secs(1),
                    tolerance: PLATEAU,
                    min_runs: 2,
                    max_runs: 2,
                },
                duration: Duration::from_secs(1),
                runs: 1,
            }
        } else {
            Self {
                installations: 100_000,
                warm_up: Duration::from_secs(3),
                // WireMock 3.13.2 was seen still climbing after 90 s (issue 9), and on a busy
                // machine sat at 3,000 req/s for 40 s before jumping to 15,000: at least 90 s,
                // at most 4 minutes.
                wiremock_warm_up: warmup::Rule {
                    run: Duration::from_secs(10),
                    tolerance: PLATEAU,
                    min_runs: 9,
                    max_runs: 24,
                },
                // Node.js optimizes sooner; 2 minutes.
                prism_warm_up: warmup::Rule {
                    run: Duration::from_secs(10),
                    tolerance: PLATEAU,
                    min_runs: 3,
                    max_runs: 12,
                },
                duration: Duration::from_secs(10),
                runs: 3,
            }
        }
    }
}

/// The runs of one server.
struct Measured {
    runs: Vec<Load>,
}

impl Measured {
    fn rps(&self) -> Vec<f64> {
        self.runs.iter().map(|l| l.rps).collect()
    }
    fn median_rps(&self) -> f64 {
        median(&self.rps())
    }
    fn detail(&self) -> String {
        let p50: Vec<f64> = self.runs.iter().map(|l| l.p50_ms).collect();
        let p99: Vec<f64> = self.runs.iter().map(|l| l.p99_ms).collect();
        format!(
            "runs {}; p50 {} ms, p99 {} ms (medians)",
            runs_text(&self.rps(), report::rounded),
            report::sig3(median(&p50)),
            report::sig3(median(&p99)),
        )
    }
    fn failures(&self) -> (u64, u64, u64) {
        self.runs.iter().fold((0, 0, 0), |(r, n, e), l| {
            (r + l.requests, n + l.non_2xx, e + l.errors)
        })
    }
}

fn check_answers(suite: &mut Suite, name: &str, m: &Measured) {
    let (requests, non_2xx, errors) = m.failures();
    suite.check(
        format!("{name}: every answer 2xx, no socket errors"),
        non_2xx == 0 && errors == 0,
        format!(
            "{} requests, {non_2xx} non-2xx, {errors} socket errors",
            thousands(requests)
        ),
    );
}

/// Runs benchmark 1.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    let plan = Plan::for_settings(s);
    let generator = match &s.wrk {
        Some(path) => Generator::Wrk(path.clone()),
        None => Generator::Reqwest,
    };
    let n = plan.installations;
    suite.method(format!(
        "Servers: the emulator (`teamsapp_mock::Emulator`, in-process, throttling off, no faults, a valid application token) with a `demo::fleet({})` tenant, and the baseline, a bare axum handler that answers `204` on the same route (`{}`), both on one tokio multi-thread runtime per server with one worker per core, on 127.0.0.1.",
        thousands(n as u64),
        teamsapp_bench::upgrade_route()
    ));
    suite.method(format!(
        "Load: {}; request `i` upgrades installation `i mod {}` of the fleet (an already-current installation answers `204`, so repeats are fine).",
        generator.describe(s.wrk_version.as_deref()),
        thousands(n as u64)
    ));
    let peer_rule = |name: &str, r: &warmup::Rule| {
        format!(
            "{name} in runs of {} s, at least {} and at most {} ({} s)",
            r.run.as_secs(),
            r.min_runs,
            r.max_runs,
            r.cap().as_secs()
        )
    };
    suite.method(format!(
        "Warm-up: the emulator and the axum baseline are native code with no JIT to warm, and get one unmeasured warm-up run of {} s each. WireMock (on the JVM) and Prism (on Node.js) compile hot code as they run, so each is warmed in consecutive measured runs until two consecutive runs are within {:.0} % of each other (the change from the earlier run): {}; {}. Their warm-up curves are below, with whether they reached that plateau or the cap, and a note when a measured run then strayed more than {:.0} % from the last warm-up run.",
        plan.warm_up.as_secs(),
        PLATEAU * 100.0,
        peer_rule("WireMock", &plan.wiremock_warm_up),
        peer_rule("Prism", &plan.prism_warm_up),
        PLATEAU * 100.0,
    ));
    suite.method(format!(
        "Then {} run(s) of {} s per server, the emulator and the axum baseline alternating; the figure is the median run.",
        plan.runs,
        plan.duration.as_secs()
    ));
    suite.method("Load generator and server share the machine's cores, so each figure is \"server + load generator on this machine\", not what a server could do alone.");

    let dir = s.work.join("throughput");
    let rt = fixtures::runtime("bench-server")?;
    let t0 = Instant::now();
    let emulator = fixtures::start_fleet_emulator(&rt, n)?;
    suite.note(format!(
        "the emulator started with {} installations in {:.1} s",
        thousands(n as u64),
        t0.elapsed().as_secs_f64()
    ));
    let token = fixtures::fleet_token(&emulator)?;
    let paths: Vec<String> = (0..n).map(fleet_upgrade_path).collect();
    let work = Workload::write_script(paths, token, &dir)?;
    let axum = format!("http://{}", fixtures::start_bare_axum(&rt)?);
    let emu = emulator.origin().to_owned();
    work.wait_ready(&emu, Duration::from_secs(10))?;
    work.wait_ready(&axum, Duration::from_secs(10))?;

    load::run(&generator, &work, &emu, plan.warm_up)?;
    load::run(&generator, &work, &axum, plan.warm_up)?;
    let mut emu_runs = Measured { runs: Vec::new() };
    let mut axum_runs = Measured { runs: Vec::new() };
    for _ in 0..plan.runs {
        emu_runs
            .runs
            .push(load::run(&generator, &work, &emu, plan.duration)?);
        axum_runs
            .runs
            .push(load::run(&generator, &work, &axum, plan.duration)?);
    }
    let metrics = emulator.state().metrics();
    let by_status = metrics
        .requests
        .get(routes::UPGRADE_CHAT_APP.operation_id)
        .cloned()
        .unwrap_or_default();
    let ok: u64 = by_status.get(&204).copied().unwrap_or(0);
    let other: u64 = by_status
        .iter()
        .filter(|(status, _)| **status != 204)
        .map(|(_, n)| *n)
        .sum();
    suite.check(
        "emulator: every upgrade answered 204 (emulator metrics)",
        other == 0 && ok > 0,
        format!("{} answered 204, {other} otherwise", thousands(ok)),
    );
    check_answers(suite, "emulator", &emu_runs);
    check_answers(suite, "bare axum", &axum_runs);
    rt.block_on(emulator.shutdown())
        .context("stopping the emulator")?;
    drop(rt);

    let axum_rps = axum_runs.median_rps();
    let emu_rps = emu_runs.median_rps();
    suite.row(
        Row::new(
            "teamsapp-mock upgrade throughput",
            emu_rps,
            "bare axum 204 handler",
            axum_rps,
            per_second,
        )
        .detail(format!(
            "emulator {}; axum {}{}",
            emu_runs.detail(),
            axum_runs.detail(),
            report::overlap(&emu_runs.rps(), &axum_runs.rps())
                .map(|w| format!("; {w}"))
                .unwrap_or_default()
        )),
    );

    for peer in [Peer::WireMock, Peer::Prism] {
        match measure_peer(s, &plan, &generator, &work, peer, &dir) {
            Ok(Some((m, warm))) => {
                suite.table(warm.table(peer.name()));
                if warm.outcome != Verdict::Plateaued {
                    suite.note(format!(
                        "{} {}: its figure may be below its warm throughput",
                        peer.name(),
                        warm.outcome_text()
                    ));
                }
                let last = warm.curve.last().map_or(f64::NAN, |p| p.rps);
                let off = warmup::off_plateau(last, &m.rps(), warm.rule.tolerance);
                if warm.outcome == Verdict::Plateaued && !off.is_empty() {
                    suite.note(format!(
                        "{}'s plateau did not hold: measured run(s) {} are not within {:.0} % of its last warm-up run ({}), so it was still warming up, or the machine's load changed, while it was measured",
                        peer.name(),
                        runs_text(&off, report::rounded),
                        warm.rule.tolerance * 100.0,
                        per_second(last)
                    ));
                }
                check_answers(suite, peer.name(), &m);
                let rps = m.median_rps();
                suite.row(
                    Row::new(
                        format!("{} throughput", peer.label(s)),
                        rps,
                        "bare axum 204 handler",
                        axum_rps,
                        per_second,
                    )
                    .detail(m.detail()),
                );
                let mut row = Row::new(
                    "teamsapp-mock upgrade throughput",
                    emu_rps,
                    peer.label(s),
                    rps,
                    per_second,
                );
                if let Some(w) = report::overlap(&emu_runs.rps(), &m.rps()) {
                    row = row.detail(w);
                }
                suite.row(row);
            }
            Ok(None) => {}
            Err(e) => suite.note(format!("{} skipped: {e:#}", peer.name())),
        }
    }
    suite.note("WireMock and Prism check no token and keep no state: they answer a canned `204`; the emulator verifies the RS256 token, authorizes, upgrades the installation in its model, counts it and journals the request.");
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Peer {
    WireMock,
    Prism,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Self::WireMock => "WireMock",
            Self::Prism => "Prism",
        }
    }

    fn label(self, s: &Settings) -> String {
        let version = match self {
            Self::WireMock => s.wiremock_version.as_deref(),
            Self::Prism => s.prism_version.as_deref(),
        };
        match (self, version) {
            (Self::WireMock, Some(v)) => {
                format!("WireMock {v} (standalone jar, `--no-request-journal`)")
            }
            (Self::Prism, Some(v)) => {
                format!("Prism {v} (`prism mock`, OpenAPI 3.0.3 spec of the route)")
            }
            (_, None) => self.name().to_owned(),
        }
    }
}

/// Starts a peer, warms it until its throughput plateaus (or the cap), measures it and stops it;
/// `None` (with the reason already noted by xtask) when it is not installed.
fn measure_peer(
    s: &Settings,
    plan: &Plan,
    generator: &Generator,
    work: &Workload,
    peer: Peer,
    dir: &Path,
) -> Result<Option<(Measured, WarmUp)>> {
    let (server, origin) = match peer {
        Peer::WireMock => {
            let (Some(java), Some(jar)) = (&s.java, &s.wiremock_jar) else {
                return Ok(None);
            };
            start_wiremock(java, jar, &dir.join("wiremock"))?
        }
        Peer::Prism => {
            let Some(prism) = &s.prism else {
                return Ok(None);
            };
            start_prism(prism, &dir.join("prism"))?
        }
    };
    let rule = match peer {
        Peer::WireMock => plan.wiremock_warm_up,
        Peer::Prism => plan.prism_warm_up,
    };
    work.wait_ready(&origin, Duration::from_mins(1))
        .with_context(|| format!("{} did not come up", peer.name()))?;
    #[allow(clippy::print_stderr, reason = "progress")]
    {
        eprintln!(
            "  {server} up at {origin}; warming up in {:?} runs until two are within {:.0} % (at least {}, at most {})",
            rule.run,
            rule.tolerance * 100.0,
            rule.min_runs,
            rule.max_runs
        );
    }
    let mut previous: Option<f64> = None;
    let warm = warmup::warm_up(rule, || {
        let rps = load::run(generator, work, &origin, rule.run)?.rps;
        #[allow(clippy::print_stderr, reason = "progress")]
        {
            eprintln!(
                "    warm-up run: {} ({})",
                per_second(rps),
                previous.map_or_else(
                    || "first".to_owned(),
                    |p| warmup::change_text(warmup::change(p, rps))
                )
            );
        }
        previous = Some(rps);
        Ok(rps)
    })
    .with_context(|| format!("warming {} up", peer.name()))?;
    let mut m = Measured { runs: Vec::new() };
    for _ in 0..plan.runs {
        m.runs
            .push(load::run(generator, work, &origin, plan.duration)?);
    }
    server.stop();
    Ok(Some((m, warm)))
}

fn log_file(dir: &Path, name: &str) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    std::fs::File::create(dir.join(name)).with_context(|| format!("creating {name}"))
}

fn start_wiremock(java: &Path, jar: &Path, dir: &Path) -> Result<(Guard, String)> {
    let mappings = dir.join("mappings");
    std::fs::create_dir_all(&mappings)?;
    std::fs::write(
        mappings.join("upgrade.json"),
        r#"{"request":{"method":"POST","urlPathPattern":"/v1\\.0/chats/[^/]+/installedApps/[^/]+/upgrade"},"response":{"status":204}}"#,
    )?;
    let port = procs::free_port()?;
    let mut cmd = Command::new(java);
    cmd.arg("-jar")
        .arg(jar)
        .args(["--port", &port.to_string(), "--bind-address", "127.0.0.1"])
        .arg("--root-dir")
        .arg(dir)
        .args(["--no-request-journal", "--disable-banner"])
        .stdin(Stdio::null())
        .stdout(log_file(dir, "stdout.log")?)
        .stderr(log_file(dir, "stderr.log")?);
    let child = cmd.spawn().context("starting java -jar wiremock")?;
    Ok((
        Guard::new(child, "WireMock"),
        format!("http://127.0.0.1:{port}"),
    ))
}

/// The upgrade route as a one-operation OpenAPI 3.0.3 document, with an optional JSON body (Prism
/// answers `415` to a JSON body the operation does not declare).
const PRISM_SPEC: &str = r#"{
  "openapi": "3.0.3",
  "info": { "title": "teamsapp bench peer", "version": "1.0.0" },
  "paths": {
    "/v1.0/chats/{chatId}/installedApps/{appId}/upgrade": {
      "post": {
        "operationId": "upgrade",
        "parameters": [
          { "name": "chatId", "in": "path", "required": true, "schema": { "type": "string" } },
          { "name": "appId", "in": "path", "required": true, "schema": { "type": "string" } }
        ],
        "requestBody": {
          "required": false,
          "content": { "application/json": { "schema": { "type": "object" } } }
        },
        "responses": { "204": { "description": "No Content" } }
      }
    }
  }
}
"#;

fn start_prism(prism: &Path, dir: &Path) -> Result<(Guard, String)> {
    std::fs::create_dir_all(dir)?;
    let spec = dir.join("spec.json");
    std::fs::write(&spec, PRISM_SPEC)?;
    let port = procs::free_port()?;
    let mut cmd = Command::new(prism);
    cmd.args([
        "mock",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-v",
        "error",
    ])
    .arg(&spec)
    .stdin(Stdio::null())
    .stdout(log_file(dir, "stdout.log")?)
    .stderr(log_file(dir, "stderr.log")?);
    let child = cmd.spawn().context("starting prism mock")?;
    Ok((
        Guard::new(child, "Prism"),
        format!("http://127.0.0.1:{port}"),
    ))
}
