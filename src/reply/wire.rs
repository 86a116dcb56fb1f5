//! A reply as the text SMTP carries: its headers in order, folded and RFC 2047
//! encoded, then its body as 7bit or quoted-printable.
//!
//! Written here rather than with lettre's `MessageBuilder`: the builder keeps each
//! header as encoded text and parses From, To and the envelope back out of it when
//! it builds, which was a quarter of the daemon's work per reply. The encoding itself
//! is lettre's own: its encoder's rule (words that are printable ASCII as they are,
//! runs of the others as encoded words, folded at 78) over `email-encoding`, the
//! crate lettre encodes with, and the body by the same choice and the same
//! quoted-printable crate. A test holds the result to what lettre's builder writes.

use email_encoding::body::Encoding;
use email_encoding::headers::rfc2047;
use email_encoding::headers::writer::EmailWriter;
use std::fmt::{self, Write as _};

/// A message being written: headers first, then [`Wire::body`].
pub(super) struct Wire {
    out: String,
}

impl Wire {
    pub(super) fn new() -> Wire {
        Wire {
            out: String::with_capacity(2048),
        }
    }

    /// A header whose value is ours or cleaned (no CR or LF), encoded and folded as
    /// lettre's `HeaderValue::new` does.
    pub(super) fn header(&mut self, name: &str, value: &str) {
        self.out.push_str(name);
        self.out.push_str(": ");
        // Writing into a String does not fail.
        let _ = encode(name, value, &mut self.out);
        self.out.push_str("\r\n");
    }

    /// A header whose value is written as it is (an address, a date, a MIME word).
    pub(super) fn plain(&mut self, name: &str, value: &str) {
        let _ = write!(self.out, "{name}: {value}\r\n");
    }

    /// The text body, with its MIME headers and `Date` (the last header, as lettre
    /// writes it), and the message is done.
    pub(super) fn body(mut self, text: &str, date: std::time::SystemTime) -> String {
        let encoding = Encoding::choose(text, false);
        let crlf = crlf(text);
        let (name, body) = match encoding {
            Encoding::SevenBit | Encoding::EightBit => ("7bit", crlf),
            Encoding::QuotedPrintable => {
                let encoded = quoted_printable::encode_to_str(crlf.as_bytes());
                ("quoted-printable", encoded)
            }
            Encoding::Base64 => {
                let mut encoded = String::with_capacity(crlf.len() * 4 / 3 + 4);
                let _ = email_encoding::body::base64::encode(crlf.as_bytes(), &mut encoded);
                ("base64", encoded)
            }
        };
        self.plain("MIME-Version", "1.0");
        self.plain("Content-Type", "text/plain; charset=utf-8");
        self.plain("Content-Transfer-Encoding", name);
        // RFC 5322 dates end in a zone, not the obsolete `GMT` httpdate writes.
        let date = httpdate::fmt_http_date(date);
        let date = date
            .strip_suffix("GMT")
            .map_or(date.clone(), |d| format!("{d}+0000"));
        self.plain("Date", &date);
        self.out.push_str("\r\n");
        self.out.push_str(&body);
        self.out
    }
}

/// `value` as lettre's header encoder writes it after `name: `.
fn encode(name: &str, value: &str, out: &mut String) -> fmt::Result {
    let mut writer = EmailWriter::new(out, name.len() + 2, 0, false);
    let mut pending = String::new();
    for word in value.split_inclusive(' ') {
        if word.bytes().all(printable) {
            flush(&mut pending, &mut writer)?;
            writer.folding().write_str(word)?;
        } else {
            pending.push_str(word);
        }
    }
    flush(&mut pending, &mut writer)
}

/// The words gathered that need encoding, as encoded words (their trailing spaces
/// kept as spaces).
fn flush(pending: &mut String, writer: &mut EmailWriter<'_>) -> fmt::Result {
    if pending.is_empty() {
        return Ok(());
    }
    let prefix = pending.trim_end_matches(' ');
    rfc2047::encode(prefix, writer)?;
    for _ in prefix.len()..pending.len() {
        writer.space();
    }
    pending.clear();
    Ok(())
}

