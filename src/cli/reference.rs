//! The configuration reference: every key of `listkeeper.toml` and of a list's
//! `list.toml` (and its roster), with its default and an example, rendered as the man
//! pages listkeeper.toml(5) and list.toml(5). `check` names these pages after an error.
//!
//! The tables follow the README's (the files' contract). Written by hand: clap_mangen
//! documents flags, and no crate documents the keys of a serde struct.

use roff::{Roff, bold, italic, roman};

/// One key of a file.
#[derive(Debug)]
pub(crate) struct Key {
    /// The key as written, with its table: `inbound.lmtp`, `rule.domain`.
    pub(crate) name: &'static str,
    /// The default, or `required`, or `none`.
    pub(crate) default: &'static str,
    /// A line as an admin would write it.
    pub(crate) example: &'static str,
    /// What it does.
    pub(crate) meaning: &'static str,
}

const fn key(
    name: &'static str,
    default: &'static str,
    example: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        default,
        example,
        meaning,
    }
}

/// The keys of `listkeeper.toml`.
pub(crate) const SERVER: &[Key] = &[
    key(
        "domain",
        "required",
        "domain = \"lists.agency.gov\"",
        "The host part of every list address (L-subscribe-request@domain); its MX is the Postfix in front of listkeeper. A domain under .invalid is refused: it marks the placeholder of the Debian package's starter file.",
    ),
    key(
        "state_dir",
        "required",
        "state_dir = \"/var/lib/listkeeper\"",
        "What listkeeper owns alone: state.log (pending and held requests, queued replies, roster changes not yet in their files), limits.log, audit.log, outbox/failed/, the token key.",
    ),
    key(
        "command_address",
        "none",
        "command_address = \"listserv\"",
        "A LISTSERV-style command address, listserv@domain, taking commands that name the list.",
    ),
    key(
        "inbound.lmtp",
        "127.0.0.1:8024",
        "lmtp = \"unix:/run/listkeeper/lmtp.sock\"",
        "Where serve listens for LMTP: IP:PORT, or unix:/path for a Unix socket. A change needs a restart.",
    ),
    key(
        "inbound.maildir",
        "none",
        "maildir = \"/var/mail/lists\"",
        "A Maildir that serve drains and watches, instead of or beside LMTP.",
    ),
    key(
        "inbound.max_message_size",
        "1 MiB",
        "max_message_size = \"256 KiB\"",
        "Larger mail is refused (552 over LMTP, exit 65 from deliver).",
    ),
    key(
        "inbound.max_connections",
        "100",
        "max_connections = 50",
        "LMTP connections served at once; more get 421.",
    ),
    key(
        "inbound.idle_timeout",
        "5 min",
        "idle_timeout = \"2 min\"",
        "A silent LMTP client is closed after this, a slow drip after twice this.",
    ),
    key(
        "outbound.transport",
        "smtp://127.0.0.1:25",
        "transport = \"smtps://relay.agency.gov:465\"",
        "How replies leave: smtp://host:port (STARTTLS when offered), smtps://host:port (TLS, certificate checked) or file:DIR (.eml files).",
    ),
    key(
        "outbound.from",
        "command_address@domain (listkeeper@domain without one)",
        "from = \"listserv@lists.agency.gov\"",
        "The From of every reply.",
    ),
    key(
        "outbound.username",
        "none",
        "username = \"listkeeper\"",
        "The SMTP AUTH user; needs password_file.",
    ),
    key(
        "outbound.password_file",
        "none",
        "password_file = \"/etc/listkeeper/smtp-password\"",
        "A file holding the SMTP AUTH password (keep it mode 0640, group listkeeper).",
    ),
    key(
        "outbound.give_up_after",
        "4 days",
        "give_up_after = \"2 days\"",
        "How long a reply is retried before it moves to outbox/failed/ with an audit line.",
    ),
    key(
        "outbound.send_timeout",
        "30 s",
        "send_timeout = \"1 min\"",
        "How long one SMTP send may take, the connection included; a send that takes longer is retried later.",
    ),
    key(
        "outbound.shutdown_grace",
        "10 s",
        "shutdown_grace = \"20 s\"",
        "How long a stop (SIGTERM) waits for the messages in hand and the sends in flight; sends still in flight stay queued for the next start. Keep it under the unit's TimeoutStopSec.",
    ),
    key(
        "confirm.secret_file",
        "state_dir/secret",
        "secret_file = \"/var/lib/listkeeper/secret\"",
        "The token key, created with mode 0600 when missing; a new k2 line on top rotates it.",
    ),
    key(
        "confirm.expires",
        "7 days",
        "expires = \"3 days\"",
        "How long a confirmation, or a request held for the owners, stays good.",
    ),
    key(
        "limits.confirmations_per_address_per_day",
        "3",
        "confirmations_per_address_per_day = 3",
        "Confirmation requests, refusals and notices (replies anyone could trigger by forging a request) to one address a day.",
    ),
    key(
        "limits.command_replies_per_address_per_day",
        "10",
        "command_replies_per_address_per_day = 10",
        "Replies that only answer a command mail (info, lists, query, help, an unknown list or command) to one address a day.",
    ),
    key(
        "limits.confirmations_per_domain_per_hour",
        "100",
        "confirmations_per_domain_per_hour = 100",
        "Both kinds together, to one domain an hour.",
    ),
    key(
        "limits.replies_per_hour",
        "5000",
        "replies_per_hour = 5000",
        "All replies together, an hour.",
    ),
    key(
        "trust.authserv_id",
        "none",
        "authserv_id = \"mx.agency.gov\"",
        "Whose Authentication-Results headers to believe (the MX's authserv-id), for rules with authenticated = true.",
    ),
    key(
        "web.listen",
        "127.0.0.1:8025",
        "listen = \"unix:/run/listkeeper/web.sock\"",
        "Where serve serves the web pages (only when [web] is present): IP:PORT or unix:/path. Taken at start: a change needs a restart.",
    ),
    key(
        "web.base_url",
        "required in [web]",
        "base_url = \"https://lists.agency.gov\"",
        "What links in mail start with: http:// or https://, a host, an optional path (the pages' links and forms then start with it); no query.",
    ),
    key(
        "web.trusted_proxies",
        "none",
        "trusted_proxies = [\"127.0.0.1\"]",
        "IP addresses whose X-Forwarded-For is believed (read from the right, past every trusted proxy).",
    ),
    key(
        "web.posts_per_client_per_hour",
        "20",
        "posts_per_client_per_hour = 20",
        "Forms (subscribe, unsubscribe, delivery) one client address (an IPv6 /64) may send an hour; more get 429. Counted in memory: a reload keeps the counts, a restart forgets them.",
    ),
    key(
        "web.metrics_listen",
        "none",
        "metrics_listen = \"127.0.0.1:9025\"",
        "IP:PORT where /metrics is served alone (then no longer on listen); without it, /metrics is on listen, to loopback clients only. Taken at start.",
    ),
];

