//! ACTIONS: where a request becomes a roster line.
//!
//! Every front end starts its changes here: the mail path (each command of a
//! message), the command line (`add`, `remove`, `approve`, `reject`), and every front
//! end still to come. An action takes a typed [`Request`] (list, address, name and
//! where it came from) or a token, and `now`; it returns a typed [`Outcome`].
//!
//! ```text
//! subscribe    rules + policy → Added | AlreadyMember | Refused | Held | AlreadyHeld | ConfirmationSent | NotResent
//! unsubscribe  policy         → Removed | NotMember | ConfirmationSent | NotResent
//! confirm      token          → what the request it stands for comes to (or UnknownToken | ExpiredToken)
//! moderate     owner's token  → Added | AlreadyMember | Rejected (or UnknownToken | ExpiredToken)
//! decide_held  a held request → Added | AlreadyMember | Rejected
//! add, remove  an admin's act → Added | AlreadyMember, Removed | NotMember
//! bounced      a verified bounce → PendingCancelled | MemberBounced | UnknownAddress
//! set_mode     delivery mode  → ModeSet | AlreadyInMode | NotMember | ModeConfirmationSent | NotResent
//! ```
//!
//! The decisions are the pure steps' (`eligibility`, `decision`, `token`); an action
//! writes what they decide through the stores (roster changes and requests as state
//! log lines, its audit line) and leaves durability to its caller's one
//! `Context::sync`, the commit. What anyone is told is not decided here: [`table`]
//! turns every outcome into its audit words, its template and its subject, for every
//! front end alike.

pub(crate) mod across;
mod bounced;
pub(crate) mod change;
mod disabled;
pub(crate) mod erase;
pub(crate) mod linked;
mod modes;
pub(crate) mod owner;
pub(crate) mod table;

use crate::address::{AddressError, EmailAddress};
use crate::audit::{Record, Via};
use crate::clock::rfc3339;
use crate::config::ListConfig;
use crate::consent;
use crate::context::Context;
use crate::decision::{self, Join, Leave};
use crate::eligibility::{self, Evidence};
use crate::error::{Classify, Severity};
use crate::message;
use crate::reply::ReplyError;
use crate::roster::{Change, Member, RosterError};
use crate::token::{self, Intent, PendingStore, Request as TokenRequest};
pub(crate) use bounced::{WHOLE_LIST, alert_due, bounced, complaint, reporting_at};
pub(crate) use disabled::{Due, disabled, next_step, noticed, remove_bounced};
pub(crate) use modes::{resume_lapsed, set_mode};
use std::io;
use std::str::FromStr;
pub(crate) use table::{Act, Notice};

const DAY: u64 = 86_400;

