//! Issue 16, delivery modes through the binary: `SET LIST NOMAIL|MAIL|DIGEST` by
//! mail, confirmed by a token; `listkeeper set`; the include files; a nomail whose
//! `until` came ends on upkeep; a `kill -9` after the `250` loses no mode change.

use crate::support::daemon::{self, InProcess};
use crate::support::lmtp::Lmtp;
use crate::support::smtp::SmtpServer;
use crate::support::{BIN, Site, eventually, stderr, stdout, token_of};
use std::process::Command;

const D: &str = "listserv.example.gov";

fn message(from: &str, subject: &str, id: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: x@{D}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
    )
}

/// Undoes quoted-printable soft breaks and `=XX` escapes, enough to search the text.
fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "");
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

fn include(site: &Site, name: &str) -> String {
    std::fs::read_to_string(site.var().join(name)).unwrap_or_default()
}

fn jane_line(site: &Site) -> String {
    let roster = site.roster_text();
    roster
        .lines()
        .find(|l| l.starts_with("\"jane.doe@agency.gov\""))
        .unwrap_or_default()
        .to_owned()
}

/// Sends `subject` to `sm-cop-request@` from Jane, then confirms the token of the
/// request it causes; returns the confirmation request and the final reply.
fn set_by_mail(site: &Site, subject: &str, id: &str) -> (String, String) {
    let jane = "Jane Doe <jane.doe@agency.gov>";
    let out = site.deliver(
        &format!("sm-cop-request@{D}"),
        None,
        message(jane, subject, &format!("{id}a@x"), "").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked = site.mail_files().last().cloned().unwrap();
    let token = token_of(&asked);
    let out = site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        None,
        message(jane, "Re: confirm", &format!("{id}b@x"), "ok").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = site.mail_files().last().cloned().unwrap();
    (decoded(&asked), decoded(&done))
}

#[test]
fn set_nomail_by_mail_is_confirmed_and_set_mail_brings_the_member_back() {
    let site = Site::new();
    // The include file as it stands before: every member gets mail.
    let out = site.run(&["add", "sm-cop", "new.member@agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(include(&site, "sm-cop.members").contains("jane.doe@agency.gov\n"));

    let (asked, done) = set_by_mail(&site, "SET SM-COP NOMAIL until 2099-01-15", "n1");
    assert!(
        asked.contains("asked that jane.doe@agency.gov get SM-COP as: nomail (until 2099-01-15)"),
        "{asked}"
    );
    assert!(
        done.contains("jane.doe@agency.gov now gets SM-COP as: nomail (until 2099-01-15)"),
        "{done}"
    );
    assert_eq!(
        jane_line(&site),
        r#""jane.doe@agency.gov" = { name = "Jane Doe", since = 2026-01-05T10:00:00Z, via = "email", mode = "nomail", until = 2099-01-15, why = "member" }"#
    );
    let members = include(&site, "sm-cop.members");
    assert!(!members.contains("jane.doe@agency.gov"), "{members}");
    assert!(members.contains("john.roe@army.mil\n"), "{members}");
    assert!(
        site.roster_text()
            .contains("# Moderators of the weekly call."),
        "comments kept"
    );

    let (asked, done) = set_by_mail(&site, "set mail", "m1");
    assert!(asked.contains("get SM-COP as: mail"), "{asked}");
    assert!(done.contains("now gets SM-COP as: mail"), "{done}");
    assert_eq!(
        jane_line(&site),
        r#""jane.doe@agency.gov" = { name = "Jane Doe", since = 2026-01-05T10:00:00Z, via = "email" }"#
    );
    assert!(include(&site, "sm-cop.members").contains("jane.doe@agency.gov\n"));

    let audit: Vec<(String, String)> = site
        .audit()
        .iter()
        .filter(|a| a["address"] == "jane.doe@agency.gov")
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, o: &str| (a.to_owned(), o.to_owned());
    assert_eq!(
        audit,
        [
            pair("set", "confirmation-sent"),
            pair("confirm", "mode-set"),
            pair("set", "confirmation-sent"),
            pair("confirm", "mode-set"),
        ]
    );
}

#[test]
fn a_non_member_is_told_and_nothing_is_pending() {
    let site = Site::new();
    let out = site.deliver(
        &format!("listserv@{D}"),
        None,
        message("who@agency.gov", "x", "s1@x", "set sm-cop nomail").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mails = site.mail_files();
    assert_eq!(mails.len(), 1);
    let reply = decoded(&mails[0]);
    assert!(
        reply.contains("who@agency.gov is not subscribed to SM-COP. Nothing has changed."),
        "{reply}"
    );
    assert!(!reply.contains("Reply-To: sm-cop-confirm"), "{reply}");
}

#[test]
fn the_set_command_line_the_digest_file_members_json_and_check() {
    let site = Site::new();
    site.edit(
        "lists/sm-cop/list.toml",
        "include_file = \"../../../var/sm-cop.members\"",
        "include_file = \"../../../var/sm-cop.members\"\ndigest_include_file = \"../../../var/sm-cop.digest\"",
    );
    let out = site.run(&["set", "sm-cop", "John.Roe@army.mil", "digest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        site.roster_text()
            .contains(r#""john.roe@army.mil" = { mode = "digest", why = "owner" }"#),
        "{}",
        site.roster_text()
    );
    assert_eq!(include(&site, "sm-cop.digest"), "john.roe@army.mil\n");
    assert!(!include(&site, "sm-cop.members").contains("john.roe"));
    let again = site.run(&["set", "sm-cop", "john.roe@army.mil", "digest"]);
    assert_eq!(again.status.code(), Some(1), "nothing to change");
    assert!(stderr(&again).contains("already"), "{}", stderr(&again));
    let bad = site.run(&[
        "set",
        "sm-cop",
        "john.roe@army.mil",
        "digest",
        "--until",
        "2027-01-15",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let nobody = site.run(&["set", "sm-cop", "nobody@agency.gov", "nomail"]);
    assert_eq!(nobody.status.code(), Some(1));

    let out = site.run(&["members", "sm-cop", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let john = json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["address"] == "john.roe@army.mil")
        .unwrap();
    assert_eq!(john["mode"], "digest");
    assert_eq!(john["why"], "owner");
    let audit = site.audit();
    let last = audit.last().unwrap();
    assert_eq!(
        (&last["action"], &last["outcome"], &last["via"]),
        (
            &serde_json::json!("set"),
            &serde_json::json!("mode-set"),
            &serde_json::json!("admin")
        )
    );

    // An admin's typo: the member kept as mail, `check` names file and line.
    let text = site
        .roster_text()
        .replace(r#"mode = "digest""#, r#"mode = "digets""#);
    std::fs::write(site.roster(), text).unwrap();
    let out = site.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("roster.toml:6") && stdout(&out).contains("unknown mode `digets`"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_nomail_whose_until_came_gets_mail_again_on_upkeep() {
    let site = Site::new();
    let out = site.run(&[
        "set",
        "sm-cop",
        "l.chen@navy.mil",
        "nomail",
        "--until",
        "2020-01-15",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(site.roster_text().contains("until = 2020-01-15"));
    assert!(!include(&site, "sm-cop.members").contains("l.chen"));
    // The daemon's upkeep runs as it starts.
    let daemon = InProcess::start(&site.config());
    assert!(
        eventually(|| !site.roster_text().contains("until = 2020-01-15")),
        "{}",
        site.roster_text()
    );
    assert!(daemon.stop());
    assert!(
        site.roster_text().contains(
            r#""l.chen@navy.mil" = { name = "Li Chen", since = 2026-03-02T09:12:44Z, via = "token" }"#
        ),
        "{}",
        site.roster_text()
    );
    assert!(include(&site, "sm-cop.members").contains("l.chen@navy.mil\n"));
    let audit = site.audit();
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "resume" && a["address"] == "l.chen@navy.mil"),
        "{audit:?}"
    );
}

/// `kill -9` right after the confirmation's `250`: the change is in state.log, and
/// the next start saves it into the roster and the include file.
#[test]
fn a_mode_change_survives_kill_9_after_its_250() {
    let smtp = SmtpServer::start();
    let site = Site::serving(smtp.port);
    let log = site.tmp.path().join("serve.log");
    let mut serve = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(site.config())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let port = daemon::port_of(&daemon::wait_ready(&log, 0, &mut serve));
    let mut lmtp = Lmtp::connect(port).unwrap();
    let jane = "jane.doe@agency.gov";
    let ask = message(jane, "set sm-cop nomail", "k1@x", "");
    let (_, outcomes) = lmtp
        .send(jane, &[&format!("sm-cop-request@{D}")], &ask)
        .unwrap();
    assert_eq!(outcomes[0].code, 250);
    let token = token_of(&smtp.wait_for(1)[0].data);
    let ok = message(jane, "ok", "k2@x", "ok");
    let (_, outcomes) = lmtp
        .send(jane, &[&format!("sm-cop-confirm+{token}@{D}")], &ok)
        .unwrap();
    assert_eq!(outcomes[0].code, 250);
    serve.kill().unwrap();
    serve.wait().unwrap();
    // Whatever the saver did before the kill, the next reader has the change.
    let out = site.run(&["members", "sm-cop", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let member = json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["address"] == jane)
        .unwrap();
    assert_eq!(member["mode"], "nomail");
    assert!(jane_line(&site).contains(r#"mode = "nomail", why = "member""#));
    assert!(!include(&site, "sm-cop.members").contains(jane));
}
