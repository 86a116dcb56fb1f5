//! Replies: texts from templates, and the mail that carries them (docs/reference.md, section 5).
//!
//! Every reply is From our address, To the address concerned (never a Reply-To from
//! the request), carries `Auto-Submitted: auto-replied`, our loop header,
//! `In-Reply-To`/`References` and a fresh Message-ID; a welcome adds `List-Id` and
//! `List-Unsubscribe`; a confirmation request has `Reply-To: L-confirm+TOKEN@D`.
//! Header values we build from input were cleaned by `message`; lettre encodes the
//! rest, so no CR or LF from a request reaches a header.

use crate::address::EmailAddress;
use crate::config::{Config, ListConfig};
use crate::lang;
use crate::message::{LOOP_HEADER, clean};
pub(crate) use crate::records::Outgoing;

mod es;
mod wire;
use crate::token::Keys;
use crate::verp;
use std::borrow::Cow;
use wire::Wire;

/// One reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The address concerned.
    pub(crate) to: EmailAddress,
    /// The list it is about, if one.
    pub(crate) list: Option<String>,
    /// Subject line.
    pub(crate) subject: String,
    /// The body, paragraph by paragraph.
    pub(crate) paragraphs: Vec<String>,
    /// A token to confirm by replying: sets Reply-To to `L-confirm+TOKEN@D`.
    pub(crate) confirm_token: Option<String>,
    /// A welcome: adds `List-Id` and `List-Unsubscribe`.
    pub(crate) welcome: bool,
    /// Reply-To `L-request@D` (an owner's notification: replying approves).
    pub(crate) reply_to_request: bool,
}

/// Why a reply could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the reply: {0}")]
pub(crate) struct ReplyError(String);

/// Builds the mail for a reply.
///
/// Mail about a list is tagged ([`verp`]): its envelope sender is
/// `L-bounces+TAG@D` and its Message-ID carries the same tag, so a bounce of it can
/// be told from a forged one.
pub(crate) fn render(
    config: &Config,
    keys: &Keys,
    reply: &Reply,
    in_reply_to: Option<&str>,
    now: u64,
) -> Result<Outgoing, ReplyError> {
    let domain = &config.server.domain;
    let list = reply.list.as_deref().and_then(|id| config.list(id));
    let tag = list.and_then(|l| verp::tag(keys, l.id.as_str(), &reply.to.key(), now));
    let message_id = match &tag {
        Some(tag) => verp::message_id(tag, &random_hex(8), domain),
        None => format!("<{}@{domain}>", random_hex(16)),
    };
    let mut wire = Wire::new();
    wire.plain("From", &config.server.outbound.from.to_string());
    wire.plain("To", &reply.to.to_string());
    wire.header("Subject", &clean(&reply.subject));
    wire.header("Message-ID", &message_id);
    wire.header("Auto-Submitted", "auto-replied");
    wire.header(LOOP_HEADER, domain);
    if let Some(id) = in_reply_to {
        let id = format!("<{id}>");
        wire.header("In-Reply-To", &id);
        wire.header("References", &id);
    }
    if let Some(list) = list {
        list_headers(&mut wire, config, keys, list, reply);
    }
    let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
    let message = wire.body(&(reply.paragraphs.join("\n\n") + "\n"), date);
    let envelope_from = match (list, &tag) {
        (Some(list), Some(tag)) => verp::return_path(list.id.as_str(), domain, tag),
        (Some(list), None) => format!("{}-bounces@{domain}", list.id),
        (None, _) => config.server.outbound.from.to_string(),
    };
    Ok(Outgoing {
        envelope_from,
        to: reply.to.to_string(),
        message,
        message_b64: None,
    })
}

