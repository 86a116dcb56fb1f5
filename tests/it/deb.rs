//! The Debian package (issue 19): its files are derived from the sources they claim
//! (the unit from `examples/systemd/`, the starter configuration from `listkeeper
//! init`), and the built package installs with `dpkg -i`, passes `check` and serves a
//! request as the `listkeeper` user with the installed paths, survives an upgrade
//! with its state and rosters, purges cleanly, and has no lintian error.
//!
//! The package is `debian/build`'s output (`.ci/run` builds it first), or the file
//! in `LISTKEEPER_DEB`. The install test needs root, dpkg and that package; without
//! them it says so and skips, except under CI, where it fails. It never touches
//! Postfix: the installed configuration is pointed at ports of the test's own.

use crate::support;

use crate::support::daemon;
use crate::support::lmtp::Lmtp;
use crate::support::smtp::SmtpServer;
use crate::support::{BIN, header, repo, stderr, stdout, token_of};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ETC: &str = "/etc/listkeeper";
const STATE: &str = "/var/lib/listkeeper";
const PLACEHOLDER: &str = "lists.example.invalid";
const D: &str = "lists.test.example";

/// `debian/listkeeper.service` is the example unit with the binary in /usr/bin and a
/// Documentation= line, and nothing else changed: tests/it/seccomp.rs's checks of the
/// example hold for it.
#[test]
fn the_packaged_unit_is_the_example_unit_with_usr_bin() {
    let example = read(&repo().join("examples/systemd/listkeeper.service"));
    let packaged = read(&repo().join("debian/listkeeper.service"));
    let (_, body) = example.split_once("[Unit]\n").unwrap();
    let (header_lines, packaged_body) = packaged.split_once("[Unit]\n").unwrap();
    assert!(header_lines.lines().all(|l| l.starts_with('#')));
    let desc = "Description=listkeeper: the subscription side of email lists\n";
    let expected = body
        .replacen(
            desc,
            &format!(
                "{desc}Documentation=man:listkeeper-serve(1) man:listkeeper.toml(5) man:list.toml(5)\n"
            ),
            1,
        )
        .replace("/usr/local/bin/listkeeper", "/usr/bin/listkeeper");
    assert_eq!(
        packaged_body, expected,
        "debian/listkeeper.service is out of step with examples/systemd/listkeeper.service"
    );
}

/// The package's starter files are what `listkeeper init /etc/listkeeper --domain
/// lists.example.invalid` writes (one source: `src/cli/init/`), and `check` refuses
/// them until the domain is set, naming the key.
#[test]
fn the_packaged_starter_config_is_what_init_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc/listkeeper");
    let out = Command::new(BIN)
        .arg("init")
        .arg(&etc)
        .args(["--domain", PLACEHOLDER])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let written = |p: &str| read(&etc.join(p)).replace(&etc.display().to_string(), ETC);
    let how = "regenerate with: listkeeper init /tmp/x/etc/listkeeper --domain lists.example.invalid, \
               then copy its files into debian/ with /tmp/x removed from their paths";
    assert_eq!(
        read(&repo().join("debian/etc/listkeeper/listkeeper.toml")),
        written("listkeeper.toml"),
        "{how}"
    );
    for file in ["list.toml", "roster.toml"] {
        assert_eq!(
            read(&repo().join("debian/starter").join(file)),
            written(&format!("lists/announce/{file}")),
            "{file}: {how}"
        );
    }
    // Unset, the domain is the one thing check stops at.
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&etc)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = stdout_and_stderr(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(text.contains("man 5 listkeeper.toml"), "{text}");
    assert!(
        errors[0].contains("listkeeper.toml:")
            && errors[0].contains("domain: ")
            && errors[0].contains("placeholder"),
        "{errors:?}"
    );
}

