//! Pipe mode as Postfix runs it: N distinct subscribe requests, each through its own
//! `listkeeper deliver` process (release build), two at once, replies to an SMTP
//! sink on loopback; then the N confirmations the same way. Side by side, the same
//! N requests through mlmmj's forking mode, when mlmmj is installed.
//!
//! `cargo bench --bench deliver -- N [--pending P] [--runs R] [--mode M]...`:
//! - modes (all four by default): `daemon` (a `listkeeper serve` is running on the
//!   same configuration: each `deliver` hands its message over LMTP, loopback
//!   TCP), `daemon-unix` (the same over a Unix socket), `local` (no daemon: each
//!   `deliver` does the work itself), `mlmmj` (`mlmmj-receive` without `-F`: it
//!   spools the mail and forks `mlmmj-process`, exiting at once).
//! - `--pending P`: the state holds P pending requests (and their dedupe records)
//!   before the clock starts (listkeeper's modes).
//! - `--runs R`: R runs of each mode, alternating; the medians are printed last.
//!
//! Each phase prints requests a second counted two ways: until the last process
//! exited, and until the last reply (confirmation request, welcome) arrived at the
//! sink (mlmmj's work, and the daemon's sending, go on after the process exits);
//! the mean time of one process in the first and the last tenth; and the CPU time
//! a request of the processes the bench waits for (`cpu`: the `deliver`s, or
//! `mlmmj-receive` without what it forks) and of the daemon (`dmn`). Every phase
//! checks every process exited 0 and exactly N replies arrived (and for mlmmj, N
//! `subconf` files), and fails loudly otherwise. The sink is Postfix's `smtp-sink`
//! when installed (as issue 21 measured), else an SMTP server of the bench's own.
//! One `deliver` before the clock starts is not counted (it makes the key and
//! indexes a state written behind its back). `BENCH_BIN=path` measures another build.
//! `--front`: each message through `listkeeper-deliver` (the small binary Postfix's
//! pipe should run) rather than `listkeeper deliver`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/it/support/mod.rs"]
mod support;

#[path = "deliver/mlmmj.rs"]
mod mlmmj_list;
#[path = "deliver/sink.rs"]
mod sink;

use mlmmj_list::mlmmj_list;
use sink::Sink;
use support::{BIN, copy_dir, token_of};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const D: &str = "listserv.example.gov";
/// Processes at once, as a Postfix pipe transport with `maxproc` 2.
const AT_ONCE: usize = 2;
const MLMMJ_RECEIVE: &str = "/usr/bin/mlmmj-receive";

/// Figures of one phase.
#[derive(Debug, Clone, Copy)]
struct Phase {
    /// Requests a second until the last process exited.
    exited: f64,
    /// Requests a second until the last reply arrived at the sink.
    arrived: f64,
    first_ms: f64,
    last_ms: f64,
    /// CPU a request of the processes the bench waited for (`deliver`s, not what
    /// mlmmj forked), and of the daemon.
    cpu_ms: f64,
    daemon_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Daemon,
    /// The daemon on a Unix socket.
    DaemonUnix,
    Local,
    Mlmmj,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let n = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(2000);
    let pending = value("--pending").and_then(|v| v.parse().ok()).unwrap_or(0);
    let runs = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(1);
    let modes = modes(&args);
    println!(
        "pipe-mode benchmark: N = {n}, {pending} pending before, {} cores, {AT_ONCE} processes at once, sink: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        Sink::kind()
    );
    print_header();
    let mut results: Vec<(Mode, Phase, Option<Phase>)> = Vec::new();
    for run in 1..=runs {
        for &mode in &modes {
            let (requests, confirmations) = match mode {
                Mode::Mlmmj => (mlmmj(n), None),
                _ => {
                    let (r, c) = listkeeper(n, pending, mode);
                    (r, Some(c))
                }
            };
            print_row(
                &format!("{mode:?}"),
                &run.to_string(),
                requests,
                confirmations,
            );
            results.push((mode, requests, confirmations));
        }
    }
    if runs > 1 {
        print_medians(&modes, &results);
    }
}

/// The `--mode`s asked for (all by default), mlmmj left out when not installed.
fn modes(args: &[String]) -> Vec<Mode> {
    let mut modes: Vec<Mode> = args
        .windows(2)
        .filter(|w| w[0] == "--mode")
        .map(|w| match w[1].as_str() {
            "daemon" => Mode::Daemon,
            "daemon-unix" => Mode::DaemonUnix,
            "local" => Mode::Local,
            "mlmmj" => Mode::Mlmmj,
            other => panic!("--mode {other}: daemon, daemon-unix, local or mlmmj"),
        })
        .collect();
    if modes.is_empty() {
        modes = vec![Mode::Daemon, Mode::DaemonUnix, Mode::Local, Mode::Mlmmj];
    }
    if modes.contains(&Mode::Mlmmj) && !Path::new(MLMMJ_RECEIVE).exists() {
        println!("mlmmj not installed (apt-get install mlmmj): no side-by-side figure");
        modes.retain(|m| *m != Mode::Mlmmj);
    }
    modes
}

