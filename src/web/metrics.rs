//! `GET /metrics`: Prometheus text exposition of what an operator graphs and alerts
//! on: web requests by outcome, rate-limited forms, replies refused by `[limits]`,
//! and, read afresh at each scrape,
//! each list's members, pending and held requests, and the outbox's depth, oldest
//! reply and failures.
//!
//! Written by hand: a dozen series in the plain text format (stable since
//! Prometheus 0.4), where a metrics crate would bring a registry and its
//! dependencies for no more than `format!`.
//!
//! Served on the main listener only to a loopback client (the address as
//! [`super::client`] resolves it, so a request a trusted proxy forwards from
//! outside is refused), or, with `metrics_listen` set, only on that listener.

use super::{Peer, Web, blocking, client};
use crate::context::Context;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The outcomes web requests are counted by.
const OUTCOMES: [&str; 5] = [
    "ok",
    "redirect",
    "client_error",
    "rate_limited",
    "server_error",
];

/// The counters the web front end keeps since the daemon started.
#[derive(Debug, Default)]
pub(super) struct Counters {
    requests: [AtomicU64; 5],
}

impl Counters {
    /// Counts one response by its status.
    fn count(&self, status: StatusCode) {
        let i = match status.as_u16() {
            429 => 3,
            s if s >= 500 => 4,
            s if s >= 400 => 2,
            s if s >= 300 => 1,
            _ => 0,
        };
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The layer that counts every response.
pub(super) async fn count(State(web): State<Web>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    web.counters.count(response.status());
    response
}

/// Whether the main listener serves `/metrics` to `client`: only without
/// `metrics_listen`, and only to loopback.
pub(super) fn allowed(metrics_listen: bool, client: IpAddr) -> bool {
    let loopback = match client {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        IpAddr::V4(v4) => v4.is_loopback(),
    };
    !metrics_listen && loopback
}

/// `GET /metrics` on the main listener.
pub(super) async fn main(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let ctx = web.daemon.context();
    let Some(settings) = ctx.config.server.web.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let client = client(peer, &headers, &settings.trusted_proxies);
    if !allowed(settings.metrics_listen.is_some(), client) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are served to loopback only\n",
        )
            .into_response();
    }
    serve(web).await
}

/// `GET /metrics` on `metrics_listen`.
pub(super) async fn listener(State(web): State<Web>) -> Response {
    serve(web).await
}

async fn serve(web: Web) -> Response {
    blocking(move || {
        let ctx = web.daemon.context();
        let text = exposition(&ctx, &web.counters, crate::clock::unix_now());
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response()
    })
    .await
}

/// The text exposition. A store that cannot be read leaves its series out (and
/// `listkeeper_scrape_errors` says how many).
fn exposition(ctx: &Context, counters: &Counters, now: u64) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "listkeeper_web_requests_total",
        "counter",
        "Web requests answered, by outcome (rate_limited: a client over its form budget).",
    );
    for (outcome, n) in OUTCOMES.iter().zip(&counters.requests) {
        let n = n.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "listkeeper_web_requests_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
    family(
        &mut out,
        "listkeeper_replies_rate_limited_total",
        "counter",
        "Replies not sent because a [limits] budget was spent, by limit (each has an audit line).",
    );
    for (over, n) in ctx.limiter.dropped() {
        let limit = over.as_str().trim_start_matches("rate-limit:");
        let _ = writeln!(
            out,
            "listkeeper_replies_rate_limited_total{{limit=\"{limit}\"}} {n}"
        );
    }
    let errors = lists(&mut out, ctx) + outbox(&mut out, ctx, now);
    family(
        &mut out,
        "listkeeper_scrape_errors",
        "gauge",
        "Stores this scrape could not read.",
    );
    let _ = writeln!(out, "listkeeper_scrape_errors {errors}");
    out
}

/// `# HELP` and `# TYPE` of a metric.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Each list's members, pending and held requests; the stores that failed.
fn lists(out: &mut String, ctx: &Context) -> u64 {
    let mut errors = 0;
    family(out, "listkeeper_members", "gauge", "Members of each list.");
    for list in ctx.config.lists.values() {
        match ctx.roster(list).map(|r| r.count()) {
            Ok(Ok(n)) => {
                let _ = writeln!(out, "listkeeper_members{{list=\"{}\"}} {n}", list.id);
            }
            _ => errors += 1,
        }
    }
    for (name, store, help) in [
        (
            "listkeeper_pending_requests",
            &ctx.pending,
            "Requests waiting for their address's confirmation.",
        ),
        (
            "listkeeper_held_requests",
            &ctx.held,
            "Requests waiting for the owners.",
        ),
    ] {
        family(out, name, "gauge", help);
        for list in ctx.config.lists.values() {
            match store.all(list.id.as_str()) {
                Ok(all) => {
                    let _ = writeln!(out, "{name}{{list=\"{}\"}} {}", list.id, all.len());
                }
                Err(_) => errors += 1,
            }
        }
    }
    errors
}

/// The outbox's depth, oldest reply and failures; 1 when it cannot be read.
fn outbox(out: &mut String, ctx: &Context, now: u64) -> u64 {
    let (Ok(waiting), Ok(failed)) = (ctx.outbox.list(), ctx.outbox.failed()) else {
        return 1;
    };
    let oldest = waiting
        .iter()
        .map(|b| now.saturating_sub(b.created))
        .max()
        .unwrap_or(0);
    let retrying = waiting.iter().filter(|b| b.attempts > 0).count();
    for (name, help, value) in [
        (
            "listkeeper_outbox_waiting",
            "Replies waiting to be sent.",
            waiting.len() as u64,
        ),
        (
            "listkeeper_outbox_oldest_seconds",
            "Age of the oldest reply waiting (0 when none).",
            oldest,
        ),
        (
            "listkeeper_outbox_retrying",
            "Replies waiting whose sending failed at least once.",
            retrying as u64,
        ),
        (
            "listkeeper_outbox_failed",
            "Replies the SMTP server refused for good (listkeeper outbox lists them).",
            failed.len() as u64,
        ),
    ] {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_only_without_a_metrics_listener() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(allowed(false, ip("127.0.0.1")));
        assert!(allowed(false, ip("::1")));
        assert!(allowed(false, ip("::ffff:127.0.0.1")));
        assert!(!allowed(false, ip("203.0.113.9")));
        assert!(!allowed(false, ip("::ffff:203.0.113.9")));
        assert!(
            !allowed(true, ip("127.0.0.1")),
            "metrics_listen takes them off the main listener"
        );
    }

    #[test]
    fn responses_are_counted_by_outcome() {
        let c = Counters::default();
        for s in [200, 200, 303, 404, 429, 503] {
            c.count(StatusCode::from_u16(s).unwrap());
        }
        let n: Vec<u64> = c
            .requests
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect();
        assert_eq!(n, [2, 1, 1, 1, 1]);
    }
}
