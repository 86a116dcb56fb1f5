//! `bounced`: a verified delivery report about one address (its bounce tag was made for
//! it). A pending request of that address is cancelled (its confirmation never
//! arrived); a member's score goes up as [`crate::bounce`] says, and at the list's
//! threshold the member becomes nomail (`why = "bounces"`). Only reports whose tag
//! verifies get here: anyone may mail `L-bounces@`.

use super::{Act, Outcome, Result, Source, audit, modes};
use crate::address::EmailAddress;
use crate::audit::Via;
use crate::bounce::{self, Kind, Step};
use crate::config::ListConfig;
use crate::context::Context;
use crate::records::{Mode, Score, Setting, Why};
use crate::statelog::Line;
use crate::token::{self, Intent};

/// Reports of the last hour count towards an incident at a domain.
const HOUR: u64 = 3_600;

/// A verified report that mail to `address` failed, of this `kind`.
pub(crate) fn bounced(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    kind: Kind,
    source: Source<'_>,
    now: u64,
) -> Result<Outcome> {
    let key = address.key();
    let mut cancelled = false;
    for action in [
        Intent::Subscribe,
        Intent::Unsubscribe,
        Intent::SetMode,
        Intent::LeaveAll,
        Intent::Change,
        Intent::ChangeAll,
    ] {
        let id = token::pending_id(list.id.as_str(), &key, action);
        if ctx.pending.get(list.id.as_str(), &id)?.is_some() {
            ctx.pending.remove(list.id.as_str(), &id)?;
            cancelled = true;
        }
    }
    let outcome = if cancelled {
        Outcome::PendingCancelled
    } else if ctx.roster(list)?.contains(address)? {
        scored(ctx, list, address, kind, now)?
    } else {
        Outcome::UnknownAddress
    };
    audit(
        ctx,
        list,
        address,
        Act::Bounce,
        &outcome,
        None,
        Via::Email,
        source.message_id(),
        source.client(),
        now,
    )?;
    Ok(outcome)
}

/// A member's report: the score in the state log, and nomail at the threshold.
fn scored(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    kind: Kind,
    now: u64,
) -> Result<Outcome> {
    let key = format!("{}/{}", list.id, address.key());
    let previous = ctx.state().bounce_score(&key)?;
    if kind != Kind::Policy && incident(ctx, list, address, &key, now)? {
        // Only when this report is counted: the hour's reports are the incident.
        let noted = Score {
            reported: now,
            ..previous.unwrap_or_default()
        };
        ctx.state().append(vec![Line::Bounce {
            key,
            score: Some(noted),
        }])?;
        return Ok(Outcome::BounceIncident);
    }
    let (score, step) = bounce::score(previous.as_ref(), kind, &list.bounce, now);
    let outcome = match step {
        Step::Raised => Outcome::MemberBounced(format!("{}", score.score)),
        Step::SameDay => Outcome::BouncedToday,
        Step::Policy => Outcome::PolicyRejection,
        Step::Threshold => {
            let nomail = Setting {
                mode: Mode::Nomail,
                until: None,
                why: Some(Why::Bounces),
            };
            modes::change(ctx, list, address, nomail)?;
            ctx.state()
                .append(vec![Line::Bounce { key, score: None }])?;
            return Ok(Outcome::NomailForBounces);
        }
    };
    ctx.state().append(vec![Line::Bounce {
        key,
        score: Some(score),
    }])?;
    Ok(outcome)
}

/// Whether the members at `address`'s domain reported in the last hour (this one
/// included) are an incident there (`incident_share` of the list's members at it).
fn incident(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    key: &str,
    now: u64,
) -> Result<bool> {
    let prefix = format!("{}/", list.id);
    let at = format!("@{}", address.domain());
    let reporting = ctx.state().read(|s| {
        (s.bounces.iter())
            .filter(|(k, score)| {
                k.as_str() != key
                    && k.starts_with(&prefix)
                    && k.ends_with(&at)
                    && score.reported + HOUR > now
            })
            .count()
    })? + 1;
    let members = ctx.roster(list)?.count_at(address.domain())?;
    Ok(bounce::incident(
        reporting,
        members,
        list.bounce.incident_share,
    ))
}
