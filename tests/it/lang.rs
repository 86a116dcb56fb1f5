//! Languages through the pipeline (issue 17, part 6): a Spanish list answers in
//! Spanish, a list's `templates/LANG/NAME.txt` wins, a member's `lang` is kept.

use crate::support::Site;
use listkeeper::config::Config;
use listkeeper::pipeline::{self, Context, Delivery, Outcome};

const D: &str = "listserv.example.gov";
const T0: u64 = 1_800_000_000;

fn spanish_site() -> Site {
    let site = Site::new();
    site.edit(
        "lists/sm-cop/list.toml",
        "id = \"sm-cop\"",
        "id = \"sm-cop\"\nlanguage = \"es\"",
    );
    site
}

/// The mail from `from` to `to@D` with `subject`, handled: the replies' texts
/// (decoded) and subjects.
fn send(ctx: &Context, to: &str, from: &str, subject: &str, id: &str) -> Vec<(String, String)> {
    send_body(ctx, to, from, subject, "", id)
}

/// [`send`], with a body.
fn send_body(
    ctx: &Context,
    to: &str,
    from: &str,
    subject: &str,
    body: &str,
    id: &str,
) -> Vec<(String, String)> {
    let raw = format!("From: {from}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n");
    let to = format!("{to}@{D}");
    let delivery = Delivery {
        envelope_from: Some(from),
        recipient: &to,
        raw: raw.as_bytes(),
    };
    let Outcome::Done(Some(batch)) = pipeline::handle(ctx, &delivery, T0) else {
        panic!("no reply to {subject}");
    };
    batch
        .mails
        .iter()
        .map(|m| {
            let message = mail_parser::MessageParser::default()
                .parse(m.mail.message.as_bytes())
                .unwrap();
            let body = message.body_text(0).unwrap().into_owned();
            let subject = message.subject().unwrap_or_default().to_owned();
            (subject, body)
        })
        .collect()
}

