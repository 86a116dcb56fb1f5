//! `listkeeper init DIR`: a working example configuration, the repository's `config/`.

use anyhow::{Context, Result, bail};
use std::path::Path;

const SERVER: &str = include_str!("../../config/listkeeper.toml");
const LIST: &str = include_str!("../../config/lists/sm-cop/list.toml");
const ROSTER: &str = include_str!("../../config/lists/sm-cop/roster.toml");

/// Writes the example into `dir`, with its state kept in `dir/var/`.
pub(super) fn run(dir: &Path, domain: Option<&str>) -> Result<()> {
    if dir.join("listkeeper.toml").exists() {
        bail!(
            "{} already holds a listkeeper.toml; nothing was written",
            dir.display()
        );
    }
    let domain = domain.unwrap_or("listserv.example.gov");
    crate::address::normalize_domain(domain)
        .map_err(|why| anyhow::anyhow!("`{domain}` is not a usable domain: {why}"))?;
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
