//! The web side through the binary: `serve` on a copy of the example `config/`, its
//! pages and forms over HTTP on 127.0.0.1 (a port the test picks), the confirmation
//! mail in the `file:` transport's folder, the roster and the audit log on disk.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BIN, copy_example};

/// What links in mail start with: no port, since the pages listen on a port the
/// system picks (the tests take the path after it).
const BASE: &str = "http://lists.test";

/// A running `serve` on its own copy of the example configuration.
struct Server {
    child: Child,
    tmp: tempfile::TempDir,
    base: String,
}

impl Server {
    /// Starts `serve` with `[web]` on a free port; `edit` may change listkeeper.toml.
    fn start(edit: impl FnOnce(String) -> String) -> Server {
        Server::start_with(edit, |_| {})
    }

    /// As `start`, with `prepare` given the config folder first.
    fn start_with(
        edit: impl FnOnce(String) -> String,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        copy_example(&tmp.path().join("config"));
        prepare(&tmp.path().join("config"));
        let file = tmp.path().join("config/listkeeper.toml");
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("127.0.0.1:8024", "127.0.0.1:0")
            .replace(
                "base_url = \"http://127.0.0.1:8025\"",
                &format!("base_url = \"{BASE}\""),
            );
        assert!(
            text.contains(BASE),
            "the example config has a [web] section"
        );
        std::fs::write(&file, edit(text)).unwrap();
        let log = std::fs::File::create(tmp.path().join("serve.log")).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(tmp.path().join("config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            tmp,
            base: String::new(),
        };
        // The address the pages listen on, from the line serve logs once bound.
        let start = Instant::now();
        let at = loop {
            let log = server.log();
            if let Some(rest) = log.split("serving the web pages address=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "serve did not start: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server.base = format!("http://{at}");
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("serve.log")).unwrap_or_default()
    }

    fn roster(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("config/lists/sm-cop/roster.toml")).unwrap()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("var/state/audit.log")).unwrap_or_default()
    }

    /// The mails the `file:` transport wrote, as text.
    fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.tmp.path().join("var/outbox-mail")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }

    fn get(&self, path: &str) -> Answer {
        answer(agent().get(format!("{}{path}", self.base)).call().unwrap())
    }

    fn get_in(&self, path: &str, accept_language: &str) -> Answer {
        let request = agent().get(format!("{}{path}", self.base));
        answer(
            request
                .header("Accept-Language", accept_language)
                .call()
                .unwrap(),
        )
    }

    fn post(&self, path: &str, form: &[(&str, &str)], forwarded: Option<&str>) -> Answer {
        let mut request = agent().post(format!("{}{path}", self.base));
        if let Some(ip) = forwarded {
            request = request.header("X-Forwarded-For", ip);
        }
        answer(request.send_form(form.iter().copied()).unwrap())
    }

    /// A fresh form stamp from the list's page, old enough to be taken (over 2 s).
    fn aged_stamp(&self) -> String {
        let stamp = stamp_of(&self.get("/lists/sm-cop").body);
        std::thread::sleep(Duration::from_millis(2100));
        stamp
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let headers = (response.headers().iter())
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.body_mut().read_to_string().unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

fn stamp_of(page: &str) -> String {
    let at = page.find("name=\"stamp\" value=\"").expect("a stamp") + 20;
    page[at..].split('"').next().unwrap().to_owned()
}

/// The `/confirm/TOKEN` link in a mail, and its token.
fn link_of(mail: &str, base: &str) -> (String, String) {
    let at = mail
        .find(&format!("{base}/confirm/"))
        .expect("a confirm link");
    let link: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":/._-".contains(*c))
        .collect();
    let token = link.rsplit('/').next().unwrap().to_owned();
    (link[base.len()..].to_owned(), token)
}

