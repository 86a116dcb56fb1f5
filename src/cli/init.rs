//! `listkeeper init DIR --domain D`: a production-shaped configuration to start from;
//! `listkeeper init --print postfix|postfix-recipients|systemd|man|completions`: the
//! operator's snippets, the man pages and the shell completions.
//!
//! The configuration `init` writes fits the systemd unit as it is: every path is
//! absolute, state and include files live in the state folder (`/var/lib/listkeeper`,
//! writable under `ProtectSystem=strict`), replies go to the local Postfix over SMTP,
//! and the one list it holds has an empty roster.

mod postfix;

use crate::address::{EmailAddress, normalize_domain};
use crate::config::{Config, ListId};
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;

const SERVER: &str = include_str!("init/listkeeper.toml");
const LIST: &str = include_str!("init/list.toml");
const ROSTER: &str = include_str!("init/roster.toml");
const SYSTEMD: &str = include_str!("../../examples/systemd/listkeeper.service");

/// The owner written when none is given: `.invalid` never resolves (RFC 2606), so
/// nothing is ever sent to it, and `init` says to replace it.
const OWNER_PLACEHOLDER: &str = "owner@example.invalid";

/// What `--print` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Snippet {
    /// The main.cf lines, the transport map and the recipients table.
    Postfix,
    /// The recipients table alone (`relay_recipient_maps`), to re-run after lists change.
    PostfixRecipients,
    /// The systemd unit.
    Systemd,
    /// The man pages, written into `--out DIR`.
    Man,
    /// The shell completion script for `--shell SHELL`.
    Completions,
}

/// The flags of `listkeeper init`.
#[derive(Debug)]
pub(super) struct Options<'a> {
    /// The folder to write.
    pub(super) dir: Option<&'a Path>,
    /// The list domain.
    pub(super) domain: Option<&'a str>,
    /// The state folder to name in listkeeper.toml.
    pub(super) state_dir: &'a Path,
    /// The id of the list to write.
    pub(super) list: &'a str,
    /// The list's owner.
    pub(super) owner: Option<&'a str>,
    /// A snippet to print instead of writing a folder.
    pub(super) print: Option<Snippet>,
    /// Where `--print man` writes.
    pub(super) out: Option<&'a Path>,
    /// The shell of `--print completions`.
    pub(super) shell: Option<clap_complete::Shell>,
}

/// Prints a snippet (for the configuration in `opts.dir`, else `config`, when there
/// is one), or writes a new configuration into `opts.dir`.
pub(super) fn run(config: &Path, opts: &Options<'_>) -> Result<()> {
    let domain = opts
        .domain
        .map(|d| normalize_domain(d).map_err(|why| anyhow!("`{d}` is not a usable domain: {why}")))
        .transpose()?;
    let list = ListId::parse(opts.list).map_err(|why| anyhow!(why))?;
    // With --print, a DIR given is the configuration to print for.
    let config = opts.dir.unwrap_or(config);
    match opts.print {
        Some(Snippet::Systemd) => print!("{}", unit_for(config, opts.state_dir)?),
        Some(Snippet::Man) => {
            let Some(out) = opts.out else {
                bail!(
                    "--print man needs the folder to write: listkeeper init --print man --out DIR"
                );
            };
            super::manual::write_man(out)?;
        }
        Some(Snippet::Completions) => {
            let Some(shell) = opts.shell else {
                bail!(
                    "--print completions needs a shell: listkeeper init --print completions --shell bash"
                );
            };
            super::manual::print_completions(shell);
        }
        Some(Snippet::Postfix) => {
            print!("{}", postfix::all(&site(config, domain, list)?));
        }
        Some(Snippet::PostfixRecipients) => {
            print!("{}", postfix::recipients(&site(config, domain, list)?));
        }
        None => {
            let Some(dir) = opts.dir else {
                bail!("init needs a folder to write: listkeeper init DIR --domain D");
            };
            let Some(domain) = domain else {
                bail!(
                    "init needs the list domain, the host part of every list address, whose MX is this Postfix: listkeeper init {} --domain lists.example.gov",
                    dir.display()
                );
            };
            write(dir, &domain, opts.state_dir, &list, opts.owner)?;
        }
    }
    Ok(())
}

