//! Reading roster text: a fast path for one-member-a-line, a full TOML parser otherwise.
//!
//! The fast path reads the layout listkeeper writes, line by line, without building a
//! TOML tree (a tree for a million members costs seconds and gigabytes). It accepts
//! only a strict subset of TOML and gives up ("bails") on anything else: a line it
//! cannot read is parsed alone by `toml_edit`, and a file whose shape it cannot
//! follow (other tables, multi-line values) is parsed whole by `toml_edit`. Either
//! way the result is what a real TOML parser says; property tests hold the two
//! paths to the same answers.

use super::setting::{Field, put_setting, setting_of};
use super::{Index, Member, Origin, ParseError, Roster};
use crate::address::EmailAddress;
use crate::records::Setting;
use std::collections::hash_map::Entry;
use std::ops::Range;
use std::str::FromStr;
use toml_datetime::Datetime;
use toml_edit::{InlineTable, Item, Value};

/// Parses a roster file's text.
pub(super) fn parse(text: String) -> Result<Roster, ParseError> {
    match fast(&text) {
        Some(result) => result.map(|layout| layout.into_roster(text)),
        None => slow(&text).map(|layout| layout.into_roster(text)),
    }
}

/// The member line listkeeper writes, newline included.
pub(super) fn member_line(member: &Member) -> String {
    let mut table = InlineTable::new();
    if let Some(name) = &member.name {
        table.insert("name", name.as_str().into());
    }
    if let Some(since) = member.since {
        table.insert("since", since.into());
    }
    if let Some(via) = &member.via {
        table.insert("via", via.word().as_ref().into());
    }
    put_setting(&mut table, &member.setting);
    for (key, value) in [
        ("request", &member.request),
        ("terms", &member.terms),
        ("lang", &member.lang),
    ] {
        if let Some(value) = value {
            table.insert(key, value.as_str().into());
        }
    }
    // The key and the table as a document would write them, without building one
    // (a document per line was most of the cost of a join).
    let mut value = Value::InlineTable(table);
    value.decor_mut().clear();
    let key = toml_edit::Key::new(member.address.to_string());
    format!("{} = {value}\n", key.display_repr())
}

/// Reads the member on a span of lines (as found by [`parse`]).
pub(super) fn member_from_span(snippet: &str) -> Result<Member, String> {
    checked_member(snippet).map(|(member, _)| member)
}

/// Reads the member on a span of lines, with what is wrong with its delivery
/// setting (an unknown mode, an `until` that is not a date): the member is kept, as
/// plain mail, and `check` reports the problem.
pub(super) fn checked_member(snippet: &str) -> Result<(Member, Vec<String>), String> {
    let line = snippet.trim_end_matches(['\n', '\r']);
    if let Some(entry) = fast_entry(line) {
        return entry.into_member();
    }
    match lone_entry(snippet) {
        Some(result) => result,
        None => Err("not a member line".into()),
    }
}

/// What a parse found, before it is joined with the text.
#[derive(Debug)]
struct Layout {
    index: Index,
    shadowed: Vec<(Box<str>, Range<usize>)>,
    insert_at: usize,
    has_header: bool,
    /// A later part of the text read apart: its members in file order, for the
    /// first part's layout to take ([`Layout::absorb`]), not indexed here.
    later: Option<Vec<(Box<str>, Range<usize>)>>,
}

impl Layout {
    fn new(text: &str) -> Self {
        // One slot a line at most: sized once, never rehashed while reading.
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        Self {
            index: Index::with_capacity_and_hasher(lines, Default::default()),
            shadowed: Vec::new(),
            insert_at: text.len(),
            has_header: false,
            later: None,
        }
    }

    /// The layout of a later part of the text, `lines` long: members listed, not
    /// indexed; no member line yet (`insert_at` 0).
    fn later(lines: usize) -> Self {
        Self {
            index: Index::default(),
            shadowed: Vec::new(),
            insert_at: 0,
            has_header: false,
            later: Some(Vec::with_capacity(lines)),
        }
    }

