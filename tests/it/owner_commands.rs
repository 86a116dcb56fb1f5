//! Owner commands by mail (issue 17, step 2): `ADD`, `DELETE`, `QUIET`, `REVIEW`. A
//! From header proves nothing: without a trusted Authentication-Results pass, an
//! owner's command waits for the `OK` of the owner's own address.

use crate::support::{Site, header, token_of};
use listkeeper::config::Config;
use listkeeper::pipeline::{self, Context, Delivery, Outcome};

const D: &str = "listserv.example.gov";
const T: u64 = 1_800_000_000;
const OWNER: &str = "socialgov@example.gov";

fn context(site: &Site) -> Context {
    Context::open(Config::load(&site.config()).unwrap()).unwrap()
}

/// A message from `from` to `to@D` with these extra header lines and body: every
/// mail of its answer.
fn mail(ctx: &Context, to: &str, from: &str, headers: &str, body: &str, now: u64) -> Vec<String> {
    let raw = format!(
        "From: {from}\r\n{headers}Subject: commands\r\nMessage-ID: <{now}.{to}@x>\r\n\r\n{body}\r\n"
    );
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

fn to(m: &str) -> String {
    header(m, "To").unwrap()
}

fn member(site: &Site, address: &str) -> bool {
    site.roster_text().contains(&format!("\"{address}\""))
}

/// The one mail to `address` among `mails`.
fn for_<'m>(mails: &'m [String], address: &str) -> &'m String {
    let found: Vec<&String> = mails.iter().filter(|m| to(m) == address).collect();
    assert_eq!(found.len(), 1, "{mails:#?}");
    found[0]
}

#[test]
fn a_forged_owner_add_without_the_ok_round_trip_changes_nothing() {
    let site = Site::new();
    let ctx = context(&site);
    let body = "ADD sm-cop new.person@agency.gov New Person";
    let mails = mail(&ctx, "sm-cop-request", OWNER, "", body, T);
    // Only the OK request, to the owner's own address; nobody else hears of it.
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let ok = &mails[0];
    assert_eq!(to(ok), OWNER);
    assert!(ok.contains("nothing has been done yet"), "{ok}");
    assert!(!member(&site, "new.person@agency.gov"));
    // The OK of the owner's address carries it out: the member is welcomed.
    let token = token_of(ok);
    let done = mail(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        OWNER,
        "",
        "ok",
        T + 60,
    );
    assert!(member(&site, "new.person@agency.gov"));
    assert!(for_(&done, OWNER).contains("is now a member"), "{done:#?}");
    let welcome = for_(&done, "new.person@agency.gov");
    assert!(
        header(welcome, "Subject").unwrap().starts_with("Welcome"),
        "{welcome}"
    );
    assert!(site.roster_text().contains("New Person"));
    let audit = site.audit();
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "owner-add" && r["outcome"] == "ok-sent" && r["by"] == OWNER)
    );
    assert!(audit.iter().any(|r| r["action"] == "add"
        && r["outcome"] == "added"
        && r["via"] == "token"
        && r["by"] == OWNER));
    // The token is single-use.
    let again = mail(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        OWNER,
        "",
        "ok",
        T + 90,
    );
    assert!(
        again[0].contains("unknown, already used or expired"),
        "{again:#?}"
    );
}

#[test]
fn a_non_owner_is_refused_and_nothing_changes() {
    let site = Site::new();
    let ctx = context(&site);
    let body = "ADD new.person@agency.gov";
    let mails = mail(&ctx, "sm-cop-request", "jane.doe@agency.gov", "", body, T);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(
        mails[0].contains("Only the owners of SM-COP"),
        "{}",
        mails[0]
    );
    assert!(!member(&site, "new.person@agency.gov"));
    let del = mail(
        &ctx,
        "sm-cop-request",
        "mallory@agency.gov",
        "",
        "DELETE sm-cop jane.doe@agency.gov",
        T + 1,
    );
    assert!(del[0].contains("Nothing has changed"), "{}", del[0]);
    assert!(member(&site, "jane.doe@agency.gov"));
}

