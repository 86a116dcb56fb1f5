//! The web pages in a real browser: headless Chromium over WebDriver follows the links,
//! fills in and sends the forms and presses the confirmation button as a person would,
//! with axe-core checking every page it reaches against WCAG 2.1 AA; and the list page
//! in a text browser (lynx). The harness is `support::browser`.
//!
//! Without chromium, chromedriver, axe-core or lynx the tests say SKIPPED, except under
//! `CI`, where they fail: `.ci/run` installs them.

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};

use crate::support::browser::{Browser, WebSite, accessible, axe, program, text_of};
use crate::support::required;

/// A little over the form stamp's minimum age (2 s): a person takes longer than that
/// to fill in a form, and the server refuses one sent back sooner.
const FORM_MIN_AGE: Duration = Duration::from_millis(2_100);

#[tokio::test]
async fn subscribe_in_a_browser_then_confirm_by_the_button() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            page.goto(&site.url("/")).await.unwrap();
            assert_eq!(text_of(&page, "h1").await, "Mailing lists");
            accessible(&page, "the index").await;
            page.find(Locator::LinkText("SM-COP"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            list_page(&page).await;
            tab_order(&page).await;

            fill(&page, "#subscribe-address", "new.person@agency.gov").await;
            fill(&page, "#subscribe-name", "New Person").await;
            tokio::time::sleep(FORM_MIN_AGE).await;
            press(&page, "form[action$='/subscribe'] button").await;
            assert_eq!(text_of(&page, "h1").await, "Check your mail");
            accessible(&page, "the page after the subscribe form").await;

            let link = site.confirm_link("new.person@agency.gov").await;
            let before = site.roster();
            page.goto(&site.url(&link)).await.unwrap();
            assert_eq!(text_of(&page, "h1").await, "Join SM-COP");
            assert_eq!(
                text_of(&page, "main button").await,
                "Confirm: join the list"
            );
            accessible(&page, "the confirmation page").await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(site.roster(), before, "opening the link changes nothing");

            press(&page, "main button").await;
            assert_eq!(text_of(&page, "h1").await, "Welcome to SM-COP");
            accessible(&page, "the page after confirming").await;
            let joined = site
                .roster_until(|r| r.contains("\"new.person@agency.gov\" = { name = \"New Person\""))
                .await;
            assert!(joined, "{}", site.roster());
        })
        .await;
}

#[tokio::test]
async fn unsubscribe_in_a_browser_then_confirm_by_the_button() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            page.goto(&site.url("/lists/sm-cop")).await.unwrap();
            list_page(&page).await;
            fill(&page, "#unsubscribe-address", "jane.doe@agency.gov").await;
            tokio::time::sleep(FORM_MIN_AGE).await;
            press(&page, "form[action$='/unsubscribe'] button").await;
            assert_eq!(text_of(&page, "h1").await, "Check your mail");
            accessible(&page, "the page after the unsubscribe form").await;

            let link = site.confirm_link("jane.doe@agency.gov").await;
            page.goto(&site.url(&link)).await.unwrap();
            assert_eq!(text_of(&page, "h1").await, "Leave SM-COP");
            accessible(&page, "the confirmation page (leave)").await;
            assert!(site.roster().contains("\"jane.doe@agency.gov\""));

            press(&page, "main button").await;
            assert_eq!(text_of(&page, "h1").await, "You have left SM-COP");
            accessible(&page, "the page after leaving").await;
            let left = site
                .roster_until(|r| !r.contains("jane.doe@agency.gov"))
                .await;
            assert!(left, "{}", site.roster());

            // The link is used up: the same button now meets the bad-link page.
            page.goto(&site.url(&link)).await.unwrap();
            assert_eq!(
                text_of(&page, "h1").await,
                "This link is not valid (any more)"
            );
        })
        .await;
}

/// The delivery form (issue 15): nomail for a member, confirmed by the button.
#[tokio::test]
async fn nomail_in_a_browser_then_confirm_by_the_button() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            page.goto(&site.url("/lists/sm-cop")).await.unwrap();
            list_page(&page).await;
            fill(&page, "#set-address", "jane.doe@agency.gov").await;
            page.find(Locator::Css("label[for='set-nomail']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            tokio::time::sleep(FORM_MIN_AGE).await;
            press(&page, "form[action$='/set'] button").await;
            assert_eq!(text_of(&page, "h1").await, "Check your mail");
            accessible(&page, "the page after the delivery form").await;

            let link = site.confirm_link("jane.doe@agency.gov").await;
            page.goto(&site.url(&link)).await.unwrap();
            assert_eq!(text_of(&page, "h1").await, "Delivery from SM-COP");
            accessible(&page, "the confirmation page (delivery)").await;
            assert!(!site.roster().contains("nomail"), "nothing yet");

            press(&page, "main button").await;
            assert_eq!(text_of(&page, "h1").await, "Delivery from SM-COP changed");
            accessible(&page, "the page after changing delivery").await;
            let set = site.roster_until(|r| r.contains("mode = \"nomail\"")).await;
            assert!(set, "{}", site.roster());
        })
        .await;
}

