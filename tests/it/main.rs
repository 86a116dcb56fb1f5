//! The integration tests, one binary (one link, one process starting the tests): a
//! module per topic, through the built binary or the library, with the helpers in
//! `support`. One of them alone: `cargo test --test it serve::`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

mod across;
mod bounces;
mod browser;
mod cli;
mod consent;
mod deb;
mod deliver;
mod deliver_terminal;
mod faults;
mod handoff;
mod import;
mod lang;
mod modes;
mod owner_commands;
mod owners;
mod person;
mod pipe;
mod pipeline;
mod postfix;
mod seccomp;
mod serve;
mod status;
mod unsubscribe;
mod web;
