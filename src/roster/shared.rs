//! One roster shared by every thread that handles mail for its list, with its changes
//! made durable in the state log and the roster file saved in the background.
//!
//! Rewriting a roster file costs the whole file (40 MB at a million members), so a
//! change does not wait for it: [`SharedRoster::apply`] edits the roster in memory
//! and appends the change to `state.log` (durable with the request's one fsync, before
//! its `250`); [`SharedRoster::save`] later writes the file once for every change
//! made meanwhile (atomically, as ever) and marks them saved in the log. After a
//! crash, the changes the file lacks are still in the log and are made again when
//! the roster is next opened. Reads and writes see the file again whenever someone
//! else (an admin, the CLI) changed it, with the unsaved changes made again on top.

use super::{Member, Roster, RosterError, RosterFile};
use crate::address::EmailAddress;
use crate::statelog::{Line, RosterEntry, StateLog};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// A change to a roster.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add this member (false if already one).
    Add(Member),
    /// Remove this address (false if not a member).
    Remove(EmailAddress),
}

impl Change {
    /// Makes the change; true if it changed the roster.
    fn apply(&self, roster: &mut Roster) -> bool {
        match self {
            Change::Add(member) => roster.add(member),
            Change::Remove(address) => roster.remove(address),
        }
    }

    /// Whether it would change the roster.
    fn would_change(&self, roster: &Roster) -> bool {
        match self {
            Change::Add(member) => !roster.contains(&member.address),
            Change::Remove(address) => roster.contains(address),
        }
    }

    fn entry(&self, list: &str) -> RosterEntry {
        match self {
            Change::Add(m) => RosterEntry {
                list: list.to_owned(),
                address: m.address.to_string(),
                add: true,
                name: m.name.clone(),
                since: m.since.as_ref().map(ToString::to_string),
                via: m.via.clone(),
            },
            Change::Remove(address) => RosterEntry {
                list: list.to_owned(),
                address: address.to_string(),
                add: false,
                name: None,
                since: None,
                via: None,
            },
        }
    }

    fn from_entry(e: &RosterEntry) -> Option<Change> {
        let address = EmailAddress::parse(&e.address).ok()?;
        Some(if e.add {
            Change::Add(Member {
                address,
                name: e.name.clone(),
                since: e.since.as_deref().and_then(|s| s.parse().ok()),
                via: e.via.clone(),
            })
        } else {
            Change::Remove(address)
        })
    }
}

/// A roster whose changes are durable in the state log before they are in its file.
#[derive(Debug)]
pub struct SharedRoster {
    list: String,
    journal: Arc<StateLog>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: RosterFile,
    /// Changes made in memory and in the log, not yet in the file, in order.
    unsaved: Vec<(u64, Change)>,
    saves: u64,
    changes: u64,
}

impl Inner {
    /// Reads the file again if someone changed it, and makes the unsaved changes
    /// again on what they saved.
    fn fresh(&mut self) -> Result<(), RosterError> {
        if self.file.refresh()? {
            self.redo();
        }
        Ok(())
    }

    fn redo(&mut self) {
        for (_, change) in &self.unsaved {
            change.apply(self.file.roster_mut());
        }
    }
}

impl SharedRoster {
    /// Reads the roster file of `list`, then makes the changes `journal` holds for
    /// it that the file may lack (a crash before a save), and saves them.
    pub fn open(
        list: &str,
        path: &Path,
        include_file: Option<&Path>,
        journal: Arc<StateLog>,
    ) -> Result<SharedRoster, RosterError> {
        let file = RosterFile::open(path, include_file)?;
        let logged: Vec<(u64, RosterEntry)> = journal
            .read(|s| {
                s.roster
                    .iter()
                    .filter(|(_, e)| e.list == list)
                    .map(|(seq, e)| (*seq, e.clone()))
                    .collect()
            })
            .map_err(|source| RosterError::Io {
                path: path.to_owned(),
                source,
            })?;
        let mut inner = Inner {
            file,
            unsaved: logged
                .iter()
                .filter_map(|(seq, e)| Some((*seq, Change::from_entry(e)?)))
                .collect(),
            saves: 0,
            changes: 0,
        };
        inner.redo();
        let shared = SharedRoster {
            list: list.to_owned(),
            journal,
            inner: Mutex::new(inner),
        };
        shared.save()?;
        Ok(shared)
    }

    /// Whether the address is a member (re-reading the file if it changed).
    pub fn contains(&self, address: &EmailAddress) -> Result<bool, RosterError> {
        let mut inner = self.lock();
        inner.fresh()?;
        Ok(inner.file.roster().contains(address))
    }

    /// Makes a change: in memory, and durable in the state log once the caller syncs
    /// it. Returns whether it changed the roster.
    pub fn apply(&self, change: Change) -> Result<bool, String> {
        let mut inner = self.lock();
        inner.fresh().map_err(|e| e.to_string())?;
        if !change.would_change(inner.file.roster()) {
            return Ok(false);
        }
        let seq = self
            .journal
            .append_roster(change.entry(&self.list))
            .map_err(|e| format!("state.log: {e}"))?;
        change.apply(inner.file.roster_mut());
        inner.unsaved.push((seq, change));
        inner.changes += 1;
        Ok(true)
    }

