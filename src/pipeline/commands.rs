//! A message's commands, each run as an action, each result a paragraph of the reply
//! to the address it concerns.

use super::audit_line;
use crate::actions::Error;
use crate::actions::{self, Act, Outcome, Redeemed, Request, Source, table};
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::command::{Command, Target};
use crate::config::ListConfig;
use crate::context::Context;
use crate::lang::Lang;
use crate::message::{self, Incoming};
use crate::replies::{Replies, member_lang};
use crate::reply::{Template, Texts};
use crate::route::Route;
use crate::token::Intent;

/// The answer to one message: its sender, and the replies its commands build up.
pub(super) struct Answer<'a> {
    pub(super) ctx: &'a Context,
    pub(super) incoming: &'a Incoming,
    pub(super) sender: &'a EmailAddress,
    pub(super) route: &'a Route,
    pub(super) now: u64,
    pub(super) replies: Replies,
}

pub(super) const TO_LISTKEEPER: (&str, &str) =
    ("Your message to listkeeper", "Su mensaje a listkeeper");

impl<'a> Answer<'a> {
    /// Runs one command: an action, or a question answered from the configuration
    /// (the table of commands: one method each).
    pub(super) fn run(&mut self, command: Command) -> Result<(), Error> {
        match command {
            Command::Subscribe { list, name } => self.subscribe(&list, name),
            Command::Unsubscribe { list } => self.unsubscribe(&list),
            Command::Confirm { token } => self.confirm(&token),
            Command::Approve { token } => self.moderate(&token, None),
            Command::Reject { token, reason } => {
                let reason = reason.unwrap_or_else(|| {
                    let (en, es) = (
                        "The owners gave no reason.",
                        "Los administradores no indicaron el motivo.",
                    );
                    self.say(self.route_list(), en, es)
                });
                self.moderate(&token, Some(&reason))
            }
            Command::Info { list } => {
                self.info(&list);
                Ok(())
            }
            Command::Lists => {
                self.all_lists();
                Ok(())
            }
            Command::Query { list } => self.query(&list),
            Command::Set { list, mode, until } => self.set_mode(&list, mode, until),
            Command::Help => {
                self.help();
                Ok(())
            }
            Command::Invalid { line, why } => {
                self.replies.heading = Some(format!("> {}", message::clean(&line)));
                self.replies
                    .answer(self.sender, None, &self.to_listkeeper(), why);
                Ok(())
            }
            Command::Add {
                list,
                address,
                name,
                quiet,
            } => self.owner_command(&list, Intent::OwnerAdd, &address, name, quiet),
            Command::Delete {
                list,
                address,
                quiet,
            } => self.owner_command(&list, Intent::OwnerDelete, &address, None, quiet),
            Command::Review { list } => self.review(&list),
            Command::LeaveAll => self.leave_all(),
            Command::QueryAll => self.query_all(),
            Command::Erase => self.erase(),
            Command::Change { list, all, to } => self.change(&list, all, &to),
            Command::Unsupported { line } => {
                self.unsupported(&line);
                Ok(())
            }
        }
    }

    fn subscribe(&mut self, list: &Target, name: Option<String>) -> Result<(), Error> {
        if let Some(list) = self.list(list, "subscribe LIST Your Name") {
            // No name given: the From header's display name.
            let name = name.or_else(|| self.incoming.from_name.clone());
            let outcome = actions::subscribe(self.ctx, self.request(list, name), self.now)?;
            self.tell(Act::Subscribe, list, self.sender, &outcome);
        }
        Ok(())
    }

    fn unsubscribe(&mut self, list: &Target) -> Result<(), Error> {
        if let Some(list) = self.list(list, "unsubscribe LIST") {
            let outcome = actions::unsubscribe(self.ctx, self.request(list, None), self.now)?;
            self.tell(Act::Unsubscribe, list, self.sender, &outcome);
        }
        Ok(())
    }

    fn set_mode(
        &mut self,
        list: &Target,
        mode: crate::records::Mode,
        until: Option<crate::records::Day>,
    ) -> Result<(), Error> {
        if let Some(list) = self.list(list, "set LIST nomail") {
            let request = self.request(list, None);
            let outcome = actions::set_mode(self.ctx, request, mode, until, self.now)?;
            self.tell(Act::Set, list, self.sender, &outcome);
        }
        Ok(())
    }

    fn confirm(&mut self, token: &str) -> Result<(), Error> {
        let redeemed = actions::confirm(self.ctx, token, &self.lists(), self.source(), self.now)?;
        self.redeemed(redeemed, |answer, list, address, outcome| {
            answer.tell(Act::Confirm, list, address, outcome);
            // What a valid token causes is free of the address and domain budgets.
            if let Some(draft) = answer.replies.to(address) {
                draft.free = true;
            }
        })
    }

