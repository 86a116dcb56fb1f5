//! `L-bounces@`: delivery reports about the mail we sent, read and never answered.

use super::audit_line;
use crate::actions::Error;
use crate::actions::{self, Source};
use crate::address::EmailAddress;
use crate::config::ListConfig;
use crate::context::Context;
use crate::message::{self, Incoming};
use crate::owner::{self, Failed};
use crate::verp;

/// A delivery report's failed recipients read at most (the rest: one audit line).
const MAX_REPORTED: usize = 50;
/// A delivery report's returned Message-IDs of ours tried at most.
const MAX_RETURNED_IDS: usize = 4;

/// `L-bounces@`: a failed confirmation cancels its pending request; a member's bounce
/// (a welcome, say) raises their score. Returns the members the report made nomail
/// (their owners are told). Only a report about mail we sent counts: its bounce
/// tag (from `L-bounces+TAG@`, or in the Message-ID the report returns) must have been
/// made for the address it reports. Anything else is recorded and ignored.
pub(super) fn bounces(
    ctx: &Context,
    list: &ListConfig,
    tag: Option<&str>,
    raw: &[u8],
    incoming: &Incoming,
    now: u64,
) -> Result<Vec<EmailAddress>, Error> {
    let note = |address: &str, outcome: &str| {
        audit_line(
            ctx,
            Some(list.id.as_str()),
            address,
            "bounce",
            outcome,
            incoming,
            now,
        )
    };
    let mut failed = owner::failed_recipients(raw);
    if failed.is_empty() {
        note("", "unreadable")?;
        return Ok(Vec::new());
    }
    // Anyone may mail this address: bounded work and audit lines per report, however
    // many recipients and Message-IDs it names (a real report names a few).
    if failed.len() > MAX_REPORTED {
        note(
            "",
            &format!(
                "ignored-beyond-{MAX_REPORTED}:{}",
                failed.len() - MAX_REPORTED
            ),
        )?;
        failed.truncate(MAX_REPORTED);
    }
    let tags = tags_of(tag, raw, &ctx.config.server.domain);
    let source = Source::Mail {
        message_id: incoming.message_id.as_deref(),
        authenticated: false,
    };
    let mut nomail = Vec::new();
    for report in failed {
        match ours(ctx, list, &report, &tags, now) {
            Ok(address) => {
                let kind =
                    crate::bounce::classify(report.status.as_deref(), report.diagnostic.as_deref());
                let outcome = actions::bounced(ctx, list, &address, kind, source, now)?;
                if outcome == actions::Outcome::NomailForBounces {
                    nomail.push(address);
                }
            }
            Err(outcome) => note(&message::clean(&report.address), outcome)?,
        }
    }
    Ok(nomail)
}

/// What the owners are told of the members a report made nomail: one mail each,
/// free of the per-address budgets (bounded by the hourly total).
pub(super) fn tell_owners(
    ctx: &Context,
    list: &ListConfig,
    nomail: &[EmailAddress],
    incoming: &Incoming,
    now: u64,
) -> Result<Vec<crate::records::Outgoing>, Error> {
    let mut replies = crate::replies::Replies::default();
    let notice = actions::table::owners_bounced(list);
    for address in nomail {
        for owner in &list.owners {
            let draft = replies.tell(&ctx.config, owner, list, &address.to_string(), &notice);
            draft.free = true;
        }
    }
    Ok(replies
        .finish(ctx, incoming.message_id.as_deref(), now)?
        .mails)
}

/// The bounce tags a report carries: its recipient's (`L-bounces+TAG@`), then
/// those in the Message-IDs of ours it returns (a few at most).
fn tags_of(tag: Option<&str>, raw: &[u8], domain: &str) -> Vec<String> {
    let returned = owner::returned_message_ids(raw);
    let from_ids = (returned.iter())
        .filter_map(|id| verp::tag_of_message_id(id, domain))
        .take(MAX_RETURNED_IDS)
        .map(str::to_owned);
    tag.map(str::to_owned).into_iter().chain(from_ids).collect()
}

/// The address a failed recipient names, when one of `tags` was made for it on
/// this list (mail we sent it); else the audit outcome that says why not.
fn ours(
    ctx: &Context,
    list: &ListConfig,
    report: &Failed,
    tags: &[String],
    now: u64,
) -> Result<EmailAddress, &'static str> {
    let written = [Some(&report.address), report.original.as_ref()];
    let addresses: Vec<EmailAddress> = (written.into_iter().flatten())
        .filter_map(|a| EmailAddress::parse(a).ok())
        .collect();
    if addresses.is_empty() {
        return Err("bad-address");
    }
    let made_for = |a: &EmailAddress| {
        let key = a.key();
        (tags.iter()).any(|t| verp::verify(&ctx.keys, t, list.id.as_str(), &key, now))
    };
    // Not about mail we sent to that address: a forgery, or a report too mangled to
    // tell. Recorded, nothing changed.
    addresses.into_iter().find(made_for).ok_or("unverified")
}
