//! [`EventStore`]: the durable log behind `--data-dir`, an embedded redb database holding the
//! model's events (JSON, numbered from 1) and a few metadata entries (the token signing key).
//!
//! Every [`append`](EventStore::append) is one write transaction committed with
//! [`redb::Durability::Immediate`]: when it returns, the events are on disk, so a change the
//! emulator acknowledged survives `kill -9`. The store is generic over the event type, so it does
//! not depend on the model's.
//!
//! See [`EventStore`] for how its files protect themselves.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// The metadata key of the format marker.
const FORMAT_META: &str = "format";

/// The format marker this version writes and reads (metadata entry `format`): a store without it
/// is not ours, or was written before events carried checksums.
pub const STORE_FORMAT: &str = "teamsapp-mock-store/2 (crc32 per event)";

/// The first bytes of every redb database file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// The length of the checksum before each stored value.
const CHECKSUM_LEN: usize = 4;

/// How to recover: the `--truncate-damaged` of `teamsapp mock serve`.
const RECOVERY_HINT: &str = "to keep the events before it and drop it and every later one, \
     start once with `teamsapp mock serve --truncate-damaged` \
     (EmulatorConfig::recovery = Recovery::TruncateDamaged)";

/// What the store does when it loads a damaged event or metadata entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// Refuse: loading fails with [`StoreError::Damaged`] (or [`StoreError::DamagedMeta`]).
    #[default]
    Refuse,
    /// Keep the events before the first damaged one and delete it and every later one (durably,
    /// with a warning saying how many); delete a damaged metadata entry.
    TruncateDamaged,
}

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("database error in {path}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What redb reported.
        #[source]
        source: redb::Error,
    },
    /// The store file or its directory could not be created, inspected or protected.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// The store file is empty: it was truncated, or is not a store.
    #[error(
        "{path} is empty (zero bytes), so it holds no emulator store: it was truncated or \
         replaced. Restore it from a backup, or delete it to start with a fresh store"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a teamsapp emulator store (not a redb database, or another program's).
    #[error(
        "{path} is not a teamsapp emulator store ({reason}); refusing to use it. Point \
         --data-dir at another directory, or move the file away to start with a fresh store"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The store was written by an incompatible version.
    #[error(
        "{path} was written by an incompatible version of teamsapp ({}, this version reads \
         {STORE_FORMAT:?}); use the version that wrote it, or move the file away to start with \
         a fresh store",
        if found.is_empty() {
            "no format marker: an older teamsapp, before events carried checksums".to_owned()
        } else {
            format!("format {found:?}")
        }
    )]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// The format marker found (empty when there is none).
        found: String,
    },
    /// A stored event does not match its checksum (or is missing).
    #[error("event {seq} of {path} is damaged ({reason}); {RECOVERY_HINT}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The damaged event's sequence number (its position in the log, from 1).
        seq: u64,
        /// How it is damaged.
        reason: &'static str,
    },
    /// A stored metadata entry does not match its checksum.
    #[error(
        "metadata entry {key:?} of {path} is damaged (checksum mismatch); {RECOVERY_HINT}, \
         which also deletes the entry (a damaged signing key is replaced by a new one)"
    )]
    DamagedMeta {
        /// The file.
        path: PathBuf,
        /// The entry's key.
        key: String,
    },
    /// An event could not be encoded.
    #[error("cannot encode event")]
    Encode(#[source] serde_json::Error),
    /// A stored event could not be decoded (the log was written by an incompatible version).
    #[error("cannot decode event {seq}")]
    Decode {
        /// The event's sequence number.
        seq: u64,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
}

/// A durable, append-only log of events of type `E`.
///
/// # Files that protect themselves
///
/// - **Permissions** (Unix): the store holds the token-signing key, so its directory is created
///   `0700` and the file `0600`. An existing directory or store that group or others may read or
///   write is fixed (to `0700`/`0600`) with a warning saying so. A store path that is a symbolic
///   link is refused, never followed.
/// - **Identity**: the store records a format marker ([`STORE_FORMAT`]) in its metadata. A
///   zero-length file, a file that is not a redb database, or a redb database without our marker
///   (another program's, or a store of an older teamsapp) is refused at start with
///   [`StoreError::Empty`], [`StoreError::Foreign`] or [`StoreError::Incompatible`]; the store
///   never starts fresh over a file it did not make.
/// - **Checksums**: every event is stored as a CRC-32 of its sequence number and JSON, then the
///   JSON, so a changed byte (or an event moved to another position) is detected when the log is
///   loaded: [`StoreError::Damaged`] names the event. Metadata entries carry a CRC-32 of their key
///   and value ([`StoreError::DamagedMeta`]).
/// - **Recovery**: opened with [`Recovery::TruncateDamaged`] (`teamsapp mock serve
///   --truncate-damaged`), a load keeps the events before the first damaged one, deletes it and
///   every later one, and logs how many were dropped; a damaged metadata entry is deleted (a new
///   signing key is then made, so earlier tokens stop validating).
pub struct EventStore<E> {
    db: Database,
    path: PathBuf,
    recovery: Recovery,
    _events: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for EventStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("path", &self.path)
            .field("recovery", &self.recovery)
            .finish_non_exhaustive()
    }
}

