//! Recipient + Subject/body → commands (docs/reference.md, sections 2 and 3).
//!
//! Mail to a subscribe, unsubscribe or confirm address is one command, whatever its
//! body says (a signature must not produce "unknown command" noise). Mail to
//! `L-request@` or the command address is read as LISTSERV-style commands: the
//! Subject, then each body line, until the first line that is not a command, a
//! signature, `end`, or 20 lines. A LISTSERV or Mailman command we do not have (a
//! fixed list of their command words, [`UNSUPPORTED`]) is answered "not supported
//! here" and reading goes on, so the commands after it still count; any other word
//! still ends the commands, so prose or a signature makes no noise.

use crate::config::{Config, ListId};
use crate::message::Incoming;
use crate::records::{Day, Mode};
use crate::route::Route;

/// Body lines read for commands at most.
pub const MAX_COMMAND_LINES: usize = 20;

/// First words of LISTSERV, Mailman and Majordomo commands listkeeper does not have:
/// such a line is answered "not supported here" instead of ending the commands.
/// A fixed list, not a guess from the line's shape: "Thanks!" or "Regards" must
/// still end the commands in silence.
pub const UNSUPPORTED: &[&str] = &[
    "digest", "echo", "get", "getpost", "index", "nomail", "password", "pw", "register", "scan",
    "search", "stats", "which", "who",
];

/// Which list a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A known list.
    List(ListId),
    /// No list was named and none is implied (mail to the command address).
    Missing,
    /// A name that is no list of ours.
    Unknown(String),
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Subscribe the sender, with a display name.
    Subscribe {
        /// The list.
        list: Target,
        /// The display name given, if any.
        name: Option<String>,
    },
    /// Unsubscribe the sender.
    Unsubscribe {
        /// The list.
        list: Target,
    },
    /// Confirm a pending request.
    Confirm {
        /// The token, lower case.
        token: String,
    },
    /// Title, terms, how to join and leave.
    Info {
        /// The list.
        list: Target,
    },
    /// The lists on this server.
    Lists,
    /// Whether the sender is a member.
    Query {
        /// The list.
        list: Target,
    },
    /// What the commands are.
    Help,
    /// An owner approves a held request.
    Approve {
        /// The token from the owners' notification.
        token: String,
    },
    /// An owner rejects a held request.
    Reject {
        /// The token from the owners' notification.
        token: String,
        /// What the person is told.
        reason: Option<String>,
    },
    /// Change how the sender gets the list's mail (`SET LIST NOMAIL [until DATE]`).
    Set {
        /// The list.
        list: Target,
        /// Mail, digest or nomail.
        mode: Mode,
        /// For nomail: the day mail resumes.
        until: Option<Day>,
    },
    /// An owner adds an address (`[QUIET] ADD LIST addr [Full Name]`).
    Add {
        /// The list.
        list: Target,
        /// The address, as written.
        address: String,
        /// The display name given, if any.
        name: Option<String>,
        /// `QUIET`: no welcome.
        quiet: bool,
    },
    /// An owner removes an address (`[QUIET] DELETE LIST addr`).
    Delete {
        /// The list.
        list: Target,
        /// The address, as written.
        address: String,
        /// `QUIET`: no goodbye.
        quiet: bool,
    },
    /// The roster (`REVIEW LIST`), to those the list's `review` allows.
    Review {
        /// The list.
        list: Target,
    },
    /// `SIGNOFF *`: leave every list on this server, after one confirmation.
    LeaveAll,
    /// `QUERY *`: the lists the sender is on.
    QueryAll,
    /// `ERASE`: all the server holds on the sender goes, after one confirmation.
    Erase,
    /// `CHANGE [LIST|*] new@address`: the sender's line moves to a new address,
    /// once the new address confirms.
    Change {
        /// The list (unused when `all`).
        list: Target,
        /// `*`: every list the sender is on.
        all: bool,
        /// The new address, as written.
        to: String,
    },
    /// A LISTSERV or Mailman command listkeeper does not have (`SET LIST CONCEAL`,
    /// `INDEX`...).
    Unsupported {
        /// The line as written.
        line: String,
    },
    /// A command word with unusable arguments, with what was wrong.
    Invalid {
        /// The line as written (cleaned).
        line: String,
        /// What was wrong.
        why: String,
    },
}

