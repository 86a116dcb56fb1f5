//! THE WEB SIDE: list pages, subscribe and unsubscribe forms, and confirmation links
//! that only a button press carries out (`[web]` in listkeeper.toml turns it on).
//!
//! ```text
//! GET  /                      every list              pages
//! GET  /lists/ID              one list, its forms     pages
//! POST /lists/ID/subscribe    a confirmation mail     forms → actions::subscribe
//! POST /lists/ID/unsubscribe  a confirmation mail     forms → actions::unsubscribe
//! GET  /confirm/TOKEN         what it would do        confirm → actions::preview (changes nothing)
//! POST /confirm/TOKEN         carries it out          confirm → actions::confirm
//! GET  /u/TOKEN               a member's leave link   links (changes nothing)
//! POST /u/TOKEN               RFC 8058 one-click      links → actions::linked::leave
//! GET  /undo/TOKEN            a goodbye's undo link   links (changes nothing)
//! POST /undo/TOKEN            joins again             links → actions::linked::undo
//! GET  /healthz, /style.css
//! GET  /metrics               Prometheus text         metrics (loopback, or metrics_listen)
//! ```
//!
//! Front ends know protocols, not lists: the handlers turn HTTP into action requests
//! and outcomes into pages and status codes. What a request changes goes through the
//! same actions, `[limits]`, audit log and commit as mail, so a `200` for a POST means
//! what LMTP's `250` means: the outcome is durable. Every response carries strict
//! security headers, and the access log never shows a token.

mod confirm;
mod forms;
mod links;
mod metrics;
mod pages;
mod stamp;

pub(crate) use pages::{compile, is_page};

use crate::config::Listen;
use crate::context::Context;
use crate::limits::ClientBudget;
use crate::replies::Replies;
use axum::Router;
use axum::extract::connect_info::Connected;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::IncomingStream;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{info, warn};

/// The largest request body taken (a form is well under 1 KiB).
const BODY_LIMIT: usize = 16 * 1024;
/// How long one request may take, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the web front end needs of the daemon (which implements it): the context in
/// force, read afresh by each request (a reload changes it), and a nudge to the
/// sender once replies are queued. Front ends know protocols, not the daemon.
pub(crate) trait Desk: Send + Sync + 'static {
    /// The configuration and stores in force.
    fn context(&self) -> Arc<Context>;
    /// Replies were queued: time to send.
    fn replies_queued(&self);
}

/// What the handlers share: the daemon, through [`Desk`], and the per-client form
/// budget.
#[derive(Clone)]
struct Web {
    daemon: Arc<dyn Desk>,
    clients: Arc<ClientBudget>,
    counters: Arc<metrics::Counters>,
}

/// Binds `[web] listen` when `[web]` is configured and serves the pages until
/// `shutdown`; the returned task ends once the requests in hand are answered.
pub(crate) async fn spawn(
    daemon: Arc<dyn Desk>,
    shutdown: CancellationToken,
) -> io::Result<Option<JoinHandle<()>>> {
    let Some(web) = daemon.context().config.server.web.clone() else {
        return Ok(None);
    };
    let state = Web {
        daemon,
        clients: Arc::new(ClientBudget::default()),
        counters: Arc::new(metrics::Counters::default()),
    };
    let scrapes = match web.metrics_listen {
        Some(addr) => Some(spawn_metrics(state.clone(), addr, shutdown.clone()).await?),
        None => None,
    };
    let app = router(state);
    let done = shutdown.cancelled_owned();
    let task = match &web.listen {
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("web listen {addr}: {e}")))?;
            let at = listener.local_addr()?;
            info!(address = %at, base_url = %web.base_url, "listkeeper is serving the web pages");
            let app = app.into_make_service_with_connect_info::<Peer>();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(done)
                    .await
                {
                    warn!(error = %e, "the web listener stopped");
                }
            })
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path).map_err(|e| {
                io::Error::new(e.kind(), format!("web listen unix:{}: {e}", path.display()))
            })?;
            info!(address = %format!("unix:{}", path.display()), base_url = %web.base_url, "listkeeper is serving the web pages");
            let app = app.into_make_service_with_connect_info::<Peer>();
            let path = path.clone();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(done)
                    .await
                {
                    warn!(error = %e, "the web listener stopped");
                }
                let _ = std::fs::remove_file(path);
            })
        }
    };
    Ok(Some(match scrapes {
        Some(scrapes) => tokio::spawn(async move {
            let _ = task.await;
            let _ = scrapes.await;
        }),
        None => task,
    }))
}

/// Binds `metrics_listen` and serves `/metrics` alone there until `shutdown`.
async fn spawn_metrics(
    web: Web,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("web metrics_listen {addr}: {e}")))?;
    info!(address = %listener.local_addr()?, "listkeeper is serving /metrics");
    let app = Router::new()
        .route("/metrics", get(metrics::listener))
        .with_state(web);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            warn!(error = %e, "the metrics listener stopped");
        }
    }))
}

