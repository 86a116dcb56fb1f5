//! The admin commands: `lists`, `members`, `add`, `remove`, `explain`.

use crate::actions::{self, Outcome, Request, Source};
use crate::address::EmailAddress;
use crate::audit::AuditLog;
use crate::config::{Config, ListConfig, SubscribePolicy, UnsubscribePolicy};
use crate::context::Context;
use crate::eligibility::{self, Evidence, Ruling};
use crate::roster::{Day, Mode, RosterFile, SharedRoster, Why};
use crate::statelog::StateLog;
use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;
use std::sync::Arc;

/// What `lists --json` says of one list: the facts a public page shows.
#[derive(Debug, Serialize)]
struct ListSummary<'a> {
    id: &'a str,
    name: &'a str,
    title: &'a str,
    subscribe_address: String,
    unsubscribe_address: String,
    request_address: String,
    owner_address: String,
    subscribe_policy: SubscribePolicy,
    unsubscribe_policy: UnsubscribePolicy,
    terms: &'a str,
    members: usize,
}

/// `listkeeper lists [--json]`.
pub(super) fn lists(config: &Config, json: bool) -> Result<()> {
    let domain = &config.server.domain;
    let mut out = Vec::new();
    let log = state_log(config);
    for list in config.lists.values() {
        // One roster that does not parse must not hide every other list.
        let roster = match open_roster(list, log.as_ref()) {
            Ok(roster) => roster,
            Err(e) => {
                eprintln!(
                    "listkeeper: {} (the list `{}` is left out until it loads)",
                    super::chain(&e),
                    list.id
                );
                continue;
            }
        };
        let id = list.id.as_str();
        out.push(ListSummary {
            id,
            name: &list.name,
            title: &list.title,
            subscribe_address: format!("{id}-subscribe-request@{domain}"),
            unsubscribe_address: format!("{id}-unsubscribe-request@{domain}"),
            request_address: format!("{id}-request@{domain}"),
            owner_address: format!("{id}-owner@{domain}"),
            subscribe_policy: list.subscribe,
            unsubscribe_policy: list.unsubscribe,
            terms: &list.terms,
            members: roster.roster().len(),
        });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if out.is_empty() {
        println!("no lists in {}", config.dir.join("lists").display());
    }
    for s in &out {
        println!("{} ({}): {}", s.name, s.id, s.title);
        println!("  join:    {}", s.subscribe_address);
        println!("  leave:   {}", s.unsubscribe_address);
        println!(
            "  policy:  subscribe {}, unsubscribe {}",
            policy_word(s.subscribe_policy),
            unsub_word(s.unsubscribe_policy)
        );
        println!("  members: {}", s.members);
        println!("  terms:   {}", s.terms);
    }
    Ok(())
}

/// One member for `members --json`.
#[derive(Debug, Serialize)]
struct MemberJson {
    address: String,
    name: Option<String>,
    since: Option<String>,
    via: Option<String>,
    /// The member's one-click unsubscribe URI (`base_url/u/TOKEN`); null without
    /// `[web]`.
    unsubscribe_url: Option<String>,
    /// The envelope sender for list mail to the member (`L-bounces+TAG@D`), good for
    /// 30 days from today.
    return_path: Option<String>,
    mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<Why>,
    request: Option<String>,
    terms: Option<String>,
    lang: Option<String>,
}

/// `listkeeper members LIST [--json] [--older-terms]`: with `older_terms`, only the
/// members whose line records terms other than the list's current ones.
pub(super) fn members(config: &Config, list: &str, json: bool, older_terms: bool) -> Result<()> {
    let list = find_list(config, list)?;
    let roster = open_roster(list, state_log(config).as_ref())?;
    let keys = match json {
        true => Some(super::links::keys(config)?),
        false => None,
    };
    let now = crate::clock::unix_now();
    let url = |a: &EmailAddress| {
        let keys = keys.as_ref()?;
        crate::links::leave_url(config, keys, list.id.as_str(), &a.key())
    };
    let return_path = |a: &EmailAddress| {
        let keys = keys.as_ref()?;
        super::links::tagged(config, keys, list.id.as_str(), &a.key(), now)
    };
    let current = crate::consent::short(&list.terms);
    let members: Vec<MemberJson> = roster
        .roster()
        .members()
        .into_iter()
        .filter(|m| !older_terms || m.terms.as_ref().is_some_and(|t| *t != current))
        .map(|m| MemberJson {
            unsubscribe_url: url(&m.address),
            return_path: return_path(&m.address),
            address: m.address.to_string(),
            name: m.name,
            since: m.since.map(|d| d.to_string()),
            via: m.via.map(String::from),
            mode: m.setting.mode,
            until: m.setting.until.map(|d| d.to_string()),
            why: m.setting.why,
            request: m.request,
            terms: m.terms,
            lang: m.lang,
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&members)?);
        return Ok(());
    }
    if members.is_empty() {
        match older_terms {
            true => eprintln!("no member of {} joined under other terms", list.id),
            false => eprintln!("{} has no members", list.id),
        }
    }
    for m in &members {
        let mode = match (m.mode, &m.until) {
            (Mode::Mail, _) => String::new(),
            (mode, None) => format!("  [{}]", mode.as_str()),
            (mode, Some(until)) => format!("  [{} until {until}]", mode.as_str()),
        };
        match (&m.name, older_terms) {
            (_, true) => println!("{}  terms {}", m.address, m.terms.as_deref().unwrap_or("")),
            (Some(name), false) => println!("{}  {name}{mode}", m.address),
            (None, false) => println!("{}{mode}", m.address),
        }
    }
    Ok(())
}

