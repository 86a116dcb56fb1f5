//! Rosters: `lists/<id>/roster.toml`, the members of one list (docs/reference.md, sections 1, 6, 9).
//!
//! Admins edit this file by hand and listkeeper edits it too, so listkeeper never
//! re-serialises it: it keeps the file's text and the byte span of each member's
//! line, and an add or a remove splices one line in or out. Every other byte, every
//! comment, blank line and the admins' order, stays as it was.
//!
//! Reading is fast for the layout listkeeper itself writes (one `"addr" = { … }` a
//! line, see `parse.rs`), and falls back to a full TOML parser for anything else, so
//! any valid TOML an admin writes is read correctly and any invalid file is refused
//! with the line at fault. [`RosterFile`] adds the file around it: the lock, the
//! re-read after an outside edit, the atomic save and the `include_file`.

mod parse;
mod setting;
mod shared;
mod store;

pub use crate::records::{Day, Mode, Origin, Setting, Why};
pub use shared::{Change, SharedRoster};
pub use store::{Includes, MakeUri, RosterError, RosterFile, UnsubscribeFile};

use crate::address::EmailAddress;
use std::collections::HashMap;
use std::ops::Range;
use toml_datetime::Datetime;

/// Lower-case address → byte span. foldhash: randomly seeded like std's SipHash, but
/// several times faster on a million short keys.
type Index = HashMap<Box<str>, Range<usize>, foldhash::fast::RandomState>;

/// One member as the roster line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The address, local part as written.
    pub address: EmailAddress,
    /// Display name.
    pub name: Option<String>,
    /// When the member joined.
    pub since: Option<Datetime>,
    /// How the member came: `email`, `token`, `admin`, `import:…`, `sync:…`.
    pub via: Option<Origin>,
    /// How the member gets mail (`mode`, `until`, `why`; absent: plain mail).
    pub setting: Setting,
    /// What the member's agreement came in: `<message-id>` of the mail,
    /// `web:CLIENT` for a page, `admin` for an admin's act.
    pub request: Option<String>,
    /// The list's terms they agreed to: the first 12 hex digits of their SHA-256.
    pub terms: Option<String>,
    /// The member's language (BCP 47), for the texts they are sent.
    pub lang: Option<String>,
}

/// A roster that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A problem that does not stop the roster from loading but that `check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The later line.
    pub line: usize,
    /// The earlier line with the same address in another case.
    pub first_line: usize,
    /// The address on the later line.
    pub address: String,
}

/// The text of a roster file and where each member stands in it.
#[derive(Debug, Clone)]
pub struct Roster {
    text: String,
    /// Lower-case address → the byte span of its line(s), newline included.
    index: Index,
    /// Later entries whose address differs from an indexed one only in case.
    shadowed: Vec<(Box<str>, Range<usize>)>,
    /// Where a new member line goes: after the last member of `[members]`.
    insert_at: usize,
    /// Whether the text has a `[members]` header yet.
    has_header: bool,
    /// Whether the file's lines end in CRLF (new lines follow suit).
    crlf: bool,
}

impl Roster {
    /// Reads roster text; any invalid TOML or invalid member is refused with its line.
    pub fn parse(text: String) -> Result<Roster, ParseError> {
        parse::parse(text)
    }

    /// An empty roster (a list that has no roster file yet).
    pub fn empty() -> Roster {
        Roster {
            text: String::new(),
            index: Index::default(),
            shadowed: Vec::new(),
            insert_at: 0,
            has_header: false,
            crlf: false,
        }
    }

    /// The file's text as it stands.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Number of members (entries that differ only in case count once).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the address is a member, in any case.
    pub fn contains(&self, address: &EmailAddress) -> bool {
        self.index.contains_key(address.key().as_str())
    }

    /// The member with this address, in any case.
    pub fn get(&self, address: &EmailAddress) -> Option<Member> {
        let span = self.index.get(address.key().as_str())?;
        self.member_at(span.clone())
    }

    /// Every member, in file order.
    pub fn members(&self) -> Vec<Member> {
        self.sorted_spans()
            .into_iter()
            .filter_map(|s| self.member_at(s))
            .collect()
    }

