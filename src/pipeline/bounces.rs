//! `L-bounces@`: delivery reports about the mail we sent, read and never answered.

use super::audit_line;
use crate::address::EmailAddress;
use crate::config::ListConfig;
use crate::context::Context;
use crate::message::{self, Incoming};
use crate::owner;
use crate::token::{self, Action};
use crate::verp;
use std::io;

/// A delivery report's failed recipients read at most (the rest: one audit line).
const MAX_REPORTED: usize = 50;
/// A delivery report's returned Message-IDs of ours tried at most.
const MAX_RETURNED_IDS: usize = 4;

/// `L-bounces@`: a failed confirmation cancels its pending request; a member's bounce
/// (a welcome, say) is recorded. Only a report about mail we sent counts: its bounce
/// tag (from `L-bounces+TAG@`, or in the Message-ID the report returns) must have been
/// made for the address it reports. Anything else is recorded and ignored.
pub(super) fn bounces(
    ctx: &Context,
    list: &ListConfig,
    tag: Option<&str>,
    raw: &[u8],
    incoming: &Incoming,
    now: u64,
) -> io::Result<()> {
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
        return note("", "unreadable");
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
    let domain = &ctx.config.server.domain;
    let returned = owner::returned_message_ids(raw);
    let tags: Vec<&str> = tag
        .into_iter()
        .chain(
            returned
                .iter()
                .filter_map(|id| verp::tag_of_message_id(id, domain))
                .take(MAX_RETURNED_IDS),
        )
        .collect();
    for report in failed {
        let written = [Some(&report.address), report.original.as_ref()];
        let addresses: Vec<EmailAddress> = written
            .into_iter()
            .flatten()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        if addresses.is_empty() {
            note(&message::clean(&report.address), "bad-address")?;
            continue;
        }
        let ours = addresses.into_iter().find(|a| {
            let key = a.key();
            tags.iter()
                .any(|t| verp::verify(&ctx.keys, t, list.id.as_str(), &key, now))
        });
        let Some(address) = ours else {
            // Not about mail we sent to that address: a forgery, or a report too
            // mangled to tell. Recorded, nothing changed.
            note(&message::clean(&report.address), "unverified")?;
            continue;
        };
        let key = address.key();
        let mut cancelled = false;
        for action in [Action::Subscribe, Action::Unsubscribe] {
            let id = token::pending_id(list.id.as_str(), &key, action);
            if ctx.pending.get(list.id.as_str(), &id)?.is_some() {
                ctx.pending.remove(list.id.as_str(), &id)?;
                cancelled = true;
            }
        }
        let outcome = if cancelled {
            "pending-cancelled"
        } else if ctx
            .roster(list)?
            .contains(&address)
            .map_err(io::Error::other)?
        {
            "member-bounced"
        } else {
            "unknown-address"
        };
        note(&address.to_string(), outcome)?;
    }
    Ok(())
}
