//! Handing replies to the SMTP server (or to `.eml` files).
//!
//! lettre speaks SMTP, but its own connections leave Nagle's algorithm on and write
//! the message and the final `.` separately, so every mail waits ~40 ms for the
//! server's delayed ACK.
//! For `smtp://` we therefore open the TCP connections ourselves with TCP_NODELAY
//! ([`CONNECTIONS`] of them, kept open between mails). A relay that offers
//! PIPELINING and needs neither credentials nor STARTTLS (or sits on loopback) gets
//! our own two-round-trip client (`pipelined.rs`); any other is handed to lettre's
//! `AsyncSmtpConnection`. `smtps://` uses lettre's pooled transport as it is.
//!
//! Servers close connections left idle (Postfix after `smtpd_timeout`, with a `421`).
//! So a kept connection idle for a few seconds must answer a NOOP before it is used,
//! one idle for a minute is closed, and a mail whose kept connection turns out dead
//! before its text went out is sent again at once on a new connection, rather than
//! waiting for the outbox's backoff. Once the text is out, never again: that could
//! deliver it twice.

mod pipelined;

use crate::config::{Outbound, Transport};
use crate::fsio;
use crate::records::Outgoing;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, Error as SmtpError, PoolConfig};
use lettre::{Address, AsyncTransport, Tokio1Executor};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// SMTP connections kept open to the server, each carrying one mail at a time: the
/// daemon's sender runs this many sends at once.
pub(crate) const CONNECTIONS: usize = 4;
/// A kept connection idle for longer than this is closed rather than used: servers
/// close idle ones themselves (Postfix after `smtpd_timeout`, 300 s, or 10 s under
/// stress), and one closed politely costs the server nothing.
pub(crate) const IDLE_CLOSE: Duration = Duration::from_secs(60);
/// A kept connection idle for longer than this must answer a NOOP before it carries a
/// mail (a busy sender reuses its connections at once and never pays for the NOOP).
const PROBE_AFTER: Duration = Duration::from_secs(2);
/// How long that NOOP, or the QUIT on closing, may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a mail was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (4xx, connection refused, timeout).
    Temporary(String),
    /// Never try again (5xx).
    Permanent(String),
}

impl crate::error::Classify for SendError {
    fn severity(&self) -> crate::error::Severity {
        match self {
            SendError::Temporary(_) => crate::error::Severity::Temporary,
            SendError::Permanent(_) => crate::error::Severity::Permanent,
        }
    }
}

/// Hands mail to the configured transport.
pub enum Sender {
    /// `smtp://`: our own connection, TCP_NODELAY, STARTTLS when offered.
    Smtp(Box<SmtpClient>),
    /// `smtps://`: lettre's pooled transport, and how long one send may take.
    Smtps(AsyncSmtpTransport<Tokio1Executor>, Duration),
    /// `.eml` files in a folder.
    File(PathBuf),
}

impl Sender {
    /// The sender for `[outbound]`.
    pub fn new(outbound: &Outbound) -> io::Result<Sender> {
        let credentials = match (&outbound.username, &outbound.password_file) {
            (Some(user), Some(path)) => Some(Credentials::new(
                user.clone(),
                std::fs::read_to_string(path)?.trim().to_owned(),
            )),
            _ => None,
        };
        match &outbound.transport {
            Transport::File(dir) => Ok(Sender::File(dir.clone())),
            Transport::Smtp { host, port } => Ok(Sender::Smtp(Box::new(SmtpClient {
                host: host.clone(),
                port: *port,
                hello: ClientId::Domain(outbound.from.domain().to_owned()),
                credentials,
                connections: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
                next: AtomicUsize::new(0),
                lettre_only: std::sync::atomic::AtomicBool::new(false),
                timeout: outbound.send_timeout,
            }))),
            Transport::Smtps { host, port } => {
                let params = TlsParameters::builder(host.clone())
                    .build_rustls()
                    .map_err(io::Error::other)?;
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(*port)
                        .tls(Tls::Wrapper(params))
                        .timeout(Some(outbound.send_timeout))
                        // lettre sends a NOOP on every pooled connection before reuse
                        // and replaces one that does not answer.
                        .pool_config(
                            PoolConfig::new()
                                .max_size(CONNECTIONS as u32)
                                .idle_timeout(IDLE_CLOSE),
                        );
                if let Some(credentials) = credentials {
                    builder = builder.credentials(credentials);
                }
                Ok(Sender::Smtps(builder.build(), outbound.send_timeout))
            }
        }
    }

    /// Closes kept SMTP connections idle for longer than [`IDLE_CLOSE`] (lettre's pool
    /// for `smtps://` does this on its own).
    pub async fn close_idle(&self) {
        if let Sender::Smtp(client) = self {
            client.close_idle().await;
        }
    }

