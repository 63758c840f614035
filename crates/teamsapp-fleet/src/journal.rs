//! The fleet journal: one JSON record per line, appended and synced before the change it
//! describes is acted on, so a resumed run after a crash, `kill -9` or Ctrl-C knows where every
//! target stands and never upgrades anything twice.
//!
//! # Format (version 1)
//!
//! Every line is one JSON object with a `record` field:
//!
//! - `"record": "run"` — the first line, and only there: the run's identity ([`RunHeader`]):
//!   `format` (1), `tool` (name and version), `startedAt`, the app as asked for (`app`), the
//!   scopes discovered (`scopes`), where targets came from (`source`), and per tenant its id,
//!   Graph base URL, the app's catalog `id`, `externalId` and `name` in that tenant, and the
//!   version targets are moved `to`.
//! - `"record": "target"` — a target changed state ([`TargetRecord`]): `at`, `tenant`, `scope`
//!   (`chat`, `team` or `user`), `scopeId`, `installationId`, `state`, `from`, `to`, and for
//!   `failed` and `skipped` a `detail` and, when Graph answered, `error` (`status`, `code`,
//!   `requestId`, `retryAfter`). Targets are fields, never a joined key, so ids that contain `/`
//!   are safe.
//! - `"record": "planned"` — the plan is complete and every target of it is journaled
//!   (`at`, `targets`).
//! - `"record": "scanned"` — discovery read a scope ([`ScannedRecord`]): `at`, `tenant`,
//!   `scope`, `scopeId`, and the app's installations `found` there (`installationId`, `from`).
//!   A run resumed before its plan was complete reads these scopes from the journal, not again.
//! - `"record": "throttle"` — throttling a tenant met since this (resumed) run started,
//!   cumulative ([`ThrottleRecord`]): `at`, `tenant`, `throttled` (429s), `retries`,
//!   `waitedMs`; at most once a second while it changes, and at the end.
//!
//! A target moves `planned → sending → upgraded → verified`, or ends `skipped` (already
//! current or gone) or `failed`. The `sending` line is on disk before the upgrade leaves, so a
//! resumed run reads back every target it may have sent before it sends anything.
//!
//! A journal is refused, with a message, when it is empty, when its first line is not a `run`
//! record of a format this crate reads, or when a resumed run's app, tenants, Graph endpoints or
//! scopes differ from the header's ([`RunHeader::check_resume`]). A complete last line without a
//! newline is kept; an incomplete last line (the process died mid-write) is dropped and reported;
//! unreadable lines elsewhere are counted, reported and skipped.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use teamsapp_types::{AppInstallationId, Scope};

/// The journal format this crate writes and reads.
pub const FORMAT: u32 = 1;

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Found behind the catalog; will be upgraded.
    Planned,
    /// The upgrade request is about to leave (or left and its answer is unknown).
    Sending,
    /// Graph answered success; not yet read back.
    Upgraded,
    /// Read back at the target version and app: done.
    Verified,
    /// Nothing to do (already current, or no longer installed): done.
    Skipped,
    /// Gave up on this target in this run; a resumed run reads it back and tries again.
    Failed,
}

impl State {
    /// Whether a resumed run leaves this target alone.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Verified | Self::Skipped)
    }

    /// The state's name as journaled.
    pub fn name(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Sending => "sending",
            Self::Upgraded => "upgraded",
            Self::Verified => "verified",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// One installation of the app in one tenant: the unit a fleet run works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The tenant id, as in the journal header.
    pub tenant: String,
    /// The chat, team or user.
    pub scope: Scope,
    /// The installation.
    pub installation: AppInstallationId,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.tenant, self.scope, self.installation)
    }
}

/// The app as resolved in one tenant's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    /// The catalog id.
    pub id: String,
    /// The manifest id (`externalId`), when the catalog has one.
    pub external_id: Option<String>,
    /// The display name.
    pub name: String,
}

/// One tenant of a run, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantHeader {
    /// The tenant id (the token's `tid` when known).
    pub tenant: String,
    /// Graph's base URL the run talks to, with the version.
    pub base_url: String,
    /// The app in this tenant's catalog.
    pub app: AppIdentity,
    /// The version targets are moved to (the catalog's latest published when the run started).
    pub to: String,
}

