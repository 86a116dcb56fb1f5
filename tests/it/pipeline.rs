//! The pipeline through the library, with the clock in the test's hand: expiry,
//! forged and misplaced tokens, and confirmation through the command address.

use crate::support;

use crate::support::{Site, header, token_of};
use listkeeper::config::Config;
use listkeeper::pipeline::{self, Context, Delivery, Outcome};

const D: &str = "listserv.example.gov";
const DAY: u64 = 86_400;

fn context(site: &Site) -> Context {
    Context::open(Config::load(&site.config()).unwrap()).unwrap()
}

fn deliver(
    ctx: &Context,
    to: &str,
    from: &str,
    subject: &str,
    id: &str,
    now: u64,
) -> Option<String> {
    let raw = format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n");
    handle_raw(ctx, to, from, &raw, now).into_iter().next()
}

/// `raw` from `from` to `to@D`, handled at `now`: every reply sent (none is fine;
/// anything but done fails the test).
fn handle_raw(ctx: &Context, to: &str, from: &str, raw: &str, now: u64) -> Vec<String> {
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

#[test]
fn an_expired_token_changes_nothing_and_says_so() {
    let site = Site::new();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let ask = deliver(&ctx, "sm-cop-join", "late@agency.gov", "join", "e1@x", t0).unwrap();
    let token = token_of(&ask);
    let late = deliver(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "late@agency.gov",
        "ok",
        "e2@x",
        t0 + 8 * DAY,
    )
    .unwrap();
    assert!(late.contains("expired"), "{late}");
    assert!(!site.roster_text().contains("late@agency.gov"));
    assert!(site.audit().iter().any(|r| r["outcome"] == "expired"));
    // A new request after expiry gets a new token, which works.
    let again = deliver(
        &ctx,
        "sm-cop-join",
        "late@agency.gov",
        "join",
        "e3@x",
        t0 + 9 * DAY,
    )
    .unwrap();
    let fresh = token_of(&again);
    assert_ne!(fresh, token);
    let welcome = deliver(
        &ctx,
        &format!("sm-cop-confirm+{fresh}"),
        "late@agency.gov",
        "ok",
        "e4@x",
        t0 + 9 * DAY + 60,
    )
    .unwrap();
    assert_eq!(
        header(&welcome, "Subject").as_deref(),
        Some("Welcome to SM-COP")
    );
}

#[test]
fn forged_and_misplaced_tokens_are_refused() {
    let site = Site::new();
    // A second list, to try a token on the wrong one.
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let ask = deliver(&ctx, "sm-cop-join", "victim@agency.gov", "join", "f1@x", t0).unwrap();
    let token = token_of(&ask);
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    for (to, id) in [
        (format!("sm-cop-confirm+{forged}"), "f2@x"),
        (format!("neighbors-confirm+{token}"), "f3@x"),
    ] {
        let reply = deliver(&ctx, &to, "attacker@agency.gov", "ok", id, t0 + 60).unwrap();
        assert!(
            reply.contains("unknown, already used or expired"),
            "{reply}"
        );
        assert_eq!(
            header(&reply, "To").as_deref(),
            Some("attacker@agency.gov"),
            "the refusal goes to who sent it"
        );
    }
    assert!(!site.roster_text().contains("victim@agency.gov"));
    // The real token still works, from the command address too.
    let reply = deliver(
        &ctx,
        "listserv",
        "victim@agency.gov",
        &format!("confirm {token}"),
        "f4@x",
        t0 + 120,
    )
    .unwrap();
    assert_eq!(
        header(&reply, "Subject").as_deref(),
        Some("Welcome to SM-COP")
    );
    assert!(site.roster_text().contains("victim@agency.gov"));
}

#[test]
fn open_lists_add_at_once_and_unsubscribe_of_a_stranger_reveals_nothing_to_others() {
    let site = Site::new();
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    let ctx = context(&site);
    let welcome = deliver(&ctx, "neighbors-join", "pat@example.org", "join", "o1@x", 1).unwrap();
    assert_eq!(
        header(&welcome, "Subject").as_deref(),
        Some("Welcome to Neighbors")
    );
    let roster =
        std::fs::read_to_string(site.config().join("lists/neighbors/roster.toml")).unwrap();
    assert!(
        roster.starts_with("[members]\n\"pat@example.org\" = {"),
        "{roster}"
    );
    let bye = deliver(
        &ctx,
        "neighbors-leave",
        "pat@example.org",
        "leave",
        "o2@x",
        2,
    )
    .unwrap();
    assert!(bye.contains("has been removed from Neighbors"));
    // A non-member's unsubscribe is answered to that address only.
    let reply = deliver(
        &ctx,
        "neighbors-leave",
        "stranger@example.org",
        "leave",
        "o3@x",
        3,
    )
    .unwrap();
    assert_eq!(
        header(&reply, "To").as_deref(),
        Some("stranger@example.org")
    );
    assert!(reply.contains("is not subscribed"));
}

#[test]
fn repeated_requests_merge_and_resend_only_within_the_daily_budget() {
    let site = Site::new();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let mut tokens = Vec::new();
    let mut silent = 0;
    for i in 0..5 {
        match deliver(
            &ctx,
            "sm-cop-join",
            "target@agency.gov",
            "join",
            &format!("b{i}@x"),
            t0 + i,
        ) {
            Some(mail) => {
                // Issue 12.10: the last confirmation the day's budget allows says so.
                assert_eq!(
                    mail.replace("=\r\n", "").contains(
                        "This is the last confirmation or notice listkeeper will send to \
                         target@agency.gov today"
                    ),
                    i == 2,
                    "{mail}"
                );
                tokens.push(token_of(&mail));
            }
            None => silent += 1,
        }
    }
    assert_eq!(tokens.len(), 3, "confirmations_per_address_per_day = 3");
    assert_eq!(silent, 2);
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "one pending request, one token"
    );
    let merged = site
        .audit()
        .iter()
        .filter(|r| r["outcome"] == "merged-not-resent")
        .count();
    assert_eq!(merged, 2);
    // A day later the budget is back.
    assert!(
        deliver(
            &ctx,
            "sm-cop-join",
            "target@agency.gov",
            "join",
            "b9@x",
            t0 + DAY + 10
        )
        .is_some()
    );
}

