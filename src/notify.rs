//! OWNERS' NOTIFICATIONS that no request sends: the daily summary of a
//! `notify = "daily"` list, the reminders of a `notify = "each"` list, and the lapses
//! the upkeep finds on one. (A `notify = "each"` list's joins and leaves are told
//! with the member's reply, in the same commit: see [`crate::replies::Replies`].)
//!
//! A summary says what the audit log recorded about the list since the last one
//! (joins, leaves, lapses, declined requests, bounces, replies held back by the
//! limits) and names the requests waiting for the owners. Its "last summary" mark is
//! a `seen` line of the state log, `notify/LIST` at the time the summary covers up
//! to, written in the same append as the summary's outbox batch: a restart neither
//! repeats a summary nor skips one. An empty summary is not sent; its mark moves on.
//!
//! A held request is named again once it has waited `remind_after` since it was last
//! named (its record's `sends`). Every mail goes to the list's `owners` only, through
//! the outbox, counted against the hourly total of `[limits]`.

use crate::actions::{Notice, table};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::commit::commit;
use crate::config::{ListConfig, Notify};
use crate::context::Context;
use crate::lang::Lang;
use crate::records::{Batch, Pending};
use crate::replies::Replies;
use crate::reply::Template;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::path::Path;

const DAY: u64 = 86_400;

/// A summary covers the audit log up to this long before it is made: a request
/// handled meanwhile (its `now` taken a moment earlier) writes its line in time for
/// the next summary rather than falling between two.
const SETTLE: u64 = 30;

/// What a pass of [`notify_owners`] queued.
#[derive(Debug, Default)]
pub struct Queued {
    /// Daily summaries queued.
    pub summaries: usize,
    /// Reminder mails of `notify = "each"` lists queued.
    pub reminders: usize,
    /// The batches, for the sender to try at once.
    pub batches: Vec<Batch>,
}

/// Queues the summaries that are due (a day after the list's last; every
/// `notify = "daily"` list's at once with `force`) and the reminders of
/// `notify = "each"` lists.
pub fn notify_owners(ctx: &Context, now: u64, force: bool) -> io::Result<Queued> {
    let mut queued = Queued::default();
    for list in ctx.config.lists.values() {
        match list.notify {
            Notify::Daily => {
                if let Some(batch) = summary(ctx, list, now, force)? {
                    queued.summaries += 1;
                    queued.batches.push(batch);
                }
            }
            Notify::Each => {
                if let Some(batch) = reminders(ctx, list, now)? {
                    queued.reminders += 1;
                    queued.batches.push(batch);
                }
            }
            Notify::None => {}
        }
    }
    Ok(queued)
}

/// The state log key of a list's "last summary" mark.
fn mark_key(list: &ListConfig) -> String {
    format!("notify/{}", list.id)
}

/// The list's summary, when due and not empty.
fn summary(ctx: &Context, list: &ListConfig, now: u64, force: bool) -> io::Result<Option<Batch>> {
    let key = mark_key(list);
    let mark = ctx.outbox.seen_at(&key)?;
    if !force && mark.is_some_and(|m| now < m + DAY) {
        return Ok(None);
    }
    let from = mark.unwrap_or(now.saturating_sub(DAY));
    // Asked for now, it covers up to this second (whose lines go to the next); by
    // itself, it lets the last moments settle first.
    let upto = if force {
        now
    } else {
        now.saturating_sub(SETTLE)
    }
    .max(from);
    let events = read_events(ctx.audit.path(), list.id.as_str(), from, upto)?;
    let waiting = waiting(ctx, list, Some(from), now)?;
    let lang = Lang::of_list(Some(list));
    let mut text = events_text(&events, lang);
    if !waiting.is_empty() {
        let lines: Vec<String> = waiting.iter().map(|(_, line)| line.clone()).collect();
        let how = lang.say(
            "Waiting for you ({n}), approve or reject by mail to {to}:",
            "Solicitudes pendientes de su decisión ({n}); apruébelas o rechácelas por correo a {to}:",
        );
        let to = format!("{}-request@{}", list.id, ctx.config.server.domain);
        let how = how
            .replace("{n}", &waiting.len().to_string())
            .replace("{to}", &to);
        text.push(format!("{how}\n{}", lines.join("\n")));
    }
    if text.is_empty() {
        ctx.outbox.mark_seen(&key, upto)?;
        ctx.sync()?;
        return Ok(None);
    }
    let notice = Notice::new(
        Template::SummaryOwner,
        lang.say("Daily summary of {}", "Resumen diario de {}")
            .replace("{}", &list.name),
    )
    .with("from", rfc3339(from))
    .with("to", rfc3339(upto))
    .with("events", text.join("\n\n"));
    let batch = format!("{key}/{upto}");
    let mark = Mark {
        key: &key,
        was: mark,
        at: upto,
    };
    send(ctx, list, &notice, &waiting, batch, Some(mark), now)
}

