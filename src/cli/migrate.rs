//! `import` and `export`: move a list in from another list manager, or out again.
//!
//! An import reads the whole source first, shows what it would do, and writes only
//! when everything read: a new list is built in a hidden folder beside `lists/`,
//! checked to load as the daemon would load it, and renamed into place in one step,
//! so a failed import leaves nothing behind. `--merge` adds the members to an
//! existing list through the roster store instead, under the roster's lock, as
//! `listkeeper add` does, and keeps its `list.toml`.

use super::admin::{audit_log, find_list, open_roster, state_log};
use super::progress;
use crate::audit::{AuditLog, Record, Via};
use crate::config::{Config, ListId};
use crate::eligibility::{self, Evidence, Ruling};
use crate::import::{self, Draft, DraftList, DraftMember, export};
use crate::roster::{Member, Roster};
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use std::str::FromStr;

/// The formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ImportFormat {
    /// A LISTSERV list file (header, then subscribers).
    Listserv,
    /// `address[,name[,since]]` rows, with a header row or without.
    Csv,
    /// A mlmmj list directory (subscribers.d/, control/, …).
    Mlmmj,
    /// A Mailman 3 dump: `mailman members` output or REST JSON, or a folder of them.
    Mailman3,
}

impl ImportFormat {
    fn word(self) -> &'static str {
        match self {
            ImportFormat::Listserv => "listserv",
            ImportFormat::Csv => "csv",
            ImportFormat::Mlmmj => "mlmmj",
            ImportFormat::Mailman3 => "mailman3",
        }
    }
}

/// What `import` was asked.
#[derive(Debug)]
pub(super) struct ImportOptions<'a> {
    pub(super) format: ImportFormat,
    pub(super) path: &'a Path,
    pub(super) list: &'a str,
    pub(super) dry_run: bool,
    pub(super) merge: bool,
    pub(super) skip_invalid: bool,
    pub(super) owners: &'a [String],
}

/// `listkeeper import FORMAT PATH --list ID [--dry-run] [--merge] [--skip-invalid]`.
pub(super) fn import(dir: &Path, o: &ImportOptions<'_>) -> Result<()> {
    let id = ListId::parse(o.list).map_err(|e| anyhow!("--list: {e}"))?;
    let mut draft = read_source(o.format, o.path)?;
    for owner in o.owners {
        let owner = crate::address::EmailAddress::parse(owner.trim())
            .map_err(|e| anyhow!("--owner: {e}"))?
            .to_string();
        if !draft.list.owners.contains(&owner) {
            draft.list.owners.push(owner);
        }
    }
    let config = super::load(dir, None)?;
    leave_out_erased(&config, &mut draft.members)?;
    let folder = config.dir.join("lists").join(id.as_str());
    let existing = config.list(id.as_str()).is_some() || folder.exists();
    print_draft(&draft, o, &id, &folder, existing);
    if !draft.invalid.is_empty() && !o.skip_invalid {
        bail!(
            "{} line(s) of {} could not be read (listed above); nothing was written: fix them, or pass --skip-invalid to import the rest",
            draft.invalid.len(),
            o.path.display()
        );
    }
    if existing && !o.merge {
        bail!(
            "the list `{id}` exists already ({}); nothing was written: --merge adds the members to it and keeps its list.toml",
            folder.display()
        );
    }
    let via = format!("import:{}", o.format.word());
    if existing {
        return merge(&config, &id, &draft, &via, o.dry_run);
    }
    if draft.list.owners.is_empty() {
        bail!(
            "{} names no owner, and a list needs one; nothing was written: pass --owner ADDRESS",
            o.path.display()
        );
    }
    create(&config, &id, &draft, o, &via)
}

