//! `state_dir/state.log`: what listkeeper keeps between requests (pending and held
//! requests, queued replies, the dedupe record) as one append-only log of JSON lines.
//!
//! A request used to write and delete three or four small files; on ext4 creating
//! files in a folder of recently deleted ones costs more than everything else a
//! request does (the inode allocator's cost grows with the burst). Here a change is
//! one line appended, and durability is one fsync shared by every thread that wrote
//! meanwhile ([`fsio::GroupSync`]). The state itself lives in memory, rebuilt by
//! reading the log; the log is rewritten (compacted) when most of it is superseded.
//!
//! Several processes may share a state folder (the daemon, `deliver`, the CLI):
//! writers take the advisory lock `.state.log.lock`, read what others appended
//! first, then append; readers read new lines before answering. A line cut short by
//! a crash is ignored, and cut off by the next writer.
//!
//! A process that answers one message and exits (`listkeeper deliver`, after
//! [`prefer_index`]) keeps no state in memory: it looks the records it needs up by
//! key in `state.idx` (`statelog::index`), which any such process brings up to date with
//! what others appended (under the writers' lock), so what one message costs does
//! not grow with the requests the log holds (issue 21). The first call that needs the
//! whole state ([`StateLog::read`]) reads the log as the daemon does, once.
//!
//! A log deleted under a running listkeeper (`rm -rf` of the state folder) is not
//! recreated behind the operator's back, which would drop the pending requests and
//! queued replies still in memory, and the token key with them: every later write
//! fails, naming the path and what to do, until listkeeper is restarted.

mod index;
mod scrub;

use crate::fsio;
use crate::records::{Awaiting, Batch, Edit, Origin, Pending, Score, Setting};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// How long a processed request's key is remembered, so that an MTA's retry of it is
/// recognised (Postfix gives up after 5 days by default).
pub(crate) const SEEN_FOR: u64 = 10 * 86_400;

/// Whether [`StateLog::open`] in this process looks records up in the index
/// instead of reading the whole log into memory.
static PREFER_INDEX: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every [`StateLog::open`] of this process keep no state in memory and look
/// records up by key in `state.idx`: for a process that handles one message and
/// exits (`deliver`). The daemon, which reads most of its state all the time, keeps
/// it in memory.
pub(crate) fn prefer_index() {
    PREFER_INDEX.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Everything the log holds, in memory.
#[derive(Debug, Default)]
pub struct State {
    /// Requests waiting for confirmation, by `list/id`.
    pub pending: HashMap<String, Pending>,
    /// Requests waiting for the owners, by `list/id`.
    pub held: HashMap<String, Pending>,
    /// Reply batches not yet sent, by request key.
    pub outbox: HashMap<String, Batch>,
    /// Keys of requests processed, with when (Unix seconds).
    pub seen: HashMap<String, u64>,
    /// Members' bounce scores, by `list/address key`.
    pub bounces: HashMap<String, Score>,
    /// Roster changes made (durable here) but not yet saved to the roster file, in
    /// order, by sequence number.
    pub roster: BTreeMap<u64, RosterEntry>,
    /// The highest roster sequence number ever used: numbers never go back, so a
    /// `RosterSaved` line can never cover a later change.
    max_seq: u64,
    /// The latest time a `Seen` line carries: the log's clock. Compaction forgets
    /// the keys seen [`SEEN_FOR`] before it, so the log reads no wall clock of its
    /// own: every time in it is one a caller handed in.
    newest_seen: u64,
}

/// A roster change kept in the log until the roster file has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// List id.
    pub list: String,
    /// The address as it is written in the roster.
    pub address: String,
    /// Added or removed (`"add": true` or `false` on disk).
    #[serde(rename = "add")]
    pub edit: Edit,
    /// Display name, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RFC 3339 time of joining, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// How, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Origin>,
    /// The new delivery setting, for a mode change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<Setting>,
    /// The request the member agreed in, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The short hash of the terms agreed to, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// The member's language, for an add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl Line {
    /// The line that stores (or, with no record, removes) a request of `queue`.
    pub fn awaiting(queue: Awaiting, key: String, record: Option<Pending>) -> Line {
        match queue {
            Awaiting::Confirmation => Line::Pending { key, record },
            Awaiting::Owners => Line::Held { key, record },
        }
    }
}

/// One line of the log: a record set (or, with no value, removed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Line {
    /// A pending request stored or removed.
    Pending {
        /// `list/id`.
        key: String,
        /// The record; `None` removes it.
        record: Option<Pending>,
    },
    /// A held request stored or removed.
    Held {
        /// `list/id`.
        key: String,
        /// The record; `None` removes it.
        record: Option<Pending>,
    },
    /// A batch of replies queued, updated or gone.
    Batch {
        /// The request key.
        key: String,
        /// The batch; `None` removes it.
        batch: Option<Box<Batch>>,
    },
    /// A roster change, durable here until its roster file is saved.
    Roster {
        /// Order of the change (unique in the log).
        seq: u64,
        /// The change.
        entry: RosterEntry,
    },
    /// A list's roster file was saved with every change up to `upto`.
    RosterSaved {
        /// List id.
        list: String,
        /// The last change the file holds.
        upto: u64,
    },
    /// A member's bounce score set (or, with no score, forgotten).
    Bounce {
        /// `list/address key`.
        key: String,
        /// The score; `None` forgets it.
        score: Option<Score>,
    },
    /// A request processed.
    Seen {
        /// The request key.
        key: String,
        /// Unix seconds.
        at: u64,
    },
}

impl State {
    /// The requests in one queue, by `list/id`.
    pub fn awaiting(&self, queue: Awaiting) -> &HashMap<String, Pending> {
        match queue {
            Awaiting::Confirmation => &self.pending,
            Awaiting::Owners => &self.held,
        }
    }

