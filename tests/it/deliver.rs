//! `listkeeper deliver` through the built binary: whole flows, replies over a real SMTP
//! exchange (a server the test starts on 127.0.0.1:0) or the `file:` transport, and
//! the messages in `tests/data/`.

use crate::support;

use crate::support::smtp::{DownPort, Mode, SmtpServer};
use crate::support::{Site, header, stderr, token_of};

const D: &str = "listserv.example.gov";

fn request(from: &str, to: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn subscribe_confirm_welcome_then_unsubscribe_confirm_goodbye_over_smtp() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    // This flow sends one address more than the default 3 forgeable replies a day;
    // the limits have tests of their own (tests/it/pipeline.rs).
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "confirmations_per_address_per_day = 3",
        "confirmations_per_address_per_day = 10",
    );
    std::fs::write(&path, text).unwrap();
    let before = site.roster_text();

    // 1. The request: a confirmation goes to the address, over SMTP.
    let out = site.deliver(
        &format!("sm-cop-subscribe-request@{D}"),
        Some("new.person@dhs.gov"),
        &request(
            "New Person <new.person@dhs.gov>",
            "x",
            "join",
            "r1@dhs.gov",
            "hello\r\n-- \r\nsig",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = smtp.wait_for(1);
    assert!(
        got[0].from.starts_with("sm-cop-bounces+") && got[0].from.ends_with(&format!("@{D}")),
        "a tagged return path: {}",
        got[0].from
    );
    assert_eq!(got[0].to, ["new.person@dhs.gov"]);
    let confirm = &got[0].data;
    assert_eq!(header(confirm, "To").as_deref(), Some("new.person@dhs.gov"));
    assert_eq!(
        header(confirm, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    // Issue 12, item 4: it has a Content-Type and a transfer encoding, so it says
    // which MIME it speaks.
    assert_eq!(header(confirm, "MIME-Version").as_deref(), Some("1.0"));
    assert_eq!(
        header(confirm, "In-Reply-To").as_deref(),
        Some("<r1@dhs.gov>")
    );
    let token = token_of(confirm);
    assert!(header(confirm, "Subject").unwrap().contains(&token));
    assert_eq!(
        site.roster_text(),
        before,
        "nothing changes before the confirmation"
    );
    assert_eq!(
        site.queued(),
        0,
        "the outbox is empty once the server accepted"
    );

    // A second request while pending sends the same token again, and nothing more.
    site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("new.person@dhs.gov", "x", "join", "r1b@dhs.gov", ""),
    );
    let got = smtp.wait_for(2);
    assert_eq!(
        token_of(&got[1].data),
        token,
        "merged into the pending request"
    );

    // 2. The reply to the confirmation: the member lands, and a welcome.
    let out = site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        Some("new.person@dhs.gov"),
        &request(
            "new.person@dhs.gov",
            "x",
            &format!("Re: Confirm (confirm {token})"),
            "r2@dhs.gov",
            "ok\r\n> quoted",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = smtp.wait_for(3);
    let welcome = &got[2].data;
    assert_eq!(
        header(welcome, "Subject").as_deref(),
        Some("Welcome to SM-COP")
    );
    assert_eq!(
        header(welcome, "List-Id").as_deref(),
        Some("\"SM-COP\" <sm-cop.listserv.example.gov>")
    );
    // With [web]: the member's one-click link first, then the mailto.
    let unsubscribe = header(welcome, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with("<http://127.0.0.1:8025/u/k1")
            && unsubscribe.ends_with(">, <mailto:sm-cop-leave@listserv.example.gov>"),
        "{unsubscribe}"
    );
    for mail in &got {
        assert_eq!(header(&mail.data, "MIME-Version").as_deref(), Some("1.0"));
    }
    let roster = site.roster_text();
    assert_eq!(
        roster
            .matches("\"new.person@dhs.gov\" = { name = \"New Person\"")
            .count(),
        1,
        "{roster}"
    );
    assert!(roster.contains("via = \"token\""));

    // The token is single use.
    site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        None,
        &request("new.person@dhs.gov", "x", "again", "r3@dhs.gov", ""),
    );
    let got = smtp.wait_for(4);
    assert!(
        got[3].data.contains("unknown, already used or expired"),
        "{}",
        got[3].data
    );
    assert_eq!(site.roster_text(), roster);

    // 3. Leaving: confirmation, then goodbye, and the line is gone.
    site.deliver(
        &format!("sm-cop-leave@{D}"),
        None,
        &request("new.person@dhs.gov", "x", "bye", "r4@dhs.gov", ""),
    );
    let got = smtp.wait_for(5);
    let token = token_of(&got[4].data);
    site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        None,
        &request("new.person@dhs.gov", "x", "ok", "r5@dhs.gov", ""),
    );
    let got = smtp.wait_for(6);
    assert!(header(&got[5].data, "Subject").unwrap().contains("SM-COP"));
    assert!(
        got[5].data.contains("has been removed from SM-COP"),
        "{}",
        got[5].data
    );
    assert_eq!(
        site.roster_text(),
        before,
        "every other byte of the roster is as it was"
    );

    // The audit log has every decision, and never a token.
    let audit = std::fs::read_to_string(site.var().join("state/audit.log")).unwrap();
    assert!(!audit.contains(&token));
    let outcomes: Vec<String> = site
        .audit()
        .iter()
        .map(|r| format!("{}/{}", r["action"], r["outcome"]).replace('"', ""))
        .collect();
    assert_eq!(
        outcomes,
        [
            "subscribe/confirmation-sent",
            "subscribe/confirmation-sent",
            "confirm/added",
            "confirm/unknown",
            "unsubscribe/confirmation-sent",
            "confirm/removed",
        ]
    );
}

#[test]
fn file_transport_flow_on_the_example_config() {
    let site = Site::new();
    let out = site.deliver(
        &format!("sm-cop-request@{D}"),
        None,
        &request(
            "Ann Lee <ann.lee@navy.mil>",
            "x",
            "subscribe",
            "f1@navy.mil",
            "",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mails = site.mail_files();
    assert_eq!(mails.len(), 1);
    assert_eq!(header(&mails[0], "To").as_deref(), Some("ann.lee@navy.mil"));
    let token = token_of(&mails[0]);
    // Confirming by mail to the request address with the token in the Subject.
    let out = site.deliver(
        &format!("sm-cop-request@{D}"),
        None,
        &request(
            "ann.lee@navy.mil",
            "x",
            &format!("Re: Confirm your subscription (confirm {token})"),
            "f2@navy.mil",
            "OK\r\n\r\nOn Tuesday someone wrote:\r\n> text",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mails = site.mail_files();
    assert_eq!(mails.len(), 2);
    assert_eq!(
        header(&mails[1], "Subject").as_deref(),
        Some("Welcome to SM-COP")
    );
    assert!(
        site.roster_text()
            .contains("\"ann.lee@navy.mil\" = { name = \"Ann Lee\"")
    );
    let out = site.run(&["members", "sm-cop"]);
    assert!(support::stdout(&out).contains("ann.lee@navy.mil  Ann Lee"));
}

#[test]
fn smtp_down_then_back_the_reply_waits_in_the_outbox() {
    let down = DownPort::new();
    let site = Site::with_smtp(down.port);
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("sam.new@state.gov", "x", "join", "down-1@state.gov", ""),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the request is done even if the reply waits: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("queued for a later try"),
        "{}",
        stderr(&out)
    );
    assert_eq!(site.queued(), 1);
    let listing = support::stdout(&site.run(&["outbox"]));
    assert!(
        listing.contains("to sam.new@state.gov") && listing.contains("attempts 1"),
        "{listing}"
    );

    let smtp = SmtpServer::start_on(down);
    let out = site.run(&["outbox", "--retry"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = smtp.wait_for(1);
    assert_eq!(got[0].to, ["sam.new@state.gov"]);
    assert_eq!(site.queued(), 0);

    // A redelivery of the same message is not processed again.
    site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("sam.new@state.gov", "x", "join", "down-1@state.gov", ""),
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(smtp.received().len(), 1, "processed once");
}

#[test]
fn a_permanent_refusal_moves_the_reply_aside_with_an_audit_line() {
    // With PIPELINING offered listkeeper speaks its own two-round-trip client; without
    // it, lettre's. Both must accept, defer and refuse alike.
    for pipelining in [true, false] {
        refusal_and_deferral(pipelining);
    }
}

fn refusal_and_deferral(pipelining: bool) {
    let smtp = SmtpServer::start();
    if !pipelining {
        smtp.without_pipelining();
    }
    let site = Site::with_smtp(smtp.port);
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("ok.first@state.gov", "x", "join", "ok-1@state.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = smtp.wait_for(1);
    assert_eq!(got[0].to, ["ok.first@state.gov"], "pipelining {pipelining}");
    assert!(got[0].data.contains("confirm+"), "{}", got[0].data);
    smtp.set_mode(Mode::Refuse);
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("x.y@state.gov", "x", "join", "perm-1@state.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(site.queued(), 0);
    assert_eq!(
        std::fs::read_dir(site.var().join("state/outbox/failed"))
            .unwrap()
            .count(),
        1
    );
    assert!(
        site.audit()
            .iter()
            .any(|r| r["action"] == "send" && r["outcome"] == "failed")
    );
    smtp.set_mode(Mode::Defer);
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("y.z@state.gov", "x", "join", "temp-1@state.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(site.queued(), 1, "a 451 leaves the reply queued");
}

#[test]
fn a_broken_roster_answers_75_and_is_left_alone() {
    let site = Site::new();
    let broken = format!(
        "{}\"half@agency.gov\" = {{ name = \"Ha\n",
        site.roster_text()
    );
    std::fs::write(site.roster(), &broken).unwrap();
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("a.b@agency.gov", "x", "join", "broken-1@agency.gov", ""),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("roster.toml:12"), "{}", stderr(&out));
    assert_eq!(site.roster_text(), broken);
    assert!(site.mail_files().is_empty());
    // Fixed, the MTA's retry goes through.
    std::fs::write(
        site.roster(),
        broken.replace("\"half@agency.gov\" = { name = \"Ha\n", ""),
    )
    .unwrap();
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("a.b@agency.gov", "x", "join", "broken-1@agency.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(site.mail_files().len(), 1);
}

/// Each file in tests/data with where it is sent, the exit code, and what the one
/// reply (if any) must say.
#[test]
fn the_messages_in_tests_data() {
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        i32,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        (
            "plain-subscribe.eml",
            "sm-cop-subscribe-request",
            None,
            0,
            Some("already subscribed to SM-COP"),
        ),
        (
            "multipart-qp-commands.eml",
            "sm-cop-request",
            None,
            0,
            Some("Someone, probably you, asked to subscribe maria.x@hhs.gov"),
        ),
        (
            "listserv-syntax.eml",
            "listserv",
            None,
            0,
            Some("> query sm-cop\r\njoel@army.mil is not subscribed to SM-COP"),
        ),
        (
            "ineligible.eml",
            "sm-cop-join",
            None,
            0,
            Some("Anyone with a .gov or .mil email address is eligible to join."),
        ),
        (
            "no-command.eml",
            "sm-cop-request",
            None,
            0,
            Some("No command was found"),
        ),
        (
            "no-from.eml",
            "sm-cop-join",
            Some("env.sender@agency.gov"),
            0,
            Some("asked to subscribe env.sender@agency.gov"),
        ),
        ("no-from.eml", "sm-cop-join", None, 0, None),
        ("two-from.eml", "sm-cop-join", None, 0, None),
        (
            "crlf-display-name.eml",
            "sm-cop-join",
            None,
            0,
            Some("evil.name@agency.gov"),
        ),
        (
            "nul-bytes.eml",
            "sm-cop-join",
            None,
            0,
            Some("nul@agency.gov"),
        ),
        ("auto-replied.eml", "sm-cop-join", None, 0, None),
        ("precedence-bulk.eml", "sm-cop-join", None, 0, None),
        ("list-id.eml", "sm-cop-join", None, 0, None),
        ("plain-subscribe.eml", "sm-cop-join", Some(""), 0, None),
        ("plain-subscribe.eml", "sm-cop-posts", None, 67, None),
        ("plain-subscribe.eml", "nobody", None, 67, None),
        ("garbage.bin", "sm-cop-join", None, 65, None),
    ];
    for (file, local, from, code, says) in cases {
        let site = Site::new();
        let raw = std::fs::read(support::repo().join("tests/data").join(file)).unwrap();
        let out = site.deliver(&format!("{local}@{D}"), *from, &raw);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{file} to {local}: {}",
            stderr(&out)
        );
        let mails = site.mail_files();
        match says {
            None => assert!(
                mails.is_empty(),
                "{file} to {local} was answered:\n{}",
                mails.join("\n")
            ),
            Some(words) => {
                assert_eq!(mails.len(), 1, "{file} to {local}: one reply");
                let body = decode_qp(&mails[0]);
                assert!(
                    body.contains(words),
                    "{file} to {local}: {words:?} not in\n{body}"
                );
                assert!(
                    !mails[0].to_ascii_lowercase().contains("\r\nbcc:"),
                    "{file}: a header was injected"
                );
                assert_eq!(
                    header(&mails[0], "Auto-Submitted").as_deref(),
                    Some("auto-replied")
                );
            }
        }
    }
}

#[test]
fn too_large_is_refused_with_65_before_parsing() {
    let site = Site::new();
    let mut raw = b"From: big@agency.gov\r\nSubject: ".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    raw.extend(b"\r\n\r\nsubscribe\r\n");
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, &raw);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(site.mail_files().is_empty());
}

/// Undoes quoted-printable soft breaks and `=XX` escapes, enough to search the text.
fn decode_qp(message: &str) -> String {
    let joined = message.replace("=\r\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replies as Outlook and Gmail write them, sent to the request address with the
/// token only in the Subject: "OK" on top, the confirmation quoted below.
#[test]
fn outlook_and_gmail_replies_confirm() {
    for fixture in ["outlook-reply.eml.in", "gmail-reply.eml.in"] {
        let site = Site::new();
        site.deliver(
            &format!("sm-cop-join@{D}"),
            None,
            &request("new.member@state.gov", "x", "join", "og-1@state.gov", ""),
        );
        let token = token_of(&site.mail_files()[0]);
        let text =
            std::fs::read_to_string(support::repo().join("tests/data").join(fixture)).unwrap();
        let out = site.deliver(
            &format!("sm-cop-request@{D}"),
            None,
            text.replace("TOKEN", &token).as_bytes(),
        );
        assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
        let mails = site.mail_files();
        assert_eq!(mails.len(), 2, "{fixture}: one reply");
        assert_eq!(
            header(&mails[1], "Subject").as_deref(),
            Some("Welcome to SM-COP"),
            "{fixture}:\n{}",
            mails[1]
        );
        assert!(
            site.roster_text().contains("\"new.member@state.gov\""),
            "{fixture}"
        );
    }
}

#[test]
fn a_huge_header_under_the_limit_is_read_safely() {
    let site = Site::new();
    let mut raw = b"From: big.header@agency.gov\r\nX-Junk: ".to_vec();
    raw.extend(std::iter::repeat_n(b'y', 900 * 1024));
    raw.extend(b"\r\nSubject: join\r\nMessage-ID: <huge-1@agency.gov>\r\n\r\nsubscribe\r\n");
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, &raw);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(site.mail_files().len(), 1);
}

#[test]
fn a_moderated_list_with_pending_approve_and_reject_at_the_command_line() {
    let site = Site::new();
    let list = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace("\nsubscribe = \"confirm\"", "\nsubscribe = \"moderate\"");
    std::fs::write(&list, text).unwrap();
    for (who, id) in [("ann.held@agency.gov", "h1"), ("bob.held@agency.gov", "h2")] {
        let out = site.deliver(
            &format!("sm-cop-join@{D}"),
            None,
            &request(who, "x", "join", &format!("{id}@x"), ""),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let mails = site.mail_files();
    assert_eq!(mails.len(), 4, "each person told, the owner asked twice");
    assert_eq!(
        mails
            .iter()
            .filter(|m| header(m, "To").as_deref() == Some("socialgov@example.gov"))
            .count(),
        2
    );

    let out = site.run(&["pending", "sm-cop"]);
    let listing = support::stdout(&out);
    assert!(
        listing.contains("held  ann.held@agency.gov")
            && listing.contains("held  bob.held@agency.gov"),
        "{listing}"
    );
    assert!(listing.contains("(policy;"), "{listing}");

    let out = site.run(&["approve", "sm-cop", "ANN.HELD@agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(site.roster_text().contains("\"ann.held@agency.gov\" = {"));
    let out = site.run(&[
        "reject",
        "sm-cop",
        "bob.held@agency.gov",
        "--reason",
        "Not a member of the community.",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!site.roster_text().contains("bob.held"));
    let mails = site.mail_files();
    assert_eq!(
        mails.len(),
        8,
        "each person told, and the owner of each decision"
    );
    assert!(mails.iter().any(
        |m| header(m, "To").as_deref() == Some("ann.held@agency.gov")
            && header(m, "Subject").as_deref() == Some("Welcome to SM-COP")
    ));
    assert!(mails.iter().any(
        |m| header(m, "To").as_deref() == Some("bob.held@agency.gov")
            && m.contains("Not a member of the community.")
    ));
    let out = site.run(&["approve", "sm-cop", "bob.held@agency.gov"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing is held for bob any more"
    );
    assert!(
        site.audit()
            .iter()
            .any(|r| r["action"] == "approve" && r["via"] == "admin")
    );
    assert!(support::stdout(&site.run(&["pending", "sm-cop"])).contains("no requests held"));
}

/// Found by fuzzing: mail whose Subject holds a 34-byte word with multi-byte
/// characters used to panic the token shape check. Every route takes it calmly.
#[test]
fn regression_fuzz_multibyte_subject_does_not_panic() {
    let site = Site::new();
    let raw = std::fs::read(support::repo().join("tests/data/fuzz-multibyte-token.eml")).unwrap();
    for local in ["sm-cop-request", "listserv", "sm-cop-join"] {
        let out = site.deliver(&format!("{local}@{D}"), None, &raw);
        assert!(
            matches!(out.status.code(), Some(0 | 65)),
            "{local}: {:?} {}",
            out.status,
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

/// A Postfix-shaped report of a failed delivery of `sent` (as the SMTP server got
/// it) to `recipient`, mailed back to `bounces`.
fn postfix_dsn(bounces: &str, recipient: &str, message_id: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static REPORTS: AtomicUsize = AtomicUsize::new(0);
    let report = REPORTS.fetch_add(1, Ordering::Relaxed);
    include_str!("../data/postfix-dsn.eml.in")
        .replace(
            "{REPORT_ID}",
            &format!("20261204010102.3F1A2C01{report:02}"),
        )
        .replace("{BOUNCES}", bounces)
        .replace("{RECIPIENT}", recipient)
        .replace("{MESSAGE_ID}", message_id)
        .replace('\n', "\r\n")
        .into_bytes()
}

/// Issue 13, item 1: a forged DSN cancelled anyone's pending request. A report acts
/// only when its bounce tag was made for the address it names.
#[test]
fn regression_13_a_forged_bounce_cancels_nothing_and_a_real_one_does() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    let join = |who: &str, id: &str| {
        let out = site.deliver(
            &format!("sm-cop-join@{D}"),
            Some(who),
            &request(who, "x", "join", id, ""),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    join("pat@agency.gov", "f1@agency.gov");
    let got = smtp.wait_for(1);
    let pat_token = token_of(&got[0].data);
    let pat_return = got[0].from.clone();
    let pat_id = header(&got[0].data, "Message-ID").unwrap();

    // 1. The forgery from the issue, word for word, to the plain bounces address.
    let forged = b"From: attacker@evil.com\r\nSubject: x\r\n\r\n\
Final-Recipient: rfc822; pat@agency.gov\r\nAction: failed\r\nStatus: 5.1.1\r\n";
    let out = site.deliver(
        &format!("sm-cop-bounces@{D}"),
        Some("attacker@evil.com"),
        forged,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 2. A real-looking report, with a tag the attacker did get: one made for the
    // attacker's own address (they asked to join, and read our confirmation).
    join("attacker@evil.com", "f2@evil.com");
    let got = smtp.wait_for(2);
    let own_return = got[1].from.clone();
    let own_id = header(&got[1].data, "Message-ID").unwrap();
    for (to, id) in [
        (&own_return, &own_id),
        (&format!("sm-cop-bounces@{D}"), &own_id),
    ] {
        let out = site.deliver(to, Some(""), &postfix_dsn(to, "pat@agency.gov", id));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let unverified = site
        .audit()
        .iter()
        .filter(|r| r["action"] == "bounce" && r["outcome"] == "unverified")
        .count();
    assert_eq!(unverified, 3, "each forgery recorded and ignored");
    assert!(
        !site
            .audit()
            .iter()
            .any(|r| r["outcome"] == "pending-cancelled"),
        "no forgery cancels a request"
    );
    // Pat's request stands: the token still works.
    let out = site.deliver(
        &format!("sm-cop-confirm+{pat_token}@{D}"),
        Some("pat@agency.gov"),
        &request("pat@agency.gov", "x", "ok", "f3@agency.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(site.roster_text().contains("\"pat@agency.gov\""));

    // 3. A real bounce of mail we sent: to the tagged return path...
    join("gone@agency.gov", "f4@agency.gov");
    let got = smtp.wait_for(4);
    let gone = got.iter().find(|m| m.to == ["gone@agency.gov"]).unwrap();
    let out = site.deliver(
        &gone.from,
        Some(""),
        &postfix_dsn(&gone.from, "gone@agency.gov", "<elsewhere@x>"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "pending-cancelled" && r["address"] == "gone@agency.gov")
    );
    // ...or to the plain address, known by the Message-ID it returns (pat, now a
    // member: recorded as a member's bounce, nobody removed).
    let plain = format!("sm-cop-bounces@{D}");
    let out = site.deliver(
        &plain,
        Some(""),
        &postfix_dsn(&plain, "pat@agency.gov", &pat_id),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "member-bounced" && r["address"] == "pat@agency.gov")
    );
    assert!(site.roster_text().contains("\"pat@agency.gov\""));
    assert!(pat_return.starts_with("sm-cop-bounces+"));
}

/// Issue 13: `Authentication-Results` through the binary. A pass that is only text
/// (in a quoted string or a comment) is refused; OpenDKIM's real header, folded and
/// with a `;` in its comment, is believed; a value longer than a log line is read
/// whole, never cut to a shorter domain.
#[test]
fn regression_13_authentication_results_forged_and_real() {
    let site = Site::trusting_mx();
    // county-gis: rule 2 allows *.us with `authenticated = true`; rule 3 moderates.
    let (allowed, moderated) = (2, 3);
    let padding = "x".repeat(149);
    let cases = [
        (
            "quoted ';'",
            "mx.example.gov; spf=fail smtp.mailfrom=\"x; dkim=pass header.d=co.example.us y\"@evil.com".to_owned(),
            moderated,
        ),
        (
            "';' in a comment",
            "mx.example.gov;\r\n\tspf=fail (x; dkim=pass header.d=co.example.us) smtp.mailfrom=evil.com".to_owned(),
            moderated,
        ),
        (
            "OpenDKIM",
            "mx.example.gov;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=co.example.us\r\n\t \
             header.i=@co.example.us header.a=rsa-sha256 header.s=sel header.b=hPq4/dVO;\r\n\tdkim-atps=neutral"
                .to_owned(),
            allowed,
        ),
        (
            "a long value",
            format!("mx.example.gov; dkim=pass ({padding}) header.d=co.example.us.evil.com"),
            moderated,
        ),
    ];
    for (i, (what, header, rule)) in cases.iter().enumerate() {
        let from = format!("person{i}@co.example.us");
        let mut raw = format!("Authentication-Results: {header}\r\n").into_bytes();
        raw.extend(request(&from, "x", "join", &format!("auth{i}@x"), ""));
        let out = site.deliver(&format!("county-gis-join@{D}"), Some(&from), &raw);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        let audit = site.audit();
        let line = audit
            .iter()
            .rev()
            .find(|r| r["address"] == from.as_str())
            .unwrap();
        assert_eq!(line["rule"], *rule, "{what}: {line}");
    }
}

/// Review of issue 13: a mail forwarded to the owners carries whatever Reply-To its
/// sender wrote. When the owners' server refused it for good, a Reply-To naming
/// Pat's confirmation address cancelled Pat's request, as a refused confirmation
/// request does. Only a mail to the address concerned may cancel it now.
#[test]
fn regression_13_a_refused_forward_to_the_owners_cancels_nobodys_request() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        Some("pat@agency.gov"),
        &request("pat@agency.gov", "x", "join", "fw1@agency.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = token_of(&smtp.wait_for(1)[0].data);
    smtp.set_mode(Mode::Refuse);
    let forward = format!(
        "X-Foo-Ba\u{20ac}: a multi-byte character across byte 9\r\n\
         From: attacker@evil.example\r\nReply-To: sm-cop-confirm+{token}@{D}\r\nSubject: hello owners\r\nMessage-ID: <fw2@evil.example>\r\n\r\nhi\r\n"
    );
    let out = site.deliver(
        &format!("sm-cop-owner@{D}"),
        Some("attacker@evil.example"),
        forward.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused for good"),
        "the forward was refused: {}",
        stderr(&out)
    );
    assert!(
        !site
            .audit()
            .iter()
            .any(|r| r["outcome"] == "pending-cancelled"),
        "{:?}",
        site.audit()
    );
    smtp.set_mode(Mode::Accept);
    let out = site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        Some("pat@agency.gov"),
        &request("pat@agency.gov", "x", "ok", "fw3@agency.gov", ""),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(site.roster_text().contains("\"pat@agency.gov\""));
}
