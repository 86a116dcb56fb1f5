//! LISTSERV list files: a header of `* Keyword= value` lines, then one subscriber
//! a line.
//!
//! The header follows L-Soft's list keyword reference: every header line starts
//! with `*`, the first holds the list's title, a line may hold several keywords
//! (`* Review= Private  Send= Private`), `*.HH ON`/`*.HH OFF` bracket hidden lines,
//! and lines without a keyword are the description. After the header, each line
//! is a subscriber: the address, then the name; LISTSERV keeps a subscriber's
//! options past column 80, and they are read there as words (`NOMAIL`, `DIGEST`).
//! No crate reads this format, hence the hand-written reader.
//!
//! Translated: `Subscription=` (policy), `Service=` (domain rules), `Owner=`
//! (owners), the title and the description (terms). Everything else is listed as
//! untranslated with its line, never dropped silently.

use super::{Draft, DraftList, DraftMember, DraftRule, ImportError, Seen};
use crate::address::EmailAddress;
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// A keyword at the start of a header line or after a space: `Send= Private`.
static KEYWORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)([A-Za-z][A-Za-z0-9_-]*)=").ok());

/// Where a subscriber's options start in LISTSERV's record.
const OPTIONS_COLUMN: usize = 80;

/// One keyword as the header has it.
#[derive(Debug, Clone)]
struct Keyword {
    name: String,
    value: String,
    line: usize,
}

/// Reads a LISTSERV list file (`file` names it in messages; its stem is the list's
/// name). A file cut short, or with no header, is an error naming the line.
pub fn read(text: &str, file: &Path) -> Result<Draft, ImportError> {
    if text.trim().is_empty() {
        return Err(ImportError::at(file, 0, "the file is empty"));
    }
    let lines: Vec<&str> = text.lines().collect();
    if !text.ends_with('\n') {
        return Err(ImportError::at(
            file,
            lines.len(),
            "the file ends in the middle of a line: it looks truncated (LISTSERV ends every line); nothing was imported",
        ));
    }
    if !lines[0].starts_with('*') {
        return Err(ImportError::at(
            file,
            1,
            "not a LISTSERV list file: the first line must be the header's `* title` line",
        ));
    }
    let header_end = lines
        .iter()
        .position(|l| !l.starts_with('*'))
        .unwrap_or(lines.len());
    let (keywords, description, title) = header(&lines[..header_end], file)?;
    let mut draft = Draft::default();
    draft.list = translate(&keywords, &mut draft.untranslated);
    draft.list.title = title;
    draft.list.name = file.file_stem().map(|s| s.to_string_lossy().to_uppercase());
    if draft.list.terms.is_none() && !description.is_empty() {
        draft.list.terms = Some(description.join(" "));
    }
    let mut seen = Seen::default();
    for (i, line) in lines.iter().enumerate().skip(header_end) {
        if line.trim().is_empty() {
            continue;
        }
        match subscriber(line, file, i + 1) {
            Ok(m) => draft.push(&mut seen, m),
            Err(e) => draft.invalid.push(e),
        }
    }
    Ok(draft)
}

/// The header's keywords, its description lines and its title.
type Header = (Vec<Keyword>, Vec<String>, Option<String>);

fn header(lines: &[&str], file: &Path) -> Result<Header, ImportError> {
    let mut keywords = Vec::new();
    let mut description = Vec::new();
    let mut title = None;
    let mut hidden_from = None;
    for (i, line) in lines.iter().enumerate() {
        let body = &line[1..];
        if body.trim_start().to_ascii_uppercase().starts_with(".HH") {
            let on = body.to_ascii_uppercase().contains("ON");
            hidden_from = on.then_some(i + 1);
            continue;
        }
        let found = parse_keywords(body, i + 1);
        if found.is_empty() {
            let text = body.trim();
            if i == 0 {
                title = (!text.is_empty()).then(|| text.to_owned());
            } else if !text.is_empty() {
                description.push(text.to_owned());
            }
            continue;
        }
        keywords.extend(found);
    }
    if let Some(line) = hidden_from {
        return Err(ImportError::at(
            file,
            line,
            "`*.HH ON` is never closed by `*.HH OFF`: the header looks truncated; nothing was imported",
        ));
    }
    if keywords.is_empty() {
        return Err(ImportError::at(
            file,
            lines.len(),
            "the header has no `Keyword= value` line: not a LISTSERV list file, or cut short",
        ));
    }
    Ok((keywords, description, title))
}

