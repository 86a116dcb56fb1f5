//! Import and sync benchmark: the built binary on a copy of `config/`, at 1M members.
//!
//! Run with `cargo bench --bench import` (sizes may follow: `-- 100000 1000000`).
//! For each size it writes a CSV of that many members, then times, each as one run
//! of `listkeeper`: `import csv` of the whole file into a new list; `sync` of the
//! same file into an empty list (every member added); and a second `sync` whose
//! source drops 1% and adds 1% (removals under the 10% cap). Figures are printed,
//! never asserted; README's performance section quotes them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_listkeeper");
const SIZES: [usize; 2] = [100_000, 1_000_000];

fn main() {
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
        "import benchmark ({} cores): seconds for one run of the binary, fsyncs included",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>10} {:>10} {:>12} {:>14} {:>16} {:>12}",
        "members", "CSV MB", "import s", "sync (all) s", "sync (1%+1%) s", "roster MB"
    );
    for size in sizes {
        run(size);
    }
}

fn run(size: usize) {
    let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "target".into()))
        .unwrap();
    let config = tmp.path().join("config");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &config,
    );
    let csv = tmp.path().join("members.csv");
    write_csv(&csv, 0..size);
    let csv_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;

    let import = time(
        &config,
        &[
            "import",
            "csv",
            csv.to_str().unwrap(),
            "--list",
            "big",
            "--owner",
            "o@agency.gov",
        ],
    );

    // An empty list to sync into.
    let empty = tmp.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    time(
        &config,
        &[
            "import",
            "csv",
            empty.to_str().unwrap(),
            "--list",
            "synced",
            "--owner",
            "o@agency.gov",
        ],
    );
    let sync_all = time(
        &config,
        &["sync", "synced", csv.to_str().unwrap(), "--name", "hr"],
    );

    let step = size / 100;
    let next = tmp.path().join("next.csv");
    write_csv(&next, step..size + step);
    let sync_delta = time(
        &config,
        &["sync", "synced", next.to_str().unwrap(), "--name", "hr"],
    );
    let roster_mb = std::fs::metadata(config.join("lists/synced/roster.toml"))
        .unwrap()
        .len() as f64
        / 1e6;
    println!(
        "{size:>10} {csv_mb:>10.1} {:>12.2} {:>14.2} {:>16.2} {roster_mb:>12.1}",
        import.as_secs_f64(),
        sync_all.as_secs_f64(),
        sync_delta.as_secs_f64()
    );
}

fn time(config: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn write_csv(path: &Path, range: std::ops::Range<usize>) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "email,name").unwrap();
    for i in range {
        writeln!(out, "person{i}@agency{}.gov,Person {i}", i % 97).unwrap();
    }
    out.flush().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
