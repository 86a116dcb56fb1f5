//! The `listkeeper` binary: parses flags and hands over to [`listkeeper::cli`].

fn main() -> std::process::ExitCode {
    listkeeper::cli::main()
}
