//! Fleet upgrades of a Microsoft Teams app through Microsoft Graph, as a library: discovery,
//! plan, journal, run, verification, as the `teamsapp fleet` commands use them and any other
//! tool can.
//!
//! A run finds every installation of an app in one or more tenants (users → their chats, teams,
//! users' personal scopes; or the targets of a file), plans the ones behind the catalog's latest
//! published version, and upgrades them at the throttle limit
//! (`POST …/installedApps/{id}/upgrade`), reading each back to verify the app and version. Every
//! step is journaled ([`journal`]) before it is acted on, so a run resumed after a crash,
//! `kill -9` or Ctrl-C upgrades nothing twice and misses nothing. Failure limits are exact: a
//! target starts only while the run stays within `max_failures` and `max_error_rate` even if
//! every target in flight fails. Progress is reported as typed [`Event`]s.
//!
//! No terminal, no argument parsing: options are a plain [`Options`] struct, tenants carry a
//! ready [`teamsapp_client::Client`].
//!
//! Before a production run, [`snapshot`] reads a tenant (only `GET`s, journaled so it resumes)
//! into a tenant file the emulator loads, and, with the cargo feature `rehearse`, `rehearse`
//! runs the same plan and engine against the embedded emulator loaded with it and predicts the
//! real run: outcomes, failures by cause with the fix, and the duration at the throttle limit.
//!
//! # Example
//!
//! Against the local emulator's demo tenant (Contoso Tasks 1.0.0 installed in 40 places,
//! 1.1.0 published):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use teamsapp_client::{Client, ClientSecretCredential};
//! use teamsapp_fleet::{Event, Fleet, Options, State, Tenant};
//!
//! let emulator = teamsapp_mock::Emulator::demo().await?;
//! let creds = emulator.credentials().expect("the demo tenant has an app with a secret");
//! let client = Client::builder()
//!     .base_url(emulator.graph_url())
//!     .authority(emulator.authority())
//!     .credential(
//!         ClientSecretCredential::new(&creds.tenant_id, &creds.client_id, creds.client_secret.expose())
//!             .with_authority(emulator.authority()),
//!     )
//!     .build()?;
//! let fleet = Fleet::new(
//!     vec![Tenant { id: creds.tenant_id.clone(), client }],
//!     Options::new("Contoso Tasks"),
//! )?
//! .with_events(Arc::new(|event: &Event| {
//!     if let Event::Planned { behind, to, .. } = event {
//!         println!("{behind} installation(s) to move to {to}");
//!     }
//! }));
//!
//! let plan = fleet.plan().await?;
//! let dir = tempfile::tempdir()?;
//! let summary = fleet.run(&plan, &dir.path().join("journal.jsonl")).await?;
//! assert_eq!(summary.count(State::Verified), 40);
//! assert!(summary.stopped.is_none());
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```

mod catalog;
mod discover;
mod error;
mod event;
pub mod journal;
mod limits;
mod plan;
#[cfg(feature = "rehearse")]
pub mod rehearse;
pub mod report;
mod run;
pub mod snapshot;
mod targets;

pub use catalog::{CatalogApp, find_app, latest_published, matching_apps, pick_app};
pub use error::Error;
pub use event::{DiscoveryProgress, Event, EventSink, StopReason, ignore};
pub use journal::{ErrorInfo, JournalFile, Replay, RunHeader, State, Target};
pub use limits::MIN_SAMPLE;
pub use plan::{Action, Plan, PlannedTarget, UnreadableScope};
pub use report::FleetReport;
pub use run::Outcome;
pub use targets::{TargetSpec, parse as parse_targets};
pub use teamsapp_types::permissions::InstallationScope;

use journal::{PlannedRecord, Record, TargetRecord, TenantHeader, ThrottleRecord, Writer};
use limits::Limits;
use run::{Engine, Work};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use teamsapp_client::Client;

/// One tenant of a run: its id and a client signed in to it (its own credential and throttle
/// budget).
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant id as journaled (use [`tenant_id_of`] to take it from the client's token).
    pub id: String,
    /// The client.
    pub client: Client,
}

/// The tenant id (`tid`) in the client's access token, when the token is a JWT that has one.
///
/// Fleet journals record tenants by id, so a run started with a bare token (no configured
/// tenant) and a run resumed with client credentials agree on which tenant they work in.
pub async fn tenant_id_of(client: &Client) -> Result<Option<String>, Error> {
    let token = client
        .access_token()
        .await
        .map_err(|e| Error::graph("signing in", e))?;
    Ok(jwt_tenant(secrecy::ExposeSecret::expose_secret(
        token.secret(),
    )))
}

/// The `tid` claim of a JWT, without verifying it (for naming, never for trust).
fn jwt_tenant(token: &str) -> Option<String> {
    jwt_claims(token)?.get("tid")?.as_str().map(str::to_owned)
}

/// The claims of a JWT, without verifying it (for naming, never for trust).
fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What a token says about the permissions it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenPermissions {
    /// `application` (its `roles`) or `delegated` (its `scp`).
    pub(crate) kind: String,
    /// The roles, or the scopes.
    pub(crate) permissions: Vec<String>,
    /// The application (client) id (`appid` or `azp`).
    pub(crate) client_id: Option<String>,
}

/// The permissions in the client's access token, when it is a JWT (never the token itself).
pub(crate) async fn token_claims(client: &Client) -> Result<Option<TokenPermissions>, Error> {
    let token = client
        .access_token()
        .await
        .map_err(|e| Error::graph("signing in", e))?;
    Ok(permissions_of(secrecy::ExposeSecret::expose_secret(
        token.secret(),
    )))
}

fn permissions_of(token: &str) -> Option<TokenPermissions> {
    let claims = jwt_claims(token)?;
    let client_id = ["appid", "azp"]
        .iter()
        .find_map(|k| claims.get(*k)?.as_str().map(str::to_owned));
    let (kind, mut permissions) = match claims.get("scp").and_then(|s| s.as_str()) {
        Some(scp) => (
            "delegated",
            scp.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ),
        None => (
            "application",
            claims
                .get("roles")
                .and_then(|r| r.as_array())
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    };
    permissions.sort();
    permissions.dedup();
    Some(TokenPermissions {
        kind: kind.to_owned(),
        permissions,
        client_id,
    })
}

/// What a run does and how far it may go.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The app: catalog id, externalId or display name.
    pub app: String,
    /// Where discovery looks (default: chats, teams and users).
    pub scopes: Vec<InstallationScope>,
    /// Work on these targets instead of discovering them.
    pub targets: Option<Vec<TargetSpec>>,
    /// Requests in flight at once (default 32).
    pub concurrency: usize,
    /// Upgrade and verify this many targets first; stop if any of them fails.
    pub canary: Option<usize>,
    /// Never let more than this many targets fail.
    pub max_failures: Option<usize>,
    /// Never let the failed fraction of finished targets exceed this (judged over at least
    /// [`MIN_SAMPLE`] targets).
    pub max_error_rate: Option<f64>,
    /// Send upgrades in `$batch` requests of up to 20.
    pub batch: bool,
    /// How long to wait for an upgraded target to read back at the new version.
    pub verify_timeout: Duration,
    /// The tool and version recorded in the journal.
    pub tool: String,
}

impl Options {
    /// Defaults for upgrading `app`: every scope, 32 in flight, no limits, 60 s to verify.
    pub fn new(app: impl Into<String>) -> Self {
        Self {
            app: app.into(),
            scopes: vec![
                InstallationScope::Chat,
                InstallationScope::Team,
                InstallationScope::User,
            ],
            targets: None,
            concurrency: 32,
            canary: None,
            max_failures: None,
            max_error_rate: None,
            batch: false,
            verify_timeout: Duration::from_mins(1),
            tool: concat!("teamsapp-fleet ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.app.trim().is_empty() {
            return Err(Error::Options("the app name is empty".into()));
        }
        if self.scopes.is_empty() && self.targets.is_none() {
            return Err(Error::Options("no scope to discover".into()));
        }
        if let Some(rate) = self.max_error_rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(Error::Options(format!(
                "the maximum error rate must be between 0 and 1, not {rate}"
            )));
        }
        if self.canary == Some(0) {
            return Err(Error::Options("a canary of 0 targets tests nothing".into()));
        }
        Ok(())
    }

    fn scope_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .iter()
            .map(|s| s.name().to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// How a run (or a resumed run) ended.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The journal.
    pub journal: PathBuf,
    /// Every target that ended in this run.
    pub outcomes: Vec<Outcome>,
    /// Targets already current when planned.
    pub current: usize,
    /// Targets of a targets file that were gone when planned.
    pub gone: usize,
    /// Targets that ended in an earlier run of this journal.
    pub earlier: usize,
    /// Targets planned but not started (the run stopped early).
    pub not_started: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<StopReason>,
    /// Scopes discovery could not read.
    pub unreadable_scopes: usize,
    /// Line numbers of journal lines that could not be read (a resumed run).
    pub unreadable_journal_lines: Vec<usize>,
    /// Whether a resumed journal ended in an incomplete line (dropped).
    pub torn_tail: bool,
    /// How long the upgrade phase took.
    pub elapsed: Duration,
}

impl Summary {
    /// How many targets ended in `state` in this run.
    pub fn count(&self, state: State) -> usize {
        self.outcomes.iter().filter(|o| o.state == state).count()
    }

    /// Whether every target that was tried ended well and nothing was left out.
    pub fn is_success(&self) -> bool {
        self.stopped.is_none() && self.count(State::Failed) == 0 && self.unreadable_scopes == 0
    }
}

/// A plan whose journal is open: [`Fleet::prepare`] made it, [`Fleet::upgrade`] runs it.
#[derive(Debug)]
pub struct Prepared {
    /// The plan.
    pub plan: Plan,
    writer: Writer,
    path: PathBuf,
}

impl Prepared {
    /// The journal's path.
    pub fn journal(&self) -> &Path {
        &self.path
    }
}

/// The task that journals throttling during a run.
struct ThrottleLog {
    done: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl ThrottleLog {
    /// Writes the last records and stops.
    async fn finish(self) -> Result<(), Error> {
        let _ = self.done.send(());
        self.task
            .await
            .map_err(|e| Error::JournalWrite(format!("the throttle log stopped: {e}")))?
    }
}

/// A fleet run over one or more tenants.
pub struct Fleet {
    tenants: Vec<Tenant>,
    options: Options,
    events: EventSink,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("tenants", &self.tenants)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Stops a run from starting more targets (those in flight finish and are journaled).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Fleet {
    /// A run over `tenants` with `options`.
    pub fn new(tenants: Vec<Tenant>, options: Options) -> Result<Self, Error> {
        options.check()?;
        if tenants.is_empty() {
            return Err(Error::Options("a run needs at least one tenant".into()));
        }
        for (i, t) in tenants.iter().enumerate() {
            if t.id.trim().is_empty() {
                return Err(Error::Options(
                    "a tenant has no id (pass the tenant, or use a token that names it)".into(),
                ));
            }
            if tenants[..i]
                .iter()
                .any(|o| o.id.eq_ignore_ascii_case(&t.id))
            {
                return Err(Error::Options(format!("tenant {} is listed twice", t.id)));
            }
        }
        Ok(Self {
            tenants,
            options,
            events: event::ignore(),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Sends progress to `sink`.
    #[must_use]
    pub fn with_events(mut self, sink: EventSink) -> Self {
        self.events = sink;
        self
    }

    /// A handle that stops the run (e.g. on Ctrl-C).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// The run's options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The run's tenants.
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// Resolves the app in every tenant's catalog.
    pub async fn resolve(&self) -> Result<Vec<CatalogApp>, Error> {
        futures_util::future::try_join_all(
            self.tenants
                .iter()
                .map(|t| catalog::resolve(&t.client, &t.id, &self.options.app)),
        )
        .await
    }

    /// The journal header of a run with these apps.
    fn header(&self, apps: &[CatalogApp]) -> RunHeader {
        RunHeader {
            format: journal::FORMAT,
            tool: self.options.tool.clone(),
            started_at: journal::now(),
            app: self.options.app.clone(),
            scopes: self.options.scope_names(),
            source: if self.options.targets.is_some() {
                "targets".into()
            } else {
                "discovery".into()
            },
            tenants: self
                .tenants
                .iter()
                .zip(apps)
                .map(|(t, app)| TenantHeader {
                    tenant: t.id.clone(),
                    base_url: t.client.base_url().to_owned(),
                    app: app.identity(),
                    to: app.latest.clone(),
                })
                .collect(),
        }
    }

    /// Resolves the app and finds every target: discovered, or read from the options' targets.
    pub async fn plan(&self) -> Result<Plan, Error> {
        let apps = self.resolve().await?;
        self.plan_with(apps, &discover::Known::default()).await
    }

    /// Discovers, or reads the targets file's targets of, one tenant.
    async fn find(
        &self,
        tenant: &Tenant,
        app: &CatalogApp,
        known: &discover::Known<'_>,
    ) -> Result<discover::Discovered, Error> {
        match &self.options.targets {
            Some(specs) => {
                let specs: Vec<TargetSpec> = specs
                    .iter()
                    .filter(|s| {
                        s.tenant
                            .as_deref()
                            .is_none_or(|t| t.eq_ignore_ascii_case(&tenant.id))
                    })
                    .cloned()
                    .collect();
                Ok(discover::from_specs(
                    tenant,
                    app,
                    &specs,
                    self.options.concurrency,
                    &self.events,
                )
                .await)
            }
            None => {
                discover::discover(
                    tenant,
                    app,
                    &self.options.scopes,
                    self.options.concurrency,
                    &self.events,
                    known,
                )
                .await
            }
        }
    }

    async fn plan_with(
        &self,
        apps: Vec<CatalogApp>,
        known: &discover::Known<'_>,
    ) -> Result<Plan, Error> {
        // Every tenant at once: each has its own client, limits and budget.
        let discovered = futures_util::future::try_join_all(
            self.tenants
                .iter()
                .zip(&apps)
                .map(|(tenant, app)| self.find(tenant, app, known)),
        )
        .await?;
        let mut targets = Vec::new();
        let mut unreadable = Vec::new();
        for ((tenant, app), found) in self.tenants.iter().zip(&apps).zip(discovered) {
            let consent: Vec<String> = app.required.iter().cloned().collect();
            let mut seen = std::collections::HashSet::new();
            let mut planned: Vec<PlannedTarget> = Vec::new();
            for f in found.found {
                if !seen.insert(f.target.clone()) {
                    continue;
                }
                let behind = f
                    .from
                    .as_deref()
                    .is_none_or(|v| teamsapp_types::version::is_behind(v, &app.latest));
                planned.push(PlannedTarget {
                    target: f.target,
                    from: f.from,
                    to: app.latest.clone(),
                    action: if behind {
                        Action::Upgrade
                    } else {
                        Action::Current
                    },
                    consent: if behind { consent.clone() } else { Vec::new() },
                });
            }
            for g in found.gone {
                if seen.insert(g.clone()) {
                    planned.push(PlannedTarget {
                        target: g,
                        from: None,
                        to: app.latest.clone(),
                        action: Action::Gone,
                        consent: Vec::new(),
                    });
                }
            }
            (self.events)(&Event::Planned {
                tenant: tenant.id.clone(),
                app: app.name.clone(),
                to: app.latest.clone(),
                behind: planned
                    .iter()
                    .filter(|t| t.action == Action::Upgrade)
                    .count(),
                current: planned
                    .iter()
                    .filter(|t| t.action == Action::Current)
                    .count(),
                gone: planned.iter().filter(|t| t.action == Action::Gone).count(),
            });
            targets.extend(planned);
            unreadable.extend(
                found
                    .unreadable
                    .into_iter()
                    .map(|(scope, error)| UnreadableScope {
                        tenant: tenant.id.clone(),
                        scope: scope.to_string(),
                        error,
                    }),
            );
        }
        targets.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(Plan {
            header: self.header(&apps),
            apps,
            targets,
            unreadable,
        })
    }

    /// Runs a plan: creates the journal at `journal` (it must not exist), journals the plan,
    /// then upgrades, verifies and journals every target behind.
    pub async fn run(&self, plan: &Plan, journal: &Path) -> Result<Summary, Error> {
        if let Some(t) = plan
            .targets
            .iter()
            .find(|t| !self.tenants.iter().any(|x| x.id == t.target.tenant))
        {
            return Err(Error::Options(format!(
                "the plan has a target in tenant {}, which this run does not have (plan with the same Fleet)",
                t.target.tenant
            )));
        }
        let file = JournalFile::create(journal, &plan.header)?;
        let writer = Writer::spawn(file);
        self.upgrade(Prepared {
            plan: plan.clone(),
            writer,
            path: journal.to_owned(),
        })
        .await
    }

    /// Creates the journal at `journal` (it must not exist), then plans with every scope read
    /// journaled, so that a crash during the discovery of a large tenant resumes discovery where
    /// it stopped; [`Fleet::upgrade`] then runs the plan (after a confirmation, say).
    pub async fn prepare(&self, journal: &Path) -> Result<Prepared, Error> {
        let apps = self.resolve().await?;
        let file = JournalFile::create(journal, &self.header(&apps))?;
        let writer = Writer::spawn(file);
        let known = discover::Known {
            writer: Some(&writer),
            scanned: std::collections::HashMap::new(),
        };
        let plan = self.plan_with(apps, &known).await?;
        Ok(Prepared {
            plan,
            writer,
            path: journal.to_owned(),
        })
    }

    /// Journals a prepared plan as complete, then upgrades, verifies and journals every target
    /// behind.
    pub async fn upgrade(&self, prepared: Prepared) -> Result<Summary, Error> {
        let Prepared { plan, writer, path } = prepared;
        let mut records: Vec<Record> = plan
            .behind()
            .map(|t| {
                Record::Target(TargetRecord::new(
                    &t.target,
                    State::Planned,
                    t.from.as_deref(),
                    Some(&t.to),
                ))
            })
            .collect();
        records.push(Record::Planned(PlannedRecord {
            at: journal::now(),
            targets: records.len(),
        }));
        writer.write(records).await?;
        let work: Vec<Work> = plan
            .behind()
            .map(|t| Work {
                target: t.target.clone(),
                from: t.from.clone(),
                read_first: false,
            })
            .collect();
        let mut summary = self.execute(&plan.apps, writer, path, work).await?;
        summary.current = plan.count(Action::Current);
        summary.gone = plan.count(Action::Gone);
        summary.unreadable_scopes = plan.unreadable.len();
        Ok(summary)
    }

    /// Checks, before anything is sent, that `replay` is a journal of this run: the app named
    /// in the options, the same tenants and the same Graph endpoints.
    pub fn check_journal(&self, replay: &Replay) -> Result<(), String> {
        let h = &replay.header;
        if !h.names_app(&self.options.app) {
            return Err(format!(
                "the journal is of app {:?} ({}), not {:?}",
                h.app,
                h.tenants
                    .iter()
                    .map(|t| format!("{} in {}", t.app.id, t.tenant))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.options.app
            ));
        }
        let current: Vec<TenantHeader> = self
            .tenants
            .iter()
            .map(|t| {
                let then = h
                    .tenants
                    .iter()
                    .find(|x| x.tenant.eq_ignore_ascii_case(&t.id));
                TenantHeader {
                    tenant: t.id.clone(),
                    base_url: t.client.base_url().to_owned(),
                    // The app ids are checked once resolved.
                    app: then.map_or_else(
                        || journal::AppIdentity {
                            id: String::new(),
                            external_id: None,
                            name: String::new(),
                        },
                        |x| x.app.clone(),
                    ),
                    to: String::new(),
                }
            })
            .collect();
        h.check_resume(&RunHeader {
            tenants: current,
            scopes: self.options.scope_names(),
            source: if self.options.targets.is_some() {
                "targets".into()
            } else {
                "discovery".into()
            },
            ..h.clone()
        })
    }

    /// Continues the run of the journal at `path`: refuses (with [`Error::Journal`], before any
    /// upgrade is sent) a journal of another app, tenant, endpoint or scope; then works on every
    /// target the journal does not show as done, reading back first each one that may have been
    /// sent. A journal whose plan was not complete is planned again, keeping what it knows.
    pub async fn resume(&self, path: &Path) -> Result<Summary, Error> {
        let replay = Replay::read(path)?;
        self.check_journal(&replay)
            .map_err(|reason| Error::Journal {
                path: path.to_owned(),
                reason,
            })?;
        let apps = self.resolve().await?;
        replay
            .header
            .check_resume(&self.header(&apps))
            .map_err(|reason| Error::Journal {
                path: path.to_owned(),
                reason,
            })?;
        let (file, replay) = JournalFile::resume(path)?;
        // The journal's tenant ids as this run spells them (the header check matched them
        // ignoring case); a target of a tenant its header does not name is a damaged journal.
        let spelled = |id: &str| {
            self.tenants
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(id))
                .map(|t| t.id.clone())
        };
        let mut last: std::collections::HashMap<Target, TargetRecord> =
            std::collections::HashMap::new();
        let mut order: Vec<Target> = Vec::new();
        for t in &replay.order {
            let Some(tenant) = spelled(&t.tenant) else {
                return Err(Error::Journal {
                    path: path.to_owned(),
                    reason: format!(
                        "a target of tenant {} is journaled, but the run header does not name that tenant",
                        t.tenant
                    ),
                });
            };
            let target = Target {
                tenant,
                ..t.clone()
            };
            if let Some(record) = replay.last.get(t) {
                last.insert(target.clone(), record.clone());
                order.push(target);
            }
        }
        let scanned: Vec<journal::ScannedRecord> = replay
            .scanned
            .iter()
            .filter_map(|r| {
                Some(journal::ScannedRecord {
                    tenant: spelled(&r.tenant)?,
                    ..r.clone()
                })
            })
            .collect();
        let writer = Writer::spawn(file);
        let earlier = last.values().filter(|r| r.state.is_final()).count();
        let mut plan_counts = (0, 0, 0);
        let mut work: Vec<Work> = Vec::new();
        if !replay.planned {
            // The run stopped before its plan was complete: plan again, without reading again
            // the scopes the journal shows as read; what the journal knows about a target wins
            // over the fresh plan.
            let known = discover::Known {
                writer: Some(&writer),
                scanned: discover::Known::from_records(&scanned),
            };
            let plan = self.plan_with(apps.clone(), &known).await?;
            plan_counts = (
                plan.count(Action::Current),
                plan.count(Action::Gone),
                plan.unreadable.len(),
            );
            let mut records: Vec<Record> = Vec::new();
            for t in plan.behind() {
                if !last.contains_key(&t.target) {
                    records.push(Record::Target(TargetRecord::new(
                        &t.target,
                        State::Planned,
                        t.from.as_deref(),
                        Some(&t.to),
                    )));
                    work.push(Work {
                        target: t.target.clone(),
                        from: t.from.clone(),
                        read_first: false,
                    });
                }
            }
            records.push(Record::Planned(PlannedRecord {
                at: journal::now(),
                targets: order.len() + work.len(),
            }));
            writer.write(records).await?;
        }
        let mut known: Vec<Work> = order
            .iter()
            .filter_map(|t| {
                let record = last.get(t)?;
                (!record.state.is_final()).then(|| Work {
                    target: t.clone(),
                    from: record.from.clone(),
                    // Only a target journaled as planned was certainly never sent.
                    read_first: record.state != State::Planned,
                })
            })
            .collect();
        known.extend(work);
        let mut summary = self.execute(&apps, writer, path.to_owned(), known).await?;
        summary.earlier = earlier;
        summary.current = plan_counts.0;
        summary.gone = plan_counts.1;
        summary.unreadable_scopes = plan_counts.2;
        summary.unreadable_journal_lines = replay.unreadable;
        summary.torn_tail = replay.torn_tail;
        Ok(summary)
    }

    /// Journals each tenant's throttling once a second while it changes, until finished.
    fn log_throttling(&self, journal: &Writer) -> ThrottleLog {
        let base: Vec<(String, Client, teamsapp_client::ClientStats)> = self
            .tenants
            .iter()
            .map(|t| (t.id.clone(), t.client.clone(), t.client.stats()))
            .collect();
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
        let journal = journal.clone();
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            let mut last: Vec<Option<ThrottleRecord>> = vec![None; base.len()];
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let finished = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut done_rx => true,
                };
                let mut records = Vec::new();
                for ((tenant, client, start), last) in base.iter().zip(last.iter_mut()) {
                    let now = client.stats();
                    let record = ThrottleRecord {
                        at: journal::now(),
                        tenant: tenant.clone(),
                        throttled: now.throttled.saturating_sub(start.throttled),
                        retries: now.retries.saturating_sub(start.retries),
                        waited_ms: u64::try_from(
                            now.waited.saturating_sub(start.waited).as_millis(),
                        )
                        .unwrap_or(u64::MAX),
                    };
                    let changed = last.as_ref().is_none_or(|l| {
                        (l.throttled, l.retries, l.waited_ms)
                            != (record.throttled, record.retries, record.waited_ms)
                    });
                    if changed && record.throttled + record.waited_ms > 0 {
                        events(&Event::Throttling {
                            tenant: tenant.clone(),
                            throttled: record.throttled,
                            waited: Duration::from_millis(record.waited_ms),
                        });
                    }
                    if changed || finished {
                        records.push(Record::Throttle(record.clone()));
                        *last = Some(record);
                    }
                }
                if !records.is_empty() {
                    journal.write(records).await?;
                }
                if finished {
                    return Ok::<(), Error>(());
                }
            }
        });
        ThrottleLog {
            done: done_tx,
            task,
        }
    }

    /// The upgrade phase: canary first, then the rest, within the limits.
    async fn execute(
        &self,
        apps: &[CatalogApp],
        writer: Writer,
        path: PathBuf,
        mut work: Vec<Work>,
    ) -> Result<Summary, Error> {
        let engine = Engine {
            fleet: self,
            apps,
            journal: writer,
            events: self.events.clone(),
        };
        let total = work.len();
        let throttle_log = self.log_throttling(&engine.journal);
        (self.events)(&Event::Started {
            targets: total,
            resumed: work.iter().filter(|w| w.read_first).count(),
        });
        let started = Instant::now();
        let limits = Limits {
            max_failures: self.options.max_failures,
            max_error_rate: self.options.max_error_rate,
        };
        let concurrency = self.options.concurrency.max(1);
        let mut outcomes = Vec::new();
        let mut stopped = None;
        if let Some(n) = self.options.canary {
            let rest = work.split_off(n.min(work.len()));
            let canary = std::mem::replace(&mut work, rest);
            let n = canary.len();
            let canary_limits = Limits {
                max_failures: Some(limits.max_failures.map_or(n, |m| m.min(n))),
                ..limits
            };
            let (done, why) = engine
                .run_queue(canary, canary_limits, concurrency.min(n))
                .await?;
            let failed = done.iter().any(|o| o.state == State::Failed);
            outcomes.extend(done);
            stopped = why;
            if stopped.is_none() && failed {
                stopped = Some(StopReason::CanaryFailed);
                (self.events)(&Event::Stopping {
                    reason: StopReason::CanaryFailed,
                });
            } else if stopped.is_none() && !work.is_empty() {
                (self.events)(&Event::CanaryPassed { targets: n });
            }
        }
        if stopped.is_none() {
            // The canary's failures count against the run's limits.
            let failures = outcomes.iter().filter(|o| o.state == State::Failed).count();
            let rest_limits = Limits {
                max_failures: limits.max_failures.map(|m| m.saturating_sub(failures)),
                ..limits
            };
            let (done, why) = engine.run_queue(work, rest_limits, concurrency).await?;
            outcomes.extend(done);
            stopped = why;
        }
        throttle_log.finish().await?;
        Ok(Summary {
            journal: path,
            not_started: total - outcomes.len(),
            outcomes,
            current: 0,
            gone: 0,
            earlier: 0,
            stopped,
            unreadable_scopes: 0,
            unreadable_journal_lines: Vec::new(),
            torn_tail: false,
            elapsed: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tenant_of_a_jwt() {
        use base64::Engine as _;
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"tid":"c0ffee00-0000-4000-8000-000000000001"}"#)
        );
        assert_eq!(
            jwt_tenant(&token).as_deref(),
            Some("c0ffee00-0000-4000-8000-000000000001")
        );
        assert_eq!(jwt_tenant("opaque"), None);
        assert_eq!(jwt_tenant("a.%%%.c"), None);
    }

    #[test]
    fn options_are_checked() {
        let mut o = Options::new("x");
        o.max_error_rate = Some(1.5);
        assert!(o.check().is_err());
        let mut o = Options::new(" ");
        o.canary = None;
        assert!(o.check().is_err());
        let mut o = Options::new("x");
        o.canary = Some(0);
        assert!(o.check().is_err());
        assert!(Options::new("x").check().is_ok());
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
