//! `listkeeper erase`: the log rewritten without the lines that name one address.

use super::{Inner, Line, SEEN_FOR, State, StateLog, encode, index};
use crate::fsio;
use std::io;

impl StateLog {
    /// Rewrites the log as a compaction does (the live state only, under the
    /// writers' lock), leaving out every line whose text `names` (the sequence
    /// high-water mark is kept). Returns how many live lines were left out. Call it
    /// once the rosters hold every change (a roster change left out is lost).
    pub fn scrub(&self, names: impl Fn(&str) -> bool) -> io::Result<usize> {
        let mut inner = self.lock();
        let _lock = self.hold()?;
        self.up_to_date(&mut inner)?;
        let indexed = inner.index.is_some();
        if indexed {
            // Every record, read from the log itself (the index has only where).
            inner.state = State::default();
            inner.offset = 0;
            inner.lines = 0;
            inner.read_new(true).map_err(fsio::at(&self.path))?;
        }
        let dropped = self.rewrite(&mut inner, &names);
        if indexed {
            inner.state = State::default();
        }
        let dropped = dropped?;
        self.reindex(&mut inner, indexed)?;
        Ok(dropped)
    }

    /// The index (when there is one, in use here or not) made again from the
    /// rewritten log, its files holding nothing of the rows it dropped; kept open
    /// only when it was.
    fn reindex(&self, inner: &mut Inner, keep_open: bool) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        if inner.index.is_none() {
            if !dir.join("state.idx").exists() {
                return Ok(());
            }
            inner.index = Some(index::Index::open(dir)?);
        }
        let purged = self
            .index_up_to_date(inner)
            .and_then(|_| match inner.index.as_mut() {
                Some(index) => index.purge(),
                None => Ok(()),
            });
        if !keep_open {
            inner.index = None;
        }
        purged
    }

    fn rewrite(&self, inner: &mut Inner, names: &impl Fn(&str) -> bool) -> io::Result<usize> {
        let now = inner.state.newest_seen;
        let all = inner.state.lines(now.saturating_sub(SEEN_FOR));
        let before = all.len();
        let mut kept = Vec::with_capacity(before);
        for line in all {
            let text = serde_json::to_string(&line).map_err(io::Error::other)?;
            if matches!(line, Line::RosterSaved { .. }) || !names(&text) {
                kept.push(line);
            }
        }
        let dropped = before - kept.len();
        let bytes = encode(&kept)?;
        fsio::write_private(&self.path, &bytes).map_err(fsio::at(&self.path))?;
        self.reopen(inner)?;
        for line in kept {
            inner.state.apply(line);
        }
        inner.offset = bytes.len() as u64;
        inner.lines = inner.state.len();
        Ok(dropped)
    }
}
