//! `teamsapp fleet plan|upgrade`: arguments in, [`teamsapp_fleet`] does the work, results out.

#[cfg(feature = "emulator")]
mod rehearse;
mod render;

pub(crate) use render::Progress;

use crate::cli::FleetCommand;
use crate::cli::{
    FleetArgs, FleetPlanArgs, FleetScope, FleetUpgradeArgs, GlobalArgs, OutputFormat,
};
use crate::context::{Context, UsageError, base_builder, per_class, read_secret, tune, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use anyhow::{Context as _, Result};
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use teamsapp_client::ClientSecretCredential;
use teamsapp_fleet::{Fleet, InstallationScope, Options, Replay, Tenant};

/// One tenant of a `--tenants` file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantEntry {
    tenant: String,
    client_id: String,
    #[serde(default)]
    client_secret_file: Option<PathBuf>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    authority: Option<String>,
    /// Requests per second per operation class for this tenant's client (its own throttle
    /// limit); default: `--rate`, else Graph's published Teams limits.
    #[serde(default)]
    rate: Option<u32>,
}

/// Whether the command names a `--tenants` file (whose entries carry their own credentials).
pub(crate) fn has_tenants_file(command: &FleetCommand) -> bool {
    match command {
        FleetCommand::Plan(a) => a.fleet.tenants.is_some(),
        FleetCommand::Upgrade(a) => a.fleet.tenants.is_some(),
        FleetCommand::Report(_) => false,
    }
}

/// Whether the command needs no sign-in at all (it reads only local files).
pub(crate) fn is_offline(command: &FleetCommand) -> bool {
    match command {
        FleetCommand::Report(_) => true,
        // A rehearsal on a snapshot file reads nothing from the tenant.
        FleetCommand::Plan(a) => a.rehearsal.snapshot.is_some(),
        FleetCommand::Upgrade(a) => a.rehearsal.snapshot.is_some(),
    }
}

/// `teamsapp fleet report`.
fn report(args: &crate::cli::FleetReportArgs) -> Result<(Report, ExitStatus)> {
    let report = teamsapp_fleet::FleetReport::from_journal(&args.journal).map_err(fleet_error)?;
    if let Some(path) = &args.html {
        crate::commands::tenant::write_atomically(path, &report.to_html())?;
        tracing::info!("wrote {}", path.display());
    }
    Ok((render::report(&report), ExitStatus::Success))
}

/// Runs a fleet command; `ctx` is the global sign-in, absent when a `--tenants` file has the
/// credentials.
pub(crate) async fn dispatch(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    command: &FleetCommand,
    format: OutputFormat,
) -> Result<(Report, ExitStatus)> {
    match command {
        FleetCommand::Plan(args) => plan(ctx, global, args).await,
        FleetCommand::Upgrade(args) => upgrade(ctx, global, args, format).await,
        FleetCommand::Report(args) => report(args),
    }
}

/// The tenants of a fleet run: the context's own, or each of a `--tenants` file, each with its
/// own credential and throttle budget, named by the tenant id in their tokens.
async fn tenants(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    file: Option<&Path>,
) -> Result<Vec<Tenant>> {
    let Some(file) = file else {
        let Some(ctx) = ctx else {
            return usage("no tenant to work in: sign in, or pass --tenants FILE");
        };
        let id = named(&ctx.client, &ctx.tenant).await?;
        return Ok(vec![Tenant {
            id,
            client: ctx.client.clone(),
        }]);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("reading {}: {e}", file.display())))?;
    let entries: Vec<TenantEntry> = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{} is not a tenants file: {e}", file.display())))?;
    if entries.is_empty() {
        return usage(format!("{} lists no tenants", file.display()));
    }
    let (default_base, default_authority) = match ctx.and_then(|c| c.emulator.as_ref()) {
        Some(emulator) => (
            Some(emulator.graph_url()),
            Some(emulator.authority().to_owned()),
        ),
        None => (global.base_url.clone(), global.authority.clone()),
    };
    let mut out = Vec::new();
    for e in entries {
        let secret = match (&e.client_secret_env, &e.client_secret_file) {
            (Some(var), _) => std::env::var(var).ok().filter(|v| !v.is_empty()),
            (None, Some(path)) => read_secret("", Some(path))?,
            (None, None) => None,
        };
        let Some(secret) = secret else {
            return usage(format!(
                "tenant {}: set clientSecretEnv (to a variable that is set) or clientSecretFile",
                e.tenant
            ));
        };
        let authority = e
            .authority
            .or_else(|| default_authority.clone())
            .unwrap_or_else(|| "https://login.microsoftonline.com".into());
        let mut builder = tune(base_builder(global)?, global)?;
        if let Some(rps) = e.rate {
            builder = builder.rate_limit(per_class(rps));
        }
        let mut builder = builder
            .authority(authority.clone())
            .tenant(e.tenant.clone())
            .credential(
                ClientSecretCredential::new(e.tenant.clone(), e.client_id, secret)
                    .with_authority(authority),
            );
        if let Some(base) = e.base_url.or_else(|| default_base.clone()) {
            builder = builder.base_url(base);
        }
        let client = builder
            .build()
            .with_context(|| format!("tenant {}", e.tenant))?;
        let id = named(&client, &e.tenant).await?;
        out.push(Tenant { id, client });
    }
    Ok(out)
}

