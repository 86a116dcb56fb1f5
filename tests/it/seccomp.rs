//! The shipped systemd unit, `examples/systemd/listkeeper.service`, checked against
//! the daemon (issue 12): `listkeeper serve` runs a whole flow under the system call
//! filter the unit's `SystemCallFilter=` lines describe, with a denied call killing
//! the process as it would under systemd; `systemd-analyze verify` finds nothing to
//! say about the unit; and its exposure score stays at most 2.0.
//!
//! The filter is installed by `examples/unit_seccomp.rs`, which `cargo test` builds
//! (alone: `cargo build --example unit_seccomp`). The groups are expanded by the
//! machine's `systemd-analyze`; without it these tests say so and skip, except
//! under CI, where they fail.

use crate::support;

use crate::support::daemon;
use crate::support::lmtp::Lmtp;
use crate::support::smtp::SmtpServer;
use crate::support::{BIN, Site, header, token_of};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";
const SIGSYS: i32 = 31;

/// Regression test for issue 12: the first roster save (an fchown of the new file)
/// killed the daemon with SIGSYS under the unit's `~@privileged`, and so did the
/// restart, saving the change it replayed from state.log before it served.
#[test]
fn regression_12_serve_survives_the_units_syscall_filter() {
    if !systemd_analyze_available() {
        return;
    }
    let smtp = SmtpServer::start();
    let site = site(smtp.port);

    let mut server = Filtered::start(&site);
    server.subscribe("dana.doe@dhs.gov", &smtp, 1);
    // The roster file is written moments after the 250: wait for it, or for a death.
    support::eventually(|| server.exited().is_some() || site.roster_text().contains("dana.doe"));
    server.assert_alive("after the roster save");
    assert!(site.roster_text().contains("\"dana.doe@dhs.gov\""));

    // A change that is in state.log only: its save waits for the roster's lock,
    // which the test holds, and the daemon is killed meanwhile.
    let lock = std::fs::File::create(site.roster().with_file_name(".roster.toml.lock")).unwrap();
    lock.lock().unwrap();
    server.subscribe("erin@army.mil", &smtp, 3);
    server.kill();
    lock.unlock().unwrap();
    assert!(!site.roster_text().contains("erin@army.mil"));

    // The restart replays state.log and saves the roster, then serves again.
    let mut server = Filtered::start(&site);
    support::eventually(|| server.exited().is_some() || site.roster_text().contains("erin"));
    server.assert_alive("after the restart's roster save");
    assert!(site.roster_text().contains("\"erin@army.mil\""));
    server.join("frank@navy.mil", &smtp, 5);
    server.stop();
}

/// The control: the filter is really there, and kills (not EPERM) on a call the
/// unit denies (`@chown`, in `~@privileged`), so the test above can fail the way
/// production did.
#[test]
fn the_units_filter_kills_a_process_that_calls_chown() {
    if !systemd_analyze_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    // To its own owner: allowed by the kernel, so only the filter can refuse it.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&file).unwrap());
    let status = Command::new(wrapper())
        .arg(unit())
        .args(["chown", &uid.to_string()])
        .arg(&file)
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(SIGSYS), "{status:?}");
    let status = Command::new(wrapper())
        .arg(unit())
        .args(["cat"])
        .arg(&file)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "an allowed program runs: {status:?}");
}

