//! The mlmmj list the bench's mlmmj mode subscribes to.

use std::path::{Path, PathBuf};

/// An mlmmj list directory for `sm-cop`, relaying to the sink on `port`.
pub fn mlmmj_list(root: &Path, port: u16) -> PathBuf {
    let list = root.join("sm-cop");
    for dir in [
        "incoming",
        "queue/discarded",
        "archive",
        "text",
        "subconf",
        "unsubconf",
        "bounce",
        "control",
        "moderation",
        "subscribers.d",
        "digesters.d",
        "nomailsubs.d",
        "requeue",
        "index",
    ] {
        std::fs::create_dir_all(list.join(dir)).unwrap();
    }
    for (file, text) in [
        ("listaddress", format!("sm-cop@{}\n", crate::D)),
        ("owner", "owner@bench.gov\n".to_owned()),
        ("relayhost", "127.0.0.1\n".to_owned()),
        ("smtpport", format!("{port}\n")),
    ] {
        std::fs::write(list.join("control").join(file), text).unwrap();
    }
    list
}
