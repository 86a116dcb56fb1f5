//! Where mail comes in: the LMTP session (sans-I/O), the listeners that feed it, and
//! the Maildir watcher.

pub mod lmtp;
pub mod maildir;
pub mod session;