    fn apply(&mut self, line: Line) {
        match line {
            Line::Pending { key, record } => set(&mut self.pending, key, record),
            Line::Held { key, record } => set(&mut self.held, key, record),
            Line::Batch { key, batch } => set(&mut self.outbox, key, batch.map(|b| *b)),
            Line::Bounce { key, score } => set(&mut self.bounces, key, score),
            Line::Seen { key, at } => {
                self.newest_seen = self.newest_seen.max(at);
                self.seen.insert(key, at);
            }
            Line::Roster { seq, entry } => {
                self.max_seq = self.max_seq.max(seq);
                self.roster.insert(seq, entry);
            }
            Line::RosterSaved { list, upto } => {
                self.max_seq = self.max_seq.max(upto);
                self.roster.retain(|seq, e| *seq > upto || e.list != list);
            }
        }
    }

    fn len(&self) -> usize {
        self.pending.len()
            + self.held.len()
            + self.outbox.len()
            + self.seen.len()
            + self.bounces.len()
            + self.roster.len()
    }

    /// The lines that rebuild this state, dropping keys seen before `forget_before`.
    fn lines(&self, forget_before: u64) -> Vec<Line> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self.pending.iter().map(|(k, p)| Line::Pending {
            key: k.clone(),
            record: Some(p.clone()),
        }));
        out.extend(self.held.iter().map(|(k, p)| Line::Held {
            key: k.clone(),
            record: Some(p.clone()),
        }));
        out.extend(self.outbox.iter().map(|(k, b)| Line::Batch {
            key: k.clone(),
            batch: Some(Box::new(b.clone())),
        }));
        out.extend(self.bounces.iter().map(|(k, s)| Line::Bounce {
            key: k.clone(),
            score: Some(s.clone()),
        }));
        // Keeps the high-water mark of sequence numbers (no list is named "").
        out.push(Line::RosterSaved {
            list: String::new(),
            upto: self.max_seq,
        });
        out.extend(self.roster.iter().map(|(seq, e)| Line::Roster {
            seq: *seq,
            entry: e.clone(),
        }));
        out.extend(
            self.seen
                .iter()
                .filter(|(_, at)| **at >= forget_before)
                .map(|(k, at)| Line::Seen {
                    key: k.clone(),
                    at: *at,
                }),
        );
        out
    }
}

