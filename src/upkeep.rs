//! Upkeep that no request asks for: requests whose time ran out leave the state,
//! each with an audit line (and, on a `notify = "each"` list, a mail to the owners),
//! and members whose nomail `until` came get mail again, each with an audit line;
//! members nomail for bounces get their re-enable notices, then are removed.
//! The daemon runs it every few minutes, with the owners' summaries
//! ([`crate::notify`]); `pending` runs it before it lists.

use crate::actions::{self, Due, table};
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::commit::commit;
use crate::config::ListConfig;
use crate::context::Context;
use crate::records::{Batch, Score};
use crate::replies::Replies;
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
                // A lapsed change of mode (a member's SET, a re-enable notice's
                // token) is no join or leave: the owners are not told of it.
                if record.action != token::Intent::SetMode {
                    lapsed.push((list, record.address, action == "moderate"));
                }
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

/// Members nomail for bounces: the re-enable notices that are due (each within the
/// `[limits]`, like any mail to an address) and, after the last, the removals, each
/// owner told. Each mail is its own commit. Returns the batches queued.
pub fn bounce_notices(ctx: &Context, now: u64) -> io::Result<Vec<Batch>> {
    let mut queued = Vec::new();
    for list in ctx.config.lists.values() {
        let disabled = crate::actions::disabled(ctx, list).map_err(io::Error::other)?;
        for (address, score) in disabled {
            let due = actions::next_step(ctx, list, &address, &score, now);
            let batch = match due.map_err(io::Error::other)? {
                Due::Wait => None,
                Due::Notice { token, number } => {
                    notice(ctx, list, &address, &score, &token, number, now)?
                }
                Due::Remove => removal(ctx, list, &address, score.notices, now)?,
            };
            queued.extend(batch);
        }
    }
    ctx.sync()?;
    Ok(queued)
}

/// Notice `number` to `address`, recorded as sent when the limits let it out.
fn notice(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    score: &Score,
    token: &str,
    number: u32,
    now: u64,
) -> io::Result<Option<Batch>> {
    let mut notice = table::reenable(&ctx.config, list, token, number, now);
    notice.lang = ctx
        .roster(list)
        .ok()
        .and_then(|r| r.get(address).ok().flatten())
        .and_then(|m| m.lang);
    let mut replies = Replies::default();
    replies.tell(&ctx.config, address, list, &address.to_string(), &notice);
    let done = replies.finish(ctx, None, now).map_err(io::Error::other)?;
    if done.mails.is_empty() {
        return Ok(None);
    }
    actions::noticed(ctx, list, address, score, number, now).map_err(io::Error::other)?;
    let key = format!("bounce-notice/{}/{}/{number}", list.id, address.key());
    commit(ctx, key, done.list, done.mails, now)
}

/// Removes `address` after `notices` unanswered notices; each owner is told.
fn removal(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    notices: u32,
    now: u64,
) -> io::Result<Option<Batch>> {
    let outcome = actions::remove_bounced(ctx, list, address, now).map_err(io::Error::other)?;
    if outcome != actions::Outcome::RemovedForBounces {
        return Ok(None);
    }
    let told = table::owners_removed_bounces(list, notices);
    let mut replies = Replies::default();
    for owner in &list.owners {
        replies
            .tell(&ctx.config, owner, list, &address.to_string(), &told)
            .free = true;
    }
    let done = replies.finish(ctx, None, now).map_err(io::Error::other)?;
    let key = format!("bounce-removed/{}/{}/{now}", list.id, address.key());
    commit(ctx, key, done.list, done.mails, now)
}
