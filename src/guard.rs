//! Never a loop, never backscatter (docs/reference.md, section 5).
//!
//! Mail that must not be answered is recognised here, before anything else happens
//! to it; the pipeline then writes only an audit line.

use crate::address::EmailAddress;
use crate::config::Config;
use crate::message::Incoming;

/// Why a message gets no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// The envelope sender is null (`<>`): a bounce or an auto-reply.
    NullSender,
    /// From is one of our own addresses.
    OwnAddress,
    /// From (or the envelope sender) is MAILER-DAEMON or postmaster.
    MailerDaemon,
    /// `Auto-Submitted` is present and not `no`.
    AutoSubmitted,
    /// `Precedence` is bulk, junk or list.
    Precedence,
    /// The message carries a `List-Id`.
    ListMail,
    /// The message carries our loop header.
    Loop,
}

impl Silence {
    /// The word used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Silence::NullSender => "null-sender",
            Silence::OwnAddress => "own-address",
            Silence::MailerDaemon => "mailer-daemon",
            Silence::AutoSubmitted => "auto-submitted",
            Silence::Precedence => "precedence",
            Silence::ListMail => "list-mail",
            Silence::Loop => "loop",
        }
    }
}

/// `Some(why)` when the message must not be answered.
///
/// `envelope_from` is `None` when the envelope sender is unknown, `Some("")` for the
/// null sender.
pub(crate) fn silence(
    config: &Config,
    envelope_from: Option<&str>,
    incoming: &Incoming,
) -> Option<Silence> {
    if envelope_from.is_some_and(|e| e.trim().trim_matches(['<', '>']).is_empty()) {
        return Some(Silence::NullSender);
    }
    let envelope =
        envelope_from.and_then(|e| EmailAddress::parse(e.trim().trim_matches(['<', '>'])).ok());
    if [incoming.from.as_ref(), envelope.as_ref()]
        .into_iter()
        .flatten()
        .any(is_daemon)
    {
        return Some(Silence::MailerDaemon);
    }
    if incoming.from.as_ref().is_some_and(|f| is_ours(config, f)) {
        return Some(Silence::OwnAddress);
    }
    if incoming
        .auto_submitted
        .as_deref()
        .is_some_and(|a| a.split(';').next().map(str::trim) != Some("no"))
    {
        return Some(Silence::AutoSubmitted);
    }
    if incoming
        .precedence
        .as_deref()
        .is_some_and(|p| matches!(p.trim(), "bulk" | "junk" | "list"))
    {
        return Some(Silence::Precedence);
    }
    if incoming.has_list_id {
        return Some(Silence::ListMail);
    }
    if incoming
        .loop_marks
        .iter()
        .any(|m| m == &config.server.domain)
    {
        return Some(Silence::Loop);
    }
    None
}

fn is_daemon(address: &EmailAddress) -> bool {
    let local = address.local().to_ascii_lowercase();
    matches!(local.as_str(), "mailer-daemon" | "postmaster")
}

/// Our From address, or any address at our domain that routes to us.
fn is_ours(config: &Config, address: &EmailAddress) -> bool {
    address.key() == config.server.outbound.from.key()
        || crate::route::route(config, address).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn from(a: &str) -> Incoming {
        Incoming {
            from: Some(EmailAddress::parse(a).unwrap()),
            ..Incoming::default()
        }
    }

    #[test]
    fn ordinary_mail_is_answered() {
        assert_eq!(
            silence(&config(), Some("jane@agency.gov"), &from("jane@agency.gov")),
            None
        );
        assert_eq!(silence(&config(), None, &from("jane@agency.gov")), None);
        let mut m = from("jane@agency.gov");
        m.auto_submitted = Some("no".into());
        m.precedence = Some("first-class".into());
        assert_eq!(silence(&config(), Some("x@y.gov"), &m), None);
    }

    #[test]
    fn what_must_never_be_answered() {
        let c = config();
        let jane = || from("jane@agency.gov");
        assert_eq!(silence(&c, Some(""), &jane()), Some(Silence::NullSender));
        assert_eq!(silence(&c, Some("<>"), &jane()), Some(Silence::NullSender));
        assert_eq!(
            silence(&c, Some("MAILER-DAEMON@mx.agency.gov"), &jane()),
            Some(Silence::MailerDaemon)
        );
        assert_eq!(
            silence(&c, None, &from("postmaster@agency.gov")),
            Some(Silence::MailerDaemon)
        );
        assert_eq!(
            silence(&c, None, &from("listserv@listserv.example.gov")),
            Some(Silence::OwnAddress)
        );
        assert_eq!(
            silence(&c, None, &from("SM-COP-Request@listserv.example.gov")),
            Some(Silence::OwnAddress)
        );
        let mut m = jane();
        m.auto_submitted = Some("auto-replied".into());
        assert_eq!(silence(&c, None, &m), Some(Silence::AutoSubmitted));
        let mut m = jane();
        m.precedence = Some("junk".into());
        assert_eq!(silence(&c, None, &m), Some(Silence::Precedence));
        let mut m = jane();
        m.has_list_id = true;
        assert_eq!(silence(&c, None, &m), Some(Silence::ListMail));
        let mut m = jane();
        m.loop_marks = vec!["listserv.example.gov".into()];
        assert_eq!(silence(&c, None, &m), Some(Silence::Loop));
    }
}
