//! Broken configuration files, each with the file, line and key its error must name.

use super::*;

const SERVER: &str = r#"domain = "listserv.example.gov"
state_dir = "var"

[inbound]
lmtp = "127.0.0.1:8024"

[outbound]
transport = "file:var/mail"
from = "listserv@listserv.example.gov"
"#;

const LIST: &str = r#"id = "sm-cop"
name = "SM-COP"
owners = ["socialgov@example.gov"]
subscribe = "confirm"
terms = "Anyone with a .gov or .mil email address is eligible to join."

[[rule]]
domain = ["*.gov", "*.mil"]
action = "allow"
"#;

fn write_config(server: &str, list: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("listkeeper.toml"), server).unwrap();
    let list_dir = dir.path().join("lists/sm-cop");
    std::fs::create_dir_all(&list_dir).unwrap();
    std::fs::write(list_dir.join("list.toml"), list).unwrap();
    dir
}

/// (file that is broken, broken text, the file name the error names, line, key, words in the message)
type Case = (
    &'static str,
    String,
    &'static str,
    Option<usize>,
    Option<&'static str>,
    &'static str,
);

fn cases() -> Vec<Case> {
    let s = |from: &str, to: &str| SERVER.replacen(from, to, 1);
    let l = |from: &str, to: &str| LIST.replacen(from, to, 1);
    vec![
        (
            "server",
            s("state_dir", "stat_dir"),
            "listkeeper.toml",
            Some(2),
            Some("stat_dir"),
            "unknown key",
        ),
        (
            "server",
            s("lmtp =", "lmtp_port = 1\nlmtp ="),
            "listkeeper.toml",
            Some(5),
            Some("inbound.lmtp_port"),
            "unknown key",
        ),
        (
            "server",
            s("\"127.0.0.1:8024\"", "\"localhost\""),
            "listkeeper.toml",
            Some(5),
            Some("inbound.lmtp"),
            "IP:PORT",
        ),
        (
            "server",
            s("\"127.0.0.1:8024\"", "8024"),
            "listkeeper.toml",
            Some(5),
            Some("inbound.lmtp"),
            "invalid type",
        ),
        (
            "server",
            s("file:var/mail", "smtp://"),
            "listkeeper.toml",
            Some(8),
            Some("outbound.transport"),
            "not a transport",
        ),
        (
            "server",
            s("listserv@listserv", "listserv at listserv"),
            "listkeeper.toml",
            Some(9),
            Some("outbound.from"),
            "not an email address",
        ),
        (
            "server",
            s("domain = \"listserv.example.gov\"\n", ""),
            "listkeeper.toml",
            None,
            Some("domain"),
            "missing field `domain`",
        ),
        (
            "server",
            s("domain = \"listserv.example.gov\"", "domain = \"gov\""),
            "listkeeper.toml",
            Some(1),
            Some("domain"),
            "at least one dot",
        ),
        (
            "server",
            s(
                "domain = \"listserv.example.gov\"",
                "domain = \"lists.example.invalid\"",
            ),
            "listkeeper.toml",
            Some(1),
            Some("domain"),
            "is a placeholder",
        ),
        (
            "server",
            format!("{SERVER}[confirm]\nexpires = \"a week\"\n"),
            "listkeeper.toml",
            Some(11),
            Some("confirm.expires"),
            "not a duration",
        ),
        (
            "server",
            format!("{SERVER}[limits]\nreplies_per_hour = -1\n"),
            "listkeeper.toml",
            Some(11),
            Some("limits.replies_per_hour"),
            "invalid value",
        ),
        (
            "server",
            format!("{SERVER}[inbound]\n"),
            "listkeeper.toml",
            Some(10),
            None,
            "not valid TOML",
        ),
        (
            "server",
            s("[inbound]", "[inbound"),
            "listkeeper.toml",
            Some(4),
            None,
            "not valid TOML",
        ),
        (
            "list",
            l("subscribe =", "notify = \"weekly\"\nsubscribe ="),
            "list.toml",
            Some(4),
            Some("notify"),
            "use each, daily or none",
        ),
        (
            "list",
            l("subscribe =", "review = \"everyone\"\nsubscribe ="),
            "list.toml",
            Some(4),
            Some("review"),
            "use owners, members or public",
        ),
        (
            "list",
            l("subscribe =", "remind_after = \"soon\"\nsubscribe ="),
            "list.toml",
            Some(4),
            Some("remind_after"),
            "not a duration",
        ),
        (
            "list",
            l("subscribe =", "language = \"Spanish\"\nsubscribe ="),
            "list.toml",
            Some(4),
            Some("language"),
            "BCP 47",
        ),
        (
            "list",
            l("\"sm-cop\"", "\"other\""),
            "list.toml",
            Some(1),
            Some("id"),
            "folder name",
        ),
        (
            "list",
            l(
                "owners = [\"socialgov@example.gov\"]",
                "owners = [\"socialgov@example.gov\", \"nobody\"]",
            ),
            "list.toml",
            Some(3),
            Some("owners[2]"),
            "not an email address",
        ),
        (
            "list",
            l("owners = [\"socialgov@example.gov\"]\n", ""),
            "list.toml",
            None,
            Some("owners"),
            "at least one owner",
        ),
        (
            "list",
            l("\"confirm\"", "\"confirmed\""),
            "list.toml",
            Some(4),
            Some("subscribe"),
            "not a policy",
        ),
        (
            "list",
            l("action = \"allow\"", "action = \"accept\""),
            "list.toml",
            Some(9),
            Some("rule[1].action"),
            "not an action",
        ),
        (
            "list",
            l("\"*.mil\"", "\"*..mil\""),
            "list.toml",
            Some(8),
            Some("rule[1].domain[2]"),
            "empty label",
        ),
        (
            "list",
            format!("{LIST}\n[[rule]]\nregex = \"(unclosed\"\naction = \"reject\"\n"),
            "list.toml",
            Some(12),
            Some("rule[2].regex"),
            "not a valid regex",
        ),
        (
            "list",
            format!("{LIST}\n[[rule]]\naddress = [\"contractor.com\"]\naction = \"reject\"\n"),
            "list.toml",
            Some(12),
            Some("rule[2].address[1]"),
            "needs an `@`",
        ),
        (
            "list",
            format!("{LIST}\n[[rule]]\naction = \"reject\"\n"),
            "list.toml",
            Some(11),
            Some("rule[2]"),
            "at least one of",
        ),
        (
            "list",
            format!("{LIST}\n[[rule]]\ndomian = [\"x.gov\"]\naction = \"reject\"\n"),
            "list.toml",
            Some(12),
            Some("rule[2].domian"),
            "unknown key",
        ),
        (
            "list",
            l("terms = ", "trems = "),
            "list.toml",
            None,
            Some("terms"),
            "missing field `terms`",
        ),
        (
            "server",
            format!("{SERVER}\n[web]\nbase_url = \"ftp://lists.example.gov\"\n"),
            "listkeeper.toml",
            Some(12),
            Some("web.base_url"),
            "must start with https:// or http://",
        ),
        (
            "server",
            format!("{SERVER}\n[web]\nbase_url = \"https://lists.example.gov/?x=1\"\n"),
            "listkeeper.toml",
            Some(12),
            Some("web.base_url"),
            "no query",
        ),
        (
            "server",
            format!("{SERVER}\n[web]\nlisten = \"8025\"\nbase_url = \"https://l.example.gov\"\n"),
            "listkeeper.toml",
            Some(12),
            Some("web.listen"),
            "neither `IP:PORT`",
        ),
        (
            "server",
            format!(
                "{SERVER}\n[web]\nbase_url = \"https://l.example.gov\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n"
            ),
            "listkeeper.toml",
            Some(13),
            Some("web.trusted_proxies[1]"),
            "not an IP address",
        ),
        (
            "server",
            format!(
                "{SERVER}\n[web]\nbase_url = \"https://l.example.gov\"\nmetrics_listen = \"9125\"\n"
            ),
            "listkeeper.toml",
            Some(13),
            Some("web.metrics_listen"),
            "`IP:PORT`",
        ),
    ]
}

