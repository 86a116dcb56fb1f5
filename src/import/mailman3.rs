//! Mailman 3: the output of `mailman members` and the REST API's JSON.
//!
//! PATH is one file or a folder of them:
//! - a text file as `mailman members -o FILE LIST` writes it, one member a line,
//!   `Anne Person <anne@example.com>` or a bare address; a file whose name has
//!   `digest` in it (the `--digest` dump) marks its members DIGEST;
//! - a JSON member listing (`/3.1/lists/ID/roster/member`): `{"entries": [...]}`,
//!   each with `email`, `display_name`, `delivery_mode`, `delivery_status`;
//! - in a folder, `config.json` (`/3.1/lists/ID/config`: `display_name`,
//!   `description`, `subscription_policy`, `unsubscription_policy`) and `owners.json`
//!   (`/3.1/lists/ID/roster/owner`) or `owners.txt` give the list's settings.
//!
//! `serde_json` reads the JSON; a member JSON that is not such a listing is an error
//! naming the file, and the line when the JSON itself is broken.

use super::{Draft, DraftList, DraftMember, DraftRule, ImportError, Seen};
use crate::address::EmailAddress;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One page of a REST listing.
#[derive(Debug, Deserialize)]
struct Listing {
    #[serde(default)]
    entries: Vec<Entry>,
}

/// One member of a REST listing.
#[derive(Debug, Deserialize)]
struct Entry {
    email: Option<String>,
    address: Option<String>,
    display_name: Option<String>,
    delivery_mode: Option<String>,
    delivery_status: Option<String>,
}

/// The list settings `config.json` gives.
#[derive(Debug, Deserialize)]
struct ListSettings {
    display_name: Option<String>,
    description: Option<String>,
    subscription_policy: Option<String>,
    unsubscription_policy: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// The settings of `config.json` that a subscription manager has no use for are
/// many (archiving, digests, DMARC…): they are counted, not listed one by one.
const SETTINGS_TRANSLATED: &[&str] = &[
    "display_name",
    "description",
    "subscription_policy",
    "unsubscription_policy",
];

/// Reads a Mailman 3 dump: a file, or a folder of the files above.
pub fn read(path: &Path) -> Result<Draft, ImportError> {
    let mut draft = Draft {
        list: DraftList {
            rules: vec![DraftRule {
                domain: vec!["*".into()],
                action: "allow",
                reason: None,
            }],
            ..DraftList::default()
        },
        ..Draft::default()
    };
    let mut seen = Seen::default();
    let files = if path.is_dir() {
        member_files(path)?
    } else {
        vec![path.to_owned()]
    };
    if files.is_empty() {
        return Err(ImportError::at(
            path,
            0,
            "no member file here (members.txt, regular.txt, digest.txt or members.json)",
        ));
    }
    for file in files {
        read_members(&file, &mut draft, &mut seen)?;
    }
    if path.is_dir() {
        settings(path, &mut draft)?;
    }
    Ok(draft)
}

fn member_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    for name in ["members.txt", "regular.txt", "digest.txt", "members.json"] {
        let p = dir.join(name);
        if p.is_file() {
            out.push(p);
        }
    }
    if !dir.exists() {
        return Err(ImportError::at(dir, 0, "missing"));
    }
    Ok(out)
}

fn read_members(file: &Path, draft: &mut Draft, seen: &mut Seen) -> Result<(), ImportError> {
    let text =
        std::fs::read_to_string(file).map_err(|e| ImportError::at(file, 0, e.to_string()))?;
    if text.trim_start().starts_with('{') || text.trim_start().starts_with('[') {
        return read_json(&text, file, draft, seen);
    }
    let digest = file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().contains("digest"));
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, address) = split_mailbox(line);
        match EmailAddress::parse(address) {
            Ok(address) => draft.push(
                seen,
                DraftMember {
                    address,
                    name,
                    since: None,
                    line: i + 1,
                    untranslated: digest.then(|| "DIGEST".to_owned()).into_iter().collect(),
                },
            ),
            Err(e) => draft
                .invalid
                .push(ImportError::at(file, i + 1, e.to_string())),
        }
    }
    Ok(())
}