fn set<T>(map: &mut HashMap<String, T>, key: String, value: Option<T>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

/// The state log of one state folder.
#[derive(Debug)]
pub struct StateLog {
    path: PathBuf,
    /// `.state.log.lock`, kept open: writers lock it for each append.
    lock_file: File,
    inner: Mutex<Inner>,
    sync: Arc<fsio::GroupSync>,
    /// The last append or fsync failed: what only memory holds may be lost.
    failing: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct Inner {
    state: State,
    file: File,
    ino: u64,
    /// Bytes of the file read into `state`.
    offset: u64,
    /// Lines in the file, to tell when compaction pays.
    lines: usize,
    /// With an index, `state` is empty: records are looked up by key.
    index: Option<index::Index>,
}

impl StateLog {
    /// Opens (creating) `state_dir/state.log` and reads it (or, after
    /// [`prefer_index`], brings its index up to date: see [`StateLog::open_indexed`]).
    pub fn open(state_dir: &Path) -> io::Result<StateLog> {
        Self::open_mode(
            state_dir,
            PREFER_INDEX.load(std::sync::atomic::Ordering::SeqCst),
        )
    }

    /// Opens (creating) `state_dir/state.log` without reading it into memory:
    /// [`StateLog::pending`], [`StateLog::processed`] and
    /// [`StateLog::roster_changes`] look records up in `state.idx`, and what one
    /// message costs does not grow with the log.
    pub fn open_indexed(state_dir: &Path) -> io::Result<StateLog> {
        Self::open_mode(state_dir, true)
    }

    fn open_mode(state_dir: &Path, indexed: bool) -> io::Result<StateLog> {
        fsio::create_private_dir(state_dir)?;
        let path = state_dir.join("state.log");
        let lock_path = state_dir.join(".state.log.lock");
        let lock_file = fsio::open_private_lock(&lock_path)?;
        let held = fsio::hold(&lock_file).map_err(fsio::at(&lock_path))?;
        let file = fsio::open_append(&path)?;
        let ino = file.metadata().map_err(fsio::at(&path))?.ino();
        let sync = Arc::new(fsio::GroupSync::new(
            file.try_clone().map_err(fsio::at(&path))?,
        ));
        let mut inner = Inner {
            state: State::default(),
            file,
            ino,
            offset: 0,
            lines: 0,
            index: None,
        };
        if !indexed {
            inner.read_new(true).map_err(fsio::at(&path))?;
        }
        import_legacy(state_dir, &mut inner)?;
        drop(held);
        let log = StateLog {
            path,
            lock_file,
            inner: Mutex::new(inner),
            sync,
            failing: std::sync::atomic::AtomicBool::new(false),
        };
        if indexed {
            let mut inner = log.lock();
            inner.state = State::default();
            // Under the writers' lock, as every use of the index: SQLite's own
            // locks never have to wait.
            let _lock = log.hold()?;
            inner.index = Some(index::Index::open(state_dir)?);
            log.index_up_to_date(&mut inner)?;
        }
        Ok(log)
    }

    /// The request `key` (`list/id`) in `queue`.
    pub fn pending(&self, queue: Awaiting, key: &str) -> io::Result<Option<Pending>> {
        let kind = match queue {
            Awaiting::Confirmation => index::Kind::Pending,
            Awaiting::Owners => index::Kind::Held,
        };
        let line = self.look_up(kind, key, |s| {
            s.awaiting(queue).get(key).map(|p| Line::Pending {
                key: key.to_owned(),
                record: Some(p.clone()),
            })
        })?;
        Ok(match line {
            Some(Line::Pending { record, .. } | Line::Held { record, .. }) => record,
            _ => None,
        })
    }

    /// The bounce score `key` (`list/address key`), if one is kept.
    pub fn bounce_score(&self, key: &str) -> io::Result<Option<Score>> {
        let line = self.look_up(index::Kind::Bounce, key, |s| {
            s.bounces.get(key).map(|score| Line::Bounce {
                key: key.to_owned(),
                score: Some(score.clone()),
            })
        })?;
        Ok(match line {
            Some(Line::Bounce { score, .. }) => score,
            _ => None,
        })
    }

    /// Whether the request with this key was processed: its batch is queued or it
    /// was seen.
    pub fn processed(&self, key: &str) -> io::Result<bool> {
        let mut inner = self.lock();
        if inner.index.is_none() {
            drop(inner);
            return self.read(|s| s.outbox.contains_key(key) || s.seen.contains_key(key));
        }
        let found = self.hold().and_then(|_lock| {
            self.index_up_to_date(&mut inner)?;
            let index = self.index_of(&inner)?;
            Ok(index.get(index::Kind::Batch, key)?.is_some()
                || index.get(index::Kind::Seen, key)?.is_some())
        });
        self.noted_read(found)
    }

    /// The roster changes not yet in their roster files, by sequence number.
    pub fn roster_changes(&self) -> io::Result<BTreeMap<u64, RosterEntry>> {
        self.with_roster_changes(BTreeMap::clone)
    }

    /// `f` of the roster changes not yet in their roster files: read in place from
    /// memory (the daemon, no copy), or gathered through the index (a `deliver`,
    /// without reading the whole log).
    pub fn with_roster_changes<T>(
        &self,
        f: impl FnOnce(&BTreeMap<u64, RosterEntry>) -> T,
    ) -> io::Result<T> {
        let mut inner = self.lock();
        if inner.index.is_none() {
            drop(inner);
            return self.read(|s| f(&s.roster));
        }
        let changes = self.hold().and_then(|_lock| {
            self.index_up_to_date(&mut inner)?;
            let mut out = BTreeMap::new();
            for (off, len) in self.index_of(&inner)?.roster()? {
                if let Line::Roster { seq, entry } = self.line_at(&inner, off, len)? {
                    out.insert(seq, entry);
                }
            }
            Ok(out)
        });
        self.noted_read(changes).map(|changes| f(&changes))
    }

    /// The line that set record `key` of `kind`, from the index; from memory
    /// (`in_memory`) without one.
    fn look_up(
        &self,
        kind: index::Kind,
        key: &str,
        in_memory: impl FnOnce(&State) -> Option<Line>,
    ) -> io::Result<Option<Line>> {
        let mut inner = self.lock();
        if inner.index.is_none() {
            drop(inner);
            return self.read(in_memory);
        }
        let line = self.hold().and_then(|_lock| {
            self.index_up_to_date(&mut inner)?;
            match self.index_of(&inner)?.get(kind, key)? {
                Some((off, len)) => self.line_at(&inner, off, len).map(Some),
                None => Ok(None),
            }
        });
        self.noted_read(line)
    }

    /// A read's result; an error leaves what the log holds unknown.
    fn noted_read<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failing
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        result
    }

    fn index_of<'i>(&self, inner: &'i Inner) -> io::Result<&'i index::Index> {
        inner
            .index
            .as_ref()
            .ok_or_else(|| io::Error::other("state.idx is not open"))
    }

    /// The line of the log at `off`, `len` bytes long (its newline included).
    fn line_at(&self, inner: &Inner, off: u64, len: u64) -> io::Result<Line> {
        let mut raw = vec![0; usize::try_from(len).map_err(io::Error::other)?];
        inner
            .file
            .read_exact_at(&mut raw, off)
            .map_err(fsio::at(&self.path))?;
        serde_json::from_slice(raw.trim_ascii_end())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            .map_err(fsio::at(&self.path))
    }

    /// Under the writers' lock: indexes what was appended since the index was last
    /// brought up to date, or the whole log when the index does not match it
    /// (compacted, cut back, or lost). Returns what the index covers: the whole log.
    fn index_up_to_date(&self, inner: &mut Inner) -> io::Result<index::Covers> {
        let mut meta = self.metadata(inner)?;
        if meta.ino() != inner.ino {
            self.reopen(inner)?;
            meta = inner.file.metadata().map_err(fsio::at(&self.path))?;
        }
        let len = meta.len();
        let matching = self.matching_covers(inner, len)?;
        let fresh = matching.is_none();
        let mut covers = matching.unwrap_or(index::Covers {
            ino: inner.ino,
            ..index::Covers::default()
        });
        if covers.len == len && !fresh {
            return Ok(covers);
        }
        let tail = self.complete_tail(inner, covers.len)?;
        let (lines, skipped) = spans(&tail, covers.len);
        covers.lines += skipped;
        covers.len += tail.len() as u64;
        covers.check = tail_bytes(&inner.file, covers.len).map_err(fsio::at(&self.path))?;
        let index = inner
            .index
            .as_mut()
            .ok_or_else(|| io::Error::other("state.idx is not open"))?;
        index.apply(fresh, lines, &mut covers)?;
        Ok(covers)
    }

    /// The log's metadata: of the open file, or (when a compaction elsewhere left it
    /// no name) of the file at the path, which may be another one.
    fn metadata(&self, inner: &Inner) -> io::Result<std::fs::Metadata> {
        let meta = inner.file.metadata().map_err(fsio::at(&self.path))?;
        if meta.nlink() == 0 {
            return std::fs::metadata(&self.path).map_err(|e| self.gone(e));
        }
        Ok(meta)
    }

    /// What the index says it covers, when that is still the start of this log (same
    /// file, no longer than it, ending in the same bytes); `None` when the index must
    /// be built afresh.
    fn matching_covers(&self, inner: &Inner, len: u64) -> io::Result<Option<index::Covers>> {
        match self.index_of(inner)?.covers()? {
            Some(c) if c.ino == inner.ino && c.len <= len => {
                let tail = tail_bytes(&inner.file, c.len).map_err(fsio::at(&self.path))?;
                Ok((tail == c.check).then_some(c))
            }
            _ => Ok(None),
        }
    }

    /// The complete lines after `from`; a line cut short by a crash after them is cut
    /// off the file (the caller holds the writers' lock: its writer died).
    fn complete_tail(&self, inner: &mut Inner, from: u64) -> io::Result<Vec<u8>> {
        let mut tail = Vec::new();
        inner
            .file
            .seek(SeekFrom::Start(from))
            .and_then(|_| inner.file.read_to_end(&mut tail))
            .map_err(fsio::at(&self.path))?;
        let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < tail.len() {
            tracing::warn!(
                bytes = tail.len() - complete,
                "state.log: a line cut short by a crash was removed"
            );
            inner
                .file
                .set_len(from + complete as u64)
                .map_err(fsio::at(&self.path))?;
            tail.truncate(complete);
        }
        Ok(tail)
    }

    /// Whether the last append or fsync failed (changes made since may be in memory
    /// only).
    pub fn failing(&self) -> bool {
        self.failing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Notes how a write went, for [`StateLog::failing`].
    fn noted<T>(&self, result: io::Result<T>) -> io::Result<T> {
        self.failing
            .store(result.is_err(), std::sync::atomic::Ordering::SeqCst);
        result
    }

    /// Reads the state (after catching up with other processes' writes).
    ///
    /// With an index ([`StateLog::open_indexed`]), the first call reads the whole log
    /// into memory, as [`StateLog::open`] does, and the state stays there.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> io::Result<T> {
        let mut inner = self.lock();
        if inner.index.take().is_some() {
            inner.state = State::default();
            inner.offset = 0;
            inner.lines = 0;
        }
        if let Err(e) = self.catch_up(&mut inner, false) {
            // What the log holds on disk is unknown now: nothing is safe in it.
            self.failing
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Err(e);
        }
        Ok(f(&inner.state))
    }

    /// Appends lines and applies them; returns once they are on disk.
    pub fn write(&self, lines: Vec<Line>) -> io::Result<()> {
        let ticket = self.append(lines)?;
        let synced = self.sync.sync(ticket).map_err(fsio::at(&self.path));
        self.noted(synced)
    }

    /// Makes every line appended so far durable (one fsync shared with concurrent
    /// callers).
    pub fn sync(&self) -> io::Result<()> {
        let synced = self
            .sync
            .sync(self.sync.latest())
            .map_err(fsio::at(&self.path));
        self.noted(synced)
    }

    /// Appends lines and applies them, without waiting for the disk: the caller
    /// makes them durable with [`StateLog::sync`] before it reports them done.
    /// Returns the write's ticket.
    pub fn append(&self, lines: Vec<Line>) -> io::Result<u64> {
        if lines.is_empty() {
            return Ok(0);
        }
        // Encoded before taking the lock: every writer of the state waits on it.
        let bytes = encode(&lines)?;
        let mut inner = self.lock();
        let appended = self.hold().and_then(|_lock| {
            self.up_to_date(&mut inner)?;
            self.append_locked(&mut inner, &bytes, lines)
        });
        self.noted(appended)
    }

    /// The writers' lock.
    /// [`StateLog::append`], only if the `seen` mark `key` is still `expected` once
    /// the other processes' lines are read (under the writers' lock): what two
    /// processes decided from the same mark (the daemon's upkeep and a cron job's
    /// `notify-owners`) is done once. Returns whether it appended.
    pub fn append_if_mark(
        &self,
        lines: Vec<Line>,
        key: &str,
        expected: Option<u64>,
    ) -> io::Result<bool> {
        let bytes = encode(&lines)?;
        let mut inner = self.lock();
        let appended = self.hold().and_then(|_lock| {
            self.up_to_date(&mut inner)?;
            let mark = match inner.index.as_ref() {
                None => inner.state.seen.get(key).copied(),
                Some(index) => match index.get(index::Kind::Seen, key)? {
                    Some((off, len)) => match self.line_at(&inner, off, len)? {
                        Line::Seen { at, .. } => Some(at),
                        _ => None,
                    },
                    None => None,
                },
            };
            if mark != expected {
                return Ok(false);
            }
            self.append_locked(&mut inner, &bytes, lines).map(|_| true)
        });
        self.noted(appended)
    }

    fn hold(&self) -> io::Result<fsio::Held<'_>> {
        fsio::hold(&self.lock_file)
            .map_err(|e| fsio::at(&self.path.with_file_name(".state.log.lock"))(e))
    }

    /// Appends a roster change with the next sequence number (taken under the
    /// writers' lock, so unique across processes); returns the number. Durable after
    /// [`StateLog::sync`].
    pub fn append_roster(&self, entry: RosterEntry) -> io::Result<u64> {
        let mut inner = self.lock();
        let appended = self.hold().and_then(|_lock| {
            let seq = self.up_to_date(&mut inner)?.max_seq + 1;
            let lines = vec![Line::Roster { seq, entry }];
            let bytes = encode(&lines)?;
            self.append_locked(&mut inner, &bytes, lines)?;
            Ok(seq)
        });
        self.noted(appended)
    }

    /// Under the writers' lock: reads what others appended (into memory, or into
    /// the index); returns the highest roster sequence number used.
    fn up_to_date(&self, inner: &mut Inner) -> io::Result<MaxSeq> {
        if inner.index.is_some() {
            let covers = self.index_up_to_date(inner)?;
            return Ok(MaxSeq {
                max_seq: covers.max_seq,
            });
        }
        self.catch_up(inner, true)?;
        Ok(MaxSeq {
            max_seq: inner.state.max_seq,
        })
    }

    /// Appends `bytes` (the encoded `lines`) and applies the lines, under both
    /// locks and caught up; compacts when most of the file is superseded. Returns
    /// the write's ticket.
    fn append_locked(&self, inner: &mut Inner, bytes: &[u8], lines: Vec<Line>) -> io::Result<u64> {
        if inner.index.is_some() {
            return self.append_indexed(inner, bytes, lines);
        }
        fsio::append(&mut inner.file, bytes).map_err(fsio::at(&self.path))?;
        inner.offset += bytes.len() as u64;
        inner.lines += lines.len();
        for line in lines {
            inner.state.apply(line);
        }
        let ticket = self.sync.wrote();
        if inner.lines > 4 * inner.state.len() + 4096 {
            self.compact(inner)?;
        }
        Ok(ticket)
    }

    /// [`StateLog::append_locked`] with an index: the lines go to the log, then
    /// where they are goes to the index (caught up already).
    fn append_indexed(&self, inner: &mut Inner, bytes: &[u8], lines: Vec<Line>) -> io::Result<u64> {
        let start = inner.file.metadata().map_err(fsio::at(&self.path))?.len();
        let covers = self.index_of(inner)?.covers()?;
        fsio::append(&mut inner.file, bytes).map_err(fsio::at(&self.path))?;
        let ticket = self.sync.wrote();
        let mut off = start;
        let spans: Vec<(u64, u64, Line)> = bytes
            .split_inclusive(|b| *b == b'\n')
            .zip(lines)
            .map(|(raw, line)| {
                let at = off;
                off += raw.len() as u64;
                (at, raw.len() as u64, line)
            })
            .collect();
        // On disk in the log already: an index that failed to take them takes them
        // at its next catch-up (it covers less than the log).
        let indexed = covers.filter(|c| c.len == start && c.ino == inner.ino).map(
            |mut covers| -> io::Result<index::Covers> {
                covers.len = off;
                covers.check = tail_bytes(&inner.file, off)?;
                let index = inner
                    .index
                    .as_mut()
                    .ok_or_else(|| io::Error::other("state.idx is not open"))?;
                index.apply(false, spans, &mut covers)?;
                Ok(covers)
            },
        );
        match indexed {
            Some(Ok(covers)) if covers.lines > 4 * covers.live + 4096 => {
                self.compact_indexed(inner)?;
            }
            Some(Err(e)) => tracing::warn!(error = %e, "state.idx not updated; it will be"),
            _ => {}
        }
        Ok(ticket)
    }

    /// Compaction with an index: the whole log read (once in many requests), then
    /// rewritten as without one, and indexed afresh.
    fn compact_indexed(&self, inner: &mut Inner) -> io::Result<()> {
        inner.state = State::default();
        inner.offset = 0;
        inner.lines = 0;
        inner.read_new(true).map_err(fsio::at(&self.path))?;
        let compacted = self.compact(inner);
        inner.state = State::default();
        compacted?;
        self.index_up_to_date(inner).map(|_| ())
    }

    /// Reads what others appended; reopens when the file was replaced (compacted by
    /// another process). With the writers' lock held, a torn last line is cut off.
    fn catch_up(&self, inner: &mut Inner, locked: bool) -> io::Result<()> {
        // The open file first (no path lookup): a compaction elsewhere replaced it
        // when it has no name left.
        let meta = self.metadata(inner)?;
        if meta.ino() != inner.ino {
            self.reopen(inner)?;
            inner.offset = 0;
            inner.lines = 0;
        }
        if meta.len() != inner.offset {
            inner.read_new(locked).map_err(fsio::at(&self.path))?;
        }
        Ok(())
    }

    /// The error when the log's path no longer names a file: deleted (with its
    /// folder, most likely) under a running listkeeper.
    fn gone(&self, e: io::Error) -> io::Error {
        if e.kind() != io::ErrorKind::NotFound {
            return fsio::at(&self.path)(e);
        }
        io::Error::new(
            e.kind(),
            format!(
                "{} was deleted while listkeeper was running ({e}); listkeeper does not start a new state behind your back: stop it (and every `listkeeper deliver`) before removing its state, then start it again",
                self.path.display()
            ),
        )
    }

    /// Rewrites the log with only the live state (under the writers' lock),
    /// forgetting the keys seen [`SEEN_FOR`] before the newest one.
    fn compact(&self, inner: &mut Inner) -> io::Result<()> {
        let now = inner.state.newest_seen;
        let lines = inner.state.lines(now.saturating_sub(SEEN_FOR));
        let bytes = encode(&lines)?;
        fsio::write_private(&self.path, &bytes).map_err(fsio::at(&self.path))?;
        self.reopen(inner)?;
        for line in lines {
            inner.state.apply(line);
        }
        inner.offset = bytes.len() as u64;
        inner.lines = inner.state.len();
        Ok(())
    }

    /// Opens the file at the path afresh (it was replaced), with an empty state.
    fn reopen(&self, inner: &mut Inner) -> io::Result<()> {
        let file = fsio::open_append(&self.path)?;
        inner.ino = file.metadata().map_err(fsio::at(&self.path))?.ino();
        self.sync
            .replaced(file.try_clone().map_err(fsio::at(&self.path))?);
        inner.file = file;
        inner.state = State::default();
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Memory changes only after the disk did: a panicking holder left it whole.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Moves the state of a listkeeper from before `state.log` (a file per pending or
/// held request, per queued batch, and `seen.log`) into the log: appended and
/// fsync'd first, the old files removed after, so a crash in between only imports
/// them again. A file that does not parse is left where it is, with a warning.
fn import_legacy(state_dir: &Path, inner: &mut Inner) -> io::Result<()> {
    let mut found = Legacy::default();
    found.read_requests(state_dir)?;
    found.read_batches(state_dir)?;
    found.read_seen(state_dir);
    if found.files.is_empty() {
        return Ok(());
    }
    let count = found.lines.len();
    inner.append_synced(found.lines)?;
    remove_legacy(state_dir, &found.files)?;
    tracing::warn!(
        records = count,
        "the state of an older listkeeper was moved into state.log"
    );
    Ok(())
}

/// What [`import_legacy`] found: the lines to append, and the files they came from.
#[derive(Default)]
struct Legacy {
    lines: Vec<Line>,
    files: Vec<PathBuf>,
}

impl Legacy {
    /// `pending/LIST/ID.json` and `held/LIST/ID.json`: one request each.
    fn read_requests(&mut self, state_dir: &Path) -> io::Result<()> {
        for (folder, queue) in [
            ("pending", Awaiting::Confirmation),
            ("held", Awaiting::Owners),
        ] {
            for list_dir in entries(&state_dir.join(folder))? {
                let Some(list) = list_dir.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                for file in entries(&list_dir)? {
                    let Some(id) = json_stem(&file) else { continue };
                    if let Some(record) = read_legacy::<Pending>(&file)? {
                        let key = format!("{list}/{id}");
                        self.lines.push(Line::awaiting(queue, key, Some(record)));
                        self.files.push(file);
                    }
                }
            }
        }
        Ok(())
    }

    /// `outbox/*.json`: one queued batch each.
    fn read_batches(&mut self, state_dir: &Path) -> io::Result<()> {
        for file in entries(&state_dir.join("outbox"))? {
            if json_stem(&file).is_none() {
                continue;
            }
            if let Some(batch) = read_legacy::<Batch>(&file)? {
                self.lines.push(Line::Batch {
                    key: batch.key.clone(),
                    batch: Some(Box::new(batch)),
                });
                self.files.push(file);
            }
        }
        Ok(())
    }

    /// `seen.log`: a processed request's key a line (when it can be read at all).
    fn read_seen(&mut self, state_dir: &Path) {
        let seen_log = state_dir.join("seen.log");
        let Ok(text) = std::fs::read_to_string(&seen_log) else {
            return;
        };
        // Seen when the file was last written at the latest (not a clock read here).
        let at = std::fs::metadata(&seen_log)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        self.lines.extend(
            text.lines()
                .filter(|k| !k.is_empty())
                .map(|key| Line::Seen {
                    key: key.to_owned(),
                    at,
                }),
        );
        self.files.push(seen_log);
    }
}

/// One file of the old layout; `None`, with a warning, when it does not parse (it is
/// left where it is).
fn read_legacy<T: serde::de::DeserializeOwned>(file: &Path) -> io::Result<Option<T>> {
    match serde_json::from_slice::<T>(&std::fs::read(file)?) {
        Ok(value) => Ok(Some(value)),
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "old state file not imported");
            Ok(None)
        }
    }
}

