//! A CA in a temporary directory, and the ways tests look at it.

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use rustls::pki_types::UnixTime;
use tempfile::TempDir;
use tether_certs::{pki::Pki, AcceptedRoles, Credential, OrgTrust};

pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A fresh organisation with a relay for `relay.example.com` and 10.0.0.1.
pub struct Org {
    pub pki: Pki,
    _dir: TempDir,
}

impl Org {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (mut pki, _) = Pki::init(&dir.path().join("pki"), name, 3650 * DAY).unwrap();
        pki.issue_relay(
            &["relay.example.com".to_owned(), "10.0.0.1".to_owned()],
            825 * DAY,
        )
        .unwrap();
        Self { pki, _dir: dir }
    }

    pub fn dir(&self) -> &Path {
        self.pki.dir()
    }

    /// The CA and the current CRL, as a relay loads them.
    pub fn trust(&self) -> OrgTrust {
        OrgTrust::load(&self.pki.ca_cert_path(), Some(&self.pki.crl_path())).unwrap()
    }

    pub fn technician(&mut self, name: &str, role: &str, valid_for: Duration) -> Credential {
        self.pki.issue_technician(name, role, valid_for).unwrap();
        let (cert, key) = self.pki.technician_paths(name);
        Credential::load(&cert, Some(&key)).unwrap()
    }

    pub fn enrollment(&mut self, machine: &str, group: &str, valid_for: Duration) -> Credential {
        self.pki
            .issue_enrollment(machine, group, &AcceptedRoles::Any, valid_for)
            .unwrap();
        Credential::load(&self.pki.enrollment_path(machine), None).unwrap()
    }

    pub fn relay(&self) -> Credential {
        let (cert, key) = self.pki.relay_paths();
        Credential::load(&cert, Some(&key)).unwrap()
    }
}

pub fn unix(time: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(time.duration_since(SystemTime::UNIX_EPOCH).unwrap())
}

pub fn now() -> UnixTime {
    unix(SystemTime::now())
}
