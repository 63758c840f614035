//! The in-memory state of a tenant, built from a [`TenantSpec`](crate::spec::TenantSpec)
//! (`state/build.rs`) and changed only by events (`state/events.rs`).
//!
//! Layout, chosen for 1M installations: each scope (chat, team, user) holds its installations
//! inline, in a small vector of compact records (app and definition by index, consent shared with
//! the definition it matches, no id string unless the spec gave an explicit one). An installation
//! is found in O(1) from its id: Graph's ids decode to `{scopeId}##{teamsAppId}`, so the lookup is
//! a hash lookup of the scope plus a scan of that scope's few installations; explicit ids sit in
//! one small map.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use teamsapp_types::{AppInstallationId, TeamsAppId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ModelError;
use crate::error::echo;
use crate::spec::{
    AppRegistrationSpec, ChatKind, DelegatedGrantSpec, Distribution, InstallationScope,
    OnlineMeetingSpec, PublishingState, RscPermission,
};
use teamsapp_types::version::AppVersion;

mod build;
mod events;

/// `2024-01-01T00:00:00Z`: the timestamp of spec objects that give none.
pub(crate) const EPOCH: OffsetDateTime = time::macros::datetime!(2024-01-01 00:00:00 UTC);

/// Where an installation lives: a kind and an index into the tenant's chats, teams or users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ScopeKey {
    pub(crate) kind: InstallationScope,
    pub(crate) index: u32,
}

/// A scope's installations: the first inline in the scope's record (nearly every scope holds
/// one), more on the heap. Inline, an upgrade at a million installations reads one record fewer
/// from cold memory, and a scope saves the 64-byte allocation of its one-record vector.
pub(crate) type Installed = smallvec::SmallVec<[InstRec; 1]>;

/// One installed app.
#[derive(Debug, Clone)]
pub(crate) struct InstRec {
    /// Tenant-wide order of creation: list order and skiptoken position.
    pub(crate) seq: u64,
    /// Index into the tenant's apps.
    pub(crate) app: u32,
    /// Index into the app's definitions.
    pub(crate) def: u32,
    /// Successful upgrade calls answered for this installation.
    pub(crate) upgrade_count: u32,
    /// The consented RSC permissions (shared with the definition when they are its own).
    pub(crate) consent: Arc<[RscPermission]>,
    /// The id, when the spec gave one that differs from Graph's formation (canonical spelling).
    pub(crate) explicit_id: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct UserRec {
    pub(crate) id: String,
    pub(crate) upn: String,
    pub(crate) display_name: String,
    pub(crate) mail: Option<String>,
    pub(crate) user_type: Option<String>,
    pub(crate) account_enabled: bool,
    pub(crate) personal_account: bool,
    /// Apps (by index) the user's app permission policy blocks.
    pub(crate) blocked_apps: Box<[u32]>,
    /// Chats the user is a member of, by index, increasing.
    pub(crate) chats: Vec<u32>,
    pub(crate) installed: Installed,
}

#[derive(Debug)]
pub(crate) struct ChatRec {
    pub(crate) id: ChatId,
    pub(crate) kind: ChatKind,
    pub(crate) topic: Option<Box<str>>,
    pub(crate) members: Box<[u32]>,
    pub(crate) meeting: Option<Box<OnlineMeetingSpec>>,
    pub(crate) created: OffsetDateTime,
    pub(crate) installed: Installed,
}

#[derive(Debug)]
pub(crate) struct TeamRec {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) description: Option<String>,
    pub(crate) members: Box<[u32]>,
    pub(crate) installed: Installed,
}

/// Beta's `allowedInstallationScopes` of `scopes` (`team`, `groupChat`, `personal`, any order):
/// the flags in Graph's order, comma-separated; `None` for none.
pub(crate) fn installation_scopes(scopes: &[String]) -> Result<Option<Box<str>>, String> {
    const ORDER: [&str; 3] = ["team", "groupChat", "personal"];
    if let Some(unknown) = scopes.iter().find(|s| !ORDER.contains(&s.as_str())) {
        return Err(format!(
            "unknown scope {unknown:?}: expected team, groupChat or personal"
        ));
    }
    let joined = ORDER
        .into_iter()
        .filter(|scope| scopes.iter().any(|s| s == scope))
        .collect::<Vec<_>>()
        .join(",");
    Ok((!joined.is_empty()).then(|| joined.into_boxed_str()))
}

