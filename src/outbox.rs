//! The outbox: replies kept until an SMTP server has accepted them (docs/reference.md, section 6).
//!
//! The replies to one request are one batch, a line of `state_dir/state.log`
//! ([`StateLog`]) written before the request is reported done; its key is the
//! request's dedupe key, so the batch is also the record that the request was
//! processed. A batch leaves the outbox only when every mail in it was accepted (its
//! key is then kept as seen), or, on a permanent refusal, to
//! `state_dir/outbox/failed/<key>.json` with an audit line. A temporary failure
//! leaves it queued for `listkeeper outbox --retry` (and the daemon's sender) with
//! backoff.
//!
//! A failed batch stays in `outbox/failed/` (mode 0600: its mails carry live tokens)
//! until an operator queues it again ([`Outbox::retry_failed`]) or drops it
//! ([`Outbox::drop_failed`]). A confirmation request refused for good cancels the
//! pending request it asked about, as a bounce of it does: nobody can confirm it.

use crate::audit::{AuditLog, Record, Via};
use crate::fsio;
pub(crate) use crate::records::Batch;
use crate::records::Outgoing;
use crate::sender::{SendError, Sender};
use crate::statelog::{Line, StateLog};
use crate::token::{self, PendingStore};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one attempt to send a batch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Every mail was accepted; the batch left the outbox.
    Done,
    /// A temporary failure; the batch stays queued.
    Deferred(String),
    /// A permanent refusal; the batch moved to `outbox/failed/`.
    Failed(String),
}

/// The queued replies (in the state log) and the folder of failed ones.
#[derive(Debug)]
pub struct Outbox {
    log: Arc<StateLog>,
    failed: PathBuf,
    audit: AuditLog,
    pending: PendingStore,
}

impl Outbox {
    /// The outbox in `log`, with failed batches under `state_dir/outbox/failed/`.
    pub fn open(state_dir: &Path, log: Arc<StateLog>) -> io::Result<Outbox> {
        let failed = state_dir.join("outbox").join("failed");
        fsio::create_private_dir(&failed)?;
        Ok(Outbox {
            pending: PendingStore::new(log.clone()),
            log,
            failed,
            audit: AuditLog::open(state_dir)?,
        })
    }

    /// Whether the state log's last write failed: changes since may be in memory
    /// only (see [`StateLog::failing`]).
    pub fn failing(&self) -> bool {
        self.log.failing()
    }

    /// Whether a request with this key was processed already: its batch is queued,
    /// failed, or was sent.
    pub fn seen(&self, key: &str) -> io::Result<bool> {
        self.log.processed(key)
    }

    /// Records a request that needed no reply as processed at `now` (durable after
    /// [`Outbox::sync`]).
    pub fn mark_seen(&self, key: &str, now: u64) -> io::Result<()> {
        self.log.append(vec![seen(key, now)]).map(|_| ())
    }

    /// Queues a batch, or records its progress (durable after [`Outbox::sync`]).
    pub fn queue(&self, batch: &Batch) -> io::Result<()> {
        self.log
            .append(vec![Line::Batch {
                key: batch.key.clone(),
                batch: Some(Box::new(batch.clone())),
            }])
            .map(|_| ())
    }

    /// When the key `key` was last marked seen ([`Outbox::mark_seen`]), if it is
    /// remembered: the owners' summaries keep their "last sent" mark so.
    pub fn seen_at(&self, key: &str) -> io::Result<Option<u64>> {
        self.log.read(|s| s.seen.get(key).copied())
    }

    /// Queues a batch and marks `mark` seen at `at` in one write of the log, so a
    /// crash keeps both or neither (durable after [`Outbox::sync`]); only if the mark
    /// is still `was` (another process may have moved it since it was read). Returns
    /// whether it queued.
    pub fn queue_marked(
        &self,
        batch: &Batch,
        mark: &str,
        was: Option<u64>,
        at: u64,
    ) -> io::Result<bool> {
        let lines = vec![
            Line::Batch {
                key: batch.key.clone(),
                batch: Some(Box::new(batch.clone())),
            },
            seen(mark, at),
        ];
        self.log.append_if_mark(lines, mark, was)
    }

