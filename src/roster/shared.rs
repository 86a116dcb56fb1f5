//! One roster shared by every thread that handles mail for its list, with group
//! commit: changes that arrive while a write is in progress are applied together and
//! made durable by the next single write and fsync, instead of one rewrite each.
//!
//! Leader/follower: a thread queues its change, and whoever holds the file next (the
//! leader) applies everything queued, saves once, and hands each thread its own
//! result. Reads see the roster as last saved, re-read first if someone else (an
//! admin, the CLI) changed the file.

use super::{Member, RosterError, RosterFile};
use crate::address::EmailAddress;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A change to queue.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add this member (false if already one).
    Add(Member),
    /// Remove this address (false if not a member).
    Remove(EmailAddress),
}

/// A roster with group commit.
#[derive(Debug)]
pub struct SharedRoster {
    file: Mutex<RosterFile>,
    queue: Mutex<Queue>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct Queue {
    next: u64,
    waiting: Vec<(u64, Change)>,
    results: HashMap<u64, Result<bool, String>>,
    /// Writes that carried more than one change, and changes in all, for the log.
    batches: u64,
    changes: u64,
}

impl SharedRoster {
    /// Reads the roster file.
    pub fn open(path: &Path, include_file: Option<&Path>) -> Result<SharedRoster, RosterError> {
        Ok(SharedRoster {
            file: Mutex::new(RosterFile::open(path, include_file)?),
            queue: Mutex::new(Queue::default()),
            done: Condvar::new(),
        })
    }

    /// Whether the address is a member (re-reading the file if it changed).
    pub fn contains(&self, address: &EmailAddress) -> Result<bool, RosterError> {
        let mut file = lock(&self.file);
        file.refresh()?;
        Ok(file.roster().contains(address))
    }

    /// Applies a change durably; returns whether it changed the roster.
    pub fn apply(&self, change: Change) -> Result<bool, String> {
        let ticket = {
            let mut q = lock(&self.queue);
            let ticket = q.next;
            q.next += 1;
            q.waiting.push((ticket, change));
            ticket
        };
        loop {
            if let Some(result) = lock(&self.queue).results.remove(&ticket) {
                return result;
            }
            if let Ok(mut file) = self.file.try_lock() {
                self.commit(&mut file);
                drop(file);
                self.done.notify_all();
                continue;
            }
            let q = lock(&self.queue);
            if q.results.contains_key(&ticket) {
                continue;
            }
            // The leader notifies when it is done; the timeout covers a change queued
            // just after the leader took the queue and let go of the file.
            let _ = self.done.wait_timeout(q, Duration::from_millis(20));
        }
    }

    /// As leader: applies everything queued in one save.
    fn commit(&self, file: &mut RosterFile) {
        let batch = std::mem::take(&mut lock(&self.queue).waiting);
        if batch.is_empty() {
            return;
        }
        let outcome = file.change(|roster| {
            let results: Vec<(u64, bool)> = batch
                .iter()
                .map(|(ticket, change)| {
                    let changed = match change {
                        Change::Add(member) => roster.add(member),
                        Change::Remove(address) => roster.remove(address),
                    };
                    (*ticket, changed)
                })
                .collect();
            let any = results.iter().any(|(_, c)| *c);
            (results, any)
        });
        let mut q = lock(&self.queue);
        q.batches += 1;
        q.changes += batch.len() as u64;
        match outcome {
            Ok(results) => q
                .results
                .extend(results.into_iter().map(|(t, c)| (t, Ok(c)))),
            Err(e) => {
                let why = e.to_string();
                q.results
                    .extend(batch.iter().map(|(t, _)| (*t, Err(why.clone()))));
            }
        }
    }

    /// Saves so far and the changes they carried (group commit at work when the
    /// second is larger).
    pub fn stats(&self) -> (u64, u64) {
        let q = lock(&self.queue);
        (q.batches, q.changes)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while holding the lock left the data whole: every
    // change is applied to the file first and to memory only after it saved.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn member(a: &str) -> Member {
        Member {
            address: EmailAddress::parse(a).unwrap(),
            name: None,
            since: None,
            via: None,
        }
    }

    #[test]
    fn many_threads_one_roster_every_change_lands_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "# kept\n[members]\n").unwrap();
        let shared = Arc::new(SharedRoster::open(&path, None).unwrap());
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
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# kept\n[members]\n"));
        let roster = super::super::Roster::parse(text).unwrap();
        assert_eq!(roster.len(), 400);
        let (saves, changes) = shared.stats();
        assert_eq!(changes, 408);
        assert!(saves <= changes, "{saves} saves for {changes} changes");
        assert!(
            shared
                .contains(&EmailAddress::parse("T3N7@x.gov").unwrap())
                .unwrap()
        );
    }

    #[test]
    fn an_outside_edit_is_seen_by_reads_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n").unwrap();
        let shared = SharedRoster::open(&path, None).unwrap();
        std::fs::write(&path, "[members]\n\"admin.added@x.gov\" = {}\n").unwrap();
        assert!(
            shared
                .contains(&EmailAddress::parse("admin.added@x.gov").unwrap())
                .unwrap()
        );
        assert!(shared.apply(Change::Add(member("b@x.gov"))).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("admin.added@x.gov") && text.contains("b@x.gov"));
    }
}
