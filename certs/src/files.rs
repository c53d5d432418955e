//! Reading files within a bound; writing them: secrets owner-only, public files without
//! clobbering, rewrites atomically.

use std::{
    fs,
    io::{self, Read, Write},
    path::Path,
};

use crate::CertError;

/// The most any file Tether reads may hold: settings, keys, certificates, revocation lists,
/// the known-relays file, the PKI's ledger. None comes near it; it stops a wrong path (a
/// device, a log, `/dev/zero`) from being read into memory whole.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a whole file of at most [`MAX_FILE_BYTES`]; a larger one is an
/// [`io::ErrorKind::InvalidData`] error, found after reading one byte past the bound.
pub fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most(path, MAX_FILE_BYTES)
}

/// [`read_bounded`], as UTF-8 text.
pub fn read_bounded_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_bounded(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn read_at_most(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes, too large to be a file Tether reads"),
        ));
    }
    Ok(bytes)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_up_to_the_bound_are_read_and_larger_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(read_at_most(&path, 100).unwrap(), [7u8; 100]);
        let refused = read_at_most(&path, 99).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
        assert!(
            refused.to_string().contains("larger than 99 bytes"),
            "{refused}"
        );
        assert_eq!(
            read_bounded(&dir.path().join("missing"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn an_endless_file_is_refused_not_read_whole() {
        let refused = read_at_most(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn text_must_be_utf8() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_bounded_text(file.path()).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        fs::write(file.path(), "listen = 1").unwrap();
        assert_eq!(read_bounded_text(file.path()).unwrap(), "listen = 1");
    }
}
