//! `export`: a roster in a format another tool reads (CSV, JSON, a LISTSERV list file).

use crate::config::{ListConfig, SubscribePolicy};
use crate::eligibility::Ruling;
use crate::roster::{Member, Origin};
use serde::Serialize;
use std::fmt::Write as _;

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `address,name,since,via,mode` with a header row.
    Csv,
    /// An array of `{address, name, since, via, mode, until}`.
    Json,
    /// A LISTSERV list file: header, then one subscriber a line (`NOMAIL` or
    /// `DIGEST` in the options column).
    Listserv,
}

/// One member for JSON.
#[derive(Debug, Serialize)]
struct Row<'a> {
    address: String,
    name: Option<&'a str>,
    since: Option<String>,
    via: Option<std::borrow::Cow<'a, str>>,
    mode: &'static str,
    until: Option<String>,
}

/// Why an export could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the CSV.
    #[error(transparent)]
    Csv(#[from] ::csv::Error),
    /// Writing the JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The CSV writer's buffer.
    #[error("{0}")]
    Buffer(String),
}

/// The members of `list` in `format`.
pub fn render(
    format: Format,
    list: &ListConfig,
    members: &[Member],
) -> Result<String, ExportError> {
    match format {
        Format::Csv => csv(members),
        Format::Json => {
            let rows: Vec<Row<'_>> = members
                .iter()
                .map(|m| Row {
                    address: m.address.to_string(),
                    name: m.name.as_deref(),
                    since: m.since.map(|d| d.to_string()),
                    via: m.via.as_ref().map(Origin::word),
                    mode: m.setting.mode.as_str(),
                    until: m.setting.until.map(|d| d.to_string()),
                })
                .collect();
            Ok(serde_json::to_string_pretty(&rows)? + "\n")
        }
        Format::Listserv => Ok(listserv(list, members)),
    }
}

fn csv(members: &[Member]) -> Result<String, ExportError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(["address", "name", "since", "via", "mode"])?;
    for m in members {
        let since = m.since.map(|d| d.to_string()).unwrap_or_default();
        let via = m.via.as_ref().map(Origin::word).unwrap_or_default();
        writer.write_record([
            m.address.to_string().as_str(),
            m.name.as_deref().unwrap_or(""),
            since.as_str(),
            via.as_ref(),
            m.setting.mode.as_str(),
        ])?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExportError::Buffer(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ExportError::Buffer(e.to_string()))
}

/// A LISTSERV list file: title, `Subscription=`, `Service=` from the allow rules'
/// domains, `Owner=`, then `address name` lines.
fn listserv(list: &ListConfig, members: &[Member]) -> String {
    let mut out = String::new();
    let title = if list.title.is_empty() {
        &list.name
    } else {
        &list.title
    };
    let _ = writeln!(out, "* {}", one_line(title));
    let _ = writeln!(out, "*");
    let subscription = match list.subscribe {
        SubscribePolicy::Open => "Open",
        SubscribePolicy::Confirm => "Open,Confirm",
        SubscribePolicy::Moderate => "By_Owner",
        SubscribePolicy::ConfirmThenModerate => "By_Owner,Confirm",
    };
    let _ = writeln!(out, "* Subscription= {subscription}");
    let domains: Vec<String> = list
        .rules
        .iter()
        .filter(|r| r.action == Ruling::Allow && r.regex.is_none() && r.addresses.is_empty())
        .flat_map(|r| r.domains.iter().map(|d| d.as_str().to_ascii_uppercase()))
        .collect();
    if !domains.is_empty() && !domains.iter().any(|d| d == "*") {
        let _ = writeln!(out, "* Service= {}", domains.join(","));
    }
    for owner in &list.owners {
        let _ = writeln!(out, "* Owner= {owner}");
    }
    let _ = writeln!(out, "*");
    let _ = writeln!(out, "* {}", one_line(&list.terms));
    for m in members {
        let line = match &m.name {
            Some(name) => format!("{:<40} {}", m.address.to_string(), one_line(name)),
            None => m.address.to_string(),
        };
        // LISTSERV's options start at column 80 (a longer line gets one space).
        match option(m.setting.mode) {
            Some(option) if line.chars().count() < 80 => {
                let _ = writeln!(out, "{line:<80}{option}");
            }
            Some(option) => {
                let _ = writeln!(out, "{line} {option}");
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

/// A delivery mode as LISTSERV's subscriber option.
fn option(mode: crate::roster::Mode) -> Option<&'static str> {
    use crate::roster::Mode;
    match mode {
        Mode::Mail => None,
        Mode::Digest => Some("DIGEST"),
        Mode::Nomail => Some("NOMAIL"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
