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
    let hex = data_encoding::HEXLOWER.encode(&bytes[..12]);
    Some(format!("erased:{kid}:{hex}"))
}

/// The hash of `address` under the current key.
pub(crate) fn hash(keys: &Keys, address: &EmailAddress) -> Option<String> {
    hash_under(keys, keys.current_id(), address)
}

/// The suppression list, read once, for checking many addresses (an import, a sync).
#[derive(Debug, Default)]
pub(crate) struct Suppressed {
    lines: std::collections::HashSet<String>,
    kids: Vec<String>,
}

impl Suppressed {
    /// Reads `state_dir`'s list (none: nobody is suppressed).
    pub(crate) fn load(state_dir: &Path) -> io::Result<Suppressed> {
        let text = match std::fs::read_to_string(state_dir.join(FILE)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Suppressed::default()),
            Err(e) => return Err(e),
        };
        let mut out = Suppressed::default();
        for line in text.lines() {
            let kid = (line.strip_prefix("erased:")).and_then(|l| l.split(':').next());
            if let Some(kid) = kid.filter(|k| !out.kids.iter().any(|o| o == k)) {
                out.kids.push(kid.to_owned());
            }
            out.lines.insert(line.to_owned());
        }
        Ok(out)
    }

    /// Whether nobody is suppressed.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether `address` was erased (under any key we still have).
    pub(crate) fn contains(&self, keys: &Keys, address: &EmailAddress) -> bool {
        (self.kids.iter())
            .filter_map(|kid| hash_under(keys, kid, address))
            .any(|hash| self.lines.contains(&hash))
    }
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