impl<E: Serialize + DeserializeOwned> EventStore<E> {
    /// Opens (or creates) the database file at `path`, creating its directory if needed; a
    /// damaged event or metadata entry is an error ([`Recovery::Refuse`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Recovery::Refuse)
    }

    /// Opens (or creates) the database file at `path` (see [`EventStore`] for the permissions
    /// and checks), recovering from damage as `recovery` says.
    pub fn open_with(path: impl AsRef<Path>, recovery: Recovery) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::private_dir(dir)?;
        }
        let created = files::private_store_file(&path)?;
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
                StoreError::Foreign {
                    path: path.clone(),
                    reason,
                }
            }
            e => db_error(&path, e),
        })?;
        let store = Self {
            db,
            path,
            recovery,
            _events: PhantomData,
        };
        if created {
            store.write(|txn| {
                txn.open_table(EVENTS)?;
                txn.open_table(META)?
                    .insert(FORMAT_META, STORE_FORMAT.as_bytes())?;
                Ok(())
            })?;
        } else {
            store.check_format()?;
        }
        Ok(store)
    }

    /// Refuses a database without our tables and format marker.
    fn check_format(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(self.foreign("it has no \"meta\" table"));
            }
            Err(redb::TableError::TableTypeMismatch { .. }) => {
                return Err(self.foreign("its \"meta\" table has other types"));
            }
            Err(e) => return Err(self.error(e)),
        };
        match txn.open_table(EVENTS) {
            Ok(_) => {}
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(self.foreign("it has no \"events\" table"));
            }
            Err(redb::TableError::TableTypeMismatch { .. }) => {
                return Err(self.foreign("its \"events\" table has other types"));
            }
            Err(e) => return Err(self.error(e)),
        }
        let found = meta
            .get(FORMAT_META)
            .map_err(|e| self.error(e))?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned())
            .unwrap_or_default();
        if found == STORE_FORMAT {
            Ok(())
        } else {
            Err(StoreError::Incompatible {
                path: self.path.clone(),
                found,
            })
        }
    }

    fn foreign(&self, reason: &str) -> StoreError {
        StoreError::Foreign {
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How the store recovers from damage.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// Appends `events` in one durable transaction; returns the sequence number of the last one
    /// (or of the last stored event when `events` is empty).
    pub fn append(&self, events: &[E]) -> Result<u64, StoreError> {
        let encoded = events
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Encode)?;
        self.write(|txn| {
            let mut table = txn.open_table(EVENTS)?;
            let mut seq = table.last()?.map_or(0, |(k, _)| k.value());
            let mut value = Vec::new();
            for json in &encoded {
                seq += 1;
                value.clear();
                value.extend_from_slice(&event_checksum(seq, json).to_le_bytes());
                value.extend_from_slice(json);
                table.insert(seq, value.as_slice())?;
            }
            Ok(seq)
        })
    }

    /// Every stored event, in order.
    pub fn load(&self) -> Result<Vec<E>, StoreError> {
        self.load_numbered()
            .map(|events| events.into_iter().map(|(_, e)| e).collect())
    }

    /// Every stored event with its sequence number, in order, each checked against its checksum.
    ///
    /// The first damaged (or missing) event is [`StoreError::Damaged`]; with
    /// [`Recovery::TruncateDamaged`], it and every later event are deleted instead and the events
    /// before it are returned.
    pub fn load_numbered(&self) -> Result<Vec<(u64, E)>, StoreError> {
        let damage = {
            let txn = self.db.begin_read().map_err(|e| self.error(e))?;
            let table = txn.open_table(EVENTS).map_err(|e| self.error(e))?;
            let mut events = Vec::new();
            let mut damage = None;
            for entry in table.range(0u64..).map_err(|e| self.error(e))? {
                let (seq, bytes) = entry.map_err(|e| self.error(e))?;
                let seq = seq.value();
                let expected = events.len() as u64 + 1;
                if seq != expected {
                    damage = Some((expected, "missing: the log jumps to a later event"));
                    break;
                }
                let Some(json) = verified(seq, bytes.value()) else {
                    damage = Some((seq, "checksum mismatch"));
                    break;
                };
                let event = serde_json::from_slice(json)
                    .map_err(|source| StoreError::Decode { seq, source })?;
                events.push((seq, event));
            }
            match damage {
                None => return Ok(events),
                Some(damage) => (damage, events),
            }
        };
        let ((seq, reason), events) = damage;
        if self.recovery != Recovery::TruncateDamaged {
            return Err(StoreError::Damaged {
                path: self.path.clone(),
                seq,
                reason,
            });
        }
        let dropped = self.write(|txn| {
            let mut table = txn.open_table(EVENTS)?;
            let mut dropped = 0u64;
            for entry in table.extract_from_if(seq.., |_, _| true)? {
                entry?;
                dropped += 1;
            }
            Ok(dropped)
        })?;
        tracing::warn!(
            path = %self.path.display(),
            "event {seq} of the store is damaged ({reason}): kept the {} event(s) before it, \
             dropped {dropped} (--truncate-damaged)",
            seq - 1,
        );
        Ok(events)
    }

    /// How many events are stored.
    pub fn len(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(EVENTS).map_err(|e| self.error(e))?;
        redb::ReadableTableMetadata::len(&table).map_err(|e| self.error(e))
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.len().map(|n| n == 0)
    }

    /// Deletes every event (durably); metadata stays.
    pub fn clear(&self) -> Result<(), StoreError> {
        self.write(|txn| {
            txn.delete_table(EVENTS)?;
            txn.open_table(EVENTS)?;
            Ok(())
        })
    }

    /// Stores a metadata value (durably), with a checksum of its key and value.
    pub fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut stored = meta_checksum(key, value).to_le_bytes().to_vec();
        stored.extend_from_slice(value);
        self.write(|txn| {
            txn.open_table(META)?.insert(key, stored.as_slice())?;
            Ok(())
        })
    }

    /// Reads a metadata value, checked against its checksum: a damaged one is
    /// [`StoreError::DamagedMeta`], or, with [`Recovery::TruncateDamaged`], deleted (with a
    /// warning) and read as absent.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = {
            let txn = self.db.begin_read().map_err(|e| self.error(e))?;
            let table = txn.open_table(META).map_err(|e| self.error(e))?;
            let Some(stored) = table.get(key).map_err(|e| self.error(e))? else {
                return Ok(None);
            };
            stored.value().to_vec()
        };
        if let Some((sum, value)) = stored.split_first_chunk::<CHECKSUM_LEN>()
            && u32::from_le_bytes(*sum) == meta_checksum(key, value)
        {
            return Ok(Some(value.to_vec()));
        }
        if self.recovery != Recovery::TruncateDamaged {
            return Err(StoreError::DamagedMeta {
                path: self.path.clone(),
                key: key.to_owned(),
            });
        }
        self.write(|txn| {
            txn.open_table(META)?.remove(key)?;
            Ok(())
        })?;
        tracing::warn!(
            path = %self.path.display(),
            "metadata entry {key:?} of the store is damaged: deleted (--truncate-damaged)"
        );
        Ok(None)
    }

    /// Runs `f` in a write transaction committed with immediate durability.
    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let mut txn = self.db.begin_write().map_err(|e| self.error(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.error(e))?;
        let value = f(&txn).map_err(|e| self.error(e))?;
        txn.commit().map_err(|e| self.error(e))?;
        Ok(value)
    }

    fn error(&self, source: impl Into<redb::Error>) -> StoreError {
        db_error(&self.path, source)
    }
}

