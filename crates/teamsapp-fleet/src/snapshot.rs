//! Snapshots: a read-only copy of a tenant, read through Graph, as a tenant file
//! ([`teamsapp_model::spec::TenantSpec`]) the emulator loads, so a fleet run can be rehearsed on
//! it first.
//!
//! A snapshot reads, with the run's client (its credential, rate limit and throttle gate) and
//! the same paging and retry rounds as fleet discovery: the app catalog (apps, definitions,
//! versions, RSC requirements), the users, each user's chats (a chat's members are the users
//! that list it, kept as ids), the teams, and the installations of the chosen apps in every
//! chat, team and personal scope. It sends nothing but `GET`s.
//!
//! It never writes a secret (no app registration, no grant, no token) or message content. With a
//! [`PseudonymKey`], display names, UPNs, mail and chat topics are replaced by stable keyed
//! pseudonyms (HMAC-SHA-256 of the object's id under the key: the same key gives the same
//! pseudonyms in every snapshot); ids are kept, so a plan made on the snapshot maps back to the
//! tenant. Team members are not read (the API surface this tool speaks has no team-members
//! operation): teams load with no members.
//!
//! # Progress file (format 1)
//!
//! Every list and scope read is appended to a progress file (one JSON object per line, with a
//! `record` field) as soon as it is read, so a snapshot killed part way resumes where it stopped
//! ([`Resume::Continue`]) and reads nothing twice:
//!
//! - `"record": "snapshot"` — the first line only: `format` (1), `tool`, `startedAt`, `tenant`,
//!   `graph` (the base URL), the catalog ids of the chosen `apps`, `allApps`, and `pseudonyms`,
//!   a fingerprint of the pseudonym key (never the key), or null.
//! - `"record": "users"` — the directory's users (`users`, as in the tenant file).
//! - `"record": "chats"` — the chats one `user` is a member of (`chats`, without members).
//! - `"record": "teams"` — the teams (`teams`).
//! - `"record": "scope"` — the chosen apps' `installations` in one scope (`scope`, `scopeId`).
//!
//! A progress file is refused, with a message, when its first line is not a snapshot header of
//! this format, when it was started for another tenant, Graph endpoint, app choice or pseudonym
//! key, or when a line other than the last cannot be read. An incomplete last line (the process
//! died mid-write) is dropped.

/// The tenant file format a snapshot is written in (`teamsapp-model`'s).
pub use teamsapp_model::spec::TenantSpec;

use crate::Tenant;
use crate::catalog::pick_app;
use crate::discover::{CHATS_PAGE, DIRECTORY_PAGE, Progress, ROUNDS, is_transient};
use crate::error::Error;
use crate::event::{Event, EventSink};
use crate::plan::UnreadableScope;
use futures_util::{StreamExt, TryStreamExt, stream};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use teamsapp_client::{ListQuery, Scope};
use teamsapp_model::spec::{
    CatalogAppSpec, ChatKind, ChatSpec, DefinitionSpec, Distribution, FORMAT_VERSION,
    InstallationScope, InstallationSpec, OnlineMeetingSpec, PublishingState, RscPermission,
    SnapshotProvenance, TeamSpec, UserSpec,
};
use teamsapp_types::{
    AppInstallationId, ChatId, ChatType, ListCatalogApps, ListTeams, ListUserChats, ListUsers,
    TeamId, TeamsApp, TeamsAppDistributionMethod, TeamsAppId, TeamsAppInstallation,
    TeamsAppPublishingState, UserId, version,
};

/// The progress file format this crate writes and reads.
pub const PROGRESS_FORMAT: u32 = 1;

/// The key of the pseudonyms: any bytes, kept secret (it is never written or shown).
#[derive(Clone)]
pub struct PseudonymKey(SecretSlice<u8>);

