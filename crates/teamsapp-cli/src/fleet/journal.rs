//! The fleet journal: one JSON line per state change of a target, appended and synced before the
//! change is acted on, so `--resume` after a crash, kill or Ctrl-C knows where every target stands.
//!
//! A target moves `planned → sending → upgraded → verified`, or ends `skipped` or `failed`.
//! The line for `sending` is on disk before the upgrade request leaves, so a resumed run never
//! trusts its memory about a target it may have upgraded: it reads the installation back first.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Found behind the catalog; will be upgraded.
    Planned,
    /// The upgrade request is about to leave (or left and its answer is unknown).
    Sending,
    /// Graph answered success; not yet read back.
    Upgraded,
    /// Read back at the target version: done.
    Verified,
    /// Nothing to do (already current, or no longer installed): done.
    Skipped,
    /// Gave up on this target in this run; a resumed run tries it again after reading it back.
    Failed,
}

impl State {
    /// Whether a resumed run leaves this target alone.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Self::Verified | Self::Skipped)
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// When the line was written (RFC 3339, UTC).
    pub(crate) at: String,
    /// The target's stable key: `tenant/scope/scope-id/installation-id`.
    pub(crate) target: String,
    /// The new state.
    pub(crate) state: State,
    /// The version installed when the target was planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    /// The version the target is moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    /// Why, for `skipped` and `failed` (Graph code, message and request-id for failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

/// An append-only, synced JSONL file.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
}

/// What an existing journal says: the last entry of every target, in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The last entry per target.
    pub(crate) last: HashMap<String, Entry>,
    /// Targets in the order they first appeared.
    pub(crate) order: Vec<String>,
    /// Lines that could not be read (a torn last line after a kill is dropped, not counted).
    pub(crate) unreadable: usize,
}

impl Journal {
    /// Creates a new journal; fails if `path` exists (use [`Journal::resume`] to continue one).
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)?;
        Ok(Self { file })
    }

    /// Opens an existing journal, replays it, drops a torn last line and continues appending.
    pub(crate) fn resume(path: &Path) -> io::Result<(Self, Replay)> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        let mut replay = Replay::default();
        let mut good_len: u64 = 0;
        {
            let mut reader = BufReader::new(&mut file);
            let mut line = String::new();
            let mut offset: u64 = 0;
            loop {
                line.clear();
                let n = reader.read_line(&mut line)?;
                if n == 0 {
                    break;
                }
                offset += n as u64;
                let complete = line.ends_with('\n');
                match serde_json::from_str::<Entry>(line.trim_end()) {
                    Ok(entry) if complete => {
                        if !replay.last.contains_key(&entry.target) {
                            replay.order.push(entry.target.clone());
                        }
                        replay.last.insert(entry.target.clone(), entry);
                        good_len = offset;
                    }
                    // A torn final line: the process died mid-write; that change was never acted on.
                    _ if !complete => break,
                    _ => {
                        replay.unreadable += 1;
                        good_len = offset;
                    }
                }
            }
        }
        file.set_len(good_len)?;
        file.seek(SeekFrom::End(0))?;
        Ok((Self { file }, replay))
    }

    /// Appends entries and syncs them to disk before returning (one sync for the whole batch).
    pub(crate) fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(entries.len() * 160);
        for entry in entries {
            serde_json::to_writer(&mut buf, entry).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(target: &str, state: State) -> Entry {
        Entry {
            at: "2026-11-29T17:00:00Z".into(),
            target: target.into(),
            state,
            from: Some("1.0.0".into()),
            to: Some("1.1.0".into()),
            detail: None,
        }
    }

    #[test]
    fn replays_the_last_state_of_each_target_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&[entry("t/a", State::Planned), entry("t/b", State::Planned)])
            .unwrap();
        j.append(&[entry("t/a", State::Sending), entry("t/a", State::Upgraded)])
            .unwrap();
        drop(j);
        let (_, replay) = Journal::resume(&path).unwrap();
        assert_eq!(replay.order, ["t/a", "t/b"]);
        assert_eq!(replay.last["t/a"].state, State::Upgraded);
        assert_eq!(replay.last["t/b"].state, State::Planned);
        assert_eq!(replay.unreadable, 0);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_appending_continues_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&[entry("t/a", State::Sending)]).unwrap();
        drop(j);
        // A kill mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"at":"2026-11-29T17:00:01Z","target":"t/a","sta"#)
            .unwrap();
        drop(f);
        let (mut j, replay) = Journal::resume(&path).unwrap();
        assert_eq!(replay.last["t/a"].state, State::Sending);
        j.append(&[entry("t/a", State::Verified)]).unwrap();
        drop(j);
        let (_, replay) = Journal::resume(&path).unwrap();
        assert_eq!(replay.last["t/a"].state, State::Verified);
        assert_eq!(replay.unreadable, 0);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn create_refuses_to_overwrite_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        Journal::create(&path).unwrap();
        let err = Journal::create(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn final_states_are_verified_and_skipped_only() {
        assert!(State::Verified.is_final() && State::Skipped.is_final());
        for s in [
            State::Planned,
            State::Sending,
            State::Upgraded,
            State::Failed,
        ] {
            assert!(!s.is_final(), "{s:?}");
        }
    }
}
