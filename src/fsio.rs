//! Durable file operations, all in one place (SPEC section 6).
//!
//! A file is replaced by writing a temporary file beside it, fsyncing it, renaming it
//! over the old one and fsyncing the directory, so a crash leaves either the old or
//! the new file, never half of one. Writers of one file serialise on an advisory
//! lock file beside it, which the CLI and the daemon both take.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Replaces `path` with `data` atomically and durably.
///
/// The new file keeps the old one's permissions and, where we may, its owner, so an
/// admin running the CLI as root does not lock the daemon out of a roster.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic_if(path, data, || true).map(|_| ())
}

/// [`write_atomic`], but only if `still_ok()` holds once the new file is on disk and
/// just before it replaces the old one; `Ok(false)` (nothing replaced) otherwise.
pub fn write_atomic_if(path: &Path, data: &[u8], still_ok: impl Fn() -> bool) -> io::Result<bool> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = std::fs::metadata(path).ok();
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        options.mode(old.as_ref().map_or(0o644, |m| m.mode() & 0o7777));
        let mut file = options.open(&tmp)?;
        if let Some(m) = &old {
            // Only root may give a file away; for anyone else this keeps their own ids.
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
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

/// Fsyncs a directory, so a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive advisory lock, released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Blocks until the exclusive lock on `lock_path` is ours (creating the file).
pub fn lock(lock_path: &Path) -> io::Result<Lock> {
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o664)
        .open(lock_path)
    {
        Ok(file) => file,
        // Made by another user (root running the CLI, say): a lock needs no write
        // access, so share it read-only rather than fail.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => File::open(lock_path)?,
        Err(e) => return Err(e),
    };
    file.lock()?;
    Ok(Lock { _file: file })
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
pub fn stamp(path: &Path) -> io::Result<Option<Stamp>> {
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

/// Appends one record to `path` and fsyncs it (the audit log's write).
pub fn append_durable(path: &Path, data: &[u8]) -> io::Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)?;
    let before = file.metadata()?.len();
    if let Err(e) = file.write_all(data).and_then(|()| file.sync_data()) {
        // A full disk may have taken half the record: take it back, so that the log
        // never holds a torn line.
        let _ = file.set_len(before);
        return Err(e);
    }
    if !existed {
        sync_dir(&parent(path))?;
    }
    Ok(())
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

    #[test]
    fn write_atomic_into_a_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("nope/f"), b"x").is_err());
    }
}