/// Why an action could not be carried out: always listkeeper's own state (a store
/// that cannot be written, a roster file that does not parse), never the request,
/// so every front end answers "try again later".
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The state log, the audit log or another store could not be read or written.
    #[error(transparent)]
    Store(#[from] io::Error),
    /// The roster file cannot be read, or its change recorded.
    #[error(transparent)]
    Roster(#[from] RosterError),
    /// A stored request names an address that no longer reads (a hand-edited state).
    #[error("a stored request's address does not read: {0}")]
    Record(#[from] AddressError),
    /// A reply could not be built.
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

impl Classify for Error {
    fn severity(&self) -> Severity {
        match self {
            Error::Store(e) => e.severity(),
            Error::Roster(e) => e.severity(),
            // The admin mends the state; the same request then succeeds.
            Error::Record(_) | Error::Reply(_) => Severity::Temporary,
        }
    }
}

/// What an action returns.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// A request about one address on one list.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// The list.
    pub(crate) list: &'a ListConfig,
    /// The address that joins or leaves.
    pub(crate) address: EmailAddress,
    /// The display name to keep, for a subscribe.
    pub(crate) name: Option<String>,
    /// Where the request came from.
    pub(crate) source: Source<'a>,
}

/// Where a request came from: it says which checks apply, and it goes into the audit
/// line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// A mail: its Message-ID, and whether its Authentication-Results prove the
    /// sender's address (for rules with `authenticated = true`).
    Mail {
        /// The mail's Message-ID, for the audit line.
        message_id: Option<&'a str>,
        /// What the trusted Authentication-Results say of the From address.
        authenticated: bool,
    },
    /// An admin at the server: no rules, no confirmation (the rules' verdict is
    /// still reported).
    Admin,
    /// A form on the web pages, posted from this client address. A form proves
    /// nothing about who owns the address it names: every join and leave it asks
    /// for goes through a confirmation mailed to that address, whatever the policy
    /// (`open` then means only "no owner approval").
    Web {
        /// The client's address (the socket's, or a trusted proxy's
        /// `X-Forwarded-For`), for the logs.
        client: std::net::IpAddr,
    },
}

impl Source<'_> {
    fn client(&self) -> Option<std::net::IpAddr> {
        match self {
            Source::Web { client } => Some(*client),
            Source::Mail { .. } | Source::Admin => None,
        }
    }

    fn message_id(&self) -> Option<&str> {
        match self {
            Source::Mail { message_id, .. } => *message_id,
            Source::Admin | Source::Web { .. } => None,
        }
    }

    /// What a member line names as the request agreed in: the mail's
    /// `<message-id>`, `web:CLIENT`, or `admin` (never a token).
    fn request(&self) -> Option<String> {
        match self {
            Source::Mail { message_id, .. } => message_id.map(|id| format!("<{id}>")),
            Source::Web { client } => Some(format!("web:{client}")),
            Source::Admin => Some("admin".to_owned()),
        }
    }

    /// How a request is recorded.
    fn via(&self) -> Via {
        match self {
            Source::Mail { .. } => Via::Email,
            Source::Admin => Via::Admin,
            Source::Web { .. } => Via::Web,
        }
    }

    /// How a token's result is recorded: a token, by mail or on a page, proves the
    /// address (it was mailed there).
    fn via_token(&self) -> Via {
        match self {
            Source::Mail { .. } | Source::Web { .. } => Via::Token,
            Source::Admin => Via::Admin,
        }
    }

    /// Whether what the request asks for must first be confirmed by its address.
    fn must_confirm(&self) -> bool {
        matches!(self, Source::Web { .. })
    }
}

/// What an action came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Now a member.
    Added,
    /// A member already: nothing changed.
    AlreadyMember,
    /// The rules refuse the address, with this reason.
    Refused {
        /// The rule's reason, or the list's terms.
        reason: String,
    },
    /// Held for the owners. `Some` when newly held: the owners are to be told.
    Held(Option<Hold>),
    /// Held for the owners already: nothing new is sent to anyone.
    AlreadyHeld,
    /// A confirmation is to be sent with this token (a request already pending is
    /// merged into it: the same token again).
    ConfirmationSent {
        /// The token the reply carries.
        token: String,
    },
    /// A request already pending whose confirmation was sent as often today as the
    /// budget allows: nothing is sent.
    NotResent,
    /// No longer a member.
    Removed,
    /// Not a member: nothing changed.
    NotMember,
    /// The owners declined the request, for this reason.
    Rejected {
        /// The owner's reason.
        reason: String,
    },
    /// A token that is unknown, already used, or not made for its record.
    UnknownToken,
    /// A token whose request lapsed (the request is removed).
    ExpiredToken,
    /// A bounce of a confirmation request: the request is cancelled.
    PendingCancelled,
    /// A member's mail bounced: the score went up (to this).
    MemberBounced(String),
    /// A member's mail bounced again the same day: the score stays.
    BouncedToday,
    /// The list's mail was refused by policy (DMARC, SPF, DKIM, 5.7.x): counted apart.
    PolicyRejection,
    /// Many members at one domain (or of the whole list) bounced within the hour:
    /// nobody's score is raised.
    BounceIncident {
        /// The domain, or [`WHOLE_LIST`].
        scope: String,
    },
    /// The member's score reached the threshold: now nomail (`why = "bounces"`).
    NomailForBounces,
    /// A bounce for a member already nomail for bounces: nothing changes.
    AlreadyNomail,
    /// A member nomail for bounces had every re-enable notice and did not come back:
    /// removed.
    RemovedForBounces,
    /// A bounce for an address neither pending nor a member.
    UnknownAddress,
    /// The member's delivery setting is now this.
    ModeSet(crate::records::Setting),
    /// The member's delivery setting was this already: nothing changed.
    AlreadyInMode(crate::records::Setting),
    /// A confirmation of a mode change is to be sent with this token.
    ModeConfirmationSent {
        /// The token the reply carries.
        token: String,
        /// The setting asked for.
        setting: crate::records::Setting,
    },
}

