//! The roster file on disk: read, lock, re-read after outside edits, save, publish.
//!
//! Every listkeeper process that writes a roster (the daemon's saver, `deliver`, the
//! admin commands) holds the lock file `.roster.toml.lock` for the whole read,
//! change, write and rename, so none of them ever writes over a file another one
//! wrote after it read. Only a hand editor, which takes no lock, can change the
//! file under a writer: the change is then made again on the editor's file.

use super::{Mode, ParseError, Roster};
use crate::fsio;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A list's `unsubscribe_file`: rewritten with `include_file`, the same atomic way,
/// as `address<TAB>uri` lines, the member's one-click unsubscribe URI beside each
/// address (for a posting system that reads a file rather than run a command).
#[derive(Clone)]
pub struct UnsubscribeFile {
    /// The file.
    pub path: PathBuf,
    /// What the URIs depend on besides the address (base URL, key id): a reload
    /// that changes it takes a roster with the file written anew.
    pub made_by: String,
    /// A member's URI, from the address as the roster writes it.
    pub uri: MakeUri,
}

/// How a member's URI is made from the address as the roster writes it.
pub type MakeUri = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl std::fmt::Debug for UnsubscribeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsubscribeFile")
            .field("path", &self.path)
            .field("made_by", &self.made_by)
            .finish_non_exhaustive()
    }
}

impl PartialEq for UnsubscribeFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.made_by == other.made_by
    }
}

/// Why a roster could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file is not valid: it is never overwritten while so.
    #[error("{}:{}: {} (fix the file; listkeeper will not overwrite it until it parses)", path.display(), error.line, error.message)]
    Parse {
        /// The roster file.
        path: PathBuf,
        /// Where and why: in the message already, so not its `source()` (which
        /// would print it a second time in an error chain).
        error: ParseError,
    },
    /// Reading, locking or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A change could not be made durable in the state log.
    #[error("state.log: {0}")]
    State(#[source] io::Error),
}

/// Every roster failure is temporary: a file that does not parse waits for the
/// admin to fix it (the MTA retries meanwhile), and I/O errors are our disk's.
impl crate::error::Classify for RosterError {
    fn severity(&self) -> crate::error::Severity {
        match self {
            RosterError::Parse { .. } | RosterError::Io { .. } | RosterError::State(_) => {
                crate::error::Severity::Temporary
            }
        }
    }
}

impl RosterError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> RosterError + '_ {
        move |source| RosterError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// How often a change is made again because an editor changed the file under it.
pub(super) const MAX_RETRIES: usize = 5;

/// How long a writer waits for another to let go of a roster's lock file: a save of
/// a million-member roster takes a quarter of a second, so this is a stuck process.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The files a roster is published to, for posting systems (`include_file`,
/// `digest_include_file` in list.toml).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Includes {
    /// Every member who gets each post (mode mail), one address a line.
    pub mail: Option<PathBuf>,
    /// Every digest member, one address a line.
    pub digest: Option<PathBuf>,
}

/// One list's roster file, with what was last read from it.
#[derive(Debug)]
pub struct RosterFile {
    path: PathBuf,
    lock_path: PathBuf,
    unsubscribe_file: Option<UnsubscribeFile>,
    includes: Includes,
    roster: Roster,
    stamp: Option<fsio::Stamp>,
    /// Times the file was read (the first read included), whether it parsed or not.
    reads: u64,
    /// The last file that did not parse (its stamp) and why.
    broken: Option<(Option<fsio::Stamp>, ParseError)>,
}

impl RosterFile {
    /// Reads `path` (a missing file is an empty roster). The include files are
    /// rewritten after every change, those that are set.
    pub fn open(path: &Path, includes: &Includes) -> Result<RosterFile, RosterError> {
        let mut file = RosterFile {
            path: path.to_owned(),
            lock_path: lock_path(path),
            unsubscribe_file: None,
            includes: includes.clone(),
            roster: Roster::empty(),
            stamp: None,
            reads: 0,
            broken: None,
        };
        file.reload()?;
        Ok(file)
    }