/// The unit, with the paths of the configuration in `config` (its folder, its state
/// folder, and the folders of include files outside those) where the example has
/// `/etc/listkeeper` and `/var/lib/listkeeper`. Without a configuration there yet,
/// the state folder is `--state-dir`'s.
fn unit_for(config: &Path, state_dir: &Path) -> Result<String> {
    let dir = std::path::absolute(config)
        .with_context(|| format!("cannot make {} absolute", config.display()))?;
    let (state, mut writable) = if dir.join("listkeeper.toml").exists() {
        let loaded = Config::load(&dir).map_err(|problems| {
            anyhow!(
                "the configuration in {} does not load, so the unit could not name its folders \
                 (`listkeeper check --config {}` lists the problems):\n{problems}",
                dir.display(),
                dir.display()
            )
        })?;
        let state = loaded.server.state_dir.clone();
        let lists = dir.join("lists");
        let extra: Vec<std::path::PathBuf> = loaded
            .lists
            .values()
            .filter_map(|l| l.include_file.as_deref()?.parent().map(Path::to_path_buf))
            .filter(|p| !p.starts_with(&state) && !p.starts_with(&lists))
            .collect();
        (state, extra)
    } else {
        (state_dir.to_path_buf(), Vec::new())
    };
    writable.sort();
    writable.dedup();
    let mut unit = SYSTEMD
        .replace("/etc/listkeeper", &dir.display().to_string())
        .replace("/var/lib/listkeeper", &state.display().to_string());
    if !writable.is_empty() {
        let more: Vec<String> = writable.iter().map(|p| p.display().to_string()).collect();
        let line = format!("ReadWritePaths={}/lists {}", dir.display(), state.display());
        unit = unit.replace(&line, &format!("{line} {}", more.join(" ")));
    }
    Ok(unit)
}

/// The domain and addresses the Postfix snippets are for.
#[derive(Debug)]
struct Site {
    /// The list domain; `None` when neither a configuration nor `--domain` gave one.
    domain: Option<String>,
    /// The command address's local part.
    command_address: Option<String>,
    /// Every list id.
    lists: Vec<String>,
    /// Where the lists come from, for the table's heading.
    source: String,
    /// The configuration folder, for the command that writes the table again.
    config_dir: String,
}

/// The configuration in `dir` when it has one (`--domain`, if given, must agree);
/// otherwise what `init DIR` with the same flags writes.
fn site(dir: &Path, domain: Option<String>, list: ListId) -> Result<Site> {
    if !dir.join("listkeeper.toml").exists() {
        return Ok(Site {
            domain,
            command_address: Some("listserv".to_owned()),
            lists: vec![list.to_string()],
            source: format!(
                "the list `listkeeper init` writes ({list}), as there is no\n# configuration in {} yet",
                dir.display()
            ),
            config_dir: dir.display().to_string(),
        });
    }
    // Every list, or none: a table without a broken list's addresses would make
    // Postfix refuse that list's mail for good.
    let config = Config::load(dir).map_err(|problems| {
        anyhow::anyhow!(
            "the configuration in {} does not load, so its table would miss lists \
             (`listkeeper check --config {}` lists the problems):\n{problems}",
            dir.display(),
            dir.display()
        )
    })?;
    if let Some(domain) = domain.filter(|d| *d != config.server.domain) {
        bail!(
            "--domain {domain} is not the domain of the configuration in {} ({}); leave --domain out, or name another folder with --config",
            dir.display(),
            config.server.domain
        );
    }
    Ok(site_of(&config, dir))
}

fn site_of(config: &Config, dir: &Path) -> Site {
    Site {
        domain: Some(config.server.domain.clone()),
        command_address: config.server.command_address.clone(),
        lists: config.lists.keys().map(ToString::to_string).collect(),
        source: format!("the configuration in {}", dir.display()),
        config_dir: dir.display().to_string(),
    }
}

/// Writes listkeeper.toml and `lists/ID/{list,roster}.toml` into `dir`.
fn write(
    dir: &Path,
    domain: &str,
    state_dir: &Path,
    list: &ListId,
    owner: Option<&str>,
) -> Result<()> {
    if dir.join("listkeeper.toml").exists() {
        bail!(
            "{} already holds a listkeeper.toml; nothing was written",
            dir.display()
        );
    }
    let owner = owner
        .map(|o| {
            EmailAddress::parse(o)
                .map(|a| a.to_string())
                .map_err(|why| anyhow!("--owner `{o}` is not an address: {why}"))
        })
        .transpose()?;
    // Absolute paths: the daemon and the unit resolve nothing against a folder.
    let dir = std::path::absolute(dir).with_context(|| format!("{}", dir.display()))?;
    let state = std::path::absolute(state_dir).context("the state folder")?;
    let server = server_text(&dir, domain, &state)?;
    let list_text = list_text(list, owner.as_deref(), domain, &state)?;
    let list_dir = dir.join("lists").join(list.as_str());
    std::fs::create_dir_all(&list_dir)
        .with_context(|| format!("cannot create {}", list_dir.display()))?;
    for (path, body) in [
        (dir.join("listkeeper.toml"), server.as_str()),
        (list_dir.join("list.toml"), list_text.as_str()),
        (list_dir.join("roster.toml"), ROSTER),
    ] {
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
    }
    report(&dir, domain, &state, list, owner.is_none());
    Ok(())
}