/// The keys of `lists/<id>/list.toml` and of its roster.
pub(crate) const LIST: &[Key] = &[
    key(
        "id",
        "required",
        "id = \"sm-cop\"",
        "The list id; must equal the folder name. Addresses are id-subscribe-request@domain and so on.",
    ),
    key(
        "name",
        "the id",
        "name = \"SM-COP\"",
        "The short name in replies' subjects.",
    ),
    key(
        "title",
        "the name",
        "title = \"SocialGov Community of Practice\"",
        "The long name in replies and in lists.",
    ),
    key(
        "owners",
        "none",
        "owners = [\"socialgov@agency.gov\"]",
        "Who receives held requests and the mail to id-owner@domain, and may approve or reject by mail.",
    ),
    key(
        "subscribe",
        "confirm",
        "subscribe = \"confirm+moderate\"",
        "open (join at once), confirm (the address must answer a confirmation first), moderate (the owners decide) or confirm+moderate.",
    ),
    key(
        "unsubscribe",
        "confirm",
        "unsubscribe = \"open\"",
        "open or confirm.",
    ),
    key(
        "terms",
        "required",
        "terms = \"Anyone with a .gov or .mil address may join.\"",
        "Told to anyone the rules refuse, and shown by lists.",
    ),
    key(
        "language",
        "en",
        "language = \"es\"",
        "The list's language (BCP 47: es, es-MX, …): its replies, subjects, help and web pages, and the lang recorded for new members. English and Spanish ship; templates/LANG/NAME.txt adds others.",
    ),
    key(
        "include_file",
        "none",
        "include_file = \"/var/lib/listkeeper/sm-cop.members\"",
        "Rewritten (atomically) with every roster write: the address of every member who gets each post (mode mail), one a line, for an alias such as sm-cop: :include:PATH. Digest and nomail members are left out.",
    ),
    key(
        "digest_include_file",
        "none",
        "digest_include_file = \"/var/lib/listkeeper/sm-cop.digest\"",
        "Rewritten with include_file: the address of every digest member (mode digest), one a line, for the posting system's digest alias.",
    ),
    key(
        "unsubscribe_file",
        "none",
        "unsubscribe_file = \"/var/lib/listkeeper/sm-cop.unsubscribe\"",
        "Rewritten (atomically) with include_file: address<TAB>one-click unsubscribe URI, one member a line, for a posting system. Needs [web]; without it the file is not written.",
    ),
    key(
        "notify",
        "daily",
        "notify = \"each\"",
        "What the owners hear of joins, leaves and lapses: each (a mail per event, with the member's reply), daily (one summary a day, also naming bounces, replies held back by the limits and requests waiting; none when nothing happened) or none. Held requests are mailed to the owners at once whatever this says.",
    ),
    key(
        "remind_after",
        "2 days",
        "remind_after = \"1 day\"",
        "A held request not decided this long after the owners were last told of it is named again in their next mail (the daily summary, or under each a reminder).",
    ),
    key(
        "review",
        "owners",
        "review = \"members\"",
        "Who gets the roster by mailing REVIEW LIST: owners, members (and owners) or public (anyone). The roster goes to the From address, so a forged From sends it only to that address's real owner.",
    ),
    key(
        "bounce.threshold",
        "5.0",
        "threshold = 5.0",
        "In [bounce]: the score at which a member becomes nomail (why = \"bounces\"). A verified hard failure (5.1.x, 5.2.1) adds 1, another permanent failure 0.5, at most once a day; a policy rejection (5.7.x, DMARC, SPF, DKIM) adds nothing and is counted apart.",
    ),
    key(
        "bounce.stale_after",
        "7 days",
        "stale_after = \"7 days\"",
        "In [bounce]: a score not raised for this long starts again from nothing.",
    ),
    key(
        "bounce.warnings",
        "3",
        "warnings = 3",
        "In [bounce]: re-enable notices before removal (read and checked; not acted on yet).",
    ),
    key(
        "bounce.warn_every",
        "7 days",
        "warn_every = \"7 days\"",
        "In [bounce]: the time between those notices (read and checked; not acted on yet).",
    ),
    key(
        "bounce.incident_share",
        "0.1",
        "incident_share = 0.1",
        "In [bounce]: when more than this share of the list's members at one domain, or of all its members, (and at least three) bounce within an hour, nobody's score is raised: the domain (or the list) has an incident, and the owners get one alert.",
    ),
    key(
        "rule.domain",
        "none",
        "domain = [\"*.gov\", \"gov\"]",
        "In a [[rule]]: matches when the address's domain matches one of the globs (whole labels; a leading * is one or more labels).",
    ),
    key(
        "rule.address",
        "none",
        "address = [\"*@contractor.example.com\"]",
        "In a [[rule]]: matches when the whole address matches one of the globs.",
    ),
    key(
        "rule.regex",
        "none",
        "regex = '[a-z]+\\.[a-z]+@.*\\.mil'",
        "In a [[rule]]: matches when the regex matches the whole address, in lower case.",
    ),
    key(
        "rule.authenticated",
        "false",
        "authenticated = true",
        "In a [[rule]]: matches only when the topmost Authentication-Results header of trust.authserv_id shows DKIM, SPF or DMARC pass for the sender's domain.",
    ),
    key(
        "rule.action",
        "required",
        "action = \"allow\"",
        "In a [[rule]]: allow, moderate or reject. Rules are tried in order; the first that matches decides; no match refuses with the terms.",
    ),
    key(
        "rule.reason",
        "the terms",
        "reason = \"Contractors may not join.\"",
        "In a reject [[rule]]: what the person is told.",
    ),
    key(
        "members (roster.toml)",
        "required",
        "\"jane.doe@agency.gov\" = { name = \"Jane Doe\", since = 2026-01-05T10:00:00Z, via = \"email\" }",
        "In roster.toml, under [members]: one member a line, keyed by address; name, since (a date and time) and via (email, admin, token, import:FORMAT or sync:NAME) are optional.",
    ),
];

