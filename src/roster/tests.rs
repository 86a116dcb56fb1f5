//! Roster tests: byte-for-byte edits, both parse paths, errors with lines, the file store.

use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn member(address: &str, name: Option<&str>) -> Member {
    Member {
        address: addr(address),
        name: name.map(str::to_owned),
        since: Some(Datetime::from_str("2026-01-05T10:00:00Z").unwrap()),
        via: Some("admin".into()),
        setting: Default::default(),
        request: None,
        terms: None,
        lang: None,
    }
}

const ADMIN_FILE: &str = concat!(
    "# Members of SM-COP.\n",
    "# Keep this list tidy!\n",
    "\n",
    "[members]   # the table\n",
    "\"jane.doe@agency.gov\" = { name = \"Jane Doe\", since = 2026-01-05T10:00:00Z, via = \"email\" }\n",
    "\"john.roe@army.mil\" = {}\n",
    "\n",
    "# Moderators\n",
    "  \"ann@hhs.gov\"={name='Ann \"the\" Admin'}   # she runs the call\n",
    "\"zed@navy.mil\" = { name = \"Zed \\u00e9\" }\n",
    "\n",
    "# end of file\n",
);

#[test]
fn reads_what_admins_write() {
    let r = Roster::parse(ADMIN_FILE.into()).unwrap();
    assert_eq!(r.len(), 4);
    let ann = r.get(&addr("ANN@HHS.GOV")).unwrap();
    assert_eq!(ann.name.as_deref(), Some("Ann \"the\" Admin"));
    let zed = r.get(&addr("zed@navy.mil")).unwrap();
    assert_eq!(
        zed.name.as_deref(),
        Some("Zed é"),
        "escapes go through the TOML parser"
    );
    let jane = r.get(&addr("jane.doe@agency.gov")).unwrap();
    assert_eq!(jane.since.unwrap().to_string(), "2026-01-05T10:00:00Z");
    let order: Vec<String> = r.members().iter().map(|m| m.address.to_string()).collect();
    assert_eq!(
        order,
        [
            "jane.doe@agency.gov",
            "john.roe@army.mil",
            "ann@hhs.gov",
            "zed@navy.mil"
        ]
    );
}

#[test]
fn add_then_remove_changes_only_that_line() {
    let mut r = Roster::parse(ADMIN_FILE.into()).unwrap();
    assert!(r.add(&member("new@agency.gov", Some("New \"Quoted\" Person"))));
    let expected_line = "\"new@agency.gov\" = { name = 'New \"Quoted\" Person', since = 2026-01-05T10:00:00Z, via = \"admin\" }\n";
    let after_zed = ADMIN_FILE.find("# end").map(|i| i - 1).unwrap();
    let mut expected = ADMIN_FILE.to_owned();
    expected.insert_str(after_zed, expected_line);
    assert_eq!(
        r.text(),
        expected,
        "the new line goes right after the last member"
    );
    // The result is valid TOML and reads back the same.
    let again = Roster::parse(r.text().to_owned()).unwrap();
    assert_eq!(
        again.get(&addr("new@agency.gov")).unwrap().name.as_deref(),
        Some("New \"Quoted\" Person")
    );

    assert!(r.remove(&addr("NEW@agency.gov")));
    assert_eq!(
        r.text(),
        ADMIN_FILE,
        "add then remove gives back every byte"
    );
    assert!(r.remove(&addr("ann@hhs.gov")));
    assert_eq!(
        r.text(),
        ADMIN_FILE.replace(
            "  \"ann@hhs.gov\"={name='Ann \"the\" Admin'}   # she runs the call\n",
            ""
        )
    );
    assert!(!r.remove(&addr("ann@hhs.gov")));
    assert!(
        !r.add(&member("Jane.Doe@AGENCY.gov", None)),
        "a member in another case is the same member"
    );
}

