//! Erasure: all the server holds on one address goes, but a keyed hash.
//!
//! `listkeeper erase ADDR` calls [`erase`] at once; a member's `ERASE` by mail is a
//! pending request ([`Intent::Erase`], kept on one list) whose confirmation calls
//! it. The address leaves every roster, its requests are cancelled, and then the
//! state log, the audit log (and its rotation) and `limits.log` are rewritten
//! without it: state lines that name it are left out, audit lines keep the hash in
//! its place. The hash goes into the suppression list (`erased.list`), so an owner's
//! or an admin's add cannot bring the address back silently.
//!
//! The one action that syncs itself: the removals must be durable, and the rosters
//! saved, before the lines recording them are left out of the state log.

use super::{Act, Confirmed, Joiner, Outcome, Result, Source, audit, pend, remove_member};
use crate::address::EmailAddress;
use crate::audit::Record;
use crate::config::ListConfig;
use crate::context::Context;
use crate::token::{self, Intent};
use std::io;

/// What an erasure came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erased {
    /// The keyed hash that now stands for the address (`erased:KID:HEX`).
    pub(crate) hash: String,
    /// How many rosters it was on.
    pub(crate) left: usize,
    /// How many pending or held requests were cancelled.
    pub(crate) cancelled: usize,
    /// How many live state lines were left out.
    pub(crate) state_lines: usize,
}

/// `ERASE`: a confirmation is mailed to `address` (the record is kept on `list`).
pub(crate) fn request(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<Outcome> {
    let who = Joiner::default();
    let outcome = pend(ctx, list, address, who, Intent::Erase, Confirmed::Act, now)?;
    audit(
        ctx,
        list,
        address,
        Act::Erase,
        &outcome,
        source.trail(),
        now,
    )?;
    Ok(outcome)
}

/// Everything on `address` erased (see the module's words); `source` says who asked
/// (an admin, or the address by its token).
pub(crate) fn erase(
    ctx: &Context,
    address: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<Erased> {
    let key = address.key();
    let hash = crate::erased::hash(&ctx.keys, address)
        .ok_or_else(|| io::Error::other("the token keys have no current key"))?;
    let (left, cancelled) = forget(ctx, address, source, now)?;
    // Durable and in the roster files before the lines saying so are left out.
    ctx.sync()?;
    ctx.save_rosters()?;
    let state_lines = ctx.state().scrub(|text| names(text, &key))?;
    ctx.audit
        .rewrite(|text| names(text, &key).then(|| replaced(text, &key, &hash)))?;
    ctx.limiter.forget(&key)?;
    suppress(ctx, address, &hash)?;
    let via = source.via_token();
    (ctx.audit).record(&Record::new("*", &hash, "erase", "erased", via, now))?;
    Ok(Erased {
        hash,
        left,
        cancelled,
        state_lines,
    })
}

/// Off every roster (each removal audited), every request cancelled (also a
/// `CHANGE` from it); returns how many of each.
fn forget(
    ctx: &Context,
    address: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<(usize, usize)> {
    let key = address.key();
    let (mut left, mut cancelled) = (0, 0);
    for list in ctx.config.lists.values() {
        if remove_member(ctx, list, address)? == Outcome::Removed {
            let outcome = Outcome::Removed;
            audit(
                ctx,
                list,
                address,
                Act::Erase,
                &outcome,
                source.token_trail(),
                now,
            )?;
            left += 1;
        }
        for store in [&ctx.pending, &ctx.held] {
            for p in store.all(list.id.as_str())? {
                // A hand-edited record that does not read is someone else's.
                let Ok(of) = EmailAddress::parse(&p.address) else {
                    continue;
                };
                if of.key() == key || p.from.as_deref().is_some_and(|f| names(f, &key)) {
                    let id = token::pending_id(list.id.as_str(), &of.key(), p.action);
                    store.remove(list.id.as_str(), &id)?;
                    cancelled += 1;
                }
            }
        }
    }
    Ok((left, cancelled))
}

/// The hash into the suppression list (once), on disk before this returns.
fn suppress(ctx: &Context, address: &EmailAddress, hash: &str) -> io::Result<()> {
    let dir = &ctx.config.server.state_dir;
    if crate::erased::is_erased(dir, &ctx.keys, address)? {
        return Ok(());
    }
    let path = dir.join(crate::erased::FILE);
    let mut file = crate::fsio::open_append(&path)?;
    crate::fsio::append(&mut file, format!("{hash}\n").as_bytes())?;
    file.sync_data().map_err(crate::fsio::at(&path))
}

/// Where `text` mentions the address `key` (any case), as byte ranges: the key
/// whole, not inside a longer address (`jo@x.gov` is not in `bojo@x.gov` or
/// `jo@x.gov.uk`).
fn mentions(text: &str, key: &str) -> Vec<std::ops::Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    // RFC 5322's atext and the dot, before; a domain's letters, digits and inner
    // dots and hyphens, after.
    let local = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b);
    let domain = |at: usize| match bytes.get(at) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'-' => true,
        Some(b'.') => bytes.get(at + 1).is_some_and(u8::is_ascii_alphanumeric),
        _ => false,
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(key) {
        let (start, end) = (from + found, from + found + key.len());
        let before = start.checked_sub(1).map(|i| bytes[i]);
        if !before.is_some_and(local) && !domain(end) {
            out.push(start..end);
        }
        from = start + 1;
    }
    out
}

/// Whether `text` mentions the address `key`.
pub(crate) fn names(text: &str, key: &str) -> bool {
    !key.is_empty() && !mentions(text, key).is_empty()
}

/// `text` with every mention of the address `key` replaced by `hash`.
fn replaced(text: &str, key: &str, hash: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in mentions(text, key) {
        out.push_str(&text[at..range.start]);
        out.push_str(hash);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mention_is_replaced_whatever_its_case() {
        let line = r#"{"address":"Jane.Doe@agency.gov","by":"x","note":"<jane.doe@agency.gov>"}"#;
        let out = replaced(line, "jane.doe@agency.gov", "erased:k1:ab");
        assert_eq!(
            out,
            r#"{"address":"erased:k1:ab","by":"x","note":"<erased:k1:ab>"}"#
        );
        assert!(names(line, "jane.doe@agency.gov"));
        assert!(!names(&out, "jane.doe@agency.gov"));
    }

    #[test]
    fn a_longer_address_that_contains_it_is_someone_else() {
        let key = "jo@x.gov";
        for other in [
            "bojo@x.gov",
            "a.jo@x.gov",
            "jo@x.gov.uk",
            "jo@x.govt",
            "jo@x.gov-2",
        ] {
            let line = format!(r#"{{"address":"{other}"}}"#);
            assert!(!names(&line, key), "{other}");
            assert_eq!(replaced(&line, key, "H"), line);
        }
        // At the end of a sentence, or of the text, it is still the address.
        assert!(names("mail to jo@x.gov.", key));
        assert!(names("jo@x.gov", key));
        assert_eq!(replaced("jo@x.gov, JO@X.GOV", key, "H"), "H, H");
    }
}