/// A `notify = "each"` list's reminder of the held requests due one.
fn reminders(ctx: &Context, list: &ListConfig, now: u64) -> io::Result<Option<Batch>> {
    let waiting = waiting(ctx, list, None, now)?;
    if waiting.is_empty() {
        return Ok(None);
    }
    let lines: Vec<String> = waiting.iter().map(|(_, line)| line.clone()).collect();
    let notice = Notice::new(
        Template::WaitingOwner,
        Lang::of_list(Some(list))
            .say(
                "Requests waiting for you on {}",
                "Solicitudes pendientes de su decisión en {}",
            )
            .replace("{}", &list.name),
    )
    .with("waiting", lines.join("\n"));
    let key = format!("{}/remind/{now}", mark_key(list));
    send(ctx, list, &notice, &waiting, key, None, now)
}

/// Tells every owner of `list` in a batch keyed `key` (with the summary's mark), the
/// `waiting` requests recorded as named; commits. `None` when the limits let no mail
/// through (the requests are then named in the next mail).
/// A summary's "last summary" mark: moved from `was` to `at` as the summary is queued.
struct Mark<'k> {
    key: &'k str,
    was: Option<u64>,
    at: u64,
}

fn send(
    ctx: &Context,
    list: &ListConfig,
    notice: &Notice,
    waiting: &[(Pending, String)],
    key: String,
    mark: Option<Mark<'_>>,
    now: u64,
) -> io::Result<Option<Batch>> {
    let mut replies = Replies::default();
    // Replying to a mail that names waiting requests goes to `L-request@`.
    replies.tell_owners(&ctx.config, list, "", notice, !waiting.is_empty());
    let done = replies.finish(ctx, None, now).map_err(io::Error::other)?;
    if done.mails.is_empty() {
        if let Some(mark) = mark {
            ctx.outbox.mark_seen(mark.key, mark.at)?;
        }
        ctx.sync()?;
        return Ok(None);
    }
    let batch = Batch::new(key, Some(list.id.to_string()), done.mails, now);
    let queued = match mark {
        // Another process (the daemon, or a cron job's `notify-owners`) sent this
        // summary since its mark was read: not twice.
        Some(mark) => (ctx.outbox).queue_marked(&batch, mark.key, mark.was, mark.at)?,
        None => ctx.outbox.queue(&batch).map(|()| true)?,
    };
    if queued {
        named(ctx, waiting, now)?;
    }
    ctx.sync()?;
    Ok(queued.then_some(batch))
}

/// The requests held on `list` to name in the next mail, each with its line: those
/// held since `new_since` (when given), and those not named for `remind_after`.
fn waiting(
    ctx: &Context,
    list: &ListConfig,
    new_since: Option<u64>,
    now: u64,
) -> io::Result<Vec<(Pending, String)>> {
    let mut out = Vec::new();
    for held in ctx.held.all(list.id.as_str())? {
        let Ok(address) = EmailAddress::parse(&held.address) else {
            continue;
        };
        let last = held.sends.iter().copied().fold(held.created, u64::max);
        let new = new_since.is_some_and(|since| held.created >= since && held.sends.is_empty());
        let due = now >= last.saturating_add(list.remind_after.as_secs());
        if held.expires < now || !(new || due) {
            continue;
        }
        let Some(token) = ctx.keys.token_for(&held, &address.key()) else {
            continue;
        };
        let lang = Lang::of_list(Some(list));
        let name = (held.name.as_deref()).unwrap_or(lang.say("no name given", "sin nombre"));
        let since = lang.say("waiting since", "pendiente desde el");
        let created = rfc3339(held.created);
        let line = format!(
            "  {} ({name}), {since} {created}: approve {token}",
            held.address
        );
        out.push((held, line));
    }
    Ok(out)
}