#[test]
fn web_is_off_without_its_section_and_on_with_it() {
    let dir = write_config(SERVER, LIST);
    assert_eq!(Config::load(dir.path()).unwrap().server.web, None);
    let on = format!(
        "{SERVER}\n[web]\nbase_url = \"https://lists.example.gov/\"\ntrusted_proxies = [\"::1\"]\n"
    );
    let dir = write_config(&on, LIST);
    let web = Config::load(dir.path()).unwrap().server.web.unwrap();
    assert_eq!(
        web.base_url, "https://lists.example.gov",
        "no trailing slash"
    );
    assert_eq!(web.listen, Listen::Tcp("127.0.0.1:8025".parse().unwrap()));
    assert_eq!(
        web.trusted_proxies,
        vec!["::1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(web.posts_per_client_per_hour, 20);
    assert_eq!(web.metrics_listen, None);
    let dir = write_config(&format!("{on}metrics_listen = \"127.0.0.1:9125\"\n"), LIST);
    let web = Config::load(dir.path()).unwrap().server.web.unwrap();
    assert_eq!(web.metrics_listen, Some("127.0.0.1:9125".parse().unwrap()));
}

#[test]
fn each_broken_file_names_file_line_and_key() {
    for (which, text, file, line, key, words) in cases() {
        let dir = if which == "server" {
            write_config(&text, LIST)
        } else {
            write_config(SERVER, &text)
        };
        let problems = Config::load(dir.path()).expect_err(&text);
        let found = problems.iter().find(|p| p.message.contains(words));
        let Some(p) = found else {
            panic!("no problem says {words:?} for:\n{text}\ngot:\n{problems}");
        };
        assert!(p.file.ends_with(file), "{p}");
        assert_eq!(p.line, line, "line of {p}");
        assert_eq!(p.key.as_deref(), key, "key of {p}");
        assert_eq!(p.severity, Severity::Error);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let server = SERVER
        .replace("state_dir", "stat_dir")
        .replace("[inbound]", "[inbound]\nbogus = 1");
    let list = format!(
        "{}\n[[rule]]\ndomain = [\"..\"]\naction = \"maybe\"\n",
        LIST.replace("\"confirm\"", "\"sometimes\"")
    );
    let dir = write_config(&server, &list);
    let problems = Config::load(dir.path()).unwrap_err();
    let text = problems.to_string();
    for words in [
        "stat_dir",
        "inbound.bogus",
        "missing field `state_dir`",
        "subscribe",
        "rule[2].domain[1]",
        "rule[2].action",
    ] {
        assert!(text.contains(words), "{words:?} missing from:\n{text}");
    }
    assert!(problems.error_count() >= 6, "{text}");
}

#[test]
fn a_good_config_loads_with_paths_resolved() {
    let dir = write_config(SERVER, LIST);
    let config = Config::load(dir.path()).unwrap();
    assert_eq!(config.server.state_dir, dir.path().join("var"));
    assert_eq!(
        config.server.outbound.transport,
        Transport::File(dir.path().join("var/mail"))
    );
    assert_eq!(config.server.inbound.max_message_size, 1024 * 1024);
    assert_eq!(
        config.server.confirm.expires,
        Duration::from_secs(7 * 86400)
    );
    assert_eq!(
        config.server.confirm.secret_file,
        dir.path().join("var/secret")
    );
    let list = config.list("SM-COP").unwrap();
    assert_eq!(list.rules.len(), 1);
    assert_eq!(list.rules[0].line, 7);
    assert_eq!(list.unsubscribe, UnsubscribePolicy::Confirm);
}

#[test]
fn list_ids_cannot_escape_their_folder() {
    for bad in ["../etc", ".hidden", "a/b", "", "-x", "a..b"] {
        assert!(ListId::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(ListId::parse("SM-COP").unwrap().as_str(), "sm-cop");
}

#[test]
fn transports_and_sizes_parse() {
    let dir = write_config(SERVER, LIST);
    let (_, f) = file::read::<raw::RawServer>(
        &dir.path().join("listkeeper.toml"),
        &mut Problems::default(),
    )
    .unwrap();
    assert_eq!(
        parse_transport("smtp://mx.example.gov", &f),
        Ok(Transport::Smtp {
            host: "mx.example.gov".into(),
            port: 25
        })
    );
    assert_eq!(
        parse_transport("smtps://[::1]:465", &f),
        Ok(Transport::Smtps {
            host: "::1".into(),
            port: 465
        })
    );
    assert!(parse_transport("http://x", &f).is_err());
    assert_eq!(parse_size("500 kB"), Ok(500_000));
    assert!(parse_size("lots").is_err());
}
