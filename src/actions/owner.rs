//! OWNER COMMANDS BY MAIL: `ADD LIST addr [name]` and `DELETE LIST addr` (each may
//! be `QUIET`), from an address in the list's `owners`.
//!
//! A From header proves nothing: a command is carried out at once only when the
//! trusted Authentication-Results show the owner's domain passed
//! (`Source::Mail { authenticated: true }`); otherwise it waits as a pending request
//! (`Intent::OwnerAdd`, `Intent::OwnerDelete`, the owner in `by`) whose token is
//! mailed to the owner's address, and only that token's `OK` carries it out
//! ([`super::confirm`]). Either way the audit line names the owner (`by`).

use super::{Act, Joiner, Outcome, Result, Source, add_member, issue, remove_member};
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::config::ListConfig;
use crate::context::Context;
use crate::token::Intent;

/// An owner's `ADD` or `DELETE`.
#[derive(Debug, Clone)]
pub(crate) struct OwnerCommand<'a> {
    /// The list.
    pub(crate) list: &'a ListConfig,
    /// The owner whose address the command came from.
    pub(crate) owner: &'a EmailAddress,
    /// [`Intent::OwnerAdd`] or [`Intent::OwnerDelete`].
    pub(crate) intent: Intent,
    /// The address added or removed.
    pub(crate) address: EmailAddress,
    /// The display name, for an add.
    pub(crate) name: Option<String>,
    /// `QUIET`: no welcome or goodbye.
    pub(crate) quiet: bool,
}

/// What an owner's command came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnerOutcome {
    /// Carried out (authenticated): `Added`, `AlreadyMember`, `Removed` or `NotMember`.
    Done(Outcome),
    /// Waiting for the owner's `OK` to this token, mailed to the owner.
    OkSent {
        /// The token.
        token: String,
        /// Unix seconds when it lapses.
        expires: u64,
    },
}

/// The action an owner intent comes to, in the audit's words.
pub(crate) fn act_of(intent: Intent) -> Act {
    match intent {
        Intent::OwnerDelete | Intent::Unsubscribe | Intent::LeaveAll => Act::Remove,
        Intent::Change | Intent::ChangeAll => Act::Change,
        Intent::OwnerAdd | Intent::Subscribe => Act::Add,
        Intent::SetMode => Act::Set,
        Intent::Erase => Act::Erase,
    }
}

/// An owner's command: carried out at once when authenticated, else held for the
/// owner's `OK`.
pub(crate) fn command(
    ctx: &Context,
    cmd: &OwnerCommand<'_>,
    source: Source<'_>,
    now: u64,
) -> Result<OwnerOutcome> {
    let owner = cmd.owner.to_string();
    if let Source::Mail {
        authenticated: true,
        message_id,
    } = source
    {
        let outcome = carry_out(
            ctx,
            cmd.list,
            &cmd.address,
            cmd.name.clone(),
            cmd.intent,
            &owner,
            Via::Email,
            message_id,
            now,
        )?;
        return Ok(OwnerOutcome::Done(outcome));
    }
    let (mut pending, token) = issue(
        ctx,
        cmd.list,
        &cmd.address,
        Joiner {
            name: cmd.name.clone(),
            ..Joiner::default()
        },
        cmd.intent,
        now,
    )?;
    pending.by = Some(owner.clone());
    pending.quiet = cmd.quiet;
    pending.sends = vec![now];
    ctx.pending.put(&pending, &cmd.address.key())?;
    ctx.audit.write(&Record {
        by: Some(&owner),
        message_id: source.message_id(),
        ..Record::new(
            cmd.list.id.as_str(),
            &cmd.address.to_string(),
            cmd.intent.as_str(),
            "ok-sent",
            Via::Email,
            now,
        )
    })?;
    Ok(OwnerOutcome::OkSent {
        token,
        expires: pending.expires,
    })
}

/// Adds or removes `address` for the owner `by`, with the audit line naming them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn carry_out(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    name: Option<String>,
    intent: Intent,
    by: &str,
    via: Via,
    message_id: Option<&str>,
    now: u64,
) -> Result<Outcome> {
    let act = act_of(intent);
    let erased = || crate::erased::is_erased(&ctx.config.server.state_dir, &ctx.keys, address);
    let outcome = match act {
        Act::Remove => remove_member(ctx, list, address)?,
        // An erased person joins again by their own confirmed request only.
        _ if erased()? => Outcome::Refused {
            reason: "this address asked to be erased; it joins again only by its own request"
                .to_owned(),
        },
        _ => {
            // What the member's line names: the owner's mail that made the change.
            let who = Joiner {
                name,
                request: message_id.map(|id| format!("<{id}>")),
                lang: None,
                from: None,
            };
            add_member(ctx, list, address, who, Via::Admin, now)?
        }
    };
    ctx.audit.write(&Record {
        by: Some(by),
        message_id,
        ..Record::new(
            list.id.as_str(),
            &address.to_string(),
            act.word(),
            outcome.word(),
            via,
            now,
        )
    })?;
    Ok(outcome)
}
