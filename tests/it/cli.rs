//! The built binary on a temporary copy of the repository's `config/`.

use crate::support;

use crate::support::smtp::{Mode, SmtpServer};
use crate::support::{BIN, Site, copy_dir, stderr, stdout};
use std::path::Path;
use std::process::Command;

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
    site.edit(
        "listkeeper.toml",
        "state_dir =",
        "stat_dir = \"x\"\nstate_dir =",
    );
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
    assert!(
        added[0].ends_with(
            "via = \"admin\", request = \"admin\", terms = \"51a63148e5d3\", lang = \"en\" }"
        ),
        "{}",
        added[0]
    );
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
    // Issue 12: a warning on stderr naming the rule (or the terms); still added.
    let site = Site::new();
    let out = site.run(&["add", "sm-cop", "friend@gmail.com"]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("warning: the list's rules would have refused friend@gmail.com")
            && err.contains("list.toml")
            && err.contains("Anyone with a .gov or .mil email address is eligible"),
        "{err}"
    );
    assert!(site.roster_text().contains("friend@gmail.com"));
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
    assert!(text.contains("list.toml:44) allow: matches"), "{text}");
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

/// `init DIR` (issue 12, item 5): a configuration the operator's guide and the systemd
/// unit fit as they are: absolute paths only inside DIR and the state folder, replies
/// over SMTP, no members, the domain asked for; `check`, `lists` and `serve` take it.
#[test]
fn init_writes_a_production_shaped_config_that_checks_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state) = (tmp.path().join("etc"), tmp.path().join("state"));
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("LISTKEEPER_CONFIG", &dir)
            .output()
            .unwrap()
    };
    let init = |extra: &[&str]| {
        Command::new(BIN)
            .arg("init")
            .arg(&dir)
            .arg("--state-dir")
            .arg(&state)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(1), "the domain is required");
    assert!(stderr(&out).contains("--domain"), "{}", stderr(&out));
    assert!(!dir.exists(), "nothing written without a domain");

    let out = init(&["--domain", "Lists.Agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("placeholder"), "{}", stdout(&out));
    let out = run(&["check"]);
    assert!(
        out.status.success()
            && stdout(&out).contains("ok: 1 list(s), 0 member(s), 1 warning(s)")
            && stdout(&out).contains("owner@example.invalid is a placeholder"),
        "{}",
        stdout(&out)
    );
    let lists: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["lists", "--json"]))).unwrap();
    assert_eq!(
        lists[0]["subscribe_address"],
        "announce-subscribe-request@lists.agency.gov"
    );
    assert_eq!(lists[0]["members"], 0);
    let out = run(&["members", "announce"]);
    assert!(
        out.status.success() && stdout(&out).trim().is_empty(),
        "{}",
        stdout(&out)
    );

    // Every path named is absolute and inside DIR or the state folder; no file: outbox.
    let server = std::fs::read_to_string(dir.join("listkeeper.toml")).unwrap();
    let list = std::fs::read_to_string(dir.join("lists/announce/list.toml")).unwrap();
    let mut strings = Vec::new();
    for text in [&server, &list] {
        collect_strings(&text.parse::<toml::Table>().unwrap().into(), &mut strings);
    }
    let paths: Vec<&String> = strings.iter().filter(|s| s.contains('/')).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    for s in paths {
        assert!(
            s == "smtp://127.0.0.1:25" || Path::new(s).starts_with(&state),
            "{s} is outside {}",
            state.display()
        );
    }
    assert!(server.contains("domain = \"lists.agency.gov\""), "{server}");
    assert!(
        list.contains(r#"owners = ["owner@example.invalid"]"#),
        "{list}"
    );

    // An admin add lands in DIR's roster and the state folder.
    let out = run(&["add", "announce", "a@b.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(state.join("audit.log").exists());
    assert_eq!(
        std::fs::read_to_string(state.join("announce.members")).unwrap(),
        "a@b.gov\n"
    );
    assert!(!tmp.path().join("var").exists() && !dir.join("var").exists());

    // serve starts on it (on port 0 instead of 8024: the port it reports) and stops
    // cleanly.
    std::fs::write(
        dir.join("listkeeper.toml"),
        server.replace("127.0.0.1:8024", "127.0.0.1:0"),
    )
    .unwrap();
    let log = tmp.path().join("serve.log");
    let mut serve = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&dir)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let port = support::daemon::port_of(&support::daemon::wait_ready(&log, 0, &mut serve));
    assert!(support::eventually(
        || support::lmtp::Lmtp::connect(port).is_ok()
    ));
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    assert!(serve.wait().unwrap().success());

    let again = init(&["--domain", "lists.agency.gov"]);
    assert_eq!(again.status.code(), Some(1), "init never overwrites");
}

#[test]
fn init_takes_the_list_and_its_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("etc");
    let out = Command::new(BIN)
        .arg("init")
        .arg(&dir)
        .args(["--domain", "lists.agency.gov", "--list", "gis-users"])
        .args(["--owner", "Chief@Agency.gov", "--state-dir"])
        .arg(tmp.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("placeholder"), "{}", stdout(&out));
    let list = std::fs::read_to_string(dir.join("lists/gis-users/list.toml")).unwrap();
    assert!(list.contains(r#"owners = ["Chief@agency.gov"]"#), "{list}");
    assert!(!list.contains("PLACEHOLDER"), "{list}");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    let out = Command::new(BIN)
        .args(["init", "--list", "../up", "--domain", "d.gov"])
        .arg(tmp.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// Every string in a TOML value, depth first.
fn collect_strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        toml::Value::Table(t) => t.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
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

/// `init --print postfix` (issue 12, item 13): lines that add to main.cf, for the
/// domain given (no stale advice to replace the example's), and the recipients table.
#[test]
fn init_prints_the_operator_snippets_for_a_domain() {
    let empty = tempfile::tempdir().unwrap();
    let print = |args: &[&str]| {
        Command::new(BIN)
            .args(["init", "--print"])
            .args(args)
            .arg("--config")
            .arg(empty.path())
            .output()
            .unwrap()
    };
    let out = print(&["postfix", "--domain", "lists.agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("relay_domains = lists.agency.gov"), "{text}");
    assert!(
        text.contains("lists.agency.gov    lmtp:inet:127.0.0.1:8024"),
        "{text}"
    );
    assert!(text.contains("recipient_delimiter = +"));
    assert!(
        text.contains("relay_recipient_maps = regexp:/etc/postfix/listkeeper-recipients"),
        "{text}"
    );
    assert!(text.contains("ADD to"), "{text}");
    assert!(
        text.contains("keep your\n# smtpd_recipient_restrictions as they are"),
        "{text}"
    );
    assert!(!text.contains("Replace "), "the domain was given:\n{text}");
    assert!(!text.contains("reject_unverified_recipient"), "{text}");
    assert!(!text.contains("listserv.example.gov"), "{text}");
    assert!(
        text.contains(r"/^announce-confirm\+[a-z0-9]{34}@lists\.agency\.gov$/ OK"),
        "{text}"
    );
    // Without a domain the example's stands, with the advice to replace it.
    let text = stdout(&print(&["postfix"]));
    assert!(
        text.contains("Replace listserv.example.gov with your list domain"),
        "{text}"
    );

    let out = print(&["systemd"]);
    assert!(stdout(&out).contains("Type=notify") && stdout(&out).contains("ProtectSystem=strict"));
    let out = print(&["postfix", "--domain", "not a domain"]);
    assert_eq!(out.status.code(), Some(1));
}

/// The recipients table comes from the configuration's own lists and domain.
#[test]
fn init_prints_the_recipients_table_of_a_configuration() {
    let site = Site::new();
    let list = site.config().join("lists/gis-2.0");
    std::fs::create_dir_all(&list).unwrap();
    std::fs::write(
        list.join("list.toml"),
        std::fs::read_to_string(site.config().join("lists/sm-cop/list.toml"))
            .unwrap()
            .replace("id = \"sm-cop\"", "id = \"gis-2.0\"")
            .replace("sm-cop.members", "gis.members"),
    )
    .unwrap();
    std::fs::write(list.join("roster.toml"), "[members]\n").unwrap();
    let out = site.run(&["init", "--print", "postfix-recipients"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let suffixes = "(subscribe-request|subscribe|join|unsubscribe-request|signoff-request|unsubscribe|leave|request|owner|bounces)";
    assert_eq!(
        table,
        [
            r"/^listserv@listserv\.example\.gov$/ OK".to_owned(),
            format!(r"/^gis-2\.0-{suffixes}@listserv\.example\.gov$/ OK"),
            r"/^gis-2\.0-confirm\+[a-z0-9]{34}@listserv\.example\.gov$/ OK".to_owned(),
            r"/^gis-2\.0-bounces\+[a-z0-9]{26}@listserv\.example\.gov$/ OK".to_owned(),
            format!(r"/^sm-cop-{suffixes}@listserv\.example\.gov$/ OK"),
            r"/^sm-cop-confirm\+[a-z0-9]{34}@listserv\.example\.gov$/ OK".to_owned(),
            r"/^sm-cop-bounces\+[a-z0-9]{26}@listserv\.example\.gov$/ OK".to_owned(),
        ]
    );
    let with_dir = Command::new(BIN)
        .arg("init")
        .arg(site.config())
        .args(["--print", "postfix-recipients", "--config", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&with_dir),
        stdout(&out),
        "DIR is the configuration to print for"
    );
    let out = site.run(&["init", "--print", "postfix", "--domain", "other.gov"]);
    assert_eq!(out.status.code(), Some(1), "not the configuration's domain");
    assert!(
        stderr(&out).contains("listserv.example.gov"),
        "{}",
        stderr(&out)
    );
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

const D: &str = "listserv.example.gov";

/// A site whose SMTP server refuses every mail (550), and Pat's subscribe request
/// delivered to it: the confirmation request is refused for good.
fn refused_confirmation() -> (SmtpServer, Site) {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Refuse);
    let site = Site::with_smtp(smtp.port);
    let message = std::fs::read(support::repo().join("examples/subscribe.eml")).unwrap();
    let out = site.deliver(
        &format!("sm-cop-subscribe-request@{D}"),
        Some("pat.example@agency.gov"),
        &message,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (smtp, site)
}

/// The IDs `listkeeper outbox` lists as failed.
fn failed_ids(site: &Site) -> Vec<String> {
    let out = site.run(&["outbox"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .filter(|l| l.contains("  failed  "))
        .map(|l| l.split("  ").next().unwrap().to_owned())
        .collect()
}

#[test]
fn issue_12_outbox_shows_failed_replies_with_the_refused_attempt_counted() {
    let (_smtp, site) = refused_confirmation();
    let out = site.run(&["outbox"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!text.contains("the outbox is empty"), "{text}");
    assert!(
        text.contains("  failed  list sm-cop  to pat.example@agency.gov  after 1 attempt: "),
        "{text}"
    );
    assert!(text.contains("--retry-failed ID"), "{text}");
}

#[test]
fn issue_12_every_file_under_the_state_folder_is_private() {
    let (_smtp, site) = refused_confirmation();
    let out = site.run(&["add", "sm-cop", "new.person@agency.gov"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut seen = 0;
    let mut todo = vec![site.var().join("state")];
    while let Some(path) = todo.pop() {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        // At most 0750 for a folder, 0640 for a file: nothing for others, no group write.
        assert_eq!(mode & 0o027, 0, "{} is mode {mode:o}", path.display());
        if meta.is_dir() {
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode & 0o111, 0, "{} is mode {mode:o}", path.display());
            seen += 1;
        }
    }
    let failed = site.var().join("state/outbox/failed");
    assert_eq!(std::fs::read_dir(failed).unwrap().count(), 1);
    assert!(
        seen >= 5,
        "state.log, its lock, audit.log, secret, the failed reply"
    );
}

#[test]
fn issue_12_a_failed_reply_can_be_retried_or_dropped() {
    let (smtp, site) = refused_confirmation();
    let ids = failed_ids(&site);
    assert_eq!(ids.len(), 1);
    smtp.set_mode(Mode::Accept);
    let out = site.run(&["outbox", "--retry-failed", &ids[0]]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(smtp.wait_for(1)[0].to, ["pat.example@agency.gov"]);
    assert!(failed_ids(&site).is_empty());
    assert_eq!(site.queued(), 0);

    smtp.set_mode(Mode::Refuse);
    let message = std::fs::read(support::repo().join("examples/subscribe.eml")).unwrap();
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, &message);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids = failed_ids(&site);
    assert_eq!(ids.len(), 1);
    let out = site.run(&["outbox", "--drop", &ids[0]]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(failed_ids(&site).is_empty());
    assert!(stdout(&site.run(&["outbox"])).contains("the outbox is empty"));
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "dropped" && r["via"] == "admin")
    );
    let out = site.run(&["outbox", "--drop", &ids[0]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no failed reply"), "{}", stderr(&out));
}

#[test]
fn issue_12_a_confirmation_refused_for_good_cancels_its_pending_request() {
    let (_smtp, site) = refused_confirmation();
    let out = site.run(&["pending", "sm-cop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("pat.example@agency.gov"),
        "{}",
        stdout(&out)
    );
    assert!(
        site.audit().iter().any(
            |r| r["outcome"] == "pending-cancelled" && r["address"] == "pat.example@agency.gov"
        )
    );
}

/// The example site with the `neighbors` example list beside sm-cop.
fn two_lists() -> Site {
    let site = Site::new();
    copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    site
}

#[test]
fn issue_12_a_broken_list_toml_is_reported_and_the_other_lists_served() {
    let site = two_lists();
    let path = site.config().join("lists/neighbors/list.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("subscribe = \"open\"", "subscribe = \"sometimes\"");
    std::fs::write(&path, text).unwrap();

    let out = site.run(&["lists"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("SM-COP (sm-cop)"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("lists/neighbors/list.toml:6: subscribe: `sometimes`"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["members", "sm-cop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("jane.doe@agency.gov"));
    let out = site.run(&["add", "neighbors", "x@example.org"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the list `neighbors` does not load")
            && stderr(&out).contains("list.toml:6"),
        "{}",
        stderr(&out)
    );
    assert_eq!(site.run(&["check"]).status.code(), Some(1));
}

#[test]
fn issue_12_a_broken_roster_is_reported_once_and_the_other_lists_served() {
    let site = two_lists();
    let roster = site.config().join("lists/neighbors/roster.toml");
    std::fs::write(
        &roster,
        "[members]\n\"a@example.org\" = {}\n\"b@example.org\" = { oops\n",
    )
    .unwrap();

    let out = site.run(&["lists", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lists: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(lists.as_array().unwrap().len(), 1);
    assert_eq!(lists[0]["id"], "sm-cop");
    assert!(
        stderr(&out).contains("neighbors/roster.toml:3"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["members", "neighbors"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("neighbors/roster.toml:3"), "{err}");
    assert_eq!(err.matches("not valid TOML").count(), 1, "said once: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn issue_12_an_empty_list_says_it_has_no_members() {
    let site = two_lists();
    let out = site.run(&["members", "neighbors"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("neighbors has no members"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["members", "neighbors", "--json"]);
    assert_eq!(stdout(&out).trim(), "[]");
}

#[test]
fn issue_12_one_error_is_not_1_errors_and_the_help_shows_config_optional() {
    let site = Site::new();
    site.edit(
        "listkeeper.toml",
        "state_dir =",
        "stat_dir = \"x\"\nstate_dir =",
    );
    let out = site.run(&["lists"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(1 error;"), "{}", stderr(&out));

    let out = Command::new(BIN)
        .args(["lists", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    assert!(
        help.contains("--config <DIR>")
            && help.contains("optional")
            && help.contains("[env: LISTKEEPER_CONFIG")
            && help.contains("[default: /etc/listkeeper]"),
        "{help}"
    );
}

#[test]
fn issue_12_cli_approve_tells_every_owner() {
    let site = Site::new();
    let request = "From: Bob <bob@contractor.example.com>\r\nSubject: join\r\nMessage-ID: <bob-1@contractor.example.com>\r\n\r\nhello\r\n";
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, request.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = support::token_of(&site.mail_files()[0]);
    let out = site.deliver(
        &format!("sm-cop-confirm+{token}@{D}"),
        None,
        request.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = site.run(&["approve", "sm-cop", "bob@contractor.example.com"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let told: Vec<String> = site
        .mail_files()
        .into_iter()
        .filter(|m| {
            support::header(m, "To").is_some_and(|to| to.contains("socialgov@example.gov"))
                && m.contains("is now a member of SM-COP")
        })
        .collect();
    assert_eq!(told.len(), 1, "{:?}", site.mail_files());
    assert!(told[0].contains("listkeeper approve"), "{}", told[0]);
}

/// A newcomer's `listkeeper members L | head`: the reader goes away early, and the
/// command ends quietly (as Unix tools do) instead of panicking on the broken pipe.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let site = Site::new();
    let mut roster = String::from("[members]\n");
    for n in 0..20_000 {
        roster.push_str(&format!("\"member{n}@agency.gov\" = {{}}\n"));
    }
    std::fs::write(site.roster(), roster).unwrap();
    let mut child = Command::new(BIN)
        .args(["members", "sm-cop", "--json", "--config"])
        .arg(site.config())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !stderr(&out).contains("panicked") && out.status.code() != Some(101),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
}

/// A newcomer's finding: `init --print systemd --config DIR` printed the example's
/// paths whatever DIR and its state folder were, so the unit would not let the
/// daemon write its own state.
#[test]
fn the_printed_unit_names_the_configurations_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, state) = (tmp.path().join("etc"), tmp.path().join("state"));
    let out = Command::new(BIN)
        .arg("init")
        .arg(&dir)
        .args(["--domain", "lists.example.org", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args(["init", "--print", "systemd", "--config"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let unit = stdout(&out);
    assert!(
        unit.contains(&format!("serve --config {}\n", dir.display())),
        "{unit}"
    );
    assert!(
        unit.contains(&format!(
            "ReadWritePaths={}/lists {}\n",
            dir.display(),
            state.display()
        )),
        "{unit}"
    );
    assert!(!unit.contains("/etc/listkeeper"), "{unit}");
}
