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
pub enum Action {
    /// Join the list.
    Subscribe,
    /// Leave the list.
    Unsubscribe,
}

impl Action {
    /// The word used in records and texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Subscribe => "subscribe",
            Action::Unsubscribe => "unsubscribe",
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
    pub action: Action,
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
}
