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
//!
//! The state log, not memory, says which changes are unsaved: another process
//! (`listkeeper add`, `deliver`) may have saved some of ours into the file, marking
//! them saved, and then changed the file again (an admin removing an address that
//! had just joined); making those again would undo the admin's change. So whenever
//! the file is read again, the changes made on it are the ones the log still holds
//! for the list, whoever made them. A save holds the roster's lock file from before
//! it looks at the file until its `RosterSaved` line is in the log, so what the file
//! holds and what the log calls saved agree for every other writer.

use super::store::{MAX_RETRIES, kept_changing};
use super::{Includes, Member, Roster, RosterError, RosterFile, Setting};
use crate::address::EmailAddress;
use crate::records::Edit;
use crate::statelog::{Line, RosterEntry, StateLog};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

/// A change to a roster.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add this member (false if already one).
    Add(Member),
    /// Remove this address (false if not a member).
    Remove(EmailAddress),
    /// Give this member this delivery setting (false if not a member, or so already).
    Set(EmailAddress, Setting),
}

impl Change {
    /// Makes the change (nothing if the roster has it already).
    fn apply(&self, roster: &mut Roster) {
        match self {
            Change::Add(member) => roster.add(member),
            Change::Remove(address) => roster.remove(address),
            Change::Set(address, setting) => roster.set(address, setting),
        };
    }

    fn address(&self) -> &EmailAddress {
        match self {
            Change::Add(m) => &m.address,
            Change::Remove(a) | Change::Set(a, _) => a,
        }
    }

    /// The member after the change, given the member before it (`None`: not one).
    /// `None` for the pair when the change changes nothing.
    fn after(&self, before: Option<Member>) -> Option<Option<Member>> {
        match (self, before) {
            (Change::Add(m), None) => Some(Some(m.clone())),
            (Change::Remove(_), Some(_)) => Some(None),
            (Change::Set(_, setting), Some(mut m)) if m.setting != *setting => {
                m.setting = *setting;
                Some(Some(m))
            }
            _ => None,
        }
    }

    fn entry(&self, list: &str) -> RosterEntry {
        match self {
            Change::Add(m) => RosterEntry {
                list: list.to_owned(),
                address: m.address.to_string(),
                edit: Edit::Add,
                name: m.name.clone(),
                since: m.since.as_ref().map(ToString::to_string),
                via: m.via.clone(),
                setting: (m.setting != Setting::mail()).then_some(m.setting),
                request: m.request.clone(),
                terms: m.terms.clone(),
                lang: m.lang.clone(),
            },
            Change::Remove(address) => RosterEntry {
                list: list.to_owned(),
                address: address.to_string(),
                edit: Edit::Remove,
                name: None,
                since: None,
                via: None,
                setting: None,
                request: None,
                terms: None,
                lang: None,
            },
            Change::Set(address, setting) => RosterEntry {
                list: list.to_owned(),
                address: address.to_string(),
                edit: Edit::Mode,
                name: None,
                since: None,
                via: None,
                setting: Some(*setting),
                request: None,
                terms: None,
                lang: None,
            },
        }
    }

    fn from_entry(e: &RosterEntry) -> Option<Change> {
        let Ok(address) = EmailAddress::parse(&e.address) else {
            // Never written by listkeeper: a hand-edited state.log.
            tracing::warn!(list = %e.list, address = %crate::message::clean(&e.address), "state.log: a roster change with an unusable address was skipped");
            return None;
        };
        Some(match e.edit {
            Edit::Add => Change::Add(Member {
                address,
                name: e.name.clone(),
                since: e.since.as_deref().and_then(|s| s.parse().ok()),
                via: e.via.clone(),
                setting: e.setting.unwrap_or_default(),
                request: e.request.clone(),
                terms: e.terms.clone(),
                lang: e.lang.clone(),
            }),
            Edit::Remove => Change::Remove(address),
            Edit::Mode => Change::Set(address, e.setting.unwrap_or_default()),
        })
    }
}

/// A roster whose changes are durable in the state log before they are in its file.
///
/// The file in memory sits behind a read-write lock: a save writes the text while
/// holding it shared, so requests carry on during the write. Their changes go into
/// `Backlog` (an overlay of who joined or left since, and the list of changes to make
/// to the text) and reach the text under the exclusive lock, briefly, at the start of
/// the next save.
#[derive(Debug)]
pub struct SharedRoster {
    list: String,
    journal: Arc<StateLog>,
    file: RwLock<RosterFile>,
    pending: Mutex<Backlog>,
    /// One save at a time.
    saving: Mutex<()>,
}