    /// Records a member. A second entry with the same key is TOML's duplicate key, an
    /// error; one that differs only in case is kept aside for `check` to report.
    fn insert(
        &mut self,
        key: String,
        written: &str,
        span: Range<usize>,
        text: &str,
    ) -> Result<(), ParseError> {
        if let Some(later) = self.later.as_mut() {
            later.push((key.into_boxed_str(), span));
            return Ok(());
        }
        match self.index.entry(key.into_boxed_str()) {
            Entry::Vacant(v) => {
                v.insert(span);
            }
            Entry::Occupied(o) => {
                let (key, first) = (o.key().clone(), o.get().clone());
                return self.clash(key, first, written, span, text);
            }
        }
        Ok(())
    }

    /// A member whose key `key` is a member's already (first at `first`): TOML's
    /// duplicate key when written the same as that entry or as any earlier one that
    /// differed only in case; else kept aside, for `check`.
    fn clash(
        &mut self,
        key: Box<str>,
        first: Range<usize>,
        written: &str,
        span: Range<usize>,
        text: &str,
    ) -> Result<(), ParseError> {
        let same_key = |s: &Range<usize>| written_key(&text[s.clone()]).as_deref() == Some(written);
        let earlier = std::iter::once(&first)
            .chain(
                (self.shadowed.iter())
                    .filter(|(k, _)| *k == key)
                    .map(|(_, s)| s),
            )
            .find(|s| same_key(s));
        if let Some(first) = earlier {
            return Err(ParseError {
                line: line_at(text, span.start),
                message: format!(
                    "`{written}` is already a member on line {}: remove one of the two lines",
                    line_at(text, first.start)
                ),
            });
        }
        self.shadowed.push((key, span));
        Ok(())
    }

    /// The members `later` found after this layout's part of the text, taken in the
    /// file's order as if one pass had read them.
    fn absorb(&mut self, later: Layout, text: &str) -> Result<(), ParseError> {
        for (key, span) in later.later.unwrap_or_default() {
            match self.index.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(span);
                }
                Entry::Occupied(o) => {
                    let (key, first) = (o.key().clone(), o.get().clone());
                    let written = written_key(&text[span.clone()]).unwrap_or_default();
                    self.clash(key, first, &written, span, text)?;
                }
            }
        }
        if later.insert_at > self.insert_at {
            self.insert_at = later.insert_at;
        }
        Ok(())
    }

    fn into_roster(self, text: String) -> Roster {
        Roster {
            crlf: text.contains("\r\n"),
            text,
            index: self.index,
            shadowed: self.shadowed,
            insert_at: self.insert_at,
            has_header: self.has_header,
        }
    }
}

/// The key of a member entry, unescaped, as TOML reads it.
pub(super) fn written_key(snippet: &str) -> Option<String> {
    match fast_entry(snippet.trim_end_matches(['\n', '\r'])) {
        Some(e) => Some(e.key.to_owned()),
        None => lone_key(snippet),
    }
}

/// A roster this large is read in two halves at once (the daemon's start with a
/// million members: one core each).
const HALVES_FROM: usize = 4 << 20;

/// The fast path. `None`: bail to the slow path. `Some(Err)`: a definite error.
fn fast(text: &str) -> Option<Result<Layout, ParseError>> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    if text.len() >= HALVES_FROM
        && let Some(Ok(layout)) = halves(text)
    {
        return Some(Ok(layout));
    }
    // Small, or a half that bailed or erred: one pass, which says what is wrong.
    fast_from(text, 0..text.len(), 0, None)
}

/// The members of a large roster read in two halves at once, then joined in file
/// order. `None` or an error: read it again in one pass (errors are said as one
/// pass finds them first).
fn halves(text: &str) -> Option<Result<Layout, ParseError>> {
    // The second half begins at a line start; its line numbers follow the first's.
    let middle = text.len() / 2;
    let split = text[middle..].find('\n').map(|i| middle + i + 1)?;
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| {
            let lines = text.as_bytes()[..split]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            // Inside `[members]` already: the first half must have its header.
            fast_from(text, split..text.len(), lines, Some(true))
        });
        let first = fast_from(text, 0..split, 0, None);
        (first, second.join().ok().flatten())
    });
    let (Ok(mut layout), Ok(second)) = (first?, second?) else {
        return None;
    };
    if !layout.has_header {
        return None;
    }
    Some(layout.absorb(second, text).map(|()| layout))
}