/// The tenant id a journal records: the token's `tid`, else the configured tenant.
pub(crate) async fn named(client: &teamsapp_client::Client, configured: &str) -> Result<String> {
    let tid = teamsapp_fleet::tenant_id_of(client)
        .await
        .map_err(anyhow::Error::new)?;
    match tid {
        Some(tid) => Ok(tid),
        None if !configured.is_empty() => Ok(configured.to_owned()),
        None => usage(
            "cannot tell which tenant the token is for (it names none): pass --tenant or set TEAMSAPP_TENANT",
        ),
    }
}

pub(crate) fn options(app: &str, args: &FleetArgs, concurrency: usize) -> Result<Options> {
    let mut o = Options::new(app);
    o.scopes = args
        .scope
        .iter()
        .map(|s| match s {
            FleetScope::Chats => InstallationScope::Chat,
            FleetScope::Teams => InstallationScope::Team,
            FleetScope::Users => InstallationScope::User,
        })
        .collect();
    o.concurrency = concurrency.max(1);
    o.tool = format!("teamsapp {}", crate::VERSION);
    if let Some(path) = &args.targets {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| UsageError(format!("reading targets from stdin: {e}")))?
        } else {
            std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?
        };
        o.targets = Some(
            teamsapp_fleet::parse_targets(&text)
                .map_err(|e| UsageError(format!("{}: {e}", path.display())))?,
        );
    }
    Ok(o)
}

/// A library error as the CLI reports it: an unknown app exits 1 (with a suggestion, as the
/// other commands do), usage problems 2, Graph's answers 1.
pub(crate) fn fleet_error(e: teamsapp_fleet::Error) -> anyhow::Error {
    if let teamsapp_fleet::Error::AppNotFound { known, name, .. } = &e {
        let hint = crate::resolve::did_you_mean(name, known.iter().map(String::as_str));
        return crate::context::NotFound(format!("{e}{hint}")).into();
    }
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        anyhow::Error::new(e)
    }
}

fn fleet(tenants: Vec<Tenant>, options: Options, progress: &render::Progress) -> Result<Fleet> {
    Ok(Fleet::new(tenants, options)
        .map_err(fleet_error)?
        .with_events(progress.sink()))
}

/// `teamsapp fleet plan`.
async fn plan(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    args: &FleetPlanArgs,
) -> Result<(Report, ExitStatus)> {
    let options = options(&args.app, &args.fleet, global.concurrency)?;
    if args.rehearsal.rehearse {
        #[cfg(feature = "emulator")]
        return rehearse::run(ctx, global, &args.fleet, &args.rehearsal, options, None).await;
        #[cfg(not(feature = "emulator"))]
        return no_emulator();
    }
    let tenants = tenants(ctx, global, args.fleet.tenants.as_deref()).await?;
    let progress = render::Progress::new(global.quiet);
    let fleet = fleet(tenants, options, &progress)?;
    let plan = fleet.plan().await.map_err(fleet_error)?;
    progress.finish();
    let status = if plan.unreadable.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    Ok((render::plan(&plan), status))
}

/// `--rehearse` in a build without the embedded emulator.
#[cfg(not(feature = "emulator"))]
fn no_emulator() -> Result<(Report, ExitStatus)> {
    usage(
        "--rehearse needs the embedded emulator, which this build of teamsapp leaves out (cargo feature `emulator`)",
    )
}

/// `teamsapp-fleet-<app>-<UTC time>.jsonl` in the current directory; with `--resume`, the newest
/// such journal.
pub(crate) fn default_journal(app: Option<&str>, resume: bool) -> Result<PathBuf> {
    let Some(app) = app else {
        return usage("--resume without --app needs --journal FILE");
    };
    let slug: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let prefix = format!("teamsapp-fleet-{slug}-");
    if resume {
        let newest = std::fs::read_dir(".")
            .map_err(|e| UsageError(format!("--resume: reading the current directory: {e}")))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| {
                name.starts_with(&prefix)
                    && Path::new(name)
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
            })
            .max();
        return match newest {
            Some(name) => Ok(name.into()),
            None => usage(format!(
                "--resume: no {prefix}*.jsonl journal here; pass --journal FILE"
            )),
        };
    }
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    Ok(format!("{prefix}{stamp}.jsonl").into())
}

