//! The built binary on a temporary copy of the repository's `config/`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::Command;
use support::{BIN, Site, copy_dir, stderr, stdout};

#[test]
fn check_passes_on_the_example_config() {
    let site = Site::new();
    let out = site.run(&["check"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("ok: 1 list(s), 5 member(s), 0 warning(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_reports_every_problem_at_once() {
    let site = Site::new();
    let server = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&server)
        .unwrap()
        .replace("state_dir =", "stat_dir = \"x\"\nstate_dir =");
    std::fs::write(&server, text).unwrap();
    let list = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace("\nsubscribe = \"confirm\"", "\nsubscribe = \"confirmed\"");
    std::fs::write(&list, text).unwrap();
    let mut roster = std::fs::read_to_string(site.roster()).unwrap();
    roster.push_str("\"JANE.DOE@agency.gov\" = {}\n");
    std::fs::write(site.roster(), roster).unwrap();

    let out = site.run(&["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("listkeeper.toml:10: stat_dir: unknown key `stat_dir`"),
        "{text}"
    );
    assert!(
        text.contains("list.toml:11: subscribe: `confirmed` is not a policy"),
        "{text}"
    );
    assert!(
        text.contains(
            "roster.toml:12: JANE.DOE@agency.gov: the same address as line 5 in another case"
        ),
        "{text}"
    );
    assert!(text.contains("3 error(s)"), "{text}");
}

#[test]
fn check_warns_about_members_the_rules_no_longer_admit() {
    let site = Site::new();
    let mut roster = std::fs::read_to_string(site.roster()).unwrap();
    roster.push_str("\"someone@gmail.com\" = {}\n");
    std::fs::write(site.roster(), roster).unwrap();
    let out = site.run(&["check"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("warning: ",)
            && text.contains(
                "roster.toml:12: someone@gmail.com: a member the list's rules would no longer admit"
            ),
        "{text}"
    );
}

#[test]
fn add_and_remove_edit_one_line_and_are_audited() {
    let site = Site::new();
    let before = std::fs::read_to_string(site.roster()).unwrap();

    let out = site.run(&[
        "add",
        "SM-COP",
        "New.Person@Agency.GOV",
        "--name",
        "New Person",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::read_to_string(site.roster()).unwrap();
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert_eq!(added.len(), 1, "{after}");
    assert!(
        added[0].starts_with("\"New.Person@agency.gov\" = { name = \"New Person\", since = 20"),
        "{}",
        added[0]
    );
    assert!(added[0].ends_with("via = \"admin\" }"), "{}", added[0]);
    assert!(
        after.starts_with(before.trim_end()),
        "every earlier byte is kept"
    );

    let include = std::fs::read_to_string(site.tmp.path().join("var/sm-cop.members")).unwrap();
    assert_eq!(include.lines().count(), 6);
    assert!(include.ends_with("New.Person@agency.gov\n"));

    let again = site.run(&["add", "sm-cop", "new.person@agency.gov"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already a member"),
        "{}",
        stderr(&again)
    );

    let out = site.run(&["remove", "sm-cop", "NEW.PERSON@agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(site.roster()).unwrap(),
        before,
        "add then remove restores the file"
    );
    let out = site.run(&["remove", "sm-cop", "new.person@agency.gov"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a member"));

    let audit = site.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["action"], "add");
    assert_eq!(audit[0]["outcome"], "added");
    assert_eq!(audit[0]["via"], "admin");
    assert_eq!(audit[0]["list"], "sm-cop");
    assert_eq!(audit[0]["rule"], 3);
    assert_eq!(audit[1]["action"], "remove");
    assert_eq!(audit[1]["address"], "NEW.PERSON@agency.gov");
}

#[test]
fn admin_add_of_an_ineligible_address_says_so() {
    let site = Site::new();
    let out = site.run(&["add", "sm-cop", "friend@gmail.com"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("rules would have refused"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_is_refused_with_exit_1_or_2() {
    let site = Site::new();
    let out = site.run(&["add", "sm-cop", "not an address"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not an email address"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["members", "no-such-list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no list `no-such-list`") && stderr(&out).contains("sm-cop"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["add", "sm-cop"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    let out = site.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["lists", "--config", "/nonexistent/listkeeper"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/listkeeper/listkeeper.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_roster_that_does_not_parse_is_never_overwritten() {
    let site = Site::new();
    let mut broken = std::fs::read_to_string(site.roster()).unwrap();
    broken.push_str("\"half@written.gov\" = { name = \"Ha\n");
    std::fs::write(site.roster(), &broken).unwrap();
    let out = site.run(&["add", "sm-cop", "x@agency.gov"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("roster.toml:12"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(site.roster()).unwrap(), broken);
    assert!(
        site.audit().is_empty(),
        "nothing happened, nothing is audited"
    );
    let out = site.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("roster.toml:12"), "{}", stdout(&out));
}

#[test]
fn lists_and_members_json() {
    let site = Site::new();
    let out = site.run(&["lists", "--json"]);
    assert!(out.status.success());
    let lists: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(lists[0]["id"], "sm-cop");
    assert_eq!(lists[0]["name"], "SM-COP");
    assert_eq!(
        lists[0]["subscribe_address"],
        "sm-cop-subscribe-request@listserv.example.gov"
    );
    assert_eq!(lists[0]["members"], 5);
    assert_eq!(lists[0]["subscribe_policy"], "confirm");
    assert!(lists[0]["terms"].as_str().unwrap().contains(".gov or .mil"));

    let out = site.run(&["members", "sm-cop", "--json"]);
    let members: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(members.as_array().unwrap().len(), 5);
    assert_eq!(members[0]["address"], "jane.doe@agency.gov");
    assert_eq!(members[0]["since"], "2026-01-05T10:00:00Z");
    assert_eq!(members[2]["name"], "María García");
    let out = site.run(&["members", "sm-cop"]);
    assert!(
        stdout(&out).starts_with("jane.doe@agency.gov  Jane Doe\njohn.roe@army.mil\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn explain_names_the_rule_and_the_outcome() {
    let site = Site::new();
    let text = stdout(&site.run(&["explain", "sm-cop", "someone@dhs.gov"]));
    assert!(text.contains("list.toml:38) allow: matches"), "{text}");
    assert!(
        text.contains("rule 3 decides: a confirmation request is sent; once confirmed, added."),
        "{text}"
    );
    let text = stdout(&site.run(&["explain", "sm-cop", "eve@gov.evil.com"]));
    assert!(
        text.contains("no rule matches: refused; the reply says: Anyone with a .gov or .mil"),
        "{text}"
    );
    let text = stdout(&site.run(&["explain", "sm-cop", "bob@contractor.example.com"]));
    assert!(
        text.contains(
            "rule 1 decides: a confirmation request is sent; once confirmed, held for the owners"
        ),
        "{text}"
    );
    let text = stdout(&site.run(&["explain", "sm-cop", "JANE.DOE@agency.gov"]));
    assert!(text.contains("is a member"), "{text}");
}

#[test]
fn concurrent_adds_from_many_processes_all_land() {
    let site = Site::new();
    let children: Vec<_> = (0..16)
        .map(|i| {
            Command::new(BIN)
                .args(["add", "sm-cop", &format!("racer{i}@agency.gov"), "--config"])
                .arg(site.config())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let roster = std::fs::read_to_string(site.roster()).unwrap();
    for i in 0..16 {
        assert_eq!(
            roster.matches(&format!("\"racer{i}@agency.gov\"")).count(),
            1,
            "{roster}"
        );
    }
    let out = site.run(&["check"]);
    assert!(stdout(&out).contains("21 member(s)"), "{}", stdout(&out));
    assert_eq!(site.audit().len(), 16);
}

#[test]
fn init_writes_a_config_that_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("etc");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("LISTKEEPER_CONFIG", &dir)
            .output()
            .unwrap()
    };
    let out = Command::new(BIN)
        .arg("init")
        .arg(&dir)
        .args(["--domain", "lists.agency.gov"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let out = run(&["add", "sm-cop", "a@b.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        dir.join("var/state/audit.log").exists(),
        "state stays inside DIR"
    );
    assert!(dir.join("var/sm-cop.members").exists());
    let lists = run(&["lists", "--json"]);
    assert!(stdout(&lists).contains("sm-cop-subscribe-request@lists.agency.gov"));
    let again = Command::new(BIN).arg("init").arg(&dir).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "init never overwrites");
}

#[test]
fn the_example_lists_load_beside_sm_cop() {
    let site = Site::new();
    for name in ["county-gis", "neighbors"] {
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/lists")
                .join(name),
            &site.config().join("lists").join(name),
        );
    }
    let out = site.run(&["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("ok: 3 list(s), 6 member(s)"),
        "{}",
        stdout(&out)
    );
    let text = stdout(&site.run(&["explain", "county-gis", "x@co.example.us"]));
    assert!(
        text.contains(
            "rule 3 decides: a confirmation request is sent; once confirmed, held for the owners."
        ),
        "{text}"
    );
    let text = stdout(&site.run(&[
        "explain",
        "county-gis",
        "x@co.example.us",
        "--authenticated",
    ]));
    assert!(text.contains("rule 2 decides"), "{text}");
    let text = stdout(&site.run(&["explain", "neighbors", "anyone@example.org"]));
    assert!(text.contains("added at once, with a welcome."), "{text}");
}

#[test]
fn check_counts_rather_than_lists_many_refused_members() {
    let site = Site::new();
    let mut roster = std::fs::read_to_string(site.roster()).unwrap();
    for i in 0..25 {
        roster.push_str(&format!("\"user{i}@gmail.com\" = {{}}\n"));
    }
    std::fs::write(site.roster(), roster).unwrap();
    let text = stdout(&site.run(&["check"]));
    assert_eq!(
        text.matches("would no longer admit (no rule").count(),
        20,
        "{text}"
    );
    assert!(
        text.contains("5 more members the rules would no longer admit"),
        "{text}"
    );
    assert!(
        text.contains("ok: 1 list(s), 30 member(s), 21 warning(s)"),
        "{text}"
    );
}

#[test]
fn init_prints_the_operator_snippets_for_a_domain() {
    let out = Command::new(BIN)
        .args(["init", "--print", "postfix", "--domain", "lists.agency.gov"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("relay_domains = lists.agency.gov"), "{text}");
    assert!(
        text.contains("lists.agency.gov    lmtp:inet:127.0.0.1:8024"),
        "{text}"
    );
    assert!(text.contains("recipient_delimiter = +"));
    assert!(!text.contains("listserv.example.gov"));
    let out = Command::new(BIN)
        .args(["init", "--print", "systemd"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("Type=notify") && stdout(&out).contains("ProtectSystem=strict"));
    let out = Command::new(BIN)
        .args(["init", "--print", "postfix", "--domain", "not a domain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A daemon killed between a change's 250 and its roster save leaves the change in
/// `state.log`: the admin's next command saves it into the file before reading it.
#[test]
fn changes_only_state_log_holds_reach_the_roster_before_the_cli_reads_it() {
    let site = Site::new();
    let state = site.var().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("state.log"),
        concat!(
            r#"{"op":"roster","seq":1,"entry":{"list":"sm-cop","address":"Crash.Survivor@agency.gov","add":true,"name":"Crash Survivor","since":"2026-11-25T10:00:00Z","via":"token"}}"#,
            "\n",
            r#"{"op":"roster","seq":2,"entry":{"list":"sm-cop","address":"john.roe@army.mil","add":false}}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = site.run(&["members", "sm-cop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = stdout(&out);
    assert!(listing.contains("Crash.Survivor@agency.gov"), "{listing}");
    assert!(!listing.contains("john.roe@army.mil"), "{listing}");
    let roster = site.roster_text();
    assert!(
        roster.contains(r#""Crash.Survivor@agency.gov" = { name = "Crash Survivor", since = 2026-11-25T10:00:00Z, via = "token" }"#),
        "{roster}"
    );
    assert!(
        roster.contains("# Moderators of the weekly call."),
        "comments kept"
    );
    // Saved: the log no longer holds them, so nothing is made twice.
    let out = site.run(&["remove", "sm-cop", "crash.survivor@agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = site.run(&["members", "sm-cop"]);
    assert!(!stdout(&out).contains("Crash.Survivor"), "{}", stdout(&out));
}

/// Issue 12, item 6: README's "Try it" adds members to the example's roster; the
/// tests start from the roster as committed, whatever the working tree holds.
#[test]
fn regression_12_tests_use_the_example_as_committed() {
    let committed = Command::new("git")
        .args(["show", "HEAD:config/lists/sm-cop/roster.toml"])
        .current_dir(support::repo())
        .output()
        .unwrap();
    if !committed.status.success() {
        assert!(std::env::var_os("CI").is_none(), "CI runs in a git clone");
        eprintln!("skipped: not a git checkout");
        return;
    }
    let site = Site::new();
    assert_eq!(site.roster_text().as_bytes(), committed.stdout.as_slice());
}

/// Issue 13, item 5: lists `news` and `news-subscribe` both answer to
/// `news-subscribe-request@`; `check` said ok and routing picked one.
#[test]
fn regression_13_lists_whose_addresses_collide_are_refused() {
    let site = Site::new();
    for id in ["news", "news-subscribe"] {
        let dir = site.config().join("lists").join(id);
        copy_dir(&site.config().join("lists/sm-cop"), &dir);
        let list = dir.join("list.toml");
        let text = std::fs::read_to_string(&list)
            .unwrap()
            .replace("id = \"sm-cop\"", &format!("id = \"{id}\""));
        std::fs::write(&list, text).unwrap();
        std::fs::write(dir.join("roster.toml"), "[members]\n").unwrap();
    }
    let out = site.run(&["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("lists `news` and `news-subscribe` both answer to news-subscribe-request@"),
        "{text}"
    );
    // The command address may not be a list's address either.
    std::fs::remove_dir_all(site.config().join("lists/news-subscribe")).unwrap();
    let server = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&server).unwrap();
    let text = text.replace(
        "command_address = \"listserv\"",
        "command_address = \"news-join\"",
    );
    std::fs::write(&server, text).unwrap();
    let out = site.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("`news-join` is also an address of list `news`"),
        "{}",
        stdout(&out)
    );
}
