//! A member's delivery setting on its roster line (`mode`, `until`, `why`): read
//! leniently (what is wrong is reported, the member kept) and written back in place.

use crate::records::{Day, Mode, Setting, Why};
use std::str::FromStr;
use toml_datetime::Datetime;
use toml_edit::InlineTable;

/// Sets (or, for plain mail, removes) `mode`, `until` and `why` in a member's table,
/// leaving its other fields and their layout as they are.
pub(super) fn put_setting(table: &mut InlineTable, setting: &Setting) {
    for key in ["mode", "until", "why"] {
        table.remove(key);
    }
    if setting.mode == Mode::Mail {
        return;
    }
    table.insert("mode", setting.mode.as_str().into());
    if let Some(day) = setting.until {
        let date = toml_datetime::Date {
            year: day.year,
            month: day.month,
            day: day.day,
        };
        let until = Datetime {
            date: Some(date),
            time: None,
            offset: None,
        };
        table.insert("until", until.into());
    }
    if let Some(why) = setting.why {
        table.insert("why", why.as_str().into());
    }
}

/// A member's span of lines with its setting changed: the same text (comments, other
/// fields, their order) but for `mode`, `until` and `why`. `None` if the snippet is not
/// one entry `toml_edit` can edit on its own.
pub(super) fn with_setting(snippet: &str, setting: &Setting) -> Option<String> {
    let mut doc = toml_edit::DocumentMut::from_str(snippet).ok()?;
    let root = doc.as_table_mut();
    if root.len() != 1 {
        return None;
    }
    let (_, item) = root.iter_mut().next()?;
    let table = item.as_value_mut()?.as_inline_table_mut()?;
    put_setting(table, setting);
    // The table's own spacing as listkeeper writes it (a removed last field would
    // leave `{ name = "A"}`); the line's comment is outside it and stays.
    table.fmt();
    let text = doc.to_string();
    Some(if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    })
}

/// A setting field as written: its text when it is a string (or, for `until`, a
/// date), else what it is instead.
pub(super) enum Field<'a> {
    Text(&'a str),
    Date(Datetime),
    Other,
}

/// The delivery setting from the fields as written, and what is wrong with them.
pub(super) fn setting_of(
    key: &str,
    mode: Option<Field<'_>>,
    until: Option<Field<'_>>,
    why: Option<Field<'_>>,
) -> (Setting, Vec<String>) {
    let mut problems = Vec::new();
    let mut setting = Setting::mail();
    match mode {
        None => {}
        Some(Field::Text(word)) => match word.parse::<Mode>() {
            Ok(m) => setting.mode = m,
            Err(_) => problems.push(format!(
                "unknown mode `{word}` for `{key}` (mail, digest or nomail): read as mail"
            )),
        },
        Some(_) => problems.push(format!(
            "`mode` of `{key}` must be \"mail\", \"digest\" or \"nomail\": read as mail"
        )),
    }
    match until {
        None => {}
        Some(Field::Date(Datetime {
            date: Some(d),
            time: None,
            offset: None,
        })) if Day::new(d.year, d.month, d.day).is_some() => {
            setting.until = Day::new(d.year, d.month, d.day);
        }
        Some(_) => problems.push(format!(
            "`until` of `{key}` must be a date such as 2027-01-15 (no time, no quotes): ignored"
        )),
    }
    match why {
        None => {}
        Some(Field::Text(word)) if word.parse::<Why>().is_ok() => setting.why = word.parse().ok(),
        Some(_) => problems.push(format!(
            "`why` of `{key}` must be \"member\", \"owner\" or \"bounces\": ignored"
        )),
    }
    (setting, problems)
}
