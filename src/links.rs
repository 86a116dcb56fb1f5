//! Member links: the per-member unsubscribe token of `base_url/u/TOKEN` (the
//! `List-Unsubscribe` URI of RFC 8058), and the undo token of `base_url/undo/TOKEN`
//! (the re-subscribe link in a goodbye).
//!
//! A link token is `KK` `MMMMMMMMMMMMMMMM` `PPPP…` (lower-case base32): the key id, an
//! HMAC-SHA256 (80 bits) under that key of the token keys (`confirm.secret_file`),
//! and the payload it signs, list id and member key (and, for an undo, the time
//! it was made), so nothing is stored per member: any listkeeper process with the
//! key file can make or read one.
//!
//! Lifetime and revocation: an unsubscribe token has no expiry. It stays good while
//! the key that made it is in the key file; rotating the keys (a new line on top,
//! then removing the old one) retires every token the old key made: members get new
//! ones in the next mail a posting system sends. An undo token is good for
//! [`UNDO_DAYS`] after the goodbye that carries it. The payload is encoded, not
//! encrypted: the URI shows the member's address to whoever sees it, who is the
//! member (it goes only into mail to that member).
//!
//! Nothing here logs a token.

use crate::token::{Keys, base32};
use hmac::Mac;

const KID_LEN: usize = 2;
const MAC_CHARS: usize = 16;
const DAY: u64 = 86_400;
/// How long a goodbye's undo link re-subscribes without a confirmation.
pub(crate) const UNDO_DAYS: u64 = 7;
/// The longest token read (a list id and an address are bounded; anything longer
/// is not ours).
const MAX_LEN: usize = 600;

/// What a link token is for: each signs a text of its own, so one is never taken
/// for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `/u/TOKEN`: leave the list.
    Leave,
    /// `/undo/TOKEN`: join again after leaving.
    Undo,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Leave => "unsubscribe-v1",
            Purpose::Undo => "undo-v1",
        }
    }
}

/// What a good token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The list id.
    pub(crate) list: String,
    /// The member key (lower case address).
    pub(crate) address: String,
    /// For an undo, when it was made (Unix seconds).
    pub(crate) made: Option<u64>,
}

/// The unsubscribe token of `address_key` on `list`: the same every time (a
/// posting system may compute it once per recipient).
pub(crate) fn leave_token(keys: &Keys, list: &str, address_key: &str) -> Option<String> {
    make(keys, Purpose::Leave, &format!("{list}\n{address_key}"))
}

/// The undo token of `address_key`, who left `list` at `now`.
pub(crate) fn undo_token(keys: &Keys, list: &str, address_key: &str, now: u64) -> Option<String> {
    make(
        keys,
        Purpose::Undo,
        &format!("{list}\n{address_key}\n{now}"),
    )
}

/// `base_url/u/TOKEN`, or `None` without `[web]`.
pub(crate) fn leave_url(
    config: &crate::config::Config,
    keys: &Keys,
    list: &str,
    address_key: &str,
) -> Option<String> {
    let web = config.server.web.as_ref()?;
    let token = leave_token(keys, list, address_key)?;
    Some(format!("{}/u/{token}", web.base_url))
}

/// `base_url/undo/TOKEN`, or `None` without `[web]`.
pub(crate) fn undo_url(
    config: &crate::config::Config,
    keys: &Keys,
    list: &str,
    address_key: &str,
    now: u64,
) -> Option<String> {
    let web = config.server.web.as_ref()?;
    let token = undo_token(keys, list, address_key, now)?;
    Some(format!("{}/undo/{token}", web.base_url))
}

/// What `token` names, if one of our keys made it for `purpose`; an undo token
/// also only within [`UNDO_DAYS`] of `now`. The MAC is compared in constant time.
pub(crate) fn read(keys: &Keys, purpose: Purpose, token: &str, now: u64) -> Option<Link> {
    if token.len() > MAX_LEN || token.len() <= KID_LEN + MAC_CHARS || !token.is_ascii() {
        return None;
    }
    let token = token.to_ascii_lowercase();
    let (kid, rest) = token.split_at(KID_LEN);
    let (sent, payload) = rest.split_at(MAC_CHARS);
    let sent = base32().decode(sent.as_bytes()).ok()?;
    let text = String::from_utf8(base32().decode(payload.as_bytes()).ok()?).ok()?;
    let mut mac = keys.mac(kid, purpose.label())?;
    mac.update(b"\n");
    mac.update(text.as_bytes());
    mac.verify_truncated_left(&sent).ok()?;
    let mut parts = text.split('\n');
    let list = parts.next()?.to_owned();
    let address = parts.next()?.to_owned();
    let made = match purpose {
        Purpose::Leave => None,
        Purpose::Undo => Some(parts.next()?.parse::<u64>().ok()?),
    };
    if let Some(made) = made
        && (made > now || now - made > UNDO_DAYS * DAY)
    {
        return None;
    }
    Some(Link {
        list,
        address,
        made,
    })
}