    fn info(&mut self, list: &Target) {
        if let Some(list) = self.list(list, "info LIST") {
            let text = self.texts().text(Template::Info, Some(list), &[]);
            let subject = self.say(Some(list), "About {}", "Información sobre {}");
            self.replies.answer(self.sender, Some(list), &subject, text);
        }
    }

    fn all_lists(&mut self) {
        let texts = self.texts();
        let all: Vec<String> = (self.ctx.config.lists.values())
            .map(|l| texts.text(Template::Info, Some(l), &[]))
            .collect();
        let text = all.join("\n\n----\n\n");
        let subject = self.say(
            self.route_list(),
            "The lists on this server",
            "Las listas de este servidor",
        );
        (self.replies).answer(self.sender, None, &subject, text);
    }

    fn query(&mut self, list: &Target) -> Result<(), Error> {
        if let Some(list) = self.list(list, "query LIST") {
            let member = (self.ctx.roster(list)?).contains(self.sender)?;
            let template = if member {
                Template::QueryMember
            } else {
                Template::QueryNotMember
            };
            let text = self.texts().text(template, Some(list), &[]);
            let subject = self.say(Some(list), "Your subscription to {}", "Su suscripción a {}");
            self.replies.answer(self.sender, Some(list), &subject, text);
        }
        Ok(())
    }

    fn help(&mut self) {
        let list = self.route_list();
        let text = self.texts().text(Template::Help, list, &[]);
        let subject = self.say(list, "listkeeper help", "Ayuda de listkeeper");
        self.replies.answer(self.sender, list, &subject, text);
    }

    fn unsupported(&mut self, line: &str) {
        let line = message::clean(line);
        self.replies.heading = Some(format!("> {line}"));
        let text = (self.texts()).text(Template::NotSupported, None, &[("line", &line)]);
        self.replies
            .answer(self.sender, None, &self.to_listkeeper(), text);
    }

    /// A message with no command in it: said so, with the help text.
    pub(super) fn no_command(&mut self) {
        let list = self.route_list();
        let texts = self.texts();
        let (none, help) = (
            texts.text(Template::NoCommand, list, &[]),
            texts.text(Template::Help, list, &[]),
        );
        self.replies
            .answer(self.sender, list, &self.to_listkeeper(), none);
        self.replies.answer(self.sender, list, "", help);
    }

    /// An owner's `approve TOKEN` or `reject TOKEN reason`: the owner gets an
    /// acknowledgement, the person the outcome.
    fn moderate(&mut self, token: &str, reject: Option<&str>) -> Result<(), Error> {
        let redeemed = actions::moderate(
            self.ctx,
            token,
            &self.lists(),
            reject,
            self.source(),
            self.now,
        )?;
        self.redeemed(redeemed, |answer, list, person, outcome| {
            let (ctx, sender) = (answer.ctx, answer.sender);
            let ack = table::owners_decided(list, outcome);
            (answer.replies).tell(&ctx.config, sender, list, &person.to_string(), &ack);
            let act = match outcome {
                Outcome::Rejected { .. } => Act::Reject,
                _ => Act::Approve,
            };
            let heading = answer.replies.heading.take();
            answer.tell(act, list, person, outcome);
            answer.replies.heading = heading;
            for address in [sender, person] {
                if let Some(draft) = answer.replies.to(address) {
                    draft.free = true;
                }
            }
        })
    }

