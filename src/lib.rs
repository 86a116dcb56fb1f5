//! listkeeper runs the subscription side of email lists.
//!
//! A person mails `LIST-subscribe-request@DOMAIN`; listkeeper checks the list's
//! eligibility rules, asks them to confirm, records them in the list's roster file
//! and answers by mail. Admins edit rosters and rules as TOML files by hand.
//!
//! The modules, in the order a request meets them:
//!
//! ```text
//! inbound      front end: LMTP and Maildir listeners → Delivery, through Mailroom
//! cli          front end: flags and exit codes; cli::deliver is the MTA's pipe mode
//! web          front end: list pages, forms and confirmation links over HTTP (axum)
//! pipeline     THE MAIL PATH: handle(Delivery) → Outcome: route, parse, dedupe,
//!              guard, commands (each an action), replies, commit
//! route        recipient → Route (list + subscribe/unsubscribe/request/confirm/…)
//! message      raw mail → Incoming (the only user of mail-parser; size cap first)
//! guard        loops and backscatter → Silence
//! command      Subject/body → commands
//! actions      WHERE A REQUEST BECOMES A ROSTER LINE: subscribe, unsubscribe,
//!              confirm, moderate, add, remove, set_mode, bounced → Outcome; the one table
//! eligibility  compiled rules → Verdict { Allow | Moderate | Reject }
//! decision     membership + policy + verdict → Join / Leave
//! token        HMAC tokens, pending and held requests
//! verp         bounce tags: the mark that tells our bounces from forged ones
//! arf          ARF complaint reports (RFC 5965) read: the feedback type and recipient
//! bounce       a verified report's kind (hard, soft, policy) and the member's score
//! replies      one reply per address, within the [limits] budgets
//! commit       the replies as one batch with the dedupe key, then one sync
//! reply        templates and texts → the reply mail (lettre)
//! context      the configuration in force and the stores every request uses
//! upkeep       expired requests swept out of the state; lapsed nomails resumed;
//!              re-enable notices and removals for bounces
//! roster       roster.toml: read, edit line by line (modes too), save atomically,
//!              publish include_file and digest_include_file
//! outbox       durable queue of replies; sending over SMTP or to files
//! statelog     state.log: pending and held requests, queued replies, dedupe keys
//! audit        audit.log: one JSON line a decision
//! config       listkeeper.toml + lists/<id>/list.toml → Config (checked)
//! address      EmailAddress: the checked address type
//! records      what the stores keep: batches, outgoing mails, pending requests,
//!              delivery settings (mode, until, why), bounce scores
//! error        Severity: whether a failure is answered 4xx (retry) or 5xx
//! fsio         durable writes and locks, the only place that fsyncs
//! clock        the wall clock, read by front ends and handed down as `now`
//! ```

mod actions;
pub mod address;
mod arf;
mod audit;
pub mod bounce;
pub mod cli;
mod clock;
pub mod command;
mod commit;
pub mod config;
mod consent;
pub mod context;
pub mod daemon;
mod decision;
pub mod eligibility;
mod erased;
pub mod error;
mod fsio;
mod guard;
pub mod import;
pub mod inbound;
mod lang;
mod limits;
mod links;
pub mod message;
mod notify;
mod outbox;
mod owner;
pub mod pipeline;
mod records;
mod replies;
mod reply;
pub mod roster;
pub mod route;
mod sender;
mod statelog;
mod token;
pub mod trust;
mod upkeep;
mod verp;
mod web;
