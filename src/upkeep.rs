//! Upkeep that no request asks for: requests whose time ran out leave the state,
//! each with an audit line (and, on a `notify = "each"` list, a mail to the owners),
//! and members whose nomail `until` came get mail again, each with an audit line.
//! The daemon runs it every few minutes, with the owners' summaries
//! ([`crate::notify`]); `pending` runs it before it lists.

use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::context::Context;
use crate::token;
use std::io;

/// Removes expired confirmations and held requests, each with an audit line.
/// Returns how many were removed.
pub fn sweep_expired(ctx: &Context, now: u64) -> io::Result<usize> {
    let mut removed = 0;
    let mut lapsed = Vec::new();
    for list in ctx.config.lists.values() {
        for (store, action) in [(&ctx.pending, "confirm"), (&ctx.held, "moderate")] {
            for record in store.all(list.id.as_str())? {
                if record.expires >= now {
                    continue;
                }
                let Ok(address) = EmailAddress::parse(&record.address) else {
                    continue;
                };
                store.remove(
                    list.id.as_str(),
                    &token::pending_id(list.id.as_str(), &address.key(), record.action),
                )?;
                ctx.audit.record(&Record {
                    rule: record.rule,
                    ..Record::new(
                        list.id.as_str(),
                        &record.address,
                        action,
                        "expired",
                        Via::Email,
                        now,
                    )
                })?;
                removed += 1;
                lapsed.push((list, record.address, action == "moderate"));
            }
        }
    }
    crate::notify::lapsed(ctx, &lapsed, now)?;
    ctx.sync()?;
    Ok(removed)
}

/// Turns every member whose nomail `until` has come (at 00:00 UTC of that day) back
/// to mail: a roster change through the state log and an audit line each, made
/// durable here. A list whose roster cannot be read is skipped with a warning (the
/// next run tries again). Returns how many members resumed.
pub(crate) fn resume_lapsed(ctx: &Context, now: u64) -> io::Result<usize> {
    let mut resumed = 0;
    for list in ctx.config.lists.values() {
        match crate::actions::resume_lapsed(ctx, list, now) {
            Ok(n) => resumed += n,
            Err(e) => {
                tracing::warn!(list = %list.id, error = %e, "cannot resume lapsed nomail members")
            }
        }
    }
    if resumed > 0 {
        ctx.sync()?;
    }
    Ok(resumed)
}
