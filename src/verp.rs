//! Bounce tags: a mark on every mail we send that says "listkeeper sent this, to
//! this address, for this list", so a report to `L-bounces@` can act only on mail we
//! really sent (anyone can mail a text that *looks* like a delivery report).
//!
//! A tag is `KK` `NNNNNNNN` `MMMMMMMMMMMMMMMM` (26 lower-case characters): the key
//! id, a nonce (the day it was made, then 24 random bits) and an HMAC-SHA256 (80
//! bits) over list, recipient and nonce under the token keys
//! (`confirm.secret_file`). A tag older than [`MAX_AGE_DAYS`] is void, so one seen
//! in a forwarded mail does not work for ever. It travels twice:
//!
//! - in the envelope sender, `L-bounces+TAG@D` (VERP): a bounce comes back to that
//!   address, and the tag is checked against the address the report names;
//! - in the Message-ID, `<TAG.RANDOM@D>`: a report that reaches the plain
//!   `L-bounces@` (some systems drop the `+TAG`) still returns our headers, and the
//!   Message-ID found there is checked the same way.
//!
//! A tag is good only for the recipient it was made for: the mail system of
//! `attacker@evil.example` sees tags made for that address alone, so it cannot make
//! a report about anyone else. Everything else is recorded and ignored.

use crate::token::Keys;
use hmac::Mac;

const NONCE_LEN: usize = 5;
const NONCE_CHARS: usize = 8;
const MAC_CHARS: usize = 16;
const KID_LEN: usize = 2;
/// A report about mail sent longer ago than this many days is not believed (MTAs
/// give up on a mail after a few days: Postfix after 5).
pub(crate) const MAX_AGE_DAYS: u64 = 30;
const DAY: u64 = 86_400;
/// Length of every tag.
pub(crate) const TAG_LEN: usize = KID_LEN + NONCE_CHARS + MAC_CHARS;

/// A fresh tag for mail to `recipient_key` (an [`crate::address::EmailAddress::key`])
/// about `list`; `None` when the system has no randomness to give.
pub(crate) fn tag(keys: &Keys, list: &str, recipient_key: &str, now: u64) -> Option<String> {
    let mut nonce = [0u8; NONCE_LEN];
    // The day, modulo 2^16 (179 years): compared modulo the same.
    let day = ((now / DAY) % 65_536) as u16;
    nonce[..2].copy_from_slice(&day.to_be_bytes());
    getrandom::fill(&mut nonce[2..]).ok()?;
    let nonce = crate::token::base32().encode(&nonce);
    let kid = keys.current_id();
    let mac = mac(keys, kid, list, recipient_key, &nonce)?;
    Some(format!("{kid}{nonce}{mac}"))
}

/// Whether `tag` was made by one of our keys for mail to `recipient_key` about
/// `list`, at most [`MAX_AGE_DAYS`] before `now`. The comparison is in constant time.
pub(crate) fn verify(keys: &Keys, tag: &str, list: &str, recipient_key: &str, now: u64) -> bool {
    let tag = tag.to_ascii_lowercase();
    if tag.len() != TAG_LEN || !tag.is_ascii() {
        return false;
    }
    let (kid, rest) = tag.split_at(KID_LEN);
    let (nonce, sent) = rest.split_at(NONCE_CHARS);
    let Ok(sent) = crate::token::base32().decode(sent.as_bytes()) else {
        return false;
    };
    let Some(day) = crate::token::base32()
        .decode(nonce.as_bytes())
        .ok()
        .and_then(|n| Some(u16::from_be_bytes([*n.first()?, *n.get(1)?])))
    else {
        return false;
    };
    let today = ((now / DAY) % 65_536) as u16;
    if u64::from(today.wrapping_sub(day)) > MAX_AGE_DAYS {
        return false;
    }
    keys.mac(kid, &text(list, recipient_key, nonce))
        .is_some_and(|m| m.verify_truncated_left(&sent).is_ok())
}

/// `L-bounces+TAG@D`, the envelope sender of a tagged mail.
pub(crate) fn return_path(list: &str, domain: &str, tag: &str) -> String {
    format!("{list}-bounces+{tag}@{domain}")
}

