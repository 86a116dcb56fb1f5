//! THE SPINE: one message for one recipient → one durable outcome (docs/reference.md, sections 2–6).
//!
//! ```text
//! route → parse → dedupe → guard → sender → commands → decide → roster/pending
//!       → replies into the outbox (one atomic batch) → audit → Done
//! ```
//!
//! Everything a request changes is on disk before [`handle`] returns `Done`: its
//! roster changes, pending requests, replies and dedupe record are lines of
//! `statelog` and its audit lines are in `audit`, both made durable by one shared
//! fsync each in [`Context::sync`] (roster files themselves are written by the
//! daemon's saver, or by `sync` outside the daemon). Any failure before that returns
//! `TryLater` (LMTP 451, exit 75), and the MTA delivers again.
//! The steps it calls never call one another.

use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::clock::rfc3339;
use crate::command::{self, Command, Target};
use crate::config::ListConfig;
pub use crate::context::Context;
use crate::decision::{self, Join, Leave};
use crate::eligibility::{self, Evidence};
use crate::guard;
pub use crate::inbound::{Delivery, Outcome};
use crate::limits::{Allowed, Budget};
use crate::message::{self, Incoming, MessageError};
use crate::outbox::Batch;
use crate::owner;
use crate::records::Outgoing;
use crate::reply::{self, Reply, Texts};
use crate::roster::{Change, Member};
use crate::route::{self, Route};
use crate::token::{self, Action, PendingStore, Request};
pub use crate::upkeep::sweep_expired;
use crate::verp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::str::FromStr;

const DAY: u64 = 86_400;

/// What a request's reply says when nothing more is to be done: the one table from
/// a notice to its template and subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    AlreadyMember,
    Refused,
    AlreadyHeld,
    Held,
    NotMember,
    Goodbye,
}

impl Notice {
    fn template(self) -> &'static str {
        match self {
            Notice::AlreadyMember => "already_member",
            Notice::Refused => "refused",
            Notice::AlreadyHeld => "already_held",
            Notice::Held => "held",
            Notice::NotMember => "not_member",
            Notice::Goodbye => "goodbye",
        }
    }

    fn subject(self, list: &ListConfig) -> String {
        let name = &list.name;
        match self {
            Notice::AlreadyMember => format!("Already subscribed to {name}"),
            Notice::Refused | Notice::AlreadyHeld | Notice::Held => {
                format!("Your request to join {name}")
            }
            Notice::NotMember => format!("Your request to leave {name}"),
            Notice::Goodbye => format!("You have left {name}"),
        }
    }
}
/// A delivery report's failed recipients read at most (the rest: one audit line).
const MAX_REPORTED: usize = 50;
/// A delivery report's returned Message-IDs of ours tried at most.
const MAX_RETURNED_IDS: usize = 4;

/// Why a delivery that is done sent no reply: `deliver` says so on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silent {
    /// The same message (Message-ID and recipient) was handled before: nothing done.
    Duplicate,
    /// A delivery report to `L-bounces@`: read, never answered.
    Report,
    /// The loop guard: a message that must not be answered.
    Guarded(guard::Silence),
    /// No sender address to answer.
    NoSender,
    /// Every reply was over a `[limits]` budget (each has an audit line).
    OverLimits,
    /// Nothing to answer.
    Nothing,
}

/// Handles one delivery.
pub fn handle(ctx: &Context, delivery: &Delivery<'_>, now: u64) -> Outcome {
    handle_told(ctx, delivery, now).0
}

/// [`handle`], and when the delivery is done without a reply, why.
pub fn handle_told(ctx: &Context, delivery: &Delivery<'_>, now: u64) -> (Outcome, Option<Silent>) {
    let Ok(recipient) = EmailAddress::parse(delivery.recipient.trim().trim_matches(['<', '>']))
    else {
        return (Outcome::NoSuchUser, None);
    };
    let Some(route) = route::route(&ctx.config, &recipient) else {
        return (Outcome::NoSuchUser, None);
    };
    let incoming = match message::parse(delivery.raw, ctx.config.server.inbound.max_message_size) {
        Ok(incoming) => incoming,
        Err(MessageError::TooLarge { .. }) => return (Outcome::TooLarge, None),
        Err(MessageError::NotMail) => return (Outcome::NotMail, None),
    };
    // Durable before done: one shared fsync for the state and one for the audit log.
    match process(ctx, delivery, &recipient, &route, &incoming, now).and_then(|done| {
        ctx.sync()?;
        Ok(done)
    }) {
        Ok(Ok(batch)) => (Outcome::Done(Some(batch)), None),
        Ok(Err(silent)) => (Outcome::Done(None), Some(silent)),
        Err(e) => (Outcome::TryLater(e.to_string()), None),
    }
}

/// Dedupe, decide, then commit once: the replies as one batch (the dedupe record), or
/// the key alone when there is nothing to send.
fn process(
    ctx: &Context,
    delivery: &Delivery<'_>,
    recipient: &EmailAddress,
    route: &Route,
    incoming: &Incoming,
    now: u64,
) -> io::Result<Result<Batch, Silent>> {
    let key = dedupe_key(incoming, delivery.raw, recipient);
    if ctx.outbox.seen(&key)? {
        // Never the recipient here: a confirm address holds a token.
        audit_line(
            ctx,
            route.list().map(|l| l.as_str()),
            &sender_text(incoming, delivery),
            "receive",
            "duplicate",
            incoming,
            now,
        )?;
        return Ok(Err(Silent::Duplicate));
    }
    let decided = decide(ctx, delivery, route, incoming, now)?;
    commit(ctx, key, decided, now)
}

