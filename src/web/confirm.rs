//! `/confirm/TOKEN`, the link in a confirmation mail. GET shows what the token would
//! do, with one button, and changes nothing (link scanners such as Safe Links fetch
//! every URL in a mail); POST, the button, carries it out through
//! [`actions::confirm`] as a reply to the mail would, and shows the result.

use super::{Peer, Web, blocking, client_under, commit, pages};
use crate::actions::{self, Act, Outcome, Redeemed, Source};
use crate::clock::unix_now;
use crate::config::ListConfig;
use crate::lang::Lang;
use crate::records::Intent;
use crate::replies::Replies;
use crate::token::looks_like_token;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tracing::{info, warn};

const BAD_LINK: (&str, &str) = (
    "This link is not valid (any more)",
    "Este enlace ya no es válido",
);
const BAD_TEXT: (&str, &str) = (
    "It may have been used already, or it has lapsed. To try again, ask anew from the list's page or by mail.",
    "Es posible que ya se haya usado o que haya vencido. Para intentarlo de nuevo, haga una nueva solicitud desde la página de la lista o por correo electrónico.",
);

/// The page for a link that names nothing valid, in `list`'s language.
fn bad_link(config: &crate::config::Config, list: Option<&ListConfig>) -> Response {
    let say = |(en, es)| pages::say(list, en, es);
    pages::message(
        config,
        list,
        StatusCode::NOT_FOUND,
        say(BAD_LINK),
        say(BAD_TEXT),
    )
}

/// GET: what the token would do, and the button. Reads only.
pub(super) async fn show(State(web): State<Web>, Path(token): Path<String>) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let lists: Vec<&ListConfig> = config.lists.values().collect();
        let found = match looks_like_token(&token) {
            true => actions::preview(&ctx, &token, &lists, unix_now()),
            false => Ok(None),
        };
        let (list, pending) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return bad_link(config, None),
            Err(e) => {
                warn!(error = %e, "cannot read the pending requests");
                return pages::try_later();
            }
        };
        let (heading, text, button) = asks(list, &pending);
        let facts = pages::ListFacts::brief(config, list);
        pages::render(config, Some(list), "confirm.html", context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), heading, text, button, token })
    })
    .await
}