#[derive(Debug)]
pub(crate) struct DefRec {
    pub(crate) version: AppVersion,
    pub(crate) state: PublishingState,
    pub(crate) display_name: String,
    pub(crate) short_description: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) client_app_id: Option<String>,
    pub(crate) rsc: Arc<[RscPermission]>,
    pub(crate) bot_id: Option<String>,
    /// Beta's `allowedInstallationScopes` (`team,groupChat`), when known.
    pub(crate) installation_scopes: Option<Box<str>>,
    pub(crate) last_modified: OffsetDateTime,
    pub(crate) created_by: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AppRec {
    pub(crate) id: TeamsAppId,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name: String,
    pub(crate) distribution: Distribution,
    pub(crate) defs: Vec<DefRec>,
    /// The published definition with the highest version.
    pub(crate) latest_published: Option<u32>,
    /// How many installations run this app.
    pub(crate) installed: u64,
    pub(crate) deleted: bool,
    /// Blocked for the whole organization by the tenant admin.
    pub(crate) blocked: bool,
}

impl AppRec {
    fn refresh_latest(&mut self) {
        self.latest_published = self
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.state == PublishingState::Published)
            .max_by(|(_, a), (_, b)| a.version.cmp(&b.version))
            .and_then(|(i, _)| u32::try_from(i).ok());
    }

    /// The index of the definition with `version` (numeric equality).
    pub(crate) fn def_by_version(&self, version: &AppVersion) -> Option<u32> {
        self.defs
            .iter()
            .position(|d| d.version == *version)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The definition at `index`.
    pub(crate) fn def(&self, index: u32) -> Option<&DefRec> {
        self.defs.get(index as usize)
    }
}

/// A map of ids we choose the spelling of (lowercase, canonical): foldhash, not `SipHash` (a
/// profile of `mock serve --fleet 1000000` put 10 % of the start in hashing chat ids).
pub(crate) type Index<K, V = u32> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`Index`] with room for `capacity` ids.
pub(crate) fn index_with_capacity<K, V>(capacity: usize) -> Index<K, V> {
    Index::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}

pub(crate) use teamsapp_types::ids::ascii_lowercase as lowercase;

/// A chat's id as the model holds it. Graph's usual form, `19:{32 lowercase hex}@thread.v2`, is
/// kept as the 128-bit number its hex spells (two halves, so a chat record stays 8-byte
/// aligned): no string on the heap, and the chat index checks a key against it without a
/// pointer to follow. Any other form keeps its own spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChatId {
    /// `19:{hex}@thread.v2`: the high and low halves of the hex's number.
    Thread([u64; 2]),
    /// Any other id, as written.
    Other(Box<str>),
}

impl ChatId {
    pub(crate) fn new(id: &str) -> Self {
        match chat_key(id) {
            Some(key) => Self::Thread(halves(key)),
            None => Self::Other(id.into()),
        }
    }

    /// The 128-bit key of a `thread.v2` id.
    pub(crate) fn key(&self) -> Option<u128> {
        match self {
            Self::Thread(halves) => Some(join(*halves)),
            Self::Other(_) => None,
        }
    }

    /// Whether this is the id `id` (exact), without formatting it.
    pub(crate) fn is(&self, id: &str) -> bool {
        match self {
            Self::Thread(_) => chat_key(id) == self.key(),
            Self::Other(own) => **own == *id,
        }
    }

    /// The id as Graph spells it (formatted for a `thread.v2` id).
    pub(crate) fn as_str(&self) -> Cow<'_, str> {
        match self {
            Self::Thread(_) => Cow::Owned(self.to_string()),
            Self::Other(id) => Cow::Borrowed(id),
        }
    }
}

impl std::fmt::Display for ChatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Thread([hi, lo]) => write!(f, "19:{hi:016x}{lo:016x}@thread.v2"),
            Self::Other(id) => f.write_str(id),
        }
    }
}

