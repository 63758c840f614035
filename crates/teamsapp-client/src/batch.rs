//! JSON batching: `POST /$batch` with typed operations, split into batches of at most 20, with
//! `dependsOn`, per-item retries and 424 handling.
//!
//! How items are retried: after each round of batches, the items that got `429` or `503` (any
//! operation) or `504` (operations safe to repeat, see [`crate::retry`]) and still have retries left
//! under the client's [`RetryPolicy`](crate::RetryPolicy) are sent again, together, after the
//! largest `Retry-After` among them (or exponential backoff with full jitter when none has one),
//! as long as the wait fits in the policy's time budget. `429`/`503` with `Retry-After` also hold the
//! shared throttle gate of the item's class. Items that succeeded or failed otherwise are never
//! sent again.
//!
//! How `424 Failed Dependency` is treated: an item that got 424 because an item it depends on was
//! throttled (and is being retried) is re-sent with it, in the same batch and with the same
//! `dependsOn`; an item whose dependency failed for good is reported as
//! [`Error::FailedDependency`] naming that dependency, and items that depend on a failed item are
//! never sent.
//!
//! Graph runs a batch "either fully sequential or fully parallel" ([`teamsapp_types::batch`]), so
//! items linked by `dependsOn` travel together, in a batch of their own, when they form a chain or
//! a star of at most 20; otherwise (a longer chain, a fork, two dependencies) the rest waits for a
//! later round, and the client itself waits for the dependency's answer. Independent items share
//! batches.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use serde_json::Value;
use teamsapp_types::operation::{OperationClass, Route};
use teamsapp_types::{Batch, BatchRequest, BatchRequestStep, BatchResponse, Operation};
use tokio::time::Instant;

use crate::client::{decode, graph_error, relative_url};
use crate::error::excerpt;
use crate::retry::retry_after_delay;
use crate::{Client, Error};

/// Graph's limit on requests per `$batch`.
pub const MAX_BATCH_SIZE: usize = 20;

/// A typed handle to an item of a [`BatchBuilder`]: pass it to [`BatchResults::take`] to get the
/// item's typed result.
pub struct BatchItem<O> {
    id: String,
    _op: PhantomData<fn() -> O>,
}

impl<O> BatchItem<O> {
    /// The item's id in the batch.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<O> Clone for BatchItem<O> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            _op: PhantomData,
        }
    }
}

impl<O> fmt::Debug for BatchItem<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BatchItem").field(&self.id).finish()
    }
}