    /// Makes every change so far durable.
    pub fn sync(&self) -> io::Result<()> {
        self.log.sync()
    }

    /// Every queued batch, oldest first.
    pub fn list(&self) -> io::Result<Vec<Batch>> {
        let mut all: Vec<Batch> = self.log.read(|s| s.outbox.values().cloned().collect())?;
        all.sort_by(|a, b| (a.created, &a.key).cmp(&(b.created, &b.key)));
        Ok(all)
    }

    /// The oldest `most` batches due for an attempt at `now` (or to be given up),
    /// oldest first. Only those are copied out of the state.
    pub fn due(&self, now: u64, most: usize) -> io::Result<Vec<Batch>> {
        self.log.read(|s| {
            let mut due: Vec<(u64, &String)> = s
                .outbox
                .values()
                .filter(|b| b.next_attempt <= now)
                .map(|b| (b.created, &b.key))
                .collect();
            due.sort_unstable();
            due.truncate(most);
            due.iter()
                .filter_map(|(_, key)| s.outbox.get(*key).cloned())
                .collect()
        })
    }

    /// Tries to send every unsent mail of `batch`, recording the result (durable
    /// after [`Outbox::sync`]: a crash before it may send a mail twice, never lose it).
    pub async fn send(&self, sender: &Sender, mut batch: Batch, now: u64) -> io::Result<Sent> {
        for i in 0..batch.mails.len() {
            if batch.mails[i].sent {
                continue;
            }
            match sender.send(&batch.mails[i].mail).await {
                Ok(()) => {
                    batch.mails[i].sent = true;
                    if batch.mails.iter().any(|m| !m.sent) {
                        self.queue(&batch)?;
                    }
                }
                Err(SendError::Temporary(why)) => {
                    batch.attempts += 1;
                    batch.next_attempt = now + backoff(batch.attempts);
                    batch.last_error = Some(why.clone());
                    self.queue(&batch)?;
                    return Ok(Sent::Deferred(why));
                }
                Err(SendError::Permanent(why)) => {
                    // The refused attempt is an attempt: `outbox` shows how many.
                    batch.attempts += 1;
                    batch.last_error = Some(why.clone());
                    self.move_to_failed(&batch, "failed", now)?;
                    return Ok(Sent::Failed(why));
                }
            }
        }
        self.log.append(leaves(&batch.key, now))?;
        Ok(Sent::Done)
    }

    /// Moves a batch retried for too long to `outbox/failed/`, with an audit line.
    pub fn give_up(&self, mut batch: Batch, why: &str, now: u64) -> io::Result<()> {
        batch.last_error = Some(format!(
            "{why}; last error: {}",
            batch.last_error.as_deref().unwrap_or("none")
        ));
        self.move_to_failed(&batch, "given-up", now)
    }

    /// `outbox/failed/<key>.json`, out of the queue (its key kept as seen), and an
    /// audit line for each mail in it that was not sent; a confirmation request among
    /// them cancels its pending request.
    fn move_to_failed(&self, batch: &Batch, outcome: &str, now: u64) -> io::Result<()> {
        let failed = self.failed_path(&batch.key);
        fsio::write_private(
            &failed,
            &serde_json::to_vec_pretty(batch).map_err(io::Error::other)?,
        )
        .map_err(fsio::at(&failed))?;
        let list = batch.list.as_deref().unwrap_or("");
        let mut lines = leaves(&batch.key, now);
        let mut cancelled = Vec::new();
        for mail in batch.mails.iter().filter(|m| !m.sent) {
            // Only the request of the address this mail went to: a forwarded mail
            // (to an owner) may carry any Reply-To its sender wrote.
            if let Some(id) = confirmation_of(list, &mail.mail)
                && self
                    .pending
                    .get(list, id)?
                    .is_some_and(|p| p.address.eq_ignore_ascii_case(&mail.mail.to))
            {
                lines.push(Line::Pending {
                    key: format!("{list}/{id}"),
                    record: None,
                });
                cancelled.push(mail.mail.to.as_str());
            }
        }
        self.log.write(lines)?;
        for mail in batch.mails.iter().filter(|m| !m.sent) {
            self.audit.write(&Record::new(
                list,
                &mail.mail.to,
                "send",
                outcome,
                Via::Email,
                now,
            ))?;
        }
        for to in cancelled {
            self.audit.write(&Record::new(
                list,
                to,
                "send",
                "pending-cancelled",
                Via::Email,
                now,
            ))?;
        }
        self.audit.sync()
    }

