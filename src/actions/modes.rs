//! `set_mode`: how a member gets the list's mail (`mode`, `until`, `why` on the roster
//! line).
//!
//! A change of mode is one a forged From could cause (stopping someone's mail), so by
//! mail or on the web it is confirmed by a token mailed to the member, unless a trusted
//! Authentication-Results proves the sender; an admin's is made at once. Only members
//! have a mode: a non-member is told so (only ever the address itself).

use super::{Act, Confirmed, Joiner, Outcome, Request, Result, Source, Trail, audit, pend};
use crate::address::EmailAddress;
use crate::config::ListConfig;
use crate::context::Context;
use crate::records::{Day, Mode, Setting, Why};
use crate::roster::Change;
use crate::token::Intent;

/// `set_mode`: `mode` (and, for nomail, the day mail resumes) for the request's
/// address; confirmed first unless the source proves the address.
pub(crate) fn set_mode(
    ctx: &Context,
    request: Request<'_>,
    mode: Mode,
    until: Option<Day>,
    now: u64,
) -> Result<Outcome> {
    let Request {
        list,
        address,
        source,
        ..
    } = request;
    let why = match source {
        Source::Admin => Why::Owner,
        Source::Mail { .. } | Source::Web { .. } => Why::Member,
    };
    let setting = setting(mode, until, why);
    let proven = matches!(
        source,
        Source::Admin
            | Source::Mail {
                authenticated: true,
                ..
            }
    );
    let outcome = match ctx.roster(list)?.get(&address)? {
        None => Outcome::NotMember,
        Some(m) if same(&m.setting, &setting) => Outcome::AlreadyInMode(m.setting),
        Some(_) if proven => change(ctx, list, &address, setting)?,
        Some(_) => pend(
            ctx,
            list,
            &address,
            Joiner::default(),
            Intent::SetMode,
            Confirmed::Set(setting),
            now,
        )?,
    };
    if source_is_admin(&source) && !matches!(outcome, Outcome::ModeSet(_)) {
        // An admin's act that changed nothing leaves no audit line (as `add`).
        return Ok(outcome);
    }
    audit(ctx, list, &address, Act::Set, &outcome, source.trail(), now)?;
    Ok(outcome)
}

/// Upkeep: every member whose nomail `until` has come gets mail again, each with an
/// audit line. Returns how many.
pub(crate) fn resume_lapsed(ctx: &Context, list: &ListConfig, now: u64) -> Result<usize> {
    let roster = ctx.roster(list)?;
    let mut resumed = 0;
    for member in roster.lapsed(now)? {
        let outcome = change(ctx, list, &member.address, Setting::mail())?;
        if outcome == Outcome::ModeSet(Setting::mail()) {
            audit(
                ctx,
                list,
                &member.address,
                Act::Resume,
                &outcome,
                Trail::ADMIN,
                now,
            )?;
            resumed += 1;
        }
    }
    Ok(resumed)
}

/// The roster change of a mode change: `ModeSet`, `AlreadyInMode`, or `NotMember`.
pub(super) fn change(
    ctx: &Context,
    list: &ListConfig,
    address: &EmailAddress,
    setting: Setting,
) -> Result<Outcome> {
    let roster = ctx.roster(list)?;
    let Some(member) = roster.get(address)? else {
        return Ok(Outcome::NotMember);
    };
    if same(&member.setting, &setting) {
        return Ok(Outcome::AlreadyInMode(member.setting));
    }
    roster.apply(Change::Set(address.clone(), setting))?;
    Ok(Outcome::ModeSet(setting))
}

/// The setting a request asks for: `until` only with nomail, `why` only off mail.
fn setting(mode: Mode, until: Option<Day>, why: Why) -> Setting {
    Setting {
        mode,
        until: until.filter(|_| mode == Mode::Nomail),
        why: (mode != Mode::Mail).then_some(why),
    }
}

/// Whether a member already has what is asked (who set it aside).
fn same(now: &Setting, asked: &Setting) -> bool {
    now.mode == asked.mode && now.until == asked.until
}