/// What a delivery comes to before anything is queued: the replies to send (and the
/// list they are about), or why there are none.
enum Decided {
    Replies(Vec<Outgoing>, Option<String>),
    Silent(Silent),
}

/// The one write of a delivery's outcome (its state and audit lines were written as
/// it was decided; `Context::sync` makes them all durable before the answer).
fn commit(
    ctx: &Context,
    key: String,
    decided: Decided,
    now: u64,
) -> io::Result<Result<Batch, Silent>> {
    match decided {
        Decided::Replies(mails, list) if !mails.is_empty() => {
            let batch = Batch::new(key, list, mails, now);
            ctx.outbox.queue(&batch)?;
            Ok(Ok(batch))
        }
        Decided::Replies(..) => {
            ctx.outbox.mark_seen(&key, now)?;
            Ok(Err(Silent::Nothing))
        }
        Decided::Silent(why) => {
            ctx.outbox.mark_seen(&key, now)?;
            Ok(Err(why))
        }
    }
}

/// Reads the message's commands (or report, or forward) and decides what to answer.
fn decide(
    ctx: &Context,
    delivery: &Delivery<'_>,
    route: &Route,
    incoming: &Incoming,
    now: u64,
) -> io::Result<Decided> {
    let note = |address: &str, outcome: &str| {
        audit_line(
            ctx,
            route.list().map(|l| l.as_str()),
            address,
            "receive",
            outcome,
            incoming,
            now,
        )
    };
    if let Route::Bounces(list, tag) = route {
        // Reports come from the null sender: read before the guard, never answered.
        if let Some(list) = ctx.config.lists.get(list) {
            bounces(ctx, list, tag.as_deref(), delivery.raw, incoming, now)?;
        }
        return Ok(Decided::Silent(Silent::Report));
    }
    if let Some(why) = guard::silence(&ctx.config, delivery.envelope_from, incoming) {
        note(
            &sender_text(incoming, delivery),
            &format!("not-answered:{}", why.as_str()),
        )?;
        return Ok(Decided::Silent(Silent::Guarded(why)));
    }
    if let Route::Owner(list) = route
        && let Some(list) = ctx.config.lists.get(list)
    {
        return forward_to_owners(ctx, list, delivery, incoming, now);
    }
    let envelope = delivery
        .envelope_from
        .and_then(|e| EmailAddress::parse(e.trim().trim_matches(['<', '>'])).ok());
    let Some(sender) = incoming.from.clone().or(envelope) else {
        note("", "not-answered:no-sender")?;
        return Ok(Decided::Silent(Silent::NoSender));
    };
    let mut session = Session {
        ctx,
        incoming,
        sender: &sender,
        route,
        now,
        replies: BTreeMap::new(),
        heading: None,
    };
    let commands = command::commands(&ctx.config, route, incoming);
    if commands.is_empty() {
        let texts = Texts::to(&ctx.config, &sender);
        let list = route.list().and_then(|l| ctx.config.list(l.as_str()));
        session.answer(
            &sender,
            list,
            "Your message to listkeeper",
            texts.text("no_command", list, &[]),
        );
        session.answer(&sender, list, "", texts.text("help", list, &[]));
    }
    let labelled = matches!(route, Route::Request(_) | Route::Command);
    for command in commands {
        if labelled {
            session.heading = Some(format!("> {}", message::clean(&command.describe())));
        }
        session.run(command)?;
    }
    session.finish()
}

/// One message's commands and the replies they build up.
struct Session<'a> {
    ctx: &'a Context,
    incoming: &'a Incoming,
    sender: &'a EmailAddress,
    route: &'a Route,
    now: u64,
    /// Replies by the address concerned: one reply each.
    replies: BTreeMap<String, Draft>,
    /// In command mail, the command whose result comes next (`> subscribe sm-cop`).
    heading: Option<String>,
}

struct Draft {
    /// Only results of a valid token: free of the address and domain budgets.
    free: bool,
    /// The strictest budget of what it says: a reply mixing command results with a
    /// confirmation or notice counts as the latter (which forgers would aim for).
    budget: Budget,
    /// An owners' notification: Reply-To `L-request@`.
    reply_to_request: bool,
    to: EmailAddress,
    list: Option<String>,
    subjects: Vec<String>,
    paragraphs: Vec<String>,
    tokens: Vec<String>,
    welcome: bool,
}