/// The key of high and low halves.
fn join([hi, lo]: [u64; 2]) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A key's high and low halves.
fn halves(key: u128) -> [u64; 2] {
    #[allow(clippy::cast_possible_truncation, reason = "the key's halves")]
    [(key >> 64) as u64, key as u64]
}

/// Chats by id. A `thread.v2` id (Graph's usual form) is found through a compact open-addressed
/// table of 8-byte slots (a tag of the key's hash and the chat's index), and confirmed against
/// the chat's own key, which the caller reads next anyway. At a million chats the table is
/// 11 MB and mostly stays in cache, so a first upgrade pays one cold read (the chat) instead of
/// two (a 24-byte slot in a 48 MB table, then the chat) plus a third for the id's string. Other
/// ids go to a table of indices hashed by each chat's own id, so the id is held once.
#[derive(Default)]
pub(crate) struct ChatIndex {
    keyed: KeyedChats,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for ChatIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatIndex")
            .field("keyed", &self.keyed.len)
            .field("other", &self.table.len())
            .finish_non_exhaustive()
    }
}

/// The 128-bit key of a chat id of the form `19:{32 lowercase hex}@thread.v2`; `None` for any
/// other form (which keeps its own spelling: uppercase hex is another id to Graph's exact match).
pub(crate) fn chat_key(id: &str) -> Option<u128> {
    let hex = id.strip_prefix("19:")?.strip_suffix("@thread.v2")?;
    if hex.len() != 32 {
        return None;
    }
    // One pass, checking and decoding (a load parses every chat's id).
    hex.bytes().try_fold(0u128, |key, b| {
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some((key << 4) | u128::from(nibble))
    })
}

/// One slot of [`KeyedChats`]: a 32-bit tag of the key's hash, and the chat's index
/// ([`KeyedChats::EMPTY`] for a free slot).
#[derive(Debug, Clone, Copy)]
struct Slot {
    tag: u32,
    index: u32,
}

/// An open-addressed (linear probing) table of chat indices by key, at most three quarters full
/// and sized to fit (not rounded to a power of two): 10M chats take 13.3M slots, 107 MB. A slot
/// holds no key, only a tag; a tag that matches is confirmed against the chat's key.
#[derive(Default)]
struct KeyedChats {
    slots: Vec<Slot>,
    len: usize,
}

impl KeyedChats {
    const EMPTY: u32 = u32::MAX;

    /// Slots per run of [`Self::insert_all`]'s grouping (2 KiB of slots).
    const RUN: usize = 256;

    /// Room for `n` keys.
    fn with_capacity(n: usize) -> Self {
        Self {
            slots: vec![
                Slot {
                    tag: 0,
                    index: Self::EMPTY
                };
                n.max(3) * 4 / 3 + 1
            ],
            len: 0,
        }
    }

    /// The first slot to probe for `key`, and its tag.
    fn start(&self, key: u128) -> (usize, u32) {
        let [hi, lo] = halves(key);
        let mixed = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The mix's high bits scaled to the table's size pick the slot (no division). The tag
        // is the high half of a second mix, which every bit of the key reaches (the first
        // mix's low bits see only the low bits of its input).
        let start = (u128::from(mixed) * self.slots.len() as u128) >> 64;
        let tag = (hi ^ lo.rotate_left(32)).wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 32;
        #[allow(clippy::cast_possible_truncation, reason = "32 bits, shifted down")]
        (usize::try_from(start).unwrap_or(0), tag as u32)
    }

    /// The index of the chat (in `chats`) whose key is `key`.
    fn get(&self, chats: &[ChatRec], key: u128) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let (mut i, tag) = self.start(key);
        loop {
            let slot = self.slots[i];
            if slot.index == Self::EMPTY {
                return None;
            }
            if slot.tag == tag
                && chats
                    .get(slot.index as usize)
                    .is_some_and(|c| c.id.key() == Some(key))
            {
                return Some(slot.index);
            }
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
    }

