//! Domain and address globs and addresses from arbitrary text: never a panic, and a
//! literal domain pattern matches only its own domain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listkeeper::address::EmailAddress;
use listkeeper::eligibility::{AddressGlob, DomainGlob};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\n').unwrap_or((&text, "x@example.gov"));
    if let Ok(address) = EmailAddress::parse(subject) {
        assert_eq!(
            EmailAddress::parse_key(subject).expect("parse_key agrees"),
            address.key()
        );
        if let Ok(glob) = DomainGlob::parse(pattern) {
            let matched = glob.matches(address.domain());
            if !pattern.contains(['*', '?']) {
                if let Ok(d) = listkeeper::address::normalize_domain(pattern) {
                    assert_eq!(matched, d == address.domain(), "{pattern:?} vs {subject:?}");
                }
            }
        }
        if let Ok(glob) = AddressGlob::parse(pattern) {
            let key = address.key();
            let (local, domain) = key.rsplit_once('@').expect("an @");
            let _ = glob.matches(local, domain);
        }
    }
});
