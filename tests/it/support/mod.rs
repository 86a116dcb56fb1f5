//! Shared by the integration tests: a temporary copy of `config/`, and an SMTP server.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

pub mod browser;
pub mod daemon;
pub mod lmtp;
pub mod smtp;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_listkeeper");

/// A temporary copy of `config/`, at `<tmp>/config`, with state in `<tmp>/var`.
pub struct Site {
    pub tmp: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        copy_example(&tmp.path().join("config"));
        Site { tmp }
    }

    /// The same, sending replies to an SMTP server on this port.
    pub fn with_smtp(port: u16) -> Site {
        let site = Site::new();
        let path = site.config().join("listkeeper.toml");
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "transport = \"file:../var/outbox-mail\"",
            &format!("transport = \"smtp://127.0.0.1:{port}\""),
        );
        std::fs::write(path, text).unwrap();
        site
    }

    /// The example config listening for LMTP on `127.0.0.1:0` (a free port, which
    /// the daemon reports once ready), replies to an SMTP server on `smtp`.
    pub fn serving(smtp: u16) -> Site {
        let site = Site::with_smtp(smtp);
        site.edit(
            "listkeeper.toml",
            "lmtp = \"127.0.0.1:8024\"",
            "lmtp = \"127.0.0.1:0\"",
        );
        site
    }

    /// With the example list `county-gis` too, and `[trust] authserv_id =
    /// "mx.example.gov"`: county-gis's rule 2 allows `*.us` with `authenticated = true`.
    pub fn trusting_mx() -> Site {
        let site = Site::new();
        copy_dir(
            &repo().join("examples/lists/county-gis"),
            &site.config().join("lists/county-gis"),
        );
        site.edit(
            "listkeeper.toml",
            "# authserv_id = \"mx.example.gov\"",
            "authserv_id = \"mx.example.gov\"",
        );
        site
    }

    /// Replaces `from` (which must be there) by `to` in the config file `file`.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.config().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }

    pub fn config(&self) -> PathBuf {
        self.tmp.path().join("config")
    }

    pub fn var(&self) -> PathBuf {
        self.tmp.path().join("var")
    }

    pub fn roster(&self) -> PathBuf {
        self.config().join("lists/sm-cop/roster.toml")
    }

    pub fn roster_text(&self) -> String {
        std::fs::read_to_string(self.roster()).unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    /// `listkeeper deliver --to TO [--from FROM] < message`.
    pub fn deliver(&self, to: &str, from: Option<&str>, message: &[u8]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(["deliver", "--to", to])
            .arg("--config")
            .arg(self.config());
        if let Some(from) = from {
            cmd.args(["--from", from]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A refusal before reading everything is fine: the pipe may close early.
        let _ = child.stdin.take().unwrap().write_all(message);
        child.wait_with_output().unwrap()
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.var().join("state/audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The `.eml` files the `file:` transport wrote, oldest first.
    pub fn mail_files(&self) -> Vec<String> {
        files_in(&self.var().join("outbox-mail"))
    }

    /// Batches waiting in the outbox, as `listkeeper outbox` lists them.
    pub fn queued(&self) -> usize {
        let out = self.run(&["outbox"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .filter(|l| l.contains("  attempts "))
            .count()
    }
}

/// Waits up to 10 s for `ok()`. The daemon writes a roster file moments after the
/// `250` (the change is durable in state.log first), so a test reads it with this.
pub fn eventually(mut ok: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(10) {
        if ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    ok()
}

/// The text of every file in `dir`, in name order (none when it is missing).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    paths.sort();
    // A file the daemon's sender is still writing (or has just renamed) is not
    // one yet.
    paths
        .iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter_map(|p| match std::fs::read_to_string(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            read => Some(read.unwrap()),
        })
        .collect()
}

/// A copy of the repository's example `config/` at `to`, with its rosters as
/// committed.
pub fn copy_example(to: &Path) {
    copy_dir(&repo().join("config"), to);
    pristine_rosters(to);
    // The web pages on a port the system picks: tests run side by side.
    let path = to.join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let web = "listen = \"127.0.0.1:8025\"";
    assert!(
        text.contains(web),
        "the example config serves the web pages"
    );
    std::fs::write(&path, text.replace(web, "listen = \"127.0.0.1:0\"")).unwrap();
}

/// The rosters as committed: listkeeper writes the example's rosters when README's
/// "Try it" runs the daemon on `config/`, and the tests must not depend on that
/// (issue 12, item 6). Without git (a source tarball), the copy stays as it is.
fn pristine_rosters(config: &Path) {
    let Ok(lists) = std::fs::read_dir(config.join("lists")) else {
        return;
    };
    for list in lists.flatten() {
        let id = list.file_name().to_string_lossy().into_owned();
        let committed = std::process::Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["show", &format!("HEAD:config/lists/{id}/roster.toml")])
            .stderr(std::process::Stdio::null())
            .output();
        if let Ok(out) = committed
            && out.status.success()
        {
            std::fs::write(list.path().join("roster.toml"), out.stdout).unwrap();
        }
    }
}

/// Whether what a test needs is `here`. Without it the test says SKIPPED (and
/// returns early), except under CI (`CI` set), where it fails: CI runs every test.
pub fn required(here: bool, what: &str) -> bool {
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: {what}"
        );
        // Straight to stderr, not eprintln!: the test harness keeps a passing test's
        // eprintln! to itself, and a skip must be seen.
        let _ = std::io::stderr().write_all(format!("SKIPPED: {what}\n").as_bytes());
    }
    here
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().starts_with('.') {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A header's value in a raw message (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim().to_owned())
}

/// The token in a confirmation request's Reply-To.
pub fn token_of(message: &str) -> String {
    let reply_to = header(message, "Reply-To").expect("a Reply-To");
    let start = reply_to.find("confirm+").expect("a confirm address") + "confirm+".len();
    reply_to[start..].split('@').next().unwrap().to_owned()
}