/// 10,000 forged subscribe requests for 1,000 addresses in 50 domains: no address gets
/// more than its daily budget, no domain more than its hourly one, and the audit log
/// accounts for every request.
#[test]
fn a_subscription_flood_stays_within_every_budget() {
    let site = Site::new();
    // A tighter domain budget than the default, so that it, too, is put to the test.
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "confirmations_per_domain_per_hour = 100",
        "confirmations_per_domain_per_hour = 40",
    );
    std::fs::write(&path, text).unwrap();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let mut sent: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for i in 0..10_000u64 {
        let addr = format!("victim{}@agency{}.gov", i % 1000, i % 50);
        if let Some(mail) = deliver(
            &ctx,
            "sm-cop-join",
            &addr,
            "join",
            &format!("flood{i}@x"),
            t0 + i / 10,
        ) {
            let to = header(&mail, "To").unwrap();
            *sent.entry(to).or_default() += 1;
        }
    }
    let per_address = sent.values().copied().max().unwrap();
    assert!(per_address <= 3, "an address got {per_address} mails");
    let mut per_domain: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (to, n) in &sent {
        *per_domain
            .entry(to.rsplit_once('@').unwrap().1.to_owned())
            .or_default() += n;
    }
    let worst_domain = per_domain.values().copied().max().unwrap();
    assert!(
        worst_domain <= 40,
        "a domain got {worst_domain} mails within the hour"
    );
    let total: usize = sent.values().sum();
    let audit = site.audit();
    let count = |outcome: &str| audit.iter().filter(|r| r["outcome"] == outcome).count();
    let decisions = count("confirmation-sent") + count("merged-not-resent");
    assert_eq!(decisions, 10_000, "one decision line per request");
    let limited =
        count("rate-limit:address") + count("rate-limit:domain") + count("rate-limit:total");
    assert_eq!(
        count("confirmation-sent"),
        total + limited,
        "every confirmation was sent or logged as limited"
    );
    eprintln!(
        "flood: 10,000 requests → {total} mails ({} addresses, at most {per_address} each; at most {worst_domain} a domain), {limited} held back by the limits, {} merged",
        sent.len(),
        count("merged-not-resent")
    );
}

