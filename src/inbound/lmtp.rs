//! The LMTP listeners: one task per connection, moving bytes between the socket and
//! the [`Session`]. I/O only; what a message does is the
//! pipeline's business.

use super::session::{Envelope, Limits, RcptOutcome, Recipients, Session, Step};
use super::{Delivery, Mailroom};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Recipients in one transaction at most.
pub const MAX_RECIPIENTS: usize = 100;

/// RCPT checks against the configuration in force.
struct Ours<M>(Arc<M>);

impl<M: Mailroom> Recipients for Ours<M> {
    fn accepts(&self, recipient: &str) -> bool {
        self.0.accepts(recipient)
    }
}

/// Serves one connection until the client quits, goes idle, or shutdown asks it to
/// stop between messages. Every line logged meanwhile carries the client's `peer`.
#[tracing::instrument(name = "lmtp", skip_all, fields(peer = %peer))]
pub async fn connection<S, M>(
    mut stream: S,
    peer: String,
    mail: Arc<M>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Mailroom,
{
    let settings = mail.settings();
    let limits = Limits {
        max_message_size: settings.max_message_size,
        max_recipients: MAX_RECIPIENTS,
    };
    let session =
        Session::new(&settings.host, limits, Ours(mail.clone())).announcing(settings.state);
    if stream.write_all(&session.greeting()).await.is_err() {
        return;
    }
    let mut conn = Connection {
        stream,
        session,
        mail,
        idle: settings.idle_timeout,
        progress: tokio::time::Instant::now(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !conn.answer().await {
            return;
        }
        if shutdown.is_cancelled() && conn.session.is_idle() {
            return conn
                .last_word(b"421 4.3.2 shutting down, try again later\r\n")
                .await;
        }
        match conn.read(&mut buf, &shutdown).await {
            Read::Bytes(n) => conn.session.receive(&buf[..n]),
            Read::Stopping => {}
            Read::Ended => return,
            Read::TooSlow => {
                debug!("idle or too slow");
                return conn
                    .last_word(b"421 4.4.2 idle or too slow, closing\r\n")
                    .await;
            }
        }
    }
}

/// One connection: the socket and the session it speaks.
struct Connection<S, M> {
    stream: S,
    session: Session<Ours<M>>,
    mail: Arc<M>,
    /// Silence this long after a reply ends the connection.
    idle: std::time::Duration,
    /// When the session last took a step (a reply, a delivery).
    progress: tokio::time::Instant,
}

/// What waiting for the client's bytes came to.
enum Read {
    /// This many bytes arrived.
    Bytes(usize),
    /// Shutdown was asked for while the session was idle.
    Stopping,
    /// The client closed the connection, or it failed.
    Ended,
    /// Nothing came for too long, or a command or message is trickling in too slowly.
    TooSlow,
}

impl<S, M> Connection<S, M>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Mailroom,
{
    /// Carries out every step the session has ready: replies sent, messages
    /// delivered. `false` when the connection is over (closed, or a write failed).
    async fn answer(&mut self) -> bool {
        while let Some(step) = self.session.step() {
            self.progress = tokio::time::Instant::now();
            match step {
                Step::Send(bytes) => {
                    if self.stream.write_all(&bytes).await.is_err() {
                        return false;
                    }
                }
                Step::Deliver(envelope) => {
                    let outcomes = deliver(&self.mail, envelope).await;
                    self.session.delivered(&outcomes);
                }
                Step::Close => {
                    let _ = self.stream.shutdown().await;
                    return false;
                }
            }
        }
        true
    }

    /// Sends a reply the connection ends with (a failure to send it changes
    /// nothing).
    async fn last_word(&mut self, reply: &[u8]) {
        let _ = self.stream.write_all(reply).await;
    }

    /// Waits for the client's next bytes into `buf`: at most the idle timeout, and
    /// a command or a message that has not completed twice that long after the last
    /// step ends the connection however slowly its bytes trickle in. Shutdown
    /// interrupts the wait only between messages.
    async fn read(&mut self, buf: &mut [u8], shutdown: &CancellationToken) -> Read {
        let stalled = self.idle * 2;
        let wait = self
            .idle
            .min(stalled.saturating_sub(self.progress.elapsed()));
        let read = tokio::select! {
            read = tokio::time::timeout(wait, self.stream.read(buf)) => read,
            () = shutdown.cancelled(), if self.session.is_idle() => return Read::Stopping,
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => Read::Ended,
            Ok(Ok(n)) => Read::Bytes(n),
            Err(_) => Read::TooSlow,
        }
    }
}

/// Hands every recipient of one message to the mailroom, off the async threads
/// (under the connection's span and subscriber, which a blocking thread does not
/// inherit by itself).
async fn deliver<M: Mailroom>(mail: &Arc<M>, envelope: Envelope) -> Vec<RcptOutcome> {
    let mail = mail.clone();
    let n = envelope.recipients.len();
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let result = tokio::task::spawn_blocking(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            span.in_scope(|| deliver_all(&*mail, &envelope))
        })
    })
    .await;
    result.unwrap_or_else(|e| {
        warn!(error = %e, "delivery task failed");
        vec![RcptOutcome::TryLater; n]
    })
}

