//! The library behind the `teamsapp` command line: every installedApps operation in chats, teams
//! and personal scopes, the app catalog, fleet upgrades at the throttle limit, the local emulator,
//! sign-in and completions.
//!
//! The binary is a thin shim over [`main`]; [`run`] writes results to any writer, so tests and the
//! end-to-end harness drive the CLI without a process.

pub mod cli;
mod commands;
mod context;
mod embedded;
mod errors;
pub mod exit;
mod fleet;
pub mod output;
mod resolve;
mod token_cache;

pub use cli::Cli;
pub use exit::ExitStatus;

use anyhow::{Context as _, Result};
use cli::{Command, MockCommand, OutputFormat, ScopeCommand};
use context::{Context, Need, UsageError, usage};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use teamsapp_client::Scope;

/// The version of the `teamsapp` command line.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the command line to completion and maps the result to an exit code (see
/// [`cli::EXIT_CODES`]): errors are printed once, with Graph's code, message and request-id, and a
/// hint where one helps.
pub fn main(cli: Cli) -> ExitCode {
    init_tracing(cli.global.verbose, cli.global.quiet, cli.global.debug);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return report_error(&err.into()),
    };
    let mut out = std::io::stdout();
    match runtime.block_on(run(cli, &mut out)) {
        Ok(status) => status.into(),
        Err(err) => report_error(&err),
    }
}

