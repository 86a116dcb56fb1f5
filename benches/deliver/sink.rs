//! Where the bench's replies go: Postfix's `smtp-sink` when installed (each mail
//! dumped to a file of its own), else the tests' SMTP server.

use crate::support::smtp::SmtpServer;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

pub enum Sink {
    /// `smtp-sink -d DIR/m.` on `port`.
    Postfix {
        child: Child,
        dir: PathBuf,
        port: u16,
    },
    Own(SmtpServer),
}

/// A port free a moment ago (the bench's own processes take it just after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Sink {
    pub fn kind() -> &'static str {
        if Path::new(SMTP_SINK).exists() {
            "Postfix smtp-sink"
        } else {
            "the bench's own SMTP server (no /usr/sbin/smtp-sink)"
        }
    }

    /// A sink dumping into `root/sink` (smtp-sink) or keeping mail in memory.
    pub fn start(root: &Path) -> Sink {
        if !Path::new(SMTP_SINK).exists() {
            return Sink::Own(SmtpServer::start());
        }
        let dir = root.join("sink");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut cmd = Command::new(SMTP_SINK);
        // smtp-sink refuses to run as root without a user to become.
        let root_user = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if root_user {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            cmd.args(["-u", "nobody"]);
        }
        let child = cmd
            .arg("-d")
            .arg(format!("{}/m.", dir.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "smtp-sink did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Sink::Postfix { child, dir, port }
    }

    pub fn port(&self) -> u16 {
        match self {
            Sink::Postfix { port, .. } => *port,
            Sink::Own(server) => server.port,
        }
    }

    /// Mails received so far.
    pub fn count(&self) -> usize {
        match self {
            Sink::Postfix { dir, .. } => std::fs::read_dir(dir).unwrap().count(),
            Sink::Own(server) => server.count(),
        }
    }

    /// Waits (at most `limit`) until `n` mails arrived.
    pub fn wait_for(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.count() < n && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Every mail received: its recipient and its text (CRLF line ends).
    pub fn mails(&self) -> Vec<(String, String)> {
        match self {
            Sink::Postfix { dir, .. } => std::fs::read_dir(dir)
                .unwrap()
                .map(|e| dumped(&std::fs::read_to_string(e.unwrap().path()).unwrap()))
                .collect(),
            Sink::Own(server) => server
                .received()
                .into_iter()
                .map(|m| (m.to[0].clone(), m.data))
                .collect(),
        }
    }
}

/// One smtp-sink dump file: `X-Rcpt-Args: <to>` among the lines it adds on top.
fn dumped(text: &str) -> (String, String) {
    let to = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Rcpt-Args: <"))
        .and_then(|l| l.split('>').next())
        .expect("a dump file names its recipient")
        .to_owned();
    (to, text.replace('\n', "\r\n"))
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Sink::Postfix { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
