//! The request journal (a bounded ring buffer, `GET /_emulator/journal`) and the counters behind
//! `GET /_emulator/metrics`.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

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
    /// The path and query as received.
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

/// The last `capacity` requests.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next_seq: 1,
            entries: VecDeque::with_capacity(capacity.min(4096)),
        }
    }

    /// Appends `entry`, numbering it and dropping the oldest entry when full.
    pub(crate) fn push(&mut self, mut entry: JournalEntry) {
        if self.capacity == 0 {
            return;
        }
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The newest `limit` entries (all when `None`), oldest first.
    pub(crate) fn tail(&self, limit: Option<usize>) -> Vec<JournalEntry> {
        let skip = limit.map_or(0, |l| self.entries.len().saturating_sub(l));
        self.entries.iter().skip(skip).cloned().collect()
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

impl Metrics {
    pub(crate) fn count_request(&mut self, operation: &str, status: u16) {
        *self
            .requests
            .entry(operation.to_owned())
            .or_default()
            .entry(status)
            .or_default() += 1;
        self.requests_total += 1;
    }

    pub(crate) fn count_fault(&mut self, kind: &str) {
        *self.faults.entry(kind.to_owned()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: String::new(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            operation_id: None,
            request_id: String::new(),
            client_request_id: String::new(),
            app: None,
            tenant: None,
            batch_item: false,
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
        j.clear();
        assert!(j.tail(None).is_empty());
        let mut off = Journal::new(0);
        off.push(entry("/x"));
        assert!(off.tail(None).is_empty());
    }
}
