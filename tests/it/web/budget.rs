//! The per-client form budget (`posts_per_client_per_hour`) lives in the web
//! listener's memory: a reload of the configuration keeps the counts and takes the
//! new cap; only a restart forgets them (docs: why it is not in `limits.log`).

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
