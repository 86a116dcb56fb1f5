//! Maildir intake: drain `new/` at start, then keep watching it.
//!
//! A Maildir has no envelope, so the recipient comes from the `Delivered-To` header
//! the delivering MTA added (or `X-Original-To`), and the sender from `Return-Path`.
//! A message leaves `new/` only once its outcome is durable: to `cur/` when done
//! (including permanent refusals, which are audited), or to `failed/` with an audit
//! line when it has failed [`MAX_ATTEMPTS`] times; a temporary failure leaves it in
//! `new/` for the next scan.

use super::{Delivery, Mailroom, Outcome};
use crate::message;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A message that failed temporarily this many times moves to `failed/`.
pub const MAX_ATTEMPTS: u32 = 5;
/// How often `new/` is looked at when the last scan found nothing.
const IDLE_SCAN: Duration = Duration::from_secs(1);

/// Watches `dir` until shutdown.
pub async fn watch<M: Mailroom>(dir: PathBuf, mail: Arc<M>, shutdown: CancellationToken) {
    for sub in ["new", "cur", "tmp", "failed"] {
        if let Err(e) = std::fs::create_dir_all(dir.join(sub)) {
            warn!(maildir = %dir.display(), error = %e, "cannot prepare the Maildir; not watching it");
            return;
        }
    }
    info!(maildir = %dir.display(), "watching the Maildir");
    let mut attempts: HashMap<String, u32> = HashMap::new();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let (dir2, mail2) = (dir.clone(), mail.clone());
        let mut tries = std::mem::take(&mut attempts);
        let scanned = tokio::task::spawn_blocking(move || {
            let n = scan(&dir2, &*mail2, &mut tries);
            (n, tries)
        })
        .await;
        let found = match scanned {
            Ok((Ok(n), tries)) => {
                attempts = tries;
                n
            }
            Ok((Err(e), tries)) => {
                attempts = tries;
                warn!(maildir = %dir.display(), error = %e, "cannot read the Maildir");
                0
            }
            Err(e) => {
                warn!(error = %e, "Maildir scan failed");
                0
            }
        };
        if found > 0 {
            continue; // a burst: go on at full speed
        }
        tokio::select! {
            () = tokio::time::sleep(IDLE_SCAN) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Handles every message now in `new/`; returns how many were handled.
pub fn scan<M: Mailroom>(
    dir: &Path,
    mail: &M,
    attempts: &mut HashMap<String, u32>,
) -> io::Result<usize> {
    let mut scan = Scan {
        dir,
        mail,
        attempts,
    };
    let mut handled = 0;
    for name in waiting(dir)? {
        let raw = match std::fs::read(dir.join("new").join(&name)) {
            Ok(raw) => raw,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if scan.handle(&name, &raw)? {
            handled += 1;
        }
    }
    Ok(handled)
}

/// The messages in `new/`, by name in order (a dot file is not a message).
fn waiting(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("new"))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// One [`scan`] of a Maildir.
struct Scan<'a, M> {
    dir: &'a Path,
    mail: &'a M,
    /// Temporary failures so far, by file name.
    attempts: &'a mut HashMap<String, u32>,
}

impl<M: Mailroom> Scan<'_, M> {
    /// Delivers the message `new/NAME` and moves it as its outcome says; returns
    /// whether it was handled (`false`: deferred).
    fn handle(&mut self, name: &str, raw: &[u8]) -> io::Result<bool> {
        let (recipient, sender) = envelope_of(&raw[..raw.len().min(64 * 1024)]);
        // Every line logged for this file carries its `msg_id` and `list`.
        let msg_id = crate::message::message_id(raw);
        let recipient = recipient.as_deref();
        let _span =
            super::delivery_span(self.mail, recipient.unwrap_or(""), msg_id.as_deref()).entered();
        let outcome = match recipient {
            Some(rcpt) => {
                let delivery = Delivery {
                    envelope_from: sender.as_deref(),
                    recipient: rcpt,
                    raw,
                };
                self.mail.deliver(&delivery, crate::clock::unix_now())
            }
            None if raw.len() as u64 > self.mail.settings().max_message_size => Outcome::TooLarge,
            None => Outcome::NoSuchUser,
        };
        self.settle(name, recipient.unwrap_or(""), outcome)
    }

    /// Moves the message as `outcome` says: to `cur/` when done (audited when
    /// refused), nowhere when deferred, unless this was its last attempt (then to
    /// `failed/`, audited). Returns whether it was handled.
    fn settle(&mut self, name: &str, recipient: &str, outcome: Outcome) -> io::Result<bool> {
        let why = match outcome {
            Outcome::Done(batch) => {
                if batch.is_some() {
                    self.mail.replies_queued();
                }
                ""
            }
            Outcome::NoSuchUser => "maildir:no-such-recipient",
            Outcome::TooLarge => "maildir:too-large",
            Outcome::NotMail => "maildir:not-mail",
            Outcome::TryLater(why) => {
                self.defer(name, recipient, &why)?;
                return Ok(false);
            }
        };
        if !why.is_empty() {
            record(self.mail, recipient, why)?;
        }
        move_to(self.dir, name, "cur")?;
        self.attempts.remove(name);
        Ok(true)
    }

    /// Counts a temporary failure; the last one allowed moves the message to
    /// `failed/`.
    fn defer(&mut self, name: &str, recipient: &str, why: &str) -> io::Result<()> {
        let n = self.attempts.entry(name.to_owned()).or_insert(0);
        *n += 1;
        warn!(file = %name, attempt = *n, %why, "Maildir message deferred");
        if *n >= MAX_ATTEMPTS {
            record(self.mail, recipient, "maildir:failed")?;
            move_to(self.dir, name, "failed")?;
            self.attempts.remove(name);
        }
        Ok(())
    }
}

/// `Delivered-To` (or `X-Original-To`) and `Return-Path` from the header.
fn envelope_of(head: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(head);
    let header_end = text
        .find("\r\n\r\n")
        .or_else(|| text.find("\n\n"))
        .unwrap_or(text.len());
    let (mut to, mut original, mut from) = (None, None, None);
    for line in text[..header_end].lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "delivered-to" if to.is_none() => to = Some(value),
            "x-original-to" if original.is_none() => original = Some(value),
            "return-path" if from.is_none() => from = Some(value),
            _ => {}
        }
    }
    (
        to.or(original).map(|t| message::clean(&t)),
        from.map(|f| message::clean(&f)),
    )
}