impl<'a> Session<'a> {
    fn run(&mut self, command: Command) -> io::Result<()> {
        match command {
            Command::Subscribe { list, name } => match self.list(&list, "subscribe LIST Your Name")
            {
                // No name given: the From header's display name.
                Some(list) => {
                    self.subscribe(list, name.or_else(|| self.incoming.from_name.clone()))
                }
                None => Ok(()),
            },
            Command::Unsubscribe { list } => match self.list(&list, "unsubscribe LIST") {
                Some(list) => self.unsubscribe(list),
                None => Ok(()),
            },
            Command::Confirm { token } => self.confirm(&token),
            Command::Info { list } => {
                if let Some(list) = self.list(&list, "info LIST") {
                    let text =
                        Texts::to(&self.ctx.config, self.sender).text("info", Some(list), &[]);
                    self.answer(
                        self.sender,
                        Some(list),
                        &format!("About {}", list.name),
                        text,
                    );
                }
                Ok(())
            }
            Command::Lists => {
                let texts = Texts::to(&self.ctx.config, self.sender);
                let all: Vec<String> = self
                    .ctx
                    .config
                    .lists
                    .values()
                    .map(|l| texts.text("info", Some(l), &[]))
                    .collect();
                self.answer(
                    self.sender,
                    None,
                    "The lists on this server",
                    all.join("\n\n----\n\n"),
                );
                Ok(())
            }
            Command::Query { list } => {
                if let Some(list) = self.list(&list, "query LIST") {
                    let member = self
                        .ctx
                        .roster(list)?
                        .contains(self.sender)
                        .map_err(io::Error::other)?;
                    let name = if member {
                        "query_member"
                    } else {
                        "query_not_member"
                    };
                    let text = self.text(name, list, &self.sender.to_string(), &[]);
                    self.answer(
                        self.sender,
                        Some(list),
                        &format!("Your subscription to {}", list.name),
                        text,
                    );
                }
                Ok(())
            }
            Command::Approve { token } => self.settle(&token, None),
            Command::Reject { token, reason } => {
                let reason = reason.unwrap_or_else(|| "The owners gave no reason.".to_owned());
                self.settle(&token, Some(reason))
            }
            Command::Help => {
                let list = self
                    .route
                    .list()
                    .and_then(|l| self.ctx.config.list(l.as_str()));
                let text = Texts::to(&self.ctx.config, self.sender).text("help", list, &[]);
                self.answer(self.sender, list, "listkeeper help", text);
                Ok(())
            }
            Command::Invalid { line, why } => {
                self.heading = Some(format!("> {}", message::clean(&line)));
                self.answer(self.sender, None, "Your message to listkeeper", why);
                Ok(())
            }
            Command::Unsupported { line } => {
                let line = message::clean(&line);
                self.heading = Some(format!("> {line}"));
                let text = Texts::to(&self.ctx.config, self.sender).text(
                    "not_supported",
                    None,
                    &[("line", &line)],
                );
                self.answer(self.sender, None, "Your message to listkeeper", text);
                Ok(())
            }
        }
    }