#[derive(Debug, Default)]
struct Backlog {
    /// Changes made (in the log) and not yet in the file, in order.
    unsaved: Vec<(u64, Change)>,
    /// The tail of `unsaved` not yet made to the text in memory.
    to_apply: Vec<Change>,
    /// The member (or, `None`, no member) after `to_apply`, by member key.
    overlay: HashMap<String, Option<Member>>,
    /// Changes in the log that cannot be made (an unusable address in a hand-edited
    /// log), by sequence number: not unsaved changes, and warned about once.
    unusable: HashSet<u64>,
    saves: u64,
    changes: u64,
}

impl Backlog {
    /// Makes every unsaved change again on a roster just read from the file.
    fn redo_all(&mut self, roster: &mut Roster) {
        for (_, change) in &self.unsaved {
            change.apply(roster);
        }
        self.to_apply.clear();
        self.overlay.clear();
    }

    /// Makes the changes made since the last save to the text in memory.
    fn catch_up(&mut self, roster: &mut Roster) {
        for change in self.to_apply.drain(..) {
            change.apply(roster);
        }
        self.overlay.clear();
    }
}

impl SharedRoster {
    /// Reads the roster file of `list`, then makes the changes `journal` holds for
    /// it that the file may lack (a crash before a save), and saves them.
    pub fn open(
        list: &str,
        path: &Path,
        includes: &Includes,
        journal: Arc<StateLog>,
    ) -> Result<SharedRoster, RosterError> {
        let mut file = RosterFile::open(path, includes)?;
        let logged: Vec<(u64, RosterEntry)> = journal
            .roster_changes()
            .map(|changes| {
                changes
                    .into_iter()
                    .filter(|(_, e)| e.list == list)
                    .collect()
            })
            .map_err(|source| RosterError::Io {
                path: path.to_owned(),
                source,
            })?;
        let mut pending = Backlog::default();
        for (seq, entry) in &logged {
            match Change::from_entry(entry) {
                Some(change) => pending.unsaved.push((*seq, change)),
                None => {
                    pending.unusable.insert(*seq);
                }
            }
        }
        pending.redo_all(file.roster_mut());
        let shared = SharedRoster {
            list: list.to_owned(),
            journal,
            file: RwLock::new(file),
            pending: Mutex::new(pending),
            saving: Mutex::new(()),
        };
        shared.save()?;
        Ok(shared)
    }

