//! Confirmation tokens and the pending requests they confirm (docs/reference.md, section 4).
//!
//! A token is `KK` `PPPPPPPPPPPPPPPP` `MMMMMMMMMMMMMMMM` (34 lower-case characters):
//! `KK` names the key that made it, `P…` is the pending request's id (a hash of list,
//! address and action, so a second request for the same thing finds the first), and
//! `M…` is an HMAC-SHA256 over list, address, action, a random nonce and the expiry,
//! truncated to 80 bits. Without the key nobody can make a token; with the pending
//! record gone (used, or expired) a token is worthless: single use. The keys live in
//! `confirm.secret_file`, newest first, so a new key can be put on top while tokens
//! made with an older one stay good until they expire.
//!
//! Nothing here logs a token; the audit log never sees one.

use crate::fsio;
pub(crate) use crate::records::{Awaiting, Intent, Pending};
use crate::statelog::{Line, StateLog};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

/// Lower-case RFC 4648 base32, no padding: survives case-folding MTAs.
pub(crate) fn base32() -> &'static data_encoding::Encoding {
    // Built once: making the tables took more than the HMAC of a token.
    static BASE32: std::sync::LazyLock<data_encoding::Encoding> = std::sync::LazyLock::new(|| {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
        // The symbols are a valid base32 alphabet; this cannot fail.
        #[allow(clippy::expect_used)]
        spec.encoding().expect("a valid base32 alphabet")
    });
    &BASE32
}

const KID_LEN: usize = 2;
const PID_LEN: usize = 16;
const MAC_LEN: usize = 16;
/// Length of every token.
pub(crate) const TOKEN_LEN: usize = KID_LEN + PID_LEN + MAC_LEN;

/// Whether a word has the shape of one of our tokens.
pub(crate) fn looks_like_token(word: &str) -> bool {
    // Bytes, not chars: a hostile word may hold multi-byte characters anywhere.
    let b = word.as_bytes();
    b.len() == TOKEN_LEN
        && b[..KID_LEN]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b[KID_LEN..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(c))
}

/// What a new pending request is for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// List id.
    pub list: &'a str,
    /// The address's member key (lower case).
    pub address_key: &'a str,
    /// The address as it will be stored.
    pub address: &'a str,
    /// The display name to store.
    pub name: Option<String>,
    /// Subscribe or unsubscribe.
    pub action: Intent,
}

/// The token keys.
#[derive(Debug, Clone)]
pub struct Keys {
    keys: Vec<(String, Vec<u8>)>,
}