/// A request newly held for the owners: what their notice says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hold {
    /// The token an owner's `approve TOKEN` or `reject TOKEN` names.
    pub(crate) token: String,
    /// The display name given.
    pub(crate) name: Option<String>,
    /// The `moderate` rule that holds it, when a rule rather than the policy does.
    pub(crate) rule: Option<usize>,
    /// Unix seconds when it lapses.
    pub(crate) expires: u64,
}

/// Who joins: what a member line records of them besides the address, carried
/// through a pending or held request to the add.
#[derive(Debug, Clone, Default)]
struct Joiner {
    /// The display name given.
    name: Option<String>,
    /// The request they agreed in ([`Source::request`]).
    request: Option<String>,
    /// Their language, when the request says.
    lang: Option<String>,
    /// For a `CHANGE`: the old address.
    from: Option<String>,
}

impl Joiner {
    /// The person a stored request stands for, agreeing in `request` when the
    /// record names none (a record from before consent records).
    fn of(record: &token::Pending, request: Option<String>) -> Joiner {
        Joiner {
            name: record.name.clone(),
            request: record.request.clone().or(request),
            lang: record.lang.clone(),
            from: record.from.clone(),
        }
    }
}

/// What a token came to: the request's list and address, and its outcome; or, for a
/// token that names nothing valid, the list its record is on (when one is).
#[derive(Debug)]
pub(crate) enum Redeemed<'a> {
    /// The token was good: this is what its request came to.
    Done {
        /// The list of the request.
        list: &'a ListConfig,
        /// The address of the request (not necessarily the sender's).
        address: EmailAddress,
        /// What happened.
        outcome: Outcome,
    },
    /// An owner's command, carried out by the owner's `OK`.
    Owner {
        /// The list.
        list: &'a ListConfig,
        /// The address added or removed.
        address: EmailAddress,
        /// `Add` or `Remove`.
        act: Act,
        /// `QUIET`: the member is not told.
        quiet: bool,
        /// What happened.
        outcome: Outcome,
    },
    /// A `SIGNOFF *` confirmed: the address left these lists.
    LeftAll {
        /// The list its record was on.
        list: &'a ListConfig,
        /// The address that left.
        address: EmailAddress,
        /// The lists it left, by id (none: it had left them all already).
        left: Vec<crate::config::ListId>,
    },
    /// A `CHANGE` confirmed by the new address.
    Changed {
        /// The list its record was on.
        list: &'a ListConfig,
        /// The old address.
        from: EmailAddress,
        /// The new address.
        to: EmailAddress,
        /// The lists whose line moved.
        moved: Vec<crate::config::ListId>,
        /// The lists whose rules now refuse the new address, with their reasons.
        refused: Vec<(crate::config::ListId, String)>,
    },
    /// An `ERASE` confirmed: all held on the address is gone (nobody is told: a
    /// reply would keep the address).
    Erased {
        /// The address erased.
        address: EmailAddress,
        /// What went.
        erased: erase::Erased,
    },
    /// The token is unknown, used or expired (`outcome` says which).
    Bad {
        /// The list its record was on, when there was one.
        list: Option<&'a ListConfig>,
        /// [`Outcome::UnknownToken`] or [`Outcome::ExpiredToken`].
        outcome: Outcome,
    },
}

