//! The audit log: `state_dir/audit.log`, one JSON object a line (docs/reference.md, section 8).
//!
//! Every decision and every roster change is recorded, durably, before it is
//! reported done. A record never holds a token or a password: the types here have
//! no field for one.

use crate::fsio;
use serde::Serialize;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How a change came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// A request by mail.
    Email,
    /// An admin at the command line.
    Admin,
    /// A confirmation token.
    Token,
    /// A form on the web pages.
    Web,
}

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct Record<'a> {
    /// RFC 3339 UTC time.
    pub time: String,
    /// List id.
    pub list: &'a str,
    /// The address concerned.
    pub address: &'a str,
    /// What was asked: `subscribe`, `unsubscribe`, `add`, `remove`, …
    pub action: &'a str,
    /// What happened: `added`, `removed`, `already-member`, `rejected`, …
    pub outcome: &'a str,
    /// The rule that decided, by number, when one did.
    pub rule: Option<usize>,
    /// How.
    pub via: Via,
    /// The request's Message-ID, when it came by mail.
    pub message_id: Option<&'a str>,
    /// The client's IP address, when it came from a web form or page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<std::net::IpAddr>,
    /// The owner whose command by mail it was (`ADD`, `DELETE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'a str>,
    /// For an add: the SHA-256 of the list's terms the member agreed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

impl<'a> Record<'a> {
    /// A record stamped `now` (Unix seconds, as the request was handed it), with no
    /// rule and no Message-ID (set them with `Record { rule, ..Record::new(…) }`).
    pub fn new(
        list: &'a str,
        address: &'a str,
        action: &'a str,
        outcome: &'a str,
        via: Via,
        now: u64,
    ) -> Record<'a> {
        Record {
            time: crate::clock::rfc3339(now),
            list,
            address,
            action,
            outcome,
            rule: None,
            via,
            message_id: None,
            client: None,
            by: None,
            terms: None,
        }
    }
}

/// The audit log file, kept open; writers share fsyncs ([`fsio::GroupSync`]).
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    open: Arc<Mutex<Option<Open>>>,
}

#[derive(Debug)]
struct Open {
    file: File,
    ino: u64,
    sync: Arc<fsio::GroupSync>,
    /// When the path was last looked at for a rotation.
    looked: std::time::Instant,
}

/// How often the log's path is looked at for a rotation (a moved log gets at most
/// this much more in its old file).
const ROTATION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl AuditLog {
    /// The log inside `state_dir`, which is created when missing.
    pub fn open(state_dir: &Path) -> std::io::Result<AuditLog> {
        fsio::create_private_dir(state_dir)?;
        Ok(AuditLog {
            path: state_dir.join("audit.log"),
            open: Arc::new(Mutex::new(None)),
        })
    }

    /// Appends one record; returns once it is on disk.
    pub fn record(&self, record: &Record<'_>) -> std::io::Result<()> {
        let (sync, ticket) = self.append(record)?;
        sync.sync(ticket).map_err(fsio::at(&self.path))
    }

    /// Appends one record without waiting for the disk: the caller calls
    /// [`AuditLog::sync`] before it reports the outcome done.
    pub fn write(&self, record: &Record<'_>) -> std::io::Result<()> {
        self.append(record).map(|_| ())
    }

    /// Makes every record written so far durable.
    pub fn sync(&self) -> std::io::Result<()> {
        let sync = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|o| o.sync.clone());
        match sync {
            Some(sync) => sync.sync(sync.latest()).map_err(fsio::at(&self.path)),
            None => Ok(()),
        }
    }

    fn append(&self, record: &Record<'_>) -> std::io::Result<(Arc<fsio::GroupSync>, u64)> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let (sync, ticket) = {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Reopened when the file was moved away (log rotation) or is new.
            let moved = match open.as_mut() {
                None => true,
                Some(o) if o.looked.elapsed() >= ROTATION_CHECK => {
                    o.looked = std::time::Instant::now();
                    std::fs::metadata(&self.path).map(|m| m.ino()).ok() != Some(o.ino)
                }
                Some(_) => false,
            };
            if moved {
                if let Some(old) = open.take() {
                    // Records not yet synced went to the file before it moved.
                    old.file.sync_data().map_err(fsio::at(&self.path))?;
                }
                let file = fsio::open_append(&self.path)?;
                let ino = file.metadata().map_err(fsio::at(&self.path))?.ino();
                let sync = Arc::new(fsio::GroupSync::new(
                    file.try_clone().map_err(fsio::at(&self.path))?,
                ));
                *open = Some(Open {
                    file,
                    ino,
                    sync,
                    looked: std::time::Instant::now(),
                });
            }
            let Some(o) = open.as_mut() else {
                return Err(std::io::Error::other("audit log not open"));
            };
            fsio::append(&mut o.file, &line).map_err(fsio::at(&self.path))?;
            (o.sync.clone(), o.sync.wrote())
        };
        Ok((sync, ticket))
    }

    /// Rewrites the log and its rotation (`audit.log.1`) through `edit` (`None`:
    /// that file unchanged), each atomically. This process's writers wait meanwhile
    /// and then write to the new file. Returns how many files were rewritten.
    pub fn rewrite(&self, edit: impl Fn(&str) -> Option<String>) -> std::io::Result<usize> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = open.take() {
            old.file.sync_data().map_err(fsio::at(&self.path))?;
        }
        let mut rewritten = 0;
        for path in [self.path.clone(), self.path.with_file_name("audit.log.1")] {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fsio::at(&path)(e)),
            };
            if let Some(new) = edit(&text) {
                fsio::write_private(&path, new.as_bytes()).map_err(fsio::at(&path))?;
                rewritten += 1;
            }
        }
        Ok(rewritten)
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_moved_away_by_rotation_is_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let record = |address| Record::new("sm-cop", address, "add", "added", Via::Admin, 1);
        log.record(&record("before@x.gov")).unwrap();
        std::fs::rename(log.path(), dir.path().join("audit.log.1")).unwrap();
        std::thread::sleep(ROTATION_CHECK + std::time::Duration::from_millis(50));
        log.record(&record("after@x.gov")).unwrap();
        let old = std::fs::read_to_string(dir.path().join("audit.log.1")).unwrap();
        let new = std::fs::read_to_string(log.path()).unwrap();
        assert!(old.contains("before@x.gov") && !old.contains("after@x.gov"));
        assert!(new.contains("after@x.gov") && !new.contains("before@x.gov"));
    }

    #[test]
    fn records_are_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("state")).unwrap();
        for address in ["a@x.gov", "b@x.gov"] {
            log.record(&Record {
                time: crate::clock::rfc3339(1),
                list: "sm-cop",
                address,
                action: "add",
                outcome: "added",
                rule: None,
                by: None,
                via: Via::Admin,
                message_id: None,
                client: None,
                terms: None,
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["address"], "b@x.gov");
        assert_eq!(lines[1]["via"], "admin");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    }
}