/// The first record of a journal: which run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHeader {
    /// The journal format ([`FORMAT`]).
    pub format: u32,
    /// The tool that wrote it, with its version (e.g. `teamsapp 0.1.0`).
    pub tool: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The app as the user named it.
    pub app: String,
    /// The scopes discovered (`chat`, `team`, `user`).
    pub scopes: Vec<String>,
    /// `discovery`, or `targets` when the targets came from a file.
    pub source: String,
    /// The tenants, each with its endpoint and app.
    pub tenants: Vec<TenantHeader>,
}

impl RunHeader {
    /// Whether a run described by `current` may continue this journal: the same tenants (in any
    /// order), each at the same Graph base URL with the same app, and the same scopes and source.
    /// A newer catalog version since is fine (the run moves targets to the latest).
    pub fn check_resume(&self, current: &Self) -> Result<(), String> {
        if self.tenants.len() != current.tenants.len() {
            return Err(format!(
                "the journal is of a run over {} tenant(s) ({}), this run has {} ({})",
                self.tenants.len(),
                tenant_list(&self.tenants),
                current.tenants.len(),
                tenant_list(&current.tenants)
            ));
        }
        for now in &current.tenants {
            let Some(then) = self
                .tenants
                .iter()
                .find(|t| t.tenant.eq_ignore_ascii_case(&now.tenant))
            else {
                return Err(format!(
                    "the journal is of tenant(s) {}, not {}",
                    tenant_list(&self.tenants),
                    now.tenant
                ));
            };
            if trim_slash(&then.base_url) != trim_slash(&now.base_url) {
                return Err(format!(
                    "the journal's run in tenant {} talked to {}, this run to {}",
                    now.tenant, then.base_url, now.base_url
                ));
            }
            if then.app.id != now.app.id {
                return Err(format!(
                    "the journal is of app {:?} ({}) in tenant {}, this run is of {:?} ({})",
                    then.app.name, then.app.id, now.tenant, now.app.name, now.app.id
                ));
            }
        }
        let mut a = self.scopes.clone();
        let mut b = current.scopes.clone();
        a.sort();
        b.sort();
        if a != b {
            return Err(format!(
                "the journal's run discovered {}, this run {}",
                a.join(","),
                b.join(",")
            ));
        }
        if self.source != current.source {
            return Err(format!(
                "the journal's targets came from {}, this run's from {}",
                self.source, current.source
            ));
        }
        Ok(())
    }

    /// Whether `name` (as given to `--app`) names this journal's app: its catalog id,
    /// externalId or display name in any tenant, or the name the run was started with.
    pub fn names_app(&self, name: &str) -> bool {
        self.app.eq_ignore_ascii_case(name)
            || self.tenants.iter().any(|t| {
                t.app.id.eq_ignore_ascii_case(name)
                    || t.app.name.eq_ignore_ascii_case(name)
                    || t.app
                        .external_id
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(name))
            })
    }
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

fn tenant_list(t: &[TenantHeader]) -> String {
    t.iter()
        .map(|t| t.tenant.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What Graph answered when a target failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// The HTTP status, when Graph answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Graph's error code (`error.code`), when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The `request-id` of the failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorInfo {
    /// What a client error says about Graph's answer.
    pub fn from_client(e: &teamsapp_client::Error) -> Self {
        Self {
            status: e.status().map(|s| s.as_u16()),
            code: e.graph_code().map(str::to_owned),
            request_id: e.request_id().map(str::to_owned),
        }
    }
}

/// A target's state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRecord {
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The tenant id, as in the header.
    pub tenant: String,
    /// `chat`, `team` or `user`.
    pub scope: String,
    /// The chat, team or user id.
    pub scope_id: String,
    /// The installation id.
    pub installation_id: String,
    /// The new state.
    pub state: State,
    /// The version installed when the target was planned.
    #[serde(default)]
    pub from: Option<String>,
    /// The version the target is moved to.
    #[serde(default)]
    pub to: Option<String>,
    /// Why, for `skipped` and `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Graph's answer, for failures it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

impl TargetRecord {
    /// A record of `target` entering `state`, stamped now.
    pub fn new(target: &Target, state: State, from: Option<&str>, to: Option<&str>) -> Self {
        Self {
            at: now(),
            tenant: target.tenant.clone(),
            scope: target.scope.kind().to_owned(),
            scope_id: target.scope.id().to_owned(),
            installation_id: target.installation.as_str().to_owned(),
            state,
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            detail: None,
            error: None,
        }
    }

    /// The target this record is about, with its ids validated.
    pub fn target(&self) -> Result<Target, String> {
        Ok(Target {
            tenant: self.tenant.clone(),
            scope: Scope::parse(&self.scope, &self.scope_id)?,
            installation: AppInstallationId::new(self.installation_id.as_str())
                .map_err(|e| e.to_string())?,
        })
    }
}

/// The mark that the plan is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRecord {
    /// When.
    pub at: String,
    /// How many targets the plan holds (behind the catalog, journaled as `planned`).
    pub targets: usize,
}