#[test]
fn systemd_analyze_verify_has_nothing_to_say_about_the_unit() {
    if !systemd_analyze_available() {
        return;
    }
    // verify checks that ExecStart= is executable: point it at the binary built here.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(unit()).unwrap();
    assert!(text.contains("ExecStart=/usr/local/bin/listkeeper "));
    let path = dir.path().join("listkeeper.service");
    std::fs::write(&path, text.replace("/usr/local/bin/listkeeper", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(support::stderr(&out), "", "no warning either");
}

#[test]
fn the_units_exposure_score_is_at_most_2() {
    if !systemd_analyze_available() {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(unit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let stdout = support::stdout(&out);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure level in: {stdout}"));
    let score: f64 = line
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line:?}"));
    assert!(score <= 2.0, "exposure {score} > 2.0: {line}");
}

/// The daemon started through the filter wrapper.
struct Filtered {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Filtered {
    /// Starts it on the site's `lmtp = "127.0.0.1:0"`, on the port its readiness
    /// line names (a restart gets a new one).
    fn start(site: &Site) -> Filtered {
        let from = daemon::len_of(&log_path(site));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(site))
            .unwrap();
        let child = Command::new(wrapper())
            .arg(unit())
            .arg(BIN)
            .args(["serve", "--config"])
            .arg(site.config())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Filtered {
            child,
            port: 0,
            log: log_path(site),
        };
        // A death before it is ready (SIGSYS) fails here, with its log.
        let address = daemon::wait_ready(&server.log, from, &mut server.child);
        server.port = daemon::port_of(&address);
        server
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    fn assert_alive(&mut self, when: &str) {
        if let Some(status) = self.exited() {
            panic!(
                "the daemon died {when}: {status:?}{}\n{}",
                if status.signal() == Some(SIGSYS) {
                    " (SIGSYS: a system call the unit's filter denies)"
                } else {
                    ""
                },
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// SIGTERM, and the daemon exits 0 (it writes what it holds on the way out).
    fn stop(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(15), "no stop in time");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "{status:?}: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// A test that fails must not leave its daemon running.
impl Drop for Filtered {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Filtered {
    /// One message over LMTP to one recipient: the reply after DATA. A connection
    /// that breaks means the daemon died: the panic says how.
    fn send(&mut self, from: &str, to: &str, message: &str) -> u16 {
        let sent = Lmtp::connect(self.port).and_then(|mut c| {
            let (_, outcomes) = c.send(from, &[to], message)?;
            c.quit();
            Ok(outcomes)
        });
        match sent {
            Ok(outcomes) => outcomes[0].code,
            Err(e) => {
                self.assert_alive(&format!("during a message to {to}"));
                panic!("LMTP to {to} failed: {e}");
            }
        }
    }

    /// Sends a join for `who` and returns the token of the confirmation request.
    fn join(&mut self, who: &str, smtp: &SmtpServer, nth: usize) -> String {
        let request = message(who, "join", &format!("join-{nth}@test"));
        assert_eq!(self.send(who, &format!("sm-cop-join@{D}"), &request), 250);
        token_of(&newest_to(smtp, who, "Confirm").data)
    }

    /// A join and its confirmation (the welcome arrives).
    fn subscribe(&mut self, who: &str, smtp: &SmtpServer, nth: usize) {
        let token = self.join(who, smtp, nth);
        let to = format!("sm-cop-confirm+{token}@{D}");
        let ok = message(who, "ok", &format!("ok-{nth}@test"));
        assert_eq!(self.send(who, &to, &ok), 250);
        newest_to(smtp, who, "Welcome to SM-COP");
    }

    /// `kill -9`.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The newest mail to `who` whose Subject starts with `subject`, once it came.
/// After a `kill -9`, a reply the relay took but state.log had not yet marked sent
/// goes out again (never lost, possibly twice), so mails are not counted.
fn newest_to(smtp: &SmtpServer, who: &str, subject: &str) -> support::smtp::Received {
    let found = |smtp: &SmtpServer| {
        smtp.received().into_iter().rev().find(|m| {
            m.to == [who] && header(&m.data, "Subject").is_some_and(|s| s.starts_with(subject))
        })
    };
    assert!(
        support::eventually(|| found(smtp).is_some()),
        "no mail \"{subject}…\" to {who}"
    );
    found(smtp).unwrap()
}

/// Whether `systemd-analyze` can be run here; under CI it must.
fn systemd_analyze_available() -> bool {
    let here = Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    support::required(here, "systemd-analyze (apt-get install systemd)")
}

fn unit() -> PathBuf {
    support::repo().join("examples/systemd/listkeeper.service")
}

/// `examples/unit_seccomp.rs`, built beside this test (target/PROFILE/examples/).
fn wrapper() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples/unit_seccomp");
    assert!(
        path.exists(),
        "{} is missing: cargo test builds it, or cargo build --example unit_seccomp",
        path.display()
    );
    path
}

fn site(smtp: u16) -> Site {
    Site::serving(smtp)
}

fn message(from: &str, subject: &str, id: &str) -> String {
    format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n")
}

fn log_path(site: &Site) -> PathBuf {
    site.tmp.path().join("serve.log")
}
