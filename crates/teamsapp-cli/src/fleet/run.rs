//! The fleet upgrade: resolve the app, discover or read the targets, plan, then upgrade the targets
//! behind the catalog concurrently at the throttle limit, verify each by reading it back, and
//! journal every step so `--resume` continues without upgrading anything twice.

use super::journal::{Entry, Journal, Replay, State};
use super::targets::{self, TargetSpec};
use crate::cli::{FleetArgs, FleetScope, FleetUpgradeArgs, OutputFormat};
use crate::context::{UsageError, usage};
use crate::exit::ExitStatus;
use crate::output::Report;
use crate::{record, resolve};
use anyhow::{Context as _, Result};
use futures_util::{StreamExt, TryStreamExt, stream};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use teamsapp_client::{Client, ListQuery, Scope};
use teamsapp_types::{
    AppInstallationId, ListTeams, ListUserChats, ListUsers, TeamsApp, TeamsAppId,
    TeamsAppInstallation, TeamsAppPermissionSet, UpgradeChatApp, UpgradePostRequestBody,
    UpgradeTeamApp, UpgradeUserApp, UserId, version,
};

/// One tenant's client.
pub(crate) struct Tenant {
    /// The tenant id, as it appears in journal keys.
    pub(crate) id: String,
    /// Its client (its own credential and throttle budget).
    pub(crate) client: Client,
}

/// One installation of the app.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    tenant: usize,
    scope: Scope,
    installation: AppInstallationId,
    from: Option<String>,
}

/// What the run found, per tenant: the app and its latest published version.
struct AppInTenant {
    app_id: TeamsAppId,
    name: String,
    latest: String,
    consent: Option<TeamsAppPermissionSet>,
    required: BTreeSet<String>,
}

fn key(tenant: &str, t: &Target) -> String {
    format!(
        "{tenant}/{}/{}/{}",
        t.scope.kind(),
        t.scope.id(),
        t.installation
    )
}

/// `tenant/scope/scope-id/installation-id` back into its parts.
fn parse_key(key: &str) -> Option<(String, Scope, AppInstallationId)> {
    let (tenant, rest) = key.split_once('/')?;
    let (kind, rest) = rest.split_once('/')?;
    let (scope_id, installation) = rest.rsplit_once('/')?;
    let scope = teamsapp_types::Scope::parse(kind, scope_id).ok()?;
    Some((
        tenant.to_owned(),
        scope,
        AppInstallationId::new(installation).ok()?,
    ))
}

