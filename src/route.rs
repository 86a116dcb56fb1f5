//! Recipient → what it asks for (docs/reference.md, section 2).
//!
//! List ids contain hyphens (`sm-cop`), so a recipient's local part is matched
//! against the known list ids followed by a known suffix, longest id first; it is
//! never split at the last hyphen. Local parts compare case-insensitively.

use crate::address::EmailAddress;
use crate::config::addresses::{SUBSCRIBE, UNSUBSCRIBE};
use crate::config::{Config, ListId};

/// What mail to one recipient asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `L-subscribe-request@`, `L-subscribe@`, `L-join@`.
    Subscribe(ListId),
    /// `L-unsubscribe-request@`, `L-signoff-request@`, `L-unsubscribe@`, `L-leave@`.
    Unsubscribe(ListId),
    /// `L-request@`: commands in Subject and body.
    Request(ListId),
    /// `L-confirm+TOKEN@`.
    Confirm(ListId, String),
    /// `L-owner@`.
    Owner(ListId),
    /// `L-bounces@` or `L-bounces+TAG@`: the envelope sender of our own mail, with the
    /// mail's bounce tag (see `verp`).
    Bounces(ListId, Option<String>),
    /// `COMMAND@` (`command_address`): LISTSERV-style commands naming the list.
    Command,
}

impl Route {
    /// The list the recipient belongs to, if any.
    pub fn list(&self) -> Option<&ListId> {
        match self {
            Route::Subscribe(l)
            | Route::Unsubscribe(l)
            | Route::Request(l)
            | Route::Confirm(l, _)
            | Route::Owner(l)
            | Route::Bounces(l, _) => Some(l),
            Route::Command => None,
        }
    }
}

/// Routes a recipient address; `None` for anything that is not ours.
pub fn route(config: &Config, recipient: &EmailAddress) -> Option<Route> {
    if !recipient
        .domain()
        .eq_ignore_ascii_case(&config.server.domain)
    {
        return None;
    }
    let local = recipient.local().to_lowercase();
    if config.server.command_address.as_deref() == Some(local.as_str()) {
        return Some(Route::Command);
    }
    let mut ids: Vec<&ListId> = config.lists.keys().collect();
    ids.sort_by_key(|id| std::cmp::Reverse(id.as_str().len()));
    ids.into_iter().find_map(|id| {
        let suffix = local.strip_prefix(id.as_str())?.strip_prefix('-')?;
        suffix_route(id, suffix, recipient.local())
    })
}

fn suffix_route(id: &ListId, suffix: &str, original_local: &str) -> Option<Route> {
    let id = id.clone();
    if SUBSCRIBE.contains(&suffix) {
        return Some(Route::Subscribe(id));
    }
    if UNSUBSCRIBE.contains(&suffix) {
        return Some(Route::Unsubscribe(id));
    }
    match suffix {
        "request" => Some(Route::Request(id)),
        "owner" => Some(Route::Owner(id)),
        "bounces" => Some(Route::Bounces(id, None)),
        _ if suffix.starts_with("bounces+") => {
            let tag = &suffix["bounces+".len()..];
            Some(Route::Bounces(
                id,
                (!tag.is_empty()).then(|| tag.to_owned()),
            ))
        }
        _ => {
            let token = suffix.strip_prefix("confirm+")?;
            // Tokens are lower-case; take them from the original only for its length.
            // Lower-casing may change the length (`İ`): then it is not a token.
            let start = original_local.len().checked_sub(token.len())?;
            let token = original_local.get(start..)?.to_ascii_lowercase();
            (!token.is_empty()).then_some(Route::Confirm(id, token))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn with_lists(ids: &[&str]) -> Config {
        let mut c = config();
        let template = c.lists.values().next().unwrap().clone();
        c.lists.clear();
        for id in ids {
            let mut l = template.clone();
            l.id = ListId::parse(id).unwrap();
            c.lists.insert(l.id.clone(), l);
        }
        c
    }

    fn r(c: &Config, to: &str) -> Option<Route> {
        route(c, &EmailAddress::parse(to).unwrap())
    }

    fn id(s: &str) -> ListId {
        ListId::parse(s).unwrap()
    }

    #[test]
    fn every_suffix_routes() {
        let c = config();
        let d = "@listserv.example.gov";
        for s in [
            "subscribe-request",
            "subscribe",
            "join",
            "SUBSCRIBE-REQUEST",
        ] {
            assert_eq!(
                r(&c, &format!("sm-cop-{s}{d}")),
                Some(Route::Subscribe(id("sm-cop"))),
                "{s}"
            );
        }
        for s in [
            "unsubscribe-request",
            "signoff-request",
            "unsubscribe",
            "leave",
        ] {
            assert_eq!(
                r(&c, &format!("SM-COP-{s}{d}")),
                Some(Route::Unsubscribe(id("sm-cop"))),
                "{s}"
            );
        }
        assert_eq!(
            r(&c, &format!("sm-cop-request{d}")),
            Some(Route::Request(id("sm-cop")))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-owner{d}")),
            Some(Route::Owner(id("sm-cop")))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-bounces{d}")),
            Some(Route::Bounces(id("sm-cop"), None))
        );
        // Lower-casing `İ` makes the local part longer: no token, and no panic.
        assert_eq!(
            r(&c, &format!("sm-cop-confirm+{}{d}", "İ".repeat(16))),
            None
        );
        assert_eq!(
            r(&c, &format!("sm-cop-bounces+K1Tag{d}")),
            Some(Route::Bounces(id("sm-cop"), Some("k1tag".into())))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-confirm+K1ABC{d}")),
            Some(Route::Confirm(id("sm-cop"), "k1abc".into()))
        );
        assert_eq!(r(&c, &format!("listserv{d}")), Some(Route::Command));
        assert_eq!(r(&c, &format!("LISTSERV{d}")), Some(Route::Command));
    }

    #[test]
    fn anything_else_is_not_ours() {
        let c = config();
        for to in [
            "sm-cop@listserv.example.gov",
            "sm-cop-subscribe-request@other.example.gov",
            "sm-cop-confirm+@listserv.example.gov",
            "sm-cop-frobnicate@listserv.example.gov",
            "smcop-request@listserv.example.gov",
            "sm-request@listserv.example.gov",
            "postmaster@listserv.example.gov",
        ] {
            assert_eq!(r(&c, to), None, "{to}");
        }
    }

    #[test]
    fn longest_list_id_wins_and_hyphens_never_split() {
        let c = with_lists(&["sm", "sm-cop", "sm-cop-join"]);
        let d = "@listserv.example.gov";
        assert_eq!(
            r(&c, &format!("sm-cop-join{d}")),
            Some(Route::Subscribe(id("sm-cop")))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-join-join{d}")),
            Some(Route::Subscribe(id("sm-cop-join")))
        );
        assert_eq!(
            r(&c, &format!("sm-request{d}")),
            Some(Route::Request(id("sm")))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-request{d}")),
            Some(Route::Request(id("sm-cop")))
        );
        assert_eq!(
            r(&c, &format!("sm-cop-join-leave{d}")),
            Some(Route::Unsubscribe(id("sm-cop-join")))
        );
    }
}
