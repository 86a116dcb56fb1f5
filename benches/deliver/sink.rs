//! Where the bench's replies go: Postfix's `smtp-sink` when installed (every mail
//! appended, whole, to one dump file: `-D`, which costs the sink less than a file
//! a mail), else the tests' SMTP server.

use crate::support::smtp::SmtpServer;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The line smtp-sink starts each dumped mail with.
const MARK: &[u8] = b"X-Client-Addr: ";

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

pub enum Sink {
    /// `smtp-sink -D FILE` on `port`; `read` is how far the file was counted,
    /// the mails counted, and the start of a line not yet complete.
    Postfix {
        child: Child,
        file: PathBuf,
        port: u16,
        read: Mutex<(u64, usize, Vec<u8>)>,
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
        let file = dir.join("mail");
        let child = cmd
            .arg("-D")
            .arg(&file)
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
        Sink::Postfix {
            child,
            file,
            port,
            read: Mutex::new((0, 0, Vec::new())),
        }
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
            Sink::Postfix { file, read, .. } => count_new(file, &mut read.lock().unwrap()),
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
            Sink::Postfix { file, .. } => split(&std::fs::read(file).unwrap_or_default())
                .into_iter()
                .map(|m| dumped(&String::from_utf8_lossy(m)))
                .collect(),
            Sink::Own(server) => server
                .received()
                .into_iter()
                .map(|m| (m.to[0].clone(), m.data))
                .collect(),
        }
    }
}

/// The mails counted in `file` so far, reading only what was appended since.
fn count_new(file: &Path, (at, count, partial): &mut (u64, usize, Vec<u8>)) -> usize {
    let Ok(mut f) = std::fs::File::open(file) else {
        return *count;
    };
    let mut new = Vec::new();
    f.seek(SeekFrom::Start(*at)).unwrap();
    f.read_to_end(&mut new).unwrap();
    *at += new.len() as u64;
    partial.extend_from_slice(&new);
    let complete = partial
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    *count += partial[..complete]
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(MARK))
        .count();
    partial.drain(..complete);
    *count
}

/// The dump file cut into its mails (each starts with [`MARK`]).
fn split(all: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> = (0..all.len())
        .filter(|&i| (i == 0 || all[i - 1] == b'\n') && all[i..].starts_with(MARK))
        .collect();
    starts.push(all.len());
    starts.windows(2).map(|w| &all[w[0]..w[1]]).collect()
}

/// One mail of smtp-sink's dump: `X-Rcpt-Args: <to>` among the lines it adds on top.
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
