//! THE TABLE: what an outcome is called in the audit log, and what the person is
//! told of it (template and subject), for every front end alike.
//!
//! Read a row as "after this action, this outcome is audited as these words and told
//! with this template under this subject". `None` means nothing is said (a
//! confirmation not sent again today; an admin's own change, told only when asked).

use super::{Hold, Outcome};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::context::Context;
use crate::links;
use crate::reply::{self, Template};

mod bounces;
pub(crate) use bounces::{owners_bounced, owners_incident, owners_removed_bounces, reenable};

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
    /// A member's unsubscribe link (`/u/TOKEN`, RFC 8058 one-click).
    OneClick,
    /// A goodbye's undo link (`/undo/TOKEN`).
    Undo,
    /// A change of delivery mode (`SET LIST NOMAIL`, `listkeeper set`).
    Set,
    /// A nomail whose `until` came: mail again (upkeep).
    Resume,
    /// A verified ARF complaint (the member marked our mail as spam).
    Complaint,
    /// `SIGNOFF *`: a request to leave every list.
    LeaveAll,
    /// `CHANGE`: a member's line moves to a new address.
    Change,
    /// `ERASE`, `listkeeper erase`: all held on an address goes.
    Erase,
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
            Act::OneClick => "one-click",
            Act::Undo => "undo",
            Act::Set => "set",
            Act::Resume => "resume",
            Act::Complaint => "complaint",
            Act::LeaveAll => "signoff-all",
            Act::Change => "change",
            Act::Erase => "erase",
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
            Outcome::BounceIncident { .. } => "incident",
            Outcome::NomailForBounces => "nomail:bounces",
            Outcome::AlreadyNomail => "nomail-already",
            Outcome::RemovedForBounces => "removed:bounces",
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
    /// The language of the person told (their `lang`), when known.
    pub(crate) lang: Option<String>,
}

impl Notice {
    /// A notice that says `template` under `subject`.
    pub(crate) fn new(template: Template, subject: String) -> Notice {
        Notice {
            template,
            subject,
            vars: Vec::new(),
            token: None,
            lang: None,
        }
    }

    /// The notice with the placeholder `name` filled by `value`.
    pub(crate) fn with(mut self, name: &'static str, value: String) -> Notice {
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
        (reply::Texts::new(config).lang(self.lang.as_deref())).text(
            self.template,
            Some(list),
            &vars,
        )
    }
}

/// THE TABLE: what the person an outcome is about is told, if anything, in their
/// language `lang` (their `lang`, else the list's).
pub(crate) fn notice(
    config: &Config,
    list: &ListConfig,
    act: Act,
    outcome: &Outcome,
    lang: Option<&str>,
    now: u64,
) -> Option<Notice> {
    let subjects = Subjects::new(list, lang);
    let mut notice = row(config, list, act, outcome, &subjects, now)?;
    notice.lang = lang.map(str::to_owned);
    Some(notice)
}

/// The subjects of the table's replies, in one language.
struct Subjects<'l> {
    name: &'l str,
    es: bool,
}

