//! Where mail comes in: the LMTP session (sans-I/O), the listeners that feed it, and
//! the Maildir watcher; and the one interface they hand mail through ([`Mailroom`]),
//! which the daemon implements. The listeners know protocols, not lists.

pub mod client;
pub mod lmtp;
pub mod maildir;
pub mod session;

use crate::error::Severity;
use crate::outbox::Batch;
use session::RcptOutcome;
use std::io;
use std::time::Duration;

/// One message for one recipient.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The envelope sender: `None` unknown, `Some("")` the null sender.
    pub envelope_from: Option<&'a str>,
    /// The envelope recipient.
    pub recipient: &'a str,
    /// The message.
    pub raw: &'a [u8],
}

/// What became of a delivery.
#[derive(Debug)]
pub enum Outcome {
    /// Done and durable; the batch of replies, if any, is queued.
    Done(Option<Batch>),
    /// Not one of our addresses (LMTP 550 5.1.1, exit 67).
    NoSuchUser,
    /// Over `max_message_size` (LMTP 552, exit 65).
    TooLarge,
    /// Not mail at all (LMTP 554, exit 65).
    NotMail,
    /// Something failed before the outcome was durable (LMTP 451, exit 75).
    TryLater(String),
}

/// sysexits.h: done.
pub const EX_OK: u8 = 0;
/// sysexits.h: the input was wrong (permanent).
pub const EX_DATAERR: u8 = 65;
/// sysexits.h: no such user (permanent).
pub const EX_NOUSER: u8 = 67;
/// sysexits.h: try again later (temporary).
pub const EX_TEMPFAIL: u8 = 75;

/// The exit code for a failure of this severity, in pipe mode.
pub fn exit_code(severity: Severity) -> u8 {
    match severity {
        Severity::Temporary => EX_TEMPFAIL,
        Severity::Permanent => EX_DATAERR,
    }
}

impl Outcome {
    /// Whether the delivery failed, and for good or not; `None` when it was done.
    pub fn severity(&self) -> Option<Severity> {
        match self {
            Outcome::Done(_) => None,
            Outcome::NoSuchUser | Outcome::TooLarge | Outcome::NotMail => Some(Severity::Permanent),
            Outcome::TryLater(_) => Some(Severity::Temporary),
        }
    }

    /// The exit code for pipe mode (sysexits), as [`Outcome::rcpt`] is the LMTP reply.
    pub fn sysexit(&self) -> u8 {
        self.rcpt().sysexit()
    }

    /// The LMTP reply for the recipient: the one place an outcome becomes a code.
    pub fn rcpt(&self) -> RcptOutcome {
        match self {
            Outcome::Done(_) => RcptOutcome::Delivered,
            Outcome::NoSuchUser => RcptOutcome::NoSuchUser,
            Outcome::TooLarge => RcptOutcome::TooLarge,
            Outcome::NotMail => RcptOutcome::NotMail,
            Outcome::TryLater(_) => RcptOutcome::TryLater,
        }
    }
}

impl RcptOutcome {
    /// The exit code for pipe mode (sysexits): the one mapping, whether `deliver` did
    /// the work itself or a daemon answered it over LMTP ([`RcptOutcome::from_reply`]).
    pub fn sysexit(self) -> u8 {
        match self {
            RcptOutcome::Delivered => EX_OK,
            RcptOutcome::NoSuchUser => EX_NOUSER,
            RcptOutcome::TooLarge | RcptOutcome::NotMail => exit_code(Severity::Permanent),
            RcptOutcome::TryLater => exit_code(Severity::Temporary),
        }
    }

    /// The outcome an LMTP reply code stands for, as [`session::Session`] writes them:
    /// 2xx done, 550 no such address, 552 too large, another 5xx not mail, anything
    /// else (4xx, or a code that makes no sense here) try again later.
    pub fn from_reply(code: u16) -> RcptOutcome {
        match code {
            200..=299 => RcptOutcome::Delivered,
            550 => RcptOutcome::NoSuchUser,
            552 => RcptOutcome::TooLarge,
            500..=599 => RcptOutcome::NotMail,
            _ => RcptOutcome::TryLater,
        }
    }
}

/// The LHLO keyword a listkeeper daemon names its state folder with, so that
/// `deliver` hands a message only to a daemon that keeps the same state.
pub const STATE_KEYWORD: &str = "XLISTKEEPER-STATE";