impl PseudonymKey {
    /// A key from secret bytes (at least 16).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes: Vec<u8> = bytes.into();
        if bytes.len() < 16 {
            return Err(Error::Options(
                "a pseudonym key needs at least 16 bytes".into(),
            ));
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    /// HMAC-SHA-256 of `kind`, a zero byte and `value` under the key (aws-lc-rs, the crypto
    /// provider rustls already builds).
    fn mac(&self, kind: &str, value: &str) -> [u8; 32] {
        use aws_lc_rs::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.0.expose_secret());
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(kind.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// 12 hex digits (48 bits) naming `value` of `kind`.
    fn pseudonym(&self, kind: &str, value: &str) -> String {
        hex(&self.mac(kind, value)[..6])
    }

    /// A fingerprint that tells keys apart without revealing them.
    fn fingerprint(&self) -> String {
        self.pseudonym("fingerprint", "teamsapp")
    }
}

/// Lowercase hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

/// What a snapshot reads.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SnapshotOptions {
    /// The apps whose installations are read: catalog id, externalId or display name.
    pub apps: Vec<String>,
    /// Read the installations of every app instead.
    pub all_apps: bool,
    /// Replace display names, UPNs, mail and chat topics by pseudonyms under this key.
    pub pseudonymise: Option<PseudonymKey>,
    /// Requests in flight at once (default 32).
    pub concurrency: usize,
    /// The tool and version recorded in the file.
    pub tool: String,
}

impl SnapshotOptions {
    /// The installations of `apps`, names kept, 32 requests in flight.
    pub fn new<I, S>(apps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            apps: apps.into_iter().map(Into::into).collect(),
            all_apps: false,
            pseudonymise: None,
            concurrency: 32,
            tool: concat!("teamsapp-fleet ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The installations of every app.
    pub fn all_apps() -> Self {
        Self {
            all_apps: true,
            ..Self::new(Vec::<String>::new())
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.all_apps != self.apps.is_empty() {
            return Err(Error::Options(
                "name the apps whose installations to read, or ask for all apps (not both)".into(),
            ));
        }
        if self.apps.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::Options("an app name is empty".into()));
        }
        Ok(())
    }
}

/// Whether a snapshot starts a new progress file or continues one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Create the progress file (it must not exist).
    New,
    /// Continue the progress file (it must exist and be of this snapshot).
    Continue,
}

/// A finished snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The tenant file.
    pub spec: TenantSpec,
    /// Scopes (and users' chat lists) that could not be read after every retry.
    pub unreadable: Vec<UnreadableScope>,
    /// Installations left out because their app or version is not in the catalog, as
    /// `scope scopeId: app version`.
    pub skipped: Vec<String>,
    /// Scopes read in this call (the rest came from the progress file).
    pub scopes_read: usize,
    /// Scopes taken from the progress file of an earlier, interrupted call.
    pub scopes_resumed: usize,
}

impl Snapshot {
    /// Whether everything was read.
    pub fn is_complete(&self) -> bool {
        self.unreadable.is_empty()
    }
}

/// The first line of a progress file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: u32,
    tool: String,
    started_at: String,
    tenant: String,
    graph: String,
    apps: Vec<String>,
    all_apps: bool,
    pseudonyms: Option<String>,
}

impl Header {
    fn check(&self, now: &Self) -> Result<(), String> {
        if !self.tenant.eq_ignore_ascii_case(&now.tenant) {
            return Err(format!(
                "it is a snapshot of tenant {}, not {}",
                self.tenant, now.tenant
            ));
        }
        if self.graph.trim_end_matches('/') != now.graph.trim_end_matches('/') {
            return Err(format!(
                "it reads Graph at {}, not {}",
                self.graph, now.graph
            ));
        }
        if (self.all_apps, &self.apps) != (now.all_apps, &now.apps) {
            let show = |h: &Self| {
                if h.all_apps {
                    "all apps".to_owned()
                } else {
                    h.apps.join(", ")
                }
            };
            return Err(format!(
                "it reads the installations of {}, not {}",
                show(self),
                show(now)
            ));
        }
        if self.pseudonyms != now.pseudonyms {
            return Err(match (&self.pseudonyms, &now.pseudonyms) {
                (None, _) => "it keeps names; this snapshot pseudonymises them".to_owned(),
                (_, None) => "it pseudonymises names; this snapshot keeps them".to_owned(),
                _ => "it pseudonymises names with another key".to_owned(),
            });
        }
        Ok(())
    }
}

/// One line of a progress file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "camelCase")]
enum Record {
    Snapshot(Header),
    Users {
        users: Vec<UserSpec>,
    },
    Chats {
        user: String,
        chats: Vec<ChatSpec>,
    },
    Teams {
        teams: Vec<TeamSpec>,
    },
    #[serde(rename_all = "camelCase")]
    Scope {
        scope: InstallationScope,
        scope_id: String,
        installations: Vec<InstallationSpec>,
    },
}

