//! Load generator: N distinct subscribe requests over C LMTP connections (pipelined,
//! as Postfix sends them) into `listkeeper serve` (release build), confirmations
//! received by an SMTP server of its own on loopback, then N confirmations, each
//! landing a member and a welcome.
//!
//! `cargo bench --bench lmtp` runs the suite README quotes: a burst of 20,000 on a
//! small list, 5,000 paced at 1,000 requests a second, and 5,000 on lists of 1,000,
//! 100,000 and 1,000,000 members. `cargo bench --bench lmtp -- N C [--members M]
//! [--pace R]` runs one. Each run prints requests per second end to end (request
//! sent → its reply accepted by the SMTP server), the latency of each LMTP
//! transaction up to its per-recipient `250` (p50/p99/max), the daemon's startup
//! (spawn → first request answered, its roster read), CPU seconds and peak RSS, and
//! checks its own results: every request answered 250, every reply received, every
//! new member in the roster exactly once and every old one kept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use support::{BIN, copy_dir, lmtp, smtp};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";

/// Figures of one phase.
struct Phase {
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    cpu: f64,
}

/// Figures of one run (a daemon on a list of `members`).
struct Run {
    members: usize,
    startup_ms: f64,
    subscribe: Phase,
    confirm: Phase,
    rss_mb: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    println!(
        "listkeeper LMTP benchmark: {} cores, load generator and SMTP sink on the same machine",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if !numbers.is_empty() || flag("--members").is_some() || flag("--pace").is_some() {
        // One run as asked: [N] [C] [--members M] [--pace REQ_PER_S].
        let n = numbers.first().copied().unwrap_or(2000);
        let c = numbers.get(1).copied().unwrap_or(16).max(1);
        let members = flag("--members").map_or(0, |m| m as usize);
        let run = run(members, n, c, flag("--pace"));
        table(&[run]);
        return;
    }
    // The suite README quotes: a burst, a paced run, and the roster sizes.
    let burst = run(0, 20_000, 16, None);
    let paced = run(0, 5_000, 16, Some(1000.0));
    println!(
        "paced at 1000 req/s: subscribe 250 p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        paced.subscribe.p50, paced.subscribe.p99, paced.subscribe.max
    );
    let mut runs = vec![burst];
    for members in [1_000, 100_000, 1_000_000] {
        runs.push(run(members, 5_000, 16, None));
    }
    table(&runs);
}

fn table(runs: &[Run]) {
    println!(
        "{:>9} {:>8} | {:>9} {:>7} {:>7} {:>6} | {:>9} {:>7} {:>7} {:>6} | {:>7}",
        "members",
        "start ms",
        "subscr/s",
        "p50 ms",
        "p99 ms",
        "CPU s",
        "confirm/s",
        "p50 ms",
        "p99 ms",
        "CPU s",
        "RSS MB"
    );
    for r in runs {
        println!(
            "{:>9} {:>8.0} | {:>9.0} {:>7.2} {:>7.2} {:>6.2} | {:>9.0} {:>7.2} {:>7.2} {:>6.2} | {:>7.1}",
            r.members,
            r.startup_ms,
            r.subscribe.rate,
            r.subscribe.p50,
            r.subscribe.p99,
            r.subscribe.cpu,
            r.confirm.rate,
            r.confirm.p50,
            r.confirm.p99,
            r.confirm.cpu,
            r.rss_mb
        );
    }
}

/// Starts a daemon on a list of `members`, then N subscribe requests (→ N
/// confirmations) and N confirmations (→ N members, N welcomes), checking all of it.
fn run(members: usize, n: usize, c: usize, pace: Option<f64>) -> Run {
    let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let sink = smtp::SmtpServer::start();
    let config = make_config(tmp.path(), sink.port);
    let roster_path = config.join("lists/sm-cop/roster.toml");
    if members > 0 {
        write_roster(&roster_path, members);
    }
    let existing = std::fs::read_to_string(&roster_path)
        .unwrap()
        .matches("\" = {")
        .count();
    let started = Instant::now();
    let (mut daemon, port) = start(&config, tmp.path());
    let pid = daemon.id();
    // Startup: until the first request is answered, its roster read.
    let mut probe = lmtp::Lmtp::connect(port).unwrap();
    let (_, first) = probe
        .send_pipelined(
            "probe@agency.gov",
            &[&format!("sm-cop-request@{D}")],
            "From: probe@agency.gov\r\nSubject: query sm-cop\r\nMessage-ID: <probe@bench>\r\n\r\nquery sm-cop\r\n",
        )
        .unwrap();
    assert_eq!(first.first().map(|r| r.code), Some(250), "{first:?}");
    let startup_ms = started.elapsed().as_secs_f64() * 1e3;
    probe.quit();
    let ready_rss = rss_mb(pid, "VmRSS");
    let probes = wait_for(&sink, 1, Duration::from_secs(60)).len();
    println!(
        "-- {members} members ({existing} in the roster), N = {n}, C = {c}{}; startup {startup_ms:.0} ms, then RSS {ready_rss:.1} MB",
        pace.map_or(String::new(), |p| format!(", paced at {p:.0} req/s"))
    );

    // Phase 1: subscribe requests → confirmation mails.
    let cpu0 = cpu_seconds(pid);
    let start = Instant::now();
    let latencies = push(port, n, c, pace, |i| {
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
    let received = wait_for(&sink, probes + n, Duration::from_secs(600));
    let end_to_end = start.elapsed();
    let cpu1 = cpu_seconds(pid);
    let subscribe = report(
        "subscribe",
        n,
        lmtp_done,
        end_to_end,
        &latencies,
        cpu1 - cpu0,
    );
    let confirmations: Vec<&smtp::Received> = received
        .iter()
        .filter(|m| m.data.contains("confirm+"))
        .collect();
    assert_eq!(confirmations.len(), n, "every request got its confirmation");

    // Phase 2: confirmations → members and welcomes.
    let tokens: Vec<(String, String)> = confirmations
        .iter()
        .map(|m| (m.to[0].clone(), token_of(&m.data)))
        .collect();
    let start = Instant::now();
    let latencies = push(port, n, c, pace, |i| {
        let (addr, token) = &tokens[i];
        (
            addr.clone(),
            format!("sm-cop-confirm+{token}@{D}"),
            format!("From: {addr}\r\nSubject: ok\r\nMessage-ID: <conf{i}@bench>\r\n\r\nok\r\n"),
        )
    });
    let lmtp_done = start.elapsed();
    let all = wait_for(&sink, probes + 2 * n, Duration::from_secs(600));
    let end_to_end = start.elapsed();
    let cpu2 = cpu_seconds(pid);
    let confirm = report("confirm", n, lmtp_done, end_to_end, &latencies, cpu2 - cpu1);
    let welcomes = all
        .iter()
        .filter(|m| m.data.contains("Subject: Welcome to SM-COP"))
        .count();
    assert_eq!(welcomes, n, "every confirmation got its welcome");

    let rss_mb = peak_rss_mb(pid);
    stop(&mut daemon);
    let roster = std::fs::read_to_string(&roster_path).unwrap();
    let listed: std::collections::HashMap<&str, usize> = roster
        .lines()
        .filter_map(|l| l.split('"').nth(1))
        .fold(std::collections::HashMap::new(), |mut m, a| {
            *m.entry(a).or_default() += 1;
            m
        });
    for (addr, _) in &tokens {
        assert_eq!(
            listed.get(addr.as_str()),
            Some(&1),
            "{addr} in the roster once"
        );
    }
    assert_eq!(
        roster.matches("\" = {").count(),
        existing + n,
        "the members before, and each new one once"
    );
    println!(
        "   daemon: {:.2} CPU seconds in all, peak RSS {rss_mb:.1} MB; checked: {n} requests answered 250, {n} confirmations and {n} welcomes received, {n} new members in the roster once each, {existing} kept",
        cpu2 - cpu0
    );
    Run {
        members,
        startup_ms,
        subscribe,
        confirm,
        rss_mb,
    }
}

fn write_roster(path: &Path, size: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "# Members of a benchmark list.\n[members]").unwrap();
    for i in 0..size {
        writeln!(
            out,
            "\"person.{i}@agency{}.gov\" = {{ name = \"Person {i}\", since = 2026-01-05T10:00:00Z, via = \"email\" }}",
            i % 500
        )
        .unwrap();
    }
}

/// Sends `n` messages over `c` connections; returns each transaction's latency.
fn push(
    port: u16,
    n: usize,
    c: usize,
    pace: Option<f64>,
    make: impl Fn(usize) -> (String, String, String) + Sync,
) -> Vec<Duration> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let began = Instant::now();
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
                        if let Some(rate) = pace {
                            // Request i leaves at i / rate seconds (an open-loop pace).
                            let due = began + Duration::from_secs_f64(i as f64 / rate);
                            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
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
) -> Phase {
    let mut l: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    println!(
        "   {phase:>9}: {:>7.0} req/s end to end ({:.2} s), LMTP alone {:>7.0} req/s; 250 latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; daemon CPU {cpu:.2} s",
        n as f64 / end_to_end.as_secs_f64(),
        end_to_end.as_secs_f64(),
        n as f64 / lmtp.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        l.last().copied().unwrap_or(0.0),
    );
    Phase {
        rate: n as f64 / end_to_end.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        max: l.last().copied().unwrap_or(0.0),
        cpu,
    }
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

/// The example config on `lmtp = "127.0.0.1:0"` (the daemon reports the port it got).
fn make_config(tmp: &Path, smtp: u16) -> PathBuf {
    let config = tmp.join("config");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &config,
    );
    let path = config.join("listkeeper.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("lmtp = \"127.0.0.1:8024\"", "lmtp = \"127.0.0.1:0\"")
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
    std::fs::write(path, without_web(&text)).unwrap();
    config
}

/// The configuration without its `[web]` section: the pages are not measured here,
/// and a build from before them (`BENCH_BIN`) would not load the section.
fn without_web(text: &str) -> String {
    let Some(start) = text.find("\n[web]\n") else {
        return text.to_owned();
    };
    let rest = &text[start + 1..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 2);
    format!("{}{}", &text[..=start], &rest[end..])
}

/// `serve`, and the port its readiness line names.
fn start(config: &Path, tmp: &Path) -> (Child, u16) {
    let path = tmp.join("serve.log");
    let log = std::fs::File::create(&path).unwrap();
    // `BENCH_BIN=path`: another build of listkeeper, to compare side by side.
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        // Warnings only, but the readiness line (its port) too.
        .env("LISTKEEPER_LOG", "warn,listkeeper::cli::serve=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let address = support::daemon::wait_ready(&path, 0, &mut child);
    (child, support::daemon::port_of(&address))
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
    rss_mb(pid, "VmHWM")
}

fn rss_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
