//! What we believe of the MTA's `Authentication-Results` (RFC 8601).
//!
//! Only a header added by our own border MTA (`[trust] authserv_id`) counts, and only
//! the topmost such one: an MTA prepends its header, so anything below it came with
//! the message and may be forged. The sender counts as authenticated when that header
//! shows `dkim=pass` with `header.d` equal to the sender's domain or a parent of it
//! (`header.i`'s domain when there is no `header.d`, as Gmail writes it), or
//! `spf=pass` with `smtp.mailfrom` in that domain. The header is read by `authres`,
//! which knows quoted strings and comments, so text inside them never counts.

mod authres;

use crate::address::EmailAddress;
use authres::{MethodResult, Value};

/// Whether the sender passed DKIM or SPF according to our authserv-id.
///
/// `headers` are the unfolded values, topmost first. When our topmost header cannot
/// be read, nothing below it is believed either.
pub fn authenticated(headers: &[String], authserv_id: Option<&str>, sender: &EmailAddress) -> bool {
    let Some(ours) = authserv_id else {
        return false;
    };
    let Some(header) = headers
        .iter()
        .find(|h| authres::authserv_id(h).is_some_and(|id| id.eq_ignore_ascii_case(ours)))
    else {
        return false;
    };
    let Ok(results) = authres::parse(header) else {
        return false;
    };
    let domain = sender.domain();
    results
        .iter()
        .filter(|r| r.result == "pass")
        .any(|r| match r.method.as_str() {
            "dkim" => dkim_aligned(r, domain),
            "spf" => only(r, "smtp.mailfrom").is_some_and(|v| aligned(domain, domain_of(v))),
            _ => false,
        })
}

/// `header.d` decides; `header.i`'s domain only when there is no `header.d`. A
/// verifier checks that `i=` is in `d=`'s domain (RFC 6376 §3.5), so `header.i` never
/// allows more than `header.d` would.
fn dkim_aligned(r: &MethodResult, domain: &str) -> bool {
    match count(r, "header.d") {
        0 => only(r, "header.i").is_some_and(|v| aligned(domain, domain_of(v))),
        _ => only(r, "header.d").is_some_and(|v| match v {
            Value::Text(d) => aligned(domain, d),
            _ => false,
        }),
    }
}

/// The property's value when it is there exactly once (twice is not what an MTA writes).
fn only<'a>(r: &'a MethodResult, key: &str) -> Option<&'a Value> {
    let mut values = r.props.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

fn count(r: &MethodResult, key: &str) -> usize {
    r.props.iter().filter(|(k, _)| k == key).count()
}

/// The domain in `local@domain`, `@domain` or `domain`; `""` for what is neither.
fn domain_of(v: &Value) -> &str {
    match v {
        Value::Address { domain, .. } => domain,
        Value::Text(t) => t.rsplit_once('@').map_or(t.as_str(), |(_, d)| d),
        Value::Irregular => "",
    }
}

/// The sender's domain is the authenticated one or below it.
fn aligned(sender_domain: &str, authenticated: &str) -> bool {
    let auth = authenticated
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    !auth.is_empty() && (sender_domain == auth || sender_domain.ends_with(&format!(".{auth}")))
}

#[cfg(test)]
mod tests;