/// What a progress file already holds.
#[derive(Default)]
struct Known {
    /// When the first call of this snapshot started.
    started_at: Option<String>,
    users: Option<Vec<UserSpec>>,
    chats: HashMap<String, Vec<ChatSpec>>,
    teams: Option<Vec<TeamSpec>>,
    scopes: HashMap<(InstallationScope, String), Vec<InstallationSpec>>,
}

/// The progress file, appended one flushed line per record.
struct ProgressFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl ProgressFile {
    fn create(path: &Path, header: &Header) -> Result<Self, Error> {
        let file = crate::journal::no_follow()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                Error::journal(
                    path,
                    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                        crate::journal::open_error(path, &e)
                    } else if e.kind() == std::io::ErrorKind::AlreadyExists {
                        "it already exists: continue it (resume), or delete it to start over"
                            .to_owned()
                    } else {
                        format!("cannot create it: {e}")
                    },
                )
            })?;
        let this = Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        this.write(&Record::Snapshot(header.clone()))?;
        Ok(this)
    }

    fn resume(path: &Path, header: &Header) -> Result<(Self, Known), Error> {
        let refuse = |reason: String| Error::journal(path, reason);
        let bytes = std::fs::read(path).map_err(|e| {
            refuse(if e.kind() == std::io::ErrorKind::NotFound {
                "it does not exist: there is no snapshot to resume (start a new one)".to_owned()
            } else {
                format!("cannot read it: {e}")
            })
        })?;
        // An incomplete last line (the process died mid-write) is dropped.
        let good = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = std::str::from_utf8(&bytes[..good])
            .map_err(|_| refuse("it is not text: not a snapshot progress file".into()))?;
        let mut lines = text.lines().enumerate();
        let first = lines
            .next()
            .map(|(_, l)| l)
            .ok_or_else(|| refuse("it is empty: not a snapshot progress file".into()))?;
        let then = match serde_json::from_str::<Record>(first) {
            Ok(Record::Snapshot(h)) if h.format == PROGRESS_FORMAT => h,
            Ok(Record::Snapshot(h)) => {
                return Err(refuse(format!(
                    "it is of progress format {}, this build reads {PROGRESS_FORMAT}",
                    h.format
                )));
            }
            _ => {
                return Err(refuse(
                    "its first line is not a snapshot header: not a snapshot progress file".into(),
                ));
            }
        };
        then.check(header)
            .map_err(|reason| refuse(format!("{reason}; start a new snapshot instead")))?;
        let mut known = Known {
            started_at: Some(then.started_at.clone()),
            ..Known::default()
        };
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(line).map_err(|e| {
                refuse(format!(
                    "line {} is damaged ({e}); delete the file to start over",
                    i + 1
                ))
            })?;
            match record {
                Record::Snapshot(_) => {
                    return Err(refuse(format!(
                        "line {} is a second header; delete the file to start over",
                        i + 1
                    )));
                }
                Record::Users { users } => known.users = Some(users),
                Record::Chats { user, chats } => {
                    known.chats.insert(user, chats);
                }
                Record::Teams { teams } => known.teams = Some(teams),
                Record::Scope {
                    scope,
                    scope_id,
                    installations,
                } => {
                    known.scopes.insert((scope, scope_id), installations);
                }
            }
        }
        let file = crate::journal::no_follow()
            .write(true)
            .open(path)
            .map_err(|e| refuse(crate::journal::open_error(path, &e)))?;
        file.set_len(good as u64)
            .map_err(|e| refuse(format!("cannot drop its incomplete last line: {e}")))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
            .map_err(|e| refuse(format!("cannot append to it: {e}")))?;
        Ok((
            Self {
                path: path.to_owned(),
                file: Mutex::new(file),
            },
            known,
        ))
    }

    fn write(&self, record: &Record) -> Result<(), Error> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::JournalWrite(format!("{}: {e}", self.path.display())))?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|e| Error::JournalWrite(format!("{}: {e}", self.path.display())))
    }
}

