//! ARF complaint reports (RFC 5965), read (pure): a `multipart/report;
//! report-type=feedback-report` whose `message/feedback-report` part says what the
//! mailbox provider's user did (`Feedback-Type: abuse`: marked our mail as spam) and
//! whose `message/rfc822` (or `text/rfc822-headers`) part returns our mail. The
//! recipient comes from `Original-Rcpt-To` or `Removal-Recipient`, else from the
//! returned mail's `To`; many providers redact it there.

/// What one feedback report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Feedback {
    /// `Feedback-Type`, lower-cased (`abuse`, `fraud`, `not-spam`…; `unknown` when
    /// absent).
    pub(crate) kind: String,
    /// The addresses it names as the recipient, in the order above (at most a few).
    pub(crate) recipients: Vec<String>,
}

/// Recipients read from a report at most.
const MAX_RECIPIENTS: usize = 4;

/// The feedback report `raw` is, if it is one.
pub(crate) fn feedback(raw: &[u8]) -> Option<Feedback> {
    let text = String::from_utf8_lossy(raw);
    let lower = text.to_ascii_lowercase();
    if !lower.contains("report-type=feedback-report")
        && !lower.contains("report-type=\"feedback-report\"")
        && !lower.contains("message/feedback-report")
    {
        return None;
    }
    let mut kind = None;
    let mut named = Vec::new();
    let mut returned_to = None;
    let mut in_returned = false;
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "feedback-type" if kind.is_none() => kind = Some(value.to_ascii_lowercase()),
            "original-rcpt-to" | "removal-recipient" => named.extend(address_in(value)),
            "content-type" => {
                let v = value.to_ascii_lowercase();
                in_returned |= v.starts_with("message/rfc822") || v.starts_with("text/rfc822");
            }
            "to" if in_returned && returned_to.is_none() => returned_to = address_in(value),
            _ => {}
        }
    }
    named.extend(returned_to);
    named.dedup();
    named.truncate(MAX_RECIPIENTS);
    Some(Feedback {
        kind: kind.unwrap_or_else(|| "unknown".to_owned()),
        recipients: named,
    })
}

/// The address in a field's value: `<a@b>`, `rfc822; a@b`, `Name <a@b>` or `a@b`.
fn address_in(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, a)| a).trim();
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    let address = inner.trim();
    (address.contains('@') && !address.contains(char::is_whitespace)).then(|| address.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report in the shape Microsoft's JMRP and Yahoo's CFL send.
    pub(crate) const JMRP: &str = include_str!("../tests/data/arf-abuse.eml");

    #[test]
    fn an_abuse_report_names_its_kind_and_the_recipient() {
        let report = feedback(JMRP.as_bytes()).unwrap();
        assert_eq!(report.kind, "abuse");
        assert_eq!(report.recipients, ["spam.clicker@agency.gov"]);
    }

    #[test]
    fn a_redacted_report_falls_back_to_the_returned_to_and_a_dsn_is_none() {
        let redacted = JMRP.replace("Original-Rcpt-To: spam.clicker@agency.gov\r\n", "");
        let report = feedback(redacted.as_bytes()).unwrap();
        assert_eq!(report.recipients, ["spam.clicker@agency.gov"]);
        let hidden = redacted.replace("To: Spam Clicker <spam.clicker@agency.gov>", "To: redacted");
        assert!(feedback(hidden.as_bytes()).unwrap().recipients.is_empty());
        let dsn = "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nx";
        assert_eq!(feedback(dsn.as_bytes()), None);
    }

    proptest::proptest! {
        /// Any bytes: no panic.
        #[test]
        fn any_bytes(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut with = b"Content-Type: message/feedback-report\r\n".to_vec();
            with.extend(raw);
            let _ = feedback(&with);
        }
    }
}
