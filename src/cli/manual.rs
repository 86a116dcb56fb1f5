//! `listkeeper init --print man --out DIR` and `--print completions --shell SHELL`:
//! the man pages (one per subcommand, from the clap definitions, through clap_mangen,
//! and the two of section 5 from [`super::reference`]) and the shell completions
//! (clap_complete). The Debian package installs both (`debian/build`).

use super::reference;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::Path;

/// Writes `DIR/man1/listkeeper*.1` and `DIR/man5/{listkeeper.toml,list.toml}.5`.
pub(super) fn write_man(dir: &Path) -> Result<()> {
    let man1 = dir.join("man1");
    let man5 = dir.join("man5");
    for d in [&man1, &man5] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    clap_mangen::generate_to(super::Args::command(), &man1)
        .with_context(|| format!("cannot write the man pages into {}", man1.display()))?;
    for (name, text) in reference::pages(env!("CARGO_PKG_VERSION")) {
        let path = man5.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote the man pages into {}", dir.display());
    Ok(())
}

/// Prints the completion script for `shell` on standard output.
pub(super) fn print_completions(shell: clap_complete::Shell) {
    let mut command = super::Args::command();
    clap_complete::generate(shell, &mut command, "listkeeper", &mut std::io::stdout());
}