fn perm_names(set: Option<&TeamsAppPermissionSet>) -> BTreeSet<String> {
    set.and_then(|s| s.resource_specific_permissions.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{}:{}",
                p.permission_type.as_ref().map_or("?", |t| t.as_str()),
                p.permission_value.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

async fn app_in(tenant: &Tenant, name: &str) -> Result<AppInTenant> {
    let app: TeamsApp = resolve::app(&tenant.client, name)
        .await
        .with_context(|| format!("tenant {}", tenant.id))?;
    let app_id = resolve::app_id(&app)?;
    let Some(latest) = resolve::latest_published(&app) else {
        return usage(format!(
            "{name:?} has no published version in tenant {}",
            tenant.id
        ));
    };
    let required_set = latest
        .authorization
        .as_ref()
        .and_then(|a| a.required_permission_set.clone());
    let required = perm_names(required_set.as_ref());
    Ok(AppInTenant {
        name: app
            .display_name
            .clone()
            .unwrap_or_else(|| app_id.to_string()),
        app_id,
        latest: latest.version.clone().unwrap_or_default(),
        consent: if required.is_empty() {
            None
        } else {
            required_set
        },
        required,
    })
}

fn found(tenant: usize, scope: &Scope, i: &TeamsAppInstallation) -> Option<Target> {
    Some(Target {
        tenant,
        scope: scope.clone(),
        installation: AppInstallationId::new(i.id.as_deref()?).ok()?,
        from: i
            .teams_app_definition
            .as_ref()
            .and_then(|d| d.version.clone()),
    })
}

/// Every installation of the app in the tenant, by walking users' chats, teams and users.
async fn discover(
    t: usize,
    tenant: &Tenant,
    app: &AppInTenant,
    scopes: &[FleetScope],
    concurrency: usize,
) -> Result<Vec<Target>> {
    let client = &tenant.client;
    let query = ListQuery::new()
        .filter(format!("teamsApp/id eq '{}'", app.app_id))
        .expand(["teamsAppDefinition"]);
    let mut scopes_to_read: Vec<Scope> = Vec::new();
    let wants = |s: FleetScope| scopes.contains(&s);
    if wants(FleetScope::Chats) || wants(FleetScope::Users) {
        let users: Vec<UserId> = client
            .items(&ListUsers::new().select(["id"]))
            .map_ok(|u| u.id)
            .try_collect::<Vec<_>>()
            .await
            .context("listing users")?
            .into_iter()
            .flatten()
            .filter_map(|id| UserId::new(id).ok())
            .collect();
        if wants(FleetScope::Chats) {
            let chats: BTreeSet<String> = stream::iter(users.iter().cloned())
                .map(|user| async move {
                    client
                        .items(&ListUserChats::new(user.clone()).select(["id"]))
                        .map_ok(|c| c.id)
                        .try_collect::<Vec<_>>()
                        .await
                        .with_context(|| format!("listing the chats of user {user}"))
                })
                .buffer_unordered(concurrency)
                .try_collect::<Vec<_>>()
                .await?
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            scopes_to_read.extend(
                chats
                    .iter()
                    .filter_map(|c| teamsapp_types::ChatId::new(c.as_str()).ok())
                    .map(Scope::Chat),
            );
        }
        if wants(FleetScope::Users) {
            scopes_to_read.extend(users.into_iter().map(Scope::User));
        }
    }
    if wants(FleetScope::Teams) {
        let teams: Vec<String> = client
            .items(&ListTeams::new().select(["id"]))
            .map_ok(|t| t.id)
            .try_collect::<Vec<_>>()
            .await
            .context("listing teams")?
            .into_iter()
            .flatten()
            .collect();
        scopes_to_read.extend(
            teams
                .iter()
                .filter_map(|id| teamsapp_types::TeamId::new(id.as_str()).ok())
                .map(Scope::Team),
        );
    }
    let query = &query;
    let lists = stream::iter(scopes_to_read)
        .map(|scope| async move {
            let installed = client
                .installed_apps(&scope, query)
                .await
                .with_context(|| format!("listing the apps of {scope}"))?;
            Ok::<_, anyhow::Error>(
                installed
                    .iter()
                    .filter_map(|i| found(t, &scope, i))
                    .collect::<Vec<_>>(),
            )
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// The targets a `--targets` file names, read back now.
async fn from_specs(
    t: usize,
    tenant: &Tenant,
    app: &AppInTenant,
    specs: &[TargetSpec],
    concurrency: usize,
) -> Result<Vec<Target>> {
    let client = &tenant.client;
    let query = ListQuery::new()
        .filter(format!("teamsApp/id eq '{}'", app.app_id))
        .expand(["teamsAppDefinition"]);
    let query = &query;
    let lists = stream::iter(specs.iter().cloned())
        .map(|spec| async move {
            let scope = spec.scope.clone();
            let installed = match &spec.installation {
                Some(id) => {
                    vec![
                        client
                            .installed_app(&scope, id)
                            .await
                            .with_context(|| format!("reading {id} in {scope}"))?,
                    ]
                }
                None => client
                    .installed_apps(&scope, query)
                    .await
                    .with_context(|| format!("listing the apps of {scope}"))?,
            };
            Ok::<_, anyhow::Error>(
                installed
                    .iter()
                    .filter_map(|i| found(t, &scope, i))
                    .collect::<Vec<_>>(),
            )
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(lists.into_iter().flatten().collect())
}

/// The plan: every target, with its version and what will happen to it.
struct Plan {
    apps: Vec<AppInTenant>,
    behind: Vec<Target>,
    current: Vec<Target>,
}

async fn plan(tenants: &[Tenant], args: &FleetArgs, concurrency: usize) -> Result<Plan> {
    let specs = match &args.targets {
        None => None,
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| UsageError(format!("reading targets from stdin: {e}")))?
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?
            };
            Some(targets::parse(&text).map_err(UsageError)?)
        }
    };
    let mut apps = Vec::new();
    let mut behind = Vec::new();
    let mut current = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        let app = app_in(tenant, &args.app).await?;
        let found = match &specs {
            Some(specs) => from_specs(t, tenant, &app, specs, concurrency).await?,
            None => discover(t, tenant, &app, &args.scope, concurrency).await?,
        };
        let mut seen = HashSet::new();
        for target in found {
            if !seen.insert(key(&tenant.id, &target)) {
                continue;
            }
            if target
                .from
                .as_deref()
                .is_some_and(|v| version::is_behind(v, &app.latest))
                || target.from.is_none()
            {
                behind.push(target);
            } else {
                current.push(target);
            }
        }
        apps.push(app);
    }
    let sort = |v: &mut Vec<Target>| {
        v.sort_by(|a, b| {
            (a.tenant, a.scope.kind(), a.scope.id()).cmp(&(b.tenant, b.scope.kind(), b.scope.id()))
        });
    };
    sort(&mut behind);
    sort(&mut current);
    Ok(Plan {
        apps,
        behind,
        current,
    })
}

const PLAN_COLUMNS: &[&str] = &[
    "tenant",
    "scope",
    "scopeId",
    "installationId",
    "from",
    "to",
    "action",
    "consent",
];

fn plan_report(tenants: &[Tenant], plan: &Plan) -> Report {
    let mut report = Report::list(PLAN_COLUMNS);
    for (targets, action) in [(&plan.behind, "upgrade"), (&plan.current, "current")] {
        for t in targets {
            let app = &plan.apps[t.tenant];
            report.push(record! {
                "tenant" => tenants[t.tenant].id,
                "scope" => t.scope.kind(),
                "scopeId" => t.scope.id(),
                "installationId" => t.installation.as_str(),
                "from" => t.from,
                "to" => app.latest,
                "action" => action,
                "consent" => if action == "upgrade" { app.required.iter().cloned().collect::<Vec<_>>().join(" ") } else { String::new() },
            });
        }
    }
    report
}

/// `teamsapp fleet plan`.
pub(crate) async fn plan_command(
    tenants: &[Tenant],
    args: &FleetArgs,
    concurrency: usize,
) -> Result<(Report, ExitStatus)> {
    let plan = plan(tenants, args, concurrency).await?;
    for (tenant, app) in tenants.iter().zip(&plan.apps) {
        tracing::info!(tenant = %tenant.id, app = %app.name, latest = %app.latest, "plan ready");
    }
    Ok((plan_report(tenants, &plan), ExitStatus::Success))
}

/// A journal writer on its own thread: entries from many tasks share one sync (group commit).
#[derive(Clone)]
struct JournalWriter {
    tx: std::sync::mpsc::Sender<(
        Vec<Entry>,
        tokio::sync::oneshot::Sender<std::io::Result<()>>,
    )>,
}

impl JournalWriter {
    fn spawn(mut journal: Journal) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<(
            Vec<Entry>,
            tokio::sync::oneshot::Sender<std::io::Result<()>>,
        )>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let entries: Vec<Entry> =
                    batch.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
                let result = journal.append(&entries);
                for (_, ack) in batch {
                    let _ = ack.send(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                    });
                }
            }
        });
        Self { tx }
    }

    async fn write(&self, entries: Vec<Entry>) -> Result<()> {
        let (ack, done) = tokio::sync::oneshot::channel();
        self.tx
            .send((entries, ack))
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?;
        done.await
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?
            .context("writing the journal")
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn entry(
    target: String,
    state: State,
    from: Option<String>,
    to: &str,
    detail: Option<String>,
) -> Entry {
    Entry {
        at: now(),
        target,
        state,
        from,
        to: Some(to.to_owned()),
        detail,
    }
}

/// `teamsapp-fleet-<app>-<UTC time>.jsonl` in the current directory; with `--resume`, the newest
/// such journal.
fn default_journal(app: &str, resume: bool) -> Result<std::path::PathBuf> {
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
                    && std::path::Path::new(name)
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

/// The reserved journal key that marks a complete plan.
const PLAN_MARK: &str = "#plan";

struct Shared<'a> {
    tenants: &'a [Tenant],
    apps: &'a [AppInTenant],
    journal: JournalWriter,
    verify_timeout: Duration,
    stop: Arc<AtomicBool>,
    failures: AtomicUsize,
    finished: AtomicUsize,
    max_failures: Option<usize>,
    max_error_rate: Option<f64>,
    progress: indicatif::ProgressBar,
    batch: bool,
}

/// How one target ended.
#[derive(Debug, Clone)]
struct Outcome {
    target: Target,
    state: State,
    to: String,
    detail: Option<String>,
}

impl Shared<'_> {
    fn note_finished(&self, failed: bool) {
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        let failures = if failed {
            self.failures.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.failures.load(Ordering::SeqCst)
        };
        self.progress.inc(1);
        if self.max_failures.is_some_and(|max| failures >= max) {
            self.stop.store(true, Ordering::SeqCst);
        }
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        if let Some(rate) = self.max_error_rate
            && finished >= 20
            && failures as f64 / finished as f64 > rate
        {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// Reads a target's installed version now.
    async fn read_version(&self, t: &Target) -> Result<Option<String>, teamsapp_client::Error> {
        let client = &self.tenants[t.tenant].client;
        let i = client.installed_app(&t.scope, &t.installation).await?;
        Ok(i.teams_app_definition.and_then(|d| d.version))
    }

    /// Reads back until the target runs `to`, or the timeout passes.
    async fn verify(&self, t: &Target, to: &str) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + self.verify_timeout;
        let mut wait = Duration::from_millis(100);
        loop {
            match self.read_version(t).await {
                Ok(Some(v)) if version::compare(&v, to).is_ge() => return Ok(()),
                Ok(v) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!(
                        "still reads {} after {:?}",
                        v.as_deref().unwrap_or("no version"),
                        self.verify_timeout
                    ));
                }
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!("could not read it back: {e}"));
                }
                _ => {}
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Journals a target's final state for this run and counts it.
    async fn settle(&self, t: &Target, state: State, detail: Option<String>) -> Result<Outcome> {
        let to = self.apps[t.tenant].latest.clone();
        let k = key(&self.tenants[t.tenant].id, t);
        self.journal
            .write(vec![entry(k, state, t.from.clone(), &to, detail.clone())])
            .await?;
        self.note_finished(state == State::Failed);
        Ok(Outcome {
            target: t.clone(),
            state,
            to,
            detail,
        })
    }

    /// Journals a step that is not final.
    async fn step(&self, t: &Target, state: State) -> Result<()> {
        let to = &self.apps[t.tenant].latest;
        let k = key(&self.tenants[t.tenant].id, t);
        self.journal
            .write(vec![entry(k, state, t.from.clone(), to, None)])
            .await
    }

    /// Upgrades one target: journal `sending`, upgrade, journal `upgraded`, verify, journal
    /// `verified`. With `read_first` (a resumed target), reads it back before sending anything.
    async fn process(&self, t: Target, read_first: bool) -> Result<Outcome> {
        let app = &self.apps[t.tenant];
        let to = app.latest.clone();
        if read_first {
            match self.read_version(&t).await {
                Ok(Some(v)) if !version::is_behind(&v, &to) => {
                    return self
                        .settle(
                            &t,
                            State::Verified,
                            Some("already at the target version".into()),
                        )
                        .await;
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    return self
                        .settle(&t, State::Skipped, Some("no longer installed".into()))
                        .await;
                }
                Err(e) => return self.settle(&t, State::Failed, Some(e.to_string())).await,
            }
        }
        self.step(&t, State::Sending).await?;
        let client = &self.tenants[t.tenant].client;
        let sent = client
            .upgrade(&t.scope, &t.installation, app.consent.clone())
            .await;
        self.after_send(&t, sent).await
    }

    /// What follows an upgrade request: on an error, look whether it happened anyway (an ambiguous
    /// failure may still have upgraded it); then journal `upgraded`, verify, journal the end.
    async fn after_send(
        &self,
        t: &Target,
        sent: Result<(), teamsapp_client::Error>,
    ) -> Result<Outcome> {
        let to = self.apps[t.tenant].latest.clone();
        if let Err(e) = sent {
            let upgraded =
                matches!(self.read_version(t).await, Ok(Some(v)) if !version::is_behind(&v, &to));
            if !upgraded {
                return self.settle(t, State::Failed, Some(e.to_string())).await;
            }
        }
        self.step(t, State::Upgraded).await?;
        match self.verify(t, &to).await {
            Ok(()) => self.settle(t, State::Verified, None).await,
            Err(detail) => self.settle(t, State::Failed, Some(detail)).await,
        }
    }

    /// Upgrades up to 20 targets of one tenant in one `$batch` (the client retries the items that
    /// were throttled), then verifies each. Resumed targets go one by one through [`Self::process`].
    async fn process_batch(&self, chunk: Vec<(Target, bool)>) -> Result<Vec<Outcome>> {
        let (resumed, fresh): (Vec<_>, Vec<_>) =
            chunk.into_iter().partition(|(_, read_first)| *read_first);
        let mut outcomes = Vec::with_capacity(resumed.len() + fresh.len());
        for (t, _) in resumed {
            outcomes.push(self.process(t, true).await?);
        }
        let fresh: Vec<Target> = fresh.into_iter().map(|(t, _)| t).collect();
        let Some(first) = fresh.first() else {
            return Ok(outcomes);
        };
        let tenant = first.tenant;
        let app = &self.apps[tenant];
        let entries = fresh
            .iter()
            .map(|t| {
                entry(
                    key(&self.tenants[tenant].id, t),
                    State::Sending,
                    t.from.clone(),
                    &app.latest,
                    None,
                )
            })
            .collect();
        self.journal.write(entries).await?;
        let body = app.consent.clone().map(|set| UpgradePostRequestBody {
            consented_permission_set: Some(set),
            ..UpgradePostRequestBody::default()
        });
        let mut batch = self.tenants[tenant].client.batch();
        let mut items = Vec::with_capacity(fresh.len());
        for t in &fresh {
            let id = t.installation.clone();
            items.push(match &t.scope {
                Scope::Chat(c) => Item::Chat(batch.add(&UpgradeChatApp {
                    body: body.clone(),
                    ..UpgradeChatApp::new(c.clone(), id)
                })?),
                Scope::Team(c) => Item::Team(batch.add(&UpgradeTeamApp {
                    body: body.clone(),
                    ..UpgradeTeamApp::new(c.clone(), id)
                })?),
                Scope::User(c) => Item::User(batch.add(&UpgradeUserApp {
                    body: body.clone(),
                    ..UpgradeUserApp::new(c.clone(), id)
                })?),
            });
        }
        let mut results = batch.send().await;
        let sent: Vec<Result<(), teamsapp_client::Error>> = items
            .iter()
            .map(|item| match item {
                Item::Chat(i) => results.take(i),
                Item::Team(i) => results.take(i),
                Item::User(i) => results.take(i),
            })
            .collect();
        let finished = futures_util::future::join_all(
            fresh.iter().zip(sent).map(|(t, r)| self.after_send(t, r)),
        )
        .await;
        for outcome in finished {
            outcomes.push(outcome?);
        }
        Ok(outcomes)
    }
}