    /// Room for `additional` more keys, at most three quarters full; a table that grows places
    /// its keys again, read from `chats`.
    fn reserve(&mut self, chats: &[ChatRec], additional: usize) {
        if (self.len + additional) * 4 <= self.slots.len() * 3 {
            return;
        }
        let old = std::mem::take(&mut self.slots);
        *self = Self::with_capacity((self.len + additional) * 2);
        for slot in old.into_iter().filter(|s| s.index != Self::EMPTY) {
            if let Some(key) = chats.get(slot.index as usize).and_then(|c| c.id.key()) {
                self.place(key, slot.index);
            }
        }
    }

    /// Records every `(key, index)` of `entries`, chats of `chats` not recorded yet, and returns
    /// the lowest index that repeats the key of another chat (recording it once). That names
    /// the chat that repeats an earlier one when `entries` are in increasing index order, above
    /// every index already recorded, as a load makes them. The index of a chat not in `chats`
    /// yet may be among them: its key is never confirmed, and it can only repeat another.
    ///
    /// One by one, each insert of a million chats read a random slot from memory: a profile of
    /// `mock serve --fleet 1000000` put 14 % of the start in that one load. Here the entries are
    /// first grouped by where their probe starts (a counting sort into runs of 256 slots), then
    /// placed run after run, so the table is written front to back and each run's slots are in
    /// cache when its entries land. Any order of insertion makes a valid table (another layout,
    /// the same answers).
    fn insert_all(&mut self, chats: &[ChatRec], entries: &[(u128, u32)]) -> Option<u32> {
        self.reserve(chats, entries.len());
        let runs = self.slots.len().div_ceil(Self::RUN);
        let mut starts = Vec::with_capacity(entries.len());
        let mut counts = vec![0usize; runs + 1];
        for &(key, _) in entries {
            let (start, _) = self.start(key);
            counts[start / Self::RUN + 1] += 1;
            starts.push(start);
        }
        for run in 1..=runs {
            counts[run] += counts[run - 1];
        }
        let mut order = vec![0usize; entries.len()];
        for (entry, &start) in starts.iter().enumerate() {
            let at = &mut counts[start / Self::RUN];
            order[*at] = entry;
            *at += 1;
        }
        let mut repeated: Option<u32> = None;
        for entry in order {
            let (key, index) = entries[entry];
            match self.get(chats, key) {
                // The later of the two chats is the one that repeats the id.
                Some(other) => {
                    let later = other.max(index);
                    repeated = Some(repeated.map_or(later, |r| r.min(later)));
                }
                None => self.place(key, index),
            }
        }
        repeated
    }

    fn place(&mut self, key: u128, index: u32) {
        let (mut i, tag) = self.start(key);
        while self.slots[i].index != Self::EMPTY {
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
        self.slots[i] = Slot { tag, index };
        self.len += 1;
    }
}

impl ChatIndex {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            keyed: KeyedChats::with_capacity(capacity),
            table: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The index of the chat with id `id` (exact).
    pub(crate) fn get(&self, chats: &[ChatRec], id: &str) -> Option<u32> {
        if let Some(key) = chat_key(id) {
            return self.keyed.get(chats, key);
        }
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |&i| other_id(chats, i) == Some(id))
            .copied()
    }

    /// Records the `thread.v2` chats of `chats`, `(key, index)` each, in one pass (see
    /// [`KeyedChats::insert_all`]); the lowest index whose key another chat already has.
    pub(crate) fn insert_keyed(&mut self, chats: &[ChatRec], keyed: &[(u128, u32)]) -> Option<u32> {
        self.keyed.insert_all(chats, keyed)
    }

    /// Records that the chat that will be `chats[index]` has `id`, an id of another form than
    /// `thread.v2` (those go through [`Self::insert_keyed`]); false (and nothing recorded) when
    /// another chat already has it.
    pub(crate) fn insert_other(&mut self, chats: &[ChatRec], id: &str, index: u32) -> bool {
        let Self { table, hasher, .. } = self;
        let hash = hasher.hash_one(id);
        match table.entry(
            hash,
            |&i| other_id(chats, i) == Some(id),
            |&i| hasher.hash_one(other_id(chats, i).unwrap_or("")),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(index);
                true
            }
        }
    }
}

