//! CSV: `address[,name[,since]]` a row, with a header row or without; also reads a
//! file of one address a line (what `sync` takes from an HR export).
//!
//! A first row whose first field has no `@` is a header: its columns are found by
//! name (`address`/`email`/`e-mail`/`mail`, `name`/`full_name`/`display_name`,
//! `since`/`joined`/`date`, `mode`: `mail`, `digest` or `nomail`, as `export`
//! writes it), and other columns are ignored, as an HR export has
//! many. Without a header the columns are address, name, since, and a row with more
//! is refused. The `csv` crate does the quoting.

use super::{Draft, DraftMember, ImportError, Seen, parse_since};
use crate::address::EmailAddress;
use std::path::Path;

/// Where each field is in a row.
#[derive(Debug, Clone, Copy)]
struct Columns {
    address: usize,
    name: Option<usize>,
    since: Option<usize>,
    /// A delivery mode (`mail`, `digest`, `nomail`), as `export` writes it.
    mode: Option<usize>,
    /// Without a header: more fields than these three is an error.
    strict: bool,
}

/// Reads CSV text (`file` names it in messages). Rows whose address or date does
/// not parse are in [`Draft::invalid`]; a file that is not CSV at all is an error.
pub fn read(text: &[u8], file: &Path) -> Result<Draft, ImportError> {
    read_with(text, file, &mut |_| {})
}

/// [`read`], calling `tick` with the bytes read so far every few thousand rows (for
/// a progress bar).
pub fn read_with(
    text: &[u8],
    file: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<Draft, ImportError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text);
    let mut draft = Draft::default();
    let mut seen = Seen::default();
    let mut columns: Option<Columns> = None;
    let mut record = ::csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ImportError::at(file, line, format!("not CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        if line.is_multiple_of(4096) {
            tick(record.position().map_or(0, |p| p.byte()));
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cols = match columns {
            Some(c) => c,
            None => {
                let (c, header) = header(&record, file, line)?;
                columns = Some(c);
                if header {
                    continue;
                }
                c
            }
        };
        match row(&record, cols, file, line) {
            Ok(member) => draft.push(&mut seen, member),
            Err(e) => draft.invalid.push(e),
        }
    }
    Ok(draft)
}

/// The columns, from the first row: a header when its first field has no `@`.
fn header(
    first: &::csv::StringRecord,
    file: &Path,
    line: usize,
) -> Result<(Columns, bool), ImportError> {
    if first.get(0).is_some_and(|f| f.contains('@')) {
        let columns = Columns {
            address: 0,
            name: Some(1),
            since: Some(2),
            mode: None,
            strict: true,
        };
        return Ok((columns, false));
    }
    let find = |names: &[&str]| {
        first
            .iter()
            .position(|f| names.iter().any(|n| f.eq_ignore_ascii_case(n)))
    };
    let address = find(&["address", "email", "e-mail", "mail", "email address"]).ok_or_else(|| {
        ImportError::at(
            file,
            line,
            "a header row without an address column (name one `address` or `email`), or a first row whose address has no @",
        )
    })?;
    let columns = Columns {
        address,
        name: find(&[
            "name",
            "full_name",
            "full name",
            "display_name",
            "display name",
        ]),
        since: find(&["since", "joined", "date", "subscribed"]),
        mode: find(&["mode", "delivery", "delivery_mode"]),
        strict: false,
    };
    Ok((columns, true))
}

fn row(
    record: &::csv::StringRecord,
    cols: Columns,
    file: &Path,
    line: usize,
) -> Result<DraftMember, ImportError> {
    if cols.strict && record.len() > 3 {
        return Err(ImportError::at(
            file,
            line,
            format!(
                "{} fields; a row is address[,name[,since]] (quote a name that has a comma)",
                record.len()
            ),
        ));
    }
    let field = |i: Option<usize>| {
        i.and_then(|i| record.get(i))
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
    };
    let raw = field(Some(cols.address)).unwrap_or_default();
    let address = EmailAddress::parse(strip_angles(&raw))
        .map_err(|e| ImportError::at(file, line, e.to_string()))?;
    let since = field(cols.since)
        .map(|s| parse_since(&s))
        .transpose()
        .map_err(|why| ImportError::at(file, line, why))?;
    // Read as the other importers read their sources' options.
    let untranslated = match field(cols.mode).map(|m| m.to_ascii_lowercase()).as_deref() {
        None | Some("mail") => Vec::new(),
        Some("nomail") => vec!["NOMAIL".to_owned()],
        Some("digest") => vec!["DIGEST".to_owned()],
        Some(other) => {
            let why = format!("mode {other:?}: write mail, digest or nomail");
            return Err(ImportError::at(file, line, why));
        }
    };
    Ok(DraftMember {
        address,
        name: field(cols.name),
        since,
        line,
        untranslated,
    })
}

/// `<jane@example.gov>` as some exports write it.
fn strip_angles(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(text: &str) -> Draft {
        read(text.as_bytes(), Path::new("m.csv")).unwrap()
    }

    #[test]
    fn rows_with_and_without_a_header() {
        let d = draft("a@x.gov,Ann A,2024-01-02\nb@x.gov\n");
        assert_eq!(d.members.len(), 2);
        assert_eq!(d.members[0].name.as_deref(), Some("Ann A"));
        let d = draft("Name,Dept,Email\n\"Lee, Pat\",GIS,pat@x.gov\n");
        assert_eq!(d.members[0].address.to_string(), "pat@x.gov");
        assert_eq!(d.members[0].name.as_deref(), Some("Lee, Pat"));
        assert_eq!(d.members[0].line, 2);
    }

    #[test]
    fn bad_rows_name_their_line_and_duplicates_merge() {
        let d = draft("a@x.gov\nnot-an-address\nA@X.GOV,Ann\n");
        assert_eq!(d.members.len(), 1);
        assert_eq!(d.members[0].name.as_deref(), Some("Ann"));
        assert_eq!(d.duplicates, vec![(3, 1, "A@x.gov".into())]);
        assert_eq!(d.invalid.len(), 1);
        assert!(d.invalid[0].to_string().starts_with("m.csv:2: "));
    }
}