fn record<M: Mailroom>(mail: &M, recipient: &str, outcome: &str) -> io::Result<()> {
    mail.record(&crate::message::redact_recipient(recipient), outcome)
}

/// Moves `new/NAME` to `SUB/NAME:2,` (the Maildir "seen" form for `cur/`).
fn move_to(dir: &Path, name: &str, sub: &str) -> io::Result<()> {
    let target = if sub == "cur" && !name.contains(":2,") {
        format!("{name}:2,S")
    } else {
        name.to_owned()
    };
    std::fs::rename(dir.join("new").join(name), dir.join(sub).join(target))?;
    crate::fsio::sync_dir(&dir.join("new"))?;
    crate::fsio::sync_dir(&dir.join(sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_comes_from_the_header() {
        let head = b"Return-Path: <pat@agency.gov>\r\nDelivered-To: sm-cop-join@listserv.example.gov\r\nX-Original-To: other@x\r\nSubject: x\r\n\r\nDelivered-To: not@this\r\n";
        assert_eq!(
            envelope_of(head),
            (
                Some("sm-cop-join@listserv.example.gov".into()),
                Some("pat@agency.gov".into())
            )
        );
        assert_eq!(
            envelope_of(b"Return-Path: <>\nX-Original-To: a@b\n\n"),
            (Some("a@b".into()), Some(String::new()))
        );
        assert_eq!(envelope_of(b"Subject: none\n\n"), (None, None));
    }

    #[test]
    fn a_line_logged_for_a_file_names_the_message_and_the_list() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "failed"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("new/1.host"),
            "Delivered-To: sm-cop-join@lists.example.gov\nFrom: pat@agency.gov\nMessage-ID: <m2@agency.gov>\n\nhello\n",
        )
        .unwrap();
        let lines = crate::inbound::tests::Lines::default();
        let handled = tracing::subscriber::with_default(lines.subscriber(), || {
            scan(
                dir.path(),
                &crate::inbound::tests::Logging,
                &mut HashMap::new(),
            )
            .unwrap()
        });
        assert_eq!(handled, 1);
        let log = lines.text();
        let line = log
            .lines()
            .find(|l| l.contains("handling the delivery"))
            .unwrap_or_else(|| panic!("no line for the delivery in:\n{log}"));
        assert!(
            line.contains("msg_id=")
                && line.contains("m2@agency.gov")
                && line.contains("list=\"sm-cop\""),
            "{line}"
        );
    }
}
