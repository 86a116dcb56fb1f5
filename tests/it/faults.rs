//! Faults and edges: a thousand connections at once, messages of exactly the size
//! limit and one byte over, and a full disk under `deliver`.

use crate::support;

use crate::support::daemon::{self, InProcess};
use crate::support::lmtp::Lmtp;
use crate::support::smtp::SmtpServer;
use crate::support::{BIN, Site, stderr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The site's config listening on `127.0.0.1:0`, with the `extra` replacements.
fn configure(site: &Site, extra: &[(&str, &str)]) {
    let path = site.config().join("listkeeper.toml");
    let mut text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("lmtp = \"127.0.0.1:8024\"", "lmtp = \"127.0.0.1:0\"");
    for (from, to) in extra {
        text = text.replace(from, to);
    }
    std::fs::write(path, text).unwrap();
}

/// `serve` as a process (a thousand connections are its file descriptors, not the
/// test's), and the port its readiness line names.
fn serve(site: &Site, extra: &[(&str, &str)]) -> (Daemon, u16) {
    configure(site, extra);
    let log = site.tmp.path().join("serve.log");
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(site.config())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Daemon(child);
    let address = daemon::wait_ready(&log, 0, &mut server.0);
    (server, daemon::port_of(&address))
}

/// The daemon in-process, on a free port.
fn serve_here(site: &Site, extra: &[(&str, &str)]) -> InProcess {
    configure(site, extra);
    InProcess::start(&site.config())
}

#[test]
fn a_thousand_connections_at_once() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    let (_daemon, port) = serve(&site, &[]);
    let mut open = Vec::new();
    let (mut served, mut refused) = (0, 0);
    for _ in 0..1000 {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        match &line[..3] {
            "220" => served += 1,
            "421" => refused += 1,
            other => panic!("unexpected greeting {other}"),
        }
        open.push(stream);
    }
    assert_eq!(served, 100, "inbound.max_connections are served");
    assert_eq!(refused, 900, "the rest are told to come back, at once");
    // While they are all held, the daemon still answers its busy signal quickly;
    // once they go, a real client gets through.
    drop(open);
    let start = Instant::now();
    let mut c = loop {
        match Lmtp::connect(port) {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("{e}"),
        }
    };
    let msg =
        "From: after.storm@agency.gov\r\nSubject: join\r\nMessage-ID: <storm@x>\r\n\r\nhi\r\n";
    let (_, outcomes) = c
        .send(
            "after.storm@agency.gov",
            &[&format!("sm-cop-join@{D}")],
            msg,
        )
        .unwrap();
    assert_eq!(outcomes[0].code, 250);
    c.quit();
}

/// A message of exactly `max_message_size` bytes is taken; one byte more is refused,
/// over LMTP (552) and through `deliver` (65).
#[test]
fn exactly_the_size_limit_and_one_byte_over() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    let daemon = serve_here(
        &site,
        &[(
            "max_message_size = \"1 MiB\"",
            "max_message_size = \"4096 B\"",
        )],
    );
    let port = daemon.port;
    let message = |size: usize, id: &str| {
        let head =
            format!("From: edge@agency.gov\r\nSubject: join\r\nMessage-ID: <{id}@x>\r\n\r\n");
        let mut m = head.clone();
        m.push_str(&"y".repeat(size - head.len() - 2));
        m.push_str("\r\n");
        assert_eq!(m.len(), size);
        m
    };
    let mut c = Lmtp::connect(port).unwrap();
    let (_, at) = c
        .send(
            "edge@agency.gov",
            &[&format!("sm-cop-join@{D}")],
            &message(4096, "at"),
        )
        .unwrap();
    assert_eq!(at[0].code, 250, "{at:?}");
    let (_, over) = c
        .send(
            "edge@agency.gov",
            &[&format!("sm-cop-join@{D}")],
            &message(4097, "over"),
        )
        .unwrap();
    assert_eq!(over[0].code, 552, "{over:?}");
    c.quit();
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        message(4096, "d-at").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        message(4097, "d-over").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(65));
}

