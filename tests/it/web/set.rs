//! The delivery form (`POST /lists/ID/set`): a member's mode changed from the list
//! page, always through a confirmation mailed to the address, the page the same for a
//! member and a stranger, a bad day refused before anything is decided.

use super::{BASE, Server, agent, answer, eventually, link_of};

/// The form's fields for `address`, `mode` and `until`.
fn fields<'a>(
    address: &'a str,
    mode: &'a str,
    until: &'a str,
    stamp: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("address", address),
        ("mode", mode),
        ("until", until),
        ("website", ""),
        ("stamp", stamp),
    ]
}

#[test]
fn nomail_by_the_form_is_confirmed_by_the_link_then_set() {
    let server = Server::start(|t| t);
    let page = server.get("/lists/sm-cop");
    assert!(
        page.body.contains("action=\"/lists/sm-cop/set\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"nomail\""));
    assert!(
        !page.body.contains("value=\"digest\""),
        "no digests on this list"
    );
    let stamp = server.aged_stamp();
    let form = fields("jane.doe@agency.gov", "nomail", "2099-01-15", &stamp);
    let sent = server.post("/lists/sm-cop/set", &form, None);
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("Check your mail"), "{}", sent.body);
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let before = server.roster();
    assert!(
        !before.contains("nomail"),
        "nothing changed before the link"
    );

    let (path, _) = link_of(&server.mails()[0], BASE);
    let shown = server.get(&path);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.body.contains("Delivery from SM-COP"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("nomail until 2099-01-15"),
        "{}",
        shown.body
    );
    assert_eq!(server.roster(), before, "a GET changes nothing");

    let done = agent()
        .post(format!("{}{path}", server.base))
        .send_empty()
        .map(answer)
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Delivery from SM-COP changed"),
        "{}",
        done.body
    );
    let line = r#""jane.doe@agency.gov" = { name = "Jane Doe", since = 2026-01-05T10:00:00Z, via = "email", mode = "nomail", until = 2099-01-15, why = "member" }"#;
    assert!(
        eventually(|| server.roster().contains(line)),
        "{}",
        server.roster()
    );
    let audit = server.audit();
    assert!(audit.contains("\"action\":\"set\""), "{audit}");
    assert!(audit.contains("\"via\":\"web\""), "{audit}");
}

#[test]
fn the_delivery_page_is_the_same_for_a_member_and_a_stranger() {
    let server = Server::start(|t| t);
    let stamp = server.aged_stamp();
    let member = server.post(
        "/lists/sm-cop/set",
        &fields("jane.doe@agency.gov", "nomail", "", &stamp),
        None,
    );
    let stranger = server.post(
        "/lists/sm-cop/set",
        &fields("no.one@agency.gov", "nomail", "", &stamp),
        None,
    );
    assert_eq!(member.status, 200, "{}", member.body);
    assert_eq!(member.status, stranger.status);
    assert_eq!(member.body, stranger.body, "a membership oracle");
    // Each is told by mail, where only the address's owner reads it: a link for the
    // member, "not a member" for the stranger.
    assert!(
        eventually(|| server.mails().len() == 2),
        "{}",
        server.mails().len()
    );
    let mails = server.mails();
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.contains(&format!("To: {who}")))
            .cloned()
            .unwrap_or_default()
    };
    assert!(to("jane.doe@agency.gov").contains("/confirm/"), "{mails:?}");
    assert!(!to("no.one@agency.gov").contains("/confirm/"), "{mails:?}");
}

#[test]
fn a_bad_delivery_form_is_refused_and_nothing_is_sent() {
    let server = Server::start(|t| t);
    let stamp = server.aged_stamp();
    for (mode, until, says) in [
        ("sometimes", "", "Form not understood"),
        ("digest", "", "No digests"),
        ("nomail", "2001-01-01", "Not a day to come"),
        ("nomail", "soon", "Not a day to come"),
    ] {
        let answer = server.post(
            "/lists/sm-cop/set",
            &fields("jane.doe@agency.gov", mode, until, &stamp),
            None,
        );
        assert_eq!(answer.status, 400, "{mode} {until}: {}", answer.body);
        assert!(
            answer.body.contains(says),
            "{mode} {until}: {}",
            answer.body
        );
    }
    // A day with another mode means nothing; the honeypot and the stamp guard it too.
    let mut bot = fields("jane.doe@agency.gov", "mail", "", &stamp);
    bot[3].1 = "http://spam.example";
    assert_eq!(server.post("/lists/sm-cop/set", &bot, None).status, 400);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(server.mails().is_empty(), "a refused form decides nothing");
    let ok = server.post(
        "/lists/sm-cop/set",
        &fields("jane.doe@agency.gov", "mail", "2099-01-15", &stamp),
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
}

/// On a Spanish list the delivery form, its refusals, its page after and the
/// confirmation's pages are in Spanish.
#[test]
fn a_spanish_list_has_a_spanish_delivery_form() {
    let server = Server::start_with(
        |t| t,
        |config| {
            let list = config.join("lists/sm-cop/list.toml");
            let text = std::fs::read_to_string(&list).unwrap();
            let text = text.replace("id = \"sm-cop\"", "id = \"sm-cop\"\nlanguage = \"es\"");
            std::fs::write(&list, text).unwrap();
        },
    );
    let page = server.get("/lists/sm-cop");
    assert!(
        page.body.contains("<h2>Cambiar cómo recibe SM-COP</h2>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<legend>Cómo recibir los mensajes de la lista</legend>")
    );
    let stamp = server.aged_stamp();
    let bad = server.post(
        "/lists/sm-cop/set",
        &fields("jane.doe@agency.gov", "nomail", "ayer", &stamp),
        None,
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("No es una fecha futura"), "{}", bad.body);
    let sent = server.post(
        "/lists/sm-cop/set",
        &fields("jane.doe@agency.gov", "nomail", "", &stamp),
        None,
    );
    assert!(
        sent.body.contains("cambiar cómo recibe SM-COP"),
        "{}",
        sent.body
    );
    assert!(eventually(|| server.mails().len() == 1), "{}", server.log());
    let (path, _) = link_of(&server.mails()[0], BASE);
    assert!(server.get(&path).body.contains("Confirmar el cambio"));
    let done = agent()
        .post(format!("{}{path}", server.base))
        .send_empty()
        .map(answer)
        .unwrap();
    assert!(
        done.body.contains("Se ha cambiado la entrega de SM-COP"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains("recibe ahora SM-COP así: nomail."),
        "{}",
        done.body
    );
}
