//! The LMTP client `deliver` hands a message to a running daemon with (issue 21):
//! blocking I/O, one message, then QUIT.
//!
//! Only a listkeeper daemon keeping the same state folder is used: its greeting
//! names listkeeper and its LHLO reply carries the state folder's id
//! ([`super::STATE_KEYWORD`]). Until the message's final dot is sent nothing can
//! have been done with it, so any failure up to then comes back as
//! [`Handoff::NotThere`] (`deliver` then does the work itself); a failure after it
//! is [`Handoff::Broken`] (exit 75: the daemon may have done it, and the MTA's retry
//! is recognised by its Message-ID), never a second try here.

use super::session::RcptOutcome;
use crate::config::Listen;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// How long connecting and each reply before the message's end may take before
/// `deliver` does the work itself.
const BEFORE_DATA: Duration = Duration::from_secs(10);
/// How long the daemon may take over the message once it has it all (as Postfix's
/// `lmtp_data_done_timeout`).
const AFTER_DATA: Duration = Duration::from_secs(600);

/// One message to hand over.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The envelope sender (`""` the null sender).
    pub from: &'a str,
    /// The envelope recipients.
    pub to: &'a [String],
    /// The message as read.
    pub raw: &'a [u8],
}

/// What handing a message over came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Handoff {
    /// The daemon answered for every recipient, in order.
    Answered(Vec<RcptOutcome>),
    /// No daemon of ours took the message (why, for the log): nothing was done.
    NotThere(String),
    /// The daemon had the whole message, then the session failed (why): it may or
    /// may not have done it.
    Broken(String),
}

/// The daemon's socket: TCP or Unix.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

impl Stream {
    fn connect(listen: &Listen) -> io::Result<Stream> {
        let stream = match listen {
            Listen::Tcp(addr) => {
                let s = TcpStream::connect_timeout(addr, BEFORE_DATA)?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Listen::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
        };
        stream.timeout(BEFORE_DATA)?;
        Ok(stream)
    }

    fn timeout(&self, limit: Duration) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(limit))?;
                s.set_write_timeout(Some(limit))
            }
            Stream::Unix(s) => {
                s.set_read_timeout(Some(limit))?;
                s.set_write_timeout(Some(limit))
            }
        }
    }
}

/// Hands `message` to the daemon listening on `listen`, if it is a listkeeper
/// keeping the state folder `state` (host `domain`).
pub fn hand_over(listen: &Listen, domain: &str, state: &str, message: &Message<'_>) -> Handoff {
    let stream = match Stream::connect(listen) {
        Ok(stream) => stream,
        Err(e) => return Handoff::NotThere(format!("no daemon answers ({e})")),
    };
    let mut conn = Conn {
        io: BufReader::new(stream),
    };
    let accepted = match conn.before_data(domain, state, message) {
        Ok(accepted) => accepted,
        Err(why) => return Handoff::NotThere(why),
    };
    if !accepted.iter().any(Option::is_none) {
        let _ = conn.io.get_mut().write_all(b"QUIT\r\n");
        return Handoff::Answered(accepted.into_iter().flatten().collect());
    }
    match conn.data(message.raw, &accepted) {
        Ok(outcomes) => {
            let _ = conn.io.get_mut().write_all(b"QUIT\r\n");
            Handoff::Answered(outcomes)
        }
        Err(e) => Handoff::Broken(format!("the daemon had the message, then: {e}")),
    }
}

/// One session.
struct Conn {
    io: BufReader<Stream>,
}

