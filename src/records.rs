//! The records the stores keep and the steps make: a queued batch of replies, one
//! outgoing mail, a pending request. A leaf: the state log, the outbox, the token
//! store and the pipeline all use these types, and none of them is imported here.

use serde::{Deserialize, Serialize};

/// The replies to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The request's dedupe key.
    pub key: String,
    /// List id, for the audit log.
    pub list: Option<String>,
    /// Unix seconds.
    pub created: u64,
    /// Send attempts so far.
    pub attempts: u32,
    /// Unix seconds before which no retry is made.
    pub next_attempt: u64,
    /// The last failure, for `listkeeper outbox`.
    pub last_error: Option<String>,
    /// The mails, each with whether it was accepted already.
    pub mails: Vec<Queued>,
}

impl Batch {
    /// A new batch of `mails` for the request `key`, due at once.
    pub fn new(key: String, list: Option<String>, mails: Vec<Outgoing>, now: u64) -> Batch {
        Batch {
            key,
            list,
            created: now,
            attempts: 0,
            next_attempt: now,
            last_error: None,
            mails: mails
                .into_iter()
                .map(|mail| Queued { mail, sent: false })
                .collect(),
        }
    }
}

/// One mail in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The mail.
    #[serde(flatten)]
    pub mail: Outgoing,
    /// Accepted by the server already (never sent twice).
    pub sent: bool,
}

/// A reply ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    /// Envelope sender: `L-bounces+TAG@D`, or our From when no list is concerned.
    pub envelope_from: String,
    /// Envelope recipient.
    pub to: String,
    /// The message as sent.
    #[serde(default)]
    pub message: String,
    /// Or, for a forwarded message that is not UTF-8, its bytes in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_b64: Option<String>,
}

impl Outgoing {
    /// A mail whose bytes are kept exactly (a forward).
    pub fn raw(envelope_from: String, to: String, bytes: &[u8]) -> Outgoing {
        let (message, message_b64) = match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_owned(), None),
            Err(_) => (String::new(), Some(data_encoding::BASE64.encode(bytes))),
        };
        Outgoing {
            envelope_from,
            to,
            message,
            message_b64,
        }
    }

    /// The bytes to send.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.message_b64 {
            Some(b64) => std::borrow::Cow::Owned(
                data_encoding::BASE64
                    .decode(b64.as_bytes())
                    .unwrap_or_default(),
            ),
            None => std::borrow::Cow::Borrowed(self.message.as_bytes()),
        }
    }
}

/// What a pending request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// Join the list.
    Subscribe,
    /// Leave the list.
    Unsubscribe,
}

impl Intent {
    /// The word used in records and texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Subscribe => "subscribe",
            Intent::Unsubscribe => "unsubscribe",
        }
    }
}

/// Which of the two queues of requests a pending record is in (in `state.log` the
/// line's `op`: `pending` or `held`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Awaiting {
    /// Waiting for the person to confirm by mail.
    Confirmation,
    /// Held for the owners to approve or reject.
    Owners,
}

/// A request waiting for its confirmation (or the owners), as kept in `state.log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// List id.
    pub list: String,
    /// The address concerned, as it will be stored.
    pub address: String,
    /// The display name to store, for a subscribe.
    pub name: Option<String>,
    /// Subscribe or unsubscribe.
    pub action: Intent,
    /// Key id of the token's key.
    pub kid: String,
    /// Random, hex.
    pub nonce: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds after which the token is void.
    pub expires: u64,
    /// Once confirmed, hold for the owners instead of adding (`confirm+moderate`, or
    /// a `moderate` rule on a `confirm` list).
    #[serde(default)]
    pub hold: bool,
    /// Unix seconds of each confirmation mail sent for it (for the resend budget).
    #[serde(default)]
    pub sends: Vec<u64>,
    /// The rule that held it, by number, for the owners to see.
    #[serde(default)]
    pub rule: Option<usize>,
    /// The request the person agreed in (`<message-id>`, `web:CLIENT`), kept while
    /// the owners decide: their member line names it, not the owner's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The language the request asked in, for the member line and the replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// How a member came onto a roster: a roster line's and a roster change's `via`.
