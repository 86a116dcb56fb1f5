//! Pipe mode as Postfix runs it: many `listkeeper deliver` processes at once on one
//! state folder, through the built binary.

use crate::support::{BIN, Site, stderr};
use std::io::Write;
use std::process::{Command, Stdio};

const D: &str = "listserv.example.gov";

fn request(from: &str, id: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: x\r\nSubject: join\r\nMessage-ID: <{id}>\r\n\r\nhello\r\n")
        .into_bytes()
}

/// Issue 21, item 2: eight first runs at once on an empty state folder all succeed
/// (the key file was created in place, and a second process read it half written or
/// failed on it with "File exists").
#[test]
fn regression_21_eight_first_runs_at_once_all_succeed() {
    for round in 0..100 {
        let site = Site::new();
        assert!(!site.var().exists(), "an empty state folder");
        // Every process started and waiting on its standard input, then all let go
        // at once: they reach the state folder together.
        let mut children: Vec<_> = (0..8)
            .map(|i| {
                let from = format!("first{i}@dhs.gov");
                let child = Command::new(BIN)
                    .args(["deliver", "--to", &format!("sm-cop-join@{D}")])
                    .args(["--from", &from])
                    .arg("--config")
                    .arg(site.config())
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (child, request(&from, &format!("r{round}-{i}@dhs.gov")))
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        for (child, message) in &mut children {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(message).unwrap();
        }
        for (i, (child, _)) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}, deliver {i}: {}",
                stderr(&out)
            );
        }
        let replies = site.mail_files().len();
        assert_eq!(replies, 8, "round {round}: one confirmation each");
    }
}