/// `authenticated = true` rules believe only our own MTA's topmost
/// Authentication-Results header.
#[test]
fn authentication_results_from_our_mx_only() {
    let site = Site::trusting_mx();
    let ctx = context(&site);
    let cases = [
        (
            "ours",
            vec!["mx.example.gov; dkim=pass header.d=co.example.us"],
            2,
        ),
        (
            "another host",
            vec!["mx.other.example; dkim=pass header.d=co.example.us"],
            3,
        ),
        (
            "ours fails, a forged pass below",
            vec![
                "mx.example.gov; dkim=fail header.d=co.example.us",
                "mx.example.gov; dkim=pass header.d=co.example.us",
            ],
            3,
        ),
        (
            "two hosts, ours passes",
            vec![
                "relay.example; spf=fail",
                "mx.example.gov; spf=pass smtp.mailfrom=b@co.example.us",
            ],
            2,
        ),
        ("none", vec![], 3),
    ];
    for (i, (what, headers, rule)) in cases.iter().enumerate() {
        let from = format!("person{i}@co.example.us");
        let mut raw = String::new();
        for h in headers {
            raw.push_str(&format!("Authentication-Results: {h}\r\n"));
        }
        raw.push_str(&format!(
            "From: {from}\r\nSubject: join\r\nMessage-ID: <auth{i}@x>\r\n\r\n"
        ));
        let to = format!("county-gis-join@{D}");
        let delivery = Delivery {
            envelope_from: Some(&from),
            recipient: &to,
            raw: raw.as_bytes(),
        };
        assert!(matches!(
            pipeline::handle(&ctx, &delivery, 1),
            Outcome::Done(_)
        ));
        let audit = site.audit();
        let line = audit
            .iter()
            .rev()
            .find(|r| r["address"] == from.as_str())
            .unwrap();
        assert_eq!(line["rule"], *rule, "{what}: {line}");
    }
}

#[test]
fn owner_mail_is_forwarded_intact_and_never_answered() {
    let site = Site::new();
    let ctx = context(&site);
    // Latin-1 bytes: not UTF-8, and they must arrive as they left.
    let mut raw = b"From: Citizen <citizen@example.com>\r\nSubject: A question for the owners\r\nMessage-ID: <own1@x>\r\n\r\nCaf\xe9?\r\n".to_vec();
    let to = format!("sm-cop-owner@{D}");
    let delivery = Delivery {
        envelope_from: Some("citizen@example.com"),
        recipient: &to,
        raw: &raw,
    };
    let Outcome::Done(Some(batch)) = pipeline::handle(&ctx, &delivery, 1) else {
        panic!("no forward")
    };
    assert_eq!(batch.mails.len(), 1);
    let mail = &batch.mails[0].mail;
    assert_eq!(mail.to, "socialgov@example.gov");
    assert!(
        mail.envelope_from.starts_with("sm-cop-bounces+"),
        "{}",
        mail.envelope_from
    );
    let mut expected = format!("X-Listkeeper-Loop: {D}\r\n").into_bytes();
    expected.append(&mut raw);
    assert_eq!(
        mail.bytes().as_ref(),
        expected.as_slice(),
        "the original, intact, under our loop header"
    );
    assert!(
        site.audit()
            .iter()
            .any(|r| r["action"] == "owner" && r["outcome"] == "forwarded")
    );
}

