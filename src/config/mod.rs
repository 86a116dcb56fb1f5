//! Configuration: `listkeeper.toml` and every `lists/<id>/list.toml` (docs/reference.md, section 1).
//!
//! Loading is two-stage. `raw` holds the files as serde reads them; `server` (for
//! `listkeeper.toml`) and `list` (for the lists folder) build checked values from
//! them ([`ServerConfig`], [`ListConfig`], [`ListId`], compiled rules) so that
//! nothing invalid exists past loading. Every problem, in every file,
//! is collected with its file, line and key before loading gives up, so `check`
//! reports them all at once.

pub mod addresses;
mod file;
mod list;
mod problem;
mod raw;
mod server;
mod web;

pub use problem::{Problem, Problems, Severity};

use crate::address::EmailAddress;
use crate::eligibility::Rule;
use file::{KeyPath, TomlFile};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration directory, checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration directory.
    pub dir: PathBuf,
    /// `listkeeper.toml`.
    pub server: ServerConfig,
    /// Every list, by id.
    pub lists: BTreeMap<ListId, ListConfig>,
}

/// What [`Config::load_partial`] could load, and every problem it found.
#[derive(Debug)]
pub struct Partial {
    /// `listkeeper.toml`, if it loaded.
    pub server: Option<ServerConfig>,
    /// The lists that loaded.
    pub lists: BTreeMap<ListId, ListConfig>,
    /// Everything found.
    pub problems: Problems,
}

/// `listkeeper.toml`, checked.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Host part of every list and request address (lower-case ASCII).
    pub domain: String,
    /// Where listkeeper keeps what it owns alone.
    pub state_dir: PathBuf,
    /// LISTSERV-style command address local part, such as `listserv`.
    pub command_address: Option<String>,
    /// `[inbound]`.
    pub inbound: Inbound,
    /// `[outbound]`.
    pub outbound: Outbound,
    /// `[confirm]`.
    pub confirm: Confirm,
    /// `[limits]`.
    pub limits: Limits,
    /// `[trust]`: whose Authentication-Results to believe.
    pub authserv_id: Option<String>,
    /// `[web]`: the list pages and forms; `None` when the section is absent.
    pub web: Option<Web>,
}

/// `[web]`: where the pages are served and what links in mail point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    /// The HTTP listener (behind a TLS reverse proxy).
    pub listen: Listen,
    /// What links in mail start with, such as `https://lists.example.gov` (no
    /// trailing slash).
    pub base_url: String,
    /// Whose `X-Forwarded-For` to believe.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Form posts one client address may make per hour.
    pub posts_per_client_per_hour: u32,
    /// Where `/metrics` is served instead of the main listener (to loopback there).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Where mail comes in.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The LMTP listener.
    pub lmtp: Listen,
    /// A Maildir to drain and watch.
    pub maildir: Option<PathBuf>,
    /// Larger messages are refused.
    pub max_message_size: u64,
    /// LMTP connections served at once; more are told to come back (421).
    pub max_connections: u32,
    /// A silent client is disconnected after this; one that sends but completes no
    /// command (a slow drip) after twice this.
    pub idle_timeout: Duration,
}

/// An LMTP listening address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address such as `127.0.0.1:8024`.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// Where replies go out.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// How replies are handed on.
    pub transport: Transport,
    /// The From of every reply.
    pub from: EmailAddress,
    /// SMTP AUTH user.
    pub username: Option<String>,
    /// File holding the SMTP AUTH password.
    pub password_file: Option<PathBuf>,
    /// How long a reply is retried before it is moved to `outbox/failed/`.
    pub give_up_after: Duration,
    /// How long one SMTP send may take, connection included.
    pub send_timeout: Duration,
    /// How long a stop (SIGTERM) waits for the messages in hand and the sends in
    /// flight; sends still in flight then stay queued.
    pub shutdown_grace: Duration,
}

/// An outbound transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// SMTP, with STARTTLS when offered.
    Smtp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// SMTP over TLS from the first byte.
    Smtps {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// Each mail written as an `.eml` file into a folder.
    File(PathBuf),
}