/// Leaves out the members `listkeeper erase` erased (the suppression list): an
/// import or a sync does not bring them back silently; their own request still does.
pub(super) fn leave_out_erased(config: &Config, members: &mut Vec<DraftMember>) -> Result<()> {
    let suppressed = crate::erased::Suppressed::load(&config.server.state_dir)
        .context("reading the suppression list erased.list")?;
    if suppressed.is_empty() {
        return Ok(());
    }
    let keys = super::links::keys(config)?;
    let before = members.len();
    members.retain(|m| !suppressed.contains(&keys, &m.address));
    if members.len() < before {
        eprintln!(
            "listkeeper: {} erased address(es) left out (listkeeper erase; their own request can still bring them back)",
            before - members.len()
        );
    }
    Ok(())
}

/// A new list: built and checked in a hidden folder, then renamed into `lists/`.
fn create(
    config: &Config,
    id: &ListId,
    draft: &Draft,
    o: &ImportOptions<'_>,
    via: &str,
) -> Result<()> {
    let folder = config.dir.join("lists").join(id.as_str());
    let source = format!("{} {}", o.format.word(), o.path.display());
    let list_text = import::list_toml(id.as_str(), &draft.list, &source);
    let roster = build_roster(&draft.members, via, &source)?;
    if o.dry_run {
        let check = tempfile::tempdir().context("creating a temporary folder")?;
        let checked = stage(config, check.path(), id, &list_text, &roster)?;
        warn_inadmissible(&checked, id, &draft.members);
        println!("dry run: the list loads; nothing was written");
        return Ok(());
    }
    let staging = tempfile::Builder::new()
        .prefix(".import-")
        .tempdir_in(&config.dir)
        .with_context(|| format!("creating a folder in {}", config.dir.display()))?;
    let checked = stage(config, staging.path(), id, &list_text, &roster)?;
    warn_inadmissible(&checked, id, &draft.members);
    std::fs::rename(staging.path().join("lists").join(id.as_str()), &folder)
        .with_context(|| format!("moving the new list into {}", folder.display()))?;
    crate::fsio::sync_dir(&config.dir.join("lists"))
        .with_context(|| format!("syncing {}", config.dir.join("lists").display()))?;
    let audit = audit_log(config)?;
    record_all(&audit, id.as_str(), &draft.members, "import")?;
    println!(
        "wrote {} and {} ({} member(s)); `listkeeper check` checks it, and the daemon serves it after a reload (SIGHUP)",
        folder.join("list.toml").display(),
        folder.join("roster.toml").display(),
        draft.members.len()
    );
    Ok(())
}

/// `listkeeper export LIST --format csv|json|listserv`.
pub(super) fn export(config: &Config, list: &str, format: export::Format) -> Result<()> {
    let list = find_list(config, list)?;
    let roster = open_roster(list, state_log(config).as_ref())?;
    let text = export::render(format, list, &roster.roster().members())
        .map_err(|e| anyhow!("exporting {}: {e}", list.id))?;
    print!("{text}");
    Ok(())
}

fn read_source(format: ImportFormat, path: &Path) -> Result<Draft> {
    let bytes = || std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
    let draft = match format {
        ImportFormat::Mlmmj => import::mlmmj::read(path)?,
        ImportFormat::Mailman3 => import::mailman3::read(path)?,
        ImportFormat::Csv => {
            let bytes = bytes()?;
            let bar = progress::reading(bytes.len());
            let draft = import::csv::read_with(&bytes, path, &mut |at| bar.set_position(at));
            bar.finish_and_clear();
            draft?
        }
        ImportFormat::Listserv => {
            import::listserv::read(&String::from_utf8_lossy(&bytes()?), path)?
        }
    };
    Ok(draft)
}

