//! Mail for the list's people rather than its machinery: `L-owner@` is forwarded to
//! the owners, `L-bounces@` (the envelope sender of everything we send) is read as a
//! delivery report. Neither is ever answered (SPEC section 2).

use crate::config::{Config, ListConfig};
use crate::message::LOOP_HEADER;
use crate::reply::Outgoing;

/// The original message, intact, with our loop header on top, to each owner.
pub fn forward(config: &Config, list: &ListConfig, raw: &[u8]) -> Vec<Outgoing> {
    let mut message = format!("{LOOP_HEADER}: {}\r\n", config.server.domain).into_bytes();
    message.extend_from_slice(raw);
    list.owners
        .iter()
        .map(|owner| {
            Outgoing::raw(
                format!("{}-bounces@{}", list.id, config.server.domain),
                owner.to_string(),
                &message,
            )
        })
        .collect()
}

/// The recipients a delivery status notification (RFC 3464) reports as failed.
///
/// Reads the `message/delivery-status` fields wherever they are: each per-recipient
/// block (separated by blank lines) with `Final-Recipient` (or `Original-Recipient`)
/// and `Action: failed` (or a `5.x.x` status) names one failed address.
pub fn failed_recipients(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<String> = Vec::new();
    for block in text.split("\r\n\r\n").flat_map(|b| b.split("\n\n")) {
        let mut recipient = None;
        let mut failed = false;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" | "original-recipient" if recipient.is_none() => {
                    let address = value.split_once(';').map_or(value, |(_, a)| a).trim();
                    recipient = Some(address.trim_matches(['<', '>']).to_owned());
                }
                "action" => failed |= value.eq_ignore_ascii_case("failed"),
                "status" => failed |= value.starts_with('5'),
                _ => {}
            }
        }
        if let (Some(r), true) = (recipient, failed)
            && !r.is_empty()
            && !out.contains(&r)
        {
            out.push(r);
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
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Confirm your subscription\r\n\r\n--B--\r\n";

    #[test]
    fn failed_recipients_of_a_dsn() {
        assert_eq!(
            failed_recipients(DSN.as_bytes()),
            ["gone.person@agency.gov"]
        );
        assert!(
            failed_recipients(b"From: x\r\nSubject: out of office\r\n\r\nI am away\r\n").is_empty()
        );
    }
}
