//! Import from other list managers, sync from an authoritative source, export.
//!
//! Each format's reader (`csv`, `listserv`) turns its files into one [`Draft`]: the
//! list's settings as listkeeper can express them, the members, and everything it
//! could not translate, each said in words. Nothing here writes a file: the CLI
//! (`cli::migrate`) shows the draft, checks it loads, and writes it. `sync` plans the
//! changes that make a roster's synced members equal a source; `export` writes a
//! roster back out in a format another tool reads.

pub mod csv;
pub mod export;
pub mod listserv;
pub mod mailman3;
pub mod mlmmj;
pub mod sync;

use crate::address::EmailAddress;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml_datetime::Datetime;

/// Addresses (their keys) seen so far → their index in [`Draft::members`]. foldhash:
/// as fast as it gets on a million short keys, and randomly seeded.
pub type Seen = HashMap<String, usize, foldhash::fast::RandomState>;

/// A source file that cannot be read as its format: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", place(file, *line))]
pub struct ImportError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line (0 when the file as a whole is at fault).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// `file:line`, or the file alone for line 0.
fn place(file: &Path, line: usize) -> String {
    match line {
        0 => file.display().to_string(),
        n => format!("{}:{n}", file.display()),
    }
}

impl ImportError {
    /// An error at a line of a file.
    pub fn at(file: &Path, line: usize, message: impl Into<String>) -> ImportError {
        ImportError {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// One member as a source gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftMember {
    /// The address.
    pub address: EmailAddress,
    /// Display name.
    pub name: Option<String>,
    /// When they joined, if the source says.
    pub since: Option<Datetime>,
    /// The line of the source it came from.
    pub line: usize,
    /// Source options that listkeeper does not translate yet (`NOMAIL`, `DIGEST`).
    pub untranslated: Vec<String>,
}

/// One `[[rule]]` of the list to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRule {
    /// Domain globs.
    pub domain: Vec<String>,
    /// `allow`, `moderate` or `reject`.
    pub action: &'static str,
    /// Told to those a reject rule refuses.
    pub reason: Option<String>,
}

/// What a source says of the list (members aside).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftList {
    /// Display name.
    pub name: Option<String>,
    /// One-line description.
    pub title: Option<String>,
    /// Owner addresses.
    pub owners: Vec<String>,
    /// `open`, `confirm`, `moderate` or `confirm+moderate`.
    pub subscribe: Option<&'static str>,
    /// `open` or `confirm`.
    pub unsubscribe: Option<&'static str>,
    /// Told to anyone the rules refuse.
    pub terms: Option<String>,
    /// The eligibility rules, in order.
    pub rules: Vec<DraftRule>,
}

/// Everything an import read from its source.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The list's settings.
    pub list: DraftList,
    /// The members, one per address (duplicates merged into the first).
    pub members: Vec<DraftMember>,
    /// Later lines whose address an earlier line already had: (line, first line, address).
    pub duplicates: Vec<(usize, usize, String)>,
    /// Lines whose address does not parse: the error names file and line.
    pub invalid: Vec<ImportError>,
    /// Settings of the source that listkeeper did not translate, in words.
    pub untranslated: Vec<String>,
}

impl Draft {
    /// Adds a member, merging it into an earlier one with the same address.
    pub fn push(&mut self, seen: &mut Seen, member: DraftMember) {
        let key = member.address.key();
        if let Some(&at) = seen.get(&key) {
            let first = &mut self.members[at];
            if first.name.is_none() {
                first.name = member.name;
            }
            if first.since.is_none() {
                first.since = member.since;
            }
            self.duplicates
                .push((member.line, first.line, member.address.to_string()));
            return;
        }
        seen.insert(key, self.members.len());
        self.members.push(member);
    }

    /// Members with options that are not translated yet, by option.
    pub fn untranslated_options(&self) -> Vec<(String, Vec<&DraftMember>)> {
        let mut by: Vec<(String, Vec<&DraftMember>)> = Vec::new();
        for m in &self.members {
            for option in &m.untranslated {
                match by.iter_mut().find(|(o, _)| o == option) {
                    Some((_, members)) => members.push(m),
                    None => by.push((option.clone(), vec![m])),
                }
            }
        }
        by
    }
}

/// Parses a `since` value: an RFC 3339 date-time, or a date (taken as midnight UTC).
pub fn parse_since(text: &str) -> Result<Datetime, String> {
    let text = text.trim();
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.replacen(' ', "T", 1)
    };
    match full.parse::<Datetime>() {
        Ok(d) if d.date.is_some() && d.time.is_some() => Ok(d),
        _ => Err(format!(
            "`{text}` is not a date (use 2024-05-01 or 2024-05-01T09:30:00Z)"
        )),
    }
}

/// The text of `list.toml` for a draft: a template, every value a TOML string
/// written by `toml` so that quotes and newlines in a source cannot break it.
pub fn list_toml(id: &str, list: &DraftList, source: &str) -> String {
    let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
    let mut out = String::new();
    let _ = writeln!(out, "# Imported by `listkeeper import` from {source}.");
    let _ = writeln!(out, "id = {}", s(id));
    if let Some(name) = &list.name {
        let _ = writeln!(out, "name = {}", s(name));
    }
    if let Some(title) = &list.title {
        let _ = writeln!(out, "title = {}", s(title));
    }
    let owners: Vec<String> = list.owners.iter().map(|o| s(o)).collect();
    let _ = writeln!(out, "owners = [{}]", owners.join(", "));
    let _ = writeln!(
        out,
        "subscribe = {}",
        s(list.subscribe.unwrap_or("confirm"))
    );
    let _ = writeln!(
        out,
        "unsubscribe = {}",
        s(list.unsubscribe.unwrap_or("confirm"))
    );
    let terms = list
        .terms
        .clone()
        .unwrap_or_else(|| "Ask the list's owners who may join.".into());
    let _ = writeln!(out, "terms = {}", s(&terms));
    for rule in &list.rules {
        out.push_str("\n[[rule]]\n");
        let domains: Vec<String> = rule.domain.iter().map(|d| s(d)).collect();
        let _ = writeln!(out, "domain = [{}]", domains.join(", "));
        let _ = writeln!(out, "action = {}", s(rule.action));
        if let Some(reason) = &rule.reason {
            let _ = writeln!(out, "reason = {}", s(reason));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_date_times() {
        assert_eq!(
            parse_since("2024-05-01").unwrap().to_string(),
            "2024-05-01T00:00:00Z"
        );
        assert!(parse_since("2024-05-01T09:30:00Z").is_ok());
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("09:30:00").is_err());
    }

    #[test]
    fn list_toml_quotes_what_a_source_says() {
        let list = DraftList {
            title: Some("A \"quoted\"\ntitle".into()),
            ..DraftList::default()
        };
        let text = list_toml("x", &list, "f");
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["title"].as_str(), Some("A \"quoted\"\ntitle"));
    }
}