fn eventually(mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

#[test]
fn pages_list_the_lists_escaped_with_security_headers() {
    let server = Server::start(|t| t);
    let list = server.tmp.path().join("config/lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    let title = text
        .lines()
        .find(|l| l.starts_with("title"))
        .unwrap()
        .to_owned();
    std::fs::write(
        &list,
        text.replace(&title, "title = \"Tips & <script>alert(1)</script>\""),
    )
    .unwrap();
    // The daemon reloads a changed list.toml by itself.
    assert!(
        eventually(|| server.get("/").body.contains("Tips &amp;")),
        "{}",
        server.log()
    );
    for path in ["/", "/lists/sm-cop", "/lists/SM-COP"] {
        let page = server.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(
            page.body.contains("&lt;script&gt;"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("<script"), "{path}");
        assert!(
            page.body
                .contains("sm-cop-subscribe-request@listserv.example.gov")
        );
        assert!(page.body.contains("Members: 5") || page.body.contains("<dd>5</dd>"));
        let csp = page.header("content-security-policy").unwrap();
        for part in [
            "default-src 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
    let list_page = server.get("/lists/sm-cop").body;
    for label in [
        "for=\"subscribe-address\"",
        "for=\"subscribe-name\"",
        "for=\"unsubscribe-address\"",
    ] {
        assert!(list_page.contains(label), "every input has its label");
    }
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/style.css").status, 200);
    let missing = server.get("/lists/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-frame-options"), Some("DENY"));
}

#[test]
fn subscribe_by_form_then_confirm_by_the_link_in_the_mail() {
    let server = Server::start(|t| t);
    let stamp = server.aged_stamp();
    let sent = server.post(
        "/lists/sm-cop/subscribe",
        &[
            ("address", "new.person@agency.gov"),
            ("name", "New Person"),
            ("website", ""),
            ("stamp", &stamp),
        ],
        None,
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("Check your mail"));
    // The confirmation mail, even though the policy would add at once by mail for an
    // open list: here the list confirms, and the web always does.
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let mail = server.mails().remove(0);
    assert!(mail.contains("new.person@agency.gov"));
    let (path, token) = link_of(&mail, BASE);
    assert!(
        mail.contains(&format!("sm-cop-confirm+{token}@")),
        "the reply path too"
    );

    // A GET (a link scanner) shows the button and changes nothing.
    let (roster, audit) = (server.roster(), server.audit());
    let shown = server.get(&path);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("new.person@agency.gov"));
    assert!(shown.body.contains("<button type=\"submit\">"));
    assert!(shown.body.contains("method=\"post\""));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.roster(), roster, "a GET changes no roster");
    assert_eq!(server.audit(), audit, "a GET writes no audit line");
    assert!(!server.roster().contains("new.person@agency.gov"));

    // The button carries it out.
    let done = agent()
        .post(format!("{}{path}", server.base))
        .send_empty()
        .map(answer)
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Welcome to SM-COP"), "{}", done.body);
    assert!(
        eventually(|| server.roster().contains("\"new.person@agency.gov\"")),
        "{}",
        server.roster()
    );
    assert!(server.roster().contains("New Person"));
    // Used once: the link is good no more.
    assert_eq!(server.get(&path).status, 404);
    assert!(eventually(|| server.mails().len() == 2), "a welcome");
    // The audit log has the web request (with its client) and the token's result.
    let audit = server.audit();
    assert!(audit.contains("\"via\":\"web\""), "{audit}");
    assert!(audit.contains("\"client\":\"127.0.0.1\""), "{audit}");
    assert!(audit.contains("\"action\":\"confirm\""), "{audit}");
    // No token in any log.
    assert!(!server.log().contains(&token), "{}", server.log());
    assert!(!audit.contains(&token));
    assert!(server.log().contains("/confirm/…"), "{}", server.log());
}

#[test]
fn bots_are_refused_and_nothing_is_sent() {
    let server = Server::start(|t| t);
    let page = server.get("/lists/sm-cop").body;
    let fresh = stamp_of(&page);
    fn form<'a>(website: &'a str, stamp: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("address", "bot.target@agency.gov"),
            ("website", website),
            ("stamp", stamp),
        ]
    }
    // At once after the page: too fast for a person.
    let fast = server.post("/lists/sm-cop/subscribe", &form("", &fresh), None);
    assert_eq!(fast.status, 400);
    assert!(fast.body.contains("Too fast"), "{}", fast.body);
    std::thread::sleep(Duration::from_millis(2100));
    // The honeypot filled in.
    let honey = server.post(
        "/lists/sm-cop/subscribe",
        &form("http://spam", &fresh),
        None,
    );
    assert_eq!(honey.status, 400);
    assert!(honey.body.contains("Form refused"), "{}", honey.body);
    // A stamp made up, or one whose time was moved back.
    let made = fresh.split('.').next().unwrap();
    let moved = {
        let mut parts: Vec<&str> = fresh.split('.').collect();
        let old = (parts[1].parse::<u64>().unwrap() - 60_000).to_string();
        parts[1] = &old;
        parts.join(".")
    };
    for forged in [format!("{made}.1.aaaaaaaaaaaaaaaa"), moved, String::new()] {
        let answer = server.post("/lists/sm-cop/unsubscribe", &form("", &forged), None);
        assert_eq!(answer.status, 400, "{forged}");
        assert!(
            answer.body.contains("Form not recognised"),
            "{}",
            answer.body
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.mails().is_empty(), "nothing sent to a bot's target");
    assert!(!server.audit().contains("bot.target"), "nothing decided");
    // The same stamp, untouched, is good.
    let good = server.post("/lists/sm-cop/subscribe", &form("", &fresh), None);
    assert_eq!(good.status, 200, "{}", good.body);
}

#[test]
fn the_page_is_the_same_for_a_member_and_a_non_member() {
    let server = Server::start(|t| t);
    let stamp = server.aged_stamp();
    for path in ["/lists/sm-cop/subscribe", "/lists/sm-cop/unsubscribe"] {
        let ask = |address| {
            server.post(
                path,
                &[
                    ("address", address),
                    ("name", ""),
                    ("website", ""),
                    ("stamp", &stamp),
                ],
                None,
            )
        };
        let member = ask("jane.doe@agency.gov");
        let stranger = ask("no.one@agency.gov");
        assert_eq!(member.status, 200, "{}", member.body);
        assert_eq!(member.status, stranger.status);
        assert_eq!(member.body, stranger.body, "{path}: a membership oracle");
    }
    // Each address was told by mail, where only its owner reads it.
    assert!(
        eventually(|| server.mails().len() == 4),
        "{}",
        server.mails().len()
    );
}

#[test]
fn a_client_over_its_budget_is_refused() {
    let server = Server::start(|t| {
        t.replace(
            "posts_per_client_per_hour = 20",
            "posts_per_client_per_hour = 2",
        )
    });
    let stamp = server.aged_stamp();
    let post = |address: &str, client| {
        server.post(
            "/lists/sm-cop/subscribe",
            &[("address", address), ("website", ""), ("stamp", &stamp)],
            Some(client),
        )
    };
    // The example trusts 127.0.0.1, the test's own address: its X-Forwarded-For names
    // the client.
    assert_eq!(post("a1@agency.gov", "203.0.113.5").status, 200);
    assert_eq!(post("a2@agency.gov", "203.0.113.5").status, 200);
    let over = post("a3@agency.gov", "203.0.113.5");
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.header("retry-after"), Some("3600"));
    assert!(over.body.contains("Too many requests"));
    assert_eq!(
        post("b1@agency.gov", "203.0.113.6").status,
        200,
        "another client"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !server.audit().contains("a3@agency.gov"),
        "the refused post decided nothing"
    );
    assert!(server.audit().contains("\"client\":\"203.0.113.5\""));
}

