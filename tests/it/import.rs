//! `import`, `export` and `sync` through the built binary, on a copy of `config/`.

use crate::support;

use crate::support::{BIN, Site, repo, stderr, stdout};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sample(name: &str) -> PathBuf {
    repo().join("tests/data/import").join(name)
}

fn write(site: &Site, name: &str, text: &str) -> PathBuf {
    let path = site.tmp.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(site: &Site, args: &[&str]) -> Output {
    site.run(args)
}

fn list_dir(site: &Site, id: &str) -> PathBuf {
    site.config().join("lists").join(id)
}

/// Every file under the config folder, for "nothing was written".
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn listserv_dry_run_writes_nothing_and_import_writes_a_list_that_loads() {
    let site = Site::new();
    let file = sample("sm-cop.list");
    let before = tree(&site.config());
    let out = run(
        &site,
        &[
            "import",
            "listserv",
            file.to_str().unwrap(),
            "--list",
            "smcop",
            "--dry-run",
        ],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert_eq!(tree(&site.config()), before, "a dry run wrote something");
    assert!(text.contains("subscribe: confirm+moderate"), "{text}");
    assert!(
        text.contains("rule 1: domain *.gov, *.mil -> allow"),
        "{text}"
    );
    assert!(
        text.contains("owners: socialgov@example.gov, deputy@example.gov"),
        "{text}"
    );
    assert!(text.contains("members: 7 (1 duplicate(s) merged"), "{text}");
    assert!(
        text.contains("not translated: line 4: Send= Private"),
        "{text}"
    );
    assert!(text.contains("Confirm-Delay= 48"), "{text}");
    assert!(
        text.contains("PW= (the list password, not shown)"),
        "{text}"
    );
    assert!(!text.contains("XXXXXXXX"), "{text}");
    assert!(
        text.contains("option NOMAIL, 1 member(s), translated: imported with mode = \"nomail\"")
            && text.contains("R.Alvarez@army.mil (line 27)"),
        "{text}"
    );
    assert!(
        text.contains("option DIGEST, 1 member(s), translated: imported with mode = \"digest\""),
        "{text}"
    );
    assert!(
        text.contains("dry run: the list loads; nothing was written"),
        "{text}"
    );

    let out = run(
        &site,
        &[
            "import",
            "listserv",
            file.to_str().unwrap(),
            "--list",
            "smcop",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let list = std::fs::read_to_string(list_dir(&site, "smcop").join("list.toml")).unwrap();
    assert!(list.contains("subscribe = \"confirm+moderate\""), "{list}");
    let roster = std::fs::read_to_string(list_dir(&site, "smcop").join("roster.toml")).unwrap();
    // Issue 16: LISTSERV's NOMAIL and DIGEST options become modes.
    let alvarez = roster
        .lines()
        .find(|l| l.contains("R.Alvarez@army.mil"))
        .unwrap_or_default();
    assert!(alvarez.contains(r#"mode = "nomail""#), "{roster}");
    assert!(roster.contains(r#"mode = "digest""#), "{roster}");
    assert!(
        roster.contains(
            "\"R.Alvarez@army.mil\" = { name = \"Rosa Alvarez\", via = \"import:listserv\", mode = \"nomail\" }"
        ),
        "{roster}"
    );
    let check = run(&site, &["check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(
        stdout(&check).contains("2 list(s), 12 member(s)"),
        "{}",
        stdout(&check)
    );
    let audit = site.audit();
    assert_eq!(audit.iter().filter(|r| r["action"] == "import").count(), 7);
    // No staging folder is left behind.
    let hidden: Vec<_> = std::fs::read_dir(site.config())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_truncated_listserv_file_names_file_and_line_and_nothing_is_written() {
    let site = Site::new();
    let full = std::fs::read_to_string(sample("sm-cop.list")).unwrap();
    let cut = write(&site, "cut.list", &full[..full.len() - 10]);
    let before = tree(&site.config());
    let out = run(
        &site,
        &["import", "listserv", cut.to_str().unwrap(), "--list", "cut"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:32: ", cut.display())), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(tree(&site.config()), before);

    // Cut inside the header's hidden block.
    let head: String = full.lines().take(20).map(|l| format!("{l}\n")).collect();
    let cut = write(&site, "head.list", &head);
    let out = run(
        &site,
        &["import", "listserv", cut.to_str().unwrap(), "--list", "cut"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("head.list:19: `*.HH ON` is never closed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(&site.config()), before);
}

#[test]
fn a_csv_with_a_bad_row_names_file_and_line_and_nothing_is_written() {
    let site = Site::new();
    let csv = write(
        &site,
        "members.csv",
        "email,name,since\nann@agency.gov,Ann,2024-01-02\nbob at agency.gov,Bob,\ncy@agency.gov,Cy,last week\ndee@agency.gov,,\n",
    );
    let before = tree(&site.config());
    let out = run(
        &site,
        &["import", "csv", csv.to_str().unwrap(), "--list", "people"],
    );
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains(&format!("{}:3: ", csv.display())), "{all}");
    assert!(
        all.contains(&format!("{}:4: `last week` is not a date", csv.display())),
        "{all}"
    );
    assert!(all.contains("2 line(s) of"), "{all}");
    assert!(all.contains("nothing was written"), "{all}");
    assert_eq!(tree(&site.config()), before);

    let out = run(
        &site,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--list",
            "people",
            "--skip-invalid",
            "--owner",
            "boss@agency.gov",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let roster = std::fs::read_to_string(list_dir(&site, "people").join("roster.toml")).unwrap();
    assert!(
        roster.contains("\"ann@agency.gov\" = { name = \"Ann\", since = 2024-01-02T00:00:00Z, via = \"import:csv\" }"),
        "{roster}"
    );
    assert!(roster.contains("\"dee@agency.gov\""), "{roster}");
    assert!(!roster.contains("cy@"), "{roster}");
    assert!(run(&site, &["check"]).status.success());
}

#[test]
fn an_existing_list_is_refused_without_merge_and_merge_adds_only_new_members() {
    let site = Site::new();
    let csv = write(
        &site,
        "more.csv",
        "jane.doe@agency.gov,Jane\nnew.person@agency.gov,New Person\n",
    );
    let list_before = std::fs::read_to_string(list_dir(&site, "sm-cop").join("list.toml")).unwrap();
    let roster_before = site.roster_text();
    let out = run(
        &site,
        &["import", "csv", csv.to_str().unwrap(), "--list", "sm-cop"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exists already"), "{}", stderr(&out));
    assert_eq!(site.roster_text(), roster_before);

    let out = run(
        &site,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--list",
            "sm-cop",
            "--merge",
            "--dry-run",
        ],
    );
    assert!(
        stdout(&out).contains("would add 1 member(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(site.roster_text(), roster_before);

    let out = run(
        &site,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--list",
            "sm-cop",
            "--merge",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("added 1 member(s) to sm-cop (1 already members)"));
    let roster = site.roster_text();
    assert!(
        roster.starts_with(&roster_before),
        "the other lines moved:\n{roster}"
    );
    assert!(
        roster.contains(
            "\"new.person@agency.gov\" = { name = \"New Person\", via = \"import:csv\" }"
        )
    );
    assert_eq!(
        std::fs::read_to_string(list_dir(&site, "sm-cop").join("list.toml")).unwrap(),
        list_before
    );
}

#[test]
fn export_writes_csv_json_and_a_listserv_file_that_imports_back() {
    let site = Site::new();
    // Delivery modes travel too (they did not before).
    for (who, mode) in [
        ("maria.garcia@hhs.gov", "digest"),
        ("john.roe@army.mil", "nomail"),
    ] {
        let out = run(&site, &["set", "sm-cop", who, mode]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(&site, &["export", "sm-cop", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.starts_with("address,name,since,via,mode\n"), "{csv}");
    assert!(
        csv.contains("maria.garcia@hhs.gov,María García,2026-02-11T15:30:00Z,admin,digest\n"),
        "{csv}"
    );

    let out = run(&site, &["export", "sm-cop", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert_eq!(json[0]["address"], "jane.doe@agency.gov");
    assert_eq!(json[0]["mode"], "mail");
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|m| m["mode"] == "nomail"),
        "{json}"
    );

    let out = run(&site, &["export", "sm-cop", "--format", "listserv"]);
    let file = write(&site, "sm-cop.list", &stdout(&out));
    assert!(
        stdout(&out).contains("* Subscription= Open,Confirm\n"),
        "{}",
        stdout(&out)
    );
    let out = run(
        &site,
        &[
            "import",
            "listserv",
            file.to_str().unwrap(),
            "--list",
            "again",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("NOMAIL"), "{}", stdout(&out));
    let again = run(&site, &["members", "again"]);
    let orig = run(&site, &["members", "sm-cop"]);
    assert_eq!(stdout(&again), stdout(&orig));
    let modes = |list: &str| -> Vec<String> {
        let out = run(&site, &["members", list, "--json"]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        (json.as_array().unwrap().iter())
            .map(|m| format!("{} {}", m["address"], m["mode"]))
            .collect()
    };
    assert_eq!(modes("again"), modes("sm-cop"));
    assert!(modes("sm-cop").iter().any(|m| m.ends_with("\"digest\"")));

    // And a CSV export imports back too.
    let file = write(&site, "sm-cop.csv", &csv);
    let out = run(
        &site,
        &[
            "import",
            "csv",
            file.to_str().unwrap(),
            "--list",
            "again2",
            "--owner",
            "o@agency.gov",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&run(&site, &["members", "again2"])), stdout(&orig));
    assert_eq!(modes("again2"), modes("sm-cop"));
}

fn sync_stdin(site: &Site, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(site.config())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A sync that refuses its arguments exits before it reads: its closed pipe is
    // not the test's failure (that was a flake under load).
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn sync_owns_only_its_members_and_never_removes_others() {
    let site = Site::new();
    // jane.doe joined by mail; the HR export also lists her.
    let hr = write(
        &site,
        "hr.csv",
        "Email,Name\njane.doe@agency.gov,Jane\na@agency.gov,A\nb@agency.gov,B\n",
    );
    let out = run(&site, &["sync", "sm-cop", hr.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("added 2, removed 0"),
        "{}",
        stdout(&out)
    );
    let roster = site.roster_text();
    assert!(
        roster.contains("\"a@agency.gov\" = { name = \"A\", since = "),
        "{roster}"
    );
    assert!(roster.contains("via = \"sync:hr\" }"), "{roster}");
    assert!(roster.contains("\"jane.doe@agency.gov\" = { name = \"Jane Doe\", since = 2026-01-05T10:00:00Z, via = \"email\" }"));

    // The next export drops jane and b: only b goes (jane joined by mail).
    std::fs::write(&hr, "a@agency.gov\n").unwrap();
    let out = run(
        &site,
        &[
            "sync",
            "sm-cop",
            hr.to_str().unwrap(),
            "--max-removals",
            "50%",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("added 0, removed 1"),
        "{}",
        stdout(&out)
    );
    let roster = site.roster_text();
    assert!(!roster.contains("b@agency.gov"), "{roster}");
    assert!(roster.contains("jane.doe@agency.gov"), "{roster}");
    let audit = site.audit();
    let synced: Vec<_> = audit.iter().filter(|r| r["action"] == "sync:hr").collect();
    assert_eq!(synced.len(), 3, "{audit:?}");
    assert_eq!(synced[2]["outcome"], "removed");
    assert_eq!(synced[2]["address"], "b@agency.gov");

    // An empty source would remove every synced member: above the cap, nothing changes.
    let before = site.roster_text();
    let out = sync_stdin(&site, &["sync", "sm-cop", "-", "--name", "hr"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("more than --max-removals 10%"),
        "{}",
        stderr(&out)
    );
    assert_eq!(site.roster_text(), before);
    let out = sync_stdin(
        &site,
        &[
            "sync",
            "sm-cop",
            "-",
            "--name",
            "hr",
            "--dry-run",
            "--force",
        ],
        "",
    );
    assert!(
        stdout(&out).contains("would remove a@agency.gov"),
        "{}",
        stdout(&out)
    );
    assert_eq!(site.roster_text(), before);
    let out = sync_stdin(
        &site,
        &["sync", "sm-cop", "-", "--name", "hr", "--force"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let roster = site.roster_text();
    assert!(!roster.contains("a@agency.gov\" ="), "{roster}");
    assert!(roster.contains("jane.doe@agency.gov") && roster.contains("john.roe@army.mil"));
}

#[test]
fn a_sync_source_with_a_bad_line_changes_nothing() {
    let site = Site::new();
    let before = site.roster_text();
    let hr = write(&site, "hr.txt", "a@agency.gov\nnot an address\n");
    let out = run(&site, &["sync", "sm-cop", hr.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("{}:2: ", hr.display())),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nothing was changed"));
    assert_eq!(site.roster_text(), before);
    assert!(site.audit().is_empty());

    let out = sync_stdin(&site, &["sync", "sm-cop", "-"], "a@agency.gov\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("needs --name"), "{}", stderr(&out));
    assert_eq!(site.roster_text(), before);
}

#[test]
fn mlmmj_directory_imports_with_digesters_and_nomail_members_named() {
    let site = Site::new();
    let dir = sample("mlmmj");
    let out = run(
        &site,
        &["import", "mlmmj", dir.to_str().unwrap(), "--list", "smcop"],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("name: sm-cop"), "{text}");
    assert!(
        text.contains("owners: socialgov@example.gov, deputy@example.gov"),
        "{text}"
    );
    assert!(text.contains("subscribe: confirm+moderate"), "{text}");
    assert!(text.contains("members: 5 "), "{text}");
    assert!(
        text.contains("not translated: control/subonlypost: (set)"),
        "{text}"
    );
    assert!(
        text.contains("not translated: control/prefix: [SM-COP]"),
        "{text}"
    );
    assert!(
        text.contains("option DIGEST, 1 member(s), translated: imported with mode = \"digest\" (unless also NOMAIL): maria.garcia@hhs.gov (line 1)"),
        "{text}"
    );
    assert!(
        text.contains("option NOMAIL, 1 member(s), translated"),
        "{text}"
    );
    let members = stdout(&run(&site, &["members", "smcop"]));
    assert_eq!(members.lines().count(), 5, "{members}");
    assert!(run(&site, &["check"]).status.success());
}

#[test]
fn a_mlmmj_directory_missing_a_file_names_it_and_nothing_is_written() {
    let site = Site::new();
    let dir = site.tmp.path().join("mlmmj");
    support::copy_dir(&sample("mlmmj"), &dir);
    std::fs::remove_file(dir.join("control/listaddress")).unwrap();
    let before = tree(&site.config());
    let out = run(
        &site,
        &["import", "mlmmj", dir.to_str().unwrap(), "--list", "smcop"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: missing",
            dir.join("control/listaddress").display()
        )),
        "{err}"
    );
    assert_eq!(tree(&site.config()), before);

    support::copy_dir(&sample("mlmmj"), &dir);
    std::fs::write(
        dir.join("subscribers.d/j"),
        "jane.doe@agency.gov\njohn.roe@\n",
    )
    .unwrap();
    let out = run(
        &site,
        &["import", "mlmmj", dir.to_str().unwrap(), "--list", "smcop"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "could not read: {}:2: ",
            dir.join("subscribers.d/j").display()
        )),
        "{text}"
    );
    assert_eq!(tree(&site.config()), before);
}

#[test]
fn mailman3_rest_json_and_members_dumps_import() {
    let site = Site::new();
    let dir = sample("mailman3");
    let out = run(
        &site,
        &[
            "import",
            "mailman3",
            dir.to_str().unwrap(),
            "--list",
            "smcop",
            "--dry-run",
        ],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("name: SM-COP"), "{text}");
    assert!(
        text.contains("title: SocialGov Community of Practice"),
        "{text}"
    );
    assert!(text.contains("owners: socialgov@example.gov"), "{text}");
    assert!(text.contains("subscribe: confirm+moderate"), "{text}");
    assert!(text.contains("members: 4 "), "{text}");
    assert!(text.contains("option DIGEST, 2 member(s)"), "{text}");
    assert!(text.contains("option NOMAIL, 1 member(s)"), "{text}");
    assert!(text.contains("archive_policy"), "{text}");

    let file = sample("mailman3-members.txt");
    let out = run(
        &site,
        &[
            "import",
            "mailman3",
            file.to_str().unwrap(),
            "--list",
            "mm",
            "--owner",
            "o@agency.gov",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let roster = std::fs::read_to_string(list_dir(&site, "mm").join("roster.toml")).unwrap();
    assert!(
        roster.contains("\"l.chen@navy.mil\" = { name = \"Li Chen\", via = \"import:mailman3\" }"),
        "{roster}"
    );
    assert!(
        roster.contains("\"john.roe@army.mil\" = { via = \"import:mailman3\" }"),
        "{roster}"
    );

    let broken = write(
        &site,
        "members.json",
        "{\"entries\": [\n  {\"email\": \"a@x.gov\"},\n  {\"email\": \n",
    );
    let out = run(
        &site,
        &[
            "import",
            "mailman3",
            broken.to_str().unwrap(),
            "--list",
            "mm2",
            "--owner",
            "o@agency.gov",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{}:4: not a Mailman member listing",
            broken.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!list_dir(&site, "mm2").exists());
}

#[test]
fn sync_waits_for_the_roster_lock_the_daemon_holds() {
    let site = Site::new();
    let hr = write(&site, "hr.csv", "a@agency.gov\n");
    let lock_path = site.config().join("lists/sm-cop/.roster.toml.lock");
    // The daemon's saver holds this lock file (flock) for each write.
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let mut child = Command::new(BIN)
        .args(["sync", "sm-cop", hr.to_str().unwrap()])
        .arg("--config")
        .arg(site.config())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "sync did not wait for the lock"
    );
    assert!(!site.roster_text().contains("a@agency.gov"));
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(site.roster_text().contains("\"a@agency.gov\""));
}

#[test]
fn no_progress_bar_is_drawn_when_stderr_is_not_a_terminal() {
    let site = Site::new();
    let rows: String = (0..20_000).map(|i| format!("p{i}@agency.gov\n")).collect();
    let csv = write(&site, "many.csv", &rows);
    let out = run(
        &site,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--list",
            "many",
            "--owner",
            "o@agency.gov",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "something was drawn on a pipe");
    assert!(
        stdout(&out).contains("(20000 member(s))"),
        "{}",
        stdout(&out)
    );
    let sync = write(&site, "sync.csv", &rows);
    let out = run(
        &site,
        &["sync", "many", sync.to_str().unwrap(), "--name", "hr"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    // Members imported are not the sync's: it adds none and removes none.
    assert!(
        stdout(&out).contains("20000 in the source joined another way"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("nothing to change"),
        "{}",
        stdout(&out)
    );
}

/// `--notify`: each member a sync adds gets a welcome and each one it removes a
/// goodbye, queued in the outbox; without it, nobody hears anything.
#[test]
fn sync_notifies_only_when_asked() {
    let site = Site::new();
    let hr = write(&site, "hr.csv", "a@agency.gov\nb@agency.gov\n");
    let out = run(&site, &["sync", "sm-cop", hr.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(site.queued(), 0, "no mail without --notify");
    std::fs::write(&hr, "a@agency.gov\nc@agency.gov\n").unwrap();
    let out = run(
        &site,
        &[
            "sync",
            "sm-cop",
            hr.to_str().unwrap(),
            "--notify",
            "--force",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("queued 2 welcome/goodbye mail(s)"),
        "{}",
        stdout(&out)
    );
    let out = run(&site, &["outbox", "--retry"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let mails = site.mail_files();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: c@agency.gov") && m.contains("Subject: Welcome to SM-COP"))
    );
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: b@agency.gov") && m.contains("Subject: You have left SM-COP"))
    );
}
