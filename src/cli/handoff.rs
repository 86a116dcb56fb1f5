//! `deliver`'s handoff: the message goes to a running daemon serving the same state
//! folder over its LMTP listener (`inbound.lmtp`), and its per-recipient replies
//! become the exit code, through the same mapping as the work done here
//! ([`RcptOutcome::sysexit`]). One connection and a few lines instead of loading
//! every list, opening the state and sending the replies: the daemon already has
//! them all in hand, and sends the replies itself.

use crate::config::ServerConfig;
use crate::inbound::client::{self, Handoff, Message};
use crate::inbound::lmtp::MAX_RECIPIENTS;
use crate::inbound::session::RcptOutcome;
use crate::inbound::{EX_OK, EX_TEMPFAIL};
use std::io::IsTerminal;

/// The exit code when a daemon took the message (or had it, then failed: 75);
/// `None` when none did and this process must do the work itself.
pub(super) fn to_daemon(
    server: &ServerConfig,
    to: &[String],
    from: Option<&str>,
    raw: &[u8],
) -> Option<u8> {
    // LMTP has no "unknown sender" (`<>` is the null sender), and a daemon takes
    // 100 recipients at most: such a message is done here.
    let from = from?;
    if to.len() > MAX_RECIPIENTS || !plain(from) || !to.iter().all(|t| plain(t)) {
        return None;
    }
    // No state folder yet: no daemon can be serving it.
    let state = crate::inbound::state_id(&server.state_dir)?;
    let message = Message { from, to, raw };
    match client::hand_over(&server.inbound.lmtp, &server.domain, &state, &message) {
        Handoff::Answered(outcomes) => Some(answered(to, &outcomes)),
        Handoff::NotThere(why) => {
            if std::io::stderr().is_terminal() {
                eprintln!("listkeeper: doing the work here: {why}");
            }
            None
        }
        Handoff::Broken(why) => {
            eprintln!("listkeeper: {why}; the MTA will retry (a retry is recognised)");
            Some(EX_TEMPFAIL)
        }
    }
}

/// Whether an envelope address can go into an LMTP command as it is: no control
/// characters, spaces or angle brackets (the MTA never passes such, and one that
/// did must not write LMTP commands of its own). Anything else is done here.
fn plain(address: &str) -> bool {
    !address
        .bytes()
        .any(|b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>')
}

/// The worst exit code of the daemon's replies, each failure said on standard error
/// (a success only to a terminal).
fn answered(to: &[String], outcomes: &[RcptOutcome]) -> u8 {
    let mut worst = EX_OK;
    for (recipient, outcome) in to.iter().zip(outcomes) {
        let redacted = crate::message::redact_recipient(recipient);
        let said = match outcome {
            RcptOutcome::Delivered => {
                if std::io::stderr().is_terminal() {
                    eprintln!("{redacted}: handed to the running daemon: done");
                }
                None
            }
            RcptOutcome::NoSuchUser => Some("no such list address here"),
            RcptOutcome::TooLarge => Some("the message is larger than max_message_size"),
            RcptOutcome::NotMail => Some("this is not an email message"),
            RcptOutcome::TryLater => Some("the daemon says try again later; the MTA will retry"),
        };
        if let Some(said) = said {
            eprintln!("listkeeper: {redacted}: {said}");
        }
        worst = super::deliver::worse(worst, outcome.sysexit());
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn an_address_that_could_write_lmtp_commands_is_not_handed_over() {
        assert!(plain("pat@dhs.gov") && plain("") && plain("sm-cop-confirm+k1@x.gov"));
        for bad in ["a@b>\r\nRCPT TO:<x@y", "a b@c", "a\n@b", "<a@b>"] {
            assert!(!plain(bad), "{bad:?}");
        }
    }
}
