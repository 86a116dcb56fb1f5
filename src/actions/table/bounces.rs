//! The table's notices about bounces: to the owners (a member made nomail, an
//! incident, a removal) and the member's re-enable notice.

use super::{Notice, Subjects, confirm_url};
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::reply::{self, Template};

/// What each owner is told when a member becomes nomail for bounces.
pub(crate) fn owners_bounced(list: &ListConfig) -> Notice {
    let subject = Subjects::new(list, None).say(
        "A member of {} no longer gets mail (bounces)",
        "Un miembro de {} ya no recibe mensajes (rebotes)",
    );
    Notice::new(Template::NomailBouncesOwner, subject)
}

/// What each owner is told of a bounce incident at `domain`: how many members and
/// which statuses.
pub(crate) fn owners_incident(
    list: &ListConfig,
    domain: &str,
    count: usize,
    statuses: &str,
) -> Notice {
    let subject = Subjects::new(list, None).say(
        "Mail of {} to DOMAIN is bouncing (incident)",
        "El correo de {} a DOMAIN está rebotando (incidente)",
    );
    Notice::new(Template::IncidentOwner, subject.replace("DOMAIN", domain))
        .with("domain", domain.to_owned())
        .with("count", count.to_string())
        .with("statuses", statuses.to_owned())
}

/// What each owner is told when a member nomail for bounces is removed.
pub(crate) fn owners_removed_bounces(list: &ListConfig, notices: u32) -> Notice {
    let subject = Subjects::new(list, None).say(
        "A member of {} was removed (bounces)",
        "Se dio de baja a un miembro de {} (rebotes)",
    );
    Notice::new(Template::RemovedBouncesOwner, subject).with("notices", notices.to_string())
}

/// The re-enable notice to a member made nomail for bounces (`number` of
/// `warnings`), with the token that brings mail back.
pub(crate) fn reenable(
    config: &Config,
    list: &ListConfig,
    token: &str,
    number: u32,
    now: u64,
) -> Notice {
    let expires = rfc3339(now + config.server.confirm.expires.as_secs());
    let subject =
        Subjects::new(list, None).say("Your mail from {} has stopped", "Se detuvo su correo de {}");
    Notice {
        token: Some(token.to_owned()),
        ..Notice::new(
            Template::ReenableBounces,
            format!("{subject} (confirm {token})"),
        )
        .with(
            "confirm_address",
            reply::confirm_address(config, list, token),
        )
        .with("confirm_url", confirm_url(config, token))
        .with("expires", expires)
        .with("number", number.to_string())
        .with("warnings", list.bounce.warnings.to_string())
    }
}