    /// Sends one mail, within `[outbound] send_timeout` in all.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        match self {
            Sender::File(dir) => {
                write_eml(dir, mail).map_err(|e| SendError::Temporary(e.to_string()))
            }
            Sender::Smtp(client) => timed(client.timeout, client.send(mail)).await,
            Sender::Smtps(transport, timeout) => {
                let envelope = envelope(mail).map_err(SendError::Permanent)?;
                timed(*timeout, async {
                    transport
                        .send_raw(&envelope, &mail.bytes())
                        .await
                        .map(|_| ())
                        .map_err(classify)
                })
                .await
            }
        }
    }
}

async fn timed(
    timeout: Duration,
    send: impl Future<Output = Result<(), SendError>>,
) -> Result<(), SendError> {
    tokio::time::timeout(timeout, send)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Temporary(format!(
                "no answer from the SMTP server within {}",
                humantime::format_duration(timeout)
            )))
        })
}

/// 5xx is permanent; everything else (4xx, a dropped connection) is worth a retry.
fn classify(e: SmtpError) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Temporary(e.to_string())
    }
}

/// A few SMTP connections, each opened when needed and kept for the next mail.
pub struct SmtpClient {
    host: String,
    port: u16,
    hello: ClientId,
    credentials: Option<Credentials>,
    connections: Vec<Mutex<Option<Kept>>>,
    next: AtomicUsize,
    /// Set once the server turned out not to suit [`pipelined`]: lettre from then on.
    lettre_only: std::sync::atomic::AtomicBool,
    /// How long one send may take, connection included.
    timeout: Duration,
}

/// An open connection: our pipelined one, or lettre's.
enum Connection {
    Pipelined(pipelined::Pipelined),
    Lettre(Box<AsyncSmtpConnection>),
}

/// A connection kept for the next mail, and since when it has been idle.
struct Kept {
    connection: Connection,
    since: Instant,
}

/// A send that failed, and whether it may go again at once on a new connection:
/// `unsent` when the connection was lost or the server said it is closing it (`421`)
/// before the mail's text went out, so the server cannot have taken the mail.
struct Failure {
    error: SendError,
    unsent: bool,
}

impl Connection {
    async fn send(
        &mut self,
        mail: &Outgoing,
        envelope: &lettre::address::Envelope,
    ) -> Result<(), Failure> {
        match self {
            Connection::Pipelined(p) => p.send(mail).await,
            // lettre does not say which step failed: a connection lost after the final
            // dot may have delivered the mail, so only a 421 (a refusal, whenever it
            // comes) counts as unsent. The probe before reuse covers the rest.
            Connection::Lettre(c) => {
                c.send(envelope, &mail.bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| Failure {
                        unsent: e.status().map(u16::from) == Some(421),
                        error: classify(e),
                    })
            }
        }
    }

    /// NOOP, answered within [`PROBE_TIMEOUT`]: is the server still there?
    async fn probe(&mut self) -> bool {
        let answered = match self {
            Connection::Pipelined(p) => tokio::time::timeout(PROBE_TIMEOUT, p.noop()).await,
            Connection::Lettre(c) => tokio::time::timeout(PROBE_TIMEOUT, c.test_connected()).await,
        };
        answered.unwrap_or(false)
    }

    /// QUIT, without waiting long for the answer.
    async fn close(self) {
        match self {
            Connection::Pipelined(p) => p.quit().await,
            Connection::Lettre(mut c) => {
                let _ = tokio::time::timeout(PROBE_TIMEOUT, c.abort()).await;
            }
        }
    }
}

impl SmtpClient {
    async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let envelope = envelope(mail).map_err(SendError::Permanent)?;
        // A free connection if there is one, else wait for the next in turn.
        let mut slot = match self.connections.iter().find_map(|c| c.try_lock().ok()) {
            Some(slot) => slot,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.connections[i].lock().await
            }
        };
        let (mut connection, reused) = match revive(slot.take()).await {
            Some(kept) => (kept, true),
            None => (self.connect().await?, false),
        };
        let mut result = connection.send(mail, &envelope).await;
        if reused && result.as_ref().is_err_and(|f| f.unsent) {
            // A kept connection the server had closed (its idle timeout, a restart):
            // the same mail once more, at once, on a new one.
            connection.close().await;
            connection = self.connect().await?;
            result = connection.send(mail, &envelope).await;
        }
        match result {
            Ok(()) => {
                *slot = Some(Kept {
                    connection,
                    since: Instant::now(),
                });
                Ok(())
            }
            // After a refusal the session state is unclear: start the next mail afresh.
            Err(failure) => {
                connection.close().await;
                Err(failure.error)
            }
        }
    }

    /// Closes the connections idle for longer than [`IDLE_CLOSE`], before the server
    /// times them out.
    async fn close_idle(&self) {
        for slot in &self.connections {
            let Ok(mut slot) = slot.try_lock() else {
                continue;
            };
            if slot
                .as_ref()
                .is_some_and(|k| k.since.elapsed() > IDLE_CLOSE)
                && let Some(kept) = slot.take()
            {
                kept.connection.close().await;
            }
        }
    }

    /// Our pipelined connection when the server offers PIPELINING and needs neither
    /// credentials nor (off loopback) STARTTLS; lettre's otherwise.
    async fn connect(&self) -> Result<Connection, SendError> {
        if self.credentials.is_none() && !self.lettre_only.load(Ordering::Relaxed) {
            let stream = self.tcp().await?;
            let hello = self.hello.to_string();
            let p = pipelined::Pipelined::start(stream, &hello).await?;
            if p.offers.pipelining && (!p.offers.starttls || self.loopback()) {
                return Ok(Connection::Pipelined(p));
            }
            self.lettre_only.store(true, Ordering::Relaxed);
        }
        self.connect_lettre()
            .await
            .map(|c| Connection::Lettre(Box::new(c)))
    }

    fn loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    async fn tcp(&self) -> Result<tokio::net::TcpStream, SendError> {
        let refused = |e: io::Error| {
            SendError::Temporary(format!(
                "cannot connect to {}:{}: {e}",
                self.host, self.port
            ))
        };
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(refused)?;
        stream.set_nodelay(true).map_err(refused)?;
        Ok(stream)
    }

    async fn connect_lettre(&self) -> Result<AsyncSmtpConnection, SendError> {
        let stream = self.tcp().await?;
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                .await
                .map_err(classify)?;
        if connection.can_starttls() {
            // Opportunistic STARTTLS is unauthenticated by nature (RFC 7435): a relay
            // with a self-signed certificate still gets encryption.
            let params = TlsParameters::builder(self.host.clone())
                .dangerous_accept_invalid_certs(true)
                .build_rustls()
                .map_err(classify)?;
            connection
                .starttls(params, &self.hello)
                .await
                .map_err(classify)?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(classify)?;
        }
        Ok(connection)
    }
}

