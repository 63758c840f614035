//! Benchmark 2: upgrade calls per second through `teamsapp-client` against raw reqwest, against the
//! same in-process emulator, sequential and with 32 in flight.

use crate::Settings;
use crate::fixtures::{self, fleet_target, fleet_upgrade_path};
use crate::report::{Row, Suite, calls_per_second, median, rounded, runs_text, thousands};
use anyhow::{Context as _, Result, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use teamsapp_client::{Client, RateLimit, Scope, StaticToken};
use teamsapp_model::demo;
use teamsapp_types::{AppInstallationId, routes};

/// Calls in flight in the concurrent mode.
const IN_FLIGHT: usize = 32;

struct Plan {
    installations: usize,
    warm_up: usize,
    sequential: usize,
    concurrent: usize,
    runs: usize,
}

/// One way of sending an upgrade.
#[derive(Clone)]
enum Caller {
    /// `Client::upgrade`.
    Client {
        client: Client,
        targets: Arc<Vec<(Scope, AppInstallationId)>>,
    },
    /// `reqwest::Client::post` with the URL built beforehand.
    Raw {
        http: reqwest::Client,
        urls: Arc<Vec<String>>,
        token: Arc<str>,
    },
}

impl Caller {
    async fn call(&self, i: usize) -> Result<()> {
        match self {
            Self::Client { client, targets } => {
                let (scope, id) = &targets[i % targets.len()];
                client.upgrade(scope, id, None).await?;
            }
            Self::Raw { http, urls, token } => {
                let response = http
                    .post(&urls[i % urls.len()])
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if status != reqwest::StatusCode::NO_CONTENT {
                    bail!("the emulator answered {status}");
                }
            }
        }
        Ok(())
    }

    /// `calls` upgrades one after the other; calls per second.
    async fn sequential(&self, start: usize, calls: usize) -> Result<f64> {
        let t0 = Instant::now();
        for i in start..start + calls {
            self.call(i).await?;
        }
        Ok(rate(calls, t0))
    }

    /// `calls` upgrades with `IN_FLIGHT` tasks; calls per second.
    async fn concurrent(&self, start: usize, calls: usize) -> Result<f64> {
        let next = Arc::new(AtomicUsize::new(start));
        let end = start + calls;
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (me, next) = (self.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return Ok::<_, anyhow::Error>(());
                    }
                    me.call(i).await?;
                }
            }));
        }
        for t in tasks {
            t.await.context("a load task panicked")??;
        }
        Ok(rate(calls, t0))
    }
}

#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn rate(calls: usize, t0: Instant) -> f64 {
    calls as f64 / t0.elapsed().as_secs_f64()
}

