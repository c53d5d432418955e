//! Writing files: secrets owner-only, public files without clobbering, rewrites atomically.

use std::{fs, io::Write, path::Path};

use crate::CertError;

/// Writes a secret so that only its owner can ever read it (created 0600, not chmod-ed after).
/// Fails if the file exists, so a key is never silently replaced.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    write_with(&options, path, bytes)
}

/// Writes a new public file; fails if it exists.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    write_with(&options, path, bytes)
}

/// Replaces a public file so readers see the old or the new content, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    // A leftover from an interrupted run is ours to replace.
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(CertError::io(tmp)(e)),
        _ => {}
    }
    write_new(tmp, bytes)?;
    fs::rename(tmp, path).map_err(CertError::io(path))
}

/// Creates a directory (and its parents) that only its owner can list, since it holds keys.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), CertError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(CertError::io(path))
}

fn write_with(options: &fs::OpenOptions, path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let mut file = options.open(path).map_err(CertError::io(path))?;
    file.write_all(bytes).map_err(CertError::io(path))?;
    file.sync_all().map_err(CertError::io(path))
}
