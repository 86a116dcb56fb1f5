//! A plain SMTP connection that sends each mail in two round trips (RFC 2920
//! PIPELINING: MAIL, RCPT and DATA in one write, then the message and its final
//! dot in another), where lettre's connection takes four writes and five for the
//! message. Used for `smtp://` relays that offer PIPELINING and need neither
//! credentials nor STARTTLS (a relay on loopback, whose traffic never leaves the
//! host); every other case goes through lettre.

use super::{Failure, SendError};
use crate::records::Outgoing;
use std::io;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The longest reply line we read, and the most lines in one reply: a server that
/// sends more is not one we talk to.
const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 64;

/// What the server offered in its EHLO reply.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Offers {
    pub(super) pipelining: bool,
    pub(super) starttls: bool,
    eight_bit: bool,
    smtputf8: bool,
}

/// One open connection, greeted.
#[derive(Debug)]
pub(super) struct Pipelined {
    stream: BufReader<TcpStream>,
    pub(super) offers: Offers,
    /// The connection failed, or the server said it is closing it (`421`).
    closed: bool,
}

/// A reply: code and its last line.
#[derive(Debug)]
struct Reply {
    code: u16,
    text: String,
}

impl Pipelined {
    /// Reads the greeting and says EHLO.
    pub(super) async fn start(stream: TcpStream, hello: &str) -> Result<Pipelined, SendError> {
        let mut p = Pipelined {
            stream: BufReader::new(stream),
            offers: Offers::default(),
            closed: false,
        };
        let greeting = p.reply().await?;
        if greeting.code != 220 {
            return Err(classify(&greeting));
        }
        p.write(format!("EHLO {hello}\r\n").as_bytes()).await?;
        let (ehlo, lines) = p.reply_lines().await?;
        if ehlo.code != 250 {
            return Err(classify(&ehlo));
        }
        for line in lines {
            let word = line
                .get(4..)
                .unwrap_or("")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match word.as_str() {
                "PIPELINING" => p.offers.pipelining = true,
                "STARTTLS" => p.offers.starttls = true,
                "8BITMIME" => p.offers.eight_bit = true,
                "SMTPUTF8" => p.offers.smtputf8 = true,
                _ => {}
            }
        }
        Ok(p)
    }

    /// Sends one mail: two writes, two waits. Until the text goes out the server
    /// cannot have taken the mail, so a failure there is `unsent` when the connection
    /// is gone or closing.
    pub(super) async fn send(&mut self, mail: &Outgoing) -> Result<(), Failure> {
        if let Err(error) = self.open_data(mail).await {
            let unsent = self.closed;
            return Err(Failure { error, unsent });
        }
        self.text(mail).await.map_err(|error| Failure {
            error,
            unsent: false,
        })
    }

    /// NOOP: true when the server answers 250.
    pub(super) async fn noop(&mut self) -> bool {
        self.write(b"NOOP\r\n").await.is_ok() && self.reply().await.is_ok_and(|r| r.code == 250)
    }

    /// QUIT, without waiting for the answer.
    pub(super) async fn quit(mut self) {
        if !self.closed {
            let _ = self.write(b"QUIT\r\n").await;
        }
    }

    /// MAIL, RCPT and DATA in one write, up to the server's `354`.
    async fn open_data(&mut self, mail: &Outgoing) -> Result<(), SendError> {
        // Checked as lettre checks them (two addresses, nothing that could end a
        // line) by `SmtpClient::send`, this connection's only caller, before it.
        let (from, to) = (mail.envelope_from.as_str(), mail.to.as_str());
        let mut params = String::new();
        if self.offers.eight_bit {
            params.push_str(" BODY=8BITMIME");
        }
        if !(from.is_ascii() && to.is_ascii()) {
            if !self.offers.smtputf8 {
                return Err(SendError::Permanent(
                    "the server does not take internationalised addresses (SMTPUTF8)".into(),
                ));
            }
            params.push_str(" SMTPUTF8");
        }
        self.write(format!("MAIL FROM:<{from}>{params}\r\nRCPT TO:<{to}>\r\nDATA\r\n").as_bytes())
            .await?;
        let mail_from = self.reply().await?;
        let rcpt = self.reply().await?;
        let data = self.reply().await?;
        if data.code == 354 && (mail_from.code / 100 != 2 || rcpt.code / 100 != 2) {
            // A server that opened DATA anyway: end it empty, report the refusal.
            self.write(b".\r\n").await?;
            let _ = self.reply().await?;
        }
        for r in [&mail_from, &rcpt] {
            if r.code / 100 != 2 {
                return Err(classify(r));
            }
        }
        if data.code != 354 {
            return Err(classify(&data));
        }
        Ok(())
    }

    /// The message and its final dot, then the server's verdict.
    async fn text(&mut self, mail: &Outgoing) -> Result<(), SendError> {
        self.write(&stuffed(&mail.bytes())).await?;
        let done = self.reply().await?;
        if done.code / 100 != 2 {
            return Err(classify(&done));
        }
        Ok(())
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        let written = self.stream.get_mut().write_all(bytes).await;
        self.closed |= written.is_err();
        written.map_err(lost)
    }

    async fn reply(&mut self) -> Result<Reply, SendError> {
        self.reply_lines().await.map(|(r, _)| r)
    }

    /// One reply; a lost connection or a `421` marks the connection closed.
    async fn reply_lines(&mut self) -> Result<(Reply, Vec<String>), SendError> {
        let read = self.read_reply().await;
        self.closed |= read.as_ref().is_err() || read.as_ref().is_ok_and(|(r, _)| r.code == 421);
        read
    }

    /// One reply, every line of it.
    async fn read_reply(&mut self) -> Result<(Reply, Vec<String>), SendError> {
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = (&mut self.stream)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await
                .map_err(lost)?;
            if n == 0 || !line.ends_with(b"\n") {
                return Err(lost(io::Error::other(
                    "the SMTP server closed the connection or sent a line too long",
                )));
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            let code = text.get(..3).and_then(|c| c.parse::<u16>().ok());
            let last = text.as_bytes().get(3) != Some(&b'-');
            lines.push(text);
            match code {
                Some(code) if last => {
                    let text = lines.last().cloned().unwrap_or_default();
                    return Ok((Reply { code, text }, lines));
                }
                Some(_) if lines.len() < MAX_LINES => {}
                _ => {
                    return Err(lost(io::Error::other(
                        "the SMTP server's reply does not make sense",
                    )));
                }
            }
        }
    }
}

/// The message dot-stuffed, ending in CRLF, then the final dot.
fn stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    // A line at a time (a byte at a time was the sender's largest cost).
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn classify(r: &Reply) -> SendError {
    let why = format!("the SMTP server said: {}", crate::message::clean(&r.text));
    if r.code / 100 == 5 {
        SendError::Permanent(why)
    } else {
        SendError::Temporary(why)
    }
}

fn lost(e: io::Error) -> SendError {
    SendError::Temporary(format!("SMTP connection lost: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_stuffed_and_the_end_is_marked() {
        assert_eq!(stuffed(b"a\r\n.b\r\n.\r\n"), b"a\r\n..b\r\n..\r\n.\r\n");
        assert_eq!(stuffed(b".x"), b"..x\r\n.\r\n");
        assert_eq!(stuffed(b""), b"\r\n.\r\n");
    }
}
