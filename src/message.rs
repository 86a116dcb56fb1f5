//! Incoming mail → [`Incoming`]: the only module that touches mail-parser.
//!
//! The size cap comes first (mail-parser would happily parse a 10 MB header line).
//! Everything taken from the message is cleaned here: no CR, LF or other control
//! character survives into a name, subject or id, so nothing hostile reaches a header
//! we write or a log line.

use crate::address::EmailAddress;
use mail_parser::MessageParser;

/// The header that marks mail listkeeper wrote; mail carrying it is never answered.
pub const LOOP_HEADER: &str = "X-Listkeeper-Loop";

/// Body lines read for commands at most (commands stop after 20 anyway).
const MAX_BODY_LINES: usize = 100;
/// Characters kept of a subject, a display name or a body line.
const MAX_TEXT: usize = 200;

/// What the pipeline needs from one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incoming {
    /// The From header's one address, when there is exactly one and it is valid.
    pub from: Option<EmailAddress>,
    /// The From header's display name, cleaned.
    pub from_name: Option<String>,
    /// The Subject, decoded and cleaned.
    pub subject: String,
    /// The Message-ID without angle brackets, when it is a plausible id.
    pub message_id: Option<String>,
    /// The first plain-text body part, line by line, cleaned (at most 100 lines).
    pub body_lines: Vec<String>,
    /// `Auto-Submitted`, lower case, when present.
    pub auto_submitted: Option<String>,
    /// `Precedence`, lower case, when present.
    pub precedence: Option<String>,
    /// Whether the message carries a `List-Id` header.
    pub has_list_id: bool,
    /// The values of our loop header, if any.
    pub loop_marks: Vec<String>,
    /// Every `Authentication-Results` value, topmost first, unfolded and whole.
    pub auth_results: Vec<String>,
}

/// Why a message was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Larger than `max_message_size`.
    #[error("the message is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: u64,
    },
    /// Not an email message at all.
    #[error("this is not an email message (no mail headers)")]
    NotMail,
}

/// The Message-ID of a raw message, cleaned for a log line (headers only are read),
/// for the front ends' tracing spans; `None` when it has none.
pub fn message_id(raw: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse_headers(raw)?
        .message_id()
        .map(|id| clean(&id.chars().take(200).collect::<String>()))
}

/// Reads a raw message, refusing it before parsing when it is over `limit` bytes.
pub fn parse(raw: &[u8], limit: u64) -> Result<Incoming, MessageError> {
    if raw.len() as u64 > limit {
        return Err(MessageError::TooLarge {
            size: raw.len(),
            limit,
        });
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MessageError::NotMail)?;
    let known = ["From", "Sender", "Subject", "Message-ID", "Date", "To"];
    if !known.iter().any(|h| message.header(*h).is_some()) {
        return Err(MessageError::NotMail);
    }
    let from_headers = message.header_values("From").count();
    let from_addr = message.from().filter(|_| from_headers == 1).and_then(|a| {
        if a.iter().count() == 1 {
            a.first()
        } else {
            None
        }
    });
    Ok(Incoming {
        from: from_addr
            .and_then(|a| a.address())
            .and_then(|a| EmailAddress::parse(a.trim()).ok()),
        from_name: from_addr
            .and_then(|a| a.name())
            .map(clean)
            .filter(|n| !n.is_empty()),
        subject: message.subject().map(clean).unwrap_or_default(),
        message_id: message.message_id().and_then(clean_id),
        body_lines: message
            .body_text(0)
            .map(|body| body.lines().take(MAX_BODY_LINES).map(clean).collect())
            .unwrap_or_default(),
        auto_submitted: raw_header(&message, "Auto-Submitted"),
        precedence: raw_header(&message, "Precedence"),
        has_list_id: message.header("List-Id").is_some(),
        auth_results: message
            .headers()
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("Authentication-Results"))
            .filter_map(|h| {
                let raw = raw.get(h.offset_start() as usize..h.offset_end() as usize)?;
                Some(unfold(&String::from_utf8_lossy(raw)))
            })
            .collect(),
        loop_marks: message
            .header_values(LOOP_HEADER)
            .filter_map(|v| v.as_text().map(|t| t.trim().to_ascii_lowercase()))
            .collect(),
    })
}

fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| clean(v).to_ascii_lowercase())
}

/// Control characters become spaces, runs of white space one space, and the text is
/// cut to a sane length.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    // Characters kept so far (counting `out` again for each one was quadratic).
    let mut kept = 0;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if kept >= MAX_TEXT {
            break;
        }
        out.push(c);
        kept += 1;
    }
    out.trim_end().to_owned()
}

/// A header value unfolded (RFC 5322 §2.2.3: every line break in it is followed by
/// white space, which stays), whole and otherwise as written. Not [`clean`]: its
/// length cap could cut `header.d=agency.gov.evil.com` to `header.d=agency.gov`, and
/// collapsing spaces would change quoted strings.
fn unfold(value: &str) -> String {
    value.replace(['\r', '\n'], "").trim().to_owned()
}

