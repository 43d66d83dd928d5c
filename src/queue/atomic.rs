//! Replacing a file so a crash leaves either the old or the new content, never a mix.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::error::ConfigError;

/// Writes `contents` to a temp file beside `path`, syncs it and renames it over `path`; `private` makes it 0600.
pub(crate) fn write_atomic(path: &Path, contents: &str, private: bool) -> Result<(), ConfigError> {
    let fail = |action: &'static str| {
        move |source: io::Error| ConfigError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dlms-logger-")
        .tempfile_in(dir)
        .map_err(fail("create a temporary file for"))?;
    set_mode(tmp.as_file(), path, private).map_err(fail("set the permissions of"))?;
    tmp.write_all(contents.as_bytes()).map_err(fail("write"))?;
    tmp.as_file().sync_all().map_err(fail("write"))?;
    tmp.persist(path).map_err(|e| fail("replace")(e.error))?;
    sync_dir(dir).map_err(fail("sync the folder of"))
}

/// A file with a password: 0600; else the mode of the file it replaces, or 0644 for a new one.
#[cfg(unix)]
fn set_mode(file: &File, target: &Path, private: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates 0600 files, which would silently tighten every config.
    let mode = match (private, std::fs::metadata(target)) {
        (true, _) => 0o600,
        (false, Ok(old)) => old.permissions().mode() & 0o7777,
        (false, Err(_)) => 0o644,
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _target: &Path, _private: bool) -> io::Result<()> {
    Ok(())
}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
