//! THE TABLE: what an outcome is called in the audit log, and what the person is
//! told of it (template and subject), for every front end alike.
//!
//! Read a row as "after this action, this outcome is audited as these words and told
//! with this template under this subject". `None` means nothing is said (a
//! confirmation not sent again today; an admin's own change, told only when asked).

use super::{Hold, Outcome};
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::reply::{self, Template};

/// The actions, as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// A request to join.
    Subscribe,
    /// A request to leave.
    Unsubscribe,
    /// A confirmation token redeemed.
    Confirm,
    /// An owner's token that turned out unusable (lapsed).
    Moderate,
    /// An owner approved a held request.
    Approve,
    /// An owner rejected a held request.
    Reject,
    /// An admin added an address.
    Add,
    /// An admin removed an address.
    Remove,
    /// A verified delivery report.
    Bounce,
    /// A change of delivery mode (`SET LIST NOMAIL`, `listkeeper set`).
    Set,
    /// A nomail whose `until` came: mail again (upkeep).
    Resume,
}

impl Act {
    /// The audit line's `action`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Act::Subscribe => "subscribe",
            Act::Unsubscribe => "unsubscribe",
            Act::Confirm => "confirm",
            Act::Moderate => "moderate",
            Act::Approve => "approve",
            Act::Reject => "reject",
            Act::Add => "add",
            Act::Remove => "remove",
            Act::Bounce => "bounce",
            Act::Set => "set",
            Act::Resume => "resume",
        }
    }
}

impl Outcome {
    /// The audit line's `outcome`.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::AlreadyMember => "already-member",
            Outcome::Refused { .. } => "refused",
            Outcome::Held(_) => "held",
            Outcome::AlreadyHeld => "already-held",
            Outcome::ConfirmationSent { .. } => "confirmation-sent",
            Outcome::NotResent => "merged-not-resent",
            Outcome::Removed => "removed",
            Outcome::NotMember => "not-member",
            Outcome::Rejected { .. } => "rejected",
            Outcome::UnknownToken => "unknown",
            Outcome::ExpiredToken => "expired",
            Outcome::PendingCancelled => "pending-cancelled",
            Outcome::MemberBounced(_) => "member-bounced",
            Outcome::BouncedToday => "member-bounced-today-already",
            Outcome::PolicyRejection => "policy-rejection",
            Outcome::BounceIncident => "incident",
            Outcome::NomailForBounces => "nomail:bounces",
            Outcome::UnknownAddress => "unknown-address",
            Outcome::ModeSet(_) => "mode-set",
            Outcome::AlreadyInMode(_) => "already-in-mode",
            Outcome::ModeConfirmationSent { .. } => "confirmation-sent",
        }
    }
}

/// What the person is told of an outcome: a paragraph from a template, under a
/// subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// The text.
    pub(crate) template: Template,
    /// The reply's subject when it says only this.
    pub(crate) subject: String,
    /// The template's own placeholders (beyond the list's and `{address}`).
    pub(crate) vars: Vec<(&'static str, String)>,
    /// The confirmation token the reply carries (its `confirm+TOKEN` Reply-To).
    pub(crate) token: Option<String>,
}