/// A kept connection fit for the next mail: one idle for longer than [`IDLE_CLOSE`] is
/// closed, one idle for longer than [`PROBE_AFTER`] must answer a NOOP first.
async fn revive(kept: Option<Kept>) -> Option<Connection> {
    let Kept {
        mut connection,
        since,
    } = kept?;
    let idle = since.elapsed();
    if idle > IDLE_CLOSE {
        connection.close().await;
        return None;
    }
    if idle > PROBE_AFTER && !connection.probe().await {
        return None;
    }
    Some(connection)
}

fn envelope(mail: &Outgoing) -> Result<lettre::address::Envelope, String> {
    let from: Address = mail
        .envelope_from
        .parse()
        .map_err(|e| format!("envelope sender: {e}"))?;
    let to: Address = mail
        .to
        .parse()
        .map_err(|e| format!("recipient {}: {e}", mail.to))?;
    lettre::address::Envelope::new(Some(from), vec![to]).map_err(|e| e.to_string())
}

fn write_eml(dir: &Path, mail: &Outgoing) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Not a time of any record (those are handed in): a name unique and in
    // writing order across processes, which seconds alone would not give.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let to = mail.to.replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '@' && c != '.',
        "_",
    );
    fsio::write_atomic(&dir.join(format!("{now}-{to}.eml")), &mail.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn mail() -> Outgoing {
        Outgoing {
            envelope_from: "sm-cop-bounces@list.example.gov".into(),
            to: "kim@army.mil".into(),
            message: "Subject: hi\r\n\r\nhello\r\n".into(),
            message_b64: None,
        }
    }

    /// A relay offering PIPELINING that takes the first mail, then reads the text of
    /// the next and closes without an answer (it may have taken it: nobody knows).
    async fn relay(texts: Arc<AtomicUsize>, connections: Arc<AtomicUsize>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, SeqCst);
                tokio::spawn(session(stream, texts.clone()));
            }
        });
        port
    }

    async fn session(stream: tokio::net::TcpStream, texts: Arc<AtomicUsize>) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 relay\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-relay\r\n250 PIPELINING\r\n",
                "DATA" => {
                    write.write_all(b"354 go on\r\n").await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line == "." {
                            break;
                        }
                    }
                    if texts.fetch_add(1, SeqCst) > 0 {
                        return;
                    }
                    b"250 queued\r\n"
                }
                "QUIT" => return,
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_connection_lost_after_the_text_went_out_does_not_send_it_again() {
        let (texts, connections) = (Arc::default(), Arc::default());
        let port = relay(Arc::clone(&texts), Arc::clone(&connections)).await;
        let sender = Sender::new(&Outbound {
            transport: Transport::Smtp {
                host: "127.0.0.1".into(),
                port,
            },
            from: crate::address::EmailAddress::parse("sm-cop@list.example.gov").unwrap(),
            username: None,
            password_file: None,
            give_up_after: Duration::from_secs(86400),
            send_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        })
        .unwrap();
        assert_eq!(sender.send(&mail()).await, Ok(()));
        let second = sender.send(&mail()).await;
        assert!(matches!(second, Err(SendError::Temporary(_))), "{second:?}");
        assert_eq!(texts.load(SeqCst), 2, "the second text went out once");
        assert_eq!(connections.load(SeqCst), 1, "and was not tried again");
    }
}