/// A form proves nothing: on a list whose policy adds at once by mail (`open`), a
/// web request still waits for the address to confirm.
#[test]
fn an_open_list_still_confirms_a_form() {
    let server = Server::start(|t| t);
    let list = server.tmp.path().join("config/lists/sm-cop/list.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(
        &list,
        text.replace("subscribe = \"confirm\"", "subscribe = \"open\""),
    )
    .unwrap();
    assert!(
        eventually(|| server.log().contains("reloaded")),
        "{}",
        server.log()
    );
    let stamp = server.aged_stamp();
    let sent = server.post(
        "/lists/sm-cop/subscribe",
        &[
            ("address", "open.door@agency.gov"),
            ("website", ""),
            ("stamp", &stamp),
        ],
        None,
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(eventually(|| server.mails().len() == 1));
    let mail = server.mails().remove(0);
    assert!(
        mail.contains("/confirm/"),
        "a confirmation, not a welcome: {mail}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!server.roster().contains("open.door@agency.gov"));
}

/// A Spanish list's pages are in Spanish, `<html lang="es">`, with its
/// `templates/es/` page overriding the built-in one; the mail and the member line
/// follow (issue 17, part 6).
#[test]
fn a_spanish_list_has_spanish_pages() {
    let server = Server::start_with(
        |t| t,
        |config| {
            let list = config.join("lists/sm-cop/list.toml");
            let text = std::fs::read_to_string(&list).unwrap();
            std::fs::write(
                &list,
                text.replace("id = \"sm-cop\"", "id = \"sm-cop\"\nlanguage = \"es\""),
            )
            .unwrap();
            let es = config.join("lists/sm-cop/templates/es");
            std::fs::create_dir_all(&es).unwrap();
            std::fs::write(
                es.join("sent.html"),
                "{% extends \"layout.html\" %}{% block main %}<p>Propia: revise su correo, {{ list.name }}.</p>{% endblock %}",
            )
            .unwrap();
        },
    );
    let page = server.get("/lists/sm-cop");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<html lang=\"es\">"), "{}", page.body);
    assert!(
        page.body.contains("<h2>Suscribirse a SM-COP</h2>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<button type=\"submit\">Darse de baja</button>")
    );
    let stamp = server.aged_stamp();
    let sent = server.post(
        "/lists/sm-cop/subscribe",
        &[
            ("address", "ana@agency.gov"),
            ("name", ""),
            ("website", ""),
            ("stamp", &stamp),
        ],
        None,
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains("Propia: revise su correo, SM-COP."),
        "{}",
        sent.body
    );
    assert!(
        sent.body.contains("<html lang=\"es\">"),
        "the built-in Spanish layout"
    );
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let mail = server.mails().remove(0);
    assert!(mail.contains("Subject: Confirme su "), "{mail}");
    let (path, _) = link_of(&mail, BASE);
    let shown = server.get(&path);
    assert!(
        shown.body.contains("Confirmar la suscripción"),
        "{}",
        shown.body
    );
    let done = agent()
        .post(format!("{}{path}", server.base))
        .send_empty()
        .map(answer)
        .unwrap();
    assert!(
        done.body.contains("Le damos la bienvenida a SM-COP"),
        "{}",
        done.body
    );
    assert!(
        eventually(|| server.roster().contains("request = \"web:127.0.0.1\"")),
        "{}",
        server.roster()
    );
    assert!(
        server.roster().contains("lang = \"es\""),
        "{}",
        server.roster()
    );
    // A page about no list stays English.
    assert!(server.get("/nowhere").body.contains("<html lang=\"en\">"));
}