/// Runs benchmark 2.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    let plan = if s.smoke {
        Plan {
            installations: 1_000,
            warm_up: 100,
            sequential: 300,
            concurrent: 2_000,
            runs: 1,
        }
    } else {
        Plan {
            installations: 10_000,
            warm_up: 2_000,
            sequential: 20_000,
            concurrent: 100_000,
            runs: 3,
        }
    };
    suite.method(format!(
        "Server: the emulator in-process (throttling off, no faults) with a `demo::fleet({})` tenant, on its own tokio runtime (one worker per core); the callers run on a second runtime of the same size, on 127.0.0.1.",
        thousands(plan.installations as u64)
    ));
    suite.method("`teamsapp-client`: one `Client` with `RateLimit::disabled()`, a `StaticToken` and the standard retry policy, calling `Client::upgrade(&Scope::Chat(..), &id, None)`; it builds the typed request, percent-encodes the path, adds `client-request-id` and checks the answer.");
    suite.method("Raw reqwest, the baseline: one `reqwest::Client`, `POST` of `{}` with `Content-Type: application/json` and the bearer token to a URL built beforehand, status checked and body read.");
    suite.method(format!(
        "Call `i` upgrades installation `i mod {}`. Sequential: {} calls one after another; concurrent: {} calls with {IN_FLIGHT} tasks in flight; {} unmeasured warm-up calls each, then {} run(s) alternating client and raw; the figure is the median run.",
        thousands(plan.installations as u64),
        thousands(plan.sequential as u64),
        thousands(plan.concurrent as u64),
        thousands(plan.warm_up as u64),
        plan.runs
    ));

    let server = fixtures::runtime("bench-server")?;
    let emulator = fixtures::start_fleet_emulator(&server, plan.installations)?;
    let token = fixtures::fleet_token(&emulator)?;
    let callers = fixtures::runtime("bench-client")?;

    let targets: Vec<(Scope, AppInstallationId)> = (0..plan.installations)
        .map(|i| {
            let (chat, id) = fleet_target(i);
            (Scope::Chat(chat), id)
        })
        .collect();
    let urls: Vec<String> = (0..plan.installations)
        .map(|i| format!("{}{}", emulator.origin(), fleet_upgrade_path(i)))
        .collect();
    let client = Client::builder()
        .base_url(emulator.graph_url())
        .credential(StaticToken::new(token.clone()).with_tenant(demo::TENANT_ID))
        .rate_limit(RateLimit::disabled())
        .build()
        .context("building the client")?;
    let with_client = Caller::Client {
        client,
        targets: Arc::new(targets),
    };
    let raw = Caller::Raw {
        http: reqwest::Client::new(),
        urls: Arc::new(urls),
        token: token.into(),
    };

    let (seq_client, seq_raw, conc_client, conc_raw) = callers.block_on(async {
        with_client.sequential(0, plan.warm_up).await?;
        raw.sequential(0, plan.warm_up).await?;
        let (mut sc, mut sr, mut cc, mut cr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut start = plan.warm_up;
        for _ in 0..plan.runs {
            sc.push(with_client.sequential(start, plan.sequential).await?);
            sr.push(raw.sequential(start, plan.sequential).await?);
            start += plan.sequential;
        }
        with_client.concurrent(0, plan.warm_up).await?;
        raw.concurrent(0, plan.warm_up).await?;
        for _ in 0..plan.runs {
            cc.push(with_client.concurrent(start, plan.concurrent).await?);
            cr.push(raw.concurrent(start, plan.concurrent).await?);
            start += plan.concurrent;
        }
        Ok::<_, anyhow::Error>((sc, sr, cc, cr))
    })?;
    drop(callers);

    let metrics = emulator.state().metrics();
    let by_status = metrics
        .requests
        .get(routes::UPGRADE_CHAT_APP.operation_id)
        .cloned()
        .unwrap_or_default();
    let ok = by_status.get(&204).copied().unwrap_or(0);
    let total: u64 = by_status.values().sum();
    let expected = 2 * plan.runs * (plan.sequential + plan.concurrent) + 4 * plan.warm_up;
    suite.check(
        "every call answered 204 and was counted once by the emulator",
        ok == total && ok == expected as u64,
        format!(
            "{} calls made, the emulator answered {} with 204 and {} otherwise",
            thousands(expected as u64),
            thousands(ok),
            thousands(total - ok)
        ),
    );
    server
        .block_on(emulator.shutdown())
        .context("stopping the emulator")?;

    suite.row(
        Row::new(
            "teamsapp-client upgrade, sequential",
            median(&seq_client),
            "raw reqwest, sequential",
            median(&seq_raw),
            calls_per_second,
        )
        .detail(with_overlap(
            format!(
                "client runs {}; raw runs {}; {} µs vs {} µs per call",
                runs_text(&seq_client, rounded),
                runs_text(&seq_raw, rounded),
                crate::report::sig3(1e6 / median(&seq_client)),
                crate::report::sig3(1e6 / median(&seq_raw)),
            ),
            &seq_client,
            &seq_raw,
        )),
    );
    suite.row(
        Row::new(
            format!("teamsapp-client upgrade, {IN_FLIGHT} in flight"),
            median(&conc_client),
            format!("raw reqwest, {IN_FLIGHT} in flight"),
            median(&conc_raw),
            calls_per_second,
        )
        .detail(with_overlap(
            format!(
                "client runs {}; raw runs {}",
                runs_text(&conc_client, rounded),
                runs_text(&conc_raw, rounded),
            ),
            &conc_client,
            &conc_raw,
        )),
    );
    suite.note(format!(
        "With {IN_FLIGHT} in flight both callers drive the same emulator, whose own throughput (benchmark 1) is of the same order, so this ratio says more about the emulator's ceiling than about the client's overhead; the sequential ratio is the client's own cost."
    ));
    Ok(())
}

/// `detail`, and the overlap warning when the runs overlap.
fn with_overlap(detail: String, a: &[f64], b: &[f64]) -> String {
    match crate::report::overlap(a, b) {
        Some(warning) => format!("{detail}; {warning}"),
        None => detail,
    }
}
