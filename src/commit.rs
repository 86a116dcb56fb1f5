//! COMMIT: the one write of what a request decided, for every front end.
//!
//! The actions have appended their state lines (roster changes, requests) and audit
//! lines as they decided; the commit adds the request's replies as one outbox batch
//! under the request's dedupe key (or the key alone when there is nothing to send)
//! and then makes it all durable with [`Context::sync`]: one fsync of the state log
//! and one of the audit log. Only after that may a front end say yes (LMTP `250`,
//! exit 0, HTTP `200`).

use crate::context::Context;
use crate::outbox::Batch;
use crate::records::Outgoing;
use std::io;

/// Queues `mails` as one batch keyed `key` (about `list`), or marks `key` seen when
/// there are none; then syncs. Returns the batch, for the sender to try at once.
pub(crate) fn commit(
    ctx: &Context,
    key: String,
    list: Option<String>,
    mails: Vec<Outgoing>,
    now: u64,
) -> io::Result<Option<Batch>> {
    let batch = if mails.is_empty() {
        ctx.outbox.mark_seen(&key, now)?;
        None
    } else {
        let batch = Batch::new(key, list, mails, now);
        ctx.outbox.queue(&batch)?;
        Some(batch)
    };
    ctx.sync()?;
    Ok(batch)
}