/// `subscribe`: the rules and the policy decide; the outcome is recorded.
pub(crate) fn subscribe(ctx: &Context, request: Request<'_>, now: u64) -> Result<Outcome> {
    let Request {
        list,
        address,
        name,
        source,
    } = request;
    let who = Joiner {
        name,
        request: source.request(),
        lang: None,
        from: None,
    };
    let (verdict, join) = judge_join(ctx, list, &address, &source)?;
    // The rule that holds the request, when one does (not merely the policy).
    let held_by = (verdict.action == eligibility::Ruling::Moderate)
        .then_some(verdict.rule)
        .flatten();
    let outcome = match join {
        Join::AlreadyMember => Outcome::AlreadyMember,
        Join::Refused(reason) => Outcome::Refused { reason },
        Join::Add => add_member(ctx, list, &address, who, Via::Email, now)?,
        Join::Hold => match hold(ctx, list, &address, who, Intent::Subscribe, held_by, now)? {
            Some(hold) => Outcome::Held(Some(hold)),
            None => Outcome::AlreadyHeld,
        },
        Join::Confirm { hold } => {
            let after = if hold {
                Confirmed::Hold(held_by)
            } else {
                Confirmed::Act
            };
            pend(ctx, list, &address, who, Intent::Subscribe, after, now)?
        }
    };
    audit(
        ctx,
        list,
        &address,
        Act::Subscribe,
        &outcome,
        source.trail().rule(verdict.rule),
        now,
    )?;
    Ok(outcome)
}

/// What the rules and the policy say to a subscribe from `source`: a form proves
/// nothing, so a web request confirms first, then goes on as they say (added, or held
/// for the owners).
fn judge_join(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    source: &Source<'_>,
) -> Result<(eligibility::Verdict, Join)> {
    let is_member = member(ctx, list, address)?;
    let authenticated = matches!(
        source,
        Source::Mail {
            authenticated: true,
            ..
        }
    );
    let verdict = eligibility::decide(
        &list.rules,
        &list.terms,
        address,
        Evidence { authenticated },
    );
    let join = decision::join(list, is_member, &verdict);
    if !source.must_confirm() {
        return Ok((verdict, join));
    }
    let join = match join {
        Join::Add => Join::Confirm { hold: false },
        Join::Hold => Join::Confirm { hold: true },
        other => other,
    };
    Ok((verdict, join))
}

/// `unsubscribe`: the policy decides; the outcome is recorded.
pub(crate) fn unsubscribe(ctx: &Context, request: Request<'_>, now: u64) -> Result<Outcome> {
    let Request {
        list,
        address,
        source,
        ..
    } = request;
    let is_member = member(ctx, list, &address)?;
    let leave = match decision::leave(list, is_member) {
        // A form proves nothing: the address confirms its leaving.
        Leave::Remove if source.must_confirm() => Leave::Confirm,
        other => other,
    };
    let outcome = match leave {
        Leave::NotMember => Outcome::NotMember,
        Leave::Remove => remove_member(ctx, list, &address)?,
        Leave::Confirm => pend(
            ctx,
            list,
            &address,
            Joiner::default(),
            Intent::Unsubscribe,
            Confirmed::Act,
            now,
        )?,
    };
    audit(
        ctx,
        list,
        &address,
        Act::Unsubscribe,
        &outcome,
        source.trail(),
        now,
    )?;
    Ok(outcome)
}

