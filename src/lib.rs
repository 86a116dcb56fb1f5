//! listkeeper runs the subscription side of email lists.
//!
//! A person mails `LIST-subscribe-request@DOMAIN`; listkeeper checks the list's
//! eligibility rules, asks them to confirm, records them in the list's roster file
//! and answers by mail. Admins edit rosters and rules as TOML files by hand.
//!
//! The modules, in the order a request meets them:
//!
//! ```text
//! config       listkeeper.toml + lists/<id>/list.toml → Config (checked)
//! address      EmailAddress: the checked address type
//! eligibility  compiled rules → Verdict { Allow | Moderate | Reject }
//! roster       roster.toml: read, edit line by line, save atomically
//! audit        audit.log: one JSON line a decision
//! fsio         durable writes and locks, the only place that fsyncs
//! cli          the command line
//! ```

pub mod address;
pub mod audit;
pub mod cli;
pub mod command;
pub mod config;
pub mod decision;
pub mod eligibility;
pub mod fsio;
pub mod guard;
pub mod message;
pub mod outbox;
pub mod pipeline;
pub mod reply;
pub mod roster;
pub mod route;
pub mod token;
