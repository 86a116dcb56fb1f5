//! The local parts a list answers to (the address table of the README): one table,
//! read by routing and by the check that no two lists answer to the same address.

/// `L-subscribe-request@`, `L-subscribe@`, `L-join@`.
pub const SUBSCRIBE: [&str; 3] = ["subscribe-request", "subscribe", "join"];
/// `L-unsubscribe-request@`, `L-signoff-request@`, `L-unsubscribe@`, `L-leave@`.
pub const UNSUBSCRIBE: [&str; 4] = [
    "unsubscribe-request",
    "signoff-request",
    "unsubscribe",
    "leave",
];
/// `L-request@`, `L-owner@`, `L-bounces@`.
pub const OTHER: [&str; 3] = ["request", "owner", "bounces"];
/// `L-confirm+TOKEN@`, `L-bounces+TAG@`: a token or tag follows the `+`.
pub const TAGGED: [&str; 2] = ["confirm+", "bounces+"];

/// Every literal local part of list `id` (lower case), without the tagged forms.
pub fn local_parts(id: &str) -> impl Iterator<Item = String> + '_ {
    SUBSCRIBE
        .iter()
        .chain(&UNSUBSCRIBE)
        .chain(&OTHER)
        .map(move |suffix| format!("{}-{suffix}", id.to_ascii_lowercase()))
}

/// Two lists (or a list and the command address) that answer to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The local part both answer to.
    pub local_part: String,
    /// The list whose address it is first (in id order).
    pub first: String,
    /// The other list, or `None` for the command address.
    pub second: Option<String>,
}

/// Every address two of `ids` (or one of them and `command_address`) share.
///
/// A list id may contain hyphens, so `news` and `news-subscribe` both answer to
/// `news-subscribe-request@`; routing would pick one, and the other list's people
/// would be sent to the wrong list. A tagged form cannot collide: ids have no `+`.
pub fn collisions<'a>(
    command_address: Option<&str>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Vec<Collision> {
    let mut owner: std::collections::HashMap<String, String> = Default::default();
    let mut found = Vec::new();
    for id in ids {
        for local in local_parts(id) {
            if command_address.is_some_and(|c| c.eq_ignore_ascii_case(&local)) {
                found.push(Collision {
                    local_part: local.clone(),
                    first: id.to_owned(),
                    second: None,
                });
            }
            match owner.get(&local) {
                Some(first) if !first.eq_ignore_ascii_case(id) => found.push(Collision {
                    local_part: local,
                    first: first.clone(),
                    second: Some(id.to_owned()),
                }),
                Some(_) => {}
                None => {
                    owner.insert(local, id.to_owned());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_whose_addresses_collide() {
        let found = collisions(None, ["news", "news-subscribe"]);
        assert_eq!(
            found,
            [Collision {
                local_part: "news-subscribe-request".into(),
                first: "news".into(),
                second: Some("news-subscribe".into()),
            }]
        );
        assert_eq!(collisions(None, ["news", "news-un"]).len(), 0);
        // news-unsubscribe: its -request is news's unsubscribe-request.
        assert_eq!(collisions(None, ["news", "news-unsubscribe"]).len(), 1);
        assert_eq!(collisions(None, ["a", "a-signoff", "a-owner"]).len(), 1);
        let cmd = collisions(Some("SM-COP-JOIN"), ["sm-cop"]);
        assert_eq!(cmd.len(), 1);
        assert_eq!(cmd[0].second, None);
        assert!(collisions(Some("listserv"), ["sm-cop", "sm-cop-2", "county-gis"]).is_empty());
    }
}
