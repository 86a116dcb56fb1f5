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
    /// Change how the member gets the list's mail (`SET LIST NOMAIL|MAIL|DIGEST`);
    /// the record's `setting` says to what.
    #[serde(rename = "set")]
    SetMode,
    /// An owner's `ADD` by mail, waiting for the owner's `OK`: the address joins.
    #[serde(rename = "owner-add")]
    OwnerAdd,
    /// An owner's `DELETE` by mail, waiting for the owner's `OK`: the address leaves.
    #[serde(rename = "owner-delete")]
    OwnerDelete,
    /// `SIGNOFF *`: leave every list the address is on (the record sits on one of
    /// them; one confirmation covers all).
    #[serde(rename = "leave-all")]
    LeaveAll,
    /// `CHANGE LIST new@address`: the record's address is the new one (the token
    /// went there), `from` the member's old one.
    Change,
    /// `CHANGE * new@address`: the same on every list the old address is on.
    #[serde(rename = "change-all")]
    ChangeAll,
    /// `ERASE`: all the server holds on the address goes, as `listkeeper erase` does
    /// (the record sits on one list; its confirmation covers every list).
    Erase,
}

impl Intent {
    /// Whether its token is redeemed by mail only: an owner's command and the
    /// requests about every list (their mails carry no link, and a page's visitor
    /// proves nothing about an owner's address).
    pub fn by_mail_only(self) -> bool {
        match self {
            Intent::Subscribe | Intent::Unsubscribe | Intent::SetMode => false,
            Intent::OwnerAdd
            | Intent::OwnerDelete
            | Intent::LeaveAll
            | Intent::Change
            | Intent::ChangeAll
            | Intent::Erase => true,
        }
    }

    /// The word used in records and texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Subscribe => "subscribe",
            Intent::Unsubscribe => "unsubscribe",
            Intent::SetMode => "set",
            Intent::OwnerAdd => "owner-add",
            Intent::OwnerDelete => "owner-delete",
            Intent::LeaveAll => "leave-all",
            Intent::Change => "change",
            Intent::ChangeAll => "change-all",
            Intent::Erase => "erase",
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
    /// For [`Intent::SetMode`]: the delivery setting asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<Setting>,
    /// For an owner's command: the owner who gave it (the token went there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// For an owner's command: `QUIET`, no welcome or goodbye to the member.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quiet: bool,
    /// The request the person agreed in (`<message-id>`, `web:CLIENT`), kept while
    /// the owners decide: their member line names it, not the owner's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The language the request asked in, for the member line and the replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// For [`Intent::Change`]: the member's old address, whose line moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A member's bounce score, as kept in `state.log` (`bounce` decides it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// The score: 1 a hard failure, 0.5 a soft one, at most one a day.
    pub score: f64,
    /// Unix seconds of the last raise (0: never, or reset).
    #[serde(default)]
    pub raised: u64,
    /// Unix seconds of the last verified report (incidents count these).
    #[serde(default)]
    pub reported: u64,
    /// Policy rejections (DMARC, SPF, DKIM, 5.7.x), counted apart, one a day.
    #[serde(default)]
    pub policy: u32,
    /// The day (Unix days) of the last policy rejection counted.
    #[serde(default)]
    pub policy_day: u64,
    /// Unix seconds when the score made the member nomail (0: it has not).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disabled: u64,
    /// Re-enable notices sent since.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub notices: u32,
    /// Unix seconds of the last of them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub noticed: u64,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// How a member gets the list's mail: a roster line's `mode` (absent: mail).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Mode {
    /// Each post, as it is sent (in `include_file`).
    #[default]
    Mail,
    /// Digests only (in `digest_include_file`).
    Digest,
    /// No mail for now; still a member.
    Nomail,
}

impl Mode {
    /// The word in rosters, commands and texts.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who set a member's mode: a roster line's `why`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Why {
    /// The member, by mail (`SET`) or on the web.
    Member,
    /// An owner or admin (`listkeeper set`).
    Owner,
    /// listkeeper, because the member's mail bounced.
    Bounces,
}

impl Why {
    /// The word in rosters.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A member's delivery setting: mode, when a nomail ends by itself, and who set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Setting {
    /// Mail, digest or nomail.
    pub mode: Mode,
    /// The day mail resumes (at 00:00 UTC), for a nomail that ends by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Day>,
    /// Who set the mode (none for plain mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Why>,
}

impl Setting {
    /// Plain mail: what a line without `mode` means.
    pub fn mail() -> Setting {
        Setting::default()
    }

    /// Whether the setting has lapsed at `now`: a nomail whose `until` has come.
    pub fn lapsed(&self, now: u64) -> bool {
        self.mode != Mode::Mail && self.until.is_some_and(|d| d.start() <= now)
    }
}

