//! Pipe mode as Postfix runs it: N distinct subscribe requests, each through its own
//! `listkeeper deliver` process (release build), two at once, replies to an SMTP
//! server of its own on loopback; then the N confirmations the same way.
//!
//! `cargo bench --bench deliver` runs 2,000 requests on an empty state and on a state
//! already holding 100,000 pending requests (and their dedupe records);
//! `cargo bench --bench deliver -- N [--pending P]` runs one. Each run prints
//! requests per second and the mean time of one `deliver` in the first and the last
//! tenth, for the requests and for the confirmations, and checks every process
//! exited 0 and every reply arrived. One `deliver` before the clock starts is not
//! counted (it brings `state.idx` up to date with a state written behind its back).
//! `BENCH_BIN=path` measures another build of listkeeper (to compare). When mlmmj's `mlmmj-receive` is installed, the same requests go through it too
//! (forking mode, one process a message), for a side-by-side figure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use support::{BIN, copy_dir, smtp, token_of};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";
/// Processes at once, as a Postfix pipe transport with `maxproc` 2.
const AT_ONCE: usize = 2;

/// Figures of one phase.
struct Phase {
    rate: f64,
    first_ms: f64,
    last_ms: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(2000);
    let pending = args
        .iter()
        .position(|a| a == "--pending")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok());
    println!(
        "listkeeper pipe-mode benchmark: {} cores, {AT_ONCE} deliver processes at once, SMTP sink on loopback",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let sizes = match pending {
        Some(p) => vec![p],
        None => vec![0, 100_000],
    };
    println!(
        "{:>9} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "pending", "subscr/s", "first ms", "last ms", "confirm/s", "first ms", "last ms"
    );
    for p in sizes {
        let (subscribe, confirm) = run(n, p);
        println!(
            "{:>9} | {:>9.0} {:>9.2} {:>9.2} | {:>9.0} {:>9.2} {:>9.2}",
            p,
            subscribe.rate,
            subscribe.first_ms,
            subscribe.last_ms,
            confirm.rate,
            confirm.first_ms,
            confirm.last_ms
        );
    }
    mlmmj(n);
}

/// N requests then N confirmations through `deliver`, on a state holding `pending`
/// requests first.
fn run(n: usize, pending: usize) -> (Phase, Phase) {
    let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let sink = smtp::SmtpServer::start();
    let config = make_config(tmp.path(), sink.port);
    if pending > 0 {
        prefill(&tmp.path().join("var/state"), pending);
    }
    // Not counted: the first run makes the key and brings the index up to date.
    let warm = subscribe_message("warm-up@bench.gov", "warm-up");
    assert_eq!(deliver(&config, &format!("sm-cop-join@{D}"), &warm), 0);
    sink.wait_for(1);

    let requests: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            let from = format!("person{i}@d{}.bench.gov", i % 50);
            (
                format!("sm-cop-join@{D}"),
                subscribe_message(&from, &format!("s{i}")),
            )
        })
        .collect();
    let subscribe = phase(&config, &requests);
    let got = sink.wait_for(n + 1);
    let confirmations: Vec<(String, Vec<u8>)> = got[1..]
        .iter()
        .enumerate()
        .map(|(i, mail)| {
            let token = token_of(&mail.data);
            let to = &mail.to[0];
            (
                format!("sm-cop-confirm+{token}@{D}"),
                format!(
                    "From: {to}\r\nTo: x\r\nSubject: Re: confirm {token}\r\nMessage-ID: <c{i}@bench>\r\n\r\nyes\r\n"
                )
                .into_bytes(),
            )
        })
        .collect();
    let confirm = phase(&config, &confirmations);
    sink.wait_for(2 * n + 1);
    (subscribe, confirm)
}

