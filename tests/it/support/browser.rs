//! The browser harness: a real Chromium driven over WebDriver (`fantoccini` talking to
//! `chromedriver`), axe-core injected into the page it shows, and `serve` on a copy of
//! the example configuration with its pages on a free port.
//!
//! One chromedriver serves the whole test binary: the first [`Browser::start`] starts
//! it (on a port it picks itself), the last browser to close stops it. Each browser is
//! a fresh headless Chromium with a profile of its own, started with the flags that
//! keep it off the network (this machine has none, and Chromium stalls looking for it).
//!
//! A test that needs another page checked only opens it and calls [`accessible`]:
//!
//! ```ignore
//! let Some(browser) = Browser::start().await else { return };
//! let site = WebSite::start();
//! browser.run(async move |page| {
//!     page.goto(&site.url("/u/TOKEN")).await.unwrap();
//!     accessible(&page, "the one-click page").await;
//! }).await;
//! ```

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::{BIN, copy_example, repo, required};

/// What links in mail start with in [`WebSite`]: no port, since the pages listen on a
/// port the system picks (a test opens the path after it at [`WebSite::url`]).
pub const MAIL_BASE: &str = "http://lists.test";

/// Chromium's flags: headless, and nothing that reaches for the network or a GPU.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1024,900",
];

/// The WCAG 2.1 AA rules of axe-core, and nothing else.
const AXE_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// The shared chromedriver: how many browsers use it, the process and its URL.
struct Shared {
    users: usize,
    driver: Option<(Child, String)>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    users: 0,
    driver: None,
});

/// A headless Chromium session of its own, on the shared chromedriver.
pub struct Browser {
    client: Client,
    _profile: tempfile::TempDir,
    _lease: Lease,
}

impl Browser {
    /// A new browser, or `None` (the test is skipped, loudly) when chromium,
    /// chromedriver or axe-core is not installed and `CI` is unset; under `CI` their
    /// absence fails the test.
    pub async fn start() -> Option<Browser> {
        let chromium = program("chromium");
        let here = chromium.is_some() && program("chromedriver").is_some();
        if !required(
            here,
            "chromium and chromedriver (apt-get install chromium chromium-driver)",
        ) || !required(
            axe_file().is_file(),
            "axe-core (npm ci in tests/browser, as .ci/run does)",
        ) {
            return None;
        }
        let lease = Lease::take();
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "goog:chromeOptions": { "binary": chromium.unwrap(), "args": args },
        });
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&lease.url)
            .await
            .expect("a chromium session");
        Some(Browser {
            client,
            _profile: profile,
            _lease: lease,
        })
    }

    /// Runs `flow` with the browser, then closes it, whether `flow` passed or
    /// panicked (the panic goes on after the browser is closed).
    pub async fn run<Flow, Fut>(self, flow: Flow)
    where
        Flow: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let result = tokio::spawn(flow(self.client.clone())).await;
        let _ = self.client.clone().close().await;
        drop(self);
        if let Err(e) = result {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("the browser flow did not finish: {e}"),
            }
        }
    }
}

/// A use of the shared chromedriver: the first starts it, the last stops it.
struct Lease {
    url: String,
}

