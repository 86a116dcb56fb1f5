//! Mail for the list's people rather than its machinery: `L-owner@` is forwarded to
//! the owners, `L-bounces@` (the envelope sender of everything we send) is read as a
//! delivery report. Neither is ever answered (docs/reference.md, section 2).
//!
//! What a report may say is only read here; whether it is about mail we sent is
//! decided by its bounce tag (`verp`), never by what the report claims.

use crate::config::{Config, ListConfig};
use crate::message::LOOP_HEADER;
use crate::reply::Outgoing;
use crate::token::Keys;
use crate::verp;

/// The original message, intact, with our loop header on top, to each owner, each
/// copy with its own bounce tag in the envelope sender.
pub(crate) fn forward(
    config: &Config,
    keys: &Keys,
    list: &ListConfig,
    raw: &[u8],
    now: u64,
) -> Vec<Outgoing> {
    let domain = &config.server.domain;
    let mut message = format!("{LOOP_HEADER}: {domain}\r\n").into_bytes();
    message.extend_from_slice(raw);
    list.owners
        .iter()
        .map(|owner| {
            let envelope_from = match verp::tag(keys, list.id.as_str(), &owner.key(), now) {
                Some(tag) => verp::return_path(list.id.as_str(), domain, &tag),
                None => format!("{}-bounces@{domain}", list.id),
            };
            Outgoing::raw(envelope_from, owner.to_string(), &message)
        })
        .collect()
}

/// One recipient a delivery status notification (RFC 3464) reports as failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed {
    /// `Final-Recipient`, else `Original-Recipient`.
    pub address: String,
    /// `Original-Recipient` when it differs (the address we sent to, before a
    /// forward rewrote it).
    pub original: Option<String>,
    /// `Status` (`5.1.1`), when the block has one.
    pub status: Option<String>,
    /// `Diagnostic-Code` (the remote server's words), when the block has one.
    pub diagnostic: Option<String>,
}

/// The recipients a delivery status notification reports as failed.
///
/// Reads the `message/delivery-status` fields wherever they are: each per-recipient
/// block (separated by blank lines) with `Final-Recipient` (or `Original-Recipient`)
/// and `Action: failed` (or a `5.x.x` status) names one failed address.
pub(crate) fn failed_recipients(raw: &[u8]) -> Vec<Failed> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<Failed> = Vec::new();
    for block in text.split("\r\n\r\n").flat_map(|b| b.split("\n\n")) {
        let (mut last, mut first) = (None, None);
        let (mut status, mut diagnostic) = (None, None);
        let mut failed = false;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let address = || {
                let a = value.split_once(';').map_or(value, |(_, a)| a).trim();
                Some(a.trim_matches(['<', '>']).to_owned()).filter(|a| !a.is_empty())
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" if last.is_none() => last = address(),
                "original-recipient" if first.is_none() => first = address(),
                "action" => failed |= value.eq_ignore_ascii_case("failed"),
                "status" => {
                    failed |= value.starts_with('5');
                    status.get_or_insert_with(|| value.to_owned());
                }
                "diagnostic-code" => {
                    diagnostic.get_or_insert_with(|| value.to_owned());
                }
                _ => {}
            }
        }
        let Some(address) = last.clone().or(first.clone()) else {
            continue;
        };
        let original = first.filter(|f| !f.eq_ignore_ascii_case(&address));
        let seen = (out.iter()).any(|e| e.address == address && e.original == original);
        if failed && !seen {
            out.push(Failed {
                address,
                original,
                status,
                diagnostic,
            });
        }
    }
    out
}

/// The Message-IDs of the mail a report returns (its `text/rfc822-headers` or
/// `message/rfc822` part), in order: every `Message-ID:` field below the report's
/// own header.
pub(crate) fn returned_message_ids(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let body = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .map_or("", |(_, b)| b);
    let mut lines = body.lines().peekable();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_owned();
        // A folded field: the id on the next line.
        if value.is_empty()
            && let Some(next) = lines.next_if(|l| l.starts_with([' ', '\t']))
        {
            value = next.trim().to_owned();
        }
        if !value.is_empty() && !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "From: MAILER-DAEMON@mx.agency.gov\r\nTo: sm-cop-bounces@listserv.example.gov\r\n\
Subject: Undelivered Mail Returned to Sender\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.agency.gov\r\nArrival-Date: Wed, 25 Nov 2026\r\n\r\n\
Final-Recipient: rfc822; gone.person@agency.gov\r\nOriginal-Recipient: rfc822;gone.person@agency.gov\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
Final-Recipient: rfc822; slow.person@agency.gov\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Confirm your subscription\r\nMessage-ID:\r\n <k1abc.def@listserv.example.gov>\r\n\r\n--B--\r\n";

    #[test]
    fn returned_message_ids_of_a_dsn() {
        let top = format!("Message-ID: <own@mx.agency.gov>\r\n{DSN}");
        assert_eq!(
            returned_message_ids(top.as_bytes()),
            ["<k1abc.def@listserv.example.gov>"],
            "the report's own Message-ID is not one it returns"
        );
    }

    #[test]
    fn failed_recipients_of_a_dsn() {
        assert_eq!(
            failed_recipients(DSN.as_bytes()),
            [Failed {
                address: "gone.person@agency.gov".into(),
                original: None,
                status: Some("5.1.1".into()),
                diagnostic: None,
            }]
        );
        let forwarded = DSN.replace(
            "Original-Recipient: rfc822;gone.person@agency.gov",
            "Original-Recipient: rfc822;old@agency.gov",
        );
        assert_eq!(
            failed_recipients(forwarded.as_bytes())[0]
                .original
                .as_deref(),
            Some("old@agency.gov")
        );
        assert!(
            failed_recipients(b"From: x\r\nSubject: out of office\r\n\r\nI am away\r\n").is_empty()
        );
    }

    proptest::proptest! {
        /// Any bytes: no panic. A report built around any address names exactly it.
        #[test]
        fn reports_of_any_shape(
            junk in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            local in "[a-z0-9.]{1,20}",
            crlf in proptest::bool::ANY,
        ) {
            let _ = failed_recipients(&junk);
            let _ = returned_message_ids(&junk);
            let nl = if crlf { "\r\n" } else { "\n" };
            let who = format!("{local}@agency.gov");
            let report = format!(
                "From: x{nl}{nl}Final-Recipient: rfc822; <{who}>{nl}Action: failed{nl}{nl}\
                 Final-Recipient: rfc822; other@agency.gov{nl}Action: delayed{nl}"
            );
            let found = failed_recipients(report.as_bytes());
            proptest::prop_assert_eq!(found.len(), 1);
            proptest::prop_assert_eq!(&found[0].address, &who);
        }
    }
}
