//! The command line, as clap types. Behaviour lives in `commands`; this module only describes.

#![allow(
    clippy::doc_markdown,
    rustdoc::bare_urls,
    reason = "doc comments here are --help text, shown verbatim"
)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Exit codes and the credential precedence, shown at the end of `teamsapp --help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the command ran, and some targets failed or Graph answered an error (not found, forbidden, conflict);
     with --rehearse: some targets would fail; tenant snapshot: some scopes could not be read
  2  usage error or unexpected error (bad arguments, unreadable files, network down)
  3  sign-in or credential error (no credentials, wrong tenant, secret or client id, expired sign-in)

Credentials, first match wins (`teamsapp auth status` shows which one a command would use, and why):
  1. TEAMSAPP_TOKEN or --token-file: that access token, as is
  2. catalog publish|update only: the delegated sign-in cached by `teamsapp auth login --device-code`
     (they need a user; an app credential is never tried for them)
  3. TEAMSAPP_CLIENT_SECRET or --client-secret-file, with --tenant and --client-id: the app itself
  4. the sign-in cached by `teamsapp auth login` (delegated or app)
  With --emulator: the emulator's demo app, and its demo user (Adele) where a user is needed.

Secrets are read from the environment (TEAMSAPP_CLIENT_SECRET, TEAMSAPP_TOKEN) or from files
(--client-secret-file, --token-file), never from arguments.";

/// Keep Microsoft Teams apps up to date where they are installed, through Microsoft Graph.
#[derive(Debug, Parser)]
#[command(name = "teamsapp", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options (accepted by every command)")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is a command-line switch"
)]
pub struct GlobalArgs {
    /// Start the embedded emulator with its demo tenant in-process and point everything at it
    /// (no credentials, no network).
    #[arg(long, global = true)]
    pub emulator: bool,

    /// The national cloud (default global); usgov is also accepted as usgovl4, usgovdod as
    /// usgovl5 or dod.
    #[arg(long, global = true, env = "TEAMSAPP_CLOUD", value_name = "CLOUD", value_parser = cloud_names(), ignore_case = true)]
    pub cloud: Option<String>,

    /// Graph's base URL including the version (default: the cloud's, e.g. https://graph.microsoft.com/v1.0).
    #[arg(long, global = true, env = "TEAMSAPP_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// The login authority (default: the cloud's, e.g. https://login.microsoftonline.com; with a
    /// --base-url outside the known clouds, such as `teamsapp mock serve`, that URL's origin).
    #[arg(long, global = true, env = "TEAMSAPP_AUTHORITY", value_name = "URL")]
    pub authority: Option<String>,

    /// The tenant id or domain.
    #[arg(long, global = true, env = "TEAMSAPP_TENANT", value_name = "TENANT")]
    pub tenant: Option<String>,

    /// The app registration's application (client) id, a GUID.
    #[arg(long, global = true, env = "TEAMSAPP_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// Also trust this PEM certificate (e.g. the one `teamsapp mock serve --tls` writes).
    #[arg(long, global = true, env = "TEAMSAPP_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Read the client secret from this file (or set TEAMSAPP_CLIENT_SECRET).
    #[arg(long, global = true, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Read an access token from this file (or set TEAMSAPP_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Output format (default: table on a terminal, JSON otherwise).
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<OutputFormat>,

    /// More logging (-v info, -vv debug: every request, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr, no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log every request on stderr: method, URL, status, duration, request-id, retries and
    /// throttle waits (never a token or secret).
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub debug: bool,

    /// Tables: show every column at full width instead of fitting the terminal.
    #[arg(long, global = true)]
    pub wide: bool,

    /// Requests per second per tenant and operation class; 0 turns the client-side limit off
    /// (default: Graph's published Teams limits, 30 rps, 15 for DELETE).
    #[arg(long, global = true, value_name = "RPS")]
    pub rate: Option<u32>,

    /// Requests in flight at once.
    #[arg(long, global = true, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,

    /// Attempts per request before giving up (throttling and transient errors).
    #[arg(long, global = true, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Total seconds one request may spend retrying.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub retry_budget: Option<u64>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apps installed in a chat.
    Chat {
        /// What to do with the chat's apps.
        #[command(subcommand)]
        command: ScopeCommand,
    },
    /// Apps installed in a team.
    Team {
        /// What to do with the team's apps.
        #[command(subcommand)]
        command: ScopeCommand,
    },
    /// Apps installed in a user's personal scope.
    User {
        /// What to do with the user's apps.
        #[command(subcommand)]
        command: ScopeCommand,
    },
    /// The tenant's app catalog.
    Catalog {
        /// What to do with the catalog.
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Find every installation of an app and upgrade those behind, at the throttle limit.
    Fleet {
        /// Plan or upgrade.
        #[command(subcommand)]
        command: FleetCommand,
    },
    /// Read a tenant into a tenant file (a snapshot) the emulator loads, to rehearse on.
    Tenant {
        /// What to do with the tenant.
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// The local Graph emulator.
    Mock {
        /// What to do with the emulator.
        #[command(subcommand)]
        command: MockCommand,
    },
    /// Sign in, show or forget tokens.
    Auth {
        /// What to do.
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `chat|team|user apps …`.
#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// The apps installed in this chat, team or user.
    Apps {
        /// The operation.
        #[command(subcommand)]
        command: AppsCommand,
    },
}

/// The installedApps operations of one scope.
#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// List the installed apps, with their app and version.
    List {
        /// The chat id, team id, or user id or UPN.
        scope_id: String,
        /// An OData filter, e.g. "teamsApp/externalId eq '…'".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one installation.
    Get {
        /// The chat id, team id, or user id or UPN.
        scope_id: String,
        /// The installation id, or the app's catalog id, externalId or display name.
        installation: String,
    },
    /// Install an app from the catalog.
    Install {
        /// The chat id, team id, or user id or UPN.
        scope_id: String,
        /// The app's catalog id, externalId or display name.
        app: String,
        /// Resource-specific consent to grant.
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// Upgrade an installation to the catalog's latest published version.
    Upgrade {
        /// The chat id, team id, or user id or UPN.
        scope_id: String,
        /// The installation id, or the app's catalog id, externalId or display name.
        installation: String,
        /// Resource-specific consent to grant.
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// Uninstall an app (asks first on a terminal).
    Remove {
        /// The chat id, team id, or user id or UPN.
        scope_id: String,
        /// The installation id, or the app's catalog id, externalId or display name.
        installation: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

/// Resource-specific permissions consented to on install or upgrade.
#[derive(Debug, Args, Default)]
pub struct ConsentArgs {
    /// A JSON file holding a teamsAppPermissionSet (`{"resourceSpecificPermissions":[…]}`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rsc", "consent_required"])]
    pub consent_file: Option<PathBuf>,
    /// One permission as TYPE:NAME, e.g. application:ChatMember.Read.Chat (repeatable).
    #[arg(long, value_name = "TYPE:NAME")]
    pub rsc: Vec<String>,
    /// Consent to exactly what the catalog's new version requires.
    #[arg(long)]
    pub consent_required: bool,
}

/// `catalog …`.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List the catalog's apps.
    List {
        /// An OData filter, e.g. "distributionMethod eq 'organization'".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one app and its versions.
    Get {
        /// The app's catalog id, externalId or display name.
        app: String,
    },
    /// Publish a new app from its package (a zip holding manifest.json).
    Publish {
        /// The app package.
        zip: PathBuf,
        /// Submit for admin review instead of publishing at once.
        #[arg(long)]
        requires_review: bool,
    },
    /// Publish a new version of an app.
    Update {
        /// The app's catalog id, externalId or display name.
        app: String,
        /// The new version's package.
        zip: PathBuf,
        /// Submit for admin review instead of publishing at once.
        #[arg(long)]
        requires_review: bool,
    },
}

/// `fleet plan|upgrade`.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Show what an upgrade would change, with version diffs and the consent each target needs
    /// (its output, in any format, is valid --targets input).
    Plan(FleetPlanArgs),
    /// Upgrade every installation behind the catalog, verify each, and journal every step.
    Upgrade(FleetUpgradeArgs),
    /// Summarise a run from its journal for the change ticket: per tenant and scope, counts by
    /// state, durations, throttling and failures by Graph error code with request-ids.
    Report(FleetReportArgs),
}

/// `fleet report` options.
#[derive(Debug, Args)]
pub struct FleetReportArgs {
    /// The run's journal.
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Also write one self-contained HTML page (charts of upgrades and 429s over time, the
    /// failure table) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `fleet plan` options.
#[derive(Debug, Args)]
pub struct FleetPlanArgs {
    /// The app: catalog id, externalId or display name.
    #[arg(long)]
    pub app: String,
    /// Which installations.
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Rehearse on a snapshot instead.
    #[command(flatten)]
    pub rehearsal: RehearseArgs,
}

/// `--rehearse`: the run against the embedded emulator loaded with a snapshot of the tenant.
#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Do not touch the tenant: snapshot it (reads only), run the same plan and engine against
    /// the embedded emulator loaded with the snapshot at Graph's throttle limits, and print what
    /// the real run would do: counts by outcome, failures by cause with the fix, the duration at
    /// the limit, and the `fleet report`. Exits 1 when it predicts failures.
    #[arg(long)]
    pub rehearse: bool,
    /// Rehearse on this snapshot (`teamsapp tenant snapshot`) instead of taking one; needs no
    /// sign-in.
    #[arg(long, value_name = "FILE", requires = "rehearse")]
    pub snapshot: Option<PathBuf>,
    /// Rehearse without throttling: minutes instead of the hours a large run takes. The
    /// estimate still uses the real limits; 429s and waits are not rehearsed.
    #[arg(long, requires = "rehearse")]
    pub fast: bool,
}

/// `tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Read the tenant through Graph (GETs only, at the throttle limit) into a tenant file that
    /// `mock serve --tenant-file` and `fleet upgrade --rehearse --snapshot` load: the catalog,
    /// users, chats (members as ids), teams, and the installations of the chosen apps. Never
    /// secrets, never message content. Progress is journaled: after a crash or kill, run the
    /// same command with --resume.
    Snapshot(TenantSnapshotArgs),
}