    /// Every member with the 1-based line it starts on, in file order.
    pub fn entries(&self) -> Vec<(usize, Member)> {
        let mut line = 1;
        let mut counted = 0;
        let bytes = self.text.as_bytes();
        self.sorted_spans()
            .into_iter()
            .filter_map(|s| {
                line += bytes[counted..s.start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                counted = s.start;
                Some((line, self.member_at(s)?))
            })
            .collect()
    }

    /// The address of every member who gets each post, one a line, in file order:
    /// what `include_file` holds.
    pub fn address_lines(&self) -> String {
        self.lines_of(Mode::Mail)
    }

    /// The address of every digest member, one a line: what `digest_include_file` holds.
    pub fn digest_lines(&self) -> String {
        self.lines_of(Mode::Digest)
    }

    /// The addresses of the members in `mode`, one a line, in file order.
    fn lines_of(&self, mode: Mode) -> String {
        let mut out = String::with_capacity(self.index.len() * 32);
        for span in self.sorted_spans() {
            let line = &self.text[span.clone()];
            // Most lines have no `mode` at all: plain mail, without reading the line.
            let in_mode = if line.contains("mode") {
                self.member_at(span.clone())
                    .is_some_and(|m| m.setting.mode == mode)
            } else {
                mode == Mode::Mail
            };
            if !in_mode {
                continue;
            }
            // listkeeper's own lines start with the plain quoted address: take it as
            // it stands rather than parse the whole line.
            let plain = line
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(key, _)| key)
                .filter(|key| !key.contains('\\'));
            let written = match plain {
                Some(key) => std::borrow::Cow::Borrowed(key),
                None => match parse::written_key(line) {
                    Some(key) => std::borrow::Cow::Owned(key),
                    None => continue,
                },
            };
            if EmailAddress::push_display(&written, &mut out).is_ok() {
                out.push('\n');
            }
        }
        out
    }

    /// How many members have an address at `domain` (lower case, as in member keys).
    pub fn count_at(&self, domain: &str) -> usize {
        self.index
            .keys()
            .filter(|k| k.rsplit_once('@').is_some_and(|(_, d)| d == domain))
            .count()
    }

    /// Members whose setting lapsed at `now` (a nomail whose `until` has come).
    /// Reads only the lines that carry an `until`.
    pub fn lapsed(&self, now: u64) -> Vec<Member> {
        self.sorted_spans()
            .into_iter()
            .filter(|s| self.text[s.clone()].contains("until"))
            .filter_map(|s| self.member_at(s))
            .filter(|m| m.setting.lapsed(now))
            .collect()
    }

    /// What is wrong with members' delivery settings (`check` reports them; the
    /// members are kept, an unknown mode read as mail): the 1-based line and why.
    pub fn setting_problems(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for span in self.sorted_spans() {
            let line = &self.text[span.clone()];
            if !["mode", "until", "why"].iter().any(|f| line.contains(f)) {
                continue;
            }
            if let Ok((_, problems)) = parse::checked_member(line) {
                let at = self.line_of(span.start);
                out.extend(problems.into_iter().map(|p| (at, p)));
            }
        }
        out
    }

    /// Changes a member's delivery setting, keeping the rest of the line (fields,
    /// comment) as written; `false` if not a member or already so.
    pub fn set(&mut self, address: &EmailAddress, setting: &Setting) -> bool {
        let key = address.key();
        let Some(span) = self.index.get(key.as_str()).cloned() else {
            return false;
        };
        let Some(mut member) = self.member_at(span.clone()) else {
            return false;
        };
        if member.setting == *setting {
            return false;
        }
        let snippet = &self.text[span.clone()];
        let mut line = match setting::with_setting(snippet, setting) {
            Some(line) => line,
            None => {
                member.setting = *setting;
                parse::member_line(&member)
            }
        };
        if self.crlf && !line.ends_with("\r\n") {
            line.insert(line.len() - 1, '\r');
        }
        let (start, end) = (span.start, span.end);
        let was_last = self.insert_at == end;
        self.text.replace_range(span, &line);
        self.index
            .insert(key.into_boxed_str(), start..start + line.len());
        // Spans after this one move; the line's own start stays.
        self.shift(end, line.len() as isize - (end - start) as isize);
        if was_last {
            self.insert_at = start + line.len();
        }
        true
    }

    fn sorted_spans(&self) -> Vec<Range<usize>> {
        let mut spans: Vec<Range<usize>> = self.index.values().cloned().collect();
        spans.sort_unstable_by_key(|s| s.start);
        spans
    }

    /// Entries that differ from an earlier one only in case (a `check` error).
    pub fn duplicates(&self) -> Vec<Duplicate> {
        let mut out: Vec<Duplicate> = self
            .shadowed
            .iter()
            .filter_map(|(key, span)| {
                let first = self.index.get(key)?;
                Some(Duplicate {
                    line: self.line_of(span.start),
                    first_line: self.line_of(first.start),
                    address: self.member_at(span.clone())?.address.to_string(),
                })
            })
            .collect();
        out.sort_by_key(|d| d.line);
        out
    }

