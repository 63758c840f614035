//! `teamsapp tenant snapshot`: arguments in, [`teamsapp_fleet::snapshot`] reads, the file out.

use crate::cli::{GlobalArgs, TenantCommand, TenantSnapshotArgs};
use crate::context::{Context, UsageError, read_secret, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use anyhow::Result;
use std::path::{Path, PathBuf};
use teamsapp_fleet::Tenant;
use teamsapp_fleet::snapshot::{PseudonymKey, Resume, SnapshotOptions};

/// Runs a `tenant` command.
pub(crate) async fn run(
    ctx: &Context,
    global: &GlobalArgs,
    command: &TenantCommand,
) -> Result<(Report, ExitStatus)> {
    match command {
        TenantCommand::Snapshot(args) => snapshot(ctx, global, args).await,
    }
}

/// The progress journal of a snapshot written to `out`, unless named.
pub(crate) fn progress_path(out: &Path, progress: Option<&Path>) -> PathBuf {
    progress.map_or_else(
        || {
            let mut name = out.as_os_str().to_owned();
            name.push(".progress.jsonl");
            PathBuf::from(name)
        },
        Path::to_owned,
    )
}

fn options(global: &GlobalArgs, args: &TenantSnapshotArgs) -> Result<SnapshotOptions> {
    let mut options = if args.all_apps {
        SnapshotOptions::all_apps()
    } else {
        SnapshotOptions::new(args.apps.iter().cloned())
    };
    options.concurrency = global.concurrency.max(1);
    options.tool = format!("teamsapp {}", crate::VERSION);
    if args.pseudonymise {
        let Some(key) = read_secret("TEAMSAPP_PSEUDONYM_KEY", args.pseudonym_key_file.as_deref())?
        else {
            return usage(
                "--pseudonymise needs a key: set TEAMSAPP_PSEUDONYM_KEY or pass --pseudonym-key-file FILE",
            );
        };
        options.pseudonymise =
            Some(PseudonymKey::new(key.into_bytes()).map_err(|e| UsageError(e.to_string()))?);
    }
    Ok(options)
}

/// `teamsapp tenant snapshot`.
async fn snapshot(
    ctx: &Context,
    global: &GlobalArgs,
    args: &TenantSnapshotArgs,
) -> Result<(Report, ExitStatus)> {
    let options = options(global, args)?;
    if args.out.exists() && !args.resume {
        return usage(format!(
            "{} exists: choose another --out, or delete it first",
            args.out.display()
        ));
    }
    let progress_file = progress_path(&args.out, args.progress.as_deref());
    let tenant = Tenant {
        id: crate::fleet::named(&ctx.client, &ctx.tenant).await?,
        client: ctx.client.clone(),
    };
    let progress = crate::fleet::Progress::new(global.quiet);
    let resume = if args.resume {
        Resume::Continue
    } else {
        Resume::New
    };
    let snap = teamsapp_fleet::snapshot::snapshot(
        &tenant,
        &options,
        &progress_file,
        resume,
        &progress.sink(),
    )
    .await
    .map_err(crate::fleet::fleet_error)?;
    progress.finish();
    write_atomically(&args.out, &snap.spec.to_json())?;
    for s in snap.skipped.iter().take(20) {
        tracing::warn!("left out (its app or version is not in the catalog): {s}");
    }
    let status = if snap.is_complete() {
        // Nothing left to resume.
        let _ = std::fs::remove_file(&progress_file);
        tracing::info!(
            "snapshot of {} written to {}: {} users, {} chats, {} teams, {} installations ({} scopes read, {} from an earlier run)",
            tenant.id,
            args.out.display(),
            snap.spec.users.len(),
            snap.spec.chats.len(),
            snap.spec.teams.len(),
            snap.spec.installations.len(),
            snap.scopes_read,
            snap.scopes_resumed
        );
        ExitStatus::Success
    } else {
        tracing::error!(
            "{} scope(s) could not be read; their installations are missing from {}. Run the same command with --resume to read them again",
            snap.unreadable.len(),
            args.out.display()
        );
        ExitStatus::Failure
    };
    let spec = &snap.spec;
    let record = crate::record! {
        "file" => args.out.display().to_string(),
        "tenant" => tenant.id,
        "apps" => spec.snapshot.as_ref().map(|s| s.apps.clone()).unwrap_or_default(),
        "users" => spec.users.len(),
        "chats" => spec.chats.len(),
        "teams" => spec.teams.len(),
        "installations" => spec.installations.len(),
        "pseudonymised" => options.pseudonymise.is_some(),
        "scopesRead" => snap.scopes_read,
        "scopesResumed" => snap.scopes_resumed,
        "unreadableScopes" => snap.unreadable.len(),
        "skippedInstallations" => snap.skipped.len(),
    };
    Ok((
        Report::single(
            &[
                "file",
                "tenant",
                "apps",
                "users",
                "chats",
                "teams",
                "installations",
                "pseudonymised",
                "scopesRead",
                "scopesResumed",
                "unreadableScopes",
                "skippedInstallations",
            ],
            record,
        ),
        status,
    ))
}

/// Writes `text` to `path` through a new temporary file beside it (`O_EXCL`, so never through a
/// symbolic link), synced and renamed over it: a reader never sees half, and a symbolic link at
/// `path` is replaced, its target untouched.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let written = tempfile::Builder::new()
        .prefix(".teamsapp.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .and_then(|mut tmp| {
            tmp.write_all(text.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        });
    written.map_err(|e| UsageError(format!("writing {}: {e}", path.display())).into())
}
