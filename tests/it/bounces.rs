//! Issue 16, bounce scores: verified DSNs raise a member's score at most once a day,
//! policy rejections count apart, and at `[bounce] threshold` the member becomes
//! nomail (`why = "bounces"`) and leaves `include_file`.

use crate::support::{Site, header, token_of};
use listkeeper::config::Config;
use listkeeper::pipeline::{self, Context, Delivery, Outcome};

const D: &str = "listserv.example.gov";
const DAY: u64 = 86_400;
const T0: u64 = 1_800_000_000;

fn context(site: &Site) -> Context {
    Context::open(Config::load(&site.config()).unwrap()).unwrap()
}

/// `raw` to `to@D` at `now`; the replies sent.
fn handle(ctx: &Context, to: &str, from: &str, raw: &str, now: u64) -> Vec<String> {
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

fn mail(from: &str, subject: &str, id: &str) -> String {
    format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n")
}

/// A Postfix-style DSN for `who` with `status`, returning the headers of our mail
/// `returned` (its Message-ID carries the bounce tag).
fn dsn(who: &str, status: &str, diagnostic: &str, returned: &str, id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.agency.gov\r\nSubject: Undelivered Mail Returned to Sender\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\nMessage-ID: <{id}>\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nsorry\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.agency.gov\r\n\r\nFinal-Recipient: rfc822; {who}\r\nAction: failed\r\nStatus: {status}\r\n\
Diagnostic-Code: smtp; {diagnostic}\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {returned}\r\n\r\n--B--\r\n"
    )
}

/// Joins `who` (confirmed), returning the welcome's Message-ID: a tag made for them.
fn join(ctx: &Context, who: &str, n: u32) -> String {
    let ask = handle(
        ctx,
        "sm-cop-join",
        who,
        &mail(who, "join", &format!("j{n}@x")),
        T0,
    );
    let token = token_of(&ask[0]);
    let welcome = handle(
        ctx,
        &format!("sm-cop-confirm+{token}"),
        who,
        &mail(who, "ok", &format!("o{n}@x")),
        T0 + 1,
    );
    header(&welcome[0], "Message-ID").unwrap()
}