    /// The list a command is about, or a reply saying what is wrong with it.
    fn list(&mut self, target: &Target, example: &str) -> Option<&'a ListConfig> {
        let ctx: &'a Context = self.ctx;
        let sender = self.sender;
        let texts = Texts::to(&ctx.config, sender);
        let text = match target {
            Target::List(id) => return ctx.config.lists.get(id),
            Target::Missing => texts.text("missing_list", None, &[("example", example)]),
            Target::Unknown(word) => {
                texts.text("unknown_list", None, &[("word", &message::clean(word))])
            }
        };
        self.answer(sender, None, "Your message to listkeeper", text);
        None
    }

    fn subscribe(&mut self, list: &ListConfig, name: Option<String>) -> io::Result<()> {
        let address = self.sender.clone();
        let is_member = self
            .ctx
            .roster(list)?
            .contains(&address)
            .map_err(io::Error::other)?;
        let evidence = Evidence {
            authenticated: crate::trust::authenticated(
                &self.incoming.auth_results,
                self.ctx.config.server.authserv_id.as_deref(),
                &address,
            ),
        };
        let verdict = eligibility::decide(&list.rules, &list.terms, &address, evidence);
        // The rule that holds the request, when one does (not merely the policy).
        let held_by = (verdict.action == crate::eligibility::Ruling::Moderate)
            .then_some(verdict.rule)
            .flatten();
        match decision::join(list, is_member, &verdict) {
            Join::AlreadyMember => {
                self.audit(
                    list,
                    &address,
                    "subscribe",
                    "already-member",
                    verdict.rule,
                    Via::Email,
                )?;
                self.tell(list, &address, Notice::AlreadyMember, &[]);
            }
            Join::Refused(reason) => {
                self.audit(
                    list,
                    &address,
                    "subscribe",
                    "refused",
                    verdict.rule,
                    Via::Email,
                )?;
                self.tell(list, &address, Notice::Refused, &[("reason", &reason)]);
            }
            Join::Add => {
                let added = add_member(self.ctx, list, &address, name, "email", self.now)?;
                self.audit(
                    list,
                    &address,
                    "subscribe",
                    if added { "added" } else { "already-member" },
                    verdict.rule,
                    Via::Email,
                )?;
                self.welcome(list, &address);
            }
            Join::Hold => {
                if !self.hold(list, &address, name, Action::Subscribe, held_by)? {
                    self.tell(list, &address, Notice::AlreadyHeld, &[]);
                    return self.audit(
                        list,
                        &address,
                        "subscribe",
                        "already-held",
                        verdict.rule,
                        Via::Email,
                    );
                }
                self.audit(
                    list,
                    &address,
                    "subscribe",
                    "held",
                    verdict.rule,
                    Via::Email,
                )?;
                self.tell(list, &address, Notice::Held, &[]);
            }
            Join::Confirm { hold } => {
                let Some(token) = self.pend(
                    list,
                    &address,
                    name,
                    Action::Subscribe,
                    hold.then_some(held_by),
                )?
                else {
                    return self.audit(
                        list,
                        &address,
                        "subscribe",
                        "merged-not-resent",
                        verdict.rule,
                        Via::Email,
                    );
                };
                self.audit(
                    list,
                    &address,
                    "subscribe",
                    "confirmation-sent",
                    verdict.rule,
                    Via::Email,
                )?;
                self.ask(
                    list,
                    &address,
                    &token,
                    "confirm_subscribe",
                    "subscription to",
                );
            }
        }
        Ok(())
    }

    fn unsubscribe(&mut self, list: &ListConfig) -> io::Result<()> {
        let address = self.sender.clone();
        let is_member = self
            .ctx
            .roster(list)?
            .contains(&address)
            .map_err(io::Error::other)?;
        match decision::leave(list, is_member) {
            Leave::NotMember => {
                self.audit(
                    list,
                    &address,
                    "unsubscribe",
                    "not-member",
                    None,
                    Via::Email,
                )?;
                self.tell(list, &address, Notice::NotMember, &[]);
            }
            Leave::Remove => {
                remove_member(self.ctx, list, &address)?;
                self.audit(list, &address, "unsubscribe", "removed", None, Via::Email)?;
                self.tell(list, &address, Notice::Goodbye, &[]);
            }
            Leave::Confirm => {
                let Some(token) = self.pend(list, &address, None, Action::Unsubscribe, None)?
                else {
                    return self.audit(
                        list,
                        &address,
                        "unsubscribe",
                        "merged-not-resent",
                        None,
                        Via::Email,
                    );
                };
                self.audit(
                    list,
                    &address,
                    "unsubscribe",
                    "confirmation-sent",
                    None,
                    Via::Email,
                )?;
                self.ask(
                    list,
                    &address,
                    &token,
                    "confirm_unsubscribe",
                    "removal from",
                );
            }
        }
        Ok(())
    }

    /// The record a token stands for in `store`, checked (MAC, expiry); `None` once
    /// the sender has been told the token is unknown, used or expired.
    fn redeem(
        &mut self,
        store: &PendingStore,
        token: &str,
        action: &str,
    ) -> io::Result<Option<(&'a ListConfig, token::Pending, EmailAddress, String)>> {
        let Some((list, record)) = self.find_in(store, token)? else {
            self.bad_token(None, "unknown")?;
            return Ok(None);
        };
        let id = token::pending_id_of(token).unwrap_or_default().to_owned();
        let address = match EmailAddress::parse(&record.address) {
            Ok(address) if self.ctx.keys.verify(token, &record, &address.key()) => address,
            _ => {
                self.bad_token(Some(list), "unknown")?;
                return Ok(None);
            }
        };
        if record.expires < self.now {
            store.remove(list.id.as_str(), &id)?;
            self.audit(list, &address, action, "expired", record.rule, Via::Token)?;
            self.bad_token(Some(list), "expired")?;
            return Ok(None);
        }
        Ok(Some((list, record, address, id)))
    }

    fn confirm(&mut self, token: &str) -> io::Result<()> {
        let ctx: &'a Context = self.ctx;
        let Some((list, pending, address, id)) = self.redeem(&ctx.pending, token, "confirm")?
        else {
            return Ok(());
        };
        let shown = address.to_string();
        match pending.action {
            Action::Subscribe if pending.hold => {
                self.hold(
                    list,
                    &address,
                    pending.name.clone(),
                    Action::Subscribe,
                    pending.rule,
                )?;
                self.audit(list, &address, "confirm", "held", None, Via::Token)?;
                self.tell(list, &address, Notice::Held, &[]);
            }
            Action::Subscribe => {
                let added = add_member(
                    self.ctx,
                    list,
                    &address,
                    pending.name.clone(),
                    "token",
                    self.now,
                )?;
                self.audit(
                    list,
                    &address,
                    "confirm",
                    if added { "added" } else { "already-member" },
                    None,
                    Via::Token,
                )?;
                if added {
                    self.welcome(list, &address);
                } else {
                    self.tell(list, &address, Notice::AlreadyMember, &[]);
                }
            }
            Action::Unsubscribe => {
                let removed = remove_member(self.ctx, list, &address)?;
                self.audit(
                    list,
                    &address,
                    "confirm",
                    if removed { "removed" } else { "not-member" },
                    None,
                    Via::Token,
                )?;
                let name = if removed { "goodbye" } else { "not_member" };
                let text = self.text(name, list, &shown, &[]);
                self.say(
                    &address,
                    Some(list),
                    &format!("Your subscription to {}", list.name),
                    text,
                );
            }
        }
        // What a valid token causes is free of the address and domain budgets.
        if let Some(draft) = self.replies.get_mut(&address.key()) {
            draft.free = true;
        }
        // Single use: gone once its outcome is on disk.
        self.ctx.pending.remove(list.id.as_str(), &id)
    }

    /// The record a token names in `store`, on the list the mail was for, or on any
    /// list when it came to the command address.
    fn find_in(
        &self,
        store: &PendingStore,
        token: &str,
    ) -> io::Result<Option<(&'a ListConfig, token::Pending)>> {
        let Some(id) = token::pending_id_of(token) else {
            return Ok(None);
        };
        let ctx: &'a Context = self.ctx;
        let candidates: Vec<&'a ListConfig> = match self.route.list() {
            Some(list) => ctx.config.lists.get(list).into_iter().collect(),
            None => ctx.config.lists.values().collect(),
        };
        for list in candidates {
            if let Some(pending) = store.get(list.id.as_str(), id)? {
                return Ok(Some((list, pending)));
            }
        }
        Ok(None)
    }

    /// An unknown, used or expired token: said to the sender, audited. The list is the
    /// record's, else the one the recipient names (`L-confirm+…@`, `L-request@`).
    fn bad_token(&mut self, list: Option<&'a ListConfig>, outcome: &str) -> io::Result<()> {
        let ctx: &'a Context = self.ctx;
        let address = self.sender.clone();
        let list = list.or_else(|| self.route.list().and_then(|l| ctx.config.list(l.as_str())));
        let text = if let Some(list) = list {
            self.audit(list, &address, "confirm", outcome, None, Via::Token)?;
            self.text("bad_token", list, &address.to_string(), &[])
        } else {
            audit_line(
                ctx,
                None,
                &address.to_string(),
                "confirm",
                outcome,
                self.incoming,
                self.now,
            )?;
            Texts::to(&ctx.config, &address).text("bad_token_server", None, &[])
        };
        self.say(&address, list, "Your confirmation", text);
        Ok(())
    }

    /// Records (or finds) the pending request and returns its token. `hold` is
    /// `Some(rule)` when, once confirmed, it goes to the owners (`rule` being the
    /// moderate rule that sends it there, if a rule rather than the policy does). A second request
    /// while one is pending is merged into it: the same token is sent again.
    fn pend(
        &self,
        list: &ListConfig,
        address: &EmailAddress,
        name: Option<String>,
        action: Action,
        hold: Option<Option<usize>>,
    ) -> io::Result<Option<String>> {
        let key = address.key();
        let id = token::pending_id(list.id.as_str(), &key, action);
        if let Some(mut existing) = self.ctx.pending.get(list.id.as_str(), &id)?
            && existing.expires > self.now
            && let Some(token) = self.ctx.keys.token_for(&existing, &key)
        {
            // Merged: the same token again, but not more often than the daily budget
            // of mails a forged request may cause to one address.
            let budget = self
                .ctx
                .config
                .server
                .limits
                .confirmations_per_address_per_day as usize;
            existing.sends.retain(|&t| t + DAY > self.now);
            if existing.sends.len() >= budget {
                return Ok(None);
            }
            existing.sends.push(self.now);
            self.ctx.pending.put(&existing, &key)?;
            return Ok(Some(token));
        }
        let (mut pending, token) = self.issue(list, address, name, action)?;
        pending.hold = hold.is_some();
        pending.rule = hold.flatten();
        pending.sends = vec![self.now];
        self.ctx.pending.put(&pending, &key)?;
        Ok(Some(token))
    }

    /// A fresh request record and its token, lapsing after `confirm.expires`.
    fn issue(
        &self,
        list: &ListConfig,
        address: &EmailAddress,
        name: Option<String>,
        action: Action,
    ) -> io::Result<(token::Pending, String)> {
        let request = Request {
            list: list.id.as_str(),
            address_key: &address.key(),
            address: &address.to_string(),
            name,
            action,
        };
        self.ctx.keys.issue(
            request,
            self.now,
            self.ctx.config.server.confirm.expires.as_secs(),
        )
    }

    /// Holds a request for the owners and tells each of them, once per request;
    /// `false` when it was held already (nothing new is sent to anyone).
    fn hold(
        &mut self,
        list: &ListConfig,
        address: &EmailAddress,
        name: Option<String>,
        action: Action,
        rule: Option<usize>,
    ) -> io::Result<bool> {
        let key = address.key();
        let id = token::pending_id(list.id.as_str(), &key, action);
        if let Some(existing) = self.ctx.held.get(list.id.as_str(), &id)?
            && existing.expires > self.now
        {
            return Ok(false);
        }
        let (mut held, _) = self.issue(list, address, name, action)?;
        held.rule = rule;
        self.ctx.held.put(&held, &key)?;
        let token = self.ctx.keys.token_for(&held, &key).unwrap_or_default();
        let why = match rule {
            Some(n) => format!("rule {n} of the list's rules holds it for you"),
            None => "the list's policy has the owners decide".to_owned(),
        };
        let expires = rfc3339(held.expires);
        let shown = address.to_string();
        let name = held
            .name
            .clone()
            .unwrap_or_else(|| "no name given".to_owned());
        let heading = self.heading.take();
        for owner in &list.owners {
            let text = self.text(
                "held_owner",
                list,
                &shown,
                &[
                    ("name", &name),
                    ("why", &why),
                    ("token", &token),
                    ("list_id", list.id.as_str()),
                    ("expires", &expires),
                ],
            );
            let draft = self.say(
                owner,
                Some(list),
                &format!("approve {token}: {shown} asks to join {}", list.name),
                text,
            );
            // One per held request; bounded by the hourly total, not by the owner's
            // own budget, which forged requests would exhaust.
            draft.reply_to_request = true;
            draft.free = true;
        }
        self.heading = heading;
        Ok(true)
    }

    /// An owner's `approve TOKEN` or `reject TOKEN reason`.
    fn settle(&mut self, token: &str, reject: Option<String>) -> io::Result<()> {
        let ctx: &'a Context = self.ctx;
        let Some((list, held, _, _)) = self.redeem(&ctx.held, token, "moderate")? else {
            return Ok(());
        };
        let settled = settle_held(
            self.ctx,
            list,
            &held,
            reject.as_deref(),
            Via::Token,
            self.now,
            self.incoming.message_id.as_deref(),
        )?;
        let owner_note = if reject.is_some() {
            "rejected_owner"
        } else {
            "approved_owner"
        };
        let sender = self.sender;
        let ack = self.text(owner_note, list, &settled.reply.to.to_string(), &[]);
        self.say(
            sender,
            Some(list),
            &format!("Held request for {}", list.name),
            ack,
        );
        let to = settled.reply.to.clone();
        let heading = self.heading.take();
        self.say(
            &to,
            Some(list),
            &settled.reply.subject,
            settled.reply.paragraphs.join("\n\n"),
        );
        self.heading = heading;
        for key in [sender.key(), to.key()] {
            if let Some(draft) = self.replies.get_mut(&key) {
                draft.free = true;
                draft.welcome |= key == to.key() && settled.reply.welcome;
            }
        }
        Ok(())
    }

    fn ask(
        &mut self,
        list: &ListConfig,
        address: &EmailAddress,
        token: &str,
        template: &str,
        what: &str,
    ) {
        let confirm_address = reply::confirm_address(&self.ctx.config, list, token);
        let expires = rfc3339(self.now + self.ctx.config.server.confirm.expires.as_secs());
        let text = self.text(
            template,
            list,
            &address.to_string(),
            &[("confirm_address", &confirm_address), ("expires", &expires)],
        );
        let subject = format!("Confirm your {what} {} (confirm {token})", list.name);
        self.say(address, Some(list), &subject, text)
            .tokens
            .push(token.to_owned());
    }

    fn welcome(&mut self, list: &ListConfig, address: &EmailAddress) {
        let text = self.text("welcome", list, &address.to_string(), &[]);
        self.say(
            address,
            Some(list),
            &format!("Welcome to {}", list.name),
            text,
        )
        .welcome = true;
    }

    /// One of the [`Notice`]s to `address` about `list`, in the reply being built.
    fn tell(
        &mut self,
        list: &ListConfig,
        address: &EmailAddress,
        notice: Notice,
        extra: &[(&str, &str)],
    ) {
        let text = self.text(notice.template(), list, &address.to_string(), extra);
        self.say(address, Some(list), &notice.subject(list), text);
    }

    fn text(&self, name: &str, list: &ListConfig, address: &str, extra: &[(&str, &str)]) -> String {
        let mut vars = vec![("address", address)];
        vars.extend_from_slice(extra);
        Texts::to(&self.ctx.config, self.sender).text(name, Some(list), &vars)
    }

    /// Adds a confirmation request, refusal or notice to the one reply for `to`
    /// (counted against `confirmations_per_address_per_day`); returns that reply.
    fn say(
        &mut self,
        to: &EmailAddress,
        list: Option<&ListConfig>,
        subject: &str,
        text: String,
    ) -> &mut Draft {
        self.add(to, list, subject, text, Budget::Confirmations)
    }

    /// Adds a result that only answers a command mail (info, lists, query, help, an
    /// unknown list or command) to the one reply for `to` (counted against
    /// `command_replies_per_address_per_day`, unless the reply says more).
    fn answer(
        &mut self,
        to: &EmailAddress,
        list: Option<&ListConfig>,
        subject: &str,
        text: String,
    ) -> &mut Draft {
        self.add(to, list, subject, text, Budget::Commands)
    }

    /// Adds a paragraph to the one reply for `to`; returns that reply.
    fn add(
        &mut self,
        to: &EmailAddress,
        list: Option<&ListConfig>,
        subject: &str,
        text: String,
        budget: Budget,
    ) -> &mut Draft {
        let draft = self.replies.entry(to.key()).or_insert_with(|| Draft {
            free: false,
            budget,
            reply_to_request: false,
            to: to.clone(),
            list: None,
            subjects: Vec::new(),
            paragraphs: Vec::new(),
            tokens: Vec::new(),
            welcome: false,
        });
        draft.budget = draft.budget.max(budget);
        if draft.list.is_none() {
            draft.list = list.map(|l| l.id.to_string());
        }
        if !subject.is_empty() {
            draft.subjects.push(subject.to_owned());
        }
        match &self.heading {
            Some(heading) => draft.paragraphs.push(format!("{heading}\n{text}")),
            None => draft.paragraphs.push(text),
        }
        draft
    }

    fn audit(
        &self,
        list: &ListConfig,
        address: &EmailAddress,
        action: &str,
        outcome: &str,
        rule: Option<usize>,
        via: Via,
    ) -> io::Result<()> {
        let shown = address.to_string();
        self.ctx.audit.write(&Record {
            rule,
            message_id: self.incoming.message_id.as_deref(),
            ..Record::new(list.id.as_str(), &shown, action, outcome, via, self.now)
        })
    }

    /// Renders the replies and queues them as one batch (the dedupe record).
    fn finish(self) -> io::Result<Decided> {
        let mut mails = Vec::new();
        let mut list = None;
        let mut limited = false;
        for mut draft in self.replies.into_values() {
            let budget = if draft.free {
                Budget::Free
            } else {
                draft.budget
            };
            match self.ctx.limiter.take(&draft.to, budget, self.now)? {
                Ok(Allowed::Again) => {}
                Ok(Allowed::Last) => {
                    let name = match budget {
                        Budget::Commands => "last_command_reply",
                        Budget::Free | Budget::Confirmations => "last_confirmation",
                    };
                    let list = draft.list.as_deref().and_then(|l| self.ctx.config.list(l));
                    let text = Texts::to(&self.ctx.config, &draft.to).text(name, list, &[]);
                    draft.paragraphs.push(text);
                }
                Err(over) => {
                    limited = true;
                    let to = draft.to.to_string();
                    audit_line(
                        self.ctx,
                        draft.list.as_deref(),
                        &to,
                        "reply",
                        over.as_str(),
                        self.incoming,
                        self.now,
                    )?;
                    continue;
                }
            }
            let subject = match draft.subjects.as_slice() {
                [one] => one.clone(),
                _ => "Results of your commands".to_owned(),
            };
            let reply = Reply {
                to: draft.to,
                list: draft.list.clone(),
                subject,
                paragraphs: draft.paragraphs,
                confirm_token: (draft.tokens.len() == 1).then(|| draft.tokens[0].clone()),
                reply_to_request: draft.reply_to_request,
                welcome: draft.welcome,
            };
            let mail = reply::render(
                &self.ctx.config,
                &self.ctx.keys,
                &reply,
                self.incoming.message_id.as_deref(),
                self.now,
            )
            .map_err(io::Error::other)?;
            list = list.or(draft.list);
            mails.push(mail);
        }
        if mails.is_empty() && limited {
            return Ok(Decided::Silent(Silent::OverLimits));
        }
        Ok(Decided::Replies(mails, list))
    }
}

