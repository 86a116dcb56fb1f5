//! Limits on the mail a forged request can make us send (docs/reference.md, section 1 `[limits]`).
//!
//! Replies that anyone could cause by forging a request count against their domain per
//! hour and their address per day, in one of two budgets: confirmations (confirmation
//! requests, refusals, notices: `confirmations_per_address_per_day`) and, larger,
//! command results (info, lists, query, help and the like, which only answer a
//! command mail: `command_replies_per_address_per_day`). Every reply counts against
//! the hourly total. A reply over a limit is not sent: the request is logged in the
//! audit file instead. A welcome after a valid token is free of the address and
//! domain budgets. [`Limiter::take`] says when a reply is the last its address budget
//! allows today, so that reply can say so.
//!
//! Counters live in memory (a few timestamps per address, pruned as they age) and in
//! `state_dir/limits.log`, one line per counted reply, so they survive a restart (a
//! crash may forget the last seconds); the log is rewritten with only the live lines
//! when it has grown to several times them.

use crate::address::EmailAddress;
use crate::config;
use crate::fsio;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod client;

pub(crate) use client::ClientBudget;

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Which budget a reply counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Budget {
    /// Only the hourly total (a welcome after a valid token, owners' mail).
    Free,
    /// Results of a command mail: `command_replies_per_address_per_day`.
    Commands,
    /// Confirmation requests, refusals, notices: `confirmations_per_address_per_day`.
    Confirmations,
}

/// A reply the limits allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Its address may be answered again today.
    Again,
    /// The last reply of its kind its address budget allows today.
    Last,
}

/// Why a reply was not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// `confirmations_per_address_per_day`.
    Address,
    /// `command_replies_per_address_per_day`.
    Commands,
    /// `confirmations_per_domain_per_hour`.
    Domain,
    /// `replies_per_hour`.
    Total,
}

impl Over {
    /// Every limit, in the order [`Limiter::dropped`] counts them.
    pub const ALL: [Over; 4] = [Over::Address, Over::Commands, Over::Domain, Over::Total];

    /// The word used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Over::Address => "rate-limit:address",
            Over::Commands => "rate-limit:commands",
            Over::Domain => "rate-limit:domain",
            Over::Total => "rate-limit:total",
        }
    }
}

/// The counters.
#[derive(Debug)]
pub struct Limiter {
    path: PathBuf,
    limits: config::Limits,
    state: Mutex<Option<State>>,
    /// Replies refused, by [`Over::ALL`], since the daemon started (shared with the
    /// limiter a reload replaces, so `/metrics` counts on).
    dropped: std::sync::Arc<[std::sync::atomic::AtomicU64; 4]>,
}

#[derive(Debug, Default)]
struct State {
    /// Confirmations, by address.
    by_address: HashMap<String, Vec<u64>>,
    /// Command results, by address.
    by_address_commands: HashMap<String, Vec<u64>>,
    /// Both kinds, by domain.
    by_domain: HashMap<String, Vec<u64>>,
    total: VecDeque<u64>,
    log_lines: usize,
    /// `limits.log`, kept open for appending (reopened after a compaction).
    file: Option<std::fs::File>,
}

impl Limiter {
    /// The counters kept in `state_dir/limits.log` (read when first needed).
    pub fn new(state_dir: &Path, limits: config::Limits) -> Limiter {
        Limiter {
            path: state_dir.join("limits.log"),
            limits,
            state: Mutex::new(None),
            dropped: Default::default(),
        }
    }

    /// As [`Limiter::new`], going on with `previous`'s count of refused replies.
    pub fn after(state_dir: &Path, limits: config::Limits, previous: Option<&Limiter>) -> Limiter {
        let mut limiter = Limiter::new(state_dir, limits);
        if let Some(previous) = previous {
            limiter.dropped = previous.dropped.clone();
        }
        limiter
    }