/// Records that the held requests were named at `now` (durable with the commit).
fn named(ctx: &Context, waiting: &[(Pending, String)], now: u64) -> io::Result<()> {
    for (held, _) in waiting {
        let Ok(address) = EmailAddress::parse(&held.address) else {
            continue;
        };
        let mut held = held.clone();
        held.sends.push(now);
        ctx.held.put(&held, &address.key())?;
    }
    Ok(())
}

/// Tells the owners of each `notify = "each"` list of the requests the upkeep found
/// lapsed (`held`: one the owners never decided); commits.
pub(crate) fn lapsed(
    ctx: &Context,
    lapsed: &[(&ListConfig, String, bool)],
    now: u64,
) -> io::Result<Option<Batch>> {
    let mut replies = Replies::default();
    for (list, address, held) in lapsed {
        if list.notify == Notify::Each {
            let notice = table::owners_lapsed(list, address, *held);
            replies.tell_owners(&ctx.config, list, address, &notice, false);
        }
    }
    let done = replies.finish(ctx, None, now).map_err(io::Error::other)?;
    if done.mails.is_empty() {
        return Ok(None);
    }
    commit(
        ctx,
        format!("notify/lapsed/{now}"),
        done.list,
        done.mails,
        now,
    )
}

/// One audit line, as much of it as a summary needs.
#[derive(Debug, Deserialize)]
struct Event {
    time: String,
    list: String,
    address: String,
    action: String,
    outcome: String,
    /// The owner whose command by mail it was.
    #[serde(default)]
    by: Option<String>,
}

