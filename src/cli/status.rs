//! `listkeeper status [--json] [--max-wait D]`: is anything stuck, at a glance, and a
//! monitoring check (Nagios-style): the daemon (its `serve.json` in the state folder,
//! written by `serve`, and whether the LMTP address answers), each list's members,
//! pending and held requests, the outbox's depth and oldest waiting reply with its
//! last error, the rate-limit drops of the last day (from `audit.log`) and the state
//! log's size. Exit 1 when the oldest reply has waited longer than `--max-wait`, or
//! the daemon is not answering; 0 otherwise.
//!
//! Read-only: nothing in the state folder is created or changed (a missing state log
//! is reported as such, not made).

use crate::config::{Config, Listen};
use crate::records::Awaiting;
use crate::roster::RosterFile;
use crate::statelog::StateLog;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The name of the daemon's status file in the state folder.
pub(super) const SERVE_FILE: &str = "serve.json";

/// How much of the end of `audit.log` is read for the last day's drops.
const AUDIT_TAIL: u64 = 4 << 20;

/// What `serve` records about itself, in `state_dir/serve.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ServeRecord {
    /// The daemon's process id.
    pub(super) pid: u32,
    /// When it became ready (the LMTP socket bound), RFC 3339.
    pub(super) ready: String,
    /// When the configuration in force was loaded (start, or the last SIGHUP).
    pub(super) config_loaded: String,
    /// When it stopped (SIGTERM), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stopped: Option<String>,
}

/// Writes `serve.json` (for `status`); a failure is only logged by the caller.
pub(super) fn record_serve(state_dir: &Path, record: &ServeRecord) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    crate::fsio::write_atomic(&state_dir.join(SERVE_FILE), &text)
}