/// `init --print man` writes one page per subcommand and the two of section 5, which
/// name every key; `--print completions` knows the subcommands.
#[test]
fn man_pages_and_completions_come_from_the_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["init", "--print", "man", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&run(Command::new(BIN).arg("--help")));
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(
        commands.contains(&"serve") && commands.len() > 10,
        "{commands:?}"
    );
    for c in &commands {
        let page = tmp.path().join(format!("man1/listkeeper-{c}.1"));
        assert!(read(&page).contains(".SH SYNOPSIS"), "{}", page.display());
    }
    assert!(tmp.path().join("man1/listkeeper.1").exists());
    let server = read(&tmp.path().join("man5/listkeeper.toml.5"));
    for key in [
        "domain",
        "state_dir",
        "inbound.lmtp",
        "outbound.give_up_after",
        "limits.replies_per_hour",
        "trust.authserv_id",
    ] {
        assert!(
            server.contains(&format!("\n.B {key}\n")) || server.contains(&format!("\\fB{key}\\fR")),
            "{key} in listkeeper.toml(5)"
        );
    }
    let list = read(&tmp.path().join("man5/list.toml.5"));
    for key in ["terms", "include_file", "rule.domain", "rule.action"] {
        assert!(
            list.contains(&format!("\\fB{key}\\fR")),
            "{key} in list.toml(5)"
        );
    }
    if Command::new("man").arg("--version").output().is_ok() {
        let shown = run(Command::new("man")
            .arg("-l")
            .arg(tmp.path().join("man5/listkeeper.toml.5"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100"));
        assert!(
            stdout(&shown).contains("Default: 127.0.0.1:8024"),
            "{}",
            stdout(&shown)
        );
    }
    let bash = stdout(&run(Command::new(BIN).args([
        "init",
        "--print",
        "completions",
        "--shell",
        "bash",
    ])));
    assert!(
        bash.contains("complete") && bash.contains("explain"),
        "{bash}"
    );
}

/// The packaged unit passes `systemd-analyze verify` and keeps the example's
/// exposure score (at most 2.0).
#[test]
fn the_packaged_unit_passes_systemd_analyze() {
    if !available("systemd-analyze", "apt-get install systemd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("listkeeper.service");
    let text = read(&repo().join("debian/listkeeper.service"));
    std::fs::write(&path, text.replace("/usr/bin/listkeeper", BIN)).unwrap();
    // verify runs man(1) on each Documentation= page: give it the pages this build
    // makes, whether or not the package is installed at the moment (the install
    // test installs and purges it alongside).
    let man = dir.path().join("man");
    let made = run(Command::new(BIN)
        .args(["init", "--print", "man", "--out"])
        .arg(&man));
    assert!(made.status.success());
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", &man));
    assert_eq!(stderr(&out), "", "no warning");
    let out = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path));
    let stdout = stdout(&out);
    let score: f64 = stdout
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for listkeeper.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no score in {stdout}"));
    assert!(score <= 2.0, "exposure {score}");
}

/// lintian finds no error in the package.
#[test]
fn lintian_finds_no_error_in_the_package() {
    let Some(deb) = package() else { return };
    if !available("lintian", "apt-get install lintian") {
        return;
    }
    let out = Command::new("lintian")
        .args(["--fail-on", "error", "--no-tag-display-limit"])
        .arg(&deb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lintian: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !stdout(&out).lines().any(|l| l.starts_with("E: ")),
        "{}",
        stdout(&out)
    );
}

/// Install, `check` as the listkeeper user, a request over LMTP to `serve` run as the
/// unit's ExecStart runs it, an upgrade that keeps state and rosters, and purges that
/// remove what the package made and nothing else.
#[test]
fn the_package_installs_serves_upgrades_and_purges() {
    let Some(deb) = package() else { return };
    if !root_with_dpkg() {
        return;
    }
    let installed = Installed::new(&deb);

    // What the package put in place.
    assert!(Path::new("/usr/bin/listkeeper").exists());
    assert!(Path::new("/usr/bin/listkeeper-deliver").exists());
    let conffiles = run(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "listkeeper"]));
    assert!(
        stdout(&conffiles).contains("/etc/listkeeper/listkeeper.toml"),
        "{}",
        stdout(&conffiles)
    );
    assert!(
        run(Command::new("getent").args(["passwd", "listkeeper"]))
            .status
            .success()
    );
    let state = std::fs::metadata(STATE).unwrap();
    assert_eq!(state.permissions().mode() & 0o7777, 0o750);
    assert_eq!(state.uid(), uid_of("listkeeper"));
    assert_eq!(
        std::fs::metadata(format!("{ETC}/lists/announce/roster.toml"))
            .unwrap()
            .uid(),
        uid_of("listkeeper")
    );
    assert!(
        Path::new("/etc/systemd/system/multi-user.target.wants/listkeeper.service").exists(),
        "enabled"
    );
    let files = stdout(&run(Command::new("dpkg").args(["-L", "listkeeper"])));
    for f in [
        "/usr/share/man/man1/listkeeper.1.gz",
        "/usr/share/man/man1/listkeeper-serve.1.gz",
        "/usr/share/man/man5/listkeeper.toml.5.gz",
        "/usr/share/man/man5/list.toml.5.gz",
        "/usr/share/bash-completion/completions/listkeeper",
        "/usr/share/doc/listkeeper/postfix/main.cf",
        "/etc/logrotate.d/listkeeper",
    ] {
        assert!(
            files.lines().any(|l| l == f),
            "{f} not in the package:\n{files}"
        );
    }

    if Command::new("man").arg("--version").output().is_ok() {
        let page = run(Command::new("man").args(["-w", "listkeeper"]));
        assert_eq!(stdout(&page).trim(), "/usr/share/man/man1/listkeeper.1.gz");
    }

    // Not configured yet: check names the key to set.
    let out = as_listkeeper(&["/usr/bin/listkeeper", "check"]);
    assert!(!out.status.success());
    assert!(
        stdout_and_stderr(&out).contains("domain: "),
        "{}",
        stdout_and_stderr(&out)
    );

    // The operator's one line; the test's own ports instead of Postfix's.
    let smtp = SmtpServer::start();
    edit(
        "listkeeper.toml",
        &format!("domain = \"{PLACEHOLDER}\""),
        &format!("domain = \"{D}\""),
    );
    edit(
        "listkeeper.toml",
        "lmtp = \"127.0.0.1:8024\"",
        "lmtp = \"127.0.0.1:0\"",
    );
    edit(
        "listkeeper.toml",
        "transport = \"smtp://127.0.0.1:25\"",
        &format!("transport = \"smtp://127.0.0.1:{}\"", smtp.port),
    );
    let out = as_listkeeper(&["/usr/bin/listkeeper", "check"]);
    assert!(out.status.success(), "{}", stdout_and_stderr(&out));

    let mut serve = Serve::start();
    let who = "pat.example@agency.gov";
    serve.send(who, &format!("announce-subscribe-request@{D}"), "join");
    let confirm = newest_to(&smtp, who, "Confirm");
    let token = token_of(&confirm);
    serve.send(who, &format!("announce-confirm+{token}@{D}"), "ok");
    newest_to(&smtp, who, "Welcome");
    let roster = format!("{ETC}/lists/announce/roster.toml");
    assert!(support::eventually(
        || read(Path::new(&roster)).contains(who)
    ));
    serve.stop();
    for f in ["audit.log", "state.log", "secret"] {
        let m = std::fs::metadata(Path::new(STATE).join(f)).unwrap();
        assert_eq!(m.uid(), uid_of("listkeeper"), "{f}");
    }
    let audit = read(&Path::new(STATE).join("audit.log"));

    // An upgrade (the same package again) keeps the edited conffile, the roster
    // and the state.
    installed.install();
    assert!(
        read(Path::new(&format!("{ETC}/listkeeper.toml"))).contains(&format!("domain = \"{D}\""))
    );
    assert!(read(Path::new(&roster)).contains(who));
    assert!(read(&Path::new(STATE).join("audit.log")).starts_with(&audit));

    // Purge: the conffiles and the state go; the roster with a member stays.
    installed.purge();
    assert!(!Path::new("/usr/bin/listkeeper").exists());
    assert!(!Path::new(STATE).exists());
    assert!(!Path::new(&format!("{ETC}/listkeeper.toml")).exists());
    assert!(!Path::new("/etc/logrotate.d/listkeeper").exists());
    assert!(!Path::new("/etc/systemd/system/multi-user.target.wants/listkeeper.service").exists());
    assert!(
        read(Path::new(&roster)).contains(who),
        "the operator's roster is kept"
    );
    std::fs::remove_dir_all(ETC).unwrap();

    // Installed and purged untouched: nothing at all is left.
    installed.install();
    installed.purge();
    assert!(
        !Path::new(ETC).exists(),
        "an unchanged starter list goes with the package"
    );
    assert!(!Path::new(STATE).exists());
}