#[test]
fn a_bounced_confirmation_cancels_its_pending_request() {
    let site = Site::new();
    let ctx = context(&site);
    let ask = deliver(
        &ctx,
        "sm-cop-join",
        "gone.person@agency.gov",
        "join",
        "b1@x",
        10,
    )
    .unwrap();
    let token = token_of(&ask);
    // The report returns the headers of the mail that failed (its Message-ID carries
    // the bounce tag).
    let returned = header(&ask, "Message-ID").unwrap();
    let dsn = "From: MAILER-DAEMON@mx.agency.gov\r\nSubject: Undelivered Mail Returned to Sender\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\nMessage-ID: <dsn1@mx>\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nsorry\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.agency.gov\r\n\r\nFinal-Recipient: rfc822; gone.person@agency.gov\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {returned}\r\n\r\n--B--\r\n";
    let dsn = dsn.replace("{returned}", &returned);
    let to = format!("sm-cop-bounces@{D}");
    let delivery = Delivery {
        envelope_from: Some(""),
        recipient: &to,
        raw: dsn.as_bytes(),
    };
    assert!(
        matches!(pipeline::handle(&ctx, &delivery, 20), Outcome::Done(None)),
        "a bounce is never answered"
    );
    assert!(
        site.audit()
            .iter()
            .any(|r| r["action"] == "bounce" && r["outcome"] == "pending-cancelled")
    );
    let late = deliver(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "gone.person@agency.gov",
        "ok",
        "b2@x",
        30,
    )
    .unwrap();
    assert!(late.contains("unknown, already used or expired"));
    // A member's bounce is recorded, nothing more (a tag made for the member: the
    // tag of the welcome a member got).
    let welcome = deliver(
        &ctx,
        "sm-cop-join",
        "new.one@agency.gov",
        "join",
        "b3@x",
        31,
    )
    .map(|m| token_of(&m))
    .and_then(|t| {
        deliver(
            &ctx,
            &format!("sm-cop-confirm+{t}"),
            "new.one@agency.gov",
            "ok",
            "b4@x",
            32,
        )
    })
    .unwrap();
    let dsn2 = dsn
        .replace("gone.person@agency.gov", "new.one@agency.gov")
        .replace(&returned, &header(&welcome, "Message-ID").unwrap())
        .replace("dsn1@mx", "dsn2@mx");
    let delivery = Delivery {
        envelope_from: Some(""),
        recipient: &to,
        raw: dsn2.as_bytes(),
    };
    assert!(matches!(
        pipeline::handle(&ctx, &delivery, 40),
        Outcome::Done(None)
    ));
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "member-bounced" && r["address"] == "new.one@agency.gov")
    );
    assert!(
        site.roster_text().contains("new.one@agency.gov"),
        "a bounce removes nobody"
    );
}

fn deliver_all(
    ctx: &Context,
    to: &str,
    from: &str,
    subject: &str,
    id: &str,
    now: u64,
) -> Vec<String> {
    let raw = format!(
        "From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\nok\r\n\r\n> quoted\r\n"
    );
    handle_raw(ctx, to, from, &raw, now)
}

fn approve_token(subject: &str) -> String {
    subject
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned()
}