/// `tenant snapshot` options.
#[derive(Debug, Args)]
pub struct TenantSnapshotArgs {
    /// An app whose installations to read: catalog id, externalId or display name (repeatable).
    #[arg(long = "app", value_name = "APP", required_unless_present = "all_apps")]
    pub apps: Vec<String>,
    /// Read the installations of every app in the catalog.
    #[arg(long, conflicts_with = "apps")]
    pub all_apps: bool,
    /// The tenant file to write (refused if it exists, except with --resume).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The progress journal (default: the --out file with `.progress.jsonl` appended).
    #[arg(long, value_name = "FILE")]
    pub progress: Option<PathBuf>,
    /// Continue the snapshot its progress journal records (one of another tenant, endpoint,
    /// app choice or pseudonym key is refused).
    #[arg(long)]
    pub resume: bool,
    /// Replace display names, UPNs, mail and chat topics by stable pseudonyms keyed by the
    /// secret in TEAMSAPP_PSEUDONYM_KEY or --pseudonym-key-file (the same key gives the same
    /// pseudonyms); ids are kept so a plan maps back.
    #[arg(long)]
    pub pseudonymise: bool,
    /// Read the pseudonym key (at least 16 bytes) from this file.
    #[arg(long, value_name = "FILE", requires = "pseudonymise")]
    pub pseudonym_key_file: Option<PathBuf>,
}

