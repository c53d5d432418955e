//! Fixtures for the directory's unit tests.

use std::time::{Duration, SystemTime};

use super::{Directory, MachineRecord, NewMachine};

/// A new directory in a temporary file (kept while the `TempDir` lives).
pub(super) fn open_temp() -> (tempfile::TempDir, Directory) {
    let dir = tempfile::tempdir().unwrap();
    let directory = Directory::open(&dir.path().join("relay.db")).unwrap();
    (dir, directory)
}

/// `secs` after the epoch: whole milliseconds, as stored.
pub(super) fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// A key that differs with `seed`.
pub(super) fn key(seed: &str) -> [u8; 32] {
    let mut key = [0; 32];
    for (slot, byte) in key.iter_mut().zip(seed.bytes().cycle()) {
        *slot = byte;
    }
    key
}

/// A machine presenting the credential `serial`, with a key derived from it.
pub(super) fn new_machine(name: &str, group: &str, serial: &str) -> NewMachine {
    NewMachine {
        name: name.to_owned(),
        group: group.to_owned(),
        machine_key: key(serial),
        enrollment_cert: format!("cert {serial}").into_bytes(),
        endorsement: format!("endorsement {serial}").into_bytes(),
        enrollment_serial: serial.to_owned(),
    }
}

/// A machine as stored, without touching a database.
pub(super) fn record(name: &str, group: &str) -> MachineRecord {
    MachineRecord {
        name: name.to_owned(),
        group: group.to_owned(),
        machine_key: key(name),
        enrollment_cert: Vec::new(),
        endorsement: Vec::new(),
        enrolled_at: at(1),
        last_seen: None,
    }
}
