//! The owners' notifications (issue 17, step 1), with the clock in the test's hand:
//! `notify = "each"` mails with the member's reply, the daily summary (once, and
//! never empty), reminders of requests held longer than `remind_after`, and the
//! `notify-owners` command through the binary.

use crate::support::{Site, header, stdout, token_of};
use listkeeper::config::Config;
use listkeeper::pipeline::{self, Context, Delivery, Outcome};

const D: &str = "listserv.example.gov";
const DAY: u64 = 86_400;
const T: u64 = 1_800_000_000;
const OWNER: &str = "socialgov@example.gov";
const LIST: &str = "lists/sm-cop/list.toml";

fn context(site: &Site) -> Context {
    Context::open(Config::load(&site.config()).unwrap()).unwrap()
}

/// The mails a message from `from` to `to@D` at `now` is answered with.
fn mail(ctx: &Context, to: &str, from: &str, subject: &str, now: u64) -> Vec<String> {
    let raw = format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{now}.{to}@x>\r\n\r\n");
    let to = format!("{to}@{D}");
    let delivery = Delivery {
        envelope_from: Some(from),
        recipient: &to,
        raw: raw.as_bytes(),
    };
    match pipeline::handle(ctx, &delivery, now) {
        Outcome::Done(batch) => batch.map_or_else(Vec::new, |b| {
            b.mails.iter().map(|m| m.mail.message.clone()).collect()
        }),
        other => panic!("{other:?}"),
    }
}

/// Joins `address` (the example list confirms first) at `now`: every mail of the
/// confirmation's answer.
fn join(ctx: &Context, address: &str, now: u64) -> Vec<String> {
    let ask = mail(ctx, "sm-cop-join", address, "join", now);
    let token = token_of(&ask[0]);
    mail(
        ctx,
        &format!("sm-cop-confirm+{token}"),
        address,
        "ok",
        now + 1,
    )
}

fn to(m: &str) -> String {
    header(m, "To").unwrap()
}

/// The mails of the batches a notification pass queued.
fn summaries(ctx: &Context, now: u64, force: bool) -> Vec<String> {
    let queued = pipeline::notify_owners(ctx, now, force).unwrap();
    (queued.batches.iter())
        .flat_map(|b| b.mails.iter().map(|m| m.mail.message.clone()))
        .collect()
}

#[test]
fn notify_each_mails_the_owners_with_the_members_reply() {
    let site = Site::new();
    site.edit(LIST, "unsubscribe = \"confirm\"", "unsubscribe = \"open\"");
    site.edit(LIST, "notify = \"daily\"", "notify = \"each\"");
    let ctx = context(&site);
    let mails = join(&ctx, "new.one@agency.gov", T);
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let owner = mails.iter().find(|m| to(m) == OWNER).unwrap();
    assert!(mails.iter().any(|m| to(m) == "new.one@agency.gov"));
    assert_eq!(
        header(owner, "Subject").as_deref(),
        Some("new.one@agency.gov joined SM-COP")
    );
    assert!(owner.contains("confirmed their request"), "{owner}");
    let left = mail(&ctx, "sm-cop-leave", "new.one@agency.gov", "leave", T + 60);
    let owner = left.iter().find(|m| to(m) == OWNER).unwrap();
    assert!(
        owner.contains("new.one@agency.gov has left SM-COP"),
        "{owner}"
    );
    // A confirmation request is no event: the owners hear nothing of it.
    let ask = mail(&ctx, "sm-cop-join", "other@agency.gov", "join", T + 120);
    assert!(ask.iter().all(|m| to(m) != OWNER), "{ask:#?}");
    // No daily summary on such a list.
    assert!(summaries(&ctx, T + 2 * DAY, true).is_empty());
}

#[test]
fn a_daily_summary_is_sent_once_with_its_events_and_never_empty() {
    let site = Site::new();
    let ctx = context(&site);
    // Nothing happened: nothing is sent, even when asked for now.
    assert!(summaries(&ctx, T, false).is_empty());
    assert!(summaries(&ctx, T + 60, true).is_empty());
    // The default is daily: the member's reply goes alone.
    let mails = join(&ctx, "new.one@agency.gov", T + 120);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(summaries(&ctx, T + 3600, false).is_empty(), "not due yet");
    let sent = summaries(&ctx, T + DAY + 120, false);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(to(&sent[0]), OWNER);
    assert!(sent[0].contains("Joined (1):"), "{}", sent[0]);
    assert!(sent[0].contains("new.one@agency.gov"), "{}", sent[0]);
    assert!(!sent[0].contains("Left"), "{}", sent[0]);
    // A restart neither repeats it nor loses the mark.
    drop(ctx);
    let ctx = context(&site);
    assert!(summaries(&ctx, T + DAY + 180, false).is_empty());
    // The next day had nothing in it: no mail.
    assert!(summaries(&ctx, T + 2 * DAY + 180, false).is_empty());
    let audit = site.audit();
    assert!(audit.iter().all(|r| r["outcome"] != "rate-limit:total"));
}