/// Which installations a fleet command works on.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Where to look: any of chats, teams, users.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "chats,teams,users"
    )]
    pub scope: Vec<FleetScope>,
    /// Use these targets instead of discovering them: what `fleet plan` prints (JSON, NDJSON or
    /// CSV), or rows of `scope,scope-id[,installation-id]`; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// Run over several tenants: a JSON file of `[{"tenant", "clientId", "clientSecretFile"|"clientSecretEnv", "baseUrl"?, "authority"?, "rate"?}]`
    /// (`rate`: that tenant's requests per second per operation class).
    #[arg(long, value_name = "FILE")]
    pub tenants: Option<PathBuf>,
}

/// `fleet upgrade` options.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is a command-line switch"
)]
pub struct FleetUpgradeArgs {
    /// The app: catalog id, externalId or display name (with --resume: the journal's app).
    #[arg(long, required_unless_present = "resume")]
    pub app: Option<String>,
    /// Which installations.
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Print the plan and stop.
    #[arg(long, conflicts_with = "resume")]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// The journal file (JSON lines); default: teamsapp-fleet-APP-TIME.jsonl here (with --resume,
    /// the newest such file).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Continue the run recorded in the journal: nothing is upgraded twice, nothing is skipped.
    /// A journal of another app, tenant or Graph endpoint is refused.
    #[arg(long)]
    pub resume: bool,
    /// Upgrade and verify this many targets first, and stop if any fails.
    #[arg(long, value_name = "N")]
    pub canary: Option<usize>,
    /// Never let more than this many targets fail (fewer start at once as the limit nears).
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
    /// Never let the failed fraction of finished targets exceed this (judged over at least 20).
    #[arg(long, value_name = "FRACTION")]
    pub max_error_rate: Option<f64>,
    /// Send upgrades in JSON batches of up to 20.
    #[arg(long)]
    pub batch: bool,
    /// Seconds to wait for each upgraded target to read back at the new version.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub verify_timeout: u64,
    /// Rehearse instead of upgrading.
    #[command(flatten)]
    pub rehearsal: RehearseArgs,
}