/// The checksum of event `seq`: CRC-32 of its sequence number (little-endian) and its JSON, so a
/// changed byte and an event moved to another position are both detected.
fn event_checksum(seq: u64, json: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(json);
    hasher.finalize()
}

/// The checksum of a metadata entry: CRC-32 of its key's length, key and value.
fn meta_checksum(key: &str, value: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&(key.len() as u64).to_le_bytes());
    hasher.update(key.as_bytes());
    hasher.update(value);
    hasher.finalize()
}

/// The JSON of stored event `seq`, if its checksum matches.
fn verified(seq: u64, stored: &[u8]) -> Option<&[u8]> {
    let (sum, json) = stored.split_first_chunk::<CHECKSUM_LEN>()?;
    (u32::from_le_bytes(*sum) == event_checksum(seq, json)).then_some(json)
}

fn db_error(path: &Path, source: impl Into<redb::Error>) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        source: source.into(),
    }
}

/// The store's directory and file: private, never through a symbolic link.
mod files {
    use std::io::Read as _;
    use std::path::Path;

    use super::{REDB_MAGIC, StoreError};

    fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }

    /// Creates `dir` (and its parents) `0700`, or makes an existing one private.
    pub(super) fn private_dir(dir: &Path) -> Result<(), StoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(io("creating the data directory", dir))?;
        make_private(dir, 0o700, "data directory")
    }

    /// Creates the store file `0600` (returns `true`), or checks and protects an existing one:
    /// not a symbolic link, not empty, a redb database, private.
    pub(super) fn private_store_file(path: &Path) -> Result<bool, StoreError> {
        let mut options = std::fs::OpenOptions::new();
        // `create_new` (O_EXCL) never follows a symbolic link: an existing link is EEXIST.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(file) => {
                file.sync_all().map_err(io("creating", path))?;
                return Ok(true);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("creating", path)(e)),
        }
        let meta = std::fs::symlink_metadata(path).map_err(io("inspecting", path))?;
        if meta.file_type().is_symlink() {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                reason: "it is a symbolic link, which the store never follows".to_owned(),
            });
        }
        if !meta.is_file() {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                reason: "it is not a regular file".to_owned(),
            });
        }
        if meta.len() == 0 {
            return Err(StoreError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut magic = [0; REDB_MAGIC.len()];
        let read = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .map(|()| magic == REDB_MAGIC);
        match read {
            Ok(true) => {}
            Ok(false) => {
                return Err(StoreError::Foreign {
                    path: path.to_path_buf(),
                    reason: "it is not a redb database".to_owned(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(StoreError::Foreign {
                    path: path.to_path_buf(),
                    reason: "it is too short to be a redb database".to_owned(),
                });
            }
            Err(e) => return Err(io("reading", path)(e)),
        }
        make_private(path, 0o600, "store")?;
        Ok(false)
    }

    /// Removes group and other permissions from `path`, with a warning when there were any.
    #[cfg(unix)]
    fn make_private(path: &Path, mode: u32, what: &str) -> Result<(), StoreError> {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::symlink_metadata(path).map_err(io("inspecting", path))?;
        let old = meta.permissions().mode() & 0o7777;
        let group_and_others = old & 0o077;
        if group_and_others == 0 {
            return Ok(());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(io("restricting the permissions of", path))?;
        tracing::warn!(
            path = %path.display(),
            "the {what} was open to other users (mode {old:o}): changed it to {mode:o}, as it \
             holds the token-signing key"
        );
        Ok(())
    }

    #[cfg(not(unix))]
    fn make_private(_: &Path, _: u32, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Ev {
        n: u64,
        name: String,
    }

    fn ev(n: u64) -> Ev {
        Ev {
            n,
            name: format!("event {n}"),
        }
    }

    #[test]
    fn append_then_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/emulator.redb");
        {
            let store = EventStore::<Ev>::open(&path).unwrap();
            assert!(store.is_empty().unwrap());
            assert_eq!(store.append(&[ev(1), ev(2)]).unwrap(), 2);
            assert_eq!(store.append(&[]).unwrap(), 2);
            assert_eq!(store.append(&[ev(3)]).unwrap(), 3);
            store.put_meta("key", b"pem").unwrap();
        }
        let store = EventStore::<Ev>::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), vec![ev(1), ev(2), ev(3)]);
        assert_eq!(store.load_numbered().unwrap()[2].0, 3);
        assert_eq!(store.meta("key").unwrap().as_deref(), Some(&b"pem"[..]));
        assert_eq!(store.meta("none").unwrap(), None);
        store.clear().unwrap();
        assert_eq!(store.len().unwrap(), 0);
        assert_eq!(store.append(&[ev(9)]).unwrap(), 1);
        assert!(store.meta("key").unwrap().is_some());
    }

    #[test]
    fn a_foreign_log_is_a_decode_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.redb");
        EventStore::<String>::open(&path)
            .unwrap()
            .append(&["x".to_owned()])
            .unwrap();
        let err = EventStore::<Ev>::open(&path).unwrap().load().unwrap_err();
        assert!(matches!(err, StoreError::Decode { seq: 1, .. }), "{err:?}");
    }

    /// Rewrites the stored bytes of event `seq` through redb itself, as a damaged disk or a
    /// careless edit would, behind the store's back.
    fn tamper(path: &Path, seq: u64, f: impl FnOnce(&mut Vec<u8>)) {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(EVENTS).unwrap();
            let mut bytes = table.get(seq).unwrap().unwrap().value().to_vec();
            f(&mut bytes);
            table.insert(seq, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }

    fn versioned(n: u64) -> Ev {
        Ev {
            n,
            name: "1.1.0".to_owned(),
        }
    }

    fn store_with_three(path: &Path) {
        let store = EventStore::<Ev>::open(path).unwrap();
        store
            .append(&[versioned(1), versioned(2), versioned(3)])
            .unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn a_new_store_is_private_0700_directory_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = data.join("emulator.redb");
        EventStore::<Ev>::open(&path).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_store_open_to_others_is_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = data.join("emulator.redb");
        EventStore::<Ev>::open(&path)
            .unwrap()
            .append(&[ev(1)])
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = EventStore::<Ev>::open(&path).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(store.load().unwrap(), vec![ev(1)]);
    }

    #[cfg(unix)]
    #[test]
    fn a_store_path_that_is_a_symlink_is_refused_and_its_target_untouched() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "not yours").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = dir.path().join("emulator.redb");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = EventStore::<Ev>::open(&path).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not yours");
        assert_eq!(mode(&target), 0o644);
    }

    #[test]
    fn a_zero_length_store_is_refused_not_started_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        std::fs::write(&path, b"").unwrap();
        let err = EventStore::<Ev>::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Empty { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("empty"), "{message}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as found");
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        let journal = b"{\"kind\":\"header\",\"app\":\"x\"}\n";
        std::fs::write(&path, journal).unwrap();
        let err = EventStore::<Ev>::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
        assert!(
            err.to_string().contains("not a teamsapp emulator store"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), journal, "left as found");
    }

    #[test]
    fn another_programs_redb_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(TableDefinition::<&str, u64>::new("counters"))
                .unwrap()
                .insert("a", 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = EventStore::<Ev>::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    }

    #[test]
    fn a_store_without_our_format_marker_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        {
            // What an older teamsapp wrote: the tables, unchecked JSON, no marker.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(EVENTS)
                .unwrap()
                .insert(1, br#"{"n":1,"name":"x"}"#.as_slice())
                .unwrap();
            txn.open_table(META).unwrap();
            txn.commit().unwrap();
        }
        let err = EventStore::<Ev>::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Incompatible { .. }), "{err:?}");
        assert!(err.to_string().contains("incompatible version"), "{err}");
        assert!(err.to_string().contains("no format marker"), "{err}");
    }

    #[test]
    fn a_flipped_byte_in_an_event_is_refused_naming_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        store_with_three(&path);
        tamper(&path, 2, |bytes| {
            let at = bytes.windows(5).position(|w| w == b"1.1.0").unwrap();
            bytes[at + 2] = b'2'; // 1.1.0 -> 1.2.0: still valid JSON, still an event.
        });
        let store = EventStore::<Ev>::open(&path).unwrap();
        let err = store.load().unwrap_err();
        assert!(matches!(err, StoreError::Damaged { seq: 2, .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("event 2 of "), "{message}");
        assert!(message.contains("checksum mismatch"), "{message}");
        assert!(message.contains("--truncate-damaged"), "{message}");
        // Refusing leaves the log as it was.
        assert_eq!(store.len().unwrap(), 3);
    }

    #[test]
    fn an_event_moved_to_another_position_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        store_with_three(&path);
        let mut first = Vec::new();
        tamper(&path, 1, |bytes| first.clone_from(bytes));
        tamper(&path, 3, |bytes| bytes.clone_from(&first));
        let err = EventStore::<Ev>::open(&path).unwrap().load().unwrap_err();
        assert!(matches!(err, StoreError::Damaged { seq: 3, .. }), "{err:?}");
    }

    #[test]
    fn truncate_damaged_keeps_the_events_before_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        store_with_three(&path);
        tamper(&path, 2, |bytes| *bytes.last_mut().unwrap() ^= 0x01);
        {
            let store = EventStore::<Ev>::open_with(&path, Recovery::TruncateDamaged).unwrap();
            assert_eq!(store.load_numbered().unwrap(), vec![(1, versioned(1))]);
            assert_eq!(store.len().unwrap(), 1);
            assert_eq!(store.append(&[ev(2)]).unwrap(), 2);
        }
        // Durably: a plain open afterwards sees a sound log.
        let store = EventStore::<Ev>::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), vec![versioned(1), ev(2)]);
    }

    #[test]
    fn a_damaged_metadata_entry_is_refused_or_deleted_on_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.redb");
        EventStore::<Ev>::open(&path)
            .unwrap()
            .put_meta("signing-key.pem", b"-----BEGIN PRIVATE KEY-----")
            .unwrap();
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut table = txn.open_table(META).unwrap();
                let mut bytes = table
                    .get("signing-key.pem")
                    .unwrap()
                    .unwrap()
                    .value()
                    .to_vec();
                bytes[10] ^= 0x20;
                table.insert("signing-key.pem", bytes.as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        let err = EventStore::<Ev>::open(&path)
            .unwrap()
            .meta("signing-key.pem")
            .unwrap_err();
        assert!(matches!(err, StoreError::DamagedMeta { .. }), "{err:?}");
        assert!(err.to_string().contains("signing-key.pem"), "{err}");
        let store = EventStore::<Ev>::open_with(&path, Recovery::TruncateDamaged).unwrap();
        assert_eq!(store.meta("signing-key.pem").unwrap(), None);
    }

    /// Environment variable that turns [`child_appends_until_killed`] into the writer.
    const CHILD_DIR: &str = "TEAMSAPP_MOCK_STORE_CHILD_DIR";

    /// The child process of [`every_acknowledged_event_survives_sigkill`]: appends events
    /// forever, printing each acknowledged sequence number. Ignored, so only its parent runs it
    /// (with `--ignored`); run on its own it fails rather than pass without testing anything.
    #[test]
    #[ignore = "the child process of every_acknowledged_event_survives_sigkill, which runs it"]
    fn child_appends_until_killed() {
        use std::io::Write as _;
        let dir = std::env::var_os(CHILD_DIR).unwrap_or_else(|| {
            panic!("{CHILD_DIR} is not set: every_acknowledged_event_survives_sigkill runs this")
        });
        let store = EventStore::<Ev>::open(Path::new(&dir).join("e.redb")).unwrap();
        let mut out = std::io::stdout().lock();
        for n in 1.. {
            let seq = store.append(&[ev(n)]).unwrap();
            writeln!(out, "ack {seq}").unwrap();
            out.flush().unwrap();
        }
    }

    #[test]
    fn every_acknowledged_event_survives_sigkill() {
        use std::io::BufRead as _;
        use std::process::{Command, Stdio};

        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::child_appends_until_killed",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked = 0;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // libtest may print "test … ... " before the first line on the same line.
            if let Some((_, seq)) = line.split_once("ack ") {
                acked = seq.parse::<u64>().unwrap();
                if acked >= 40 {
                    // SIGKILL, mid-write: the child is appending as fast as it can.
                    child.kill().unwrap();
                    break;
                }
            }
        }
        child.wait().unwrap();
        assert!(acked >= 40, "the child acknowledged only {acked} events");
        let store = EventStore::<Ev>::open(dir.path().join("e.redb")).unwrap();
        let events = store.load_numbered().unwrap();
        assert!(events.len() as u64 >= acked, "{} < {acked}", events.len());
        for (i, (seq, event)) in events.iter().enumerate() {
            let n = i as u64 + 1;
            assert_eq!(*seq, n);
            assert_eq!(*event, ev(n));
        }
    }
}