/// The fast path over the lines of `text` in `range` (whole lines), whose first
/// line is line `before + 1`; `in_members`: `Some(true)` when they follow the
/// `[members]` header (a header there bails).
fn fast_from(
    text: &str,
    range: Range<usize>,
    before: usize,
    in_members: Option<bool>,
) -> Option<Result<Layout, ParseError>> {
    let part = in_members.is_some();
    let mut layout = match part {
        true => {
            let lines = text.as_bytes()[range.clone()]
                .iter()
                .filter(|&&b| b == b'\n');
            Layout::later(lines.count() + 1)
        }
        false => Layout::new(text),
    };
    let mut in_members = in_members.unwrap_or(false);
    let mut start = range.start;
    let mut line_no = before;
    while start < range.end {
        line_no += 1;
        let (end, line) = line_from(text, start);
        let content = line.trim_start_matches([' ', '\t']);
        if content.is_empty() {
            // A blank line.
        } else if content.starts_with('#') {
            if !valid_comment(content) {
                return None;
            }
        } else if content.starts_with('[') {
            if part || in_members || layout.has_header || !is_members_header(content) {
                return None;
            }
            in_members = true;
            layout.has_header = true;
            layout.insert_at = end;
        } else {
            if !in_members {
                return None;
            }
            if let Err(e) = fast_member(&mut layout, text, line, start..end, line_no)? {
                return Some(Err(e));
            }
            layout.insert_at = end;
        }
        start = end;
    }
    Some(Ok(layout))
}

/// The line of `text` that begins at `start`: where the next one begins, and the
/// line without its line break. CR only as part of CRLF: a lone CR (even at the
/// very end) stays, and is not TOML.
#[inline]
fn line_from(text: &str, start: usize) -> (usize, &str) {
    let end = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let raw = &text[start..end];
    let line = match raw.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => raw,
    };
    (end, line)
}

/// Reads the member on line `line_no` under `[members]` (`line` without its line
/// break, `span` with it) and records it. `None`: bail to the slow path (the line
/// may be TOML the fast path cannot place).
#[inline]
fn fast_member(
    layout: &mut Layout,
    text: &str,
    line: &str,
    span: Range<usize>,
    line_no: usize,
) -> Option<Result<(), ParseError>> {
    let error = |message| ParseError {
        line: line_no,
        message,
    };
    if let Some(entry) = fast_entry(line) {
        return Some(match EmailAddress::parse_key(entry.key) {
            Ok(key) => layout.insert(key, entry.key, span, text),
            Err(e) => Err(error(e.to_string())),
        });
    }
    Some(match lone_entry(line)? {
        Ok((member, _)) => {
            let written = lone_key(line).unwrap_or_default();
            layout.insert(member.address.key(), &written, span, text)
        }
        Err(message) => Err(error(message)),
    })
}

/// The slow path: the whole file through `toml_edit`.
fn slow(text: &str) -> Result<Layout, ParseError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| ParseError {
        line: e.span().map_or(1, |s| line_at(text, s.start)),
        message: format!("not valid TOML: {}", e.message().trim()),
    })?;
    let mut layout = Layout::new(text);
    let root = doc.as_table();
    for (key, item) in root.iter() {
        if key != "members" {
            let line = item
                .span()
                .or_else(|| root.key(key).and_then(|k| k.span()))
                .map_or(1, |s| line_at(text, s.start));
            return Err(ParseError {
                line,
                message: format!("unknown key `{key}`: a roster holds only the [members] table"),
            });
        }
    }
    let Some(item) = root.get("members") else {
        return Ok(layout);
    };
    let Item::Table(members) = item else {
        return Err(ParseError {
            line: item.span().map_or(1, |s| line_at(text, s.start)),
            message: "write the members under a `[members]` header, one `\"addr\" = { … }` a line"
                .into(),
        });
    };
    if members.is_dotted() || members.is_implicit() {
        return Err(ParseError {
            line: members.span().map_or(1, |s| line_at(text, s.start)),
            message: "write the members under a `[members]` header, one `\"addr\" = { … }` a line"
                .into(),
        });
    }
    layout.has_header = true;
    layout.insert_at = members.span().map_or(text.len(), |s| line_end(text, s.end));
    for (key, item) in members.iter() {
        let key_span = members.key(key).and_then(|k| k.span());
        let line = key_span
            .clone()
            .or_else(|| item.span())
            .map_or(1, |s| line_at(text, s.start));
        let err = |message: String| ParseError { line, message };
        let (Some(key_span), Some(Value::InlineTable(table))) = (key_span, item.as_value()) else {
            return Err(err(format!(
                "write the member `{key}` on one line as `\"{key}\" = {{ name = \"…\" }}` (or `= {{}}`)"
            )));
        };
        let value_end = item.span().map_or(key_span.end, |s| s.end);
        let span = line_start(text, key_span.start)..line_end(text, value_end);
        let (member, _) = member_from_table(key, table).map_err(err)?;
        layout.insert(member.address.key(), key, span.clone(), text)?;
        layout.insert_at = layout.insert_at.max(span.end);
    }
    Ok(layout)
}

