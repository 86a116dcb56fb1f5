//! mlmmj list directories: `subscribers.d/`, `digesters.d/`, `nomailsubs.d/` (files of
//! one address a line) and `control/` (one file a setting).
//!
//! Translated: the members of the three folders (digesters and no-mail members as
//! plain members, named as not translated yet), `control/owner` (owners),
//! `control/listaddress` (the name), `control/closedlist` and
//! `control/closedlistsub` (a rule refusing every request), `control/submod`
//! (moderate), `control/nosubconfirm` (open). Every other control file is listed
//! as not translated. A folder without `control/listaddress` or `subscribers.d/`
//! is not a mlmmj list: mlmmj itself refuses to run without them.

use super::{Draft, DraftList, DraftMember, DraftRule, ImportError, Seen};
use crate::address::EmailAddress;
use std::path::{Path, PathBuf};

/// The control files this reader translates (or needs, or that hold nothing a
/// roster or a subscription policy needs).
const TRANSLATED: &[&str] = &[
    "owner",
    "listaddress",
    "closedlist",
    "closedlistsub",
    "submod",
    "nosubconfirm",
];

/// Reads a mlmmj list directory.
pub fn read(dir: &Path) -> Result<Draft, ImportError> {
    let control = dir.join("control");
    let listaddress = control.join("listaddress");
    let address = read_text(&listaddress)?;
    let list_address = address.lines().next().map(str::trim).unwrap_or("");
    if list_address.is_empty() {
        return Err(ImportError::at(
            &listaddress,
            1,
            "empty: it should hold the list's address",
        ));
    }
    let mut draft = Draft::default();
    draft.list = settings(&control, list_address, &mut draft.untranslated)?;
    let subscribers = dir.join("subscribers.d");
    if !subscribers.is_dir() {
        return Err(ImportError::at(
            &subscribers,
            0,
            "missing: a mlmmj list directory has a subscribers.d folder (even an empty one)",
        ));
    }
    let mut seen = Seen::default();
    for (folder, option) in [
        ("subscribers.d", None),
        ("digesters.d", Some("DIGEST")),
        ("nomailsubs.d", Some("NOMAIL")),
    ] {
        for file in files(&dir.join(folder))? {
            read_members(&file, option, &mut draft, &mut seen)?;
        }
    }
    Ok(draft)
}

fn settings(
    control: &Path,
    list_address: &str,
    untranslated: &mut Vec<String>,
) -> Result<DraftList, ImportError> {
    let has = |name: &str| control.join(name).exists();
    let mut list = DraftList {
        name: Some(
            list_address
                .split('@')
                .next()
                .unwrap_or(list_address)
                .to_owned(),
        ),
        unsubscribe: Some("confirm"),
        ..DraftList::default()
    };
    list.owners = read_owners(&control.join("owner"))?;
    let moderated = has("submod");
    list.subscribe = Some(match (moderated, has("nosubconfirm")) {
        (true, true) => "moderate",
        (true, false) => "confirm+moderate",
        (false, true) => "open",
        (false, false) => "confirm",
    });
    list.rules
        .push(join_rule(has("closedlist") || has("closedlistsub")));
    if has("closedlist") {
        untranslated.push(format!(
            "{}: also closes unsubscribing by mail; listkeeper always lets members leave (unsubscribe = confirm)",
            control.join("closedlist").display()
        ));
    }
    untranslated.extend(untranslated_controls(control)?);
    Ok(list)
}

/// `control/owner`, one address a line (none when the file is missing).
fn read_owners(owner: &Path) -> Result<Vec<String>, ImportError> {
    let mut owners = Vec::new();
    if owner.exists() {
        for (i, line) in read_text(owner)?.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let a = EmailAddress::parse(line)
                .map_err(|e| ImportError::at(owner, i + 1, e.to_string()))?;
            owners.push(a.to_string());
        }
    }
    Ok(owners)
}

/// The one rule an mlmmj list comes with: anyone may ask to join, unless it is closed.
fn join_rule(closed: bool) -> DraftRule {
    if closed {
        DraftRule {
            domain: vec!["*".into()],
            action: "reject",
            reason: Some("Subscription to this list is closed: the owners add its members.".into()),
        }
    } else {
        DraftRule {
            domain: vec!["*".into()],
            action: "allow",
            reason: None,
        }
    }
}

/// Every other control file, by name, with the start of its first line.
fn untranslated_controls(control: &Path) -> Result<Vec<String>, ImportError> {
    let mut others: Vec<String> = files(control)?
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !TRANSLATED.contains(&n.as_str()))
        .collect();
    others.sort();
    Ok(others
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(control.join(&name)).unwrap_or_default();
            let first = text.lines().next().unwrap_or("").trim();
            let value = if first.is_empty() {
                "(set)".to_owned()
            } else {
                first.chars().take(60).collect()
            };
            format!("control/{name}: {value}")
        })
        .collect())
}

fn read_members(
    file: &Path,
    option: Option<&str>,
    draft: &mut Draft,
    seen: &mut Seen,
) -> Result<(), ImportError> {
    let text = read_text(file)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match EmailAddress::parse(line) {
            Ok(address) => draft.push(
                seen,
                DraftMember {
                    address,
                    name: None,
                    since: None,
                    line: i + 1,
                    untranslated: option.map(str::to_owned).into_iter().collect(),
                },
            ),
            Err(e) => draft
                .invalid
                .push(ImportError::at(file, i + 1, e.to_string())),
        }
    }
    Ok(())
}

/// The files of a folder, sorted; none when the folder does not exist.
fn files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ImportError::at(dir, 0, e.to_string())),
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "missing: a mlmmj list directory has it".to_owned()
            } else {
                e.to_string()
            };
            ImportError::at(path, 0, why)
        })
}