/// [`deliver`], on the blocking thread.
fn deliver_all<M: Mailroom>(mail: &M, envelope: &Envelope) -> Vec<RcptOutcome> {
    let n = envelope.recipients.len();
    let msg_id = crate::message::message_id(&envelope.data);
    let now = crate::clock::unix_now();
    let mut queued = false;
    let outcomes: Vec<RcptOutcome> = envelope
        .recipients
        .iter()
        .map(|rcpt| {
            let delivery = Delivery {
                envelope_from: Some(envelope.from.as_str()),
                recipient: rcpt,
                raw: &envelope.data,
            };
            let _span = super::delivery_span(mail, rcpt, msg_id.as_deref()).entered();
            let outcome = mail.deliver(&delivery, now);
            match &outcome {
                super::Outcome::Done(batch) => queued |= batch.is_some(),
                super::Outcome::TryLater(why) => {
                    warn!(recipient = %crate::message::redact_recipient(rcpt), %why, "deferred: the MTA will retry");
                }
                _ => {}
            }
            outcome.rcpt()
        })
        .collect();
    if queued {
        mail.replies_queued();
    }
    let deferred = outcomes
        .iter()
        .filter(|o| **o == RcptOutcome::TryLater)
        .count();
    if deferred == 0 {
        info!(from = %crate::message::clean(&envelope.from), recipients = n, msg_id = msg_id.as_deref(), "message handled");
    } else {
        warn!(from = %crate::message::clean(&envelope.from), recipients = n, deferred, msg_id = msg_id.as_deref(), "message deferred for some recipients: the MTA will retry them");
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::tests::{Lines, Logging};
    use tracing::instrument::WithSubscriber;

    #[tokio::test]
    async fn a_line_logged_for_a_delivery_names_the_peer_the_message_and_the_list() {
        let lines = Lines::default();
        let _default = tracing::subscriber::set_default(lines.subscriber());
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(
            connection(
                server,
                "192.0.2.7:4567".into(),
                Arc::new(Logging),
                CancellationToken::new(),
            )
            .with_current_subscriber(),
        );
        client
            .write_all(
                b"LHLO mx\r\nMAIL FROM:<pat@agency.gov>\r\nRCPT TO:<sm-cop-join@lists.example.gov>\r\nDATA\r\n\
                  From: pat@agency.gov\r\nMessage-ID: <m1@agency.gov>\r\nSubject: join\r\n\r\nhello\r\n.\r\nQUIT\r\n",
            )
            .await
            .unwrap();
        let mut replies = String::new();
        client.read_to_string(&mut replies).await.unwrap();
        served.await.unwrap();
        assert!(replies.contains("250 2.1.5"), "{replies}");
        let log = lines.text();
        let line = log
            .lines()
            .find(|l| l.contains("handling the delivery"))
            .unwrap_or_else(|| panic!("no line for the delivery in:\n{log}"));
        for field in [
            "peer=192.0.2.7:4567",
            "msg_id=",
            "m1@agency.gov",
            "list=\"sm-cop\"",
        ] {
            assert!(line.contains(field), "{field} missing from: {line}");
        }
        assert!(
            log.lines()
                .any(|l| l.contains("message handled") && l.contains("peer=192.0.2.7:4567")),
            "{log}"
        );
    }
}