/// POST: the token is redeemed; its outcome is mailed to the address as a reply to the
/// confirmation would be, and shown.
pub(super) async fn carry_out(
    State(web): State<Web>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let client = client_under(config, peer, &headers);
        let lists: Vec<&ListConfig> = config.lists.values().collect();
        let now = unix_now();
        let redeemed = match looks_like_token(&token) {
            true => actions::confirm(&ctx, &token, &lists, Source::Web { client }, now),
            false => Ok(Redeemed::Bad { list: None, outcome: Outcome::UnknownToken }),
        };
        let result = redeemed.and_then(|redeemed| {
            let mut replies = Replies::default();
            if let Redeemed::Done { list, address, outcome } = &redeemed {
                replies.outcome(&ctx, Act::Confirm, list, address, outcome, now);
                // What a valid token causes is free of the address and domain budgets.
                if let Some(draft) = replies.to(address) {
                    draft.free = true;
                }
            }
            commit(web.daemon.as_ref(), &ctx, replies, now)?;
            Ok(redeemed)
        });
        match result {
            Ok(Redeemed::Done { list, address, outcome }) => {
                info!(list = list.id.as_str(), %client, outcome = outcome.word(), "web confirmation");
                let (heading, text) = said(list, &address.to_string(), &outcome);
                pages::message(config, Some(list), StatusCode::OK, &heading, &text)
            }
            Ok(Redeemed::Bad { list, .. }) => bad_link(config, list),
            Ok(
                Redeemed::Owner { list, .. }
                | Redeemed::LeftAll { list, .. }
                | Redeemed::Changed { list, .. },
            ) => {
                bad_link(config, Some(list))
            }
            // Mail only: never redeemed here.
            Ok(Redeemed::Erased { .. }) => bad_link(config, None),
            Err(e) => {
                warn!(error = %e, "a web confirmation is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

/// What the confirmation page asks: its heading, text and button.
fn asks(list: &ListConfig, pending: &crate::records::Pending) -> (String, String, &'static str) {
    let (name, address) = (&list.name, &pending.address);
    let es = Lang::of_list(Some(list)) == Lang::Es;
    match (pending.action, es) {
        (Intent::Subscribe, false) => (
            format!("Join {name}"),
            format!(
                "Confirm that {address} joins {name} ({}).{}",
                list.title,
                if pending.hold {
                    " The list's owners then decide on the request."
                } else {
                    ""
                }
            ),
            "Confirm: join the list",
        ),
        (Intent::Subscribe, true) => (
            format!("Suscribirse a {name}"),
            format!(
                "Confirme que desea suscribir la dirección {address} a {name} ({}).{}",
                list.title,
                if pending.hold {
                    " Después, los administradores de la lista decidirán sobre la solicitud."
                } else {
                    ""
                }
            ),
            "Confirmar la suscripción",
        ),
        (Intent::Unsubscribe, false) => (
            format!("Leave {name}"),
            format!("Confirm that {address} leaves {name}."),
            "Confirm: leave the list",
        ),
        (Intent::Unsubscribe, true) => (
            format!("Darse de baja de {name}"),
            format!("Confirme que desea dar de baja la dirección {address} de {name}."),
            "Confirmar la baja",
        ),
        // An owner's command, or a request about every list, is carried out by mail
        // only: its token never gets here.
        (
            Intent::OwnerAdd
            | Intent::OwnerDelete
            | Intent::LeaveAll
            | Intent::Change
            | Intent::ChangeAll
            | Intent::Erase,
            false,
        ) => (
            name.to_string(),
            "An owner's command is carried out by replying OK to its mail.".to_owned(),
            "Confirm",
        ),
        (
            Intent::OwnerAdd
            | Intent::OwnerDelete
            | Intent::LeaveAll
            | Intent::Change
            | Intent::ChangeAll
            | Intent::Erase,
            true,
        ) => (
            name.to_string(),
            "Los comandos de los administradores se llevan a cabo respondiendo OK a su mensaje."
                .to_owned(),
            "Confirmar",
        ),
        (Intent::SetMode, es) => {
            let setting = pending.setting.unwrap_or_default();
            let mode = setting.mode.as_str();
            match (es, setting.until) {
                (false, until) => (
                    format!("Delivery from {name}"),
                    format!(
                        "Confirm that {address} gets {name} as: {mode}{}.",
                        until.map(|d| format!(" until {d}")).unwrap_or_default()
                    ),
                    "Confirm: change delivery",
                ),
                (true, until) => (
                    format!("Cambio de recepción de {name}"),
                    format!(
                        "Confirme que la dirección {address} recibirá de la lista {name}: {}{}.",
                        actions::table::mode_in_spanish(setting.mode),
                        until.map(|d| format!(", hasta el {d}")).unwrap_or_default()
                    ),
                    "Confirmar el cambio",
                ),
            }
        }
    }
}

/// What the page says of a confirmed request's outcome, in the list's language.
pub(super) fn said(list: &ListConfig, address: &str, outcome: &Outcome) -> (String, String) {
    if Lang::of_list(Some(list)) == Lang::Es {
        return said_es(list, address, outcome);
    }
    let name = &list.name;
    match outcome {
        Outcome::Added => (
            format!("Welcome to {name}"),
            format!("{address} is now subscribed to {name}. A welcome message is on its way."),
        ),
        Outcome::AlreadyMember => (
            format!("Already subscribed to {name}"),
            format!("{address} was subscribed to {name} already: nothing changed."),
        ),
        Outcome::Held(_) | Outcome::AlreadyHeld => (
            format!("Your request to join {name}"),
            "Thank you: your request is with the list's owners, who decide on it. You will hear from them by mail.".to_owned(),
        ),
        Outcome::Removed => (
            format!("You have left {name}"),
            format!("{address} has been removed from {name}."),
        ),
        Outcome::NotMember => (
            format!("Not subscribed to {name}"),
            format!("{address} was not subscribed to {name}: nothing changed."),
        ),
        Outcome::Refused { reason } => (
            format!("Your request to join {name}"),
            format!("{address} cannot join {name}: {reason}"),
        ),
        Outcome::ModeSet(setting) => (
            format!("Delivery from {name} changed"),
            format!("{address} now gets {name} as: {}.", mode_words(setting, false)),
        ),
        Outcome::AlreadyInMode(setting) => (
            format!("Delivery from {name}"),
            format!("{address} got {name} as: {} already: nothing changed.", mode_words(setting, false)),
        ),
        _ => (
            format!("Your request about {name}"),
            "Your request was carried out.".to_owned(),
        ),
    }
}
/// [`said`] in Spanish.
fn said_es(list: &ListConfig, address: &str, outcome: &Outcome) -> (String, String) {
    let name = &list.name;
    match outcome {
        Outcome::Added => (
            format!("Le damos la bienvenida a {name}"),
            format!("La dirección {address} ya está suscrita a {name}. Le hemos enviado un mensaje de bienvenida."),
        ),
        Outcome::AlreadyMember => (
            format!("Su dirección ya está suscrita a {name}"),
            format!("La dirección {address} ya estaba suscrita a {name}: no se ha hecho ningún cambio."),
        ),
        Outcome::Held(_) | Outcome::AlreadyHeld => (
            format!("Su solicitud de suscripción a {name}"),
            "Gracias. Su solicitud está en manos de los administradores de la lista, que decidirán sobre ella. Recibirá su respuesta por correo electrónico.".to_owned(),
        ),
        Outcome::Removed => (
            format!("Se ha dado de baja de {name}"),
            format!("Se ha dado de baja la dirección {address} de {name}."),
        ),
        Outcome::NotMember => (
            format!("Su dirección no está suscrita a {name}"),
            format!("La dirección {address} no estaba suscrita a {name}: no se ha hecho ningún cambio."),
        ),
        Outcome::ModeSet(setting) => (
            format!("Se ha cambiado la entrega de {name}"),
            format!("La dirección {address} recibe ahora {name} así: {}.", mode_words(setting, true)),
        ),
        Outcome::AlreadyInMode(setting) => (
            format!("Entrega de {name}"),
            format!("La dirección {address} ya recibía {name} así: {}. No se ha hecho ningún cambio.", mode_words(setting, true)),
        ),
        _ => (
            format!("Su solicitud sobre {name}"),
            "Se ha atendido su solicitud.".to_owned(),
        ),
    }
}

/// A setting in words: its mode, and the day mail resumes (Spanish when `es`).
fn mode_words(setting: &crate::records::Setting, es: bool) -> String {
    let until = match (setting.until, es) {
        (Some(day), false) => format!(" until {day}"),
        (Some(day), true) => format!(" hasta el {day}"),
        (None, _) => String::new(),
    };
    format!("{}{until}", setting.mode.as_str())
}