/// Runs every message through its own `deliver`, [`AT_ONCE`] at a time, in order.
fn phase(config: &Path, messages: &[(String, Vec<u8>)]) -> Phase {
    let next = AtomicUsize::new(0);
    let times: Vec<std::sync::Mutex<f64>> = messages
        .iter()
        .map(|_| std::sync::Mutex::new(0.0))
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..AT_ONCE {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((to, message)) = messages.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let code = deliver(config, to, message);
                    *times[i].lock().unwrap() = t.elapsed().as_secs_f64() * 1000.0;
                    assert_eq!(code, 0, "deliver {i} to {to}");
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let times: Vec<f64> = times.into_iter().map(|t| t.into_inner().unwrap()).collect();
    let tenth = (times.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    Phase {
        rate: times.len() as f64 / wall,
        first_ms: mean(&times[..tenth]),
        last_ms: mean(&times[times.len() - tenth..]),
    }
}

/// One `deliver` as Postfix's pipe runs it; its exit code.
fn deliver(config: &Path, to: &str, message: &[u8]) -> i32 {
    let mut child = Command::new(bin())
        .args([
            "deliver",
            "--to",
            to,
            "--from",
            "someone@bench.gov",
            "--config",
        ])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

/// The binary measured: `BENCH_BIN` (another build, to compare), or this one.
fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned())
}

fn subscribe_message(from: &str, id: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: x\r\nSubject: join\r\nMessage-ID: <{id}@bench>\r\n\r\nhello\r\n")
        .into_bytes()
}

/// The example configuration, replies over SMTP to `smtp`, limits out of the way
/// (this measures the work, not the brakes).
fn make_config(root: &Path, smtp: u16) -> PathBuf {
    let config = root.join("config");
    copy_dir(&support::repo().join("config"), &config);
    let path = config.join("listkeeper.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "transport = \"file:../var/outbox-mail\"",
            &format!("transport = \"smtp://127.0.0.1:{smtp}\""),
        )
        .replace(
            "confirmations_per_domain_per_hour = 100",
            "confirmations_per_domain_per_hour = 1000000",
        )
        .replace("replies_per_hour = 5000", "replies_per_hour = 1000000");
    std::fs::write(path, text).unwrap();
    config
}

/// `pending` requests waiting for their confirmation, each with its dedupe record,
/// as the state log holds them after a flood of requests.
fn prefill(state: &Path, pending: usize) {
    std::fs::create_dir_all(state).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut out = std::io::BufWriter::new(std::fs::File::create(state.join("state.log")).unwrap());
    for i in 0..pending {
        let pending = serde_json::json!({
            "op": "pending",
            "key": format!("sm-cop/{:016}", i),
            "record": {
                "list": "sm-cop", "address": format!("flood{i}@flood.gov"), "name": null,
                "action": "subscribe", "kid": "k1", "nonce": format!("{i:032x}"),
                "created": now, "expires": now + 7 * 86_400, "sends": [now]
            }
        });
        let seen = serde_json::json!({"op": "seen", "key": format!("{i:064x}"), "at": now});
        writeln!(out, "{pending}\n{seen}").unwrap();
    }
    out.flush().unwrap();
}

/// The same N requests through mlmmj (forking mode: `mlmmj-receive` per message),
/// when it is installed.
fn mlmmj(n: usize) {
    let Some(receive) = ["/usr/bin/mlmmj-receive", "/usr/local/bin/mlmmj-receive"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("mlmmj not installed (apt-get install mlmmj): no side-by-side figure");
        return;
    };
    let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let sink = smtp::SmtpServer::start();
    let list = tmp.path().join("sm-cop");
    for dir in [
        "incoming",
        "queue/discarded",
        "archive",
        "text",
        "subconf",
        "unsubconf",
        "bounce",
        "control",
        "moderation",
        "subscribers.d",
        "digesters.d",
        "nomailsubs.d",
        "requeue",
        "index",
    ] {
        std::fs::create_dir_all(list.join(dir)).unwrap();
    }
    for (file, text) in [
        ("listaddress", format!("sm-cop@{D}\n")),
        ("owner", "owner@bench.gov\n".to_owned()),
        ("relayhost", "127.0.0.1\n".to_owned()),
        ("smtpport", format!("{}\n", sink.port)),
    ] {
        std::fs::write(list.join("control").join(file), text).unwrap();
    }
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..AT_ONCE {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let from = format!("person{i}@d{}.bench.gov", i % 50);
                    let mut message = format!("To: sm-cop+subscribe@{D}\r\n").into_bytes();
                    message.extend(subscribe_message(&from, &format!("m{i}")));
                    let mut child = Command::new(receive)
                        .arg("-F")
                        .arg("-L")
                        .arg(&list)
                        .env("EXTENSION", "subscribe")
                        .env("SENDER", &from)
                        .env("RECIPIENT", format!("sm-cop+subscribe@{D}"))
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap();
                    child.stdin.take().unwrap().write_all(&message).unwrap();
                    if !child.wait().unwrap().success() {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.count() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "mlmmj-receive -F: {:.0} requests/s ({} of {n} confirmations received, {} failed)",
        n as f64 / wall.as_secs_f64(),
        sink.count(),
        failed.load(Ordering::SeqCst)
    );
}