#[test]
fn a_request_held_longer_than_remind_after_is_named_again() {
    let site = Site::new();
    site.edit(
        LIST,
        "\nsubscribe = \"confirm\"",
        "\nsubscribe = \"moderate\"",
    );
    let ctx = context(&site);
    // Held for the owners, who are asked at once.
    let held = mail(&ctx, "sm-cop-join", "pat@contractor.example.com", "join", T);
    assert!(held.iter().any(|m| to(m) == OWNER), "{held:#?}");
    // The first summary names the new request ...
    let first = summaries(&ctx, T + 60, false);
    assert_eq!(first.len(), 1, "{first:#?}");
    assert!(first[0].contains("Waiting for you (1)"), "{}", first[0]);
    assert!(
        first[0].contains("pat@contractor.example.com"),
        "{}",
        first[0]
    );
    // ... the next one, a day on, has nothing new to say ...
    assert!(summaries(&ctx, T + DAY + 60, false).is_empty());
    // ... and once it has waited remind_after (2 days) it is named again.
    let again = summaries(&ctx, T + 2 * DAY + 90, false);
    assert_eq!(again.len(), 1, "{again:#?}");
    assert!(
        again[0].contains("pat@contractor.example.com"),
        "{}",
        again[0]
    );
    assert!(again[0].contains("approve "), "{}", again[0]);
}

#[test]
fn notify_each_reminds_of_held_requests_and_tells_of_lapses() {
    let site = Site::new();
    site.edit(
        LIST,
        "\nsubscribe = \"confirm\"",
        "\nsubscribe = \"moderate\"",
    );
    site.edit(LIST, "notify = \"daily\"", "notify = \"each\"");
    site.edit(
        LIST,
        "remind_after = \"2 days\"",
        "remind_after = \"1 day\"",
    );
    let ctx = context(&site);
    mail(&ctx, "sm-cop-join", "pat@contractor.example.com", "join", T);
    let queued = pipeline::notify_owners(&ctx, T + 3600, false).unwrap();
    assert_eq!(queued.reminders, 0);
    let queued = pipeline::notify_owners(&ctx, T + DAY + 1, false).unwrap();
    assert_eq!(queued.reminders, 1);
    let reminder = &queued.batches[0].mails[0].mail.message;
    assert_eq!(to(reminder), OWNER);
    assert!(reminder.contains("still wait for you"), "{reminder}");
    assert_eq!(
        pipeline::notify_owners(&ctx, T + DAY + 2, false)
            .unwrap()
            .reminders,
        0
    );
    // Nobody decides: the request lapses, and the owners are told.
    assert_eq!(pipeline::sweep_expired(&ctx, T + 8 * DAY).unwrap(), 1);
    let out = site.run(&["outbox"]);
    assert!(stdout(&out).contains("notify/lapsed/"), "{}", stdout(&out));
}

#[test]
fn notify_owners_sends_the_summary_through_the_binary() {
    let site = Site::new();
    let out = site.run(&["notify-owners", "--now"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("0 summary(ies)"), "{}", stdout(&out));
    assert!(site.mail_files().is_empty());
    assert!(
        site.run(&["add", "sm-cop", "added@agency.gov"])
            .status
            .success()
    );
    // A summary covers the seconds before it: the add's is over.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = site.run(&["notify-owners", "--now"]);
    assert!(stdout(&out).contains("1 summary(ies)"), "{}", stdout(&out));
    let files = site.mail_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = &files[0];
    assert_eq!(to(text), OWNER);
    assert!(text.contains("added@agency.gov"), "{text}");
    assert!(text.contains("added by an owner or an admin"), "{text}");
    // Asked again at once: nothing new, nothing sent.
    let out = site.run(&["notify-owners", "--now"]);
    assert!(stdout(&out).contains("0 summary(ies)"), "{}", stdout(&out));
    assert_eq!(site.mail_files().len(), 1);
}

#[test]
fn notify_none_tells_the_owners_nothing_but_held_requests() {
    let site = Site::new();
    site.edit(LIST, "notify = \"daily\"", "notify = \"none\"");
    let ctx = context(&site);
    let mails = join(&ctx, "new.one@agency.gov", T);
    assert!(mails.iter().all(|m| to(m) != OWNER), "{mails:#?}");
    assert!(summaries(&ctx, T + 2 * DAY, false).is_empty());
    assert!(summaries(&ctx, T + 2 * DAY, true).is_empty());
    // A held request still asks the owners at once.
    let held = mail(
        &ctx,
        "sm-cop-join",
        "pat@contractor.example.com",
        "join",
        T + 10,
    );
    let token = token_of(&held[0]);
    let asked = mail(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "pat@contractor.example.com",
        "ok",
        T + 20,
    );
    assert!(asked.iter().any(|m| to(m) == OWNER), "{asked:#?}");
}
