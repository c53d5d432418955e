//! The organisation PKI as its administrator runs it (the `tether-certs` tool's library).
//!
//! Everything lives in one directory (default `./pki`; never commit it, it holds the CA key):
//!
//! | file | contents | mode |
//! |------|----------|------|
//! | `ca.pem` | the CA certificate: what relays and clients trust | public |
//! | `ca.key` | the CA private key (PKCS#8 PEM) | 0600 |
//! | `ledger.json` | every certificate issued, and revocations ([`Ledger`]) | public |
//! | `crl.pem` | the CA-signed CRL: what relays load to honour revocation | public |
//! | `relay.pem`, `relay.key` | the relay's certificate followed by the CA's; its key | key 0600 |
//! | `technicians/NAME.pem`, `.key` | a technician's certificate followed by the CA's; key | key 0600 |
//! | `enrollments/MACHINE.pem` | one bundle: enrollment certificate, CA certificate, key | 0600 |
//!
//! The directory and its subdirectories are created 0700. Keys are created with
//! `create_new`, so nothing is ever overwritten: to re-issue, move the old files away (revoke
//! first if they must stop working). The certificates' contents are described in
//! [`crate::org`].

mod authority;
mod issue;
mod ledger;
mod revoke;

use std::path::{Path, PathBuf};

pub use ledger::{Ledger, LedgerEntry, RevokedBecause, Status};
pub use revoke::{RevocableKind, CRL_VALIDITY};

/// Formats a time as the ledger and the tool write it: RFC 3339 in seconds, UTC.
pub fn format_time(time: std::time::SystemTime) -> String {
    crate::times::rfc3339(time)
}

use crate::CertError;

/// The CA certificate's file name.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA key's file name.
pub const CA_KEY_FILE: &str = "ca.key";
/// The ledger's file name.
pub const LEDGER_FILE: &str = "ledger.json";
/// The CRL's file name.
pub const CRL_FILE: &str = "crl.pem";
/// The relay certificate chain's file name.
pub const RELAY_CERT_FILE: &str = "relay.pem";
/// The relay key's file name.
pub const RELAY_KEY_FILE: &str = "relay.key";
/// The subdirectory of technician credentials.
pub const TECHNICIANS_DIR: &str = "technicians";
/// The subdirectory of enrollment bundles.
pub const ENROLLMENTS_DIR: &str = "enrollments";

/// An organisation's PKI directory, opened for issuing and revoking.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
    ledger: Ledger,
}

/// A file the tool wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Where.
    pub path: PathBuf,
    /// Whether it holds a private key (and so was created 0600).
    pub private: bool,
}

/// What issuing a certificate produced.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate's ledger entry.
    pub entry: LedgerEntry,
    /// The files written, certificate first.
    pub files: Vec<WrittenFile>,
}

impl Pki {
    /// Opens an existing PKI directory (one `init` made).
    pub fn open(dir: &Path) -> Result<Self, CertError> {
        if !dir.join(CA_CERT_FILE).exists() {
            return Err(CertError::NoCa(dir.to_owned()));
        }
        let ledger = Ledger::load(&dir.join(LEDGER_FILE))?;
        Ok(Self {
            dir: dir.to_owned(),
            ledger,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ledger as last saved.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// `DIR/ca.pem`.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// `DIR/crl.pem`.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join(CRL_FILE)
    }

    /// `DIR/relay.pem` and `DIR/relay.key`.
    pub fn relay_paths(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.join(RELAY_CERT_FILE),
            self.dir.join(RELAY_KEY_FILE),
        )
    }

    /// `DIR/technicians/NAME.pem` and `DIR/technicians/NAME.key`.
    pub fn technician_paths(&self, name: &str) -> (PathBuf, PathBuf) {
        let dir = self.dir.join(TECHNICIANS_DIR);
        (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        )
    }

    /// `DIR/enrollments/MACHINE.pem`.
    pub fn enrollment_path(&self, machine: &str) -> PathBuf {
        self.dir
            .join(ENROLLMENTS_DIR)
            .join(format!("{machine}.pem"))
    }

    fn ledger_path(&self) -> PathBuf {
        self.dir.join(LEDGER_FILE)
    }

    fn authority(&self) -> Result<authority::Authority, CertError> {
        authority::Authority::load(&self.ca_cert_path(), &self.dir.join(CA_KEY_FILE))
    }
}