/// A recipient fit for a log or an LMTP reply line: printable ASCII only, at most
/// 200 characters, and never a `+TOKEN` part (`sm-cop-confirm+…@domain`).
pub fn redact_recipient(recipient: &str) -> String {
    let s: String = recipient
        .chars()
        .filter(char::is_ascii_graphic)
        .take(200)
        .collect();
    match (s.find('+'), s.rfind('@')) {
        (Some(plus), Some(at)) if plus < at => format!("{}+…{}", &s[..plus], &s[at..]),
        _ => s,
    }
}

/// A Message-ID we will repeat in a header: printable ASCII, no brackets or spaces.
fn clean_id(id: &str) -> Option<String> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= 250
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    ok.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Incoming, MessageError> {
        parse(text.as_bytes(), 1 << 20)
    }

    #[test]
    fn plain_request() {
        let m = parse_text(
            "From: \"Jane Doe\" <Jane.Doe@Agency.GOV>\r\nTo: sm-cop-request@listserv.example.gov\r\n\
             Subject: subscribe\r\nMessage-ID: <abc@agency.gov>\r\n\r\nsubscribe sm-cop Jane Doe\r\n-- \r\nJane\r\n",
        )
        .unwrap();
        assert_eq!(m.from.unwrap().to_string(), "Jane.Doe@agency.gov");
        assert_eq!(m.from_name.as_deref(), Some("Jane Doe"));
        assert_eq!(m.subject, "subscribe");
        assert_eq!(m.message_id.as_deref(), Some("abc@agency.gov"));
        assert_eq!(m.body_lines, ["subscribe sm-cop Jane Doe", "--", "Jane"]);
    }

    #[test]
    fn encoded_names_and_subjects_are_decoded_and_cleaned() {
        let m = parse_text(
            "From: =?UTF-8?Q?Mar=C3=ADa_Garc=C3=ADa?= <maria@hhs.gov>\r\n\
             Subject: =?UTF-8?B?am9pbgpCY2M6IGV2aWxAeC5jb20=?=\r\nMessage-ID: <a b@c>\r\n\r\nhi\r\n",
        )
        .unwrap();
        assert_eq!(m.from_name.as_deref(), Some("María García"));
        assert_eq!(
            m.subject, "join Bcc: evil@x.com",
            "an encoded LF does not survive"
        );
        assert_eq!(m.message_id, None, "an id with a space is not repeated");
    }

    #[test]
    fn hostile_senders_are_not_usable() {
        let two = parse_text("From: a@x.gov\r\nFrom: b@x.gov\r\nSubject: x\r\n\r\n").unwrap();
        assert_eq!(two.from, None);
        let group = parse_text("From: a@x.gov, b@x.gov\r\nSubject: x\r\n\r\n").unwrap();
        assert_eq!(group.from, None);
        let bad = parse_text("From: not-an-address\r\nSubject: x\r\n\r\n").unwrap();
        assert_eq!(bad.from, None);
        let none = parse_text("Subject: x\r\n\r\nbody").unwrap();
        assert_eq!(none.from, None);
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let big = format!("Subject: {}\r\n\r\n", "x".repeat(2000));
        assert_eq!(
            parse(big.as_bytes(), 1000),
            Err(MessageError::TooLarge {
                size: big.len(),
                limit: 1000
            })
        );
    }

    #[test]
    fn garbage_is_not_mail() {
        assert_eq!(parse(b"", 1000), Err(MessageError::NotMail));
        assert_eq!(
            parse(&[0u8, 159, 146, 150, 0, 1, 2], 1000),
            Err(MessageError::NotMail)
        );
        assert_eq!(
            parse(b"just some words\nand more", 1000),
            Err(MessageError::NotMail)
        );
    }

    #[test]
    fn authentication_results_are_kept_in_order() {
        let m = parse_text(
            "Authentication-Results: mx.example.gov;\r\n dkim=pass header.d=agency.gov\r\n\
             Received: from x\r\nAuthentication-Results: forged.example; spf=pass\r\nFrom: a@agency.gov\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            m.auth_results,
            [
                "mx.example.gov; dkim=pass header.d=agency.gov",
                "forged.example; spf=pass"
            ]
        );
    }

    /// Issue 13: the values reach `trust` unfolded but not cut or squeezed.
    #[test]
    fn authentication_results_are_unfolded_whole() {
        let padding = "x".repeat(300);
        let m = parse_text(&format!(
            "Authentication-Results: mx.example.gov;\r\n\tdkim=pass ({padding})\r\n  \
             header.d=agency.gov.evil.com smtp.mailfrom=\"a  b\"@x\r\nFrom: a@agency.gov\r\n\r\n"
        ))
        .unwrap();
        assert_eq!(
            m.auth_results,
            [format!(
                "mx.example.gov;\tdkim=pass ({padding})  header.d=agency.gov.evil.com smtp.mailfrom=\"a  b\"@x"
            )]
        );
    }

    #[test]
    fn loop_and_bulk_headers_are_read() {
        let m = parse_text(
            "From: a@x.gov\r\nAuto-Submitted: Auto-Replied\r\nPrecedence: BULK\r\nList-Id: <l.x.gov>\r\n\
             X-Listkeeper-Loop: Listserv.Example.GOV\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(m.precedence.as_deref(), Some("bulk"));
        assert!(m.has_list_id);
        assert_eq!(m.loop_marks, ["listserv.example.gov"]);
    }
}