/// A member entry read by the fast path, borrowing from the line.
struct FastEntry<'a> {
    key: &'a str,
    name: Option<&'a str>,
    /// Checked to be a valid datetime; parsed only when asked for.
    since: Option<&'a str>,
    via: Option<&'a str>,
    mode: Option<&'a str>,
    /// Checked to be a valid datetime, like `since`.
    until: Option<&'a str>,
    why: Option<&'a str>,
    request: Option<&'a str>,
    terms: Option<&'a str>,
    lang: Option<&'a str>,
}

impl FastEntry<'_> {
    fn into_member(self) -> Result<(Member, Vec<String>), String> {
        let until = self
            .until
            .map(Datetime::from_str)
            .transpose()
            .map_err(|e| e.to_string())?;
        let (setting, problems) = setting_of(
            self.key,
            self.mode.map(Field::Text),
            until.map(Field::Date),
            self.why.map(Field::Text),
        );
        let member = Member {
            address: EmailAddress::parse(self.key).map_err(|e| e.to_string())?,
            name: self.name.map(str::to_owned),
            since: self
                .since
                .map(Datetime::from_str)
                .transpose()
                .map_err(|e| e.to_string())?,
            via: self.via.map(Origin::from),
            setting,
            request: self.request.map(str::to_owned),
            terms: self.terms.map(str::to_owned),
            lang: self.lang.map(str::to_owned),
        };
        Ok((member, problems))
    }
}

/// `"addr" = { name = "…", since = 2026-01-05T10:00:00Z, via = "…" }  # comment`.
/// `None` for anything else, including valid TOML it does not read (escapes and such).
fn fast_entry(line: &str) -> Option<FastEntry<'_>> {
    let mut c = Cursor { s: line, i: 0 };
    c.ws();
    let key = c.string()?;
    c.ws();
    c.eat(b'=')?;
    c.ws();
    c.eat(b'{')?;
    c.ws();
    let mut entry = FastEntry {
        key,
        name: None,
        since: None,
        via: None,
        mode: None,
        until: None,
        why: None,
        request: None,
        terms: None,
        lang: None,
    };
    if c.eat(b'}').is_none() {
        loop {
            c.ws();
            let field = c.bare_key()?;
            c.ws();
            c.eat(b'=')?;
            c.ws();
            match field {
                "name" if entry.name.is_none() => entry.name = Some(c.string()?),
                "via" if entry.via.is_none() => entry.via = Some(c.string()?),
                "request" if entry.request.is_none() => entry.request = Some(c.string()?),
                "terms" if entry.terms.is_none() => entry.terms = Some(c.string()?),
                "lang" if entry.lang.is_none() => entry.lang = Some(c.string()?),
                "since" if entry.since.is_none() => entry.since = Some(c.datetime()?),
                "mode" if entry.mode.is_none() => entry.mode = Some(c.string()?),
                "why" if entry.why.is_none() => entry.why = Some(c.string()?),
                "until" if entry.until.is_none() => entry.until = Some(c.datetime()?),
                _ => return None,
            }
            c.ws();
            if c.eat(b',').is_some() {
                continue;
            }
            c.eat(b'}')?;
            break;
        }
    }
    c.ws();
    let rest = &line[c.i..];
    (rest.is_empty() || (rest.starts_with('#') && valid_comment(rest))).then_some(entry)
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.i += 1)
    }

    /// A basic string without escapes or a literal string, on one line.
    fn string(&mut self) -> Option<&'a str> {
        let quote = self.peek().filter(|q| matches!(q, b'"' | b'\''))?;
        let start = self.i + 1;
        let len = self.s[start..].find(quote as char)?;
        let body = &self.s[start..start + len];
        if body
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || (quote == b'"' && b == b'\\'))
        {
            return None;
        }
        self.i = start + len + 1;
        Some(body)
    }

    fn bare_key(&mut self) -> Option<&'a str> {
        let start = self.i;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.i += 1;
        }
        (self.i > start).then(|| &self.s[start..self.i])
    }

    fn datetime(&mut self) -> Option<&'a str> {
        let start = self.i;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'+' | b'-'))
        {
            self.i += 1;
        }
        let text = &self.s[start..self.i];
        // Only a real date: a bare number or word is some other TOML value.
        (text.len() >= 10 && text.as_bytes()[4] == b'-').then_some(())?;
        (canonical_datetime(text.as_bytes()) || Datetime::from_str(text).is_ok()).then_some(text)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form listkeeper writes, checked without the general
