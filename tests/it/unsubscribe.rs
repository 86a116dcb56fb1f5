//! Member links through the binary: `unsubscribe-link` and `members --json` print a
//! member's `/u/TOKEN` URI; `serve` takes RFC 8058 one-click POSTs to it exactly as
//! a mail provider sends them (raw HTTP over a TcpStream), answers the same `200`
//! for any token, and mails a goodbye whose `/undo/TOKEN` link joins again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BIN, copy_example, eventually};

const BASE: &str = "http://lists.test";

/// `serve` on its own copy of the example configuration, the pages on a free port.
struct Server {
    child: Child,
    tmp: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    at: String,
}

impl Server {
    fn start(tmp: tempfile::TempDir) -> Server {
        let log = std::fs::File::create(tmp.path().join("serve.log")).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(tmp.path().join("config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            tmp,
            at: String::new(),
        };
        let start = Instant::now();
        server.at = loop {
            let log = server.log();
            if let Some(rest) = log.split("serving the web pages address=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        };
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("serve.log")).unwrap_or_default()
    }

    fn roster(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("config/lists/sm-cop/roster.toml")).unwrap()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("var/state/audit.log")).unwrap_or_default()
    }

    fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.tmp.path().join("var/outbox-mail")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }

    /// One raw HTTP/1.1 request; the status and the body.
    fn raw(&self, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.at).unwrap();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: lists.test\r\nConnection: close\r\n");
        for h in headers {
            request.push_str(h);
            request.push_str("\r\n");
        }
        if method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the example config with `base_url` set to [`BASE`] and an