impl Keys {
    /// Reads `path`, creating it with one new key (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> io::Result<Keys> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(io::Error::other(format!(
                        "{} is readable by others (mode {:o}): run `chmod 600 {}`",
                        path.display(),
                        mode & 0o777,
                        path.display()
                    )));
                }
                Self::parse(&text)
                    .map_err(|why| io::Error::other(format!("{}: {why}", path.display())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(fsio::at(path)(e)),
        }
    }

    fn create(path: &Path) -> io::Result<Keys> {
        if let Some(dir) = path.parent() {
            fsio::create_private_dir(dir)?;
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(io::Error::other)?;
        let text = format!(
            "# listkeeper token keys, newest first: \"id hex-secret\". To rotate, add a new line\n\
             # on top (a new 2-character id) and keep the old ones until their tokens expire.\n\
             k1 {}\n",
            hex(&secret)
        );
        // Written whole and fsync'd under a name of our own, then linked into place:
        // a process starting at the same time finds either no file or a complete one,
        // and when another got there first its key is the one (issue 21).
        match fsio::create_exclusive(path, text.as_bytes(), 0o600) {
            Ok(true) => Ok(Self::parse(&text).map_err(io::Error::other)?),
            Ok(false) => Self::load_or_create(path),
            Err(e) => Err(e),
        }
    }

    fn parse(text: &str) -> Result<Keys, String> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, secret) = line
                .split_once(' ')
                .ok_or(format!("line {}: write `id hex-secret`", n + 1))?;
            let ok_id = id.len() == KID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            let secret = unhex(secret.trim()).filter(|s| s.len() >= 16);
            match (ok_id, secret) {
                (true, Some(secret)) => keys.push((id.to_owned(), secret)),
                _ => {
                    return Err(format!(
                        "line {}: a key is a 2-character id and at least 32 hex digits",
                        n + 1
                    ));
                }
            }
        }
        if keys.is_empty() {
            return Err("no key in the file".into());
        }
        Ok(Keys { keys })
    }

    /// The key new tokens are made with.
    fn current(&self) -> &(String, Vec<u8>) {
        &self.keys[0]
    }

    /// The id of the key new tokens and tags are made with.
    pub fn current_id(&self) -> &str {
        &self.current().0
    }

    /// An HMAC-SHA256 over `text` under key `kid`, for the other things we sign
    /// (bounce tags); `None` for a key we do not have.
    pub fn mac(&self, kid: &str, text: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.get(kid)?).ok()?;
        mac.update(text.as_bytes());
        Some(mac)
    }

    /// Keys from the text of a keys file (for tests).
    #[cfg(test)]
    pub(crate) fn from_text(text: &str) -> Result<Keys, String> {
        Self::parse(text)
    }

    fn get(&self, kid: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|(id, _)| id == kid)
            .map(|(_, k)| k.as_slice())
    }

    /// A fresh pending request and its token.
    pub fn issue(
        &self,
        request: Request<'_>,
        now: u64,
        lifetime: u64,
    ) -> io::Result<(Pending, String)> {
        let Request {
            list,
            address_key,
            address,
            name,
            action,
        } = request;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(io::Error::other)?;
        let (kid, _) = self.current();
        let pending = Pending {
            list: list.to_owned(),
            address: address.to_owned(),
            name,
            action,
            kid: kid.clone(),
            nonce: hex(&nonce),
            created: now,
            expires: now + lifetime,
            hold: false,
            sends: Vec::new(),
            rule: None,
            setting: None,
            by: None,
            quiet: false,
            request: None,
            lang: None,
            from: None,
        };
        let token = self
            .token_for(&pending, address_key)
            .ok_or_else(|| io::Error::other("unknown key id"))?;
        Ok((pending, token))
    }

    /// The token of a pending request (to send it again).
    pub fn token_for(&self, p: &Pending, address_key: &str) -> Option<String> {
        let mac = self.request_mac(p, address_key)?.finalize().into_bytes();
        let mac = base32().encode(&mac[..10]);
        Some(format!(
            "{}{}{}",
            p.kid,
            pending_id(&p.list, address_key, p.action),
            &mac[..MAC_LEN]
        ))
    }

    /// Whether `token` was made for this pending request by one of our keys.
    /// The comparison is in constant time.
    pub fn verify(&self, token: &str, p: &Pending, address_key: &str) -> bool {
        if !looks_like_token(token) {
            return false;
        }
        let Some(tag) = base32().decode(&token.as_bytes()[KID_LEN + PID_LEN..]).ok() else {
            return false;
        };
        token.get(..KID_LEN) == Some(p.kid.as_str())
            && token.get(KID_LEN..KID_LEN + PID_LEN)
                == Some(pending_id(&p.list, address_key, p.action).as_str())
            && self
                .request_mac(p, address_key)
                .is_some_and(|m| m.verify_truncated_left(&tag).is_ok())
    }

    fn request_mac(&self, p: &Pending, address_key: &str) -> Option<Hmac<Sha256>> {
        let key = self.get(&p.kid)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
        let text = format!(
            "v1\n{}\n{address_key}\n{}\n{}\n{}",
            p.list,
            p.action.as_str(),
            p.nonce,
            p.expires
        );
        mac.update(text.as_bytes());
        Some(mac)
    }
}

/// The id of the pending request for (list, address, action): 80 bits of SHA-256.
pub(crate) fn pending_id(list: &str, address_key: &str, action: Intent) -> String {
    let digest = Sha256::digest(format!("{list}\n{address_key}\n{}", action.as_str()).as_bytes());
    base32().encode(&digest[..10])[..PID_LEN].to_owned()
}

/// The pending id inside a token, when it has a token's shape.
pub(crate) fn pending_id_of(token: &str) -> Option<&str> {
    looks_like_token(token).then(|| &token[KID_LEN..KID_LEN + PID_LEN])
}

/// Pending (or held) requests, kept in the state log ([`StateLog`]), found by id in
/// O(1) whether looked up by token or by address.
#[derive(Debug, Clone)]
pub struct PendingStore {
    log: Arc<StateLog>,
    queue: Awaiting,
}

impl PendingStore {
    /// Requests waiting for their confirmation.
    pub fn new(log: Arc<StateLog>) -> PendingStore {
        PendingStore {
            log,
            queue: Awaiting::Confirmation,
        }
    }

    /// Requests held for the owners: the same records, kept until the owners decide.
    pub fn held(log: Arc<StateLog>) -> PendingStore {
        PendingStore {
            log,
            queue: Awaiting::Owners,
        }
    }

    fn line(&self, key: String, record: Option<Pending>) -> Line {
        Line::awaiting(self.queue, key, record)
    }

    /// The pending request with this id, if any (expired ones included).
    pub fn get(&self, list: &str, id: &str) -> io::Result<Option<Pending>> {
        self.log.pending(self.queue, &format!("{list}/{id}"))
    }

    /// Stores a pending request (durable after [`StateLog::sync`]).
    pub fn put(&self, p: &Pending, address_key: &str) -> io::Result<()> {
        let key = format!("{}/{}", p.list, pending_id(&p.list, address_key, p.action));
        self.log
            .append(vec![self.line(key, Some(p.clone()))])
            .map(|_| ())
    }