/// parser. Accepts a subset of what `Datetime::from_str` accepts (a property test
/// holds it to that); anything else goes to the general parser.
fn canonical_datetime(b: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &d| {
            Some(n * 10 + u32::from(d.checked_sub(b'0').filter(|&d| d <= 9)?))
        })
    };
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}

#[cfg(test)]
pub(super) fn canonical_datetime_for_tests(text: &str) -> bool {
    canonical_datetime(text.as_bytes())
}

/// One self-contained `key = { … }` snippet through `toml_edit`.
/// `None` when the snippet is not one such entry on its own.
fn lone_entry(snippet: &str) -> Option<Result<(Member, Vec<String>), String>> {
    let doc = toml_edit::Document::parse(snippet).ok()?;
    let root = doc.as_table();
    let mut iter = root.iter();
    let (key, item) = iter.next()?;
    if iter.next().is_some() {
        return None;
    }
    match item.as_value() {
        Some(Value::InlineTable(table)) => Some(member_from_table(key, table)),
        _ => None,
    }
}

fn lone_key(snippet: &str) -> Option<String> {
    let doc = toml_edit::Document::parse(snippet).ok()?;
    doc.as_table().iter().next().map(|(k, _)| k.to_owned())
}

/// Builds a member from its inline table, refusing unknown fields and wrong types
/// (but for the delivery setting's, which `check` reports: see [`checked_member`]).
fn member_from_table(key: &str, table: &InlineTable) -> Result<(Member, Vec<String>), String> {
    let address = EmailAddress::parse(key).map_err(|e| e.to_string())?;
    let mut member = Member {
        address,
        name: None,
        since: None,
        via: None,
        setting: Setting::mail(),
        request: None,
        terms: None,
        lang: None,
    };
    let field = |name: &str| {
        table.get(name).map(|v| match v {
            Value::String(s) => Field::Text(s.value()),
            Value::Datetime(d) => Field::Date(*d.value()),
            _ => Field::Other,
        })
    };
    let (setting, problems) = setting_of(key, field("mode"), field("until"), field("why"));
    member.setting = setting;
    for (field, value) in table.iter() {
        match (field, value) {
            ("mode" | "until" | "why", _) => {}
            ("name", Value::String(s)) => member.name = Some(s.value().clone()),
            ("via", Value::String(s)) => member.via = Some(Origin::from(s.value().as_str())),
            ("since", Value::Datetime(d)) => member.since = Some(*d.value()),
            ("request", Value::String(s)) => member.request = Some(s.value().clone()),
            ("terms", Value::String(s)) => member.terms = Some(s.value().clone()),
            ("lang", Value::String(s)) => member.lang = Some(s.value().clone()),
            ("name" | "via" | "request" | "terms" | "lang", _) => {
                return Err(format!("`{field}` of `{key}` must be a string in quotes"));
            }
            ("since", _) => {
                return Err(format!(
                    "`since` of `{key}` must be a date and time such as 2026-01-05T10:00:00Z"
                ));
            }
            _ => {
                return Err(format!(
                    "unknown field `{field}` for `{key}`: a member may have name, since, via, mode, until, why, request, terms and lang"
                ));
            }
        }
    }
    Ok((member, problems))
}