/// Throttling a tenant's client met since the run (or resumed run) started: cumulative,
/// written at most once a second while it changes, and at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleRecord {
    /// When.
    pub at: String,
    /// The tenant.
    pub tenant: String,
    /// `429` answers received so far.
    pub throttled: u64,
    /// Requests sent again so far (after 429, 503, 504 or a connection failure).
    pub retries: u64,
    /// Milliseconds spent waiting so far (`Retry-After`, backoff, the gate, the rate limit).
    pub waited_ms: u64,
}

/// An installation a scanned scope holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundInstallation {
    /// The installation id.
    pub installation_id: String,
    /// Its version when read.
    #[serde(default)]
    pub from: Option<String>,
}

/// A scope discovery has read: a resumed discovery does not read it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScannedRecord {
    /// When.
    pub at: String,
    /// The tenant.
    pub tenant: String,
    /// `chat`, `team` or `user`.
    pub scope: String,
    /// The chat, team or user id.
    pub scope_id: String,
    /// The app's installations found there (none when the scope is gone or lacks the app).
    pub found: Vec<FoundInstallation>,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum Record {
    /// The first line: the run's identity.
    Run(RunHeader),
    /// A target's state change.
    Target(TargetRecord),
    /// The plan is complete.
    Planned(PlannedRecord),
    /// Throttling met so far.
    Throttle(ThrottleRecord),
    /// A scope discovery has read.
    Scanned(ScannedRecord),
}

/// The current time as journaled: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What an existing journal says.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The run it belongs to.
    pub header: RunHeader,
    /// The last record per target.
    pub last: HashMap<Target, TargetRecord>,
    /// Targets in the order they first appeared.
    pub order: Vec<Target>,
    /// Whether the plan was complete.
    pub planned: bool,
    /// The line numbers (1-based) of lines that could not be read and were skipped.
    pub unreadable: Vec<usize>,
    /// Whether an incomplete last line (a write cut short) was dropped.
    pub torn_tail: bool,
    /// Every target record, in order (for reports).
    pub records: Vec<TargetRecord>,
    /// Every throttle record, in order (for reports).
    pub throttling: Vec<ThrottleRecord>,
    /// The scopes discovery read before the plan was complete.
    pub scanned: Vec<ScannedRecord>,
}

impl Replay {
    /// Reads a whole journal without changing it.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| Error::journal(path, e.to_string()))?;
        Ok(replay(path, file)?.0)
    }
}

