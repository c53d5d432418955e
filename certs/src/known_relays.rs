//! The known-relays file: like ssh's `known_hosts`, one `HOST:PORT sha256:HEX` line per relay.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use crate::{files::read_bounded_text, CertError, Fingerprint};

/// Relays whose certificate fingerprints this client has pinned.
#[derive(Debug)]
pub struct KnownRelays {
    path: PathBuf,
    entries: Vec<(String, Fingerprint)>,
}

impl KnownRelays {
    /// Loads the file at `path`; a missing file is an empty list. Blank lines and lines starting
    /// with `#` are ignored; any other malformed line is an error (never silently skipped, since
    /// skipping a pin would turn into trust on first use).
    pub fn load(path: &Path) -> Result<Self, CertError> {
        let text = match read_bounded_text(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CertError::io(path)(e)),
        };
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || CertError::BadKnownRelaysLine {
                path: path.to_owned(),
                line: index + 1,
            };
            let mut fields = line.split_whitespace();
            let (Some(host), Some(fp), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(bad());
            };
            entries.push((host.to_owned(), fp.parse().map_err(|_| bad())?));
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// The pinned fingerprint for `relay` (as `HOST:PORT`), if any.
    pub fn get(&self, relay: &str) -> Option<Fingerprint> {
        self.entries
            .iter()
            .find(|(host, _)| host == relay)
            .map(|(_, fp)| *fp)
    }

    /// Pins `fingerprint` for `relay`, appending to the file (created with its directory).
    pub fn add(&mut self, relay: &str, fingerprint: Fingerprint) -> Result<(), CertError> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(CertError::io(dir))?;
        }
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(CertError::io(&self.path))?;
        writeln!(file, "{relay} {fingerprint}").map_err(CertError::io(&self.path))?;
        self.entries.push((relay.to_owned(), fingerprint));
        Ok(())
    }

    /// The file this list is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_and_added_entries_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_relays");
        let mut known = KnownRelays::load(&path).unwrap();
        assert_eq!(known.get("relay:4433"), None);
        let fp = Fingerprint::of_der(b"x");
        known.add("relay:4433", fp).unwrap();
        let reloaded = KnownRelays::load(&path).unwrap();
        assert_eq!(reloaded.get("relay:4433"), Some(fp));
        assert_eq!(reloaded.get("relay:4434"), None);
    }

    #[test]
    fn malformed_lines_are_errors_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_relays");
        fs::write(&path, "# comment\n\nrelay:1 sha256:00\n").unwrap();
        let err = KnownRelays::load(&path).unwrap_err();
        assert!(err.to_string().contains(":3:"), "{err}");
    }
}