#[test]
fn confirm_then_moderate_with_owners_approving_and_rejecting_by_mail() {
    let site = Site::new();
    support::copy_dir(
        &support::repo().join("examples/lists/county-gis"),
        &site.config().join("lists/county-gis"),
    );
    let ctx = context(&site);
    let t = 1_800_000_000;
    // Confirm first ...
    let ask = deliver(
        &ctx,
        "county-gis-join",
        "River Lee <river@co.example.us>",
        "join",
        "m1@x",
        t,
    )
    .unwrap();
    let confirm = token_of(&ask);
    let mails = deliver_all(
        &ctx,
        &format!("county-gis-confirm+{confirm}"),
        "river@co.example.us",
        "ok",
        "m2@x",
        t + 60,
    );
    // ... then held: the person is told, each owner is asked, once.
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let to = |m: &String| header(m, "To").unwrap();
    let person = mails
        .iter()
        .find(|m| to(m) == "river@co.example.us")
        .unwrap();
    assert!(person.contains("passed to the list's owners"));
    let owner = mails
        .iter()
        .find(|m| to(m) == "gis-admin@example.gov")
        .unwrap();
    assert!(mails.iter().any(|m| to(m) == "deputy@example.gov"));
    assert_eq!(
        header(owner, "Reply-To").as_deref(),
        Some("county-gis-request@listserv.example.gov")
    );
    let subject = header(owner, "Subject").unwrap();
    assert!(
        subject.contains("river@co.example.us asks to join County-GIS"),
        "{subject}"
    );
    assert!(
        !site.config().join("lists/county-gis/roster.toml").exists()
            || !std::fs::read_to_string(site.config().join("lists/county-gis/roster.toml"))
                .unwrap()
                .contains("river@")
    );
    let approve = approve_token(&subject);
    assert_ne!(approve, confirm);

    // Forged approvals: a made-up token, and the person's own confirmation token.
    let mut fake = approve.clone();
    fake.replace_range(20..22, if &approve[20..22] == "aa" { "bb" } else { "aa" });
    for (i, token) in [fake, confirm.clone()].iter().enumerate() {
        let replies = deliver_all(
            &ctx,
            "county-gis-request",
            "river@co.example.us",
            &format!("approve {token}"),
            &format!("f{i}@x"),
            t + 100,
        );
        assert!(
            replies
                .iter()
                .all(|m| m.contains("unknown, already used or expired")),
            "{replies:#?}"
        );
    }
    let roster = site.config().join("lists/county-gis/roster.toml");
    assert!(
        !std::fs::read_to_string(&roster)
            .unwrap_or_default()
            .contains("river@")
    );

    // The owner replies to the notification: approved, welcomed, and the owner hears so.
    let replies = deliver_all(
        &ctx,
        "county-gis-request",
        "gis-admin@example.gov",
        &format!("Re: {subject}"),
        "a1@x",
        t + 200,
    );
    assert!(
        std::fs::read_to_string(&roster)
            .unwrap()
            .contains("\"river@co.example.us\" = { name = \"River Lee\"")
    );
    let welcome = replies
        .iter()
        .find(|m| to(m) == "river@co.example.us")
        .unwrap();
    assert_eq!(
        header(welcome, "Subject").as_deref(),
        Some("Welcome to County-GIS")
    );
    let ack = replies
        .iter()
        .find(|m| to(m) == "gis-admin@example.gov")
        .unwrap();
    assert!(
        ack.contains("is now a member") && !ack.contains("unknown"),
        "{ack}"
    );
    // The token is spent.
    let again = deliver_all(
        &ctx,
        "county-gis-request",
        "deputy@example.gov",
        &format!("approve {approve}"),
        "a2@x",
        t + 300,
    );
    assert!(again[0].contains("unknown, already used or expired"));

    // A moderated request rejected by mail, with the reason.
    let ask = deliver(
        &ctx,
        "county-gis-join",
        "sam@partner.example.com",
        "join",
        "r1@x",
        t,
    )
    .unwrap();
    let confirm = token_of(&ask);
    let mails = deliver_all(
        &ctx,
        &format!("county-gis-confirm+{confirm}"),
        "sam@partner.example.com",
        "ok",
        "r2@x",
        t + 60,
    );
    let owner = mails
        .iter()
        .find(|m| to(m) == "deputy@example.gov")
        .unwrap();
    let token = approve_token(&header(owner, "Subject").unwrap());
    let replies = deliver_all(
        &ctx,
        "county-gis-request",
        "deputy@example.gov",
        &format!("reject {token} Not a county employee."),
        "r3@x",
        t + 120,
    );
    let told = replies
        .iter()
        .find(|m| to(m) == "sam@partner.example.com")
        .unwrap();
    assert!(told.contains("Not a county employee."), "{told}");
    assert!(!std::fs::read_to_string(&roster).unwrap().contains("sam@"));
    let outcomes: Vec<String> = site
        .audit()
        .iter()
        .map(|r| format!("{}/{}", r["action"], r["outcome"]).replace('"', ""))
        .collect();
    assert!(
        outcomes.contains(&"approve/added".to_owned())
            && outcomes.contains(&"reject/rejected".to_owned()),
        "{outcomes:?}"
    );
}

#[test]
fn expired_confirmations_and_held_requests_are_swept_with_an_audit_line() {
    let site = Site::new();
    let list = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace("\nsubscribe = \"confirm\"", "\nsubscribe = \"moderate\"");
    std::fs::write(&list, text).unwrap();
    let ctx = context(&site);
    let t = 1_800_000_000;
    deliver_all(
        &ctx,
        "sm-cop-join",
        "held.one@agency.gov",
        "join",
        "s1@x",
        t,
    );
    deliver_all(
        &ctx,
        "sm-cop-leave",
        "jane.doe@agency.gov",
        "leave",
        "s2@x",
        t,
    );
    assert_eq!(
        pipeline::sweep_expired(&ctx, t + DAY).unwrap(),
        0,
        "nothing expires early"
    );
    assert_eq!(pipeline::sweep_expired(&ctx, t + 8 * DAY).unwrap(), 2);
    let audit = site.audit();
    assert!(audit.iter().any(|r| r["action"] == "moderate"
        && r["outcome"] == "expired"
        && r["address"] == "held.one@agency.gov"));
    assert!(audit.iter().any(|r| r["action"] == "confirm"
        && r["outcome"] == "expired"
        && r["address"] == "jane.doe@agency.gov"));
    assert_eq!(pipeline::sweep_expired(&ctx, t + 9 * DAY).unwrap(), 0);
}

