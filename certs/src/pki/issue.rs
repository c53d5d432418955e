//! Issuing: the CA itself, then relay, technician and enrollment certificates.

use std::{
    net::IpAddr,
    path::Path,
    time::{Duration, SystemTime},
};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::{CertificateDer, ServerName};
use time::OffsetDateTime;

use super::{
    Issued, Ledger, LedgerEntry, Pki, WrittenFile, CA_CERT_FILE, CA_KEY_FILE, ENROLLMENTS_DIR,
    LEDGER_FILE, TECHNICIANS_DIR,
};
use crate::{
    files::{create_private_dir, write_new, write_private},
    org::{
        describe, is_org_name,
        profile::{
            check_name, ACCEPT_ROLE_URN_PREFIX, ENROLLMENT_URN, GROUP_URN_PREFIX, RELAY_URN,
            ROLE_URN_PREFIX, TECHNICIAN_URN,
        },
        AcceptedRoles,
    },
    times, CertError, Fingerprint,
};

/// How far validity starts before issuance, so a verifier whose clock is a little behind
/// accepts a fresh certificate.
const BACKDATE_SECS: i64 = 300;

impl Pki {
    /// Creates the organisation's CA in `dir` (created 0700 if missing): `ca.pem`, `ca.key`
    /// (0600), `ledger.json` and an empty `crl.pem`. Refuses if `dir` already has a CA.
    pub fn init(dir: &Path, org: &str, valid_for: Duration) -> Result<(Self, Issued), CertError> {
        if !is_org_name(org) {
            return Err(CertError::BadOrgName(org.chars().take(80).collect()));
        }
        let (not_before, not_after) = validity(valid_for, None)?;
        if [CA_CERT_FILE, CA_KEY_FILE, LEDGER_FILE]
            .iter()
            .any(|file| dir.join(file).exists())
        {
            return Err(CertError::CaExists(dir.to_owned()));
        }
        create_private_dir(dir)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(org, org);
        // Path length 0: the CA signs end entities only, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial()?);
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&key)?;

        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        // The key first: create_new makes a concurrent init fail before anything else is written.
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_new(&cert_path, cert.pem().as_bytes())?;
        let mut pki = Self {
            dir: dir.to_owned(),
            ledger: Ledger::new(org),
        };
        let entry = pki.record(cert.der(), Vec::new())?;
        let crl = pki.write_crl()?;
        let files = vec![
            WrittenFile {
                path: cert_path,
                private: false,
            },
            WrittenFile {
                path: key_path,
                private: true,
            },
            WrittenFile {
                path: pki.ledger_path(),
                private: false,
            },
            WrittenFile {
                path: crl,
                private: false,
            },
        ];
        Ok((pki, Issued { entry, files }))
    }

    /// Issues the relay's server certificate for `names` (DNS names and/or IP addresses; the
    /// first is also its CN): `relay.pem` (certificate, then the CA's) and `relay.key` (0600).
    pub fn issue_relay(
        &mut self,
        names: &[String],
        valid_for: Duration,
    ) -> Result<Issued, CertError> {
        let first = names
            .first()
            .ok_or_else(|| CertError::BadRelayName(String::new()))?;
        let mut sans = vec![uri(RELAY_URN)?];
        for name in names {
            if ServerName::try_from(name.as_str()).is_err() {
                return Err(CertError::BadRelayName(name.chars().take(80).collect()));
            }
            sans.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(name.as_str().try_into()?),
            });
        }
        let (cert_path, key_path) = self.relay_paths();
        refuse_existing(&[&cert_path, &key_path])?;
        let (cert, key) = self.sign(first, sans, ExtendedKeyUsagePurpose::ServerAuth, valid_for)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_new(&cert_path, &self.with_ca(&cert)?)?;
        let entry = self.record(cert.der(), names.to_vec())?;
        Ok(issued(entry, cert_path, Some(key_path)))
    }

    /// Issues a technician's client certificate with `role`: `technicians/NAME.pem`
    /// (certificate, then the CA's) and `technicians/NAME.key` (0600).
    pub fn issue_technician(
        &mut self,
        name: &str,
        role: &str,
        valid_for: Duration,
    ) -> Result<Issued, CertError> {
        check_name("technician name", name)?;
        check_name("role", role)?;
        let sans = vec![
            uri(TECHNICIAN_URN)?,
            uri(&format!("{ROLE_URN_PREFIX}{role}"))?,
        ];
        let (cert_path, key_path) = self.technician_paths(name);
        refuse_existing(&[&cert_path, &key_path])?;
        create_private_dir(&self.dir.join(TECHNICIANS_DIR))?;
        let (cert, key) = self.sign(name, sans, ExtendedKeyUsagePurpose::ClientAuth, valid_for)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_new(&cert_path, &self.with_ca(&cert)?)?;
        let entry = self.record(cert.der(), Vec::new())?;
        Ok(issued(entry, cert_path, Some(key_path)))
    }

    /// Issues an enrollment credential for `machine` in `group`, which will serve technicians
    /// of the `accepted` roles: one 0600 bundle `enrollments/MACHINE.pem` holding the
    /// certificate, the CA's certificate and the key.
    pub fn issue_enrollment(
        &mut self,
        machine: &str,
        group: &str,
        accepted: &AcceptedRoles,
        valid_for: Duration,
    ) -> Result<Issued, CertError> {
        check_name("machine name", machine)?;
        check_name("group", group)?;
        let mut sans = vec![
            uri(ENROLLMENT_URN)?,
            uri(&format!("{GROUP_URN_PREFIX}{group}"))?,
        ];
        for role in accepted.names().unwrap_or_default() {
            check_name("role", role)?;
            sans.push(uri(&format!("{ACCEPT_ROLE_URN_PREFIX}{role}"))?);
        }
        let path = self.enrollment_path(machine);
        refuse_existing(&[&path])?;
        create_private_dir(&self.dir.join(ENROLLMENTS_DIR))?;
        let (cert, key) = self.sign(
            machine,
            sans,
            ExtendedKeyUsagePurpose::ClientAuth,
            valid_for,
        )?;
        let mut bundle = self.with_ca(&cert)?;
        bundle.extend_from_slice(key.serialize_pem().as_bytes());
        write_private(&path, &bundle)?;
        let entry = self.record(cert.der(), Vec::new())?;
        Ok(issued(entry, path, None))
    }

    /// Signs an end-entity certificate for a fresh P-256 key.
    fn sign(
        &self,
        name: &str,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
        valid_for: Duration,
    ) -> Result<(Certificate, KeyPair), CertError> {
        let authority = self.authority()?;
        let (not_before, not_after) = validity(valid_for, Some(authority.not_after))?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(name, &self.ledger.org);
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &authority.issuer)?;
        Ok((cert, key))
    }

    /// The certificate's PEM followed by the CA's, as TLS peers send chains.
    fn with_ca(&self, cert: &Certificate) -> Result<Vec<u8>, CertError> {
        let mut chain = cert.pem().into_bytes();
        chain.extend_from_slice(&crate::org::pem::read(&self.ca_cert_path())?);
        Ok(chain)
    }

    /// Adds the certificate to the ledger, as `describe` reads it back, and saves the ledger.
    fn record(
        &mut self,
        cert: &CertificateDer<'_>,
        names: Vec<String>,
    ) -> Result<LedgerEntry, CertError> {
        let info = describe(cert)?;
        let entry = LedgerEntry {
            serial: info.serial,
            kind: info.kind,
            name: info.name,
            names,
            not_before: info.not_before,
            not_after: info.not_after,
            fingerprint: Fingerprint::of_der(cert).to_string(),
            revoked_at: None,
            revoked_because: None,
        };
        self.ledger.certificates.push(entry.clone());
        self.ledger.save(&self.ledger_path())?;
        Ok(entry)
    }
}

