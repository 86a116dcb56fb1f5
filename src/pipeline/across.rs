//! The answers to `SIGNOFF *` and `QUERY *`: one reply about every list on this
//! server the sender is on.

use super::commands::Answer;
use crate::actions::across::{self, LeaveAll};
use crate::actions::erase;
use crate::actions::{Act, Error, Notice, Outcome, table};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::config::{ListConfig, ListId, Notify};
use crate::reply::{self, Template};

/// The lists as a reply shows them: one a line, name and title.
fn shown(lists: &[&ListConfig]) -> String {
    let lines: Vec<String> = (lists.iter())
        .map(|l| format!("  {} ({})", l.name, l.title))
        .collect();
    lines.join("\n")
}

impl<'a> Answer<'a> {
    /// `SIGNOFF *`: one confirmation mailed for every list the sender is on.
    pub(super) fn leave_all(&mut self) -> Result<(), Error> {
        let ctx = self.ctx;
        let all = ctx.config.lists.values();
        match across::leave_all(ctx, all, self.sender, self.source(), self.now)? {
            LeaveAll::NotOnAny => self.not_on_any(),
            LeaveAll::NotResent => {}
            LeaveAll::ConfirmationSent { list, token, lists } => {
                let config = &ctx.config;
                let expires = rfc3339(self.now + config.server.confirm.expires.as_secs());
                let subject = self.say(
                    Some(list),
                    "Confirm your removal from every list",
                    "Confirme su baja de todas las listas",
                );
                let notice = Notice {
                    token: Some(token.clone()),
                    ..Notice::new(
                        Template::ConfirmLeaveAll,
                        format!("{subject} (confirm {token})"),
                    )
                    .with(
                        "confirm_address",
                        reply::confirm_address(config, list, &token),
                    )
                    .with("expires", expires)
                    .with("lists", shown(&lists))
                };
                let about = self.sender.to_string();
                (self.replies).tell(config, self.sender, list, &about, &notice);
            }
        }
        Ok(())
    }

    /// A `SIGNOFF *` confirmed: one reply naming the lists left; each list's owners
    /// told as of any leave (now, or in their summary).
    pub(super) fn left_all(
        &mut self,
        list: &'a ListConfig,
        address: &EmailAddress,
        left: &[ListId],
    ) {
        let ctx = self.ctx;
        let left: Vec<&'a ListConfig> = left
            .iter()
            .filter_map(|id| ctx.config.lists.get(id))
            .collect();
        if left.is_empty() {
            self.not_on_any();
        } else {
            let subject = self.say(
                Some(list),
                "You have left every list",
                "Se ha dado de baja de todas las listas",
            );
            let notice = Notice::new(Template::LeftAll, subject).with("lists", shown(&left));
            (self.replies).tell(&ctx.config, address, list, &address.to_string(), &notice);
        }
        if let Some(draft) = self.replies.to(address) {
            draft.free = true;
        }
        let shown = address.to_string();
        for on in left.into_iter().filter(|l| l.notify == Notify::Each) {
            if let Some(notice) =
                table::owners_event(on, Act::Unsubscribe, &Outcome::Removed, &shown)
            {
                (self.replies).tell_owners(&ctx.config, on, &shown, &notice, false);
            }
        }
    }

    /// `ERASE`: one confirmation mailed to the sender, naming the lists it is on. The
    /// record is kept on the list the mail was sent to, else on the first list.
    pub(super) fn erase(&mut self) -> Result<(), Error> {
        let ctx = self.ctx;
        let Some(list) = self
            .route_list()
            .or_else(|| ctx.config.lists.values().next())
        else {
            return Ok(());
        };
        let outcome = erase::request(ctx, list, self.sender, self.source(), self.now)?;
        let Outcome::ConfirmationSent { token } = outcome else {
            return Ok(()); // sent as often today as the budget allows
        };
        let lists = across::lists_of(ctx, ctx.config.lists.values(), self.sender)?;
        let config = &ctx.config;
        let expires = rfc3339(self.now + config.server.confirm.expires.as_secs());
        let subject = self.say(
            Some(list),
            "Confirm the erasure of your address",
            "Confirme que desea borrar su dirección",
        );
        let on = match lists.is_empty() {
            true => format!("  ({})", self.say(Some(list), "no list", "ninguna lista")),
            false => shown(&lists),
        };
        let notice = Notice {
            token: Some(token.clone()),
            ..Notice::new(
                Template::ConfirmErase,
                format!("{subject} (confirm {token})"),
            )
            .with(
                "confirm_address",
                reply::confirm_address(config, list, &token),
            )
            .with("expires", expires)
            .with("lists", on)
        };
        let about = self.sender.to_string();
        (self.replies).tell(config, self.sender, list, &about, &notice);
        Ok(())
    }

    /// An `ERASE` confirmed: no reply to the address (nor to the sender, if another),
    /// as one would keep the address in the state.
    pub(super) fn erased(&mut self, address: &EmailAddress) {
        self.replies.forget(address);
        self.replies.forget(self.sender);
    }

    /// `QUERY *`: the lists the sender is on, to the sender.
    pub(super) fn query_all(&mut self) -> Result<(), Error> {
        let ctx = self.ctx;
        let lists = across::lists_of(ctx, ctx.config.lists.values(), self.sender)?;
        if lists.is_empty() {
            self.not_on_any();
            return Ok(());
        }
        let text = (self.texts()).text(Template::QueryAll, None, &[("lists", &shown(&lists))]);
        let subject = self.say(None, "Your subscriptions", "Sus suscripciones");
        (self.replies).answer(self.sender, None, &subject, text);
        Ok(())
    }

    /// The sender is not on `list` (`None`: on no list).
    pub(super) fn not_member(&mut self, list: Option<&'a ListConfig>) {
        let Some(list) = list else {
            return self.not_on_any();
        };
        let text = (self.texts()).text(Template::QueryNotMember, Some(list), &[]);
        let subject = self.say(Some(list), "Your subscription to {}", "Su suscripción a {}");
        (self.replies).answer(self.sender, Some(list), &subject, text);
    }

    fn not_on_any(&mut self) {
        let text = (self.texts()).text(Template::NotOnAnyList, None, &[]);
        let subject = self.say(None, "Your subscriptions", "Sus suscripciones");
        (self.replies).answer(self.sender, None, &subject, text);
    }
}
