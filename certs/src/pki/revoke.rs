//! Revocation: marking certificates in the ledger and publishing the CA-signed CRL.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use rcgen::{CertificateRevocationListParams, RevokedCertParams, SerialNumber};
use time::OffsetDateTime;

use super::{LedgerEntry, Pki};
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
        let unrevoked: Vec<usize> = found
            .iter()
            .copied()
            .filter(|&index| entries[index].revoked_at.is_none())
            .collect();
        let index = match (unrevoked.as_slice(), found.first()) {
            ([index], _) => *index,
            ([], Some(&index)) => {
                return Err(CertError::AlreadyRevoked {
                    name: entries[index].name.clone(),
                    serial: entries[index].serial.clone(),
                })
            }
            ([], None) => {
                return Err(CertError::NotFound(
                    name_or_serial.chars().take(80).collect(),
                ))
            }
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
                return Err(CertError::Ambiguous {
                    name: name_or_serial.to_owned(),
                    candidates,
                });
            }
        };
        self.ledger.certificates[index].revoked_at = Some(SystemTime::now());
        if let Err(e) = self.write_crl() {
            // Nothing was saved: keep memory in step with the files.
            self.ledger.certificates[index].revoked_at = None;
            return Err(e);
        }
        Ok(self.ledger.certificates[index].clone())
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
                reason_code: None,
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
