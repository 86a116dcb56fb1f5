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

use crate::support::smtp::free_port;
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
    /// Starts the instance with its smtpd on `smtp_port`, routing the list domain to
    /// `lmtp_nexthop`, and with the recipients table printed for `config`.
    fn start(root: &Path, smtp_port: u16, lmtp_nexthop: &str, config: &Path) -> Postfix {
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
                    fields[0] = smtp_port.to_string();
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
        Postfix {
            root: root.to_owned(),
            smtp_port,
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

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.join("../serve.log"))
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
        let start = Instant::now();
        while !self.listening() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "listkeeper did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn listening(&self) -> bool {
        match self.lmtp.strip_prefix("unix:") {
            Some(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
            None => std::net::TcpStream::connect(&self.lmtp).is_ok(),
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
    let (lmtp_port, smtp_port) = (free_port(), free_port());
    let mut lk = Listkeeper::configure(tmp.path(), &format!("127.0.0.1:{lmtp_port}"), smtp_port);
    let pf = Postfix::start(
        tmp.path(),
        smtp_port,
        &format!("lmtp:inet:127.0.0.1:{lmtp_port}"),
        &lk.config,
    );
    lk.start();

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
    assert_eq!(
        header(&welcome, "List-Unsubscribe").as_deref(),
        Some("<mailto:sm-cop-leave@listserv.example.gov>")
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
    let smtp_port = free_port();
    let mut lk =
        Listkeeper::configure(tmp.path(), &format!("unix:{}", socket.display()), smtp_port);
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
        smtp_port,
        &format!("lmtp:unix:{}", socket.display()),
        &lk.config,
    );
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