///
/// Written as a word (`email`, `token`, `admin`, `import:FORMAT`, `sync:NAME`); a
/// word listkeeper does not know (a hand-edited roster) is kept as it is and written
/// back unchanged. Not one type with `audit::Via`, which says who made a
/// change (any change: a removal, a send) and is one of three words; an origin also
/// names the import or the sync. [`Origin::from`] a `Via` gives its word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Origin {
    /// Joined by mail, with no confirmation (an open list).
    Email,
    /// Joined by confirming a token.
    Token,
    /// Added by an admin at the command line, or approved by the owners.
    Admin,
    /// Joined from the web pages (after confirming by mail).
    Web,
    /// Brought in by `listkeeper migrate` from this format.
    Import(String),
    /// Owned by the `listkeeper sync` of this name.
    Sync(String),
    /// A word listkeeper does not write, kept as it was.
    Other(String),
}

impl Origin {
    /// The word as written in the roster (borrowed when listkeeper knows it).
    pub fn word(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self {
            Origin::Email => Cow::Borrowed("email"),
            Origin::Token => Cow::Borrowed("token"),
            Origin::Admin => Cow::Borrowed("admin"),
            Origin::Web => Cow::Borrowed("web"),
            Origin::Import(format) => Cow::Owned(format!("import:{format}")),
            Origin::Sync(name) => Cow::Owned(format!("sync:{name}")),
            Origin::Other(word) => Cow::Borrowed(word),
        }
    }
}

impl From<&str> for Origin {
    fn from(word: &str) -> Origin {
        match word {
            "email" => Origin::Email,
            "token" => Origin::Token,
            "admin" => Origin::Admin,
            "web" => Origin::Web,
            _ => match word.split_once(':') {
                Some(("import", format)) => Origin::Import(format.to_owned()),
                Some(("sync", name)) => Origin::Sync(name.to_owned()),
                _ => Origin::Other(word.to_owned()),
            },
        }
    }
}

impl From<String> for Origin {
    fn from(word: String) -> Origin {
        Origin::from(word.as_str())
    }
}

impl From<Origin> for String {
    fn from(origin: Origin) -> String {
        match origin {
            Origin::Other(word) => word,
            known => known.word().into_owned(),
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.word())
    }
}

impl From<crate::audit::Via> for Origin {
    fn from(via: crate::audit::Via) -> Origin {
        match via {
            crate::audit::Via::Email => Origin::Email,
            crate::audit::Via::Admin => Origin::Admin,
            crate::audit::Via::Token => Origin::Token,
            crate::audit::Via::Web => Origin::Web,
        }
    }
}

/// Whether a roster change adds or removes (in `state.log`, `"add": true` or
/// `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum Edit {
    /// The address joins.
    Add,
    /// The address leaves.
    Remove,
}

impl From<bool> for Edit {
    fn from(add: bool) -> Edit {
        if add { Edit::Add } else { Edit::Remove }
    }
}

impl From<Edit> for bool {
    fn from(edit: Edit) -> bool {
        edit == Edit::Add
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_written_back_as_it_was_read() {
        for word in [
            "email",
            "token",
            "admin",
            "web",
            "import:mlmmj",
            "sync:hr",
            "Email",
            "by hand",
            "import",
            "",
        ] {
            let origin = Origin::from(word);
            assert_eq!(String::from(origin.clone()), word);
            assert_eq!(origin.to_string(), word);
        }
        assert_eq!(Origin::from("sync:hr"), Origin::Sync("hr".into()));
        assert_eq!(Origin::from("by hand"), Origin::Other("by hand".into()));
    }

    #[test]
    fn an_edit_is_the_add_flag_on_disk() {
        assert_eq!(serde_json::to_string(&Edit::Add).unwrap(), "true");
        assert_eq!(serde_json::to_string(&Edit::Remove).unwrap(), "false");
        assert_eq!(serde_json::from_str::<Edit>("false").unwrap(), Edit::Remove);
    }
}