/// Validity from five minutes ago until `valid_for` from now, within the CA's if given.
fn validity(
    valid_for: Duration,
    ca_not_after: Option<SystemTime>,
) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    if valid_for < Duration::from_secs(1) {
        return Err(CertError::BadValidity("shorter than one second".into()));
    }
    let now = times::to_unix(SystemTime::now());
    let too_long = || CertError::BadValidity("it would end after the year 9999".into());
    let end = i64::try_from(valid_for.as_secs())
        .ok()
        .and_then(|secs| now.checked_add(secs))
        .ok_or_else(too_long)?;
    if let Some(ca_end) = ca_not_after {
        if end > times::to_unix(ca_end) {
            return Err(CertError::BadValidity(format!(
                "it would outlive the CA, which expires at {}",
                times::rfc3339(ca_end)
            )));
        }
    }
    let at = |secs| OffsetDateTime::from_unix_timestamp(secs).map_err(|_| too_long());
    Ok((at(now - BACKDATE_SECS)?, at(end)?))
}

/// A random positive serial of 16 bytes (126 random bits), its first byte in 0x40..=0x7f so
/// the DER encoding is always exactly these bytes.
fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn subject(common_name: &str, org: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, org);
    name
}

fn uri(value: &str) -> Result<SanType, CertError> {
    Ok(SanType::URI(value.try_into()?))
}

fn refuse_existing(paths: &[&Path]) -> Result<(), CertError> {
    match paths.iter().find(|path| path.exists()) {
        Some(path) => Err(CertError::AlreadyIssued(path.to_path_buf())),
        None => Ok(()),
    }
}

fn issued(entry: LedgerEntry, cert: std::path::PathBuf, key: Option<std::path::PathBuf>) -> Issued {
    let mut files = vec![WrittenFile {
        path: cert,
        // An enrollment bundle (no separate key) holds its key.
        private: key.is_none(),
    }];
    files.extend(key.map(|path| WrittenFile {
        path,
        private: true,
    }));
    Issued { entry, files }
}
