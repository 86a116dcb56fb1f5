//! `listkeeper check`: every problem in the configuration and rosters, at once.

use crate::config::{Config, ListConfig, Problems};
use crate::eligibility::{self, Evidence, Ruling};
use crate::roster::{Roster, RosterError, RosterFile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Past this many, members the rules refuse are counted rather than listed.
const MAX_MEMBER_WARNINGS: usize = 20;

/// Prints every problem; exit 1 when any is an error.
pub(super) fn run(dir: &Path) -> ExitCode {
    let partial = Config::load_partial(dir);
    let mut problems = partial.problems;
    let mut members = 0;
    // Every roster is read, also those of lists whose list.toml did not load.
    for roster in roster_paths(dir) {
        let list = partial.lists.values().find(|l| l.roster_path() == roster);
        members += check_roster(&roster, list, &mut problems);
    }
    for p in problems.iter() {
        println!("{p}");
    }
    let errors = problems.error_count();
    let warnings = problems.iter().count() - errors;
    if errors > 0 {
        println!(
            "{}: {errors} error(s), {warnings} warning(s); nothing was changed",
            dir.display()
        );
        // Each keyed error names its key; the reference has its default and an example.
        for (file, page) in [
            ("listkeeper.toml", "listkeeper.toml"),
            ("list.toml", "list.toml"),
            ("roster.toml", "list.toml"),
        ] {
            if problems
                .iter()
                .any(|p| p.key.is_some() && p.file.file_name().is_some_and(|n| n == file))
            {
                println!("the keys of {file}, each with its default and an example: man 5 {page}");
            }
        }
        ExitCode::from(1)
    } else {
        println!(
            "{}: ok: {} list(s), {members} member(s), {warnings} warning(s)",
            dir.display(),
            partial.lists.len()
        );
        ExitCode::SUCCESS
    }
}

/// `lists/*/roster.toml`, sorted.
fn roster_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("lists"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("roster.toml"))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
}

/// Checks one roster, and its members against the list's rules when the list
/// loaded; returns its member count.
fn check_roster(path: &Path, list: Option<&ListConfig>, problems: &mut Problems) -> usize {
    let Some(file) = open(path, problems) else {
        return 0;
    };
    let roster = file.roster();
    for d in roster.duplicates() {
        problems.error(
            path,
            Some(d.line),
            Some(d.address.clone()),
            format!(
                "the same address as line {} in another case: keep one of the two lines",
                d.first_line
            ),
        );
    }
    for (line, message) in roster.setting_problems() {
        problems.error(path, Some(line), None, message);
    }
    if let Some(list) = list {
        check_members(path, roster, list, problems);
    }
    roster.len()
}

/// The roster, read; `None` (an error recorded) when it cannot be.
fn open(path: &Path, problems: &mut Problems) -> Option<RosterFile> {
    match RosterFile::open(path, &Default::default()) {
        Ok(file) => Some(file),
        Err(RosterError::Parse { error, .. }) => {
            problems.error(path, Some(error.line), None, error.message);
            None
        }
        Err(e) => {
            problems.error(path, None, None, e.to_string());
            None
        }
    }
}

/// Warns of the members the list's rules would refuse now: each of the first
/// [`MAX_MEMBER_WARNINGS`], then how many more.
fn check_members(path: &Path, roster: &Roster, list: &ListConfig, problems: &mut Problems) {
    let mut refused = 0;
    let current = crate::consent::short(&list.terms);
    let mut older = 0;
    for (line, member) in roster.entries() {
        older += usize::from(member.terms.as_ref().is_some_and(|t| *t != current));
        let verdict = eligibility::decide(
            &list.rules,
            &list.terms,
            &member.address,
            Evidence::default(),
        );
        if verdict.action != Ruling::Reject {
            continue;
        }
        refused += 1;
        if refused <= MAX_MEMBER_WARNINGS {
            let why = verdict.rule.map_or("no rule matches it".to_owned(), |n| {
                format!("rule {n} rejects it")
            });
            problems.warn(
                path,
                Some(line),
                Some(member.address.to_string()),
                format!(
                    "a member the list's rules would no longer admit ({why}); remove it or change the rules if that is not meant"
                ),
            );
        }
    }
    if refused > MAX_MEMBER_WARNINGS {
        problems.warn(
            path,
            None,
            None,
            format!(
                "{} more members the rules would no longer admit (`listkeeper explain {} ADDR` tells why for one)",
                refused - MAX_MEMBER_WARNINGS,
                list.id
            ),
        );
    }
    if older > 0 {
        problems.warn(
            path,
            None,
            None,
            format!(
                "{older} member(s) joined under earlier terms than the list's current ones (`listkeeper members {} --older-terms` lists them)",
                list.id
            ),
        );
    }
}