/// Reads `tenant` into a tenant file, journaling progress to `progress` (created, or continued
/// with [`Resume::Continue`]). Sends only `GET`s.
pub async fn snapshot(
    tenant: &Tenant,
    options: &SnapshotOptions,
    progress: &Path,
    resume: Resume,
    events: &EventSink,
) -> Result<Snapshot, Error> {
    options.check()?;
    let client = &tenant.client;
    let catalog = read_catalog(client).await?;
    // The apps named (none with all apps: every installation is read).
    let mut chosen: BTreeSet<String> = BTreeSet::new();
    for name in &options.apps {
        let app = pick_app(&catalog, name).map_err(|e| match e {
            Error::AppNotFound { name, known, .. } => Error::AppNotFound {
                name,
                tenant: Some(tenant.id.clone()),
                known,
            },
            other => other,
        })?;
        chosen.extend(app.id.clone());
    }
    let key = options.pseudonymise.as_ref();
    let header = Header {
        format: PROGRESS_FORMAT,
        tool: options.tool.clone(),
        started_at: crate::journal::now(),
        tenant: tenant.id.clone(),
        graph: client.base_url().to_owned(),
        apps: chosen.iter().cloned().collect(),
        all_apps: options.all_apps,
        pseudonyms: key.map(PseudonymKey::fingerprint),
    };
    let (file, known) = match resume {
        Resume::New => (ProgressFile::create(progress, &header)?, Known::default()),
        Resume::Continue => ProgressFile::resume(progress, &header)?,
    };
    let started_at = known
        .started_at
        .clone()
        .unwrap_or_else(|| header.started_at.clone());
    let claims = crate::token_claims(client).await?;
    let reader = Reader {
        tenant,
        options,
        file: &file,
        progress: Progress::new(&tenant.id, events),
        unreadable: Mutex::new(Vec::new()),
    };
    let users = if let Some(users) = known.users {
        users
    } else {
        let users = reader.users().await?;
        file.write(&Record::Users {
            users: users.clone(),
        })?;
        users
    };
    reader.progress.users.store(users.len(), Ordering::Relaxed);
    let chats = reader.chats(&users, known.chats).await?;
    let teams = if let Some(teams) = known.teams {
        teams
    } else {
        let teams = reader.teams().await?;
        file.write(&Record::Teams {
            teams: teams.clone(),
        })?;
        teams
    };
    reader.progress.teams.store(teams.len(), Ordering::Relaxed);
    let mut scopes: Vec<(InstallationScope, String)> = Vec::new();
    scopes.extend(
        chats
            .iter()
            .map(|c| (InstallationScope::Chat, c.id.to_string())),
    );
    scopes.extend(
        users
            .iter()
            .map(|u| (InstallationScope::User, u.id.clone())),
    );
    scopes.extend(
        teams
            .iter()
            .map(|t| (InstallationScope::Team, t.id.to_string())),
    );
    let resumed = scopes
        .iter()
        .filter(|s| known.scopes.contains_key(s))
        .count();
    let (installations, scopes_read) = reader
        .installations(scopes, known.scopes, (!options.all_apps).then_some(&chosen))
        .await?;
    reader.progress.emit(true);

    let mut catalog: Vec<CatalogAppSpec> = catalog.iter().filter_map(catalog_app).collect();
    let mut skipped = Vec::new();
    let installations: Vec<InstallationSpec> = installations
        .into_iter()
        .filter(|i| {
            let known = catalog
                .iter()
                .find(|a| a.id == i.teams_app_id)
                .is_some_and(|a| a.app_definitions.iter().any(|d| d.version == i.version));
            if !known {
                skipped.push(format!(
                    "{} {}: app {} version {}",
                    i.scope.as_str(),
                    i.scope_id,
                    i.teams_app_id,
                    i.version
                ));
            }
            known
        })
        .collect();
    // The tenant's own apps, and the store apps named or installed (not the whole store).
    catalog.retain(|a| {
        a.distribution_method != Distribution::Store
            || chosen.contains(a.id.as_str())
            || installations.iter().any(|i| i.teams_app_id == a.id)
    });
    let unreadable = reader
        .unreadable
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (permission_type, permissions, client_id) = claims.map_or_else(
        || ("unknown".to_owned(), Vec::new(), None),
        |c| (c.kind, c.permissions, c.client_id),
    );
    let spec = TenantSpec {
        format_version: Some(FORMAT_VERSION),
        snapshot: Some(SnapshotProvenance {
            started_at: Some(started_at),
            taken_at: crate::journal::now(),
            tool: options.tool.clone(),
            graph: client.base_url().to_owned(),
            tenant_id: tenant.id.clone(),
            client_id,
            permission_type,
            permissions,
            apps: chosen.into_iter().collect(),
            all_apps: options.all_apps,
            pseudonymised: key.is_some(),
            unreadable_scopes: unreadable.len(),
            skipped_installations: skipped.len(),
        }),
        tenant_id: tenant.id.clone(),
        display_name: match key {
            Some(k) => format!("Tenant {}", k.pseudonym("tenant", &tenant.id)),
            None => format!("Snapshot of {}", tenant.id),
        },
        users,
        chats,
        teams,
        app_registrations: Vec::new(),
        delegated_grants: Vec::new(),
        catalog,
        installations,
    };
    Ok(Snapshot {
        spec,
        unreadable,
        skipped,
        scopes_read,
        scopes_resumed: resumed,
    })
}