/// A held request decided by the owners: what the person is told.
pub struct Settled {
    /// The reply to the person.
    pub reply: Reply,
    /// `added`, `already-member` or `rejected`.
    pub outcome: &'static str,
}

/// Approves (adds, with a welcome) or rejects (with the reason) a held request, writes
/// the audit line and removes the request. Used by owners' mail and by the CLI.
pub fn settle_held(
    ctx: &Context,
    list: &ListConfig,
    held: &token::Pending,
    reject: Option<&str>,
    via: Via,
    now: u64,
    message_id: Option<&str>,
) -> io::Result<Settled> {
    let address = EmailAddress::parse(&held.address).map_err(io::Error::other)?;
    let texts = Texts::new(&ctx.config);
    let shown = address.to_string();
    let (outcome, subject, text, welcome) = match reject {
        None => {
            let added = add_member(ctx, list, &address, held.name.clone(), via_word(via), now)?;
            let text = texts.text("welcome", Some(list), &[("address", &shown)]);
            (
                if added { "added" } else { "already-member" },
                format!("Welcome to {}", list.name),
                text,
                true,
            )
        }
        Some(reason) => {
            let text = texts.text(
                "declined",
                Some(list),
                &[("address", &shown), ("reason", &message::clean(reason))],
            );
            (
                "rejected",
                format!("Your request to join {}", list.name),
                text,
                false,
            )
        }
    };
    let action = if reject.is_some() {
        "reject"
    } else {
        "approve"
    };
    ctx.audit.record(&Record {
        rule: held.rule,
        message_id,
        ..Record::new(list.id.as_str(), &shown, action, outcome, via, now)
    })?;
    ctx.held.remove(
        list.id.as_str(),
        &token::pending_id(list.id.as_str(), &address.key(), held.action),
    )?;
    Ok(Settled {
        reply: Reply {
            to: address,
            list: Some(list.id.to_string()),
            subject,
            paragraphs: vec![text],
            confirm_token: None,
            welcome,
            reply_to_request: false,
        },
        outcome,
    })
}

