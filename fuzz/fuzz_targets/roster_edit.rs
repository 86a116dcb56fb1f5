//! Arbitrary roster text: whatever parses can take a new member and give it back,
//! and every other byte stays as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listkeeper::address::EmailAddress;
use listkeeper::roster::{Member, Roster};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut roster) = Roster::parse(text.to_owned()) else {
        return;
    };
    let address = EmailAddress::parse("fuzz.new.member@fuzz.example.gov").expect("valid");
    if roster.contains(&address) {
        return;
    }
    let member = Member {
        address: address.clone(),
        name: Some("Fuzz \"Q\" Member".into()),
        since: None,
        via: Some("admin".into()),
        setting: Default::default(),
    };
    assert!(roster.add(&member));
    let again = Roster::parse(roster.text().to_owned()).expect("an edited roster still parses");
    assert!(again.contains(&address));
    assert!(roster.remove(&address));
    // Every byte comes back; a roster that had no `[members]` header keeps the one
    // the first member brought.
    let after = roster.text();
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // And a last line without a newline gets one (the new member's line went after it).
    let allowed = [
        format!("{text}[members]{nl}"),
        format!("{text}{nl}[members]{nl}"),
        format!("{text}{nl}"),
    ];
    assert!(
        after == text || allowed.iter().any(|h| h == after),
        "{text:?} became {after:?}"
    );
});