/// The id of `chats[index]` when it is not a `thread.v2` id.
fn other_id(chats: &[ChatRec], index: u32) -> Option<&str> {
    match &chats.get(index as usize)?.id {
        ChatId::Other(id) => Some(id),
        ChatId::Thread(_) => None,
    }
}

/// One tenant's state.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) users: Vec<UserRec>,
    user_index: Index<String>,
    upn_index: Index<String>,
    pub(crate) chats: Vec<ChatRec>,
    chat_index: ChatIndex,
    pub(crate) teams: Vec<TeamRec>,
    team_index: Index<String>,
    pub(crate) registrations: Vec<AppRegistrationSpec>,
    pub(crate) grants: Vec<DelegatedGrantSpec>,
    pub(crate) apps: Vec<AppRec>,
    app_index: Index<String>,
    external_index: Index<String>,
    explicit_ids: Index<Box<str>, ScopeKey>,
    next_seq: u64,
    pub(crate) installation_count: u64,
    /// How many catalog ids this tenant has generated (advanced by applying events, so replay
    /// agrees). Kept per tenant, so a tenant's ids do not depend on the other tenants'
    /// history and each tenant can be served under its own lock.
    pub(crate) generated: u64,
}

fn index_u32(len: usize, what: &str) -> Result<u32, ModelError> {
    u32::try_from(len).map_err(|_| ModelError::spec(format!("too many {what}")))
}

/// `text` as a date-time, [`EPOCH`] when absent; `path` names it in the error (formatted only
/// then: a tenant of a million chats formats no path).
fn parse_time(
    text: Option<&str>,
    path: impl FnOnce() -> String,
) -> Result<OffsetDateTime, ModelError> {
    match text {
        None => Ok(EPOCH),
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
            ModelError::spec(format!(
                "{}: \"{}\" is not an RFC 3339 date-time ({e})",
                path(),
                echo(t)
            ))
        }),
    }
}

impl Tenant {
    /// A user by object id or UPN (ASCII case-insensitive).
    pub(crate) fn user(&self, id_or_upn: &str) -> Option<u32> {
        let key = lowercase(id_or_upn);
        self.user_index
            .get(key.as_ref())
            .or_else(|| self.upn_index.get(key.as_ref()))
            .copied()
    }

    /// A chat by id (exact).
    pub(crate) fn chat(&self, id: &str) -> Option<u32> {
        self.chat_index.get(&self.chats, id)
    }

    /// A team by id (ASCII case-insensitive).
    pub(crate) fn team(&self, id: &str) -> Option<u32> {
        self.team_index.get(lowercase(id).as_ref()).copied()
    }

    /// A live catalog app by id (ASCII case-insensitive).
    pub(crate) fn app_by_id(&self, id: &str) -> Option<u32> {
        self.app_index.get(lowercase(id).as_ref()).copied()
    }

    /// A live catalog app by manifest id (ASCII case-insensitive).
    pub(crate) fn app_by_external_id(&self, id: &str) -> Option<u32> {
        self.external_index.get(lowercase(id).as_ref()).copied()
    }

    /// A scope by kind and id.
    pub(crate) fn scope_by_id(&self, kind: InstallationScope, id: &str) -> Option<ScopeKey> {
        let index = match kind {
            InstallationScope::Chat => self.chat(id)?,
            InstallationScope::Team => self.team(id)?,
            InstallationScope::User => self.user(id)?,
        };
        Some(ScopeKey { kind, index })
    }

