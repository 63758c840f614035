//! Benchmark 6: a soak under slow clients. `teamsapp mock serve` runs for ten minutes (seconds in
//! smoke) with 1,000 slow clients — half trickle a request's headers a line at a time
//! (slowloris), half connect and say nothing — each reconnecting whenever the emulator closes it,
//! while a few well-behaved clients upgrade installations. The figures: the emulator's resident
//! memory and the well-behaved clients' latency in the last tenth of the run against the first.

use crate::Settings;
use crate::fixtures::fleet_target;
use crate::fleet::origin_of;
use crate::procs;
use crate::report::{Row, Suite, Table, mebibytes, millis, thousands};
use anyhow::{Context as _, Result, bail};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use teamsapp_types::routes;
use tokio::io::AsyncWriteExt as _;

/// The fleet the well-behaved clients upgrade.
const FLEET: usize = 20_000;
/// Well-behaved clients, each one keep-alive connection, one request at a time.
const GOOD_CLIENTS: usize = 4;
/// The pause of a well-behaved client between two requests (about 400 requests per second in
/// all: the point is latency under hostile load, not throughput).
const GOOD_PAUSE: Duration = Duration::from_millis(10);
/// How often a slowloris client sends one more header line.
const TRICKLE: Duration = Duration::from_secs(5);
/// How many windows the run is cut into for the over-time table.
const WINDOWS: usize = 10;

/// Latencies (µs) and failures of one window.
#[derive(Default)]
struct Window {
    latencies_us: Vec<u64>,
    failures: u64,
    rss: u64,
}

/// Runs benchmark 6.
pub(crate) fn run(s: &Settings, suite: &mut Suite) -> Result<()> {
    let (duration, slow_clients) = if s.smoke {
        (Duration::from_secs(6), 100)
    } else {
        (Duration::from_mins(10), 1_000)
    };
    suite.method(format!(
        "`teamsapp -q mock serve --fleet {} --throttle 0` ({} build), a separate process, for {} s. Slow clients: {slow_clients}, half of them slowloris (a request line, then one header line every {} s, never the blank line), half idle (connected, silent); each reconnects as soon as the emulator closes it. Well-behaved: {GOOD_CLIENTS} keep-alive clients (reqwest) each upgrading the fleet's installations one request at a time with a {} ms pause, with a valid application token.",
        thousands(FLEET as u64),
        s.profile,
        duration.as_secs(),
        TRICKLE.as_secs(),
        GOOD_PAUSE.as_millis(),
    ));
    suite.method(format!(
        "The run is cut into {WINDOWS} windows; each gives the well-behaved clients' median and 99th-percentile latency and the emulator's resident memory at its end. The figures compare the last window with the first."
    ));
    if s.smoke {
        suite.note("smoke: 6 s with 100 slow clients (10 minutes with 1,000 in the full run)");
    }

    let mut cmd = Command::new(&s.teamsapp);
    cmd.args(["-q", "mock", "serve", "--listen", "127.0.0.1:0"])
        .args(["--fleet", &FLEET.to_string(), "--throttle", "0"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::null());
    let (server, line) =
        procs::spawn_announced(cmd, "teamsapp mock serve (soak)", Duration::from_mins(2))?;
    let origin = origin_of(&line)?;
    let pid = server.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the soak's runtime")?;
    let outcome = rt.block_on(soak(&origin, pid, duration, slow_clients));
    server.stop();
    let (windows, closes, reconnect_failures) = outcome?;

    let first = &windows[0];
    let last = &windows[WINDOWS - 1];
    let pct = |w: &Window, p: f64| percentile_ms(&w.latencies_us, p);
    #[allow(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
    suite.row(
        Row::new(
            "emulator resident memory, last window",
            last.rss as f64,
            "first window",
            first.rss as f64,
            mebibytes,
        )
        .detail(format!(
            "peak over the run {}",
            mebibytes(windows.iter().map(|w| w.rss).max().unwrap_or(0) as f64)
        )),
    );
    suite.row(Row::new(
        "well-behaved p50 latency, last window",
        pct(last, 50.0),
        "first window",
        pct(first, 50.0),
        millis,
    ));
    suite.row(Row::new(
        "well-behaved p99 latency, last window",
        pct(last, 99.0),
        "first window",
        pct(first, 99.0),
        millis,
    ));
    suite.table(Table {
        title: "Over time: the well-behaved clients and the emulator's memory, window by window"
            .to_owned(),
        header: vec![
            "window".to_owned(),
            "requests".to_owned(),
            "p50".to_owned(),
            "p99".to_owned(),
            "failures".to_owned(),
            "resident memory".to_owned(),
        ],
        rows: windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                #[allow(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
                let rss = mebibytes(w.rss as f64);
                vec![
                    (i + 1).to_string(),
                    thousands(w.latencies_us.len() as u64),
                    millis(pct(w, 50.0)),
                    millis(pct(w, 99.0)),
                    w.failures.to_string(),
                    rss,
                ]
            })
            .collect(),
    });
    let failures: u64 = windows.iter().map(|w| w.failures).sum();
    let answered: usize = windows.iter().map(|w| w.latencies_us.len()).sum();
    suite.check(
        "every well-behaved request answered 204",
        failures == 0 && answered > 0,
        format!("{answered} answered, {failures} failed"),
    );
    suite.note(format!(
        "the emulator closed slow clients' connections {} times in all (its header-read and idle timeouts); {} reconnects were refused",
        thousands(closes),
        thousands(reconnect_failures),
    ));
    Ok(())
}

