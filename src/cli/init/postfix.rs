//! The Postfix snippets: the main.cf lines, the transport map, and the
//! `relay_recipient_maps` table of every address listkeeper answers.
//!
//! The table is a `regexp:` table (POSIX extended regular expressions, built into
//! every Postfix; `pcre:` needs an extra package on Debian). It lets Postfix refuse an
//! unknown list address during the SMTP dialogue, from any client and without an
//! address-verification probe, so a `confirm+TOKEN` address never lands in Postfix's
//! verify cache or costs a round trip to listkeeper.

use super::Site;
use crate::config::addresses::{OTHER, SUBSCRIBE, UNSUBSCRIBE};
use crate::token::TOKEN_LEN;
use crate::verp::TAG_LEN;

const MAIN: &str = include_str!("../../../examples/postfix/main.cf");
const TRANSPORT: &str = include_str!("../../../examples/postfix/transport");
/// The domain the examples are written for.
const EXAMPLE_DOMAIN: &str = "listserv.example.gov";
/// Where main.cf expects the table.
pub(super) const TABLE_PATH: &str = "/etc/postfix/listkeeper-recipients";

/// The list-address suffixes `route` answers (`L-SUFFIX@D`), besides the tagged
/// `confirm+TOKEN` and `bounces+TAG`. A unit test checks them against every suffix
/// src/route.rs and the address table know.
fn suffixes() -> Vec<&'static str> {
    SUBSCRIBE
        .iter()
        .chain(&UNSUBSCRIBE)
        .chain(&OTHER)
        .copied()
        .collect()
}

/// main.cf lines, the transport map and the table, for `init --print postfix`.
pub(super) fn all(site: &Site) -> String {
    let domain = site.domain.as_deref().unwrap_or(EXAMPLE_DOMAIN);
    let for_domain = |text: &str| {
        text.lines()
            // The advice to replace the example domain is stale once we know it.
            .filter(|l| site.domain.is_none() || !l.contains(&format!("Replace {EXAMPLE_DOMAIN}")))
            .map(|l| format!("{}\n", l.replace(EXAMPLE_DOMAIN, domain)))
            .collect::<String>()
    };
    format!(
        "# --- ADD to /etc/postfix/main.cf ---\n{}\n\
         # --- /etc/postfix/transport (then: postmap /etc/postfix/transport) ---\n{}\n\
         # --- {TABLE_PATH} (`listkeeper init --print postfix-recipients` alone) ---\n{}\n\
         # --- then: postfix reload ---\n",
        for_domain(MAIN),
        for_domain(TRANSPORT),
        recipients(site)
    )
}

/// The `relay_recipient_maps` table: one line for the command address, two a list.
pub(super) fn recipients(site: &Site) -> String {
    let domain = site.domain.as_deref().unwrap_or(EXAMPLE_DOMAIN);
    let at = format!("@{}$/ OK", ere_escape(domain));
    let mut table = format!(
        "# {TABLE_PATH}: every address listkeeper answers at {domain},\n\
         # for relay_recipient_maps = regexp:{TABLE_PATH} in main.cf.\n\
         # Written by `listkeeper init --print postfix-recipients` for\n\
         # {source}.\n\
         # After adding or removing a list, write it again and reload Postfix (a regexp\n\
         # table needs no postmap); until then Postfix refuses the new list's mail:\n\
         #   listkeeper init --print postfix-recipients --config {config} > {TABLE_PATH}.new \\\n\
         #     && mv {TABLE_PATH}.new {TABLE_PATH} && postfix reload\n",
        source = site.source,
        config = site.config_dir,
    );
    if let Some(command) = &site.command_address {
        table.push_str(&format!("/^{}{at}\n", ere_escape(command)));
    }
    for id in &site.lists {
        let id = ere_escape(id);
        table.push_str(&format!("/^{id}-({}){at}\n", suffixes().join("|")));
        table.push_str(&format!("/^{id}-confirm\\+[a-z0-9]{{{TOKEN_LEN}}}{at}\n"));
        table.push_str(&format!("/^{id}-bounces\\+[a-z0-9]{{{TAG_LEN}}}{at}\n"));
    }
    table
}