/// Whether the user agreed, on a terminal.
fn confirm(question: &str) -> Result<bool> {
    #[allow(
        clippy::print_stderr,
        reason = "the question is for the person at the terminal"
    )]
    {
        eprint!("{question} [y/N] ");
    }
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// `teamsapp fleet upgrade`.
async fn upgrade(
    ctx: Option<&Context>,
    global: &GlobalArgs,
    args: &FleetUpgradeArgs,
    format: OutputFormat,
) -> Result<(Report, ExitStatus)> {
    if args.rehearsal.rehearse {
        #[cfg(feature = "emulator")]
        return rehearse::upgrade(ctx, global, args).await;
        #[cfg(not(feature = "emulator"))]
        return no_emulator();
    }
    // Refuse before any discovery: off a terminal nobody can answer the question.
    if !args.yes && !args.dry_run && !std::io::stdin().is_terminal() {
        return usage(
            "refusing to upgrade without confirmation when standard input is not a terminal: pass --yes",
        );
    }
    let journal_path = match &args.journal {
        Some(path) => path.clone(),
        None => default_journal(args.app.as_deref(), args.resume)?,
    };
    // A resumed run takes its app from the journal unless told, and checks it either way.
    let app = if args.resume {
        let replay = Replay::read(&journal_path).map_err(fleet_error)?;
        args.app.clone().unwrap_or(replay.header.app)
    } else {
        match &args.app {
            Some(app) => app.clone(),
            None => return usage("--app is required (except with --resume)"),
        }
    };
    let mut options = options(&app, &args.fleet, global.concurrency)?;
    options.canary = args.canary;
    options.max_failures = args.max_failures;
    options.max_error_rate = args.max_error_rate;
    options.batch = args.batch;
    options.verify_timeout = std::time::Duration::from_secs(args.verify_timeout);
    let tenants = tenants(ctx, global, args.fleet.tenants.as_deref()).await?;
    let progress = render::Progress::new(global.quiet);
    let fleet = fleet(tenants, options, &progress)?;
    let stopper = fleet.stopper();
    // Ctrl-C while upgrading: start nothing more, let what is in flight finish and be journaled.
    // Ctrl-C before that (discovery, planning): every scope read is journaled as it goes, so
    // stopping at once loses nothing; say how to continue.
    let upgrading = progress.upgrading();
    let hint_now = if args.dry_run {
        None
    } else {
        resume_hint(&journal_path, ctx.is_some_and(|c| c.emulator.is_some()))
    };
    let journal_now = journal_path.clone();
    let interrupted = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            if upgrading.load(std::sync::atomic::Ordering::SeqCst) {
                stopper.stop();
            } else {
                match &hint_now {
                    Some(hint) if journal_now.exists() => tracing::warn!(
                        "interrupted before any upgrade was sent; continue with: {hint}"
                    ),
                    _ => tracing::warn!("interrupted before any upgrade was sent"),
                }
                std::process::exit(130);
            }
        }
    });

    let summary = if args.resume {
        if !args.yes && !confirm(&format!("Continue the run of {}?", journal_path.display()))? {
            return usage("cancelled");
        }
        fleet.resume(&journal_path).await.map_err(fleet_error)?
    } else {
        if args.dry_run {
            let plan = fleet.plan().await.map_err(fleet_error)?;
            progress.finish();
            return Ok((render::plan(&plan), ExitStatus::Success));
        }
        // Discovery is journaled as it goes: a crash while discovering resumes where it stopped.
        let prepared = fleet.prepare(&journal_path).await.map_err(fleet_error)?;
        progress.finish();
        let plan = &prepared.plan;
        let behind = plan.count(teamsapp_fleet::Action::Upgrade);
        if behind == 0 {
            render::Progress::nothing_to_do(plan);
        }
        if behind > 0 && !args.yes {
            let app = &plan.apps[0];
            let question = format!(
                "Upgrade {behind} installation(s) of {} to {} in {} tenant(s)?",
                app.name,
                app.latest,
                plan.apps.len()
            );
            if !confirm(&question)? {
                return usage(format!(
                    "cancelled: nothing was upgraded (the plan is in {})",
                    journal_path.display()
                ));
            }
        }
        fleet.upgrade(prepared).await.map_err(fleet_error)?
    };
    interrupted.abort();
    progress.finish();
    let hint = resume_hint(&summary.journal, ctx.is_some_and(|c| c.emulator.is_some()));
    render::summary_log(&summary, hint.as_deref());
    let status = if summary.is_success() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    Ok((render::summary(&summary, format), status))
}

/// The command that continues this run, exactly as it can be pasted: this invocation's
/// arguments, with `--resume --journal FILE` in place of any journal and dry-run options.
fn resume_hint(journal: &Path, embedded: bool) -> Option<String> {
    if embedded {
        return None;
    }
    let journal = std::path::absolute(journal).unwrap_or_else(|_| journal.to_owned());
    let mut args: Vec<String> = Vec::new();
    let mut skip_value = false;
    for arg in std::env::args_os() {
        let arg = arg.to_string_lossy().into_owned();
        if std::mem::take(&mut skip_value) {
            continue;
        }
        match arg.as_str() {
            "--journal" => skip_value = true,
            "--resume" | "--dry-run" => {}
            a if a.starts_with("--journal=") => {}
            _ => args.push(arg),
        }
    }
    args.push("--resume".into());
    args.push("--journal".into());
    args.push(journal.to_string_lossy().into_owned());
    Some(
        args.iter()
            .map(|a| shlex::try_quote(a).map_or_else(|_| a.clone(), std::borrow::Cow::into_owned))
            .collect::<Vec<_>>()
            .join(" "),
    )
}
