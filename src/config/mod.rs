//! Configuration: `listkeeper.toml` and every `lists/<id>/list.toml` (docs/reference.md, section 1).
//!
//! Loading is two-stage. `raw` holds the files as serde reads them; this module builds
//! checked values from them ([`ServerConfig`], [`ListConfig`], [`ListId`], compiled
//! rules) so that nothing invalid exists past loading. Every problem, in every file,
//! is collected with its file, line and key before loading gives up, so `check`
//! reports them all at once.

pub mod addresses;
mod file;
mod problem;
mod raw;

pub use problem::{Problem, Problems, Severity};

use crate::address::{EmailAddress, normalize_domain};
use crate::eligibility::{self, Action, AddressGlob, DomainGlob, Rule};
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

/// A list id: letters, digits, `-`, `_` and `.`, compared in lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListId(String);

impl ListId {
    /// Parses an id such as `sm-cop`; refuses anything that could escape a directory.
    pub fn parse(id: &str) -> Result<Self, String> {
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
            Err(format!(
                "`{id}` is not a valid list id: use letters, digits, `-`, `_` and `.`, starting with a letter or digit (at most 64)"
            ))
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
    /// Where member addresses are published, one a line.
    pub include_file: Option<PathBuf>,
    /// Eligibility rules, in order.
    pub rules: Vec<Rule>,
    /// The list's own texts, `templates/<name>.txt` by name, read with the config
    /// (a changed template reloads it like a changed list.toml).
    pub templates: BTreeMap<String, String>,
    /// The list's own web pages, `templates/<name>.html` by file name (`list.html`),
    /// read with the config like the texts.
    pub pages: BTreeMap<String, String>,
}

impl ListConfig {
    /// `lists/<id>/roster.toml`.
    pub fn roster_path(&self) -> PathBuf {
        self.dir.join("roster.toml")
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
        let mut problems = Problems::default();
        let server_path = dir.join("listkeeper.toml");
        let server = file::read::<raw::RawServer>(&server_path, &mut problems)
            .and_then(|(raw, f)| server_from_raw(raw, &f, &mut problems));
        let lists = load_lists(dir, &mut problems);
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

fn server_from_raw(
    raw: raw::RawServer,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<ServerConfig> {
    let errors_before = problems.error_count();
    let at = |keys: &[&str]| KeyPath::keys(keys);
    let domain = normalize_domain(&raw.domain).unwrap_or_else(|why| {
        f.error(
            problems,
            &at(&["domain"]),
            format!("`{}` is not a usable domain: {why}", raw.domain),
        );
        String::new()
    });
    // `.invalid` never resolves (RFC 2606): it marks a placeholder, such as the one in
    // the Debian package's starter configuration, that the operator must replace.
    if domain == "invalid" || domain.ends_with(".invalid") {
        f.error(
            problems,
            &at(&["domain"]),
            format!(
                "`{domain}` is a placeholder (.invalid is never a real domain): set domain to \
                 the list domain, the host part of every list address, whose MX is this Postfix"
            ),
        );
    }
    if let Some(local) = &raw.command_address
        && EmailAddress::parse(&format!("{local}@example.com")).is_err()
    {
        f.error(
            problems,
            &at(&["command_address"]),
            format!(
                "`{local}` is not a valid local part (write `listserv`, not `listserv@domain`)"
            ),
        );
    }
    let lmtp = match raw.inbound.lmtp.as_deref().unwrap_or("127.0.0.1:8024") {
        s if s.starts_with("unix:") => Some(Listen::Unix(f.resolve(&s["unix:".len()..]))),
        s => s
            .parse()
            .map(Listen::Tcp)
            .map_err(|_| {
                f.error(
                    problems,
                    &at(&["inbound", "lmtp"]),
                    format!("`{s}` is neither `IP:PORT` (such as 127.0.0.1:8024) nor `unix:/path`"),
                );
            })
            .ok(),
    };
    let max_message_size = parse_size(raw.inbound.max_message_size.as_deref().unwrap_or("1 MiB"))
        .map_err(|why| f.error(problems, &at(&["inbound", "max_message_size"]), why))
        .ok();
    let transport = parse_transport(
        raw.outbound
            .transport
            .as_deref()
            .unwrap_or("smtp://127.0.0.1:25"),
        f,
    )
    .map_err(|why| f.error(problems, &at(&["outbound", "transport"]), why))
    .ok();
    let default_from = format!(
        "{}@{domain}",
        raw.command_address.as_deref().unwrap_or("listkeeper")
    );
    let from_text = raw.outbound.from.unwrap_or(default_from);
    let from = EmailAddress::parse(&from_text)
        .map_err(|e| f.error(problems, &at(&["outbound", "from"]), e.to_string()))
        .ok();
    let idle_timeout = parse_duration(raw.inbound.idle_timeout.as_deref().unwrap_or("5 min"))
        .map_err(|why| f.error(problems, &at(&["inbound", "idle_timeout"]), why))
        .ok();
    let give_up_after = parse_duration(raw.outbound.give_up_after.as_deref().unwrap_or("4 days"))
        .map_err(|why| f.error(problems, &at(&["outbound", "give_up_after"]), why))
        .ok();
    let send_timeout = parse_duration(raw.outbound.send_timeout.as_deref().unwrap_or("30 s"))
        .map_err(|why| f.error(problems, &at(&["outbound", "send_timeout"]), why))
        .ok()
        .filter(|t| {
            let ok = !t.is_zero();
            if !ok {
                f.error(
                    problems,
                    &at(&["outbound", "send_timeout"]),
                    "must be more than 0 s",
                );
            }
            ok
        });
    let expires = parse_duration(raw.confirm.expires.as_deref().unwrap_or("7 days"))
        .map_err(|why| f.error(problems, &at(&["confirm", "expires"]), why))
        .ok();
    let state_dir = f.resolve(&raw.state_dir);
    let secret_file = raw
        .confirm
        .secret_file
        .map(|s| f.resolve(&s))
        .unwrap_or_else(|| state_dir.join("secret"));
    let limits = Limits {
        confirmations_per_address_per_day: raw
            .limits
            .confirmations_per_address_per_day
            .unwrap_or(3),
        command_replies_per_address_per_day: raw
            .limits
            .command_replies_per_address_per_day
            .unwrap_or(10),
        confirmations_per_domain_per_hour: raw
            .limits
            .confirmations_per_domain_per_hour
            .unwrap_or(100),
        replies_per_hour: raw.limits.replies_per_hour.unwrap_or(5000),
    };
    let web = raw.web.and_then(|w| web_from_raw(w, f, problems));
    if problems.error_count() > errors_before {
        return None;
    }
    Some(ServerConfig {
        domain,
        state_dir,
        command_address: raw.command_address.map(|c| c.to_ascii_lowercase()),
        inbound: Inbound {
            lmtp: lmtp?,
            maildir: raw.inbound.maildir.map(|m| f.resolve(&m)),
            max_message_size: max_message_size?,
            max_connections: raw.inbound.max_connections.unwrap_or(100).max(1),
            idle_timeout: idle_timeout?,
        },
        outbound: Outbound {
            transport: transport?,
            from: from?,
            username: raw.outbound.username,
            password_file: raw.outbound.password_file.map(|p| f.resolve(&p)),
            give_up_after: give_up_after?,
            send_timeout: send_timeout?,
        },
        confirm: Confirm {
            secret_file,
            expires: expires?,
        },
        limits,
        authserv_id: raw.trust.authserv_id,
        web,
    })
}

/// `[web]`, checked: a listen address, an http(s) base URL with a host and nothing
/// after the path, and proxies that are IP addresses.
fn web_from_raw(raw: raw::RawWeb, f: &TomlFile, problems: &mut Problems) -> Option<Web> {
    let errors_before = problems.error_count();
    let at = |key: &str| KeyPath::keys(&["web", key]);
    let listen = parse_listen(raw.listen.as_deref().unwrap_or("127.0.0.1:8025"), f)
        .map_err(|why| f.error(problems, &at("listen"), why))
        .ok();
    let base_url = parse_base_url(&raw.base_url)
        .map_err(|why| f.error(problems, &at("base_url"), why))
        .ok();
    let mut trusted_proxies = Vec::new();
    for (i, proxy) in raw.trusted_proxies.iter().enumerate() {
        match proxy.trim().parse() {
            Ok(ip) => trusted_proxies.push(ip),
            Err(_) => f.error(
                problems,
                &at("trusted_proxies").at(i),
                format!("`{proxy}` is not an IP address (such as 127.0.0.1 or ::1)"),
            ),
        }
    }
    let posts = raw.posts_per_client_per_hour.unwrap_or(20);
    if posts == 0 {
        f.error(
            problems,
            &at("posts_per_client_per_hour"),
            "must be at least 1 (0 would refuse every form)",
        );
    }
    if problems.error_count() > errors_before {
        return None;
    }
    Some(Web {
        listen: listen?,
        base_url: base_url?,
        trusted_proxies,
        posts_per_client_per_hour: posts,
    })
}

/// `IP:PORT` or `unix:/path` (relative paths against the file's folder).
fn parse_listen(text: &str, f: &TomlFile) -> Result<Listen, String> {
    match text.strip_prefix("unix:") {
        Some(path) if !path.is_empty() => Ok(Listen::Unix(f.resolve(path))),
        _ => text.parse().map(Listen::Tcp).map_err(|_| {
            format!("`{text}` is neither `IP:PORT` (such as 127.0.0.1:8025) nor `unix:/path`")
        }),
    }
}

/// An `http://` or `https://` URL with a host, optionally a path, and no query,
/// fragment or credentials; returned without its trailing slash.
fn parse_base_url(text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "`{text}` is not a usable base_url ({why}): write it like \"https://lists.example.gov\""
        )
    };
    let trimmed = text.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("no query, fragment, credentials or spaces"));
    }
    Ok(trimmed.to_owned())
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

fn load_lists(dir: &Path, problems: &mut Problems) -> BTreeMap<ListId, ListConfig> {
    let lists_dir = dir.join("lists");
    let mut lists = BTreeMap::new();
    let entries = match std::fs::read_dir(&lists_dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.error(
                &lists_dir,
                None,
                None,
                format!("cannot read the lists folder: {e}"),
            );
            return lists;
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    for list_dir in dirs {
        let path = list_dir.join("list.toml");
        if !path.exists() {
            problems.error(
                &list_dir,
                None,
                None,
                "a list folder without list.toml: add one or move the folder out of lists/",
            );
            continue;
        }
        let Some(list) = file::read::<raw::RawList>(&path, problems)
            .and_then(|(raw, f)| list_from_raw(raw, &f, problems))
        else {
            continue;
        };
        if lists.contains_key(&list.id) {
            problems.error(
                &path,
                None,
                Some("id".into()),
                format!(
                    "another list folder has the id `{}` in another case",
                    list.id
                ),
            );
            continue;
        }
        lists.insert(list.id.clone(), list);
    }
    lists
}

fn list_from_raw(raw: raw::RawList, f: &TomlFile, problems: &mut Problems) -> Option<ListConfig> {
    let errors_before = problems.error_count();
    let at = |keys: &[&str]| KeyPath::keys(keys);
    let dir_name = f
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = ListId::parse(&raw.id)
        .map_err(|why| f.error(problems, &at(&["id"]), why))
        .ok();
    if raw.id != dir_name {
        f.error(
            problems,
            &at(&["id"]),
            format!(
                "the id `{}` must equal the folder name `{dir_name}`",
                raw.id
            ),
        );
    }
    let mut owners = Vec::new();
    for (i, owner) in raw.owners.iter().enumerate() {
        match EmailAddress::parse(owner) {
            // `.invalid` never resolves (RFC 2606): the placeholder `init` writes.
            Ok(a) if a.domain().ends_with(".invalid") || a.domain() == "invalid" => {
                f.warn(
                    problems,
                    &at(&["owners"]).at(i),
                    format!("{a} is a placeholder, and mail to it goes nowhere: put the owners' real addresses here"),
                );
                owners.push(a);
            }
            Ok(a) => owners.push(a),
            Err(e) => f.error(problems, &at(&["owners"]).at(i), e.to_string()),
        }
    }
    if raw.owners.is_empty() {
        f.error(
            problems,
            &at(&["owners"]),
            "a list needs at least one owner address (owners = [\"you@example.gov\"])",
        );
    }
    let subscribe = match raw.subscribe.as_deref().unwrap_or("confirm") {
        "open" => Some(SubscribePolicy::Open),
        "confirm" => Some(SubscribePolicy::Confirm),
        "moderate" => Some(SubscribePolicy::Moderate),
        "confirm+moderate" => Some(SubscribePolicy::ConfirmThenModerate),
        other => {
            f.error(
                problems,
                &at(&["subscribe"]),
                format!(
                    "`{other}` is not a policy: use open, confirm, moderate or confirm+moderate"
                ),
            );
            None
        }
    };
    let unsubscribe = match raw.unsubscribe.as_deref().unwrap_or("confirm") {
        "open" => Some(UnsubscribePolicy::Open),
        "confirm" => Some(UnsubscribePolicy::Confirm),
        other => {
            f.error(
                problems,
                &at(&["unsubscribe"]),
                format!("`{other}` is not a policy: use open or confirm"),
            );
            None
        }
    };
    if raw.terms.trim().is_empty() {
        f.error(
            problems,
            &at(&["terms"]),
            "terms must say who may join: it is what a refused person is told",
        );
    }
    let rules: Vec<Rule> = raw
        .rule
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| rule_from_raw(r, i, f, problems))
        .collect();
    if problems.error_count() > errors_before {
        return None;
    }
    let name = raw.name.unwrap_or_else(|| raw.id.clone());
    Some(ListConfig {
        id: id?,
        dir: f.dir().to_owned(),
        title: raw.title.unwrap_or_else(|| name.clone()),
        name,
        owners,
        subscribe: subscribe?,
        unsubscribe: unsubscribe?,
        terms: raw.terms,
        include_file: raw.include_file.map(|p| f.resolve(&p)),
        rules,
        templates: read_templates(&f.dir().join("templates"), "txt", false),
        pages: read_templates(&f.dir().join("templates"), "html", true),
    })
}

/// `templates/*.EXT` of a list, by stem (or by whole file name, `whole`); none when
/// the folder is missing.
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
        if let (Some(name), Ok(text)) = (
            name.and_then(|s| s.to_str()),
            std::fs::read_to_string(&path),
        ) {
            out.insert(name.to_owned(), text);
        }
    }
    out
}

