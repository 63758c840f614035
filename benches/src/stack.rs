//! Benchmark 1b: what one upgrade costs the emulator's own code, without the network.
//!
//! Benchmark 1 measures server and load generator together on two shared cores, so the
//! kernel's socket work and the machine's noise weigh on it as much as the emulator does. Here
//! both servers are called as tower services on one thread, the same request built the same way
//! for each: the difference is the emulator's whole service stack (its middleware, routing,
//! token check, authorization, model, journal and metrics) against axum's routing to a handler
//! that answers `204`.

use crate::Settings;
use crate::fixtures::fleet_upgrade_path;
use crate::report::{Row, Suite, median, nanos, thousands};
use anyhow::{Context as _, Result, anyhow, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::time::Instant;
use teamsapp_mock::{AppState, EmulatorConfig, ThrottleConfig, TokenSpec};
use teamsapp_model::demo;
use teamsapp_types::{Operation as _, UpgradeChatApp};
use tower::ServiceExt as _;

struct Plan {
    installations: usize,
    /// Requests per run.
    requests: usize,
    runs: usize,
}

impl Plan {
    fn for_settings(s: &Settings) -> Self {
        if s.smoke {
            Self {
                installations: 1_000,
                requests: 2_000,
                runs: 1,
            }
        } else {
            Self {
                installations: 100_000,
                requests: 200_000,
                runs: 5,
            }
        }
    }
}

/// The request of call `i`: an upgrade of the `i`-th path, as a client sends it.
fn upgrade(path: &str, bearer: &str) -> Result<Request<Body>> {
    Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, bearer)
        .body(Body::from("{}"))
        .context("building a request")
}

/// Nanoseconds per request over one run of `plan.requests` calls of `router`.
async fn run(
    router: &axum::Router,
    paths: &[String],
    bearer: &str,
    requests: usize,
) -> Result<(f64, usize)> {
    let mut not_204 = 0;
    let t0 = Instant::now();
    for i in 0..requests {
        let request = upgrade(&paths[i % paths.len()], bearer)?;
        let response = router
            .clone()
            .oneshot(request)
            .await
            .map_err(|never| anyhow!("{never:?}"))?;
        if response.status() != StatusCode::NO_CONTENT {
            not_204 += 1;
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let ns = t0.elapsed().as_secs_f64() * 1e9 / requests as f64;
    Ok((ns, not_204))
}

/// Runs benchmark 1b.
pub(crate) fn run_stack(s: &Settings, suite: &mut Suite) -> Result<()> {
    let plan = Plan::for_settings(s);
    suite.method(format!(
        "Both servers called in-process as tower services (`oneshot`) on one current-thread tokio runtime, no socket: the emulator's whole surface (`teamsapp_mock::router`, throttling off, no faults, a `demo::fleet({})` tenant, a valid application token) and the bare axum router of benchmark 1. Each call builds the same `POST` upgrade request (`Host`, `Content-Type: application/json`, `Authorization: Bearer …`, body `{{}}`) for the next of the fleet's installations and reads the status. {} runs of {} calls per server, alternating, after one unmeasured run each; the figure is the median run, in nanoseconds per request ({} build).",
        thousands(plan.installations as u64),
        plan.runs,
        thousands(plan.requests as u64),
        s.profile,
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the runtime")?;
    let state = AppState::new(EmulatorConfig {
        tenants: vec![demo::fleet(plan.installations)],
        throttle: ThrottleConfig::disabled(),
        ..EmulatorConfig::default()
    })
    .map_err(|e| anyhow!("starting the emulator's state: {e}"))?;
    let token = state
        .mint_token(&TokenSpec {
            app: Some(demo::CREDENTIALS.client_id.to_owned()),
            ..TokenSpec::default()
        })
        .map_err(|e| anyhow!("minting a token: {e}"))?
        .access_token;
    let bearer = format!("Bearer {token}");
    let paths: Vec<String> = (0..plan.installations).map(fleet_upgrade_path).collect();
    let emulator = teamsapp_mock::router(state.clone());
    let bare = teamsapp_bench::bare_router();

    let (mut emulator_ns, mut bare_ns) = (Vec::new(), Vec::new());
    let mut not_204 = 0;
    rt.block_on(async {
        // One unmeasured run each: the emulator's per-thread caches, the allocator's pools.
        run(&emulator, &paths, &bearer, plan.requests / 4).await?;
        run(&bare, &paths, &bearer, plan.requests / 4).await?;
        for _ in 0..plan.runs {
            let (ns, bad) = run(&emulator, &paths, &bearer, plan.requests).await?;
            emulator_ns.push(ns);
            not_204 += bad;
            let (ns, bad) = run(&bare, &paths, &bearer, plan.requests).await?;
            bare_ns.push(ns);
            not_204 += bad;
        }
        anyhow::Ok(())
    })?;

    let metrics = state.metrics();
    let upgrades = metrics
        .requests
        .get(UpgradeChatApp::ROUTE.operation_id)
        .and_then(|by_status| by_status.get(&204))
        .copied()
        .unwrap_or(0);
    let expected = (plan.requests / 4 + plan.runs * plan.requests) as u64;
    suite.check(
        "every call answered 204, and the emulator counted each upgrade",
        not_204 == 0 && upgrades == expected,
        format!(
            "{not_204} answers other than 204; the emulator answered {} upgrades with 204 of {} sent",
            thousands(upgrades),
            thousands(expected)
        ),
    );
    if not_204 > 0 {
        bail!("{not_204} calls were not answered 204");
    }
    let (e, b) = (median(&emulator_ns), median(&bare_ns));
    let runs = |xs: &[f64]| xs.iter().map(|x| nanos(*x)).collect::<Vec<_>>().join(" / ");
    suite.row(
        Row::new(
            "teamsapp-mock upgrade, in-process, per request",
            e,
            "bare axum 204 handler, in-process",
            b,
            nanos,
        )
        .detail(format!(
            "emulator runs {}; axum runs {}; the emulator's own work: {} per request",
            runs(&emulator_ns),
            runs(&bare_ns),
            nanos(e - b)
        )),
    );
    suite.note("a ratio above 1 is the emulator costing more: here lower is better, unlike benchmark 1's throughput");
    Ok(())
}