/// Every `Keyword= value` on one header line.
fn parse_keywords(body: &str, line: usize) -> Vec<Keyword> {
    let Some(re) = KEYWORD.as_ref() else {
        return Vec::new();
    };
    let starts: Vec<(usize, usize, String)> = re
        .captures_iter(body)
        .filter_map(|c| {
            let all = c.get(0)?;
            let name = c.get(1)?;
            Some((all.start(), all.end(), name.as_str().to_owned()))
        })
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, (_, end, name))| {
            let stop = starts.get(k + 1).map_or(body.len(), |next| next.0);
            Keyword {
                name: name.clone(),
                value: body[*end..stop].trim().to_owned(),
                line,
            }
        })
        .collect()
}

/// The list settings the keywords translate into; the rest in `untranslated`.
fn translate(keywords: &[Keyword], untranslated: &mut Vec<String>) -> DraftList {
    let mut list = DraftList {
        unsubscribe: Some("confirm"),
        ..DraftList::default()
    };
    let find = |name: &str| keywords.iter().find(|k| k.name.eq_ignore_ascii_case(name));
    let subscription = find("Subscription").map_or("By_Owner".to_owned(), |k| k.value.clone());
    let words: Vec<String> = subscription
        .split([',', ' '])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let confirm = words.iter().any(|w| w == "confirm");
    let closed = words.iter().any(|w| w == "closed");
    list.subscribe = Some(match (words.iter().any(|w| w == "open"), confirm) {
        (true, false) => "open",
        (true, true) => "confirm",
        (false, false) => "moderate",
        (false, true) => "confirm+moderate",
    });
    let domains = service_domains(find("Service"), find("Local"), untranslated);
    if closed {
        list.rules.push(DraftRule {
            domain: vec!["*".into()],
            action: "reject",
            reason: Some("Subscription to this list is closed: the owners add its members.".into()),
        });
    } else {
        if domains != ["*"] {
            list.terms = Some(format!("Open to addresses at {}.", domains.join(", ")));
        }
        list.rules.push(DraftRule {
            domain: domains,
            action: "allow",
            reason: None,
        });
    }
    for k in keywords {
        match k.name.to_ascii_lowercase().as_str() {
            "subscription" | "service" | "local" => {}
            "owner" => owners(k, &mut list.owners, untranslated),
            "pw" => untranslated.push(format!("line {}: PW= (the list password, not shown): listkeeper has no list password", k.line)),
            "confirm-delay" => untranslated.push(format!(
                "line {}: Confirm-Delay= {}: confirmations expire after the one `[confirm] expires` of listkeeper.toml, for every list (7 days unless set)",
                k.line, k.value
            )),
            _ => untranslated.push(format!("line {}: {}= {}", k.line, k.name, k.value)),
        }
    }
    list
}

/// `Service=` as domain globs: `*` (anyone) when absent, `Local` by `Local=`.
fn service_domains(
    service: Option<&Keyword>,
    local: Option<&Keyword>,
    untranslated: &mut Vec<String>,
) -> Vec<String> {
    let Some(service) = service else {
        return vec!["*".into()];
    };
    let mut out = Vec::new();
    for part in service.value.split([',', ' ']).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("local") {
            match local {
                Some(l) => out.extend(
                    l.value
                        .split([',', ' '])
                        .filter(|p| !p.is_empty())
                        .map(str::to_ascii_lowercase),
                ),
                None => untranslated.push(format!(
                    "line {}: Service= Local without a Local= keyword: the site's local domains are not known here",
                    service.line
                )),
            }
        } else if part.contains('.') || part == "*" {
            out.push(part.to_ascii_lowercase());
        } else {
            untranslated.push(format!(
                "line {}: Service= {part}: not a domain (a BITNET node or a country code?)",
                service.line
            ));
        }
    }
    if out.is_empty() {
        out.push("*".into());
    }
    out
}