    /// Every batch in `outbox/failed/`, oldest first. A file that does not parse is
    /// an error naming it.
    pub fn failed(&self) -> io::Result<Vec<Batch>> {
        let mut all = Vec::new();
        let entries = match std::fs::read_dir(&self.failed) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(all),
            Err(e) => return Err(fsio::at(&self.failed)(e)),
        };
        for entry in entries {
            let path = entry.map_err(fsio::at(&self.failed))?.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(fsio::at(&path))?;
            let batch: Batch = serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
                .map_err(fsio::at(&path))?;
            all.push(batch);
        }
        all.sort_by(|a, b| (a.created, &a.key).cmp(&(b.created, &b.key)));
        Ok(all)
    }

    /// Queues a failed batch again, due now, with a fresh `give_up_after` period
    /// (durable on return); `None` when there is no failed batch `key`.
    pub fn retry_failed(&self, key: &str, now: u64) -> io::Result<Option<Batch>> {
        let Some(mut batch) = self.take_failed(key)? else {
            return Ok(None);
        };
        batch.created = now;
        batch.next_attempt = now;
        self.queue(&batch)?;
        self.sync()?;
        self.remove_failed(key)?;
        Ok(Some(batch))
    }

    /// Deletes a failed batch, with an audit line for each mail in it that was not
    /// sent; `None` when there is no failed batch `key`.
    pub fn drop_failed(&self, key: &str, now: u64) -> io::Result<Option<Batch>> {
        let Some(batch) = self.take_failed(key)? else {
            return Ok(None);
        };
        self.remove_failed(key)?;
        let list = batch.list.as_deref().unwrap_or("");
        for mail in batch.mails.iter().filter(|m| !m.sent) {
            self.audit.write(&Record::new(
                list,
                &mail.mail.to,
                "send",
                "dropped",
                Via::Admin,
                now,
            ))?;
        }
        self.audit.sync()?;
        Ok(Some(batch))
    }

    /// The failed batch `key`, read; `None` when there is none by that key.
    fn take_failed(&self, key: &str) -> io::Result<Option<Batch>> {
        Ok(self.failed()?.into_iter().find(|b| b.key == key))
    }

    fn remove_failed(&self, key: &str) -> io::Result<()> {
        let path = self.failed_path(key);
        std::fs::remove_file(&path).map_err(fsio::at(&path))?;
        fsio::sync_dir(&self.failed).map_err(fsio::at(&self.failed))
    }

    fn failed_path(&self, key: &str) -> PathBuf {
        self.failed.join(format!("{key}.json"))
    }
}

/// The pending request a confirmation request asks about: the token in its
/// Reply-To, `LIST-confirm+TOKEN@`, gives its id. `None` for any other mail.
fn confirmation_of<'m>(list: &str, mail: &'m Outgoing) -> Option<&'m str> {
    let head = mail.message.split("\r\n\r\n").next()?;
    let reply_to = head.split("\r\n").find(|l| {
        l.get(..9)
            .is_some_and(|n| n.eq_ignore_ascii_case("reply-to:"))
    })?;
    let marker = format!("{list}-confirm+");
    let start = reply_to.find(&marker)? + marker.len();
    let token = reply_to[start..].split('@').next()?;
    token::pending_id_of(token)
}

/// A batch leaving the queue: its key stays as seen, so a redelivery is recognised.
fn leaves(key: &str, now: u64) -> Vec<Line> {
    vec![
        seen(key, now),
        Line::Batch {
            key: key.to_owned(),
            batch: None,
        },
    ]
}

fn seen(key: &str, now: u64) -> Line {
    Line::Seen {
        key: key.to_owned(),
        at: now,
    }
}

