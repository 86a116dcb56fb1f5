//! `listkeeper-deliver`: `listkeeper deliver` in a small binary of its own, for the
//! MTA to run once a message.
//!
//! Starting the whole `listkeeper` binary (every command's code, 19 MB, some 30,000
//! relocations) costs more CPU than handing a message to a running daemon does.
//! This one holds only the handoff: it reads `listkeeper.toml` and the message and
//! gives it to the daemon over LMTP; when no daemon of this state folder answers
//! (or `--local` is given) it runs `listkeeper deliver --local` from its own folder
//! in its place (exec), with the message already read as its standard input, so the
//! work is done exactly as `listkeeper deliver` does it.

use super::{DeliverOnly, Envelope, deliver, handoff};
use crate::config::Config;
use crate::error::Classify;
use crate::inbound::{EX_TEMPFAIL, exit_code};
use clap::Parser;
use std::io::{Seek, Write};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

/// The binary's `main`.
pub fn main() -> ExitCode {
    let only = DeliverOnly::parse();
    let Envelope { to, from, local } = &only.envelope;
    if *local {
        return instead(&only, None);
    }
    let (Some(server), _) = Config::load_server(&only.config) else {
        // `listkeeper deliver` says what is wrong with it, and exits 75.
        return instead(&only, None);
    };
    let raw = match deliver::read_message(server.inbound.max_message_size) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("listkeeper: cannot read the message: {e}");
            return ExitCode::from(exit_code(e.severity()));
        }
    };
    match handoff::to_daemon(&server, to, from.as_deref(), &raw) {
        Some(code) => ExitCode::from(code),
        None => instead(&only, Some(&raw)),
    }
}

/// `listkeeper deliver --local` with the same envelope, in this process's place; its
/// standard input the message read (or, when none was, this one's). Returns only
/// when it cannot be started: 75, the MTA retries.
fn instead(only: &DeliverOnly, raw: Option<&[u8]>) -> ExitCode {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_owned()));
    let bin = dir.map_or_else(|| "listkeeper".into(), |d| d.join("listkeeper"));
    let mut command = std::process::Command::new(&bin);
    command
        .args(["deliver", "--local", "--config"])
        .arg(&only.config);
    for to in &only.envelope.to {
        command.arg("--to").arg(to);
    }
    if let Some(from) = &only.envelope.from {
        command.arg("--from").arg(from);
    }
    if let Some(raw) = raw {
        match message_file(raw) {
            Ok(file) => {
                command.stdin(file);
            }
            Err(e) => {
                eprintln!("listkeeper: cannot keep the message for listkeeper deliver: {e}");
                return ExitCode::from(exit_code(e.severity()));
            }
        }
    }
    let e = command.exec();
    eprintln!(
        "listkeeper: cannot run {}: {e}; the MTA will retry",
        bin.display()
    );
    ExitCode::from(EX_TEMPFAIL)
}

/// The message in an unnamed temporary file, read from its start.
fn message_file(raw: &[u8]) -> std::io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    file.write_all(raw)?;
    file.rewind()?;
    Ok(file)
}