fn source_is_admin(source: &Source<'_>) -> bool {
    matches!(source, Source::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    const NOW: u64 = 1_796_349_207;

    /// The example config in a temporary folder (its state and include file too).
    fn ctx(dir: &Path) -> Context {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for file in [
            "listkeeper.toml",
            "lists/sm-cop/list.toml",
            "lists/sm-cop/roster.toml",
        ] {
            let to = dir.join("config").join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from.join(file), to).unwrap();
        }
        Context::open(Config::load(&dir.join("config")).unwrap()).unwrap()
    }

    fn request<'a>(list: &'a ListConfig, address: &str, source: Source<'a>) -> Request<'a> {
        Request {
            list,
            address: EmailAddress::parse(address).unwrap(),
            name: None,
            source,
        }
    }

    const MAIL: Source<'static> = Source::Mail {
        message_id: Some("m1@x"),
        authenticated: false,
    };

    #[test]
    fn by_mail_a_mode_change_waits_for_its_token_and_the_token_makes_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let list = ctx.config.list("sm-cop").unwrap();
        let until = "2027-01-15".parse().ok();
        let jane = request(list, "jane.doe@agency.gov", MAIL);
        let outcome = set_mode(&ctx, jane.clone(), Mode::Nomail, until, NOW).unwrap();
        let Outcome::ModeConfirmationSent { token, setting } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(setting, self::setting(Mode::Nomail, until, Why::Member));
        let member = ctx
            .roster(list)
            .unwrap()
            .get(&jane.address)
            .unwrap()
            .unwrap();
        assert_eq!(member.setting, Setting::mail(), "nothing yet");
        // Asked again for the same: the same token; for another mode: a new one.
        let again = set_mode(&ctx, jane.clone(), Mode::Nomail, until, NOW + 1).unwrap();
        assert_eq!(
            again,
            Outcome::ModeConfirmationSent {
                token: token.clone(),
                setting
            }
        );
        let other = set_mode(&ctx, jane.clone(), Mode::Digest, None, NOW + 2).unwrap();
        let Outcome::ModeConfirmationSent { token: digest, .. } = other else {
            panic!("{other:?}");
        };
        assert_ne!(digest, token);
        let stale = super::super::confirm(&ctx, &token, &[list], MAIL, NOW + 3).unwrap();
        assert!(
            matches!(
                stale,
                super::super::Redeemed::Bad {
                    outcome: Outcome::UnknownToken,
                    ..
                }
            ),
            "the mail naming nomail no longer confirms: {stale:?}"
        );
        let done = super::super::confirm(&ctx, &digest, &[list], MAIL, NOW + 4).unwrap();
        let super::super::Redeemed::Done { outcome, .. } = done else {
            panic!("{done:?}");
        };
        assert_eq!(
            outcome,
            Outcome::ModeSet(self::setting(Mode::Digest, None, Why::Member))
        );
        let member = ctx
            .roster(list)
            .unwrap()
            .get(&jane.address)
            .unwrap()
            .unwrap();
        assert_eq!(member.setting.mode, Mode::Digest);
    }

    #[test]
    fn an_admin_or_a_proven_sender_sets_at_once_a_non_member_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let list = ctx.config.list("sm-cop").unwrap();
        let proven = Source::Mail {
            message_id: None,
            authenticated: true,
        };
        let john = request(list, "john.roe@army.mil", proven);
        let outcome = set_mode(&ctx, john.clone(), Mode::Nomail, None, NOW).unwrap();
        assert_eq!(
            outcome,
            Outcome::ModeSet(setting(Mode::Nomail, None, Why::Member))
        );
        let again = set_mode(&ctx, john, Mode::Nomail, None, NOW).unwrap();
        assert!(matches!(again, Outcome::AlreadyInMode(_)), "{again:?}");
        let admin = request(list, "l.chen@navy.mil", Source::Admin);
        let outcome = set_mode(&ctx, admin, Mode::Nomail, "2026-12-05".parse().ok(), NOW).unwrap();
        assert!(matches!(
            outcome,
            Outcome::ModeSet(Setting {
                why: Some(Why::Owner),
                ..
            })
        ));
        let stranger = request(list, "who@agency.gov", MAIL);
        let outcome = set_mode(&ctx, stranger, Mode::Nomail, None, NOW).unwrap();
        assert_eq!(outcome, Outcome::NotMember);
        // Upkeep: Li Chen's nomail ends on 2026-12-05, the next day after NOW.
        assert_eq!(resume_lapsed(&ctx, list, NOW).unwrap(), 0);
        let midnight = "2026-12-05".parse::<Day>().unwrap().start();
        assert_eq!(resume_lapsed(&ctx, list, midnight).unwrap(), 1);
        let li = EmailAddress::parse("l.chen@navy.mil").unwrap();
        let member = ctx.roster(list).unwrap().get(&li).unwrap().unwrap();
        assert_eq!(member.setting, Setting::mail());
        assert_eq!(resume_lapsed(&ctx, list, midnight).unwrap(), 0, "once");
    }

    #[test]
    fn until_goes_only_with_nomail_and_why_only_off_mail() {
        let day = "2027-01-15".parse().ok();
        let s = setting(Mode::Digest, day, Why::Member);
        assert_eq!((s.until, s.why), (None, Some(Why::Member)));
        let s = setting(Mode::Mail, day, Why::Owner);
        assert_eq!(s, Setting::mail());
        let s = setting(Mode::Nomail, day, Why::Owner);
        assert_eq!((s.until, s.why), (day, Some(Why::Owner)));
        assert!(same(&s, &setting(Mode::Nomail, day, Why::Member)));
        assert!(!same(&s, &setting(Mode::Nomail, None, Why::Owner)));
    }
}
