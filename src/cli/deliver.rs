//! `listkeeper deliver`: MTA pipe mode, with sysexits exit codes.
//!
//! 0 done (also when deliberately not answered), 65 not mail or too large, 67 not one
//! of our addresses, 75 try again later (nothing was lost: the MTA keeps the mail).
//! On success it prints nothing, unless standard error is a terminal: then one line
//! says what the message came to (`summary`).

use super::handoff;
use crate::config::Config;
use crate::outbox::Sent;
use crate::pipeline::{self, Context, Delivery, Outcome, Silent};
use crate::sender::Sender;
use std::io::{IsTerminal, Read};
use std::path::Path;

/// sysexits(3).
use crate::error::Classify;
use crate::inbound::{EX_DATAERR, EX_NOUSER, EX_OK, EX_TEMPFAIL, exit_code};

/// Runs one delivery from standard input; returns the exit code. Unless `local`, a
/// daemon serving the same state folder on `inbound.lmtp` gets the message over
/// LMTP; when none answers, this process does the work itself.
pub(super) fn run(dir: &Path, to: &[String], from: Option<&str>, local: bool) -> u8 {
    // One message, then exit: look the state up by key rather than read it whole.
    crate::statelog::prefer_index();
    let server = Config::load_server(dir);
    let Some(settings) = &server.0 else {
        return unloadable(dir, &server.1);
    };
    let limit = settings.inbound.max_message_size;
    let raw = match read_message(limit) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("listkeeper: cannot read the message: {e}");
            return exit_code(e.severity());
        }
    };
    if !local && let Some(code) = handoff::to_daemon(settings, to, from, &raw) {
        return code;
    }
    match Config::load_after(dir, server) {
        Ok(config) => work_here(config, to, from, &raw),
        Err(problems) => unloadable(dir, &problems),
    }
}

/// The work done in this process: every list loaded, the state opened, the replies
/// sent before it exits.
fn work_here(config: Config, to: &[String], from: Option<&str>, raw: &[u8]) -> u8 {
    let limit = config.server.inbound.max_message_size;
    let ctx = match Context::open(config) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("listkeeper: cannot open the state folder: {e}");
            return exit_code(e.severity());
        }
    };
    let now = crate::clock::unix_now();
    let mut worst = EX_OK;
    let mut batches = Vec::new();
    for recipient in to {
        let delivery = Delivery {
            envelope_from: from,
            recipient,
            raw,
        };
        let (outcome, silent) = handle_guarded(&ctx, &delivery, now);
        worst = worse(worst, outcome.sysexit());
        batches.extend(tell(outcome, recipient, silent, limit));
    }
    if !batches.is_empty() {
        send_now(&ctx, batches, now);
    }
    worst
}

/// The configuration does not load: the MTA keeps the message and retries.
fn unloadable(dir: &Path, problems: &crate::config::Problems) -> u8 {
    eprintln!(
        "listkeeper: the configuration in {} does not load; the MTA will retry:\n{problems}",
        dir.display()
    );
    EX_TEMPFAIL
}

/// Standard input, at most one byte over `limit` (enough to know it is too large).
pub(super) fn read_message(limit: u64) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut raw)?;
    Ok(raw)
}

/// Handles one recipient. A bug must not turn into a bounce: a panic is a reason to
/// retry.
fn handle_guarded(ctx: &Context, delivery: &Delivery<'_>, now: u64) -> (Outcome, Option<Silent>) {
    let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::handle_told(ctx, delivery, now)
    }));
    handled.unwrap_or_else(|_| {
        (
            Outcome::TryLater("internal error (a bug): please report it".into()),
            None,
        )
    })
}

/// Says on standard error what became of one recipient (a success only to a
/// terminal); gives back the replies to send.
fn tell(
    outcome: Outcome,
    recipient: &str,
    silent: Option<Silent>,
    limit: u64,
) -> Option<crate::outbox::Batch> {
    let redacted = || crate::message::redact_recipient(recipient);
    match outcome {
        Outcome::Done(batch) => {
            // A person trying things out sees what happened; an MTA's pipe, nothing.
            if std::io::stderr().is_terminal() {
                eprintln!(
                    "{}",
                    super::summary::done(recipient, batch.as_ref(), silent)
                );
            }
            return batch;
        }
        Outcome::NoSuchUser => {
            eprintln!("listkeeper: {}: no such list address here", redacted());
        }
        Outcome::TooLarge => {
            eprintln!("listkeeper: the message is larger than max_message_size ({limit} bytes)");
        }
        Outcome::NotMail => eprintln!("listkeeper: this is not an email message"),
        Outcome::TryLater(why) => {
            eprintln!(
                "listkeeper: {}: {why}; nothing was changed, the MTA will retry",
                redacted()
            );
        }
    }
    None
}

/// The request is done and its replies are queued; try to hand them over now. A
/// failure here is not the request's: the replies wait for `listkeeper outbox --retry`.
pub(super) fn send_now(ctx: &Context, batches: Vec<crate::outbox::Batch>, now: u64) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("listkeeper: replies queued, not sent: {e}");
            return;
        }
    };
    runtime.block_on(async {
        let sender = match Sender::new(&ctx.config.server.outbound) {
            Ok(sender) => sender,
            Err(e) => {
                eprintln!("listkeeper: replies queued, not sent: {e}");
                return;
            }
        };
        for batch in batches {
            match ctx.outbox.send(&sender, batch, now).await {
                Ok(Sent::Done) => {}
                Ok(Sent::Deferred(why)) => {
                    eprintln!("listkeeper: reply queued for a later try: {why}")
                }
                Ok(Sent::Failed(why)) => {
                    eprintln!("listkeeper: reply refused for good, moved to outbox/failed: {why}")
                }
                Err(e) => eprintln!("listkeeper: reply queued, outbox not updated: {e}"),
            }
        }
        if let Err(e) = ctx.outbox.sync() {
            eprintln!("listkeeper: replies sent, their record not saved (may be sent again): {e}");
        }
    });
}

/// 75 beats 65/67 beats 0: a retry must never be lost to a bounce.
pub(super) fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        EX_TEMPFAIL => 3,
        EX_DATAERR | EX_NOUSER => 2,
        _ => 1,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(
            crate::message::redact_recipient("sm-cop-confirm+k1abc@listserv.example.gov"),
            "sm-cop-confirm+…@listserv.example.gov"
        );
        assert_eq!(
            crate::message::redact_recipient("sm-cop-join@listserv.example.gov"),
            "sm-cop-join@listserv.example.gov"
        );
    }

    #[test]
    fn a_retry_is_never_lost_to_a_bounce() {
        assert_eq!(worse(EX_OK, EX_NOUSER), EX_NOUSER);
        assert_eq!(worse(EX_TEMPFAIL, EX_NOUSER), EX_TEMPFAIL);
        assert_eq!(worse(EX_DATAERR, EX_TEMPFAIL), EX_TEMPFAIL);
        assert_eq!(worse(EX_DATAERR, EX_OK), EX_DATAERR);
    }
}