/// Seconds to wait after the n-th failed attempt: 1, 2, 4 … minutes, at most 64.
pub(crate) fn backoff(attempts: u32) -> u64 {
    60 * (1u64 << attempts.saturating_sub(1).min(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Outbound, Transport};
    use crate::records::Queued;
    use std::time::Duration;

    fn batch(key: &str) -> Batch {
        Batch {
            key: key.into(),
            list: Some("sm-cop".into()),
            created: 1,
            attempts: 0,
            next_attempt: 0,
            last_error: None,
            mails: vec![Queued {
                mail: Outgoing {
                    envelope_from: "sm-cop-bounces@listserv.example.gov".into(),
                    to: "jane@agency.gov".into(),
                    message: "Subject: hi\r\n\r\nhello\r\n".into(),
                    message_b64: None,
                },
                sent: false,
            }],
        }
    }

    /// Two processes (the daemon's upkeep, a cron job's `notify-owners`) that read
    /// the same "last summary" mark queue that summary once.
    #[test]
    fn a_marked_batch_is_queued_once_by_two_processes_reading_one_mark() {
        let dir = tempfile::tempdir().unwrap();
        let open = |indexed: bool| {
            let log = match indexed {
                true => StateLog::open_indexed(dir.path()),
                false => StateLog::open(dir.path()),
            };
            Outbox::open(dir.path(), Arc::new(log.unwrap())).unwrap()
        };
        for (indexed, key) in [(false, "notify/a"), (true, "notify/b")] {
            let (daemon, cron) = (open(false), open(indexed));
            let was = daemon.seen_at(key).unwrap();
            assert_eq!(was, cron.seen_at(key).unwrap());
            let first = batch(&format!("{key}/100"));
            assert!(daemon.queue_marked(&first, key, was, 100).unwrap());
            let second = batch(&format!("{key}/101"));
            assert!(!cron.queue_marked(&second, key, was, 101).unwrap());
            assert_eq!(cron.seen_at(key).unwrap(), Some(100));
            assert!(!cron.seen(&second.key).unwrap(), "{key}");
            // The next one, from the mark as it is now, goes.
            assert!(cron.queue_marked(&second, key, Some(100), 101).unwrap());
        }
    }

    #[tokio::test]
    async fn a_batch_is_the_dedupe_record_until_sent_then_seen() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            Outbox::open(dir.path(), Arc::new(StateLog::open(dir.path()).unwrap())).unwrap();
        assert!(!outbox.seen("k1").unwrap());
        outbox.queue(&batch("k1")).unwrap();
        assert!(outbox.seen("k1").unwrap());
        assert_eq!(outbox.list().unwrap().len(), 1);
        let sender = Sender::File(dir.path().join("mail"));
        assert_eq!(
            outbox.send(&sender, batch("k1"), 10).await.unwrap(),
            Sent::Done
        );
        assert!(outbox.list().unwrap().is_empty());
        assert!(outbox.seen("k1").unwrap(), "sent batches stay seen");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
    }

    #[tokio::test]
    async fn a_down_server_defers_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            Outbox::open(dir.path(), Arc::new(StateLog::open(dir.path()).unwrap())).unwrap();
        // Nothing listens on port 9 of loopback: connection refused, a temporary failure.
        let outbound = Outbound {
            transport: Transport::Smtp {
                host: "127.0.0.1".into(),
                port: 9,
            },
            from: crate::address::EmailAddress::parse("a@b.gov").unwrap(),
            username: None,
            password_file: None,
            give_up_after: Duration::from_secs(4 * 86400),
            send_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        };
        let sender = Sender::new(&outbound).unwrap();
        outbox.queue(&batch("k2")).unwrap();
        let sent = outbox.send(&sender, batch("k2"), 100).await.unwrap();
        assert!(matches!(sent, Sent::Deferred(_)), "{sent:?}");
        let queued = outbox.list().unwrap();
        assert_eq!(queued[0].attempts, 1);
        assert_eq!(queued[0].next_attempt, 160);
        assert!(queued[0].last_error.is_some());
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(1), 60);
        assert_eq!(backoff(2), 120);
        assert_eq!(backoff(7), 3840);
        assert_eq!(backoff(50), 3840);
    }
}