/// A member's one-click link (as in List-Unsubscribe) and the goodbye's undo link, as
/// a person meets them: each opens a page with one button that changes nothing until
/// pressed, every page passes axe, and each button does what it says.
#[tokio::test]
async fn the_member_links_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    let out = std::process::Command::new(crate::support::BIN)
        .args([
            "unsubscribe-link",
            "sm-cop",
            "jane.doe@agency.gov",
            "--config",
        ])
        .arg(site.config())
        .output()
        .unwrap();
    let headers = String::from_utf8(out.stdout).unwrap();
    let leave = path_after(&headers, "/u/").expect("a /u/ link");
    browser
        .run(async move |page| {
            page.goto(&site.url(&leave)).await.unwrap();
            accessible(&page, "the one-click page").await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(
                site.roster().contains("\"jane.doe@agency.gov\""),
                "opening the link changes nothing"
            );
            press(&page, "main button").await;
            accessible(&page, "the page after leaving by the link").await;
            let left = site
                .roster_until(|r| !r.contains("jane.doe@agency.gov"))
                .await;
            assert!(left, "{}", site.roster());

            let undo = undo_link(&site).await;
            page.goto(&site.url(&undo)).await.unwrap();
            accessible(&page, "the undo page").await;
            press(&page, "main button").await;
            accessible(&page, "the page after undoing").await;
            let back = site
                .roster_until(|r| r.contains("\"jane.doe@agency.gov\""))
                .await;
            assert!(back, "{}", site.roster());
        })
        .await;
}

/// The path from `start` on in `text` (a link's token), if there is one.
fn path_after(text: &str, start: &str) -> Option<String> {
    let at = text.find(start)?;
    Some(
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect(),
    )
}

/// The undo link of the goodbye mail (quoted-printable soft breaks undone).
async fn undo_link(site: &WebSite) -> String {
    for _ in 0..200 {
        let found = (site.mails().iter())
            .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
            .find_map(|m| path_after(&m, "/undo/"));
        if let Some(path) = found {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no goodbye with an undo link: {}", site.log());
}

/// The pages that say something went wrong, which people meet too.
#[tokio::test]
async fn the_pages_for_mistakes_are_accessible() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            // First, that axe sees what is wrong when something is.
            let bad = "data:text/html,<title>t</title><img src=x.png><input>";
            page.goto(bad).await.unwrap();
            let found: Vec<String> = (axe(&page).await.iter())
                .map(|v| v["id"].as_str().unwrap().to_owned())
                .collect();
            for rule in ["html-has-lang", "image-alt", "label"] {
                assert!(found.iter().any(|id| id == rule), "{rule} in {found:?}");
            }
            let token_shaped = format!("/confirm/k1{}", "a".repeat(32));
            for (path, heading) in [
                ("/no/such/page", "Page not found"),
                ("/lists/nope", "Page not found"),
                (token_shaped.as_str(), "This link is not valid (any more)"),
                ("/confirm/not-a-token", "This link is not valid (any more)"),
            ] {
                page.goto(&site.url(path)).await.unwrap();
                assert_eq!(text_of(&page, "h1").await, heading, "{path}");
                accessible(&page, path).await;
            }
            // A form sent back at once: a program's speed.
            page.goto(&site.url("/lists/sm-cop")).await.unwrap();
            fill(&page, "#unsubscribe-address", "quick@agency.gov").await;
            press(&page, "form[action$='/unsubscribe'] button").await;
            assert_eq!(text_of(&page, "h1").await, "Too fast");
            accessible(&page, "the too-fast page").await;
            assert!(site.mails().is_empty(), "nothing sent for a refused form");
        })
        .await;
}

/// A text browser shows each field with its label and the buttons: the pages need no
/// CSS or JavaScript. Lynx, not w3m: w3m (0.5.3) draws no `<button>`, so its users
/// could fill in a form but not send it. (The honeypot field shows too, with the
/// label that says to leave it empty.)
#[test]
fn the_list_page_reads_in_a_text_browser() {
    if !required(program("lynx").is_some(), "lynx (apt-get install lynx)") {
        return;
    }
    let site = WebSite::start();
    let out = std::process::Command::new("lynx")
        .args(["-dump", "-nolist", "-width=100"])
        .arg(site.url("/lists/sm-cop"))
        .env("no_proxy", "*")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // Each label, then its text field (lynx draws one as `____`), then the button.
    let field = "____________________";
    let join = [
        "Your email address",
        field,
        "Your name (optional)",
        field,
        "Leave this field empty",
        field,
        "(BUTTON) Subscribe",
    ];
    let leave = [
        "Your email address",
        field,
        "Leave this field empty",
        field,
        "(BUTTON) Unsubscribe",
    ];
    for (heading, form) in [("Join SM-COP", &join[..]), ("Leave SM-COP", &leave[..])] {
        let at = lines
            .iter()
            .position(|l| *l == heading)
            .unwrap_or_else(|| panic!("{heading}:\n{text}"));
        let from = at + lines[at..].iter().position(|l| *l == form[0]).unwrap();
        assert_eq!(&lines[from..from + form.len()], form, "{heading}:\n{text}");
    }
    assert!(
        lines.contains(&"SM-COP: SocialGov Community of Practice"),
        "{text}"
    );
}