impl<'l> Subjects<'l> {
    fn new(list: &'l ListConfig, lang: Option<&str>) -> Subjects<'l> {
        let chain = crate::lang::chain(lang, &list.language);
        Subjects {
            name: &list.name,
            es: crate::lang::Lang::pick(&chain) == crate::lang::Lang::Es,
        }
    }

    /// `en` or `es`, each with `{}` for the list's name.
    fn say(&self, en: &str, es: &str) -> String {
        (if self.es { es } else { en }).replace("{}", self.name)
    }
}

fn row(
    config: &Config,
    list: &ListConfig,
    act: Act,
    outcome: &Outcome,
    s: &Subjects<'_>,
    now: u64,
) -> Option<Notice> {
    use Act as A;
    use Outcome as O;
    use Template as T;
    let join = || {
        s.say(
            "Your request to join {}",
            "Su solicitud de suscripción a {}",
        )
    };
    let welcome = || {
        Notice::new(
            T::Welcome,
            s.say("Welcome to {}", "Le damos la bienvenida a {}"),
        )
    };
    let already = || {
        let subject = s.say(
            "Already subscribed to {}",
            "Su dirección ya está suscrita a {}",
        );
        Notice::new(T::AlreadyMember, subject)
    };
    let yours = || s.say("Your subscription to {}", "Su suscripción a {}");
    let left = || s.say("You have left {}", "Se ha dado de baja de {}");
    let delivery = || s.say("Your delivery from {}", "Su recepción de {}");
    let confirm = |template, subject: String, token: &String| {
        let expires = rfc3339(now + config.server.confirm.expires.as_secs());
        Notice {
            token: Some(token.clone()),
            ..Notice::new(template, format!("{subject} (confirm {token})"))
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
            let subject = s.say(
                "Confirm your subscription to {}",
                "Confirme su suscripción a {}",
            );
            confirm(T::ConfirmSubscribe, subject, token)
        }
        (A::Unsubscribe, O::ConfirmationSent { token }) => {
            let subject = s.say("Confirm your removal from {}", "Confirme su baja de {}");
            confirm(T::ConfirmUnsubscribe, subject, token)
        }
        (_, O::ModeConfirmationSent { token, setting }) => {
            let subject = s.say(
                "Confirm your delivery change on {}",
                "Confirme el cambio de recepción de {}",
            );
            with_setting(confirm(T::ConfirmSet, subject, token), setting, s)
        }
        (A::Set | A::Confirm | A::Resume, O::ModeSet(setting)) => {
            with_setting(Notice::new(T::ModeSet, delivery()), setting, s)
        }
        (A::Set | A::Confirm, O::AlreadyInMode(setting)) => {
            with_setting(Notice::new(T::ModeUnchanged, delivery()), setting, s)
        }
        (A::Set, O::NotMember) => Notice::new(T::NotMember, delivery()),
        (A::Subscribe | A::Confirm | A::Add | A::Undo, O::Added) => welcome(),
        // An owner's approval welcomes, even one who joined meanwhile.
        (A::Approve, O::Added | O::AlreadyMember) => welcome(),
        (A::Subscribe | A::Confirm, O::AlreadyMember) => already(),
        (_, O::Refused { reason }) => {
            Notice::new(T::Refused, join()).with("reason", reason.clone())
        }
        (_, O::Held(_)) => Notice::new(T::Held, join()),
        (_, O::AlreadyHeld) => Notice::new(T::AlreadyHeld, join()),
        (A::Unsubscribe | A::Remove | A::OneClick, O::Removed) => Notice::new(T::Goodbye, left()),
        (A::Unsubscribe, O::NotMember) => Notice::new(
            T::NotMember,
            s.say("Your request to leave {}", "Su solicitud de baja de {}"),
        ),
        (A::Confirm, O::Removed) => Notice::new(T::Goodbye, yours()),
        (A::Confirm, O::NotMember) => Notice::new(T::NotMember, yours()),
        (_, O::Rejected { reason }) => {
            Notice::new(T::Declined, join()).with("reason", reason.clone())
        }
        (_, O::UnknownToken | O::ExpiredToken) => {
            Notice::new(T::BadToken, s.say("Your confirmation", "Su confirmación"))
        }
        // Bounces are never answered; an admin's own `add` of a member, or `remove`
        // of a non-member, says nothing.
        _ => return None,
    })
}

/// A notice with the member's own links: a welcome's `{unsubscribe_url}` and a
/// goodbye's `{undo_url}` (not after an admin's `remove`: what an admin did, the
/// member does not undo). Both are empty without `[web]`.
pub(crate) fn with_links(
    notice: Notice,
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    act: Act,
    now: u64,
) -> Notice {
    let (config, id, key) = (&ctx.config, list.id.as_str(), address.key());
    match notice.template {
        Template::Welcome => {
            let url = links::leave_url(config, &ctx.keys, id, &key);
            notice.with("unsubscribe_url", url.unwrap_or_default())
        }
        Template::Goodbye => {
            let url = (act != Act::Remove)
                .then(|| links::undo_url(config, &ctx.keys, id, &key, now))
                .flatten();
            notice.with("undo_url", url.unwrap_or_default())
        }
        _ => notice,
    }
}