/// The soak itself: the windows, how many slow connections the emulator closed, and how many
/// reconnects failed.
async fn soak(
    origin: &str,
    pid: u32,
    duration: Duration,
    slow_clients: usize,
) -> Result<(Vec<Window>, u64, u64)> {
    let addr = origin
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(GOOD_CLIENTS)
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = token(&http, origin).await?;
    let closes = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let deadline = tokio::time::Instant::now() + duration;

    let mut slow = Vec::with_capacity(slow_clients);
    for i in 0..slow_clients {
        let addr = addr.clone();
        let closes = Arc::clone(&closes);
        let refused = Arc::clone(&refused);
        slow.push(tokio::spawn(async move {
            slow_client(&addr, i % 2 == 0, deadline, &closes, &refused).await;
        }));
    }

    let started = Instant::now();
    let window_len = duration / u32::try_from(WINDOWS).unwrap_or(1);
    let windows: Arc<std::sync::Mutex<Vec<Window>>> = Arc::new(std::sync::Mutex::new(
        (0..WINDOWS).map(|_| Window::default()).collect(),
    ));
    let mut good = Vec::new();
    for c in 0..GOOD_CLIENTS {
        let http = http.clone();
        let token = token.clone();
        let origin = origin.to_owned();
        let windows = Arc::clone(&windows);
        good.push(tokio::spawn(async move {
            let mut i = c;
            while tokio::time::Instant::now() < deadline {
                let (chat, installation) = fleet_target(i % FLEET);
                i += GOOD_CLIENTS;
                let url = format!(
                    "{origin}/v1.0{}",
                    routes::UPGRADE_CHAT_APP.render(&[chat.as_str(), installation.as_str()])
                );
                let t0 = Instant::now();
                let ok = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 204);
                let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                let at = started.elapsed();
                let w = usize::try_from(at.as_nanos() / window_len.as_nanos().max(1))
                    .unwrap_or(WINDOWS - 1)
                    .min(WINDOWS - 1);
                if let Ok(mut windows) = windows.lock() {
                    if ok {
                        windows[w].latencies_us.push(us);
                    } else {
                        windows[w].failures += 1;
                    }
                }
                tokio::time::sleep(GOOD_PAUSE).await;
            }
        }));
    }

    // Memory at the end of each window.
    for w in 0..WINDOWS {
        let end = started + window_len * u32::try_from(w + 1).unwrap_or(1);
        tokio::time::sleep_until(end.into()).await;
        let (rss, _) = procs::rss(pid)?;
        if let Ok(mut windows) = windows.lock() {
            windows[w].rss = rss;
        }
    }
    for task in good.into_iter().chain(slow) {
        let _ = task.await;
    }
    let windows = std::mem::take(
        &mut *windows
            .lock()
            .map_err(|_| anyhow::anyhow!("a client panicked"))?,
    );
    if windows.iter().all(|w| w.latencies_us.is_empty()) {
        bail!("no well-behaved request was answered");
    }
    Ok((
        windows,
        closes.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    ))
}

/// A slow client until `deadline`: slowloris (`trickle`) or idle; reconnects when closed.
async fn slow_client(
    addr: &str,
    trickle: bool,
    deadline: tokio::time::Instant,
    closes: &AtomicU64,
    refused: &AtomicU64,
) {
    while tokio::time::Instant::now() < deadline {
        let Ok(Ok(mut stream)) =
            tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await
        else {
            refused.fetch_add(1, Ordering::Relaxed);
            // A real back-off before the next attempt, not a wait for a condition.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut open = true;
        if trickle {
            let head = format!("GET /v1.0/teams HTTP/1.1\r\nHost: {addr}\r\n");
            open = stream.write_all(head.as_bytes()).await.is_ok();
        }
        while open && tokio::time::Instant::now() < deadline {
            if trickle {
                tokio::time::sleep(TRICKLE.min(deadline - tokio::time::Instant::now())).await;
                open = stream.write_all(b"x-slow: 1\r\n").await.is_ok();
            } else {
                // Idle: wait until the emulator closes the connection (a read of 0 bytes).
                let mut byte = [0u8; 1];
                match tokio::time::timeout_at(deadline, stream.peek(&mut byte)).await {
                    Ok(Ok(0) | Err(_)) => open = false,
                    Ok(Ok(_)) => {
                        // An answer (a 408, say): the server will close next.
                        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut byte).await;
                    }
                    Err(_) => break,
                }
            }
        }
        if !open {
            closes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An application token for the demo's credentials.
async fn token(http: &reqwest::Client, origin: &str) -> Result<String> {
    let creds = teamsapp_model::demo::CREDENTIALS;
    let reply: serde_json::Value = http
        .post(format!("{origin}/{}/oauth2/v2.0/token", creds.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id),
            ("client_secret", creds.client_secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await?
        .json()
        .await?;
    reply["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the token endpoint's answer")
}

/// The `p`-th percentile of `us` (microseconds), in milliseconds; 0 when empty.
fn percentile_ms(us: &[u64], p: f64) -> f64 {
    if us.is_empty() {
        return 0.0;
    }
    let mut sorted = us.to_vec();
    sorted.sort_unstable();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index within the slice"
    )]
    let idx = (((p / 100.0) * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1);
    #[allow(clippy::cast_precision_loss, reason = "microseconds far below 2^52")]
    let ms = sorted[idx] as f64 / 1000.0;
    ms
}