/// The roster text of a new list: a comment, then one line a member.
fn build_roster(members: &[DraftMember], via: &str, source: &str) -> Result<Roster> {
    let header = format!(
        "# Members imported by `listkeeper import` from {}.\n[members]\n",
        source.replace(['\n', '\r'], " ")
    );
    let mut roster = Roster::parse(header).map_err(|e| anyhow!("the roster header: {e}"))?;
    let bar = progress::bar(members.len() as u64, "roster");
    for (i, m) in members.iter().enumerate() {
        roster.add(&member(m, via));
        if (i as u64).is_multiple_of(progress::STEP) {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    Ok(roster)
}

fn member(m: &DraftMember, via: &str) -> Member {
    Member {
        address: m.address.clone(),
        name: m.name.clone(),
        since: m.since,
        via: Some(via.into()),
        setting: setting_of(&m.untranslated),
        request: None,
        terms: None,
        lang: None,
    }
}

/// The delivery mode a member's options from the source come to: `NOMAIL` (over
/// any digest option, as LISTSERV has it), else `DIGEST`/`DIGESTS`, else mail. Who
/// set it there the source does not say: no `why`.
fn setting_of(options: &[String]) -> crate::roster::Setting {
    use crate::roster::{Mode, Setting};
    let has = |o: &str| options.iter().any(|x| x.eq_ignore_ascii_case(o));
    let mode = if has("NOMAIL") {
        Mode::Nomail
    } else if has("DIGEST") || has("DIGESTS") {
        Mode::Digest
    } else {
        Mode::Mail
    };
    Setting {
        mode,
        until: None,
        why: None,
    }
}

/// Writes `listkeeper.toml` (a copy) and the new list into `at`, and checks that
/// the whole loads.
fn stage(config: &Config, at: &Path, id: &ListId, list: &str, roster: &Roster) -> Result<Config> {
    let folder = at.join("lists").join(id.as_str());
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    std::fs::copy(
        config.dir.join("listkeeper.toml"),
        at.join("listkeeper.toml"),
    )
    .context("copying listkeeper.toml to check the new list")?;
    crate::fsio::write_atomic(&folder.join("list.toml"), list.as_bytes())
        .with_context(|| format!("writing {}", folder.join("list.toml").display()))?;
    crate::fsio::write_atomic(&folder.join("roster.toml"), roster.text().as_bytes())
        .with_context(|| format!("writing {}", folder.join("roster.toml").display()))?;
    Config::load(at).map_err(|problems| {
        anyhow!(
            "the imported list would not load (a listkeeper bug; nothing was written):\n{problems}"
        )
    })
}

/// Says which members the new list's rules would not admit: kept, as they were
/// members of the old list, but `check` warns about them.
fn warn_inadmissible(checked: &Config, id: &ListId, members: &[DraftMember]) {
    let Some(list) = checked.list(id.as_str()) else {
        return;
    };
    let refused: Vec<&DraftMember> = members
        .iter()
        .filter(|m| {
            eligibility::decide(&list.rules, &list.terms, &m.address, Evidence::default()).action
                == Ruling::Reject
        })
        .collect();
    if refused.is_empty() {
        return;
    }
    let shown: Vec<String> = refused
        .iter()
        .take(20)
        .map(|m| format!("{} (line {})", m.address, m.line))
        .collect();
    println!(
        "  warning: {} member(s) the list's rules would not admit, imported all the same: {}{}",
        refused.len(),
        shown.join(", "),
        more(refused.len(), shown.len())
    );
}

fn more(all: usize, shown: usize) -> String {
    if all > shown {
        format!(" and {} more", all - shown)
    } else {
        String::new()
    }
}

/// `--merge`: adds the members that are not members yet, under the roster's lock.
fn merge(config: &Config, id: &ListId, draft: &Draft, via: &str, dry_run: bool) -> Result<()> {
    let list = find_list(config, id.as_str())?;
    let mut roster = open_roster(list, state_log(config).as_ref())?;
    if dry_run {
        let new = draft
            .members
            .iter()
            .filter(|m| !roster.roster().contains(&m.address))
            .count();
        println!(
            "dry run: would add {new} member(s) to {id} ({} already members); its list.toml is kept; nothing was written",
            draft.members.len() - new
        );
        return Ok(());
    }
    let audit = audit_log(config)?;
    let added = roster
        .change(|r| {
            let added: Vec<DraftMember> = draft
                .members
                .iter()
                .filter(|m| r.add(&member(m, via)))
                .cloned()
                .collect();
            let changed = !added.is_empty();
            (added, changed)
        })
        .with_context(|| format!("could not add the members to {id}"))?;
    record_all(&audit, id.as_str(), &added, "import")?;
    println!(
        "added {} member(s) to {id} ({} already members); its list.toml was kept ({})",
        added.len(),
        draft.members.len() - added.len(),
        roster.path().display()
    );
    Ok(())
}

/// One audit line a member added, with one fsync for them all.
pub(super) fn record_all(
    audit: &AuditLog,
    list: &str,
    members: &[DraftMember],
    action: &str,
) -> Result<()> {
    let failed = || {
        format!(
            "the roster was changed, but the audit log {} could not be written",
            audit.path().display()
        )
    };
    let bar = progress::bar(members.len() as u64, "audit log");
    for (i, m) in members.iter().enumerate() {
        let address = m.address.to_string();
        audit
            .write(&Record::new(
                list,
                &address,
                action,
                "added",
                Via::Admin,
                crate::clock::unix_now(),
            ))
            .with_context(failed)?;
        if (i as u64).is_multiple_of(progress::STEP) {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    audit.sync().with_context(failed)
}

/// The time now, for a member's `since`.
pub(super) fn now() -> Option<toml_datetime::Datetime> {
    toml_datetime::Datetime::from_str(&crate::clock::rfc3339(crate::clock::unix_now())).ok()
}

/// What the import would do, in words.
fn print_draft(d: &Draft, o: &ImportOptions<'_>, id: &ListId, folder: &Path, existing: bool) {
    println!(
        "import {} {} into the list {id} ({}{})",
        o.format.word(),
        o.path.display(),
        folder.display(),
        if existing { ", which exists" } else { ", new" }
    );
    print_settings(&d.list, id);
    println!(
        "  members: {} ({} duplicate(s) merged, {} line(s) not read)",
        d.members.len(),
        d.duplicates.len(),
        d.invalid.len()
    );
    for (line, first, address) in &d.duplicates {
        println!("  duplicate: line {line}: {address} (merged into line {first})");
    }
    for e in &d.invalid {
        println!("  could not read: {e}");
    }
    for u in &d.untranslated {
        println!("  not translated: {u}");
    }
    for (option, members) in d.untranslated_options() {
        print_untranslated_option(&option, &members);
    }
}

/// The list settings the draft carries: name, title, owners, policies and rules.
fn print_settings(l: &DraftList, id: &ListId) {
    println!("  name: {}", l.name.as_deref().unwrap_or(id.as_str()));
    if let Some(title) = &l.title {
        println!("  title: {title}");
    }
    if l.owners.is_empty() {
        println!("  owners: none given (add them to list.toml)");
    } else {
        println!("  owners: {}", l.owners.join(", "));
    }
    println!(
        "  subscribe: {}, unsubscribe: {}",
        l.subscribe.unwrap_or("confirm"),
        l.unsubscribe.unwrap_or("confirm")
    );
    if l.rules.is_empty() {
        println!("  rules: none (every request by mail is refused until list.toml has a [[rule]])");
    }
    for (n, r) in l.rules.iter().enumerate() {
        println!(
            "  rule {}: domain {} -> {}",
            n + 1,
            r.domain.join(", "),
            r.action
        );
    }
}

/// A member option with no listkeeper equivalent, and the first members who had it.
fn print_untranslated_option(option: &str, members: &[&DraftMember]) {
    let what = match option {
        "NOMAIL" => "translated: imported with mode = \"nomail\"",
        "DIGEST" | "DIGESTS" => "translated: imported with mode = \"digest\" (unless also NOMAIL)",
        "INDEX" | "MIME" => "not translated yet (delivery modes): imported as plain members",
        _ => "not translated (no listkeeper equivalent): imported as plain members",
    };
    let shown: Vec<String> = members
        .iter()
        .take(20)
        .map(|m| format!("{} (line {})", m.address, m.line))
        .collect();
    let tail = more(members.len(), shown.len());
    println!(
        "  option {option}, {} member(s), {what}: {}{tail}",
        members.len(),
        shown.join(", ")
    );
}
