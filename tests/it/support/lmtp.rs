//! An LMTP client for tests: one transaction, every per-recipient reply read.

#![allow(unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct Lmtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A reply: its code and its text (the last line of a multi-line reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Lmtp {
    pub fn connect(port: u16) -> std::io::Result<Lmtp> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        let mut c = Lmtp {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        let greeting = c.reply()?;
        // A daemon at its connection limit says 421: an error a caller may retry on.
        if greeting.code != 220 {
            return Err(std::io::Error::other(format!("greeting {greeting:?}")));
        }
        c.command("LHLO test.client")?;
        Ok(c)
    }

    pub fn reply(&mut self) -> std::io::Result<Reply> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply {
                    code,
                    text: line.trim_end().to_owned(),
                });
            }
        }
    }

    pub fn command(&mut self, line: &str) -> std::io::Result<Reply> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// MAIL, RCPTs, DATA: the RCPT replies, then one reply per accepted recipient.
    pub fn send(
        &mut self,
        from: &str,
        to: &[&str],
        message: &str,
    ) -> std::io::Result<(Vec<Reply>, Vec<Reply>)> {
        let mail = self.command(&format!("MAIL FROM:<{from}>"))?;
        assert_eq!(mail.code, 250, "{mail:?}");
        let mut rcpt = Vec::new();
        for t in to {
            rcpt.push(self.command(&format!("RCPT TO:<{t}>"))?);
        }
        let accepted = rcpt.iter().filter(|r| r.code == 250).count();
        if accepted == 0 {
            self.command("RSET")?;
            return Ok((rcpt, Vec::new()));
        }
        let data = self.command("DATA")?;
        assert_eq!(data.code, 354, "{data:?}");
        let outcomes = self.message(message, accepted)?;
        Ok((rcpt, outcomes))
    }

    /// As [`Lmtp::send`], but pipelined (RFC 2920) the way Postfix's LMTP client
    /// does it: MAIL, the RCPTs and DATA in one write, then the message.
    pub fn send_pipelined(
        &mut self,
        from: &str,
        to: &[&str],
        message: &str,
    ) -> std::io::Result<(Vec<Reply>, Vec<Reply>)> {
        let mut head = format!("MAIL FROM:<{from}>\r\n");
        for t in to {
            head.push_str(&format!("RCPT TO:<{t}>\r\n"));
        }
        head.push_str("DATA\r\n");
        self.writer.write_all(head.as_bytes())?;
        let mail = self.reply()?;
        assert_eq!(mail.code, 250, "{mail:?}");
        let mut rcpt = Vec::new();
        for _ in to {
            rcpt.push(self.reply()?);
        }
        let accepted = rcpt.iter().filter(|r| r.code == 250).count();
        let data = self.reply()?;
        if accepted == 0 || data.code != 354 {
            return Ok((rcpt, Vec::new()));
        }
        let outcomes = self.message(message, accepted)?;
        Ok((rcpt, outcomes))
    }

    /// After a 354: the message dot-stuffed and ended, then one reply per accepted
    /// recipient.
    fn message(&mut self, message: &str, accepted: usize) -> std::io::Result<Vec<Reply>> {
        let mut body = String::with_capacity(message.len() + 8);
        for line in message.split_inclusive('\n') {
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
        }
        if !body.ends_with("\r\n") {
            body.push_str("\r\n");
        }
        body.push_str(".\r\n");
        self.writer.write_all(body.as_bytes())?;
        (0..accepted).map(|_| self.reply()).collect()
    }

    pub fn quit(mut self) {
        let _ = self.command("QUIT");
    }
}
