//! Bounce scores (pure): what a verified delivery report about a member counts for.
//!
//! A report's status decides its kind: a hard failure (`5.1.x`, `5.2.1`: no such
//! user, mailbox disabled) adds 1 to the member's score, any other permanent failure
//! (a full mailbox, `5.2.2`; a message refused, `5.3.x`, …) adds 0.5, and a policy
//! rejection (`5.7.x`, or words naming DMARC, SPF or DKIM: the list's mail was
//! refused, not the member's address) adds nothing and is counted apart. A score is
//! raised at most once a day (an MTA's retries of one mail, or a day's posts to a dead
//! address, count once), and a score not raised for `stale_after` starts again from
//! nothing. At `threshold` the member becomes nomail (`why = "bounces"`).

use crate::records::Score;

/// Seconds a day.
const DAY: u64 = 86_400;

/// What one report says about the address it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The address does not work (`5.1.x`, `5.2.1`).
    Hard,
    /// The mail was not taken this time, for a reason of the address's own.
    Soft,
    /// The receiving side refused the list's mail by policy (`5.7.x`, DMARC, SPF,
    /// DKIM): not the member's fault.
    Policy,
}

/// The per-list settings scores follow (`[bounce]` in list.toml).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The score at which a member becomes nomail.
    pub threshold: f64,
    /// Seconds after the last raise when a score starts again from nothing.
    pub stale_after: u64,
    /// Re-enable notices before removal (kept for the next step; not acted on yet).
    pub warnings: u32,
    /// Seconds between those notices.
    pub warn_every: u64,
    /// More than this share of a domain's members reported within an hour is an
    /// incident at that domain: nobody's score is raised.
    pub incident_share: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            threshold: 5.0,
            stale_after: 7 * DAY,
            warnings: 3,
            warn_every: 7 * DAY,
            incident_share: 0.1,
        }
    }
}

/// The kind of a failed recipient's report, from its `Status` and `Diagnostic-Code`.
pub(crate) fn classify(status: Option<&str>, diagnostic: Option<&str>) -> Kind {
    let status = status.map(|s| s.split_whitespace().next().unwrap_or(s).trim());
    let words = diagnostic.unwrap_or_default().to_ascii_uppercase();
    let policy_words = ["DMARC", "SPF", "DKIM"].iter().any(|w| words.contains(w));
    match status {
        Some(s) if s.starts_with("5.7.") => Kind::Policy,
        _ if policy_words => Kind::Policy,
        Some(s) if s.starts_with("5.1.") || s == "5.2.1" => Kind::Hard,
        _ => Kind::Soft,
    }
}

/// What a report did to a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The score went up.
    Raised,
    /// A report on the same day as the last raise: no change.
    SameDay,
    /// A policy rejection: counted apart.
    Policy,
    /// The score reached the threshold.
    Threshold,
}

/// The score after a report of `kind` at `now`, and what that was.
pub(crate) fn score(
    previous: Option<&Score>,
    kind: Kind,
    settings: &Settings,
    now: u64,
) -> (Score, Step) {
    let mut score = previous.cloned().unwrap_or_default();
    if score.raised > 0 && score.raised + settings.stale_after < now {
        score.score = 0.0;
        score.raised = 0;
    }
    score.reported = now;
    let today = now / DAY;
    let step = match kind {
        Kind::Policy => {
            if score.policy_day != today {
                score.policy += 1;
                score.policy_day = today;
            }
            Step::Policy
        }
        _ if score.raised > 0 && score.raised / DAY == today => Step::SameDay,
        Kind::Hard | Kind::Soft => {
            score.score += if kind == Kind::Hard { 1.0 } else { 0.5 };
            score.raised = now;
            if score.score >= settings.threshold {
                Step::Threshold
            } else {
                Step::Raised
            }
        }
    };
    (score, step)
}

/// Whether the reports of the last hour from one domain are an incident there:
/// `reporting` distinct members of the `members` the list has at the domain, more
/// than `share` of them and at least three (one member of a one-member domain is no
/// incident).
pub(crate) fn incident(reporting: usize, members: usize, share: f64) -> bool {
    reporting >= 3 && (reporting as f64) > share * members as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn statuses_and_words_decide_the_kind() {
        assert_eq!(classify(Some("5.1.1"), None), Kind::Hard);
        assert_eq!(classify(Some("5.2.1 (mailbox disabled)"), None), Kind::Hard);
        assert_eq!(classify(Some("5.2.2"), None), Kind::Soft);
        assert_eq!(classify(None, None), Kind::Soft);
        assert_eq!(classify(Some("5.7.1"), None), Kind::Policy);
        let dmarc = "smtp; 550 5.7.26 Unauthenticated email from x is not accepted due to domain's DMARC policy";
        assert_eq!(classify(Some("5.0.0"), Some(dmarc)), Kind::Policy);
        assert_eq!(
            classify(Some("5.1.1"), Some("smtp; 550 SPF check failed")),
            Kind::Policy
        );
    }

    #[test]
    fn once_a_day_up_to_the_threshold_and_stale_scores_start_again() {
        let s = Settings::default();
        let (one, step) = score(None, Kind::Hard, &s, NOW);
        assert_eq!((one.score, step), (1.0, Step::Raised));
        let (same, step) = score(Some(&one), Kind::Hard, &s, NOW + 60);
        assert_eq!((same.score, step), (1.0, Step::SameDay));
        let (soft, _) = score(Some(&same), Kind::Soft, &s, NOW + DAY);
        assert_eq!(soft.score, 1.5);
        let (policy, step) = score(Some(&soft), Kind::Policy, &s, NOW + 2 * DAY);
        assert_eq!((policy.score, policy.policy, step), (1.5, 1, Step::Policy));
        let (policy, _) = score(Some(&policy), Kind::Policy, &s, NOW + 2 * DAY + 5);
        assert_eq!(policy.policy, 1, "once a day");
        let mut at = policy;
        let mut last = Step::Raised;
        for day in 3..10 {
            (at, last) = score(Some(&at), Kind::Hard, &s, NOW + day * DAY);
            if last == Step::Threshold {
                break;
            }
        }
        assert_eq!((at.score, last), (5.5, Step::Threshold));
        // Quiet for more than stale_after: from nothing again.
        let (fresh, _) = score(Some(&at), Kind::Soft, &s, at.raised + 8 * DAY);
        assert_eq!(fresh.score, 0.5);
    }

    #[test]
    fn an_incident_needs_three_members_and_more_than_the_share() {
        assert!(!incident(1, 1, 0.1));
        assert!(!incident(2, 2, 0.1));
        assert!(incident(3, 20, 0.1));
        assert!(!incident(3, 30, 0.1));
        assert!(!incident(10, 1000, 0.1));
    }
}