/// `text` as a literal in a POSIX extended regular expression (and inside the
/// table's `/…/`). Written here because `regex::escape` targets Rust's syntax,
/// which escapes characters (`-`, `#`, `&`, `~`) whose escapes POSIX leaves undefined.
fn ere_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if ".[]()*+?{}|^$\\/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::EmailAddress;
    use crate::config::Config;
    use crate::route::route;
    use std::path::Path;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    /// The table's patterns, compiled as Postfix reads them (case-insensitively).
    fn patterns(table: &str) -> Vec<regex::Regex> {
        table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let pattern = l.strip_prefix('/').unwrap().strip_suffix("/ OK").unwrap();
                regex::Regex::new(&format!("(?i){pattern}")).unwrap()
            })
            .collect()
    }

    /// Every string literal of src/route.rs, so a suffix added there is tried here.
    fn route_literals() -> Vec<String> {
        let source = concat!(
            include_str!("../../route.rs"),
            include_str!("../../config/addresses.rs")
        );
        regex::Regex::new(r#""([a-z+-]+)""#)
            .unwrap()
            .captures_iter(source)
            .map(|c| c[1].to_owned())
            .collect()
    }

    #[test]
    fn the_table_accepts_exactly_the_addresses_route_answers() {
        let mut config = config();
        let template = config.lists.values().next().unwrap().clone();
        for id in ["a.b", "sm-cop-x", "sm"] {
            let mut l = template.clone();
            l.id = crate::config::ListId::parse(id).unwrap();
            config.lists.insert(l.id.clone(), l);
        }
        let site = super::super::site_of(&config, Path::new("config"));
        let table = patterns(&recipients(&site));
        let token = "k1".to_owned() + &"a".repeat(TOKEN_LEN - 2);
        let mut tried = 0;
        for id in ["sm-cop", "a.b", "sm-cop-x", "sm", "axb", "nolist"] {
            for suffix in route_literals()
                .iter()
                .chain(&["x".to_owned(), String::new()])
            {
                let local = match suffix.as_str() {
                    "confirm+" => format!("{id}-confirm+{token}"),
                    "bounces+" => format!("{id}-bounces+{}", &token[..TAG_LEN]),
                    s => format!("{id}-{s}"),
                };
                for domain in [
                    "listserv.example.gov",
                    "LISTSERV.example.gov",
                    "listservXexample.gov",
                ] {
                    let address = format!("{local}@{domain}");
                    let Ok(parsed) = EmailAddress::parse(&address) else {
                        continue;
                    };
                    let ours = route(&config, &parsed).is_some();
                    let listed = table.iter().any(|p| p.is_match(&address));
                    assert_eq!(listed, ours, "{address}");
                    tried += usize::from(ours);
                }
            }
        }
        assert!(tried >= 4 * 2 * (suffixes().len() + 2), "{tried}");
        let command = "LISTSERV@listserv.example.gov";
        assert!(table.iter().any(|p| p.is_match(command)));
        assert!(
            !table
                .iter()
                .any(|p| p.is_match("listserv2@listserv.example.gov"))
        );
        // A malformed token is refused by Postfix; listkeeper would refuse it too.
        assert!(
            !table
                .iter()
                .any(|p| p.is_match("sm-cop-confirm+short@listserv.example.gov"))
        );
    }

    #[test]
    fn the_example_table_is_the_one_printed_for_the_example_config() {
        let example = include_str!("../../../examples/postfix/listkeeper-recipients");
        let site = super::super::site_of(&config(), Path::new("config"));
        assert_eq!(recipients(&site), example);
    }

    #[test]
    fn metacharacters_are_escaped() {
        assert_eq!(ere_escape("a.b-c_d"), r"a\.b-c_d");
        assert_eq!(ere_escape("x+y/z"), r"x\+y\/z");
    }
}
