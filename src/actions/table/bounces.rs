//! The table's notices about bounces: to the owners (a member made nomail, an
//! incident, a removal) and the member's re-enable notice.

use super::{Notice, confirm_url};
use crate::clock::rfc3339;
use crate::config::{Config, ListConfig};
use crate::reply::{self, Template};

/// What each owner is told when a member becomes nomail for bounces.
pub(crate) fn owners_bounced(list: &ListConfig) -> Notice {
    Notice::new(
        Template::NomailBouncesOwner,
        format!("A member of {} no longer gets mail (bounces)", list.name),
    )
}

/// What each owner is told of a bounce incident at `domain`: how many members and
/// which statuses.
pub(crate) fn owners_incident(
    list: &ListConfig,
    domain: &str,
    count: usize,
    statuses: &str,
) -> Notice {
    Notice::new(
        Template::IncidentOwner,
        format!("Mail of {} to {domain} is bouncing (incident)", list.name),
    )
    .with("domain", domain.to_owned())
    .with("count", count.to_string())
    .with("statuses", statuses.to_owned())
}

/// What each owner is told when a member nomail for bounces is removed.
pub(crate) fn owners_removed_bounces(list: &ListConfig, notices: u32) -> Notice {
    Notice::new(
        Template::RemovedBouncesOwner,
        format!("A member of {} was removed (bounces)", list.name),
    )
    .with("notices", notices.to_string())
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
    Notice {
        token: Some(token.to_owned()),
        ..Notice::new(
            Template::ReenableBounces,
            format!("Your mail from {} has stopped (confirm {token})", list.name),
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