    /// Every request of a list, oldest first.
    pub fn all(&self, list: &str) -> io::Result<Vec<Pending>> {
        let mut out: Vec<Pending> = self.log.read(|s| {
            s.awaiting(self.queue)
                .values()
                .filter(|p| p.list == list)
                .cloned()
                .collect()
        })?;
        out.sort_by(|a, b| (a.created, &a.address).cmp(&(b.created, &b.address)));
        Ok(out)
    }

    /// Removes a pending request, used or expired (durable after [`StateLog::sync`]).
    pub fn remove(&self, list: &str, id: &str) -> io::Result<()> {
        let key = format!("{list}/{id}");
        if self.log.pending(self.queue, &key)?.is_none() {
            return Ok(());
        }
        self.log.append(vec![self.line(key, None)]).map(|_| ())
    }
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(list: &'a str, key: &'a str) -> Request<'a> {
        Request {
            list,
            address_key: key,
            address: key,
            name: None,
            action: Intent::Subscribe,
        }
    }

    fn keys(dir: &Path) -> Keys {
        Keys::load_or_create(&dir.join("secret")).unwrap()
    }

    /// Found by fuzzing (message_commands): a 34-byte word with a multi-byte
    /// character made the shape check slice inside it and panic.
    #[test]
    fn regression_fuzz_multibyte_words_are_not_tokens() {
        let word = format!("k{}{}", '\u{e9}', "a".repeat(31));
        assert_eq!(word.len(), TOKEN_LEN);
        assert!(!looks_like_token(&word));
        assert!(!looks_like_token(&"\u{fffd}".repeat(12)[..TOKEN_LEN - 1]));
        assert_eq!(
            crate::command::token_in(&format!("Re: {word} confirm")),
            None
        );
    }

    #[test]
    fn secret_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = keys(dir.path());
        let mode = std::fs::metadata(dir.path().join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = keys(dir.path());
        assert_eq!(a.current(), b.current());
        std::fs::set_permissions(
            dir.path().join("secret"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(
            Keys::load_or_create(&dir.path().join("secret")).is_err(),
            "a readable key file is refused"
        );
    }

    #[test]
    fn tokens_verify_only_for_their_request() {
        let dir = tempfile::tempdir().unwrap();
        let k = keys(dir.path());
        let (p, token) = k.issue(req("sm-cop", "jane@x.gov"), 1000, 3600).unwrap();
        assert!(looks_like_token(&token), "{token}");
        assert!(k.verify(&token, &p, "jane@x.gov"));
        assert_eq!(
            pending_id_of(&token),
            Some(pending_id("sm-cop", "jane@x.gov", Intent::Subscribe).as_str())
        );
        // Bound to address, list, action, nonce and expiry.
        assert!(!k.verify(&token, &p, "john@x.gov"));
        assert!(!k.verify(
            &token,
            &Pending {
                list: "other".into(),
                ..p.clone()
            },
            "jane@x.gov"
        ));
        assert!(!k.verify(
            &token,
            &Pending {
                action: Intent::Unsubscribe,
                ..p.clone()
            },
            "jane@x.gov"
        ));
        assert!(!k.verify(
            &token,
            &Pending {
                expires: p.expires + 1,
                ..p.clone()
            },
            "jane@x.gov"
        ));
        assert!(!k.verify(
            &token,
            &Pending {
                nonce: "00".into(),
                ..p.clone()
            },
            "jane@x.gov"
        ));
        // Any change to the token's MAC fails.
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'a' { 'b' } else { 'a' });
        assert!(!k.verify(&forged, &p, "jane@x.gov"));
        // The same request always gets the same token.
        assert_eq!(
            k.token_for(&p, "jane@x.gov").as_deref(),
            Some(token.as_str())
        );
    }

    #[test]
    fn old_keys_still_verify_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let old = keys(dir.path());
        let (p, token) = old.issue(req("l", "a@x.gov"), 0, 60).unwrap();
        let text = std::fs::read_to_string(dir.path().join("secret")).unwrap();
        let rotated = Keys::parse(&format!("k2 {}\n{text}", "ab".repeat(32))).unwrap();
        assert_eq!(rotated.current().0, "k2");
        assert!(rotated.verify(&token, &p, "a@x.gov"));
        let (_, new_token) = rotated.issue(req("l", "a@x.gov"), 0, 60).unwrap();
        assert!(new_token.starts_with("k2"));
    }

    #[test]
    fn pending_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let k = keys(dir.path());
        let store = PendingStore::new(Arc::new(StateLog::open(dir.path()).unwrap()));
        let (p, token) = k
            .issue(
                Request {
                    address: "A@x.gov",
                    name: Some("A".into()),
                    ..req("sm-cop", "a@x.gov")
                },
                5,
                60,
            )
            .unwrap();
        store.put(&p, "a@x.gov").unwrap();
        let id = pending_id_of(&token).unwrap();
        assert_eq!(store.get("sm-cop", id).unwrap(), Some(p));
        store.remove("sm-cop", id).unwrap();
        assert_eq!(store.get("sm-cop", id).unwrap(), None);
    }
}