/// The app catalog with every app's definitions (and their bots).
async fn read_catalog(client: &teamsapp_client::Client) -> Result<Vec<TeamsApp>, Error> {
    let request = ListCatalogApps::new().expand(["appDefinitions($expand=bot)"]);
    with_rounds("listing the app catalog", || client.catalog_apps(&request)).await
}

/// Tries `read` up to [`ROUNDS`] times while it fails transiently.
async fn with_rounds<T, F, Fut>(what: &str, mut read: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, teamsapp_client::Error>>,
{
    let mut round = 1;
    loop {
        match read().await {
            Ok(v) => return Ok(v),
            Err(e) if round < ROUNDS && is_transient(&e) => {
                tracing::warn!("{what}: {e}; trying again");
                round += 1;
            }
            Err(e) => return Err(Error::graph(what, e)),
        }
    }
}

struct Reader<'a> {
    tenant: &'a Tenant,
    options: &'a SnapshotOptions,
    file: &'a ProgressFile,
    progress: Progress<'a>,
    unreadable: Mutex<Vec<UnreadableScope>>,
}

impl Reader<'_> {
    fn name(&self, kind: &str, id: &str) -> Option<String> {
        self.options
            .pseudonymise
            .as_ref()
            .map(|k| k.pseudonym(kind, id))
    }

    fn unreadable(&self, scope: String, e: &teamsapp_client::Error) {
        self.progress.unreadable.fetch_add(1, Ordering::Relaxed);
        (self.progress.events)(&Event::ScopeUnreadable {
            tenant: self.tenant.id.clone(),
            scope: scope.clone(),
            error: e.to_string(),
        });
        self.unreadable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(UnreadableScope {
                tenant: self.tenant.id.clone(),
                scope,
                error: e.to_string(),
            });
    }

    async fn users(&self) -> Result<Vec<UserSpec>, Error> {
        let client = &self.tenant.client;
        let wire: Vec<teamsapp_types::User> = with_rounds("listing users", || {
            client
                .items(
                    &ListUsers::new()
                        .select([
                            "id",
                            "displayName",
                            "userPrincipalName",
                            "mail",
                            "userType",
                            "accountEnabled",
                        ])
                        .top(DIRECTORY_PAGE),
                )
                .inspect_ok(|_| {
                    self.progress.users.fetch_add(1, Ordering::Relaxed);
                    self.progress.tick();
                })
                .try_collect()
        })
        .await?;
        Ok(wire
            .into_iter()
            .filter_map(|u| {
                let id = u.id?;
                UserId::new(id.as_str()).ok()?;
                let upn = u.user_principal_name.unwrap_or_else(|| id.clone());
                Some(match self.name("user", &id) {
                    Some(p) => UserSpec {
                        user_principal_name: format!("user-{p}@pseudonym.invalid"),
                        display_name: format!("User {p}"),
                        mail: None,
                        user_type: u.user_type,
                        account_enabled: u.account_enabled.unwrap_or(true),
                        personal_account: false,
                        blocked_apps: Vec::new(),
                        id,
                    },
                    None => UserSpec {
                        display_name: u.display_name.unwrap_or_else(|| upn.clone()),
                        mail: u.mail.filter(|m| !m.eq_ignore_ascii_case(&upn)),
                        user_principal_name: upn,
                        user_type: u.user_type,
                        account_enabled: u.account_enabled.unwrap_or(true),
                        personal_account: false,
                        blocked_apps: Vec::new(),
                        id,
                    },
                })
            })
            .collect())
    }

    fn chat(&self, c: teamsapp_types::Chat) -> Option<ChatSpec> {
        let id = ChatId::new(c.id?).ok()?;
        let chat_type = match c.chat_type {
            Some(ChatType::OneOnOne) => ChatKind::OneOnOne,
            Some(ChatType::Meeting) => ChatKind::Meeting,
            _ => ChatKind::Group,
        };
        let topic = match (c.topic, self.name("chat", id.as_str())) {
            (Some(_), Some(p)) => Some(format!("Chat {p}")),
            (topic, _) => topic,
        };
        Some(ChatSpec {
            chat_type,
            topic,
            members: Vec::new(),
            online_meeting_info: c.online_meeting_info.and_then(|m| {
                Some(OnlineMeetingSpec {
                    join_web_url: m.join_web_url?,
                    calendar_event_id: m.calendar_event_id,
                })
            }),
            created_date_time: c.created_date_time,
            id,
        })
    }

    /// Every user's chats (those the progress file has are not read again), each chat once,
    /// with the users that list it as members.
    async fn chats(
        &self,
        users: &[UserSpec],
        mut known: HashMap<String, Vec<ChatSpec>>,
    ) -> Result<Vec<ChatSpec>, Error> {
        let client = &self.tenant.client;
        let mut pending: Vec<UserId> = users
            .iter()
            .filter(|u| !known.contains_key(&u.id))
            .filter_map(|u| UserId::new(u.id.as_str()).ok())
            .collect();
        for round in 1..=ROUNDS {
            let results: Vec<(UserId, Result<Vec<ChatSpec>, teamsapp_client::Error>)> =
                stream::iter(pending)
                    .map(|user| async move {
                        let listed: Result<Vec<teamsapp_types::Chat>, _> = client
                            .items(
                                &ListUserChats::new(user.clone())
                                    .select([
                                        "id",
                                        "chatType",
                                        "topic",
                                        "createdDateTime",
                                        "onlineMeetingInfo",
                                    ])
                                    .top(CHATS_PAGE),
                            )
                            .try_collect()
                            .await;
                        let listed = match listed {
                            Ok(chats) => {
                                Ok(chats.into_iter().filter_map(|c| self.chat(c)).collect())
                            }
                            // The user left the directory meanwhile.
                            Err(e) if e.is_not_found() => Ok(Vec::new()),
                            Err(e) => Err(e),
                        };
                        if let Ok(chats) = &listed {
                            self.file.write(&Record::Chats {
                                user: user.to_string(),
                                chats: chats.clone(),
                            })?;
                        }
                        self.progress.tick();
                        Ok::<_, Error>((user, listed))
                    })
                    .buffer_unordered(self.options.concurrency.max(1))
                    .try_collect()
                    .await?;
            pending = Vec::new();
            for (user, result) in results {
                match result {
                    Ok(chats) => {
                        known.insert(user.to_string(), chats);
                    }
                    Err(e) if round < ROUNDS && is_transient(&e) => pending.push(user),
                    Err(e) => self.unreadable(format!("chats of user {user}"), &e),
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        let mut chats: BTreeMap<String, ChatSpec> = BTreeMap::new();
        for user in users {
            for chat in known.remove(&user.id).unwrap_or_default() {
                chats
                    .entry(chat.id.to_string())
                    .or_insert(chat)
                    .members
                    .push(user.id.clone());
            }
        }
        self.progress.chats.store(chats.len(), Ordering::Relaxed);
        Ok(chats.into_values().collect())
    }

    async fn teams(&self) -> Result<Vec<TeamSpec>, Error> {
        let client = &self.tenant.client;
        let wire: Vec<teamsapp_types::Team> = with_rounds("listing teams", || {
            client
                .items(
                    &ListTeams::new()
                        .select(["id", "displayName", "description"])
                        .top(DIRECTORY_PAGE),
                )
                .inspect_ok(|_| {
                    self.progress.teams.fetch_add(1, Ordering::Relaxed);
                    self.progress.tick();
                })
                .try_collect()
        })
        .await?;
        Ok(wire
            .into_iter()
            .filter_map(|t| {
                let id = TeamId::new(t.id?).ok()?;
                Some(match self.name("team", id.as_str()) {
                    Some(p) => TeamSpec {
                        display_name: format!("Team {p}"),
                        description: None,
                        members: Vec::new(),
                        id,
                    },
                    None => TeamSpec {
                        display_name: t.display_name.unwrap_or_default(),
                        description: t.description,
                        members: Vec::new(),
                        id,
                    },
                })
            })
            .collect())
    }

    /// The chosen apps' installations in every scope (those the progress file has are not read
    /// again); returns them in scope order and how many scopes were read now.
    async fn installations(
        &self,
        scopes: Vec<(InstallationScope, String)>,
        mut known: HashMap<(InstallationScope, String), Vec<InstallationSpec>>,
        chosen: Option<&BTreeSet<String>>,
    ) -> Result<(Vec<InstallationSpec>, usize), Error> {
        let client = &self.tenant.client;
        let mut query = ListQuery::new().expand(["teamsApp", "teamsAppDefinition"]);
        if let Some([only]) = chosen.map(|c| c.iter().collect::<Vec<_>>()).as_deref() {
            query = query.filter(format!("teamsApp/id eq '{only}'"));
        }
        let query = &query;
        self.progress.total.store(scopes.len(), Ordering::Relaxed);
        let mut pending: Vec<(InstallationScope, String)> = Vec::new();
        for s in &scopes {
            match known.get(s) {
                Some(found) => {
                    self.progress.read.fetch_add(1, Ordering::Relaxed);
                    self.progress
                        .installations
                        .fetch_add(found.len(), Ordering::Relaxed);
                }
                None => pending.push(s.clone()),
            }
        }
        let mut read_now = 0;
        for round in 1..=ROUNDS {
            let results: Vec<_> = stream::iter(pending)
                .map(|(kind, id)| async move {
                    let Ok(scope) = Scope::parse(kind.as_str(), &id) else {
                        return Ok::<_, Error>(((kind, id), Ok(Vec::new())));
                    };
                    let read = match client.installed_apps(&scope, query).await {
                        Ok(list) => Ok(list
                            .iter()
                            .filter_map(|i| installation(kind, &id, i))
                            .filter(|i| chosen.is_none_or(|c| c.contains(i.teams_app_id.as_str())))
                            .collect::<Vec<_>>()),
                        Err(e) if e.is_not_found() => Ok(Vec::new()),
                        Err(e) => Err(e),
                    };
                    if let Ok(found) = &read {
                        self.file.write(&Record::Scope {
                            scope: kind,
                            scope_id: id.clone(),
                            installations: found.clone(),
                        })?;
                        self.progress.read.fetch_add(1, Ordering::Relaxed);
                        self.progress
                            .installations
                            .fetch_add(found.len(), Ordering::Relaxed);
                    }
                    self.progress.tick();
                    Ok(((kind, id), read))
                })
                .buffer_unordered(self.options.concurrency.max(1))
                .try_collect()
                .await?;
            pending = Vec::new();
            for (scope, result) in results {
                match result {
                    Ok(found) => {
                        read_now += 1;
                        known.insert(scope, found);
                    }
                    Err(e) if round < ROUNDS && is_transient(&e) => pending.push(scope),
                    Err(e) => self.unreadable(format!("{} {}", scope.0.as_str(), scope.1), &e),
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        let mut out = Vec::new();
        for s in &scopes {
            out.extend(known.remove(s).unwrap_or_default());
        }
        Ok((out, read_now))
    }
}

/// An installation as the tenant file has it; the id only when Graph's differs from the one
/// the emulator would form.
fn installation(
    kind: InstallationScope,
    scope_id: &str,
    i: &TeamsAppInstallation,
) -> Option<InstallationSpec> {
    let app = i.teams_app.as_ref()?.id.clone()?;
    let version = i.teams_app_definition.as_ref()?.version.clone()?;
    let id = i.id.clone()?;
    let formed = AppInstallationId::build(scope_id, &app).ok();
    let consented = i
        .consented_permission_set
        .as_ref()
        .and_then(|s| s.resource_specific_permissions.as_ref())
        .map(|list| list.iter().filter_map(RscPermission::from_wire).collect());
    Some(InstallationSpec {
        scope: kind,
        scope_id: scope_id.to_owned(),
        teams_app_id: TeamsAppId::new(app).ok()?,
        version,
        id: (formed.as_ref().map(AppInstallationId::as_str) != Some(id.as_str())).then_some(id),
        consented_permissions: consented,
    })
}

/// A catalog app as the tenant file has it, definitions in increasing version order.
fn catalog_app(app: &TeamsApp) -> Option<CatalogAppSpec> {
    let name = app.display_name.clone().unwrap_or_default();
    let mut definitions: Vec<DefinitionSpec> = app
        .app_definitions
        .iter()
        .flatten()
        .filter_map(|d| {
            Some(DefinitionSpec {
                version: d.version.clone()?,
                publishing_state: match d.publishing_state {
                    Some(TeamsAppPublishingState::Submitted) => PublishingState::Submitted,
                    Some(TeamsAppPublishingState::Rejected) => PublishingState::Rejected,
                    _ => PublishingState::Published,
                },
                display_name: d.display_name.clone().filter(|n| *n != name),
                short_description: d.short_description.clone(),
                description: d.description.clone(),
                client_app_id: d
                    .authorization
                    .as_ref()
                    .and_then(|a| a.client_app_id.clone()),
                resource_specific_permissions: d
                    .authorization
                    .as_ref()
                    .and_then(|a| a.required_permission_set.as_ref())
                    .and_then(|s| s.resource_specific_permissions.as_ref())
                    .map(|l| l.iter().filter_map(RscPermission::from_wire).collect())
                    .unwrap_or_default(),
                bot_id: d.bot.as_ref().and_then(|b| b.id.clone()),
                // A v1.0 definition does not say (beta's `allowedInstallationScopes` would).
                installation_scopes: Vec::new(),
                last_modified_date_time: d.last_modified_date_time.clone(),
                created_by: d
                    .created_by
                    .as_ref()
                    .and_then(|c| c.user.as_ref())
                    .and_then(|u| u.id.clone()),
            })
        })
        .collect();
    definitions.sort_by(|a, b| version::compare(&a.version, &b.version));
    Some(CatalogAppSpec {
        id: TeamsAppId::new(app.id.clone()?).ok()?,
        external_id: app.external_id.clone(),
        display_name: name,
        distribution_method: match app.distribution_method {
            Some(TeamsAppDistributionMethod::Store) => Distribution::Store,
            Some(TeamsAppDistributionMethod::Sideloaded) => Distribution::Sideloaded,
            _ => Distribution::Organization,
        },
        app_definitions: definitions,
        // Graph does not say which apps the tenant admin blocked.
        blocked: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let a = PseudonymKey::new(b"0123456789abcdef".to_vec()).unwrap();
        let b = PseudonymKey::new(b"0123456789abcdeg".to_vec()).unwrap();
        assert_eq!(a.pseudonym("user", "x"), a.pseudonym("user", "x"));
        assert_ne!(a.pseudonym("user", "x"), b.pseudonym("user", "x"));
        assert_ne!(a.pseudonym("user", "x"), a.pseudonym("team", "x"));
        assert_eq!(a.pseudonym("user", "x").len(), 12);
        assert!(!format!("{a:?}").contains("0123"));
        assert!(PseudonymKey::new(b"short".to_vec()).is_err());
    }

    #[test]
    fn the_mac_is_hmac_sha256() {
        // Python: hmac.new(b"Jefe", b"what do ya want for nothing?\x00", hashlib.sha256)
        let hex = |m: [u8; 32]| hex(&m);
        let key = PseudonymKey(SecretSlice::from(b"Jefe".to_vec()));
        assert_eq!(
            hex(key.mac("what do ya want for nothing?", "")),
            "4fd2cd52032b7d4c8c0faac64edd70d083ded8a88aaf5bb3b60c8e40a83de008"
        );
        // A key longer than the block is hashed first.
        let long = PseudonymKey(SecretSlice::from(vec![b'k'; 100]));
        assert_eq!(
            hex(long.mac("user", "abc")),
            "44aebbfb2a37fbdc83a6148104b88f7ee9848bdc8c33e1d2bb6b245687fb99b4"
        );
    }
}
