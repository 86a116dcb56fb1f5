//! Where mail comes in: the LMTP session (sans-I/O) and the listeners that feed it.

pub mod lmtp;
pub mod session;
