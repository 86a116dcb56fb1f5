//! `listkeeper init DIR`: a working example configuration, the repository's `config/`;
//! `listkeeper init --print postfix|systemd`: the operator's snippets for a domain.

use anyhow::{Context, Result, bail};
use std::path::Path;

const SERVER: &str = include_str!("../../config/listkeeper.toml");
const LIST: &str = include_str!("../../config/lists/sm-cop/list.toml");
const ROSTER: &str = include_str!("../../config/lists/sm-cop/roster.toml");
const POSTFIX_MAIN: &str = include_str!("../../examples/postfix/main.cf");
const POSTFIX_TRANSPORT: &str = include_str!("../../examples/postfix/transport");
const SYSTEMD: &str = include_str!("../../examples/systemd/listkeeper.service");

/// What `--print` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Snippet {
    /// The main.cf lines and the transport map.
    Postfix,
    /// The systemd unit.
    Systemd,
}

/// Writes the example into `dir` (state kept in `dir/var/`), or prints a snippet.
pub(super) fn run(dir: Option<&Path>, domain: Option<&str>, print: Option<Snippet>) -> Result<()> {
    let domain = domain.unwrap_or("listserv.example.gov");
    crate::address::normalize_domain(domain)
        .map_err(|why| anyhow::anyhow!("`{domain}` is not a usable domain: {why}"))?;
    match print {
        Some(Snippet::Postfix) => {
            println!("# --- add to /etc/postfix/main.cf ---");
            print!("{}", POSTFIX_MAIN.replace("listserv.example.gov", domain));
            println!("\n# --- /etc/postfix/transport (then: postmap /etc/postfix/transport) ---");
            print!(
                "{}",
                POSTFIX_TRANSPORT.replace("listserv.example.gov", domain)
            );
            return Ok(());
        }
        Some(Snippet::Systemd) => {
            print!("{SYSTEMD}");
            return Ok(());
        }
        None => {}
    }
    let Some(dir) = dir else {
        bail!("init needs a folder to write: listkeeper init DIR");
    };
    if dir.join("listkeeper.toml").exists() {
        bail!(
            "{} already holds a listkeeper.toml; nothing was written",
            dir.display()
        );
    }
    // In the repository the state lives beside config/; in DIR it lives inside.
    let server = SERVER
        .replace("\"../var/", "\"var/")
        .replace("listserv.example.gov", domain);
    let list = LIST.replace("\"../../../var/", "\"../../var/");
    let list_dir = dir.join("lists/sm-cop");
    std::fs::create_dir_all(&list_dir)
        .with_context(|| format!("cannot create {}", list_dir.display()))?;
    for (path, text) in [
        (dir.join("listkeeper.toml"), server.as_str()),
        (list_dir.join("list.toml"), list.as_str()),
        (list_dir.join("roster.toml"), ROSTER),
    ] {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote an example configuration to {}", dir.display());
    println!(
        "check it with:  listkeeper check --config {}",
        dir.display()
    );
    Ok(())
}