/// `confirm TOKEN`: the request the token stands for, on one of `lists`, is carried
/// out (added, removed, or held for the owners) and the token used up.
pub(crate) fn confirm<'a>(
    ctx: &Context,
    token: &str,
    lists: &[&'a ListConfig],
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    let (list, pending, address, id) =
        match redeem(ctx, &ctx.pending, token, lists, Act::Confirm, source, now)? {
            Ok(found) => found,
            Err(bad) => return Ok(bad),
        };
    if pending.action.by_mail_only() && matches!(source, Source::Web { .. }) {
        return Ok(Redeemed::Bad {
            list: Some(list),
            outcome: Outcome::UnknownToken,
        });
    }
    match pending.action {
        Intent::OwnerAdd | Intent::OwnerDelete => {
            confirm_owner(ctx, list, &pending, address, &id, source, now)
        }
        Intent::LeaveAll => across::confirm_leave_all(ctx, list, address, &id, source, now),
        Intent::Erase => {
            let erased = erase::erase(ctx, &address, source, now)?;
            Ok(Redeemed::Erased { address, erased })
        }
        Intent::Change | Intent::ChangeAll => {
            change::confirm(ctx, list, &pending, address, &id, source, now)
        }
        Intent::Subscribe | Intent::Unsubscribe | Intent::SetMode => {
            confirm_on_list(ctx, list, &pending, address, &id, source, now)
        }
    }
}

/// A confirmed request about one list, by its address: joined (or held for the
/// owners), left, or its delivery changed; audited, and the token used up.
fn confirm_on_list<'a>(
    ctx: &Context,
    list: &'a ListConfig,
    pending: &token::Pending,
    address: EmailAddress,
    id: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    // They agree in the confirmation, not in the request anyone could forge.
    let who = Joiner {
        request: source.request(),
        ..Joiner::of(pending, None)
    };
    let outcome = match pending.action {
        Intent::Subscribe if pending.hold => {
            let held = hold(
                ctx,
                list,
                &address,
                who,
                Intent::Subscribe,
                pending.rule,
                now,
            )?;
            // Held already (by an earlier confirmation): said as held all the same.
            Outcome::Held(held)
        }
        Intent::Subscribe => add_member(ctx, list, &address, who, source.via_token(), now)?,
        Intent::SetMode => {
            let setting = pending.setting.unwrap_or_default();
            modes::change(ctx, list, &address, setting)?
        }
        _ => remove_member(ctx, list, &address)?,
    };
    let trail = source.token_trail();
    audit(ctx, list, &address, Act::Confirm, &outcome, trail, now)?;
    // Single use: gone once its outcome is written.
    ctx.pending.remove(list.id.as_str(), id)?;
    Ok(Redeemed::Done {
        list,
        address,
        outcome,
    })
}

/// An owner's `OK`: the command its token stands for is carried out (by mail only:
/// a web page's visitor gets "unknown", as the owner's mail has no link).
fn confirm_owner<'a>(
    ctx: &Context,
    list: &'a ListConfig,
    pending: &token::Pending,
    address: EmailAddress,
    id: &str,
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    let by = pending.by.as_deref().unwrap_or("an owner");
    let outcome = owner::carry_out(
        ctx,
        list,
        &address,
        pending.name.clone(),
        pending.action,
        by,
        source.via_token(),
        source.message_id(),
        now,
    )?;
    ctx.pending.remove(list.id.as_str(), id)?;
    Ok(Redeemed::Owner {
        list,
        address,
        act: owner::act_of(pending.action),
        quiet: pending.quiet,
        outcome,
    })
}

/// What a confirmation token would do, read only: its list and request, or `None`
/// for a token that names nothing valid now (unknown, used or lapsed). Changes
/// nothing and records nothing: a page shows it before anyone presses the button
/// (link scanners fetch every link in a mail).
pub(crate) fn preview<'a>(
    ctx: &Context,
    token: &str,
    lists: &[&'a ListConfig],
    now: u64,
) -> io::Result<Option<(&'a ListConfig, token::Pending)>> {
    let Some(id) = token::pending_id_of(token) else {
        return Ok(None);
    };
    for &list in lists {
        if let Some(record) = ctx.pending.get(list.id.as_str(), id)? {
            let good = EmailAddress::parse(&record.address)
                .is_ok_and(|a| ctx.keys.verify(token, &record, &a.key()))
                && !record.action.by_mail_only();
            return Ok((good && record.expires >= now).then_some((list, record)));
        }
    }
    Ok(None)
}

