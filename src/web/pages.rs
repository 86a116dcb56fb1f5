//! The pages: built-in minijinja templates (auto-escaped HTML, no JavaScript), each
//! overridable per list by `lists/<id>/templates/<name>.html`, read with the
//! configuration like the reply texts; and the handlers of the pages that only show.
//!
//! A list's template that does not compile or render is logged and the built-in one
//! is used instead: a typo in an override must not take the list's page down.

use super::{Web, blocking, page, stamp};
use crate::config::{Config, ListConfig};
use crate::context::Context;
use crate::lang::Lang;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value, context};
use serde::Serialize;
use tracing::warn;

/// The built-in templates, by the file name that overrides them.
const BUILTIN: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("index.html", include_str!("templates/index.html")),
    ("list.html", include_str!("templates/list.html")),
    ("sent.html", include_str!("templates/sent.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("message.html", include_str!("templates/message.html")),
    ("link.html", include_str!("templates/link.html")),
];

/// The built-in templates in Spanish (`<html lang="es">`), for a list whose
/// language is Spanish.
const BUILTIN_ES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/es/layout.html")),
    ("index.html", include_str!("templates/es/index.html")),
    ("list.html", include_str!("templates/es/list.html")),
    ("sent.html", include_str!("templates/es/sent.html")),
    ("confirm.html", include_str!("templates/es/confirm.html")),
    ("message.html", include_str!("templates/es/message.html")),
    ("link.html", include_str!("templates/es/link.html")),
];

const STYLE: &str = include_str!("templates/style.css");

/// What a page says of one list.
#[derive(Debug, Serialize)]
pub(super) struct ListFacts {
    id: String,
    name: String,
    title: String,
    terms: String,
    subscribe_address: String,
    leave_address: String,
    owner_address: String,
    /// `None` when the roster does not read (the page says so rather than fail).
    members: Option<usize>,
}

impl ListFacts {
    pub(super) fn of(ctx: &Context, list: &ListConfig) -> ListFacts {
        let domain = &ctx.config.server.domain;
        let id = list.id.as_str();
        let members = match ctx
            .roster(list)
            .and_then(|r| r.count().map_err(std::io::Error::other))
        {
            Ok(n) => Some(n),
            Err(e) => {
                warn!(list = id, error = %e, "the roster does not read: its page shows no member count");
                None
            }
        };
        ListFacts {
            id: id.to_owned(),
            name: list.name.clone(),
            title: list.title.clone(),
            terms: list.terms.clone(),
            subscribe_address: format!("{id}-subscribe-request@{domain}"),
            leave_address: format!("{id}-leave@{domain}"),
            owner_address: format!("{id}-owner@{domain}"),
            members,
        }
    }

    /// Without the member count (pages that need not read the roster).
    pub(super) fn brief(config: &Config, list: &ListConfig) -> ListFacts {
        let domain = &config.server.domain;
        let id = list.id.as_str();
        ListFacts {
            id: id.to_owned(),
            name: list.name.clone(),
            title: list.title.clone(),
            terms: list.terms.clone(),
            subscribe_address: format!("{id}-subscribe-request@{domain}"),
            leave_address: format!("{id}-leave@{domain}"),
            owner_address: format!("{id}-owner@{domain}"),
            members: None,
        }
    }
}

/// The language of a page about no list, by the visitor's `Accept-Language`.
fn visitor(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE);
    Lang::of_visitor(accept.and_then(|v| v.to_str().ok()))
}

/// `response` marked as depending on `Accept-Language`, so that a cache in front
/// (the reverse proxy) keeps one copy a language.
fn varies(mut response: Response) -> Response {
    let vary = axum::http::HeaderValue::from_static("accept-language");
    response.headers_mut().append(header::VARY, vary);
    response
}

/// `GET /`: every list, in the visitor's language.
pub(super) async fn index(State(web): State<Web>, headers: HeaderMap) -> Response {
    let lang = visitor(&headers);
    blocking(move || {
        let ctx = web.daemon.context();
        let lists: Vec<ListFacts> = (ctx.config.lists.values())
            .map(|l| ListFacts::of(&ctx, l))
            .collect();
        varies(render_in(
            &ctx.config,
            None,
            lang,
            "index.html",
            context! { lists => Value::from(minijinja::value::Serde(&lists)) },
        ))
    })
    .await
}

/// `GET /lists/ID`: the list, how to join and leave, and its three forms.
pub(super) async fn list(
    State(web): State<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = visitor(&headers);
    blocking(move || {
        let ctx = web.daemon.context();
        let Some(list) = ctx.config.list(&id) else {
            return not_found_page(&ctx.config, lang);
        };
        let stamp = stamp::issue(&ctx.keys, list.id.as_str(), stamp::now_ms());
        let facts = ListFacts::of(&ctx, list);
        render(
            &ctx.config,
            Some(list),
            "list.html",
            context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), stamp, digest => list.digest_include_file.is_some() },
        )
    })
    .await
}

/// `GET /style.css`.
pub(super) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// Any other path, in the visitor's language.
pub(super) async fn not_found(State(web): State<Web>, headers: HeaderMap) -> Response {
    not_found_page(&web.daemon.context().config, visitor(&headers))
}