    /// The file for reading, read again first if someone changed it on disk (the
    /// unsaved changes are then made again on what they saved).
    fn current(&self) -> Result<RwLockReadGuard<'_, RosterFile>, RosterError> {
        let file = read(&self.file);
        if !file.is_stale()? {
            return Ok(file);
        }
        drop(file);
        // While a save runs, the file on disk is the one it just wrote (its stamp is
        // recorded when the save ends): not an edit to read back. An admin's edit
        // made meanwhile is caught by the save itself, or by the next call.
        if !matches!(self.saving.try_lock(), Err(TryLockError::WouldBlock)) {
            let mut file = write(&self.file);
            if file.refresh()? {
                // The file first, then the log: a change the log no longer holds
                // was saved by a write made before it was marked, so the file read
                // (or the next one, its stamp being older) has it.
                self.redo_logged(&mut file, &mut lock(&self.pending))?;
            }
        }
        Ok(read(&self.file))
    }

    /// The file in memory made current with the file on disk and the log: read
    /// again if another writer changed it or the log holds changes this roster did
    /// not make (another process's), then every change the log holds for the list
    /// made on it; otherwise only the changes made since the last save.
    fn bring_up_to_date(
        &self,
        file: &mut RosterFile,
        pending: &mut Backlog,
    ) -> Result<(), RosterError> {
        let refreshed = file.refresh()?;
        let ours: Vec<u64> = pending.unsaved.iter().map(|(seq, _)| *seq).collect();
        let unusable = &pending.unusable;
        // `roster_changes`, not `read`: a `deliver` reads only the roster lines of
        // the log through its index, never the whole log.
        let same = self
            .journal
            .with_roster_changes(|changes| {
                changes
                    .iter()
                    .filter(|(seq, e)| e.list == self.list && !unusable.contains(seq))
                    .map(|(seq, _)| *seq)
                    .eq(ours.iter().copied())
            })
            .map_err(|source| RosterError::Io {
                path: file.path().to_owned(),
                source,
            })?;
        if same && !refreshed {
            pending.catch_up(file.roster_mut());
            return Ok(());
        }
        if !refreshed {
            file.reread()?;
        }
        self.redo_logged(file, pending)
    }

    /// Makes every change the log holds for the list again on the file just read.
    fn redo_logged(&self, file: &mut RosterFile, pending: &mut Backlog) -> Result<(), RosterError> {
        let logged = self
            .journal
            .with_roster_changes(|changes| {
                changes
                    .iter()
                    .filter(|(_, e)| e.list == self.list)
                    .map(|(seq, e)| (*seq, e.clone()))
                    .collect::<Vec<_>>()
            })
            .map_err(|source| RosterError::Io {
                path: file.path().to_owned(),
                source,
            })?;
        let mut unsaved = Vec::with_capacity(logged.len());
        for (seq, entry) in &logged {
            if pending.unusable.contains(seq) {
                continue;
            }
            match Change::from_entry(entry) {
                Some(change) => unsaved.push((*seq, change)),
                None => {
                    pending.unusable.insert(*seq);
                }
            }
        }
        pending.unsaved = unsaved;
        pending.redo_all(file.roster_mut());
        Ok(())
    }

    /// Whether the address is a member (re-reading the file if it changed).
    pub fn contains(&self, address: &EmailAddress) -> Result<bool, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        Ok(member(&pending, file.roster(), address).is_some())
    }

    /// The member with this address as of the latest change, if one.
    pub fn get(&self, address: &EmailAddress) -> Result<Option<Member>, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        Ok(member(&pending, file.roster(), address))
    }

    /// How many members have an address at `domain` (as the file has them: the
    /// changes since its last save are left out, an estimate for incidents).
    pub fn count_at(&self, domain: &str) -> Result<usize, RosterError> {
        Ok(self.current()?.roster().count_at(domain))
    }

    /// Members whose delivery setting lapsed at `now` (upkeep turns them back to
    /// mail), as of the latest change.
    pub fn lapsed(&self, now: u64) -> Result<Vec<Member>, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        let mut out: Vec<Member> = file
            .roster()
            .lapsed(now)
            .into_iter()
            .filter(|m| !pending.overlay.contains_key(&m.address.key()))
            .collect();
        out.extend(
            pending
                .overlay
                .values()
                .flatten()
                .filter(|m| m.setting.lapsed(now))
                .cloned(),
        );
        Ok(out)
    }

    /// Every member's address as of the latest change: the file's in its order, then
    /// those added since (`REVIEW`).
    pub fn addresses(&self) -> Result<Vec<String>, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        let roster = file.roster();
        let mut out: Vec<String> = (roster.members().into_iter())
            .filter(|m| !matches!(pending.overlay.get(&m.address.key()), Some(None)))
            .map(|m| m.address.to_string())
            .collect();
        let mut added: Vec<String> = (pending.overlay.values().flatten())
            .filter(|m| !roster.contains(&m.address))
            .map(|m| m.address.to_string())
            .collect();
        added.sort();
        out.extend(added);
        Ok(out)
    }

    /// A member's `lang`, as the roster file says it (a member whose line is not
    /// written yet has none here: the list's language then speaks for them).
    pub fn lang(&self, address: &EmailAddress) -> Result<Option<String>, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        Ok(member(&pending, file.roster(), address).and_then(|m| m.lang))
    }

    /// How many members there are as of the latest change (the web's list pages).
    pub fn count(&self) -> Result<usize, RosterError> {
        let file = self.current()?;
        let pending = lock(&self.pending);
        let roster = file.roster();
        let mut count = roster.len();
        for (key, now) in &pending.overlay {
            let in_file = EmailAddress::parse(key).is_ok_and(|a| roster.contains(&a));
            match (now.is_some(), in_file) {
                (true, false) => count += 1,
                (false, true) => count = count.saturating_sub(1),
                _ => {}
            }
        }
        Ok(count)
    }

    /// Makes a change: in memory, and durable in the state log once the caller syncs
    /// it. Returns whether it changed the roster.
    pub fn apply(&self, change: Change) -> Result<bool, RosterError> {
        let file = self.current()?;
        let mut pending = lock(&self.pending);
        let address = change.address();
        let Some(after) = change.after(member(&pending, file.roster(), address)) else {
            return Ok(false);
        };
        let seq = self
            .journal
            .append_roster(change.entry(&self.list))
            .map_err(RosterError::State)?;
        pending.overlay.insert(address.key(), after);
        pending.to_apply.push(change.clone());
        pending.unsaved.push((seq, change));
        pending.changes += 1;
        Ok(true)
    }

    /// Whether changes wait to be saved to the file.
    pub fn dirty(&self) -> bool {
        !lock(&self.pending).unsaved.is_empty()
    }

    /// Whether this is the roster of `path` keeping `include_file` (to carry it over
    /// a reload that left both alone).
    pub fn is_for(&self, path: &Path, includes: &Includes) -> bool {
        let file = read(&self.file);
        file.path() == path && file.includes() == includes
    }

    /// Whether it keeps this `unsubscribe_file` (to carry it over a reload).
    pub fn keeps(&self, unsubscribe: Option<&super::UnsubscribeFile>) -> bool {
        read(&self.file).unsubscribe_file() == unsubscribe
    }

    /// Keeps `file` from now on, written at once and with every save.
    pub fn keep_unsubscribe_file(
        &self,
        file: Option<super::UnsubscribeFile>,
    ) -> Result<(), RosterError> {
        let _one = lock(&self.saving);
        write(&self.file).keep_unsubscribe_file(file)
    }

    /// Writes the file (and `include_file`) with every change made so far, then
    /// marks them saved in the state log. Changes made meanwhile wait for the next.
    ///
    /// The roster's lock file is held throughout (waiting for another process's
    /// write to end): from reading the file again, through the write and rename, to
    /// the `RosterSaved` line. Only an editor, which takes no lock, can change the
    /// file meanwhile; its file is then read and the changes made again on it.
    pub fn save(&self) -> Result<(), RosterError> {
        let _one = lock(&self.saving);
        if lock(&self.pending).unsaved.is_empty() {
            return Ok(());
        }
        let locked = read(&self.file).lock()?;
        for _ in 0..MAX_RETRIES {
            // Briefly exclusive: the text catches up with the file and the log.
            let upto = {
                let mut file = write(&self.file);
                let mut pending = lock(&self.pending);
                self.bring_up_to_date(&mut file, &mut pending)?;
                let Some(&(upto, _)) = pending.unsaved.last() else {
                    return Ok(());
                };
                upto
            };
            // Shared: the slow write, while requests carry on.
            let written = read(&self.file).write_out(&locked)?;
            let Some(stamp) = written else {
                // An editor saved the file meanwhile: read theirs, make the changes
                // again on it, write again.
                continue;
            };
            write(&self.file).written(stamp);
            {
                let mut pending = lock(&self.pending);
                pending.unsaved.retain(|(seq, _)| *seq > upto);
                pending.saves += 1;
            }
            let path = read(&self.file).path().to_owned();
            self.journal
                .append(vec![Line::RosterSaved {
                    list: self.list.clone(),
                    upto,
                }])
                .map_err(|source| RosterError::Io { path, source })?;
            return Ok(());
        }
        Err(RosterError::Io {
            path: read(&self.file).path().to_owned(),
            source: kept_changing(),
        })
    }

    /// Times the file was read, the first read included.
    pub fn reads(&self) -> u64 {
        read(&self.file).reads()
    }

    /// Saves of the file so far and the changes they carried.
    pub fn stats(&self) -> (u64, u64) {
        let pending = lock(&self.pending);
        (pending.saves, pending.changes)
    }
}