struct Entry {
    id: String,
    route: &'static Route,
    url: String,
    body: Option<(&'static str, Value)>,
    depends_on: Vec<usize>,
    idempotent: bool,
}

/// Collects typed operations for `$batch`; start with [`Client::batch`].
pub struct BatchBuilder {
    client: Client,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A `$batch` builder on this client.
    pub fn batch(&self) -> BatchBuilder {
        BatchBuilder {
            client: self.clone(),
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl BatchBuilder {
    /// Adds an operation with the next free numeric id (`"1"`, `"2"`, …).
    pub fn add<O: Operation>(&mut self, op: &O) -> Result<BatchItem<O>, Error> {
        let mut n = self.entries.len() + 1;
        while self.index.contains_key(&n.to_string()) {
            n += 1;
        }
        self.add_with_id(n.to_string(), op)
    }

    /// Adds an operation with your id (unique, ignoring ASCII case, as Graph requires).
    pub fn add_with_id<O: Operation>(
        &mut self,
        id: impl Into<String>,
        op: &O,
    ) -> Result<BatchItem<O>, Error> {
        let id = id.into();
        let route = O::ROUTE;
        if id.is_empty() {
            return Err(Error::invalid("a batch item id must not be empty"));
        }
        if self.index.contains_key(&id.to_ascii_lowercase()) {
            return Err(Error::invalid(format!(
                "batch item id {id:?} is used twice"
            )));
        }
        if route.class == OperationClass::Batch {
            return Err(Error::invalid(
                "a $batch request cannot carry another $batch",
            ));
        }
        self.client.check_cloud(route)?;
        let body = match op.body().map_err(|e| {
            Error::invalid(format!(
                "could not serialize the body of {}: {e}",
                route.operation_id
            ))
        })? {
            None => None,
            Some(body) if body.content_type.starts_with("application/json") => {
                let value = serde_json::from_slice(&body.bytes).map_err(|e| {
                    Error::invalid(format!(
                        "the body of {} is not json: {e}",
                        route.operation_id
                    ))
                })?;
                Some((body.content_type, value))
            }
            Some(body) => {
                return Err(Error::invalid(format!(
                    "{} sends {}, which this client does not put in a $batch",
                    route.operation_id, body.content_type
                )));
            }
        };
        self.index
            .insert(id.to_ascii_lowercase(), self.entries.len());
        self.entries.push(Entry {
            id: id.clone(),
            route,
            url: relative_url(op),
            body,
            depends_on: Vec::new(),
            idempotent: route.idempotent,
        });
        Ok(BatchItem {
            id,
            _op: PhantomData,
        })
    }

    /// Makes `item` run only after `dependency` succeeded (`dependsOn`). The dependency must have
    /// been added before the item, so cycles cannot happen.
    pub fn depends_on<A, B>(
        &mut self,
        item: &BatchItem<A>,
        dependency: &BatchItem<B>,
    ) -> Result<(), Error> {
        let find = |id: &str| {
            self.index
                .get(&id.to_ascii_lowercase())
                .copied()
                .ok_or_else(|| Error::invalid(format!("{id:?} is not an item of this batch")))
        };
        let i = find(&item.id)?;
        let d = find(&dependency.id)?;
        if d >= i {
            return Err(Error::invalid(format!(
                "{:?} can only depend on an item added before it",
                item.id
            )));
        }
        if !self.entries[i].depends_on.contains(&d) {
            self.entries[i].depends_on.push(d);
        }
        Ok(())
    }

    /// How many operations were added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no operation was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sends everything, in as many `$batch` requests and rounds as needed, and returns each item's
    /// result. Errors are per item: this never fails as a whole.
    pub async fn send(self) -> BatchResults {
        Runner::new(self).run().await
    }
}

/// What an item ended with.
enum Outcome {
    Answer(Answer),
    Failed(Error),
}

/// A sub-response.
struct Answer {
    status: StatusCode,
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn retry_after(&self) -> Option<Duration> {
        retry_after_delay(
            self.header("retry-after")?,
            self.header("date"),
            SystemTime::now(),
        )
    }
}

#[derive(Default, Clone, Copy)]
struct Counters {
    attempts: u32,
    throttled: u32,
    transient: u32,
}

struct Runner {
    client: Client,
    entries: Vec<Entry>,
    states: Vec<Option<Outcome>>,
    counters: Vec<Counters>,
    /// The last retryable answer of items waiting for a retry.
    last: Vec<Option<Answer>>,
}

impl Runner {
    fn new(builder: BatchBuilder) -> Self {
        let n = builder.entries.len();
        Self {
            client: builder.client,
            entries: builder.entries,
            states: (0..n).map(|_| None).collect(),
            counters: vec![Counters::default(); n],
            last: (0..n).map(|_| None).collect(),
        }
    }

    fn succeeded(&self, i: usize) -> bool {
        matches!(&self.states[i], Some(Outcome::Answer(a)) if self.entries[i].route.accepts(a.status))
    }

    fn failed(&self, i: usize) -> bool {
        self.states[i].is_some() && !self.succeeded(i)
    }

    async fn run(mut self) -> BatchResults {
        let start = Instant::now();
        loop {
            self.fail_dependents();
            let pending: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.states[i].is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            let batches = self.pack(&pending);
            let answers =
                futures_util::future::join_all(batches.iter().map(|batch| self.send_batch(batch)))
                    .await;
            let mut waits = Vec::new();
            for (batch, answer) in batches.iter().zip(answers) {
                self.absorb(batch, answer, &mut waits);
            }
            let retrying: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.states[i].is_none() && self.last[i].is_some())
                .collect();
            if retrying.is_empty() {
                continue;
            }
            let wait = waits.into_iter().max().unwrap_or(Duration::ZERO);
            if start.elapsed() + wait > self.client.inner.retry.budget {
                for i in retrying {
                    if let Some(answer) = self.last[i].take() {
                        self.states[i] = Some(Outcome::Answer(answer));
                    }
                }
                continue;
            }
            tracing::debug!(items = retrying.len(), ?wait, "retrying batch items");
            tokio::time::sleep(wait).await;
            let stats = &self.client.inner.stats;
            stats.add_wait(wait);
            stats.retries.fetch_add(
                u64::try_from(retrying.len()).unwrap_or(u64::MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let mut outcomes = HashMap::new();
        for ((entry, state), counters) in
            self.entries.into_iter().zip(self.states).zip(self.counters)
        {
            let outcome = state.unwrap_or_else(|| {
                Outcome::Failed(Error::MissingBatchResponse {
                    id: entry.id.clone(),
                })
            });
            outcomes.insert(
                entry.id.to_ascii_lowercase(),
                ItemResult {
                    id: entry.id,
                    route: entry.route,
                    attempts: counters.attempts,
                    outcome,
                },
            );
        }
        BatchResults { outcomes }
    }

    /// Marks pending items whose dependency failed, transitively.
    fn fail_dependents(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.entries.len() {
                if self.states[i].is_some() {
                    continue;
                }
                let failed = self.entries[i]
                    .depends_on
                    .iter()
                    .copied()
                    .find(|&d| self.failed(d));
                if let Some(d) = failed {
                    self.states[i] = Some(Outcome::Failed(Error::FailedDependency {
                        id: self.entries[i].id.clone(),
                        dependency: self.entries[d].id.clone(),
                    }));
                    self.last[i] = None;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The pending dependencies of `i`.
    fn pending_deps(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.entries[i]
            .depends_on
            .iter()
            .copied()
            .filter(|&d| self.states[d].is_none())
    }

    /// Groups pending items into batches of at most 20 that Graph accepts: independent items
    /// together, a chain or star of linked items alone; items whose pending dependencies cannot
    /// join them wait for a later round.
    fn pack(&self, pending: &[usize]) -> Vec<Vec<usize>> {
        // Connected groups over pending dependencies (union-find on indices).
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let mut parent: Vec<usize> = (0..self.entries.len()).collect();
        for &i in pending {
            for d in self.pending_deps(i).collect::<Vec<_>>() {
                let (a, b) = (root(&mut parent, i), root(&mut parent, d));
                parent[a] = b;
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in pending {
            groups.entry(root(&mut parent, i)).or_default().push(i);
        }
        // Graph runs a batch "either fully sequential or fully parallel"
        // (`teamsapp_types::batch`): a linked group travels alone, as a batch of its own, when it
        // is a chain or a star (in index order, which is topological: its first 20 items);
        // otherwise only its roots go now, in parallel, and the rest wait for their
        // dependencies' answers. Independent items share batches.
        let mut linked: Vec<Vec<usize>> = Vec::new();
        let mut parallel: Vec<usize> = Vec::new();
        for (_, group) in groups {
            if group.len() == 1 {
                parallel.extend(group);
                continue;
            }
            let head = &group[..group.len().min(MAX_BATCH_SIZE)];
            let shape: Vec<Vec<usize>> = head
                .iter()
                .map(|&i| {
                    self.pending_deps(i)
                        .filter_map(|d| head.iter().position(|&h| h == d))
                        .collect()
                })
                .collect();
            let complete = head
                .iter()
                .zip(&shape)
                .all(|(&i, deps)| deps.len() == self.pending_deps(i).count());
            if complete && teamsapp_types::batch::is_accepted_shape(&shape) {
                linked.push(head.to_vec());
            } else {
                parallel.extend(
                    group
                        .iter()
                        .copied()
                        .filter(|&i| self.pending_deps(i).next().is_none()),
                );
            }
        }
        let mut batches = linked;
        batches.extend(parallel.chunks(MAX_BATCH_SIZE).map(<[usize]>::to_vec));
        for batch in &mut batches {
            batch.sort_unstable();
        }
        batches
    }

    /// Sends one `$batch` request.
    async fn send_batch(&self, batch: &[usize]) -> Result<BatchResponse, Error> {
        let requests = batch
            .iter()
            .map(|&i| {
                let entry = &self.entries[i];
                let depends_on: Vec<String> = self
                    .pending_deps(i)
                    .filter(|d| batch.contains(d))
                    .map(|d| self.entries[d].id.clone())
                    .collect();
                BatchRequestStep {
                    id: entry.id.clone(),
                    method: entry.route.method.to_string(),
                    url: entry.url.clone(),
                    headers: entry.body.as_ref().map(|(content_type, _)| {
                        BTreeMap::from([("Content-Type".to_owned(), (*content_type).to_owned())])
                    }),
                    body: entry.body.as_ref().map(|(_, value)| value.clone()),
                    depends_on: (!depends_on.is_empty()).then_some(depends_on),
                    additional_properties: serde_json::Map::new(),
                }
            })
            .collect();
        let op = Batch::new(BatchRequest {
            requests,
            additional_properties: serde_json::Map::new(),
        });
        let mut prepared = self.client.prepare(&op)?;
        prepared.idempotent = batch.iter().all(|&i| self.entries[i].idempotent);
        let mut costs: BTreeMap<OperationClass, u32> = BTreeMap::new();
        for &i in batch {
            *costs.entry(self.entries[i].route.class).or_default() += 1;
        }
        prepared.gates = costs
            .keys()
            .copied()
            .chain([OperationClass::Batch])
            .collect();
        prepared.costs = costs.into_iter().collect();
        let raw = self.client.execute(prepared).await?;
        decode::<Batch>(&raw)
    }

    /// Records one batch's answers; pushes the waits retried items ask for.
    fn absorb(
        &mut self,
        batch: &[usize],
        answer: Result<BatchResponse, Error>,
        waits: &mut Vec<Duration>,
    ) {
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                let shared = Arc::new(error);
                for &i in batch {
                    self.counters[i].attempts += 1;
                    self.states[i] = Some(Outcome::Failed(Error::BatchFailed {
                        id: self.entries[i].id.clone(),
                        source: Arc::clone(&shared),
                    }));
                }
                return;
            }
        };
        let mut steps: HashMap<String, Answer> = HashMap::new();
        for step in response.responses {
            let Some(status) = u16::try_from(step.status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
            else {
                continue;
            };
            steps.insert(
                step.id.to_ascii_lowercase(),
                Answer {
                    status,
                    headers: step.headers.unwrap_or_default(),
                    body: step.body,
                },
            );
        }
        let mut failed_dependency = Vec::new();
        for &i in batch {
            self.last[i] = None;
            let Some(answer) = steps.remove(&self.entries[i].id.to_ascii_lowercase()) else {
                self.counters[i].attempts += 1;
                self.states[i] = Some(Outcome::Failed(Error::MissingBatchResponse {
                    id: self.entries[i].id.clone(),
                }));
                continue;
            };
            if answer.status == StatusCode::FAILED_DEPENDENCY {
                failed_dependency.push((i, answer));
                continue;
            }
            self.counters[i].attempts += 1;
            self.settle(i, answer, waits);
        }
        // 424s last, when their dependencies' fate is known.
        for (i, answer) in failed_dependency {
            let deps = &self.entries[i].depends_on;
            if deps.iter().any(|&d| self.states[d].is_none()) {
                // A dependency is being retried: send this item again with it.
                self.last[i] = Some(answer);
            } else if let Some(&d) = deps.iter().find(|&&d| self.failed(d)) {
                self.states[i] = Some(Outcome::Failed(Error::FailedDependency {
                    id: self.entries[i].id.clone(),
                    dependency: self.entries[d].id.clone(),
                }));
            } else {
                self.counters[i].attempts += 1;
                self.states[i] = Some(Outcome::Answer(answer));
            }
        }
    }

    /// Decides the fate of a non-424 answer: done, or retried.
    fn settle(&mut self, i: usize, answer: Answer, waits: &mut Vec<Duration>) {
        let entry = &self.entries[i];
        let policy = &self.client.inner.retry;
        let throttled = answer.status == StatusCode::TOO_MANY_REQUESTS;
        if throttled {
            self.client
                .inner
                .stats
                .throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let retryable = throttled
            || answer.status == StatusCode::SERVICE_UNAVAILABLE
            || (answer.status == StatusCode::GATEWAY_TIMEOUT && entry.idempotent);
        if entry.route.accepts(answer.status) || !retryable {
            self.states[i] = Some(Outcome::Answer(answer));
            return;
        }
        let retry_after = answer.retry_after();
        if let Some(wait) = retry_after
            && answer.status != StatusCode::GATEWAY_TIMEOUT
        {
            self.client
                .inner
                .throttle
                .pause(&self.client.inner.tenant, entry.route.class, wait);
        }
        let counters = &mut self.counters[i];
        let (rule, used) = if throttled {
            (&policy.throttled, &mut counters.throttled)
        } else {
            (&policy.transient, &mut counters.transient)
        };
        if *used >= rule.max_retries {
            self.states[i] = Some(Outcome::Answer(answer));
            return;
        }
        *used += 1;
        waits.push(retry_after.unwrap_or_else(|| rule.delay(*used)));
        self.last[i] = Some(answer);
    }
}

struct ItemResult {
    id: String,
    route: &'static Route,
    attempts: u32,
    outcome: Outcome,
}

/// The results of a [`BatchBuilder::send`], keyed by item id.
pub struct BatchResults {
    outcomes: HashMap<String, ItemResult>,
}

impl fmt::Debug for BatchResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for item in self.outcomes.values() {
            match &item.outcome {
                Outcome::Answer(a) => map.entry(&item.id, &a.status.as_u16()),
                Outcome::Failed(e) => map.entry(&item.id, &e.to_string()),
            };
        }
        map.finish()
    }
}

impl BatchResults {
    /// The typed result of an item; each result can be taken once.
    ///
    /// A sub-response the operation does not accept becomes [`Error::Api`] (with its
    /// `Retry-After`, when retries ended on 429/503/504); an item not run because of a failed
    /// dependency is [`Error::FailedDependency`].
    pub fn take<O: Operation>(&mut self, item: &BatchItem<O>) -> Result<O::Response, Error> {
        let result = self
            .outcomes
            .remove(&item.id.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::invalid(format!("no result for {:?} (taken already?)", item.id))
            })?;
        let answer = match result.outcome {
            Outcome::Failed(error) => return Err(error),
            Outcome::Answer(answer) => answer,
        };
        // A body of another type than JSON (a `$count`) comes base64-encoded.
        let bytes =
            teamsapp_types::batch::body_bytes(answer.header("content-type"), answer.body.as_ref());
        let header = |name: &str| answer.header(name).map(str::to_owned);
        if !O::ROUTE.accepts(answer.status) {
            return Err(Error::Api {
                status: answer.status,
                error: Box::new(graph_error(
                    answer.status,
                    &bytes,
                    header("request-id"),
                    header("client-request-id"),
                    header("date"),
                )),
                retry_after: answer.retry_after(),
            });
        }
        O::decode(&bytes).map_err(|source| Error::Decode {
            operation: O::ROUTE.operation_id,
            status: answer.status,
            client_request_id: header("client-request-id").unwrap_or_default(),
            excerpt: excerpt(&bytes),
            source,
        })
    }

    /// The HTTP status of an item's final sub-response, if it got one.
    pub fn status(&self, id: &str) -> Option<StatusCode> {
        match &self.outcomes.get(&id.to_ascii_lowercase())?.outcome {
            Outcome::Answer(a) => Some(a.status),
            Outcome::Failed(_) => None,
        }
    }

    /// Whether an item succeeded (its operation accepts its final status).
    pub fn is_success(&self, id: &str) -> bool {
        self.outcomes
            .get(&id.to_ascii_lowercase())
            .is_some_and(|r| matches!(&r.outcome, Outcome::Answer(a) if r.route.accepts(a.status)))
    }

    /// How many times an item was sent.
    pub fn attempts(&self, id: &str) -> Option<u32> {
        self.outcomes
            .get(&id.to_ascii_lowercase())
            .map(|r| r.attempts)
    }

    /// The item ids not taken yet.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.outcomes.values().map(|r| r.id.as_str())
    }

    /// How many results have not been taken yet.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether every result was taken.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
}