#[test]
fn an_empty_or_missing_file_gets_a_header() {
    let mut r = Roster::empty();
    assert!(r.add(&member("a@x.gov", None)));
    assert!(r.text().starts_with("[members]\n\"a@x.gov\" = {"));
    let mut r = Roster::parse("# just a comment".into()).unwrap();
    assert!(r.add(&member("a@x.gov", None)));
    assert!(
        r.text()
            .starts_with("# just a comment\n[members]\n\"a@x.gov\"")
    );
    assert_eq!(Roster::parse(r.text().to_owned()).unwrap().len(), 1);
}

#[test]
fn last_line_without_newline_and_crlf_files() {
    let mut r = Roster::parse("[members]\n\"a@x.gov\" = {}".into()).unwrap();
    r.add(&member("b@x.gov", None));
    assert!(
        r.text()
            .starts_with("[members]\n\"a@x.gov\" = {}\n\"b@x.gov\" = {")
    );
    let mut r = Roster::parse("[members]\r\n\"a@x.gov\" = {}\r\n".into()).unwrap();
    r.add(&member("b@x.gov", None));
    assert!(
        r.text().ends_with("via = \"admin\" }\r\n"),
        "{:?}",
        r.text()
    );
    r.remove(&addr("a@x.gov"));
    assert!(r.text().starts_with("[members]\r\n\"b@x.gov\""));
}

#[test]
fn multi_line_values_take_the_slow_path_and_stay_editable() {
    let text = "[members]\n\"a@x.gov\" = {\n  name = \"A\",\n}\n\"b@x.gov\" = {}\n";
    let mut r = Roster::parse(text.into()).unwrap();
    assert_eq!(r.get(&addr("a@x.gov")).unwrap().name.as_deref(), Some("A"));
    assert!(r.remove(&addr("a@x.gov")));
    assert_eq!(r.text(), "[members]\n\"b@x.gov\" = {}\n");
}

#[test]
fn errors_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[members]\n\"a@x.gov\" = {}\n\"b@x.gov\" = {\n",
            3,
            "not valid TOML",
        ),
        (
            "[members]\n\"a@x.gov\" = {}\n\"not an address\" = {}\n",
            3,
            "not an email address",
        ),
        (
            "[members]\n\"a@x.gov\" = {}\n\"a@x.gov\" = {}\n",
            3,
            "line 2",
        ),
        (
            "[members]\n\"a@x.gov\" = { nmae = \"A\" }\n",
            2,
            "unknown field `nmae`",
        ),
        (
            "[members]\n\"a@x.gov\" = { name = 3 }\n",
            2,
            "must be a string",
        ),
        (
            "[members]\n\"a@x.gov\" = { since = \"yesterday\" }\n",
            2,
            "date and time",
        ),
        ("[members]\n\n\"a@x.gov\" = \"A\"\n", 3, "on one line"),
        ("[members]\n[other]\nx = 1\n", 2, "only the [members] table"),
        ("title = \"x\"\n[members]\n", 1, "unknown key `title`"),
        (
            "[members]\n\"a@x.gov\" = {}\n[members.\"b@x.gov\"]\nname = \"B\"\n",
            3,
            "on one line",
        ),
        ("[members]\n\"a@x.gov\".name = \"A\"\n", 2, "on one line"),
        (
            "[members]\n\"a@x.gov\" = { since = 2026-02-30T10:00:00Z }\n",
            2,
            "",
        ),
    ];
    for (text, line, needle) in cases {
        let err = Roster::parse((*text).into()).expect_err(text);
        assert_eq!(err.line, *line, "{text:?}: {err}");
        assert!(err.message.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn entries_differing_in_case_are_reported_and_removed_together() {
    let text = "[members]\n\"Jane@x.gov\" = {}\n\"b@x.gov\" = {}\n\"jane@X.GOV\" = {}\n";
    let mut r = Roster::parse(text.into()).unwrap();
    assert_eq!(r.len(), 2);
    let dups = r.duplicates();
    assert_eq!(dups.len(), 1);
    assert_eq!((dups[0].line, dups[0].first_line), (4, 2));
    assert!(r.remove(&addr("JANE@x.gov")));
    assert_eq!(r.text(), "[members]\n\"b@x.gov\" = {}\n");
    assert!(r.duplicates().is_empty());
}

#[test]
fn include_lines_are_display_addresses_in_file_order() {
    let r = Roster::parse("[members]\n\"Z@X.GOV\" = {}\n'a@bücher.example' = {}\n".into()).unwrap();
    assert_eq!(r.address_lines(), "Z@x.gov\na@xn--bcher-kva.example\n");
}

#[test]
fn canonical_datetimes_are_a_subset_of_toml_datetimes() {
    for text in [
        "2026-01-05T10:00:00Z",
        "2024-02-29T23:59:59Z",
        "2000-02-29T00:00:00Z",
    ] {
        assert!(parse::canonical_datetime_for_tests(text));
    }
    for text in [
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01 10:00:00Z",
    ] {
        assert!(!parse::canonical_datetime_for_tests(text), "{text}");
    }
}

// ---- the file store ----

#[test]
fn store_rereads_after_an_outside_edit_and_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.toml");
    let include = dir.path().join("pub/members.txt");
    std::fs::write(&path, "[members]\n\"a@x.gov\" = {}\n").unwrap();
    let mut file = RosterFile::open(
        &path,
        &Includes {
            mail: Some(include.clone()),
            digest: None,
        },
    )
    .unwrap();
    // An admin's editor adds a member behind our back.
    std::fs::write(
        &path,
        "[members]\n\"a@x.gov\" = {}\n# added by hand\n\"b@x.gov\" = {}\n",
    )
    .unwrap();
    file.change(|r| {
        let added = r.add(&member("c@x.gov", None));
        (added, added)
    })
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# added by hand\n\"b@x.gov\" = {}\n\"c@x.gov\""),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&include).unwrap(),
        "a@x.gov\nb@x.gov\nc@x.gov\n"
    );
}

