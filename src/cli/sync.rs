//! `sync`: keep a roster's members from one source equal to that source.
//!
//! The source is read whole and checked before the roster is touched; the plan is
//! made and written under the roster's lock (the one the daemon's saver takes), so
//! it is safe while `serve` runs. No welcome or goodbye mail is sent unless
//! `--notify` asks: then they are queued in the outbox (the daemon sends them, or
//! `listkeeper outbox --retry`), free of the `[limits]` budgets like any admin action.

use super::admin::{audit_log, find_list, open_roster, state_log};
use super::migrate::{now, record_all};
use crate::actions::{Act, Outcome, table};
use crate::audit::{AuditLog, Record, Via};
use crate::import::{self, Draft, sync};
use crate::roster::{Member, Origin, RosterFile};
use anyhow::{Context, Result, anyhow, bail};
use std::io::Read;
use std::path::Path;

/// What `sync` was asked.
#[derive(Debug)]
pub(super) struct SyncOptions<'a> {
    pub(super) list: &'a str,
    pub(super) source: &'a str,
    pub(super) dry_run: bool,
    pub(super) max_removals: f64,
    pub(super) name: Option<&'a str>,
    pub(super) force: bool,
    pub(super) notify: bool,
}

/// How often the plan is made again when an editor saved the roster meanwhile.
const TRIES: usize = 3;

/// `listkeeper sync LIST SOURCE [--dry-run] [--max-removals N%] [--name NAME] [--force]`.
pub(super) fn run(dir: &Path, o: &SyncOptions<'_>) -> Result<()> {
    let name = sync_name(o)?;
    let origin = Origin::Sync(name.clone());
    let via = origin.to_string();
    let (mut source, label) = read_checked(o.source)?;
    let config = super::load(dir, Some(o.list))?;
    super::migrate::leave_out_erased(&config, &mut source.members)?;
    let list = find_list(&config, o.list)?;
    let audit = audit_log(&config)?;
    let mut roster = open_roster(list, state_log(&config).as_ref())?;
    let job = Job {
        options: o,
        list,
        source: &source,
        label: &label,
        origin,
        via,
    };
    for _ in 0..TRIES {
        match job.attempt(&mut roster)? {
            Attempt::Finished => return Ok(()),
            Attempt::Overtaken => {}
            Attempt::Written(plan) => {
                audit_plan(&audit, list.id.as_str(), &plan, &job.via)?;
                if o.notify {
                    notify(&config, list, &plan, &name)?;
                }
                println!(
                    "added {}, removed {} ({})",
                    plan.add.len(),
                    plan.remove.len(),
                    roster.path().display()
                );
                return Ok(());
            }
        }
    }
    bail!(
        "the roster kept changing while the sync wrote it (is an editor saving it?); nothing was changed"
    )
}

/// One sync: what was asked, of which list, from which source.
struct Job<'a> {
    options: &'a SyncOptions<'a>,
    list: &'a crate::config::ListConfig,
    source: &'a Draft,
    /// The source as the user named it (`<stdin>` for `-`).
    label: &'a str,
    /// The origin the sync's members carry.
    origin: Origin,
    /// `origin`, as written in the roster and the audit log.
    via: String,
}

/// What one [`Job::attempt`] came to.
enum Attempt {
    /// Nothing more to do: a dry run, or nothing to change.
    Finished,
    /// An editor saved the roster meanwhile: nothing was written; plan again.
    Overtaken,
    /// The plan is in the roster file.
    Written(sync::Plan),
}

impl Job<'_> {
    /// Under the roster's lock: plans on the roster as it is now, says what the
    /// plan is, and writes it unless it is only to be shown, empty, or removes more
    /// than `--max-removals` allows (an error, without `--force`).
    fn attempt(&self, roster: &mut RosterFile) -> Result<Attempt> {
        let o = self.options;
        let lock = roster.lock()?;
        roster.refresh()?;
        let plan = sync::plan(roster.roster(), self.source, &self.origin);
        self.summarise(&plan);
        if plan.over_cap(o.max_removals) && !o.force {
            bail!(
                "the sync would remove {} of the {} member(s) it owns, more than --max-removals {}%: does the source look right? nothing was changed (--force removes them all the same)",
                plan.remove.len(),
                plan.owned,
                o.max_removals
            );
        }
        if o.dry_run {
            show(&plan);
            return Ok(Attempt::Finished);
        }
        if plan.is_empty() {
            println!("nothing to change");
            return Ok(Attempt::Finished);
        }
        apply(roster, &plan, &self.origin)?;
        let Some(stamp) = roster.write_out(&lock)? else {
            // An editor saved the file meanwhile: plan again on what they saved.
            roster.reread()?;
            return Ok(Attempt::Overtaken);
        };
        roster.written(stamp);
        Ok(Attempt::Written(plan))
    }

    /// What the source holds and what the plan changes.
    fn summarise(&self, plan: &sync::Plan) {
        println!(
            "sync {} from {} ({}): {} in the source, {} member(s) from this sync, {} in the source joined another way (kept as they are)",
            self.list.id,
            self.label,
            self.via,
            self.source.members.len(),
            plan.owned,
            plan.joined_otherwise
        );
        println!(
            "  to add: {}, to remove: {}",
            plan.add.len(),
            plan.remove.len()
        );
    }
}

