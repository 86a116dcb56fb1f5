//! The form stamp: a signed time put into every form, so a post that comes too fast
//! after its page (a program, not a person) or long after it (a replayed form) is
//! refused, without cookies or any third party.
//!
//! A stamp is `KID.MILLIS.MAC`: the key id of the token keys (`confirm.secret_file`,
//! so rotating them rotates these too), when the page was made, and an HMAC-SHA256
//! over the list and that time, truncated to 80 bits.

use crate::token::{Keys, base32};
use hmac::Mac;

/// A post sooner than this after its page was made is a program's.
pub(super) const TOO_FAST_MS: u64 = 2_000;
/// A stamp older than this is refused (the page is to be loaded again).
pub(super) const TOO_OLD_MS: u64 = 86_400_000;

/// What a posted stamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Made by us for this list, between the two limits ago.
    Fresh,
    /// Posted under [`TOO_FAST_MS`] after its page.
    TooFast,
    /// Older than [`TOO_OLD_MS`].
    TooOld,
    /// Not one of ours (or for another list), or missing.
    Forged,
}

/// A stamp for a form of `list`, made at `now_ms`.
pub(super) fn issue(keys: &Keys, list: &str, now_ms: u64) -> String {
    let kid = keys.current_id();
    format!(
        "{kid}.{now_ms}.{}",
        mac(keys, kid, list, now_ms).unwrap_or_default()
    )
}

/// Checks a posted stamp for a form of `list` at `now_ms`.
pub(super) fn check(keys: &Keys, list: &str, stamp: &str, now_ms: u64) -> Stamp {
    let mut parts = stamp.trim().splitn(3, '.');
    let (Some(kid), Some(Ok(made)), Some(tag)) = (
        parts.next(),
        parts.next().map(str::parse::<u64>),
        parts.next(),
    ) else {
        return Stamp::Forged;
    };
    let good = base32().decode(tag.as_bytes()).ok().is_some_and(|tag| {
        keys.mac(kid, &text(list, made))
            .is_some_and(|m| m.verify_truncated_left(&tag).is_ok())
    });
    match now_ms.checked_sub(made) {
        _ if !good => Stamp::Forged,
        // Made in the future: not by our clock.
        None => Stamp::Forged,
        Some(age) if age < TOO_FAST_MS => Stamp::TooFast,
        Some(age) if age > TOO_OLD_MS => Stamp::TooOld,
        Some(_) => Stamp::Fresh,
    }
}

fn text(list: &str, made: u64) -> String {
    format!("form-stamp v1\n{list}\n{made}")
}

fn mac(keys: &Keys, kid: &str, list: &str, made: u64) -> Option<String> {
    let tag = keys.mac(kid, &text(list, made))?.finalize().into_bytes();
    Some(base32().encode(&tag[..10]))
}

/// Milliseconds since the epoch.
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_text(&format!("k2 {}\nk1 {}\n", "ab".repeat(32), "cd".repeat(32))).unwrap()
    }

    #[test]
    fn a_stamp_is_good_only_for_its_list_between_its_limits() {
        let keys = keys();
        let t = 1_000_000_000;
        let stamp = issue(&keys, "sm-cop", t);
        assert_eq!(check(&keys, "sm-cop", &stamp, t + 500), Stamp::TooFast);
        assert_eq!(
            check(&keys, "sm-cop", &stamp, t + TOO_FAST_MS),
            Stamp::Fresh
        );
        assert_eq!(
            check(&keys, "sm-cop", &stamp, t + TOO_OLD_MS + 1),
            Stamp::TooOld
        );
        assert_eq!(check(&keys, "other", &stamp, t + 5_000), Stamp::Forged);
        assert_eq!(check(&keys, "sm-cop", &stamp, t - 1), Stamp::Forged);
        // A stamp whose time was changed no longer verifies.
        let moved = stamp.replacen(&t.to_string(), &(t - 10_000).to_string(), 1);
        assert_eq!(check(&keys, "sm-cop", &moved, t + 5_000), Stamp::Forged);
        for junk in ["", "k2", "k2.1.", "zz.1000000000.aaaa", "k2.x.aaaa"] {
            assert_eq!(
                check(&keys, "sm-cop", junk, t + 5_000),
                Stamp::Forged,
                "{junk}"
            );
        }
    }
}