fn via_word(via: Via) -> &'static str {
    match via {
        Via::Email => "email",
        Via::Admin => "admin",
        Via::Token => "token",
    }
}

/// `L-owner@`: the message, intact, to every owner (counted in the hourly total).
fn forward_to_owners(
    ctx: &Context,
    list: &ListConfig,
    delivery: &Delivery<'_>,
    incoming: &Incoming,
    now: u64,
) -> io::Result<Decided> {
    let mut mails = Vec::new();
    for (owner, mail) in list.owners.iter().zip(owner::forward(
        &ctx.config,
        &ctx.keys,
        list,
        delivery.raw,
        now,
    )) {
        match ctx.limiter.take(owner, Budget::Free, now)? {
            Ok(_) => mails.push(mail),
            Err(over) => audit_line(
                ctx,
                Some(list.id.as_str()),
                &owner.to_string(),
                "owner",
                over.as_str(),
                incoming,
                now,
            )?,
        }
    }
    audit_line(
        ctx,
        Some(list.id.as_str()),
        &sender_text(incoming, delivery),
        "owner",
        "forwarded",
        incoming,
        now,
    )?;
    if mails.is_empty() {
        return Ok(Decided::Silent(Silent::OverLimits));
    }
    Ok(Decided::Replies(mails, Some(list.id.to_string())))
}