    /// The id of a scope as Graph writes it in installation ids.
    pub(crate) fn scope_id(&self, scope: ScopeKey) -> Cow<'_, str> {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self
                .chats
                .get(i)
                .map_or(Cow::Borrowed(""), |c| c.id.as_str()),
            InstallationScope::Team => Cow::Borrowed(self.teams.get(i).map_or("", |t| &t.id)),
            InstallationScope::User => Cow::Borrowed(self.users.get(i).map_or("", |u| &u.id)),
        }
    }

    /// The installations of a scope.
    pub(crate) fn installed(&self, scope: ScopeKey) -> &[InstRec] {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self.chats.get(i).map_or(&[], |c| &c.installed),
            InstallationScope::Team => self.teams.get(i).map_or(&[], |t| &t.installed),
            InstallationScope::User => self.users.get(i).map_or(&[], |u| &u.installed),
        }
    }

    fn installed_mut(&mut self, scope: ScopeKey) -> Option<&mut Installed> {
        let i = scope.index as usize;
        match scope.kind {
            InstallationScope::Chat => self.chats.get_mut(i).map(|c| &mut c.installed),
            InstallationScope::Team => self.teams.get_mut(i).map(|t| &mut t.installed),
            InstallationScope::User => self.users.get_mut(i).map(|u| &mut u.installed),
        }
    }

    /// The id Graph would form for the installation of `app` in `scope`.
    pub(crate) fn built_installation_id(&self, scope: ScopeKey, app: u32) -> Option<String> {
        let app = self.apps.get(app as usize)?;
        AppInstallationId::build(&self.scope_id(scope), app.id.as_str())
            .ok()
            .map(AppInstallationId::into_inner)
    }

    /// The id of an installation.
    pub(crate) fn installation_id(&self, scope: ScopeKey, rec: &InstRec) -> String {
        match &rec.explicit_id {
            Some(id) => id.to_string(),
            None => self
                .built_installation_id(scope, rec.app)
                .unwrap_or_default(),
        }
    }

    /// The position in `scope` of the installation with id `id` (padded or not, standard or
    /// URL-safe base64).
    /// The scope of the installation with explicit id `canonical`; no hashing when, as in
    /// most tenants, no installation has one.
    fn explicit_id_owner(&self, canonical: &str) -> Option<&ScopeKey> {
        if self.explicit_ids.is_empty() {
            return None;
        }
        self.explicit_ids.get(canonical)
    }

    pub(crate) fn find_installation(
        &self,
        scope: ScopeKey,
        id: &AppInstallationId,
    ) -> Option<usize> {
        let canonical = id.canonical_cow();
        if let Some(owner) = self.explicit_id_owner(canonical.as_str()) {
            if *owner != scope {
                return None;
            }
            return self
                .installed(scope)
                .iter()
                .position(|r| r.explicit_id.as_deref() == Some(canonical.as_str()));
        }
        // Decoded on the stack: nothing allocated for a lookup.
        let mut scratch = [0u8; teamsapp_types::ids::DECODE_SCRATCH];
        let (scope_id, teams_app_id) = canonical.decode_in(&mut scratch)?;
        let same_scope = match scope.kind {
            // Against the chat's own id, held as a key in its record (which the upgrade reads
            // anyway): no index probe, nothing formatted.
            InstallationScope::Chat => self
                .chats
                .get(scope.index as usize)
                .is_some_and(|c| c.id.is(scope_id)),
            InstallationScope::Team | InstallationScope::User => {
                self.scope_id(scope).eq_ignore_ascii_case(scope_id)
            }
        };
        if !same_scope {
            return None;
        }
        let app = self.app_by_id(teams_app_id)?;
        self.installed(scope)
            .iter()
            .position(|r| r.app == app && r.explicit_id.is_none())
    }

    /// The scope and position of an installation, from its id alone.
    pub(crate) fn find_installation_anywhere(
        &self,
        id: &AppInstallationId,
    ) -> Option<(ScopeKey, usize)> {
        let canonical = id.canonical_cow();
        if let Some(scope) = self.explicit_id_owner(canonical.as_str()) {
            return Some((*scope, self.find_installation(*scope, &canonical)?));
        }
        let decoded = canonical.decode()?;
        [
            InstallationScope::Chat,
            InstallationScope::Team,
            InstallationScope::User,
        ]
        .into_iter()
        .filter_map(|kind| self.scope_by_id(kind, &decoded.scope_id))
        .find_map(|scope| Some((scope, self.find_installation(scope, &canonical)?)))
    }

    fn insert_installation(
        &mut self,
        scope: ScopeKey,
        app: u32,
        def: u32,
        consent: Arc<[RscPermission]>,
        explicit_id: Option<Box<str>>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(id) = &explicit_id {
            self.explicit_ids.insert(id.clone(), scope);
        }
        if let Some(list) = self.installed_mut(scope) {
            // Exactly one more when it spills: growth by doubling would reserve records that
            // nearly no scope fills.
            list.reserve_exact(1);
            list.push(InstRec {
                seq,
                app,
                def,
                upgrade_count: 0,
                consent,
                explicit_id,
            });
            if let Some(rec) = self.apps.get_mut(app as usize) {
                rec.installed += 1;
            }
            self.installation_count += 1;
        }
    }

    fn remove_installation(&mut self, scope: ScopeKey, position: usize) -> Option<InstRec> {
        let list = self.installed_mut(scope)?;
        if position >= list.len() {
            return None;
        }
        let rec = list.remove(position);
        if let Some(id) = &rec.explicit_id {
            self.explicit_ids.remove(id);
        }
        if let Some(app) = self.apps.get_mut(rec.app as usize) {
            app.installed = app.installed.saturating_sub(1);
        }
        self.installation_count = self.installation_count.saturating_sub(1);
        Some(rec)
    }

    /// The app registration with `client_id`.
    pub(crate) fn registration(&self, client_id: &str) -> Option<&AppRegistrationSpec> {
        self.registrations
            .iter()
            .find(|r| r.client_id.eq_ignore_ascii_case(client_id))
    }

    /// Whether chat `chat` has user `user` as a member.
    pub(crate) fn chat_has_member(&self, chat: u32, user: u32) -> bool {
        self.chats
            .get(chat as usize)
            .is_some_and(|c| c.members.contains(&user))
    }

    /// Whether team `team` has user `user` as a member.
    pub(crate) fn team_has_member(&self, team: u32, user: u32) -> bool {
        self.teams
            .get(team as usize)
            .is_some_and(|t| t.members.contains(&user))
    }
}

