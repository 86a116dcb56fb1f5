//! What we believe of the MTA's `Authentication-Results` (RFC 8601).
//!
//! Only a header added by our own border MTA (`[trust] authserv_id`) counts, and only
//! the topmost such one: an MTA prepends its header, so anything below it came with
//! the message and may be forged. The sender counts as authenticated when that header
//! shows `dkim=pass` with `header.d` equal to the sender's domain or a parent of it,
//! or `spf=pass` with `smtp.mailfrom` in that domain.

use crate::address::EmailAddress;

/// Whether the sender passed DKIM or SPF according to our authserv-id.
pub fn authenticated(headers: &[String], authserv_id: Option<&str>, sender: &EmailAddress) -> bool {
    let Some(ours) = authserv_id else {
        return false;
    };
    let Some(header) = headers
        .iter()
        .find(|h| authserv_of(h).is_some_and(|id| id.eq_ignore_ascii_case(ours)))
    else {
        return false;
    };
    let domain = sender.domain();
    results(header).any(|r| match r.method.as_str() {
        "dkim" => {
            r.pass
                && r.props
                    .iter()
                    .any(|(k, v)| k == "header.d" && aligned(domain, v))
        }
        "spf" => {
            r.pass
                && r.props.iter().any(|(k, v)| {
                    k == "smtp.mailfrom"
                        && aligned(domain, v.rsplit_once('@').map_or(v.as_str(), |(_, d)| d))
                })
        }
        _ => false,
    })
}

/// The sender's domain is the authenticated one or below it.
fn aligned(sender_domain: &str, authenticated: &str) -> bool {
    let auth = authenticated
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    !auth.is_empty() && (sender_domain == auth || sender_domain.ends_with(&format!(".{auth}")))
}

/// The authserv-id: the first token, before the first `;`.
fn authserv_of(header: &str) -> Option<&str> {
    header.split(';').next()?.split_whitespace().next()
}

struct MethodResult {
    method: String,
    pass: bool,
    props: Vec<(String, String)>,
}

/// `method=result prop=value …` clauses after the authserv-id.
fn results(header: &str) -> impl Iterator<Item = MethodResult> + '_ {
    header.split(';').skip(1).filter_map(|clause| {
        let clause = remove_comments(clause);
        let mut words = clause.split_whitespace();
        let (method, result) = words.next()?.split_once('=')?;
        let props = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()))
            .collect();
        Some(MethodResult {
            method: method.to_ascii_lowercase(),
            pass: result.eq_ignore_ascii_case("pass"),
            props,
        })
    })
}

/// Drops `(comments)`, which RFC 8601 allows almost anywhere.
fn remove_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> EmailAddress {
        EmailAddress::parse("jane@agency.gov").unwrap()
    }

    fn check(headers: &[&str]) -> bool {
        let headers: Vec<String> = headers.iter().map(|s| (*s).to_owned()).collect();
        authenticated(&headers, Some("mx.example.gov"), &sender())
    }

    #[test]
    fn our_topmost_header_decides() {
        assert!(check(&[
            "mx.example.gov; dkim=pass header.d=agency.gov header.s=sel"
        ]));
        assert!(check(&[
            "mx.example.gov; spf=pass smtp.mailfrom=bounce@agency.gov"
        ]));
        assert!(check(&[
            "mx.example.gov (our MX); dkim=pass (good) header.d=Agency.GOV"
        ]));
        assert!(
            check(&["mx.example.gov 1; spf=pass smtp.mailfrom=agency.gov"]),
            "a version number is allowed"
        );
    }

    #[test]
    fn what_does_not_count() {
        // From another host.
        assert!(!check(&["mx.evil.example; dkim=pass header.d=agency.gov"]));
        // For another domain.
        assert!(!check(&["mx.example.gov; dkim=pass header.d=evil.com"]));
        assert!(!check(&[
            "mx.example.gov; dkim=fail header.d=agency.gov; spf=softfail smtp.mailfrom=agency.gov"
        ]));
        // Ours says fail; a forged "pass" below ours is ignored.
        assert!(!check(&[
            "mx.example.gov; dkim=fail header.d=agency.gov",
            "mx.example.gov; dkim=pass header.d=agency.gov",
        ]));
        // Two headers: only the topmost of ours counts, wherever others stand.
        assert!(check(&[
            "other.host; dkim=fail header.d=agency.gov",
            "mx.example.gov; dkim=pass header.d=agency.gov",
        ]));
        // No authserv_id configured: nothing is believed.
        let headers = vec!["mx.example.gov; dkim=pass header.d=agency.gov".to_owned()];
        assert!(!authenticated(&headers, None, &sender()));
    }

    #[test]
    fn subdomains_align_with_their_parent() {
        let sub = EmailAddress::parse("a@mail.agency.gov").unwrap();
        let headers = vec!["mx.example.gov; dkim=pass header.d=agency.gov".to_owned()];
        assert!(authenticated(&headers, Some("mx.example.gov"), &sub));
        let headers = vec!["mx.example.gov; dkim=pass header.d=mail.agency.gov".to_owned()];
        assert!(
            !authenticated(&headers, Some("mx.example.gov"), &sender()),
            "a subdomain's pass does not cover the parent"
        );
    }
}
