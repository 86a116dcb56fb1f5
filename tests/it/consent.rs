//! Consent records through the built binary: every member line listkeeper adds says
//! how and in which request the member agreed, and to which terms (issue 17, part 4).

use crate::support::{Site, stderr, stdout, token_of};
use sha2::{Digest, Sha256};

const D: &str = "listserv.example.gov";
const TERMS: &str = "Anyone with a .gov or .mil email address is eligible to join.";

fn request(from: &str, subject: &str, id: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: x\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n\r\n")
        .into_bytes()
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn members(site: &Site, args: &[&str]) -> Vec<serde_json::Value> {
    let out = site.run(&[&["members", "sm-cop", "--json"], args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn find<'a>(members: &'a [serde_json::Value], address: &str) -> &'a serde_json::Value {
    members
        .iter()
        .find(|m| m["address"] == address)
        .unwrap_or_else(|| panic!("{address} in {members:?}"))
}

#[test]
fn every_member_line_says_what_they_agreed_to() {
    let site = Site::new();
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        &request("Ann Lee <ann.lee@navy.mil>", "join", "c1@navy.mil"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = token_of(&site.mail_files()[0]);
    let out = site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        None,
        &request("ann.lee@navy.mil", "ok", "c2@navy.mil"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = site.run(&["add", "sm-cop", "bo@army.mil"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The agreement is the confirmation, not the request anyone could forge.
    let short = &sha256(TERMS)[..12];
    let line = format!(
        "via = \"token\", request = \"<c2@navy.mil>\", terms = \"{short}\", lang = \"en\" }}"
    );
    assert!(site.roster_text().contains(&line), "{}", site.roster_text());
    let all = members(&site, &[]);
    let ann = find(&all, "ann.lee@navy.mil");
    assert_eq!(ann["via"], "token");
    assert_eq!(ann["request"], "<c2@navy.mil>");
    assert_eq!(ann["terms"], *short);
    let bo = find(&all, "bo@army.mil");
    assert_eq!(bo["via"], "admin");
    assert_eq!(bo["request"], "admin");
    assert_eq!(bo["terms"], *short);
    assert!(!site.roster_text().contains(&token), "never a token");
    // The audit lines of the adds carry the whole hash; others none.
    let audit = site.audit();
    let added: Vec<_> = audit.iter().filter(|a| a["outcome"] == "added").collect();
    assert_eq!(added.len(), 2, "{audit:?}");
    assert!(added.iter().all(|a| a["terms"] == sha256(TERMS)));
    assert!(
        audit
            .iter()
            .filter(|a| a["outcome"] != "added")
            .all(|a| a.get("terms").is_none())
    );

    // New terms: those two joined under the older ones; admins' bare lines and
    // lines from before consent records are not listed.
    assert!(members(&site, &["--older-terms"]).is_empty());
    site.edit(
        "lists/sm-cop/list.toml",
        TERMS,
        "Federal employees with a .gov or .mil address may join.",
    );
    let older = members(&site, &["--older-terms"]);
    let mut addresses: Vec<_> = older.iter().map(|m| m["address"].clone()).collect();
    addresses.sort_by_key(ToString::to_string);
    assert_eq!(addresses, ["ann.lee@navy.mil", "bo@army.mil"]);
    let check = site.run(&["check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(
        stdout(&check).contains("2 member(s) joined under earlier terms"),
        "{}",
        stdout(&check)
    );
}
