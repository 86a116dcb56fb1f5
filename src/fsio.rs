//! Durable file operations, all in one place (docs/reference.md, section 6).
//!
//! A file is replaced by writing a temporary file beside it, fsyncing it, renaming it
//! over the old one and fsyncing the directory, so a crash leaves either the old or
//! the new file, never half of one. Writers of one file serialise on an advisory
//! lock file beside it, which the CLI and the daemon both take.
//!
//! What listkeeper keeps under `state_dir` is private: folders are made 0750 and
//! files 0640 or 0600 ([`create_private_dir`], [`write_private`], [`open_append`],
//! [`open_private_lock`]), since queued and failed replies carry live tokens. Errors
//! about those files name the path ([`at`]): "No such file or directory" alone does
//! not tell an operator which one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Adds `path` to an I/O error (keeping its kind), for the errors about state files.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Creates a folder of the state (and its missing parents) with mode 0750.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(at(dir))
}

/// Replaces `path` with `data` atomically and durably.
///
/// The new file keeps the old one's permissions and, where we may, its owner, so an
/// admin running the CLI as root does not lock the daemon out of a roster. A file
/// that did not exist is made 0644.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, data, 0o644, || true).map(|_| ())
}

/// [`write_atomic`] for a state file: one that did not exist is made 0600.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, data, 0o600, || true).map(|_| ())
}

/// [`write_atomic`], but only if `still_ok()` holds once the new file is on disk and
/// just before it replaces the old one; `Ok(false)` (nothing replaced) otherwise.
pub(crate) fn write_atomic_if(
    path: &Path,
    data: &[u8],
    still_ok: impl Fn() -> bool,
) -> io::Result<bool> {
    write_atomic_mode(path, data, 0o644, still_ok)
}

fn write_atomic_mode(
    path: &Path,
    data: &[u8],
    new_mode: u32,
    still_ok: impl Fn() -> bool,
) -> io::Result<bool> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = temporary(&dir, &name);
    let old = std::fs::metadata(path).ok();
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        options.mode(old.as_ref().map_or(new_mode, |m| m.mode() & 0o7777));
        let mut file = options.open(&tmp)?;
        if let Some(m) = &old {
            keep_owner(&file, m)?;
        }
        file.write_all(data)?;
        file.sync_all()?;
        if !still_ok() {
            return Ok(false);
        }
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)?;
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A name beside the file for a temporary copy of it, of this process and this call
/// alone (two threads replacing one file must not share it).
fn temporary(dir: &Path, name: &str) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Creates `path` holding `data` (mode `mode`) unless it exists, atomically: the
/// data is written and fsync'd under a temporary name, then hard-linked to `path`,
/// which fails when another process made it first. Returns whether ours is the file;
/// either way `path` is complete and durable when this returns `Ok`. For the files
/// made on first use that several processes may make at once (the token key).
pub(crate) fn create_exclusive(path: &Path, data: &[u8], mode: u32) -> io::Result<bool> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = temporary(&dir, &name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        let ours = match std::fs::hard_link(&tmp, path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e),
        };
        sync_dir(&dir)?;
        Ok(ours)
    })();
    let _ = std::fs::remove_file(&tmp);
    result.map_err(at(path))
}

/// Gives the new file the old one's owner, calling `fchown` only when they differ:
/// under systemd's `SystemCallFilter=~@privileged` (the shipped unit) `fchown` is
/// denied, and the daemon, which owns its files, must never need it (issue 12).
/// Only root may give a file away; for anyone else the call fails and the file
/// keeps their own ids, which is fine.
fn keep_owner(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    let new = file.metadata()?;
    let uid = (new.uid() != old.uid()).then_some(old.uid());
    let gid = (new.gid() != old.gid()).then_some(old.gid());
    if uid.is_some() || gid.is_some() {
        let _ = std::os::unix::fs::fchown(file, uid, gid);
    }
    Ok(())
}

/// Fsyncs a directory, so a rename or a new file in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive advisory lock, released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// An exclusive advisory lock on a lock file kept open, released when dropped.
#[derive(Debug)]
pub(crate) struct Held<'a> {
    file: &'a File,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Blocks until the exclusive lock on an open lock file is ours.
pub(crate) fn hold(file: &File) -> io::Result<Held<'_>> {
    file.lock()?;
    Ok(Held { file })
}

/// Opens (creating, mode 0664) a lock file for [`hold`].
pub(crate) fn open_lock(lock_path: &Path) -> io::Result<File> {
    open_lock_mode(lock_path, 0o664)
}

/// [`open_lock`] for a lock file in the state folder (mode 0640), its path named in
/// an error.
pub(crate) fn open_private_lock(lock_path: &Path) -> io::Result<File> {
    open_lock_mode(lock_path, 0o640).map_err(at(lock_path))
}

fn open_lock_mode(lock_path: &Path, mode: u32) -> io::Result<File> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(lock_path)
    {
        Ok(file) => Ok(file),
        // Made by another user (root running the CLI, say): a lock needs no write
        // access, so share it read-only rather than fail.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => File::open(lock_path),
        Err(e) => Err(e),
    }
}

