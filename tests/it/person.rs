//! Issue 17.5: `listkeeper person ADDR` shows all we hold on one address; `listkeeper
//! erase ADDR` leaves no plain address anywhere in the state, the audit or a roster.

use crate::support::{Site, stderr, stdout};

const JANE: &str = "jane.doe@agency.gov";

/// Every file under `dir` that names `needle` (any case), by path.
fn naming(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(naming(&path, needle));
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap())
            .to_lowercase()
            .contains(needle)
        {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn person_shows_and_erase_removes_everything_we_hold_on_an_address() {
    let site = Site::new();
    // Something in every store: a pending request, a limits line, audit lines.
    let mail = format!(
        "From: {JANE}\r\nTo: listserv@listserv.example.gov\r\nSubject: \r\nMessage-ID: <p1@x>\r\n\r\nSET SM-COP NOMAIL\r\n"
    );
    let out = site.deliver("listserv@listserv.example.gov", Some(JANE), mail.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = site.run(&["person", JANE, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(shown["lists"][0]["list"], "sm-cop", "{shown}");
    assert_eq!(shown["requests"][0]["action"], "set", "{shown}");
    assert!(shown["limits_log_lines"].as_u64().unwrap() >= 1, "{shown}");
    assert!(!shown["audit"].as_array().unwrap().is_empty(), "{shown}");

    let out = site.run(&["erase", JANE]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("left 1 list(s), 1 request(s) cancelled"),
        "{}",
        stdout(&out)
    );
    // No plain address in state.log, audit.log, limits.log, the rosters.
    let left: Vec<String> = [site.var(), site.config()]
        .iter()
        .flat_map(|d| naming(d, JANE))
        .filter(|p| !p.contains("outbox-mail"))
        .collect();
    assert!(left.is_empty(), "still named in {left:?}");
    let audit = std::fs::read_to_string(site.var().join("state/audit.log")).unwrap();
    assert!(audit.contains("\"address\":\"erased:"), "{audit}");
    // Others are untouched.
    assert!(site.roster_text().contains("john.roe@army.mil"));
    let out = site.run(&["person", JANE]);
    assert!(stdout(&out).contains("erased before"), "{}", stdout(&out));
    // An admin's add (as a stale import would) is refused; the person's own request
    // is still answered.
    let out = site.run(&["add", "sm-cop", JANE]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("asked to be erased"),
        "{}",
        stderr(&out)
    );
    let mail = format!(
        "From: {JANE}\r\nTo: sm-cop-subscribe@listserv.example.gov\r\nSubject: join\r\nMessage-ID: <p2@x>\r\n\r\n"
    );
    let out = site.deliver(
        "sm-cop-subscribe@listserv.example.gov",
        Some(JANE),
        mail.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let last = site.mail_files().pop().unwrap();
    assert!(last.contains("asked to subscribe"), "{last}");

    // Neither an import nor a sync brings her back silently: left out, and said so.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("back.csv");
    std::fs::write(
        &csv,
        format!("email,name\n{JANE},Jane\nnew.one@agency.gov,New\n"),
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let out = site.run(&["import", "csv", csv, "--list", "sm-cop", "--merge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 erased address(es) left out"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["sync", "sm-cop", csv, "--name", "hr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 erased address(es) left out"),
        "{}",
        stderr(&out)
    );
    let roster = site.roster_text();
    assert!(roster.contains("new.one@agency.gov"), "{roster}");
    assert!(!roster.to_lowercase().contains(JANE), "{roster}");
}

#[test]
fn erase_by_mail_takes_the_address_round_trip_then_leaves_nothing_but_its_hash() {
    let site = crate::across::two_lists();
    let send = |to: &str, subject: &str, body: &str, id: &str| {
        let mail = format!(
            "From: Jane Doe <{JANE}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
        );
        let out = site.deliver(to, Some(JANE), mail.as_bytes());
        assert!(out.status.success(), "{}", stderr(&out));
    };
    send(
        "listserv@listserv.example.gov",
        "",
        "SET SM-COP NOMAIL",
        "e0@x",
    );
    send("listserv@listserv.example.gov", "", "ERASE", "e1@x");
    let mails = site.mail_files();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let ask = mails[1].replace("=\r\n", "");
    assert!(ask.contains("everything this server holds on"), "{ask}");
    assert!(ask.contains("SM-COP") && ask.contains("SM-TWO"), "{ask}");
    // Anyone can write From: Jane; nothing goes before she answers from her mailbox.
    let roster_of = |list: &str| {
        std::fs::read_to_string(site.config().join(format!("lists/{list}/roster.toml"))).unwrap()
    };
    assert!(roster_of("sm-cop").contains(JANE) && roster_of("sm-two").contains(JANE));
    let token = crate::support::token_of(&ask);
    let confirm = format!("sm-cop-confirm+{token}@listserv.example.gov");
    send(&confirm, &format!("Re: confirm {token}"), "", "e2@x");

    assert!(
        !roster_of("sm-cop").contains(JANE),
        "{}",
        roster_of("sm-cop")
    );
    assert!(
        !roster_of("sm-two").contains(JANE),
        "{}",
        roster_of("sm-two")
    );
    assert!(roster_of("sm-cop").contains("john.roe@army.mil"));
    // Not answered: an answer would keep her address in the state.
    assert_eq!(site.mail_files().len(), 2, "{:?}", site.mail_files());
    let left: Vec<String> = [site.var(), site.config()]
        .iter()
        .flat_map(|d| naming(d, JANE))
        .filter(|p| !p.contains("outbox-mail"))
        .collect();
    assert!(left.is_empty(), "still named in {left:?}");
    let audit = site.audit();
    let erased = audit
        .iter()
        .find(|l| l["action"] == "erase" && l["outcome"] == "erased");
    let erased = erased.unwrap_or_else(|| panic!("no erase line: {audit:?}"));
    assert_eq!(erased["via"], "token", "{erased}");
    let hash = erased["address"].as_str().unwrap();
    assert!(hash.starts_with("erased:"), "{erased}");
    // Her earlier lines (the SET request, the ERASE request, both removals) name the hash.
    let hers = audit.iter().filter(|l| l["address"] == hash).count();
    assert!(hers >= 5, "{audit:?}");
    let suppressed = std::fs::read_to_string(site.var().join("state/erased.list")).unwrap();
    assert_eq!(suppressed.trim(), hash);
    // The same token again is unknown (the request went with everything else).
    send(&confirm, &format!("Re: confirm {token}"), "", "e3@x");
    let last = site.mail_files().pop().unwrap();
    assert!(last.contains("unknown, already used or expired"), "{last}");
}

/// The daemon erases as `deliver` does, and goes on writing its logs afterwards.
#[test]
fn erase_by_mail_in_the_daemon_leaves_nothing_and_its_logs_go_on() {
    use crate::support::daemon::InProcess;
    use crate::support::lmtp::Lmtp;
    let site = crate::across::two_lists();
    let daemon = InProcess::start(&site.config());
    let mut lmtp = Lmtp::connect(daemon.port).unwrap();
    let mut send = |from: &str, to: &str, subject: &str, body: &str, id: &str| {
        let mail = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
        );
        let (_, outcomes) = lmtp.send(from, &[to], &mail).unwrap();
        assert_eq!(outcomes[0].code, 250, "{outcomes:?}");
    };
    send(
        JANE,
        "sm-cop-request@listserv.example.gov",
        "",
        "ERASE",
        "d1@x",
    );
    assert!(crate::support::eventually(|| site.mail_files().len() == 1));
    let token = crate::support::token_of(&site.mail_files()[0].replace("=\r\n", ""));
    let confirm = format!("sm-cop-confirm+{token}@listserv.example.gov");
    send(JANE, &confirm, &format!("Re: confirm {token}"), "", "d2@x");
    // Saved before its 250: the rosters no longer name her.
    assert!(!site.roster_text().contains(JANE), "{}", site.roster_text());
    // Someone else afterwards: audited (the rewritten audit.log is written to).
    let lee = "lee.park@agency.gov";
    send(
        lee,
        "sm-cop-request@listserv.example.gov",
        "",
        "SUBSCRIBE SM-COP",
        "d3@x",
    );
    assert!(crate::support::eventually(|| site.mail_files().len() == 2));
    assert!(daemon.stop());
    let left: Vec<String> = [site.var(), site.config()]
        .iter()
        .flat_map(|d| naming(d, JANE))
        .filter(|p| !p.contains("outbox-mail"))
        .collect();
    assert!(left.is_empty(), "still named in {left:?}");
    let audit = site.audit();
    assert!(
        audit
            .iter()
            .any(|l| l["address"] == lee && l["action"] == "subscribe"),
        "{audit:?}"
    );
    assert!(audit.iter().any(|l| l["outcome"] == "erased"), "{audit:?}");
    let limits = std::fs::read_to_string(site.var().join("state/limits.log")).unwrap();
    assert!(limits.contains(lee), "{limits}");
}
