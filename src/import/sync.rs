//! `sync`: the changes that make a roster's members from one source equal that source.
//!
//! A sync owns only the members it added, those whose `via` is `sync:NAME`: it adds
//! the source's addresses that are not members, removes its own members that the
//! source no longer has, and leaves every member who joined another way alone,
//! whether the source has them or not. The removal cap is a share of the members
//! the sync owns: a source that suddenly lacks most of them looks wrong (a half
//! written export), and the sync stops rather than empty the list.

use super::{Draft, DraftMember};
use crate::address::EmailAddress;
use crate::roster::{Origin, Roster};
use std::collections::HashSet;

/// What a sync would do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Source members who are not members yet.
    pub add: Vec<DraftMember>,
    /// Members this sync added that the source no longer has.
    pub remove: Vec<EmailAddress>,
    /// Members this sync owns now.
    pub owned: usize,
    /// Source addresses already members by another way (left as they are).
    pub joined_otherwise: usize,
}

impl Plan {
    /// Whether the removals exceed `max_percent` of the members the sync owns.
    pub fn over_cap(&self, max_percent: f64) -> bool {
        if self.remove.is_empty() {
            return false;
        }
        self.remove.len() as f64 > self.owned as f64 * max_percent / 100.0
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// The plan for `roster` and `source`, for the sync whose members carry `via`.
pub fn plan(roster: &Roster, source: &Draft, via: &Origin) -> Plan {
    let keys: HashSet<String, foldhash::fast::RandomState> =
        source.members.iter().map(|m| m.address.key()).collect();
    let mut plan = Plan::default();
    for member in roster.members() {
        let ours = member.via.as_ref() == Some(via);
        if !ours {
            if keys.contains(&member.address.key()) {
                plan.joined_otherwise += 1;
            }
            continue;
        }
        plan.owned += 1;
        if !keys.contains(&member.address.key()) {
            plan.remove.push(member.address);
        }
    }
    plan.add = source
        .members
        .iter()
        .filter(|m| !roster.contains(&m.address))
        .cloned()
        .collect();
    plan
}

/// A `--max-removals` that is not a percentage (the text, as given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a percentage from 0% to 100%")]
pub struct PercentError(pub String);

/// `10%`, `10` or `2.5%` as a percentage.
pub fn parse_percent(text: &str) -> Result<f64, PercentError> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(PercentError(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(text: &str) -> Roster {
        Roster::parse(text.to_owned()).unwrap()
    }

    fn source(addresses: &[&str]) -> Draft {
        let text = addresses.join("\n");
        super::super::csv::read(text.as_bytes(), std::path::Path::new("s")).unwrap()
    }

    #[test]
    fn only_the_syncs_own_members_are_removed() {
        let r = roster(
            "[members]\n\"a@x.gov\" = { via = \"sync:hr\" }\n\"b@x.gov\" = { via = \"email\" }\n\"c@x.gov\" = { via = \"sync:other\" }\n",
        );
        let p = plan(
            &r,
            &source(&["d@x.gov", "b@x.gov"]),
            &Origin::Sync("hr".into()),
        );
        assert_eq!(p.remove.len(), 1);
        assert_eq!(p.remove[0].to_string(), "a@x.gov");
        assert_eq!(p.add.len(), 1);
        assert_eq!(p.owned, 1);
        assert_eq!(p.joined_otherwise, 1);
        assert!(p.over_cap(10.0));
        assert!(!p.over_cap(100.0));
    }

    #[test]
    fn percentages_parse() {
        assert_eq!(parse_percent("10%"), Ok(10.0));
        assert_eq!(parse_percent("2.5"), Ok(2.5));
        assert!(parse_percent("120%").is_err());
    }
}
