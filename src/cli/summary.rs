//! `deliver`'s one-line outcome for a person at a terminal: what a delivery came to,
//! from what `pipeline::handle_told` returns.
//!
//! An MTA's pipe reads nothing from a successful `deliver`, so the line is written
//! only when standard error is a terminal (the caller checks). It names the
//! recipient with its token cut out and the replies by kind and address: never a
//! token, a subject or a body.

use crate::guard::Silence;
use crate::outbox::Batch;
use crate::pipeline::Silent;
use crate::reply::Outgoing;

/// At most this many replies are named; the rest are counted.
const NAMED: usize = 3;

/// The line for a delivery to `recipient` that is done: its replies, or why none.
pub(super) fn done(recipient: &str, batch: Option<&Batch>, silent: Option<Silent>) -> String {
    let recipient = crate::message::redact_recipient(recipient);
    let what = match (batch, silent) {
        (Some(batch), _) => queued(batch),
        (None, Some(silent)) => why_none(silent).to_owned(),
        (None, None) => "done, no reply".to_owned(),
    };
    format!("listkeeper: {recipient}: {what}")
}

/// `done, 2 replies queued (welcome to a@b.gov, reply to c@d.gov)`.
fn queued(batch: &Batch) -> String {
    let n = batch.mails.len();
    let mut named: Vec<String> = batch
        .mails
        .iter()
        .take(NAMED)
        .map(|q| format!("{} to {}", kind(&q.mail), q.mail.to))
        .collect();
    if n > NAMED {
        named.push(format!("{} more", n - NAMED));
    }
    let replies = if n == 1 { "reply" } else { "replies" };
    format!("done, {n} {replies} queued ({})", named.join(", "))
}

fn why_none(silent: Silent) -> &'static str {
    match silent {
        Silent::Duplicate => "duplicate of a message already handled, nothing done",
        Silent::Report => "done: read as a delivery report (never answered)",
        Silent::NoSender => "done, not answered: the message has no sender address",
        Silent::OverLimits => "done, no reply: over the [limits] budgets (see audit.log)",
        Silent::Nothing => "done, nothing to answer",
        Silent::Guarded(why) => match why {
            Silence::NullSender => "done, not answered: the null envelope sender",
            Silence::OwnAddress => "done, not answered: it comes from one of our own addresses",
            Silence::MailerDaemon => {
                "done, not answered: it comes from MAILER-DAEMON or postmaster"
            }
            Silence::AutoSubmitted => "done, not answered: it is marked Auto-Submitted",
            Silence::Precedence => "done, not answered: it is marked Precedence bulk, junk or list",
            Silence::ListMail => "done, not answered: it is list mail (List-Id)",
            Silence::Loop => "done, not answered: it carries our loop header",
        },
    }
}

/// What a queued mail is, from the headers listkeeper gave it.
fn kind(mail: &Outgoing) -> &'static str {
    // A forward keeps the sender's bytes (base64 when they are not UTF-8) under our
    // loop header alone; every reply of ours is Auto-Submitted.
    if mail.message_b64.is_some() {
        return "forward";
    }
    let headers = headers(&mail.message);
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if value("Auto-Submitted").is_none() {
        return "forward";
    }
    match value("Reply-To") {
        Some(to) if to.contains("-confirm+") => "confirmation request",
        Some(to) if to.contains("-request@") => "notice for the owners",
        _ if value("List-Id").is_some() => "welcome",
        _ => "reply",
    }
}

/// The header block, unfolded: (name, value) pairs. A reply we built ourselves is
/// all it reads (the message module's mail-parser is for mail from outside).
fn headers(message: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in message.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push_str(line.trim_start());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Queued;

    fn mail(to: &str, headers: &str) -> Queued {
        Queued {
            mail: Outgoing {
                envelope_from: "sm-cop-bounces+t@listserv.example.gov".into(),
                to: to.into(),
                message: format!("{headers}\r\n\r\nbody with sm-cop-confirm+k1secret\r\n"),
                message_b64: None,
            },
            sent: false,
        }
    }

    fn batch(mails: Vec<Queued>) -> Batch {
        Batch {
            key: "k".into(),
            list: Some("sm-cop".into()),
            created: 0,
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            mails,
        }
    }

    const REPLY: &str = "From: listserv@listserv.example.gov\r\nSubject: Confirm (confirm\r\n k1secret)\r\nAuto-Submitted: auto-replied";

    #[test]
    fn a_confirmation_request_is_named_and_its_token_is_not() {
        let confirm = mail(
            "pat@agency.gov",
            &format!("{REPLY}\r\nReply-To:\r\n sm-cop-confirm+k1secret@listserv.example.gov"),
        );
        let line = done(
            "sm-cop-subscribe-request@listserv.example.gov",
            Some(&batch(vec![confirm])),
            None,
        );
        assert_eq!(
            line,
            "listkeeper: sm-cop-subscribe-request@listserv.example.gov: done, 1 reply queued (confirmation request to pat@agency.gov)"
        );
        let line = done(
            "sm-cop-confirm+k1secret@listserv.example.gov",
            None,
            Some(Silent::Duplicate),
        );
        assert_eq!(
            line,
            "listkeeper: sm-cop-confirm+…@listserv.example.gov: duplicate of a message already handled, nothing done"
        );
        assert!(!line.contains("k1secret"));
    }

    #[test]
    fn each_kind_of_mail_and_the_rest_counted() {
        let welcome = mail("a@agency.gov", &format!("{REPLY}\r\nList-Id: <sm-cop>"));
        let owners = mail(
            "o@example.gov",
            &format!("{REPLY}\r\nreply-to: sm-cop-request@listserv.example.gov"),
        );
        let plain = mail("b@agency.gov", REPLY);
        let forward = mail("o@example.gov", "X-Listkeeper-Loop: x\r\nFrom: a@b.gov");
        let line = done(
            "sm-cop@listserv.example.gov",
            Some(&batch(vec![welcome, owners, plain, forward])),
            None,
        );
        assert_eq!(
            line,
            "listkeeper: sm-cop@listserv.example.gov: done, 4 replies queued (welcome to a@agency.gov, notice for the owners to o@example.gov, reply to b@agency.gov, 1 more)"
        );
        let mut raw = mail("o@example.gov", REPLY);
        raw.mail.message_b64 = Some("AA==".into());
        assert_eq!(kind(&raw.mail), "forward");
    }

    #[test]
    fn why_nothing_was_sent() {
        let line = done(
            "sm-cop-join@listserv.example.gov",
            None,
            Some(Silent::Guarded(Silence::AutoSubmitted)),
        );
        assert_eq!(
            line,
            "listkeeper: sm-cop-join@listserv.example.gov: done, not answered: it is marked Auto-Submitted"
        );
    }
}
