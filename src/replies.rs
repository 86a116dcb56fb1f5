//! The replies a request builds up: one reply for each address concerned, each
//! paragraph a result, rendered and checked against the `[limits]` budgets at the
//! end. Front ends gather what their actions' outcomes say here, then hand the mails
//! to the commit.

use crate::actions::Error;
use crate::actions::{Act, Notice, Outcome, table};
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::config::{Config, ListConfig, Notify};
use crate::context::Context;
use crate::limits::{Allowed, Budget};
use crate::records::Outgoing;
use crate::reply::{self, Reply, Template, Texts};
use std::collections::BTreeMap;

/// The replies being built, by the address each goes to.
#[derive(Default)]
pub(crate) struct Replies {
    drafts: BTreeMap<String, Draft>,
    /// In command mail, the command whose result comes next (`> subscribe sm-cop`):
    /// it heads each paragraph added.
    pub(crate) heading: Option<String>,
    /// Addresses nothing goes to ([`Replies::forget`]).
    forgotten: Vec<String>,
}

/// One reply being built.
pub(crate) struct Draft {
    /// Only results of a valid token: free of the address and domain budgets.
    pub(crate) free: bool,
    /// The strictest budget of what it says: a reply mixing command results with a
    /// confirmation or notice counts as the latter (which forgers would aim for).
    budget: Budget,
    /// An owners' notification: Reply-To `L-request@`.
    pub(crate) reply_to_request: bool,
    to: EmailAddress,
    list: Option<String>,
    subjects: Vec<String>,
    paragraphs: Vec<String>,
    tokens: Vec<String>,
    /// A welcome: the headers a new member's mail carries.
    pub(crate) welcome: bool,
}

/// The replies rendered: the mails to send, the list they are about, and whether a
/// budget stopped any.
pub(crate) struct Finished {
    /// The mails, one per address.
    pub(crate) mails: Vec<Outgoing>,
    /// The list of the first reply that names one.
    pub(crate) list: Option<String>,
    /// Some reply was over a budget (each has its audit line).
    pub(crate) limited: bool,
}

impl Replies {
    /// What a `notice` tells `to` about `about` on `list`: a confirmation request,
    /// a refusal or a notice, counted against `confirmations_per_address_per_day`.
    pub(crate) fn tell(
        &mut self,
        config: &Config,
        to: &EmailAddress,
        list: &ListConfig,
        about: &str,
        notice: &Notice,
    ) -> &mut Draft {
        let text = notice.text(config, list, about);
        let draft = self.say(to, Some(list), &notice.subject, text);
        draft.tokens.extend(notice.token.clone());
        draft.welcome |= notice.is_welcome();
        draft
    }

