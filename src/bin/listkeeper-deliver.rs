//! The `listkeeper-deliver` binary: `listkeeper deliver` as a small program of its
//! own, for an MTA's pipe transport ([`listkeeper::cli::front`]).

fn main() -> std::process::ExitCode {
    listkeeper::cli::front::main()
}
