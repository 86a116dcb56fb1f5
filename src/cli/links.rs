//! `listkeeper unsubscribe-link LIST ADDR`: the two headers a posting system puts on
//! the list mail it sends to one recipient (RFC 2369 and RFC 8058).

use super::admin::find_list;
use crate::address::EmailAddress;
use crate::config::Config;
use crate::token::Keys;
use anyhow::{Context as _, Result, anyhow};

/// The token keys, for the member links (created, as the daemon would, when the
/// key file is missing).
pub(super) fn keys(config: &Config) -> Result<Keys> {
    let path = &config.server.confirm.secret_file;
    Keys::load_or_create(path).with_context(|| format!("reading the token keys {}", path.display()))
}

/// The header lines for `address` on `list`: `List-Unsubscribe` with the member's
/// one-click URI and the list's leave address, and `List-Unsubscribe-Post`; without
/// `[web]` the mailto alone, and no `List-Unsubscribe-Post` (RFC 8058 needs an
/// https URI).
pub(super) fn header_lines(config: &Config, list: &str, address: &str) -> Result<Vec<String>> {
    let list = find_list(config, list)?;
    let address = EmailAddress::parse(address.trim())
        .map_err(|e| anyhow!("`{address}` is not an email address: {e}"))?;
    let keys = keys(config)?;
    let mut lines = vec![format!(
        "List-Unsubscribe: {}",
        crate::reply::unsubscribe_header(config, &keys, list, &address)
    )];
    if config.server.web.is_some() {
        lines.push("List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_owned());
    }
    Ok(lines)
}

/// The envelope sender a posting system gives list mail to `address` on `list`:
/// `L-bounces+TAG@D`, the tag naming the list and the recipient under a MAC, so a
/// report about that mail is acted on (and one about anyone else, or forged, is not).
/// A tag is good for [`crate::verp::MAX_AGE_DAYS`] days from today.
pub(super) fn return_path_of(config: &Config, list: &str, address: &str) -> Result<String> {
    let list = find_list(config, list)?;
    let address = EmailAddress::parse(address.trim())
        .map_err(|e| anyhow!("`{address}` is not an email address: {e}"))?;
    let keys = keys(config)?;
    let now = crate::clock::unix_now();
    tagged(config, &keys, list.id.as_str(), &address.key(), now)
        .ok_or_else(|| anyhow!("no token key to make a bounce tag with"))
}

/// `L-bounces+TAG@D` for `address_key` on `list`, made at `now`.
pub(super) fn tagged(
    config: &Config,
    keys: &Keys,
    list: &str,
    address_key: &str,
    now: u64,
) -> Option<String> {
    let tag = crate::verp::tag(keys, list, address_key, now)?;
    Some(crate::verp::return_path(list, &config.server.domain, &tag))
}

/// `listkeeper return-path LIST ADDR`.
pub(super) fn return_path(config: &Config, list: &str, address: &str) -> Result<()> {
    println!("{}", return_path_of(config, list, address)?);
    Ok(())
}

/// `listkeeper unsubscribe-link LIST ADDR`.
pub(super) fn unsubscribe_link(config: &Config, list: &str, address: &str) -> Result<()> {
    for line in header_lines(config, list, address)? {
        println!("{line}");
    }
    if config.server.web.is_none() {
        eprintln!("listkeeper: no [web] in listkeeper.toml: the mailto alone, and no one-click");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_headers_with_and_without_web() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config =
            Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap();
        config.server.confirm.secret_file = tmp.path().join("secret");
        let lines = header_lines(&config, "sm-cop", "Pat@Agency.gov").unwrap();
        let keys = keys(&config).unwrap();
        let token = crate::links::leave_token(&keys, "sm-cop", "pat@agency.gov").unwrap();
        assert_eq!(
            lines,
            [
                format!(
                    "List-Unsubscribe: <http://127.0.0.1:8025/u/{token}>, <mailto:sm-cop-leave@listserv.example.gov>"
                ),
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_owned(),
            ]
        );
        config.server.web = None;
        assert_eq!(
            header_lines(&config, "sm-cop", "pat@agency.gov").unwrap(),
            ["List-Unsubscribe: <mailto:sm-cop-leave@listserv.example.gov>"]
        );
        assert!(header_lines(&config, "nope", "pat@agency.gov").is_err());
        let path = return_path_of(&config, "sm-cop", "Pat@Agency.gov").unwrap();
        let tag = (path.strip_prefix("sm-cop-bounces+"))
            .and_then(|t| t.strip_suffix("@listserv.example.gov"))
            .unwrap();
        let now = crate::clock::unix_now();
        assert!(crate::verp::verify(
            &keys,
            tag,
            "sm-cop",
            "pat@agency.gov",
            now
        ));
        assert!(!crate::verp::verify(
            &keys,
            tag,
            "sm-cop",
            "eve@agency.gov",
            now
        ));
        assert!(header_lines(&config, "sm-cop", "not an address").is_err());
    }
}
