//! The ledger: `ledger.json`, the inventory of everything the CA issued and revoked.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use serde::{Deserialize, Serialize};

use crate::{
    files::{read_bounded, write_atomic},
    org::CertKind,
    CertError,
};

/// The ledger format this code reads and writes.
const VERSION: u32 = 1;

/// The inventory of the organisation's certificates (`DIR/ledger.json`).
///
/// ```json
/// {
///   "version": 1,
///   "org": "Example Ltd",
///   "crl_number": 2,
///   "crl_next_update": "2025-03-03T10:00:00Z",
///   "certificates": [
///     { "serial": "4f…", "kind": "technician", "role": "admin", "name": "alice",
///       "not_before": "2025-01-01T00:00:00Z", "not_after": "2025-04-01T00:05:00Z",
///       "fingerprint": "sha256:…", "revoked_at": "2025-02-01T10:00:00Z" }
///   ]
/// }
/// ```
///
/// `kind` is `ca`, `relay` (with `names`), `technician` (with `role`) or `enrollment` (with
/// `group`); `revoked_at` is present once revoked, and `revoked_because` when an enrollment
/// credential was revoked for being `used` or `superseded` rather than outright. `crl_number`
/// is the number of the last CRL written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The format version, 1.
    pub version: u32,
    /// The organisation's name, written into every certificate's subject O.
    pub org: String,
    /// The number of the last CRL written; the next one gets a higher number.
    pub crl_number: u64,
    /// The next-update of the last CRL written: relays holding it are stale after that.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_time_serde"
    )]
    pub crl_next_update: Option<SystemTime>,
    /// Everything issued, in order of issuance.
    pub certificates: Vec<LedgerEntry>,
}

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// What it is for (flattened: `kind` and `role` or `group`).
    #[serde(flatten, with = "kind_serde")]
    pub kind: CertKind,
    /// Subject common name.
    pub name: String,
    /// For relays, every DNS name and IP address it is valid for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Start of validity.
    #[serde(with = "time_serde")]
    pub not_before: SystemTime,
    /// End of validity.
    #[serde(with = "time_serde")]
    pub not_after: SystemTime,
    /// SHA-256 fingerprint of the certificate (`sha256:HEX`).
    pub fingerprint: String,
    /// When it was revoked, if it was.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_time_serde"
    )]
    pub revoked_at: Option<SystemTime>,
    /// Why an enrollment credential was revoked, when not outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_because: Option<RevokedBecause>,
}

/// Why an enrollment credential went on the revocation list without being revoked outright.
/// Viewers still accept the machine key a `used` credential endorsed, and no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevokedBecause {
    /// The machine enrolled with it (`tether-certs enrolled`): it must not enroll again, and
    /// its endorsement of the machine's key stands. CRL reason `cessationOfOperation`.
    Used,
    /// The machine enrolled again with a newer credential: the key this one endorsed is not
    /// the machine's any more. CRL reason `superseded`.
    Superseded,
}

/// Where a certificate stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within its validity and not revoked.
    Valid,
    /// Past its not-after (and not revoked).
    Expired,
    /// Revoked (whatever its validity).
    Revoked,
    /// An enrollment credential its machine has used.
    Used,
    /// An enrollment credential replaced by a newer one of its machine.
    Superseded,
}

impl Status {
    /// `valid`, `expired` or `revoked`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
            Status::Used => "used",
            Status::Superseded => "superseded",
        }
    }
}

impl LedgerEntry {
    /// The entry's status at `now`.
    pub fn status(&self, now: SystemTime) -> Status {
        if self.revoked_at.is_some() {
            match self.revoked_because {
                None => Status::Revoked,
                Some(RevokedBecause::Used) => Status::Used,
                Some(RevokedBecause::Superseded) => Status::Superseded,
            }
        } else if now > self.not_after {
            Status::Expired
        } else {
            Status::Valid
        }
    }

    /// The technician's role or the enrollment's group, if the kind has one.
    pub fn role_or_group(&self) -> Option<&str> {
        match &self.kind {
            CertKind::Technician { role } => Some(role),
            CertKind::Enrollment { group } => Some(group),
            CertKind::Ca | CertKind::Relay => None,
        }
    }
}

impl Ledger {
    /// A new, empty ledger.
    pub(crate) fn new(org: &str) -> Self {
        Self {
            version: VERSION,
            org: org.to_owned(),
            crl_number: 0,
            crl_next_update: None,
            certificates: Vec::new(),
        }
    }

