//! THE SPINE, the mail path: one message for one recipient → one durable outcome
//! (docs/reference.md, sections 2–6).
//!
//! ```text
//! handle:  route → parse → process
//! process: dedupe → decide → commit
//! decide:  bounces? → guard → owner mail? → sender → commands → actions → replies
//! commit:  the replies as one outbox batch (with the dedupe key), or the key alone
//! ```
//!
//! Each command is an action (`actions`: where a request becomes a roster line); the
//! mail path is one of its callers. Everything a delivery changes is on disk before
//! [`handle`] returns `Done`: its roster changes, requests, replies and dedupe record
//! are lines of `statelog` and its audit lines are in `audit`, both made durable by
//! one shared fsync each in [`Context::sync`] (roster files themselves are written by
//! the daemon's saver, or by `sync` outside the daemon). Any failure before that
//! returns `TryLater` (LMTP 451, exit 75), and the MTA delivers again.

mod across;
mod bounces;
mod change;
mod commands;
mod forward;
mod owners;

use crate::actions::Error;
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::command;
use crate::commit;
pub use crate::context::Context;
use crate::guard;
pub use crate::inbound::{Delivery, Outcome};
use crate::message::{self, Incoming, MessageError};
pub use crate::notify::{Queued, notify_owners};
use crate::outbox::Batch;
use crate::records::Outgoing;
use crate::replies::Replies;
use crate::route::{self, Route};
pub use crate::upkeep::{bounce_notices, sweep_expired};
use commands::Answer;
use sha2::{Digest, Sha256};

/// Why a delivery that is done sent no reply: `deliver` says so on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silent {
    /// The same message (Message-ID and recipient) was handled before: nothing done.
    Duplicate,
    /// A delivery report to `L-bounces@`: read, never answered.
    Report,
    /// The loop guard: a message that must not be answered.
    Guarded(guard::Silence),
    /// No sender address to answer.
    NoSender,
    /// Every reply was over a `[limits]` budget (each has an audit line).
    OverLimits,
    /// Nothing to answer.
    Nothing,
}

/// Handles one delivery.
pub fn handle(ctx: &Context, delivery: &Delivery<'_>, now: u64) -> Outcome {
    handle_told(ctx, delivery, now).0
}

/// [`handle`], and when the delivery is done without a reply, why.
pub fn handle_told(ctx: &Context, delivery: &Delivery<'_>, now: u64) -> (Outcome, Option<Silent>) {
    let Ok(recipient) = EmailAddress::parse(delivery.recipient.trim().trim_matches(['<', '>']))
    else {
        return (Outcome::NoSuchUser, None);
    };
    let Some(route) = route::route(&ctx.config, &recipient) else {
        return (Outcome::NoSuchUser, None);
    };
    let incoming = match message::parse(delivery.raw, ctx.config.server.inbound.max_message_size) {
        Ok(incoming) => incoming,
        Err(MessageError::TooLarge { .. }) => return (Outcome::TooLarge, None),
        Err(MessageError::NotMail) => return (Outcome::NotMail, None),
    };
    // Durable before done: the commit's one fsync for the state and one for the
    // audit log (a duplicate syncs its audit line here too).
    match process(ctx, delivery, &recipient, &route, &incoming, now) {
        Ok(Ok(batch)) => (Outcome::Done(Some(batch)), None),
        Ok(Err(silent)) => (Outcome::Done(None), Some(silent)),
        Err(e) => (Outcome::TryLater(e.to_string()), None),
    }
}

/// Dedupe, decide, then commit once: the replies as one batch (the dedupe record), or
/// the key alone when there is nothing to send.
fn process(
    ctx: &Context,
    delivery: &Delivery<'_>,
    recipient: &EmailAddress,
    route: &Route,
    incoming: &Incoming,
    now: u64,
) -> Result<Result<Batch, Silent>, Error> {
    let key = dedupe_key(incoming, delivery.raw, recipient);
    if ctx.outbox.seen(&key)? {
        // Never the recipient here: a confirm address holds a token.
        audit_line(
            ctx,
            route.list().map(|l| l.as_str()),
            &sender_text(incoming, delivery),
            "receive",
            "duplicate",
            incoming,
            now,
        )?;
        ctx.sync()?;
        return Ok(Err(Silent::Duplicate));
    }
    let decided = decide(ctx, delivery, route, incoming, now)?;
    commit(ctx, key, decided, now)
}

/// What a delivery comes to before anything is queued: the replies to send (and the
/// list they are about), or why there are none.
enum Decided {
    Replies(Vec<Outgoing>, Option<String>),
    Silent(Silent),
}

/// The one write of a delivery's outcome, through [`commit::commit`] (its state and
/// audit lines were written as it was decided; the commit's sync makes them all
/// durable before the answer).
fn commit(
    ctx: &Context,
    key: String,
    decided: Decided,
    now: u64,
) -> Result<Result<Batch, Silent>, Error> {
    let (mails, list, silent) = match decided {
        Decided::Replies(mails, list) => (mails, list, Silent::Nothing),
        Decided::Silent(why) => (Vec::new(), None, why),
    };
    Ok(commit::commit(ctx, key, list, mails, now)?.ok_or(silent))
}