/// `--notify`: a welcome to each member added and a goodbye to each removed, queued
/// as one batch.
fn notify(
    config: &crate::config::Config,
    list: &crate::config::ListConfig,
    plan: &sync::Plan,
    name: &str,
) -> Result<()> {
    let ctx = crate::pipeline::Context::open(config.clone()).context("opening the state folder")?;
    let now = crate::clock::unix_now();
    // What an admin's `add` and `remove` tell the person, by the actions' table.
    let mut replies = crate::replies::Replies::default();
    let mut tell = |to: &crate::address::EmailAddress, act, outcome| {
        if let Some(notice) = table::notice(&ctx.config, list, act, &outcome, None, now) {
            replies.tell(&ctx.config, to, list, &to.to_string(), &notice);
        }
    };
    for m in &plan.add {
        tell(&m.address, Act::Add, Outcome::Added);
    }
    for a in &plan.remove {
        tell(a, Act::Remove, Outcome::Removed);
    }
    let mails = replies.render_unbudgeted(&ctx, now)?;
    let count = mails.len();
    let key = format!("sync-{}-{name}-{now}", list.id);
    crate::commit::commit(&ctx, key, Some(list.id.to_string()), mails, now)
        .context("queueing the notices")?;
    println!("queued {count} welcome/goodbye mail(s) in the outbox");
    Ok(())
}

/// The source, read whole; any line that does not read is an error.
fn read_checked(source: &str) -> Result<(Draft, String)> {
    let (bytes, label) = read_source(source)?;
    let bar = super::progress::reading(bytes.len());
    let draft = import::csv::read_with(&bytes, Path::new(&label), &mut |at| bar.set_position(at));
    bar.finish_and_clear();
    let draft = draft?;
    if let Some(first) = draft.invalid.first() {
        for e in &draft.invalid {
            eprintln!("listkeeper: {e}");
        }
        bail!(
            "{} line(s) of the source could not be read (the first: {first}); nothing was changed",
            draft.invalid.len()
        );
    }
    Ok((draft, label))
}

/// `--dry-run`: the first changes, by address.
fn show(plan: &sync::Plan) {
    for m in plan.add.iter().take(50) {
        println!("  would add {}", m.address);
    }
    for a in plan.remove.iter().take(50) {
        println!("  would remove {a}");
    }
    println!("dry run: nothing was changed");
}

/// Makes the plan's changes to the roster in memory (written by the caller).
fn apply(roster: &mut RosterFile, plan: &sync::Plan, via: &Origin) -> Result<()> {
    let since = now();
    let path = roster.path().to_owned();
    roster
        .roster_mut()
        .remove_many(&plan.remove)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let bar = super::progress::bar(plan.add.len() as u64, "roster");
    for (i, m) in plan.add.iter().enumerate() {
        roster.roster_mut().add(&Member {
            address: m.address.clone(),
            name: m.name.clone(),
            since: m.since.or(since),
            via: Some(via.clone()),
            setting: Default::default(),
            request: None,
            terms: None,
            lang: None,
        });
        if (i as u64).is_multiple_of(super::progress::STEP) {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// One audit line a change, one fsync for them all.
fn audit_plan(audit: &AuditLog, list: &str, plan: &sync::Plan, via: &str) -> Result<()> {
    record_all(audit, list, &plan.add, via)?;
    for a in &plan.remove {
        let address = a.to_string();
        audit
            .write(&Record::new(
                list,
                &address,
                via,
                "removed",
                Via::Admin,
                crate::clock::unix_now(),
            ))
            .context("the roster was changed, but the audit log could not be written")?;
    }
    audit
        .sync()
        .context("the roster was changed, but the audit log could not be synced")
}

/// `--name`, or the source file's stem; `-` (stdin) needs `--name`.
fn sync_name(o: &SyncOptions<'_>) -> Result<String> {
    let name = match o.name {
        Some(n) => n.to_owned(),
        None if o.source == "-" => bail!("a sync from standard input needs --name NAME"),
        None => Path::new(o.source)
            .file_stem()
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .ok_or_else(|| anyhow!("no name in {}: pass --name NAME", o.source))?,
    };
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        bail!("`{name}` is not a sync name: use letters, digits, `-`, `_` and `.` (--name NAME)");
    }
    Ok(name)
}

fn read_source(source: &str) -> Result<(Vec<u8>, String)> {
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        return Ok((bytes, "<stdin>".into()));
    }
    let bytes = std::fs::read(source).with_context(|| format!("cannot read {source}"))?;
    Ok((bytes, source.to_owned()))
}