/// `listkeeper add LIST ADDR [--name N]`: the same action and the same state log
/// as the daemon's, so a join the daemon has just logged and this add never undo
/// each other.
pub(super) fn add(config: &Config, list: &str, address: &str, name: Option<&str>) -> Result<()> {
    let ctx = Context::open(config.clone()).context("opening the state folder")?;
    let list = find_list(&ctx.config, list)?;
    let address = parse_address(address)?;
    // A forged or stale list must not bring an erased person back silently.
    if super::person::is_erased(&ctx, &address)? {
        bail!(
            "{address} asked to be erased (by mail or with listkeeper erase); it joins again only by its own confirmed request (subscribe by mail or on the web); nothing was changed"
        );
    }
    let request = Request {
        list,
        address: address.clone(),
        name: name.map(str::to_owned),
        source: Source::Admin,
    };
    let outcome = actions::add(&ctx, request, crate::clock::unix_now())
        .with_context(|| format!("could not add {address} to {}", list.id))?;
    if outcome == Outcome::AlreadyMember {
        bail!(
            "{address} is already a member of {}; nothing was changed",
            list.id
        );
    }
    saved(&ctx, list)?;
    println!(
        "added {address} to {} ({})",
        list.id,
        list.roster_path().display()
    );
    let verdict = eligibility::decide(&list.rules, &list.terms, &address, Evidence::default());
    if verdict.action == Ruling::Reject {
        // Added all the same: an admin may override the rules.
        let why = match verdict.rule {
            Some(n) => {
                let line = list
                    .rules
                    .iter()
                    .find(|r| r.number == n)
                    .map_or(0, |r| r.line);
                format!("rule {n} ({}:{line}) rejects it", list.file().display())
            }
            None => format!(
                "no rule of {} admits it (the list's terms)",
                list.file().display()
            ),
        };
        eprintln!(
            "listkeeper: warning: the list's rules would have refused {address}: {why}: {}",
            verdict.reason.unwrap_or_default()
        );
    }
    Ok(())
}

/// `listkeeper remove LIST ADDR`.
pub(super) fn remove(config: &Config, list: &str, address: &str) -> Result<()> {
    let ctx = Context::open(config.clone()).context("opening the state folder")?;
    let list = find_list(&ctx.config, list)?;
    let address = parse_address(address)?;
    let request = Request {
        list,
        address: address.clone(),
        name: None,
        source: Source::Admin,
    };
    let outcome = actions::remove(&ctx, request, crate::clock::unix_now())
        .with_context(|| format!("could not remove {address} from {}", list.id))?;
    if outcome == Outcome::NotMember {
        bail!(
            "{address} is not a member of {}; nothing was changed",
            list.id
        );
    }
    saved(&ctx, list)?;
    println!(
        "removed {address} from {} ({})",
        list.id,
        list.roster_path().display()
    );
    Ok(())
}