#[test]
fn an_authenticated_owner_add_and_quiet_delete_happen_at_once() {
    let site = Site::trusting_mx();
    let ctx = context(&site);
    let ar = "Authentication-Results: mx.example.gov; dkim=pass header.d=example.gov\r\n";
    let mails = mail(
        &ctx,
        "sm-cop-request",
        OWNER,
        ar,
        "add pat.lee@agency.gov",
        T,
    );
    assert!(member(&site, "pat.lee@agency.gov"));
    assert!(for_(&mails, OWNER).contains("is now a member"));
    for_(&mails, "pat.lee@agency.gov");
    // QUIET: the member hears nothing of their removal.
    let mails = mail(
        &ctx,
        "sm-cop-request",
        OWNER,
        ar,
        "QUIET DELETE sm-cop pat.lee@agency.gov",
        T + 60,
    );
    assert!(
        !member(&site, "pat.lee@agency.gov"),
        "{}",
        site.roster_text()
    );
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(
        mails[0].contains("QUIET: they were not told"),
        "{}",
        mails[0]
    );
    assert!(
        site.audit()
            .iter()
            .any(|r| r["action"] == "remove" && r["by"] == OWNER && r["via"] == "email")
    );
}

#[test]
fn quiet_add_through_the_ok_sends_no_welcome() {
    let site = Site::new();
    let ctx = context(&site);
    let mails = mail(
        &ctx,
        "listserv",
        OWNER,
        "",
        "quiet add sm-cop hush@gmail.com",
        T,
    );
    let token = token_of(&mails[0]);
    let done = mail(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        OWNER,
        "",
        "ok",
        T + 60,
    );
    assert!(member(&site, "hush@gmail.com"));
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(to(&done[0]), OWNER);
    // An owner may add whom the rules would refuse, and is told so.
    assert!(done[0].contains("rules would refuse"), "{}", done[0]);
}

#[test]
fn review_gives_the_roster_to_owners_only_by_default() {
    let site = Site::new();
    let ctx = context(&site);
    let mails = mail(&ctx, "sm-cop-request", OWNER, "", "review", T);
    let roster = for_(&mails, OWNER);
    assert!(roster.contains("jane.doe@agency.gov"), "{roster}");
    assert!(roster.contains("The members of SM-COP ("), "{roster}");
    let member_asks = mail(
        &ctx,
        "sm-cop-request",
        "jane.doe@agency.gov",
        "",
        "review sm-cop",
        T + 1,
    );
    assert!(!member_asks[0].contains("john.roe"), "{}", member_asks[0]);
    assert!(
        member_asks[0].contains("Only the owners of SM-COP"),
        "{}",
        member_asks[0]
    );
    // review = "members": a member may have it, a stranger still not.
    site.edit(
        "lists/sm-cop/list.toml",
        "notify = \"daily\"",
        "notify = \"daily\"\nreview = \"members\"",
    );
    let ctx = context(&site);
    let member_asks = mail(
        &ctx,
        "sm-cop-request",
        "jane.doe@agency.gov",
        "",
        "review sm-cop",
        T + 2,
    );
    assert!(
        member_asks[0].contains("The members of SM-COP"),
        "{}",
        member_asks[0]
    );
    let stranger = mail(
        &ctx,
        "sm-cop-request",
        "who@agency.gov",
        "",
        "review sm-cop",
        T + 3,
    );
    assert!(
        stranger[0].contains("Only the owners and members"),
        "{}",
        stranger[0]
    );
}

#[test]
fn an_owner_delete_through_the_ok_says_goodbye() {
    let site = Site::new();
    let ctx = context(&site);
    let mails = mail(
        &ctx,
        "sm-cop-request",
        OWNER,
        "",
        "DELETE john.roe@army.mil",
        T,
    );
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(member(&site, "john.roe@army.mil"), "nothing before the OK");
    let token = token_of(&mails[0]);
    let done = mail(
        &ctx,
        "sm-cop-request",
        OWNER,
        "",
        &format!("confirm {token}"),
        T + 60,
    );
    assert!(!member(&site, "john.roe@army.mil"));
    assert!(
        for_(&done, OWNER).contains("is no longer a member"),
        "{done:#?}"
    );
    assert!(for_(&done, "john.roe@army.mil").contains("has been removed from SM-COP"));
}