/// Blocks until the exclusive lock on `lock_path` is ours (creating the file).
#[cfg(test)]
pub(crate) fn lock(lock_path: &Path) -> io::Result<Lock> {
    let file = open_lock(lock_path)?;
    file.lock()?;
    Ok(Lock { _file: file })
}

/// The exclusive lock on `lock_path` (creating the file), waiting at most `wait`: the error then (kind `TimedOut`) names the lock
/// file and says that nothing was done.
///
/// Written here because the standard library (and the maintained locking crates:
/// fs4, fd-lock) offer only a lock that blocks for ever or one try; a bounded wait
/// is those tries in a loop, a few milliseconds apart.
pub(crate) fn lock_within(lock_path: &Path, wait: std::time::Duration) -> io::Result<Lock> {
    let file = open_lock(lock_path)?;
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if start.elapsed() >= wait {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "another listkeeper process has held the lock {} for {} s; nothing was changed",
                    lock_path.display(),
                    wait.as_secs()
                ),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    }
}

/// Identity and version of a file, to tell whether someone changed it since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// The current stamp of `path`, `None` when it does not exist.
pub(crate) fn stamp(path: &Path) -> io::Result<Option<Stamp>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens `path` for appending (mode 0640 when created; the folder is fsync'd then,
/// so the new file survives a crash). An error names the path.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
        .map_err(at(path))?;
    if !existed {
        let dir = parent(path);
        sync_dir(&dir).map_err(at(&dir))?;
    }
    Ok(file)
}

/// Appends `data` (to a file opened for appending). A full disk may take half of
/// it: the file is then cut back by what was written, so a log never holds a torn
/// line.
pub(crate) fn append(file: &mut File, data: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < data.len() {
        match file.write(&data[written..]) {
            Ok(0) => return cut_back(file, written, io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return cut_back(file, written, e),
        }
    }
    Ok(())
}

fn cut_back(file: &File, written: usize, e: io::Error) -> io::Result<()> {
    if written > 0
        && let Ok(meta) = file.metadata()
    {
        let _ = file.set_len(meta.len().saturating_sub(written as u64));
    }
    Err(e)
}

/// Group commit for a file that several threads append to: each writer notes its
/// write, then asks for durability; one fsync covers every write made before it
/// started, so concurrent writers share fsyncs instead of queueing one each.
#[derive(Debug)]
pub(crate) struct GroupSync {
    written: std::sync::atomic::AtomicU64,
    synced: std::sync::Mutex<(u64, File)>,
}

impl GroupSync {
    /// Group commit for `file` (a handle of the file appended to).
    pub(crate) fn new(file: File) -> GroupSync {
        GroupSync {
            written: std::sync::atomic::AtomicU64::new(0),
            synced: std::sync::Mutex::new((0, file)),
        }
    }

    /// Records that a write was made; returns its ticket for [`GroupSync::sync`].
    /// Call it after the write, before letting go of whatever orders the writes.
    pub(crate) fn wrote(&self) -> u64 {
        self.written
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    /// The ticket of the latest write (to make everything so far durable).
    pub(crate) fn latest(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once the write with this ticket is on disk.
    pub(crate) fn sync(&self, ticket: u64) -> io::Result<()> {
        let mut synced = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if synced.0 >= ticket {
            return Ok(());
        }
        let upto = self.written.load(std::sync::atomic::Ordering::SeqCst);
        synced.1.sync_data()?;
        synced.0 = upto;
        Ok(())
    }

    /// The file was replaced by one already on disk (compaction): every write so far
    /// is durable, and later fsyncs go to `file`.
    pub(crate) fn replaced(&self, file: File) {
        let mut synced = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *synced = (self.written.load(std::sync::atomic::Ordering::SeqCst), file);
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let before = stamp(&path).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_ne!(stamp(&path).unwrap(), before);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    /// The replacement keeps an owner other than ours (root's CLI writing a roster
    /// the service user owns); issue 12 made the chown conditional, not gone.
    #[test]
    fn write_atomic_keeps_another_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "old").unwrap();
        if std::fs::metadata(&path).unwrap().uid() != 0 {
            assert!(std::env::var_os("CI").is_none(), "CI runs as root");
            eprintln!("SKIPPED: only root may give a file away");
            return;
        }
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn lock_within_waits_for_the_holder_then_gives_up_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".f.lock");
        let held = lock(&path).unwrap();
        let e = lock_within(&path, std::time::Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains(".f.lock"), "{e}");
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || lock_within(&path, std::time::Duration::from_secs(10)))
        };
        std::thread::sleep(std::time::Duration::from_millis(30));
        drop(held);
        assert!(waiter.join().unwrap().is_ok(), "taken once let go");
    }

    #[test]
    fn create_exclusive_has_one_winner_and_no_half_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let wins: Vec<bool> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || create_exclusive(path, &[b'a' + i; 4096], 0o600).unwrap())
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 4096);
        assert!(
            data.iter().all(|b| *b == data[0]),
            "one writer's data, whole"
        );
        let mode = std::fs::metadata(&path).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn write_atomic_into_a_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("nope/f"), b"x").is_err());
    }
}