/// A typed handle to one upgrade in a `$batch`.
enum Item {
    Chat(teamsapp_client::BatchItem<UpgradeChatApp>),
    Team(teamsapp_client::BatchItem<UpgradeTeamApp>),
    User(teamsapp_client::BatchItem<UpgradeUserApp>),
}

/// Runs `targets` in `$batch`es of up to 20 (one tenant per batch), `concurrency / 4` batches in
/// flight (at least 2: a batch waits for its slowest retried item, so a few overlap), stopping
/// early when told. The client's rate limiter still counts every item in its own class.
async fn run_batched(
    shared: &Shared<'_>,
    targets: Vec<(Target, bool)>,
    concurrency: usize,
) -> Result<Vec<Outcome>> {
    let mut chunks: Vec<Vec<(Target, bool)>> = Vec::new();
    for item in targets {
        match chunks.last_mut() {
            Some(chunk)
                if chunk.len() < teamsapp_client::MAX_BATCH_SIZE
                    && chunk[0].0.tenant == item.0.tenant =>
            {
                chunk.push(item);
            }
            _ => chunks.push(vec![item]),
        }
    }
    let nested: Vec<Vec<Outcome>> = stream::iter(chunks)
        .take_while(|_| std::future::ready(!shared.stop.load(Ordering::SeqCst)))
        .map(|chunk| shared.process_batch(chunk))
        .buffer_unordered((concurrency / 4).max(2))
        .try_collect()
        .await?;
    Ok(nested.into_iter().flatten().collect())
}