/// An owner's `approve TOKEN` (`reject` is `Some(reason)`): the held request the
/// token names, on one of `lists`, is decided.
pub(crate) fn moderate<'a>(
    ctx: &Context,
    token: &str,
    lists: &[&'a ListConfig],
    reject: Option<&str>,
    source: Source<'_>,
    now: u64,
) -> Result<Redeemed<'a>> {
    let (list, held, address, _) =
        match redeem(ctx, &ctx.held, token, lists, Act::Moderate, source, now)? {
            Ok(found) => found,
            Err(bad) => return Ok(bad),
        };
    let outcome = decide_held(ctx, list, &held, reject, source, now)?;
    Ok(Redeemed::Done {
        list,
        address,
        outcome,
    })
}

/// The request `address` has held on `list`, if any (the command line's `approve
/// LIST ADDRESS`).
pub(crate) fn held_request(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
) -> Result<Option<token::Pending>> {
    let id = token::pending_id(list.id.as_str(), &address.key(), Intent::Subscribe);
    Ok(ctx.held.get(list.id.as_str(), &id)?)
}

/// Approves (adds) or rejects (`Some(reason)`) a held request, records it, and
/// removes the request.
pub(crate) fn decide_held(
    ctx: &Context,
    list: &ListConfig,
    held: &token::Pending,
    reject: Option<&str>,
    source: Source<'_>,
    now: u64,
) -> Result<Outcome> {
    let address = EmailAddress::parse(&held.address)?;
    let via = source.via_token();
    let (act, outcome) = match reject {
        None => (
            Act::Approve,
            add_member(ctx, list, &address, Joiner::of(held, None), via, now)?,
        ),
        Some(reason) => (
            Act::Reject,
            Outcome::Rejected {
                reason: message::clean(reason),
            },
        ),
    };
    audit(
        ctx,
        list,
        &address,
        act,
        &outcome,
        source.trail().via(via).rule(held.rule),
        now,
    )?;
    ctx.held.remove(
        list.id.as_str(),
        &token::pending_id(list.id.as_str(), &address.key(), held.action),
    )?;
    Ok(outcome)
}

/// An admin's `add`: the address joins whatever the rules say (the caller reports
/// their verdict); `AlreadyMember` changes nothing and records nothing.
pub(crate) fn add(ctx: &Context, request: Request<'_>, now: u64) -> Result<Outcome> {
    let verdict = eligibility::decide(
        &request.list.rules,
        &request.list.terms,
        &request.address,
        Evidence::default(),
    );
    let outcome = add_member(
        ctx,
        request.list,
        &request.address,
        Joiner {
            name: request.name.map(|n| n.trim().to_owned()),
            request: request.source.request(),
            lang: None,
            from: None,
        },
        Via::Admin,
        now,
    )?;
    if outcome == Outcome::Added {
        audit(
            ctx,
            request.list,
            &request.address,
            Act::Add,
            &outcome,
            Trail::ADMIN.rule(verdict.rule),
            now,
        )?;
    }
    Ok(outcome)
}

/// An admin's `remove`; `NotMember` changes nothing and records nothing.
pub(crate) fn remove(ctx: &Context, request: Request<'_>, now: u64) -> Result<Outcome> {
    let outcome = remove_member(ctx, request.list, &request.address)?;
    if outcome == Outcome::Removed {
        audit(
            ctx,
            request.list,
            &request.address,
            Act::Remove,
            &outcome,
            Trail::ADMIN,
            now,
        )?;
    }
    Ok(outcome)
}

/// What a confirmed request does next.
#[derive(Debug, Clone, Copy)]
enum Confirmed {
    /// What it asks for: joins or leaves.
    Act,
    /// Goes to the owners (held by this `moderate` rule, when a rule rather than the
    /// policy sends it there).
    Hold(Option<usize>),
    /// A mode change to this setting (kept in the pending record).
    Set(crate::records::Setting),
}

