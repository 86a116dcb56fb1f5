//! The daemon: LMTP in (a client reading every per-recipient reply), SMTP out (a
//! server the test starts). `listkeeper serve` as a process where the process is the
//! point (signals, `kill -9`, its log, systemd notifications, its memory), else the
//! same code in-process ([`InProcess`]); both on a port 0 of their own.

use crate::support;

use crate::support::daemon::{self, InProcess};
use crate::support::lmtp::Lmtp;
use crate::support::smtp::{Farewell, Mode, SmtpServer};
use crate::support::{BIN, Site, header, token_of};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `serve` on the site's `lmtp = "127.0.0.1:0"`: its port is the one its
    /// readiness line (appended to `serve.log`) names.
    fn start(site: &Site) -> Server {
        let path = site.tmp.path().join("serve.log");
        let from = daemon::len_of(&path);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(site.config())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        // Killed on drop if it never gets ready.
        let mut server = Server { child, port: 0 };
        server.port = daemon::port_of(&daemon::wait_ready(&path, from, &mut server.child));
        server
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        wait_timeout(&mut self.child, Duration::from_secs(15))
    }

    fn kill9(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

/// A test that fails must not leave its daemon running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < limit, "the daemon did not stop in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_of(site: &Site) -> String {
    std::fs::read_to_string(site.tmp.path().join("serve.log")).unwrap_or_default()
}

fn site(smtp: u16) -> Site {
    Site::serving(smtp)
}

fn message(from: &str, subject: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n.dot line\r\n"
    )
}

#[test]
fn subscribe_and_confirm_over_lmtp_with_replies_over_smtp() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let server = Server::start(&site);

    let mut c = Lmtp::connect(server.port).unwrap();
    let (rcpt, outcomes) = c
        .send(
            "dana.doe@dhs.gov",
            &[
                &format!("sm-cop-join@{D}"),
                &format!("nobody@{D}"),
                "sm-cop-join@elsewhere.gov",
            ],
            &message("Dana Doe <dana.doe@dhs.gov>", "join", "s1@dhs.gov"),
        )
        .unwrap();
    assert_eq!(
        rcpt.iter().map(|r| r.code).collect::<Vec<_>>(),
        [250, 550, 550]
    );
    assert!(rcpt[1].text.starts_with("550 5.1.1"));
    assert_eq!(outcomes.len(), 1, "one reply per accepted recipient");
    assert!(outcomes[0].text.starts_with("250 2.1.5"), "{outcomes:?}");

    let got = smtp.wait_for(1);
    assert_eq!(got[0].to, ["dana.doe@dhs.gov"]);
    let token = token_of(&got[0].data);
    let (_, outcomes) = c
        .send(
            "dana.doe@dhs.gov",
            &[&format!("sm-cop-confirm+{token}@{D}")],
            &message("dana.doe@dhs.gov", "ok", "s2@dhs.gov"),
        )
        .unwrap();
    assert_eq!(outcomes[0].code, 250);
    assert!(
        !outcomes[0].text.contains(&token),
        "no token in a reply line the MTA logs"
    );
    let got = smtp.wait_for(2);
    assert_eq!(
        header(&got[1].data, "Subject").as_deref(),
        Some("Welcome to SM-COP")
    );
    assert!(support::eventually(|| site
        .roster_text()
        .contains("\"dana.doe@dhs.gov\" = { name = \"Dana Doe\"")));
    c.quit();

    assert!(
        server.stop().success(),
        "SIGTERM exits 0: {}",
        log_of(&site)
    );
    assert!(!log_of(&site).contains(&token), "no token in the log");
}

