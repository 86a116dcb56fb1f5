//! The command line (docs/reference.md, section 7): flags, and the exit code of each outcome.
//!
//! Exit codes: 0 ok, 1 a problem reported to the user, 2 usage (clap's own).
//! Errors here are `anyhow` chains, printed with `{:#}` so the user sees every cause.

mod admin;
mod bounces;
mod check;
mod deliver;
pub mod front;
mod handoff;
mod init;
mod links;
mod manual;
mod migrate;
mod moderate;
mod outbox;
mod person;
mod progress;
mod reference;
mod serve;
mod status;
mod summary;
mod sync;

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// listkeeper: the subscription side of email lists.
#[derive(Debug, Parser)]
#[command(name = "listkeeper", version, about)]
pub struct Args {
    /// The configuration directory (optional: the environment, then the default).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "LISTKEEPER_CONFIG",
        default_value = "/etc/listkeeper"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: CliCommand,
}

/// `deliver`'s own flags.
#[derive(Debug, clap::Args)]
pub struct Envelope {
    /// The envelope recipient (may be given more than once).
    #[arg(long, required = true)]
    to: Vec<String>,
    /// The envelope sender; '' is the null sender, absent means unknown.
    #[arg(long)]
    from: Option<String>,
    /// Do the work in this process even when a daemon serving the same state
    /// folder answers on inbound.lmtp (by default the message is handed to it).
    #[arg(long)]
    local: bool,
}

// `listkeeper deliver …` read on its own: what an MTA runs for every message, so
// clap builds this one command rather than the whole tree of them (which was a
// fifth of a `deliver`'s CPU). Also `listkeeper-deliver`'s command line.
/// MTA pipe mode: handle one message from standard input (sysexits exit codes).
#[derive(Debug, Parser)]
#[command(name = "listkeeper-deliver", version)]
struct DeliverOnly {
    /// The configuration directory (optional: the environment, then the default).
    #[arg(
        long,
        value_name = "DIR",
        env = "LISTKEEPER_CONFIG",
        default_value = "/etc/listkeeper"
    )]
    config: PathBuf,
    #[command(flatten)]
    envelope: Envelope,
}

