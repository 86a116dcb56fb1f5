//! `POST /lists/ID/subscribe`, `/unsubscribe` and `/set` (delivery: mail, digest or
//! nomail, with an optional day mail resumes): a form becomes an action request from
//! [`Source::Web`], which always goes through a confirmation mailed to the address (a
//! form proves nothing about who owns it).
//!
//! Before that, in this order: the client's hourly budget, the honeypot, the form
//! stamp, the address. The page after a good post is the same whatever the address's
//! membership and whatever the action decided (a confirmation sent, none today, a
//! refusal mailed to the address): nothing a visitor sees tells who is a member.

use super::stamp::{self, Stamp};
use super::{Peer, Web, blocking, client, commit, pages};
use crate::actions::{self, Act, Request, Source};
use crate::address::EmailAddress;
use crate::clock::unix_now;
use crate::config::{Config, ListConfig};
use crate::records::{Day, Mode};
use crate::replies::Replies;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, extract::rejection::FormRejection};
use serde::Deserialize;
use tracing::{info, warn};

/// The fields of the forms (`name` only on the subscribe form, `mode` and `until`
/// only on the delivery form).
#[derive(Debug, Deserialize)]
pub(super) struct Fields {
    #[serde(default)]
    address: String,
    #[serde(default)]
    name: String,
    /// `mail`, `digest` or `nomail`.
    #[serde(default)]
    mode: String,
    /// With nomail: the day mail resumes (`YYYY-MM-DD`, as a date field sends it).
    #[serde(default)]
    until: String,
    /// The honeypot: hidden from people, filled in by programs.
    #[serde(default)]
    website: String,
    #[serde(default)]
    stamp: String,
}

/// A subscribe form.
pub(super) async fn subscribe(
    state: State<Web>,
    id: Path<String>,
    peer: ConnectInfo<Peer>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    post(state, id, peer, headers, form, Act::Subscribe).await
}

/// An unsubscribe form.
pub(super) async fn unsubscribe(
    state: State<Web>,
    id: Path<String>,
    peer: ConnectInfo<Peer>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    post(state, id, peer, headers, form, Act::Unsubscribe).await
}

/// A delivery form.
pub(super) async fn set(
    state: State<Web>,
    id: Path<String>,
    peer: ConnectInfo<Peer>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    post(state, id, peer, headers, form, Act::Set).await
}