#[test]
fn sighup_adds_a_list_and_a_bad_config_keeps_the_old_one() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let server = Server::start(&site);
    let port = server.port;
    let rcpt = |to: &str| {
        let mut c = Lmtp::connect(port).unwrap();
        let r = c.command("MAIL FROM:<x@agency.gov>").unwrap();
        assert_eq!(r.code, 250);
        let r = c.command(&format!("RCPT TO:<{to}>")).unwrap();
        c.quit();
        r.code
    };
    assert_eq!(rcpt(&format!("neighbors-join@{D}")), 550);
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    server.signal("HUP");
    wait_until(|| rcpt(&format!("neighbors-join@{D}")) == 250);

    // A broken list.toml: the reload fails, the old configuration keeps serving.
    std::fs::write(
        site.config().join("lists/neighbors/list.toml"),
        "id = \"neighbors\"\nsubscribe = \"sometimes\"\n",
    )
    .unwrap();
    server.signal("HUP");
    wait_until(|| log_of(&site).contains("reload failed"));
    assert_eq!(rcpt(&format!("neighbors-join@{D}")), 250);
    assert_eq!(rcpt(&format!("sm-cop-join@{D}")), 250);
    assert!(
        log_of(&site).contains("neighbors/list.toml"),
        "the log says why: {}",
        log_of(&site)
    );
    assert!(server.stop().success());
}

#[test]
fn a_reply_the_smtp_server_defers_is_sent_later() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Defer);
    let site = site(smtp.port);
    let server = Server::start(&site);
    let port = server.port;
    let mut c = Lmtp::connect(port).unwrap();
    let (_, outcomes) = c
        .send(
            "kim@army.mil",
            &[&format!("sm-cop-join@{D}")],
            &message("kim@army.mil", "join", "d1@army.mil"),
        )
        .unwrap();
    assert_eq!(
        outcomes[0].code, 250,
        "the request is done; its reply waits"
    );
    wait_until(|| log_of(&site).contains("reply deferred"));
    assert_eq!(site.queued(), 1);
    smtp.set_mode(Mode::Accept);
    let out = site.run(&["outbox", "--retry"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(smtp.wait_for(1)[0].to, ["kim@army.mil"]);
    c.quit();
    assert!(server.stop().success());
}

/// One join over LMTP (its reply is a confirmation request to `who`).
fn join(port: u16, who: &str) {
    let mut c = Lmtp::connect(port).unwrap();
    let (_, outcomes) = c
        .send(
            who,
            &[&format!("sm-cop-join@{D}")],
            &message(who, "join", &format!("{who}.join")),
        )
        .unwrap();
    assert_eq!(outcomes[0].code, 250, "{outcomes:?}");
    c.quit();
}

/// Issue 12: the relay closes connections left idle for 300 ms (as Postfix does after
/// `smtpd_timeout`). After `idle`, the next reply still goes out within seconds, on a
/// new connection, instead of failing on the dead one and waiting out the backoff.
fn a_reply_after_the_relay_closed_an_idle_connection(
    pipelining: bool,
    farewell: Farewell,
    idle: Duration,
) {
    let smtp = SmtpServer::start();
    if !pipelining {
        smtp.without_pipelining();
    }
    smtp.drop_idle(Duration::from_millis(300), farewell);
    let site = site(smtp.port);
    let server = InProcess::start(&site.config());
    let port = server.port;
    join(port, "first@agency.gov");
    assert_eq!(smtp.wait_for(1).len(), 1);
    std::thread::sleep(idle);
    assert!(
        smtp.idle_drops() >= 1,
        "the relay closed the kept connection"
    );
    join(port, "second@agency.gov");
    let start = Instant::now();
    while smtp.count() < 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        smtp.received()
            .iter()
            .filter(|m| m.to == ["second@agency.gov"])
            .count(),
        1,
        "the reply after the idle spell arrives within 5 s, once"
    );
    assert!(server.stop());
}

/// Reused within seconds, unprobed: the 421 at MAIL FROM sends it again at once.
#[test]
fn issue_12_pipelined_a_connection_the_relay_closed_with_421_is_replaced() {
    a_reply_after_the_relay_closed_an_idle_connection(
        true,
        Farewell::Say421,
        Duration::from_millis(800),
    );
}

/// Reused within seconds, unprobed: the lost connection sends it again at once.
#[test]
fn issue_12_pipelined_a_connection_the_relay_closed_silently_is_replaced() {
    a_reply_after_the_relay_closed_an_idle_connection(
        true,
        Farewell::Silent,
        Duration::from_millis(800),
    );
}