/// What names a state folder in LHLO: its device and inode, in hex (the same folder
/// however its path is spelled, and no path in the open). `None` when it does not
/// exist.
pub fn state_id(state_dir: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(state_dir).ok()?;
    Some(format!("{:x}-{:x}", meta.dev(), meta.ino()))
}

/// The span one recipient of a message is handled under: every line logged while
/// it is handled carries the message's `msg_id` and the recipient's `list`.
fn delivery_span<M: Mailroom + ?Sized>(
    mail: &M,
    recipient: &str,
    msg_id: Option<&str>,
) -> tracing::Span {
    tracing::info_span!(
        "delivery",
        list = mail.list_of(recipient).as_deref(),
        msg_id,
    )
}

/// What a listener needs to know before the first message.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our host name, for the greeting.
    pub host: String,
    /// Messages over this many bytes are refused.
    pub max_message_size: u64,
    /// Silence this long closes a connection.
    pub idle_timeout: Duration,
    /// The state folder's [`state_id`], announced in LHLO.
    pub state: Option<String>,
}

/// Whoever handles the mail the listeners take in (the daemon, with the
/// configuration in force at each call).
pub trait Mailroom: Send + Sync + 'static {
    /// The listeners' settings.
    fn settings(&self) -> Settings;
    /// Whether `recipient` is one of our addresses (checked at RCPT).
    fn accepts(&self, recipient: &str) -> bool;
    /// The list `recipient` is an address of, for the log's `list` field.
    fn list_of(&self, recipient: &str) -> Option<String> {
        let _ = recipient;
        None
    }
    /// Handles one message for one recipient; durable when it returns `Done`.
    fn deliver(&self, delivery: &Delivery<'_>, now: u64) -> Outcome;
    /// Replies were queued: time to send.
    fn replies_queued(&self);
    /// An audit line for mail that never reached the pipeline (a Maildir file
    /// without a recipient, say).
    fn record(&self, recipient: &str, outcome: &str) -> io::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A mailroom for one list that logs a line as it handles a delivery.
    pub(super) struct Logging;

    impl Mailroom for Logging {
        fn settings(&self) -> Settings {
            Settings {
                host: "lists.example.gov".into(),
                max_message_size: 1 << 20,
                idle_timeout: std::time::Duration::from_secs(5),
                state: Some("0123456789abcdef".into()),
            }
        }
        fn accepts(&self, _: &str) -> bool {
            true
        }
        fn list_of(&self, _: &str) -> Option<String> {
            Some("sm-cop".into())
        }
        fn deliver(&self, _: &Delivery<'_>, _: u64) -> Outcome {
            tracing::info!("handling the delivery");
            Outcome::Done(None)
        }
        fn replies_queued(&self) {}
        fn record(&self, _: &str, _: &str) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The log lines written, shared with the subscriber's writer.
    #[derive(Clone, Default)]
    pub(super) struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Lines {
        /// A subscriber writing plain text lines here.
        pub(super) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
            let writer = self.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(move || writer.clone())
                .finish()
        }

        /// What was written.
        pub(super) fn text(&self) -> String {
            String::from_utf8_lossy(
                &self
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
            .into_owned()
        }
    }

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Pipe mode and LMTP answer an outcome alike: a temporary one is `EX_TEMPFAIL`
    /// and a `451`, a permanent one a permanent exit code and a `5xx`.
    #[test]
    fn the_exit_code_and_the_lmtp_reply_follow_the_severity() {
        let outcomes = [
            Outcome::Done(None),
            Outcome::NoSuchUser,
            Outcome::TooLarge,
            Outcome::NotMail,
            Outcome::TryLater("disk full".into()),
        ];
        for outcome in &outcomes {
            let (exit, rcpt) = (outcome.sysexit(), outcome.rcpt());
            match outcome.severity() {
                None => assert_eq!((exit, rcpt), (EX_OK, RcptOutcome::Delivered)),
                Some(Severity::Temporary) => {
                    assert_eq!((exit, rcpt), (EX_TEMPFAIL, RcptOutcome::TryLater));
                }
                Some(Severity::Permanent) => {
                    assert!([EX_DATAERR, EX_NOUSER].contains(&exit), "{outcome:?}");
                    assert!(
                        ![RcptOutcome::Delivered, RcptOutcome::TryLater].contains(&rcpt),
                        "{outcome:?}"
                    );
                }
            }
        }
        assert_eq!(Outcome::NoSuchUser.sysexit(), EX_NOUSER);
        assert_eq!(Outcome::NotMail.sysexit(), EX_DATAERR);
    }
}
