//! `listkeeper status` (issue 19): the daemon's state at a glance, and its exit code
//! as a monitoring check (1 once a reply has waited longer than `--max-wait`, or the
//! daemon does not answer).

use crate::support;

use crate::support::daemon;
use crate::support::lmtp::Lmtp;
use crate::support::smtp::{Mode, SmtpServer};
use crate::support::{BIN, Site, stderr, stdout};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const D: &str = "listserv.example.gov";

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on the site's `lmtp = "127.0.0.1:0"`, and the port it got.
fn serve(site: &Site) -> (Serve, u16) {
    let path = site.tmp.path().join("serve.log");
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(site.config())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&path).unwrap())
        .spawn()
        .unwrap();
    let mut server = Serve(child);
    let address = daemon::wait_ready(&path, 0, &mut server.0);
    (server, daemon::port_of(&address))
}

fn status(site: &Site, args: &[&str]) -> (Output, serde_json::Value) {
    let out = site.run(&[&["status", "--json"], args].concat());
    let json = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out, json)
}

#[test]
fn status_tells_a_stuck_outbox_and_a_daemon_that_is_down() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Defer);
    let site = Site::serving(smtp.port);

    // Nothing runs yet: not answering, exit 1 (on port 0, where nothing ever listens).
    let (out, json) = status(&site, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["daemon"]["answering"], false);

    let (server, port) = serve(&site);
    // status probes the configured address: the one the daemon got. (The daemon
    // reloads the edit and keeps listening where it is.)
    site.edit(
        "listkeeper.toml",
        "lmtp = \"127.0.0.1:0\"",
        &format!("lmtp = \"127.0.0.1:{port}\""),
    );
    let (out, json) = status(&site, &[]);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["daemon"]["running"], true);
    assert_eq!(json["daemon"]["answering"], true);
    assert_eq!(json["daemon"]["pid"], server.0.id());
    assert!(json["daemon"]["config_loaded"].is_string());
    let members = json["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "sm-cop")
        .unwrap()["members"]
        .as_u64()
        .unwrap();
    assert!(members > 0);

    // A join whose confirmation the relay defers: pending 1, one reply waiting.
    let who = "pat@agency.gov";
    let mut c = Lmtp::connect(port).unwrap();
    let msg = format!("From: {who}\r\nSubject: join\r\nMessage-ID: <s1@test>\r\n\r\nhi\r\n");
    let (_, outcomes) = c.send(who, &[&format!("sm-cop-join@{D}")], &msg).unwrap();
    c.quit();
    assert_eq!(outcomes[0].code, 250);
    assert!(support::eventually(|| {
        status(&site, &[]).1["outbox"]["oldest_last_error"].is_string()
    }));
    let (out, json) = status(&site, &[]);
    assert!(out.status.success(), "a fresh wait is no problem: {json}");
    assert_eq!(json["outbox"]["waiting"], 1);
    let list = json["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "sm-cop")
        .unwrap()
        .clone();
    assert_eq!(list["pending"], 1);
    assert!(json["state_log_bytes"].as_u64().unwrap() > 0);

    // Waiting longer than --max-wait: exit 1, and the human form says why.
    std::thread::sleep(Duration::from_millis(2100));
    let (out, json) = status(&site, &["--max-wait", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("a reply has waited")
    );
    let human = site.run(&["status", "--max-wait", "1s"]);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        stdout(&human).contains("PROBLEM: a reply has waited"),
        "{}",
        stdout(&human)
    );
    assert!(
        stdout(&human).contains("outbox: 1 waiting"),
        "{}",
        stdout(&human)
    );
}
