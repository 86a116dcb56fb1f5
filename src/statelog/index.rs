//! `state_dir/state.idx`: where each live record of `state.log` is, by key, for a
//! process that answers one message and must not read the whole log to do it
//! (`listkeeper deliver`, one process a message under Postfix's pipe).
//!
//! The index is an SQLite database (WAL, no fsync of its own: it is derived). It says
//! which log it covers (inode, length, and the last bytes before that length) and,
//! for every live record, the offset and length of the line that set it. A process
//! holding the writers' lock brings it up to date by indexing the lines appended
//! since (by the daemon, which keeps the whole state in memory and never reads the
//! index); when it no longer matches the log (compacted, cut back by a crash, or the
//! index lost) it is rebuilt from the log. SQLite rather than a hand-made file: it is
//! safe with several processes, survives a crash whole, and looks keys up in a
//! B-tree.

use super::Line;
use rusqlite::{Connection, OptionalExtension, params};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How many bytes before the covered length are kept to recognise the same log.
pub(super) const CHECK: u64 = 64;

/// The kinds of record, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Pending = 0,
    Held = 1,
    Batch = 2,
    Seen = 3,
    Roster = 4,
    Bounce = 5,
}

/// What part of which log the index covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Covers {
    /// The log's inode.
    pub ino: u64,
    /// Bytes of the log indexed.
    pub len: u64,
    /// The last [`CHECK`] bytes (or fewer) before `len`.
    pub check: Vec<u8>,
    /// Lines in the log (to tell when compaction pays).
    pub lines: u64,
    /// Live records.
    pub live: u64,
    /// The highest roster sequence number ever used.
    pub max_seq: u64,
}

/// The index, open.
#[derive(Debug)]
pub(super) struct Index {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("state.idx: {e}"))
}

fn seq_key(seq: u64) -> String {
    format!("{seq:020}")
}

impl Index {
    /// Opens (creating) the index beside the log; a file SQLite cannot read is
    /// replaced by an empty index (it is rebuilt from the log).
    pub(super) fn open(state_dir: &Path) -> io::Result<Index> {
        let path = state_dir.join("state.idx");
        match Self::open_at(&path) {
            Ok(index) => Ok(index),
            Err(e) => {
                tracing::warn!(error = %e, "state.idx unreadable: rebuilt from state.log");
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
                Self::open_at(&path).map_err(err)
            }
        }
    }

