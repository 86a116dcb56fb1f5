//! `listkeeper.toml` as read ([`raw::RawServer`]) to [`ServerConfig`]: every key checked,
//! defaults filled in, each problem recorded at its key in the order the file is read.

use super::file::{KeyPath, TomlFile};
use super::{
    Confirm, Inbound, Limits, Listen, Outbound, Problems, ServerConfig, Transport, checked,
    parse_duration, parse_size, raw,
};
use crate::address::{EmailAddress, normalize_domain};
use std::time::Duration;

/// Builds the server settings; `None` when any key is in error (all of them recorded).
pub(super) fn server_from_raw(
    raw: raw::RawServer,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<ServerConfig> {
    let errors_before = problems.error_count();
    let domain = server_domain(&raw.domain, f, problems);
    check_command_address(raw.command_address.as_deref(), f, problems);
    let parsed = Parsed::from_raw(&raw, &domain, f, problems);
    let state_dir = f.resolve(&raw.state_dir);
    let secret_file = raw
        .confirm
        .secret_file
        .map(|s| f.resolve(&s))
        .unwrap_or_else(|| state_dir.join("secret"));
    let web = (raw.web).and_then(|w| super::web::web_from_raw(w, f, problems));
    if problems.error_count() > errors_before {
        return None;
    }
    Some(ServerConfig {
        domain,
        state_dir,
        command_address: raw.command_address.map(|c| c.to_ascii_lowercase()),
        inbound: Inbound {
            lmtp: parsed.lmtp?,
            maildir: raw.inbound.maildir.map(|m| f.resolve(&m)),
            max_message_size: parsed.max_message_size?,
            max_connections: raw.inbound.max_connections.unwrap_or(100).max(1),
            idle_timeout: parsed.timeouts.idle?,
        },
        outbound: Outbound {
            transport: parsed.transport?,
            from: parsed.from?,
            username: raw.outbound.username,
            password_file: raw.outbound.password_file.map(|p| f.resolve(&p)),
            give_up_after: parsed.timeouts.give_up_after?,
            send_timeout: parsed.timeouts.send?,
            shutdown_grace: parsed.timeouts.grace?,
        },
        confirm: Confirm {
            secret_file,
            expires: parsed.timeouts.expires?,
        },
        limits: limits_from_raw(&raw.limits),
        authserv_id: raw.trust.authserv_id,
        web,
    })
}

/// The keys of `listkeeper.toml` that can fail to parse, each `None` when it did not.
struct Parsed {
    lmtp: Option<Listen>,
    max_message_size: Option<u64>,
    transport: Option<Transport>,
    from: Option<EmailAddress>,
    timeouts: Timeouts,
}

impl Parsed {
    /// Parses them in the order the file's problems are reported, defaults filled in.
    fn from_raw(raw: &raw::RawServer, domain: &str, f: &TomlFile, problems: &mut Problems) -> Self {
        let lmtp = parse_listen(
            raw.inbound.lmtp.as_deref().unwrap_or("127.0.0.1:8024"),
            f,
            problems,
        );
        let max_message_size = checked(
            f,
            problems,
            &["inbound", "max_message_size"],
            parse_size(raw.inbound.max_message_size.as_deref().unwrap_or("1 MiB")),
        );
        let transport = checked(
            f,
            problems,
            &["outbound", "transport"],
            parse_transport(
                raw.outbound
                    .transport
                    .as_deref()
                    .unwrap_or("smtp://127.0.0.1:25"),
                f,
            ),
        );
        let from = reply_from(raw, domain, f, problems);
        let timeouts = Timeouts::from_raw(raw, f, problems);
        Self {
            lmtp,
            max_message_size,
            transport,
            from,
            timeouts,
        }
    }
}

/// `domain`, in lower case; an unusable one or a `.invalid` placeholder is an error
/// (and comes back empty when unusable, so the checks after it still run).
fn server_domain(written: &str, f: &TomlFile, problems: &mut Problems) -> String {
    let at = KeyPath::keys(&["domain"]);
    let domain = normalize_domain(written).unwrap_or_else(|why| {
        f.error(
            problems,
            &at,
            format!("`{written}` is not a usable domain: {why}"),
        );
        String::new()
    });
    // `.invalid` never resolves (RFC 2606): it marks a placeholder, such as the one in
    // the Debian package's starter configuration, that the operator must replace.
    if domain == "invalid" || domain.ends_with(".invalid") {
        f.error(
            problems,
            &at,
            format!(
                "`{domain}` is a placeholder (.invalid is never a real domain): set domain to \
                 the list domain, the host part of every list address, whose MX is this Postfix"
            ),
        );
    }
    domain
}

/// `command_address` must be a bare local part.
fn check_command_address(local: Option<&str>, f: &TomlFile, problems: &mut Problems) {
    if let Some(local) = local
        && EmailAddress::parse(&format!("{local}@example.com")).is_err()
    {
        f.error(
            problems,
            &KeyPath::keys(&["command_address"]),
            format!(
                "`{local}` is not a valid local part (write `listserv`, not `listserv@domain`)"
            ),
        );
    }
}

/// `[inbound] lmtp`: `IP:PORT` or `unix:/path`.
fn parse_listen(text: &str, f: &TomlFile, problems: &mut Problems) -> Option<Listen> {
    match text.strip_prefix("unix:") {
        Some(path) => Some(Listen::Unix(f.resolve(path))),
        None => checked(
            f,
            problems,
            &["inbound", "lmtp"],
            text.parse().map(Listen::Tcp).map_err(|_| {
                format!("`{text}` is neither `IP:PORT` (such as 127.0.0.1:8024) nor `unix:/path`")
            }),
        ),
    }
}

/// `[outbound] from`, by default `command_address` (or `listkeeper`) at the domain.
fn reply_from(
    raw: &raw::RawServer,
    domain: &str,
    f: &TomlFile,
    problems: &mut Problems,
) -> Option<EmailAddress> {
    let from_text = raw.outbound.from.clone().unwrap_or_else(|| {
        format!(
            "{}@{domain}",
            raw.command_address.as_deref().unwrap_or("listkeeper")
        )
    });
    checked(
        f,
        problems,
        &["outbound", "from"],
        EmailAddress::parse(&from_text).map_err(|e| e.to_string()),
    )
}

/// The durations of `listkeeper.toml`, each `None` when it did not parse.
struct Timeouts {
    idle: Option<Duration>,
    give_up_after: Option<Duration>,
    send: Option<Duration>,
    grace: Option<Duration>,
    expires: Option<Duration>,
}

impl Timeouts {
    /// Parses them in the order the file's problems are reported, defaults filled in.
    fn from_raw(raw: &raw::RawServer, f: &TomlFile, problems: &mut Problems) -> Self {
        let (inbound, outbound) = (&raw.inbound, &raw.outbound);
        let idle = duration(
            f,
            problems,
            &["inbound", "idle_timeout"],
            inbound.idle_timeout.as_deref(),
            "5 min",
        );
        let give_up_after = duration(
            f,
            problems,
            &["outbound", "give_up_after"],
            outbound.give_up_after.as_deref(),
            "4 days",
        );
        let send = duration(
            f,
            problems,
            &["outbound", "send_timeout"],
            outbound.send_timeout.as_deref(),
            "30 s",
        )
        .filter(|t| {
            let ok = !t.is_zero();
            if !ok {
                f.error(
                    problems,
                    &KeyPath::keys(&["outbound", "send_timeout"]),
                    "must be more than 0 s",
                );
            }
            ok
        });
        let grace = duration(
            f,
            problems,
            &["outbound", "shutdown_grace"],
            outbound.shutdown_grace.as_deref(),
            "10 s",
        );
        let expires = duration(
            f,
            problems,
            &["confirm", "expires"],
            raw.confirm.expires.as_deref(),
            "7 days",
        );
        Self {
            idle,
            give_up_after,
            send,
            grace,
            expires,
        }
    }
}

/// A duration key, or its default when it is not written.
fn duration(
    f: &TomlFile,
    problems: &mut Problems,
    keys: &[&str],
    written: Option<&str>,
    default: &str,
) -> Option<Duration> {
    checked(
        f,
        problems,
        keys,
        parse_duration(written.unwrap_or(default)),
    )
}

/// `[limits]`, defaults filled in.
fn limits_from_raw(raw: &raw::RawLimits) -> Limits {
    Limits {
        confirmations_per_address_per_day: raw.confirmations_per_address_per_day.unwrap_or(3),
        command_replies_per_address_per_day: raw.command_replies_per_address_per_day.unwrap_or(10),
        confirmations_per_domain_per_hour: raw.confirmations_per_domain_per_hour.unwrap_or(100),
        replies_per_hour: raw.replies_per_hour.unwrap_or(5000),
    }
}

/// `[outbound] transport`: `smtp://`, `smtps://` or `file:`.
pub(super) fn parse_transport(text: &str, f: &TomlFile) -> Result<Transport, String> {
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
