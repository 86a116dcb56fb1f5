//! `deliver` hands the message to a running daemon serving the same state folder
//! (over `inbound.lmtp`), and does the work itself when none does (issue 21).

use crate::support::daemon::InProcess;
use crate::support::smtp::{DownPort, SmtpServer};
use crate::support::{Site, eventually, stderr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

const D: &str = "listserv.example.gov";
const JOIN: &str = "sm-cop-join@listserv.example.gov";

fn request(from: &str, id: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: x\r\nSubject: join\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n")
        .into_bytes()
}

/// Points the site's `inbound.lmtp` at `127.0.0.1:port`.
fn lmtp_at(site: &Site, port: u16) {
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| match l.starts_with("lmtp = ") {
            true => format!("lmtp = \"127.0.0.1:{port}\""),
            false => l.to_owned(),
        })
        .collect();
    std::fs::write(path, text.join("\n")).unwrap();
}

/// Audit lines of subscribe requests for `address`.
fn requests_of(site: &Site, address: &str) -> usize {
    site.audit()
        .iter()
        .filter(|l| l.to_string().contains(address))
        .count()
}

#[test]
fn with_a_daemon_running_deliver_hands_the_message_over() {
    let site = Site::new();
    let daemon = InProcess::start(&site.config());
    lmtp_at(&site, daemon.port);
    // A list this process cannot load: only the daemon, which loaded it before,
    // can do the work (deliver loads listkeeper.toml alone to hand over).
    let list = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, format!("{text}\nnot toml at all [[[\n")).unwrap();
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "h1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // On disk when deliver exits: the request's audit line and pending request.
    assert!(requests_of(&site, "pat@dhs.gov") > 0, "{:?}", site.audit());
    let state = std::fs::read_to_string(site.var().join("state/state.log")).unwrap();
    assert!(state.contains("pat@dhs.gov"), "{state}");
    // The daemon sends the confirmation.
    assert!(eventually(|| site.mail_files().len() == 1));
    assert!(site.mail_files()[0].contains("pat@dhs.gov"));
    // With --local, this process does the work itself, and cannot.
    let out = local_deliver(&site, "lee@dhs.gov");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    drop(daemon);
}

/// `deliver --local`.
fn local_deliver(site: &Site, from: &str) -> std::process::Output {
    let mut child = std::process::Command::new(crate::support::BIN)
        .args([
            "deliver", "--local", "--to", JOIN, "--from", from, "--config",
        ])
        .arg(site.config())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(&request(from, "l1@dhs.gov"));
    child.wait_with_output().unwrap()
}

#[test]
fn with_no_daemon_deliver_does_the_work_itself() {
    let site = Site::new();
    let down = DownPort::new();
    lmtp_at(&site, down.port);
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "n1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Sent by deliver itself before it exited.
    assert_eq!(site.mail_files().len(), 1);
}

#[test]
fn what_listens_there_is_not_our_daemon_so_deliver_does_the_work_itself() {
    let site = Site::new();
    let smtp = SmtpServer::start();
    lmtp_at(&site, smtp.port);
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "o1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(site.mail_files().len(), 1);
    assert_eq!(smtp.count(), 0);
    // Nor a listkeeper daemon keeping another state folder.
    let other = Site::new();
    let daemon = InProcess::start(&other.config());
    lmtp_at(&site, daemon.port);
    let out = site.deliver(
        JOIN,
        Some("lee@dhs.gov"),
        &request("lee@dhs.gov", "o2@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(site.mail_files().len(), 2);
    assert_eq!(requests_of(&other, "lee@dhs.gov"), 0);
    drop(daemon);
}

/// A daemon of ours (by its greeting and state id) that answers the message's end
/// with `after_data`, or closes the connection when it is `None`.
fn fake_daemon(site: &Site, after_data: Option<&'static str>) -> u16 {
    let state = site.var().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let id = listkeeper::inbound::state_id(&state).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        out.write_all(format!("220 {D} LMTP listkeeper ready\r\n").as_bytes())
            .unwrap();
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap() > 0 {
            let reply = match line.get(..4).unwrap_or("") {
                "LHLO" => format!("250-{D}\r\n250-XLISTKEEPER-STATE {id}\r\n250 PIPELINING\r\n"),
                "MAIL" | "RCPT" => "250 2.1.0 ok\r\n".into(),
                "DATA" => "354 go ahead\r\n".into(),
                _ => String::new(),
            };
            out.write_all(reply.as_bytes()).unwrap();
            if line.starts_with("DATA") {
                line.clear();
                while lines.read_line(&mut line).unwrap() > 0 && line != ".\r\n" {
                    line.clear();
                }
                match after_data {
                    Some(reply) => out.write_all(reply.as_bytes()).unwrap(),
                    None => return,
                }
            }
            line.clear();
        }
    });
    port
}