/// Idle for longer: the NOOP before reuse finds it dead (the resend would catch it too).
#[test]
fn issue_12_pipelined_a_long_idle_connection_is_probed_first() {
    a_reply_after_the_relay_closed_an_idle_connection(
        true,
        Farewell::Silent,
        Duration::from_millis(2500),
    );
}

/// lettre's connection (no PIPELINING offered): a 421 is a refusal, sent again at once.
#[test]
fn issue_12_lettre_a_connection_the_relay_closed_with_421_is_replaced() {
    a_reply_after_the_relay_closed_an_idle_connection(
        false,
        Farewell::Say421,
        Duration::from_millis(800),
    );
}

#[test]
fn issue_12_lettre_a_long_idle_connection_closed_silently_is_probed_first() {
    a_reply_after_the_relay_closed_an_idle_connection(
        false,
        Farewell::Silent,
        Duration::from_millis(2500),
    );
}

#[test]
fn issue_12_lettre_a_long_idle_connection_closed_with_421_is_probed_first() {
    a_reply_after_the_relay_closed_an_idle_connection(
        false,
        Farewell::Say421,
        Duration::from_millis(2500),
    );
}

/// Issue 13: a relay that accepts the connection and never greets. SIGTERM exits 0
/// within the shutdown grace (not after the 30 s send timeout), and the reply in
/// flight stays queued: the next start sends it.
#[test]
fn issue_13_sigterm_with_a_silent_relay_exits_in_the_grace_and_loses_nothing() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = silent.local_addr().unwrap().port();
    let (connected, connection) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    let site = site(relay);
    // A short grace, so the test does not wait out the default 10 s.
    site.edit(
        "listkeeper.toml",
        "[outbound]\n",
        "[outbound]\nshutdown_grace = \"2 s\"\n",
    );
    let mut server = Server::start(&site);
    join(server.port, "held@agency.gov");
    connection
        .recv_timeout(Duration::from_secs(10))
        .expect("the daemon connects to the relay");
    let start = Instant::now();
    server.signal("TERM");
    let status = wait_timeout(&mut server.child, Duration::from_secs(45));
    let took = start.elapsed();
    assert!(status.success(), "{}", log_of(&site));
    let bound = Duration::from_secs(2 + 2);
    assert!(
        took < bound,
        "SIGTERM took {took:?} (bound {bound:?}):\n{}",
        log_of(&site)
    );
    drop(server);

    let smtp = SmtpServer::start();
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("smtp://127.0.0.1:{relay}"),
        &format!("smtp://127.0.0.1:{}", smtp.port),
    );
    std::fs::write(path, text).unwrap();
    let server = Server::start(&site);
    assert_eq!(
        smtp.wait_for(1).first().map(|m| m.to.clone()),
        Some(vec!["held@agency.gov".to_owned()]),
        "the reply abandoned at shutdown is sent on the next start:\n{}",
        log_of(&site)
    );
    assert!(server.stop().success());
}

