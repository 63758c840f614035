//! [`EventStore`]: the durable log behind `--data-dir`, an embedded redb database holding the
//! model's events (JSON, numbered from 1) and a few metadata entries (the token signing key, the
//! tenant specs).
//!
//! Every [`append`](EventStore::append) is one write transaction committed with
//! [`redb::Durability::Immediate`]: when it returns, the events are on disk, so a change the
//! emulator acknowledged survives `kill -9`. The store is generic over the event type, so it does
//! not depend on the model's.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

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
pub struct EventStore<E> {
    db: Database,
    path: PathBuf,
    _events: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for EventStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<E: Serialize + DeserializeOwned> EventStore<E> {
    /// Opens (or creates) the database file at `path`, creating its directory if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| db_error(&path, e))?;
        }
        let db = Database::create(&path).map_err(|e| db_error(&path, e))?;
        let store = Self {
            db,
            path,
            _events: PhantomData,
        };
        store.write(|txn| {
            txn.open_table(EVENTS)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
            for bytes in &encoded {
                seq += 1;
                table.insert(seq, bytes.as_slice())?;
            }
            Ok(seq)
        })
    }

    /// Every stored event, in order.
    pub fn load(&self) -> Result<Vec<E>, StoreError> {
        self.load_numbered()
            .map(|events| events.into_iter().map(|(_, e)| e).collect())
    }

    /// Every stored event with its sequence number, in order.
    pub fn load_numbered(&self) -> Result<Vec<(u64, E)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(EVENTS).map_err(|e| self.error(e))?;
        let mut events = Vec::new();
        for entry in table.range(0u64..).map_err(|e| self.error(e))? {
            let (seq, bytes) = entry.map_err(|e| self.error(e))?;
            let seq = seq.value();
            let event = serde_json::from_slice(bytes.value())
                .map_err(|source| StoreError::Decode { seq, source })?;
            events.push((seq, event));
        }
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

    /// Stores a metadata value (durably).
    pub fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(|txn| {
            txn.open_table(META)?.insert(key, value)?;
            Ok(())
        })
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = txn.open_table(META).map_err(|e| self.error(e))?;
        Ok(table
            .get(key)
            .map_err(|e| self.error(e))?
            .map(|v| v.value().to_vec()))
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

fn db_error(path: &Path, source: impl Into<redb::Error>) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        source: source.into(),
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