fn outcomes(site: &Site, who: &str) -> Vec<String> {
    site.audit()
        .iter()
        .filter(|r| r["action"] == "bounce" && r["address"] == who)
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hard_bounces_on_five_days_make_a_member_nomail_and_policy_ones_count_apart() {
    let site = Site::new();
    let ctx = context(&site);
    let who = "gone.soon@agency.gov";
    let returned = join(&ctx, who, 1);
    let bounce = |status: &str, diagnostic: &str, n: u32, at: u64| {
        let raw = dsn(who, status, diagnostic, &returned, &format!("d{n}@mx"));
        handle(&ctx, "sm-cop-bounces", "", &raw, at)
    };
    let never = |mails: Vec<String>| assert!(mails.is_empty(), "never answered: {mails:?}");
    never(bounce("5.1.1", "550 5.1.1 no such user", 1, T0 + 10));
    never(bounce("5.1.1", "550 5.1.1 no such user", 2, T0 + 20));
    never(bounce(
        "5.7.1",
        "550 5.7.1 rejected by DMARC policy",
        3,
        T0 + DAY,
    ));
    never(bounce(
        "5.0.0",
        "550 message rejected: SPF fail",
        4,
        T0 + 2 * DAY,
    ));
    for day in 3..=5 {
        never(bounce(
            "5.2.1",
            "550 mailbox disabled",
            10 + day as u32,
            T0 + day * DAY,
        ));
    }
    // The fifth point: the owners are told (the report itself is never answered).
    let told = bounce("5.2.1", "550 mailbox disabled", 16, T0 + 6 * DAY);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        header(&told[0], "To").as_deref(),
        Some("socialgov@example.gov")
    );
    assert!(
        told[0].contains("gone.soon@agency.gov gets no more mail from SM-COP"),
        "{}",
        told[0]
    );
    assert_eq!(
        outcomes(&site, who),
        [
            "member-bounced",
            "member-bounced-today-already",
            "policy-rejection",
            "policy-rejection",
            "member-bounced",
            "member-bounced",
            "member-bounced",
            "nomail:bounces",
        ]
    );
    let roster = site.roster_text();
    assert!(
        roster.contains(&format!("\"{who}\" = {{"))
            && roster.contains(r#"mode = "nomail", why = "bounces" }"#),
        "{roster}"
    );
    let members = std::fs::read_to_string(site.var().join("sm-cop.members")).unwrap();
    assert!(!members.contains(who), "{members}");
    assert!(members.contains("jane.doe@agency.gov"), "{members}");
}

#[test]
fn a_lower_threshold_and_stale_scores_follow_the_lists_bounce_settings() {
    let site = Site::new();
    site.edit(
        "lists/sm-cop/list.toml",
        "include_file = \"../../../var/sm-cop.members\"",
        "include_file = \"../../../var/sm-cop.members\"\n\n[bounce]\nthreshold = 1.5\nstale_after = \"2 days\"",
    );
    let ctx = context(&site);
    let who = "soft.one@agency.gov";
    let returned = join(&ctx, who, 2);
    let bounce = |n: u32, at: u64| {
        let raw = dsn(
            who,
            "5.2.2",
            "552 mailbox full",
            &returned,
            &format!("s{n}@mx"),
        );
        handle(&ctx, "sm-cop-bounces", "", &raw, at);
    };
    bounce(1, T0 + 10);
    bounce(2, T0 + DAY);
    // Quiet for more than two days: the score starts again.
    bounce(3, T0 + 4 * DAY);
    assert!(!site.roster_text().contains("why = \"bounces\""));
    bounce(4, T0 + 5 * DAY);
    bounce(5, T0 + 6 * DAY);
    assert_eq!(
        outcomes(&site, who),
        [
            "member-bounced",
            "member-bounced",
            "member-bounced",
            "member-bounced",
            "nomail:bounces"
        ]
    );
    assert!(site.roster_text().contains("why = \"bounces\""));
}

#[test]
fn a_dmarc_storm_at_a_domain_scores_nobody_and_alerts_the_owners_once() {
    let site = Site::new();
    let ctx = context(&site);
    let members: Vec<(String, String)> = (0..5)
        .map(|n| {
            let who = format!("member{n}@storm.gov");
            let returned = join(&ctx, &who, 20 + n);
            (who, returned)
        })
        .collect();
    let storm = |n: usize, at: u64| {
        let (who, returned) = &members[n];
        let raw = dsn(
            who,
            "5.7.26",
            "550 5.7.26 unauthenticated mail is not accepted due to DMARC policy",
            returned,
            &format!("storm{n}-{at}@mx"),
        );
        handle(&ctx, "sm-cop-bounces", "", &raw, at)
    };
    let mut alerts = Vec::new();
    for n in 0..5 {
        alerts.extend(storm(n, T0 + 100 + 60 * n as u64));
    }
    assert_eq!(alerts.len(), 1, "one alert: {alerts:?}");
    assert_eq!(
        header(&alerts[0], "To").as_deref(),
        Some("socialgov@example.gov")
    );
    let text = &alerts[0];
    assert!(
        text.contains("to storm.gov bounced for 3 members within an hour")
            && text.contains("(status 5.7.26)"),
        "{text}"
    );
    // Still going on half an hour later: no second alert.
    assert!(storm(0, T0 + 1900).is_empty());
    assert_eq!(outcomes(&site, "member4@storm.gov"), ["incident"]);
    let alerted: Vec<_> = (site.audit().iter())
        .filter(|r| r["outcome"] == "incident-alert")
        .map(|r| r["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(alerted, ["@storm.gov"]);
    assert!(!site.roster_text().contains("why = \"bounces\""));
    let shown = bounces_json(&site);
    assert_eq!(shown["incidents"][0]["domain"], "storm.gov", "{shown}");
    assert_eq!(shown["disabled"].as_array().unwrap().len(), 0, "{shown}");
}

/// `listkeeper bounces sm-cop --json`, through the binary.
fn bounces_json(site: &Site) -> serde_json::Value {
    let out = site.run(&["bounces", "sm-cop", "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The mails an upkeep pass queued for bounces.
fn upkeep(ctx: &Context, now: u64) -> Vec<String> {
    let batches = pipeline::bounce_notices(ctx, now).unwrap();
    (batches.iter())
        .flat_map(|b| b.mails.iter().map(|m| m.mail.message.clone()))
        .collect()
}

/// sm-cop with one hard bounce to nomail, two notices a week apart.
fn quick(site: &Site) {
    site.edit(
        "lists/sm-cop/list.toml",
        "include_file = \"../../../var/sm-cop.members\"",
        "include_file = \"../../../var/sm-cop.members\"\n\n[bounce]\nthreshold = 1.0\nwarnings = 2\nwarn_every = \"7 days\"",
    );
}

#[test]
fn a_gone_mailbox_ends_disabled_warned_and_then_removed_with_the_owners_told() {
    let site = Site::new();
    quick(&site);
    let who = "gone.box@agency.gov";
    let t = T0 + 100;
    {
        let ctx = context(&site);
        let returned = join(&ctx, who, 3);
        let raw = dsn(who, "5.1.1", "550 5.1.1 no such user", &returned, "g1@mx");
        let told = handle(&ctx, "sm-cop-bounces", "", &raw, t);
        assert_eq!(
            header(&told[0], "To").as_deref(),
            Some("socialgov@example.gov")
        );
        let first = upkeep(&ctx, t + 60);
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(header(&first[0], "To").as_deref(), Some(who));
        assert!(first[0].contains("This is notice 1 of 2"), "{}", first[0]);
        assert!(first[0].contains("sm-cop-confirm+"), "{}", first[0]);
        assert!(upkeep(&ctx, t + 120).is_empty(), "once");
    }
    // A restart: the notices sent are remembered.
    let ctx = context(&site);
    assert!(upkeep(&ctx, t + 3 * DAY).is_empty(), "not a week yet");
    let second = upkeep(&ctx, t + 7 * DAY + 60);
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(second[0].contains("This is notice 2 of 2"), "{}", second[0]);
    let shown = bounces_json(&site);
    let disabled = &shown["disabled"][0];
    assert_eq!(disabled["address"], who, "{shown}");
    assert_eq!(disabled["notices"], 2, "{shown}");
    assert_eq!(disabled["next"], "removal", "{shown}");
    let text = site.run(&["bounces", "sm-cop"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("{who}  since")) && text.contains("notices sent 2"),
        "{text}"
    );
    assert!(site.roster_text().contains(who));
    let removed = upkeep(&ctx, t + 14 * DAY + 60);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(
        header(&removed[0], "To").as_deref(),
        Some("socialgov@example.gov")
    );
    assert!(
        removed[0].contains(&format!("{who} was removed from SM-COP")),
        "{}",
        removed[0]
    );
    assert!(!site.roster_text().contains(who), "{}", site.roster_text());
    assert!(upkeep(&ctx, t + 30 * DAY).is_empty());
    assert_eq!(
        outcomes(&site, who),
        [
            "nomail:bounces",
            "notice-sent:1",
            "notice-sent:2",
            "removed:bounces"
        ]
    );
}

#[test]
fn a_re_enable_token_that_lapses_is_no_lapsed_request_for_the_owners() {
    let site = Site::new();
    quick(&site);
    site.edit(
        "lists/sm-cop/list.toml",
        "notify = \"daily\"",
        "notify = \"each\"",
    );
    let ctx = context(&site);
    let who = "lapse.token@agency.gov";
    let returned = join(&ctx, who, 6);
    let raw = dsn(who, "5.1.1", "550 no such user", &returned, "l1@mx");
    handle(&ctx, "sm-cop-bounces", "", &raw, T0 + 100);
    assert_eq!(upkeep(&ctx, T0 + 200).len(), 1);
    // The token lapses (7 days): an audit line, no mail to the owners.
    assert_eq!(pipeline::sweep_expired(&ctx, T0 + 8 * DAY).unwrap(), 1);
    let out = site.run(&["outbox"]);
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(!out.contains("notify/lapsed/"), "{out}");
    assert!(
        (site.audit().iter()).any(|r| r["address"] == who && r["outcome"] == "expired"),
        "the lapse is audited"
    );
}

#[test]
fn answering_the_re_enable_notice_brings_mail_back_and_ends_the_notices() {
    let site = Site::new();
    quick(&site);
    let ctx = context(&site);
    let who = "back.again@agency.gov";
    let returned = join(&ctx, who, 4);
    let raw = dsn(who, "5.2.1", "550 mailbox disabled", &returned, "b1@mx");
    handle(&ctx, "sm-cop-bounces", "", &raw, T0 + 100);
    let notice = upkeep(&ctx, T0 + 200);
    let token = token_of(&notice[0]);
    let done = handle(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        who,
        &mail(who, "Re: back", "back@x"),
        T0 + 300,
    );
    assert!(!done.is_empty());
    assert!(
        !site.roster_text().contains("why = \"bounces\""),
        "{}",
        site.roster_text()
    );
    assert!(upkeep(&ctx, T0 + 8 * DAY).is_empty());
    assert!(upkeep(&ctx, T0 + 30 * DAY).is_empty());
    assert!(site.roster_text().contains(who));
    let members = std::fs::read_to_string(site.var().join("sm-cop.members")).unwrap();
    assert!(members.contains(who), "{members}");
}

/// A Microsoft JMRP-shaped ARF report (RFC 5965) returning our mail `returned`.
fn arf(returned: &str) -> String {
    include_str!("../data/arf-abuse.eml").replace("{returned}", returned)
}

#[test]
fn an_arf_complaint_unsubscribes_the_member_and_mails_nobody() {
    let site = Site::new();
    let ctx = context(&site);
    let who = "spam.clicker@agency.gov";
    let returned = join(&ctx, who, 5);
    // Forged: a report naming the member but returning no mail of ours to them.
    let forged = arf("<someone.else@hotmail.com>").replace("jmrp.8f2a91c0", "jmrp.1");
    assert!(handle(&ctx, "sm-cop-bounces", "", &forged, T0 + 50).is_empty());
    assert!(site.roster_text().contains(who));
    // Not a complaint: recorded, nothing changes.
    let not_spam = (arf(&returned).replace("Feedback-Type: abuse", "Feedback-Type: not-spam"))
        .replace("jmrp.8f2a91c0", "jmrp.2");
    assert!(handle(&ctx, "sm-cop-bounces", "", &not_spam, T0 + 60).is_empty());
    assert!(site.roster_text().contains(who));
    let mails = handle(
        &ctx,
        "sm-cop-bounces",
        "staff@hotmail.com",
        &arf(&returned),
        T0 + 100,
    );
    assert!(mails.is_empty(), "no reply, no goodbye: {mails:?}");
    assert!(!site.roster_text().contains(who), "{}", site.roster_text());
    let members = std::fs::read_to_string(site.var().join("sm-cop.members")).unwrap();
    assert!(!members.contains(who), "{members}");
    let complaints: Vec<_> = (site.audit().iter())
        .filter(|r| r["action"] == "complaint")
        .map(|r| {
            format!(
                "{} {}",
                r["address"].as_str().unwrap(),
                r["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        complaints,
        [
            format!("{who} unverified"),
            format!("{who} ignored:not-spam"),
            format!("{who} removed"),
        ]
    );
}

/// Issue 16: a list post's bounce counts when the posting system sent the post with the
/// member's return path from listkeeper (`return-path`, `members --json`): its tag names
/// the list and the member. The same report to a plain VERP address anyone can write is
/// recorded and never acted on.
#[test]
fn a_posts_bounce_counts_through_the_return_path_given_to_the_posting_system() {
    let site = Site::new();
    let jane = "jane.doe@agency.gov";
    let out = site.run(&["return-path", "sm-cop", jane]);
    assert!(out.status.success(), "{out:?}");
    let path = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        path.starts_with("sm-cop-bounces+") && path.ends_with(&format!("@{D}")),
        "{path}"
    );
    let members: serde_json::Value =
        serde_json::from_slice(&site.run(&["members", "sm-cop", "--json"]).stdout).unwrap();
    let listed = (members.as_array().unwrap().iter())
        .find(|m| m["address"] == jane)
        .map(|m| m["return_path"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(listed.starts_with("sm-cop-bounces+"), "{listed}");

    // The post is the posting system's: its Message-ID carries no tag of ours.
    let post = "<post-1@posting.example.gov>";
    let forged = format!("sm-cop-bounces+jane.doe=agency.gov@{D}");
    let report = dsn(jane, "5.1.1", "550 5.1.1 user unknown", post, "d1@mx");
    assert!(
        site.deliver(&forged, Some(""), report.as_bytes())
            .status
            .success()
    );
    assert_eq!(outcomes(&site, jane), ["unverified"]);

    let report = dsn(jane, "5.1.1", "550 5.1.1 user unknown", post, "d2@mx");
    assert!(
        site.deliver(&path, Some(""), report.as_bytes())
            .status
            .success()
    );
    assert_eq!(outcomes(&site, jane), ["unverified", "member-bounced"]);
}

/// `template` (a DSN as a server writes it, in tests/data) about `recipient`'s copy of
/// the post `message_id`, mailed back to `bounces`.
fn shaped(template: &str, bounces: &str, recipient: &str, message_id: &str, n: u32) -> String {
    template
        .replace("{REPORT_ID}", &format!("4f1c2d3e5a6b{n:04}"))
        .replace("{BOUNCES}", bounces)
        .replace("{RECIPIENT}", recipient)
        .replace("{MESSAGE_ID}", message_id)
        .replace('\n', "\r\n")
}

/// Issue 16: DSNs shaped as Exchange Online and Gmail write them. Exchange's
/// 5.1.10 (recipient not found) is a hard failure; Gmail's 5.7.26 (the sender is
/// unauthenticated: DMARC) is a policy rejection that scores nobody; Gmail's 5.1.1
/// (no such account) is hard again, and the next day's counts.
#[test]
fn exchange_and_gmail_shaped_reports_are_read_as_those_servers_write_them() {
    let site = Site::new();
    let jane = "jane.doe@agency.gov";
    let out = site.run(&["return-path", "sm-cop", jane]);
    let path = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let exchange = shaped(
        include_str!("../data/exchange-dsn.eml.in"),
        &path,
        jane,
        "<post-1@posting.example.gov>",
        1,
    );
    assert!(
        site.deliver(&path, Some(""), exchange.as_bytes())
            .status
            .success()
    );
    assert_eq!(outcomes(&site, jane), ["member-bounced"]);

    let gmail = |status: &str, diagnostic: &str, n: u32| {
        shaped(
            include_str!("../data/gmail-dsn.eml.in"),
            &path,
            jane,
            &format!("<post-{n}@posting.example.gov>"),
            n,
        )
        .replace("{STATUS}", status)
        .replace("{DIAGNOSTIC}", diagnostic)
    };
    let dmarc = gmail(
        "5.7.26",
        "550-5.7.26 Unauthenticated email from listserv.example.gov is not accepted due\r\n 550-5.7.26 to domain's DMARC policy. 550 5.7.26 DMARC policy violation",
        2,
    );
    assert!(
        site.deliver(&path, Some(""), dmarc.as_bytes())
            .status
            .success()
    );
    assert_eq!(
        outcomes(&site, jane),
        ["member-bounced", "policy-rejection"]
    );
    let gone = gmail(
        "5.1.1",
        "550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser",
        3,
    );
    assert!(
        site.deliver(&path, Some(""), gone.as_bytes())
            .status
            .success()
    );
    assert_eq!(
        outcomes(&site, jane),
        [
            "member-bounced",
            "policy-rejection",
            "member-bounced-today-already"
        ]
    );
}

/// Issue 16, item 5 "(or of a list)": reports from many domains at once (our own
/// mail's signature broken, say) are an incident of the whole list: once more than
/// the share of all its members (and at least three) were reported within the hour,
/// nobody more is scored and the owners get one alert.
#[test]
fn reports_from_many_domains_at_once_are_an_incident_of_the_whole_list() {
    let site = Site::new();
    let ctx = context(&site);
    let members: Vec<(String, String)> = (0..4)
        .map(|n| {
            let who = format!("member{n}@a{n}.gov");
            let returned = join(&ctx, &who, 40 + n);
            (who, returned)
        })
        .collect();
    let report = |n: usize, at: u64| {
        let (who, returned) = &members[n];
        let raw = dsn(
            who,
            "5.7.1",
            "550 5.7.1 message rejected: DKIM signature did not verify",
            returned,
            &format!("wide{n}-{at}@mx"),
        );
        handle(&ctx, "sm-cop-bounces", "", &raw, at)
    };
    let mut alerts = Vec::new();
    for n in 0..4 {
        alerts.extend(report(n, T0 + 100 + 60 * n as u64));
    }
    // 9 members: the third report is more than 10% of them, and the third.
    assert_eq!(outcomes(&site, "member1@a1.gov"), ["policy-rejection"]);
    assert_eq!(outcomes(&site, "member2@a2.gov"), ["incident"]);
    assert_eq!(outcomes(&site, "member3@a3.gov"), ["incident"]);
    assert_eq!(alerts.len(), 1, "one alert: {alerts:?}");
    assert!(
        alerts[0].contains("to many domains at once bounced for 3 members"),
        "{}",
        alerts[0]
    );
    let alerted: Vec<_> = (site.audit().iter())
        .filter(|r| r["outcome"] == "incident-alert")
        .map(|r| r["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(alerted, ["*"]);
}

/// Issue 17's daily summary names the day's bounces and the replies the limits held
/// back (a burst of command mail from one address), each from the audit log the
/// requests wrote.
#[test]
fn the_daily_summary_names_bounces_and_replies_held_back_by_the_limits() {
    let site = Site::new();
    let ctx = context(&site);
    let who = "soft.fail@agency.gov";
    let returned = join(&ctx, who, 1);
    let raw = dsn(who, "5.2.2", "552 5.2.2 mailbox full", &returned, "b1@mx");
    assert!(handle(&ctx, "sm-cop-bounces", "", &raw, T0 + 10).is_empty());
    // Twelve command mails from one address: the example allows ten replies a day.
    let flood = "flood@agency.gov";
    for n in 0..12 {
        let raw = mail(flood, "query sm-cop", &format!("f{n}@x"));
        handle(&ctx, "sm-cop-request", flood, &raw, T0 + 20 + n);
    }
    let queued = pipeline::notify_owners(&ctx, T0 + 100, true).unwrap();
    let mails: Vec<String> = (queued.batches.iter())
        .flat_map(|b| b.mails.iter().map(|m| m.mail.message.replace("=\r\n", "")))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let summary = &mails[0];
    assert!(summary.contains("Bounces"), "{summary}");
    assert!(
        summary.contains(&format!("{who}  ")) && summary.contains("mail to the member bounced"),
        "{summary}"
    );
    assert!(
        summary.contains("Replies held back by the limits"),
        "{summary}"
    );
    assert!(
        summary.contains("flood@agency.gov  2 not sent (rate-limit"),
        "{summary}"
    );
}
