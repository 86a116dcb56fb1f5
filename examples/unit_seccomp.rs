//! Runs a command under the system call filter a systemd unit's `SystemCallFilter=`
//! lines describe, the way systemd would, so a change to the code or to the unit can
//! be tried without installing the unit:
//!
//! ```sh
//! cargo run --example unit_seccomp -- examples/systemd/listkeeper.service \
//!     target/debug/listkeeper serve --config config
//! ```
//!
//! The groups (`@system-service`, `~@privileged`, ...) are expanded by asking
//! `systemd-analyze syscall-filter`, so the filter follows both the unit and the
//! machine's systemd. A call outside the filter kills the process with SIGSYS, as
//! systemd does for a unit without `SystemCallErrorNumber=`: the strictest reading,
//! so a test sees the crash production would see. The filter is installed on this
//! process, which then execs the command (a filter survives exec). `tests/it/seccomp.rs`
//! runs the daemon through it.
//!
//! Not covered: per-call `:ERRNO` suffixes (refused), and calls newer than the
//! machine's systemd knows (here they kill; a recent systemd answers ENOSYS).

use anyhow::{Context, bail};
use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::str::FromStr;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(unit), Some(program)) = (args.next(), args.next()) else {
        bail!("usage: unit_seccomp UNIT_FILE PROGRAM [ARGS...]");
    };
    let text = std::fs::read_to_string(&unit)
        .with_context(|| format!("reading {}", unit.to_string_lossy()))?;
    let groups = groups()?;
    let policy = Policy::of_unit(&text, &groups)?;
    let filter = policy.filter()?;
    seccompiler::apply_filter(&filter).context("installing the filter")?;
    let err = Command::new(&program).args(args).exec();
    bail!("exec {}: {err}", program.to_string_lossy())
}

/// What a unit's `SystemCallFilter=` lines add up to.
#[derive(Debug, PartialEq, Eq)]
struct Policy {
    /// `true`: only `calls` are allowed; `false`: all but `calls`.
    allow_list: bool,
    calls: BTreeSet<String>,
}

impl Policy {
    /// Merges the lines as systemd does: the first line decides allow-list or
    /// deny-list (an allow-list starts from `@default`); later lines of the same
    /// kind add, inverted (`~`) ones take away; an empty assignment resets.
    fn of_unit(unit: &str, groups: &HashMap<String, Vec<String>>) -> anyhow::Result<Policy> {
        let mut policy: Option<Policy> = None;
        for value in filter_lines(unit) {
            let (invert, names) = match value.strip_prefix('~') {
                Some(rest) => (true, rest),
                None => (false, value),
            };
            if names.trim().is_empty() {
                policy = None;
                continue;
            }
            let p = match &mut policy {
                Some(p) => p,
                None => {
                    let mut calls = BTreeSet::new();
                    if !invert {
                        expand("@default", groups, &mut calls)?;
                    }
                    policy.insert(Policy {
                        allow_list: !invert,
                        calls,
                    })
                }
            };
            let mut these = BTreeSet::new();
            for name in names.split_whitespace() {
                expand(name, groups, &mut these)?;
            }
            // An allow-list grows by plain lines, a deny-list by inverted ones.
            if p.allow_list != invert {
                p.calls.extend(these);
            } else {
                p.calls.retain(|c| !these.contains(c));
            }
        }
        policy.context("the unit has no SystemCallFilter= line")
    }

    /// The BPF program: calls this architecture does not have are left out (systemd
    /// skips them too), anything the policy refuses kills the process.
    fn filter(&self) -> anyhow::Result<seccompiler::BpfProgram> {
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = self
            .calls
            .iter()
            .filter_map(|name| syscalls::Sysno::from_str(name).ok())
            .map(|nr| (i64::from(nr.id()), Vec::new()))
            .collect();
        let (mismatch, matched) = if self.allow_list {
            (SeccompAction::KillProcess, SeccompAction::Allow)
        } else {
            (SeccompAction::Allow, SeccompAction::KillProcess)
        };
        let arch = TargetArch::try_from(std::env::consts::ARCH)?;
        Ok(SeccompFilter::new(rules, mismatch, matched, arch)?.try_into()?)
    }
}

/// The values of the `SystemCallFilter=` lines, in order.
fn filter_lines(unit: &str) -> impl Iterator<Item = &str> {
    unit.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("SystemCallFilter"))
        .filter_map(|l| l.trim_start().strip_prefix('='))
        .map(str::trim)
}

/// Adds `name` to `out`: a call as it is, a `@group` with everything in it.
fn expand(
    name: &str,
    groups: &HashMap<String, Vec<String>>,
    out: &mut BTreeSet<String>,
) -> anyhow::Result<()> {
    if name.contains(':') {
        bail!("{name}: per-call error numbers are not supported here");
    }
    if !name.starts_with('@') {
        out.insert(name.to_owned());
        return Ok(());
    }
    let members = groups
        .get(name)
        .with_context(|| format!("systemd-analyze does not know the group {name}"))?;
    for member in members {
        expand(member, groups, out)?;
    }
    Ok(())
}

/// Every group `systemd-analyze syscall-filter` lists, with its members.
fn groups() -> anyhow::Result<HashMap<String, Vec<String>>> {
    let out = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .context("running systemd-analyze syscall-filter (is systemd installed?)")?;
    if !out.status.success() {
        bail!(
            "systemd-analyze syscall-filter: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(parse_groups(&String::from_utf8_lossy(&out.stdout)))
}

/// Reads `@group` lines, each followed by its indented members (`#` lines are
/// comments).
fn parse_groups(listing: &str) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut current = None;
    for line in listing.lines() {
        let item = line.trim();
        if item.is_empty() || item.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            current = Some(groups.entry(item.to_owned()).or_default());
        } else if let Some(members) = current.as_mut() {
            members.push(item.to_owned());
        }
    }
    groups
}