    /// How many replies each limit refused since the daemon started.
    pub fn dropped(&self) -> [(Over, u64); 4] {
        let n = |i: usize| self.dropped[i].load(std::sync::atomic::Ordering::Relaxed);
        [0, 1, 2, 3].map(|i| (Over::ALL[i], n(i)))
    }

    /// Counts one reply to `to` against `budget` if the limits allow it; `Err(Over)`
    /// when they do not. [`Allowed::Last`] when it spends the address's budget.
    pub fn take(
        &self,
        to: &EmailAddress,
        budget: Budget,
        now: u64,
    ) -> io::Result<Result<Allowed, Over>> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(self.load(now)?);
        }
        let Some(state) = guard.as_mut() else {
            return Ok(Ok(Allowed::Again));
        };
        let allowed = match self.allows(state, to, budget, now) {
            Ok(allowed) => allowed,
            Err(over) => {
                let i = Over::ALL.iter().position(|o| *o == over).unwrap_or(3);
                self.dropped[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(Err(over));
            }
        };
        self.count(state, to, budget, now)?;
        Ok(Ok(allowed))
    }

    /// Whether one more reply to `to` fits the hourly total and, unless free, the
    /// address's and the domain's budgets (stale stamps are pruned on the way).
    fn allows(
        &self,
        state: &mut State,
        to: &EmailAddress,
        budget: Budget,
        now: u64,
    ) -> Result<Allowed, Over> {
        while state.total.front().is_some_and(|&t| t + HOUR <= now) {
            state.total.pop_front();
        }
        if state.total.len() >= self.limits.replies_per_hour as usize {
            return Err(Over::Total);
        }
        let Some((cap, over)) = self.cap(budget) else {
            return Ok(Allowed::Again);
        };
        let per_address = state.per_address(budget).entry(to.key()).or_default();
        let sent = prune(per_address, now, DAY);
        if sent >= cap {
            return Err(over);
        }
        let allowed = if sent + 1 == cap {
            Allowed::Last
        } else {
            Allowed::Again
        };
        let in_domain = prune(
            state.by_domain.entry(to.domain().to_owned()).or_default(),
            now,
            HOUR,
        );
        if in_domain >= self.limits.confirmations_per_domain_per_hour as usize {
            return Err(Over::Domain);
        }
        Ok(allowed)
    }

    /// Counts one reply to `to`: a line in `limits.log`, the stamps in memory, and a
    /// compaction once the log has grown to several times its live lines.
    fn count(
        &self,
        state: &mut State,
        to: &EmailAddress,
        budget: Budget,
        now: u64,
    ) -> io::Result<()> {
        let key = to.key();
        // Appended without an fsync of its own: a crash may forget the last seconds
        // of counts (a few extra mails at most), and no request pays for it.
        let kind = match budget {
            Budget::Free => 't',
            Budget::Commands => 'c',
            Budget::Confirmations => 'f',
        };
        if state.file.is_none() {
            state.file = Some(fsio::open_append(&self.path)?);
        }
        if let Some(file) = state.file.as_mut() {
            fsio::append(file, format!("{now} {kind} {key}\n").as_bytes())
                .map_err(fsio::at(&self.path))?;
        }
        state.total.push_back(now);
        if budget != Budget::Free {
            state.per_address(budget).entry(key).or_default().push(now);
            state
                .by_domain
                .entry(to.domain().to_owned())
                .or_default()
                .push(now);
        }
        state.log_lines += 1;
        // Addresses hold a few stamps each: their count stands in for the live lines
        // without a walk over every address on every reply.
        let addresses = state.by_address.len() + state.by_address_commands.len();
        if state.log_lines > 4 * (state.total.len() + 3 * addresses) + 1000 {
            self.compact(state, now)?;
        }
        Ok(())
    }

    /// The daily cap of `budget` per address and what exceeding it is called;
    /// `None` for a free reply.
    fn cap(&self, budget: Budget) -> Option<(usize, Over)> {
        match budget {
            Budget::Free => None,
            Budget::Commands => Some((
                self.limits.command_replies_per_address_per_day as usize,
                Over::Commands,
            )),
            Budget::Confirmations => Some((
                self.limits.confirmations_per_address_per_day as usize,
                Over::Address,
            )),
        }
    }

    /// Forgets the address `key` (an erasure): its counts leave memory, and its
    /// lines in `limits.log` become total-only lines (`T t -`), so the hourly total
    /// still counts them.
    pub fn forget(&self, key: &str) -> io::Result<()> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(state) = guard.as_mut() {
            state.by_address.remove(key);
            state.by_address_commands.remove(key);
            state.file = None;
        }
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(fsio::at(&self.path)(e)),
        };
        let mut kept = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let mut parts = line.trim_end().split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(t), Some(_), Some(k)) if k == key => kept.push_str(&format!("{t} t -\n")),
                _ => kept.push_str(line),
            }
        }
        fsio::write_private(&self.path, kept.as_bytes()).map_err(fsio::at(&self.path))
    }

    fn load(&self, now: u64) -> io::Result<State> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(fsio::at(&self.path)(e)),
        };
        let mut state = State::default();
        for line in text.lines() {
            state.log_lines += 1;
            let mut parts = line.split(' ');
            let (Some(Ok(t)), Some(kind), Some(key)) = (
                parts.next().map(str::parse::<u64>),
                parts.next(),
                parts.next(),
            ) else {
                continue; // a torn last line after a crash
            };
            if t + HOUR > now {
                state.total.push_back(t);
            }
            let per_address = match kind {
                "f" => &mut state.by_address,
                "c" => &mut state.by_address_commands,
                _ => continue,
            };
            if t + DAY > now {
                per_address.entry(key.to_owned()).or_default().push(t);
                if t + HOUR > now
                    && let Some((_, domain)) = key.rsplit_once('@')
                {
                    state
                        .by_domain
                        .entry(domain.to_owned())
                        .or_default()
                        .push(t);
                }
            }
        }
        Ok(state)
    }

    /// Rewrites the log with only the lines that still count.
    fn compact(&self, state: &mut State, now: u64) -> io::Result<()> {
        state
            .by_address
            .retain(|_, stamps| prune(stamps, now, DAY) > 0);
        state
            .by_address_commands
            .retain(|_, stamps| prune(stamps, now, DAY) > 0);
        state
            .by_domain
            .retain(|_, stamps| prune(stamps, now, HOUR) > 0);
        let mut lines: Vec<(u64, String)> = Vec::new();
        for (kind, per_address) in [('f', &state.by_address), ('c', &state.by_address_commands)] {
            for (key, stamps) in per_address {
                lines.extend(stamps.iter().map(|&t| (t, format!("{t} {kind} {key}\n"))));
            }
        }
        // Total-only stamps that are not also an address line.
        let forgeable_recent = lines.iter().filter(|(t, _)| t + HOUR > now).count();
        for &t in state
            .total
            .iter()
            .skip(forgeable_recent.min(state.total.len()))
        {
            lines.push((t, format!("{t} t -\n")));
        }
        lines.sort();
        let text: String = lines.iter().map(|(_, l)| l.as_str()).collect();
        fsio::write_private(&self.path, text.as_bytes()).map_err(fsio::at(&self.path))?;
        state.file = None;
        state.log_lines = lines.len();
        Ok(())
    }
}