/// Joins pushed over LMTP while the daemon is killed with -9, again and again: every
/// join that got its 250 is in the roster exactly once, and its welcome is sent.
#[test]
fn kill_9_loses_no_accepted_request_and_duplicates_no_member() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    let mut accepted: Vec<String> = Vec::new();
    let mut n = 0;
    for round in 0..4 {
        // A new port each start: the joins of this round go to it.
        let server = Server::start(&site);
        let port = server.port;
        let stop = Instant::now() + Duration::from_millis(150 + 100 * round);
        let handles: Vec<_> = (0..3)
            .map(|t| {
                let start = n + t * 1000;
                std::thread::spawn(move || {
                    let mut ok = Vec::new();
                    let Ok(mut c) = Lmtp::connect(port) else {
                        return ok;
                    };
                    for i in start..start + 1000 {
                        if Instant::now() > stop + Duration::from_millis(400) {
                            break;
                        }
                        let addr = format!("crash{i}@host{i}.example.org");
                        match c.send(
                            &addr,
                            &[&format!("neighbors-join@{D}")],
                            &message(&addr, "join", &format!("k{i}@x")),
                        ) {
                            Ok((_, outcomes))
                                if outcomes.first().is_some_and(|r| r.code == 250) =>
                            {
                                ok.push(addr)
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    ok
                })
            })
            .collect();
        std::thread::sleep(stop.saturating_duration_since(Instant::now()));
        server.kill9();
        for h in handles {
            accepted.extend(h.join().unwrap());
        }
        n += 3000;
    }
    assert!(
        accepted.len() > 20,
        "the test pushed too little: {}",
        accepted.len()
    );
    // Start once more: the outbox left by the kills is sent.
    let server = Server::start(&site);
    let roster =
        std::fs::read_to_string(site.config().join("lists/neighbors/roster.toml")).unwrap();
    for addr in &accepted {
        assert_eq!(
            roster.matches(&format!("\"{addr}\"")).count(),
            1,
            "{addr} got 250 but is in the roster {} times",
            roster.matches(&format!("\"{addr}\"")).count()
        );
    }
    let lines = roster.lines().filter(|l| l.starts_with("\"crash")).count();
    let mut distinct: Vec<&str> = roster
        .lines()
        .filter(|l| l.starts_with("\"crash"))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(lines, distinct.len(), "no member twice");
    let start = Instant::now();
    loop {
        let got = smtp.received();
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|a| !got.iter().any(|m| m.to.iter().any(|t| t == *a)))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} of {} accepted joins never got their welcome, e.g. {:?}; queued: {}\n{}",
            missing.len(),
            accepted.len(),
            &missing[..missing.len().min(3)],
            site.queued(),
            log_of(&site)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.stop().success());
    eprintln!(
        "kill -9 test: {} joins accepted across 4 kills, all present once, all welcomed",
        accepted.len()
    );
}

fn wait_until(mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_maildir_is_drained_at_start_then_watched() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[inbound]\n", "[inbound]\nmaildir = \"../var/maildir\"\n");
    std::fs::write(&path, text).unwrap();
    let maildir = site.var().join("maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let drop_in = |name: &str, rcpt: &str, from: &str| {
        let raw = format!(
            "Return-Path: <{from}>\r\nDelivered-To: {rcpt}\r\nFrom: {from}\r\nSubject: join\r\nMessage-ID: <{name}@x>\r\n\r\nhi\r\n"
        );
        std::fs::write(maildir.join("tmp").join(name), raw).unwrap();
        std::fs::rename(
            maildir.join("tmp").join(name),
            maildir.join("new").join(name),
        )
        .unwrap();
    };
    drop_in("1.before", &format!("sm-cop-join@{D}"), "early@agency.gov");
    let server = InProcess::start(&site.config());
    drop_in("2.after", &format!("sm-cop-join@{D}"), "later@agency.gov");
    drop_in("3.stranger", "someone@elsewhere.gov", "x@agency.gov");
    wait_until(|| std::fs::read_dir(maildir.join("new")).unwrap().count() == 0);
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 3);
    let got = smtp.wait_for(2);
    let mut to: Vec<&str> = got.iter().map(|m| m.to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["early@agency.gov", "later@agency.gov"]);
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "maildir:no-such-recipient")
    );

    // A message that keeps failing (its list's roster is broken) ends in failed/.
    let broken = format!(
        "{}\"half@agency.gov\" = {{ name = \"Ha\n",
        site.roster_text()
    );
    std::fs::write(site.roster(), broken).unwrap();
    drop_in("4.broken", &format!("sm-cop-join@{D}"), "stuck@agency.gov");
    wait_until(|| maildir.join("failed/4.broken").exists());
    assert!(
        site.audit()
            .iter()
            .any(|r| r["outcome"] == "maildir:failed")
    );
    assert!(server.stop());
}