/// The headers of a reply about `list`: where replying goes (`L-confirm+TOKEN@` for a
/// confirmation, `L-request@` for an owners' notice), and a welcome's `List-Id` and
/// `List-Unsubscribe`.
fn list_headers(wire: &mut Wire, config: &Config, keys: &Keys, list: &ListConfig, reply: &Reply) {
    let domain = &config.server.domain;
    if let Some(token) = &reply.confirm_token {
        wire.plain("Reply-To", &confirm_address(config, list, token));
    } else if reply.reply_to_request {
        wire.plain("Reply-To", &format!("{}-request@{domain}", list.id));
    }
    if reply.welcome {
        let name = list.name.replace(['"', '\\'], "");
        let id = format!("\"{}\" <{}.{domain}>", clean(&name), list.id);
        wire.header("List-Id", &id);
        wire.header(
            "List-Unsubscribe",
            &unsubscribe_header(config, keys, list, &reply.to),
        );
        // With `[web]`, the member's own one-click link (RFC 8058) comes first.
        if config.server.web.is_some() {
            wire.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
    }
}

/// The `List-Unsubscribe` value for `member` of `list`:
/// `<base_url/u/TOKEN>, <mailto:L-leave@D>` with `[web]`, the mailto alone without.
pub(crate) fn unsubscribe_header(
    config: &Config,
    keys: &Keys,
    list: &ListConfig,
    member: &EmailAddress,
) -> String {
    let mailto = format!("<mailto:{}-leave@{}>", list.id, config.server.domain);
    match crate::links::leave_url(config, keys, list.id.as_str(), &member.key()) {
        Some(url) => format!("<{url}>, {mailto}"),
        None => mailto,
    }
}

/// `L-confirm+TOKEN@D`.
pub(crate) fn confirm_address(config: &Config, list: &ListConfig, token: &str) -> String {
    format!("{}-confirm+{token}@{}", list.id, config.server.domain)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // Without the OS's randomness a Message-ID is still unique enough by time.
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{nanos:x}{:x}", std::process::id());
    }
    data_encoding::HEXLOWER.encode(&buf)
}

/// A reply text, by the name of the file that overrides it
/// (`lists/<id>/templates/<name>.txt`): one variant for each text listkeeper sends,
/// so a misspelt name is a compile error, not a blank reply.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub(crate) enum Template {
    ConfirmSubscribe,
    ConfirmUnsubscribe,
    Welcome,
    Goodbye,
    Refused,
    AlreadyMember,
    NotMember,
    HeldOwner,
    Declined,
    ApprovedOwner,
    RejectedOwner,
    JoinedOwner,
    LeftOwner,
    LapsedOwner,
    SummaryOwner,
    WaitingOwner,
    OwnerOk,
    OwnerDone,
    OwnersOnly,
    Review,
    AlreadyHeld,
    Held,
    BadToken,
    BadTokenServer,
    Info,
    QueryMember,
    QueryNotMember,
    NoCommand,
    UnknownList,
    MissingList,
    NotSupported,
    LastConfirmation,
    LastCommandReply,
    Help,
    ConfirmSet,
    ModeSet,
    ModeUnchanged,
    NomailBouncesOwner,
    IncidentOwner,
    ReenableBounces,
    RemovedBouncesOwner,
    ConfirmLeaveAll,
    ConfirmErase,
    LeftAll,
    QueryAll,
    NotOnAnyList,
    ConfirmChange,
    ChangeSent,
    Changed,
    ChangeRefused,
}

impl Template {
    /// The file name's stem: `welcome` for `templates/welcome.txt`.
    pub(crate) fn name(self) -> &'static str {
        self.into()
    }
}

/// Reply texts: built in, or `lists/<id>/templates/[LANG/]<name>.txt` when the list
/// has one, in the first language of the chain (the member's, the list's, English)
/// that has the text.
pub(crate) struct Texts<'a> {
    config: &'a Config,
    address: Option<String>,
    lang: Option<String>,
}