impl State {
    /// The per-address counters a budget counts against.
    fn per_address(&mut self, budget: Budget) -> &mut HashMap<String, Vec<u64>> {
        match budget {
            Budget::Commands => &mut self.by_address_commands,
            Budget::Free | Budget::Confirmations => &mut self.by_address,
        }
    }
}

/// Drops stamps older than `window`; returns how many are left.
fn prune(stamps: &mut Vec<u64>, now: u64, window: u64) -> usize {
    stamps.retain(|&t| t + window > now);
    stamps.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(dir: &Path) -> Limiter {
        Limiter::new(
            dir,
            config::Limits {
                confirmations_per_address_per_day: 3,
                command_replies_per_address_per_day: 10,
                confirmations_per_domain_per_hour: 5,
                replies_per_hour: 8,
            },
        )
    }

    const F: Budget = Budget::Confirmations;

    fn a(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn each_budget_holds_and_frees_up_with_time() {
        let dir = tempfile::tempdir().unwrap();
        let l = limiter(dir.path());
        let t = 1_000_000;
        for _ in 0..2 {
            assert_eq!(l.take(&a("x@one.gov"), F, t).unwrap(), Ok(Allowed::Again));
        }
        assert_eq!(l.take(&a("x@one.gov"), F, t).unwrap(), Ok(Allowed::Last));
        assert_eq!(l.take(&a("X@one.gov"), F, t).unwrap(), Err(Over::Address));
        assert_eq!(l.take(&a("y@one.gov"), F, t).unwrap(), Ok(Allowed::Again));
        assert_eq!(l.take(&a("z@one.gov"), F, t).unwrap(), Ok(Allowed::Again));
        assert_eq!(l.take(&a("w@one.gov"), F, t).unwrap(), Err(Over::Domain));
        assert_eq!(
            l.take(&a("w@one.gov"), Budget::Free, t).unwrap(),
            Ok(Allowed::Again),
            "a welcome is free of the domain budget"
        );
        assert_eq!(l.take(&a("v@two.gov"), F, t).unwrap(), Ok(Allowed::Again));
        assert_eq!(l.take(&a("u@two.gov"), F, t).unwrap(), Ok(Allowed::Again));
        assert_eq!(
            l.take(&a("s@three.gov"), Budget::Free, t).unwrap(),
            Err(Over::Total)
        );
        // An hour later the domain and the total have room again; the address not yet.
        assert_eq!(
            l.take(&a("w@one.gov"), F, t + HOUR).unwrap(),
            Ok(Allowed::Again)
        );
        assert_eq!(
            l.take(&a("x@one.gov"), F, t + HOUR).unwrap(),
            Err(Over::Address)
        );
        assert_eq!(
            l.take(&a("x@one.gov"), F, t + DAY).unwrap(),
            Ok(Allowed::Again)
        );
    }

    /// Issue 12.10: command results have a budget of their own, so a member's commands
    /// are answered whatever forged confirmations did; the last of each budget says so.
    #[test]
    fn regression_12_10_command_results_have_their_own_budget() {
        let dir = tempfile::tempdir().unwrap();
        let limits = config::Limits {
            confirmations_per_address_per_day: 3,
            command_replies_per_address_per_day: 10,
            confirmations_per_domain_per_hour: 1000,
            replies_per_hour: 1000,
        };
        let l = Limiter::new(dir.path(), limits);
        let t = 2_000_000;
        let c = Budget::Commands;
        for _ in 0..2 {
            l.take(&a("m@one.gov"), F, t).unwrap().unwrap();
        }
        assert_eq!(l.take(&a("m@one.gov"), F, t).unwrap(), Ok(Allowed::Last));
        assert_eq!(l.take(&a("m@one.gov"), F, t).unwrap(), Err(Over::Address));
        for i in 0..9 {
            assert_eq!(
                l.take(&a("m@one.gov"), c, t + i).unwrap(),
                Ok(Allowed::Again),
                "command reply {i}"
            );
        }
        assert_eq!(
            l.take(&a("m@one.gov"), c, t + 9).unwrap(),
            Ok(Allowed::Last)
        );
        // Both budgets survive a restart, each apart.
        let l = Limiter::new(dir.path(), limits);
        assert_eq!(
            l.take(&a("m@one.gov"), c, t + 10).unwrap(),
            Err(Over::Commands)
        );
        assert_eq!(
            l.take(&a("m@one.gov"), F, t + 10).unwrap(),
            Err(Over::Address)
        );
        assert_eq!(
            l.take(&a("n@one.gov"), c, t + 10).unwrap(),
            Ok(Allowed::Again)
        );
        assert_eq!(
            l.take(&a("m@one.gov"), c, t + DAY + 9).unwrap(),
            Ok(Allowed::Again)
        );
    }

    #[test]
    fn counters_survive_a_restart_and_the_log_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let t = 5_000_000;
        {
            let l = limiter(dir.path());
            for _ in 0..3 {
                l.take(&a("x@one.gov"), F, t).unwrap().unwrap();
            }
        }
        let l = limiter(dir.path());
        assert_eq!(
            l.take(&a("x@one.gov"), F, t + 10).unwrap(),
            Err(Over::Address)
        );
        // Many hours of traffic: the log is compacted to what still counts.
        let big = Limiter::new(
            dir.path(),
            config::Limits {
                confirmations_per_address_per_day: 3,
                command_replies_per_address_per_day: 10,
                confirmations_per_domain_per_hour: 1_000_000,
                replies_per_hour: 1_000_000,
            },
        );
        for i in 0..20_000u64 {
            let _ = big
                .take(&a(&format!("u{}@d.gov", i % 100)), F, t + i * 10)
                .unwrap();
        }
        // 100 addresses over 2.3 days: about 700 replies allowed, 19,300 refused.
        let lines = std::fs::read_to_string(dir.path().join("limits.log"))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 2_000, "{lines} lines");
        // Ten days of 300 addresses at their budget: old lines are compacted away.
        let long = Limiter::new(
            dir.path(),
            config::Limits {
                confirmations_per_address_per_day: 3,
                command_replies_per_address_per_day: 10,
                confirmations_per_domain_per_hour: 1_000_000,
                replies_per_hour: 1_000_000,
            },
        );
        let t2 = t + 10 * DAY;
        for day in 0..10 {
            for i in 0..900u64 {
                let _ = long
                    .take(&a(&format!("p{}@e.gov", i % 300)), F, t2 + day * DAY + i)
                    .unwrap();
            }
        }
        let lines = std::fs::read_to_string(dir.path().join("limits.log"))
            .unwrap()
            .lines()
            .count();
        assert!(
            lines < 9_000,
            "9,000 lines written, {lines} kept: compaction ran"
        );
        let fresh = Limiter::new(dir.path(), long.limits);
        assert_eq!(
            fresh.take(&a("p1@e.gov"), F, t2 + 9 * DAY + 1000).unwrap(),
            Err(Over::Address),
            "compaction kept the live counts"
        );
    }

    /// Issue 15: refused replies are counted by limit, and a reload's limiter goes
    /// on counting.
    #[test]
    fn refused_replies_are_counted_by_limit() {
        let dir = tempfile::tempdir().unwrap();
        let limiter = limiter(dir.path());
        let to = a("x@agency.gov");
        while limiter
            .take(&to, Budget::Confirmations, 100)
            .unwrap()
            .is_ok()
        {}
        assert!(
            limiter
                .take(&to, Budget::Confirmations, 101)
                .unwrap()
                .is_err()
        );
        let counted = |l: &Limiter| l.dropped().map(|(_, n)| n);
        assert_eq!(counted(&limiter), [2, 0, 0, 0]);
        let next = Limiter::after(dir.path(), limiter.limits, Some(&limiter));
        assert!(next.take(&to, Budget::Confirmations, 102).unwrap().is_err());
        assert_eq!(counted(&next), [3, 0, 0, 0]);
        assert_eq!(counted(&limiter), [3, 0, 0, 0], "one count, shared");
        assert_eq!(
            Limiter::new(dir.path(), limiter.limits).dropped()[0],
            (Over::Address, 0)
        );
    }
}
