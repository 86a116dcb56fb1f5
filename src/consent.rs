//! Consent records: what a member agreed to, as their roster line and audit line say.
//!
//! A member line listkeeper adds carries `terms`, a short hash of the list's terms
//! text at the time (the first 12 hex digits of its SHA-256); the audit line of the
//! add carries the whole hash. Changed terms give a new hash, so `listkeeper members
//! LIST --older-terms` can list who joined under earlier ones.

use sha2::{Digest, Sha256};

/// Hex digits of the hash kept on a member line.
pub(crate) const SHORT: usize = 12;

/// The whole SHA-256 of the terms text, in hex (the audit line's).
pub(crate) fn full(terms: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(terms.as_bytes()))
}

/// The short hash of the terms text (the member line's).
pub(crate) fn short(terms: &str) -> String {
    let mut hash = full(terms);
    hash.truncate(SHORT);
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_hash_begins_the_full_one() {
        let terms = "Anyone with a .gov or .mil email address is eligible to join.";
        let whole = full(terms);
        assert_eq!(whole.len(), 64);
        assert_eq!(short(terms), whole[..SHORT]);
        assert_eq!(
            full(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(short(terms), short("Anyone at all may join."));
    }
}
