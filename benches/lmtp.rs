//! Load generator: N distinct subscribe requests over C LMTP connections into
//! `listkeeper serve` (release build), confirmations received by an SMTP server of
//! its own on loopback, then N confirmations, each landing a member and a welcome.
//!
//! `cargo bench --bench lmtp -- [N] [C]` (defaults 2000 and 16). Prints requests per
//! second end to end (request sent → its reply accepted by the SMTP server), the
//! latency of each LMTP transaction up to its per-recipient `250` (p50/p99/max), the
//! daemon's CPU seconds and peak RSS, and checks its own results: every request
//! answered 250, every reply received, every member in the roster exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/support/mod.rs"]
mod support;

use support::{BIN, copy_dir, lmtp, smtp};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(2000);
    let c = args.get(1).copied().unwrap_or(16).max(1);
    let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let sink = smtp::SmtpServer::start();
    let port = smtp::free_port();
    let config = make_config(tmp.path(), port, sink.port);
    let mut daemon = start(&config, port, tmp.path());
    let pid = daemon.id();
    println!(
        "listkeeper LMTP benchmark: N = {n} distinct requests, C = {c} connections, 2-core loopback"
    );

    // Phase 1: subscribe requests → confirmation mails.
    let cpu0 = cpu_seconds(pid);
    let start = Instant::now();
    let latencies = push(port, n, c, |i| {
        let addr = format!("bench{i}@agency{}.gov", i % 50);
        (
            addr.clone(),
            format!("sm-cop-join@{D}"),
            format!(
                "From: Bench {i} <{addr}>\r\nSubject: join\r\nMessage-ID: <req{i}@bench>\r\n\r\nplease\r\n"
            ),
        )
    });
    let lmtp_done = start.elapsed();
    let confirmations = wait_for(&sink, n, Duration::from_secs(300));
    let end_to_end = start.elapsed();
    let cpu1 = cpu_seconds(pid);
    report(
        "subscribe",
        n,
        lmtp_done,
        end_to_end,
        &latencies,
        cpu1 - cpu0,
    );
    assert_eq!(confirmations.len(), n, "every request got its confirmation");

    // Phase 2: confirmations → members and welcomes.
    let tokens: Vec<(String, String)> = confirmations
        .iter()
        .map(|m| (m.to[0].clone(), token_of(&m.data)))
        .collect();
    let start = Instant::now();
    let latencies = push(port, n, c, |i| {
        let (addr, token) = &tokens[i];
        (
            addr.clone(),
            format!("sm-cop-confirm+{token}@{D}"),
            format!("From: {addr}\r\nSubject: ok\r\nMessage-ID: <conf{i}@bench>\r\n\r\nok\r\n"),
        )
    });
    let lmtp_done = start.elapsed();
    let all = wait_for(&sink, 2 * n, Duration::from_secs(300));
    let end_to_end = start.elapsed();
    let cpu2 = cpu_seconds(pid);
    report("confirm", n, lmtp_done, end_to_end, &latencies, cpu2 - cpu1);
    let welcomes = all
        .iter()
        .filter(|m| m.data.contains("Subject: Welcome to SM-COP"))
        .count();
    assert_eq!(welcomes, n, "every confirmation got its welcome");

    let rss = peak_rss_mb(pid);
    stop(&mut daemon);
    let roster = std::fs::read_to_string(config.join("lists/sm-cop/roster.toml")).unwrap();
    for (addr, _) in &tokens {
        assert_eq!(
            roster.matches(&format!("\"{addr}\"")).count(),
            1,
            "{addr} in the roster once"
        );
    }
    println!(
        "daemon: {:.2} CPU seconds in all, peak RSS {rss:.1} MB",
        cpu2 - cpu0
    );
    println!(
        "checked: {n} requests answered 250, {n} confirmations and {n} welcomes received, {n} members in the roster once each"
    );
}

/// Sends `n` messages over `c` connections; returns each transaction's latency.
fn push(
    port: u16,
    n: usize,
    c: usize,
    make: impl Fn(usize) -> (String, String, String) + Sync,
) -> Vec<Duration> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut all = Vec::with_capacity(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..c)
            .map(|_| {
                s.spawn(|| {
                    let mut client = lmtp::Lmtp::connect(port).unwrap();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let (from, to, message) = make(i);
                        let t = Instant::now();
                        let (_, outcomes) = client.send_pipelined(&from, &[&to], &message).unwrap();
                        mine.push(t.elapsed());
                        assert_eq!(outcomes.first().map(|r| r.code), Some(250), "{outcomes:?}");
                    }
                    client.quit();
                    mine
                })
            })
            .collect();
        for h in handles {
            all.extend(h.join().unwrap());
        }
    });
    all
}

fn report(
    phase: &str,
    n: usize,
    lmtp: Duration,
    end_to_end: Duration,
    latencies: &[Duration],
    cpu: f64,
) {
    let mut l: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    println!(
        "{phase:>9}: {:>7.0} req/s end to end ({:.2} s), LMTP alone {:>7.0} req/s; 250 latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; daemon CPU {cpu:.2} s",
        n as f64 / end_to_end.as_secs_f64(),
        end_to_end.as_secs_f64(),
        n as f64 / lmtp.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        l.last().copied().unwrap_or(0.0),
    );
}

fn wait_for(sink: &smtp::SmtpServer, n: usize, limit: Duration) -> Vec<smtp::Received> {
    let start = Instant::now();
    while sink.count() < n && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(2));
    }
    sink.received()
}

fn token_of(message: &str) -> String {
    let start = message.find("confirm+").unwrap() + "confirm+".len();
    message[start..].split('@').next().unwrap().to_owned()
}

fn make_config(tmp: &Path, port: u16, smtp: u16) -> PathBuf {
    let config = tmp.join("config");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &config,
    );
    let path = config.join("listkeeper.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "lmtp = \"127.0.0.1:8024\"",
            &format!("lmtp = \"127.0.0.1:{port}\""),
        )
        .replace(
            "transport = \"file:../var/outbox-mail\"",
            &format!("transport = \"smtp://127.0.0.1:{smtp}\""),
        )
        // The benchmark's requests come from distinct addresses, but many share a
        // domain, and N may exceed the hourly total: the limits are not measured here.
        .replace(
            "confirmations_per_domain_per_hour = 100",
            "confirmations_per_domain_per_hour = 1000000",
        )
        .replace("replies_per_hour = 5000", "replies_per_hour = 100000000");
    std::fs::write(path, text).unwrap();
    config
}

fn start(config: &Path, port: u16, tmp: &Path) -> Child {
    let log = std::fs::File::create(tmp.join("serve.log")).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .env("LISTKEEPER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "serve did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted after the ")".
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