/// A calendar day (UTC), written `YYYY-MM-DD`, as TOML writes a local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day {
    /// Year, 1970–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
}

impl Day {
    /// A valid day, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Day> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        ((1970..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Day {
            year,
            month,
            day,
        })
    }

    /// Unix seconds at 00:00 UTC of the day.
    pub fn start(self) -> u64 {
        // Howard Hinnant's days_from_civil, for years from 1970 on.
        let (m, d) = (u64::from(self.month), u64::from(self.day));
        let y = u64::from(self.year) - u64::from(m <= 2);
        let era = y / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400
    }

    /// The day `unix` seconds fall on (UTC).
    pub fn of(unix: u64) -> Day {
        let z = unix / 86_400 + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + u64::from(month <= 2)) as u16;
        Day { year, month, day }
    }
}

impl std::str::FromStr for Day {
    type Err = String;

    fn from_str(s: &str) -> Result<Day, String> {
        let bad = || format!("`{s}` is not a date such as 2027-01-15");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let (y, m, d) = (&s[..4], &s[5..7], &s[8..]);
        if !(y.bytes().chain(m.bytes()).chain(d.bytes())).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let num = |t: &str| t.parse::<u16>().map_err(|_| bad());
        let (y, m, d) = (num(y)?, num(m)?, num(d)?);
        Day::new(y, m as u8, d as u8).ok_or_else(bad)
    }
}

impl TryFrom<String> for Day {
    type Error = String;

    fn try_from(s: String) -> Result<Day, String> {
        s.parse()
    }
}

impl From<Day> for String {
    fn from(day: Day) -> String {
        day.to_string()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The address joins.
    Add,
    /// The address leaves.
    Remove,
    /// The member's delivery setting changes (`"add": "mode"`, with the setting
    /// beside it; a build that predates modes skips such a line with a warning,
    /// rather than read it as an add or a removal).
    Mode,
}

/// `"add"` as it is on disk: a flag, or the word `mode`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum EditWire {
    Flag(bool),
    Word(String),
}

impl TryFrom<EditWire> for Edit {
    type Error = String;

    fn try_from(wire: EditWire) -> Result<Edit, String> {
        match wire {
            EditWire::Flag(true) => Ok(Edit::Add),
            EditWire::Flag(false) => Ok(Edit::Remove),
            EditWire::Word(w) if w == "mode" => Ok(Edit::Mode),
            EditWire::Word(w) => Err(format!("unknown roster edit `{w}`")),
        }
    }
}

impl From<Edit> for EditWire {
    fn from(edit: Edit) -> EditWire {
        match edit {
            Edit::Add => EditWire::Flag(true),
            Edit::Remove => EditWire::Flag(false),
            Edit::Mode => EditWire::Word("mode".into()),
        }
    }
}

impl Serialize for Edit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EditWire::from(*self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Edit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Edit, D::Error> {
        Edit::try_from(EditWire::deserialize(d)?).map_err(serde::de::Error::custom)
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
        assert_eq!(serde_json::to_string(&Edit::Mode).unwrap(), "\"mode\"");
        assert_eq!(
            serde_json::from_str::<Edit>("\"mode\"").unwrap(),
            Edit::Mode
        );
        assert!(serde_json::from_str::<Edit>("\"other\"").is_err());
    }

    #[test]
    fn a_day_reads_writes_and_knows_its_midnight() {
        let day: Day = "2027-01-15".parse().unwrap();
        assert_eq!(day.to_string(), "2027-01-15");
        assert_eq!(day.start(), 1_799_971_200);
        assert_eq!(Day::of(1_799_971_200 + 86_399), day);
        assert_eq!(Day::of(0), Day::new(1970, 1, 1).unwrap());
        assert_eq!(
            "2028-02-29".parse::<Day>().unwrap().start() + 86_400,
            "2028-03-01".parse::<Day>().unwrap().start()
        );
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "27-01-15",
            "2027-1-15",
            "2027-01-15T00:00:00Z",
            "1969-12-31",
        ] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_nomail_with_until_lapses_at_midnight_utc() {
        let until = Some("2027-01-15".parse().unwrap());
        let setting = Setting {
            mode: Mode::Nomail,
            until,
            why: Some(Why::Member),
        };
        assert!(!setting.lapsed(1_799_971_199));
        assert!(setting.lapsed(1_799_971_200));
        assert!(
            !Setting {
                mode: Mode::Nomail,
                until: None,
                why: None
            }
            .lapsed(u64::MAX)
        );
        assert_eq!("NoMail".parse::<Mode>().unwrap(), Mode::Nomail);
        assert_eq!(Mode::Digest.as_str(), "digest");
    }
}
