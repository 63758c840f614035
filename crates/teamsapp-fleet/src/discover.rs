//! Discovery: every installation of the app in a tenant, with the fewest requests Graph allows
//! (users, then each user's chats, each distinct chat read once; teams; users' personal scopes;
//! pages as large as each list allows), each at the client's throttle limit.

use crate::Tenant;
use crate::catalog::CatalogApp;
use crate::error::Error;
use crate::event::{DiscoveryProgress, Event, EventSink};
use crate::journal::{FoundInstallation, Record, ScannedRecord, Target, Writer};
use futures_util::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use teamsapp_client::{Client, ListQuery, Scope};
use teamsapp_types::permissions::InstallationScope;
use teamsapp_types::{
    AppInstallationId, ChatId, ListTeams, ListUserChats, ListUsers, TeamId, TeamsAppInstallation,
    UserId,
};

/// The largest page `GET /users` and `GET /teams` serve (the fragment's `$top` maximum).
pub(crate) const DIRECTORY_PAGE: u32 = max_top(&teamsapp_types::routes::LIST_USERS);
/// The largest page `GET /users/{id}/chats` serves (the fragment's `$top` maximum).
pub(crate) const CHATS_PAGE: u32 = max_top(&teamsapp_types::routes::LIST_USER_CHATS);

/// The largest `$top` of a paged list, from its generated route.
const fn max_top(route: &teamsapp_types::Route) -> u32 {
    match route.paging {
        Some(paging) => paging.max_top,
        None => panic!("not a paged list"),
    }
}
/// Rounds over the scopes that failed: the client already retried each request by its policy;
/// a scope that still fails is tried again after the others, then reported.
pub(crate) const ROUNDS: usize = 3;

/// An installation as found: where, which, at which version, of which app.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) target: Target,
    pub(crate) from: Option<String>,
}

/// What discovery found in one tenant.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub(crate) found: Vec<Found>,
    /// Scopes named in a targets file that no longer exist (or no longer hold the app).
    pub(crate) gone: Vec<Target>,
    /// Scopes that could not be read, with the last error.
    pub(crate) unreadable: Vec<(Scope, String)>,
}

/// What discovery journals and what it already knows from a journal.
#[derive(Default)]
pub(crate) struct Known<'a> {
    /// Where to journal each scope read (so a crash resumes discovery where it stopped).
    pub(crate) writer: Option<&'a Writer>,
    /// Scopes read before, by tenant, with what they held.
    pub(crate) scanned: HashMap<(String, Scope), Vec<Found>>,
}

impl Known<'_> {
    /// The scanned scopes of a journal, as discovery uses them.
    pub(crate) fn from_records(records: &[ScannedRecord]) -> HashMap<(String, Scope), Vec<Found>> {
        let mut out = HashMap::new();
        for r in records {
            let Ok(scope) = Scope::parse(&r.scope, &r.scope_id) else {
                continue;
            };
            let found = r
                .found
                .iter()
                .filter_map(|f| {
                    Some(Found {
                        target: Target {
                            tenant: r.tenant.clone(),
                            scope: scope.clone(),
                            installation: AppInstallationId::new(f.installation_id.as_str())
                                .ok()?,
                        },
                        from: f.from.clone(),
                    })
                })
                .collect();
            out.insert((r.tenant.clone(), scope), found);
        }
        out
    }

    async fn record(&self, tenant: &str, scope: &Scope, found: &[Found]) -> Result<(), Error> {
        let Some(writer) = self.writer else {
            return Ok(());
        };
        writer
            .write(vec![Record::Scanned(ScannedRecord {
                at: crate::journal::now(),
                tenant: tenant.to_owned(),
                scope: scope.kind().to_owned(),
                scope_id: scope.id().to_owned(),
                found: found
                    .iter()
                    .map(|f| FoundInstallation {
                        installation_id: f.target.installation.as_str().to_owned(),
                        from: f.from.clone(),
                    })
                    .collect(),
            })])
            .await
    }
}

/// Whether an error is worth trying again later: throttling, 5xx, or no answer at all.
pub(crate) fn is_transient(e: &teamsapp_client::Error) -> bool {
    match e {
        teamsapp_client::Error::Transport { .. } | teamsapp_client::Error::Throttled { .. } => true,
        _ => e
            .status()
            .is_some_and(|s| s.as_u16() == 429 || s.is_server_error()),
    }
}