/// A forged From gets its replies sent to the forged address only: whoever forged it
/// learns nothing about who is subscribed.
#[test]
fn no_membership_oracle_for_a_forger() {
    let site = Site::new();
    let ctx = context(&site);
    for (route, subject) in [
        ("sm-cop-join", "join"),
        ("sm-cop-leave", "leave"),
        ("sm-cop-request", "query"),
    ] {
        let raw = format!(
            "From: jane.doe@agency.gov\r\nReply-To: attacker@evil.example\r\nSubject: {subject}\r\nMessage-ID: <o-{route}@x>\r\n\r\n"
        );
        let to = format!("{route}@{D}");
        let delivery = Delivery {
            envelope_from: Some("attacker@evil.example"),
            recipient: &to,
            raw: raw.as_bytes(),
        };
        let Outcome::Done(Some(batch)) = pipeline::handle(&ctx, &delivery, 5) else {
            panic!("{route}: no reply")
        };
        for m in &batch.mails {
            assert_eq!(m.mail.to, "jane.doe@agency.gov", "{route}");
            assert!(
                !m.mail.message.contains("evil.example"),
                "{route}: {}",
                m.mail.message
            );
        }
    }
}

/// Issue 12, item 3 and issue 13, item 6: the "bad token" reply showed raw
/// `{subscribe_address}` placeholders, its audit line had no list, and a list's own
/// `bad_token.txt` was ignored. Every template, overridden by the list with every
/// placeholder README promises, comes out filled, from every path that sends it.
#[test]
fn regression_12_every_template_fills_every_placeholder() {
    let site = Site::new();
    let always = "{address}|{list}|{title}|{terms}|{subscribe_address}|{leave_address}|\
                  {request_address}|{owner_address}";
    let templates = site.config().join("lists/sm-cop/templates");
    std::fs::create_dir_all(&templates).unwrap();
    for (name, extra) in [
        ("confirm_subscribe", "{confirm_address}|{expires}"),
        ("confirm_unsubscribe", "{confirm_address}|{expires}"),
        ("welcome", ""),
        ("goodbye", ""),
        ("refused", "{reason}"),
        ("already_member", ""),
        ("not_member", ""),
        ("bad_token", ""),
        ("info", ""),
        ("query_member", ""),
        ("query_not_member", ""),
        ("help", ""),
    ] {
        std::fs::write(
            templates.join(format!("{name}.txt")),
            format!("[{name}] {always}|{extra}\n"),
        )
        .unwrap();
    }
    // More replies to one address than the day's budget of forgeable ones.
    let server = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&server).unwrap().replace(
        "confirmations_per_address_per_day = 3",
        "confirmations_per_address_per_day = 50",
    );
    std::fs::write(&server, text).unwrap();
    let ctx = context(&site);
    let mut seen = Vec::new();
    let mut send = |to: &str, from: &str, subject: &str, n: u64| {
        let mails = deliver_all(&ctx, to, from, subject, &format!("t{n}@x"), 100 + n);
        for m in &mails {
            let body = m.replace("=\r\n", "");
            let body = body.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
            assert!(
                !body.contains('{') && !body.contains('}'),
                "a placeholder left unfilled: {body}"
            );
            seen.extend(body.split(['[', ']']).nth(1).map(str::to_owned));
        }
        mails
    };
    let who = "pat@agency.gov";
    let ask = send("sm-cop-join", who, "join", 1);
    let token = token_of(&ask[0]);
    send(&format!("sm-cop-confirm+{token}"), who, "ok", 2);
    send("sm-cop-join", who, "join", 3);
    // A made-up token, to the list's confirm address and in a command.
    send(
        "sm-cop-confirm+k1aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb",
        who,
        "ok",
        4,
    );
    send(
        "sm-cop-request",
        who,
        "confirm k1aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb",
        5,
    );
    send("sm-cop-request", who, "info", 6);
    send("sm-cop-request", who, "query", 7);
    send("sm-cop-request", who, "help", 8);
    send("sm-cop-request", "someone@other.gov", "query", 9);
    send("sm-cop-join", "x@evil.example", "join", 10);
    let ask = send("sm-cop-leave", who, "leave", 11);
    let token = token_of(&ask[0]);
    send(&format!("sm-cop-confirm+{token}"), who, "ok", 12);
    send("sm-cop-leave", who, "leave", 13);
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "already_member",
            "bad_token",
            "confirm_subscribe",
            "confirm_unsubscribe",
            "goodbye",
            "help",
            "info",
            "not_member",
            "query_member",
            "query_not_member",
            "refused",
            "welcome"
        ],
        "every template was sent"
    );
    let bad: Vec<_> = site
        .audit()
        .into_iter()
        .filter(|r| r["action"] == "confirm" && r["outcome"] == "unknown")
        .collect();
    assert_eq!(bad.len(), 2);
    assert!(bad.iter().all(|r| r["list"] == "sm-cop"), "{bad:?}");
}

