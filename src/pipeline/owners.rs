//! The owners' commands in a message: `[QUIET] ADD`, `[QUIET] DELETE` (through
//! [`actions::owner`]: at once when authenticated, else after the owner's `OK`), and
//! `REVIEW`.
//!
//! `REVIEW` needs no `OK`: its only effect is the roster mailed to the From address,
//! which only that address's owner reads, so a forged From can at most send the
//! roster to someone the list's `review` setting allows to have it.

use super::audit_line;
use super::commands::Answer;
use crate::actions::owner::{self, OwnerCommand, OwnerOutcome};
use crate::actions::{Act, Error, Notice, Outcome, table};
use crate::address::EmailAddress;
use crate::clock::rfc3339;
use crate::command::Target;
use crate::config::{ListConfig, Notify, Review};
use crate::lang::Lang;
use crate::reply::{self, Template};
use crate::token::Intent;

impl<'a> Answer<'a> {
    /// An owner's `ADD` or `DELETE`: refused to anyone not in `owners`; carried out
    /// at once when authenticated; otherwise an `OK` request to the owner's address.
    pub(super) fn owner_command(
        &mut self,
        target: &Target,
        intent: Intent,
        address: &str,
        name: Option<String>,
        quiet: bool,
    ) -> Result<(), Error> {
        let Some(list) = self.list(target, "add LIST someone@example.gov Full Name") else {
            return Ok(());
        };
        let word = if intent == Intent::OwnerAdd {
            "add"
        } else {
            "delete"
        };
        let command = format!(
            "{}{word} {} {address}",
            if quiet { "quiet " } else { "" },
            list.id
        );
        if !list.is_owner(self.sender) {
            let shown = self.sender.to_string();
            audit_line(
                self.ctx,
                Some(list.id.as_str()),
                &shown,
                intent.as_str(),
                "not-owner",
                self.incoming,
                self.now,
            )?;
            let who = self.say(Some(list), "owners", "los administradores");
            return self.refuse(list, &who, &command);
        }
        let Ok(member) = EmailAddress::parse(address) else {
            let text = match self.sender_lang(Some(list)) {
                Lang::En => {
                    format!("{command}: `{address}` is not an email address. Nothing has changed.")
                }
                Lang::Es => format!(
                    "{command}: \"{address}\" no es una dirección de correo electrónico. No se ha hecho ningún cambio."
                ),
            };
            let subject = self.to_listkeeper();
            self.replies.answer(self.sender, Some(list), &subject, text);
            return Ok(());
        };
        let cmd = OwnerCommand {
            list,
            owner: self.sender,
            intent,
            address: member.clone(),
            name,
            quiet,
        };
        match owner::command(self.ctx, &cmd, self.source(), self.now)? {
            OwnerOutcome::Done(outcome) => {
                self.owner_done(list, &member, owner::act_of(intent), quiet, &outcome);
            }
            OwnerOutcome::OkSent { token, expires } => {
                let notice = Notice {
                    token: Some(token.clone()),
                    lang: Some(self.sender_lang(Some(list)).tag().to_owned()),
                    ..Notice::new(
                        Template::OwnerOk,
                        format!(
                            "{} (confirm {token})",
                            self.say(
                                Some(list),
                                "Confirm your command to {}",
                                "Confirme su comando para {}",
                            )
                        ),
                    )
                    .with("command", command)
                    .with(
                        "confirm_address",
                        reply::confirm_address(&self.ctx.config, list, &token),
                    )
                    .with("expires", rfc3339(expires))
                };
                let shown = self.sender.to_string();
                (self.replies).tell(&self.ctx.config, self.sender, list, &shown, &notice);
            }
        }
        Ok(())
    }

    /// What an owner's command came to: the owner told, the member welcomed or told
    /// goodbye (unless `quiet`), and under `notify = "each"` every owner told.
    pub(super) fn owner_done(
        &mut self,
        list: &'a ListConfig,
        member: &EmailAddress,
        act: Act,
        quiet: bool,
        outcome: &Outcome,
    ) {
        let result = self.owner_result(list, member, act, quiet, outcome);
        let command = format!(
            "{}{} {} {member}",
            if quiet { "quiet " } else { "" },
            if act == Act::Remove { "delete" } else { "add" },
            list.id
        );
        let text = (self.texts()).text(
            Template::OwnerDone,
            Some(list),
            &[("command", &command), ("result", &result)],
        );
        let subject = self.say(Some(list), "Your command to {}", "Su comando para {}");
        self.replies.answer(self.sender, Some(list), &subject, text);
        if !quiet {
            self.tell(act, list, member, outcome);
        } else if list.notify == Notify::Each
            && let Some(notice) = table::owners_event(list, act, outcome, &member.to_string())
        {
            (self.replies).tell_owners(&self.ctx.config, list, &member.to_string(), &notice, false);
        }
    }

