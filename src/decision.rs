//! Membership + policy + rule verdict → what happens (docs/reference.md, section 4).
//!
//! Pure functions: the pipeline gathers the facts, these say what to do, and the
//! pipeline does it.

use crate::config::{ListConfig, SubscribePolicy, UnsubscribePolicy};
use crate::eligibility::{Ruling, Verdict};

/// What a subscribe request comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Join {
    /// Already a member: say so, change nothing.
    AlreadyMember,
    /// Refused with this text (the rule's reason or the list's terms).
    Refused(String),
    /// Added at once, with a welcome.
    Add,
    /// A confirmation request; once confirmed, added (or held, when `hold`).
    Confirm {
        /// Held for the owners once confirmed.
        hold: bool,
    },
    /// Held for the owners at once.
    Hold,
}

/// Decides a subscribe request.
pub(crate) fn join(list: &ListConfig, is_member: bool, verdict: &Verdict) -> Join {
    if is_member {
        return Join::AlreadyMember;
    }
    match (verdict.action, list.subscribe) {
        (Ruling::Reject, _) => {
            Join::Refused(verdict.reason.clone().unwrap_or_else(|| list.terms.clone()))
        }
        (Ruling::Allow, SubscribePolicy::Open) => Join::Add,
        (Ruling::Allow, SubscribePolicy::Confirm) => Join::Confirm { hold: false },
        (Ruling::Allow | Ruling::Moderate, SubscribePolicy::Moderate)
        | (Ruling::Moderate, SubscribePolicy::Open) => Join::Hold,
        (Ruling::Allow | Ruling::Moderate, SubscribePolicy::ConfirmThenModerate)
        | (Ruling::Moderate, SubscribePolicy::Confirm) => Join::Confirm { hold: true },
    }
}

/// What an unsubscribe request comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leave {
    /// Not a member: say so (only ever to the address itself).
    NotMember,
    /// Removed at once, with a goodbye.
    Remove,
    /// A confirmation request; once confirmed, removed.
    Confirm,
}

/// Decides an unsubscribe request.
pub(crate) fn leave(list: &ListConfig, is_member: bool) -> Leave {
    match (is_member, list.unsubscribe) {
        (false, _) => Leave::NotMember,
        (true, UnsubscribePolicy::Open) => Leave::Remove,
        (true, UnsubscribePolicy::Confirm) => Leave::Confirm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn list(policy: SubscribePolicy) -> ListConfig {
        let c = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap();
        let mut l = c.list("sm-cop").unwrap().clone();
        l.subscribe = policy;
        l
    }

    fn verdict(action: Ruling, reason: Option<&str>) -> Verdict {
        Verdict {
            action,
            rule: Some(1),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn the_policy_table() {
        use SubscribePolicy::*;
        let allow = verdict(Ruling::Allow, None);
        let moderate = verdict(Ruling::Moderate, None);
        let cases = [
            (Open, &allow, Join::Add),
            (Confirm, &allow, Join::Confirm { hold: false }),
            (Moderate, &allow, Join::Hold),
            (ConfirmThenModerate, &allow, Join::Confirm { hold: true }),
            (Open, &moderate, Join::Hold),
            (Confirm, &moderate, Join::Confirm { hold: true }),
            (Moderate, &moderate, Join::Hold),
            (ConfirmThenModerate, &moderate, Join::Confirm { hold: true }),
        ];
        for (policy, v, want) in cases {
            assert_eq!(join(&list(policy), false, v), want, "{policy:?} {v:?}");
        }
    }

    #[test]
    fn members_and_refusals_come_first() {
        let l = list(SubscribePolicy::Open);
        assert_eq!(
            join(&l, true, &verdict(Ruling::Reject, None)),
            Join::AlreadyMember
        );
        assert_eq!(
            join(&l, false, &verdict(Ruling::Reject, Some("no"))),
            Join::Refused("no".into())
        );
        assert_eq!(
            join(&l, false, &verdict(Ruling::Reject, None)),
            Join::Refused(l.terms.clone())
        );
        assert_eq!(leave(&l, false), Leave::NotMember);
        assert_eq!(leave(&l, true), Leave::Confirm);
    }
}
