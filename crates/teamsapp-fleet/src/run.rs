//! The engine: upgrades the targets behind the catalog at the throttle limit, verifies each by
//! reading it back, journals every step, and stays within its failure limits exactly.

use crate::catalog::CatalogApp;
use crate::error::Error;
use crate::event::{Event, EventSink, StopReason};
use crate::journal::{ErrorInfo, Record, State, Target, TargetRecord, Writer};
use crate::limits::Limits;
use crate::{Fleet, Tenant};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;
use teamsapp_client::Scope;
use teamsapp_types::{
    UpgradeChatApp, UpgradePostRequestBody, UpgradeTeamApp, UpgradeUserApp, version,
};

/// How one target ended in this run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target.
    pub target: Target,
    /// Its version when planned.
    pub from: Option<String>,
    /// The version it was moved to.
    pub to: String,
    /// `verified`, `skipped` or `failed`.
    pub state: State,
    /// Why, for `skipped` and `failed` (and "already at the target version" for a resumed
    /// target that was upgraded before).
    pub detail: Option<String>,
    /// Graph's answer, for failures it answered.
    pub error: Option<ErrorInfo>,
}

/// One target to work on.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub(crate) target: Target,
    pub(crate) from: Option<String>,
    /// A resumed target that may have been sent before: read it back first.
    pub(crate) read_first: bool,
}

/// What a read-back found.
enum ReadBack {
    /// At or past `to`, of the app.
    Done,
    /// Still behind (the version it reads).
    Behind(Option<String>),
    /// The installation is of another app now.
    OtherApp(String),
    /// Not installed any more.
    Gone,
    /// Could not be read.
    Failed(teamsapp_client::Error),
}

pub(crate) struct Engine<'a> {
    pub(crate) fleet: &'a Fleet,
    pub(crate) apps: &'a [CatalogApp],
    pub(crate) journal: Writer,
    pub(crate) events: EventSink,
}

