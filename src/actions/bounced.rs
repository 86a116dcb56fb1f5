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
        Intent::Erase,
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
        source.trail().via(Via::Email),
        now,
    )?;
    Ok(outcome)
}

/// A verified ARF complaint (`Feedback-Type: abuse`) about `address`: the member is
/// unsubscribed at once, its score forgotten, with an audit line `complaint`. Nobody
/// is mailed: not the provider that reported (its reports are never answered), nor
/// the member, who said our mail is unwanted (Mailman and Sympa do the same).
pub(crate) fn complaint(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    source: Source<'_>,
    now: u64,
) -> Result<Outcome> {
    let outcome = super::remove_member(ctx, list, address)?;
    let key = format!("{}/{}", list.id, address.key());
    if ctx.state().bounce_score(&key)?.is_some() {
        ctx.state()
            .append(vec![Line::Bounce { key, score: None }])?;
    }
    audit(
        ctx,
        list,
        address,
        Act::Complaint,
        &outcome,
        source.trail().via(Via::Email),
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
    if previous.as_ref().is_some_and(|s| s.disabled > 0) {
        // The re-enable notices are under way (or the member came back: upkeep
        // forgets the score then).
        return Ok(Outcome::AlreadyNomail);
    }
    if let Some(scope) = incident_scope(ctx, list, address, &key, now)? {
        // Policy rejections too: a DMARC storm at a domain is an incident there.
        let noted = Score {
            reported: now,
            ..previous.unwrap_or_default()
        };
        ctx.state().append(vec![Line::Bounce {
            key,
            score: Some(noted),
        }])?;
        return Ok(Outcome::BounceIncident { scope });
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
            // Kept, marked: upkeep sends the re-enable notices, then removes.
            let disabled = Score {
                disabled: now,
                ..score
            };
            ctx.state().append(vec![Line::Bounce {
                key,
                score: Some(disabled),
            }])?;
            return Ok(Outcome::NomailForBounces);
        }
    };
    ctx.state().append(vec![Line::Bounce {
        key,
        score: Some(score),
    }])?;
    Ok(outcome)
}

/// The incident a report about `address` is part of: its domain, when more than
/// `incident_share` of the list's members there were reported in the last hour;
/// else [`WHOLE_LIST`], when more than that share of all its members were (our own
/// mail's signature broken, say); else none. At least three members either way. The
/// report itself, not yet in the state (under `key`), counts too.
fn incident_scope(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    key: &str,
    now: u64,
) -> Result<Option<String>> {
    let share = list.bounce.incident_share;
    let roster = ctx.roster(list)?;
    let domain = address.domain();
    let here = reporting_at(ctx, list, domain, Some(key), now)? + 1;
    if bounce::incident(here, roster.count_at(domain)?, share) {
        return Ok(Some(domain.to_owned()));
    }
    let all = reporting_at(ctx, list, WHOLE_LIST, Some(key), now)? + 1;
    if bounce::incident(all, roster.count()?, share) {
        return Ok(Some(WHOLE_LIST.to_owned()));
    }
    Ok(None)
}

/// The scope of an incident across every domain of a list.
pub(crate) const WHOLE_LIST: &str = "*";

/// How many members of `list` at `domain` ([`WHOLE_LIST`]: at any) (but `except`)
/// were reported in the last hour.
pub(crate) fn reporting_at(
    ctx: &Context,
    list: &ListConfig,
    domain: &str,
    except: Option<&str>,
    now: u64,
) -> Result<usize> {
    let prefix = format!("{}/", list.id);
    let at = format!("@{domain}");
    Ok(ctx.state().read(|s| {
        (s.bounces.iter())
            .filter(|(k, score)| {
                Some(k.as_str()) != except
                    && k.starts_with(&prefix)
                    && (domain == WHOLE_LIST || k.ends_with(&at))
                    && score.reported + HOUR > now
            })
            .count()
    })?)
}

/// Whether the owners are to be told of the incident at `domain` now: not while the
/// one they were told of goes on (a report there within the hour). Records this
/// report of it (state key `incident:LIST/DOMAIN`).
pub(crate) fn alert_due(ctx: &Context, list: &ListConfig, domain: &str, now: u64) -> Result<bool> {
    let key = format!("incident:{}/{domain}", list.id);
    let last = ctx.state().bounce_score(&key)?;
    let due = last.as_ref().is_none_or(|s| s.reported + HOUR <= now);
    let score = Score {
        raised: if due {
            now
        } else {
            last.map_or(now, |s| s.raised)
        },
        reported: now,
        ..Score::default()
    };
    ctx.state().append(vec![Line::Bounce {
        key,
        score: Some(score),
    }])?;
    Ok(due)
}