#[test]
fn an_edited_config_file_is_reloaded_without_a_signal() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let server = Server::start(&site);
    let port = server.port;
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    wait_until(|| log_of(&site).contains("configuration changed on disk: reloaded"));
    let mut c = Lmtp::connect(port).unwrap();
    c.command("MAIL FROM:<x@agency.gov>").unwrap();
    assert_eq!(
        c.command(&format!("RCPT TO:<neighbors-join@{D}>"))
            .unwrap()
            .code,
        250
    );
    c.quit();
    assert!(server.stop().success());
}

#[test]
fn a_unix_socket_listener_and_systemd_notifications() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::{UnixDatagram, UnixStream};
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let socket = site.tmp.path().join("run/lmtp.sock");
    let path = site.config().join("listkeeper.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "lmtp = \"127.0.0.1:",
        &format!("lmtp = \"unix:{}\"\n# was \"127.0.0.1:", socket.display()),
    );
    std::fs::write(&path, text).unwrap();
    // A stand-in for systemd's notification socket.
    let notify_path = site.tmp.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(site.config())
        .env("NOTIFY_SOCKET", &notify_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut next_note = || {
        let n = notify.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(
        next_note().contains("READY=1"),
        "READY once the socket is bound"
    );

    let stream = UnixStream::connect(&socket).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    writer
        .write_all(
            format!(
                "LHLO x\r\nMAIL FROM:<unix.user@agency.gov>\r\nRCPT TO:<sm-cop-join@{D}>\r\nDATA\r\n\
                 From: unix.user@agency.gov\r\nSubject: join\r\nMessage-ID: <u1@x>\r\n\r\nhi\r\n.\r\nQUIT\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut replies = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        replies.push_str(&line);
        line.clear();
    }
    assert!(
        replies.contains("250 2.1.5 <sm-cop-join@listserv.example.gov> done"),
        "{replies}"
    );
    assert_eq!(smtp.wait_for(1)[0].to, ["unix.user@agency.gov"]);

    let pid = child.id().to_string();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    let reload = next_note();
    assert!(
        reload.contains("RELOADING=1") && reload.contains("MONOTONIC_USEC="),
        "{reload}"
    );
    assert!(next_note().contains("READY=1"));
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(next_note().contains("STOPPING=1"));
    assert!(wait_timeout(&mut child, Duration::from_secs(15)).success());
    assert!(!socket.exists(), "the socket file is removed on exit");
}

/// Issue 4's flood, through the daemon: 10,000 forged subscribe requests for 1,000
/// addresses in 50 domains over LMTP. No address gets more than its daily budget, no
/// domain more than its hourly one, and the audit log accounts for every request.
#[test]
fn a_forged_subscription_flood_over_lmtp_stays_within_the_limits() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    let server = Server::start(&site);
    let port = server.port;
    let n = 10_000;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slowest_probe = Duration::ZERO;
    std::thread::scope(|s| {
        // Meanwhile, another list's real members keep joining, and are served promptly.
        let probe = s.spawn(|| {
            let mut worst = Duration::ZERO;
            for i in 0..20 {
                std::thread::sleep(Duration::from_millis(200));
                let t = Instant::now();
                let mut c = Lmtp::connect(port).unwrap();
                let who = format!("neighbor{i}@example.org");
                let msg =
                    format!("From: {who}\r\nSubject: join\r\nMessage-ID: <probe{i}@x>\r\n\r\n");
                let (_, outcomes) = c
                    .send(&who, &[&format!("neighbors-join@{D}")], &msg)
                    .unwrap();
                assert_eq!(outcomes[0].code, 250);
                c.quit();
                worst = worst.max(t.elapsed());
            }
            worst
        });
        for _ in 0..4 {
            s.spawn(|| {
                let mut c = Lmtp::connect(port).unwrap();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let victim = format!("victim{}@agency{}.gov", i % 1000, i % 50);
                    let message = format!("From: {victim}\r\nSubject: join\r\nMessage-ID: <flood{i}@forger>\r\n\r\nsubscribe\r\n");
                    let (_, outcomes) = c.send("forger@evil.example", &[&format!("sm-cop-join@{D}")], &message).unwrap();
                    assert_eq!(outcomes[0].code, 250);
                }
                c.quit();
            });
        }
        slowest_probe = probe.join().unwrap();
    });
    assert!(
        slowest_probe < Duration::from_secs(2),
        "another list waited {slowest_probe:?} during the flood"
    );
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(rss_kb < 100 * 1024, "peak RSS {rss_kb} kB under the flood");
    // Let the sender drain the outbox.
    wait_until(|| site.queued() == 0);
    std::thread::sleep(Duration::from_millis(300));
    let got: Vec<_> = smtp
        .received()
        .into_iter()
        .filter(|m| !m.to[0].ends_with("@example.org"))
        .collect();
    let mut per_address = std::collections::HashMap::<String, usize>::new();
    let mut per_domain = std::collections::HashMap::<String, usize>::new();
    for m in &got {
        *per_address.entry(m.to[0].clone()).or_default() += 1;
        *per_domain
            .entry(m.to[0].rsplit_once('@').unwrap().1.to_owned())
            .or_default() += 1;
    }
    assert!(
        per_address.values().all(|&c| c <= 3),
        "an address got more than 3"
    );
    assert!(
        per_domain.values().all(|&c| c <= 100),
        "a domain got more than 100 in the hour"
    );
    assert!(got.len() <= 5000, "more than the hourly total");
    let audit = site.audit();
    let count = |o: &str| audit.iter().filter(|r| r["outcome"] == o).count();
    assert_eq!(
        count("confirmation-sent") + count("merged-not-resent"),
        n,
        "one decision per request"
    );
    let limited =
        count("rate-limit:address") + count("rate-limit:domain") + count("rate-limit:total");
    assert_eq!(count("confirmation-sent"), got.len() + limited);
    assert!(server.stop().success());
    eprintln!(
        "LMTP flood: {n} forged requests → {} mails to {} addresses; {limited} held back; another list's slowest join {slowest_probe:?}; peak RSS {rss_kb} kB",
        got.len(),
        per_address.len()
    );
}

