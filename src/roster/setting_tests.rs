//! Roster tests of delivery settings (`mode`, `until`, `why`): both parse paths, edits
//! that keep the rest of a line, the include files, what `check` is told.

use super::*;
use crate::records::{Day, Why};

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn nomail(until: Option<&str>, why: Why) -> Setting {
    Setting {
        mode: Mode::Nomail,
        until: until.map(|d| d.parse::<Day>().unwrap()),
        why: Some(why),
    }
}

const FILE: &str = concat!(
    "# Members\n",
    "[members]\n",
    "\"a@x.gov\" = { name = \"A\", mode = \"nomail\", until = 2027-01-15, why = \"member\" }\n",
    "\"b@x.gov\" = { mode = \"digest\", why = \"owner\" }   # digests, asked by phone\n",
    "\"c@x.gov\" = {}\n",
    "\"d@x.gov\" = { mode = \"nomial\" }\n",
);

#[test]
fn both_paths_read_mode_until_and_why() {
    let fast = Roster::parse(FILE.into()).unwrap();
    // A member on several lines sends the whole file down the slow path.
    let slow = Roster::parse(FILE.replace(
        "[members]\n",
        "[members]\n\"m@x.gov\" = {\n  mode = \"digest\",\n}\n",
    ))
    .unwrap();
    assert_eq!(
        slow.get(&addr("m@x.gov")).unwrap().setting.mode,
        Mode::Digest
    );
    // A line the fast path does not read (an escape) goes alone through the parser.
    let lone = Roster::parse(FILE.replace(
        "\"a@x.gov\" = { name = \"A\"",
        "\"a@x.gov\" = { name = \"\\u0041\"",
    ))
    .unwrap();
    for roster in [&fast, &slow, &lone] {
        let a = roster.get(&addr("a@x.gov")).unwrap();
        assert_eq!(a.setting, nomail(Some("2027-01-15"), Why::Member));
        let b = roster.get(&addr("b@x.gov")).unwrap();
        assert_eq!(b.setting.mode, Mode::Digest);
        assert_eq!(b.setting.why, Some(Why::Owner));
        assert_eq!(
            roster.get(&addr("c@x.gov")).unwrap().setting,
            Setting::mail()
        );
        // An unknown mode keeps the member, as mail.
        assert_eq!(
            roster.get(&addr("d@x.gov")).unwrap().setting,
            Setting::mail()
        );
    }
}

#[test]
fn include_lines_hold_mail_members_and_digest_lines_the_digest_ones() {
    let roster = Roster::parse(FILE.into()).unwrap();
    assert_eq!(roster.address_lines(), "c@x.gov\nd@x.gov\n");
    assert_eq!(roster.digest_lines(), "b@x.gov\n");
}

#[test]
fn check_is_told_of_unknown_modes_and_bad_until_with_their_lines() {
    let text = format!(
        "{FILE}\"e@x.gov\" = {{ mode = \"nomail\", until = \"2027-01-15\" }}\n\"f@x.gov\" = {{ why = \"boss\" }}\n"
    );
    let roster = Roster::parse(text).unwrap();
    let problems = roster.setting_problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems[0].0, 6);
    assert!(
        problems[0].1.contains("unknown mode `nomial`"),
        "{problems:?}"
    );
    assert_eq!(problems[1].0, 7);
    assert!(
        problems[1]
            .1
            .contains("`until` of `e@x.gov` must be a date")
    );
    assert!(problems[2].1.contains("`why` of `f@x.gov`"));
    // The nomail stays nomail; only the bad `until` is ignored.
    let e = roster.get(&addr("e@x.gov")).unwrap();
    assert_eq!((e.setting.mode, e.setting.until), (Mode::Nomail, None));
}

#[test]
fn a_set_rewrites_only_the_setting_and_keeps_comment_and_fields() {
    let mut roster = Roster::parse(FILE.into()).unwrap();
    assert!(roster.set(&addr("B@X.GOV"), &nomail(Some("2027-02-01"), Why::Member)));
    assert!(
        roster.text().contains(
            "\"b@x.gov\" = { mode = \"nomail\", until = 2027-02-01, why = \"member\" }   # digests, asked by phone\n"
        ),
        "{}",
        roster.text()
    );
    // Back to mail: the fields go, the name stays.
    assert!(roster.set(&addr("a@x.gov"), &Setting::mail()));
    assert!(
        roster.text().contains("\"a@x.gov\" = { name = \"A\" }\n"),
        "{}",
        roster.text()
    );
    assert!(
        !roster.set(&addr("a@x.gov"), &Setting::mail()),
        "so already"
    );
    assert!(!roster.set(&addr("nobody@x.gov"), &Setting::mail()));
    // Every span still points at its line: the file reads back the same.
    let again = Roster::parse(roster.text().to_owned()).unwrap();
    assert_eq!(again.members(), roster.members());
    // A new member still goes after the last one.
    assert!(roster.set(&addr("d@x.gov"), &nomail(None, Why::Owner)));
    let new = Member {
        address: addr("z@x.gov"),
        name: None,
        since: None,
        via: None,
        setting: nomail(None, Why::Member),
        request: None,
        terms: None,
        lang: None,
    };
    assert!(roster.add(&new));
    assert!(roster.text().ends_with(
        "\"d@x.gov\" = { mode = \"nomail\", why = \"owner\" }\n\"z@x.gov\" = { mode = \"nomail\", why = \"member\" }\n"
    ), "{}", roster.text());
    assert_eq!(
        Roster::parse(roster.text().to_owned()).unwrap().members(),
        roster.members()
    );
}

#[test]
fn a_set_on_a_member_of_several_lines_rewrites_them() {
    let mut roster =
        Roster::parse("[members]\n\"a@x.gov\" = {\n  name = \"A\",\n}\n\"b@x.gov\" = {}\n".into())
            .unwrap();
    assert!(roster.set(&addr("a@x.gov"), &nomail(None, Why::Member)));
    let again = Roster::parse(roster.text().to_owned()).unwrap();
    assert_eq!(
        again.get(&addr("a@x.gov")).unwrap().setting,
        nomail(None, Why::Member)
    );
    assert_eq!(
        again.get(&addr("a@x.gov")).unwrap().name.as_deref(),
        Some("A")
    );
    assert!(again.contains(&addr("b@x.gov")));
}

#[test]
fn a_set_keeps_crlf_lines() {
    let mut roster =
        Roster::parse("[members]\r\n\"a@x.gov\" = {}\r\n\"b@x.gov\" = {}\r\n".into()).unwrap();
    assert!(roster.set(&addr("a@x.gov"), &nomail(None, Why::Member)));
    assert_eq!(
        roster.text(),
        "[members]\r\n\"a@x.gov\" = { mode = \"nomail\", why = \"member\" }\r\n\"b@x.gov\" = {}\r\n"
    );
}

#[test]
fn lapsed_members_are_those_whose_until_came() {
    let roster = Roster::parse(FILE.into()).unwrap();
    let midnight = "2027-01-15".parse::<Day>().unwrap().start();
    assert!(roster.lapsed(midnight - 1).is_empty());
    let lapsed = roster.lapsed(midnight);
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].address, addr("a@x.gov"));
}

#[test]
fn back_to_mail_from_a_setting_alone_leaves_an_empty_table() {
    let mut roster =
        Roster::parse("[members]\n\"a@x.gov\" = { mode = \"nomail\" } # away\n".into()).unwrap();
    assert!(roster.set(&addr("a@x.gov"), &Setting::mail()));
    assert_eq!(roster.text(), "[members]\n\"a@x.gov\" = {} # away\n");
}