/// The package installed for a test; purged (and /etc/listkeeper removed) on drop,
/// whatever happened.
struct Installed {
    deb: PathBuf,
}

impl Installed {
    fn new(deb: &Path) -> Installed {
        let installed = Installed {
            deb: deb.to_owned(),
        };
        installed.install();
        installed
    }

    fn install(&self) {
        let out = Command::new("dpkg")
            .arg("-i")
            .arg(&self.deb)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(out.status.success(), "dpkg -i: {}", stdout_and_stderr(&out));
    }

    fn purge(&self) {
        let out = Command::new("dpkg")
            .args(["--purge", "listkeeper"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dpkg --purge: {}",
            stdout_and_stderr(&out)
        );
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "listkeeper"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(ETC);
        let _ = std::fs::remove_dir_all(STATE);
    }
}

/// `listkeeper serve` as the installed unit's ExecStart, run by hand as its User=
/// with its UMask= (systemd is not PID 1 here).
struct Serve {
    child: Child,
    port: u16,
    /// Its standard error, in a folder of the test's.
    log: tempfile::NamedTempFile,
}

impl Serve {
    /// On the installed configuration's `lmtp = "127.0.0.1:0"`: the port its
    /// readiness line names.
    fn start() -> Serve {
        let unit = read(Path::new("/usr/lib/systemd/system/listkeeper.service"));
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(exec, "/usr/bin/listkeeper serve --config /etc/listkeeper");
        assert!(unit.contains("\nUser=listkeeper\n") && unit.contains("\nUMask=0027\n"));
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("setpriv")
            .args([
                "--reuid=listkeeper",
                "--regid=listkeeper",
                "--init-groups",
                "sh",
                "-c",
            ])
            .arg(format!("umask 0027 && exec {exec}"))
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut serve = Serve {
            child,
            port: 0,
            log,
        };
        let address = daemon::wait_ready(serve.log.path(), 0, &mut serve.child);
        serve.port = daemon::port_of(&address);
        serve
    }