/// Whether two permission lists hold the same permissions (names ignoring ASCII case, in any
/// order, duplicates ignored).
pub(crate) fn same_permissions(a: &[RscPermission], b: &[RscPermission]) -> bool {
    a.iter().all(|p| b.iter().any(|q| p.same_as(q)))
        && b.iter().all(|p| a.iter().any(|q| p.same_as(q)))
}

#[cfg(test)]
mod tests {
    use super::{ChatId, ChatRec, KeyedChats, chat_key};

    #[test]
    fn only_lowercase_thread_v2_hex_ids_get_a_key() {
        let id = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
        assert_eq!(
            chat_key(id),
            Some(0xea28_e88c_00e9_4c77_86b0_6539_4a61_f296)
        );
        for other in [
            "19:EA28E88C00E94C7786B065394A61F296@thread.v2",
            "19:ea28e88c00e94c7786b065394a61f29@thread.v2",
            "19:ea28e88c00e94c7786b065394a61f2966@thread.v2",
            "19:+a28e88c00e94c7786b065394a61f296@thread.v2",
            "19:ea28e88c00e94c7786b065394a61f296@thread.skype",
            "19:meeting_ea28e88c00e94c7786b065394a61@thread.v2",
        ] {
            assert_eq!(chat_key(other), None, "{other}");
        }
    }

    /// A chat record with id `id` and nothing else.
    fn chat(id: ChatId) -> ChatRec {
        ChatRec {
            id,
            kind: crate::spec::ChatKind::Group,
            topic: None,
            members: Box::default(),
            meeting: None,
            created: super::EPOCH,
            installed: super::Installed::new(),
        }
    }