fn read_json(
    text: &str,
    file: &Path,
    draft: &mut Draft,
    seen: &mut Seen,
) -> Result<(), ImportError> {
    let entries: Vec<Entry> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
    } else {
        serde_json::from_str::<Listing>(text).map(|l| l.entries)
    }
    .map_err(|e| ImportError::at(file, e.line(), format!("not a Mailman member listing: {e}")))?;
    for (i, e) in entries.into_iter().enumerate() {
        let line = i + 1;
        let Some(raw) = e.email.or(e.address) else {
            draft.invalid.push(ImportError::at(
                file,
                0,
                format!("entry {line} has no email"),
            ));
            continue;
        };
        let (name, bare) = split_mailbox(&raw);
        let mut untranslated = Vec::new();
        if e.delivery_mode
            .as_deref()
            .is_some_and(|m| m.contains("digest"))
        {
            untranslated.push("DIGEST".to_owned());
        }
        if e.delivery_status.as_deref().is_some_and(|s| s != "enabled") {
            untranslated.push("NOMAIL".to_owned());
        }
        match EmailAddress::parse(bare) {
            Ok(address) => draft.push(
                seen,
                DraftMember {
                    address,
                    name: e.display_name.filter(|n| !n.is_empty()).or(name),
                    since: None,
                    line,
                    untranslated,
                },
            ),
            Err(err) => {
                draft
                    .invalid
                    .push(ImportError::at(file, 0, format!("entry {line}: {err}")))
            }
        }
    }
    Ok(())
}

/// `Anne Person <anne@example.com>` → (name, address); a bare address as it is.
fn split_mailbox(text: &str) -> (Option<String>, &str) {
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = text[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                text[open + 1..close].trim(),
            )
        }
        _ => (None, text.trim()),
    }
}

fn settings(dir: &Path, draft: &mut Draft) -> Result<(), ImportError> {
    let config = dir.join("config.json");
    if config.is_file() {
        let text = std::fs::read_to_string(&config)
            .map_err(|e| ImportError::at(&config, 0, e.to_string()))?;
        let s: ListSettings = serde_json::from_str(&text).map_err(|e| {
            ImportError::at(&config, e.line(), format!("not a Mailman list config: {e}"))
        })?;
        apply_settings(s, &config, draft);
    }
    let owners_json = dir.join("owners.json");
    let owners_txt = dir.join("owners.txt");
    let mut owners = Draft::default();
    let mut seen = Seen::default();
    if owners_json.is_file() {
        read_members(&owners_json, &mut owners, &mut seen)?;
    } else if owners_txt.is_file() {
        read_members(&owners_txt, &mut owners, &mut seen)?;
    }
    draft.invalid.extend(owners.invalid);
    draft.list.owners = owners
        .members
        .iter()
        .map(|m| m.address.to_string())
        .collect();
    Ok(())
}

fn apply_settings(s: ListSettings, file: &Path, draft: &mut Draft) {
    let list = &mut draft.list;
    list.name = s.display_name;
    list.title = s.description.filter(|d| !d.is_empty());
    list.subscribe = match s.subscription_policy.as_deref() {
        Some("open") => Some("open"),
        Some("confirm") | None => Some("confirm"),
        Some("moderate") => Some("moderate"),
        Some("confirm_then_moderate") => Some("confirm+moderate"),
        Some(other) => {
            draft
                .untranslated
                .push(format!("{}: subscription_policy = {other}", file.display()));
            None
        }
    };
    list.unsubscribe = match s.unsubscription_policy.as_deref() {
        Some("open") => Some("open"),
        Some("confirm") | None => Some("confirm"),
        Some(other) => {
            draft.untranslated.push(format!(
                "{}: unsubscription_policy = {other}: listkeeper's unsubscribe is open or confirm (confirm kept)",
                file.display()
            ));
            Some("confirm")
        }
    };
    let rest: Vec<&String> = s
        .rest
        .keys()
        .filter(|k| !SETTINGS_TRANSLATED.contains(&k.as_str()) && !k.starts_with("http_etag"))
        .collect();
    if !rest.is_empty() {
        let names: Vec<&str> = rest.iter().map(|k| k.as_str()).collect();
        draft.untranslated.push(format!(
            "{}: {} setting(s) with no listkeeper equivalent: {}",
            file.display(),
            names.len(),
            names.join(", ")
        ));
    }
}