/// A `SET` confirmation's link shows its page (the owners' commands' tokens, which
/// are OK'd by mail only, are the ones the page turns away), and a Spanish list's
/// member links have Spanish pages.
#[test]
fn a_set_confirmation_link_and_the_member_links_on_a_spanish_list() {
    let server = Server::start_with(
        |t| t,
        |config| {
            let list = config.join("lists/sm-cop/list.toml");
            let text = std::fs::read_to_string(&list).unwrap();
            let text = text.replace("id = \"sm-cop\"", "id = \"sm-cop\"\nlanguage = \"es\"");
            std::fs::write(&list, text).unwrap();
        },
    );
    let config = server.tmp.path().join("config");
    let mut deliver = Command::new(BIN)
        .args(["deliver", "--to", "sm-cop-request@listserv.example.gov"])
        .args(["--from", "jane.doe@agency.gov", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let message = "From: jane.doe@agency.gov\r\nSubject: set sm-cop nomail until 2099-01-15\r\nMessage-ID: <w1@x>\r\n\r\n\r\n";
    std::io::Write::write_all(deliver.stdin.as_mut().unwrap(), message.as_bytes()).unwrap();
    assert!(deliver.wait().unwrap().success());
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let (path, _) = link_of(&server.mails().remove(0), BASE);
    let shown = server.get(&path);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown
            .body
            .contains("recibirá de la lista SM-COP: ningún mensaje (nomail), hasta el 2099-01-15."),
        "{}",
        shown.body
    );

    let link = Command::new(BIN)
        .args([
            "unsubscribe-link",
            "sm-cop",
            "jane.doe@agency.gov",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    let link = String::from_utf8(link.stdout).unwrap();
    let at = link.find("/u/").expect("a /u/ link");
    let leave: String = (link[at..].chars())
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();
    let page = server.get(&leave);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<html lang=\"es\">"), "{}", page.body);
    assert!(
        page.body
            .contains("<button type=\"submit\">Darse de baja</button>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Todavía no se ha hecho ningún cambio"));
}

/// Issue 15: the delivery form.
mod set;

/// Issue 15: the per-client form budget across a reload.
mod budget;

/// An `ERASE` token is redeemed by mail only: its page and its POST are a bad link,
/// and nothing is erased.
#[test]
fn an_erase_token_does_nothing_on_the_web() {
    let server = Server::start(|t| t);
    let config = server.tmp.path().join("config");
    let mut deliver = Command::new(BIN)
        .args(["deliver", "--to", "sm-cop-request@listserv.example.gov"])
        .args(["--from", "jane.doe@agency.gov", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let message = "From: jane.doe@agency.gov\r\nSubject: erase\r\nMessage-ID: <we1@x>\r\n\r\n\r\n";
    std::io::Write::write_all(deliver.stdin.as_mut().unwrap(), message.as_bytes()).unwrap();
    assert!(deliver.wait().unwrap().success());
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let token = crate::support::token_of(&server.mails().remove(0));
    let path = format!("/confirm/{token}");
    assert_eq!(server.get(&path).status, 404);
    assert_eq!(server.post(&path, &[], None).status, 404);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.roster().contains("jane.doe@agency.gov"));
    assert!(!server.audit().contains("\"erased\""), "{}", server.audit());
}

/// Pages about no list (the index, a 404) speak the visitor's language, by their
/// `Accept-Language`; a list's page speaks the list's, whatever the visitor asks.
#[test]
fn pages_about_no_list_follow_the_visitors_accept_language() {
    let server = Server::start(|t| t);
    let index = server.get_in("/", "es-MX,es;q=0.9,en;q=0.8");
    assert_eq!(index.status, 200);
    // A cache in front keeps one copy a language.
    assert_eq!(index.header("vary"), Some("accept-language"));
    assert!(index.body.contains("<html lang=\"es\">"), "{}", index.body);
    assert!(
        index.body.contains("<h1>Listas de correo</h1>"),
        "{}",
        index.body
    );
    let english = server.get_in("/", "en-US,en;q=0.9,es;q=0.5");
    assert!(
        english.body.contains("<h1>Mailing lists</h1>"),
        "{}",
        english.body
    );
    let missing = server.get_in("/lists/no-such-list", "es");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Página no encontrada"),
        "{}",
        missing.body
    );
    let elsewhere = server.get_in("/nowhere", "fr, es;q=0.3");
    assert_eq!(elsewhere.status, 404);
    assert!(
        elsewhere.body.contains("<html lang=\"es\">"),
        "{}",
        elsewhere.body
    );
    // The example list is English: its page stays so.
    let list = server.get_in("/lists/sm-cop", "es");
    assert!(list.body.contains("<html lang=\"en\">"), "{}", list.body);
}