/// `unsubscribe_file`.
fn site() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(&tmp.path().join("config"));
    let file = tmp.path().join("config/listkeeper.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("127.0.0.1:8024", "127.0.0.1:0")
        .replace(
            "base_url = \"http://127.0.0.1:8025\"",
            &format!("base_url = \"{BASE}\""),
        );
    std::fs::write(&file, text).unwrap();
    let list = tmp.path().join("config/lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    let include = "include_file = \"../../../var/sm-cop.members\"";
    assert!(text.contains(include));
    let both = format!("{include}\nunsubscribe_file = \"../../../var/sm-cop.unsubscribe\"");
    std::fs::write(&list, text.replace(include, &both)).unwrap();
    tmp
}

fn cli(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The `/u/TOKEN` path `unsubscribe-link` prints for `address`.
fn leave_path(config: &Path, address: &str) -> String {
    let (ok, out) = cli(config, &["unsubscribe-link", "sm-cop", address]);
    assert!(ok, "{out}");
    let first = out.lines().next().unwrap();
    let url = first
        .strip_prefix("List-Unsubscribe: <")
        .and_then(|r| r.split_once('>'))
        .unwrap()
        .0;
    assert!(
        first.ends_with(", <mailto:sm-cop-leave@listserv.example.gov>"),
        "{first}"
    );
    assert_eq!(
        out.lines().nth(1),
        Some("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    url.strip_prefix(BASE).unwrap().to_owned()
}

fn member(roster: &str, address: &str) -> bool {
    roster.contains(&format!("\"{address}\""))
}

#[test]
fn one_click_as_providers_send_it_removes_and_any_token_answers_200() {
    let tmp = site();
    let config: PathBuf = tmp.path().join("config");
    let members = [
        "jane.doe@agency.gov",
        "john.roe@army.mil",
        "l.chen@navy.mil",
    ];
    let paths: Vec<String> = members.iter().map(|a| leave_path(&config, a)).collect();
    // members --json carries the same URI.
    let (ok, json) = cli(&config, &["members", "sm-cop", "--json"]);
    assert!(ok, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let jane = json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["address"] == members[0])
        .unwrap();
    assert_eq!(jane["unsubscribe_url"], format!("{BASE}{}", paths[0]));

    let server = Server::start(tmp);
    // A GET (a link scanner) shows one button and changes nothing.
    let audit = server.audit();
    let (status, page) = server.raw("GET", &paths[0], &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("jane.doe@agency.gov") && page.contains("<button"),
        "{page}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(member(&server.roster(), members[0]));
    assert_eq!(server.audit(), audit, "a GET writes no audit line");

    // A forged token, a garbled one and a made-up path: the same 200, nothing changes.
    // One character of the MAC changed (`/u/` and the key id come first).
    let mut forged = paths[0].clone().into_bytes();
    forged[8] = if forged[8] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    let form = "Content-Type: application/x-www-form-urlencoded";
    let mut bodies = Vec::new();
    for path in [forged.as_str(), "/u/k1garbled", "/u/%FF%FE"] {
        let (status, body) = server.raw("POST", path, &[form], "List-Unsubscribe=One-Click");
        assert_eq!(status, 200, "{path}: {body}");
        bodies.push(body);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(members.iter().all(|a| member(&server.roster(), a)));
    assert_eq!(server.audit(), audit, "a bad token writes nothing");

    // Gmail's urlencoded body, a multipart body with a boundary, and no body at all.
    let (status, body) = server.raw("POST", &paths[0], &[form], "List-Unsubscribe=One-Click");
    assert_eq!(status, 200);
    assert_eq!(
        body, bodies[0],
        "the same answer for a good token as for a forged one"
    );
    let multipart = "--b0undary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b0undary--\r\n";
    let kind = "Content-Type: multipart/form-data; boundary=b0undary";
    assert_eq!(server.raw("POST", &paths[1], &[kind], multipart).0, 200);
    assert_eq!(server.raw("POST", &paths[2], &[], "").0, 200);
    for a in members {
        assert!(
            eventually(|| !member(&server.roster(), a)),
            "{a}: {}",
            server.roster()
        );
    }
    // Again: already gone, the same 200, nothing more.
    assert_eq!(
        server
            .raw("POST", &paths[0], &[form], "List-Unsubscribe=One-Click")
            .0,
        200
    );

    let audit = server.audit();
    assert_eq!(
        audit.matches("\"action\":\"one-click\"").count(),
        4,
        "{audit}"
    );
    assert_eq!(
        audit.matches("\"outcome\":\"removed\"").count(),
        3,
        "{audit}"
    );
    // A goodbye each, with an undo link; no token in the server's log.
    assert!(eventually(|| server.mails().len() == 3), "{}", server.log());
    let log = server.log();
    for path in &paths {
        assert!(!log.contains(&path[3..]), "{log}");
    }
    assert!(log.contains("/u/…"), "{log}");
    // The unsubscribe_file lists the members left, each with a URI.
    let file = std::fs::read_to_string(server.tmp.path().join("var/sm-cop.unsubscribe")).unwrap();
    assert!(!file.contains("jane.doe@agency.gov"), "{file}");
    let line = file
        .lines()
        .find(|l| l.starts_with("maria.garcia@hhs.gov\t"))
        .unwrap();
    let (_, uri) = line.split_once('\t').unwrap();
    assert_eq!(
        format!(
            "{BASE}{}",
            leave_path(&server.tmp.path().join("config"), "maria.garcia@hhs.gov")
        ),
        uri
    );
}

#[test]
fn undo_joins_again_without_confirmation_within_its_days() {
    let tmp = site();
    let config = tmp.path().join("config");
    let path = leave_path(&config, "jane.doe@agency.gov");
    let server = Server::start(tmp);
    assert_eq!(server.raw("POST", &path, &[], "").0, 200);
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    // Quoted-printable: the long link is cut by soft line breaks.
    let goodbye = server
        .mails()
        .remove(0)
        .replace("=\r\n", "")
        .replace("=\n", "");
    let at = goodbye
        .find(&format!("{BASE}/undo/"))
        .expect("an undo link");
    let undo: String = goodbye[at + BASE.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/".contains(*c))
        .collect();
    assert!(eventually(|| !member(
        &server.roster(),
        "jane.doe@agency.gov"
    )));

    // The GET changes nothing; the POST adds at once (no confirmation mail).
    let (status, page) = server.raw("GET", &undo, &[], "");
    assert_eq!(status, 200, "{undo} {goodbye}");
    assert!(
        page.contains("jane.doe@agency.gov") && page.contains("<button"),
        "{page}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!member(&server.roster(), "jane.doe@agency.gov"));
    let (status, page) = server.raw("POST", &undo, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Welcome to SM-COP"), "{page}");
    assert!(eventually(|| member(
        &server.roster(),
        "jane.doe@agency.gov"
    )));
    assert!(eventually(|| server.mails().len() == 2));
    assert!(
        server
            .mails()
            .iter()
            .any(|m| m.contains("Subject: Welcome to SM-COP"))
    );

    // An undo token made 8 days ago (with the server's own key) is refused.
    let secret = std::fs::read_to_string(server.tmp.path().join("var/state/secret")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = undo_token(&secret, "sm-cop\njohn.roe@army.mil", now - 8 * 86_400);
    let fresh = undo_token(&secret, "sm-cop\njohn.roe@army.mil", now - 6 * 86_400);
    assert_eq!(
        server.raw("POST", &format!("/u/{}", &fresh), &[], "").0,
        200
    );
    assert_eq!(server.raw("GET", &format!("/undo/{old}"), &[], "").0, 404);
    assert_eq!(server.raw("POST", &format!("/undo/{old}"), &[], "").0, 404);
    // …while the same made 6 days ago is good (read only here: GET).
    assert_eq!(server.raw("GET", &format!("/undo/{fresh}"), &[], "").0, 200);
    assert!(
        member(&server.roster(), "john.roe@army.mil"),
        "an undo token is no leave token"
    );
}

/// An undo token as listkeeper makes one, under the key file's first key.
fn undo_token(secret: &str, payload: &str, made: u64) -> String {
    use hmac::{KeyInit, Mac};
    let line = secret
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    let (kid, hex) = line.split_once(' ').unwrap();
    let key = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.trim().as_bytes())
        .unwrap();
    let text = format!("{payload}\n{made}");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("undo-v1\n{text}").as_bytes());
    let sig = mac.finalize().into_bytes();
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    let b32 = spec.encoding().unwrap();
    let mut sig = b32.encode(&sig[..10]);
    sig.truncate(16);
    format!("{kid}{sig}{}", b32.encode(text.as_bytes()))
}

/// The value of a series in a `/metrics` text.
fn series(text: &str, name: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn metrics_are_served_to_loopback_only_or_on_their_own_listener() {
    let tmp = site();
    let path = leave_path(&tmp.path().join("config"), "jane.doe@agency.gov");
    let server = Server::start(tmp);
    let (status, text) = server.raw("GET", "/metrics", &[], "");
    assert_eq!(status, 200, "{text}");
    let members = series(&text, "listkeeper_members{list=\"sm-cop\"}");
    assert!(members >= 5, "{text}");
    assert_eq!(series(&text, "listkeeper_outbox_waiting"), 0);
    assert_eq!(
        series(&text, "listkeeper_pending_requests{list=\"sm-cop\"}"),
        0
    );
    assert_eq!(series(&text, "listkeeper_scrape_errors"), 0);
    let ok = series(&text, "listkeeper_web_requests_total{outcome=\"ok\"}");
    assert_eq!(server.raw("POST", &path, &[], "").0, 200);
    assert_eq!(server.raw("GET", "/lists/nope", &[], "").0, 404);
    let (_, text) = server.raw("GET", "/metrics", &[], "");
    assert_eq!(
        series(&text, "listkeeper_members{list=\"sm-cop\"}"),
        members - 1
    );
    assert!(series(&text, "listkeeper_web_requests_total{outcome=\"ok\"}") >= ok + 2);
    assert!(
        series(
            &text,
            "listkeeper_web_requests_total{outcome=\"client_error\"}"
        ) >= 1
    );
    // Through the (trusted, loopback) proxy from outside: refused.
    let (status, text) = server.raw("GET", "/metrics", &["X-Forwarded-For: 203.0.113.9"], "");
    assert_eq!(status, 403, "{text}");
    drop(server);

    // With metrics_listen, there only.
    let tmp = site();
    let file = tmp.path().join("config/listkeeper.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("[web]\n", "[web]\nmetrics_listen = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let server = Server::start(tmp);
    assert!(
        eventually(|| server.log().contains("serving /metrics address=")),
        "{}",
        server.log()
    );
    let at = server
        .log()
        .split("serving /metrics address=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(server.raw("GET", "/metrics", &[], "").0, 403);
    let mut server = server;
    server.at = at;
    let (status, text) = server.raw("GET", "/metrics", &[], "");
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE listkeeper_members gauge"), "{text}");
}

#[test]
fn an_undo_still_meets_the_rules() {
    let tmp = site();
    let config = tmp.path().join("config");
    // A member the rules would hold (an admin added it): its undo goes to the owners.
    let contractor = "pat@contractor.example.com";
    assert!(cli(&config, &["add", "sm-cop", contractor]).0);
    let path = leave_path(&config, contractor);
    let server = Server::start(tmp);
    assert_eq!(server.raw("POST", &path, &[], "").0, 200);
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    // The roster file is saved in the background, after the durable state log.
    assert!(eventually(|| !member(&server.roster(), contractor)));
    let mail = server.mails().remove(0).replace("=\r\n", "");
    let at = mail.find(&format!("{BASE}/undo/")).expect("an undo link");
    let undo: String = mail[at + BASE.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();
    let (status, page) = server.raw("POST", &undo, &[], "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("owners"), "{page}");
    let held = "\"action\":\"undo\",\"outcome\":\"held\"";
    assert!(
        eventually(|| server.audit().contains(held)),
        "{}",
        server.audit()
    );
    assert!(!member(&server.roster(), contractor));
    // The person's "held" mail and the owners' notice.
    assert!(eventually(|| server.mails().len() == 3), "{}", server.log());
}
