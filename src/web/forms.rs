//! `POST /lists/ID/subscribe` and `/unsubscribe`: a form becomes an action request
//! from [`Source::Web`], which always goes through a confirmation mailed to the
//! address (a form proves nothing about who owns it).
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
use crate::config::Config;
use crate::replies::Replies;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, extract::rejection::FormRejection};
use serde::Deserialize;
use tracing::{info, warn};

/// The fields of both forms (`name` only on the subscribe form).
#[derive(Debug, Deserialize)]
pub(super) struct Fields {
    #[serde(default)]
    address: String,
    #[serde(default)]
    name: String,
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
        let refuse = |status, heading: &str, text: &str| {
            info!(list = list.id.as_str(), %client, %heading, "web form refused");
            pages::message(config, Some(list), status, heading, text)
        };
        if !web.clients.take(client, settings.posts_per_client_per_hour, now) {
            let mut response = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many forms were sent from your network in the last hour. Please try again later, or write to the address shown on the list's page.",
            );
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("3600"));
            return response;
        }
        let Ok(Form(fields)) = form else {
            return refuse(StatusCode::BAD_REQUEST, "Form not understood", "Please go back to the list's page and fill in the form again.");
        };
        if !fields.website.is_empty() {
            return refuse(StatusCode::BAD_REQUEST, "Form refused", "A field meant to stay empty was filled in, as programs that send forms do. If you are a person, go back, leave the last field empty, and send the form again.");
        }
        match stamp::check(&ctx.keys, list.id.as_str(), &fields.stamp, stamp::now_ms()) {
            Stamp::Fresh => {}
            Stamp::TooFast => return refuse(StatusCode::BAD_REQUEST, "Too fast", "This form was sent back quicker than a person can fill it in. Go back, wait a moment, and send it again."),
            Stamp::TooOld => return refuse(StatusCode::BAD_REQUEST, "Form too old", "This form is more than a day old. Load the list's page again and fill in the new form."),
            Stamp::Forged => return refuse(StatusCode::BAD_REQUEST, "Form not recognised", "This form did not come from this server's page. Load the list's page again and fill in its form."),
        }
        let Ok(address) = EmailAddress::parse(fields.address.trim()) else {
            return refuse(StatusCode::BAD_REQUEST, "Not an email address", "What you gave is not an email address. Go back and check it.");
        };
        let name = Some(fields.name.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
        match act_on(&web, &ctx, list, address, name, act, client, now) {
            Ok(word) => {
                info!(list = list.id.as_str(), %client, outcome = word, "web form");
                sent(config, list, act)
            }
            Err(e) => {
                warn!(list = list.id.as_str(), error = %e, "a web form's request is not recorded");
                pages::try_later()
            }
        }
    })
    .await
}

/// The action, its replies and the commit: durable before the page says so.
#[allow(clippy::too_many_arguments)]
fn act_on(
    web: &Web,
    ctx: &crate::context::Context,
    list: &crate::config::ListConfig,
    address: EmailAddress,
    name: Option<String>,
    act: Act,
    client: std::net::IpAddr,
    now: u64,
) -> actions::Result<&'static str> {
    let request = Request {
        list,
        address: address.clone(),
        name,
        source: Source::Web { client },
    };
    let outcome = match act {
        Act::Subscribe => actions::subscribe(ctx, request, now)?,
        _ => actions::unsubscribe(ctx, request, now)?,
    };
    let mut replies = Replies::default();
    replies.outcome(ctx, act, list, &address, &outcome, now);
    commit(web.daemon.as_ref(), ctx, replies, now)?;
    Ok(outcome.word())
}

/// The page after a good post: the same for every address.
fn sent(config: &Config, list: &crate::config::ListConfig, act: Act) -> Response {
    let what = match act {
        Act::Subscribe => "join",
        _ => "leave",
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