impl<'a> Texts<'a> {
    /// Texts for this configuration.
    pub(crate) fn new(config: &'a Config) -> Texts<'a> {
        Texts {
            config,
            address: None,
            lang: None,
        }
    }

    /// Texts for a reply to `address`, which fills `{address}` unless told otherwise.
    pub(crate) fn to(config: &'a Config, address: &EmailAddress) -> Texts<'a> {
        Texts {
            config,
            address: Some(address.to_string()),
            lang: None,
        }
    }

    /// In the language `lang` (a member's `lang`) when given and a text has it.
    pub(crate) fn lang(self, lang: Option<&str>) -> Texts<'a> {
        Texts {
            lang: lang.map(str::to_owned),
            ..self
        }
    }

    /// The chain of languages a text about `list` is looked up by.
    pub(crate) fn chain(&self, list: Option<&ListConfig>) -> Vec<String> {
        let language = list.map_or("en", |l| l.language.as_str());
        lang::chain(self.lang.as_deref(), language)
    }

    /// The text `template`, for `list` when given, with `{placeholders}` filled in.
    pub(crate) fn text(
        &self,
        template: Template,
        list: Option<&ListConfig>,
        extra: &[(&str, &str)],
    ) -> String {
        // `{confirm_url}` is empty without `[web]`: the built-in text then leaves the
        // link out rather than print an empty line.
        // So are `{unsubscribe_url}` and `{undo_url}`.
        let linked = (extra.iter()).any(|(k, v)| k.ends_with("_url") && !v.is_empty());
        let template = pick(template, list, &self.chain(list), linked);
        let domain = &self.config.server.domain;
        // Each placeholder made when the text has it (all made for every text was
        // a tenth of a request's work).
        let var = |name: &str| -> Option<Cow<'_, str>> {
            // What the caller hands in wins over the built-in ones.
            if let Some((_, v)) = extra.iter().rev().find(|(k, _)| *k == name) {
                return Some(Cow::Borrowed(v));
            }
            let at = |local: String| Cow::Owned(format!("{local}@{domain}"));
            Some(match (name, list) {
                ("server_address", _) => match &self.config.server.command_address {
                    Some(local) => at(local.to_string()),
                    None => Cow::Owned(self.config.server.outbound.from.to_string()),
                },
                ("address", _) => Cow::Borrowed(self.address.as_deref()?),
                ("list", Some(l)) => Cow::Borrowed(l.name.as_str()),
                ("title", Some(l)) => Cow::Borrowed(l.title.as_str()),
                ("terms", Some(l)) => Cow::Borrowed(l.terms.as_str()),
                ("subscribe_address", Some(l)) => at(format!("{}-subscribe-request", l.id)),
                ("leave_address", Some(l)) => at(format!("{}-leave", l.id)),
                ("request_address", Some(l)) => at(format!("{}-request", l.id)),
                ("owner_address", Some(l)) => at(format!("{}-owner", l.id)),
                ("list_id", Some(l)) => Cow::Borrowed(l.id.as_str()),
                _ => return None,
            })
        };
        fill(template.trim_end(), var)
    }
}

/// The text of `template` in the first language of `chain` that has it: the list's
/// `templates/LANG/NAME.txt` (or, in the list's own language, `templates/NAME.txt`),
/// else the built-in text in that language.
fn pick<'t>(
    template: Template,
    list: Option<&'t ListConfig>,
    chain: &[String],
    linked: bool,
) -> &'t str {
    for tag in chain {
        if let Some(list) = list {
            let own = list.templates.get(&format!("{tag}/{}", template.name()));
            let plain = (*tag == list.language)
                .then(|| list.templates.get(template.name()))
                .flatten();
            if let Some(text) = own.or(plain) {
                return text;
            }
        }
        match tag.as_str() {
            "es" => return es::builtin(template, linked),
            "en" => return builtin(template, linked),
            _ => {}
        }
    }
    builtin(template, linked)
}