impl Command {
    /// The command as a line, to head its result in a reply (never with a token).
    pub fn describe(&self) -> String {
        let list = |t: &Target| match t {
            Target::List(id) => format!(" {id}"),
            Target::Unknown(word) => format!(" {word}"),
            Target::Missing => String::new(),
        };
        match self {
            Command::Subscribe { list: t, name } => {
                format!(
                    "subscribe{}{}",
                    list(t),
                    name.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
                )
            }
            Command::Unsubscribe { list: t } => format!("unsubscribe{}", list(t)),
            Command::Confirm { .. } => "confirm".to_owned(),
            Command::Approve { .. } => "approve".to_owned(),
            Command::Reject { .. } => "reject".to_owned(),
            Command::Info { list: t } => format!("info{}", list(t)),
            Command::Lists => "lists".to_owned(),
            Command::Query { list: t } => format!("query{}", list(t)),
            Command::Set {
                list: t,
                mode,
                until,
            } => format!(
                "set{} {}{}",
                list(t),
                mode.as_str(),
                until.map(|d| format!(" until {d}")).unwrap_or_default()
            ),
            Command::Help => "help".to_owned(),
            Command::Add {
                list: t,
                address,
                name,
                quiet,
            } => format!(
                "{}add{} {address}{}",
                if *quiet { "quiet " } else { "" },
                list(t),
                name.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
            ),
            Command::Delete {
                list: t,
                address,
                quiet,
            } => format!(
                "{}delete{} {address}",
                if *quiet { "quiet " } else { "" },
                list(t)
            ),
            Command::Review { list: t } => format!("review{}", list(t)),
            Command::LeaveAll => "signoff *".to_owned(),
            Command::QueryAll => "query *".to_owned(),
            Command::Erase => "erase".to_owned(),
            Command::Change { list: t, all, to } => {
                format!(
                    "change{} {to}",
                    if *all { " *".to_owned() } else { list(t) }
                )
            }
            Command::Invalid { line, .. } | Command::Unsupported { line } => line.clone(),
        }
    }
}

/// The commands a message to `route` carries.
pub fn commands(config: &Config, route: &Route, incoming: &Incoming) -> Vec<Command> {
    match route {
        Route::Subscribe(list) => vec![Command::Subscribe {
            list: Target::List(list.clone()),
            name: incoming.from_name.clone(),
        }],
        Route::Unsubscribe(list) => vec![Command::Unsubscribe {
            list: Target::List(list.clone()),
        }],
        Route::Confirm(_, token) => vec![Command::Confirm {
            token: token.clone(),
        }],
        Route::Request(list) => read_commands(config, Some(list), incoming),
        Route::Command => read_commands(config, None, incoming),
        Route::Owner(_) | Route::Bounces(..) => Vec::new(),
    }
}

/// Reads the Subject and body of a command message.
fn read_commands(config: &Config, default: Option<&ListId>, incoming: &Incoming) -> Vec<Command> {
    let mut reader = Reader {
        config,
        default,
        subject: &incoming.subject,
        in_subject: true,
    };
    let mut out = Vec::new();
    if let Some(Parsed::Command(c)) = reader.line(strip_reply_prefixes(&incoming.subject)) {
        out.push(c);
    }
    reader.in_subject = false;
    let body = incoming
        .body_lines
        .iter()
        .skip_while(|l| l.trim().is_empty());
    for line in body.take(MAX_COMMAND_LINES) {
        match reader.line(line) {
            // "OK" under a Subject that already confirms the same token is one command.
            Some(Parsed::Command(c)) if out.contains(&c) || answers(&out, &c) => continue,
            Some(Parsed::Command(c)) => out.push(c),
            Some(Parsed::End) => break,
            None if line.trim().is_empty() => continue,
            None => break,
        }
    }
    out
}