/// `listkeeper set LIST ADDR MODE [--until DATE]`: through the same action as a
/// member's `SET` by mail, made at once (an admin needs no confirmation).
pub(super) fn set(
    config: &Config,
    list: &str,
    address: &str,
    mode: &str,
    until: Option<&str>,
) -> Result<()> {
    let mode: Mode = mode
        .parse()
        .map_err(|_| anyhow!("unknown mode `{mode}`: use mail, digest or nomail"))?;
    let until: Option<Day> = until
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow!("--until: {e}"))?;
    if until.is_some() && mode != Mode::Nomail {
        bail!("--until goes with nomail only");
    }
    let ctx = Context::open(config.clone()).context("opening the state folder")?;
    let list = find_list(&ctx.config, list)?;
    let address = parse_address(address)?;
    let request = Request {
        list,
        address: address.clone(),
        name: None,
        source: Source::Admin,
    };
    let outcome = actions::set_mode(&ctx, request, mode, until, crate::clock::unix_now())
        .with_context(|| format!("could not set the mode of {address} on {}", list.id))?;
    match outcome {
        Outcome::NotMember => bail!(
            "{address} is not a member of {}; nothing was changed",
            list.id
        ),
        Outcome::AlreadyInMode(_) => bail!(
            "{address} is in mode {} on {} already; nothing was changed",
            mode.as_str(),
            list.id
        ),
        _ => {}
    }
    saved(&ctx, list)?;
    let until = until.map(|d| format!(" until {d}")).unwrap_or_default();
    println!("{address} on {}: mode {}{until}", list.id, mode.as_str());
    Ok(())
}

/// The change durable in the state log and saved into the roster file.
fn saved(ctx: &Context, list: &ListConfig) -> Result<()> {
    ctx.sync().with_context(|| {
        format!(
            "the change is not saved into {} yet",
            list.roster_path().display()
        )
    })
}

/// `listkeeper explain LIST ADDR`.
pub(super) fn explain(
    config: &Config,
    list: &str,
    address: &str,
    authenticated: bool,
) -> Result<()> {
    let list = find_list(config, list)?;
    let address = parse_address(address)?;
    let roster = open_roster(list, state_log(config).as_ref())?;
    let evidence = Evidence { authenticated };
    println!(
        "list {} ({}), subscribe policy {}",
        list.id,
        list.name,
        policy_word(list.subscribe)
    );
    println!(
        "address {address}{}",
        if authenticated {
            " (assumed DKIM/SPF-authenticated)"
        } else {
            ""
        }
    );
    print_rules(list, &address, evidence);
    let verdict = eligibility::decide(&list.rules, &list.terms, &address, evidence);
    if let Some(member) = roster.roster().get(&address) {
        println!("{} is a member (as {}).", address, member.address);
        println!("subscribe: the reply says \"already subscribed\"; nothing changes.");
        println!(
            "unsubscribe: {}",
            match list.unsubscribe {
                UnsubscribePolicy::Open => "removed at once, with a goodbye mail.",
                UnsubscribePolicy::Confirm =>
                    "a confirmation request is sent; once confirmed, removed.",
            }
        );
        return Ok(());
    }
    println!("{address} is not a member.");
    let by = verdict.rule.map_or("no rule matches".to_owned(), |n| {
        format!("rule {n} decides")
    });
    println!(
        "subscribe: {by}: {}",
        subscribe_outcome(verdict, list.subscribe)
    );
    Ok(())
}

/// Each rule of the list, where it is written, and whether it matches the address.
fn print_rules(list: &ListConfig, address: &EmailAddress, evidence: Evidence) {
    let file = list.file();
    for rule in &list.rules {
        let verdict = if rule.matches(address, evidence) {
            "matches"
        } else {
            "does not match"
        };
        println!(
            "  rule {} ({}:{}) {}: {verdict}",
            rule.number,
            file.display(),
            rule.line,
            rule.action.as_str()
        );
    }
}