#[test]
fn store_never_overwrites_a_file_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.toml");
    std::fs::write(&path, "[members]\n\"a@x.gov\" = {}\n").unwrap();
    let mut file = RosterFile::open(&path, &Includes::default()).unwrap();
    let broken = "[members]\n\"a@x.gov\" = {}\n\"b@x.gov\" = { oops\n";
    std::fs::write(&path, broken).unwrap();
    let err = file
        .change(|r| {
            let added = r.add(&member("c@x.gov", None));
            (added, added)
        })
        .unwrap_err();
    assert!(
        matches!(err, RosterError::Parse { ref error, .. } if error.line == 3),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        broken,
        "the admin's file is untouched"
    );
}

#[test]
fn store_failed_write_leaves_memory_as_disk() {
    use std::os::unix::fs::PermissionsExt;
    if nix_is_root() {
        return; // root writes into read-only folders; nothing to observe.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.toml");
    std::fs::write(&path, "[members]\n\"a@x.gov\" = {}\n").unwrap();
    let mut file = RosterFile::open(&path, &Includes::default()).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let result = file.change(|r| {
        let added = r.add(&member("c@x.gov", None));
        (added, added)
    });
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(result.is_err());
    assert!(!file.roster().contains(&addr("c@x.gov")));
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

// ---- the fast path agrees with a real TOML parser ----

type Fields = (String, Option<String>, Option<String>, Option<String>);

fn toml_members(text: &str) -> Option<Vec<Fields>> {
    let doc: toml::Table = toml::from_str(text).ok()?;
    let members = doc.get("members")?.as_table()?;
    Some(
        members
            .iter()
            .map(|(k, v)| {
                let t = v.as_table().unwrap();
                (
                    k.clone(),
                    t.get("name").and_then(|v| v.as_str()).map(str::to_owned),
                    t.get("since").map(|v| v.to_string()),
                    t.get("via").and_then(|v| v.as_str()).map(str::to_owned),
                )
            })
            .collect(),
    )
}

fn text_strategy() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        "[A-Za-z ]{0,12}".prop_map(|s| format!("\"{s}\"")),
        "[A-Za-z ]{0,12}".prop_map(|s| format!("'{s}'")),
        "[A-Za-z\"\\\\ ]{0,8}"
            .prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        Just("\"Zo\\u00eb\"".to_owned()),
        Just("\"\"\"multi\"\"\"".to_owned()),
    ];
    let since = prop_oneof![
        Just("2026-01-05T10:00:00Z".to_owned()),
        Just("2026-01-05 10:00:00Z".to_owned()),
        Just("2026-01-05T10:00:00.5+02:00".to_owned()),
        Just("2026-02-30T10:00:00Z".to_owned()),
        Just("2026-01-05".to_owned()),
    ];
    let fields = (
        proptest::option::of(name),
        proptest::option::of(since),
        proptest::option::of("[a-z]{1,5}"),
    )
        .prop_map(|(n, s, v)| {
            let mut parts = Vec::new();
            if let Some(n) = n {
                parts.push(format!("name = {n}"));
            }
            if let Some(s) = s {
                parts.push(format!("since={s}"));
            }
            if let Some(v) = v {
                parts.push(format!("via = \"{v}\""));
            }
            if parts.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        });
    let key = prop_oneof!["[a-c]{1,3}@[a-c]{1,3}\\.gov", "[A-C]{1,2}@[a-c]\\.GOV"];
    let line = prop_oneof![
        4 => (key, fields, proptest::option::of(" # [a-z ]{0,5}")).prop_map(|(k, f, c)| format!("\"{k}\" = {f}{}", c.unwrap_or_default())),
        1 => Just(String::new()),
        1 => Just("# a comment".to_owned()),
    ];
    proptest::collection::vec(line, 0..12)
        .prop_map(|lines| format!("# roster\n[members]\n{}\n", lines.join("\n")))
}