fn not_found_page(config: &Config, lang: Lang) -> Response {
    let mut response = render_in(
        config,
        None,
        lang,
        "message.html",
        context! {
            list => Value::from(()),
            heading => lang.say("Page not found", "Página no encontrada"),
            text => lang.say(
                "There is no page here. The list of every list is linked below.",
                "Aquí no hay ninguna página. Abajo encontrará el enlace a todas las listas.",
            ),
        },
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    varies(response)
}

/// `en` or `es`, in the language of `list`'s pages.
pub(super) fn say<'s>(list: Option<&ListConfig>, en: &'s str, es: &'s str) -> &'s str {
    Lang::of_list(list).say(en, es)
}

/// A page that says one thing under a heading (`message.html`).
pub(super) fn message(
    config: &Config,
    list: Option<&ListConfig>,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let facts = list.map(|l| ListFacts::brief(config, l));
    let mut response = render(
        config,
        list,
        "message.html",
        context! { list => minijinja::Value::from(minijinja::value::Serde(&facts)), heading, text },
    );
    *response.status_mut() = status;
    response
}

/// A store that failed: the request is not done, the person should try again
/// (what LMTP says with `451`).
/// In English and Spanish at once: it is what a page says when even its template
/// or its list cannot be read.
pub(super) fn try_later() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Try again later</title></head>\
         <body><main><h1>Try again later</h1><p>Your request could not be recorded just now. \
         Nothing has changed: please try again in a few minutes.</p>\
         <div lang=\"es\"><h2>Vuelva a intentarlo más tarde</h2><p>Ahora mismo no se ha podido \
         registrar su solicitud. No se ha hecho ningún cambio: vuelva a intentarlo dentro de unos \
         minutos.</p></div></main></body></html>\n"
            .to_owned(),
    )
}

/// Renders template `name` (for `list`, whose overrides come first) with `vars` and
/// the site's own (`site`, `root`); a 200 page.
pub(super) fn render(
    config: &Config,
    list: Option<&ListConfig>,
    name: &str,
    vars: Value,
) -> Response {
    render_in(config, list, Lang::of_list(list), name, vars)
}

/// [`render`] in `lang`.
fn render_in(
    config: &Config,
    list: Option<&ListConfig>,
    lang: Lang,
    name: &str,
    vars: Value,
) -> Response {
    let site = context! {
        site => config.server.domain.clone(),
        root => root(config),
        lang => lang.tag(),
    };
    let vars = context! { ..vars, ..site };
    if let Some(list) = list.filter(|l| !l.pages.is_empty()) {
        match environment(Some(list), lang).and_then(|env| env.get_template(name)?.render(&vars)) {
            Ok(html) => return page(StatusCode::OK, html),
            Err(e) => warn!(
                list = list.id.as_str(),
                template = name,
                error = %e,
                "a list's page template fails: the built-in one is used"
            ),
        }
    }
    match environment(None, lang).and_then(|env| env.get_template(name)?.render(&vars)) {
        Ok(html) => page(StatusCode::OK, html),
        Err(e) => {
            warn!(template = name, error = %e, "a built-in page template fails");
            try_later()
        }
    }
}

/// Whether a page template compiles (`listkeeper check`): its syntax, as the pages
/// would read it; the error has the line.
pub(crate) fn compile(name: &str, source: &str) -> Result<(), minijinja::Error> {
    let mut env = Environment::new();
    env.add_template(name, source)
}

/// Whether `name` is one a list may override (`list.html`; not `index.html`).
pub(crate) fn is_page(name: &str) -> bool {
    name != "index.html" && BUILTIN.iter().any(|(n, _)| *n == name)
}

/// The built-in templates in `lang`, and over them a list's own: those of its
/// language's folders (`templates/es/`, then `templates/es-mx/`), then its plain ones.
fn environment(list: Option<&ListConfig>, lang: Lang) -> Result<Environment<'_>, minijinja::Error> {
    let mut env = Environment::new();
    // HTML escaping for every `.html` template (the default, said out loud).
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    let builtin = match lang {
        Lang::En => BUILTIN,
        Lang::Es => BUILTIN_ES,
    };
    for (name, source) in builtin {
        env.add_template(name, source)?;
    }
    let Some(list) = list else {
        return Ok(env);
    };
    // The list's language down to the built-in one: `es-mx`, `es`.
    let chain = crate::lang::chain(None, &list.language);
    let upto = chain
        .iter()
        .position(|t| t == lang.tag())
        .map_or(0, |i| i + 1);
    for tag in chain[..upto].iter().rev() {
        let prefix = format!("{tag}/");
        for (name, source) in &list.pages {
            if let Some(name) = name.strip_prefix(&prefix) {
                env.add_template(name, source.as_str())?;
            }
        }
    }
    for (name, source) in list.pages.iter().filter(|(n, _)| !n.contains('/')) {
        env.add_template(name.as_str(), source.as_str())?;
    }
    Ok(env)
}

/// The path part of `base_url` (`""` at a host's root): what the pages' links and
/// forms start with, so a proxy may serve them under a folder.
fn root(config: &Config) -> String {
    let Some(web) = &config.server.web else {
        return String::new();
    };
    let rest = web.base_url.split_once("://").map_or("", |(_, rest)| rest);
    rest.find('/')
        .map_or_else(String::new, |i| rest[i..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in page has its Spanish one: a Spanish list's page that had none
    /// would fail to render (the member links' `link.html` once did).
    #[test]
    fn every_builtin_page_is_also_in_spanish() {
        let names = |pages: &[(&str, &str)]| {
            let mut names: Vec<String> = pages.iter().map(|(n, _)| (*n).to_owned()).collect();
            names.sort();
            names
        };
        assert_eq!(names(BUILTIN), names(BUILTIN_ES));
        for (name, source) in BUILTIN_ES {
            assert_ne!(
                Some(source),
                BUILTIN.iter().find(|(n, _)| n == name).map(|(_, s)| s),
                "{name}"
            );
        }
    }
}
