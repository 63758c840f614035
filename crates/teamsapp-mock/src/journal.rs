//! The request journal (a bounded ring buffer, `GET /_emulator/journal`) and the counters behind
//! `GET /_emulator/metrics`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use http::Method;
use http::uri::PathAndQuery;
use serde::Serialize;
use time::OffsetDateTime;

use crate::request::RequestContext;

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// A sequence number, from 1, never reused until reset.
    pub seq: u64,
    /// When the request arrived (RFC 3339).
    pub at: String,
    /// The HTTP method.
    pub method: String,
    /// The path and query as received, with the values of secret-bearing query parameters
    /// (`access_token`, `client_secret`, `code`, …) replaced by `REDACTED`.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The operation, when a route matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// `request-id`.
    pub request_id: String,
    /// `client-request-id`.
    pub client_request_id: String,
    /// The calling app's client id, when the token was valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The caller's tenant, when the token was valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Whether the request was an item of a `$batch`.
    pub batch_item: bool,
    /// Time spent, in milliseconds (on the emulator's clock).
    pub latency_ms: u64,
}

/// One request as the journal keeps it: shared and static parts only (the request's context and
/// the caller's ids are reference-counted, the path is the request's own bytes), so recording a
/// request copies no string; a [`JournalEntry`] is rendered from it when the journal is read.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) arrived: OffsetDateTime,
    pub(crate) method: Method,
    pub(crate) path: PathAndQuery,
    pub(crate) status: u16,
    pub(crate) operation_id: Option<&'static str>,
    pub(crate) ctx: Arc<RequestContext>,
    pub(crate) app: Option<Arc<str>>,
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) latency_ms: u64,
}

impl Record {
    fn render(&self, seq: u64) -> JournalEntry {
        JournalEntry {
            seq,
            at: self
                .arrived
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            method: self.method.as_str().to_owned(),
            path: self.path.as_str().to_owned(),
            status: self.status,
            operation_id: self.operation_id.map(str::to_owned),
            request_id: self.ctx.request_id().to_owned(),
            client_request_id: self.ctx.client_request_id().to_owned(),
            app: self.app.as_deref().map(str::to_owned),
            tenant: self.tenant.as_deref().map(str::to_owned),
            batch_item: self.ctx.batch_item,
            latency_ms: self.latency_ms,
        }
    }
}

/// Query parameters whose values are secrets: OAuth's, and the usual names of keys and
/// signatures. Compared case-insensitively after percent-decoding.
const SECRET_PARAMETERS: &[&str] = &[
    "access_token",
    "id_token",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "code",
    "device_code",
    "password",
    "token",
    "key",
    "api_key",
    "api-key",
    "apikey",
    "x-emulator-admin-key",
    "sig",
    "signature",
    "secret",
];

/// `path` with the values of secret-bearing query parameters replaced by `REDACTED`, for the
/// journal and the logs. Without a query (the hot path), the request's own bytes are kept.
pub(crate) fn redacted(path: &PathAndQuery) -> PathAndQuery {
    let Some(query) = path.query() else {
        return path.clone();
    };
    let is_secret = |name: &str| {
        let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        SECRET_PARAMETERS
            .iter()
            .any(|secret| name.trim().eq_ignore_ascii_case(secret))
    };
    if !query
        .split('&')
        .any(|pair| is_secret(pair.split_once('=').map_or(pair, |(name, _)| name)))
    {
        return path.clone();
    }
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    PathAndQuery::try_from(format!("{}?{query}", path.path()))
        .unwrap_or_else(|_| PathAndQuery::from_static("/"))
}

/// The last `capacity` requests.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<(u64, Record)>,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next_seq: 1,
            entries: VecDeque::with_capacity(capacity.min(4096)),
        }
    }

    /// Appends `record`, numbering it and dropping the oldest entry when full.
    pub(crate) fn push(&mut self, record: Record) {
        if self.capacity == 0 {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((seq, record));
    }

    /// The newest `limit` entries (all when `None`), oldest first.
    pub(crate) fn tail(&self, limit: Option<usize>) -> Vec<JournalEntry> {
        let skip = limit.map_or(0, |l| self.entries.len().saturating_sub(l));
        self.entries
            .iter()
            .skip(skip)
            .map(|(seq, record)| record.render(*seq))
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.next_seq = 1;
    }
}

/// Counters since start or the last reset.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Requests by operation (`unmatched` when no route matched) and status.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Graph requests answered, all statuses.
    pub requests_total: u64,
    /// `429`s sent by throttling.
    pub throttled: u64,
    /// Every `429` sent (throttling, random faults, scripted responses), `$batch` items included.
    pub too_many_requests_sent: u64,
    /// Random faults injected, by kind (`429`, `503`, `504`, `latency`).
    pub faults: BTreeMap<String, u64>,
    /// Scripted responses sent.
    pub scripted: u64,
    /// Access tokens issued (token endpoint and admin API).
    pub tokens_issued: u64,
    /// Successful upgrades by installation id (canonical base64).
    pub upgrades: BTreeMap<String, u64>,
}