fn print_medians(modes: &[Mode], results: &[(Mode, Phase, Option<Phase>)]) {
    for &mode in modes {
        let mine: Vec<_> = results.iter().filter(|r| r.0 == mode).collect();
        let requests = median_phase(mine.iter().map(|r| r.1).collect());
        let confirmations = mine[0]
            .2
            .map(|_| median_phase(mine.iter().filter_map(|r| r.2).collect()));
        print_row(&format!("{mode:?}"), "med", requests, confirmations);
    }
}

fn print_header() {
    let cols = |rate: &str| {
        format!(
            "{rate:>8} {:>8} {:>7} {:>7} {:>5} {:>5}",
            "arrived", "1st ms", "last ms", "cpu", "dmn"
        )
    };
    println!(
        "{:<10} {:>3} | {} | {}",
        "mode",
        "run",
        cols("req/s"),
        cols("conf/s")
    );
}

fn print_row(mode: &str, run: &str, requests: Phase, confirmations: Option<Phase>) {
    let cols = |p: Phase| {
        format!(
            "{:>8.0} {:>8.0} {:>7.2} {:>7.2} {:>5.2} {:>5.2}",
            p.exited, p.arrived, p.first_ms, p.last_ms, p.cpu_ms, p.daemon_ms
        )
    };
    println!(
        "{mode:<10} {run:>3} | {} | {}",
        cols(requests),
        confirmations.map_or("-".into(), cols)
    );
}

/// Each figure's median across runs.
fn median_phase(phases: Vec<Phase>) -> Phase {
    let median = |f: fn(&Phase) -> f64| {
        let mut xs: Vec<f64> = phases.iter().map(f).collect();
        xs.sort_by(f64::total_cmp);
        (xs[(xs.len() - 1) / 2] + xs[xs.len() / 2]) / 2.0
    };
    Phase {
        exited: median(|p| p.exited),
        arrived: median(|p| p.arrived),
        first_ms: median(|p| p.first_ms),
        last_ms: median(|p| p.last_ms),
        cpu_ms: median(|p| p.cpu_ms),
        daemon_ms: median(|p| p.daemon_ms),
    }
}

/// N requests then N confirmations through `deliver`, on a state holding `pending`
/// requests first, with a daemon running or not.
fn listkeeper(n: usize, pending: usize, mode: Mode) -> (Phase, Phase) {
    let daemon = mode != Mode::Local;
    let tmp = tempdir();
    let sink = Sink::start(tmp.path());
    let config = make_config(tmp.path(), sink.port(), mode == Mode::DaemonUnix);
    if pending > 0 {
        prefill(&tmp.path().join("var/state"), pending);
    }
    let daemon = daemon.then(|| Daemon::start(&config, tmp.path()));
    let pid = daemon.as_ref().map(|d| d.0.id());
    // Not counted: the first run makes the key and brings the index up to date.
    let warm = subscribe_message("warm-up@bench.gov", "warm-up");
    assert_eq!(deliver(&config, &format!("sm-cop-join@{D}"), &warm), 0);
    sink.wait_for(1, Duration::from_secs(30));

    let requests: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            let from = format!("person{i}@d{}.bench.gov", i % 50);
            (
                format!("sm-cop-join@{D}"),
                subscribe_message(&from, &format!("s{i}")),
            )
        })
        .collect();
    let subscribe = phase(&sink, pid, n + 1, &requests, |(to, message)| {
        deliver(&config, to, message)
    });
    let got = sink.mails();
    let confirmations: Vec<(String, Vec<u8>)> = got
        .iter()
        .filter(|(to, _)| !to.starts_with("warm-up"))
        .enumerate()
        .map(|(i, (to, data))| {
            let token = token_of(data);
            (
                format!("sm-cop-confirm+{token}@{D}"),
                format!(
                    "From: {to}\r\nTo: x\r\nSubject: Re: confirm {token}\r\nMessage-ID: <c{i}@bench>\r\n\r\nyes\r\n"
                )
                .into_bytes(),
            )
        })
        .collect();
    assert_eq!(confirmations.len(), n, "one confirmation request a request");
    let confirm = phase(&sink, pid, 2 * n + 1, &confirmations, |(to, message)| {
        deliver(&config, to, message)
    });
    (subscribe, confirm)
}

