//! `listkeeper outbox [--retry | --retry-failed ID | --drop ID]`: what waits to be
//! sent and what was refused for good (in `outbox/failed/`), and acting on either.

use crate::config::Config;
use crate::outbox::{Batch, Outbox, Sent};
use crate::sender::Sender;
use crate::statelog::StateLog;
use anyhow::{Context as _, Result, bail};
use std::sync::Arc;

/// Lists the queue and the failed replies; with `retry`, tries every queued batch now.
pub(super) fn run(config: &Config, retry: bool) -> Result<()> {
    let outbox = open(config)?;
    let queued = outbox.list().context("reading the outbox")?;
    if !retry {
        let failed = outbox.failed().context("reading outbox/failed")?;
        if queued.is_empty() && failed.is_empty() {
            println!("the outbox is empty");
        }
        for b in &queued {
            println!(
                "{}  list {}  to {}  attempts {}  last error: {}",
                b.key,
                b.list.as_deref().unwrap_or("-"),
                unsent(b),
                b.attempts,
                b.last_error.as_deref().unwrap_or("-")
            );
        }
        for b in &failed {
            println!(
                "{}  failed  list {}  to {}  after {}: {}",
                b.key,
                b.list.as_deref().unwrap_or("-"),
                unsent(b),
                plural(b.attempts as usize, "attempt", "attempts"),
                b.last_error.as_deref().unwrap_or("-")
            );
        }
        if !failed.is_empty() {
            println!(
                "{} refused for good: `listkeeper outbox --retry-failed ID` queues one again, `--drop ID` deletes it",
                plural(failed.len(), "reply", "replies")
            );
        }
        return Ok(());
    }
    let (sent, deferred, failed) = send(config, &outbox, queued)?;
    println!("sent {sent}, deferred {deferred}, failed {failed}");
    if deferred + failed > 0 {
        bail!("{} not sent", plural(deferred + failed, "batch", "batches"));
    }
    Ok(())
}

/// `--retry-failed ID`: the failed batch back in the queue, tried at once.
pub(super) fn retry_failed(config: &Config, key: &str) -> Result<()> {
    let outbox = open(config)?;
    let now = crate::clock::unix_now();
    let Some(batch) = outbox
        .retry_failed(key, now)
        .with_context(|| format!("queueing {key} again"))?
    else {
        bail!("no failed reply `{key}` in the outbox (see `listkeeper outbox`)");
    };
    println!("{key}: queued again");
    let (sent, _, _) = send(config, &outbox, vec![batch])?;
    if sent == 0 {
        bail!("{key} was not sent; `listkeeper outbox` shows why");
    }
    println!("{key}: sent");
    Ok(())
}

/// `--drop ID`: the failed batch deleted, with an audit line.
pub(super) fn drop_failed(config: &Config, key: &str) -> Result<()> {
    let outbox = open(config)?;
    if outbox
        .drop_failed(key, crate::clock::unix_now())
        .with_context(|| format!("dropping {key}"))?
        .is_none()
    {
        bail!("no failed reply `{key}` in the outbox (see `listkeeper outbox`)");
    }
    println!("{key}: dropped");
    Ok(())
}

fn open(config: &Config) -> Result<Outbox> {
    let state = &config.server.state_dir;
    let log = StateLog::open(state).context("opening the state log")?;
    Outbox::open(state, Arc::new(log)).context("opening the outbox")
}

/// The recipients of a batch's mails not yet accepted.
fn unsent(b: &Batch) -> String {
    let to: Vec<&str> = b
        .mails
        .iter()
        .filter(|m| !m.sent)
        .map(|m| m.mail.to.as_str())
        .collect();
    to.join(", ")
}

/// Tries each batch now: (sent, deferred, failed).
fn send(config: &Config, outbox: &Outbox, batches: Vec<Batch>) -> Result<(usize, usize, usize)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let now = crate::clock::unix_now();
    // The pooled SMTP transport lives and dies inside the runtime.
    runtime.block_on(async {
        let sender = Sender::new(&config.server.outbound).context("setting up the transport")?;
        let (mut sent, mut deferred, mut failed) = (0, 0, 0);
        for batch in batches {
            let key = batch.key.clone();
            match outbox.send(&sender, batch, now).await? {
                Sent::Done => sent += 1,
                Sent::Deferred(why) => {
                    deferred += 1;
                    eprintln!("{key}: deferred: {why}");
                }
                Sent::Failed(why) => {
                    failed += 1;
                    eprintln!("{key}: refused for good, moved to outbox/failed: {why}");
                }
            }
        }
        outbox.sync().context("saving the outbox")?;
        anyhow::Ok((sent, deferred, failed))
    })
}

/// "1 reply", "2 replies".
pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