/// Reads the message's commands (or report, or forward) and decides what to answer.
fn decide(
    ctx: &Context,
    delivery: &Delivery<'_>,
    route: &Route,
    incoming: &Incoming,
    now: u64,
) -> Result<Decided, Error> {
    let note = |address: &str, outcome: &str| {
        audit_line(
            ctx,
            route.list().map(|l| l.as_str()),
            address,
            "receive",
            outcome,
            incoming,
            now,
        )
    };
    if let Route::Bounces(list, tag) = route {
        // Reports come from the null sender: read before the guard, never answered.
        if let Some(list) = ctx.config.lists.get(list) {
            let read = bounces::bounces(ctx, list, tag.as_deref(), delivery.raw, incoming, now)?;
            let mails = bounces::tell_owners(ctx, list, &read, incoming, now)?;
            if !mails.is_empty() {
                return Ok(Decided::Replies(mails, Some(list.id.to_string())));
            }
        }
        return Ok(Decided::Silent(Silent::Report));
    }
    if let Some(why) = guard::silence(&ctx.config, delivery.envelope_from, incoming) {
        note(
            &sender_text(incoming, delivery),
            &format!("not-answered:{}", why.as_str()),
        )?;
        return Ok(Decided::Silent(Silent::Guarded(why)));
    }
    if let Route::Owner(list) = route
        && let Some(list) = ctx.config.lists.get(list)
    {
        return forward::forward_to_owners(ctx, list, delivery, incoming, now);
    }
    let envelope = delivery
        .envelope_from
        .and_then(|e| EmailAddress::parse(e.trim().trim_matches(['<', '>'])).ok());
    let Some(sender) = incoming.from.clone().or(envelope) else {
        note("", "not-answered:no-sender")?;
        return Ok(Decided::Silent(Silent::NoSender));
    };
    answer(ctx, route, incoming, &sender, now)
}

/// A message's commands, each an action; its replies, rendered within the budgets.
fn answer(
    ctx: &Context,
    route: &Route,
    incoming: &Incoming,
    sender: &EmailAddress,
    now: u64,
) -> Result<Decided, Error> {
    let mut answer = Answer {
        ctx,
        incoming,
        sender,
        route,
        now,
        replies: Replies::default(),
    };
    let commands = command::commands(&ctx.config, route, incoming);
    if commands.is_empty() {
        answer.no_command();
    }
    let labelled = matches!(route, Route::Request(_) | Route::Command);
    for command in commands {
        if labelled {
            answer.replies.heading = Some(format!("> {}", message::clean(&command.describe())));
        }
        answer.run(command)?;
    }
    let done = answer
        .replies
        .finish(ctx, incoming.message_id.as_deref(), now)?;
    if done.mails.is_empty() && done.limited {
        return Ok(Decided::Silent(Silent::OverLimits));
    }
    Ok(Decided::Replies(done.mails, done.list))
}

pub(crate) fn audit_line(
    ctx: &Context,
    list: Option<&str>,
    address: &str,
    action: &str,
    outcome: &str,
    incoming: &Incoming,
    now: u64,
) -> Result<(), Error> {
    Ok(ctx.audit.write(&Record {
        message_id: incoming.message_id.as_deref(),
        ..Record::new(
            list.unwrap_or(""),
            address,
            action,
            outcome,
            Via::Email,
            now,
        )
    })?)
}

fn sender_text(incoming: &Incoming, delivery: &Delivery<'_>) -> String {
    match (&incoming.from, delivery.envelope_from) {
        (Some(from), _) => from.to_string(),
        (None, Some(env)) => message::clean(env),
        (None, None) => String::new(),
    }
}

/// `raw` with CRLF as LF and no line end at the end.
fn lf_form(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &b) in raw.iter().enumerate() {
        if !(b == b'\r' && raw.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    while out.last() == Some(&b'\n') {
        out.pop();
    }
    out
}

/// Same Message-ID and recipient → same key (the whole message's hash when there is
/// no Message-ID, whatever its line ends: a pipe's LF and LMTP's CRLF, as `deliver`
/// hands it to the daemon, are the same message).
fn dedupe_key(incoming: &Incoming, raw: &[u8], recipient: &EmailAddress) -> String {
    let mut h = Sha256::new();
    match &incoming.message_id {
        Some(id) => h.update(format!("id:{id}").as_bytes()),
        None => h.update(Sha256::digest(lf_form(raw))),
    }
    h.update(b"\n");
    h.update(recipient.key().as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::lf_form;

    #[test]
    fn a_message_without_message_id_is_the_same_whatever_its_line_ends() {
        assert_eq!(lf_form(b"a\r\nb\r\n"), lf_form(b"a\nb\n"));
        assert_eq!(lf_form(b"a\nb"), lf_form(b"a\r\nb\r\n"));
        assert_ne!(lf_form(b"a\r\n\r\nb"), lf_form(b"a\nb"));
    }
}