/// Runs `one` on every item, [`AT_ONCE`] at a time, in order (each must exit 0),
/// then waits until the sink holds `replies` mails, and fails unless it then holds
/// exactly that many.
fn phase<T: Sync>(
    sink: &Sink,
    daemon: Option<u32>,
    replies: usize,
    items: &[T],
    one: impl Fn(&T) -> i32 + Sync,
) -> Phase {
    let cpu = |pid: Option<u32>| pid.map_or(0.0, |p| cpu_seconds(&p.to_string(), false));
    let (children, daemon_cpu) = (cpu_seconds("self", true), cpu(daemon));
    let next = AtomicUsize::new(0);
    let times: Vec<std::sync::Mutex<f64>> = items.iter().map(|_| Default::default()).collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..AT_ONCE {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let code = one(item);
                    *times[i].lock().unwrap() = t.elapsed().as_secs_f64() * 1000.0;
                    assert_eq!(code, 0, "process {i} exited {code}");
                }
            });
        }
    });
    let exited = started.elapsed().as_secs_f64();
    sink.wait_for(replies, Duration::from_secs(120));
    let arrived = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    let per = |seconds: f64| seconds * 1000.0 / items.len() as f64;
    let cpu_ms = per(cpu_seconds("self", true) - children);
    let daemon_ms = per(cpu(daemon) - daemon_cpu);
    let count = sink.count();
    assert_eq!(count, replies, "replies at the sink (expected {replies})");
    let times: Vec<f64> = times.into_iter().map(|t| t.into_inner().unwrap()).collect();
    let tenth = (times.len() / 10).max(1);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    Phase {
        exited: items.len() as f64 / exited,
        arrived: items.len() as f64 / arrived,
        first_ms: mean(&times[..tenth]),
        last_ms: mean(&times[times.len() - tenth..]),
        cpu_ms,
        daemon_ms,
    }
}

/// CPU seconds of process `pid` (`self`), or of its children waited for, from
/// `/proc` (0 where there is none).
fn cpu_seconds(pid: &str, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    let at = if children { 13 } else { 11 };
    // In clock ticks, 100 a second on Linux.
    fields
        .get(at..at + 2)
        .map_or(0.0, |t| (t[0] + t[1]) / 100.0)
}

/// Whether `--front` asked for `listkeeper-deliver` (the small binary) in place of
/// `listkeeper deliver`.
static FRONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// One `deliver` as Postfix's pipe runs it; its exit code.
fn deliver(config: &Path, to: &str, message: &[u8]) -> i32 {
    let front = *FRONT.get_or_init(|| std::env::args().any(|a| a == "--front"));
    let mut command = match front {
        true => Command::new(env!("CARGO_BIN_EXE_listkeeper-deliver")),
        false => {
            let mut command = Command::new(bin());
            command.arg("deliver");
            command
        }
    };
    let mut child = command
        .args(["--to", to, "--from", "someone@bench.gov", "--config"])
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

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into())).unwrap()
}

/// `listkeeper serve` on the bench's configuration, stopped on drop.
struct Daemon(Child);

impl Daemon {
    fn start(config: &Path, root: &Path) -> Daemon {
        let log_path = root.join("serve.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        support::daemon::wait_ready(&log_path, 0, &mut child);
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn subscribe_message(from: &str, id: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: x\r\nSubject: join\r\nMessage-ID: <{id}@bench>\r\n\r\nhello\r\n")
        .into_bytes()
}

/// The example configuration, replies over SMTP to `smtp`, LMTP on a free port,
/// limits out of the way (this measures the work, not the brakes).
fn make_config(root: &Path, smtp: u16, unix: bool) -> PathBuf {
    let config = root.join("config");
    copy_dir(&support::repo().join("config"), &config);
    let path = config.join("listkeeper.toml");
    let lmtp = match unix {
        true => format!("unix:{}", root.join("lmtp.sock").display()),
        false => format!("127.0.0.1:{}", sink::free_port()),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "transport = \"file:../var/outbox-mail\"",
            &format!("transport = \"smtp://127.0.0.1:{smtp}\""),
        )
        .replace("lmtp = \"127.0.0.1:8024\"", &format!("lmtp = \"{lmtp}\""))
        .replace("listen = \"127.0.0.1:8025\"", "listen = \"127.0.0.1:0\"")
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

/// The same N requests through mlmmj's forking mode: `mlmmj-receive` (no `-F`) per
/// message, two at once; it exits once the mail is spooled, and the
/// `mlmmj-process` it forked writes the `subconf` file and sends the confirmation
/// request.
fn mlmmj(n: usize) -> Phase {
    let tmp = tempdir();
    let sink = Sink::start(tmp.path());
    let list = mlmmj_list(tmp.path(), sink.port());
    let indices: Vec<usize> = (0..n).collect();
    let phase = phase(&sink, None, n, &indices, |&i| {
        let from = format!("person{i}@d{}.bench.gov", i % 50);
        let mut message = format!("To: sm-cop+subscribe@{D}\r\n").into_bytes();
        message.extend(subscribe_message(&from, &format!("m{i}")));
        let mut child = Command::new(MLMMJ_RECEIVE)
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
        child.wait().unwrap().code().unwrap_or(-1)
    });
    let subconf = std::fs::read_dir(list.join("subconf")).unwrap().count();
    assert_eq!(subconf, n, "mlmmj: one subconf file a request");
    phase
}