/// The binary's `main`: `deliver` by its own parser when the command line starts
/// with it, every other command line (and any `deliver` that parser does not take,
/// `--help` included) by the whole one.
pub fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "deliver")
        && let Ok(only) = DeliverOnly::try_parse_from(std::env::args_os().skip(1))
    {
        let Envelope { to, from, local } = only.envelope;
        return ExitCode::from(deliver::run(&only.config, &to, from.as_deref(), local));
    }
    run(Args::parse())
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Validate listkeeper.toml, every list.toml and every roster; report all problems.
    Check,
    /// Write a configuration to start from into DIR: one list, no members, state in
    /// /var/lib/listkeeper (or, with --print, show the Postfix lines, the Postfix
    /// recipients table or the systemd unit, for the configuration in --config).
    Init {
        /// The folder to create (with --print: the configuration to print for,
        /// instead of --config).
        #[arg(required_unless_present = "print")]
        dir: Option<PathBuf>,
        /// The mail domain of the lists, the host part of every list address (needed
        /// to write DIR).
        #[arg(long)]
        domain: Option<String>,
        /// The daemon's state folder, named in DIR/listkeeper.toml.
        #[arg(long, value_name = "DIR", default_value = "/var/lib/listkeeper")]
        state_dir: PathBuf,
        /// The id of the list to write.
        #[arg(long, value_name = "ID", default_value = "announce")]
        list: String,
        /// The list's owner (without it, a placeholder to replace).
        #[arg(long, value_name = "ADDRESS")]
        owner: Option<String>,
        /// Print a snippet instead of writing a folder.
        #[arg(long, value_enum)]
        print: Option<init::Snippet>,
        /// With --print man: the folder to write the man pages into (man1/, man5/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// With --print completions: the shell.
        #[arg(long, value_enum)]
        shell: Option<clap_complete::Shell>,
    },
    /// Show all listkeeper holds on one address: lists, requests, limit counters,
    /// audit lines.
    Person {
        /// The address.
        address: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Erase one address: off every roster, its requests cancelled, its audit lines
    /// keeping only a keyed hash, the hash kept in the suppression list.
    Erase {
        /// The address.
        address: String,
    },
    /// Show every list: addresses, policy, terms and member count.
    Lists {
        /// Print JSON for a web page or a script.
        #[arg(long)]
        json: bool,
    },
    /// Show the members of a list.
    Members {
        /// The list id.
        list: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only the members who agreed to terms other than the list's current ones.
        #[arg(long)]
        older_terms: bool,
    },
    /// Show a list's bounces: members' scores, members nomail for bounces (notices
    /// sent, what comes next) and incidents.
    Bounces {
        /// The list id.
        list: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the List-Unsubscribe and List-Unsubscribe-Post headers a posting system
    /// puts on list mail to one member (the member's one-click link, RFC 8058).
    UnsubscribeLink {
        /// The list id.
        list: String,
        /// The member's address.
        address: String,
    },
    /// Print the envelope sender (return path) a posting system gives list mail to one
    /// member: L-bounces+TAG@D, so that bounces of that mail count (good for 30 days).
    ReturnPath {
        /// The list id.
        list: String,
        /// The member's address.
        address: String,
    },
    /// Add a member without confirmation (recorded as via=admin).
    Add {
        /// The list id.
        list: String,
        /// The address to add.
        address: String,
        /// The member's display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a member.
    Remove {
        /// The list id.
        list: String,
        /// The address to remove.
        address: String,
    },
    /// Set how a member gets the list's mail: mail, digest or nomail (recorded as
    /// why=owner; no confirmation).
    Set {
        /// The list id.
        list: String,
        /// The member's address.
        address: String,
        /// mail, digest or nomail.
        mode: String,
        /// For nomail: the day mail resumes by itself (YYYY-MM-DD, at 00:00 UTC).
        #[arg(long)]
        until: Option<String>,
    },
    /// The daemon: LMTP, and the outbox sender. Stops on SIGTERM, reloads on SIGHUP.
    Serve {
        /// How log lines are written to standard error.
        #[arg(long, value_enum, default_value = "human")]
        log_format: serve::LogFormat,
    },
    /// MTA pipe mode: handle one message from standard input (sysexits exit codes).
    Deliver(Envelope),
    /// Show the replies waiting to be sent and those refused for good; --retry sends
    /// the waiting ones now.
    Outbox {
        /// Try to send every queued reply now.
        #[arg(long, conflicts_with_all = ["retry_failed", "drop"])]
        retry: bool,
        /// Queue a reply refused for good (an ID `outbox` lists as failed) again, and
        /// try it now.
        #[arg(long, value_name = "ID", conflicts_with = "drop")]
        retry_failed: Option<String>,
        /// Delete a reply refused for good (an ID `outbox` lists as failed).
        #[arg(long, value_name = "ID")]
        drop: Option<String>,
    },
    /// Whether anything is stuck: the daemon, each list's members, pending and held
    /// requests, the outbox, rate-limit drops, the state log. Exits 1 when a reply has
    /// waited longer than --max-wait or the daemon does not answer (a monitoring check).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How long a reply may wait in the outbox before status exits 1.
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
        max_wait: std::time::Duration,
    },
    /// Show the requests held for the owners of a list (and those awaiting confirmation).
    Pending {
        /// The list id.
        list: String,
    },
    /// Approve a held request: add the member and welcome them.
    Approve {
        /// The list id.
        list: String,
        /// The address whose request is held.
        address: String,
    },
    /// Reject a held request; the person is told the reason.
    Reject {
        /// The list id.
        list: String,
        /// The address whose request is held.
        address: String,
        /// What the person is told.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Queue the owners' daily summaries that are due (a day after each list's last)
    /// and the reminders of held requests, and try to send them; the daemon does this
    /// by itself every ten minutes.
    NotifyOwners {
        /// Every `notify = "daily"` list's summary now, due or not (none when empty).
        #[arg(long)]
        now: bool,
    },
    /// Say which rule matches an address and what a request from it would do.
    Explain {
        /// The list id.
        list: String,
        /// The address to explain.
        address: String,
        /// Assume the sender's mail passed DKIM or SPF (for `authenticated` rules).
        #[arg(long)]
        authenticated: bool,
    },
    /// Create a list from another list manager's files (or, with --merge, add their
    /// members to an existing list); prints what it does, and --dry-run writes nothing.
    Import {
        /// The source's format.
        #[arg(value_enum)]
        format: migrate::ImportFormat,
        /// The source file.
        path: PathBuf,
        /// The id of the list to write (lists/ID).
        #[arg(long, value_name = "ID")]
        list: String,
        /// Show what would be done; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Add the members to the list ID, which exists; its list.toml is kept.
        #[arg(long)]
        merge: bool,
        /// Import the members that read, leaving out the lines that do not.
        #[arg(long)]
        skip_invalid: bool,
        /// An owner of the new list, besides those the source names (may be given
        /// more than once; needed when the source names none, as a CSV does).
        #[arg(long, value_name = "ADDRESS")]
        owner: Vec<String>,
    },
    /// Make the members a source added equal that source (a CSV or one address a line;
    /// - for standard input). Never removes members who joined another way.
    Sync {
        /// The list id.
        list: String,
        /// The source file, or - for standard input.
        source: String,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Refuse to remove more than this share of the sync's own members.
        #[arg(long, value_name = "N%", default_value = "10%", value_parser = crate::import::sync::parse_percent)]
        max_removals: f64,
        /// The sync's name, recorded as via = "sync:NAME" (default: the file's stem).
        #[arg(long)]
        name: Option<String>,
        /// Remove past --max-removals.
        #[arg(long)]
        force: bool,
        /// Mail a welcome to each member added and a goodbye to each removed.
        #[arg(long)]
        notify: bool,
    },
    /// Write a list's members to standard output, for another tool.
    Export {
        /// The list id.
        list: String,
        /// The format.
        #[arg(long, value_enum)]
        format: crate::import::export::Format,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn run(args: Args) -> ExitCode {
    let dir = args.config.as_path();
    // Commands that only print end quietly when their reader goes away
    // (`listkeeper members L | head`), as other Unix tools do, rather than panic on
    // the broken pipe. Not those that speak SMTP or LMTP: a peer that closes its
    // socket must be an error there, never a signal that kills the process.
    if matches!(
        args.command,
        CliCommand::Check
            | CliCommand::Init { .. }
            | CliCommand::Lists { .. }
            | CliCommand::Members { .. }
            | CliCommand::Bounces { .. }
            | CliCommand::UnsubscribeLink { .. }
            | CliCommand::ReturnPath { .. }
            | CliCommand::Pending { .. }
            | CliCommand::Explain { .. }
            | CliCommand::Export { .. }
    ) {
        sigpipe::reset();
    }
    let result = match args.command {
        CliCommand::Check => return check::run(dir),
        CliCommand::Serve { log_format } => serve::run(dir, log_format),
        CliCommand::Deliver(Envelope { to, from, local }) => {
            return ExitCode::from(deliver::run(dir, &to, from.as_deref(), local));
        }
        CliCommand::Outbox {
            retry,
            retry_failed,
            drop,
        } => load(dir, None).and_then(|c| match (retry_failed, drop) {
            (Some(key), _) => outbox::retry_failed(&c, &key),
            (None, Some(key)) => outbox::drop_failed(&c, &key),
            (None, None) => outbox::run(&c, retry),
        }),
        CliCommand::Status { json, max_wait } => {
            return match load(dir, None).and_then(|c| status::run(&c, json, max_wait)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("listkeeper: {}", chain(&e));
                    ExitCode::from(1)
                }
            };
        }
        CliCommand::NotifyOwners { now } => {
            load(dir, None).and_then(|c| moderate::notify_owners(c, now))
        }
        CliCommand::Pending { list } => {
            load(dir, Some(&list)).and_then(|c| moderate::pending(c, &list))
        }
        CliCommand::Approve { list, address } => {
            load(dir, Some(&list)).and_then(|c| moderate::decide(c, &list, &address, None))
        }
        CliCommand::Reject {
            list,
            address,
            reason,
        } => load(dir, Some(&list)).and_then(|c| {
            moderate::decide(
                c,
                &list,
                &address,
                Some(reason.as_deref().unwrap_or("The owners gave no reason.")),
            )
        }),
        CliCommand::Init {
            dir,
            domain,
            state_dir,
            list,
            owner,
            print,
            out,
            shell,
        } => init::run(
            &args.config,
            &init::Options {
                dir: dir.as_deref(),
                domain: domain.as_deref(),
                state_dir: &state_dir,
                list: &list,
                owner: owner.as_deref(),
                print,
                out: out.as_deref(),
                shell,
            },
        ),
        CliCommand::Lists { json } => load(dir, None).and_then(|c| admin::lists(&c, json)),
        CliCommand::Person { address, json } => {
            load(dir, None).and_then(|c| person::person(&c, &address, json))
        }
        CliCommand::Erase { address } => load(dir, None).and_then(|c| person::erase(&c, &address)),
        CliCommand::Members {
            list,
            json,
            older_terms,
        } => load(dir, Some(&list)).and_then(|c| admin::members(&c, &list, json, older_terms)),
        CliCommand::Bounces { list, json } => {
            load(dir, Some(&list)).and_then(|c| bounces::run(&c, &list, json))
        }
        CliCommand::UnsubscribeLink { list, address } => {
            load(dir, Some(&list)).and_then(|c| links::unsubscribe_link(&c, &list, &address))
        }
        CliCommand::ReturnPath { list, address } => {
            load(dir, Some(&list)).and_then(|c| links::return_path(&c, &list, &address))
        }
        CliCommand::Add {
            list,
            address,
            name,
        } => load(dir, Some(&list)).and_then(|c| admin::add(&c, &list, &address, name.as_deref())),
        CliCommand::Set {
            list,
            address,
            mode,
            until,
        } => load(dir, Some(&list))
            .and_then(|c| admin::set(&c, &list, &address, &mode, until.as_deref())),
        CliCommand::Remove { list, address } => {
            load(dir, Some(&list)).and_then(|c| admin::remove(&c, &list, &address))
        }
        CliCommand::Explain {
            list,
            address,
            authenticated,
        } => {
            load(dir, Some(&list)).and_then(|c| admin::explain(&c, &list, &address, authenticated))
        }
        CliCommand::Import {
            format,
            path,
            list,
            dry_run,
            merge,
            skip_invalid,
            owner,
        } => migrate::import(
            dir,
            &migrate::ImportOptions {
                format,
                path: &path,
                list: &list,
                dry_run,
                merge,
                skip_invalid,
                owners: &owner,
            },
        ),
        CliCommand::Sync {
            list,
            source,
            dry_run,
            max_removals,
            name,
            force,
            notify,
        } => sync::run(
            dir,
            &sync::SyncOptions {
                list: &list,
                source: &source,
                dry_run,
                max_removals,
                name: name.as_deref(),
                force,
                notify,
            },
        ),
        CliCommand::Export { list, format } => {
            load(dir, Some(&list)).and_then(|c| migrate::export(&c, &list, format))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("listkeeper: {}", chain(&e));
            ExitCode::from(1)
        }
    }
}

/// Loads the configuration, leaving out (and reporting on stderr) each list that
/// does not load, as long as `listkeeper.toml` does; an error when it does not, or
/// when the list the command names is one left out.
fn load(dir: &Path, naming: Option<&str>) -> anyhow::Result<Config> {
    let (config, broken) = Config::load_serving(dir).map_err(|problems| {
        let errors = problems.error_count();
        anyhow::anyhow!(
            "the configuration in {} does not load ({errors} error{}; `listkeeper check --config {}` lists them):\n{problems}",
            dir.display(),
            if errors == 1 { "" } else { "s" },
            dir.display()
        )
    })?;
    for (folder, problems) in &broken {
        if naming.is_some_and(|n| n.eq_ignore_ascii_case(folder)) {
            anyhow::bail!(
                "the list `{folder}` does not load (fix it; `listkeeper check --config {}` checks it):\n{problems}",
                dir.display()
            );
        }
        for p in problems.iter() {
            eprintln!("listkeeper: {p} (the list `{folder}` is left out until it loads)");
        }
    }
    Ok(config)
}

/// The error and its causes, as `{:#}` prints them, but a cause the message before
/// it already says is left out (an error that prints its source, as a roster's
/// parse error does, would otherwise say the same thing twice).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