    /// Reads `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, CertError> {
        let text = read_bounded(path).map_err(CertError::io(path))?;
        let ledger: Self = serde_json::from_slice(&text).map_err(|e| bad(path, e))?;
        if ledger.version != VERSION {
            return Err(bad(
                path,
                format!("version {} (this tool reads {VERSION})", ledger.version),
            ));
        }
        Ok(ledger)
    }

    /// Replaces `path` atomically.
    pub(crate) fn save(&self, path: &Path) -> Result<(), CertError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| bad(path, e))?;
        json.push(b'\n');
        write_atomic(path, &json)
    }
}

fn bad(path: &Path, reason: impl ToString) -> CertError {
    CertError::BadLedger {
        path: PathBuf::from(path),
        reason: reason.to_string(),
    }
}

/// Times as RFC 3339 strings, readable in the file.
mod time_serde {
    use std::time::SystemTime;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::times::rfc3339(*time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(D::Error::custom)
    }
}

/// [`time_serde`] for an optional time.
mod opt_time_serde {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::time_serde::serialize(time, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::time_serde")] SystemTime);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(time)| time))
    }
}

/// [`CertKind`] as `"kind": "technician", "role": "admin"`, without making the public type
/// depend on serde.
mod kind_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::org::CertKind;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    enum Kind {
        Ca,
        Relay,
        Technician { role: String },
        Enrollment { group: String },
    }

    pub(super) fn serialize<S: Serializer>(kind: &CertKind, s: S) -> Result<S::Ok, S::Error> {
        match kind.clone() {
            CertKind::Ca => Kind::Ca,
            CertKind::Relay => Kind::Relay,
            CertKind::Technician { role } => Kind::Technician { role },
            CertKind::Enrollment { group } => Kind::Enrollment { group },
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CertKind, D::Error> {
        Ok(match Kind::deserialize(d)? {
            Kind::Ca => CertKind::Ca,
            Kind::Relay => CertKind::Relay,
            Kind::Technician { role } => CertKind::Technician { role },
            Kind::Enrollment { group } => CertKind::Enrollment { group },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn round_trips_through_json_with_readable_fields() {
        let mut ledger = Ledger::new("Example Ltd");
        ledger.crl_number = 3;
        ledger.crl_next_update = Some(UNIX_EPOCH);
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        ledger.certificates.push(LedgerEntry {
            serial: "4142".into(),
            kind: CertKind::Technician {
                role: "admin".into(),
            },
            name: "alice".into(),
            names: Vec::new(),
            not_before: t,
            not_after: t + Duration::from_secs(60),
            fingerprint: "sha256:00".into(),
            revoked_at: Some(t + Duration::from_secs(30)),
            revoked_because: None,
        });
        ledger.certificates.push(LedgerEntry {
            kind: CertKind::Relay,
            names: vec!["relay.example".into()],
            revoked_at: None,
            ..ledger.certificates[0].clone()
        });
        ledger.certificates.push(LedgerEntry {
            kind: CertKind::Enrollment {
                group: "prod".into(),
            },
            name: "web-01".into(),
            revoked_because: Some(RevokedBecause::Used),
            ..ledger.certificates[0].clone()
        });
        let json = serde_json::to_string(&ledger).unwrap();
        assert!(
            json.contains(r#""kind":"technician","role":"admin""#),
            "{json}"
        );
        assert!(
            json.contains(r#""not_before":"2027-01-15T08:00:00Z""#),
            "{json}"
        );
        assert_eq!(json.matches("revoked_at").count(), 2, "{json}");
        assert_eq!(
            json.matches(r#""revoked_because":"used""#).count(),
            1,
            "{json}"
        );
        let back: Ledger = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ledger);
        assert_eq!(back.certificates[0].status(t), Status::Revoked);
        assert_eq!(back.certificates[2].status(t), Status::Used);
        assert_eq!(back.certificates[1].status(t), Status::Valid);
        assert_eq!(
            back.certificates[1].status(t + Duration::from_secs(61)),
            Status::Expired
        );
    }

    #[test]
    fn refuses_other_versions_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let mut ledger = Ledger::new("Org");
        ledger.version = 2;
        std::fs::write(&path, serde_json::to_vec(&ledger).unwrap()).unwrap();
        assert!(Ledger::load(&path)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            Ledger::load(&path),
            Err(CertError::BadLedger { .. })
        ));
    }
}