impl Conn {
    /// Greeting, LHLO, MAIL, every RCPT and DATA: each recipient's refusal, `None`
    /// for those accepted (the message follows only when there is one).
    fn before_data(
        &mut self,
        domain: &str,
        state: &str,
        message: &Message<'_>,
    ) -> Result<Vec<Option<RcptOutcome>>, String> {
        let fail = |e: io::Error| format!("the daemon's session failed before the message ({e})");
        let (code, greeting) = self.reply().map_err(fail)?;
        let ours = format!("{domain} LMTP listkeeper ");
        if code != 220 || !greeting.first().is_some_and(|l| l.starts_with(&ours)) {
            return Err(format!(
                "what answers is not a listkeeper daemon for {domain}"
            ));
        }
        // Our daemon pipelines: the whole envelope in one write. Nothing is done
        // before the message's end, so a daemon keeping another state folder is
        // simply left before it.
        let mut commands = format!("LHLO {domain}\r\nMAIL FROM:<{}>\r\n", message.from);
        for rcpt in message.to {
            commands.push_str(&format!("RCPT TO:<{rcpt}>\r\n"));
        }
        commands.push_str("DATA\r\n");
        self.send(commands.as_bytes()).map_err(fail)?;
        let (code, lines) = self.reply().map_err(fail)?;
        let announced = format!("{} {state}", super::STATE_KEYWORD);
        if code != 250 || !lines.iter().any(|l| l.eq_ignore_ascii_case(&announced)) {
            return Err("the daemon there keeps another state folder".into());
        }
        let (code, _) = self.reply().map_err(fail)?;
        if code != 250 {
            return Err(format!("the daemon refused MAIL FROM ({code})"));
        }
        let mut accepted = Vec::new();
        for _ in message.to {
            let (code, _) = self.reply().map_err(fail)?;
            accepted.push((code != 250).then(|| RcptOutcome::from_reply(code)));
        }
        let (code, _) = self.reply().map_err(fail)?;
        if accepted.iter().any(Option::is_none) && code != 354 {
            return Err(format!("the daemon refused DATA ({code})"));
        }
        Ok(accepted)
    }

    /// The message, then one reply per accepted recipient: every recipient's
    /// outcome, in order.
    fn data(
        &mut self,
        raw: &[u8],
        accepted: &[Option<RcptOutcome>],
    ) -> io::Result<Vec<RcptOutcome>> {
        self.io.get_ref().timeout(AFTER_DATA)?;
        self.send(&wire_form(raw))?;
        let mut outcomes = Vec::with_capacity(accepted.len());
        for refused in accepted {
            let outcome = match refused {
                Some(outcome) => *outcome,
                None => RcptOutcome::from_reply(self.reply()?.0),
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.io.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// One reply, multi-line or not: its code and its lines' texts (after `250-`).
    fn reply(&mut self) -> io::Result<(u16, Vec<String>)> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if (&mut self.io).take(4096).read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
            let (Some(code), sep) = (code, line.as_bytes().get(3).copied()) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not an LMTP reply: {line:?}"),
                ));
            };
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if sep != Some(b'-') {
                return Ok((code, lines));
            }
        }
    }
}

/// The message as DATA sends it: CRLF line ends (a lone LF becomes CRLF, as
/// Postfix's LMTP client sends), a dot doubled at the start of a line, ending with
/// CRLF and the final dot.
fn wire_form(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 5);
    let mut line_start = true;
    for (i, &b) in raw.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !raw.is_empty() && !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_has_crlf_stuffed_dots_and_the_final_dot() {
        assert_eq!(wire_form(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(wire_form(b".\n"), b"..\r\n.\r\n");
        assert_eq!(wire_form(b""), b".\r\n");
    }

    #[test]
    fn the_wire_form_reads_back_as_the_crlf_message() {
        use crate::inbound::session::{Limits, Recipients, Session, Step};
        struct All;
        impl Recipients for All {
            fn accepts(&self, _: &str) -> bool {
                true
            }
        }
        let raw = b"Subject: x\n\n.\n..two\r\nlast";
        let limits = Limits {
            max_message_size: 1000,
            max_recipients: 1,
        };
        let mut s = Session::new("h", limits, All);
        s.receive(b"LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<l@h>\r\nDATA\r\n");
        s.receive(&wire_form(raw));
        let mut got = None;
        while let Some(step) = s.step() {
            if let Step::Deliver(envelope) = step {
                got = Some(envelope.data);
                break;
            }
        }
        assert_eq!(got.unwrap(), b"Subject: x\r\n\r\n.\r\n..two\r\nlast\r\n");
    }
}