    fn open_at(path: &Path) -> rusqlite::Result<Index> {
        // Private, as every state file (SQLite's -wal and -shm files take this mode).
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path);
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // No fsync per commit (WAL's NORMAL: only at checkpoints, and never
        // corrupted): a commit lost to a power cut is indexed again from the log.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // No checkpoint each time a `deliver` closes it (a checkpoint fsyncs the WAL
        // and the database, and the next open makes the WAL anew and fsyncs the
        // folder): SQLite checkpoints when the WAL passes its limit instead. A short
        // limit, because every process that opens the index first reads the whole
        // WAL (SQLite's recovery of its wal-index): 64 pages keep that read at most
        // 256 KB, where the default 1,000 pages made it up to 4 MB a `deliver`.
        conn.pragma_update(None, "wal_autocheckpoint", 64)?;
        conn.pragma_update(None, "journal_size_limit", 512 * 1024)?;
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS covers (one INTEGER PRIMARY KEY CHECK (one = 1),
                 ino INTEGER NOT NULL, len INTEGER NOT NULL, tail BLOB NOT NULL,
                 lines INTEGER NOT NULL, live INTEGER NOT NULL, max_seq INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS rec (kind INTEGER NOT NULL, key TEXT NOT NULL,
                 off INTEGER NOT NULL, len INTEGER NOT NULL, list TEXT,
                 PRIMARY KEY (kind, key)) WITHOUT ROWID;",
        )?;
        Ok(Index { conn })
    }

    /// What the index covers; `None` when it covers nothing yet.
    pub(super) fn covers(&self) -> io::Result<Option<Covers>> {
        self.conn
            .query_row(
                "SELECT ino, len, tail, lines, live, max_seq FROM covers WHERE one = 1",
                [],
                |r| {
                    Ok(Covers {
                        ino: r.get::<_, i64>(0)? as u64,
                        len: r.get::<_, i64>(1)? as u64,
                        check: r.get(2)?,
                        lines: r.get::<_, i64>(3)? as u64,
                        live: r.get::<_, i64>(4)? as u64,
                        max_seq: r.get::<_, i64>(5)? as u64,
                    })
                },
            )
            .optional()
            .map_err(err)
    }

    /// Indexes `lines` (each with its offset and length in the log), starting from
    /// an empty index when `fresh`, and records what the index covers now; one
    /// transaction.
    /// Leaves no trace of deleted rows in the files (after an erasure): the database
    /// rebuilt from its live rows (`VACUUM`), then the WAL emptied and truncated.
    pub(super) fn purge(&mut self) -> io::Result<()> {
        self.conn.execute_batch("VACUUM").map_err(err)?;
        let busy: i64 = (self.conn)
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .map_err(err)?;
        match busy {
            0 => Ok(()),
            _ => Err(io::Error::other(
                "state.idx: another process kept its write-ahead log open; run erase again",
            )),
        }
    }

    pub(super) fn apply(
        &mut self,
        fresh: bool,
        lines: impl IntoIterator<Item = (u64, u64, Line)>,
        covers: &mut Covers,
    ) -> io::Result<()> {
        let tx = self.conn.transaction().map_err(err)?;
        if fresh {
            tx.execute("DELETE FROM rec", []).map_err(err)?;
        }
        for (off, len, line) in lines {
            covers.lines += 1;
            let (kind, key, present, list) = match line {
                Line::Pending { key, record } => (Kind::Pending, key, record.is_some(), None),
                Line::Held { key, record } => (Kind::Held, key, record.is_some(), None),
                Line::Batch { key, batch } => (Kind::Batch, key, batch.is_some(), None),
                Line::Seen { key, .. } => (Kind::Seen, key, true, None),
                Line::Bounce { key, score } => (Kind::Bounce, key, score.is_some(), None),
                Line::Roster { seq, entry } => {
                    covers.max_seq = covers.max_seq.max(seq);
                    (Kind::Roster, seq_key(seq), true, Some(entry.list))
                }
                Line::RosterSaved { list, upto } => {
                    covers.max_seq = covers.max_seq.max(upto);
                    let gone = forget_saved(&tx, &list, upto).map_err(err)?;
                    covers.live = covers.live.saturating_sub(gone as u64);
                    continue;
                }
            };
            if present {
                let at = Located { off, len, list };
                if set(&tx, kind, &key, &at).map_err(err)? {
                    covers.live += 1;
                }
            } else {
                let gone = tx
                    .prepare_cached("DELETE FROM rec WHERE kind = ?1 AND key = ?2")
                    .and_then(|mut s| s.execute(params![kind as i64, key]))
                    .map_err(err)?;
                covers.live = covers.live.saturating_sub(gone as u64);
            }
        }
        write_covers(&tx, covers).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Where the line that set record `key` of `kind` is (offset, length).
    pub(super) fn get(&self, kind: Kind, key: &str) -> io::Result<Option<(u64, u64)>> {
        self.conn
            .prepare_cached("SELECT off, len FROM rec WHERE kind = ?1 AND key = ?2")
            .and_then(|mut s| {
                s.query_row(params![kind as i64, key], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
                })
                .optional()
            })
            .map_err(err)
    }

    /// Where the lines of every roster change not yet saved are.
    pub(super) fn roster(&self) -> io::Result<Vec<(u64, u64)>> {
        let mut s = self
            .conn
            .prepare_cached("SELECT off, len FROM rec WHERE kind = ?1 ORDER BY key")
            .map_err(err)?;
        let rows = s
            .query_map(params![Kind::Roster as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
    }
}

/// Where a live record's line is, and its list (roster lines only).
struct Located {
    off: u64,
    len: u64,
    list: Option<String>,
}

/// Points a record at its line; true when the record is new.
fn set(
    tx: &rusqlite::Transaction<'_>,
    kind: Kind,
    key: &str,
    at: &Located,
) -> rusqlite::Result<bool> {
    let values = params![kind as i64, key, at.off as i64, at.len as i64, at.list];
    let updated = tx
        .prepare_cached("UPDATE rec SET off = ?3, len = ?4, list = ?5 WHERE kind = ?1 AND key = ?2")
        .and_then(|mut s| s.execute(values))?;
    if updated > 0 {
        return Ok(false);
    }
    tx.prepare_cached("INSERT INTO rec (kind, key, off, len, list) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut s| s.execute(values))?;
    Ok(true)
}

/// Drops a list's roster lines up to `upto`, now in its roster file; how many went.
fn forget_saved(tx: &rusqlite::Transaction<'_>, list: &str, upto: u64) -> rusqlite::Result<usize> {
    tx.prepare_cached("DELETE FROM rec WHERE kind = ?1 AND list = ?2 AND key <= ?3")
        .and_then(|mut s| s.execute(params![Kind::Roster as i64, list, seq_key(upto)]))
}

/// Records which part of which log the index now covers.
fn write_covers(tx: &rusqlite::Transaction<'_>, covers: &Covers) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT OR REPLACE INTO covers (one, ino, len, tail, lines, live, max_seq)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            covers.ino as i64,
            covers.len as i64,
            covers.check,
            covers.lines as i64,
            covers.live as i64,
            covers.max_seq as i64
        ],
    )
}