    /// `REVIEW LIST`: the roster, to whom the list's `review` allows, at the From
    /// address (which is the proof: only its owner reads the reply).
    pub(super) fn review(&mut self, target: &Target) -> Result<(), Error> {
        let Some(list) = self.list(target, "review LIST") else {
            return Ok(());
        };
        let roster = self.ctx.roster(list)?;
        let allowed = match list.review {
            Review::Public => true,
            Review::Members => list.is_owner(self.sender) || roster.contains(self.sender)?,
            Review::Owners => list.is_owner(self.sender),
        };
        let shown = self.sender.to_string();
        let command = format!("review {}", list.id);
        if !allowed {
            audit_line(
                self.ctx,
                Some(list.id.as_str()),
                &shown,
                "review",
                "refused",
                self.incoming,
                self.now,
            )?;
            let who = match list.review {
                Review::Members => self.say(
                    Some(list),
                    "owners and members",
                    "los administradores y los miembros",
                ),
                _ => self.say(Some(list), "owners", "los administradores"),
            };
            return self.refuse(list, &who, &command);
        }
        audit_line(
            self.ctx,
            Some(list.id.as_str()),
            &shown,
            "review",
            "sent",
            self.incoming,
            self.now,
        )?;
        let members = roster.addresses()?;
        let count = members.len().to_string();
        let lines: Vec<String> = members.iter().map(|m| format!("  {m}")).collect();
        let text = (self.texts()).text(
            Template::Review,
            Some(list),
            &[("count", &count), ("members", &lines.join("\n"))],
        );
        let subject = self.say(Some(list), "Members of {}", "Miembros de {}");
        self.replies.answer(self.sender, Some(list), &subject, text);
        Ok(())
    }

    /// What an owner's command did to `member`, in the owner's language: the
    /// `{result}` of `owner_done`.
    fn owner_result(
        &self,
        list: &ListConfig,
        member: &EmailAddress,
        act: Act,
        quiet: bool,
        outcome: &Outcome,
    ) -> String {
        let lang = self.sender_lang(Some(list));
        let name = &list.name;
        let result = match (lang, outcome) {
            (Lang::En, Outcome::Added) => format!("{member} is now a member of {name}"),
            (Lang::En, Outcome::AlreadyMember) => {
                format!("{member} was already a member: nothing changed")
            }
            (Lang::En, Outcome::Removed) => format!("{member} is no longer a member of {name}"),
            (Lang::En, _) => format!("{member} was not a member: nothing changed"),
            (Lang::Es, Outcome::Added) => format!("{member} ya es miembro de la lista {name}"),
            (Lang::Es, Outcome::AlreadyMember) => {
                format!("{member} ya era miembro: no se ha hecho ningún cambio")
            }
            (Lang::Es, Outcome::Removed) => {
                format!("{member} ya no es miembro de la lista {name}")
            }
            (Lang::Es, _) => format!("{member} no era miembro: no se ha hecho ningún cambio"),
        };
        let verdict =
            crate::eligibility::decide(&list.rules, &list.terms, member, Default::default());
        let refused = if act == Act::Add
            && *outcome == Outcome::Added
            && verdict.action == crate::eligibility::Ruling::Reject
        {
            lang.say(
                " Note: the list's rules would refuse this address; it was added as you asked.",
                " Nota: las reglas de la lista rechazarían esta dirección; se ha dado de alta porque usted lo pidió.",
            )
        } else {
            ""
        };
        let told = match outcome {
            Outcome::Added | Outcome::Removed if quiet => lang.say(
                " (QUIET: they were not told)",
                " (QUIET: no se le ha avisado)",
            ),
            Outcome::Added => lang.say(
                " (they have been welcomed)",
                " (se le ha enviado el mensaje de bienvenida)",
            ),
            Outcome::Removed => lang.say(" (they have been told)", " (se le ha avisado)"),
            _ => "",
        };
        format!("{result}{told}.{refused}")
    }

    /// A command only `who` may give: said so, nothing changed.
    fn refuse(&mut self, list: &ListConfig, who: &str, command: &str) -> Result<(), Error> {
        let text = (self.texts()).text(
            Template::OwnersOnly,
            Some(list),
            &[("who", who), ("command", command)],
        );
        let subject = self.to_listkeeper();
        self.replies.answer(self.sender, Some(list), &subject, text);
        Ok(())
    }
}