/// The two man pages of section 5: (file name, roff text).
pub(crate) fn pages(version: &str) -> [(&'static str, String); 2] {
    [
        (
            "listkeeper.toml.5",
            page(
                "LISTKEEPER.TOML",
                "listkeeper.toml",
                "the listkeeper daemon's settings",
                "/etc/listkeeper/listkeeper.toml holds the daemon's settings. Keys in a table are \
                 written under that table's heading: inbound.lmtp is lmtp = ... after [inbound]. \
                 Unknown keys, bad values and missing keys are errors that name the file, the \
                 line and the key; listkeeper check lists all of them.",
                SERVER,
                version,
            ),
        ),
        (
            "list.toml.5",
            page(
                "LIST.TOML",
                "list.toml",
                "one listkeeper list: addresses, policy, eligibility rules, roster",
                "/etc/listkeeper/lists/ID/list.toml describes one list; its members are in \
                 roster.toml beside it, which admins and listkeeper both edit (listkeeper keeps \
                 every comment and the order). Keys named rule.KEY are written in a [[rule]] \
                 table; a rule matches when all of its matchers hold. listkeeper check lists \
                 every problem.",
                LIST,
                version,
            ),
        ),
    ]
}

fn page(
    title: &str,
    file: &str,
    what: &str,
    description: &str,
    keys: &[Key],
    version: &str,
) -> String {
    let mut roff = Roff::new();
    roff.control("TH", [title, "5", "", &format!("listkeeper {version}")])
        .control("SH", ["NAME"])
        .text([roman(format!("{file} - {what}"))])
        .control("SH", ["DESCRIPTION"])
        .text([roman(description)])
        .control("SH", ["KEYS"]);
    for k in keys {
        roff.control("TP", [] as [&str; 0])
            .text([bold(k.name)])
            .text([roman(k.meaning)])
            .control("br", [] as [&str; 0])
            .text([italic("Default:"), roman(format!(" {}", k.default))])
            .control("br", [] as [&str; 0])
            .text([italic("Example:"), roman(format!(" {}", k.example))]);
    }
    roff.control("SH", ["SEE ALSO"]).text([roman(
        "listkeeper(1), listkeeper-check(1), listkeeper.toml(5), list.toml(5)",
    )]);
    roff.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of the listkeeper.toml table in docs/reference.md: `[web] listen`
    /// as `web.listen`, `[outbound] username`, `password_file` as two.
    fn documented() -> Vec<String> {
        let text = include_str!("../../docs/reference.md");
        let table = text
            .split("### listkeeper.toml")
            .nth(1)
            .and_then(|t| t.split("\n\n").nth(1))
            .unwrap_or_default();
        let mut keys = Vec::new();
        for row in table.lines().skip(2) {
            let cell = row
                .split(" | ")
                .next()
                .unwrap_or_default()
                .trim_start_matches("| ");
            let (table, names) = match cell.strip_prefix("`[").and_then(|c| c.split_once("] ")) {
                Some((table, names)) => (format!("{table}."), names),
                None => (String::new(), cell),
            };
            for name in names.split(", ") {
                keys.push(format!("{table}{}", name.trim_matches('`')));
            }
        }
        keys
    }

    /// Issue 15: the man page lists every key the reference does, [web] too.
    #[test]
    fn the_man_page_has_every_documented_key() {
        let documented = documented();
        assert!(documented.len() > 20, "{documented:?}");
        assert!(
            documented.contains(&"web.metrics_listen".to_owned()),
            "{documented:?}"
        );
        let named: Vec<&str> = SERVER.iter().map(|k| k.name).collect();
        for key in &documented {
            assert!(
                named.contains(&key.as_str()),
                "{key} is not in the man page"
            );
        }
        for key in &named {
            assert!(
                documented.contains(&(*key).to_owned()),
                "{key} is not in docs/reference.md"
            );
        }
        let [(_, page), _] = pages("0");
        assert!(page.contains("web.posts_per_client_per_hour"), "{page}");
    }
}