    /// The roster as last read or written.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The roster file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Times the file was read, the first read included.
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// The include files it keeps.
    pub fn includes(&self) -> &Includes {
        &self.includes
    }

    /// The `unsubscribe_file` it keeps, if any.
    pub fn unsubscribe_file(&self) -> Option<&UnsubscribeFile> {
        self.unsubscribe_file.as_ref()
    }

    /// Keeps `file` from now on (written with `include_file`, and at once).
    pub fn keep_unsubscribe_file(
        &mut self,
        file: Option<UnsubscribeFile>,
    ) -> Result<(), RosterError> {
        self.unsubscribe_file = file;
        self.publish_unsubscribe()
    }

    /// Applies `edit` under the lock and, if it changed anything, saves durably.
    ///
    /// If the file changed on disk since it was read (an admin's editor, the CLI), it is
    /// read again first; if it no longer parses, nothing is written and the error says
    /// where. `edit` returns whether it changed the roster.
    pub fn change<T>(
        &mut self,
        mut edit: impl FnMut(&mut Roster) -> (T, bool),
    ) -> Result<T, RosterError> {
        let _lock = self.lock()?;
        // An editor does not take our lock: if the file changes while we write, the
        // edit is made again on what the editor saved (a few times at most).
        for _ in 0..MAX_RETRIES {
            let now = fsio::stamp(&self.path).map_err(RosterError::io(&self.path))?;
            if now != self.stamp {
                self.reload()?;
            }
            let read = self.stamp;
            let (out, changed) = edit(&mut self.roster);
            if !changed {
                return Ok(out);
            }
            let unchanged = || fsio::stamp(&self.path).ok().flatten() == read;
            match fsio::write_atomic_if(&self.path, self.roster.text().as_bytes(), unchanged) {
                Ok(true) => {
                    self.stamp = fsio::stamp(&self.path).map_err(RosterError::io(&self.path))?;
                    self.publish()?;
                    return Ok(out);
                }
                // Someone saved meanwhile: read their file and make the edit again.
                Ok(false) => self.stamp = None,
                Err(e) => {
                    // The file on disk is still the old one: forget the edit by reading
                    // it again now, or at the next change if even that fails.
                    self.stamp = None;
                    let _ = self.reload();
                    return Err(RosterError::io(&self.path)(e));
                }
            }
        }
        Err(RosterError::Io {
            path: self.path.clone(),
            source: kept_changing(),
        })
    }

    /// Takes the roster's lock file (waiting up to `LOCK_WAIT` for another
    /// process): no other listkeeper writes the file until it is dropped.
    pub fn lock(&self) -> Result<fsio::Lock, RosterError> {
        fsio::lock_within(&self.lock_path, LOCK_WAIT).map_err(RosterError::io(&self.lock_path))
    }

    /// Reads the file again, changed or not (edits made in memory are gone).
    pub fn reread(&mut self) -> Result<(), RosterError> {
        self.reload()
    }

