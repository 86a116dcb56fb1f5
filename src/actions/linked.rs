//! The actions of member links ([`crate::links`]): a one-click unsubscribe
//! (`/u/TOKEN`, RFC 8058) and the undo of a goodbye (`/undo/TOKEN`). The token is
//! the proof: it was made for this address and mailed only to it, so neither asks
//! for a confirmation. An undo still meets the list's rules and policy, as a
//! confirmed subscribe would (refused, or held for the owners).

use super::{Act, Joiner, Outcome, Result, Source, add_member, audit, hold, member, remove_member};
use crate::address::EmailAddress;
use crate::audit::Via;
use crate::config::ListConfig;
use crate::context::Context;
use crate::decision::{self, Join};
use crate::eligibility::{self, Evidence};
use crate::links::{self, Purpose};
use crate::token::Intent;

/// What a good link came to: its list, its address and the outcome.
pub(crate) type Done<'a> = (&'a ListConfig, EmailAddress, Outcome);

/// The list and address a link names, if it is good now and the list exists; read
/// only (the page before the button).
pub(crate) fn look<'a>(
    ctx: &'a Context,
    purpose: Purpose,
    token: &str,
    now: u64,
) -> Option<(&'a ListConfig, EmailAddress)> {
    let link = links::read(&ctx.keys, purpose, token, now)?;
    let list = ctx.config.list(&link.list)?;
    let address = EmailAddress::parse(&link.address).ok()?;
    Some((list, address))
}

/// `/u/TOKEN` POSTed: the member leaves at once, whatever the list's unsubscribe
/// policy (the token proves the address). `None` for a token that is not good;
/// nothing is then recorded.
pub(crate) fn leave<'a>(
    ctx: &'a Context,
    token: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Option<Done<'a>>> {
    let Some((list, address)) = look(ctx, Purpose::Leave, token, now) else {
        return Ok(None);
    };
    let outcome = remove_member(ctx, list, &address)?;
    audit(
        ctx,
        list,
        &address,
        Act::OneClick,
        &outcome,
        source.trail().via(Via::Token),
        now,
    )?;
    Ok(Some((list, address, outcome)))
}

/// `/undo/TOKEN` POSTed within its days: the address joins again without a
/// confirmation (it has just proved it), if the rules and policy let it: refused,
/// or held for the owners, as a confirmed subscribe would be.
pub(crate) fn undo<'a>(
    ctx: &'a Context,
    token: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Option<Done<'a>>> {
    let Some((list, address)) = look(ctx, Purpose::Undo, token, now) else {
        return Ok(None);
    };
    let is_member = member(ctx, list, &address)?;
    let verdict = eligibility::decide(&list.rules, &list.terms, &address, Evidence::default());
    let held_by = (verdict.action == eligibility::Ruling::Moderate)
        .then_some(verdict.rule)
        .flatten();
    let outcome = match decision::join(list, is_member, &verdict) {
        Join::AlreadyMember => Outcome::AlreadyMember,
        Join::Refused(reason) => Outcome::Refused { reason },
        Join::Add | Join::Confirm { hold: false } => {
            add_member(ctx, list, &address, joiner(&source), Via::Token, now)?
        }
        Join::Hold | Join::Confirm { hold: true } => {
            match hold(
                ctx,
                list,
                &address,
                joiner(&source),
                Intent::Subscribe,
                held_by,
                now,
            )? {
                Some(hold) => Outcome::Held(Some(hold)),
                None => Outcome::AlreadyHeld,
            }
        }
    };
    audit(
        ctx,
        list,
        &address,
        Act::Undo,
        &outcome,
        source.trail().via(Via::Token).rule(verdict.rule),
        now,
    )?;
    Ok(Some((list, address, outcome)))
}

/// Who an undo brings back: no name (the roster line is gone), the request their
/// undo came in.
fn joiner(source: &Source<'_>) -> Joiner {
    Joiner {
        request: source.request(),
        ..Joiner::default()
    }
}