impl Engine<'_> {
    /// The tenant of a target and its app. Every target's tenant is one of the run's (plans
    /// make targets from the run's tenants, and a resumed journal's tenants are checked and
    /// mapped to them first).
    fn tenant(&self, t: &Target) -> (&Tenant, &CatalogApp) {
        let i = self
            .fleet
            .tenants
            .iter()
            .position(|x| x.id == t.tenant)
            .expect("a target of a tenant the run does not have");
        (&self.fleet.tenants[i], &self.apps[i])
    }

    async fn read_back(&self, t: &Target) -> ReadBack {
        let (tenant, app) = self.tenant(t);
        match tenant.client.installed_app(&t.scope, &t.installation).await {
            Ok(i) => {
                if let Some(other) = i
                    .teams_app
                    .as_ref()
                    .and_then(|a| a.id.as_deref())
                    .filter(|id| *id != app.id.as_str())
                {
                    return ReadBack::OtherApp(other.to_owned());
                }
                let v = i.teams_app_definition.and_then(|d| d.version);
                match &v {
                    Some(v) if !version::is_behind(v, &app.latest) => ReadBack::Done,
                    _ => ReadBack::Behind(v),
                }
            }
            Err(e) if e.is_not_found() => ReadBack::Gone,
            Err(e) => ReadBack::Failed(e),
        }
    }

    /// Journals a step that is not final.
    async fn step(&self, w: &Work, state: State) -> Result<(), Error> {
        let (_, app) = self.tenant(&w.target);
        self.journal
            .write(vec![Record::Target(TargetRecord::new(
                &w.target,
                state,
                w.from.as_deref(),
                Some(&app.latest),
            ))])
            .await
    }

    /// Journals a target's end in this run and reports it.
    async fn settle(
        &self,
        w: &Work,
        state: State,
        detail: Option<String>,
        error: Option<ErrorInfo>,
    ) -> Result<Outcome, Error> {
        let (_, app) = self.tenant(&w.target);
        let mut record = TargetRecord::new(&w.target, state, w.from.as_deref(), Some(&app.latest));
        record.detail.clone_from(&detail);
        record.error.clone_from(&error);
        self.journal.write(vec![Record::Target(record)]).await?;
        (self.events)(&Event::Finished {
            target: w.target.clone(),
            state,
            detail: detail.clone(),
            error: error.clone(),
        });
        Ok(Outcome {
            target: w.target.clone(),
            from: w.from.clone(),
            to: app.latest.clone(),
            state,
            detail,
            error,
        })
    }

    async fn fail(&self, w: &Work, e: &teamsapp_client::Error) -> Result<Outcome, Error> {
        self.settle(
            w,
            State::Failed,
            Some(e.to_string()),
            Some(ErrorInfo::from_client(e)),
        )
        .await
    }

    /// Upgrades one target: (read back first if resumed), journal `sending`, upgrade, then
    /// [`Self::after_send`].
    async fn process(&self, w: Work) -> Result<Outcome, Error> {
        if w.read_first {
            match self.read_back(&w.target).await {
                ReadBack::Done => {
                    return self
                        .settle(
                            &w,
                            State::Verified,
                            Some("already at the target version".into()),
                            None,
                        )
                        .await;
                }
                ReadBack::Behind(_) => {}
                ReadBack::Gone => {
                    return self
                        .settle(&w, State::Skipped, Some("no longer installed".into()), None)
                        .await;
                }
                ReadBack::OtherApp(id) => {
                    return self
                        .settle(
                            &w,
                            State::Failed,
                            Some(format!("the installation is now of app {id}")),
                            None,
                        )
                        .await;
                }
                ReadBack::Failed(e) => return self.fail(&w, &e).await,
            }
        }
        self.step(&w, State::Sending).await?;
        let (tenant, app) = self.tenant(&w.target);
        let sent = tenant
            .client
            .upgrade(&w.target.scope, &w.target.installation, app.consent.clone())
            .await;
        self.after_send(&w, sent).await
    }

    /// After an upgrade request: on an error, look whether it happened anyway (an ambiguous
    /// failure may still have upgraded it); then journal `upgraded`, verify, journal the end.
    async fn after_send(
        &self,
        w: &Work,
        sent: Result<(), teamsapp_client::Error>,
    ) -> Result<Outcome, Error> {
        if let Err(e) = sent {
            match self.read_back(&w.target).await {
                ReadBack::Done => {}
                ReadBack::Gone => {
                    return self
                        .settle(w, State::Skipped, Some("no longer installed".into()), None)
                        .await;
                }
                _ => return self.fail(w, &e).await,
            }
        }
        self.step(w, State::Upgraded).await?;
        match self.verify(&w.target).await {
            Ok(()) => self.settle(w, State::Verified, None, None).await,
            Err(detail) => self.settle(w, State::Failed, Some(detail), None).await,
        }
    }

    /// Reads back until the target runs the new version of the app, or the timeout passes.
    async fn verify(&self, t: &Target) -> Result<(), String> {
        let timeout = self.fleet.options.verify_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut wait = Duration::from_millis(100);
        loop {
            let now = tokio::time::Instant::now();
            match self.read_back(t).await {
                ReadBack::Done => return Ok(()),
                ReadBack::OtherApp(id) => {
                    return Err(format!("read back as an installation of app {id}"));
                }
                ReadBack::Gone if now >= deadline => {
                    return Err("no longer installed when read back".into());
                }
                ReadBack::Behind(v) if now >= deadline => {
                    return Err(format!(
                        "still reads {} after {timeout:?}",
                        v.as_deref().unwrap_or("no version")
                    ));
                }
                ReadBack::Failed(e) if now >= deadline => {
                    return Err(format!("could not read it back: {e}"));
                }
                _ => {}
            }
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(now))).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Upgrades up to 20 targets of one tenant in one `$batch` (the client retries the items
    /// that were throttled), then verifies each.
    async fn process_batch(&self, chunk: Vec<Work>) -> Result<Vec<Outcome>, Error> {
        let Some(first) = chunk.first() else {
            return Ok(Vec::new());
        };
        let (tenant, app) = self.tenant(&first.target);
        let records = chunk
            .iter()
            .map(|w| {
                Record::Target(TargetRecord::new(
                    &w.target,
                    State::Sending,
                    w.from.as_deref(),
                    Some(&app.latest),
                ))
            })
            .collect();
        self.journal.write(records).await?;
        let body = app.consent.clone().map(|set| UpgradePostRequestBody {
            consented_permission_set: Some(set),
            ..UpgradePostRequestBody::default()
        });
        let mut batch = tenant.client.batch();
        let mut items = Vec::with_capacity(chunk.len());
        let added: Result<(), teamsapp_client::Error> = (|| {
            for w in &chunk {
                let id = w.target.installation.clone();
                items.push(match &w.target.scope {
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
            Ok(())
        })();
        if let Err(e) = added {
            // Cannot happen for upgrades (they fit a batch), but never send half a batch.
            let mut out = Vec::with_capacity(chunk.len());
            for w in &chunk {
                let detail = format!("the batch could not be built: {e}");
                out.push(self.settle(w, State::Failed, Some(detail), None).await?);
            }
            return Ok(out);
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
            chunk.iter().zip(sent).map(|(w, r)| self.after_send(w, r)),
        )
        .await;
        finished.into_iter().collect()
    }

    /// Runs `queue` with at most `slots` requests in flight, admitting a target only while the
    /// run stays within `limits` even if every target in flight fails. Returns the outcomes
    /// and, when it stopped early, why.
    pub(crate) async fn run_queue(
        &self,
        queue: Vec<Work>,
        limits: Limits,
        concurrency: usize,
    ) -> Result<(Vec<Outcome>, Option<StopReason>), Error> {
        let batch = self.fleet.options.batch;
        // Requests in flight per tenant: each tenant has its own client, limits and budget, so a
        // slow tenant never holds the slots of a fast one.
        let slots = if batch {
            (concurrency / 4).max(2)
        } else {
            concurrency.max(1)
        };
        let mut queues = TenantQueues::new(queue);
        let mut running = FuturesUnordered::new();
        let (mut finished, mut failures, mut in_flight) = (0usize, 0usize, 0usize);
        let mut outcomes = Vec::new();
        let mut stopped = None;
        loop {
            while stopped.is_none() && !queues.is_empty() {
                if self.fleet.stop.load(Ordering::SeqCst) {
                    stopped = Some(StopReason::Interrupted);
                    break;
                }
                let Some(t) = queues.next_with_room(slots) else {
                    break;
                };
                let want = if batch {
                    teamsapp_client::MAX_BATCH_SIZE
                } else {
                    1
                };
                let room = match limits.room(finished, failures, in_flight, want) {
                    Ok(0) => break,
                    Ok(room) => room,
                    Err(reason) => {
                        stopped = Some(reason);
                        break;
                    }
                };
                // Resumed targets are read back one by one; the rest may go in batches.
                let chunk = queues.take(t, if batch { room } else { 1 });
                in_flight += chunk.len();
                let n = chunk.len();
                running.push(async move {
                    let result = if batch && !chunk[0].read_first {
                        self.process_batch(chunk).await
                    } else {
                        let mut out = Vec::with_capacity(1);
                        let mut failed = None;
                        for w in chunk {
                            match self.process(w).await {
                                Ok(o) => out.push(o),
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        failed.map_or(Ok(out), Err)
                    };
                    (t, n, result)
                });
            }
            let Some((t, n, result)) = running.next().await else {
                break;
            };
            in_flight -= n;
            queues.done(t);
            for outcome in result? {
                finished += 1;
                if outcome.state == State::Failed {
                    failures += 1;
                }
                outcomes.push(outcome);
            }
            if stopped.is_none()
                && !queues.is_empty()
                && let Err(reason) = limits.room(finished, failures, in_flight, 1)
            {
                stopped = Some(reason);
            }
        }
        if stopped.is_none() && !queues.is_empty() && self.fleet.stop.load(Ordering::SeqCst) {
            stopped = Some(StopReason::Interrupted);
        }
        if let Some(reason) = stopped {
            (self.events)(&Event::Stopping { reason });
        }
        Ok((outcomes, stopped))
    }
}

/// The work of a run, one queue per tenant, served round-robin among the tenants that have
/// room (fewer than `slots` requests in flight).
struct TenantQueues {
    queues: Vec<VecDeque<Work>>,
    running: Vec<usize>,
    cursor: usize,
}

impl TenantQueues {
    fn new(work: Vec<Work>) -> Self {
        let mut tenants: Vec<String> = Vec::new();
        let mut queues: Vec<VecDeque<Work>> = Vec::new();
        for w in work {
            let i = if let Some(i) = tenants.iter().position(|t| *t == w.target.tenant) {
                i
            } else {
                tenants.push(w.target.tenant.clone());
                queues.push(VecDeque::new());
                queues.len() - 1
            };
            queues[i].push_back(w);
        }
        Self {
            running: vec![0; queues.len()],
            queues,
            cursor: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.queues.iter().all(VecDeque::is_empty)
    }

    /// The next tenant (round-robin) with work and fewer than `slots` requests in flight.
    fn next_with_room(&mut self, slots: usize) -> Option<usize> {
        let n = self.queues.len();
        for k in 0..n {
            let t = (self.cursor + k) % n;
            if !self.queues[t].is_empty() && self.running[t] < slots {
                self.cursor = (t + 1) % n;
                return Some(t);
            }
        }
        None
    }

    /// Up to `max` targets of tenant `t` for one request: one resumed target (read back
    /// first), or fresh targets for a `$batch`.
    fn take(&mut self, t: usize, max: usize) -> Vec<Work> {
        let queue = &mut self.queues[t];
        let mut chunk: Vec<Work> = Vec::new();
        while chunk.len() < max.max(1) {
            let Some(next) = queue.front() else { break };
            if chunk
                .first()
                .is_some_and(|first| first.read_first || next.read_first)
            {
                break;
            }
            chunk.extend(queue.pop_front());
        }
        self.running[t] += 1;
        chunk
    }

    fn done(&mut self, t: usize) {
        self.running[t] -= 1;
    }
}

/// A typed handle to one upgrade in a `$batch`.
enum Item {
    Chat(teamsapp_client::BatchItem<UpgradeChatApp>),
    Team(teamsapp_client::BatchItem<UpgradeTeamApp>),
    User(teamsapp_client::BatchItem<UpgradeUserApp>),
}