/// `<TAG.RANDOM@D>`, the Message-ID of a tagged mail (`random` keeps Message-IDs
/// unique whatever the nonce).
pub(crate) fn message_id(tag: &str, random: &str, domain: &str) -> String {
    format!("<{tag}.{random}@{domain}>")
}

/// The tag in one of our Message-IDs (with or without the angle brackets).
pub(crate) fn tag_of_message_id<'a>(id: &'a str, domain: &str) -> Option<&'a str> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, host) = id.rsplit_once('@')?;
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    let (tag, _) = local.split_once('.')?;
    (tag.len() == TAG_LEN).then_some(tag)
}

fn mac(keys: &Keys, kid: &str, list: &str, recipient_key: &str, nonce: &str) -> Option<String> {
    let mac = keys
        .mac(kid, &text(list, recipient_key, nonce))?
        .finalize()
        .into_bytes();
    let mut text = crate::token::base32().encode(&mac[..10]);
    text.truncate(MAC_CHARS);
    Some(text)
}

fn text(list: &str, recipient_key: &str, nonce: &str) -> String {
    format!("bounce-v1\n{list}\n{recipient_key}\n{nonce}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_796_349_207;

    fn keys() -> Keys {
        Keys::from_text("k1 00112233445566778899aabbccddeeff\n").unwrap()
    }

    #[test]
    fn a_tag_is_good_for_its_recipient_and_list_only() {
        let k = keys();
        let t = tag(&k, "sm-cop", "pat@agency.gov", NOW).unwrap();
        assert_eq!(t.len(), TAG_LEN);
        assert!(verify(&k, &t, "sm-cop", "pat@agency.gov", NOW));
        assert!(
            verify(&k, &t.to_ascii_uppercase(), "sm-cop", "pat@agency.gov", NOW),
            "case-folding MTAs"
        );
        assert!(!verify(&k, &t, "sm-cop", "attacker@evil.example", NOW));
        assert!(!verify(&k, &t, "other", "pat@agency.gov", NOW));
        let other = Keys::from_text("k1 ffeeddccbbaa99887766554433221100\n").unwrap();
        assert!(!verify(&other, &t, "sm-cop", "pat@agency.gov", NOW));
    }

    #[test]
    fn a_tag_is_void_after_its_days() {
        let k = keys();
        let t = tag(&k, "sm-cop", "pat@agency.gov", NOW).unwrap();
        let later = NOW + MAX_AGE_DAYS * DAY;
        assert!(verify(&k, &t, "sm-cop", "pat@agency.gov", later));
        assert!(!verify(&k, &t, "sm-cop", "pat@agency.gov", later + DAY));
        assert!(
            !verify(&k, &t, "sm-cop", "pat@agency.gov", NOW - DAY),
            "not from the future"
        );
    }

    #[test]
    fn message_ids_carry_the_tag() {
        let k = keys();
        let t = tag(&k, "sm-cop", "pat@agency.gov", NOW).unwrap();
        let id = message_id(&t, "abcd", "listserv.example.gov");
        assert_eq!(
            tag_of_message_id(&id, "LISTSERV.example.gov"),
            Some(t.as_str())
        );
        assert_eq!(tag_of_message_id(&id, "evil.example"), None);
        assert_eq!(
            tag_of_message_id("<x.y@listserv.example.gov>", "listserv.example.gov"),
            None
        );
    }

    proptest! {
        /// No made-up tag passes, and nothing panics on odd input.
        #[test]
        fn made_up_tags_never_pass(s in "\\PC{0,40}", n in "[a-z2-7]{26}") {
            let k = keys();
            prop_assert!(!verify(&k, &s, "sm-cop", "pat@agency.gov", NOW));
            prop_assert!(!verify(&k, &n, "sm-cop", "pat@agency.gov", NOW));
            let _ = tag_of_message_id(&s, "listserv.example.gov");
        }

        /// A real tag with any one character changed fails.
        #[test]
        fn a_changed_tag_fails(at in 0usize..TAG_LEN, c in "[a-z2-7]") {
            let k = keys();
            let t = tag(&k, "sm-cop", "pat@agency.gov", NOW).unwrap();
            let mut b = t.clone().into_bytes();
            let c = c.as_bytes()[0];
            prop_assume!(b[at] != c);
            b[at] = c;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(!verify(&k, &changed, "sm-cop", "pat@agency.gov", NOW));
        }
    }
}