/// Where fleet discovery looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum FleetScope {
    /// Every chat of every user.
    Chats,
    /// Every team.
    Teams,
    /// Every user's personal scope.
    Users,
}

/// `mock …`.
#[derive(Debug, Subcommand)]
pub enum MockCommand {
    /// Serve the emulator until Ctrl-C; the first line on stdout holds its base URL.
    Serve(MockServeArgs),
}

/// `mock serve` options.
#[derive(Debug, Args)]
pub struct MockServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: String,
    /// Load this tenant file (JSON, see the emulator's docs) instead of the demo tenant; a
    /// reset (`POST /_emulator/reset`) reads it again.
    #[arg(long, value_name = "FILE", conflicts_with = "fleet")]
    pub tenant_file: Option<PathBuf>,
    /// Load a generated demo fleet: Contoso Tasks 1.0.0 installed in N chats (benchmarks, tests).
    #[arg(long, value_name = "N")]
    pub fleet: Option<usize>,
    /// Throttle every operation class at this many requests per second per app and tenant;
    /// 0 turns throttling off (default: the published Teams limits). The per-team limit of 4
    /// requests per second per app, and the app's limits across all tenants (600 reads, 300
    /// writes and patches, 150 deletes per second), stay unless throttling is off.
    #[arg(long, value_name = "RPS")]
    pub throttle: Option<f64>,
    /// Inject this fraction of faults (429, 503 and 504 in equal parts), e.g. 0.2.
    #[arg(long, value_name = "FRACTION")]
    pub faults: Option<f64>,
    /// The `Retry-After` of injected 429s and 503s, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub fault_retry_after: u64,
    /// Keep state in this directory; acknowledged changes survive a crash. It holds the
    /// token-signing key, so it is made 0700 and its store (emulator.redb) 0600; an existing one
    /// open to other users is fixed, with a warning. An empty or foreign store, or a damaged
    /// event (each carries a checksum), stops the start with a message naming it.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Recover a --data-dir store with a damaged event: keep the events before it, delete it and
    /// every later one (the warning says how many), then start. A damaged signing key is
    /// replaced, so earlier tokens stop working.
    #[arg(long, requires = "data_dir")]
    pub truncate_damaged: bool,
    /// Serve HTTPS with a generated self-signed certificate (written next to the data).
    #[arg(long)]
    pub tls: bool,
    /// Seed for injected faults and generated ids.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Also answer as this public origin (`https://host:port`), e.g. a name the emulator is
    /// reached by beyond loopback: its host passes the `Host` check (which refuses other names,
    /// against DNS rebinding) and it is accepted as a token audience and an admin `Origin`.
    /// Repeatable. IP addresses and `localhost` always pass.
    #[arg(long = "origin", value_name = "URL")]
    pub origins: Vec<String>,
    /// Let the published demo client secrets sign in when listening beyond loopback (anyone who
    /// can reach the port knows them; refused there by default).
    #[arg(long)]
    pub allow_demo_credentials: bool,
    /// Read the admin API's key from this file (its first line). Without it, the
    /// TEAMSAPP_EMULATOR_ADMIN_KEY environment variable is used. On loopback the admin API needs
    /// no key; beyond loopback without one, a random key is generated and printed.
    #[arg(long, value_name = "FILE")]
    pub admin_key_file: Option<PathBuf>,
    /// The most connections open at once; above it a new connection is answered 503 (closed,
    /// over HTTPS) while open ones keep being served (default: the open-file limit less a
    /// reserve, at most 10,000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// How long a client may take to send a request's line and headers, counted from when the
    /// connection starts waiting for one: so also how long a kept-alive connection may sit idle.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Close a connection that neither reads nor writes a byte for this long (a client that
    /// stopped reading, a stalled body).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
}

/// `auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in with the device code flow (delegated) or check the client secret, and cache the token.
    Login {
        /// Use the device code flow (a user signs in in a browser).
        #[arg(long)]
        device_code: bool,
    },
    /// Print the cached access token and a newline, nothing else (renewed first when it expires
    /// within five minutes and the client secret is at hand).
    Token,
    /// Show the tenant, client id, which credential a command would use and why, user or app,
    /// roles or scopes, and expiry.
    Status,
    /// Forget cached tokens.
    Logout,
}

