//! What the directory stores about machines and technicians.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// A machine presenting an enrollment credential, as the relay passes it to
/// [`Directory::enroll`](super::Directory::enroll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMachine {
    /// Its name, unique in the directory (`[A-Za-z0-9._-]{1,64}`).
    pub name: String,
    /// Its group, for policy rules (same alphabet).
    pub group: String,
    /// Its identity: an ed25519 public key.
    pub machine_key: [u8; 32],
    /// The enrollment certificate it presented (DER).
    pub enrollment_cert: Vec<u8>,
    /// The enrollment certificate's endorsement of `machine_key`.
    pub endorsement: Vec<u8>,
    /// The enrollment certificate's serial: each one enrolls once.
    pub enrollment_serial: String,
}

/// How an enrollment changed the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolled {
    /// The name was new.
    New,
    /// The name was enrolled already (e.g. the server was rebuilt): its key was replaced.
    Replaced {
        /// The key it had until now.
        previous_key: [u8; 32],
    },
}

/// An enrolled machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineRecord {
    /// Its name.
    pub name: String,
    /// Its group.
    pub group: String,
    /// Its identity: an ed25519 public key.
    pub machine_key: [u8; 32],
    /// The enrollment certificate it presented (DER).
    pub enrollment_cert: Vec<u8>,
    /// The enrollment certificate's endorsement of `machine_key`.
    pub endorsement: Vec<u8>,
    /// When it enrolled (last, if it enrolled again).
    pub enrolled_at: SystemTime,
    /// When it last connected since enrolling, if it did.
    pub last_seen: Option<SystemTime>,
}

impl MachineRecord {
    /// A short, printable name for its key: `ed25519:` and the first 16 hex digits of the key's
    /// SHA-256.
    pub fn key_fingerprint(&self) -> String {
        let digest = Sha256::digest(self.machine_key);
        format!("ed25519:{}", hex::encode(&digest[..8]))
    }
}

/// A technician the relay has seen connect with a verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechnicianRecord {
    /// The name in their certificate.
    pub name: String,
    /// The role in their latest certificate.
    pub role: String,
    /// Their latest certificate's serial.
    pub serial: String,
    /// When they first connected.
    pub first_seen: SystemTime,
    /// When they last connected.
    pub last_seen: SystemTime,
}

#[cfg(test)]
mod tests {
    use crate::directory::testing::record;

    #[test]
    fn the_fingerprint_is_short_and_follows_the_key() {
        let mut machine = record("web-1", "web");
        let first = machine.key_fingerprint();
        assert!(first.starts_with("ed25519:"), "{first}");
        assert_eq!(first.len(), "ed25519:".len() + 16);
        machine.machine_key[0] ^= 1;
        assert_ne!(machine.key_fingerprint(), first);
    }
}