    fn send(&mut self, from: &str, to: &str, subject: &str) {
        let message = format!(
            "From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@deb.test>\r\n\r\nhello\r\n"
        );
        let mut c = Lmtp::connect(self.port).unwrap();
        let (_, outcomes) = c.send(from, &[to], &message).unwrap();
        c.quit();
        assert_eq!(outcomes[0].code, 250, "{outcomes:?}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// SIGTERM: it exits 0.
    fn stop(mut self) {
        run(Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string()));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(15), "no stop in time");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}: {}", self.log());
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The newest mail to `who` whose Subject starts with `subject`, once it came.
fn newest_to(smtp: &SmtpServer, who: &str, subject: &str) -> String {
    let found = |smtp: &SmtpServer| {
        smtp.received().into_iter().rev().find(|m| {
            m.to == [who] && header(&m.data, "Subject").is_some_and(|s| s.starts_with(subject))
        })
    };
    assert!(
        support::eventually(|| found(smtp).is_some()),
        "no mail \"{subject}…\" to {who}"
    );
    found(smtp).unwrap().data
}

/// The package to test: `LISTKEEPER_DEB`, else the newest `target/debian/*.deb`.
fn package() -> Option<PathBuf> {
    let deb = std::env::var_os("LISTKEEPER_DEB")
        .map(PathBuf::from)
        .or_else(|| {
            let mut debs: Vec<(std::time::SystemTime, PathBuf)> =
                std::fs::read_dir(repo().join("target/debian"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("listkeeper_") && n.ends_with(".deb"))
                    })
                    .map(|p| (std::fs::metadata(&p).unwrap().modified().unwrap(), p))
                    .collect();
            debs.sort();
            debs.pop().map(|(_, p)| p)
        });
    support::required(
        deb.is_some(),
        "a package in target/debian (debian/build builds it)",
    );
    deb
}

/// Root, with dpkg, and no listkeeper package of someone else's installed.
fn root_with_dpkg() -> bool {
    let root = uid_of("root") == current_uid();
    if !support::required(
        root && available("dpkg", "a Debian machine"),
        "installing the package needs root and dpkg",
    ) {
        return false;
    }
    let there = Command::new("dpkg")
        .args(["-s", "listkeeper"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(
        !there,
        "listkeeper is already installed on this machine: the test would purge it; remove it first"
    );
    true
}

fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

fn uid_of(user: &str) -> u32 {
    let out = run(Command::new("id").args(["-u", user]));
    stdout(&out).trim().parse().unwrap()
}

fn available(program: &str, how: &str) -> bool {
    let here = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    support::required(here, &format!("{program} ({how})"))
}

fn as_listkeeper(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=listkeeper", "--regid=listkeeper", "--init-groups"])
        .args(args)
        .output()
        .unwrap()
}

fn edit(file: &str, from: &str, to: &str) {
    let path = Path::new(ETC).join(file);
    let text = read(&path);
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        stdout_and_stderr(&out)
    );
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stdout_and_stderr(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}