/// Progress counters, reported at most every 200 ms and at the end.
pub(crate) struct Progress<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) events: &'a EventSink,
    started: Instant,
    last: Mutex<Instant>,
    pub(crate) users: AtomicUsize,
    pub(crate) chats: AtomicUsize,
    pub(crate) teams: AtomicUsize,
    pub(crate) read: AtomicUsize,
    pub(crate) total: AtomicUsize,
    pub(crate) installations: AtomicUsize,
    pub(crate) unreadable: AtomicUsize,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(tenant: &'a str, events: &'a EventSink) -> Self {
        let now = Instant::now();
        Self {
            tenant,
            events,
            started: now,
            last: Mutex::new(now),
            users: AtomicUsize::new(0),
            chats: AtomicUsize::new(0),
            teams: AtomicUsize::new(0),
            read: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            installations: AtomicUsize::new(0),
            unreadable: AtomicUsize::new(0),
        }
    }

    fn snapshot(&self) -> DiscoveryProgress {
        DiscoveryProgress {
            users: self.users.load(Ordering::Relaxed),
            chats: self.chats.load(Ordering::Relaxed),
            teams: self.teams.load(Ordering::Relaxed),
            scopes_read: self.read.load(Ordering::Relaxed),
            scopes_total: self.total.load(Ordering::Relaxed),
            installations: self.installations.load(Ordering::Relaxed),
            unreadable: self.unreadable.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
        }
    }

    pub(crate) fn tick(&self) {
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.elapsed() < Duration::from_millis(200) {
                return;
            }
            *last = Instant::now();
        }
        self.emit(false);
    }

    pub(crate) fn emit(&self, done: bool) {
        (self.events)(&Event::Discovery {
            tenant: self.tenant.to_owned(),
            progress: self.snapshot(),
            done,
        });
    }
}

fn found(tenant: &str, scope: &Scope, i: &TeamsAppInstallation) -> Option<Found> {
    Some(Found {
        target: Target {
            tenant: tenant.to_owned(),
            scope: scope.clone(),
            installation: AppInstallationId::new(i.id.as_deref()?).ok()?,
        },
        from: i
            .teams_app_definition
            .as_ref()
            .and_then(|d| d.version.clone()),
    })
}

/// Lists a directory collection, retrying whole rounds on transient failures.
pub(crate) async fn list_ids<F, Fut>(what: &str, mut list: F) -> Result<Vec<String>, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, teamsapp_client::Error>>,
{
    let mut round = 1;
    loop {
        match list().await {
            Ok(ids) => return Ok(ids),
            Err(e) if round < ROUNDS && is_transient(&e) => {
                tracing::warn!("{what}: {e}; trying again");
                round += 1;
            }
            Err(e) => return Err(Error::graph(what, e)),
        }
    }
}

/// Reads the app's installations in `scopes`, `concurrency` at a time, in rounds: scopes that
/// failed transiently are read again after the others; a scope that is gone is dropped.
async fn read_scopes(
    tenant: &Tenant,
    scopes: Vec<Scope>,
    query: &ListQuery,
    concurrency: usize,
    progress: &Progress<'_>,
    known: &Known<'_>,
    out: &mut Discovered,
) -> Result<(), Error> {
    let client = &tenant.client;
    let mut pending = Vec::with_capacity(scopes.len());
    for scope in scopes {
        match known.scanned.get(&(tenant.id.clone(), scope.clone())) {
            Some(found) => {
                progress.read.fetch_add(1, Ordering::Relaxed);
                progress
                    .installations
                    .fetch_add(found.len(), Ordering::Relaxed);
                out.found.extend(found.iter().cloned());
            }
            None => pending.push(scope),
        }
    }
    for round in 1..=ROUNDS {
        let results: Vec<(Scope, Result<Vec<Found>, teamsapp_client::Error>)> =
            stream::iter(pending)
                .map(|scope| async move {
                    let read = match client.installed_apps(&scope, query).await {
                        Ok(list) => {
                            let found: Vec<Found> = list
                                .iter()
                                .filter_map(|i| found(&tenant.id, &scope, i))
                                .collect();
                            known.record(&tenant.id, &scope, &found).await?;
                            Ok(found)
                        }
                        // Deleted between listing and reading: nothing to upgrade there.
                        Err(e) if e.is_not_found() => {
                            known.record(&tenant.id, &scope, &[]).await?;
                            Ok(Vec::new())
                        }
                        Err(e) => Err(e),
                    };
                    Ok::<_, Error>((scope, read))
                })
                .buffer_unordered(concurrency.max(1))
                .inspect(|r| {
                    if let Ok((_, Ok(list))) = r {
                        progress.read.fetch_add(1, Ordering::Relaxed);
                        progress
                            .installations
                            .fetch_add(list.len(), Ordering::Relaxed);
                    }
                    progress.tick();
                })
                .try_collect()
                .await?;
        pending = Vec::new();
        for (scope, result) in results {
            match result {
                Ok(list) => out.found.extend(list),
                Err(e) if round < ROUNDS && is_transient(&e) => pending.push(scope),
                Err(e) => {
                    progress.unreadable.fetch_add(1, Ordering::Relaxed);
                    (progress.events)(&Event::ScopeUnreadable {
                        tenant: tenant.id.clone(),
                        scope: scope.to_string(),
                        error: e.to_string(),
                    });
                    out.unreadable.push((scope, e.to_string()));
                }
            }
        }
        if pending.is_empty() {
            break;
        }
    }
    Ok(())
}