/// Writes docs/list-page.png, the README's picture of the example list page:
/// `cargo test --test it browser::screenshot -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/list-page.png"]
async fn screenshot_of_the_list_page_for_the_readme() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            page.set_window_size(800, 600).await.unwrap();
            page.goto(&site.url("/lists/sm-cop")).await.unwrap();
            // The window is taller than what it shows: grow it by the page's overflow.
            let measure = "return [document.documentElement.scrollHeight, window.innerHeight, window.outerHeight]";
            let sizes = page.execute(measure, vec![]).await.unwrap();
            let [page_height, inner, outer] =
                [0, 1, 2].map(|i| u32::try_from(sizes[i].as_u64().unwrap()).unwrap());
            page.set_window_size(800, page_height + outer - inner).await.unwrap();
            let png = page.screenshot().await.unwrap();
            let to = crate::support::repo().join("docs/list-page.png");
            std::fs::write(&to, png).unwrap();
            eprintln!("wrote {}", to.display());
        })
        .await;
}

/// Every page fits a window 320 CSS pixels wide without scrolling sideways (WCAG
/// 1.4.10, reflow, which axe does not check); the long addresses wrap.
#[tokio::test]
async fn the_pages_reflow_to_a_narrow_window() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = WebSite::start();
    browser
        .run(async move |page| {
            page.set_window_size(320, 700).await.unwrap();
            let widths = "return [document.documentElement.scrollWidth, window.innerWidth]";
            for path in ["/", "/lists/sm-cop", "/no/such/page"] {
                page.goto(&site.url(path)).await.unwrap();
                let sizes = page.execute(widths, vec![]).await.unwrap();
                let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
                assert!(inner <= 320, "the window is narrow: {inner}");
                assert!(
                    scroll <= inner,
                    "{path}: {scroll} px wide in a {inner} px window"
                );
            }
        })
        .await;
}

/// The list page, reached: its heading, its forms, and no violations.
async fn list_page(page: &Client) {
    assert_eq!(
        text_of(page, "h1").await,
        "SM-COP: SocialGov Community of Practice"
    );
    assert!(
        page.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/lists/sm-cop")
    );
    accessible(page, "the list page").await;
}

/// The list page from the keyboard: Tab reaches its links, fields and buttons in
/// reading order, each with a visible focus ring, and skips the honeypot.
async fn tab_order(page: &Client) {
    let stops = keyboard_walk(page, 6).await;
    let expected = [
        "Mailing lists at listserv.example.gov",
        "sm-cop-subscribe-request@listserv.example.gov",
        "subscribe-address",
        "subscribe-name",
        "Subscribe",
        "sm-cop-leave@listserv.example.gov",
    ];
    assert_eq!(stops.len(), expected.len());
    for ((stop, outline), want) in stops.iter().zip(expected) {
        assert_eq!(stop, want, "the Tab order: {stops:?}");
        assert_eq!(outline, "solid", "{stop} shows where the focus is");
    }
}

/// Presses Tab `times` from the top of the page: what each press focuses (a field's
/// id, else its text) and the focus's outline style there.
async fn keyboard_walk(page: &Client, times: usize) -> Vec<(String, String)> {
    let focused = "const e = document.activeElement; \
        return [e.id || e.textContent.trim(), getComputedStyle(e).outlineStyle]";
    let mut stops = Vec::new();
    for _ in 0..times {
        let tab = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Tab.into(),
            });
        page.perform_actions(tab).await.unwrap();
        let stop = page.execute(focused, vec![]).await.unwrap();
        stops.push((
            stop[0].as_str().unwrap().to_owned(),
            stop[1].as_str().unwrap().to_owned(),
        ));
    }
    stops
}

/// Types `text` into the field `css` selects.
async fn fill(page: &Client, css: &str, text: &str) {
    let field = page.find(Locator::Css(css)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks the button `css` selects, and waits for the page it leads to.
async fn press(page: &Client, css: &str) {
    let before = page.find(Locator::Css("h1")).await.unwrap();
    page.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The old page's heading goes stale once the new page is in.
    let start = std::time::Instant::now();
    while before.text().await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{css} led nowhere"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
