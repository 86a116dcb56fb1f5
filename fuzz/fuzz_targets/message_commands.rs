//! Arbitrary mail through the parser and the command reader, for every kind of
//! recipient: never a panic, and nothing that could break a header comes out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listkeeper::config::Config;
use listkeeper::route::Route;
use std::sync::OnceLock;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config"))
            .expect("the example config")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(incoming) = listkeeper::message::parse(data, 1 << 20) else {
        return;
    };
    for text in [&incoming.subject]
        .into_iter()
        .chain(incoming.from_name.iter())
        .chain(incoming.message_id.iter())
    {
        assert!(!text.contains(['\r', '\n', '\0']), "{text:?}");
    }
    let list = config().lists.keys().next().cloned().expect("a list");
    for route in [
        Route::Request(list.clone()),
        Route::Command,
        Route::Subscribe(list),
    ] {
        let commands = listkeeper::command::commands(config(), &route, &incoming);
        assert!(commands.len() <= 21);
    }
});