#[test]
fn a_daemon_answering_4xx_makes_deliver_exit_75_without_doing_it_here() {
    let site = Site::new();
    lmtp_at(
        &site,
        fake_daemon(&site, Some("451 4.3.0 <x> try again later\r\n")),
    );
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "t1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(site.mail_files().is_empty());
    assert_eq!(requests_of(&site, "pat@dhs.gov"), 0);
}

#[test]
fn a_daemon_failing_after_the_message_makes_deliver_exit_75_without_doing_it_here() {
    let site = Site::new();
    lmtp_at(&site, fake_daemon(&site, None));
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "b1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the daemon had the message"),
        "{}",
        stderr(&out)
    );
    assert!(site.mail_files().is_empty());
    assert_eq!(requests_of(&site, "pat@dhs.gov"), 0);
}

#[test]
fn a_daemon_refusing_the_recipient_for_good_gives_the_same_code_as_deliver() {
    let site = Site::new();
    lmtp_at(
        &site,
        fake_daemon(&site, Some("554 5.6.0 <x> not an email message\r\n")),
    );
    let out = site.deliver(
        JOIN,
        Some("pat@dhs.gov"),
        &request("pat@dhs.gov", "p1@dhs.gov"),
    );
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
}

/// `listkeeper-deliver` (the small binary for Postfix's pipe) with the envelope of
/// `from`, the message `raw`, and `extra` flags.
fn front(site: &Site, from: &str, raw: &[u8], extra: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_listkeeper-deliver"))
        .args(["--to", JOIN, "--from", from])
        .args(extra)
        .arg("--config")
        .arg(site.config())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_small_deliver_binary_hands_over_to_a_daemon_and_else_runs_listkeeper_deliver() {
    let site = Site::new();
    // No daemon: it runs `listkeeper deliver --local` in its place, with the message
    // it read, and that does the work (on disk when it exits 0).
    let out = front(
        &site,
        "kim@dhs.gov",
        &request("kim@dhs.gov", "f1@dhs.gov"),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(requests_of(&site, "kim@dhs.gov") > 0, "{:?}", site.audit());
    assert_eq!(
        site.mail_files().len(),
        1,
        "the confirmation, sent by the process"
    );
    // A daemon: handed over (the list file this process could not load proves it).
    let daemon = InProcess::start(&site.config());
    lmtp_at(&site, daemon.port);
    let list = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, format!("{text}\nnot toml at all [[[\n")).unwrap();
    let out = front(
        &site,
        "pat@dhs.gov",
        &request("pat@dhs.gov", "f2@dhs.gov"),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(requests_of(&site, "pat@dhs.gov") > 0, "{:?}", site.audit());
    assert!(eventually(|| site.mail_files().len() == 2));
    // --local: `listkeeper deliver --local`, which cannot load the list: 75, retried.
    let out = front(
        &site,
        "lee@dhs.gov",
        &request("lee@dhs.gov", "f3@dhs.gov"),
        &["--local"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not load"), "{}", stderr(&out));
    assert_eq!(requests_of(&site, "lee@dhs.gov"), 0);
    drop(daemon);
}
