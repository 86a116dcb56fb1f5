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
    check_pages(dir, &mut problems);
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

/// Every list's `templates/*.html` and `templates/LANG/*.html`: an error for one that
/// does not compile (the pages would show the built-in one instead), with its line; a
/// warning for a name no page has.
fn check_pages(dir: &Path, problems: &mut Problems) {
    let lists = std::fs::read_dir(dir.join("lists")).into_iter().flatten();
    let mut files: Vec<PathBuf> = (lists.filter_map(Result::ok))
        .flat_map(|e| crate::config::template_files(&e.path().join("templates")))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(e) => {
                problems.error(&path, None, None, format!("cannot be read: {e}"));
                continue;
            }
        };
        if let Err(e) = crate::web::compile(&name, &source) {
            let why = e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_owned);
            problems.error(
                &path,
                e.line(),
                None,
                format!(
                    "the page template does not compile ({why}): the built-in page is shown instead"
                ),
            );
        } else if !crate::web::is_page(&name) {
            problems.warn(&path, None, None, "no page has this name, so it is never used: the pages are layout.html, list.html, sent.html, confirm.html, link.html and message.html");
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: a list's page template that does not compile is an error with its
    /// file and line; one in a language folder too; a good one is no problem; an
    /// unknown name is a warning.
    #[test]
    fn page_templates_are_compiled() {
        let tmp = tempfile::tempdir().unwrap();
        let templates = tmp.path().join("lists/sm-cop/templates");
        std::fs::create_dir_all(templates.join("es")).unwrap();
        let write = |name: &str, text: &str| std::fs::write(templates.join(name), text).unwrap();
        write(
            "list.html",
            "{% extends \"layout.html\" %}\n{% block main %}\n<h1>{{ list.name }</h1>\n{% endblock %}\n",
        );
        write("es/sent.html", "{% if what %}\n");
        write("message.html", "<h1>{{ heading }}</h1>\n");
        write("lst.html", "<p>hi</p>\n");
        write("notes.txt", "{{ not a page }\n");
        let mut problems = Problems::default();
        check_pages(tmp.path(), &mut problems);
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.error_count(), 2, "{said:?}");
        assert_eq!(said.len(), 3, "{said:?}");
        let at = |file: &str| {
            said.iter()
                .find(|p| p.contains(file))
                .cloned()
                .unwrap_or_default()
        };
        assert!(
            at("es/sent.html").contains("sent.html:1: the page template does not compile"),
            "{said:?}"
        );
        assert!(
            at("templates/list.html")
                .contains("list.html:3: the page template does not compile (unexpected `}`"),
            "{said:?}"
        );
        assert!(at("lst.html").starts_with("warning:"), "{said:?}");
    }

    /// The names a list may override are the built-in pages but `index.html`.
    #[test]
    fn the_pages_a_list_may_override() {
        for name in [
            "layout.html",
            "list.html",
            "sent.html",
            "confirm.html",
            "link.html",
            "message.html",
        ] {
            assert!(crate::web::is_page(name), "{name}");
        }
        assert!(
            !crate::web::is_page("index.html"),
            "index.html is never a list's"
        );
    }
}