/// A command mail with a body, to `to@D`; the reply, if one is sent (soft line breaks
/// of quoted-printable joined).
fn deliver_body(
    ctx: &Context,
    to: &str,
    from: &str,
    body: &str,
    id: &str,
    now: u64,
) -> Option<String> {
    let raw = format!("From: {from}\r\nSubject: \r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n");
    handle_raw(ctx, to, from, &raw, now)
        .into_iter()
        .next()
        .map(|m| m.replace("=\r\n", ""))
}

/// Issue 12.10: forged requests used up a member's 3 replies a day, and then the
/// member's own `query`, `help` or `info` mail got nothing. Command results now have
/// a budget of their own (10 a day), and the last reply of each budget says so.
#[test]
fn regression_12_10_a_members_commands_are_answered_after_forged_requests() {
    let site = Site::new();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let member = "jane.doe@agency.gov";
    let last_notice = "This is the last confirmation or notice listkeeper will send to \
                       jane.doe@agency.gov today";
    // Three forged joins: three "already subscribed" notices, the third says it is
    // the last, a fourth is not answered.
    for i in 0..3 {
        let reply = deliver(
            &ctx,
            "sm-cop-join",
            member,
            "join",
            &format!("j{i}@x"),
            t0 + i,
        )
        .unwrap()
        .replace("=\r\n", "");
        assert!(reply.contains("already subscribed"), "{reply}");
        assert_eq!(reply.contains(last_notice), i == 2, "join {i}: {reply}");
    }
    assert_eq!(
        deliver(&ctx, "sm-cop-join", member, "join", "j3@x", t0 + 3),
        None
    );
    // The member's own queries are answered: ten of them, the tenth says it is the last.
    for i in 0..10 {
        let reply = deliver_body(
            &ctx,
            "listserv",
            member,
            "QUERY SM-COP",
            &format!("q{i}@x"),
            t0 + 10 + i,
        )
        .unwrap_or_else(|| panic!("query {i} was not answered"));
        assert!(
            reply.contains("jane.doe@agency.gov is subscribed to SM-COP"),
            "{reply}"
        );
        assert_eq!(
            reply.contains("This is the last reply to commands listkeeper will send to"),
            i == 9,
            "query {i}: {reply}"
        );
        assert!(!reply.contains(last_notice), "{reply}");
    }
    assert_eq!(
        deliver_body(&ctx, "listserv", member, "HELP", "q10@x", t0 + 30),
        None
    );
    let outcomes: Vec<_> = site
        .audit()
        .into_iter()
        .filter(|r| r["action"] == "reply")
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["rate-limit:address", "rate-limit:commands"]);
}

/// A reply that mixes command results with a notice counts as a notice: it is the
/// kind a forger would aim for, so it stays within the smaller budget.
#[test]
fn a_reply_mixing_results_and_notices_counts_against_the_confirmation_budget() {
    let site = Site::new();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let who = "someone@agency.gov";
    for i in 0..3 {
        let mixed = deliver_body(
            &ctx,
            "listserv",
            who,
            "QUERY SM-COP\r\nSIGNOFF SM-COP",
            &format!("x{i}@x"),
            t0 + i,
        )
        .unwrap();
        assert!(mixed.contains("is not subscribed to SM-COP. Nothing has changed."));
    }
    assert_eq!(
        deliver_body(
            &ctx,
            "listserv",
            who,
            "QUERY SM-COP\r\nSIGNOFF SM-COP",
            "x3@x",
            t0 + 3
        ),
        None,
        "over the confirmation budget"
    );
    let query = deliver_body(&ctx, "listserv", who, "QUERY SM-COP", "x4@x", t0 + 4).unwrap();
    assert!(query.contains("is not subscribed to SM-COP."), "{query}");
}