    #[test]
    fn the_keyed_table_finds_every_key_it_holds_and_grows() {
        let mut table = KeyedChats::with_capacity(2);
        let mut chats = Vec::new();
        // Keys that differ only in their high half, only in their low half, and a dense run.
        let keys: Vec<u128> = (0..1_000u128)
            .map(|i| i << 64)
            .chain(1..1_000u128)
            .chain((0..1_000u128).map(|i| (0xf1ee7 << 108) | i))
            .collect();
        // One at a time, so the table grows again and again.
        for (i, key) in keys.iter().enumerate() {
            let entry = (*key, u32::try_from(i).unwrap());
            assert_eq!(table.insert_all(&chats, &[entry]), None, "{key:x}");
            chats.push(chat(ChatId::Thread(super::halves(*key))));
        }
        chats.push(chat(ChatId::Thread(super::halves(keys[5]))));
        let repeat = u32::try_from(keys.len()).unwrap();
        assert_eq!(
            table.insert_all(&chats, &[(keys[5], repeat)]),
            Some(repeat),
            "a repeat is named"
        );
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(
                table.get(&chats, *key),
                Some(u32::try_from(i).unwrap()),
                "{key:x}"
            );
        }
        assert_eq!(table.get(&chats, 0xdead_beef << 70), None);
        assert!(
            4 * keys.len() <= 3 * table.slots.len(),
            "at most three quarters full"
        );
    }

    #[test]
    fn keys_recorded_together_are_found_and_the_first_repeat_is_named() {
        // Two keys first; then 3,000 together, which grows the table.
        let keys: Vec<u128> = (0..3_002u128).map(|i| (i << 64) | (i * 7)).collect();
        let chats: Vec<ChatRec> = keys
            .iter()
            .map(|k| chat(ChatId::Thread(super::halves(*k))))
            .collect();
        let mut table = KeyedChats::with_capacity(2);
        assert_eq!(
            table.insert_all(&chats, &[(keys[0], 0), (keys[1], 1)]),
            None
        );
        let rest: Vec<(u128, u32)> = (2..keys.len())
            .map(|i| (keys[i], u32::try_from(i).unwrap()))
            .collect();
        assert_eq!(table.insert_all(&chats, &rest), None);
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(table.get(&chats, *key), Some(u32::try_from(i).unwrap()));
        }
        assert!(4 * keys.len() <= 3 * table.slots.len());
        // Chats 5 and 9 repeat chat 2's key, and chat 7 repeats chat 0's: 5 is named.
        let mut table = KeyedChats::with_capacity(16);
        let mut chats = Vec::new();
        let mut entries = Vec::new();
        for i in 0..12u32 {
            let key = match i {
                5 | 9 => keys[2],
                7 => keys[0],
                _ => keys[i as usize],
            };
            chats.push(chat(ChatId::Thread(super::halves(key))));
            entries.push((key, i));
        }
        assert_eq!(table.insert_all(&chats, &entries), Some(5));
    }

    #[test]
    fn a_tag_that_matches_is_confirmed_against_the_chats_key() {
        let key = (1u128 << 64) | 2;
        let other = key + (1 << 100);
        // Every slot but the one before the probe's start points at chat 0 under `key`'s tag:
        // a probe for `key` meets matching tags until it reaches the free slot.
        let mut table = KeyedChats::with_capacity(4);
        let (start, tag) = table.start(key);
        let len = table.slots.len();
        for (i, slot) in table.slots.iter_mut().enumerate() {
            if i != (start + len - 1) % len {
                *slot = super::Slot { tag, index: 0 };
            }
        }
        let holds = |id: u128| vec![chat(ChatId::Thread(super::halves(id)))];
        assert_eq!(
            table.get(&holds(key), key),
            Some(0),
            "the chat's key confirms it"
        );
        assert_eq!(
            table.get(&holds(other), key),
            None,
            "the tag matches, the key does not"
        );
    }

    #[test]
    fn a_chat_id_round_trips_and_compares_without_formatting() {
        let thread = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
        let id = ChatId::new(thread);
        assert!(matches!(id, ChatId::Thread(_)));
        assert_eq!(id.to_string(), thread);
        assert_eq!(id.as_str(), thread);
        assert!(id.is(thread));
        assert!(!id.is("19:EA28E88C00E94C7786B065394A61F296@thread.v2"));
        // Leading zeros are kept.
        let zeros = "19:0000000000000000000000000000000a@thread.v2";
        assert_eq!(ChatId::new(zeros).to_string(), zeros);
        let other = "19:meeting_abc@thread.v2";
        let id = ChatId::new(other);
        assert_eq!(id, ChatId::Other(other.into()));
        assert_eq!(id.as_str(), other);
        assert!(id.is(other) && !id.is(thread));
    }
}