/// The record a token stands for in `store`, on one of `lists`, checked (MAC,
/// expiry); an expired one is removed and recorded.
#[allow(clippy::type_complexity)]
fn redeem<'a>(
    ctx: &Context,
    store: &PendingStore,
    token: &str,
    lists: &[&'a ListConfig],
    act: Act,
    source: Source<'_>,
    now: u64,
) -> Result<Result<(&'a ListConfig, token::Pending, EmailAddress, String), Redeemed<'a>>> {
    let unknown = |list| Redeemed::Bad {
        list,
        outcome: Outcome::UnknownToken,
    };
    let Some(id) = token::pending_id_of(token) else {
        return Ok(Err(unknown(None)));
    };
    let mut found = None;
    for &list in lists {
        if let Some(record) = store.get(list.id.as_str(), id)? {
            found = Some((list, record));
            break;
        }
    }
    let Some((list, record)) = found else {
        return Ok(Err(unknown(None)));
    };
    let address = match EmailAddress::parse(&record.address) {
        Ok(address) if ctx.keys.verify(token, &record, &address.key()) => address,
        _ => return Ok(Err(unknown(Some(list)))),
    };
    if record.expires < now {
        store.remove(list.id.as_str(), id)?;
        let outcome = Outcome::ExpiredToken;
        audit(
            ctx,
            list,
            &address,
            act,
            &outcome,
            source.token_trail().rule(record.rule),
            now,
        )?;
        return Ok(Err(Redeemed::Bad {
            list: Some(list),
            outcome,
        }));
    }
    Ok(Ok((list, record, address, id.to_owned())))
}

/// Records (or finds) the pending request and returns its token. A second request
/// while one is pending is merged into it: the same token is sent again, but not
/// more often a day than `confirmations_per_address_per_day`. A mode change to
/// another setting than the one pending is a new request under the same budget: a
/// fresh token, so the mail that named the old setting no longer confirms anything.
fn pend(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    who: Joiner,
    action: Intent,
    then: Confirmed,
    now: u64,
) -> Result<Outcome> {
    let key = address.key();
    let id = token::pending_id(list.id.as_str(), &key, action);
    let setting = match then {
        Confirmed::Set(setting) => Some(setting),
        Confirmed::Act | Confirmed::Hold(_) => None,
    };
    let sent = |token| match setting {
        Some(setting) => Outcome::ModeConfirmationSent { token, setting },
        None => Outcome::ConfirmationSent { token },
    };
    let mut sends = Vec::new();
    if let Some(mut existing) = ctx.pending.get(list.id.as_str(), &id)?
        && existing.expires > now
        && let Some(token) = ctx.keys.token_for(&existing, &key)
    {
        // The daily budget of mails a forged request may cause to one address.
        let budget = ctx.config.server.limits.confirmations_per_address_per_day as usize;
        existing.sends.retain(|&t| t + DAY > now);
        if existing.sends.len() >= budget {
            return Ok(Outcome::NotResent);
        }
        existing.sends.push(now);
        // A `CHANGE` from another old address is another request, too.
        if existing.setting == setting && existing.from == who.from {
            ctx.pending.put(&existing, &key)?;
            return Ok(sent(token));
        }
        sends = existing.sends;
    }
    let (mut pending, token) = issue(ctx, list, address, who, action, now)?;
    // Only the confirmation is agreement: its request is recorded then.
    pending.request = None;
    if let Confirmed::Hold(rule) = then {
        pending.hold = true;
        pending.rule = rule;
    }
    pending.setting = setting;
    pending.sends = if sends.is_empty() { vec![now] } else { sends };
    ctx.pending.put(&pending, &key)?;
    Ok(sent(token))
}

/// Holds a request for the owners; `None` when it is held already.
fn hold(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    who: Joiner,
    action: Intent,
    rule: Option<usize>,
    now: u64,
) -> Result<Option<Hold>> {
    let key = address.key();
    let id = token::pending_id(list.id.as_str(), &key, action);
    if let Some(existing) = ctx.held.get(list.id.as_str(), &id)?
        && existing.expires > now
    {
        return Ok(None);
    }
    let (mut held, token) = issue(ctx, list, address, who, action, now)?;
    held.rule = rule;
    ctx.held.put(&held, &key)?;
    Ok(Some(Hold {
        token,
        name: held.name,
        rule,
        expires: held.expires,
    }))
}

/// A fresh request record and its token, lapsing after `confirm.expires`.
fn issue(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    who: Joiner,
    action: Intent,
    now: u64,
) -> Result<(token::Pending, String)> {
    let request = TokenRequest {
        list: list.id.as_str(),
        address_key: &address.key(),
        address: &address.to_string(),
        name: who.name,
        action,
    };
    let lasts = ctx.config.server.confirm.expires.as_secs();
    let (mut pending, token) = ctx.keys.issue(request, now, lasts)?;
    pending.request = who.request;
    pending.lang = who.lang;
    pending.from = who.from;
    Ok((pending, token))
}

fn member(ctx: &Context, list: &ListConfig, address: &EmailAddress) -> Result<bool> {
    Ok(ctx.roster(list)?.contains(address)?)
}

/// The roster change of a join: `Added`, or `AlreadyMember` when it already was.
fn add_member(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    who: Joiner,
    via: Via,
    now: u64,
) -> Result<Outcome> {
    let member = Member {
        address: address.clone(),
        name: (who.name.map(|n| message::clean(&n))).filter(|n| !n.is_empty()),
        since: toml_datetime::Datetime::from_str(&rfc3339(now)).ok(),
        via: Some(via.into()),
        setting: Default::default(),
        request: who.request.map(|r| message::clean(&r)),
        terms: Some(consent::short(&list.terms)),
        // The language they asked in, else the list's when they joined.
        lang: who.lang.or_else(|| Some(list.language.clone())),
    };
    let added = ctx.roster(list)?.apply(Change::Add(member))?;
    Ok(if added {
        Outcome::Added
    } else {
        Outcome::AlreadyMember
    })
}

/// The roster change of a leave: `Removed`, or `NotMember` when it was not one.
fn remove_member(ctx: &Context, list: &ListConfig, address: &EmailAddress) -> Result<Outcome> {
    let removed = ctx.roster(list)?.apply(Change::Remove(address.clone()))?;
    Ok(if removed {
        Outcome::Removed
    } else {
        Outcome::NotMember
    })
}

/// What an audit line says besides the act and its outcome: how the request came
/// (`via`), in which mail, from which web client, and the rule that decided.
#[derive(Debug, Clone, Copy)]
struct Trail<'s> {
    via: Via,
    message_id: Option<&'s str>,
    client: Option<std::net::IpAddr>,
    rule: Option<usize>,
}