proptest! {
    /// Whatever the fast path accepts, a real TOML parser reads the same way; whatever
    /// TOML refuses, we refuse.
    #[test]
    fn parse_agrees_with_toml(text in text_strategy()) {
        let ours = Roster::parse(text.clone());
        match toml_members(&text) {
            None => prop_assert!(ours.is_err(), "TOML refuses but we accepted:\n{}", text),
            Some(theirs) => {
                // TOML accepts; we may still refuse for invalid member data only.
                let all_valid = theirs.iter().all(|(k, ..)| {
                    EmailAddress::parse(k).is_ok()
                });
                let case_dups = {
                    let mut keys: Vec<String> = theirs.iter().map(|(k, ..)| k.to_lowercase()).collect();
                    keys.sort();
                    keys.dedup();
                    keys.len() != theirs.len()
                };
                if !all_valid {
                    prop_assert!(ours.is_err());
                    return Ok(());
                }
                let ours = ours.map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                let got: Vec<_> = ours.members().into_iter().map(|m| (
                    m.address.local().to_owned(),
                    m.name,
                    m.since.map(|d| d.to_string()),
                    m.via.map(String::from),
                )).collect();
                if !case_dups {
                    let want: Vec<_> = theirs.into_iter().map(|(k, n, s, v)| (
                        k.rsplit_once('@').unwrap().0.to_owned(), n, s, v,
                    )).collect();
                    let (mut got, mut want) = (got, want);
                    got.sort();
                    want.sort();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }

    /// Adding then removing a member restores the text byte for byte.
    #[test]
    fn add_remove_round_trip(text in text_strategy(), local in "[x-z]{1,4}", name in proptest::option::of("[ -~]{0,10}")) {
        if let Ok(mut r) = Roster::parse(text.clone()) {
            let address = format!("{local}@new.gov");
            prop_assert!(r.add(&member(&address, name.as_deref())));
            let reread = Roster::parse(r.text().to_owned()).map_err(|e| TestCaseError::fail(format!("{e}\n{}", r.text())))?;
            prop_assert_eq!(reread.get(&addr(&address)).unwrap().name, name.clone());
            prop_assert!(r.remove(&addr(&address)));
            prop_assert_eq!(r.text(), text.as_str());
        }
    }
}

/// Found by fuzzing (fuzz/fuzz_targets/roster_edit.rs): a roster without a header
/// keeps the `[members]` header its first member brought, and nothing else.
#[test]
fn regression_fuzz_empty_roster_keeps_only_the_new_header() {
    let mut r = Roster::parse(String::new()).unwrap();
    assert!(r.add(&member("a@x.gov", None)));
    assert!(r.remove(&addr("a@x.gov")));
    assert_eq!(r.text(), "[members]\n");
    assert_eq!(Roster::parse(r.text().to_owned()).unwrap().len(), 0);
}

/// Found by fuzzing: a last line without a newline gets one when a member is added
/// after it, and keeps it when that member leaves; nothing else changes.
#[test]
fn regression_fuzz_last_line_without_newline_gains_only_the_newline() {
    let text = "# County-GIS\n[members]  # the table";
    let mut r = Roster::parse(text.into()).unwrap();
    assert!(r.add(&member("a@x.gov", None)));
    assert!(r.remove(&addr("a@x.gov")));
    assert_eq!(r.text(), format!("{text}\n"));
}

/// An editor saves the roster while listkeeper is in the middle of a change (after it
/// read the file, before it replaced it): the editor's line survives and the change
/// is made again on top of it.
#[test]
fn an_editor_saving_mid_change_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.toml");
    std::fs::write(&path, "[members]\n\"a@x.gov\" = {}\n").unwrap();
    let mut file = RosterFile::open(&path, &Includes::default()).unwrap();
    let mut calls = 0;
    file.change(|r| {
        calls += 1;
        if calls == 1 {
            // The editor's save lands between our read and our rename.
            std::fs::write(
                &path,
                "[members]\n\"a@x.gov\" = {}\n# added in vim\n\"editor@x.gov\" = {}\n",
            )
            .unwrap();
        }
        let added = r.add(&member("listkeeper@x.gov", None));
        (added, added)
    })
    .unwrap();
    assert_eq!(calls, 2, "the change was made again on the editor's file");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# added in vim\n\"editor@x.gov\" = {}\n\"listkeeper@x.gov\""),
        "{text}"
    );
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

/// Found by fuzzing: a lone CR at the end of the file is not TOML, so the roster is
/// refused (the fast reader used to take it for the CR of a CRLF).
#[test]
fn regression_fuzz_a_lone_carriage_return_is_refused() {
    assert!(Roster::parse("\r\n\r".into()).is_err());
    assert!(Roster::parse("[members]\n\"a@x.gov\" = {}\r".into()).is_err());
    assert!(Roster::parse("[members]\r\n\"a@x.gov\" = {}\r\n".into()).is_ok());
}

#[test]
fn remove_many_takes_out_each_line_and_keeps_the_rest() {
    let text = "# head\n[members]\n\"a@x.gov\" = {}\n# keep me\n\"b@x.gov\" = { name = \"B\" }\n\"c@x.gov\" = {}\n";
    let mut roster = Roster::parse(text.to_owned()).unwrap();
    let gone = [
        EmailAddress::parse("A@x.gov").unwrap(),
        EmailAddress::parse("c@x.gov").unwrap(),
        EmailAddress::parse("z@x.gov").unwrap(),
    ];
    assert_eq!(roster.remove_many(&gone).unwrap(), 2);
    assert_eq!(
        roster.text(),
        "# head\n[members]\n# keep me\n\"b@x.gov\" = { name = \"B\" }\n"
    );
    assert_eq!(roster.len(), 1);
}
