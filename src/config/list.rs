//! The lists folder and each `lists/<id>/list.toml` as read ([`raw::RawList`]) to
//! [`ListConfig`]: id, owners, policies and compiled rules checked, each problem
//! recorded at its key in the order the file is read.

use super::file::{self, KeyPath, TomlFile};
use super::{
    ListConfig, ListId, Notify, Problems, Review, SubscribePolicy, UnsubscribePolicy, checked,
    parse_duration, raw, read_templates,
};
use crate::address::EmailAddress;
use crate::eligibility::{self, AddressGlob, DomainGlob, Rule, Ruling};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every list folder under `dir/lists` that loads, by id; the others' problems recorded.
pub(super) fn load_lists(dir: &Path, problems: &mut Problems) -> BTreeMap<ListId, ListConfig> {
    let lists_dir = dir.join("lists");
    let mut lists = BTreeMap::new();
    let entries = match std::fs::read_dir(&lists_dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.error(
                &lists_dir,
                None,
                None,
                format!("cannot read the lists folder: {e}"),
            );
            return lists;
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    for list_dir in dirs {
        let path = list_dir.join("list.toml");
        if !path.exists() {
            problems.error(
                &list_dir,
                None,
                None,
                "a list folder without list.toml: add one or move the folder out of lists/",
            );
            continue;
        }
        let Some(list) = file::read::<raw::RawList>(&path, problems)
            .and_then(|(raw, f)| list_from_raw(raw, &f, problems))
        else {
            continue;
        };
        if lists.contains_key(&list.id) {
            problems.error(
                &path,
                None,
                Some("id".into()),
                format!(
                    "another list folder has the id `{}` in another case",
                    list.id
                ),
            );
            continue;
        }
        lists.insert(list.id.clone(), list);
    }
    lists
}

fn list_from_raw(raw: raw::RawList, f: &TomlFile, problems: &mut Problems) -> Option<ListConfig> {
    let errors_before = problems.error_count();
    let id = list_id(&raw.id, f, problems);
    let owners = owners_from_raw(&raw.owners, f, problems);
    let subscribe = checked(
        f,
        problems,
        &["subscribe"],
        parse_subscribe(raw.subscribe.as_deref().unwrap_or("confirm")),
    );
    let unsubscribe = checked(
        f,
        problems,
        &["unsubscribe"],
        parse_unsubscribe(raw.unsubscribe.as_deref().unwrap_or("confirm")),
    );
    let notify = checked(
        f,
        problems,
        &["notify"],
        parse_notify(raw.notify.as_deref().unwrap_or("daily")),
    );
    let remind_after = checked(
        f,
        problems,
        &["remind_after"],
        parse_duration(raw.remind_after.as_deref().unwrap_or("2 days")),
    );
    let review = checked(
        f,
        problems,
        &["review"],
        match raw.review.as_deref().unwrap_or("owners") {
            "owners" => Ok(Review::Owners),
            "members" => Ok(Review::Members),
            "public" => Ok(Review::Public),
            other => Err(format!(
                "`{other}` is not who may review: use owners, members or public"
            )),
        },
    );
    if raw.terms.trim().is_empty() {
        f.error(
            problems,
            &KeyPath::keys(&["terms"]),
            "terms must say who may join: it is what a refused person is told",
        );
    }
    let language = checked(
        f,
        problems,
        &["language"],
        crate::lang::check(raw.language.as_deref().unwrap_or("en")),
    );
    let bounce = bounce_from_raw(&raw.bounce, f, problems);
    let rules: Vec<Rule> = raw
        .rule
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| rule_from_raw(r, i, f, problems))
        .collect();
    if problems.error_count() > errors_before {
        return None;
    }
    let name = raw.name.unwrap_or_else(|| raw.id.clone());
    Some(ListConfig {
        id: id?,
        dir: f.dir().to_owned(),
        title: raw.title.unwrap_or_else(|| name.clone()),
        name,
        owners,
        subscribe: subscribe?,
        unsubscribe: unsubscribe?,
        terms: raw.terms,
        notify: notify?,
        remind_after: remind_after?,
        review: review?,
        language: language?,
        include_file: raw.include_file.map(|p| f.resolve(&p)),
        unsubscribe_file: raw.unsubscribe_file.map(|p| f.resolve(&p)),
        digest_include_file: raw.digest_include_file.map(|p| f.resolve(&p)),
        bounce: bounce?,
        rules,
        templates: read_templates(&f.dir().join("templates"), "txt", false),
        pages: read_templates(&f.dir().join("templates"), "html", true),
    })
}