    /// Whether this is the roster of `path` keeping `include_file` (to carry it over
    /// a reload that left both alone).
    pub fn is_for(&self, path: &Path, include_file: Option<&Path>) -> bool {
        let inner = self.lock();
        inner.file.path() == path && inner.file.include_file() == include_file
    }

    /// Whether changes wait to be saved to the file.
    pub fn dirty(&self) -> bool {
        !self.lock().unsaved.is_empty()
    }

    /// Writes the file (and `include_file`) with every change made so far, then
    /// marks them saved in the state log.
    pub fn save(&self) -> Result<(), RosterError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(&(upto, _)) = inner.unsaved.last() else {
            return Ok(());
        };
        let unsaved = &inner.unsaved;
        let saved = inner.file.save(|roster| {
            for (_, change) in unsaved {
                change.apply(roster);
            }
        });
        if let Err(e) = saved {
            // The file was read again: the changes stay in memory and in the log.
            inner.redo();
            return Err(e);
        }
        inner.unsaved.clear();
        inner.saves += 1;
        self.journal
            .append(vec![Line::RosterSaved {
                list: self.list.clone(),
                upto,
            }])
            .map_err(|source| RosterError::Io {
                path: inner.file.path().to_owned(),
                source,
            })?;
        Ok(())
    }

    /// Saves of the file so far and the changes they carried.
    pub fn stats(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.saves, inner.changes)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A change is made in the log before memory: a panicking holder left it whole.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(a: &str) -> Member {
        Member {
            address: EmailAddress::parse(a).unwrap(),
            name: Some("A Person".into()),
            since: Some("2026-11-25T10:00:00Z".parse().unwrap()),
            via: Some("token".into()),
        }
    }

    fn open(dir: &Path, path: &Path) -> SharedRoster {
        let journal = Arc::new(StateLog::open(&dir.join("state")).unwrap());
        SharedRoster::open("sm-cop", path, None, journal).unwrap()
    }

    #[test]
    fn many_threads_one_roster_every_change_lands_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "# kept\n[members]\n").unwrap();
        let shared = Arc::new(open(dir.path(), &path));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        assert!(
                            shared
                                .apply(Change::Add(member(&format!("t{t}n{i}@x.gov"))))
                                .unwrap()
                        );
                        if i % 10 == 0 {
                            shared.save().unwrap();
                        }
                    }
                    assert!(
                        !shared
                            .apply(Change::Add(member(&format!("t{t}n0@x.gov"))))
                            .unwrap()
                    );
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        shared.save().unwrap();
        assert!(!shared.dirty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# kept\n[members]\n"));
        let roster = Roster::parse(text).unwrap();
        assert_eq!(roster.len(), 400);
        let (saves, changes) = shared.stats();
        assert_eq!(changes, 400);
        assert!(saves < changes, "{saves} saves for {changes} changes");
        assert!(
            shared
                .contains(&EmailAddress::parse("T3N7@x.gov").unwrap())
                .unwrap()
        );
    }

    #[test]
    fn changes_not_yet_saved_come_back_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n\"old@x.gov\" = {}\n").unwrap();
        let shared = open(dir.path(), &path);
        assert!(shared.apply(Change::Add(member("new@x.gov"))).unwrap());
        assert!(
            shared
                .apply(Change::Remove(EmailAddress::parse("old@x.gov").unwrap()))
                .unwrap()
        );
        shared.journal.sync().unwrap();
        // The process dies here: the file never had them.
        drop(shared);
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("new@x.gov")
        );
        let again = open(dir.path(), &path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"new@x.gov\" = { name = \"A Person\""),
            "{text}"
        );
        assert!(!text.contains("old@x.gov"), "{text}");
        assert!(!again.dirty());
        // Saved: a third start has nothing to make again.
        drop(again);
        let state = StateLog::open(&dir.path().join("state")).unwrap();
        assert_eq!(state.read(|s| s.roster.len()).unwrap(), 0);
    }

    #[test]
    fn an_outside_edit_is_seen_by_reads_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n").unwrap();
        let shared = open(dir.path(), &path);
        assert!(shared.apply(Change::Add(member("b@x.gov"))).unwrap());
        // An admin saves the file before the change reached it.
        std::fs::write(&path, "[members]\n\"admin.added@x.gov\" = {}\n").unwrap();
        assert!(
            shared
                .contains(&EmailAddress::parse("admin.added@x.gov").unwrap())
                .unwrap()
        );
        assert!(
            shared
                .contains(&EmailAddress::parse("b@x.gov").unwrap())
                .unwrap(),
            "the unsaved change is made again on the admin's file"
        );
        shared.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("admin.added@x.gov") && text.contains("b@x.gov"),
            "{text}"
        );
    }
}
