//! The member links: `/u/TOKEN`, the `List-Unsubscribe` URI a posting system puts
//! on list mail, and `/undo/TOKEN`, the link in a goodbye that joins again.
//!
//! GET shows a page with one button and changes nothing (link scanners fetch every
//! URL). POST to `/u/TOKEN` is RFC 8058's one-click: a mail provider posts
//! `List-Unsubscribe=One-Click` (urlencoded or multipart) or nothing, without a
//! cookie and without following redirects; the member leaves at once, and the
//! answer is the same `200` page for every token, good, forged or already used, so
//! nothing can be learnt by trying tokens. The per-client form budget does not
//! apply: a provider posts for all its users from a few addresses, and a token
//! cannot be guessed (an 80-bit MAC). A `200` is sent only once the removal is
//! durable; a store that fails is a `503` (the provider tries again).

use super::{Peer, Web, blocking, client_under, commit, confirm, pages};
use crate::actions::{Act, Source, linked};
use crate::clock::unix_now;
use crate::lang::Lang;
use crate::links::Purpose;
use crate::replies::Replies;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use tracing::{info, warn};

const BAD_LINK: &str = "This link is not valid (any more)";
const BAD_UNDO: &str = "An undo link works for 7 days after you leave. To join again, use the list's page or send a message to its subscribe address.";
const DONE: &str = "Unsubscribed";
const DONE_TEXT: &str = "The address this link was made for gets no more mail from the list. A message confirming it is on its way.";

/// GET `/u/TOKEN`: which list and address, and the button. Reads only.
pub(super) async fn leave_page(State(web): State<Web>, Path(token): Path<String>) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let Some((list, address)) = linked::look(&ctx, Purpose::Leave, &token, unix_now()) else {
            return pages::message(config, None, StatusCode::NOT_FOUND, BAD_LINK, "This unsubscribe link is not one of this server's. Use the list's page or send a message to its leave address.");
        };
        let facts = pages::ListFacts::brief(config, list);
        let (name, title) = (&list.name, &list.title);
        let (heading, text, button) = match Lang::of_list(Some(list)) {
            Lang::En => (format!("Leave {name}"), format!("Unsubscribe {address} from {name} ({title})."), "Unsubscribe"),
            Lang::Es => (format!("Darse de baja de {name}"), format!("Dar de baja la dirección {address} de la lista {name} ({title})."), "Darse de baja"),
        };
        let action = format!("/u/{token}");
        pages::render(config, Some(list), "link.html", context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), heading, text, action, one_click => true, button })
    })
    .await
}

/// POST `/u/TOKEN`: the one-click unsubscribe; the same `200` for any token (one
/// that is not even UTF-8 included).
pub(super) async fn leave(
    State(web): State<Web>,
    token: Result<Path<String>, PathRejection>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let client = client_under(config, peer, &headers);
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_one_click(content_type, &body) {
            // Not the one-click body: nothing is done, and it looks the same.
            return pages::message(config, None, StatusCode::OK, DONE, DONE_TEXT);
        }
        let now = unix_now();
        let result = linked::leave(&ctx, &token, Source::Web { client }, now).and_then(|done| {
            let mut replies = Replies::default();
            if let Some((list, address, outcome)) = &done {
                replies.outcome(&ctx, Act::OneClick, list, address, outcome, now);
                if let Some(draft) = replies.to(address) {
                    draft.free = true;
                }
            }
            commit(web.daemon.as_ref(), &ctx, replies, now)?;
            Ok(done)
        });
        match result {
            Ok(done) => {
                if let Some((list, _, outcome)) = done {
                    info!(list = list.id.as_str(), %client, outcome = outcome.word(), "one-click unsubscribe");
                }
                pages::message(config, None, StatusCode::OK, DONE, DONE_TEXT)
            }
            Err(e) => {
                warn!(error = %e, "a one-click unsubscribe is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

/// Whether a POST body is RFC 8058's: empty, or `List-Unsubscribe=One-Click` as
/// `application/x-www-form-urlencoded` or as a `multipart/form-data` field.
fn is_one_click(content_type: &str, body: &[u8]) -> bool {
    if body.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let kind = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if kind == "multipart/form-data" {
        // A part named List-Unsubscribe whose value is One-Click.
        let text = text.replace("\r\n", "\n");
        return text
            .split("\n\n")
            .zip(text.split("\n\n").skip(1))
            .any(|(head, value)| {
                head.to_ascii_lowercase()
                    .contains("name=\"list-unsubscribe\"")
                    && value.trim_start().starts_with("One-Click")
            });
    }
    text.trim()
        .split('&')
        .any(|pair| pair == "List-Unsubscribe=One-Click")
}

/// GET `/undo/TOKEN`: which list and address, and the button. Reads only.
pub(super) async fn undo_page(State(web): State<Web>, Path(token): Path<String>) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let Some((list, address)) = linked::look(&ctx, Purpose::Undo, &token, unix_now()) else {
            return pages::message(config, None, StatusCode::NOT_FOUND, BAD_LINK, BAD_UNDO);
        };
        let facts = pages::ListFacts::brief(config, list);
        let (name, title) = (&list.name, &list.title);
        let (heading, text, button) = match Lang::of_list(Some(list)) {
            Lang::En => (format!("Join {name} again"), format!("Subscribe {address} to {name} ({title}) again, without a confirmation mail."), "Join again"),
            Lang::Es => (format!("Volver a suscribirse a {name}"), format!("Volver a suscribir la dirección {address} a la lista {name} ({title}), sin mensaje de confirmación."), "Volver a suscribirse"),
        };
        let action = format!("/undo/{token}");
        pages::render(config, Some(list), "link.html", context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), heading, text, action, one_click => false, button })
    })
    .await
}

/// POST `/undo/TOKEN`: joins again as a confirmed subscribe would (the rules and
/// the policy still decide), and shows the outcome.
pub(super) async fn undo(
    State(web): State<Web>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let config = &ctx.config;
        let client = client_under(config, peer, &headers);
        let now = unix_now();
        let result = linked::undo(&ctx, &token, Source::Web { client }, now).and_then(|done| {
            let mut replies = Replies::default();
            if let Some((list, address, outcome)) = &done {
                replies.outcome(&ctx, Act::Undo, list, address, outcome, now);
                if let Some(draft) = replies.to(address) {
                    draft.free = true;
                }
            }
            commit(web.daemon.as_ref(), &ctx, replies, now)?;
            Ok(done)
        });
        match result {
            Ok(Some((list, address, outcome))) => {
                info!(list = list.id.as_str(), %client, outcome = outcome.word(), "web undo");
                let (heading, text) = confirm::said(list, &address.to_string(), &outcome);
                pages::message(config, Some(list), StatusCode::OK, &heading, &text)
            }
            Ok(None) => pages::message(config, None, StatusCode::NOT_FOUND, BAD_LINK, BAD_UNDO),
            Err(e) => {
                warn!(error = %e, "a web undo is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_click_bodies_of_rfc_8058() {
        let form = "application/x-www-form-urlencoded";
        assert!(is_one_click(form, b"List-Unsubscribe=One-Click"));
        assert!(is_one_click("", b""));
        assert!(is_one_click(form, b"a=b&List-Unsubscribe=One-Click"));
        let multipart = "multipart/form-data; boundary=XyZ";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
        assert!(is_one_click(multipart, body.as_bytes()));
        assert!(!is_one_click(form, b"List-Unsubscribe=Maybe"));
        assert!(!is_one_click(multipart, b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nOne-Click\r\n--XyZ--\r\n"));
        assert!(!is_one_click(form, &[0xff, 0xfe]));
    }
}
