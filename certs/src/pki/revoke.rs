//! Revocation: marking certificates in the ledger and publishing the CA-signed CRL, and
//! retiring enrollment credentials once their machine has enrolled.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use rcgen::{CertificateRevocationListParams, RevocationReason, RevokedCertParams, SerialNumber};
use time::OffsetDateTime;

use super::{LedgerEntry, Pki, RevokedBecause};
use crate::{files::write_atomic, org::CertKind, times, CertError};

/// How long a CRL is valid (its next-update): run `tether-certs crl` again before then.
pub const CRL_VALIDITY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The kinds of certificate `revoke` can be narrowed to (the CA cannot be revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocableKind {
    /// A relay server certificate.
    Relay,
    /// A technician client certificate.
    Technician,
    /// An enrollment credential.
    Enrollment,
}

impl RevocableKind {
    fn matches(self, kind: &CertKind) -> bool {
        matches!(
            (self, kind),
            (RevocableKind::Relay, CertKind::Relay)
                | (RevocableKind::Technician, CertKind::Technician { .. })
                | (RevocableKind::Enrollment, CertKind::Enrollment { .. })
        )
    }
}

impl Pki {
    /// Revokes the one unrevoked certificate with this serial (hex, colons allowed) or name,
    /// optionally of one kind, then rewrites the CRL. A name matching several certificates is
    /// refused with the candidates listed. Returns the revoked entry.
    pub fn revoke(
        &mut self,
        name_or_serial: &str,
        kind: Option<RevocableKind>,
    ) -> Result<LedgerEntry, CertError> {
        let wanted = |entry: &LedgerEntry| {
            entry.kind != CertKind::Ca && kind.is_none_or(|kind| kind.matches(&entry.kind))
        };
        // A used or superseded enrollment credential may still be revoked outright.
        let index = self.find_one(name_or_serial, &wanted, &|entry| {
            entry.revoked_at.is_none() || entry.revoked_because.is_some()
        })?;
        let before = self.ledger.certificates.clone();
        let entry = &mut self.ledger.certificates[index];
        entry.revoked_at = Some(SystemTime::now());
        entry.revoked_because = None;
        self.publish(before)?;
        Ok(self.ledger.certificates[index].clone())
    }

    /// Retires the enrollment credential a machine has just enrolled with (by its serial, or the
    /// machine's name when only one of its credentials is unused): lists it on the CRL as used,
    /// so that no relay takes it again while viewers still accept the key it endorsed; lists
    /// every other credential of that machine as superseded, so that no viewer accepts a key
    /// they endorsed; and deletes `enrollments/MACHINE.pem`, the copy of its key this
    /// directory kept. Returns the used credential's entry and the file deleted, if any.
    pub fn mark_enrolled(
        &mut self,
        name_or_serial: &str,
    ) -> Result<(LedgerEntry, Option<PathBuf>), CertError> {
        let enrollment = |entry: &LedgerEntry| RevocableKind::Enrollment.matches(&entry.kind);
        let index = self.find_one(name_or_serial, &enrollment, &|entry| {
            entry.revoked_at.is_none()
        })?;
        let before = self.ledger.certificates.clone();
        let now = SystemTime::now();
        let machine = self.ledger.certificates[index].name.clone();
        for (i, entry) in self.ledger.certificates.iter_mut().enumerate() {
            let same_machine = enrollment(entry) && entry.name == machine;
            let outright = entry.revoked_at.is_some() && entry.revoked_because.is_none();
            if !same_machine || outright {
                continue;
            }
            let because = if i == index {
                RevokedBecause::Used
            } else {
                RevokedBecause::Superseded
            };
            entry.revoked_at = Some(now);
            entry.revoked_because = Some(because);
        }
        self.publish(before)?;
        let bundle = self.enrollment_path(&machine);
        let deleted = match std::fs::remove_file(&bundle) {
            Ok(()) => Some(bundle),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CertError::io(&bundle)(e)),
        };
        Ok((self.ledger.certificates[index].clone(), deleted))
    }

    /// The one entry that `wanted` and `open` (still revocable) accept with this serial (hex,
    /// colons allowed), or else this name. A name matching several is refused with the
    /// candidates listed.
    fn find_one(
        &self,
        name_or_serial: &str,
        wanted: &dyn Fn(&LedgerEntry) -> bool,
        open: &dyn Fn(&LedgerEntry) -> bool,
    ) -> Result<usize, CertError> {
        let serial = name_or_serial.to_ascii_lowercase().replace(':', "");
        let find = |matches: &dyn Fn(&LedgerEntry) -> bool| -> Vec<usize> {
            let entries = self.ledger.certificates.iter().enumerate();
            entries
                .filter(|(_, entry)| wanted(entry) && matches(entry))
                .map(|(index, _)| index)
                .collect()
        };
        // A serial names one certificate exactly, so it wins over a name.
        let mut found = find(&|entry| entry.serial == serial);
        if found.is_empty() {
            found = find(&|entry| entry.name == name_or_serial);
        }
        let entries = &self.ledger.certificates;
        let candidates: Vec<usize> = found
            .iter()
            .copied()
            .filter(|&index| open(&entries[index]))
            .collect();
        match (candidates.as_slice(), found.first()) {
            ([index], _) => Ok(*index),
            ([], Some(&index)) => Err(CertError::AlreadyRevoked {
                name: entries[index].name.clone(),
                serial: entries[index].serial.clone(),
            }),
            ([], None) => Err(CertError::NotFound(
                name_or_serial.chars().take(80).collect(),
            )),
            (several, _) => {
                let now = SystemTime::now();
                let candidates = several
                    .iter()
                    .map(|&index| {
                        let entry = &entries[index];
                        format!(
                            "  {}  {}  not after {}  ({})",
                            entry.serial,
                            entry.kind.label(),
                            times::rfc3339(entry.not_after),
                            entry.status(now).label()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                Err(CertError::Ambiguous {
                    name: name_or_serial.to_owned(),
                    candidates,
                })
            }
        }
    }

    /// Writes the CRL for the ledger as it now is; if that fails, puts the ledger back as it
    /// was `before`, so memory stays in step with the files.
    fn publish(&mut self, before: Vec<LedgerEntry>) -> Result<(), CertError> {
        if let Err(e) = self.write_crl() {
            self.ledger.certificates = before;
            return Err(e);
        }
        Ok(())
    }

    /// Writes a new CRL listing every revoked certificate, with the next CRL number and a
    /// next-update [`CRL_VALIDITY`] from now, then saves the ledger. Returns the CRL's path.
    pub fn write_crl(&mut self) -> Result<PathBuf, CertError> {
        let authority = self.authority()?;
        let now = SystemTime::now();
        let mut revoked_certs = Vec::new();
        for entry in &self.ledger.certificates {
            let Some(revoked_at) = entry.revoked_at else {
                continue;
            };
            let serial = hex::decode(&entry.serial).map_err(|_| CertError::BadLedger {
                path: self.ledger_path(),
                reason: format!("serial {:?} is not hex", entry.serial),
            })?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: date_time(revoked_at)?,
                reason_code: entry.revoked_because.map(|because| match because {
                    RevokedBecause::Used => RevocationReason::CessationOfOperation,
                    RevokedBecause::Superseded => RevocationReason::Superseded,
                }),
                invalidity_date: None,
            });
        }
        let number = self.ledger.crl_number.saturating_add(1);
        let next_update = now + CRL_VALIDITY;
        let params = CertificateRevocationListParams {
            this_update: date_time(now)?,
            next_update: date_time(next_update)?,
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: authority.key_id.clone(),
        };
        let crl = params.signed_by(&authority.issuer)?;
        let path = self.crl_path();
        write_atomic(&path, crl.pem()?.as_bytes())?;
        self.ledger.crl_number = number;
        self.ledger.crl_next_update = Some(next_update);
        self.ledger.save(&self.ledger_path())?;
        Ok(path)
    }
}

fn date_time(time: SystemTime) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(times::to_unix(time)).map_err(|_| rcgen::Error::Time.into())
}
