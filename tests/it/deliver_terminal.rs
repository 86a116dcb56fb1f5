//! `deliver`'s one-line outcome: written when standard error is a terminal (run under
//! a pseudo-terminal with util-linux's `script`), never into an MTA's pipe; and
//! README's "Try it" steps with the example messages, each doing what it says.

use crate::support;

use crate::support::{BIN, Site, repo, stderr};
use std::process::Command;

const JOIN: &str = "sm-cop-subscribe-request@listserv.example.gov";

/// `deliver --to TO < FILE` with a pseudo-terminal as standard error; what the
/// terminal showed. `None` (said) when `script` is missing, outside CI.
fn on_a_terminal(site: &Site, to: &str, file: &str) -> Option<String> {
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !support::required(has_script, "`script` (util-linux)") {
        return None;
    }
    let file = repo().join(file);
    let cmd = format!(
        "{BIN} deliver --config '{}' --to '{to}' < '{}'",
        site.config().display(),
        file.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    Some(String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

#[test]
fn deliver_says_on_a_terminal_what_it_did_and_never_the_token() {
    let site = Site::new();
    let Some(shown) = on_a_terminal(&site, JOIN, "examples/subscribe.eml") else {
        return;
    };
    assert_eq!(
        shown.trim_end(),
        format!(
            "listkeeper: {JOIN}: done, 1 reply queued (confirmation request to pat.example@agency.gov)"
        )
    );
    let again = on_a_terminal(&site, JOIN, "examples/subscribe.eml").unwrap();
    assert_eq!(
        again.trim_end(),
        format!("listkeeper: {JOIN}: duplicate of a message already handled, nothing done")
    );

    let token = support::token_of(&site.mail_files()[0]);
    let confirm = format!("sm-cop-confirm+{token}@listserv.example.gov");
    let shown = on_a_terminal(&site, &confirm, "examples/subscribe.eml").unwrap();
    assert_eq!(
        shown.trim_end(),
        "listkeeper: sm-cop-confirm+…@listserv.example.gov: done, 1 reply queued (welcome to pat.example@agency.gov)"
    );
    assert!(!shown.contains(&token));
}

#[test]
fn deliver_into_a_pipe_prints_nothing_on_success() {
    let site = Site::new();
    let message = std::fs::read(repo().join("examples/subscribe.eml")).unwrap();
    for _ in 0..2 {
        let out = site.deliver(JOIN, None, &message);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stderr(&out), "", "an MTA's pipe gets no chatter");
        assert!(out.stdout.is_empty());
    }
}

/// README's "Try it": the LMTP step's message and the `deliver` step's are two
/// requests (a message handled once is a duplicate the next time), then Pat confirms
/// with any message to the confirm address, and the command address answers.
#[test]
fn readme_try_it_steps_each_do_what_they_say() {
    let site = Site::new();
    let read = |f: &str| std::fs::read(repo().join("examples").join(f)).unwrap();
    let ok = |out: std::process::Output| assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ok(site.deliver(JOIN, None, &read("subscribe.eml")));
    ok(site.deliver(JOIN, None, &read("subscribe-lee.eml")));
    let mails = site.mail_files();
    assert_eq!(mails.len(), 2, "two requests, two confirmation requests");
    let to = |who: &str| format!("\r\nTo: {who}\r\n");
    let pat = mails
        .iter()
        .find(|m| m.contains(&to("pat.example@agency.gov")));
    assert!(
        mails
            .iter()
            .any(|m| m.contains(&to("lee.example@army.mil")))
    );
    let token = support::token_of(pat.unwrap());
    ok(site.deliver(
        &format!("sm-cop-confirm+{token}@listserv.example.gov"),
        None,
        &read("subscribe.eml"),
    ));
    let members = site.run(&["members", "sm-cop"]);
    assert!(
        String::from_utf8_lossy(&members.stdout).contains("pat.example@agency.gov"),
        "{}",
        stderr(&members)
    );
    ok(site.deliver(
        "listserv@listserv.example.gov",
        None,
        &read("listserv-commands.eml"),
    ));
    assert_eq!(
        site.mail_files().len(),
        4,
        "the welcome, then the commands' reply"
    );
}