/// `[confirm]`.
#[derive(Debug, Clone)]
pub struct Confirm {
    /// The token key file (created 0600 on first start).
    pub secret_file: PathBuf,
    /// How long a token stays valid.
    pub expires: Duration,
}

/// `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Replies anyone could trigger by forging a request (confirmation requests,
    /// refusals, notices), to one address, per day.
    pub confirmations_per_address_per_day: u32,
    /// Results of command mail (info, lists, query, help...), to one address, per day.
    pub command_replies_per_address_per_day: u32,
    /// The same, to one domain, per hour.
    pub confirmations_per_domain_per_hour: u32,
    /// All replies together, per hour.
    pub replies_per_hour: u32,
}

/// A string that is not a list id (the id, as given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a valid list id: use letters, digits, `-`, `_` and `.`, starting with a letter or digit (at most 64)"
)]
pub struct ListIdError(pub String);

/// A list id: letters, digits, `-`, `_` and `.`, compared in lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListId(String);

impl ListId {
    /// Parses an id such as `sm-cop`; refuses anything that could escape a directory.
    pub fn parse(id: &str) -> Result<Self, ListIdError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.as_bytes()[0].is_ascii_alphanumeric()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !id.contains("..");
        if ok {
            Ok(Self(id.to_ascii_lowercase()))
        } else {
            Err(ListIdError(id.to_owned()))
        }
    }

    /// The id in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When a subscribe request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SubscribePolicy {
    /// Added at once.
    #[serde(rename = "open")]
    Open,
    /// Added once the address confirms.
    #[serde(rename = "confirm")]
    Confirm,
    /// Held for the owners.
    #[serde(rename = "moderate")]
    Moderate,
    /// Confirmed, then held for the owners.
    #[serde(rename = "confirm+moderate")]
    ConfirmThenModerate,
}

/// When an unsubscribe request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsubscribePolicy {
    /// Removed at once.
    Open,
    /// Removed once the address confirms.
    Confirm,
}

/// What the owners are told of joins, leaves and lapses (`notify` in list.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    /// One mail per join, leave and lapse, with the member's reply.
    Each,
    /// One summary a day, none when nothing happened.
    Daily,
    /// Nothing but the held requests they are to decide.
    None,
}

/// Who may have the roster by `REVIEW` (`review` in list.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    /// The owners only.
    Owners,
    /// The owners and the members.
    Members,
    /// Anyone.
    Public,
}

/// One list, checked.
#[derive(Debug, Clone)]
pub struct ListConfig {
    /// The id, equal to the directory name.
    pub id: ListId,
    /// The list's directory.
    pub dir: PathBuf,
    /// Display name.
    pub name: String,
    /// One-line description.
    pub title: String,
    /// Who gets held requests and `L-owner@` mail.
    pub owners: Vec<EmailAddress>,
    /// Subscribe policy.
    pub subscribe: SubscribePolicy,
    /// Unsubscribe policy.
    pub unsubscribe: UnsubscribePolicy,
    /// Who may join, in words; told to those refused.
    pub terms: String,
    /// What the owners are told of joins, leaves and lapses.
    pub notify: Notify,
    /// How long a held request waits before the owners are told of it again.
    pub remind_after: Duration,
    /// Who may have the roster by `REVIEW`.
    pub review: Review,
    /// The list's language (a BCP 47 tag, lower case; `en` unless set): its replies'
    /// and pages' unless a member's `lang` says otherwise.
    pub language: String,
    /// Where the addresses of members who get each post are published, one a line.
    pub include_file: Option<PathBuf>,
    /// Where member addresses are published with their one-click unsubscribe URIs,
    /// `address<TAB>uri` a line (needs `[web]`).
    pub unsubscribe_file: Option<PathBuf>,
    /// Where the addresses of digest members are published, one a line.
    pub digest_include_file: Option<PathBuf>,
    /// `[bounce]`: how bounce reports score members.
    pub bounce: crate::bounce::Settings,
    /// Eligibility rules, in order.
    pub rules: Vec<Rule>,
    /// The list's own texts, `templates/<name>.txt` by name and
    /// `templates/<lang>/<name>.txt` by `<lang>/<name>`, read with the config (a
    /// changed template reloads it like a changed list.toml).
    pub templates: BTreeMap<String, String>,
    /// The list's own web pages, `templates/<name>.html` by file name (`list.html`),
    /// and `templates/<lang>/<name>.html` by `<lang>/<name>.html`, read with the
    /// config like the texts.
    pub pages: BTreeMap<String, String>,
}