#[test]
fn issue_12_a_failed_reload_is_one_log_line_naming_the_file() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let server = Server::start(&site);
    let path = site.config().join("lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\nsubscribe = \"confirm\"", "\nsubscribe = \"sometimes\"")
        .replace("\nunsubscribe = \"confirm\"", "\nunsubscribe = \"never\"");
    std::fs::write(&path, text).unwrap();
    server.signal("HUP");
    wait_until(|| log_of(&site).contains("reload failed"));
    let log = log_of(&site);
    let line = log.lines().find(|l| l.contains("reload failed")).unwrap();
    assert!(
        line.contains("list.toml:11: subscribe: `sometimes`")
            && line.contains("list.toml:12: unsubscribe: `never`"),
        "one line says it all: {log}"
    );
    assert!(server.stop().success());
}

#[test]
fn issue_12_a_state_folder_removed_under_the_daemon_is_named_and_not_called_safe() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    let server = Server::start(&site);
    let port = server.port;
    std::fs::remove_dir_all(site.var()).unwrap();
    let mut c = Lmtp::connect(port).unwrap();
    let replies = c
        .send(
            "x@agency.gov",
            &[&format!("sm-cop-join@{D}")],
            &message("x@agency.gov", "join", "reset-1@agency.gov"),
        )
        .unwrap();
    c.quit();
    assert_eq!(replies.1.last().unwrap().code, 451, "{replies:?}");
    assert!(server.stop().success());
    let log = log_of(&site);
    assert!(
        log.contains("var/state/state.log was deleted while listkeeper was running"),
        "{log}"
    );
    assert!(!log.contains("safe in state.log"), "{log}");
    assert!(
        !site.var().join("state").exists(),
        "not recreated behind the operator's back"
    );
}

#[test]
fn issue_12_an_lmtp_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // Replies to files: the daemon fails before any would be sent.
    let site = Site::new();
    site.edit(
        "listkeeper.toml",
        "lmtp = \"127.0.0.1:8024\"",
        &format!("lmtp = \"127.0.0.1:{port}\""),
    );
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(site.config())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{port}: ")), "{err}");
}