#[derive(Debug, Serialize)]
struct Status {
    daemon: Daemon,
    lists: Vec<ListStatus>,
    outbox: OutboxStatus,
    rate_limit_drops_last_day: RateLimitDrops,
    state_log_bytes: Option<u64>,
    /// Roster changes durable in state.log, not yet in their roster files.
    roster_changes_unsaved: usize,
    /// What makes the exit code 1, if anything.
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Daemon {
    /// The process named in serve.json is running and has not recorded a stop.
    running: bool,
    /// The LMTP address accepted a connection and greeted.
    answering: bool,
    lmtp: String,
    #[serde(flatten)]
    record: Option<ServeRecord>,
}

#[derive(Debug, Serialize)]
struct ListStatus {
    id: String,
    members: Option<usize>,
    pending: usize,
    held: usize,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct OutboxStatus {
    waiting: usize,
    failed: usize,
    oldest_waiting_seconds: Option<u64>,
    oldest_attempts: Option<u32>,
    oldest_last_error: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct RateLimitDrops {
    address: usize,
    commands: usize,
    domain: usize,
    total: usize,
}

/// Runs `status`; the exit code is the check's verdict.
pub(super) fn run(config: &Config, json: bool, max_wait: Duration) -> Result<ExitCode> {
    let state = &config.server.state_dir;
    let now = crate::clock::unix_now();
    let log = if state.join("state.log").exists() {
        Some(StateLog::open(state)?)
    } else {
        None
    };
    let lists = list_statuses(config, log.as_ref());
    let outbox = outbox_status(state, log.as_ref(), now)?;
    let daemon = daemon(config);
    let problems = problems(&daemon, &outbox, max_wait);
    let status = Status {
        daemon,
        lists,
        outbox,
        rate_limit_drops_last_day: drops(&state.join("audit.log"), now),
        state_log_bytes: std::fs::metadata(state.join("state.log"))
            .ok()
            .map(|m| m.len()),
        roster_changes_unsaved: log
            .as_ref()
            .and_then(|l| l.read(|s| s.roster.len()).ok())
            .unwrap_or(0),
        problems,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_human(&status);
    }
    Ok(if status.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Each list's members (or why its roster does not load) and its pending and held
/// requests.
fn list_statuses(config: &Config, log: Option<&StateLog>) -> Vec<ListStatus> {
    let counts = |queue: Awaiting, id: &str| {
        log.map_or(0, |l| {
            l.read(|s| s.awaiting(queue).values().filter(|p| p.list == id).count())
                .unwrap_or(0)
        })
    };
    config
        .lists
        .values()
        .map(|l| {
            let id = l.id.as_str();
            let roster = RosterFile::open(&l.roster_path(), &l.includes());
            ListStatus {
                id: id.to_owned(),
                members: roster.as_ref().ok().map(|r| r.roster().len()),
                pending: counts(Awaiting::Confirmation, id),
                held: counts(Awaiting::Owners, id),
                error: roster.err().map(|e| e.to_string()),
            }
        })
        .collect()
}

/// The replies waiting in the state log, the oldest of them, and those failed for good.
fn outbox_status(state: &Path, log: Option<&StateLog>, now: u64) -> Result<OutboxStatus> {
    let batches = log
        .map(|l| l.read(|s| s.outbox.values().cloned().collect::<Vec<_>>()))
        .transpose()?
        .unwrap_or_default();
    let oldest = batches.iter().min_by_key(|b| b.created);
    let failed = std::fs::read_dir(state.join("outbox/failed")).map_or(0, |d| d.count());
    Ok(OutboxStatus {
        waiting: batches.len(),
        failed,
        oldest_waiting_seconds: oldest.map(|b| now.saturating_sub(b.created)),
        oldest_attempts: oldest.map(|b| b.attempts),
        oldest_last_error: oldest.and_then(|b| b.last_error.clone()),
    })
}

/// What makes the check fail: a daemon that does not answer, a reply waiting too long.
fn problems(daemon: &Daemon, outbox: &OutboxStatus, max_wait: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    if !daemon.answering {
        problems.push(format!("the daemon does not answer on {}", daemon.lmtp));
    }
    if let Some(waited) = outbox.oldest_waiting_seconds
        && waited > max_wait.as_secs()
    {
        problems.push(format!(
            "a reply has waited {} (more than {})",
            humantime::format_duration(Duration::from_secs(waited)),
            humantime::format_duration(max_wait)
        ));
    }
    problems
}

fn daemon(config: &Config) -> Daemon {
    let record: Option<ServeRecord> = std::fs::read(config.server.state_dir.join(SERVE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let running = record
        .as_ref()
        .is_some_and(|r| r.stopped.is_none() && Path::new(&format!("/proc/{}", r.pid)).exists());
    let (lmtp, answering) = match &config.server.inbound.lmtp {
        Listen::Tcp(addr) => (
            addr.to_string(),
            std::net::TcpStream::connect_timeout(addr, Duration::from_secs(2)).is_ok_and(greets),
        ),
        Listen::Unix(path) => (
            format!("unix:{}", path.display()),
            std::os::unix::net::UnixStream::connect(path).is_ok_and(greets),
        ),
    };
    Daemon {
        running,
        answering,
        lmtp,
        record,
    }
}

/// Whether an LMTP server greets with 220 (then the connection is closed politely).
fn greets<S: Read + std::io::Write + SetTimeout>(mut s: S) -> bool {
    s.set_timeout(Duration::from_secs(2));
    let mut line = String::new();
    let ok = std::io::BufReader::new(&mut s)
        .read_line(&mut line)
        .is_ok_and(|_| line.starts_with("220"));
    let _ = s.write_all(b"QUIT\r\n");
    ok
}

/// A read timeout on either kind of stream.
trait SetTimeout {
    fn set_timeout(&self, t: Duration);
}

impl SetTimeout for std::net::TcpStream {
    fn set_timeout(&self, t: Duration) {
        let _ = self.set_read_timeout(Some(t));
    }
}

impl SetTimeout for std::os::unix::net::UnixStream {
    fn set_timeout(&self, t: Duration) {
        let _ = self.set_read_timeout(Some(t));
    }
}

/// The `rate-limit:*` outcomes in the last day of `audit.log` (its last few MiB).
fn drops(path: &Path, now: u64) -> RateLimitDrops {
    let mut drops = RateLimitDrops::default();
    let Ok(mut file) = std::fs::File::open(path) else {
        return drops;
    };
    let len = file.metadata().map_or(0, |m| m.len());
    if file
        .seek(SeekFrom::Start(len.saturating_sub(AUDIT_TAIL)))
        .is_err()
    {
        return drops;
    }
    let since = std::time::UNIX_EPOCH + Duration::from_secs(now.saturating_sub(86_400));
    let since = humantime::format_rfc3339_seconds(since).to_string();
    #[derive(Deserialize)]
    struct Line {
        time: String,
        outcome: String,
    }
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        // The first line may be cut by the seek; it does not parse and is skipped.
        let Ok(l) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        if l.time < since {
            continue;
        }
        match l.outcome.as_str() {
            "rate-limit:address" => drops.address += 1,
            "rate-limit:commands" => drops.commands += 1,
            "rate-limit:domain" => drops.domain += 1,
            "rate-limit:total" => drops.total += 1,
            _ => {}
        }
    }
    drops
}

fn print_human(s: &Status) {
    print_daemon(&s.daemon);
    for l in &s.lists {
        match (&l.members, &l.error) {
            (Some(m), _) => println!(
                "list {}: {m} members, {} awaiting confirmation, {} held for the owners",
                l.id, l.pending, l.held
            ),
            (None, e) => println!(
                "list {}: roster does not load: {}",
                l.id,
                e.as_deref().unwrap_or("-")
            ),
        }
    }
    let o = &s.outbox;
    match o.oldest_waiting_seconds {
        Some(w) => println!(
            "outbox: {} waiting, oldest for {} ({} attempts, last error: {}); {} failed for good",
            o.waiting,
            humantime::format_duration(Duration::from_secs(w)),
            o.oldest_attempts.unwrap_or(0),
            o.oldest_last_error.as_deref().unwrap_or("-"),
            o.failed
        ),
        None => println!("outbox: empty; {} failed for good", o.failed),
    }
    let r = &s.rate_limit_drops_last_day;
    println!(
        "rate-limit drops, last 24 h: address {}, commands {}, domain {}, total {}",
        r.address, r.commands, r.domain, r.total
    );
    match s.state_log_bytes {
        Some(b) => println!(
            "state.log: {}; {} roster change(s) not yet in their files",
            bytesize::ByteSize::b(b),
            s.roster_changes_unsaved
        ),
        None => println!("state.log: none yet"),
    }
    for p in &s.problems {
        println!("PROBLEM: {p}");
    }
}

/// The `daemon:` line, from `serve.json` when there is one.
fn print_daemon(d: &Daemon) {
    let answering = if d.answering {
        "answering"
    } else {
        "NOT answering"
    };
    match &d.record {
        Some(r) => println!(
            "daemon: {}, {answering} on {} (pid {}, ready {}, configuration loaded {}{})",
            if d.running { "running" } else { "not running" },
            d.lmtp,
            r.pid,
            r.ready,
            r.config_loaded,
            r.stopped
                .as_ref()
                .map_or(String::new(), |t| format!(", stopped {t}"))
        ),
        None => println!(
            "daemon: {answering} on {} (no record of a serve in the state folder)",
            d.lmtp
        ),
    }
}