impl ListConfig {
    /// Whether `address` is one of the list's owners.
    pub fn is_owner(&self, address: &crate::address::EmailAddress) -> bool {
        self.owners.iter().any(|o| o.key() == address.key())
    }

    /// `lists/<id>/roster.toml`.
    pub fn roster_path(&self) -> PathBuf {
        self.dir.join("roster.toml")
    }

    /// The files its roster is published to (`include_file`, `digest_include_file`).
    pub fn includes(&self) -> crate::roster::Includes {
        crate::roster::Includes {
            mail: self.include_file.clone(),
            digest: self.digest_include_file.clone(),
        }
    }

    /// The `list.toml` file.
    pub fn file(&self) -> PathBuf {
        self.dir.join("list.toml")
    }
}

impl Config {
    /// Loads and checks a configuration directory; on failure, every problem found.
    pub fn load(dir: &Path) -> Result<Config, Problems> {
        let (config, problems) = Self::load_with_warnings(dir);
        config.ok_or(problems)
    }

    /// Loads a configuration directory, returning warnings even on success.
    pub fn load_with_warnings(dir: &Path) -> (Option<Config>, Problems) {
        let partial = Self::load_partial(dir);
        let config = match partial.server {
            Some(server) if !partial.problems.has_errors() => Some(Config {
                dir: dir.to_owned(),
                server,
                lists: partial.lists,
            }),
            _ => None,
        };
        (config, partial.problems)
    }

    /// Loads what can be loaded, for `check`: the lists that are fine even when
    /// others, or `listkeeper.toml`, are not.
    pub fn load_partial(dir: &Path) -> Partial {
        Self::partial_after(dir, Self::load_server(dir))
    }

    /// Loads `listkeeper.toml` alone, and its problems: all `deliver` needs to hand
    /// a message to a running daemon.
    pub fn load_server(dir: &Path) -> (Option<ServerConfig>, Problems) {
        let mut problems = Problems::default();
        let server = file::read::<raw::RawServer>(&dir.join("listkeeper.toml"), &mut problems)
            .and_then(|(raw, f)| server::server_from_raw(raw, &f, &mut problems));
        (server, problems)
    }

    /// [`Config::load`], with `listkeeper.toml` already loaded by
    /// [`Config::load_server`] (not read again).
    pub fn load_after(
        dir: &Path,
        server: (Option<ServerConfig>, Problems),
    ) -> Result<Config, Problems> {
        let partial = Self::partial_after(dir, server);
        match partial.server {
            Some(server) if !partial.problems.has_errors() => Ok(Config {
                dir: dir.to_owned(),
                server,
                lists: partial.lists,
            }),
            _ => Err(partial.problems),
        }
    }

    /// The lists, after `listkeeper.toml`.
    fn partial_after(
        dir: &Path,
        (server, mut problems): (Option<ServerConfig>, Problems),
    ) -> Partial {
        let server_path = dir.join("listkeeper.toml");
        let lists = list::load_lists(dir, &mut problems);
        let command = server.as_ref().and_then(|s| s.command_address.as_deref());
        refuse_collisions(command, &lists, &server_path, &mut problems);
        Partial {
            server,
            lists,
            problems,
        }
    }