/// The member as of the latest change: the overlay first, then the text.
fn member(pending: &Backlog, roster: &Roster, address: &EmailAddress) -> Option<Member> {
    match pending.overlay.get(&address.key()) {
        Some(now) => now.clone(),
        None => roster.get(address),
    }
}

// A change is made in the log before memory, and memory only under these locks in
// steps that cannot be left half-done by a panic: a poisoned lock's data is whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
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
            setting: Default::default(),
            request: None,
            terms: None,
            lang: None,
        }
    }

    fn open(dir: &Path, path: &Path) -> SharedRoster {
        let journal = Arc::new(StateLog::open(&dir.join("state")).unwrap());
        SharedRoster::open("sm-cop", path, &Includes::default(), journal).unwrap()
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
    fn requests_during_saves_never_read_the_savers_own_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        let mut text = String::from("[members]\n");
        for i in 0..20_000 {
            text.push_str(&format!("\"m{i}@x.gov\" = {{}}\n"));
        }
        std::fs::write(&path, text).unwrap();
        let shared = Arc::new(open(dir.path(), &path));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let saver = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    shared.save().unwrap();
                }
            })
        };
        for i in 0..2_000 {
            assert!(
                shared
                    .apply(Change::Add(member(&format!("new{i}@x.gov"))))
                    .unwrap()
            );
            assert!(
                shared
                    .contains(&EmailAddress::parse(&format!("NEW{i}@x.gov")).unwrap())
                    .unwrap()
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        saver.join().unwrap();
        shared.save().unwrap();
        assert_eq!(
            shared.reads(),
            1,
            "the saver's own writes are not read back"
        );
        let (saves, _) = shared.stats();
        assert!(saves > 1, "saves ran while requests changed the roster");
        let roster = Roster::parse(std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(roster.len(), 22_000);
    }

    #[test]
    fn a_roster_broken_before_its_save_keeps_the_change_until_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n").unwrap();
        let shared = open(dir.path(), &path);
        assert!(shared.apply(Change::Add(member("kept@x.gov"))).unwrap());
        std::fs::write(&path, "[members]\n\"half@x.gov\" = { name = \"Ha\n").unwrap();
        let reads = shared.reads();
        for _ in 0..3 {
            let e = shared.save().unwrap_err().to_string();
            assert!(e.contains("roster.toml:2"), "{e}");
        }
        assert_eq!(
            shared.reads(),
            reads + 1,
            "the same broken file is read once"
        );
        assert!(shared.dirty());
        assert!(
            shared
                .apply(Change::Add(member("other@x.gov")))
                .unwrap_err()
                .to_string()
                .contains("roster.toml:2")
        );
        std::fs::write(&path, "[members]\n\"fixed@x.gov\" = {}\n").unwrap();
        shared.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("fixed@x.gov") && text.contains("kept@x.gov"),
            "{text}"
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

    /// Issue 13: `listkeeper remove` of an address that had just joined through the
    /// daemon (its change only in state.log). The CLI saves the logged change into
    /// the file first, then removes the line; the daemon's saver must not make the
    /// join again on the admin's file, and must keep its other changes.
    #[test]
    fn a_change_another_process_saved_is_not_made_again_over_the_admins_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n").unwrap();
        let daemon = open(dir.path(), &path);
        assert!(daemon.apply(Change::Add(member("joined@x.gov"))).unwrap());
        daemon.journal.sync().unwrap();
        // `listkeeper remove joined@x.gov`, in a process of its own.
        {
            let cli = open(dir.path(), &path);
            assert!(!cli.dirty(), "the CLI saved the logged change");
            let mut file = RosterFile::open(&path, &Includes::default()).unwrap();
            let removed = file
                .change(|r| {
                    let removed = r.remove(&EmailAddress::parse("joined@x.gov").unwrap());
                    (removed, removed)
                })
                .unwrap();
            assert!(removed);
        }
        assert!(daemon.apply(Change::Add(member("later@x.gov"))).unwrap());
        assert!(
            !daemon
                .contains(&EmailAddress::parse("joined@x.gov").unwrap())
                .unwrap(),
            "the admin's removal is what the daemon sees"
        );
        daemon.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("joined@x.gov"), "{text}");
        assert!(text.contains("later@x.gov"), "{text}");
        assert!(!daemon.dirty());
    }

    /// A change another process logged (`deliver`) and left unsaved is saved with
    /// ours, not marked saved without being in the file.
    #[test]
    fn a_change_another_process_logged_is_saved_with_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n").unwrap();
        let daemon = open(dir.path(), &path);
        let other = open(dir.path(), &path);
        assert!(other.apply(Change::Add(member("theirs@x.gov"))).unwrap());
        other.journal.sync().unwrap();
        // The other process dies before its save.
        drop(other);
        assert!(daemon.apply(Change::Add(member("ours@x.gov"))).unwrap());
        daemon.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("theirs@x.gov") && text.contains("ours@x.gov"),
            "{text}"
        );
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

    /// Issue 16: a mode change is a logged change like a join: made again after a
    /// crash, and seen by reads before the file has it.
    #[test]
    fn a_mode_change_is_logged_seen_and_made_again_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n\"a@x.gov\" = { name = \"A\" } # kept\n").unwrap();
        let shared = open(dir.path(), &path);
        let a = EmailAddress::parse("a@x.gov").unwrap();
        let nomail = Setting {
            mode: crate::records::Mode::Nomail,
            until: "2027-01-15".parse().ok(),
            why: Some(crate::records::Why::Member),
        };
        assert!(shared.apply(Change::Set(a.clone(), nomail)).unwrap());
        assert!(
            !shared.apply(Change::Set(a.clone(), nomail)).unwrap(),
            "so already"
        );
        assert_eq!(shared.get(&a).unwrap().unwrap().setting, nomail);
        assert_eq!(shared.lapsed(1_799_971_200).unwrap().len(), 1);
        assert!(
            !shared
                .apply(Change::Set(EmailAddress::parse("b@x.gov").unwrap(), nomail))
                .unwrap(),
            "not a member"
        );
        shared.journal.sync().unwrap();
        drop(shared);
        let _again = open(dir.path(), &path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[members]\n\"a@x.gov\" = { name = \"A\", mode = \"nomail\", until = 2027-01-15, why = \"member\" } # kept\n"
        );
    }
}