fn replay(path: &Path, file: File) -> Result<(Replay, u64, bool), Error> {
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut offset: u64 = 0;
    let mut good_len: u64 = 0;
    let mut needs_newline = false;
    let mut header: Option<RunHeader> = None;
    let mut last: HashMap<Target, TargetRecord> = HashMap::new();
    let mut order = Vec::new();
    let mut planned = false;
    let mut unreadable = Vec::new();
    let mut torn_tail = false;
    let mut records = Vec::new();
    let mut throttling = Vec::new();
    let mut scanned = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| Error::journal(path, e.to_string()))?;
        if n == 0 {
            break;
        }
        number += 1;
        offset += n as u64;
        let complete = line.ends_with('\n');
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            good_len = offset;
            continue;
        }
        let parsed = serde_json::from_str::<Record>(text);
        if header.is_none() {
            // The first record decides whether this is a journal of ours at all.
            match parsed {
                Ok(Record::Run(h)) if h.format == FORMAT => header = Some(h),
                Ok(Record::Run(h)) => {
                    return Err(Error::journal(
                        path,
                        format!(
                            "it is of journal format {}, this tool reads format {FORMAT}",
                            h.format
                        ),
                    ));
                }
                _ => {
                    return Err(Error::journal(
                        path,
                        "its first line is not the run record of a fleet journal \
                         (a journal of another tool, a damaged journal, or not a journal)"
                            .into(),
                    ));
                }
            }
            good_len = offset;
            needs_newline = !complete;
            continue;
        }
        match parsed {
            Ok(record) => {
                good_len = offset;
                needs_newline = !complete;
                match record {
                    Record::Target(r) => match r.target() {
                        Ok(target) => {
                            if !last.contains_key(&target) {
                                order.push(target.clone());
                            }
                            records.push(r.clone());
                            last.insert(target, r);
                        }
                        Err(_) => unreadable.push(number),
                    },
                    Record::Planned(_) => planned = true,
                    Record::Throttle(t) => throttling.push(t),
                    Record::Scanned(r) => scanned.push(r),
                    Record::Run(_) => unreadable.push(number),
                }
            }
            // The process died mid-write: that change was never acted on.
            Err(_) if !complete => {
                torn_tail = true;
                break;
            }
            Err(_) => {
                unreadable.push(number);
                good_len = offset;
            }
        }
    }
    let Some(header) = header else {
        return Err(Error::journal(path, "it is empty".into()));
    };
    Ok((
        Replay {
            header,
            last,
            order,
            planned,
            unreadable,
            torn_tail,
            records,
            throttling,
            scanned,
        },
        good_len,
        needs_newline,
    ))
}

/// Options that never open a file through a symbolic link: `O_NOFOLLOW` on Unix, so a link
/// planted at a journal's path cannot redirect its writes (and truncation) to another file.
pub(crate) fn no_follow() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options
}

/// Why `path` cannot be opened, in words: a symbolic link is named as such.
pub(crate) fn open_error(path: &Path, e: &io::Error) -> String {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        "it is a symbolic link, which is never followed: give the real file's path".to_owned()
    } else if e.kind() == io::ErrorKind::AlreadyExists {
        "it already exists (resume it, or choose another file)".to_owned()
    } else {
        e.to_string()
    }
}

/// An append-only, synced JSONL file.
#[derive(Debug)]
pub struct JournalFile {
    file: File,
    path: PathBuf,
}

impl JournalFile {
    /// Creates a new journal and writes its header; fails if `path` exists.
    pub fn create(path: &Path, header: &RunHeader) -> Result<Self, Error> {
        // `create_new` (O_EXCL) fails on any existing path, a symbolic link included.
        let file = no_follow()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::journal(path, open_error(path, &e)))?;
        let mut journal = Self {
            file,
            path: path.to_owned(),
        };
        journal
            .append(&[Record::Run(header.clone())])
            .map_err(|e| Error::journal(path, e.to_string()))?;
        Ok(journal)
    }

    /// Opens an existing journal, replays it, drops an incomplete last line, completes a last
    /// line that lacks only its newline, and continues appending.
    pub fn resume(path: &Path) -> Result<(Self, Replay), Error> {
        let file = no_follow()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::journal(path, open_error(path, &e)))?;
        let reader = file
            .try_clone()
            .map_err(|e| Error::journal(path, e.to_string()))?;
        let (replay, good_len, needs_newline) = replay(path, reader)?;
        let mut file = file;
        let fix = |r: io::Result<()>| r.map_err(|e| Error::journal(path, e.to_string()));
        fix(file.set_len(good_len))?;
        fix(file.seek(SeekFrom::End(0)).map(drop))?;
        if needs_newline {
            fix(file.write_all(b"\n"))?;
            fix(file.sync_data())?;
        }
        Ok((
            Self {
                file,
                path: path.to_owned(),
            },
            replay,
        ))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records and syncs them to disk before returning (one sync for the whole batch).
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 200);
        for record in records {
            serde_json::to_writer(&mut buf, record).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }
}