fn app_query(app: &CatalogApp) -> ListQuery {
    ListQuery::new()
        .filter(format!("teamsApp/id eq '{}'", app.id))
        .expand(["teamsAppDefinition"])
}

/// Every installation of the app in the tenant's `scopes`.
pub(crate) async fn discover(
    tenant: &Tenant,
    app: &CatalogApp,
    scopes: &[InstallationScope],
    concurrency: usize,
    events: &EventSink,
    known: &Known<'_>,
) -> Result<Discovered, Error> {
    let client: &Client = &tenant.client;
    let progress = Progress::new(&tenant.id, events);
    let wants = |s: InstallationScope| scopes.contains(&s);
    let mut to_read: Vec<Scope> = Vec::new();
    if wants(InstallationScope::Chat) || wants(InstallationScope::User) {
        let users: Vec<UserId> = list_ids("listing users", || {
            client
                .items(&ListUsers::new().select(["id"]).top(DIRECTORY_PAGE))
                .map_ok(|u| u.id)
                .inspect_ok(|_| {
                    progress.users.fetch_add(1, Ordering::Relaxed);
                    progress.tick();
                })
                .try_filter_map(|id| std::future::ready(Ok(id)))
                .try_collect()
        })
        .await?
        .into_iter()
        .filter_map(|id| UserId::new(id).ok())
        .collect();
        progress.users.store(users.len(), Ordering::Relaxed);
        if wants(InstallationScope::Chat) {
            // Each chat once, however many members list it.
            let chats = Mutex::new(BTreeSet::<String>::new());
            let mut pending: Vec<UserId> = users.clone();
            for round in 1..=ROUNDS {
                let failed: Vec<(UserId, teamsapp_client::Error)> = stream::iter(pending)
                    .map(|user| {
                        let chats = &chats;
                        let progress = &progress;
                        async move {
                            let listed = client
                                .items(
                                    &ListUserChats::new(user.clone())
                                        .select(["id"])
                                        .top(CHATS_PAGE),
                                )
                                .try_for_each(|c| {
                                    if let Some(id) = c.id {
                                        let mut set = chats
                                            .lock()
                                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                                        if set.insert(id) {
                                            progress.chats.store(set.len(), Ordering::Relaxed);
                                        }
                                    }
                                    progress.tick();
                                    std::future::ready(Ok(()))
                                })
                                .await;
                            listed.err().map(|e| (user, e))
                        }
                    })
                    .buffer_unordered(concurrency.max(1))
                    .filter_map(std::future::ready)
                    .collect()
                    .await;
                pending = Vec::new();
                for (user, e) in failed {
                    if e.is_not_found() {
                        continue; // The user left the directory meanwhile.
                    }
                    if round < ROUNDS && is_transient(&e) {
                        pending.push(user);
                    } else {
                        progress.unreadable.fetch_add(1, Ordering::Relaxed);
                        events(&Event::ScopeUnreadable {
                            tenant: tenant.id.clone(),
                            scope: format!("chats of user {user}"),
                            error: e.to_string(),
                        });
                    }
                }
                if pending.is_empty() {
                    break;
                }
            }
            let chats = chats
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            to_read.extend(
                chats
                    .iter()
                    .filter_map(|c| ChatId::new(c.as_str()).ok())
                    .map(Scope::Chat),
            );
        }
        if wants(InstallationScope::User) {
            to_read.extend(users.into_iter().map(Scope::User));
        }
    }
    if wants(InstallationScope::Team) {
        let teams = list_ids("listing teams", || {
            client
                .items(&ListTeams::new().select(["id"]).top(DIRECTORY_PAGE))
                .map_ok(|t| t.id)
                .inspect_ok(|_| {
                    progress.teams.fetch_add(1, Ordering::Relaxed);
                    progress.tick();
                })
                .try_filter_map(|id| std::future::ready(Ok(id)))
                .try_collect::<Vec<String>>()
        })
        .await?;
        progress.teams.store(teams.len(), Ordering::Relaxed);
        to_read.extend(
            teams
                .iter()
                .filter_map(|id| TeamId::new(id.as_str()).ok())
                .map(Scope::Team),
        );
    }
    progress.total.store(to_read.len(), Ordering::Relaxed);
    let mut out = Discovered::default();
    read_scopes(
        tenant,
        to_read,
        &app_query(app),
        concurrency,
        &progress,
        known,
        &mut out,
    )
    .await?;
    progress.emit(true);
    Ok(out)
}

