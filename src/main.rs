//! The `listkeeper` binary: parses flags and hands over to [`listkeeper::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    listkeeper::cli::run(listkeeper::cli::Args::parse())
}