async fn post(
    State(web): State<Web>,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
    act: Act,
) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let Some(list) = config.list(&id) else {
            return pages::message(config, None, StatusCode::NOT_FOUND, "No such list", "There is no list by that name here.");
        };
        let Some(settings) = &config.server.web else {
            return pages::try_later();
        };
        let client = client(peer, &headers, &settings.trusted_proxies);
        let now = unix_now();
        // Each refusal in English and Spanish, said in the list's language.
        let refuse = |status, heading: (&str, &str), text: (&str, &str)| {
            info!(list = list.id.as_str(), %client, heading = heading.0, "web form refused");
            let say = |(en, es)| pages::say(Some(list), en, es);
            pages::message(config, Some(list), status, say(heading), say(text))
        };
        if !web.clients.take(client, settings.posts_per_client_per_hour, now) {
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                ("Too many requests", "Demasiadas solicitudes"),
                ("Too many forms were sent from your network in the last hour. Please try again later, or write to the address shown on the list's page.",
                 "Desde su red se enviaron demasiados formularios en la última hora. Inténtelo de nuevo más tarde o escriba a la dirección que aparece en la página de la lista."),
            );
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("3600"));
            return response;
        }
        let Ok(Form(fields)) = form else {
            return refuse(StatusCode::BAD_REQUEST, ("Form not understood", "No se entendió el formulario"),
                ("Please go back to the list's page and fill in the form again.", "Vuelva a la página de la lista y llene el formulario de nuevo."));
        };
        if !fields.website.is_empty() {
            return refuse(StatusCode::BAD_REQUEST, ("Form refused", "Formulario rechazado"),
                ("A field meant to stay empty was filled in, as programs that send forms do. If you are a person, go back, leave the last field empty, and send the form again.",
                 "Se llenó un campo que debía quedar vacío, como hacen los programas que envían formularios automáticamente. Si usted es una persona, vuelva atrás, deje vacío el último campo y envíe el formulario de nuevo."));
        }
        match stamp::check(&ctx.keys, list.id.as_str(), &fields.stamp, stamp::now_ms()) {
            Stamp::Fresh => {}
            Stamp::TooFast => return refuse(StatusCode::BAD_REQUEST, ("Too fast", "Demasiado rápido"),
                ("This form was sent back quicker than a person can fill it in. Go back, wait a moment, and send it again.",
                 "Este formulario se envió más rápido de lo que una persona puede llenarlo. Vuelva atrás, espere un momento y envíelo de nuevo.")),
            Stamp::TooOld => return refuse(StatusCode::BAD_REQUEST, ("Form too old", "Formulario vencido"),
                ("This form is more than a day old. Load the list's page again and fill in the new form.",
                 "Este formulario tiene más de un día. Vuelva a cargar la página de la lista y llene el formulario nuevo.")),
            Stamp::Forged => return refuse(StatusCode::BAD_REQUEST, ("Form not recognised", "Formulario no reconocido"),
                ("This form did not come from this server's page. Load the list's page again and fill in its form.",
                 "Este formulario no proviene de la página de este servidor. Vuelva a cargar la página de la lista y llene su formulario.")),
        }
        let Ok(address) = EmailAddress::parse(fields.address.trim()) else {
            return refuse(StatusCode::BAD_REQUEST, ("Not an email address", "No es una dirección de correo electrónico"),
                ("What you gave is not an email address. Go back and check it.", "Lo que escribió no es una dirección de correo electrónico. Vuelva atrás y revísela."));
        };
        let name = Some(fields.name.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
        let wish = match wish(list, act, &fields, now) {
            Ok(wish) => wish,
            Err((heading, text)) => return refuse(StatusCode::BAD_REQUEST, heading, text),
        };
        match act_on(&web, &ctx, list, address, name, wish, client, now) {
            Ok(word) => {
                info!(list = list.id.as_str(), %client, outcome = word, "web form");
                sent(config, list, wish)
            }
            Err(e) => {
                warn!(list = list.id.as_str(), error = %e, "a web form's request is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

/// What a form asks for.
#[derive(Debug, Clone, Copy)]
enum Wish {
    Subscribe,
    Unsubscribe,
    /// A delivery mode, and with nomail maybe the day mail resumes.
    Set(Mode, Option<Day>),
}

/// A refusal's heading and text, each in English and Spanish.
type Said = ((&'static str, &'static str), (&'static str, &'static str));

/// The form's wish; a delivery form's mode and day read (or why not).
fn wish(list: &ListConfig, act: Act, fields: &Fields, now: u64) -> Result<Wish, Said> {
    match act {
        Act::Subscribe => return Ok(Wish::Subscribe),
        Act::Unsubscribe => return Ok(Wish::Unsubscribe),
        _ => {}
    }
    let mode: Mode = match fields.mode.trim().parse() {
        Ok(Mode::Digest) if list.digest_include_file.is_none() => {
            return Err((
                ("No digests", "Sin resúmenes"),
                (
                    "This list sends no digests. Go back and choose another way to get its mail.",
                    "Esta lista no envía resúmenes. Vuelva atrás y elija otra forma de recibir sus mensajes.",
                ),
            ));
        }
        Ok(mode) => mode,
        Err(_) => {
            return Err((
                ("Form not understood", "No se entendió el formulario"),
                (
                    "Please go back to the list's page and fill in the form again.",
                    "Vuelva a la página de la lista y llene el formulario de nuevo.",
                ),
            ));
        }
    };
    let until = fields.until.trim();
    if until.is_empty() || mode != Mode::Nomail {
        // A day left in the field while another mode was chosen means nothing.
        return Ok(Wish::Set(mode, None));
    }
    match until.parse::<Day>() {
        Ok(day) if day.start() > now => Ok(Wish::Set(mode, Some(day))),
        _ => Err((
            ("Not a day to come", "No es una fecha futura"),
            (
                "The day mail resumes must be a date after today, such as 2027-01-15, or left empty. Go back and check it.",
                "El día en que vuelve a recibir los mensajes debe ser una fecha posterior a hoy, como 2027-01-15, o quedar vacío. Vuelva atrás y revísela.",
            ),
        )),
    }
}

/// The action, its replies and the commit: durable before the page says so.
#[allow(clippy::too_many_arguments)]
fn act_on(
    web: &Web,
    ctx: &crate::context::Context,
    list: &ListConfig,
    address: EmailAddress,
    name: Option<String>,
    wish: Wish,
    client: std::net::IpAddr,
    now: u64,
) -> actions::Result<&'static str> {
    let request = Request {
        list,
        address: address.clone(),
        name,
        source: Source::Web { client },
    };
    let (act, outcome) = match wish {
        Wish::Subscribe => (Act::Subscribe, actions::subscribe(ctx, request, now)?),
        Wish::Unsubscribe => (Act::Unsubscribe, actions::unsubscribe(ctx, request, now)?),
        Wish::Set(mode, until) => (Act::Set, actions::set_mode(ctx, request, mode, until, now)?),
    };
    let mut replies = Replies::default();
    replies.outcome(ctx, act, list, &address, &outcome, now);
    commit(web.daemon.as_ref(), ctx, replies, now)?;
    Ok(outcome.word())
}

/// The page after a good post: the same for every address.
fn sent(config: &Config, list: &ListConfig, wish: Wish) -> Response {
    let what = match wish {
        Wish::Subscribe => pages::say(Some(list), "join", "suscribirse a"),
        Wish::Unsubscribe => pages::say(Some(list), "leave", "darse de baja de"),
        Wish::Set(..) => pages::say(Some(list), "change how it gets", "cambiar cómo recibe"),
    };
    let facts = pages::ListFacts::brief(config, list);
    let response = pages::render(
        config,
        Some(list),
        "sent.html",
        minijinja::context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), what },
    );
    (StatusCode::OK, response).into_response()
}