    /// A redeemed token's outcome, told by `done`; a bad token, told to the sender.
    fn redeemed(
        &mut self,
        redeemed: Redeemed<'a>,
        done: impl FnOnce(&mut Self, &'a ListConfig, &EmailAddress, &Outcome),
    ) -> Result<(), Error> {
        match redeemed {
            Redeemed::Done {
                list,
                address,
                outcome,
            } => {
                done(self, list, &address, &outcome);
                Ok(())
            }
            Redeemed::Owner {
                list,
                address,
                act,
                quiet,
                outcome,
            } => {
                self.owner_done(list, &address, act, quiet, &outcome);
                // The token was mailed to the owner: free of the budgets, as a
                // confirmation's results are.
                for to in [self.sender, &address] {
                    if let Some(draft) = self.replies.to(to) {
                        draft.free = true;
                    }
                }
                Ok(())
            }
            Redeemed::LeftAll {
                list,
                address,
                left,
            } => {
                self.left_all(list, &address, &left);
                Ok(())
            }
            Redeemed::Changed {
                list,
                from,
                to,
                moved,
                refused,
            } => {
                self.changed(list, &from, &to, &moved, &refused);
                Ok(())
            }
            Redeemed::Erased { address, erased } => {
                tracing::info!(
                    hash = %erased.hash,
                    left = erased.left,
                    cancelled = erased.cancelled,
                    "erased at the address's own request"
                );
                self.erased(&address);
                Ok(())
            }
            Redeemed::Bad { list, outcome } => self.bad_token(list, &outcome),
        }
    }

    /// An unknown, used or expired token: said to the sender, audited. The list is the
    /// record's, else the one the recipient names (`L-confirm+…@`, `L-request@`).
    fn bad_token(&mut self, list: Option<&'a ListConfig>, outcome: &Outcome) -> Result<(), Error> {
        let sender = self.sender;
        let shown = sender.to_string();
        let list = list.or_else(|| self.route_list());
        let (act, word) = (Act::Confirm.word(), outcome.word());
        match list {
            // On a list: as its token's lines are (`via` token).
            Some(l) => self.ctx.audit.write(&Record {
                message_id: self.incoming.message_id.as_deref(),
                ..Record::new(l.id.as_str(), &shown, act, word, Via::Token, self.now)
            })?,
            None => audit_line(self.ctx, None, &shown, act, word, self.incoming, self.now)?,
        }
        match list.and_then(|l| {
            Some((
                l,
                table::notice(
                    &self.ctx.config,
                    l,
                    Act::Confirm,
                    outcome,
                    self.lang(Some(l)).as_deref(),
                    self.now,
                )?,
            ))
        }) {
            Some((list, notice)) => {
                self.replies
                    .tell(&self.ctx.config, sender, list, &shown, &notice);
            }
            None => {
                let text = self.texts().text(Template::BadTokenServer, None, &[]);
                let subject = self.say(None, "Your confirmation", "Su confirmación");
                self.replies.say(sender, None, &subject, text);
            }
        }
        Ok(())
    }

    /// What `address` is told of `outcome`, and each owner of a request newly held.
    pub(super) fn tell(
        &mut self,
        act: Act,
        list: &'a ListConfig,
        address: &EmailAddress,
        outcome: &Outcome,
    ) {
        (self.replies).outcome(self.ctx, act, list, address, outcome, self.now);
    }

    /// The list a command is about, or a reply saying what is wrong with it.
    pub(super) fn list(&mut self, target: &Target, example: &str) -> Option<&'a ListConfig> {
        let ctx: &'a Context = self.ctx;
        let texts = self.texts();
        let text = match target {
            Target::List(id) => return ctx.config.lists.get(id),
            Target::Missing => texts.text(Template::MissingList, None, &[("example", example)]),
            Target::Unknown(word) => {
                let word = message::clean(word);
                texts.text(Template::UnknownList, None, &[("word", &word)])
            }
        };
        self.replies
            .answer(self.sender, None, &self.to_listkeeper(), text);
        None
    }

    /// The lists a token may be for: the one the mail was for, or any list when it
    /// came to the command address.
    fn lists(&self) -> Vec<&'a ListConfig> {
        let ctx: &'a Context = self.ctx;
        match self.route.list() {
            Some(list) => ctx.config.lists.get(list).into_iter().collect(),
            None => ctx.config.lists.values().collect(),
        }
    }

    pub(super) fn route_list(&self) -> Option<&'a ListConfig> {
        let ctx: &'a Context = self.ctx;
        self.route.list().and_then(|l| ctx.config.list(l.as_str()))
    }

    fn request(&self, list: &'a ListConfig, name: Option<String>) -> Request<'a> {
        Request {
            list,
            address: self.sender.clone(),
            name,
            source: self.source(),
        }
    }

    pub(super) fn source(&self) -> Source<'a> {
        let incoming: &'a Incoming = self.incoming;
        Source::Mail {
            message_id: incoming.message_id.as_deref(),
            authenticated: crate::trust::authenticated(
                &incoming.auth_results,
                self.ctx.config.server.authserv_id.as_deref(),
                self.sender,
            ),
        }
    }

    /// The texts for the sender, in their language on the list the mail is for.
    pub(super) fn texts(&self) -> Texts<'a> {
        Texts::to(&self.ctx.config, self.sender).lang(self.lang(self.route_list()).as_deref())
    }

    pub(super) fn to_listkeeper(&self) -> String {
        self.say(self.route_list(), TO_LISTKEEPER.0, TO_LISTKEEPER.1)
    }

    /// The sender's language about `list`: their `lang` on it, else its language;
    /// none (English) without a list.
    fn lang(&self, list: Option<&ListConfig>) -> Option<String> {
        let list = list?;
        member_lang(self.ctx, list, self.sender).or_else(|| Some(list.language.clone()))
    }

    /// `en` or `es` (with `{}` for the list's name), as the sender reads about `list`.
    pub(super) fn say(&self, list: Option<&ListConfig>, en: &str, es: &str) -> String {
        let text = self.sender_lang(list).say(en, es);
        text.replace("{}", list.map_or("", |l| l.name.as_str()))
    }

    /// The built-in language the sender reads about `list` in.
    pub(super) fn sender_lang(&self, list: Option<&ListConfig>) -> Lang {
        Lang::pick(&crate::lang::chain(self.lang(list).as_deref(), "en"))
    }
}