/// The state folder on a tiny file system that fills up: `deliver` answers 75 (the
/// MTA keeps the mail), leaves no half-written file, and succeeds once there is room.
#[test]
fn a_full_disk_answers_75_and_loses_nothing() {
    let site = Site::new();
    let mount = site.tmp.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let Some(_unmount) = tmpfs(&mount, "256k") else {
        return;
    };
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "state_dir = \"../var/state\"",
            &format!("state_dir = \"{}/state\"", mount.display()),
        )
        .replace(
            "secret_file = \"../var/state/secret\"",
            &format!("secret_file = \"{}/state/secret\"", mount.display()),
        );
    std::fs::write(&path, text).unwrap();
    // A first request sets up the state folder and its key.
    let req = |id: &str| {
        format!("From: full.disk@agency.gov\r\nSubject: join\r\nMessage-ID: <{id}@x>\r\n\r\nhi\r\n")
    };
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, req("f0").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Appends fill the last page of a log first: pad the state log to a page
    // boundary (blank lines are skipped) so that the next line needs a new one.
    let log = mount.join("state/state.log");
    let len = std::fs::metadata(&log).unwrap().len() as usize;
    let mut padded = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    padded.write_all(&vec![b'\n'; 4096 - len % 4096]).unwrap();
    drop(padded);
    // Fill the file system to the last byte.
    let filler = mount.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0u8; 1]);
    drop(f);
    let roster_before = site.roster_text();
    let listing = |dir: &std::path::Path| -> Vec<String> {
        let mut names = Vec::new();
        for e in walk(dir) {
            names.push(e.strip_prefix(dir).unwrap().display().to_string());
        }
        names.sort();
        names
    };
    let before = listing(&mount.join("state"));
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, req("f1").as_bytes());
    assert_eq!(
        out.status.code(),
        Some(75),
        "a full disk is a reason to retry: {}",
        stderr(&out)
    );
    assert_eq!(site.roster_text(), roster_before);
    let after = listing(&mount.join("state"));
    assert!(
        after.iter().all(|n| !n.contains(".tmp-")),
        "no half-written file is left: {after:?}"
    );
    // SQLite keeps its write-ahead log of the index (derived from state.log) when
    // the disk is too full to fold it in: committed pages, not a half-written file.
    let sqlite = after.iter().filter(|n| n.starts_with("state.idx-")).count();
    assert!(
        after.len() - sqlite <= before.len() + 1,
        "{before:?} → {after:?}"
    );
    // Room again: the MTA's retry goes through.
    std::fs::remove_file(&filler).unwrap();
    let out = site.deliver(&format!("sm-cop-join@{D}"), None, req("f1").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A client that drips one byte at a time without ever completing a command is cut
/// off after twice `inbound.idle_timeout`; a silent one after the timeout itself.
#[test]
fn slow_and_silent_clients_are_cut_off() {
    let smtp = SmtpServer::start();
    let site = Site::with_smtp(smtp.port);
    let daemon = serve_here(
        &site,
        &[("[inbound]\n", "[inbound]\nidle_timeout = \"1s\"\n")],
    );
    let port = daemon.port;
    // Silent: the greeting, then 421 after about a second.
    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lines = BufReader::new(silent);
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert!(line.starts_with("220"));
    let start = Instant::now();
    line.clear();
    lines.read_line(&mut line).unwrap();
    assert!(line.starts_with("421"), "{line}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // A drip: a byte every 300 ms never completes "NOOP" + CRLF … of a long line.
    let mut drip = TcpStream::connect(("127.0.0.1", port)).unwrap();
    drip.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        if drip.write_all(b"x").is_err() {
            break;
        }
        if let Ok(n) = std::io::Read::read(&mut drip, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&got).contains("421") {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the drip was never cut off"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        String::from_utf8_lossy(&got).contains("421 4.4.2"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

/// An SMTP server that accepts the connection and then says nothing: the send gives up
/// after its timeout, the request is done all the same, and the reply stays queued.
#[test]
fn an_smtp_server_that_stalls_leaves_the_reply_queued() {
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stall.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let (conn, _) = stall.accept().unwrap();
        std::thread::sleep(Duration::from_secs(40));
        drop(conn);
    });
    let site = Site::with_smtp(port);
    // A short timeout for the test: the default is 30 s.
    site.edit(
        "listkeeper.toml",
        "[outbound]\n",
        "[outbound]\nsend_timeout = \"2 s\"\n",
    );
    let start = Instant::now();
    let out = site.deliver(
        &format!("sm-cop-join@{D}"),
        None,
        b"From: stalled@agency.gov\r\nSubject: join\r\nMessage-ID: <stall@x>\r\n\r\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no answer from the SMTP server"),
        "{}",
        stderr(&out)
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "the send was bounded by send_timeout"
    );
    assert_eq!(site.queued(), 1);
    drop(held);
}

/// The roster's own folder fills up: the join answers 75, the roster is as it was,
/// no temporary file is left, and the retry succeeds once there is room.
#[test]
fn a_full_disk_under_the_roster_answers_75() {
    let site = Site::new();
    let list_dir = site.config().join("lists/neighbors");
    std::fs::create_dir_all(&list_dir).unwrap();
    let Some(_unmount) = tmpfs(&list_dir, "64k") else {
        return;
    };
    std::fs::copy(
        support::repo().join("examples/lists/neighbors/list.toml"),
        list_dir.join("list.toml"),
    )
    .unwrap();
    std::fs::write(list_dir.join("roster.toml"), "# Neighbors\n[members]\n").unwrap();
    let req = |who: &str| format!("From: {who}\r\nSubject: join\r\nMessage-ID: <{who}>\r\n\r\n");
    let out = site.deliver(
        &format!("neighbors-join@{D}"),
        None,
        req("first@example.org").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let filler = list_dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    while f.write_all(&[0u8; 1024]).is_ok() {}
    drop(f);
    let before = std::fs::read_to_string(list_dir.join("roster.toml")).unwrap();
    let out = site.deliver(
        &format!("neighbors-join@{D}"),
        None,
        req("second@example.org").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(list_dir.join("roster.toml")).unwrap(),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(&list_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_file(&filler).unwrap();
    let out = site.deliver(
        &format!("neighbors-join@{D}"),
        None,
        req("second@example.org").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(list_dir.join("roster.toml"))
            .unwrap()
            .contains("second@example.org")
    );
}

/// Unmounts its tmpfs when dropped, whether the test passed or not.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A tmpfs of `size` mounted on `dir`; `None` (the test skips) where that needs a
/// root we do not have, which CI must have.
fn tmpfs(dir: &std::path::Path, size: &str) -> Option<Unmount> {
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if !support::required(mounted, "mounting a tmpfs (root)") {
        return None;
    }
    Some(Unmount(dir.to_owned()))
}