#[test]
fn a_spanish_list_answers_in_spanish() {
    let site = spanish_site();
    let ctx = Context::open(Config::load(&site.config()).unwrap()).unwrap();
    let ask = send(&ctx, "sm-cop-join", "ana@agency.gov", "join", "s1@x");
    let (subject, body) = &ask[0];
    assert!(
        subject.starts_with("Confirme su suscripción a SM-COP (confirm "),
        "{subject}"
    );
    assert!(
        body.starts_with("Alguien, probablemente usted, pidió suscribir"),
        "{body}"
    );
    let token = subject
        .split("(confirm ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');

    let welcome = send(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "ana@agency.gov",
        "ok",
        "s2@x",
    );
    let (subject, body) = &welcome[0];
    assert_eq!(subject, "Le damos la bienvenida a SM-COP");
    assert!(
        body.contains("la dirección ana@agency.gov ya está suscrita"),
        "{body}"
    );

    let help = send(&ctx, "sm-cop-request", "ana@agency.gov", "help", "s3@x");
    let (subject, body) = &help[0];
    assert_eq!(subject, "Ayuda de listkeeper");
    assert!(
        body.contains("subscribe LISTA [Nombre y apellido]   suscribirse a una lista"),
        "{body}"
    );

    // A Spanish command word, and the English list next door still speaks English.
    let leave = send(&ctx, "sm-cop-request", "ana@agency.gov", "baja", "s4@x");
    assert!(
        leave[0].0.starts_with("Confirme su baja de SM-COP"),
        "{:?}",
        leave[0]
    );
    drop(ctx);
    // The member line keeps the language they joined in.
    let out = site.run(&["members", "sm-cop", "--json"]);
    let members: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ana = members
        .iter()
        .find(|m| m["address"] == "ana@agency.gov")
        .unwrap();
    assert_eq!(ana["lang"], "es");
}

#[test]
fn a_member_in_spanish_on_an_english_list_and_an_override_per_language() {
    let site = Site::new();
    // An admin wrote lang = "es-MX" on a member line; the list's own Spanish help.
    site.edit(
        "lists/sm-cop/roster.toml",
        "\"john.roe@army.mil\" = {}",
        "\"john.roe@army.mil\" = { lang = \"es-MX\" }",
    );
    let es = site.config().join("lists/sm-cop/templates/es");
    std::fs::create_dir_all(&es).unwrap();
    std::fs::write(
        es.join("query_member.txt"),
        "Sí, {address} está en {list}.\n",
    )
    .unwrap();
    let ctx = Context::open(Config::load(&site.config()).unwrap()).unwrap();
    let query = send(&ctx, "sm-cop-request", "john.roe@army.mil", "query", "q1@x");
    assert_eq!(query[0].0, "Su suscripción a SM-COP");
    assert!(
        query[0].1.contains("Sí, john.roe@army.mil está en SM-COP."),
        "{}",
        query[0].1
    );
    let help = send(&ctx, "sm-cop-request", "john.roe@army.mil", "help", "q2@x");
    assert!(
        help[0].1.contains("darse de baja de una lista"),
        "{}",
        help[0].1
    );
    // Everyone else on the English list: English.
    let query = send(
        &ctx,
        "sm-cop-request",
        "jane.doe@agency.gov",
        "query",
        "q3@x",
    );
    assert_eq!(query[0].0, "Your subscription to SM-COP");
    assert!(
        query[0]
            .1
            .contains("jane.doe@agency.gov is subscribed to SM-COP."),
        "{}",
        query[0].1
    );
}

/// The texts other features added speak the list's language too: a member's
/// `SET NOMAIL` is confirmed, and an owner's `ADD` asked to be OK'd, in Spanish.
#[test]
fn a_spanish_list_confirms_set_nomail_and_asks_its_owner_for_ok_in_spanish() {
    let site = spanish_site();
    let ctx = Context::open(Config::load(&site.config()).unwrap()).unwrap();
    let ask = send(&ctx, "sm-cop-join", "ana@agency.gov", "join", "m1@x");
    let token = ask[0]
        .0
        .split("(confirm ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    send(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "ana@agency.gov",
        "ok",
        "m2@x",
    );

    let set = send(
        &ctx,
        "sm-cop-request",
        "ana@agency.gov",
        "set sm-cop nomail",
        "m3@x",
    );
    let (subject, body) = &set[0];
    assert!(
        subject.starts_with("Confirme el cambio de recepción de SM-COP (confirm "),
        "{subject}"
    );
    assert!(
        body.contains(
            "Alguien, probablemente usted, pidió que la dirección ana@agency.gov reciba de la \
             lista SM-COP: ningún mensaje (nomail), hasta que usted lo cambie."
        ),
        "{body}"
    );
    assert!(!body.contains("Someone"), "{body}");
    let token = subject
        .split("(confirm ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    let done = send(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        "ana@agency.gov",
        "ok",
        "m4@x",
    );
    assert_eq!(done[0].0, "Su recepción de SM-COP");
    assert!(
        done[0]
            .1
            .starts_with("A partir de ahora, la dirección ana@agency.gov recibe"),
        "{:?}",
        done[0]
    );

    // The owner's ADD by mail, without an authenticated From: the OK request.
    let owner = "socialgov@example.gov";
    let add = send(
        &ctx,
        "sm-cop-request",
        owner,
        "add sm-cop luis@agency.gov",
        "m5@x",
    );
    let (subject, body) = &add[0];
    assert!(
        subject.starts_with("Confirme su comando para SM-COP (confirm "),
        "{subject}"
    );
    assert!(
        body.contains(&format!(
            "Alguien, probablemente usted, envió desde {owner} este comando para la lista SM-COP:"
        )),
        "{body}"
    );
    assert!(body.contains("responda a este mensaje con OK"), "{body}");
    // Two commands' answers in one reply: its subject says so in Spanish too.
    let both = "info sm-cop\r\nquery sm-cop\r\n";
    let two = send_body(&ctx, "sm-cop-request", "ana@agency.gov", "", both, "m7@x");
    assert_eq!(two[0].0, "Resultado de sus comandos", "{two:?}");
    let token = subject
        .split("(confirm ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    let ok = send(
        &ctx,
        &format!("sm-cop-confirm+{token}"),
        owner,
        "OK",
        "m6@x",
    );
    let told = ok.iter().find(|(s, _)| s == "Su comando para SM-COP");
    let (_, body) = told.unwrap_or_else(|| panic!("{ok:?}"));
    assert_eq!(
        body.trim_end(),
        "Resultado de \"add sm-cop luis@agency.gov\": luis@agency.gov ya es miembro de la \
         lista SM-COP (se le ha enviado el mensaje de bienvenida)."
    );
}
