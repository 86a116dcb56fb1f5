//! Issue 17: a member's requests about every list at once, through the binary:
//! `SIGNOFF *` (one confirmation, one reply) and `QUERY *`.

use crate::support::{Site, token_of};

const JANE: &str = "jane.doe@agency.gov";

/// The example site with a second list, SM-TWO, that Jane is on too.
pub(crate) fn two_lists() -> Site {
    let site = Site::new();
    let dir = site.config().join("lists/sm-two");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("list.toml"),
        "id = \"sm-two\"\nname = \"SM-TWO\"\ntitle = \"The second list\"\n\
         owners = [\"socialgov@example.gov\"]\nsubscribe = \"confirm\"\n\
         unsubscribe = \"confirm\"\nterms = \"Government addresses.\"\n\
         [[rule]]\ndomain = [\"*.gov\"]\naction = \"allow\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("roster.toml"),
        format!("[members]\n\"{JANE}\" = {{ name = \"Jane Doe\" }}\n"),
    )
    .unwrap();
    site
}

/// A command mail from `from` to the command address, with `body`.
fn command(site: &Site, from: &str, subject: &str, body: &str, id: &str) {
    let mail = format!(
        "From: {from}\r\nTo: listserv@listserv.example.gov\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\n\r\n{body}\r\n"
    );
    let out = site.deliver("listserv@listserv.example.gov", Some(from), mail.as_bytes());
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
}

fn roster(site: &Site, list: &str) -> String {
    std::fs::read_to_string(site.config().join(format!("lists/{list}/roster.toml"))).unwrap()
}

#[test]
fn signoff_star_leaves_every_list_after_one_confirmation() {
    let site = two_lists();
    command(&site, JANE, "", "SIGNOFF *", "s1@x");
    let mails = site.mail_files();
    assert_eq!(mails.len(), 1, "one mail: {mails:?}");
    let ask = mails[0].replace("=\r\n", "");
    assert!(ask.contains("from every list on this server"), "{ask}");
    assert!(ask.contains("SM-COP") && ask.contains("SM-TWO"), "{ask}");
    // Nothing changes before the confirmation.
    assert!(roster(&site, "sm-cop").contains(JANE));
    assert!(roster(&site, "sm-two").contains(JANE));
    let token = token_of(&ask);
    command(&site, JANE, &format!("Re: confirm {token}"), "ok", "s2@x");
    let mails = site.mail_files();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let done = mails[1].replace("=\r\n", "");
    assert!(done.contains("has been removed from"), "{done}");
    assert!(done.contains("SM-COP") && done.contains("SM-TWO"), "{done}");
    assert!(!roster(&site, "sm-cop").contains(JANE));
    assert!(!roster(&site, "sm-two").contains(JANE));
    let removed: Vec<_> = (site.audit().into_iter())
        .filter(|l| l["outcome"] == "removed" && l["address"] == JANE)
        .map(|l| l["list"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(removed, ["sm-cop", "sm-two"]);
    // The token is used up.
    command(&site, JANE, &format!("Re: confirm {token}"), "ok", "s3@x");
    let again = site.mail_files()[2].replace("=\r\n", "");
    assert!(
        again.contains("unknown, already used or expired"),
        "{again}"
    );
}

#[test]
fn query_star_lists_the_senders_lists_and_signoff_star_of_a_stranger_asks_nothing() {
    let site = two_lists();
    command(&site, "john.roe@army.mil", "", "QUERY *", "q1@x");
    command(&site, JANE, "", "QUERY *", "q2@x");
    command(&site, "nobody@agency.gov", "", "SIGNOFF *", "q3@x");
    let mails: Vec<String> = (site.mail_files().iter())
        .map(|m| m.replace("=\r\n", ""))
        .collect();
    assert_eq!(mails.len(), 3, "{mails:?}");
    let john = mails.iter().find(|m| m.contains("To: john.roe")).unwrap();
    assert!(john.contains("is subscribed to:"), "{john}");
    assert!(
        john.contains("SM-COP") && !john.contains("SM-TWO"),
        "{john}"
    );
    let jane = mails
        .iter()
        .find(|m| m.contains("To: Jane") || m.contains("To: jane"))
        .unwrap();
    assert!(jane.contains("SM-COP") && jane.contains("SM-TWO"), "{jane}");
    let nobody = mails.iter().find(|m| m.contains("nobody@")).unwrap();
    assert!(nobody.contains("is not subscribed to any list"), "{nobody}");
    assert!(!nobody.contains("confirm+"), "{nobody}");
}

/// The mails the `file:` transport wrote, soft line breaks joined.
fn mails(site: &Site) -> Vec<String> {
    (site.mail_files().iter())
        .map(|m| m.replace("=\r\n", ""))
        .collect()
}

#[test]
fn change_to_an_ineligible_address_is_refused_and_nothing_is_mailed_there() {
    let site = two_lists();
    command(
        &site,
        JANE,
        "",
        "CHANGE SM-COP jane@gmail.example.com",
        "c1@x",
    );
    let mails = mails(&site);
    assert_eq!(mails.len(), 1, "only Jane is told: {mails:?}");
    assert!(mails[0].contains(&format!("To: {JANE}")) || mails[0].contains("To: <jane.doe"));
    assert!(
        mails[0].contains("cannot move to jane@gmail.example.com"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("SM-COP: Anyone with a .gov"),
        "{}",
        mails[0]
    );
    assert!(!mails[0].contains("confirm+"), "{}", mails[0]);
    assert!(roster(&site, "sm-cop").contains(JANE));
    assert!(!roster(&site, "sm-cop").contains("gmail"));
    let refused = (site.audit().into_iter())
        .filter(|l| l["action"] == "change" && l["outcome"] == "refused")
        .count();
    assert_eq!(refused, 1);
}

#[test]
fn change_star_moves_every_line_once_the_new_address_confirms() {
    let site = two_lists();
    let new = "jane.doe@hhs.gov";
    command(&site, JANE, "", "CHANGE * jane.doe@hhs.gov", "c1@x");
    let first = mails(&site);
    assert_eq!(first.len(), 2, "{first:?}");
    let ask = first
        .iter()
        .find(|m| m.contains("To: jane.doe@hhs.gov"))
        .unwrap();
    assert!(
        ask.contains(&format!("subscription of {JANE} move to {new}")),
        "{ask}"
    );
    let told = first
        .iter()
        .find(|m| m.contains("A confirmation has been mailed"))
        .unwrap();
    assert!(told.contains("agency.gov"), "{told}");
    // Nothing moves before the new address confirms.
    assert!(!roster(&site, "sm-cop").contains(new));
    let token = token_of(ask);
    command(&site, new, &format!("Re: confirm {token}"), "ok", "c2@x");
    let cop = roster(&site, "sm-cop");
    assert!(!cop.contains(JANE), "{cop}");
    assert!(
        cop.contains(&format!(
            "\"{new}\" = {{ name = \"Jane Doe\", since = 2026-01-05T10:00:00Z, via = \"email\""
        )),
        "{cop}"
    );
    let two = roster(&site, "sm-two");
    assert!(!two.contains(JANE) && two.contains(new), "{two}");
    let after = mails(&site);
    let moved: Vec<_> = after[2..]
        .iter()
        .filter(|m| m.contains("has moved to"))
        .collect();
    assert_eq!(moved.len(), 2, "both told: {after:?}");
    let audit = site.audit();
    let lines = |outcome: &str| audit.iter().filter(|l| l["outcome"] == outcome).count();
    assert_eq!((lines("moved-from"), lines("moved-to")), (2, 2));
}