/// A notice about a delivery setting: `{mode}` and `{until}` filled, in English
/// the command's words (`nomail`, `until 2027-01-15`), in Spanish words that read
/// with the Spanish texts (`ningún mensaje (nomail)`, `hasta el 2027-01-15`).
fn with_setting(notice: Notice, setting: &crate::records::Setting, s: &Subjects<'_>) -> Notice {
    let until = match setting.until {
        Some(day) if s.es => format!("el {day}"),
        Some(day) => day.to_string(),
        None => s.say("you change it", "que usted lo cambie"),
    };
    let mode = match s.es {
        true => mode_in_spanish(setting.mode),
        false => setting.mode.as_str(),
    };
    notice.with("mode", mode.to_owned()).with("until", until)
}

/// A delivery mode as the Spanish texts say it, its command word after it.
pub(crate) fn mode_in_spanish(mode: crate::records::Mode) -> &'static str {
    use crate::records::Mode;
    match mode {
        Mode::Mail => "cada mensaje (mail)",
        Mode::Digest => "resúmenes (digest)",
        Mode::Nomail => "ningún mensaje (nomail)",
    }
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
    let s = Subjects::new(list, None);
    let why = match hold.rule {
        Some(n) => s.say(
            &format!("rule {n} of the list's rules holds it for you"),
            &format!("la regla {n} de la lista la deja a su decisión"),
        ),
        None => s.say(
            "the list's policy has the owners decide",
            "según la política de la lista, la decisión corresponde a los administradores",
        ),
    };
    let name = (hold.name.clone()).unwrap_or_else(|| s.say("no name given", "sin nombre"));
    let asks = s.say("asks to join {}", "solicita suscribirse a {}");
    Notice::new(
        Template::HeldOwner,
        format!("approve {}: {address} {asks}", hold.token),
    )
    .with("name", name)
    .with("why", why)
    .with("token", hold.token.clone())
    .with("list_id", list.id.to_string())
    .with("expires", rfc3339(hold.expires))
}

/// What each owner of a `notify = "each"` list is told of an outcome: a join, a
/// leave, a lapse. An approval is not among them: the owners are told of it as the
/// decision's acknowledgement ([`owners_decided`]).
pub(crate) fn owners_event(
    list: &ListConfig,
    act: Act,
    outcome: &Outcome,
    address: &str,
) -> Option<Notice> {
    use Act as A;
    use Outcome as O;
    use Template as T;
    let s = Subjects::new(list, None);
    let (template, how) = match (act, outcome) {
        (A::Subscribe, O::Added) => (
            T::JoinedOwner,
            s.say(
                "asked to join an open list",
                "la pidió en una lista abierta",
            ),
        ),
        (A::Confirm, O::Added) => (
            T::JoinedOwner,
            s.say("confirmed their request", "confirmó su solicitud"),
        ),
        (A::Add, O::Added) => (
            T::JoinedOwner,
            s.say("added by an owner or an admin", BY_ADMIN),
        ),
        (A::Unsubscribe, O::Removed) => (T::LeftOwner, s.say("asked to leave", "la pidió")),
        (A::Confirm, O::Removed) => (T::LeftOwner, s.say("confirmed leaving", "confirmó la baja")),
        (A::Remove, O::Removed) => (
            T::LeftOwner,
            s.say("removed by an owner or an admin", BY_ADMIN),
        ),
        (A::Confirm, O::ExpiredToken) => (
            T::LapsedOwner,
            s.say(
                "the confirmation came too late",
                "la confirmación llegó tarde",
            ),
        ),
        (A::Moderate, O::ExpiredToken) => (
            T::LapsedOwner,
            s.say(
                "it was decided after it had lapsed",
                "se decidió cuando ya había vencido",
            ),
        ),
        _ => return None,
    };
    let what = match act {
        A::Moderate => s.say("join", "suscripción"),
        _ => s.say("join or leave", "suscripción o baja"),
    };
    let name = s.name;
    let subject = match template {
        T::JoinedOwner if s.es => format!("Alta de {address} en {name}"),
        T::JoinedOwner => format!("{address} joined {name}"),
        T::LeftOwner if s.es => format!("Baja de {address} en {name}"),
        T::LeftOwner => format!("{address} left {name}"),
        _ => lapsed_subject(&s, address),
    };
    Some(
        Notice::new(template, subject)
            .with("how", how)
            .with("what", what),
    )
}

