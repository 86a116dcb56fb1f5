//! The answers to `CHANGE [LIST|*] new@address`: a confirmation to the new
//! address, a word to the old one; once confirmed, both told what moved.

use super::commands::Answer;
use crate::actions::change::{self, Asked};
use crate::actions::{Error, Notice};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::command::Target;
use crate::config::{ListConfig, ListId};
use crate::reply::{self, Template};

/// Lists as a reply shows them, one a line, each with what follows it.
fn lines<'l>(lists: impl IntoIterator<Item = (&'l ListConfig, String)>) -> String {
    let lines: Vec<String> = (lists.into_iter())
        .map(|(l, after)| format!("  {}{after}", l.name))
        .collect();
    lines.join("\n")
}

impl<'a> Answer<'a> {
    /// `CHANGE`: checked for the new address now; a confirmation mailed there.
    pub(super) fn change(&mut self, target: &Target, all: bool, to: &str) -> Result<(), Error> {
        let to = match EmailAddress::parse(to) {
            Ok(to) if to.key() != self.sender.key() => to,
            Ok(_) => return self.invalid_change("that is your address already"),
            Err(e) => return self.invalid_change(&e.to_string()),
        };
        let ctx = self.ctx;
        let lists: Vec<&'a ListConfig> = if all {
            ctx.config.lists.values().collect()
        } else {
            match self.list(target, "change LIST new@address") {
                Some(list) => vec![list],
                None => return Ok(()),
            }
        };
        let one = (!all).then(|| lists[0]);
        let (sender, now) = (self.sender, self.now);
        match change::ask(ctx, lists, all, sender, &to, self.source(), now)? {
            Asked::NotMember => self.not_member(one),
            Asked::NotResent => {}
            Asked::Refused(refused) => {
                let shown = lines(refused.into_iter().map(|(l, r)| (l, format!(": {r}"))));
                self.tell_change(sender, Template::ChangeRefused, &to, &shown);
            }
            Asked::ConfirmationSent { list, token, lists } => {
                let shown = lines(lists.iter().map(|&l| (l, String::new())));
                self.confirm_change(list, &token, &to, &shown);
                self.tell_change(sender, Template::ChangeSent, &to, &shown);
            }
        }
        Ok(())
    }

    /// The confirmation mailed to the new address `to`.
    fn confirm_change(
        &mut self,
        list: &'a ListConfig,
        token: &str,
        to: &EmailAddress,
        shown: &str,
    ) {
        let config = &self.ctx.config;
        let expires = rfc3339(self.now + config.server.confirm.expires.as_secs());
        let subject = self.say(
            Some(list),
            "Confirm your new address",
            "Confirme su nueva dirección",
        );
        let notice = Notice {
            token: Some(token.to_owned()),
            ..Notice::new(
                Template::ConfirmChange,
                format!("{subject} (confirm {token})"),
            )
            .with(
                "confirm_address",
                reply::confirm_address(config, list, token),
            )
            .with("expires", expires)
            .with("from", self.sender.to_string())
            .with("lists", shown.to_owned())
        };
        (self.replies).tell(config, to, list, &to.to_string(), &notice);
    }

    /// `template` to the old address (`self.sender`) about its move to `to`.
    fn tell_change(
        &mut self,
        from: &EmailAddress,
        template: Template,
        to: &EmailAddress,
        shown: &str,
    ) {
        let vars = [("to", to.to_string()), ("lists", shown.to_owned())];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let text = (self.texts()).text(template, None, &vars);
        let subject = self.say(None, "Your change of address", "Su cambio de dirección");
        (self.replies).say(from, None, &subject, text);
    }

    /// A `CHANGE` confirmed by the new address: both addresses told what moved and
    /// what stays.
    pub(super) fn changed(
        &mut self,
        list: &'a ListConfig,
        from: &EmailAddress,
        to: &EmailAddress,
        moved: &[ListId],
        refused: &[(ListId, String)],
    ) {
        let ctx = self.ctx;
        let moved = change::names(ctx, moved);
        let refused: Vec<(&ListConfig, String)> = (refused.iter())
            .filter_map(|(id, r)| ctx.config.lists.get(id).map(|l| (l, format!(": {r}"))))
            .collect();
        let subject = self.say(
            Some(list),
            "Your change of address",
            "Su cambio de dirección",
        );
        for address in [from, to] {
            if !moved.is_empty() {
                let shown = lines(moved.iter().map(|&l| (l, String::new())));
                let notice = Notice::new(Template::Changed, subject.clone())
                    .with("to", to.to_string())
                    .with("lists", shown);
                (self.replies).tell(&ctx.config, address, list, &from.to_string(), &notice);
            }
            if !refused.is_empty() {
                let notice = Notice::new(Template::ChangeRefused, subject.clone())
                    .with("to", to.to_string())
                    .with("lists", lines(refused.iter().cloned()));
                (self.replies).tell(&ctx.config, address, list, &from.to_string(), &notice);
            }
            if let Some(draft) = self.replies.to(address) {
                draft.free = true;
            }
        }
    }

    /// A `CHANGE` whose new address is unusable: said why.
    fn invalid_change(&mut self, why: &str) -> Result<(), Error> {
        (self.replies).answer(self.sender, None, &self.to_listkeeper(), why.to_owned());
        Ok(())
    }
}