/// "OK" in the body of a reply whose Subject already approves or rejects with the
/// same token is that same command, not a confirmation.
fn answers(out: &[Command], c: &Command) -> bool {
    let Command::Confirm { token } = c else {
        return false;
    };
    out.iter().any(|o| matches!(o, Command::Approve { token: t } | Command::Reject { token: t, .. } if t == token))
}

enum Parsed {
    Command(Command),
    End,
}

struct Reader<'a> {
    config: &'a Config,
    default: Option<&'a ListId>,
    subject: &'a str,
    /// The Subject is a person's line more often than a command: read it strictly.
    in_subject: bool,
}

impl Reader<'_> {
    /// One line: a command, the end of commands, or `None` for anything else.
    fn line(&self, line: &str) -> Option<Parsed> {
        let line = line.trim();
        if line == "--" || line == "-- " {
            return Some(Parsed::End);
        }
        let mut words = line.split_whitespace();
        let verb = words.next()?.to_lowercase();
        let args: Vec<&str> = words.collect();
        let command = match spanish_alias(&verb) {
            "subscribe" | "sub" | "join" => self.subscribe(&args)?,
            // `SIGNOFF *`, `QUERY *`: every list at once.
            "unsubscribe" | "signoff" | "unsub" | "leave" if args == ["*"] => Command::LeaveAll,
            "query" if args == ["*"] => Command::QueryAll,
            "erase" if args.is_empty() || args == ["*"] => Command::Erase,
            "change" => self.change(line, &args)?,
            "unsubscribe" | "signoff" | "unsub" | "leave" => Command::Unsubscribe {
                list: self.list_arg(&args).0,
            },
            "confirm" => self.confirm(line, &args)?,
            "ok" if args.is_empty() => self.confirm_by_ok(line),
            "approve" => self.approve(line, &args)?,
            "reject" => reject(line, &args),
            "set" => self.set(line, &args)?,
            "add" | "delete" => self.owner(line, &verb, &args, false)?,
            "quiet"
                if matches!(
                    args.first().map(|w| w.to_lowercase()).as_deref(),
                    Some("add" | "delete")
                ) =>
            {
                self.owner(line, &args[0].to_lowercase(), &args[1..], true)?
            }
            "quiet" if !self.in_subject => unsupported(line),
            "review" if !self.in_subject || args.is_empty() || self.names_list(&args) => {
                Command::Review {
                    list: self.list_arg(&args).0,
                }
            }
            // In the Subject, only before nothing, one of our lists or `*`.
            v if UNSUPPORTED.contains(&v) => {
                if self.in_subject && !args.is_empty() && args[0] != "*" && !self.names_list(&args)
                {
                    return None;
                }
                unsupported(line)
            }
            _ if self.in_subject && args.len() > 1 => return None,
            _ if self.in_subject && args.len() == 1 && !self.names_list(&args) => return None,
            "info" => Command::Info {
                list: self.list_arg(&args).0,
            },
            "lists" if args.is_empty() => Command::Lists,
            "query" => Command::Query {
                list: self.list_arg(&args).0,
            },
            "help" if args.is_empty() => Command::Help,
            "end" | "stop" | "quit" if args.is_empty() => return Some(Parsed::End),
            _ => return None,
        };
        Some(Parsed::Command(command))
    }

    /// `SUBSCRIBE [list] [name]`; `None` for a Subject such as "Join me" that only
    /// starts with the word.
    fn subscribe(&self, args: &[&str]) -> Option<Command> {
        let (list, rest) = self.list_arg(args);
        if self.in_subject && !rest.is_empty() && !self.names_list(args) {
            return None; // "Subscribe request", "Join me": not a command.
        }
        let name = rest.join(" ");
        Some(Command::Subscribe {
            list,
            name: (!name.is_empty()).then_some(name),
        })
    }

    /// `SET [list] NOMAIL|MAIL|DIGEST [until DATE]`. Another option (LISTSERV's
    /// `CONCEAL`, `REPRO`...) is not supported here; in the Subject, a line that is
    /// not such a command ("Set up a call") is no command at all.
    fn set(&self, line: &str, args: &[&str]) -> Option<Command> {
        let (mut list, mut rest) = self.list_arg(args);
        // To the command address, `set nomail` names no list (not a list "nomail").
        if let Target::Unknown(word) = &list
            && word.parse::<Mode>().is_ok()
        {
            (list, rest) = (Target::Missing, args);
        }
        let Some(mode) = rest.first().and_then(|w| w.parse::<Mode>().ok()) else {
            if self.in_subject && !self.names_list(args) {
                return None;
            }
            return Some(unsupported(line));
        };
        let until = match &rest[1..] {
            [] => None,
            [word, date] if word.eq_ignore_ascii_case("until") => match date.parse::<Day>() {
                Ok(day) => Some(day),
                Err(e) => return Some(invalid(line, &e)),
            },
            _ if self.in_subject => return None,
            _ => return Some(invalid(line, "write: set LIST nomail [until 2027-01-15]")),
        };
        if until.is_some() && mode != Mode::Nomail {
            return Some(invalid(line, "until goes with nomail only"));
        }
        Some(Command::Set { list, mode, until })
    }

    /// `CONFIRM token`; in the Subject the token may sit anywhere after the word.
    fn confirm(&self, line: &str, args: &[&str]) -> Option<Command> {
        Some(match token_arg(args) {
            Some(token) if crate::token::looks_like_token(&token) => Command::Confirm { token },
            _ if self.in_subject => Command::Confirm {
                token: token_in(self.subject)?,
            },
            Some(_) => invalid(
                line,
                "that is not a confirmation token: copy it from the confirmation mail",
            ),
            None => invalid(line, "confirm needs the token from the confirmation mail"),
        })
    }

    /// A bare `OK` confirms the token in the Subject it replies under.
    fn confirm_by_ok(&self, line: &str) -> Command {
        match token_in(self.subject) {
            Some(token) => Command::Confirm { token },
            None => invalid(
                line,
                "ok confirms only in a reply to a confirmation mail (its Subject has the token)",
            ),
        }
    }

    /// `APPROVE token`; in the Subject the token may sit anywhere after the word.
    fn approve(&self, line: &str, args: &[&str]) -> Option<Command> {
        Some(match token_arg(args) {
            Some(token) if crate::token::looks_like_token(&token) => Command::Approve { token },
            _ if self.in_subject => Command::Approve {
                token: token_in(self.subject)?,
            },
            _ => invalid(
                line,
                "approve needs the token from the owners' notification",
            ),
        })
    }

    /// `ADD [LIST] addr [Full Name]`, `DELETE [LIST] addr` (`quiet`: after `QUIET`);
    /// `None` for a Subject such as "Add me" that only starts with the word.
    fn owner(&self, line: &str, verb: &str, args: &[&str], quiet: bool) -> Option<Command> {
        let (list, rest) = self.list_arg(args);
        let Some(address) = rest.first().filter(|a| a.contains('@')) else {
            if self.in_subject {
                return None;
            }
            return Some(invalid(
                line,
                &format!("{verb} needs the list and an address: {verb} LIST someone@example.gov"),
            ));
        };
        let address = (*address).trim_matches(['<', '>']).to_owned();
        Some(if verb == "add" {
            let name = rest[1..].join(" ");
            Command::Add {
                list,
                address,
                name: (!name.is_empty()).then_some(name),
                quiet,
            }
        } else {
            Command::Delete {
                list,
                address,
                quiet,
            }
        })
    }

    /// `CHANGE [LIST|*] new@address`; `None` for a Subject such as "Change of plans".
    fn change(&self, line: &str, args: &[&str]) -> Option<Command> {
        let all = args.first() == Some(&"*");
        let (list, rest) = match args.first() {
            _ if all => (Target::Missing, &args[1..]),
            // No list named: the default one, else said to be missing.
            Some(first) if first.contains('@') => {
                let list = self.default.cloned().map_or(Target::Missing, Target::List);
                (list, args)
            }
            _ => self.list_arg(args),
        };
        match rest {
            [to] if to.contains('@') => Some(Command::Change {
                list,
                all,
                to: to.trim_matches(['<', '>']).to_owned(),
            }),
            _ if self.in_subject => None,
            _ => Some(invalid(
                line,
                "write: change LIST new@address (or change * new@address for every list)",
            )),
        }
    }

    /// Whether the first word is one of our list ids.
    fn names_list(&self, args: &[&str]) -> bool {
        args.first()
            .and_then(|w| ListId::parse(w).ok())
            .is_some_and(|id| self.config.lists.contains_key(&id))
    }

    /// The list a command names, and the words after it. In `L-request@` mail the
    /// list may be left out, so a first word that is no list id is not one.
    fn list_arg<'w>(&self, args: &'w [&'w str]) -> (Target, &'w [&'w str]) {
        let named = args
            .first()
            .and_then(|w| ListId::parse(w).ok())
            .filter(|id| self.config.lists.contains_key(id));
        match (named, self.default, args.first()) {
            (Some(id), _, _) => (Target::List(id), &args[1..]),
            (None, Some(default), _) => (Target::List(default.clone()), args),
            (None, None, Some(word)) => (Target::Unknown((*word).to_owned()), &args[1..]),
            (None, None, None) => (Target::Missing, args),
        }
    }
}

