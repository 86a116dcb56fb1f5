//! `L-owner@`: mail for the list's owners, forwarded to each of them intact.

use super::{Decided, Silent, audit_line, sender_text};
use crate::actions::Error;
use crate::config::ListConfig;
use crate::context::Context;
use crate::inbound::Delivery;
use crate::limits::Budget;
use crate::message::Incoming;
use crate::owner;

/// `L-owner@`: the message, intact, to every owner (counted in the hourly total).
pub(super) fn forward_to_owners(
    ctx: &Context,
    list: &ListConfig,
    delivery: &Delivery<'_>,
    incoming: &Incoming,
    now: u64,
) -> Result<Decided, Error> {
    let mut mails = Vec::new();
    for (owner, mail) in list.owners.iter().zip(owner::forward(
        &ctx.config,
        &ctx.keys,
        list,
        delivery.raw,
        now,
    )) {
        match ctx.limiter.take(owner, Budget::Free, now)? {
            Ok(_) => mails.push(mail),
            Err(over) => audit_line(
                ctx,
                Some(list.id.as_str()),
                &owner.to_string(),
                "owner",
                over.as_str(),
                incoming,
                now,
            )?,
        }
    }
    audit_line(
        ctx,
        Some(list.id.as_str()),
        &sender_text(incoming, delivery),
        "owner",
        "forwarded",
        incoming,
        now,
    )?;
    if mails.is_empty() {
        return Ok(Decided::Silent(Silent::OverLimits));
    }
    Ok(Decided::Replies(mails, Some(list.id.to_string())))
}