/// `[members]`, with optional spaces and a trailing comment.
fn is_members_header(content: &str) -> bool {
    let Some(rest) = content.strip_prefix('[') else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix("members") else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix(']') else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.is_empty() || (rest.starts_with('#') && valid_comment(rest))
}

/// TOML forbids control characters other than tab in comments.
fn valid_comment(comment: &str) -> bool {
    !comment
        .bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

#[cfg(test)]
mod halves_tests {
    use super::*;

    /// A roster over [`HALVES_FROM`]: `n` members, then `tail` appended.
    fn big(tail: &str) -> String {
        let mut text = String::from("# a roster\n\n[members]\n");
        let mut i = 0;
        while text.len() < HALVES_FROM + 200_000 {
            text.push_str(&format!(
                "\"person{i}@agency.gov\" = {{ name = \"Person {i}\", since = 2026-01-02T03:04:05Z, via = \"token\" }}\n"
            ));
            if i == 10 {
                // Differs from a later line only in case: kept aside, not an error.
                text.push_str("\"Case.Twin@agency.gov\" = {}\n");
            }
            i += 1;
        }
        text.push_str("# a comment after the members\n");
        text.push_str(tail);
        text
    }

    /// The index and the kept-aside members in file order, where members go, and
    /// whether there was a header.
    type Shape = (
        Vec<(String, Range<usize>)>,
        Vec<(String, Range<usize>)>,
        usize,
        bool,
    );

    fn shape(layout: &Layout) -> Shape {
        let mut index: Vec<_> = (layout.index.iter())
            .map(|(k, s)| (k.to_string(), s.clone()))
            .collect();
        index.sort_by_key(|(_, s)| s.start);
        let mut shadowed: Vec<_> = (layout.shadowed.iter())
            .map(|(k, s)| (k.to_string(), s.clone()))
            .collect();
        shadowed.sort_by_key(|(_, s)| s.start);
        (index, shadowed, layout.insert_at, layout.has_header)
    }

    #[test]
    fn two_halves_read_a_large_roster_as_one_pass_does() {
        let text = big("\"case.twin@agency.gov\" = { name = \"Twin\" }\n");
        let halves = halves(&text).expect("no bail").expect("no error");
        let one = fast_from(&text, 0..text.len(), 0, None).unwrap().unwrap();
        assert_eq!(shape(&halves), shape(&one));
        assert_eq!(halves.shadowed.len(), 1, "the case twin is kept aside");
        // Members came from both halves.
        assert!(halves.index.values().any(|s| s.start > text.len() / 2));
    }

    #[test]
    fn a_duplicate_across_the_halves_is_the_error_one_pass_gives() {
        let text = big("\"person3@agency.gov\" = {}\n");
        let one = fast_from(&text, 0..text.len(), 0, None)
            .unwrap()
            .unwrap_err();
        let halves = halves(&text).expect("no bail").unwrap_err();
        assert_eq!(halves.line, one.line);
        assert_eq!(halves.message, one.message);
        assert!(
            one.message.contains("already a member on line 7"),
            "{}",
            one.message
        );
        // And through the front door.
        let Err(e) = parse(text) else {
            panic!("a duplicate parses")
        };
        assert_eq!(e.line, one.line);
    }

    #[test]
    fn a_header_in_the_second_half_reads_in_one_pass() {
        let mut text = "# intro\n".repeat(HALVES_FROM / 8 + 1000);
        text.push_str("[members]\n\"a@agency.gov\" = {}\n");
        assert!(halves(&text).is_none(), "the first half has no header");
        let layout = fast(&text).unwrap().unwrap();
        assert_eq!(layout.index.len(), 1);
    }
}