/// `REJECT token [reason]`.
fn reject(line: &str, args: &[&str]) -> Command {
    match token_arg(args) {
        Some(token) if crate::token::looks_like_token(&token) => {
            let reason = args[1..].join(" ");
            Command::Reject {
                token,
                reason: (!reason.is_empty()).then_some(reason),
            }
        }
        _ => invalid(
            line,
            "reject needs the token from the owners' notification, then the reason",
        ),
    }
}

/// The first argument in lower case, where a token is written.
fn token_arg(args: &[&str]) -> Option<String> {
    args.first().map(|t| t.to_ascii_lowercase())
}

fn unsupported(line: &str) -> Command {
    Command::Unsupported {
        line: line.to_owned(),
    }
}

fn invalid(line: &str, why: &str) -> Command {
    Command::Invalid {
        line: line.to_owned(),
        why: why.to_owned(),
    }
}

/// `Re: Fwd: AW: confirm …` → `confirm …`.
fn strip_reply_prefixes(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(prefix) = ["re:", "fwd:", "fw:", "aw:", "sv:", "vs:"]
            .iter()
            .find(|p| lower.starts_with(*p))
        else {
            return s;
        };
        s = s[prefix.len()..].trim_start();
    }
}

/// A confirmation token anywhere in a Subject, as our confirmation mail writes it.
pub fn token_in(subject: &str) -> Option<String> {
    subject
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .find(|w| crate::token::looks_like_token(w))
}