/// Removes the imported files (once their lines are durable in the log), then the
/// request folders they leave empty.
fn remove_legacy(state_dir: &Path, imported: &[PathBuf]) -> io::Result<()> {
    for file in imported {
        std::fs::remove_file(file)?;
    }
    for folder in ["pending", "held"] {
        for list_dir in entries(&state_dir.join(folder))? {
            let _ = std::fs::remove_dir(list_dir);
        }
    }
    fsio::sync_dir(state_dir)
}

/// The highest roster sequence number used, as seen under the writers' lock.
struct MaxSeq {
    max_seq: u64,
}

/// The lines of `tail` (complete lines, starting at offset `start` of the log) that
/// parse, each with its offset and length, and how many others (not blank) were
/// skipped, with a warning.
fn spans(tail: &[u8], start: u64) -> (Vec<(u64, u64, Line)>, u64) {
    let mut off = start;
    let mut lines = Vec::new();
    let mut skipped = 0;
    for raw in tail.split_inclusive(|b| *b == b'\n') {
        let len = raw.len() as u64;
        match serde_json::from_slice::<Line>(raw.trim_ascii_end()) {
            Ok(line) => lines.push((off, len, line)),
            Err(e) if !raw.trim_ascii().is_empty() => {
                skipped += 1;
                tracing::warn!(error = %e, "state.log: a line that does not parse was skipped")
            }
            Err(_) => {}
        }
        off += len;
    }
    (lines, skipped)
}