/// What a subscribe request by a non-member comes to, by the rules' verdict and the
/// list's policy.
fn subscribe_outcome(verdict: eligibility::Verdict, policy: SubscribePolicy) -> String {
    match (verdict.action, policy) {
        (Ruling::Reject, _) => format!(
            "refused; the reply says: {}",
            verdict.reason.unwrap_or_default()
        ),
        (Ruling::Moderate, SubscribePolicy::Open | SubscribePolicy::Moderate) => {
            "held for the owners to approve.".into()
        }
        (Ruling::Moderate, _) => {
            "a confirmation request is sent; once confirmed, held for the owners.".into()
        }
        (Ruling::Allow, SubscribePolicy::Open) => "added at once, with a welcome.".into(),
        (Ruling::Allow, SubscribePolicy::Confirm) => {
            "a confirmation request is sent; once confirmed, added.".into()
        }
        (Ruling::Allow, SubscribePolicy::Moderate) => "held for the owners to approve.".into(),
        (Ruling::Allow, SubscribePolicy::ConfirmThenModerate) => {
            "a confirmation request is sent; once confirmed, held for the owners.".into()
        }
    }
}

pub(super) fn find_list<'c>(config: &'c Config, id: &str) -> Result<&'c ListConfig> {
    config.list(id).ok_or_else(|| {
        let known: Vec<&str> = config.lists.keys().map(|k| k.as_str()).collect();
        anyhow!(
            "no list `{id}` in {} (lists: {})",
            config.dir.join("lists").display(),
            known.join(", ")
        )
    })
}

fn parse_address(address: &str) -> Result<EmailAddress> {
    EmailAddress::parse(address.trim()).map_err(|e| anyhow!("{e}"))
}

/// The state log, to find roster changes that only it holds (the daemon saves them
/// within milliseconds; after a crash, when it starts again). `None` when there is
/// none, or no write access to the state folder: the files are read as they stand.
pub(super) fn state_log(config: &Config) -> Option<Arc<StateLog>> {
    if !config.server.state_dir.join("state.log").exists() {
        return None;
    }
    StateLog::open(&config.server.state_dir).ok().map(Arc::new)
}

/// The roster file, with the changes only `log` holds saved into it first.
///
/// A running daemon saves the same roster in the background: both hold the roster's
/// lock file for each whole write, so this waits for the daemon's write to end (up
/// to 30 s) rather than fail, and the daemon, seeing these changes marked saved in
/// the log, does not make them again over a later edit.
pub(super) fn open_roster(list: &ListConfig, log: Option<&Arc<StateLog>>) -> Result<RosterFile> {
    if let Some(log) = log {
        let id = list.id.as_str();
        if log.read(|s| s.roster.values().any(|e| e.list == id))? {
            SharedRoster::open(id, &list.roster_path(), &list.includes(), log.clone())
                .with_context(|| {
                    format!(
                        "could not save the changes state.log holds for {id} into its roster first"
                    )
                })?;
            log.sync()?;
        }
    }
    Ok(RosterFile::open(&list.roster_path(), &list.includes())?)
}

pub(super) fn audit_log(config: &Config) -> Result<AuditLog> {
    AuditLog::open(&config.server.state_dir).with_context(|| {
        format!(
            "cannot create the state folder {}",
            config.server.state_dir.display()
        )
    })
}

fn policy_word(p: SubscribePolicy) -> &'static str {
    match p {
        SubscribePolicy::Open => "open",
        SubscribePolicy::Confirm => "confirm",
        SubscribePolicy::Moderate => "moderate",
        SubscribePolicy::ConfirmThenModerate => "confirm+moderate",
    }
}

fn unsub_word(p: UnsubscribePolicy) -> &'static str {
    match p {
        UnsubscribePolicy::Open => "open",
        UnsubscribePolicy::Confirm => "confirm",
    }
}
