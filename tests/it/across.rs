//! Issue 17: a member's requests about every list at once, through the binary:
//! `SIGNOFF *` (one confirmation, one reply) and `QUERY *`.

use crate::support::{Site, token_of};

const JANE: &str = "jane.doe@agency.gov";

/// The example site with a second list, SM-TWO, that Jane is on too.
fn two_lists() -> Site {
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
