//! `listkeeper pending LIST`, `approve LIST ADDR`, `reject LIST ADDR [--reason R]`:
//! the owners' side at the command line.
//!
//! A decision made here is told to the person, and to every owner (as an owner's
//! `approve` by mail is acknowledged), so no owner goes on to decide it again.

use crate::address::EmailAddress;
use crate::audit::Via;
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::outbox::Batch;
use crate::pipeline::{self, Context};
use crate::token::{self, Action};
use anyhow::{Context as _, Result, anyhow, bail};

/// Lists the requests held for the owners, and those awaiting confirmation.
pub(super) fn pending(config: Config, list: &str) -> Result<()> {
    let ctx = Context::open(config).context("opening the state folder")?;
    let list = find(&ctx, list)?;
    pipeline::sweep_expired(&ctx, crate::clock::unix_now()).context("removing expired requests")?;
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
    let id = token::pending_id(list.id.as_str(), &address.key(), Action::Subscribe);
    let Some(held) = ctx.held.get(list.id.as_str(), &id)? else {
        bail!(
            "no request from {address} is held on {} (see `listkeeper pending {}`)",
            list.id,
            list.id
        );
    };
    let now = crate::clock::unix_now();
    let settled = pipeline::settle_held(&ctx, list, &held, reject, Via::Admin, now, None)
        .with_context(|| format!("could not settle the request of {address}"))?;
    let mail = crate::reply::render(&ctx.config, &ctx.keys, &settled.reply, None, now)
        .map_err(|e| anyhow!("{e}"))?;
    let mut mails = vec![mail];
    mails.extend(owner_notes(
        &ctx,
        list,
        &settled.reply.to,
        reject.is_some(),
        now,
    )?);
    let batch = Batch::new(
        format!("admin-{id}-{now}"),
        Some(list.id.to_string()),
        mails,
        now,
    );
    ctx.outbox.queue(&batch).context("queueing the reply")?;
    ctx.sync().context("saving the decision")?;
    super::deliver::send_now(&ctx, vec![batch], now);
    match settled.outcome {
        "rejected" => println!("rejected {address} on {}; they have been told", list.id),
        "already-member" => println!("{address} was already a member of {}", list.id),
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

/// The owners' note of a decision made at the command line: the text an owner
/// deciding by mail gets back, to every owner.
fn owner_notes(
    ctx: &Context,
    list: &ListConfig,
    person: &EmailAddress,
    rejected: bool,
    now: u64,
) -> Result<Vec<crate::reply::Outgoing>> {
    let name = if rejected {
        "rejected_owner"
    } else {
        "approved_owner"
    };
    let shown = person.to_string();
    let text = crate::reply::Texts::new(&ctx.config).text(name, Some(list), &[("address", &shown)]);
    let how = if rejected { "reject" } else { "approve" };
    let text = format!("{text}\n\n(Decided at the server with `listkeeper {how}`.)");
    list.owners
        .iter()
        .map(|owner| {
            let note = crate::reply::Reply {
                to: owner.clone(),
                list: Some(list.id.to_string()),
                subject: format!("Held request for {}", list.name),
                paragraphs: vec![text.clone()],
                confirm_token: None,
                welcome: false,
                reply_to_request: false,
            };
            crate::reply::render(&ctx.config, &ctx.keys, &note, None, now)
                .map_err(|e| anyhow!("{e}"))
        })
        .collect()
}

fn find<'c>(ctx: &'c Context, list: &str) -> Result<&'c ListConfig> {
    ctx.config.list(list).ok_or_else(|| {
        anyhow!(
            "no list `{list}` in {}",
            ctx.config.dir.join("lists").display()
        )
    })
}