/// Issue 13: `listkeeper add` while the daemon takes joins for the same list. Every
/// admin command lands (exit 0), and once the daemon has saved, every added address
/// and every joined one is in the roster exactly once: neither the CLI nor the
/// daemon's background saver loses the other's change.
#[test]
fn issue_13_admin_adds_land_while_the_daemon_saves_the_same_roster() {
    let smtp = SmtpServer::start();
    let site = site(smtp.port);
    support::copy_dir(
        &support::repo().join("examples/lists/neighbors"),
        &site.config().join("lists/neighbors"),
    );
    let server = InProcess::start(&site.config());
    let port = server.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Joins over LMTP, one roster change a message (the list is open), until the
    // admins are done.
    let joiners: Vec<_> = (0..2)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut joined = Vec::new();
                let mut c = Lmtp::connect(port).unwrap();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let addr = format!("joiner{t}.{i}@street{i}.example.org");
                    let (_, outcomes) = c
                        .send(
                            &addr,
                            &[&format!("neighbors-join@{D}")],
                            &message(&addr, "join", &format!("j{t}.{i}@x")),
                        )
                        .unwrap();
                    assert_eq!(outcomes[0].code, 250, "{outcomes:?}");
                    joined.push(addr);
                    i += 1;
                }
                c.quit();
                joined
            })
        })
        .collect();
    let admins: Vec<_> = (0..8)
        .map(|a| {
            let config = site.config();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..10 {
                    let addr = format!("admin{a}.{i}@agency.gov");
                    let out = Command::new(BIN)
                        .args(["add", "neighbors", &addr, "--config"])
                        .arg(&config)
                        .output()
                        .unwrap();
                    if !out.status.success() {
                        failures.push(format!(
                            "{addr}: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = admins.into_iter().flat_map(|h| h.join().unwrap()).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let joined: Vec<String> = joiners
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 80 admin adds failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(joined.len() > 50, "too few joins: {}", joined.len());
    let path = site.config().join("lists/neighbors/roster.toml");
    let added: Vec<String> = (0..8)
        .flat_map(|a| (0..10).map(move |i| format!("admin{a}.{i}@agency.gov")))
        .collect();
    let once = |roster: &str, addr: &str| roster.matches(&format!("\"{addr}\"")).count() == 1;
    // The daemon saves its last changes moments after their 250.
    let whole = support::eventually(|| {
        let roster = std::fs::read_to_string(&path).unwrap_or_default();
        added.iter().chain(&joined).all(|a| once(&roster, a))
    });
    let roster = std::fs::read_to_string(&path).unwrap();
    let wrong: Vec<&String> = added
        .iter()
        .chain(&joined)
        .filter(|a| !once(&roster, a))
        .collect();
    assert!(
        whole,
        "{} of {} addresses are not in the roster exactly once, e.g. {:?}",
        wrong.len(),
        added.len() + joined.len(),
        &wrong[..wrong.len().min(3)],
    );
    assert!(server.stop());
    eprintln!(
        "issue 13: 80 admin adds and {} joins, all in the roster once",
        joined.len()
    );
}

/// Port 0 in `inbound.lmtp`: `check` takes it, and `serve` listens on a free port and
/// names it in its readiness line, in JSON lines too.
#[test]
fn port_0_is_a_free_port_named_in_the_readiness_line() {
    let site = Site::serving(SmtpServer::start().port);
    let out = site.run(&["check"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let path = site.tmp.path().join("serve.log");
    let child = Command::new(BIN)
        .args(["serve", "--log-format", "json", "--config"])
        .arg(site.config())
        .stderr(std::fs::File::create(&path).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server { child, port: 0 };
    let address = daemon::wait_ready(&path, 0, &mut server.child);
    server.port = daemon::port_of(&address);
    assert_ne!(server.port, 0, "{address}");
    assert!(
        log_of(&site).starts_with('{'),
        "JSON lines: {}",
        log_of(&site)
    );
    let mut c = Lmtp::connect(server.port).unwrap();
    assert_eq!(c.command("NOOP").unwrap().code, 250);
    c.quit();
    assert!(server.stop().success());
}