/// The command word a Spanish alias stands for (`suscribir`, `alta` → `subscribe`;
/// `baja` → `unsubscribe`; `confirmar`; `ayuda` → `help`); any other word as it is.
fn spanish_alias(verb: &str) -> &str {
    match verb {
        "suscribir" | "alta" => "subscribe",
        "baja" => "unsubscribe",
        "confirmar" => "confirm",
        "ayuda" => "help",
        "borrar" => "erase",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn sm_cop() -> ListId {
        ListId::parse("sm-cop").unwrap()
    }

    fn read(route: &Route, subject: &str, body: &[&str]) -> Vec<Command> {
        let incoming = Incoming {
            subject: subject.into(),
            body_lines: body.iter().map(|s| (*s).to_owned()).collect(),
            from_name: Some("Jane Doe".into()),
            ..Incoming::default()
        };
        commands(&config(), route, &incoming)
    }

    /// Issue 17: `CHANGE [LIST|*] new@address`, and `SIGNOFF *` / `QUERY *`; a
    /// Subject such as "Change of plans" is no command.
    #[test]
    fn change_signoff_star_and_query_star_are_read() {
        let change = |list, all, to: &str| Command::Change {
            list,
            all,
            to: to.into(),
        };
        let got = read(
            &Route::Command,
            "Change of plans",
            &[
                "CHANGE SM-COP <new@agency.gov>",
                "change * new@agency.gov",
                "change new@agency.gov",
                "change sm-cop",
                "signoff *",
                "query *",
                "ERASE",
            ],
        );
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(
            got[0],
            change(Target::List(sm_cop()), false, "new@agency.gov")
        );
        assert_eq!(got[1], change(Target::Missing, true, "new@agency.gov"));
        assert_eq!(got[2], change(Target::Missing, false, "new@agency.gov"));
        assert!(matches!(got[3], Command::Invalid { .. }), "{:?}", got[3]);
        assert_eq!(
            got[4..],
            [Command::LeaveAll, Command::QueryAll, Command::Erase]
        );
        // In Spanish too.
        assert_eq!(read(&Route::Command, "", &["borrar"]), [Command::Erase]);
        // In `L-request@` mail the list may be left out.
        let got = read(&Route::Request(sm_cop()), "", &["change new@agency.gov"]);
        assert_eq!(
            got,
            [change(Target::List(sm_cop()), false, "new@agency.gov")]
        );
    }

    #[test]
    fn spanish_command_words_are_read() {
        let got = read(
            &Route::Request(sm_cop()),
            "",
            &["suscribir", "BAJA", "ayuda", "alta sm-cop Ana Ruiz"],
        );
        assert_eq!(
            got,
            [
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: None
                },
                Command::Unsubscribe {
                    list: Target::List(sm_cop())
                },
                Command::Help,
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: Some("Ana Ruiz".into())
                },
            ]
        );
    }

    #[test]
    fn subscribe_address_ignores_the_body() {
        let got = read(
            &Route::Subscribe(sm_cop()),
            "hello",
            &["please add me", "-- ", "Jane, Agency"],
        );
        assert_eq!(
            got,
            [Command::Subscribe {
                list: Target::List(sm_cop()),
                name: Some("Jane Doe".into())
            }]
        );
    }

    #[test]
    fn listserv_syntax() {
        let got = read(
            &Route::Command,
            "",
            &[
                "SUBSCRIBE SM-COP Jane Q. Doe",
                "SIGNOFF SM-COP",
                "INFO sm-cop",
                "LISTS",
                "QUERY SM-COP",
                "HELP",
                "subscribe nosuch",
            ],
        );
        assert_eq!(
            got,
            [
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: Some("Jane Q. Doe".into())
                },
                Command::Unsubscribe {
                    list: Target::List(sm_cop())
                },
                Command::Info {
                    list: Target::List(sm_cop())
                },
                Command::Lists,
                Command::Query {
                    list: Target::List(sm_cop())
                },
                Command::Help,
                Command::Subscribe {
                    list: Target::Unknown("nosuch".into()),
                    name: None
                },
            ]
        );
        assert_eq!(
            read(&Route::Command, "", &["subscribe"]),
            [Command::Subscribe {
                list: Target::Missing,
                name: None
            }]
        );
    }

    /// Issue 12.11: a LISTSERV or Mailman command we do not have is answered and the
    /// commands after it still count; REVIEW is not INFO (issue 17: it is its own
    /// command now); `SIGNOFF *` is no list `*` (issue 17: it is every list).
    #[test]
    fn regression_12_11_unsupported_commands_do_not_end_the_commands() {
        let unsupported = |line: &str| Command::Unsupported { line: line.into() };
        let got = read(
            &Route::Command,
            "",
            &[
                "SET SM-COP CONCEAL",
                "SUBSCRIBE SM-COP Jane",
                "REVIEW SM-COP",
                "SIGNOFF *",
                "QUERY *",
                "who",
                "password secret",
                "INDEX",
                "LISTS",
                "Thanks!",
                "GET SM-COP LOG2601",
            ],
        );
        assert_eq!(
            got,
            [
                unsupported("SET SM-COP CONCEAL"),
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: Some("Jane".into())
                },
                Command::Review {
                    list: Target::List(sm_cop())
                },
                Command::LeaveAll,
                Command::QueryAll,
                unsupported("who"),
                unsupported("password secret"),
                unsupported("INDEX"),
                Command::Lists,
            ]
        );
        // In the Subject, only a line that names one of our lists, `*`, or nothing.
        assert_eq!(
            read(&Route::Request(sm_cop()), "Set up a meeting", &["help"]),
            [Command::Help]
        );
        assert_eq!(
            read(&Route::Request(sm_cop()), "Re: set sm-cop nomail", &[]),
            [Command::Set {
                list: Target::List(sm_cop()),
                mode: Mode::Nomail,
                until: None
            }]
        );
        assert_eq!(
            read(&Route::Request(sm_cop()), "Re: index sm-cop", &[]),
            [unsupported("index sm-cop")]
        );
        // Prose and signatures still end the commands without a word.
        assert_eq!(
            read(&Route::Command, "", &["Regards,", "SET SM-COP NOMAIL"]),
            []
        );
    }

    /// Issue 17: the owners' `[QUIET] ADD`, `[QUIET] DELETE` and `REVIEW`, in
    /// LISTSERV's words, the list optional in `L-request@` mail.
    #[test]
    fn owner_commands_read_as_listserv_writes_them() {
        let list = || Target::List(sm_cop());
        let got = read(
            &Route::Request(sm_cop()),
            "Add me to the call",
            &[
                "ADD SM-COP jane@agency.gov Jane Q. Public",
                "add <bob@army.mil>",
                "QUIET DELETE sm-cop old@agency.gov",
                "quiet add new@agency.gov",
                "DELETE",
                "review",
            ],
        );
        assert_eq!(
            got,
            [
                Command::Add {
                    list: list(),
                    address: "jane@agency.gov".into(),
                    name: Some("Jane Q. Public".into()),
                    quiet: false
                },
                Command::Add {
                    list: list(),
                    address: "bob@army.mil".into(),
                    name: None,
                    quiet: false
                },
                Command::Delete {
                    list: list(),
                    address: "old@agency.gov".into(),
                    quiet: true
                },
                Command::Add {
                    list: list(),
                    address: "new@agency.gov".into(),
                    name: None,
                    quiet: true
                },
                Command::Invalid {
                    line: "DELETE".into(),
                    why: "delete needs the list and an address: delete LIST someone@example.gov"
                        .into()
                },
                Command::Review { list: list() },
            ]
        );
        assert_eq!(got[2].describe(), "quiet delete sm-cop old@agency.gov");
    }

    #[test]
    fn request_address_may_omit_the_list() {
        let got = read(
            &Route::Request(sm_cop()),
            "subscribe",
            &["", "subscribe Jane Doe", "end", "unsubscribe"],
        );
        assert_eq!(
            got,
            [
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: None
                },
                Command::Subscribe {
                    list: Target::List(sm_cop()),
                    name: Some("Jane Doe".into())
                },
            ]
        );
    }

    #[test]
    fn the_first_non_command_line_or_a_signature_stops() {
        let got = read(
            &Route::Request(sm_cop()),
            "Subscribe request",
            &["help", "Thanks!", "lists"],
        );
        assert_eq!(got, [Command::Help]);
        let got = read(&Route::Request(sm_cop()), "", &["help", "--", "lists"]);
        assert_eq!(got, [Command::Help]);
        let lines: Vec<String> = (0..30).map(|i| format!("subscribe Person {i}")).collect();
        let many: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            read(&Route::Request(sm_cop()), "", &many).len(),
            MAX_COMMAND_LINES
        );
    }

    #[test]
    fn ok_takes_the_token_from_a_reply_subject() {
        let token = "k1aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb";
        assert!(crate::token::looks_like_token(token));
        let subject = format!(
            "RE: Confirm your subscription to SM-COP [{}]",
            token.to_uppercase()
        );
        let got = read(
            &Route::Request(sm_cop()),
            &subject,
            &["OK", "", "> quoted text"],
        );
        assert_eq!(
            got,
            [Command::Confirm {
                token: token.into()
            }]
        );
        let got = read(
            &Route::Request(sm_cop()),
            &format!("Re: confirm {token}"),
            &["Thanks"],
        );
        assert_eq!(
            got,
            [Command::Confirm {
                token: token.into()
            }]
        );
        let got = read(&Route::Request(sm_cop()), "no token here", &["ok"]);
        assert!(matches!(got[..], [Command::Invalid { .. }]));
    }

    #[test]
    fn confirm_address_is_one_confirm() {
        let got = read(
            &Route::Confirm(sm_cop(), "k1xyz".into()),
            "Re: whatever",
            &["ok", "subscribe"],
        );
        assert_eq!(
            got,
            [Command::Confirm {
                token: "k1xyz".into()
            }]
        );
    }

    /// Issue 16: `SET LIST NOMAIL|MAIL|DIGEST [until DATE]`, LISTSERV's syntax; the
    /// list may be left out in `L-request@` mail; other options are not ours.
    #[test]
    fn set_reads_the_mode_and_until() {
        let set = |list: Target, mode, until: Option<&str>| Command::Set {
            list,
            mode,
            until: until.map(|d| d.parse().unwrap()),
        };
        let got = read(
            &Route::Command,
            "",
            &[
                "SET SM-COP NOMAIL",
                "set sm-cop nomail until 2027-01-15",
                "Set sm-cop Digest",
                "set nomail",
                "set sm-cop conceal",
                "set sm-cop nomail until tomorrow",
                "set sm-cop digest until 2027-01-15",
            ],
        );
        let invalid = |line: &str, why: &str| Command::Invalid {
            line: line.into(),
            why: why.into(),
        };
        assert_eq!(
            got,
            [
                set(Target::List(sm_cop()), Mode::Nomail, None),
                set(Target::List(sm_cop()), Mode::Nomail, Some("2027-01-15")),
                set(Target::List(sm_cop()), Mode::Digest, None),
                set(Target::Missing, Mode::Nomail, None),
                Command::Unsupported {
                    line: "set sm-cop conceal".into()
                },
                invalid(
                    "set sm-cop nomail until tomorrow",
                    "`tomorrow` is not a date such as 2027-01-15"
                ),
                invalid(
                    "set sm-cop digest until 2027-01-15",
                    "until goes with nomail only"
                ),
            ]
        );
        assert_eq!(got[1].describe(), "set sm-cop nomail until 2027-01-15");
        // To L-request@: the list may be left out, in the Subject too.
        let got = read(&Route::Request(sm_cop()), "SET NOMAIL", &["set mail"]);
        assert_eq!(
            got,
            [
                set(Target::List(sm_cop()), Mode::Nomail, None),
                set(Target::List(sm_cop()), Mode::Mail, None),
            ]
        );
        // A Subject that only starts with the word is no command.
        assert_eq!(read(&Route::Request(sm_cop()), "Set up a call", &[]), []);
    }
}
