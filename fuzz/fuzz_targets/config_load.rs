//! Arbitrary listkeeper.toml and list.toml: loading reports problems, never panics,
//! and every problem names its file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (server, list) = text
        .split_once("\n---\n")
        .unwrap_or((&text, "id = \"l\"\nterms = \"t\"\nowners = [\"o@x.gov\"]\n"));
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("listkeeper.toml"), server).expect("write");
    std::fs::create_dir_all(dir.path().join("lists/l")).expect("mkdir");
    std::fs::write(dir.path().join("lists/l/list.toml"), list).expect("write");
    if let Err(problems) = listkeeper::config::Config::load(dir.path()) {
        assert!(problems.iter().all(|p| p.file.starts_with(dir.path())));
    }
});
