//! Across lists: `SIGNOFF *` and `QUERY *`, one request about every list on this
//! server an address is on.
//!
//! `SIGNOFF *` is one pending request ([`Intent::LeaveAll`]) kept on the first list
//! (by id) the address is on, so its token and its `L-confirm+TOKEN@` address are
//! those of a list; its confirmation removes the address from every list it is on
//! then (a list joined meanwhile included), each removal audited as `confirm` /
//! `removed` on its list. Mail only: a web page's visitor gets "unknown", as the
//! mail has no link.

use super::{Confirmed, Joiner, Outcome, Redeemed, Result, Source, audit, pend, remove_member};
use crate::actions::Act;
use crate::address::EmailAddress;
use crate::config::ListConfig;
use crate::context::Context;
use crate::token::Intent;

/// What `SIGNOFF *` came to.
#[derive(Debug)]
pub(crate) enum LeaveAll<'a> {
    /// The address is on no list: nothing to confirm.
    NotOnAny,
    /// A confirmation is to be sent with this token, from `list` (the record's).
    ConfirmationSent {
        /// The list the record is kept on.
        list: &'a ListConfig,
        /// The token the reply carries.
        token: String,
        /// The lists the address is on now.
        lists: Vec<&'a ListConfig>,
    },
    /// Pending already, and sent as often today as the budget allows.
    NotResent,
}

/// The lists of this server `address` is on, by id.
pub(crate) fn lists_of<'a>(
    ctx: &Context,
    lists: impl IntoIterator<Item = &'a ListConfig>,
    address: &EmailAddress,
) -> Result<Vec<&'a ListConfig>> {
    let mut on = Vec::new();
    for list in lists {
        if super::member(ctx, list, address)? {
            on.push(list);
        }
    }
    Ok(on)
}

/// `SIGNOFF *`: one confirmation for leaving every list `address` is on (of `all`).
pub(crate) fn leave_all<'a>(
    ctx: &Context,
    all: impl IntoIterator<Item = &'a ListConfig>,
    address: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<LeaveAll<'a>> {
    let lists = lists_of(ctx, all, address)?;
    let Some(&first) = lists.first() else {
        return Ok(LeaveAll::NotOnAny);
    };
    let outcome = pend(
        ctx,
        first,
        address,
        Joiner::default(),
        Intent::LeaveAll,
        Confirmed::Act,
        now,
    )?;
    for &list in &lists {
        audit(
            ctx,
            list,
            address,
            Act::LeaveAll,
            &outcome,
            source.trail(),
            now,
        )?;
    }
    Ok(match outcome {
        Outcome::ConfirmationSent { token } => LeaveAll::ConfirmationSent {
            list: first,
            token,
            lists,
        },
        _ => LeaveAll::NotResent,
    })
}

/// The confirmation of a `SIGNOFF *` (its record `id`, on `list`): the address
/// leaves every list of this server it is on, and the token is used up.
pub(super) fn confirm_leave_all<'a>(
    ctx: &Context,
    list: &'a ListConfig,
    address: EmailAddress,
    id: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    let mut left = Vec::new();
    for on in ctx.config.lists.values() {
        if remove_member(ctx, on, &address)? == Outcome::Removed {
            audit(
                ctx,
                on,
                &address,
                Act::Confirm,
                &Outcome::Removed,
                source.token_trail(),
                now,
            )?;
            left.push(on.id.clone());
        }
    }
    ctx.pending.remove(list.id.as_str(), id)?;
    Ok(Redeemed::LeftAll {
        list,
        address,
        left,
    })
}