/// `L-bounces@`: a failed confirmation cancels its pending request; a member's bounce
/// (a welcome, say) is recorded. Only a report about mail we sent counts: its bounce
/// tag (from `L-bounces+TAG@`, or in the Message-ID the report returns) must have been
/// made for the address it reports. Anything else is recorded and ignored.
fn bounces(
    ctx: &Context,
    list: &ListConfig,
    tag: Option<&str>,
    raw: &[u8],
    incoming: &Incoming,
    now: u64,
) -> io::Result<()> {
    let note = |address: &str, outcome: &str| {
        audit_line(
            ctx,
            Some(list.id.as_str()),
            address,
            "bounce",
            outcome,
            incoming,
            now,
        )
    };
    let mut failed = owner::failed_recipients(raw);
    if failed.is_empty() {
        return note("", "unreadable");
    }
    // Anyone may mail this address: bounded work and audit lines per report, however
    // many recipients and Message-IDs it names (a real report names a few).
    if failed.len() > MAX_REPORTED {
        note(
            "",
            &format!(
                "ignored-beyond-{MAX_REPORTED}:{}",
                failed.len() - MAX_REPORTED
            ),
        )?;
        failed.truncate(MAX_REPORTED);
    }
    let domain = &ctx.config.server.domain;
    let returned = owner::returned_message_ids(raw);
    let tags: Vec<&str> = tag
        .into_iter()
        .chain(
            returned
                .iter()
                .filter_map(|id| verp::tag_of_message_id(id, domain))
                .take(MAX_RETURNED_IDS),
        )
        .collect();
    for report in failed {
        let written = [Some(&report.address), report.original.as_ref()];
        let addresses: Vec<EmailAddress> = written
            .into_iter()
            .flatten()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect();
        if addresses.is_empty() {
            note(&message::clean(&report.address), "bad-address")?;
            continue;
        }
        let ours = addresses.into_iter().find(|a| {
            let key = a.key();
            tags.iter()
                .any(|t| verp::verify(&ctx.keys, t, list.id.as_str(), &key, now))
        });
        let Some(address) = ours else {
            // Not about mail we sent to that address: a forgery, or a report too
            // mangled to tell. Recorded, nothing changed.
            note(&message::clean(&report.address), "unverified")?;
            continue;
        };
        let key = address.key();
        let mut cancelled = false;
        for action in [Action::Subscribe, Action::Unsubscribe] {
            let id = token::pending_id(list.id.as_str(), &key, action);
            if ctx.pending.get(list.id.as_str(), &id)?.is_some() {
                ctx.pending.remove(list.id.as_str(), &id)?;
                cancelled = true;
            }
        }
        let outcome = if cancelled {
            "pending-cancelled"
        } else if ctx
            .roster(list)?
            .contains(&address)
            .map_err(io::Error::other)?
        {
            "member-bounced"
        } else {
            "unknown-address"
        };
        note(&address.to_string(), outcome)?;
    }
    Ok(())
}