/// Replaces `{name}` by its value; unknown names stay as written.
fn fill<'v>(template: &str, var: impl Fn(&str) -> Option<Cow<'v, str>>) -> String {
    let mut out = String::with_capacity(template.len() + template.len() / 2);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let found = after
            .find('}')
            .and_then(|end| Some((var(&after[..end])?, end)));
        match found {
            Some((value, end)) => {
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn builtin(template: Template, linked: bool) -> &'static str {
    match template {
        Template::ConfirmSubscribe if linked => {
            "Someone, probably you, asked to subscribe {address} to {list} ({title}).\n\n\
             To confirm, open this link and press the button on the page:\n  {confirm_url}\n\
             or reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing happens without your confirmation."
        }
        Template::ConfirmUnsubscribe if linked => {
            "Someone, probably you, asked to remove {address} from {list}.\n\n\
             To confirm, open this link and press the button on the page:\n  {confirm_url}\n\
             or reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: you stay subscribed."
        }
        Template::ConfirmSet if linked => {
            "Someone, probably you, asked that {address} get {list} as: {mode} (until {until}).\n\n\
             To confirm, open this link and press the button on the page:\n  {confirm_url}\n\
             or reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing changes."
        }
        Template::ConfirmSet => {
            "Someone, probably you, asked that {address} get {list} as: {mode} (until {until}).\n\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing changes."
        }
        Template::ModeSet => {
            "{address} now gets {list} as: {mode} (until {until}).\n\n\
             To change it, send \"set {list_id} mail\" (or digest, or nomail) to {request_address}."
        }
        Template::NomailBouncesOwner => {
            "{address} gets no more mail from {list}: mail to it bounced too often.\n\
             It stays a member (mode nomail, why bounces). To send it mail again:\n\
             \x20 listkeeper set {list_id} {address} mail"
        }
        Template::ReenableBounces if linked => {
            "Mail from {list} to {address} bounced too often, so the list stopped sending it.\n\n\
             To get the list's mail again, open this link and press the button on the page:\n  {confirm_url}\n\
             or reply to this message, or send any message to\n  {confirm_address}\n\n\
             This is notice {number} of {warnings}: after the last, {address} is removed from the list."
        }
        Template::ReenableBounces => {
            "Mail from {list} to {address} bounced too often, so the list stopped sending it.\n\n\
             To get the list's mail again, reply to this message, or send any message to\n  {confirm_address}\n\n\
             This is notice {number} of {warnings}: after the last, {address} is removed from the list."
        }
        Template::RemovedBouncesOwner => {
            "{address} was removed from {list}: its mail bounced, it got no mail since,\n\
             and the notices asking it to come back ({notices}) had no answer."
        }
        Template::IncidentOwner => {
            "Mail from {list} to {domain} bounced for {count} members within an hour\n\
             (status {statuses}). So many at once is a problem at {domain}, or with how\n\
             the list's mail is signed (DMARC, SPF, DKIM), not with those members:\n\
             nobody's bounce score was raised. You are told once while it goes on."
        }
        Template::ModeUnchanged => {
            "{address} gets {list} as: {mode} (until {until}) already. Nothing has changed."
        }
        Template::ConfirmSubscribe => {
            "Someone, probably you, asked to subscribe {address} to {list} ({title}).\n\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing happens without your confirmation."
        }
        Template::ConfirmUnsubscribe => {
            "Someone, probably you, asked to remove {address} from {list}.\n\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: you stay subscribed."
        }
        Template::Welcome if linked => {
            "Welcome to {list}: {address} is now subscribed.\n\n{title}\n\n\
             To leave the list, open this link and press the button on the page:\n  {unsubscribe_url}\n\
             or send a message to {leave_address}."
        }
        Template::Goodbye if linked => {
            "{address} has been removed from {list}.\n\n\
             Removed by mistake? Within 7 days, open this link and press the button\n\
             on the page to join again at once:\n  {undo_url}\n\n\
             Later, to join again, send a message to {subscribe_address}."
        }
        Template::Welcome => {
            "Welcome to {list}: {address} is now subscribed.\n\n{title}\n\n\
             To leave the list, send a message to {leave_address}."
        }
        Template::Goodbye => {
            "{address} has been removed from {list}.\n\nTo join again, send a message to {subscribe_address}."
        }
        Template::Refused => "{address} cannot join {list}:\n\n  {reason}",
        Template::AlreadyMember => {
            "{address} is already subscribed to {list}. Nothing has changed."
        }
        Template::NotMember => "{address} is not subscribed to {list}. Nothing has changed.",
        Template::HeldOwner => {
            "{address} ({name}) asks to join {list}; {why}.\n\n\
             To approve, reply to this message: the reply goes to {request_address} with\n\
             \x20 approve {token}\n\
             in its Subject. To reject, send instead\n\
             \x20 reject {token} your reason\n\
             to {request_address}. Or at the server:\n\
             \x20 listkeeper approve {list_id} {address}\n\
             \x20 listkeeper reject {list_id} {address} --reason \"...\"\n\n\
             The request lapses on {expires} if nobody decides."
        }
        Template::Declined => {
            "The owners of {list} declined the request for {address} to join:\n\n  {reason}"
        }
        Template::ApprovedOwner => "{address} is now a member of {list}; they have been welcomed.",
        Template::RejectedOwner => {
            "The request of {address} to join {list} was rejected; they have been told."
        }
        Template::JoinedOwner => "{address} has joined {list}: {how}.",
        Template::LeftOwner => "{address} has left {list}: {how}.",
        Template::LapsedOwner => "The request of {address} to {what} {list} lapsed: {how}.",
        Template::SummaryOwner => {
            "What happened on {list} from {from} to {to}:\n\n{events}\n\n\
             This summary comes once a day when there is something to tell."
        }
        Template::WaitingOwner => {
            "These requests to join {list} still wait for you:\n\n{waiting}\n\n\
             To approve one, send \"approve TOKEN\" to {request_address} (or reply to this\n\
             message with it in the Subject); to reject, \"reject TOKEN your reason\"."
        }
        Template::OwnerOk => {
            "Someone, probably you, sent this command for {list} from {address}:\n\n\
             \x20 {command}\n\n\
             A From line proves nothing, so nothing has been done yet. To carry it out, reply\n\
             to this message with OK, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not send it, ignore this message: nothing happens without your OK."
        }
        Template::OwnerDone => "{command}: {result}",
        Template::OwnersOnly => {
            "Only the {who} of {list} may {command}; {address} is not one of them.\n\
             Nothing has changed."
        }
        Template::Review => "The members of {list} ({count}):\n\n{members}",
        Template::AlreadyHeld => {
            "The request for {address} to join {list} is already with the owners."
        }
        Template::Held => {
            "Your request to join {list} has been passed to the list's owners, who decide on it.\n\
             You will hear from us when they have."
        }
        Template::BadToken => {
            "That confirmation is unknown, already used or expired. Nothing has changed.\n\n\
             To start again, send a message to {subscribe_address} (or {leave_address} to leave)."
        }
        Template::BadTokenServer => {
            "That confirmation is unknown, already used or expired. Nothing has changed.\n\n\
             To start again, send \"lists\" to {server_address} for the lists on this server."
        }
        Template::Info => {
            "{list}: {title}\n\nWho may join: {terms}\n\n\
             To join, send a message to {subscribe_address}.\n\
             To leave, send a message to {leave_address}.\n\
             For commands, send \"help\" to {request_address}."
        }
        Template::QueryMember => "{address} is subscribed to {list}.",
        Template::ConfirmLeaveAll => {
            "Someone, probably you, asked to remove {address} from every list on this server.\n\
             It is on:\n{lists}\n\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: you stay subscribed."
        }
        Template::ConfirmErase => {
            "Someone, probably you, asked that everything this server holds on\n\
             {address} be erased. It is on:\n{lists}\n\n\
             Once you confirm, {address} leaves every list here, its\n\
             requests are cancelled, and our records keep only a keyed hash where the\n\
             address was (so that nobody can add it again without its own confirmation).\n\
             This is the last mail about it: the erasure is not answered, as an answer\n\
             would keep the address.\n\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing changes."
        }
        Template::LeftAll => {
            "{address} has been removed from:\n{lists}\n\n\
             To join a list again, send \"lists\" to {server_address} for the lists on this server."
        }
        Template::QueryAll => "{address} is subscribed to:\n{lists}",
        Template::NotOnAnyList => "{address} is not subscribed to any list on this server.",
        Template::ConfirmChange => {
            "Someone, probably you, asked that the subscription of {from} move to {address} on:\n{lists}\n\n\
             Name, subscription date and delivery mode stay as they are.\n\
             To confirm, reply to this message, or send any message to\n  {confirm_address}\n\
             This request is good until {expires}.\n\n\
             If you did not ask for this, ignore this message: nothing changes."
        }
        Template::ChangeSent => {
            "A confirmation has been mailed to {to}. Once it is confirmed from there,\n\
             the subscription of {address} moves to {to} on:\n{lists}"
        }
        Template::Changed => {
            "The subscription of {address} has moved to {to} on:\n{lists}\n\n\
             Name, subscription date and delivery mode are kept."
        }
        Template::ChangeRefused => {
            "The subscription of {address} cannot move to {to}, and stays as it is, on:\n{lists}"
        }
        Template::QueryNotMember => "{address} is not subscribed to {list}.",
        Template::NoCommand => "No command was found in your message.",
        Template::UnknownList => {
            "There is no list called \"{word}\" here. Send \"lists\" for the lists on this server."
        }
        Template::MissingList => "Name the list, for example: {example}",
        Template::NotSupported => {
            "not supported here: {line}\nSend \"help\" for the commands listkeeper knows."
        }
        Template::LastConfirmation => {
            "This is the last confirmation or notice listkeeper will send to {address} today;\n\
             further requests to join, leave or confirm today will not be answered."
        }
        Template::LastCommandReply => {
            "This is the last reply to commands listkeeper will send to {address} today;\n\
             further command messages today will not be answered."
        }
        Template::Help => {
            "Commands (one a line, in the Subject or the body; the list may be left out in\n\
             mail to LIST-request):\n\n\
             \x20 subscribe LIST [Full Name]   join a list (also: sub, join)\n\
             \x20 unsubscribe LIST             leave a list (also: signoff, unsub, leave)\n\
             \x20 confirm TOKEN                confirm a request\n\
             \x20 info LIST                    what the list is and who may join\n\
             \x20 lists                        the lists on this server\n\
             \x20 query LIST                   whether you are subscribed\n\
             \x20 query *                      the lists you are on\n\
             \x20 signoff *                    leave every list here (one confirmation)\n\
             \x20 erase                        erase all we hold on you (one confirmation)\n\
             \x20 change LIST|* new@address    move your membership (the new address confirms)\n\
             \x20 set LIST nomail [until DATE] no mail for now (DATE: 2027-01-15)\n\
             \x20 set LIST mail | digest       each message again, or digests\n\
             \x20 review LIST                  the members (to the owners, unless the list says more)\n\
             \x20 help                         this text\n\
             \x20 end                          stop reading commands\n\n\
             Owners also have (QUIET first: no welcome or goodbye; carried out after the\n\
             OK of a mail sent back to the owner's address):\n\
             \x20 add LIST address [Full Name] add a member\n\
             \x20 delete LIST address          remove a member\n\n\
             Or write to LIST-subscribe-request or LIST-unsubscribe-request: any message will do."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use strum::IntoEnumIterator;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn keys() -> Keys {
        Keys::from_text("k1 00112233445566778899aabbccddeeff\n").unwrap()
    }

    fn reply(welcome: bool, token: Option<&str>) -> Reply {
        Reply {
            to: EmailAddress::parse("Jane.Doe@agency.gov").unwrap(),
            list: Some("sm-cop".into()),
            subject: "Welcome\r\nBcc: evil@x.com".into(),
            paragraphs: vec!["Hello.".into(), "Bye.".into()],
            confirm_token: token.map(str::to_owned),
            welcome,
            reply_to_request: false,
        }
    }

    fn header<'m>(message: &'m str, name: &str) -> Option<&'m str> {
        let head = message.split("\r\n\r\n").next()?;
        head.split("\r\n")
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .map(|l| l[name.len() + 1..].trim())
    }

    /// A header's value with its continuation lines.
    fn unfolded(message: &str, name: &str) -> Option<String> {
        let head = message.split("\r\n\r\n").next()?;
        let at = head
            .to_ascii_lowercase()
            .find(&format!("\r\n{}:", name.to_ascii_lowercase()))?;
        let rest = &head[at + name.len() + 3..];
        let mut value = String::new();
        for (i, line) in rest.split("\r\n").enumerate() {
            if i > 0 && !line.starts_with([' ', '\t']) {
                break;
            }
            value.push_str(line);
        }
        Some(value.trim().to_owned())
    }

    #[test]
    fn every_reply_has_the_loop_headers() {
        let c = config();
        let out = render(&c, &keys(), &reply(false, None), Some("abc@agency.gov"), 1).unwrap();
        let m = &out.message;
        // Tagged: `L-bounces+TAG@D`, and the same tag in the Message-ID.
        let tag = out
            .envelope_from
            .strip_prefix("sm-cop-bounces+")
            .and_then(|t| t.strip_suffix("@listserv.example.gov"))
            .unwrap();
        assert!(verp::verify(
            &keys(),
            tag,
            "sm-cop",
            "jane.doe@agency.gov",
            1
        ));
        let id = header(m, "Message-ID").unwrap();
        assert_eq!(
            verp::tag_of_message_id(id, "listserv.example.gov"),
            Some(tag)
        );
        assert_eq!(
            header(m, "MIME-Version"),
            Some("1.0"),
            "issue 12: MIME-Version"
        );
        assert_eq!(out.to, "Jane.Doe@agency.gov");
        assert_eq!(header(m, "From"), Some("listserv@listserv.example.gov"));
        assert_eq!(header(m, "To"), Some("Jane.Doe@agency.gov"));
        assert_eq!(header(m, "Auto-Submitted"), Some("auto-replied"));
        assert_eq!(header(m, "X-Listkeeper-Loop"), Some("listserv.example.gov"));
        assert_eq!(header(m, "In-Reply-To"), Some("<abc@agency.gov>"));
        assert_eq!(header(m, "References"), Some("<abc@agency.gov>"));
        assert!(header(m, "Message-ID").is_some_and(|id| id.ends_with("@listserv.example.gov>")));
        assert_eq!(
            header(m, "Bcc"),
            None,
            "no header injection through the subject"
        );
        assert_eq!(header(m, "List-Id"), None);
        assert_eq!(header(m, "Reply-To"), None);
    }

    #[test]
    fn welcome_and_confirmation_headers() {
        let c = config();
        let m = render(&c, &keys(), &reply(true, None), None, 1)
            .unwrap()
            .message;
        assert_eq!(
            header(&m, "List-Id"),
            Some("\"SM-COP\" <sm-cop.listserv.example.gov>")
        );
        // With [web]: the member's one-click link first, then the mailto (RFC 8058).
        let token = crate::links::leave_token(&keys(), "sm-cop", "jane.doe@agency.gov").unwrap();
        assert_eq!(
            unfolded(&m, "List-Unsubscribe").map(|v| v.replace([' ', '\t'], "")),
            Some(format!(
                "<http://127.0.0.1:8025/u/{token}>,<mailto:sm-cop-leave@listserv.example.gov>"
            ))
        );
        assert_eq!(
            header(&m, "List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        let mut bare = c.clone();
        bare.server.web = None;
        let m = render(&bare, &keys(), &reply(true, None), None, 1)
            .unwrap()
            .message;
        assert_eq!(
            header(&m, "List-Unsubscribe"),
            Some("<mailto:sm-cop-leave@listserv.example.gov>")
        );
        assert_eq!(header(&m, "List-Unsubscribe-Post"), None);
        let m = render(&c, &keys(), &reply(false, Some("k1abc")), None, 1)
            .unwrap()
            .message;
        assert_eq!(
            header(&m, "Reply-To"),
            Some("sm-cop-confirm+k1abc@listserv.example.gov")
        );
    }

    #[test]
    fn templates_fill_and_lists_override() {
        let c = config();
        let list = c.list("sm-cop").unwrap();
        let texts = Texts::new(&c);
        let t = texts.text(
            Template::AlreadyMember,
            Some(list),
            &[("address", "a@b.gov")],
        );
        assert_eq!(
            t,
            "a@b.gov is already subscribed to SM-COP. Nothing has changed."
        );
        assert_eq!(
            fill("{a} {b} {", |n: &str| (n == "a")
                .then_some(Cow::Borrowed("x"))),
            "x {b} {"
        );

        // A list's own template (read from templates/welcome.txt with the config).
        let mut list = list.clone();
        list.templates.insert(
            "welcome".into(),
            "Hi {address}, welcome to {list}!\n".into(),
        );
        assert_eq!(
            texts.text(Template::Welcome, Some(&list), &[("address", "a@b.gov")]),
            "Hi a@b.gov, welcome to SM-COP!"
        );
    }

    /// Every text has a Spanish built-in, other than the English one and with the
    /// same placeholders (issue 17, part 6).
    #[test]
    fn every_template_has_a_spanish_builtin() {
        let placeholders = |t: &str| {
            let mut names: Vec<String> = t
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                .collect();
            names.sort();
            names.dedup();
            names
        };
        for template in Template::iter() {
            for linked in [false, true] {
                let (en, es) = (builtin(template, linked), es::builtin(template, linked));
                assert_ne!(en, es, "{template:?}");
                assert_eq!(placeholders(en), placeholders(es), "{template:?}");
            }
        }
    }

    /// A list's `templates/LANG/NAME.txt` wins over the built-in of that language;
    /// `templates/NAME.txt` is the list's own language; then the built-ins.
    #[test]
    fn the_language_chain_picks_overrides_then_builtins() {
        let c = config();
        let mut list = c.list("sm-cop").unwrap().clone();
        let texts = |lang: Option<&str>| Texts::new(&c).lang(lang);
        let a = [("address", "a@b.gov")];
        let es = texts(Some("es-MX")).text(Template::AlreadyMember, Some(&list), &a);
        assert!(
            es.starts_with("La dirección a@b.gov ya está suscrita"),
            "{es}"
        );
        list.templates
            .insert("welcome".into(), "Hi {address}!".into());
        list.templates
            .insert("es-mx/welcome".into(), "¡Hola, {address}!".into());
        list.templates
            .insert("es/goodbye".into(), "Adiós, {address}.".into());
        let text = |list: &ListConfig, lang, t| texts(lang).text(t, Some(list), &a);
        assert_eq!(
            text(&list, Some("es-MX"), Template::Welcome),
            "¡Hola, a@b.gov!"
        );
        assert_eq!(
            text(&list, Some("es-MX"), Template::Goodbye),
            "Adiós, a@b.gov."
        );
        // An English list's own welcome is English: a Spanish member gets Spanish.
        assert!(text(&list, Some("es"), Template::Welcome).starts_with("Le damos la bienvenida"));
        assert_eq!(text(&list, None, Template::Welcome), "Hi a@b.gov!");
        assert_eq!(text(&list, Some("fr"), Template::Welcome), "Hi a@b.gov!");
        // A Spanish list: its plain templates are Spanish, its members default to it.
        list.language = "es".into();
        list.templates
            .insert("welcome".into(), "Bienvenida propia, {address}.".into());
        assert_eq!(
            text(&list, None, Template::Welcome),
            "Bienvenida propia, a@b.gov."
        );
        assert_eq!(
            text(&list, Some("en"), Template::Welcome),
            "Welcome to SM-COP: a@b.gov is now subscribed.\n\nSocialGov Community of Practice\n\nTo leave the list, send a message to sm-cop-leave@listserv.example.gov."
        );
        assert!(text(&list, None, Template::Info).contains("Quién puede suscribirse"));
    }

    /// Every built-in text, with a list and the values its callers pass, leaves no
    /// `{placeholder}` behind (issue 12, item 3).
    #[test]
    fn every_builtin_text_fills() {
        let c = config();
        let list = c.list("sm-cop").unwrap();
        let jane = EmailAddress::parse("jane@agency.gov").unwrap();
        let texts = Texts::to(&c, &jane);
        let texts_in = |lang| Texts::to(&c, &jane).lang(lang);
        let extras: &[(&str, &str)] = &[
            ("confirm_address", "x"),
            ("expires", "x"),
            ("reason", "x"),
            ("name", "x"),
            ("why", "x"),
            ("token", "x"),
            ("list_id", "x"),
            ("example", "x"),
            ("word", "x"),
            ("line", "x"),
            ("mode", "x"),
            ("until", "x"),
            ("how", "x"),
            ("what", "x"),
            ("from", "x"),
            ("to", "x"),
            ("events", "x"),
            ("waiting", "x"),
            ("command", "x"),
            ("result", "x"),
            ("who", "x"),
            ("count", "x"),
            ("members", "x"),
            ("domain", "x"),
            ("statuses", "x"),
            ("number", "x"),
            ("warnings", "x"),
            ("notices", "x"),
            ("lists", "x"),
        ];
        for template in Template::iter() {
            for lang in [None, Some("es")] {
                let text = texts_in(lang).text(template, Some(list), extras);
                assert!(!text.contains('{'), "{template:?} {lang:?}: {text}");
            }
        }
        // With `[web]`, the confirmation requests carry the link too.
        let linked = [extras, &[("confirm_url", "https://x/confirm/t")]].concat();
        for template in [
            Template::ConfirmSubscribe,
            Template::ConfirmUnsubscribe,
            Template::ConfirmSet,
        ] {
            let text = texts.text(template, Some(list), &linked);
            assert!(text.contains("https://x/confirm/t"), "{template:?}: {text}");
            assert!(!text.contains('{'), "{template:?}: {text}");
        }
        for template in [
            Template::BadTokenServer,
            Template::NoCommand,
            Template::UnknownList,
            Template::MissingList,
            Template::NotSupported,
            Template::LastConfirmation,
            Template::LastCommandReply,
            Template::Help,
        ] {
            let text = texts.text(template, None, extras);
            assert!(!text.contains('{'), "{template:?} without a list: {text}");
        }
    }
}