/// The last [`index::CHECK`] bytes (or fewer) of the file before `len`.
fn tail_bytes(file: &File, len: u64) -> io::Result<Vec<u8>> {
    let from = len.saturating_sub(index::CHECK);
    let mut raw = vec![0; (len - from) as usize];
    file.read_exact_at(&mut raw, from)?;
    Ok(raw)
}

/// Lines as the log holds them: one JSON object each, newline-terminated.
fn encode(lines: &[Line]) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for line in lines {
        serde_json::to_writer(&mut bytes, line).map_err(io::Error::other)?;
        bytes.push(b'\n');
    }
    Ok(bytes)
}

/// The entries of a folder (none when it is missing).
fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(read) => read.map(|e| e.map(|e| e.path())).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The name of a `.json` file without its extension.
fn json_stem(path: &Path) -> Option<&str> {
    if path.is_file() && path.extension().is_some_and(|x| x == "json") {
        path.file_stem().and_then(|s| s.to_str())
    } else {
        None
    }
}

impl Inner {
    /// Appends `lines` and fsyncs them, then applies them (the caller holds the
    /// writers' lock).
    fn append_synced(&mut self, lines: Vec<Line>) -> io::Result<()> {
        let bytes = encode(&lines)?;
        fsio::append(&mut self.file, &bytes)?;
        self.file.sync_data()?;
        self.offset += bytes.len() as u64;
        self.lines += lines.len();
        for line in lines {
            self.state.apply(line);
        }
        Ok(())
    }

