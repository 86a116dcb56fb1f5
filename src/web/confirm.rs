//! `/confirm/TOKEN`, the link in a confirmation mail. GET shows what the token would
//! do, with one button, and changes nothing (link scanners such as Safe Links fetch
//! every URL in a mail); POST, the button, carries it out through
//! [`actions::confirm`] as a reply to the mail would, and shows the result.

use super::{Peer, Web, blocking, client, commit, pages};
use crate::actions::{self, Act, Outcome, Redeemed, Source};
use crate::clock::unix_now;
use crate::config::ListConfig;
use crate::records::Intent;
use crate::replies::Replies;
use crate::token::looks_like_token;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tracing::{info, warn};

const BAD_LINK: &str = "This link is not valid (any more)";
const BAD_TEXT: &str = "It may have been used already, or it has lapsed. To try again, ask anew from the list's page or by mail.";

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
            Ok(None) => return pages::message(config, None, StatusCode::NOT_FOUND, BAD_LINK, BAD_TEXT),
            Err(e) => {
                warn!(error = %e, "cannot read the pending requests");
                return pages::try_later();
            }
        };
        let (heading, text, button) = match pending.action {
            Intent::Subscribe => (
                format!("Join {}", list.name),
                format!("Confirm that {} joins {} ({}).{}", pending.address, list.name, list.title,
                    if pending.hold { " The list's owners then decide on the request." } else { "" }),
                "Confirm: join the list",
            ),
            Intent::Unsubscribe => (
                format!("Leave {}", list.name),
                format!("Confirm that {} leaves {}.", pending.address, list.name),
                "Confirm: leave the list",
            ),
        };
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
        let trusted = config.server.web.as_ref().map_or(&[][..], |w| &w.trusted_proxies[..]);
        let client = client(peer, &headers, trusted);
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
            Ok(Redeemed::Bad { list, .. }) => pages::message(config, list, StatusCode::NOT_FOUND, BAD_LINK, BAD_TEXT),
            Err(e) => {
                warn!(error = %e, "a web confirmation is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

/// What the page says of a confirmed request's outcome.
fn said(list: &ListConfig, address: &str, outcome: &Outcome) -> (String, String) {
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
        _ => (
            format!("Your request about {name}"),
            "Your request was carried out.".to_owned(),
        ),
    }
}