    /// Adds a member line after the last member; `false` if already a member.
    pub fn add(&mut self, member: &Member) -> bool {
        let key = member.address.key();
        if self.index.contains_key(key.as_str()) {
            return false;
        }
        let newline = if self.crlf { "\r\n" } else { "\n" };
        let mut insert = String::new();
        let mut at = self.insert_at;
        if !self.has_header {
            at = self.text.len();
            if !self.text.is_empty() && !self.text.ends_with('\n') {
                insert.push_str(newline);
            }
            insert.push_str("[members]");
            insert.push_str(newline);
            self.has_header = true;
        } else if at > 0 && !self.text[..at].ends_with('\n') {
            insert.push_str(newline);
        }
        let line_start = at + insert.len();
        insert.push_str(&parse::member_line(member));
        if newline == "\r\n" {
            insert.insert(insert.len() - 1, '\r');
        }
        if self.text.capacity() - self.text.len() < insert.len() {
            // Grow by a sixty-fourth, not double: a large roster's text is most of
            // the daemon's memory, and a big allocation grows in place (mremap).
            self.text
                .reserve_exact(insert.len().max(self.text.len() / 64));
        }
        if at == self.text.len() {
            // The usual case, `[members]` last: nothing after it to move.
            self.text.push_str(&insert);
        } else {
            self.text.insert_str(at, &insert);
            self.shift(at, insert.len() as isize);
        }
        self.index
            .insert(key.into_boxed_str(), line_start..at + insert.len());
        self.insert_at = at + insert.len();
        true
    }

    /// Removes a member's line(s), in any case; `false` if not a member.
    pub fn remove(&mut self, address: &EmailAddress) -> bool {
        let key = address.key();
        let Some(span) = self.index.remove(key.as_str()) else {
            return false;
        };
        let mut spans = vec![span];
        self.shadowed.retain(|(k, s)| {
            let keep = **k != *key;
            if !keep {
                spans.push(s.clone());
            }
            keep
        });
        spans.sort_by_key(|s| std::cmp::Reverse(s.start));
        for s in spans {
            self.text.replace_range(s.clone(), "");
            self.shift(s.start, -((s.end - s.start) as isize));
        }
        true
    }

    /// Removes many members at once (a sync's removals): one pass over the text and
    /// one re-read, where [`Roster::remove`] would move the rest of the file once for
    /// each. Returns how many were members.
    pub fn remove_many(&mut self, addresses: &[EmailAddress]) -> Result<usize, ParseError> {
        let mut spans = Vec::new();
        for address in addresses {
            let key = address.key();
            if let Some(span) = self.index.get(key.as_str()) {
                spans.push(span.clone());
                spans.extend(
                    self.shadowed
                        .iter()
                        .filter(|(k, _)| **k == *key)
                        .map(|(_, s)| s.clone()),
                );
            }
        }
        let removed = addresses
            .iter()
            .filter(|a| self.index.contains_key(a.key().as_str()))
            .count();
        if spans.is_empty() {
            return Ok(0);
        }
        spans.sort_unstable_by_key(|s| s.start);
        let mut text = String::with_capacity(self.text.len());
        let mut at = 0;
        for span in spans {
            if span.start >= at {
                text.push_str(&self.text[at..span.start]);
                at = span.end;
            }
        }
        text.push_str(&self.text[at..]);
        *self = Roster::parse(text)?;
        Ok(removed)
    }

    /// Moves every span and the insert point that start at or after `from`.
    fn shift(&mut self, from: usize, by: isize) {
        let moved = |x: usize| {
            if x >= from {
                x.saturating_add_signed(by)
            } else {
                x
            }
        };
        for span in self
            .index
            .values_mut()
            .chain(self.shadowed.iter_mut().map(|(_, s)| s))
        {
            if span.start >= from {
                *span = moved(span.start)..moved(span.end);
            }
        }
        if self.insert_at > from || (by > 0 && self.insert_at == from) {
            self.insert_at = moved(self.insert_at);
        }
    }

    fn member_at(&self, span: Range<usize>) -> Option<Member> {
        parse::member_from_span(&self.text[span]).ok()
    }

    fn line_of(&self, offset: usize) -> usize {
        1 + self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }
}

#[cfg(test)]
mod setting_tests;
#[cfg(test)]
mod tests;
