//! `listkeeper bounces LIST [--json]`: what `state.log` holds of a list's bounces:
//! the members' scores, the members nomail for bounces (notices sent, what comes
//! next and when) and the incidents the owners were told of.

use super::admin::{find_list, state_log};
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::records::Score;
use anyhow::Result;
use serde::Serialize;

/// What `bounces --json` prints.
#[derive(Debug, Default, Serialize)]
struct Report {
    list: String,
    scores: Vec<ScoreJson>,
    disabled: Vec<DisabledJson>,
    incidents: Vec<IncidentJson>,
}

#[derive(Debug, Serialize)]
struct ScoreJson {
    address: String,
    score: f64,
    raised: Option<String>,
    policy: u32,
}

#[derive(Debug, Serialize)]
struct DisabledJson {
    address: String,
    since: String,
    notices: u32,
    /// `notice` or `removal`.
    next: &'static str,
    next_at: String,
}

#[derive(Debug, Serialize)]
struct IncidentJson {
    domain: String,
    alerted: String,
    last_report: String,
}

/// Prints the list's bounce scores, disabled members and incidents.
pub(super) fn run(config: &Config, list: &str, json: bool) -> Result<()> {
    let list = find_list(config, list)?;
    let report = match state_log(config) {
        Some(log) => log.read(|s| gather(list, s.bounces.iter()))?,
        None => Report {
            list: list.id.to_string(),
            ..Report::default()
        },
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The report from the state's bounce records (`LIST/ADDRESS`, `incident:LIST/DOMAIN`).
fn gather<'a>(list: &ListConfig, records: impl Iterator<Item = (&'a String, &'a Score)>) -> Report {
    let member = format!("{}/", list.id);
    let incident = format!("incident:{}/", list.id);
    let mut report = Report {
        list: list.id.to_string(),
        ..Report::default()
    };
    for (key, s) in records {
        if let Some(domain) = key.strip_prefix(&incident) {
            report.incidents.push(IncidentJson {
                domain: domain.to_owned(),
                alerted: rfc3339(s.raised),
                last_report: rfc3339(s.reported),
            });
        } else if let Some(address) = key.strip_prefix(&member) {
            push_member(&mut report, list, address, s);
        }
    }
    report.scores.sort_by(|a, b| a.address.cmp(&b.address));
    report.disabled.sort_by(|a, b| a.address.cmp(&b.address));
    report
        .incidents
        .sort_by(|a, b| b.last_report.cmp(&a.last_report));
    report
}

fn push_member(report: &mut Report, list: &ListConfig, address: &str, s: &Score) {
    if s.disabled == 0 {
        report.scores.push(ScoreJson {
            address: address.to_owned(),
            score: s.score,
            raised: (s.raised > 0).then(|| rfc3339(s.raised)),
            policy: s.policy,
        });
        return;
    }
    let b = &list.bounce;
    let (next, at) = match (s.notices, s.notices >= b.warnings) {
        (0, _) => ("notice", s.disabled),
        (_, false) => ("notice", s.noticed + b.warn_every),
        (_, true) => ("removal", s.noticed + b.warn_every),
    };
    report.disabled.push(DisabledJson {
        address: address.to_owned(),
        since: rfc3339(s.disabled),
        notices: s.notices,
        next,
        next_at: rfc3339(at),
    });
}

fn print_text(r: &Report) {
    println!("bounce scores of {}:", r.list);
    if r.scores.is_empty() {
        println!("  none");
    }
    for s in &r.scores {
        let raised = s.raised.as_deref().unwrap_or("-");
        println!(
            "  {}  score {}  last raised {raised}  policy rejections {}",
            s.address, s.score, s.policy
        );
    }
    println!("nomail for bounces:");
    if r.disabled.is_empty() {
        println!("  none");
    }
    for d in &r.disabled {
        println!(
            "  {}  since {}  notices sent {}  next: {} at {}",
            d.address, d.since, d.notices, d.next, d.next_at
        );
    }
    println!("incidents:");
    if r.incidents.is_empty() {
        println!("  none");
    }
    for i in &r.incidents {
        println!(
            "  {}  owners told {}  last report {}",
            i.domain, i.alerted, i.last_report
        );
    }
}