/// The targets a targets file names, read now: an installation that is gone (or a scope that
/// no longer holds the app) is reported as gone, not as an error.
pub(crate) async fn from_specs(
    tenant: &Tenant,
    app: &CatalogApp,
    specs: &[crate::TargetSpec],
    concurrency: usize,
    events: &EventSink,
) -> Discovered {
    let client = &tenant.client;
    let progress = Progress::new(&tenant.id, events);
    progress.total.store(specs.len(), Ordering::Relaxed);
    let query = app_query(app);
    let query = &query;
    let mut out = Discovered::default();
    let mut pending: Vec<crate::TargetSpec> = specs.to_vec();
    for round in 1..=ROUNDS {
        let results: Vec<_> = stream::iter(pending)
            .map(|spec| async move {
                let result = match &spec.installation {
                    Some(id) => client.installed_app(&spec.scope, id).await.map(|i| vec![i]),
                    None => client.installed_apps(&spec.scope, query).await,
                };
                (spec, result)
            })
            .buffer_unordered(concurrency.max(1))
            .inspect(|_| progress.tick())
            .collect()
            .await;
        pending = Vec::new();
        for (spec, result) in results {
            let gone = || Target {
                tenant: tenant.id.clone(),
                scope: spec.scope.clone(),
                installation: spec.installation.clone().unwrap_or_else(|| {
                    AppInstallationId::build(spec.scope.id(), app.id.as_str()).unwrap_or_else(
                        |_| AppInstallationId::new("unknown").expect("a valid opaque id"),
                    )
                }),
            };
            match result {
                Ok(list) => {
                    progress.read.fetch_add(1, Ordering::Relaxed);
                    // An installation named by id must still be of this app.
                    let of_app: Vec<_> = list
                        .iter()
                        .filter(|i| {
                            i.teams_app
                                .as_ref()
                                .and_then(|a| a.id.as_deref())
                                .is_none_or(|id| id == app.id.as_str())
                        })
                        .filter_map(|i| found(&tenant.id, &spec.scope, i))
                        .collect();
                    if of_app.is_empty() {
                        out.gone.push(gone());
                    }
                    progress
                        .installations
                        .fetch_add(of_app.len(), Ordering::Relaxed);
                    out.found.extend(of_app);
                }
                Err(e) if e.is_not_found() => {
                    progress.read.fetch_add(1, Ordering::Relaxed);
                    out.gone.push(gone());
                }
                Err(e) if round < ROUNDS && is_transient(&e) => pending.push(spec),
                Err(e) => {
                    progress.unreadable.fetch_add(1, Ordering::Relaxed);
                    events(&Event::ScopeUnreadable {
                        tenant: tenant.id.clone(),
                        scope: spec.scope.to_string(),
                        error: e.to_string(),
                    });
                    out.unreadable.push((spec.scope.clone(), e.to_string()));
                }
            }
        }
        if pending.is_empty() {
            break;
        }
    }
    progress.emit(true);
    out
}