    /// Reads the file again if someone changed it since it was read; true if it did
    /// (edits made in memory and not saved are then gone).
    pub fn refresh(&mut self) -> Result<bool, RosterError> {
        let now = fsio::stamp(&self.path).map_err(RosterError::io(&self.path))?;
        if now != self.stamp {
            self.reload()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Whether the file on disk is no longer the one last read or written.
    pub fn is_stale(&self) -> Result<bool, RosterError> {
        Ok(fsio::stamp(&self.path).map_err(RosterError::io(&self.path))? != self.stamp)
    }

    /// Writes the roster as it stands in memory (and `include_file`) if the file on
    /// disk is still the one last read; takes `&self`, so readers of the roster
    /// carry on meanwhile. The caller holds [`RosterFile::lock`] from before it
    /// read the file until it has recorded the write. `Ok(Some(stamp))`: written,
    /// record the stamp with [`RosterFile::written`]; `Ok(None)`: an editor changed
    /// the file since it was read (refresh, make the edits again, try again).
    pub fn write_out(&self, _locked: &fsio::Lock) -> Result<Option<fsio::Stamp>, RosterError> {
        let read = self.stamp;
        if fsio::stamp(&self.path).map_err(RosterError::io(&self.path))? != read {
            return Ok(None);
        }
        let unchanged = || fsio::stamp(&self.path).ok().flatten() == read;
        if !fsio::write_atomic_if(&self.path, self.roster.text().as_bytes(), unchanged)
            .map_err(RosterError::io(&self.path))?
        {
            return Ok(None);
        }
        let stamp = fsio::stamp(&self.path).map_err(RosterError::io(&self.path))?;
        self.publish()?;
        Ok(stamp)
    }

    /// Records the stamp [`RosterFile::write_out`] returned.
    pub fn written(&mut self, stamp: fsio::Stamp) {
        self.stamp = Some(stamp);
    }

    /// The roster in memory, to edit before [`RosterFile::write_out`].
    pub fn roster_mut(&mut self) -> &mut Roster {
        &mut self.roster
    }

    /// Rewrites the include files: `include_file` with the address of every member
    /// who gets each post, `digest_include_file` with the digest members', one a
    /// line, in roster order (nomail members are in neither).
    pub fn publish(&self) -> Result<(), RosterError> {
        let files = [
            (&self.includes.mail, Mode::Mail),
            (&self.includes.digest, Mode::Digest),
        ];
        for (file, mode) in files {
            let Some(include) = file else {
                continue;
            };
            if let Some(dir) = include.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(RosterError::io(dir))?;
            }
            let out = match mode {
                Mode::Digest => self.roster.digest_lines(),
                Mode::Mail | Mode::Nomail => self.roster.address_lines(),
            };
            fsio::write_atomic(include, out.as_bytes()).map_err(RosterError::io(include))?;
        }
        self.publish_unsubscribe()
    }

    /// Rewrites `unsubscribe_file`: `address<TAB>uri` for every member who gets mail
    /// or digests (mail members first, each group in roster order; nomail members
    /// and an address no URI can be made for are left out).
    fn publish_unsubscribe(&self) -> Result<(), RosterError> {
        let Some(file) = &self.unsubscribe_file else {
            return Ok(());
        };
        let path = &file.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(RosterError::io(dir))?;
        }
        let mut out = String::new();
        let receiving = self.roster.address_lines() + &self.roster.digest_lines();
        for address in receiving.lines() {
            if let Some(uri) = (file.uri)(address) {
                out.push_str(address);
                out.push('\t');
                out.push_str(&uri);
                out.push('\n');
            }
        }
        fsio::write_atomic(path, out.as_bytes()).map_err(RosterError::io(path))
    }

    fn reload(&mut self) -> Result<(), RosterError> {
        let stamp = fsio::stamp(&self.path).map_err(RosterError::io(&self.path))?;
        // The same broken file is not read again: the daemon's saver and every
        // request for the list would otherwise parse it anew until it is fixed.
        if let Some((bad_stamp, source)) = &self.broken
            && stamp.is_some()
            && *bad_stamp == stamp
        {
            return Err(RosterError::Parse {
                path: self.path.clone(),
                error: source.clone(),
            });
        }
        self.reads += 1;
        let roster = match std::fs::read_to_string(&self.path) {
            Ok(text) => match Roster::parse(text) {
                Ok(roster) => roster,
                Err(source) => {
                    self.broken = Some((stamp, source.clone()));
                    return Err(RosterError::Parse {
                        path: self.path.clone(),
                        error: source,
                    });
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Roster::empty(),
            Err(e) => return Err(RosterError::io(&self.path)(e)),
        };
        self.roster = roster;
        self.stamp = stamp;
        self.broken = None;
        Ok(())
    }
}

/// The error when an editor saved the file every time listkeeper was about to.
pub(super) fn kept_changing() -> io::Error {
    io::Error::other(
        "the file kept changing while listkeeper wrote it (is an editor saving it again and again?); this change was not written",
    )
}

/// `.roster.toml.lock` beside the roster: the file every writer locks.
fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.lock"))
}