/// The accepted `--cloud` names, with their aliases.
fn cloud_names() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    clap::builder::PossibleValuesParser::new([
        PossibleValue::new("global").help("graph.microsoft.com"),
        PossibleValue::new("usgov")
            .alias("usgovl4")
            .help("US Government L4 (GCC High), graph.microsoft.us"),
        PossibleValue::new("usgovdod")
            .aliases(["usgovl5", "dod"])
            .help("US Government L5 (DoD), dod-graph.microsoft.us"),
        PossibleValue::new("china").help("operated by 21Vianet, microsoftgraph.chinacloudapi.cn"),
    ])
}

/// The `Examples:` of each leaf command, keyed by its path below `teamsapp`. `{scope}` and
/// `{id}` are filled in per scope kind (chat, team, user) with a real id of the demo tenant.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "apps list",
        "teamsapp {scope} apps list {id}\n  teamsapp {scope} apps list {id} -o csv --filter \"teamsApp/displayName eq 'Contoso Tasks'\"\n  teamsapp --emulator {scope} apps list {id}",
    ),
    (
        "apps get",
        "teamsapp {scope} apps get {id} \"Contoso Tasks\"\n  teamsapp {scope} apps get {id} 0d820ecd-def2-4297-adad-78056cde7c78 -o json",
    ),
    (
        "apps install",
        "teamsapp {scope} apps install {id} \"Contoso Tasks\"\n  teamsapp {scope} apps install {id} \"Contoso Tasks\" --consent-required\n  teamsapp {scope} apps install {id} \"Contoso Tasks\" --rsc application:ChatMember.Read.Chat",
    ),
    (
        "apps upgrade",
        "teamsapp {scope} apps upgrade {id} \"Contoso Tasks\"\n  teamsapp --emulator {scope} apps upgrade {id} \"Contoso Tasks\" -o json",
    ),
    (
        "apps remove",
        "teamsapp {scope} apps remove {id} \"Contoso Tasks\"\n  teamsapp {scope} apps remove {id} \"Contoso Tasks\" --yes",
    ),
    (
        "catalog list",
        "teamsapp catalog list\n  teamsapp catalog list --filter \"distributionMethod eq 'organization'\" -o csv\n  teamsapp --emulator catalog list --wide",
    ),
    (
        "catalog get",
        "teamsapp catalog get \"Contoso Tasks\"\n  teamsapp catalog get 0d820ecd-def2-4297-adad-78056cde7c78 -o json",
    ),
    (
        "catalog publish",
        "teamsapp auth login --device-code && teamsapp catalog publish contoso-notes-1.0.0.zip\n  teamsapp catalog publish contoso-notes-1.0.0.zip --requires-review\n  teamsapp --emulator catalog publish contoso-notes-1.0.0.zip",
    ),
    (
        "catalog update",
        "teamsapp catalog update \"Contoso Tasks\" contoso-tasks-1.2.0.zip\n  teamsapp catalog update 0d820ecd-def2-4297-adad-78056cde7c78 contoso-tasks-1.2.0.zip --requires-review",
    ),
    (
        "fleet plan",
        "teamsapp fleet plan --app \"Contoso Tasks\"\n  teamsapp --emulator fleet plan --app \"Contoso Tasks\" --scope chats,teams -o csv\n  teamsapp fleet plan --app \"Contoso Tasks\" --rehearse --snapshot contoso.json",
    ),
    (
        "fleet upgrade",
        "teamsapp fleet upgrade --app \"Contoso Tasks\" --canary 5\n  teamsapp fleet upgrade --app \"Contoso Tasks\" --resume\n  teamsapp --emulator fleet upgrade --app \"Contoso Tasks\" --yes\n  teamsapp fleet upgrade --app \"Contoso Tasks\" --canary 5 --rehearse",
    ),
    (
        "tenant snapshot",
        "teamsapp tenant snapshot --app \"Contoso Tasks\" --out contoso.json\n  TEAMSAPP_PSEUDONYM_KEY=... teamsapp tenant snapshot --all-apps --pseudonymise --out contoso.json\n  teamsapp tenant snapshot --app \"Contoso Tasks\" --out contoso.json --resume\n  teamsapp --emulator tenant snapshot --app \"Contoso Tasks\" --out demo.json",
    ),
    (
        "fleet report",
        "teamsapp fleet report teamsapp-fleet-contoso-tasks-20261129T175659Z.jsonl\n  teamsapp fleet report teamsapp-fleet-contoso-tasks-20261129T175659Z.jsonl --html report.html",
    ),
    (
        "mock serve",
        "teamsapp mock serve\n  teamsapp mock serve --tls --data-dir ./emu --fleet 10000 --throttle 200 --faults 0.2 --seed 7\n  teamsapp mock serve --tenant-file contoso.json --listen 127.0.0.1:8443",
    ),
    (
        "auth login",
        "teamsapp --tenant contoso.onmicrosoft.com --client-id c0ffee00-0000-4000-8000-00000000f1ee auth login --device-code\n  TEAMSAPP_CLIENT_SECRET=... teamsapp --tenant contoso.onmicrosoft.com --client-id c0ffee00-0000-4000-8000-00000000f1ee auth login\n  teamsapp --emulator auth login --device-code",
    ),
    (
        "auth token",
        "T=$(teamsapp auth token)\n  curl -H \"Authorization: Bearer $(teamsapp auth token)\" https://graph.microsoft.com/v1.0/appCatalogs/teamsApps",
    ),
    (
        "auth status",
        "teamsapp auth status\n  teamsapp auth status -o json\n  teamsapp --emulator auth status",
    ),
    ("auth logout", "teamsapp auth logout"),
    (
        "completions",
        "teamsapp completions bash > /etc/bash_completion.d/teamsapp\n  teamsapp completions zsh > \"${fpath[1]}/_teamsapp\"",
    ),
];