impl<'s> Trail<'s> {
    /// An admin's act, or the server's own (upkeep): no mail, no client.
    const ADMIN: Trail<'static> = Trail {
        via: Via::Admin,
        message_id: None,
        client: None,
        rule: None,
    };

    /// The same, decided by `rule`.
    fn rule(self, rule: Option<usize>) -> Trail<'s> {
        Trail { rule, ..self }
    }

    /// The same, recorded as come `via`.
    fn via(self, via: Via) -> Trail<'s> {
        Trail { via, ..self }
    }
}

impl Source<'_> {
    /// A request's trail ([`Source::via`]).
    fn trail(&self) -> Trail<'_> {
        Trail {
            via: self.via(),
            message_id: self.message_id(),
            client: self.client(),
            rule: None,
        }
    }

    /// A token's result's trail ([`Source::via_token`]).
    fn token_trail(&self) -> Trail<'_> {
        self.trail().via(self.via_token())
    }
}

/// The audit line of an outcome, in the table's words.
fn audit(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    act: Act,
    outcome: &Outcome,
    trail: Trail<'_>,
    now: u64,
) -> Result<()> {
    let shown = address.to_string();
    Ok(ctx.audit.write(&Record {
        rule: trail.rule,
        message_id: trail.message_id,
        client: trail.client,
        // The whole hash of the terms a new member agreed to.
        terms: (*outcome == Outcome::Added).then(|| consent::full(&list.terms)),
        ..Record::new(
            list.id.as_str(),
            &shown,
            act.word(),
            outcome.word(),
            trail.via,
            now,
        )
    })?)
}