impl Notice {
    fn new(template: Template, subject: String) -> Notice {
        Notice {
            template,
            subject,
            vars: Vec::new(),
            token: None,
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Notice {
        self.vars.push((name, value));
        self
    }

    /// A welcome: the reply gets the headers a new member's mail carries.
    pub(crate) fn is_welcome(&self) -> bool {
        self.template == Template::Welcome
    }

    /// The text, filled in for `address` on `list`.
    pub(crate) fn text(&self, config: &Config, list: &ListConfig, address: &str) -> String {
        let mut vars: Vec<(&str, &str)> = vec![("address", address)];
        vars.extend(self.vars.iter().map(|(k, v)| (*k, v.as_str())));
        reply::Texts::new(config).text(self.template, Some(list), &vars)
    }
}

/// THE TABLE: what the person an outcome is about is told, if anything.
pub(crate) fn notice(
    config: &Config,
    list: &ListConfig,
    act: Act,
    outcome: &Outcome,
    now: u64,
) -> Option<Notice> {
    use Act as A;
    use Outcome as O;
    use Template as T;
    let name = &list.name;
    let join = || format!("Your request to join {name}");
    let welcome = || Notice::new(T::Welcome, format!("Welcome to {name}"));
    let already = || Notice::new(T::AlreadyMember, format!("Already subscribed to {name}"));
    let confirm = |template, what: &str, token: &String| {
        let expires = rfc3339(now + config.server.confirm.expires.as_secs());
        Notice {
            token: Some(token.clone()),
            ..Notice::new(
                template,
                format!("Confirm your {what} {name} (confirm {token})"),
            )
            .with(
                "confirm_address",
                reply::confirm_address(config, list, token),
            )
            .with("expires", expires)
            .with("confirm_url", confirm_url(config, token))
        }
    };
    Some(match (act, outcome) {
        (_, O::NotResent) => return None,
        (A::Subscribe, O::ConfirmationSent { token }) => {
            confirm(T::ConfirmSubscribe, "subscription to", token)
        }
        (A::Unsubscribe, O::ConfirmationSent { token }) => {
            confirm(T::ConfirmUnsubscribe, "removal from", token)
        }
        (_, O::ModeConfirmationSent { token, setting }) => {
            with_setting(confirm(T::ConfirmSet, "delivery change on", token), setting)
        }
        (A::Set | A::Confirm | A::Resume, O::ModeSet(setting)) => with_setting(
            Notice::new(T::ModeSet, format!("Your delivery from {name}")),
            setting,
        ),
        (A::Set | A::Confirm, O::AlreadyInMode(setting)) => with_setting(
            Notice::new(T::ModeUnchanged, format!("Your delivery from {name}")),
            setting,
        ),
        (A::Set, O::NotMember) => Notice::new(T::NotMember, format!("Your delivery from {name}")),
        (A::Subscribe | A::Confirm | A::Add, O::Added) => welcome(),
        // An owner's approval welcomes, even one who joined meanwhile.
        (A::Approve, O::Added | O::AlreadyMember) => welcome(),
        (A::Subscribe | A::Confirm, O::AlreadyMember) => already(),
        (_, O::Refused { reason }) => {
            Notice::new(T::Refused, join()).with("reason", reason.clone())
        }
        (_, O::Held(_)) => Notice::new(T::Held, join()),
        (_, O::AlreadyHeld) => Notice::new(T::AlreadyHeld, join()),
        (A::Unsubscribe, O::Removed) => Notice::new(T::Goodbye, format!("You have left {name}")),
        (A::Unsubscribe, O::NotMember) => {
            Notice::new(T::NotMember, format!("Your request to leave {name}"))
        }
        (A::Confirm, O::Removed) => Notice::new(T::Goodbye, format!("Your subscription to {name}")),
        (A::Confirm, O::NotMember) => {
            Notice::new(T::NotMember, format!("Your subscription to {name}"))
        }
        (A::Remove, O::Removed) => Notice::new(T::Goodbye, format!("You have left {name}")),
        (_, O::Rejected { reason }) => {
            Notice::new(T::Declined, join()).with("reason", reason.clone())
        }
        (_, O::UnknownToken | O::ExpiredToken) => {
            Notice::new(T::BadToken, "Your confirmation".to_owned())
        }
        // Bounces are never answered; an admin's own `add` of a member, or `remove`
        // of a non-member, says nothing.
        _ => return None,
    })
}

/// A notice about a delivery setting: `{mode}` and `{until}` filled.
fn with_setting(notice: Notice, setting: &crate::records::Setting) -> Notice {
    let until = match setting.until {
        Some(day) => day.to_string(),
        None => "you change it".to_owned(),
    };
    notice
        .with("mode", setting.mode.as_str().to_owned())
        .with("until", until)
}

/// `base_url/confirm/TOKEN`: the page that shows what the token does and carries
/// it out at the press of a button; empty without `[web]`.
pub(crate) fn confirm_url(config: &Config, token: &str) -> String {
    (config.server.web.as_ref())
        .map(|web| format!("{}/confirm/{token}", web.base_url))
        .unwrap_or_default()
}

/// What each owner is told of a newly held request.
pub(crate) fn owners_notice(list: &ListConfig, address: &str, hold: &Hold) -> Notice {
    let why = match hold.rule {
        Some(n) => format!("rule {n} of the list's rules holds it for you"),
        None => "the list's policy has the owners decide".to_owned(),
    };
    let name = hold
        .name
        .clone()
        .unwrap_or_else(|| "no name given".to_owned());
    Notice::new(
        Template::HeldOwner,
        format!(
            "approve {}: {address} asks to join {}",
            hold.token, list.name
        ),
    )
    .with("name", name)
    .with("why", why)
    .with("token", hold.token.clone())
    .with("list_id", list.id.to_string())
    .with("expires", rfc3339(hold.expires))
}

/// What each owner is told when a member becomes nomail for bounces.
pub(crate) fn owners_bounced(list: &ListConfig) -> Notice {
    Notice::new(
        Template::NomailBouncesOwner,
        format!("A member of {} no longer gets mail (bounces)", list.name),
    )
}

/// What the owner who decided a held request (or, decided at the server, every
/// owner) is told of it.
pub(crate) fn owners_decided(list: &ListConfig, outcome: &Outcome) -> Notice {
    let template = match outcome {
        Outcome::Rejected { .. } => Template::RejectedOwner,
        _ => Template::ApprovedOwner,
    };
    Notice::new(template, format!("Held request for {}", list.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    /// Every row that says something fills its template: no `{placeholder}` is
    /// left over for any outcome of any action.
    #[test]
    fn every_notice_fills() {
        let c = config();
        let list = c.list("sm-cop").unwrap();
        let token = "T".repeat(20);
        let outcomes = [
            Outcome::Added,
            Outcome::AlreadyMember,
            Outcome::Refused { reason: "r".into() },
            Outcome::Held(None),
            Outcome::AlreadyHeld,
            Outcome::ConfirmationSent {
                token: token.clone(),
            },
            Outcome::NotResent,
            Outcome::Removed,
            Outcome::NotMember,
            Outcome::Rejected { reason: "r".into() },
            Outcome::UnknownToken,
            Outcome::ExpiredToken,
        ];
        let acts = [
            Act::Subscribe,
            Act::Unsubscribe,
            Act::Confirm,
            Act::Moderate,
            Act::Approve,
            Act::Reject,
            Act::Add,
            Act::Remove,
            Act::Bounce,
        ];
        let mut said = 0;
        for act in acts {
            for outcome in &outcomes {
                if let Some(n) = notice(&c, list, act, outcome, 0) {
                    let text = n.text(&c, list, "jane@agency.gov");
                    assert!(!text.contains('{'), "{act:?} {outcome:?}: {text}");
                    assert!(!n.subject.is_empty());
                    said += 1;
                }
            }
        }
        assert!(said > 15, "{said}");
        assert_eq!(
            notice(&c, list, Act::Subscribe, &Outcome::NotResent, 0),
            None
        );
    }

    /// The rows whose words differ by action: a removal confirmed by token is told
    /// under "Your subscription to", an open unsubscribe under "You have left".
    #[test]
    fn removal_subjects_follow_the_action() {
        let c = config();
        let list = c.list("sm-cop").unwrap();
        let open = notice(&c, list, Act::Unsubscribe, &Outcome::Removed, 0).unwrap();
        let confirmed = notice(&c, list, Act::Confirm, &Outcome::Removed, 0).unwrap();
        assert_eq!(open.subject, format!("You have left {}", list.name));
        assert_eq!(
            confirmed.subject,
            format!("Your subscription to {}", list.name)
        );
        assert_eq!(open.template, Template::Goodbye);
        let sent = notice(
            &c,
            list,
            Act::Subscribe,
            &Outcome::ConfirmationSent {
                token: "ABC".into(),
            },
            0,
        )
        .unwrap();
        assert_eq!(sent.token.as_deref(), Some("ABC"));
        assert!(sent.subject.ends_with("(confirm ABC)"), "{}", sent.subject);
    }
}