/// `Owner= a@b, Quiet:, (Name)`: the addresses; the rest untranslated.
fn owners(k: &Keyword, owners: &mut Vec<String>, untranslated: &mut Vec<String>) {
    for part in k.value.split(',') {
        let part = part.trim();
        let address = part.split_whitespace().next().unwrap_or("");
        if address.is_empty() || address.eq_ignore_ascii_case("quiet:") {
            continue;
        }
        match EmailAddress::parse(address) {
            Ok(a) if !owners.contains(&a.to_string()) => owners.push(a.to_string()),
            Ok(_) => {}
            Err(_) => untranslated.push(format!(
                "line {}: Owner= {part}: not an address (an owner list or access level)",
                k.line
            )),
        }
    }
}

/// One subscriber line: address, name, and options past column 80.
fn subscriber(line: &str, file: &Path, number: usize) -> Result<DraftMember, ImportError> {
    let split = line
        .char_indices()
        .nth(OPTIONS_COLUMN)
        .map_or(line.len(), |(i, _)| i);
    let (main, options) = line.split_at(split);
    let main = main.trim();
    let (address, name) = main
        .split_once(char::is_whitespace)
        .map_or((main, ""), |(a, n)| (a, n.trim()));
    let address =
        EmailAddress::parse(address).map_err(|e| ImportError::at(file, number, e.to_string()))?;
    Ok(DraftMember {
        address,
        name: (!name.is_empty()).then(|| name.to_owned()),
        since: None,
        line: number,
        untranslated: options
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "* Test list\n* Subscription= Open,Confirm  Service= *.GOV,*.MIL\n* Owner= a@x.gov,Quiet:,b@x.gov\n* Send= Private\n* Anyone at a .gov\nJ@X.GOV  Jane Doe\n";

    #[test]
    fn keywords_translate_and_the_rest_is_listed() {
        let d = read(FILE, Path::new("/x/test-l.list")).unwrap();
        assert_eq!(d.list.subscribe, Some("confirm"));
        assert_eq!(d.list.rules[0].domain, vec!["*.gov", "*.mil"]);
        assert_eq!(d.list.owners, vec!["a@x.gov", "b@x.gov"]);
        assert_eq!(d.list.name.as_deref(), Some("TEST-L"));
        assert_eq!(d.untranslated, vec!["line 4: Send= Private"]);
        assert_eq!(d.members[0].name.as_deref(), Some("Jane Doe"));
    }

    #[test]
    fn closed_lists_refuse_everyone_and_local_service_takes_its_domains() {
        let d = read(
            "* T\n* Subscription= Closed\n* Owner= a@x.gov\n",
            Path::new("t.list"),
        )
        .unwrap();
        assert_eq!(d.list.rules.len(), 1);
        assert_eq!(d.list.rules[0].action, "reject");
        let d = read(
            "* T\n* Subscription= Open Service= Local\n* Local= EXAMPLE.GOV,*.example.mil\n",
            Path::new("t.list"),
        )
        .unwrap();
        assert_eq!(d.list.subscribe, Some("open"));
        assert_eq!(d.list.rules[0].domain, vec!["example.gov", "*.example.mil"]);
        assert!(d.untranslated.is_empty(), "{:?}", d.untranslated);
    }

    #[test]
    fn a_file_cut_short_is_refused_with_its_line() {
        let cut = &FILE[..FILE.len() - 4];
        let e = read(cut, Path::new("t.list")).unwrap_err();
        assert_eq!(e.line, 6);
        assert!(e.message.contains("truncated"));
    }
}