/// `listkeeper.toml`, filled in.
fn server_text(dir: &Path, domain: &str, state: &Path) -> Result<String> {
    // `{domain}` is a normalized domain (ASCII letters, digits, `-`, `.`): safe in a
    // TOML string and in a comment as it is.
    Ok(SERVER
        .replace("{domain_value}", &quoted(domain))
        .replace("{state_dir}", &quoted(&printable(state)?))
        .replace("{secret_file}", &quoted(&printable(&state.join("secret"))?))
        .replace("{state_path}", &printable(state)?)
        .replace("{config_dir}", &printable(dir)?)
        .replace("{domain}", domain))
}

/// The list's `list.toml`, filled in; without `owner`, a marked placeholder.
fn list_text(list: &ListId, owner: Option<&str>, domain: &str, state: &Path) -> Result<String> {
    let include = state.join(format!("{list}.members"));
    Ok(LIST
        .replace("{id_value}", &quoted(list.as_str()))
        .replace("{name}", &quoted(&list.as_str().to_uppercase()))
        .replace("{title}", &quoted(&format!("The {list} list")))
        .replace(
            "{owners_comment}",
            if owner.is_some() {
                ""
            } else {
                "# A PLACEHOLDER: put the owners' addresses here (init --owner ADDRESS does).\n"
            },
        )
        .replace("{owner}", &quoted(owner.unwrap_or(OWNER_PLACEHOLDER)))
        .replace("{include_file}", &quoted(&printable(&include)?))
        .replace("{include_path}", &printable(&include)?)
        .replace("{id}", list.as_str())
        .replace("{domain}", domain))
}

/// A path as text to write into a file: printable UTF-8 only.
fn printable(p: &Path) -> Result<String> {
    match p.to_str() {
        Some(s) if !s.chars().any(char::is_control) => Ok(s.to_owned()),
        _ => bail!("{}: use a path of printable UTF-8", p.display()),
    }
}

/// What was written, and the operator's next steps.
fn report(dir: &Path, domain: &str, state: &Path, list: &ListId, placeholder: bool) {
    let d = dir.display();
    println!(
        "wrote a configuration for {domain} to {d}: one list, `{list}`, with no members; state in {}",
        state.display()
    );
    if placeholder {
        println!(
            "the list's owner is a placeholder ({OWNER_PLACEHOLDER}): put yours in {d}/lists/{list}/list.toml"
        );
    }
    println!("next:");
    println!("  listkeeper check --config {d}");
    println!("  chown -R listkeeper:listkeeper {d}/lists    # the daemon edits the rosters");
    println!("  listkeeper init --print postfix --config {d}    # the Postfix lines for its lists");
}

/// `s` as a TOML basic string, quotes and escapes included.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new server's `[web]` is documented and off; uncommented, it is a working one.
    #[test]
    fn the_web_section_is_commented_out_and_works_uncommented() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("etc");
        let opts = Options {
            dir: Some(&dir),
            domain: Some("lists.agency.gov"),
            state_dir: &tmp.path().join("state"),
            list: "announce",
            owner: Some("owner@agency.gov"),
            print: None,
            out: None,
            shell: None,
        };
        run(Path::new("/nonexistent"), &opts).unwrap();
        let file = dir.join("listkeeper.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        let config = Config::load(&dir).unwrap();
        assert!(config.server.web.is_none(), "off as written");
        for key in [
            "listen",
            "base_url",
            "trusted_proxies",
            "posts_per_client_per_hour",
            "metrics_listen",
        ] {
            assert!(
                text.contains(&format!("\n# {key} = ")),
                "{key} is documented"
            );
        }
        let at = text.find("# [web]").unwrap();
        let (head, web) = text.split_at(at);
        let on: String = (web.lines())
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&file, format!("{head}{on}")).unwrap();
        let web = Config::load(&dir).unwrap().server.web.unwrap();
        assert_eq!(web.base_url, "https://lists.agency.gov");
        assert_eq!(web.posts_per_client_per_hour, 20);
        assert_eq!(web.metrics_listen, Some("127.0.0.1:9025".parse().unwrap()));
    }
}
