//! `listkeeper pending LIST`, `approve LIST ADDR`, `reject LIST ADDR [--reason R]`,
//! `notify-owners [--now]`: the owners' side at the command line.
//!
//! A decision made here is told to the person, and to every owner (as an owner's
//! `approve` by mail is acknowledged), so no owner goes on to decide it again.

use crate::actions::{self, Act, Outcome, Source, table};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::commit::commit;
use crate::config::{Config, ListConfig};
use crate::context::Context;
use crate::records::Outgoing;
use crate::replies::Replies;
use crate::token;
use anyhow::{Context as _, Result, anyhow, bail};

/// Lists the requests held for the owners, and those awaiting confirmation.
pub(super) fn pending(config: Config, list: &str) -> Result<()> {
    let ctx = Context::open(config).context("opening the state folder")?;
    let list = find(&ctx, list)?;
    crate::upkeep::sweep_expired(&ctx, crate::clock::unix_now())
        .context("removing expired requests")?;
    let held = ctx.held.all(list.id.as_str())?;
    let waiting = ctx.pending.all(list.id.as_str())?;
    if held.is_empty() {
        println!("no requests held for the owners of {}", list.id);
    }
    for h in &held {
        let rule = h.rule.map_or("policy".to_owned(), |n| format!("rule {n}"));
        println!(
            "held  {}  {}  since {}  ({rule}; lapses {})",
            h.address,
            h.name.as_deref().unwrap_or("-"),
            rfc3339(h.created),
            rfc3339(h.expires)
        );
    }
    if !waiting.is_empty() {
        println!(
            "{} request(s) awaiting the person's own confirmation:",
            waiting.len()
        );
        for w in &waiting {
            println!(
                "confirm  {}  {}  since {}",
                w.address,
                w.action.as_str(),
                rfc3339(w.created)
            );
        }
    }
    Ok(())
}

/// `notify-owners [--now]`: queues the summaries and reminders that are due (all
/// daily summaries with `force`) and tries to send them.
pub(super) fn notify_owners(config: Config, force: bool) -> Result<()> {
    let ctx = Context::open(config).context("opening the state folder")?;
    let now = crate::clock::unix_now();
    crate::upkeep::sweep_expired(&ctx, now).context("removing expired requests")?;
    let queued =
        crate::notify::notify_owners(&ctx, now, force).context("queueing the owners' summaries")?;
    println!(
        "{} summary(ies) and {} reminder(s) queued for the owners",
        queued.summaries, queued.reminders
    );
    super::deliver::send_now(&ctx, queued.batches, now);
    Ok(())
}

/// Approves or rejects a held request: the roster, the audit line, and the person's mail.
pub(super) fn decide(
    config: Config,
    list: &str,
    address: &str,
    reject: Option<&str>,
) -> Result<()> {
    let ctx = Context::open(config).context("opening the state folder")?;
    let list = find(&ctx, list)?;
    let address = EmailAddress::parse(address.trim()).map_err(|e| anyhow!("{e}"))?;
    let Some(held) = actions::held_request(&ctx, list, &address)? else {
        bail!(
            "no request from {address} is held on {} (see `listkeeper pending {}`)",
            list.id,
            list.id
        );
    };
    let now = crate::clock::unix_now();
    let outcome = actions::decide_held(&ctx, list, &held, reject, Source::Admin, now)
        .with_context(|| format!("could not settle the request of {address}"))?;
    let person = EmailAddress::parse(&held.address).map_err(|e| anyhow!("{e}"))?;
    let act = if reject.is_some() {
        Act::Reject
    } else {
        Act::Approve
    };
    let mails = told(&ctx, list, &person, act, &outcome, now)?;
    let id = token::pending_id(list.id.as_str(), &person.key(), held.action);
    let key = format!("admin-{id}-{now}");
    let batch = commit(&ctx, key, Some(list.id.to_string()), mails, now)
        .context("saving the decision and its mails")?;
    super::deliver::send_now(&ctx, batch.into_iter().collect(), now);
    match outcome {
        Outcome::Rejected { .. } => {
            println!("rejected {address} on {}; they have been told", list.id)
        }
        Outcome::AlreadyMember => println!("{address} was already a member of {}", list.id),
        _ => println!("approved {address}: now a member of {}, welcomed", list.id),
    }
    println!(
        "the owners of {} have been told ({})",
        list.id,
        list.owners
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The decision's mails: the person's (by the actions' table), and every owner's,
/// as an owner deciding by mail is told, so no owner goes on to decide it again.
fn told(
    ctx: &Context,
    list: &ListConfig,
    person: &EmailAddress,
    act: Act,
    outcome: &Outcome,
    now: u64,
) -> Result<Vec<Outgoing>> {
    let shown = person.to_string();
    let mut replies = Replies::default();
    let lang = crate::replies::member_lang(ctx, list, person);
    if let Some(notice) = table::notice(&ctx.config, list, act, outcome, lang.as_deref(), now) {
        let notice = table::with_links(notice, ctx, list, person, act, now);
        replies.tell(&ctx.config, person, list, &shown, &notice);
    }
    let ack = table::owners_decided(list, outcome);
    let text = format!(
        "{}\n\n(Decided at the server with `listkeeper {}`.)",
        ack.text(&ctx.config, list, &shown),
        act.word()
    );
    for owner in &list.owners {
        replies.say(owner, Some(list), &ack.subject, text.clone());
    }
    Ok(replies.render_unbudgeted(ctx, now)?)
}

fn find<'c>(ctx: &'c Context, list: &str) -> Result<&'c ListConfig> {
    ctx.config.list(list).ok_or_else(|| {
        anyhow!(
            "no list `{list}` in {}",
            ctx.config.dir.join("lists").display()
        )
    })
}