    /// What an action's `outcome` tells `address` (by the table), and for a request
    /// newly held, what each owner is told (without the command heading: the owners'
    /// mail is not an answer to theirs).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn outcome(
        &mut self,
        ctx: &Context,
        act: Act,
        list: &ListConfig,
        address: &EmailAddress,
        outcome: &Outcome,
        now: u64,
    ) {
        let config = &ctx.config;
        let shown = address.to_string();
        let lang = member_lang(ctx, list, address);
        if let Some(notice) = table::notice(config, list, act, outcome, lang.as_deref(), now) {
            let notice = table::with_links(notice, ctx, list, address, act, now);
            self.tell(config, address, list, &shown, &notice);
        }
        if let Outcome::Held(Some(hold)) = outcome {
            let notice = table::owners_notice(list, &shown, hold);
            self.tell_owners(config, list, &shown, &notice, true);
        }
        if list.notify == Notify::Each
            && let Some(notice) = table::owners_event(list, act, outcome, &shown)
        {
            self.tell_owners(config, list, &shown, &notice, false);
        }
    }

    /// What each owner of `list` is told about `about` (without the command heading:
    /// the owners' mail is not an answer to theirs). `reply_to_request`: replying to
    /// it goes to `L-request@` (it asks for a decision).
    pub(crate) fn tell_owners(
        &mut self,
        config: &Config,
        list: &ListConfig,
        about: &str,
        notice: &Notice,
        reply_to_request: bool,
    ) {
        let heading = self.heading.take();
        for owner in &list.owners {
            let draft = self.tell(config, owner, list, about, notice);
            // Bounded by the hourly total, not by the owner's own budget, which
            // forged requests would exhaust.
            draft.reply_to_request |= reply_to_request;
            draft.free = true;
        }
        self.heading = heading;
    }

    /// Adds a confirmation request, refusal or notice to the one reply for `to`
    /// (counted against `confirmations_per_address_per_day`); returns that reply.
    pub(crate) fn say(
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
    pub(crate) fn answer(
        &mut self,
        to: &EmailAddress,
        list: Option<&ListConfig>,
        subject: &str,
        text: String,
    ) -> &mut Draft {
        self.add(to, list, subject, text, Budget::Commands)
    }

    /// No reply to `to` from this request, whatever is added later (an erased address).
    pub(crate) fn forget(&mut self, to: &EmailAddress) {
        self.drafts.remove(&to.key());
        self.forgotten.push(to.key());
    }

    /// The reply to `to`, if one is being built.
    pub(crate) fn to(&mut self, to: &EmailAddress) -> Option<&mut Draft> {
        self.drafts.get_mut(&to.key())
    }

    fn add(
        &mut self,
        to: &EmailAddress,
        list: Option<&ListConfig>,
        subject: &str,
        text: String,
        budget: Budget,
    ) -> &mut Draft {
        let draft = self.drafts.entry(to.key()).or_insert_with(|| Draft {
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

    /// Renders the replies, each within its budget: the last one a budget allows
    /// today says so; one over it is dropped, with an audit line.
    pub(crate) fn finish(
        self,
        ctx: &Context,
        message_id: Option<&str>,
        now: u64,
    ) -> Result<Finished, Error> {
        let mut done = Finished {
            mails: Vec::new(),
            list: None,
            limited: false,
        };
        let drafts = self.drafts.into_iter();
        for (_, mut draft) in drafts.filter(|(key, _)| !self.forgotten.contains(key)) {
            let budget = if draft.free {
                Budget::Free
            } else {
                draft.budget
            };
            match ctx.limiter.take(&draft.to, budget, now)? {
                Ok(Allowed::Again) => {}
                Ok(Allowed::Last) => {
                    let template = match budget {
                        Budget::Commands => Template::LastCommandReply,
                        Budget::Free | Budget::Confirmations => Template::LastConfirmation,
                    };
                    let list = draft.list.as_deref().and_then(|l| ctx.config.list(l));
                    let text = Texts::to(&ctx.config, &draft.to).text(template, list, &[]);
                    draft.paragraphs.push(text);
                }
                Err(over) => {
                    done.limited = true;
                    ctx.audit.write(&Record {
                        message_id,
                        ..Record::new(
                            draft.list.as_deref().unwrap_or(""),
                            &draft.to.to_string(),
                            "reply",
                            over.as_str(),
                            Via::Email,
                            now,
                        )
                    })?;
                    continue;
                }
            }
            let list = draft.list.clone();
            done.mails.push(draft.render(ctx, message_id, now)?);
            done.list = done.list.or(list);
        }
        Ok(done)
    }

    /// Renders the replies without the budgets: what an admin's own act at the
    /// server causes (no forger can make it) is sent whatever today's counts.
    pub(crate) fn render_unbudgeted(self, ctx: &Context, now: u64) -> Result<Vec<Outgoing>, Error> {
        (self.drafts.into_values())
            .map(|draft| draft.render(ctx, None, now))
            .collect()
    }
}

impl Draft {
    /// The language the reply's own words are in: the addressee's on its list,
    /// else the list's; English for a reply about no list.
    fn lang(&self, ctx: &Context) -> crate::lang::Lang {
        let Some(list) = self.list.as_deref().and_then(|id| ctx.config.list(id)) else {
            return crate::lang::Lang::En;
        };
        let member = member_lang(ctx, list, &self.to);
        crate::lang::Lang::pick(&crate::lang::chain(member.as_deref(), &list.language))
    }

    fn render(self, ctx: &Context, message_id: Option<&str>, now: u64) -> Result<Outgoing, Error> {
        let subject = match self.subjects.as_slice() {
            [one] => one.clone(),
            _ => self
                .lang(ctx)
                .say("Results of your commands", "Resultado de sus comandos")
                .to_owned(),
        };
        let reply = Reply {
            confirm_token: (self.tokens.len() == 1).then(|| self.tokens[0].clone()),
            to: self.to,
            list: self.list,
            subject,
            paragraphs: self.paragraphs,
            reply_to_request: self.reply_to_request,
            welcome: self.welcome,
        };
        Ok(reply::render(
            &ctx.config,
            &ctx.keys,
            &reply,
            message_id,
            now,
        )?)
    }
}
/// The `lang` of `address` on `list`'s roster, if it is a member whose line says.
/// A roster that cannot be read says nothing: the list's language is used.
pub(crate) fn member_lang(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
) -> Option<String> {
    ctx.roster(list).ok()?.lang(address).ok().flatten()
}
