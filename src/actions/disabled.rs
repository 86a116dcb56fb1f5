//! Members made nomail for bounces (`why = "bounces"`): upkeep mails each up to
//! `[bounce] warnings` re-enable notices, `warn_every` apart, each carrying a
//! confirmation token that sets the member back to mail (a pending mode change);
//! after the last with no answer the member is removed and the owners told. The
//! notices sent are kept in the member's score in `state.log`, so a restart neither
//! repeats nor skips one. A member who came back, or left, or whose line an admin
//! changed, is forgotten here.

use super::{Act, Confirmed, Joiner, Outcome, Result, Trail, audit, pend, remove_member};
use crate::address::EmailAddress;
use crate::audit::Via;
use crate::config::ListConfig;
use crate::context::Context;
use crate::records::{Score, Setting, Why};
use crate::statelog::Line;
use crate::token::Intent;

/// What upkeep does now for one member nomail for bounces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Due {
    /// Nothing yet: the next notice (or the removal) is later.
    Wait,
    /// Notice `number` with the re-enable `token`.
    Notice {
        /// The confirmation token (a pending change to mail).
        token: String,
        /// Which notice this is (1 for the first).
        number: u32,
    },
    /// Every notice went unanswered: remove the member.
    Remove,
}

/// The members of `list` made nomail for bounces, with their scores. Scores of
/// addresses that are no longer nomail for bounces (they came back, left, or an
/// admin changed the line) are forgotten.
pub(crate) fn disabled(ctx: &Context, list: &ListConfig) -> Result<Vec<(EmailAddress, Score)>> {
    let prefix = format!("{}/", list.id);
    let marked: Vec<(String, Score)> = ctx.state().read(|s| {
        (s.bounces.iter())
            .filter(|(k, score)| k.starts_with(&prefix) && score.disabled > 0)
            .map(|(k, score)| (k.clone(), score.clone()))
            .collect()
    })?;
    let roster = ctx.roster(list)?;
    let mut out = Vec::new();
    for (key, score) in marked {
        let still = EmailAddress::parse(&key[prefix.len()..])
            .ok()
            .and_then(|a| {
                let member = roster.get(&a).ok().flatten()?;
                (member.setting.why == Some(Why::Bounces)).then_some(member.address)
            });
        match still {
            Some(address) => out.push((address, score)),
            None => {
                ctx.state()
                    .append(vec![Line::Bounce { key, score: None }])?;
            }
        }
    }
    Ok(out)
}

/// What is due now for `address` with `score` (nomail for bounces): a notice, the
/// removal, or nothing yet. A notice's token is issued here.
pub(crate) fn next_step(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    score: &Score,
    now: u64,
) -> Result<Due> {
    let settings = &list.bounce;
    let waited = score.notices == 0 || score.noticed + settings.warn_every <= now;
    if !waited {
        return Ok(Due::Wait);
    }
    if score.notices >= settings.warnings {
        return Ok(Due::Remove);
    }
    let back = Confirmed::Set(Setting::mail());
    let outcome = pend(
        ctx,
        list,
        address,
        Joiner::default(),
        Intent::SetMode,
        back,
        now,
    )?;
    Ok(match outcome {
        Outcome::ModeConfirmationSent { token, .. } => Due::Notice {
            token,
            number: score.notices + 1,
        },
        _ => Due::Wait,
    })
}

/// Records that notice `number` went out to `address` (an audit line
/// `notice-sent:N`).
pub(crate) fn noticed(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    score: &Score,
    number: u32,
    now: u64,
) -> Result<()> {
    let key = format!("{}/{}", list.id, address.key());
    let score = Score {
        notices: number,
        noticed: now,
        ..score.clone()
    };
    ctx.state().append(vec![Line::Bounce {
        key,
        score: Some(score),
    }])?;
    let (shown, outcome) = (address.to_string(), format!("notice-sent:{number}"));
    let record = crate::audit::Record::new(
        list.id.as_str(),
        &shown,
        Act::Bounce.word(),
        &outcome,
        Via::Admin,
        now,
    );
    Ok(ctx.audit.write(&record)?)
}

/// Removes `address`, nomail for bounces and unanswered: the roster change, the
/// score forgotten, an audit line `removed:bounces`. `RemovedForBounces`, or
/// `NotMember` when it had gone already.
pub(crate) fn remove_bounced(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    now: u64,
) -> Result<Outcome> {
    let removed = remove_member(ctx, list, address)?;
    let key = format!("{}/{}", list.id, address.key());
    ctx.state()
        .append(vec![Line::Bounce { key, score: None }])?;
    if removed != Outcome::Removed {
        return Ok(removed);
    }
    let outcome = Outcome::RemovedForBounces;
    audit(ctx, list, address, Act::Bounce, &outcome, Trail::ADMIN, now)?;
    Ok(outcome)
}
