//! `listkeeper outbox [--retry]`: what waits to be sent, and sending it.

use crate::config::Config;
use crate::outbox::{Outbox, Sent};
use crate::sender::Sender;
use crate::statelog::StateLog;
use anyhow::{Context as _, Result, bail};
use std::sync::Arc;

/// Lists the queue; with `retry`, tries every queued batch now.
pub(super) fn run(config: &Config, retry: bool) -> Result<()> {
    let state = &config.server.state_dir;
    let log = StateLog::open(state).context("opening the state log")?;
    let outbox = Outbox::open(state, Arc::new(log)).context("opening the outbox")?;
    let queued = outbox.list().context("reading the outbox")?;
    if !retry {
        if queued.is_empty() {
            println!("the outbox is empty");
        }
        for b in &queued {
            let to: Vec<&str> = b
                .mails
                .iter()
                .filter(|m| !m.sent)
                .map(|m| m.mail.to.as_str())
                .collect();
            println!(
                "{}  list {}  to {}  attempts {}  last error: {}",
                b.key,
                b.list.as_deref().unwrap_or("-"),
                to.join(", "),
                b.attempts,
                b.last_error.as_deref().unwrap_or("-")
            );
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let now = super::deliver::unix_now();
    // The pooled SMTP transport lives and dies inside the runtime.
    let (sent, deferred, failed) = runtime.block_on(async {
        let sender = Sender::new(&config.server.outbound).context("setting up the transport")?;
        let (mut sent, mut deferred, mut failed) = (0, 0, 0);
        for batch in queued {
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
    })?;
    println!("sent {sent}, deferred {deferred}, failed {failed}");
    if deferred + failed > 0 {
        bail!("{} batch(es) not sent", deferred + failed);
    }
    Ok(())
}
