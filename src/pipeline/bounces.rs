//! `L-bounces@`: delivery reports about the mail we sent, read and never answered.

use super::audit_line;
use crate::actions::Error;
use crate::actions::{self, Source};
use crate::address::EmailAddress;
use crate::config::ListConfig;
use crate::context::Context;
use crate::message::{self, Incoming};
use crate::owner::{self, Failed};
use crate::verp;
use std::collections::{BTreeMap, BTreeSet};

/// A delivery report's failed recipients read at most (the rest: one audit line).
const MAX_REPORTED: usize = 50;
/// A delivery report's returned Message-IDs of ours tried at most.
const MAX_RETURNED_IDS: usize = 4;

/// What a report did that the owners hear of.
#[derive(Default)]
pub(super) struct Read {
    /// The members it made nomail.
    nomail: Vec<EmailAddress>,
    /// The domains where it found an incident, with the statuses it named there.
    incidents: BTreeMap<String, BTreeSet<String>>,
}

/// `L-bounces@`: a failed confirmation cancels its pending request; a member's bounce
/// (a welcome, say) raises their score. Returns the members the report made nomail
/// and the incidents it is part of (the owners are told). Only a report about mail we sent counts: its bounce
/// tag (from `L-bounces+TAG@`, or in the Message-ID the report returns) must have been
/// made for the address it reports. Anything else is recorded and ignored.
pub(super) fn bounces(
    ctx: &Context,
    list: &ListConfig,
    tag: Option<&str>,
    raw: &[u8],
    incoming: &Incoming,
    now: u64,
) -> Result<Read, Error> {
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
    if let Some(feedback) = crate::arf::feedback(raw) {
        complaint(ctx, list, tag, raw, &feedback, incoming, now)?;
        return Ok(Read::default());
    }
    let mut failed = owner::failed_recipients(raw);
    if failed.is_empty() {
        note("", "unreadable")?;
        return Ok(Read::default());
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
    let tags = tags_of(tag, raw, &ctx.config.server.domain);
    let source = Source::Mail {
        message_id: incoming.message_id.as_deref(),
        authenticated: false,
    };
    let mut read = Read::default();
    for report in failed {
        match ours(ctx, list, &report, &tags, now) {
            Ok(address) => {
                let kind =
                    crate::bounce::classify(report.status.as_deref(), report.diagnostic.as_deref());
                let outcome = actions::bounced(ctx, list, &address, kind, source, now)?;
                match outcome {
                    actions::Outcome::NomailForBounces => read.nomail.push(address),
                    actions::Outcome::BounceIncident { scope } => {
                        let statuses = read.incidents.entry(scope);
                        statuses
                            .or_default()
                            .insert(status_code(report.status.as_deref()));
                    }
                    _ => {}
                }
            }
            Err(outcome) => note(&message::clean(&report.address), outcome)?,
        }
    }
    Ok(read)
}

/// An ARF report: a verified `abuse` complaint unsubscribes the member it names
/// (its tag made for that address); anything else is an audit line. Never answered.
fn complaint(
    ctx: &Context,
    list: &ListConfig,
    tag: Option<&str>,
    raw: &[u8],
    feedback: &crate::arf::Feedback,
    incoming: &Incoming,
    now: u64,
) -> Result<(), Error> {
    let note = |address: &str, outcome: &str| {
        audit_line(
            ctx,
            Some(list.id.as_str()),
            address,
            "complaint",
            outcome,
            incoming,
            now,
        )
    };
    let tags = tags_of(tag, raw, &ctx.config.server.domain);
    let verified = (feedback.recipients.iter())
        .filter_map(|a| EmailAddress::parse(a).ok())
        .find(|a| {
            let key = a.key();
            (tags.iter()).any(|t| verp::verify(&ctx.keys, t, list.id.as_str(), &key, now))
        });
    let Some(address) = verified else {
        let named = feedback.recipients.first().map(|a| message::clean(a));
        return note(named.as_deref().unwrap_or(""), "unverified");
    };
    if feedback.kind != "abuse" {
        let kind: String = (feedback.kind.chars())
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(20)
            .collect();
        return note(&address.to_string(), &format!("ignored:{kind}"));
    }
    let source = Source::Mail {
        message_id: incoming.message_id.as_deref(),
        authenticated: false,
    };
    actions::complaint(ctx, list, &address, source, now)?;
    Ok(())
}

/// A report's status as told to the owners: its code only (`5.7.26`), or `unknown`.
fn status_code(status: Option<&str>) -> String {
    let code = status
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("");
    let clean = code.chars().all(|c| c.is_ascii_digit() || c == '.');
    if clean && !code.is_empty() && code.len() <= 12 {
        code.to_owned()
    } else {
        "unknown".to_owned()
    }
}

/// What the owners are told of the members a report made nomail and of an incident
/// (once while it goes on, with an audit line `incident-alert`): one mail each, free
/// of the per-address budgets (bounded by the hourly total).
pub(super) fn tell_owners(
    ctx: &Context,
    list: &ListConfig,
    read: &Read,
    incoming: &Incoming,
    now: u64,
) -> Result<Vec<crate::records::Outgoing>, Error> {
    let mut replies = crate::replies::Replies::default();
    let mut tell = |about: &str, notice: &actions::Notice| {
        for owner in &list.owners {
            replies.tell(&ctx.config, owner, list, about, notice).free = true;
        }
    };
    let notice = actions::table::owners_bounced(list);
    for address in &read.nomail {
        tell(&address.to_string(), &notice);
    }
    for (domain, statuses) in &read.incidents {
        if !actions::alert_due(ctx, list, domain, now)? {
            continue;
        }
        let count = actions::reporting_at(ctx, list, domain, None, now)?;
        let codes = statuses.iter().cloned().collect::<Vec<_>>().join(", ");
        let at = match domain.as_str() {
            actions::WHOLE_LIST => "*".to_owned(),
            _ => format!("@{domain}"),
        };
        audit_line(
            ctx,
            Some(list.id.as_str()),
            &at,
            "bounce",
            "incident-alert",
            incoming,
            now,
        )?;
        tell(
            &at,
            &actions::table::owners_incident(list, &scope_words(list, domain), count, &codes),
        );
    }
    Ok(replies
        .finish(ctx, incoming.message_id.as_deref(), now)?
        .mails)
}

/// The bounce tags a report carries: its recipient's (`L-bounces+TAG@`), then
/// those in the Message-IDs of ours it returns (a few at most).
fn tags_of(tag: Option<&str>, raw: &[u8], domain: &str) -> Vec<String> {
    let returned = owner::returned_message_ids(raw);
    let from_ids = (returned.iter())
        .filter_map(|id| verp::tag_of_message_id(id, domain))
        .take(MAX_RETURNED_IDS)
        .map(str::to_owned);
    tag.map(str::to_owned).into_iter().chain(from_ids).collect()
}

/// The address a failed recipient names, when one of `tags` was made for it on
/// this list (mail we sent it); else the audit outcome that says why not.
fn ours(
    ctx: &Context,
    list: &ListConfig,
    report: &Failed,
    tags: &[String],
    now: u64,
) -> Result<EmailAddress, &'static str> {
    let written = [Some(&report.address), report.original.as_ref()];
    let addresses: Vec<EmailAddress> = (written.into_iter().flatten())
        .filter_map(|a| EmailAddress::parse(a).ok())
        .collect();
    if addresses.is_empty() {
        return Err("bad-address");
    }
    let made_for = |a: &EmailAddress| {
        let key = a.key();
        (tags.iter()).any(|t| verp::verify(&ctx.keys, t, list.id.as_str(), &key, now))
    };
    // Not about mail we sent to that address: a forgery, or a report too mangled to
    // tell. Recorded, nothing changed.
    addresses.into_iter().find(made_for).ok_or("unverified")
}

/// How an incident's scope is named to the owners: its domain, or for one across
/// the whole list, words in the list's language.
fn scope_words(list: &ListConfig, scope: &str) -> String {
    use crate::lang::Lang;
    match (scope, Lang::of_list(Some(list))) {
        (actions::WHOLE_LIST, Lang::Es) => "muchos dominios a la vez".to_owned(),
        (actions::WHOLE_LIST, Lang::En) => "many domains at once".to_owned(),
        (domain, _) => domain.to_owned(),
    }
}