/// The `.txt` (texts) and `.html` (web pages) files in a templates folder.
pub fn template_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "html"))
        .collect()
}

fn rule_from_raw(
    raw: raw::RawRule,
    index: usize,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<Rule> {
    let at = KeyPath::keys(&["rule"]).at(index);
    let errors_before = problems.error_count();
    let mut domains = Vec::new();
    for (i, d) in raw.domain.iter().enumerate() {
        match DomainGlob::parse(d) {
            Ok(g) => domains.push(g),
            Err(why) => f.error(problems, &at.key("domain").at(i), format!("`{d}`: {why}")),
        }
    }
    let mut addresses = Vec::new();
    for (i, a) in raw.address.iter().enumerate() {
        match AddressGlob::parse(a) {
            Ok(g) => addresses.push(g),
            Err(why) => f.error(problems, &at.key("address").at(i), why),
        }
    }
    let regex = raw.regex.as_deref().and_then(|re| {
        eligibility::compile_regex(re)
            .map_err(|why| {
                f.error(
                    problems,
                    &at.key("regex"),
                    format!("not a valid regex: {why}"),
                )
            })
            .ok()
    });
    if raw.domain.is_empty()
        && raw.address.is_empty()
        && raw.regex.is_none()
        && raw.authenticated.is_none()
    {
        f.error(
            problems,
            &at,
            "a rule needs at least one of domain, address, regex or authenticated",
        );
    }
    let action = match raw.action.as_str() {
        "allow" => Some(Action::Allow),
        "moderate" => Some(Action::Moderate),
        "reject" => Some(Action::Reject),
        other => {
            f.error(
                problems,
                &at.key("action"),
                format!("`{other}` is not an action: use allow, moderate or reject"),
            );
            None
        }
    };
    if raw.reason.is_some() && action.is_some_and(|a| a != Action::Reject) {
        f.warn(
            problems,
            &at.key("reason"),
            "reason is only told on a reject rule; here it is never used",
        );
    }
    if problems.error_count() > errors_before {
        return None;
    }
    Some(Rule {
        number: index + 1,
        line: f.line_of(&at).unwrap_or(0),
        domains,
        addresses,
        regex,
        authenticated: raw.authenticated,
        action: action?,
        reason: raw.reason,
    })
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

fn parse_transport(text: &str, f: &TomlFile) -> Result<Transport, String> {
    let bad = || {
        format!("`{text}` is not a transport: use smtp://host:port, smtps://host:port or file:DIR")
    };
    if let Some(dir) = text.strip_prefix("file:") {
        return if dir.is_empty() {
            Err(bad())
        } else {
            Ok(Transport::File(f.resolve(dir)))
        };
    }
    let (scheme, rest) = text.split_once("://").ok_or_else(bad)?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (rest, if scheme == "smtps" { 465 } else { 25 }),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if host.is_empty() {
        return Err(bad());
    }
    match scheme {
        "smtp" => Ok(Transport::Smtp { host, port }),
        "smtps" => Ok(Transport::Smtps { host, port }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests;
