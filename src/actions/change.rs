//! `CHANGE [LIST|*] new@address`: a member's line moves to a new address.
//!
//! The request is checked against each list's rules for the new address at once (a
//! refusal mails nothing to the new address), then waits as one pending request
//! ([`Intent::Change`], or [`Intent::ChangeAll`] for `*`) whose record names the
//! NEW address (the token is mailed there and proves it) and, in `from`, the old
//! one; for `*` it is kept on the first list the old address is on. Its
//! confirmation checks the rules again (they may have changed), then on each list
//! moves the line: the old address removed and the new one added in the same
//! commit, keeping name, `since`, mode and consent fields. A list whose rules now
//! refuse the new address (or send it to the owners) keeps the old line. Mail only.

use super::{Confirmed, Joiner, Outcome, Redeemed, Result, Source, across, pend};
use crate::actions::Act;
use crate::address::EmailAddress;
use crate::audit::Record;
use crate::config::{ListConfig, ListId};
use crate::context::Context;
use crate::eligibility::{self, Evidence, Ruling};
use crate::roster::Change as RosterChange;
use crate::token::Intent;

/// What a `CHANGE` request came to.
#[derive(Debug)]
pub(crate) enum Asked<'a> {
    /// The old address is on none of the lists named.
    NotMember,
    /// The rules of these lists refuse the new address (with their reasons): nothing
    /// is pending, nothing is mailed to the new address.
    Refused(Vec<(&'a ListConfig, String)>),
    /// A confirmation is to be mailed to the new address with this token.
    ConfirmationSent {
        /// The list the record is kept on.
        list: &'a ListConfig,
        /// The token.
        token: String,
        /// The lists whose line would move.
        lists: Vec<&'a ListConfig>,
    },
    /// Pending already and sent as often today as the budget allows.
    NotResent,
}

/// Why `list` refuses `to` for a move, if it does: a reject, or a rule that
/// sends it to the owners (a move is no subscription request).
fn refusal(list: &ListConfig, to: &EmailAddress, source: &Source<'_>) -> Option<String> {
    let authenticated = matches!(
        source,
        Source::Mail {
            authenticated: true,
            ..
        }
    );
    let verdict = eligibility::decide(&list.rules, &list.terms, to, Evidence { authenticated });
    match verdict.action {
        Ruling::Allow => None,
        Ruling::Reject => Some(verdict.reason.unwrap_or_else(|| list.terms.clone())),
        Ruling::Moderate => Some(
            "the owners approve that address: subscribe it instead, then leave with the old one"
                .to_owned(),
        ),
    }
}

/// `CHANGE`: `from` asks to move its line on `lists` (one list, or `all` of them
/// it is on) to `to`.
pub(crate) fn ask<'a>(
    ctx: &Context,
    lists: Vec<&'a ListConfig>,
    all: bool,
    from: &EmailAddress,
    to: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<Asked<'a>> {
    let on = across::lists_of(ctx, lists, from)?;
    let Some(&first) = on.first() else {
        return Ok(Asked::NotMember);
    };
    let refused: Vec<_> = (on.iter())
        .filter_map(|&l| refusal(l, to, &source).map(|r| (l, r)))
        .collect();
    if !refused.is_empty() {
        for (list, _) in &refused {
            line(ctx, list, from, "refused", &source, now)?;
        }
        return Ok(Asked::Refused(refused));
    }
    let intent = if all {
        Intent::ChangeAll
    } else {
        Intent::Change
    };
    let who = Joiner {
        from: Some(from.to_string()),
        ..Joiner::default()
    };
    let outcome = pend(ctx, first, to, who, intent, Confirmed::Act, now)?;
    for &list in &on {
        line(ctx, list, from, outcome.word(), &source, now)?;
    }
    Ok(match outcome {
        Outcome::ConfirmationSent { token } => Asked::ConfirmationSent {
            list: first,
            token,
            lists: on,
        },
        _ => Asked::NotResent,
    })
}

/// The confirmation of a `CHANGE` (its record `id` on `list`):
/// each line moves, or stays where the rules now refuse `to`.
pub(super) fn confirm<'a>(
    ctx: &Context,
    list: &'a ListConfig,
    record: &crate::token::Pending,
    to: EmailAddress,
    id: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    let from = EmailAddress::parse(record.from.as_deref().unwrap_or_default())?;
    let scope: Vec<&ListConfig> = match record.action {
        Intent::ChangeAll => ctx.config.lists.values().collect(),
        _ => ctx.config.lists.get(&list.id).into_iter().collect(),
    };
    let (mut moved, mut refused) = (Vec::new(), Vec::new());
    for on in across::lists_of(ctx, scope, &from)? {
        if let Some(reason) = refusal(on, &to, &source) {
            line(ctx, on, &from, "refused", &source, now)?;
            refused.push((on.id.clone(), reason));
            continue;
        }
        move_line(ctx, on, &from, &to)?;
        line(ctx, on, &from, "moved-from", &source, now)?;
        line(ctx, on, &to, "moved-to", &source, now)?;
        moved.push(on.id.clone());
    }
    ctx.pending.remove(list.id.as_str(), id)?;
    Ok(Redeemed::Changed {
        list,
        from,
        to,
        moved,
        refused,
    })
}

/// The member line of `from` on `list`, now under `to` (kept as it is when `to`
/// is a member already): one removal and one add, in the same commit.
fn move_line(
    ctx: &Context,
    list: &ListConfig,
    from: &EmailAddress,
    to: &EmailAddress,
) -> Result<()> {
    let roster = ctx.roster(list)?;
    let Some(mut member) = roster.get(from)? else {
        return Ok(());
    };
    member.address = to.clone();
    roster.apply(RosterChange::Remove(from.clone()))?;
    roster.apply(RosterChange::Add(member))?;
    Ok(())
}

/// A `change` audit line about `address` on `list`.
fn line(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    outcome: &str,
    source: &Source<'_>,
    now: u64,
) -> Result<()> {
    let shown = address.to_string();
    Ok(ctx.audit.write(&Record {
        message_id: source.message_id(),
        client: source.client(),
        ..Record::new(
            list.id.as_str(),
            &shown,
            Act::Change.word(),
            outcome,
            source.via(),
            now,
        )
    })?)
}

/// The ids of lists, for a reply.
pub(crate) fn names<'a>(ctx: &'a Context, ids: &[ListId]) -> Vec<&'a ListConfig> {
    ids.iter()
        .filter_map(|id| ctx.config.lists.get(id))
        .collect()
}