/// Runs `targets` through [`Shared::process`] with `concurrency` in flight, stopping early when told.
async fn run_all(
    shared: &Shared<'_>,
    targets: Vec<(Target, bool)>,
    concurrency: usize,
) -> Result<Vec<Outcome>> {
    if shared.batch {
        return run_batched(shared, targets, concurrency).await;
    }
    stream::iter(targets)
        .take_while(|_| std::future::ready(!shared.stop.load(Ordering::SeqCst)))
        .map(|(t, read_first)| shared.process(t, read_first))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
}

/// Whether the user agreed, on a terminal; refuses without a terminal.
fn confirm(question: &str) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return usage(
            "refusing to upgrade without confirmation when standard input is not a terminal: pass --yes",
        );
    }
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
pub(crate) async fn upgrade_command(
    tenants: &[Tenant],
    args: &FleetUpgradeArgs,
    concurrency: usize,
    format: OutputFormat,
    show_progress: bool,
) -> Result<(Report, ExitStatus)> {
    let journal_path = match &args.journal {
        Some(path) => path.clone(),
        None => default_journal(&args.fleet.app, args.resume)?,
    };

    // What a resumed run already knows.
    let (journal, replay) = if args.resume {
        let (j, replay) = Journal::resume(&journal_path).map_err(|e| {
            UsageError(format!(
                "--resume: cannot open the journal {}: {e}",
                journal_path.display()
            ))
        })?;
        (Some(j), replay)
    } else {
        (None, Replay::default())
    };

    let plan = if args.resume && replay.last.contains_key(PLAN_MARK) {
        // The plan was complete: work on its unfinished targets, reading each back first.
        let mut apps = Vec::new();
        for tenant in tenants {
            apps.push(app_in(tenant, &args.fleet.app).await?);
        }
        let mut behind = Vec::new();
        for k in &replay.order {
            let Some(last) = replay.last.get(k) else {
                continue;
            };
            if k == PLAN_MARK || last.state.is_final() {
                continue;
            }
            let Some((tenant, scope, installation)) = parse_key(k) else {
                return usage(format!("the journal has an unreadable target key {k:?}"));
            };
            let Some(t) = tenants
                .iter()
                .position(|x| x.id.eq_ignore_ascii_case(&tenant))
            else {
                return usage(format!(
                    "the journal names tenant {tenant}, which this run does not have"
                ));
            };
            behind.push(Target {
                tenant: t,
                scope,
                installation,
                from: last.from.clone(),
            });
        }
        Plan {
            apps,
            behind,
            current: Vec::new(),
        }
    } else {
        plan(tenants, &args.fleet, concurrency).await?
    };

    for (tenant, app) in tenants.iter().zip(&plan.apps) {
        tracing::info!(tenant = %tenant.id, app = %app.name, latest = %app.latest, behind = plan.behind.len(), "plan ready");
    }
    if args.dry_run {
        return Ok((plan_report(tenants, &plan), ExitStatus::Success));
    }
    if plan.behind.is_empty() {
        let rec = record! {"result" => "nothing to upgrade", "current" => plan.current.len()};
        return Ok((
            Report::single(&["result", "current"], rec),
            ExitStatus::Success,
        ));
    }
    if !args.yes {
        let app = &plan.apps[0];
        let question = format!(
            "Upgrade {} installation(s) of {} to {} in {} tenant(s)?",
            plan.behind.len(),
            app.name,
            app.latest,
            tenants.len()
        );
        if !confirm(&question)? {
            return usage("cancelled");
        }
    }

    let journal = match journal {
        Some(j) => j,
        None => Journal::create(&journal_path).map_err(|e| {
            UsageError(format!(
                "cannot create the journal {}: {e} (pass --resume to continue it, or --journal for another file)",
                journal_path.display()
            ))
        })?,
    };
    let writer = JournalWriter::spawn(journal);
    let resumed = args.resume && replay.last.contains_key(PLAN_MARK);
    if !resumed {
        let mut entries: Vec<Entry> = plan
            .behind
            .iter()
            .map(|t| {
                entry(
                    key(&tenants[t.tenant].id, t),
                    State::Planned,
                    t.from.clone(),
                    &plan.apps[t.tenant].latest,
                    None,
                )
            })
            .collect();
        entries.push(Entry {
            at: now(),
            target: PLAN_MARK.into(),
            state: State::Planned,
            from: None,
            to: None,
            detail: Some(format!("{} targets", plan.behind.len())),
        });
        writer.write(entries).await?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let (stop, interrupted) = (stop.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let progress = if show_progress {
        let bar = indicatif::ProgressBar::new(plan.behind.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} upgrading [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let shared = Shared {
        tenants,
        apps: &plan.apps,
        journal: writer,
        verify_timeout: Duration::from_secs(args.verify_timeout),
        stop: stop.clone(),
        failures: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        max_failures: args.max_failures,
        max_error_rate: args.max_error_rate,
        progress,
        batch: args.batch,
    };

    let mut queue: Vec<(Target, bool)> =
        plan.behind.iter().cloned().map(|t| (t, resumed)).collect();
    let mut outcomes = Vec::new();
    let mut canary_failed = false;
    if let Some(n) = args.canary.filter(|n| *n > 0) {
        let rest = queue.split_off(n.min(queue.len()));
        outcomes.extend(run_all(&shared, queue, concurrency.min(n)).await?);
        canary_failed = outcomes.iter().any(|o| o.state == State::Failed);
        if canary_failed {
            stop.store(true, Ordering::SeqCst);
        }
        queue = rest;
    }
    if !stop.load(Ordering::SeqCst) {
        outcomes.extend(run_all(&shared, queue, concurrency).await?);
    }
    shared.progress.finish_and_clear();

    // The report.
    let not_started = plan.behind.len() - outcomes.len();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &outcomes {
        *counts.entry(state_name(o.state)).or_default() += 1;
    }
    let failed = counts.get("failed").copied().unwrap_or(0);
    let stopped_why = if interrupted.load(Ordering::SeqCst) {
        Some("interrupted")
    } else if canary_failed {
        Some("the canary failed")
    } else if stop.load(Ordering::SeqCst) {
        Some("the failure limit was reached")
    } else {
        None
    };
    if let Some(why) = stopped_why {
        tracing::warn!(
            "stopped early: {why}; {not_started} target(s) not started; continue with --resume --journal {}",
            journal_path.display()
        );
    }
    let status = if failed > 0 || stopped_why.is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    let report = if format == OutputFormat::Table {
        let mut report = Report::list(&["result", "count"]);
        for (name, n) in [
            (
                "upgraded and verified",
                counts.get("verified").copied().unwrap_or(0),
            ),
            ("already current", plan.current.len()),
            (
                "skipped (gone)",
                counts.get("skipped").copied().unwrap_or(0),
            ),
            ("failed", failed),
            ("not started", not_started),
        ] {
            report.push(record! {"result" => name, "count" => n});
        }
        for o in outcomes
            .iter()
            .filter(|o| o.state == State::Failed)
            .take(20)
        {
            tracing::error!(target = %key(&tenants[o.target.tenant].id, &o.target), "{}", o.detail.as_deref().unwrap_or("failed"));
        }
        for (tenant, app) in tenants.iter().zip(&plan.apps) {
            let moved = outcomes
                .iter()
                .filter(|o| o.state == State::Verified && tenants[o.target.tenant].id == tenant.id)
                .count();
            tracing::info!(tenant = %tenant.id, "{}: {moved} installation(s) now run {}, read back and verified", app.name, app.latest);
        }
        tracing::info!("journal: {}", journal_path.display());
        report
    } else {
        let mut report = Report::list(&[
            "tenant",
            "scope",
            "scopeId",
            "installationId",
            "from",
            "to",
            "state",
            "detail",
        ]);
        for o in &outcomes {
            report.push(record! {
                "tenant" => tenants[o.target.tenant].id,
                "scope" => o.target.scope.kind(),
                "scopeId" => o.target.scope.id(),
                "installationId" => o.target.installation.as_str(),
                "from" => o.target.from,
                "to" => o.to,
                "state" => state_name(o.state),
                "detail" => o.detail,
            });
        }
        report
    };
    Ok((report, status))
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Planned => "planned",
        State::Sending => "sending",
        State::Upgraded => "upgraded",
        State::Verified => "verified",
        State::Skipped => "skipped",
        State::Failed => "failed",
    }
}
