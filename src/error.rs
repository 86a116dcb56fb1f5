//! How a failure is answered: every front end (the LMTP session, pipe mode's exit
//! code, the Maildir watcher, the sender) asks an error [`Classify::severity`], so
//! the same failure is a `4xx`/`EX_TEMPFAIL` everywhere or a `5xx` everywhere.
//!
//! A leaf: the error types implement [`Classify`] where they are defined.
//!
//! The rule: a failure is [`Severity::Temporary`] when the same request could
//! succeed later without the sender changing it, which is the case for every
//! failure of listkeeper's own files. An I/O error (a full disk, a lost lock, a
//! deleted state folder) is temporary: the MTA keeps the message and retries. A
//! roster file or a configuration that does not parse is temporary too: the admin
//! fixes the file, the MTA's retry then succeeds, and no request is refused for an
//! admin's typo. Only what is wrong with the request itself, or a remote server's
//! `5xx`, is [`Severity::Permanent`].

/// Whether a failure may go away on a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Try again later: LMTP `451`, exit 75 (`EX_TEMPFAIL`), a queued batch kept.
    Temporary,
    /// Never try again: LMTP `5xx`, exit 65/67, a batch moved to `outbox/failed/`.
    Permanent,
}

/// An error (or outcome) that says whether a retry may succeed.
pub trait Classify {
    /// Temporary or permanent (see the module's rule).
    fn severity(&self) -> Severity;

    /// Whether a retry may succeed.
    fn is_temporary(&self) -> bool {
        self.severity() == Severity::Temporary
    }
}

/// Every I/O error is temporary: it is listkeeper's own disk, not the request.
impl Classify for std::io::Error {
    fn severity(&self) -> Severity {
        Severity::Temporary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_is_temporary() {
        let e = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        assert_eq!(e.severity(), Severity::Temporary);
        assert!(e.is_temporary());
    }

    /// The admin fixes the file and the MTA's retry succeeds: never a `5xx`.
    #[test]
    fn a_roster_that_does_not_parse_is_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "[members]\n\"a@x.gov\" = {\n").unwrap();
        let e = crate::roster::RosterFile::open(&path, &Default::default()).unwrap_err();
        assert!(matches!(e, crate::roster::RosterError::Parse { .. }), "{e}");
        assert_eq!(e.severity(), Severity::Temporary);
    }
}
