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