impl Lease {
    fn take() -> Lease {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if shared.driver.is_none() {
            shared.driver = Some(start_chromedriver());
        }
        shared.users += 1;
        let url = shared.driver.as_ref().unwrap().1.clone();
        Lease { url }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        shared.users -= 1;
        if shared.users == 0
            && let Some((mut child, _)) = shared.driver.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts chromedriver on a port it picks (`--port=0`) and reads which from the line
/// it prints once it listens; the rest of its output is drained in the background.
fn start_chromedriver() -> (Child, String) {
    let mut child = Command::new("chromedriver")
        .args(["--port=0", "--log-level=WARNING"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("chromedriver starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(port) = line.split("started successfully on port ").nth(1) {
                let _ = tx.send(port.trim_end_matches('.').trim().to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(port) => (child, format!("http://127.0.0.1:{port}")),
        Err(_) => {
            let _ = child.kill();
            panic!("chromedriver did not say which port it listens on");
        }
    }
}

/// Runs axe-core's WCAG 2.1 A and AA rules on the page shown and fails, listing every
/// violation with the elements at fault, unless there are none.
pub async fn accessible(page: &Client, what: &str) {
    let violations = axe(page).await;
    if violations.is_empty() {
        return;
    }
    let url = page.current_url().await.map(|u| u.to_string());
    let mut report = format!(
        "{what} ({}): WCAG 2.1 AA violations:\n",
        url.unwrap_or_default()
    );
    for v in &violations {
        report.push_str(&format!("- {} ({}): {}\n", v["id"], v["impact"], v["help"]));
        for node in v["nodes"].as_array().into_iter().flatten() {
            report.push_str(&format!("    at {}: {}\n", node["target"], node["summary"]));
        }
    }
    panic!("{report}");
}

/// axe-core's violations on the page shown (after injecting it, once per page).
pub async fn axe(page: &Client) -> Vec<Value> {
    let source = std::fs::read_to_string(axe_file()).unwrap();
    page.execute(&source, vec![]).await.expect("axe-core loads");
    let run = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, {
            runOnly: { type: "tag", values: arguments[0] },
            resultTypes: ["violations"],
        }).then(
            (r) => done(r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
            }))),
            (e) => done({ error: String(e) }),
        );
    "#;
    let found = page
        .execute_async(run, vec![json!(AXE_TAGS)])
        .await
        .expect("axe-core runs");
    match found {
        Value::Array(violations) => violations,
        other => panic!("axe-core failed: {other}"),
    }
}

/// The text of the first element that `css` selects.
pub async fn text_of(page: &Client, css: &str) -> String {
    let element = page.wait().for_element(fantoccini::Locator::Css(css)).await;
    element.unwrap().text().await.unwrap()
}

fn axe_file() -> PathBuf {
    repo().join("tests/browser/node_modules/axe-core/axe.min.js")
}

/// `name` on `PATH`, as a full path.
pub fn program(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// `serve` on its own copy of the example configuration, with LMTP and the pages
/// on free ports and replies written by the `file:` transport.
pub struct WebSite {
    child: Child,
    pub tmp: tempfile::TempDir,
    base: String,
}

impl WebSite {
    /// Starts `serve` and waits until its pages listen.
    pub fn start() -> WebSite {
        let tmp = tempfile::tempdir().unwrap();
        copy_example(&tmp.path().join("config"));
        let file = tmp.path().join("config/listkeeper.toml");
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("127.0.0.1:8024", "127.0.0.1:0")
            .replace(
                "base_url = \"http://127.0.0.1:8025\"",
                &format!("base_url = \"{MAIL_BASE}\""),
            );
        assert!(text.contains(MAIL_BASE), "the example config has [web]");
        std::fs::write(&file, text).unwrap();
        let log = std::fs::File::create(tmp.path().join("serve.log")).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(tmp.path().join("config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut site = WebSite {
            child,
            tmp,
            base: String::new(),
        };
        let start = Instant::now();
        site.base = loop {
            let log = site.log();
            if let Some(rest) = log.split("serving the web pages address=").nth(1) {
                break format!("http://{}", rest.split_whitespace().next().unwrap());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "serve did not start: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        site
    }

    /// The address of `path` on the running pages.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("serve.log")).unwrap_or_default()
    }

    pub fn config(&self) -> PathBuf {
        self.tmp.path().join("config")
    }

    pub fn roster(&self) -> String {
        std::fs::read_to_string(self.config().join("lists/sm-cop/roster.toml")).unwrap()
    }

    /// The mails the `file:` transport wrote.
    pub fn mails(&self) -> Vec<String> {
        super::files_in(&self.tmp.path().join("var/outbox-mail"))
    }

    /// Waits (up to 10 s) for a mail to `to` with a `/confirm/` link, and returns the
    /// link's path.
    pub async fn confirm_link(&self, to: &str) -> String {
        let start = Instant::now();
        loop {
            let found = (self.mails().iter())
                .filter(|m| m.contains(to))
                .find_map(|m| link_path(m));
            if let Some(path) = found {
                return path;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no confirmation mail to {to}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits (up to 10 s) until `ok(roster.toml)`; the saver writes it moments after
    /// the change is durable.
    pub async fn roster_until(&self, ok: impl Fn(&str) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if ok(&self.roster()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        ok(&self.roster())
    }
}

impl Drop for WebSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of the `/confirm/TOKEN` link in a mail.
fn link_path(mail: &str) -> Option<String> {
    let at = mail.find(&format!("{MAIL_BASE}/confirm/"))? + MAIL_BASE.len();
    let link = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
        .collect();
    Some(link)
}