/// `[bounce]`, defaults filled in; every bad value recorded.
fn bounce_from_raw(
    raw: &raw::RawBounce,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<crate::bounce::Settings> {
    let d = crate::bounce::Settings::default();
    let secs = |problems: &mut Problems, key: &str, text: &Option<String>, default: u64| {
        let parsed = text.as_deref().map_or(Ok(default), |t| {
            super::parse_duration(t).map(|d| d.as_secs())
        });
        checked(f, problems, &["bounce", key], parsed)
    };
    let threshold = checked(
        f,
        problems,
        &["bounce", "threshold"],
        match raw.threshold {
            Some(t) if !(t.is_finite() && t > 0.0) => Err(format!(
                "{t} is not a score: use a number above 0, such as 5.0"
            )),
            t => Ok(t.unwrap_or(d.threshold)),
        },
    );
    let incident_share = checked(
        f,
        problems,
        &["bounce", "incident_share"],
        match raw.incident_share {
            Some(s) if !(s > 0.0 && s <= 1.0) => Err(format!(
                "{s} is not a share: use a number above 0 and at most 1, such as 0.1"
            )),
            s => Ok(s.unwrap_or(d.incident_share)),
        },
    );
    let stale_after = secs(problems, "stale_after", &raw.stale_after, d.stale_after);
    let warn_every = secs(problems, "warn_every", &raw.warn_every, d.warn_every);
    Some(crate::bounce::Settings {
        threshold: threshold?,
        stale_after: stale_after?,
        warnings: raw.warnings.unwrap_or(d.warnings),
        warn_every: warn_every?,
        incident_share: incident_share?,
    })
}

/// The list's `id`, which must be valid and equal its folder's name.
fn list_id(written: &str, f: &TomlFile, problems: &mut Problems) -> Option<ListId> {
    let dir_name = f
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = checked(
        f,
        problems,
        &["id"],
        ListId::parse(written).map_err(|e| e.to_string()),
    );
    if written != dir_name {
        f.error(
            problems,
            &KeyPath::keys(&["id"]),
            format!("the id `{written}` must equal the folder name `{dir_name}`"),
        );
    }
    id
}

/// `owners`: at least one, each an address; a `.invalid` placeholder is kept with a
/// warning.
fn owners_from_raw(written: &[String], f: &TomlFile, problems: &mut Problems) -> Vec<EmailAddress> {
    let at = KeyPath::keys(&["owners"]);
    let mut owners = Vec::new();
    for (i, owner) in written.iter().enumerate() {
        match EmailAddress::parse(owner) {
            // `.invalid` never resolves (RFC 2606): the placeholder `init` writes.
            Ok(a) if a.domain().ends_with(".invalid") || a.domain() == "invalid" => {
                f.warn(
                    problems,
                    &at.at(i),
                    format!("{a} is a placeholder, and mail to it goes nowhere: put the owners' real addresses here"),
                );
                owners.push(a);
            }
            Ok(a) => owners.push(a),
            Err(e) => f.error(problems, &at.at(i), e.to_string()),
        }
    }
    if written.is_empty() {
        f.error(
            problems,
            &at,
            "a list needs at least one owner address (owners = [\"you@example.gov\"])",
        );
    }
    owners
}

/// `subscribe`, by its word.
fn parse_subscribe(word: &str) -> Result<SubscribePolicy, String> {
    match word {
        "open" => Ok(SubscribePolicy::Open),
        "confirm" => Ok(SubscribePolicy::Confirm),
        "moderate" => Ok(SubscribePolicy::Moderate),
        "confirm+moderate" => Ok(SubscribePolicy::ConfirmThenModerate),
        other => Err(format!(
            "`{other}` is not a policy: use open, confirm, moderate or confirm+moderate"
        )),
    }
}

/// `notify`, by its word.
fn parse_notify(word: &str) -> Result<Notify, String> {
    match word {
        "each" => Ok(Notify::Each),
        "daily" => Ok(Notify::Daily),
        "none" => Ok(Notify::None),
        other => Err(format!(
            "`{other}` is not a way to notify: use each, daily or none"
        )),
    }
}

/// `unsubscribe`, by its word.
fn parse_unsubscribe(word: &str) -> Result<UnsubscribePolicy, String> {
    match word {
        "open" => Ok(UnsubscribePolicy::Open),
        "confirm" => Ok(UnsubscribePolicy::Confirm),
        other => Err(format!("`{other}` is not a policy: use open or confirm")),
    }
}

fn rule_from_raw(
    raw: raw::RawRule,
    index: usize,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<Rule> {
    let at = KeyPath::keys(&["rule"]).at(index);
    let errors_before = problems.error_count();
    let (domains, addresses) = rule_globs(&raw, &at, f, problems);
    let regex = raw.regex.as_deref().and_then(|re| {
        eligibility::compile_regex(re)
            .map_err(|why| {
                f.error(
                    problems,
                    &at.key("regex"),
                    format!("not a valid regex: {why}"),
                )
            })
            .ok()
    });
    if raw.domain.is_empty()
        && raw.address.is_empty()
        && raw.regex.is_none()
        && raw.authenticated.is_none()
    {
        f.error(
            problems,
            &at,
            "a rule needs at least one of domain, address, regex or authenticated",
        );
    }
    let action = parse_action(&raw.action)
        .map_err(|why| f.error(problems, &at.key("action"), why))
        .ok();
    if raw.reason.is_some() && action.is_some_and(|a| a != Ruling::Reject) {
        f.warn(
            problems,
            &at.key("reason"),
            "reason is only told on a reject rule; here it is never used",
        );
    }
    if problems.error_count() > errors_before {
        return None;
    }
    Some(Rule {
        number: index + 1,
        line: f.line_of(&at).unwrap_or(0),
        domains,
        addresses,
        regex,
        authenticated: raw.authenticated,
        action: action?,
        reason: raw.reason,
    })
}

/// A rule's `domain` and `address` globs, those that parse.
fn rule_globs(
    raw: &raw::RawRule,
    at: &KeyPath,
    f: &TomlFile,
    problems: &mut Problems,
) -> (Vec<DomainGlob>, Vec<AddressGlob>) {
    let mut domains = Vec::new();
    for (i, d) in raw.domain.iter().enumerate() {
        match DomainGlob::parse(d) {
            Ok(g) => domains.push(g),
            Err(why) => f.error(problems, &at.key("domain").at(i), format!("`{d}`: {why}")),
        }
    }
    let mut addresses = Vec::new();
    for (i, a) in raw.address.iter().enumerate() {
        match AddressGlob::parse(a) {
            Ok(g) => addresses.push(g),
            Err(why) => f.error(problems, &at.key("address").at(i), why.to_string()),
        }
    }
    (domains, addresses)
}

/// A rule's `action`, by its word.
fn parse_action(word: &str) -> Result<Ruling, String> {
    match word {
        "allow" => Ok(Ruling::Allow),
        "moderate" => Ok(Ruling::Moderate),
        "reject" => Ok(Ruling::Reject),
        other => Err(format!(
            "`{other}` is not an action: use allow, moderate or reject"
        )),
    }
}