fn router(web: Web) -> Router {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    let mut app = Router::new()
        .route("/", get(pages::index))
        .route("/style.css", get(pages::style))
        .route("/healthz", get(healthz))
        .route("/lists/{id}", get(pages::list))
        .route(
            "/lists/{id}/subscribe",
            axum::routing::post(forms::subscribe),
        )
        .route("/lists/{id}/set", axum::routing::post(forms::set))
        .route(
            "/lists/{id}/unsubscribe",
            axum::routing::post(forms::unsubscribe),
        )
        .route(
            "/confirm/{token}",
            get(confirm::show).post(confirm::carry_out),
        )
        .route("/metrics", get(metrics::main))
        .route("/u/{token}", get(links::leave_page).post(links::leave))
        .route("/undo/{token}", get(links::undo_page).post(links::undo))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            metrics::count,
        ))
        .with_state(web)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    // Outermost, so every response is logged, with its path's token hidden.
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request<_>| {
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %redact(request.uri().path()),
                )
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// A path as the access log shows it: a token in it is replaced by `…`.
fn redact(path: &str) -> String {
    for prefix in ["/confirm/", "/u/", "/undo/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}…");
        }
    }
    path.chars().take(200).collect()
}

/// Runs blocking work (the stores read and write files, the commit fsyncs) off the
/// runtime's threads.
async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(response) => response,
        Err(e) => {
            warn!(error = %e, "a web request's task failed");
            pages::try_later()
        }
    }
}

/// Renders the replies within the budgets and makes everything the request wrote
/// durable (the commit), then wakes the sender. Only after this may a POST say 200.
fn commit(
    daemon: &dyn Desk,
    ctx: &Context,
    replies: Replies,
    now: u64,
) -> crate::actions::Result<()> {
    let done = replies.finish(ctx, None, now)?;
    if done.mails.is_empty() {
        return Ok(ctx.sync()?);
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(io::Error::other)?;
    let key = data_encoding::HEXLOWER.encode(&id);
    crate::commit::commit(ctx, format!("web-{key}"), done.list, done.mails, now)?;
    daemon.replies_queued();
    Ok(())
}

/// The client as the socket sees it: its IP address over TCP, none over a Unix
/// socket (where only a local proxy can connect).
#[derive(Debug, Clone, Copy)]
struct Peer(Option<IpAddr>);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Peer {
        Peer(Some(stream.remote_addr().ip()))
    }
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(_: IncomingStream<'_, UnixListener>) -> Peer {
        Peer(None)
    }
}

/// The client's address as the configuration in force trusts proxies ([`client`]).
fn client_under(config: &crate::config::Config, peer: Peer, headers: &HeaderMap) -> IpAddr {
    let trusted = config
        .server
        .web
        .as_ref()
        .map_or(&[][..], |w| &w.trusted_proxies[..]);
    client(peer, headers, trusted)
}

/// The client's address: the socket's, unless the socket is a trusted proxy (or a
/// Unix socket), whose `X-Forwarded-For` is then read from the right, past every
/// trusted proxy, to the first address that is not one.
fn client(peer: Peer, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut client = match peer.0 {
        Some(ip) if !trusted.contains(&ip) => return ip,
        Some(ip) => ip,
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let forwarded = headers
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in forwarded.into_iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    client
}

/// Binds a Unix socket, replacing one a previous run left behind; who may connect is
/// decided by the permissions of its folder (the proxy runs as another user).
fn bind_unix(path: &std::path::Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// A page's response with its status.
fn page(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let outsider: IpAddr = "192.0.2.5".parse().unwrap();
        // From a client that is not a proxy: the header is its own word, ignored.
        assert_eq!(client(Peer(Some(outsider)), &headers, &[proxy]), outsider);
        // From the proxy: its last hop is the client.
        assert_eq!(
            client(Peer(Some(proxy)), &headers, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A chain of trusted proxies is walked past.
        let inner: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            client(Peer(Some(proxy)), &headers, &[proxy, inner]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Garbage stops the walk at the last address believed.
        headers.insert("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(client(Peer(Some(proxy)), &headers, &[proxy]), proxy);
    }

    #[test]
    fn tokens_never_reach_the_access_log() {
        assert_eq!(
            redact("/confirm/k1abcdefabcdefabcdabcdefabcdefabcd"),
            "/confirm/…"
        );
        assert_eq!(redact("/u/k1abcdefabcdefabcdmnxw2"), "/u/…");
        assert_eq!(redact("/undo/k1abcdefabcdefabcdmnxw2"), "/undo/…");
        assert_eq!(redact("/lists/sm-cop"), "/lists/sm-cop");
    }
}