/// A journal writer on its own thread: records from many tasks share one sync (group commit).
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    tx: std::sync::mpsc::Sender<(Vec<Record>, tokio::sync::oneshot::Sender<io::Result<()>>)>,
}

impl Writer {
    pub(crate) fn spawn(mut journal: JournalFile) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<(
            Vec<Record>,
            tokio::sync::oneshot::Sender<io::Result<()>>,
        )>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let records: Vec<Record> =
                    batch.iter().flat_map(|(r, _)| r.iter().cloned()).collect();
                let result = journal.append(&records);
                for (_, ack) in batch {
                    let _ = ack.send(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                    });
                }
            }
        });
        Self { tx }
    }

    pub(crate) async fn write(&self, records: Vec<Record>) -> Result<(), Error> {
        let (ack, done) = tokio::sync::oneshot::channel();
        let stopped = || Error::JournalWrite("the journal writer stopped".into());
        self.tx.send((records, ack)).map_err(|_| stopped())?;
        done.await
            .map_err(|_| stopped())?
            .map_err(|e| Error::JournalWrite(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(app_id: &str) -> RunHeader {
        RunHeader {
            format: FORMAT,
            tool: "test".into(),
            started_at: now(),
            app: "Contoso Tasks".into(),
            scopes: vec!["chat".into(), "team".into()],
            source: "discovery".into(),
            tenants: vec![TenantHeader {
                tenant: "t1".into(),
                base_url: "http://127.0.0.1:1/v1.0".into(),
                app: AppIdentity {
                    id: app_id.into(),
                    external_id: Some("ext".into()),
                    name: "Contoso Tasks".into(),
                },
                to: "1.1.0".into(),
            }],
        }
    }

    fn target(n: u32) -> Target {
        Target {
            tenant: "t1".into(),
            scope: Scope::parse("chat", &format!("19:{n:032x}@thread.v2")).unwrap(),
            installation: AppInstallationId::new(format!("a/b+{n}==")).unwrap(),
        }
    }

    fn rec(t: &Target, state: State) -> Record {
        Record::Target(TargetRecord::new(t, state, Some("1.0.0"), Some("1.1.0")))
    }

    #[test]
    fn replays_the_last_state_of_each_target_in_order_with_slashes_in_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = JournalFile::create(&path, &header("app")).unwrap();
        let (a, b) = (target(1), target(2));
        j.append(&[rec(&a, State::Planned), rec(&b, State::Planned)])
            .unwrap();
        j.append(&[rec(&a, State::Sending), rec(&a, State::Upgraded)])
            .unwrap();
        drop(j);
        let (_, replay) = JournalFile::resume(&path).unwrap();
        assert_eq!(replay.order, [a.clone(), b.clone()]);
        assert_eq!(replay.last[&a].state, State::Upgraded);
        assert_eq!(replay.last[&b].state, State::Planned);
        assert_eq!(replay.last[&a].installation_id, "a/b+1==");
        assert!(replay.unreadable.is_empty() && !replay.torn_tail && !replay.planned);
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept_and_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = JournalFile::create(&path, &header("app")).unwrap();
        let a = target(1);
        j.append(&[rec(&a, State::Sending)]).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&serde_json::to_vec(&rec(&a, State::Verified)).unwrap())
            .unwrap();
        drop(f);
        let (mut j, replay) = JournalFile::resume(&path).unwrap();
        assert_eq!(replay.last[&a].state, State::Verified);
        assert!(!replay.torn_tail);
        j.append(&[rec(&target(2), State::Planned)]).unwrap();
        drop(j);
        let (_, replay) = JournalFile::resume(&path).unwrap();
        assert_eq!(replay.last[&a].state, State::Verified);
        assert_eq!(replay.order.len(), 2);
        assert!(replay.unreadable.is_empty());
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = JournalFile::create(&path, &header("app")).unwrap();
        let a = target(1);
        j.append(&[rec(&a, State::Sending)]).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"record":"target","at":"2026-11-29T17:00:01Z","tena"#)
            .unwrap();
        drop(f);
        let (mut j, replay) = JournalFile::resume(&path).unwrap();
        assert!(replay.torn_tail);
        assert_eq!(replay.last[&a].state, State::Sending);
        j.append(&[rec(&a, State::Verified)]).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        let (_, replay) = JournalFile::resume(&path).unwrap();
        assert!(!replay.torn_tail && replay.unreadable.is_empty());
    }

    #[test]
    fn garbage_lines_in_the_middle_are_counted_with_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = JournalFile::create(&path, &header("app")).unwrap();
        j.append(&[rec(&target(1), State::Planned)]).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"garbage\n{\"record\":\"target\",\"scope\":\"galaxy\"}\n")
            .unwrap();
        drop(f);
        let mut j = JournalFile::resume(&path).unwrap().0;
        j.append(&[rec(&target(2), State::Planned)]).unwrap();
        let replay = Replay::read(&path).unwrap();
        assert_eq!(replay.unreadable, [3, 4]);
        assert_eq!(replay.order.len(), 2);
    }

    #[test]
    fn empty_foreign_and_future_journals_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "").unwrap();
        let err = JournalFile::resume(&path).unwrap_err().to_string();
        assert!(err.contains("it is empty"), "{err}");
        std::fs::write(
            &path,
            "{\"at\":\"x\",\"target\":\"t/chat/19:a/b\",\"state\":\"planned\"}\n",
        )
        .unwrap();
        let err = JournalFile::resume(&path).unwrap_err().to_string();
        assert!(err.contains("first line is not the run record"), "{err}");
        let mut h = serde_json::to_value(Record::Run(header("app"))).unwrap();
        h["format"] = 99.into();
        std::fs::write(&path, format!("{h}\n")).unwrap();
        let err = JournalFile::resume(&path).unwrap_err().to_string();
        assert!(err.contains("format 99"), "{err}");
        // Nothing was changed by refusing.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{h}\n"));
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_that_is_a_symlink_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "someone else's file\n").unwrap();
        let path = dir.path().join("j.jsonl");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        for err in [
            JournalFile::create(&path, &header("app")).unwrap_err(),
            JournalFile::resume(&path).unwrap_err(),
        ] {
            let message = err.to_string();
            assert!(message.contains("symbolic link"), "{message}");
        }
        // A link to a real journal is refused too: resuming would truncate and append through it.
        let real = dir.path().join("real.jsonl");
        JournalFile::create(&real, &header("app")).unwrap();
        let before = std::fs::read(&real).unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(JournalFile::resume(&link).is_err());
        assert_eq!(std::fs::read(&real).unwrap(), before);
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "someone else's file\n"
        );
    }

    #[test]
    fn create_refuses_to_overwrite_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        JournalFile::create(&path, &header("app")).unwrap();
        let err = JournalFile::create(&path, &header("app"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
    }

    #[test]
    fn resume_checks_app_tenants_endpoints_and_scopes() {
        let h = header("app-1");
        assert!(h.check_resume(&h.clone()).is_ok());
        let mut newer = h.clone();
        newer.tenants[0].to = "1.2.0".into();
        assert!(
            h.check_resume(&newer).is_ok(),
            "a newer catalog version is fine"
        );
        let err = h.check_resume(&header("app-2")).unwrap_err();
        assert!(err.contains("app-1") && err.contains("app-2"), "{err}");
        let mut other = h.clone();
        other.tenants[0].tenant = "t2".into();
        assert!(h.check_resume(&other).unwrap_err().contains("t2"));
        let mut other = h.clone();
        other.tenants[0].base_url = "https://graph.microsoft.com/v1.0".into();
        assert!(
            h.check_resume(&other)
                .unwrap_err()
                .contains("graph.microsoft.com")
        );
        let mut other = h.clone();
        other.scopes = vec!["user".into()];
        assert!(h.check_resume(&other).is_err());
        assert!(h.names_app("contoso tasks") && h.names_app("ext") && h.names_app("app-1"));
        assert!(!h.names_app("Contoso Standup"));
    }

    #[test]
    fn final_states_are_verified_and_skipped_only() {
        for s in [
            State::Planned,
            State::Sending,
            State::Upgraded,
            State::Failed,
        ] {
            assert!(!s.is_final(), "{s:?}");
        }
        assert!(State::Verified.is_final() && State::Skipped.is_final());
    }
}
