//! `fleet plan|upgrade --rehearse`: a snapshot of the tenant (taken now, or `--snapshot FILE`)
//! in the embedded emulator, the same plan and engine ([`teamsapp_fleet::rehearse`]), and what
//! the real run would do. Nothing is sent to the tenant but reads.

use super::{default_journal, fleet_error, named, render};
use crate::cli::{FleetArgs, FleetUpgradeArgs, GlobalArgs, OutputFormat, RehearseArgs};
use crate::context::{Context, UsageError, per_class, usage};
use crate::exit::ExitStatus;
use crate::output::{Report, Width};
use anyhow::Result;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use teamsapp_client::RateLimit;
use teamsapp_fleet::rehearse::{Prediction, Rehearsal};
use teamsapp_fleet::snapshot::TenantSpec;
use teamsapp_fleet::snapshot::{Resume, SnapshotOptions};
use teamsapp_fleet::{Options, Tenant};

/// `fleet upgrade --rehearse`: the upgrade's own options (canary, limits, batch) rehearsed.
pub(super) async fn upgrade(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    args: &FleetUpgradeArgs,
) -> Result<(Report, ExitStatus)> {
    if args.resume || args.dry_run {
        return usage(
            "--rehearse rehearses a new run: it cannot be combined with --resume or --dry-run",
        );
    }
    let Some(app) = &args.app else {
        return usage("--app is required");
    };
    let mut options = super::options(app, &args.fleet, global.concurrency)?;
    options.canary = args.canary;
    options.max_failures = args.max_failures;
    options.max_error_rate = args.max_error_rate;
    options.batch = args.batch;
    options.verify_timeout = std::time::Duration::from_secs(args.verify_timeout);
    run(
        ctx,
        global,
        &args.fleet,
        &args.rehearsal,
        options,
        args.journal.as_deref(),
    )
    .await
}

/// Rehearses `options` and renders the prediction.
pub(super) async fn run(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    fleet: &FleetArgs,
    rehearsal: &RehearseArgs,
    options: Options,
    journal: Option<&Path>,
) -> Result<(Report, ExitStatus)> {
    if fleet.tenants.is_some() {
        return usage(
            "--rehearse works on one tenant: rehearse each tenant of --tenants on its own",
        );
    }
    let progress = render::Progress::new(global.quiet);
    let rehearsal_fast = rehearsal.fast;
    let (spec, snapshot_path) = match &rehearsal.snapshot {
        Some(path) => (load(path)?, path.clone()),
        None => take(ctx, global, &options.app, &progress).await?,
    };
    let journal = match journal {
        Some(p) => p.to_owned(),
        None => renamed(
            &default_journal(Some(&options.app), false)?,
            "teamsapp-rehearsal-",
            "jsonl",
        ),
    };
    let mut rehearsal = Rehearsal::new(spec)
        .map_err(fleet_error)?
        .fast(rehearsal.fast);
    if let Some(rps) = global.rate {
        rehearsal = rehearsal.with_rate(if rps == 0 {
            RateLimit::disabled()
        } else {
            per_class(rps)
        });
    }
    tracing::info!(
        "rehearsing on the embedded emulator loaded with {} {}; nothing is sent to the tenant",
        snapshot_path.display(),
        if rehearsal_fast {
            "without throttling (--fast)"
        } else {
            "at Graph's Teams throttle limits"
        }
    );
    let prediction = rehearsal
        .run(options, &journal, progress.sink())
        .await
        .map_err(fleet_error)?;
    progress.finish();
    log(&prediction, &journal);
    let status = if prediction.summary.is_success() && prediction.plan.unreadable.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    let format = global
        .output
        .unwrap_or(if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    Ok((
        render(&prediction, &journal, format, Width::detect(global.wide))?,
        status,
    ))
}

/// A tenant file given with `--snapshot`; a file that is not one is refused with the reason.
fn load(path: &Path) -> Result<TenantSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
    TenantSpec::from_json(&text)
        .map_err(|e| UsageError(format!("{} is not a tenant file: {e}", path.display())).into())
}

/// A snapshot of the signed-in tenant with the app's installations, written next to the
/// journals so it can be rehearsed on again (`--snapshot`).
async fn take(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    app: &str,
    progress: &render::Progress,
) -> Result<(TenantSpec, PathBuf)> {
    let Some(ctx) = ctx else {
        return usage("no tenant to snapshot: sign in, or pass --snapshot FILE");
    };
    let tenant = Tenant {
        id: named(&ctx.client, &ctx.tenant).await?,
        client: ctx.client.clone(),
    };
    let mut options = SnapshotOptions::new([app]);
    options.concurrency = global.concurrency.max(1);
    options.tool = format!("teamsapp {}", crate::VERSION);
    let path = renamed(
        &default_journal(Some(app), false)?,
        "teamsapp-snapshot-",
        "json",
    );
    let progress_file = crate::commands::tenant::progress_path(&path, None);
    let snap = teamsapp_fleet::snapshot::snapshot(
        &tenant,
        &options,
        &progress_file,
        Resume::New,
        &progress.sink(),
    )
    .await
    .map_err(fleet_error)?;
    progress.finish();
    crate::commands::tenant::write_atomically(&path, &snap.spec.to_json())?;
    let _ = std::fs::remove_file(&progress_file);
    if !snap.is_complete() {
        tracing::warn!(
            "{} scope(s) could not be read: the rehearsal does not see their installations",
            snap.unreadable.len()
        );
    }
    tracing::info!(
        "snapshot of {} (reads only): {} installations of {app} in {} chats, {} teams, {} users; written to {}",
        tenant.id,
        snap.spec.installations.len(),
        snap.spec.chats.len(),
        snap.spec.teams.len(),
        snap.spec.users.len(),
        path.display()
    );
    Ok((snap.spec, path))
}