/// The audit lines about `list` from `from` up to (not including) `upto`, in the log
/// and, when one is there, the log rotated before it (`audit.log.1`).
fn read_events(path: &Path, list: &str, from: u64, upto: u64) -> io::Result<Vec<Event>> {
    let mut out = Vec::new();
    let rotated = path.with_file_name("audit.log.1");
    for file in [rotated.as_path(), path] {
        let reader = match std::fs::File::open(file) {
            Ok(f) => io::BufReader::new(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in reader.split(b'\n') {
            let Ok(event) = serde_json::from_slice::<Event>(&line?) else {
                continue;
            };
            let at = humantime::parse_rfc3339(&event.time)
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            if event.list == list && at.is_some_and(|at| at >= from && at < upto) {
                out.push(event);
            }
        }
    }
    Ok(out)
}

/// The summary's sections, in order, each with its heading, one line an event, in
/// `lang`.
fn events_text(events: &[Event], lang: Lang) -> Vec<String> {
    const TITLES: [(&str, &str); 6] = [
        ("Joined", "Altas"),
        ("Left", "Bajas"),
        ("Lapsed", "Solicitudes vencidas"),
        ("Declined", "Solicitudes rechazadas"),
        ("Bounces", "Rebotes"),
        (
            "Replies held back by the limits",
            "Respuestas retenidas por los límites",
        ),
    ];
    let mut sections: [Vec<String>; 6] = Default::default();
    let mut limited: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for e in events {
        if e.action == "reply" && e.outcome.starts_with("rate-limit") {
            *limited.entry((&e.address, &e.outcome)).or_default() += 1;
        } else if let Some((section, en, es)) = kind(&e.action, &e.outcome) {
            let how = lang.say(en, es);
            let by =
                e.by.as_deref()
                    .map(|by| format!(" ({by})"))
                    .unwrap_or_default();
            sections[section].push(format!("  {}  {}  {how}{by}", e.address, e.time));
        }
    }
    sections[5] = (limited.into_iter())
        .map(|((address, why), n)| {
            let unsent = lang.say("not sent", "sin enviar");
            format!("  {address}  {n} {unsent} ({why})")
        })
        .collect();
    (TITLES.iter().zip(sections))
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(&(en, es), lines)| {
            let title = lang.say(en, es);
            format!("{title} ({}):\n{}", lines.len(), lines.join("\n"))
        })
        .collect()
}

/// An audit line's section in the summary (by index into its titles) and how it
/// reads in English and in Spanish; `None` for the lines a summary leaves out.
fn kind(action: &str, outcome: &str) -> Option<(usize, &'static str, &'static str)> {
    const BY_ADMIN: &str = "por un administrador de la lista o del servidor";
    Some(match (action, outcome) {
        ("subscribe", "added") => (0, "joined (open list)", "alta (lista abierta)"),
        ("confirm", "added") => (0, "confirmed their request", "confirmó su solicitud"),
        ("approve", "added") => (0, "approved by an owner", "aprobada por un administrador"),
        ("add", "added") => (0, "added by an owner or an admin", BY_ADMIN),
        (_, "added") => (0, "added", "alta"),
        ("unsubscribe", "removed") => (1, "left (open unsubscribe)", "baja (sin confirmación)"),
        ("confirm", "removed") => (1, "confirmed leaving", "confirmó la baja"),
        ("remove", "removed") => (1, "removed by an owner or an admin", BY_ADMIN),
        ("erase", "removed") => (
            1,
            "asked to be erased: their address is not kept",
            "pidió que se borraran sus datos: su dirección no se guarda",
        ),
        ("complaint", "removed") => (
            1,
            "marked the list's mail as spam: unsubscribed",
            "marcó el correo de la lista como spam: baja",
        ),
        ("bounce", "removed:bounces") => (
            1,
            "mail bounced and the notices went unanswered",
            "su correo rebotaba y los avisos quedaron sin respuesta",
        ),
        (_, "removed") => (1, "removed", "baja"),
        ("confirm", "expired") => (2, "never confirmed", "no se confirmó"),
        ("moderate", "expired") => (
            2,
            "held, and nobody decided in time",
            "retenida, y nadie decidió a tiempo",
        ),
        ("reject", "rejected") => (3, "rejected by an owner", "rechazada por un administrador"),
        ("bounce", "member-bounced") => (
            4,
            "mail to the member bounced",
            "rebotó un mensaje al miembro",
        ),
        ("bounce", "pending-cancelled") => (
            4,
            "the confirmation bounced; request cancelled",
            "rebotó la confirmación; solicitud anulada",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, outcome: &str, address: &str) -> Event {
        Event {
            time: "2026-12-04T10:00:00Z".into(),
            list: "sm-cop".into(),
            address: address.into(),
            action: action.into(),
            outcome: outcome.into(),
            by: None,
        }
    }

    #[test]
    fn sections_say_what_happened_and_nothing_else() {
        let none = [event("subscribe", "confirmation-sent", "a@b.gov")];
        assert!(events_text(&none, Lang::En).is_empty());
        let events = [
            event("confirm", "added", "a@b.gov"),
            event("unsubscribe", "removed", "c@d.gov"),
            event("reply", "rate-limit:address", "e@f.gov"),
            event("reply", "rate-limit:address", "e@f.gov"),
            event("moderate", "expired", "g@h.gov"),
        ];
        let text = events_text(&events, Lang::En);
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("Joined (1):\n  a@b.gov"), "{}", text[0]);
        assert!(text[1].starts_with("Left (1):"), "{}", text[1]);
        assert!(text[2].contains("nobody decided"), "{}", text[2]);
        assert!(text[3].contains("e@f.gov  2 not sent"), "{}", text[3]);
        // A Spanish list's owners read it in Spanish.
        let text = events_text(&events, Lang::Es);
        assert!(text[0].starts_with("Altas (1):\n  a@b.gov"), "{}", text[0]);
        assert!(text[0].contains("confirmó su solicitud"), "{}", text[0]);
        assert!(text[3].contains("e@f.gov  2 sin enviar"), "{}", text[3]);
    }

    #[test]
    fn events_are_read_in_their_window_from_both_logs() {
        let dir = tempfile::tempdir().unwrap();
        let line = |t: &str, list: &str| {
            format!(
                "{{\"time\":\"{t}\",\"list\":\"{list}\",\"address\":\"a@b.gov\",\"action\":\"confirm\",\"outcome\":\"added\",\"rule\":null,\"via\":\"token\",\"message_id\":null}}\n"
            )
        };
        let at = |t: &str| {
            humantime::parse_rfc3339(t)
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        std::fs::write(
            dir.path().join("audit.log.1"),
            line("2026-12-03T10:00:00Z", "sm-cop"),
        )
        .unwrap();
        let log = dir.path().join("audit.log");
        let text = [
            line("2026-12-04T09:00:00Z", "sm-cop"),
            line("2026-12-04T09:00:00Z", "other"),
            "not json\n".to_owned(),
            line("2026-12-04T11:00:00Z", "sm-cop"),
        ]
        .concat();
        std::fs::write(&log, text).unwrap();
        let from = at("2026-12-03T10:00:00Z");
        let upto = at("2026-12-04T11:00:00Z");
        let got = read_events(&log, "sm-cop", from, upto).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].time, "2026-12-04T09:00:00Z");
    }
}