/// The live counters behind [`Metrics`]: hash maps with a fast hasher (the keys are ours) and
/// operations by their static names, so counting a request allocates nothing and an upgrade
/// among a million installations is one hash lookup, not a walk of string comparisons down a
/// B-tree (2 % of an upgrade's cost). [`Counters::snapshot`] gives the ordered [`Metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests by operation and status.
    requests: HashMap<&'static str, Vec<(u16, u64)>, foldhash::fast::RandomState>,
    pub(crate) throttled: u64,
    faults: BTreeMap<String, u64>,
    pub(crate) scripted: u64,
    pub(crate) tokens_issued: u64,
    upgrades: HashMap<String, u64, foldhash::fast::RandomState>,
}

impl Counters {
    pub(crate) fn count_request(&mut self, operation: &'static str, status: u16) {
        let by_status = self.requests.entry(operation).or_default();
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, count)) => *count += 1,
            None => by_status.push((status, 1)),
        }
    }

    /// Counts a successful upgrade of installation `id` if it was counted before, under this
    /// spelling; false (nothing counted) otherwise.
    pub(crate) fn count_upgrade_if_known(&mut self, id: &str) -> bool {
        self.upgrades.get_mut(id).map(|count| *count += 1).is_some()
    }

    /// Counts a successful upgrade of installation `id` (canonical form).
    pub(crate) fn count_upgrade(&mut self, id: &str) {
        if !self.count_upgrade_if_known(id) {
            self.upgrades.insert(id.to_owned(), 1);
        }
    }

    pub(crate) fn count_fault(&mut self, kind: &str) {
        *self.faults.entry(kind.to_owned()).or_default() += 1;
    }

    /// The counters as [`Metrics`], with the totals worked out.
    pub(crate) fn snapshot(&self) -> Metrics {
        let requests: BTreeMap<String, BTreeMap<u16, u64>> = self
            .requests
            .iter()
            .map(|(operation, by_status)| {
                ((*operation).to_owned(), by_status.iter().copied().collect())
            })
            .collect();
        Metrics {
            requests_total: requests.values().flat_map(|s| s.values()).sum(),
            too_many_requests_sent: requests
                .values()
                .filter_map(|statuses| statuses.get(&429))
                .sum(),
            requests,
            throttled: self.throttled,
            faults: self.faults.clone(),
            scripted: self.scripted,
            tokens_issued: self.tokens_issued,
            upgrades: self
                .upgrades
                .iter()
                .map(|(id, n)| (id.clone(), *n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        let redact = |p: &str| redacted(&PathAndQuery::try_from(p).unwrap()).to_string();
        assert_eq!(
            redact("/v1.0/chats?access_token=eyJ.a.b&$top=5"),
            "/v1.0/chats?access_token=REDACTED&$top=5"
        );
        assert_eq!(
            redact("/t/oauth2/v2.0/token?Client_Secret=s3cr3t&client%5Fsecret=x&scope=a"),
            "/t/oauth2/v2.0/token?Client_Secret=REDACTED&client%5Fsecret=REDACTED&scope=a"
        );
        assert_eq!(redact("/v1.0/chats?$filter=x"), "/v1.0/chats?$filter=x");
        assert_eq!(redact("/v1.0/chats"), "/v1.0/chats");
        assert_eq!(redact("/a?code"), "/a?code");
    }

    fn entry(path: &str) -> Record {
        Record {
            arrived: OffsetDateTime::UNIX_EPOCH,
            method: Method::GET,
            path: PathAndQuery::try_from(path).unwrap(),
            status: 200,
            operation_id: None,
            ctx: Arc::new(RequestContext {
                request_id: http::HeaderValue::from_static("r"),
                client_request_id: http::HeaderValue::from_static("c"),
                origin: "http://localhost".into(),
                batch_item: false,
            }),
            app: None,
            tenant: Some("t".into()),
            latency_ms: 0,
        }
    }

    #[test]
    fn the_journal_is_bounded_and_numbered() {
        let mut j = Journal::new(3);
        for i in 0..5 {
            j.push(entry(&format!("/{i}")));
        }
        let all = j.tail(None);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].path, "/2");
        assert_eq!(all[2].seq, 5);
        assert_eq!(j.tail(Some(1))[0].path, "/4");
        assert_eq!(all[0].at, "1970-01-01T00:00:00Z");
        assert_eq!(all[0].tenant.as_deref(), Some("t"));
        assert_eq!(all[0].request_id, "r");
        j.clear();
        assert!(j.tail(None).is_empty());
        let mut off = Journal::new(0);
        off.push(entry("/x"));
        assert!(off.tail(None).is_empty());
    }
}