#[allow(
    clippy::print_stderr,
    reason = "the one place the CLI reports a failed command"
)]
fn report_error(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {err:#}");
    if let Some(hint) = hint_for(err) {
        eprintln!("hint: {hint}");
    }
    exit_status_for(err).into()
}

/// What to do about an error, when its cause is a common one.
fn hint_for(err: &anyhow::Error) -> Option<String> {
    let text = format!("{err:#}");
    if text.contains("UnknownIssuer")
        || text.contains("invalid peer certificate")
        || text.contains("certificate verify failed")
    {
        return Some(
            "the server's TLS certificate is not trusted: pass --ca-cert FILE (or set \
             TEAMSAPP_CA_CERT) with the certificate that signed it; `teamsapp mock serve --tls` \
             prints its certificate's path"
                .into(),
        );
    }
    if text.contains("Connection refused") || text.contains("connection refused") {
        return Some(
            "nothing answers at that address: check --base-url and --authority (or \
             TEAMSAPP_BASE_URL), or start the emulator with `teamsapp mock serve`"
                .into(),
        );
    }
    let client = err
        .chain()
        .find_map(|e| e.downcast_ref::<teamsapp_client::Error>())?;
    match client.status().map(|s| s.as_u16()) {
        Some(401 | 403) => Some(
            "`teamsapp auth status` shows which credential this command used, and its roles or \
             scopes"
                .into(),
        ),
        _ => None,
    }
}

/// 0 success; 1 Graph answered an error or a named target does not exist; 2 usage and unexpected
/// errors (network down included); 3 sign-in and credential errors.
pub fn exit_status_for(err: &anyhow::Error) -> ExitStatus {
    if err
        .chain()
        .any(|e| e.downcast_ref::<context::CredentialError>().is_some())
    {
        return ExitStatus::Credentials;
    }
    if err
        .chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
    {
        return ExitStatus::Error;
    }
    if err
        .chain()
        .any(|e| e.downcast_ref::<context::NotFound>().is_some())
    {
        return ExitStatus::Failure;
    }
    let Some(client) = err
        .chain()
        .find_map(|e| e.downcast_ref::<teamsapp_client::Error>())
    else {
        return ExitStatus::Error;
    };
    match client {
        // The identity platform answered (wrong tenant, secret, client id, expired code), or the
        // credential could not be used: a sign-in error. A token request that got no answer is
        // the network's fault.
        teamsapp_client::Error::Auth { .. } if client.is_unanswered() => ExitStatus::Error,
        teamsapp_client::Error::Auth { .. } => ExitStatus::Credentials,
        _ if client.status().map(|s| s.as_u16()) == Some(401) => ExitStatus::Credentials,
        _ if client.status().is_some() || client.graph_error().is_some() => ExitStatus::Failure,
        _ => ExitStatus::Error,
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8, quiet: bool, debug: bool) {
    let default = match (quiet, verbose, debug) {
        (true, _, _) => "error",
        (false, 0, true) => "warn,teamsapp_cli=debug,teamsapp_client=debug",
        (false, 0, false) => "warn,teamsapp_cli=info",
        (false, 1, _) => "info",
        (false, 2, _) => "debug",
        (false, _, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs one command, writing its results to `out`.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<ExitStatus> {
    let format = cli
        .global
        .output
        .unwrap_or(if std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    let global = cli.global;
    let (report, status) = match cli.command {
        Command::Completions { shell } => {
            let mut cmd = cli::command();
            clap_complete::generate(shell, &mut cmd, "teamsapp", out);
            return Ok(ExitStatus::Success);
        }
        Command::Mock {
            command: MockCommand::Serve(args),
        } => {
            if global.emulator {
                return usage("`mock serve` is the emulator itself; drop --emulator");
            }
            #[cfg(feature = "emulator")]
            return commands::mock::serve(args, out).await;
            #[cfg(not(feature = "emulator"))]
            {
                let _ = args;
                return Err(embedded::missing("`mock serve`").into());
            }
        }
        Command::Auth { command } => commands::auth::run(&global, command).await?,
        // A report reads a local journal; a `--tenants` file carries each tenant's own
        // credentials: neither needs a global sign-in.
        Command::Fleet { command }
            if fleet::is_offline(&command)
                || (!global.emulator && fleet::has_tenants_file(&command)) =>
        {
            fleet::dispatch(None, &global, &command, format).await?
        }
        command => {
            // Publishing to the catalog is delegated-only in Graph: those commands need a user.
            let need = match &command {
                Command::Catalog {
                    command:
                        cli::CatalogCommand::Publish { zip, .. }
                        | cli::CatalogCommand::Update { zip, .. },
                } => {
                    // A broken package is reported before any sign-in is looked for.
                    commands::catalog::read_package(zip)?;
                    Need::Delegated
                }
                _ => Need::Any,
            };
            let ctx = Context::new(&global, need).await?;
            let result = dispatch(&ctx, &global, command, format).await;
            ctx.finish().await?;
            result?
        }
    };
    report
        .render_with(format, output::Width::detect(global.wide), out)
        .context("writing the output")?;
    out.flush().context("writing the output")?;
    Ok(status)
}

async fn dispatch(
    ctx: &Context,
    global: &cli::GlobalArgs,
    command: Command,
    format: OutputFormat,
) -> Result<(output::Report, ExitStatus)> {
    let scoped = |kind: &str, command: ScopeCommand| -> Result<(Scope, cli::AppsCommand)> {
        let ScopeCommand::Apps { command } = command;
        let id = match &command {
            cli::AppsCommand::List { scope_id, .. }
            | cli::AppsCommand::Get { scope_id, .. }
            | cli::AppsCommand::Install { scope_id, .. }
            | cli::AppsCommand::Upgrade { scope_id, .. }
            | cli::AppsCommand::Remove { scope_id, .. } => scope_id.clone(),
        };
        let scope = Scope::parse(kind, &id).map_err(UsageError)?;
        Ok((scope, command))
    };
    match command {
        Command::Chat { command } => {
            let (scope, command) = scoped("chat", command)?;
            commands::apps::run(ctx, scope, command).await
        }
        Command::Team { command } => {
            let (scope, command) = scoped("team", command)?;
            commands::apps::run(ctx, scope, command).await
        }
        Command::User { command } => {
            let (scope, command) = scoped("user", command)?;
            commands::apps::run(ctx, scope, command).await
        }
        Command::Catalog { command } => commands::catalog::run(ctx, command).await,
        Command::Fleet { command } => fleet::dispatch(Some(ctx), global, &command, format).await,
        Command::Tenant { command } => commands::tenant::run(ctx, global, &command).await,
        Command::Completions { .. } | Command::Mock { .. } | Command::Auth { .. } => {
            unreachable!("handled before a client is built")
        }
    }
}