/// A byte a header may carry as it is (lettre's rule: ASCII but NUL, LF and CR).
const fn printable(c: u8) -> bool {
    matches!(c, 1..=9 | 11 | 12 | 14..=127)
}

/// Every line ending CRLF (a lone LF gets its CR).
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut previous = '\0';
    for c in text.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::message::header::{ContentType, HeaderName, HeaderValue};
    use lettre::message::{Mailbox, Message, header};

    fn lettre(subject: &str, extra: &[(&'static str, &str)], body: &str) -> String {
        let mut builder = Message::builder()
            .from("listserv@lists.example.gov".parse::<Mailbox>().unwrap())
            .to("jane.doe@agency.gov".parse::<Mailbox>().unwrap())
            .subject(subject)
            .message_id(Some("<a.b@lists.example.gov>".into()));
        for (name, value) in extra {
            let name = HeaderName::new_from_ascii_str(name);
            builder = builder.raw_header(HeaderValue::new(name, (*value).to_owned()));
        }
        let message = builder
            .header(header::MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    fn ours(subject: &str, extra: &[(&'static str, &str)], body: &str) -> String {
        let mut wire = Wire::new();
        wire.plain("From", "listserv@lists.example.gov");
        wire.plain("To", "jane.doe@agency.gov");
        wire.header("Subject", subject);
        wire.header("Message-ID", "<a.b@lists.example.gov>");
        for (name, value) in extra {
            wire.header(name, value);
        }
        wire.body(body, std::time::SystemTime::now())
    }

    /// The two without their `Date` lines (lettre's is its own now).
    fn undated(message: &str) -> String {
        let dated = |l: &&str| l.starts_with("Date: ");
        let date = message.split("\r\n").position(|l| dated(&l)).unwrap();
        let blank = message.split("\r\n").position(str::is_empty).unwrap();
        assert_eq!(date + 1, blank, "Date is the last header: {message}");
        let lines: Vec<&str> = message.split("\r\n").filter(|l| !dated(l)).collect();
        lines.join("\r\n")
    }

    /// A subject, headers, a body.
    type Case<'a> = (&'a str, &'a [(&'static str, &'a str)], &'a str);

    #[test]
    fn a_reply_is_written_as_lettre_writes_it() {
        let long = "Someone, probably you, asked to subscribe jane.doe@agency.gov to SM-COP (SocialGov Community of Practice).\n\nTo confirm, reply.\n";
        let cases: [Case<'_>; 5] = [
            ("Welcome to SM-COP", &[], "Short and plain.\n"),
            (
                "Confirm your subscription to SM-COP (confirm k1zrk2wuyknojehilr64wiwe3agpw2qjoj)",
                &[
                    ("Auto-Submitted", "auto-replied"),
                    ("List-Id", "\"SM-COP\" <sm-cop.lists.example.gov>"),
                    (
                        "List-Unsubscribe",
                        "<https://lists.example.gov/u/k1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>, <mailto:sm-cop-leave@lists.example.gov>",
                    ),
                ],
                long,
            ),
            (
                "Confirme su suscripción a la lista SM-COP (confirm k1zrk2wuyknojehilr64wiwe3agpw2qjoj)",
                &[(
                    "List-Id",
                    "\"Comunidad de Práctica\" <sm-cop.lists.example.gov>",
                )],
                "Alguien, probablemente usted, pidió la suscripción de la dirección jane.doe@agency.gov a la lista.\nEl año próximo.\n",
            ),
            ("ñandú ñandú ñandú", &[], "¡Sí! ¿Qué? Ñ\n"),
            ("x", &[], ".leading dot\r\nand CRLF already\n\nlines\n"),
        ];
        for (subject, extra, body) in cases {
            assert_eq!(
                undated(&ours(subject, extra, body)),
                undated(&lettre(subject, extra, body)),
                "{subject}"
            );
        }
    }

    #[test]
    fn the_date_ends_in_a_zone() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_420_186);
        let message = Wire::new().body("x\n", at);
        assert!(
            message.contains("\r\nDate: Fri, 04 Dec 2026 21:36:26 +0000\r\n"),
            "{message}"
        );
    }
}
