//! The outbox: replies on disk until an SMTP server has accepted them (SPEC section 6).
//!
//! The replies to one request are one batch, `state_dir/outbox/<key>.json`, written
//! atomically before the request is reported done; the key is the request's dedupe
//! key, so the batch is also the record that the request was processed. A batch
//! leaves the outbox only when every mail in it was accepted (its key then goes to
//! `state_dir/seen.log`), or, on a permanent refusal, to `outbox/failed/` with an
//! audit line. A temporary failure leaves it queued for `listkeeper outbox --retry`
//! (and the daemon's sender) with backoff.

use crate::audit::{AuditLog, Record, Via};
use crate::fsio;
use crate::reply::Outgoing;
use crate::sender::{SendError, Sender};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// One mail in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The mail.
    #[serde(flatten)]
    pub mail: Outgoing,
    /// Accepted by the server already (never sent twice).
    pub sent: bool,
}

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

/// The outbox folder and the seen log beside it.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    seen: PathBuf,
    audit: AuditLog,
    /// `seen.log` in memory, read once: no request re-reads the whole log.
    seen_keys: Mutex<Option<HashSet<String>>>,
}

impl Outbox {
    /// The outbox under `state_dir` (created when missing).
    pub fn open(state_dir: &Path) -> io::Result<Outbox> {
        let dir = state_dir.join("outbox");
        std::fs::create_dir_all(dir.join("failed"))?;
        Ok(Outbox {
            dir,
            seen: state_dir.join("seen.log"),
            audit: AuditLog::open(state_dir)?,
            seen_keys: Mutex::new(None),
        })
    }

    /// Whether a request with this key was processed already: its batch is queued,
    /// failed, or was sent.
    pub fn seen(&self, key: &str) -> io::Result<bool> {
        if self.path(key).exists() || self.dir.join("failed").join(format!("{key}.json")).exists() {
            return Ok(true);
        }
        let mut cache = self
            .seen_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.is_none() {
            let keys = match std::fs::read_to_string(&self.seen) {
                Ok(text) => text.lines().map(str::to_owned).collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => HashSet::new(),
                Err(e) => return Err(e),
            };
            *cache = Some(keys);
        }
        Ok(cache.as_ref().is_some_and(|keys| keys.contains(key)))
    }

    /// Records a request that needed no reply as processed.
    pub fn mark_seen(&self, key: &str) -> io::Result<()> {
        fsio::append_durable(&self.seen, format!("{key}\n").as_bytes())?;
        if let Some(keys) = self
            .seen_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            keys.insert(key.to_owned());
        }
        Ok(())
    }

    /// Queues a batch durably.
    pub fn queue(&self, batch: &Batch) -> io::Result<()> {
        fsio::write_atomic(
            &self.path(&batch.key),
            &serde_json::to_vec_pretty(batch).map_err(io::Error::other)?,
        )
    }

    /// Every queued batch, oldest first.
    pub fn list(&self) -> io::Result<Vec<Batch>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path)?;
                out.push(
                    serde_json::from_slice::<Batch>(&bytes)
                        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?,
                );
            }
        }
        out.sort_by_key(|b| (b.created, b.key.clone()));
        Ok(out)
    }

    /// Tries to send every unsent mail of `batch`, recording the result durably.
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
                    batch.last_error = Some(why.clone());
                    self.move_to_failed(&batch, "failed")?;
                    return Ok(Sent::Failed(why));
                }
            }
        }
        self.mark_seen(&batch.key)?;
        self.remove(&batch.key)?;
        Ok(Sent::Done)
    }

    /// Moves a batch retried for too long to `outbox/failed/`, with an audit line.
    pub fn give_up(&self, mut batch: Batch, why: &str) -> io::Result<()> {
        batch.last_error = Some(format!(
            "{why}; last error: {}",
            batch.last_error.as_deref().unwrap_or("none")
        ));
        self.move_to_failed(&batch, "given-up")
    }

    /// `outbox/failed/<key>.json`, out of the queue, and an audit line for each
    /// mail in it that was not sent.
    fn move_to_failed(&self, batch: &Batch, outcome: &str) -> io::Result<()> {
        let failed = self.dir.join("failed").join(format!("{}.json", batch.key));
        fsio::write_atomic(
            &failed,
            &serde_json::to_vec_pretty(batch).map_err(io::Error::other)?,
        )?;
        self.remove(&batch.key)?;
        for mail in batch.mails.iter().filter(|m| !m.sent) {
            let list = batch.list.as_deref().unwrap_or("");
            self.audit.record(&Record::new(
                list,
                &mail.mail.to,
                "send",
                outcome,
                Via::Email,
            ))?;
        }
        Ok(())
    }

    fn remove(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => fsio::sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

/// Seconds to wait after the n-th failed attempt: 1, 2, 4 … minutes, at most 64.
pub fn backoff(attempts: u32) -> u64 {
    60 * (1u64 << attempts.saturating_sub(1).min(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Outbound, Transport};
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

    #[tokio::test]
    async fn a_batch_is_the_dedupe_record_until_sent_then_seen() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
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
        let outbox = Outbox::open(dir.path()).unwrap();
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