fn make(keys: &Keys, purpose: Purpose, text: &str) -> Option<String> {
    let kid = keys.current_id();
    let mut mac = keys.mac(kid, purpose.label())?;
    mac.update(b"\n");
    mac.update(text.as_bytes());
    let mac = mac.finalize().into_bytes();
    let mut sig = base32().encode(&mac[..10]);
    sig.truncate(MAC_CHARS);
    Some(format!("{kid}{sig}{}", base32().encode(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_349_207;

    fn keys() -> Keys {
        Keys::from_text("k1 00112233445566778899aabbccddeeff\n").unwrap()
    }

    #[test]
    fn a_leave_token_names_its_list_and_member_and_nothing_else() {
        let k = keys();
        let t = leave_token(&k, "sm-cop", "pat@agency.gov").unwrap();
        assert_eq!(t, leave_token(&k, "sm-cop", "pat@agency.gov").unwrap());
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let link = read(&k, Purpose::Leave, &t, NOW).unwrap();
        assert_eq!(
            (link.list.as_str(), link.address.as_str()),
            ("sm-cop", "pat@agency.gov")
        );
        assert_eq!(
            read(&k, Purpose::Leave, &t.to_ascii_uppercase(), NOW),
            Some(link)
        );
        // Not an undo token, and not good under another key.
        assert_eq!(read(&k, Purpose::Undo, &t, NOW), None);
        let other = Keys::from_text("k1 ffeeddccbbaa99887766554433221100\n").unwrap();
        assert_eq!(read(&other, Purpose::Leave, &t, NOW), None);
    }

    #[test]
    fn a_changed_payload_or_mac_is_refused() {
        let k = keys();
        let t = leave_token(&k, "sm-cop", "pat@agency.gov").unwrap();
        let forged = format!(
            "{}{}",
            &t[..KID_LEN + MAC_CHARS],
            base32().encode(b"sm-cop\nboss@agency.gov")
        );
        assert_eq!(read(&k, Purpose::Leave, &forged, NOW), None);
        let mut bad = t.clone().into_bytes();
        bad[5] = if bad[5] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            read(&k, Purpose::Leave, &String::from_utf8(bad).unwrap(), NOW),
            None
        );
        for junk in [
            "",
            "k1",
            "k1!!!!",
            &"a".repeat(2000),
            "k9aaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(read(&k, Purpose::Leave, junk, NOW), None, "{junk}");
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_until_their_key_is_removed() {
        let old = keys();
        let t = leave_token(&old, "sm-cop", "pat@agency.gov").unwrap();
        let rotated = Keys::from_text(
            "k2 ffeeddccbbaa99887766554433221100\nk1 00112233445566778899aabbccddeeff\n",
        )
        .unwrap();
        assert!(read(&rotated, Purpose::Leave, &t, NOW).is_some());
        assert!(
            leave_token(&rotated, "sm-cop", "pat@agency.gov")
                .unwrap()
                .starts_with("k2")
        );
        let retired = Keys::from_text("k2 ffeeddccbbaa99887766554433221100\n").unwrap();
        assert_eq!(read(&retired, Purpose::Leave, &t, NOW), None);
    }

    #[test]
    fn an_undo_token_lasts_its_days() {
        let k = keys();
        let t = undo_token(&k, "sm-cop", "pat@agency.gov", NOW).unwrap();
        let link = read(&k, Purpose::Undo, &t, NOW + UNDO_DAYS * DAY).unwrap();
        assert_eq!(link.made, Some(NOW));
        assert_eq!(read(&k, Purpose::Undo, &t, NOW + UNDO_DAYS * DAY + 1), None);
        assert_eq!(
            read(&k, Purpose::Undo, &t, NOW - 1),
            None,
            "not from the future"
        );
        assert_eq!(read(&k, Purpose::Leave, &t, NOW), None);
    }
}