/// The command line with what derive cannot say: an `Examples:` section on every leaf command
/// (with ids that fit its scope), and the global options kept out of the subcommands' help (they
/// are still accepted there; `teamsapp --help` documents them once).
pub fn command() -> clap::Command {
    let root = <Cli as clap::CommandFactory>::command();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let subcommands: Vec<String> = root
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let mut root = root.after_long_help(EXIT_CODES).after_help(
        "Exit codes: 0 success, 1 Graph or target failures, 2 usage, 3 sign-in or credentials \
         (`teamsapp --help` for more).",
    );
    for name in subcommands {
        root = root.mut_subcommand(name.clone(), |sc| decorate(sc, &name, &name, &globals));
    }
    root
}

fn decorate(mut cmd: clap::Command, path: &str, top: &str, globals: &[clap::Arg]) -> clap::Command {
    for arg in globals {
        cmd = cmd.arg(arg.clone().hide(true));
    }
    let children: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    if children.is_empty() {
        let key = path.strip_prefix(top).map_or(path, str::trim_start);
        let key = if key.is_empty() { top } else { key };
        let (scope, id) = match top {
            "team" => ("team", "6903fa93-605b-43ef-920e-77c4729f8258"),
            "user" => ("user", "adele@contoso.example"),
            _ => ("chat", "19:ea28e88c00e94c7786b065394a61f296@thread.v2"),
        };
        let wanted = if ["chat", "team", "user"].contains(&top) {
            key.to_owned()
        } else {
            path.to_owned()
        };
        if let Some((_, text)) = EXAMPLES.iter().find(|(k, _)| *k == wanted) {
            let text = text.replace("{scope}", scope).replace("{id}", id);
            cmd = cmd.after_help(format!(
                "Examples:\n  {text}\n\nGlobal options: see `teamsapp --help`."
            ));
        }
        return cmd;
    }
    for child in children {
        let child_path = format!("{path} {child}");
        cmd = cmd.mut_subcommand(child, |c| decorate(c, &child_path, top, globals));
    }
    cmd
}

/// Parses the process's arguments with [`command`].
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::{Cli, EXAMPLES, command};
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn every_leaf_command_has_examples() {
        fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<(String, bool)>) {
            let mut children = cmd.get_subcommands().peekable();
            if children.peek().is_none() {
                let has = cmd
                    .get_after_help()
                    .is_some_and(|h| h.to_string().contains("Examples:"));
                out.push((path.to_owned(), has));
            }
            for c in cmd.get_subcommands() {
                if c.get_name() != "help" {
                    leaves(c, &format!("{path} {}", c.get_name()), out);
                }
            }
        }
        let mut found = Vec::new();
        leaves(&command(), "teamsapp", &mut found);
        let missing: Vec<_> = found.iter().filter(|(_, has)| !has).collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert!(EXAMPLES.len() >= 14);
    }
}