    /// Loads `listkeeper.toml` and every list that loads, for the admin commands:
    /// one list's broken `list.toml` must not stop the others being served. Fails
    /// only when `listkeeper.toml` or the lists folder does not load; the errors of
    /// each list left out come back by its folder name.
    pub fn load_serving(dir: &Path) -> Result<(Config, BTreeMap<String, Problems>), Problems> {
        let partial = Self::load_partial(dir);
        let lists_dir = dir.join("lists");
        let mut broken: BTreeMap<String, Problems> = BTreeMap::new();
        let mut fatal = false;
        for p in partial.problems.iter() {
            if p.severity != Severity::Error {
                continue;
            }
            let folder = p
                .file
                .strip_prefix(&lists_dir)
                .ok()
                .and_then(|rest| rest.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            match folder {
                Some(folder) => broken.entry(folder).or_default().add(p.clone()),
                None => fatal = true,
            }
        }
        match partial.server {
            Some(server) if !fatal => Ok((
                Config {
                    dir: dir.to_owned(),
                    server,
                    lists: partial.lists,
                },
                broken,
            )),
            _ => Err(partial.problems),
        }
    }

    /// The list with this id, compared case-insensitively.
    pub fn list(&self, id: &str) -> Option<&ListConfig> {
        ListId::parse(id).ok().and_then(|id| self.lists.get(&id))
    }
}

/// The value of a key that parsed, or `None` with its error recorded at the key.
fn checked<T>(
    f: &TomlFile,
    problems: &mut Problems,
    keys: &[&str],
    parsed: Result<T, String>,
) -> Option<T> {
    parsed
        .map_err(|why| f.error(problems, &KeyPath::keys(keys), why))
        .ok()
}

/// Two lists that answer to one address are an error on the second list (or on
/// `command_address`): routing could serve only one of them.
fn refuse_collisions(
    command_address: Option<&str>,
    lists: &BTreeMap<ListId, ListConfig>,
    server_path: &Path,
    problems: &mut Problems,
) {
    for c in addresses::collisions(command_address, lists.keys().map(ListId::as_str)) {
        match c
            .second
            .as_deref()
            .and_then(|id| lists.get(&ListId::parse(id).ok()?))
        {
            Some(second) => problems.error(
                &second.file(),
                None,
                Some("id".into()),
                format!(
                    "lists `{}` and `{}` both answer to {}@: rename one of them",
                    c.first, second.id, c.local_part
                ),
            ),
            None => problems.error(
                server_path,
                None,
                Some("command_address".into()),
                format!(
                    "`{}` is also an address of list `{}`: choose another command address",
                    c.local_part, c.first
                ),
            ),
        }
    }
}

/// `templates/*.EXT` of a list, by stem (or by whole file name, `whole`), and
/// `templates/LANG/*.EXT` by `lang/stem` (the folder's name in lower case); none
/// when the folder is missing.
fn read_templates(dir: &Path, ext: &str, whole: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in template_files(dir) {
        if path.extension().is_none_or(|x| x != ext) {
            continue;
        }
        let name = match whole {
            true => path.file_name(),
            false => path.file_stem(),
        };
        let folder = path
            .parent()
            .filter(|p| *p != dir)
            .and_then(|p| p.file_name());
        let Some(name) = name.and_then(|s| s.to_str()) else {
            continue;
        };
        let key = match folder.map(|f| f.to_str().map(str::to_ascii_lowercase)) {
            None => name.to_owned(),
            Some(Some(lang)) => format!("{lang}/{name}"),
            Some(None) => continue,
        };
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.insert(key, text);
        }
    }
    out
}

/// The `.txt` (texts) and `.html` (web pages) files in a templates folder and in
/// its language folders (`templates/es/`).
pub fn template_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.is_dir() {
            let inner = std::fs::read_dir(&path).into_iter().flatten();
            out.extend(
                inner
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| is_template(p)),
            );
        } else if is_template(&path) {
            out.push(path);
        }
    }
    out
}

fn is_template(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "txt" || x == "html")
}

/// Parses a size such as `1 MiB` or `500 kB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| format!("`{text}` is not a size: write it like \"1 MiB\" or \"500 kB\""))
}

/// Parses a duration such as `7 days` or `36h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration: write it like \"7 days\" or \"36h\""))
}

#[cfg(test)]
use server::parse_transport;

#[cfg(test)]
mod tests;
