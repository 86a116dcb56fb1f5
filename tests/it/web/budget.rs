//! The budgets a web client meets: the per-client form budget
//! (`posts_per_client_per_hour`), which lives in the web listener's memory (a reload
//! keeps the counts and takes the new cap; only a restart forgets them), and the
//! `[limits]` replies refuse, which `/metrics` counts.

use super::{Server, eventually};

#[test]
fn a_reload_keeps_the_client_counts_and_takes_the_new_cap() {
    let server = Server::start(|t| {
        t.replace(
            "posts_per_client_per_hour = 20",
            "posts_per_client_per_hour = 2",
        )
    });
    let stamp = server.aged_stamp();
    let post = |address: &str| {
        let form = [("address", address), ("website", ""), ("stamp", &stamp)];
        server.post("/lists/sm-cop/subscribe", &form, Some("203.0.113.5"))
    };
    assert_eq!(post("a1@agency.gov").status, 200);
    assert_eq!(post("a2@agency.gov").status, 200);
    assert_eq!(post("a3@agency.gov").status, 429);

    // The same cap, reloaded: the client is still over it.
    let file = server.tmp.path().join("config/listkeeper.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n# touched\n")).unwrap();
    assert!(
        eventually(|| server.log().contains("reloaded")),
        "{}",
        server.log()
    );
    assert_eq!(
        post("a4@agency.gov").status,
        429,
        "a reload forgets no count"
    );

    // A cap of 3, reloaded: one more post, then over again.
    let before = server.log().matches("reloaded").count();
    let raised = text.replace(
        "posts_per_client_per_hour = 2",
        "posts_per_client_per_hour = 3",
    );
    std::fs::write(&file, raised).unwrap();
    assert!(eventually(
        || server.log().matches("reloaded").count() > before
    ));
    assert_eq!(post("a5@agency.gov").status, 200, "the new cap is in force");
    assert_eq!(post("a6@agency.gov").status, 429);
}

/// Issue 15: `/metrics` counts the replies `[limits]` refused, by limit.
#[test]
fn metrics_count_the_replies_the_limits_refused() {
    let server = Server::start(|t| t.replace("replies_per_hour = 5000", "replies_per_hour = 1"));
    let series = |text: &str, limit: &str| -> Option<u64> {
        let name = format!("listkeeper_replies_rate_limited_total{{limit=\"{limit}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&name))?;
        line[name.len()..].parse().ok()
    };
    let before = server.get("/metrics").body;
    assert!(
        before.contains("# TYPE listkeeper_replies_rate_limited_total counter"),
        "{before}"
    );
    for limit in ["address", "commands", "domain", "total"] {
        assert_eq!(series(&before, limit), Some(0), "{limit}: {before}");
    }
    let stamp = server.aged_stamp();
    for address in ["a1@agency.gov", "a2@agency.gov", "a3@agency.gov"] {
        let form = [("address", address), ("website", ""), ("stamp", &stamp)];
        let sent = server.post("/lists/sm-cop/subscribe", &form, None);
        assert_eq!(sent.status, 200, "the page is the same: {}", sent.body);
    }
    let after = server.get("/metrics").body;
    assert_eq!(series(&after, "total"), Some(2), "{after}");
    assert_eq!(series(&after, "address"), Some(0), "{after}");
    assert!(
        eventually(|| server.mails().len() == 1),
        "one reply went out"
    );
    assert_eq!(
        server.audit().matches("rate-limit:total").count(),
        2,
        "{}",
        server.audit()
    );
}