/// Issue 12.11: `SET SM-COP NOMAIL` (now a command; `CONCEAL` is not) ended the commands, so the `SUBSCRIBE` after it
/// was dropped without a word; `REVIEW` was answered as `INFO`; `SIGNOFF *` was told
/// there is no list `*` (issue 17: it asks to confirm leaving every list).
#[test]
fn regression_12_11_unsupported_listserv_commands_are_answered_and_reading_goes_on() {
    let site = Site::new();
    let ctx = context(&site);
    let t0 = 1_800_000_000;
    let reply = deliver_body(
        &ctx,
        "listserv",
        "Jane Roe <jane.roe@agency.gov>",
        "SET SM-COP CONCEAL\r\nSUBSCRIBE SM-COP Jane",
        "u1@x",
        t0,
    )
    .unwrap();
    assert!(
        reply.contains("not supported here: SET SM-COP CONCEAL"),
        "{reply}"
    );
    assert!(
        reply.contains("asked to subscribe jane.roe@agency.gov to SM-COP"),
        "{reply}"
    );
    let token = token_of(&reply);
    let welcome = deliver(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "jane.roe@agency.gov",
        "ok",
        "u2@x",
        t0 + 60,
    )
    .unwrap();
    assert!(welcome.contains("Welcome to SM-COP"), "{welcome}");
    assert!(
        site.roster_text()
            .contains("\"jane.roe@agency.gov\" = { name = \"Jane\"")
    );
    let reply = deliver_body(
        &ctx,
        "listserv",
        "jane.roe@agency.gov",
        "REVIEW SM-COP\r\nSIGNOFF *\r\nThanks!\r\nWHO",
        "u3@x",
        t0 + 120,
    )
    .unwrap();
    // REVIEW is a command of its own now (issue 17): the roster is for the owners.
    assert!(reply.contains("Only the owners of SM-COP"), "{reply}");
    // `SIGNOFF *` is every list (issue 17): a confirmation first.
    assert!(reply.contains("from every list on this server"), "{reply}");
    assert!(
        !reply.contains("Who may join"),
        "REVIEW is not INFO: {reply}"
    );
    assert!(!reply.contains("There is no list called"), "{reply}");
    assert!(!reply.contains("WHO"), "prose ended the commands: {reply}");
    assert!(
        site.roster_text().contains("jane.roe@agency.gov"),
        "SIGNOFF * left nothing"
    );
}

/// Review of issue 13: anyone may mail `L-bounces@`, so one report costs bounded
/// work: 50 failed recipients at most are read, the rest is one audit line.
#[test]
fn a_huge_forged_report_costs_bounded_work() {
    let site = Site::new();
    let ctx = context(&site);
    let mut report = String::from("From: x@evil.example\r\nMessage-ID: <huge@x>\r\n\r\n");
    for n in 0..60 {
        report.push_str(&format!(
            "Final-Recipient: rfc822; p{n}@agency.gov\r\nAction: failed\r\n\r\n"
        ));
    }
    let to = format!("sm-cop-bounces@{D}");
    let delivery = Delivery {
        envelope_from: Some("x@evil.example"),
        recipient: &to,
        raw: report.as_bytes(),
    };
    assert!(matches!(
        pipeline::handle(&ctx, &delivery, 10),
        Outcome::Done(None)
    ));
    let audit = site.audit();
    let bounce: Vec<_> = audit.iter().filter(|r| r["action"] == "bounce").collect();
    assert_eq!(bounce.len(), 51, "{bounce:?}");
    assert!(
        bounce
            .iter()
            .any(|r| r["outcome"] == "ignored-beyond-50:10")
    );
}

/// The audit line's time is the `now` the request was handed, not the wall clock
/// (so time-dependent rules are tested with time in hand).
#[test]
fn audit_lines_carry_the_time_the_request_was_handed() {
    let site = Site::new();
    let ctx = context(&site);
    deliver(
        &ctx,
        "sm-cop-join",
        "clock@agency.gov",
        "join",
        "t1@x",
        1_800_000_000,
    )
    .unwrap();
    let line = site
        .audit()
        .into_iter()
        .find(|r| r["address"] == "clock@agency.gov")
        .unwrap();
    assert_eq!(line["time"], "2027-01-15T08:00:00Z");
}
