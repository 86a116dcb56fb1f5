//! Behind a real Postfix: a private instance on loopback that relays nothing off the
//! machine, routing the list domain to `listkeeper serve` over LMTP (TCP, and a Unix
//! socket), refusing unknown list addresses with the table `listkeeper init --print
//! postfix-recipients` writes, delivering its users' mail to Maildirs, and expanding
//! the list's posting alias from listkeeper's `include_file`.
//!
//! Needs Postfix (`apt-get install postfix`, which `.ci/run` does) and root, as
//! Postfix does, and `setpriv` and `useradd` to run listkeeper as a user of its own
//! (the second test). Without them the test says so and skips — except under CI,
//! where it fails. The machine's own Postfix (`/etc/postfix`) is never used or started; the
//! private instance is stopped when each test ends, pass or fail.

use crate::support;

use crate::support::daemon;
use crate::support::smtp::DownPort;
use crate::support::{BIN, header};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";
const ALICE: &str = "alice@users.agency.gov";
const BOB: &str = "bob@users.agency.gov";

/// Whether Postfix can be run here; under CI it must.
fn postfix_available() -> bool {
    let here = Path::new("/usr/sbin/postfix").exists()
        && running_as_root()
        && ["setpriv", "useradd"].iter().all(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    support::required(
        here,
        "Postfix, setpriv and useradd, as root (apt-get install postfix)",
    )
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// A private Postfix instance in `root/pf`, stopped on drop.
struct Postfix {
    root: PathBuf,
    smtp_port: u16,
}

impl Postfix {
    /// Starts the instance with its smtpd on a port of its own (port 0, found once it
    /// listens), routing the list domain to `lmtp_nexthop`, and with the recipients
    /// table printed for `config`.
    fn start(root: &Path, lmtp_nexthop: &str, config: &Path) -> Postfix {
        let pf = root.join("pf");
        for dir in ["pf", "queue", "data", "mail"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let (uid, gid) = (id_of("postfix", "-u"), id_of("postfix", "-g"));
        run(
            "chown",
            &[
                "postfix:postfix",
                root.join("data").to_str().unwrap(),
                root.join("mail").to_str().unwrap(),
            ],
        );
        // The package's own table of services (installed as /etc/postfix/master.cf
        // unless the machine was set up with "No configuration").
        let master = std::fs::read_to_string("/etc/postfix/master.cf")
            .or_else(|_| std::fs::read_to_string("/usr/share/postfix/master.cf.dist"))
            .unwrap();
        let master: String = master
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if line.starts_with('#') || line.starts_with([' ', '\t']) || fields.len() < 8 {
                    return format!("{line}\n");
                }
                let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
                fields[4] = "n".into(); // no chroot: this instance lives in a test folder
                if fields[0] == "smtp" && fields[1] == "inet" {
                    fields[0] = "0".into();
                }
                format!("{}\n", fields.join("  "))
            })
            .collect();
        std::fs::write(pf.join("master.cf"), master).unwrap();
        let r = root.display();
        std::fs::write(
            pf.join("main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {r}/queue\ndata_directory = {r}/data\n\
                 mail_owner = postfix\nsetgid_group = postdrop\nmyhostname = mx.test.example\n\
                 mydomain = test.example\nmyorigin = test.example\ninet_interfaces = loopback-only\n\
                 inet_protocols = ipv4\nmynetworks = 127.0.0.0/8\nmydestination = lists.test\nrelayhost =\n\
                 default_transport = error:this test instance delivers nothing off the machine\n\
                 relay_domains = {D}\ntransport_maps = hash:{r}/pf/transport\nrecipient_delimiter = +\n\
                 virtual_mailbox_domains = users.agency.gov\nvirtual_mailbox_base = {r}/mail\n\
                 virtual_mailbox_maps = hash:{r}/pf/vmailbox\nvirtual_uid_maps = static:{uid}\n\
                 virtual_gid_maps = static:{gid}\nalias_maps = hash:{r}/pf/aliases\nalias_database = hash:{r}/pf/aliases\n\
                 smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n\
                 relay_recipient_maps = regexp:{r}/pf/listkeeper-recipients\n\
                 maillog_file_prefixes = /var, {r}\nmaillog_file = {r}/maillog\nsmtputf8_enable = no\n\
                 lmtp_destination_recipient_limit = 100\n"
            ),
        )
        .unwrap();
        std::fs::write(pf.join("transport"), format!("{D} {lmtp_nexthop}\n")).unwrap();
        let table = Command::new(BIN)
            .args(["init", "--print", "postfix-recipients", "--config"])
            .arg(config)
            .output()
            .unwrap();
        assert!(table.status.success(), "{}", support::stderr(&table));
        std::fs::write(pf.join("listkeeper-recipients"), &table.stdout).unwrap();
        std::fs::write(pf.join("vmailbox"), format!("{ALICE} alice/\n{BOB} bob/\n")).unwrap();
        std::fs::write(
            pf.join("aliases"),
            format!("sm-cop: :include:{r}/var/sm-cop.members\n"),
        )
        .unwrap();
        let c = pf.to_str().unwrap();
        run(
            "postmap",
            &[
                "-c",
                c,
                &format!("{r}/pf/transport"),
                &format!("{r}/pf/vmailbox"),
            ],
        );
        run("postalias", &["-c", c, &format!("{r}/pf/aliases")]);
        let _ = Command::new("postfix")
            .args(["-c", c, "set-permissions"])
            .output();
        run("postfix", &["-c", c, "start"]);
        let mut pf = Postfix {
            root: root.to_owned(),
            smtp_port: 0,
        };
        pf.smtp_port = pf.listening_port();
        pf
    }

    /// The port master bound for the smtpd service `0`: its one listening TCP
    /// socket, found through `/proc` (Postfix says it nowhere else).
    fn listening_port(&self) -> u16 {
        let pid_file = self.root.join("queue/pid/master.pid");
        let start = Instant::now();
        loop {
            let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if let Some(port) = listening_tcp_port(pid.trim()) {
                return port;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "Postfix's smtpd does not listen; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn sendmail(&self, from: &str, to: &str, message: &str) {
        let mut child = Command::new("sendmail")
            .args(["-C", self.root.join("pf").to_str().unwrap(), "-f", from, to])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), message.as_bytes()).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }

    /// Offers each recipient to the instance's smtpd (RCPT TO, no DATA): its replies.
    fn rcpt_replies(&self, from: &str, recipients: &[&str]) -> Vec<(u16, String)> {
        let stream = TcpStream::connect(("127.0.0.1", self.smtp_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut say = |line: &str| {
            if !line.is_empty() {
                writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
            }
            loop {
                let mut reply = String::new();
                assert!(reader.read_line(&mut reply).unwrap() > 0, "smtpd hung up");
                if reply.as_bytes().get(3) != Some(&b'-') {
                    return (
                        reply[..3].parse::<u16>().unwrap(),
                        reply.trim_end().to_owned(),
                    );
                }
            }
        };
        assert_eq!(say("").0, 220);
        assert_eq!(say("EHLO client.users.agency.gov").0, 250);
        assert_eq!(say(&format!("MAIL FROM:<{from}>")).0, 250);
        let replies = recipients
            .iter()
            .map(|to| say(&format!("RCPT TO:<{to}>")))
            .collect();
        say("QUIT");
        replies
    }

    fn flush(&self) {
        run(
            "postqueue",
            &["-c", self.root.join("pf").to_str().unwrap(), "-f"],
        );
    }

    /// Every message in a user's Maildir, oldest first.
    fn mailbox(&self, user: &str) -> Vec<String> {
        support::files_in(&self.root.join("mail").join(user).join("new"))
            .iter()
            .map(|m| m.replace('\n', "\r\n").replace("\r\r\n", "\r\n"))
            .collect()
    }

    /// Waits for a message in `user`'s Maildir whose Subject contains `words`.
    fn wait_for(&self, user: &str, words: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .mailbox(user)
                .into_iter()
                .find(|m| header(m, "Subject").is_some_and(|s| s.contains(words)))
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no mail with {words:?} for {user}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .args(["-c", self.root.join("pf").to_str().unwrap(), "stop"])
            .output();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// listkeeper on the example config: roster emptied, replies to the Postfix instance.
struct Listkeeper {
    config: PathBuf,
    child: Option<Child>,
    lmtp: String,
    /// The user and group it runs as (`None`: as the test, root).
    user: Option<(u32, u32)>,
}

impl Listkeeper {
    /// The example config on `lmtp` (`127.0.0.1:0`: a port of its own, kept across
    /// restarts once it has one), its replies to `smtp_port`.
    fn configure(root: &Path, lmtp: &str, smtp_port: u16) -> Listkeeper {
        let config = root.join("config");
        support::copy_example(&config);
        std::fs::write(
            config.join("lists/sm-cop/roster.toml"),
            "# Test members\n[members]\n",
        )
        .unwrap();
        let path = config.join("listkeeper.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("lmtp = \"127.0.0.1:8024\"", &format!("lmtp = \"{lmtp}\""))
            .replace(
                "transport = \"file:../var/outbox-mail\"",
                &format!("transport = \"smtp://127.0.0.1:{smtp_port}\""),
            )
            .replace(
                "max_message_size = \"1 MiB\"",
                "max_message_size = \"64 KiB\"",
            );
        std::fs::write(path, text).unwrap();
        Listkeeper {
            config,
            child: None,
            lmtp: lmtp.to_owned(),
            user: None,
        }
    }

    /// Runs the daemon as `user` (made a system user when missing), as the systemd
    /// unit does, owning only what it writes: the rosters and the state folder.
    fn run_as(&mut self, user: &str) -> (u32, u32) {
        if Command::new("id").arg(user).output().unwrap().status.code() != Some(0) {
            run(
                "useradd",
                &[
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    user,
                ],
            );
        }
        let ids = (id_of(user, "-u"), id_of(user, "-g"));
        let var = self.config.join("../var");
        std::fs::create_dir_all(&var).unwrap();
        let owner = format!("{}:{}", ids.0, ids.1);
        for path in [self.config.join("lists"), var] {
            run("chown", &["-R", &owner, path.to_str().unwrap()]);
        }
        self.user = Some(ids);
        ids
    }

    /// Starts `serve`, and waits for its readiness line.
    fn start(&mut self) {
        let from = daemon::len_of(&self.log());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let mut command = match self.user {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={gid}"),
                    "--clear-groups",
                    "--",
                    BIN,
                ]);
                c
            }
            None => Command::new(BIN),
        };
        self.child = Some(
            command
                .args(["serve", "--config"])
                .arg(&self.config)
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let log = self.log();
        let address = daemon::wait_ready(&log, from, self.child.as_mut().unwrap());
        if address != self.lmtp {
            // Port 0 the first time: from now on the port it got, so that a restart
            // comes back where Postfix delivers (as a daemon on a fixed port does).
            let path = self.config.join("listkeeper.toml");
            let text = std::fs::read_to_string(&path).unwrap().replace(
                &format!("lmtp = \"{}\"", self.lmtp),
                &format!("lmtp = \"{address}\""),
            );
            std::fs::write(path, text).unwrap();
            self.lmtp = address;
        }
    }

    fn log(&self) -> PathBuf {
        self.config.join("../serve.log")
    }

    /// Sends replies to `port` from now on (a running daemon reloads: SIGHUP).
    fn send_replies_to(&mut self, port: u16) {
        let path = self.config.join("listkeeper.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find("transport = \"smtp://127.0.0.1:").unwrap();
        let end = start + text[start..].find('\n').unwrap();
        let text = format!(
            "{}transport = \"smtp://127.0.0.1:{port}\"{}",
            &text[..start],
            &text[end..]
        );
        std::fs::write(path, text).unwrap();
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return;
        };
        let from = daemon::len_of(&self.log());
        run("kill", &["-HUP", &pid.to_string()]);
        let begin = Instant::now();
        loop {
            let log = std::fs::read(self.log()).unwrap();
            let new = String::from_utf8_lossy(&log[from..]);
            if new.contains("configuration reloaded") {
                return;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(20),
                "listkeeper did not reload:\n{new}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    fn roster(&self) -> String {
        std::fs::read_to_string(self.config.join("lists/sm-cop/roster.toml")).unwrap()
    }

    fn members_file(&self) -> String {
        std::fs::read_to_string(self.config.join("../var/sm-cop.members")).unwrap_or_default()
    }
}

impl Drop for Listkeeper {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The port of the TCP socket process `pid` listens on (the first, IPv4).
fn listening_tcp_port(pid: &str) -> Option<u16> {
    if pid.is_empty() {
        return None;
    }
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    // sl local_address rem_address st ... inode (10th field); 0A is LISTEN.
    std::fs::read_to_string("/proc/net/tcp")
        .ok()?
        .lines()
        .skip(1)
        .find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                let (_, port) = f[1].split_once(':')?;
                u16::from_str_radix(port, 16).ok()
            } else {
                None
            }
        })
}

/// `id FLAG NAME`: a user's or group's number.
fn id_of(name: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().unwrap();
    assert!(out.status.success(), "id {flag} {name}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn tmp_root() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    // Postfix's daemons run as `postfix` and must reach their queue inside.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

fn request(from: &str, to: &str, subject: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@users.agency.gov>\r\n\r\nPlease.\r\n-- \r\nsignature\r\n"
    )
}

fn confirm_by_reply(pf: &Postfix, user: &str, confirmation: &str, id: &str) {
    let reply_to = header(confirmation, "Reply-To").unwrap();
    let subject = header(confirmation, "Subject").unwrap();
    pf.sendmail(
        user,
        &reply_to,
        &request(user, &reply_to, &format!("Re: {subject}"), id),
    );
}

#[test]
fn the_whole_path_through_postfix_over_lmtp_tcp() {
    if !postfix_available() {
        return;
    }
    let tmp = tmp_root();
    // listkeeper first, on a port of its own, replies to a relay that is down until
    // Postfix is up on its own port (both port 0: no port picked beforehand).
    let relay = DownPort::new();
    let mut lk = Listkeeper::configure(tmp.path(), "127.0.0.1:0", relay.port);
    lk.start();
    let pf = Postfix::start(tmp.path(), &format!("lmtp:inet:{}", lk.lmtp), &lk.config);
    lk.send_replies_to(pf.smtp_port);

    // The recipients table (issue 12, item 13): unknown list addresses are refused
    // during the SMTP dialogue, even from mynetworks, with no probe; ours are taken.
    let token = format!("k1{}", "a".repeat(32));
    let replies = pf.rcpt_replies(
        BOB,
        &[
            &format!("sm-cop-nosuch@{D}"),
            &format!("no-list-join@{D}"),
            &format!("sm-cop-subscribe-request@{D}"),
            &format!("SM-COP-Confirm+{token}@{D}"),
            &format!("listserv@{D}"),
        ],
    );
    let codes: Vec<u16> = replies.iter().map(|r| r.0).collect();
    assert_eq!(codes, [550, 550, 250, 250, 250], "{replies:?}");
    assert!(
        replies[0].1.contains("relay recipient table"),
        "{replies:?}"
    );

    // Join: sendmail → Postfix → LMTP → listkeeper → SMTP → Postfix → Alice's Maildir.
    pf.sendmail(
        ALICE,
        &format!("sm-cop-subscribe-request@{D}"),
        &request(
            ALICE,
            &format!("sm-cop-subscribe-request@{D}"),
            "join",
            "j1",
        ),
    );
    let confirmation = pf.wait_for("alice", "Confirm your subscription");
    assert_eq!(
        header(&confirmation, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    confirm_by_reply(&pf, ALICE, &confirmation, "j2");
    let welcome = pf.wait_for("alice", "Welcome to SM-COP");
    // With [web]: the member's one-click link first, then the mailto.
    let unsubscribe = header(&welcome, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with("<http://127.0.0.1:8025/u/k1")
            && unsubscribe.ends_with(">, <mailto:sm-cop-leave@listserv.example.gov>"),
        "{unsubscribe}"
    );
    // The daemon writes the files moments after the 250 (durable in state.log first).
    assert!(support::eventually(|| lk
        .roster()
        .contains(&format!("\"{ALICE}\""))));
    assert!(support::eventually(
        || lk.members_file() == format!("{ALICE}\n")
    ));

    // The roster for others: a post to the alias reaches every member.
    pf.sendmail(
        BOB,
        "sm-cop@lists.test",
        &request(BOB, "sm-cop@lists.test", "post one", "p1"),
    );
    pf.wait_for("alice", "post one");

    // Leave the same way; the next post no longer reaches Alice.
    pf.sendmail(
        ALICE,
        &format!("sm-cop-leave@{D}"),
        &request(ALICE, &format!("sm-cop-leave@{D}"), "leave", "l1"),
    );
    let confirmation = pf.wait_for("alice", "Confirm your removal");
    confirm_by_reply(&pf, ALICE, &confirmation, "l2");
    pf.wait_for("alice", "Your subscription to SM-COP");
    assert!(support::eventually(|| !lk.roster().contains(ALICE)));
    assert!(support::eventually(|| lk.members_file().is_empty()));
    pf.sendmail(
        BOB,
        "sm-cop@lists.test",
        &request(BOB, "sm-cop@lists.test", "post two", "p2"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !pf.mailbox("alice")
            .iter()
            .any(|m| header(m, "Subject").is_some_and(|s| s.contains("post two")))
    );

    // listkeeper down: Postfix defers, and delivers once it is back. Nothing is lost.
    lk.stop();
    pf.sendmail(
        BOB,
        &format!("sm-cop-join@{D}"),
        &request(BOB, &format!("sm-cop-join@{D}"), "join", "b1"),
    );
    let start = Instant::now();
    while !pf.log().contains("status=deferred") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Postfix did not defer:\n{}",
            pf.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lk.start();
    pf.flush();
    pf.wait_for("bob", "Confirm your subscription");

    // Too large: listkeeper advertises SIZE (and would answer 552); Postfix bounces
    // the message to its sender with 5.3.4, and listkeeper never sees it.
    let big = format!(
        "{}{}\r\n",
        request(
            ALICE,
            &format!("sm-cop-join@{D}"),
            "a very long request",
            "big1"
        ),
        "x".repeat(100 * 1024)
    );
    pf.sendmail(ALICE, &format!("sm-cop-join@{D}"), &big);
    let bounce = pf.wait_for("alice", "Undelivered Mail Returned to Sender");
    assert!(
        bounce.contains("Status: 5.3.4") && bounce.contains("exceeds size limit 65536"),
        "{bounce}"
    );
    let audit = std::fs::read_to_string(tmp.path().join("var/state/audit.log")).unwrap();
    assert!(
        !audit.contains("big1@"),
        "listkeeper never processed the large message"
    );
    lk.stop();
}

#[test]
fn postfix_over_lmtp_on_a_unix_socket() {
    if !postfix_available() {
        return;
    }
    let tmp = tmp_root();
    // As in the guide: listkeeper, not root, makes its socket in a folder of its own
    // that only the group `postfix` may enter (Postfix's daemons drop every
    // supplementary group, so it must be their primary group).
    let run_dir = tmp.path().join("run");
    let socket = run_dir.join("lmtp.sock");
    let relay = DownPort::new();
    let mut lk = Listkeeper::configure(
        tmp.path(),
        &format!("unix:{}", socket.display()),
        relay.port,
    );
    let (uid, _) = lk.run_as("listkeeper-test");
    std::fs::create_dir(&run_dir).unwrap();
    run(
        "chown",
        &[&format!("{uid}:postfix"), run_dir.to_str().unwrap()],
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    let pf = Postfix::start(
        tmp.path(),
        &format!("lmtp:unix:{}", socket.display()),
        &lk.config,
    );
    lk.send_replies_to(pf.smtp_port);
    lk.start();
    let pid = lk.child.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid.to_string())),
        "listkeeper runs as its own user:\n{status}"
    );
    pf.sendmail(
        BOB,
        &format!("sm-cop-join@{D}"),
        &request(BOB, &format!("sm-cop-join@{D}"), "join", "u1"),
    );
    let confirmation = pf.wait_for("bob", "Confirm your subscription");
    confirm_by_reply(&pf, BOB, &confirmation, "u2");
    pf.wait_for("bob", "Welcome to SM-COP");
    assert!(support::eventually(|| lk
        .roster()
        .contains(&format!("\"{BOB}\""))));
    lk.stop();
}
