//! Roster benchmark: load time, peak memory and one durable add, at 1k, 100k and 1M members.
//!
//! Run with `cargo bench --bench roster`. Each size runs in a child process of its own
//! so that its peak RSS is its own. Figures are printed, never asserted: the targets
//! (1M members load in < 1 s with peak RSS < 300 MB; one add on 100k durable in
//! < 50 ms) are compared in the output and in README's performance section.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use listkeeper::address::EmailAddress;
use listkeeper::roster::{Member, RosterFile};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::Instant;

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

fn main() {
    if let Ok(size) = std::env::var("LISTKEEPER_BENCH_SIZE") {
        child(size.parse().expect("size"));
        return;
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        SIZES.to_vec()
    } else {
        sizes
    };
    println!(
        "roster benchmark ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>12} {:>14} {:>14}",
        "members", "file MB", "load ms", "peak RSS MB", "RSS MB", "add ms", "add+incl ms"
    );
    for size in sizes {
        let out = Command::new(std::env::current_exe().unwrap())
            .env("LISTKEEPER_BENCH_SIZE", size.to_string())
            .output()
            .expect("run child");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

fn child(size: usize) {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let path = dir.path().join("roster.toml");
    write_roster(&path, size);
    let file_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    reset_peak();
    let base = rss_kb("VmRSS");

    let start = Instant::now();
    let mut roster = RosterFile::open(&path, &Default::default()).unwrap();
    let load = start.elapsed();
    assert_eq!(roster.roster().len(), size, "every member was read");
    let peak = rss_kb("VmHWM").saturating_sub(base);
    let rss = rss_kb("VmRSS").saturating_sub(base);

    let add = median_ms(5, |i| {
        add_one(&mut roster, &format!("bench.add{i}@agency.gov"))
    });
    let include = dir.path().join("members.txt");
    let mut with_include = RosterFile::open(
        &path,
        &listkeeper::roster::Includes {
            mail: Some(include.clone()),
            digest: None,
        },
    )
    .unwrap();
    let add_incl = median_ms(5, |i| {
        add_one(&mut with_include, &format!("bench.incl{i}@agency.gov"))
    });
    assert_eq!(with_include.roster().len(), size + 10, "every add landed");
    println!(
        "{size:>10} {file_mb:>10.1} {:>10.1} {:>12.1} {:>12.1} {add:>14.2} {add_incl:>14.2}",
        load.as_secs_f64() * 1e3,
        peak as f64 / 1024.0,
        rss as f64 / 1024.0,
    );
}

fn add_one(roster: &mut RosterFile, address: &str) {
    let member = Member {
        address: EmailAddress::parse(address).unwrap(),
        name: Some("Bench Person".into()),
        since: Some(toml_datetime::Datetime::from_str("2026-11-25T10:00:00Z").unwrap()),
        via: Some("admin".into()),
        setting: Default::default(),
        request: None,
        terms: None,
        lang: None,
    };
    let added = roster.change(|r| {
        let added = r.add(&member);
        (added, added)
    });
    assert!(added.unwrap());
}

fn median_ms(runs: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn write_roster(path: &Path, size: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "# Members of a benchmark list.\n[members]").unwrap();
    for i in 0..size {
        if i % 1000 == 0 {
            writeln!(out, "\n# batch {}", i / 1000).unwrap();
        }
        writeln!(
            out,
            "\"person.{i}@agency{}.gov\" = {{ name = \"Person {i}\", since = 2026-01-05T10:00:00Z, via = \"email\" }}",
            i % 500
        )
        .unwrap();
    }
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
