//! The suppression list of erased addresses (`state_dir/erased.list`): one keyed
//! hash a line, `erased:KID:HEX`, an HMAC-SHA256 of the address key under the token
//! key `KID`. What stands for a person in the audit log once `listkeeper erase`
//! ran, and what keeps an owner's or an admin's add from bringing them back
//! silently (their own confirmed request still does).

use crate::address::EmailAddress;
use crate::token::Keys;
use hmac::Mac;
use std::io;
use std::path::Path;

/// The file's name in the state folder.
pub(crate) const FILE: &str = "erased.list";

/// The hash of `address` under the key `kid`; `None` for a key we do not have.
pub(crate) fn hash_under(keys: &Keys, kid: &str, address: &EmailAddress) -> Option<String> {
    let mut mac = keys.mac(kid, "erase")?;
    mac.update(address.key().as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes[..12].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("erased:{kid}:{hex}"))
}

/// The hash of `address` under the current key.
pub(crate) fn hash(keys: &Keys, address: &EmailAddress) -> Option<String> {
    hash_under(keys, keys.current_id(), address)
}

/// Whether `address` is in the suppression list of `state_dir` (under any key).
pub(crate) fn is_erased(state_dir: &Path, keys: &Keys, address: &EmailAddress) -> io::Result<bool> {
    let text = match std::fs::read_to_string(state_dir.join(FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(text.lines().any(|line| {
        let kid = line
            .strip_prefix("erased:")
            .and_then(|l| l.split(':').next());
        kid.and_then(|kid| hash_under(keys, kid, address))
            .as_deref()
            == Some(line)
    }))
}