fn add_member(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    name: Option<String>,
    via: &str,
    now: u64,
) -> io::Result<bool> {
    let since = rfc3339(now);
    let member = Member {
        address: address.clone(),
        name: name.map(|n| message::clean(&n)).filter(|n| !n.is_empty()),
        since: toml_datetime::Datetime::from_str(&since).ok(),
        via: Some(via.into()),
    };
    ctx.roster(list)?
        .apply(Change::Add(member))
        .map_err(io::Error::other)
}

fn remove_member(ctx: &Context, list: &ListConfig, address: &EmailAddress) -> io::Result<bool> {
    ctx.roster(list)?
        .apply(Change::Remove(address.clone()))
        .map_err(io::Error::other)
}

fn audit_line(
    ctx: &Context,
    list: Option<&str>,
    address: &str,
    action: &str,
    outcome: &str,
    incoming: &Incoming,
    now: u64,
) -> io::Result<()> {
    ctx.audit.write(&Record {
        message_id: incoming.message_id.as_deref(),
        ..Record::new(
            list.unwrap_or(""),
            address,
            action,
            outcome,
            Via::Email,
            now,
        )
    })
}

fn sender_text(incoming: &Incoming, delivery: &Delivery<'_>) -> String {
    match (&incoming.from, delivery.envelope_from) {
        (Some(from), _) => from.to_string(),
        (None, Some(env)) => message::clean(env),
        (None, None) => String::new(),
    }
}

/// Same Message-ID and recipient → same key (the whole message's hash when there is
/// no Message-ID).
fn dedupe_key(incoming: &Incoming, raw: &[u8], recipient: &EmailAddress) -> String {
    let mut h = Sha256::new();
    match &incoming.message_id {
        Some(id) => h.update(format!("id:{id}").as_bytes()),
        None => h.update(Sha256::digest(raw)),
    }
    h.update(b"\n");
    h.update(recipient.key().as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