/// `teamsapp-fleet-<app>-<time>.jsonl` as `<prefix><app>-<time>.<ext>`.
fn renamed(journal: &Path, prefix: &str, ext: &str) -> PathBuf {
    let name = journal.to_string_lossy();
    let rest = name.strip_prefix("teamsapp-fleet-").unwrap_or(&name);
    PathBuf::from(format!("{prefix}{rest}")).with_extension(ext)
}

fn log(p: &Prediction, journal: &Path) {
    let e = &p.estimate;
    tracing::info!(
        "predicted: {} upgraded, {} failed, {} already current, {} not started; at the limit the real run takes about {} ({} GETs to discover at {}/s, then {} upgrades at {}/s with {} read-backs)",
        p.summary.count(teamsapp_fleet::State::Verified),
        p.summary.count(teamsapp_fleet::State::Failed),
        p.plan.count(teamsapp_fleet::Action::Current),
        p.summary.not_started,
        teamsapp_fleet::report::human_duration(
            u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX)
        ),
        e.discovery_reads,
        e.read_rate,
        e.upgrades,
        e.write_rate,
        e.verification_reads,
    );
    for c in &p.causes {
        tracing::warn!(
            "{} target(s) would fail: {}; fix: {}",
            c.targets,
            c.cause,
            c.fix
        );
    }
    if let Some(reason) = p.summary.stopped {
        tracing::warn!("the run would stop early: {}", reason.describe());
    }
    tracing::info!(
        "rehearsal journal: {} (teamsapp fleet report {} prints its report)",
        journal.display(),
        journal.display()
    );
}

/// Outcomes (with the cause and fix of each failure group), the estimate, and the fleet report:
/// tables one after the other, or one JSON object (`outcomes`, `estimate`, `report`,
/// `journal`); CSV prints the outcomes.
fn render(p: &Prediction, journal: &Path, format: OutputFormat, width: Width) -> Result<Report> {
    let mut outcomes = Report::list(&["outcome", "targets", "cause", "fix"]);
    let counts = p.counts();
    let mut failed_rows = p.causes.iter().map(|c| {
        crate::record! {
            "outcome" => "failed",
            "targets" => c.targets,
            "cause" => c.cause,
            "fix" => c.fix,
            "status" => c.status,
            "code" => c.code,
        }
    });
    for (name, key) in [
        ("upgraded and verified", "upgraded"),
        ("already current", "current"),
        ("skipped (gone)", "gone"),
        ("failed", "failed"),
        ("not started", "not started"),
    ] {
        let mut n = counts.get(key).copied().unwrap_or(0);
        if key == "gone" {
            n += counts.get("skipped").copied().unwrap_or(0);
        }
        if key == "failed" && !p.causes.is_empty() {
            for row in failed_rows.by_ref() {
                outcomes.push(row);
            }
            continue;
        }
        outcomes.push(crate::record! {"outcome" => name, "targets" => n, "cause" => Value::Null, "fix" => Value::Null});
    }
    let report = render::report(&p.report);
    let e = &p.estimate;
    let estimate = json!({
        "durationMs": u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX),
        "duration": teamsapp_fleet::report::human_duration(u64::try_from(e.duration.as_millis()).unwrap_or(u64::MAX)),
        "discoveryReads": e.discovery_reads,
        "upgrades": e.upgrades,
        "verificationReads": e.verification_reads,
        "readRate": e.read_rate,
        "writeRate": e.write_rate,
    });
    let text = match format {
        OutputFormat::Table => {
            let mut out = Vec::new();
            outcomes.render_with(format, width, &mut out)?;
            out.extend_from_slice(
                format!(
                    "estimated duration at the throttle limit: {} ({} GETs to discover at {}/s; {} upgrades at {}/s with {} read-backs)\nreport of the rehearsal (teamsapp fleet report {}):\n",
                    estimate["duration"].as_str().unwrap_or_default(),
                    e.discovery_reads,
                    e.read_rate,
                    e.upgrades,
                    e.write_rate,
                    e.verification_reads,
                    journal.display()
                )
                .as_bytes(),
            );
            report.render_with(format, width, &mut out)?;
            String::from_utf8_lossy(&out).into_owned()
        }
        OutputFormat::Csv => {
            let mut out = Vec::new();
            outcomes.render_with(format, width, &mut out)?;
            String::from_utf8_lossy(&out).into_owned()
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let whole = json!({
                "outcomes": outcomes.rows(),
                "estimate": estimate,
                "report": report.rows(),
                "journal": journal.display().to_string(),
            });
            if format == OutputFormat::Json {
                format!("{}\n", serde_json::to_string_pretty(&whole)?)
            } else {
                format!("{whole}\n")
            }
        }
    };
    Ok(Report::raw(text))
}