    /// Applies the complete lines after `offset`. A line that does not parse is
    /// skipped with a warning (it cannot be ours, whole); an incomplete last line is
    /// left for its writer, or cut off when `locked` (its writer died).
    fn read_new(&mut self, locked: bool) -> io::Result<()> {
        let mut tail = Vec::new();
        self.file.seek(SeekFrom::Start(self.offset))?;
        self.file.read_to_end(&mut tail)?;
        let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for raw in tail[..complete].split(|b| *b == b'\n') {
            if raw.is_empty() {
                continue;
            }
            self.lines += 1;
            match serde_json::from_slice::<Line>(raw) {
                Ok(line) => self.state.apply(line),
                Err(e) => {
                    tracing::warn!(error = %e, "state.log: a line that does not parse was skipped")
                }
            }
        }
        self.offset += complete as u64;
        if locked && complete < tail.len() {
            tracing::warn!(
                bytes = tail.len() - complete,
                "state.log: a line cut short by a crash was removed"
            );
            self.file.set_len(self.offset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// The time the tests run at.
    const NOW: u64 = 1_770_000_000;

    fn seen(key: &str) -> Line {
        Line::Seen {
            key: key.into(),
            at: NOW,
        }
    }

    /// Roster lines as every listkeeper so far wrote them read as the typed entry,
    /// and are written back byte for byte.
    #[test]
    fn roster_lines_keep_their_format_on_disk() {
        let old = [
            r#"{"op":"roster","seq":1,"entry":{"list":"sm-cop","address":"a@x.gov","add":true,"since":"2026-01-05T10:00:00Z","via":"sync:hr"}}"#,
            r#"{"op":"roster","seq":2,"entry":{"list":"sm-cop","address":"b@x.gov","add":false}}"#,
            r#"{"op":"roster","seq":3,"entry":{"list":"sm-cop","address":"c@x.gov","add":true,"via":"by hand"}}"#,
        ];
        let read: Vec<Line> = old
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let entries: Vec<(Edit, Option<Origin>)> = read
            .iter()
            .map(|l| match l {
                Line::Roster { entry, .. } => (entry.edit, entry.via.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            entries,
            [
                (Edit::Add, Some(Origin::Sync("hr".into()))),
                (Edit::Remove, None),
                (Edit::Add, Some(Origin::Other("by hand".into()))),
            ]
        );
        for (line, text) in read.iter().zip(old) {
            assert_eq!(serde_json::to_string(line).unwrap(), text);
        }
    }

    #[test]
    fn lines_survive_reopening_and_other_writers_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let a = StateLog::open(dir.path()).unwrap();
        let b = StateLog::open(dir.path()).unwrap();
        a.write(vec![seen("k1")]).unwrap();
        assert!(b.read(|s| s.seen.contains_key("k1")).unwrap());
        b.write(vec![seen("k2")]).unwrap();
        a.write(vec![seen("k3")]).unwrap();
        let c = StateLog::open(dir.path()).unwrap();
        assert_eq!(c.read(|s| s.seen.len()).unwrap(), 3);
    }

    #[test]
    fn roster_changes_are_numbered_and_leave_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let a = StateLog::open(dir.path()).unwrap();
        let entry = |list: &str, address: &str| RosterEntry {
            list: list.into(),
            address: address.into(),
            edit: Edit::Add,
            name: None,
            since: None,
            via: None,
            setting: None,
            request: None,
            terms: None,
            lang: None,
        };
        let one = a.append_roster(entry("l1", "Ann@x.gov")).unwrap();
        let two = a.append_roster(entry("l2", "bob@x.gov")).unwrap();
        assert!(two > one);
        assert_eq!(a.read(|s| s.roster.len()).unwrap(), 2);
        a.write(vec![Line::RosterSaved {
            list: "l1".into(),
            upto: two,
        }])
        .unwrap();
        assert!(!a.read(|s| s.roster.contains_key(&one)).unwrap());
        assert!(
            a.read(|s| s.roster.contains_key(&two)).unwrap(),
            "another list's change stays"
        );
        // Numbers never go back, even once every change was saved.
        a.write(vec![Line::RosterSaved {
            list: "l2".into(),
            upto: two,
        }])
        .unwrap();
        let b = StateLog::open(dir.path()).unwrap();
        assert!(b.append_roster(entry("l1", "c@x.gov")).unwrap() > two);
    }

    #[test]
    fn the_state_of_an_older_listkeeper_is_moved_in() {
        let dir = tempfile::tempdir().unwrap();
        let pending = serde_json::json!({
            "list": "sm-cop", "address": "ann@x.gov", "name": null, "action": "subscribe",
            "kid": "k1", "nonce": "00", "created": 1, "expires": 9_999_999_999u64
        });
        for folder in ["pending/sm-cop", "held/sm-cop", "outbox/failed"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::write(
            dir.path().join("pending/sm-cop/ABCDEFGHIJKLMNOP.json"),
            pending.to_string(),
        )
        .unwrap();
        std::fs::write(dir.path().join("held/sm-cop/broken.json"), "{").unwrap();
        let batch = serde_json::json!({
            "key": "b1", "list": "sm-cop", "created": 1, "attempts": 0, "next_attempt": 0,
            "last_error": null, "mails": []
        });
        std::fs::write(dir.path().join("outbox/b1.json"), batch.to_string()).unwrap();
        std::fs::write(dir.path().join("outbox/failed/f1.json"), "kept").unwrap();
        std::fs::write(dir.path().join("seen.log"), "s1\ns2\n").unwrap();

        let log = StateLog::open(dir.path()).unwrap();
        let (pending, outbox, seen) = log
            .read(|s| {
                (
                    s.pending.contains_key("sm-cop/ABCDEFGHIJKLMNOP"),
                    s.outbox.contains_key("b1"),
                    s.seen.len(),
                )
            })
            .unwrap();
        assert!(pending && outbox);
        assert_eq!(seen, 2);
        assert!(!dir.path().join("pending/sm-cop").exists());
        assert!(!dir.path().join("outbox/b1.json").exists());
        assert!(!dir.path().join("seen.log").exists());
        assert!(
            dir.path().join("held/sm-cop/broken.json").exists(),
            "what does not parse stays"
        );
        assert!(dir.path().join("outbox/failed/f1.json").exists());
        drop(log);
        // Once moved, a second start finds the same state and nothing to import.
        let again = StateLog::open(dir.path()).unwrap();
        assert_eq!(again.read(|s| s.seen.len()).unwrap(), 2);
    }

    #[test]
    fn a_torn_last_line_is_ignored_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let a = StateLog::open(dir.path()).unwrap();
        a.write(vec![seen("k1")]).unwrap();
        drop(a);
        let path = dir.path().join("state.log");
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"{\"op\":\"seen\",\"key\":\"half");
        std::fs::write(&path, &text).unwrap();
        let b = StateLog::open(dir.path()).unwrap();
        assert_eq!(b.read(|s| s.seen.len()).unwrap(), 1);
        b.write(vec![seen("k2")]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains("half"));
    }

    fn pending_line(key: &str, address: &str) -> Line {
        Line::Pending {
            key: key.into(),
            record: Some(Pending {
                list: "sm-cop".into(),
                address: address.into(),
                name: None,
                action: crate::token::Intent::Subscribe,
                kid: "k1".into(),
                nonce: "00".into(),
                created: 1,
                expires: 2,
                hold: false,
                sends: Vec::new(),
                rule: None,
                setting: None,
                by: None,
                quiet: false,
                request: None,
                lang: None,
                from: None,
            }),
        }
    }

    /// Issue 21: a `deliver` looks records up in the index; it sees what a process
    /// keeping the state in memory wrote, and that process sees its writes.
    #[test]
    fn an_indexed_handle_and_an_in_memory_one_share_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = StateLog::open(dir.path()).unwrap();
        daemon
            .write(vec![seen("d1"), pending_line("sm-cop/p1", "a@x.gov")])
            .unwrap();
        let pipe = StateLog::open_indexed(dir.path()).unwrap();
        assert!(pipe.processed("d1").unwrap());
        assert!(!pipe.processed("nope").unwrap());
        let p = pipe
            .pending(Awaiting::Confirmation, "sm-cop/p1")
            .unwrap()
            .unwrap();
        assert_eq!(p.address, "a@x.gov");
        assert_eq!(pipe.pending(Awaiting::Owners, "sm-cop/p1").unwrap(), None);
        // Appended by the daemon after the index was made: found all the same.
        daemon
            .write(vec![
                Line::Pending {
                    key: "sm-cop/p1".into(),
                    record: None,
                },
                pending_line("sm-cop/p2", "b@x.gov"),
            ])
            .unwrap();
        assert_eq!(
            pipe.pending(Awaiting::Confirmation, "sm-cop/p1").unwrap(),
            None
        );
        assert!(
            pipe.pending(Awaiting::Confirmation, "sm-cop/p2")
                .unwrap()
                .is_some()
        );
        // The indexed handle's writes, roster numbers included, reach the daemon.
        pipe.write(vec![seen("p-seen")]).unwrap();
        let entry = RosterEntry {
            list: "sm-cop".into(),
            address: "c@x.gov".into(),
            edit: Edit::Add,
            name: None,
            since: None,
            via: None,
            setting: None,
            request: None,
            terms: None,
            lang: None,
        };
        let one = daemon.append_roster(entry.clone()).unwrap();
        let two = pipe.append_roster(entry.clone()).unwrap();
        assert!(two > one);
        assert!(daemon.read(|s| s.seen.contains_key("p-seen")).unwrap());
        assert_eq!(daemon.read(|s| s.roster.len()).unwrap(), 2);
        assert_eq!(pipe.roster_changes().unwrap().len(), 2);
        daemon
            .write(vec![Line::RosterSaved {
                list: "sm-cop".into(),
                upto: one,
            }])
            .unwrap();
        assert_eq!(
            pipe.roster_changes()
                .unwrap()
                .into_keys()
                .collect::<Vec<_>>(),
            [two]
        );
        // A new indexed handle starts from the index as it is.
        let again = StateLog::open_indexed(dir.path()).unwrap();
        assert!(again.processed("p-seen").unwrap());
        assert!(
            again
                .pending(Awaiting::Confirmation, "sm-cop/p2")
                .unwrap()
                .is_some()
        );
        // A whole-state read works there too (the log is read into memory once).
        assert_eq!(again.read(|s| s.pending.len()).unwrap(), 1);
    }

    /// An index that no longer matches the log (compacted elsewhere, or the log
    /// replaced by another of the same length) is rebuilt, not trusted.
    #[test]
    fn an_index_that_does_not_match_the_log_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let pipe = StateLog::open_indexed(dir.path()).unwrap();
        pipe.write(vec![seen("aaaa")]).unwrap();
        assert!(pipe.processed("aaaa").unwrap());
        // Same length, other content, same inode (rewritten in place).
        let path = dir.path().join("state.log");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("aaaa", "bbbb");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .write_all_at(text.as_bytes(), 0)
            .unwrap();
        assert!(!pipe.processed("aaaa").unwrap());
        assert!(pipe.processed("bbbb").unwrap());
        // Compaction by an in-memory handle: a new file, indexed afresh.
        let daemon = StateLog::open(dir.path()).unwrap();
        for i in 0..5000u64 {
            daemon
                .write(vec![Line::Seen {
                    key: "hot".into(),
                    at: NOW + i % 2,
                }])
                .unwrap();
        }
        assert!(pipe.processed("hot").unwrap());
        assert!(pipe.processed("bbbb").unwrap());
        // And by the indexed handle itself.
        for i in 0..5000u64 {
            pipe.write(vec![pending_line("sm-cop/hot", &format!("{i}@x.gov"))])
                .unwrap();
        }
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < 5000, "compacted: {lines} lines");
        let p = pipe
            .pending(Awaiting::Confirmation, "sm-cop/hot")
            .unwrap()
            .unwrap();
        assert_eq!(p.address, "4999@x.gov");
        assert_eq!(
            daemon
                .read(|s| s.pending["sm-cop/hot"].address.clone())
                .unwrap(),
            "4999@x.gov"
        );
    }

    #[test]
    fn compaction_keeps_the_live_state_and_forgets_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let a = StateLog::open(dir.path()).unwrap();
        let other = StateLog::open(dir.path()).unwrap();
        a.write(vec![Line::Seen {
            key: "ancient".into(),
            at: 1,
        }])
        .unwrap();
        // Many updates of one key: the file grows, the state does not.
        for i in 0..5000u64 {
            a.write(vec![Line::Seen {
                key: "hot".into(),
                at: NOW + i % 2,
            }])
            .unwrap();
        }
        let lines = std::fs::read_to_string(dir.path().join("state.log"))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 5000, "compacted: {lines} lines");
        assert!(a.read(|s| s.seen.contains_key("hot")).unwrap());
        assert!(!a.read(|s| s.seen.contains_key("ancient")).unwrap());
        // Another handle notices the new file and reads it afresh.
        assert!(other.read(|s| s.seen.contains_key("hot")).unwrap());
        assert!(!other.read(|s| s.seen.contains_key("ancient")).unwrap());
    }
}