/// How a join or leave by an admin's or an owner's hand reads to the owners.
const BY_ADMIN: &str = "la hizo un administrador de la lista o del servidor";

/// The subject of the owners' notice of a lapsed request.
fn lapsed_subject(s: &Subjects<'_>, address: &str) -> String {
    let name = s.name;
    match s.es {
        true => format!("Ha vencido la solicitud de {address} ({name})"),
        false => format!("The request of {address} lapsed ({name})"),
    }
}

/// What each owner of a `notify = "each"` list is told of a request the upkeep found
/// lapsed: a confirmation never given, or (`held`) a held request nobody decided.
pub(crate) fn owners_lapsed(list: &ListConfig, address: &str, held: bool) -> Notice {
    let s = Subjects::new(list, None);
    let (what, how) = if held {
        (
            s.say("join", "suscripción"),
            s.say(
                "none of the owners decided it in time",
                "ningún administrador decidió a tiempo",
            ),
        )
    } else {
        (
            s.say("join or leave", "suscripción o baja"),
            s.say("it was never confirmed", "nunca se confirmó"),
        )
    };
    Notice::new(Template::LapsedOwner, lapsed_subject(&s, address))
        .with("how", how)
        .with("what", what)
}

/// What the owner who decided a held request (or, decided at the server, every
/// owner) is told of it.
pub(crate) fn owners_decided(list: &ListConfig, outcome: &Outcome) -> Notice {
    let template = match outcome {
        Outcome::Rejected { .. } => Template::RejectedOwner,
        _ => Template::ApprovedOwner,
    };
    let s = Subjects::new(list, None);
    Notice::new(
        template,
        s.say("Held request for {}", "Solicitud pendiente en {}"),
    )
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
            Act::OneClick,
            Act::Undo,
        ];
        let mut said = 0;
        for (act, lang) in acts.into_iter().flat_map(|a| [(a, None), (a, Some("es"))]) {
            for outcome in &outcomes {
                if let Some(n) = notice(&c, list, act, outcome, lang, 0) {
                    let text = n.text(&c, list, "jane@agency.gov");
                    assert!(!text.contains('{'), "{act:?} {outcome:?}: {text}");
                    assert!(!n.subject.is_empty());
                    said += 1;
                }
            }
        }
        assert!(said > 15, "{said}");
        assert_eq!(
            notice(&c, list, Act::Subscribe, &Outcome::NotResent, None, 0),
            None
        );
    }

    /// The rows whose words differ by action: a removal confirmed by token is told
    /// under "Your subscription to", an open unsubscribe under "You have left".
    #[test]
    fn removal_subjects_follow_the_action() {
        let c = config();
        let list = c.list("sm-cop").unwrap();
        let open = notice(&c, list, Act::Unsubscribe, &Outcome::Removed, None, 0).unwrap();
        let confirmed = notice(&c, list, Act::Confirm, &Outcome::Removed, None, 0).unwrap();
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
            None,
            0,
        )
        .unwrap();
        assert_eq!(sent.token.as_deref(), Some("ABC"));
        assert!(sent.subject.ends_with("(confirm ABC)"), "{}", sent.subject);
    }
}
