//! The organisation's trust: its CA and CRL, and every check made against them.

use std::{path::Path, sync::Arc, time::SystemTime};

use rustls::{
    client::{danger::ServerCertVerifier, WebPkiServerVerifier},
    crypto::CryptoProvider,
    pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime},
    server::{danger::ClientCertVerifier, WebPkiClientVerifier},
    RootCertStore,
};
use webpki::{
    CertRevocationList, EndEntityCert, KeyUsage, RevocationOptionsBuilder, RevocationReason,
};
use x509_parser::num_bigint::BigUint;

use super::{
    describe::{describe, parse},
    endorsement_message, pem,
    signature::verify_with_key_scheme,
    CertKind,
};
use crate::{CertError, Fingerprint};

/// A technician, as proven by a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    /// The technician's name (the certificate's common name).
    pub name: String,
    /// The role the organisation gave them.
    pub role: String,
    /// The certificate's serial number (hex), for audit logs.
    pub serial: String,
    /// When the certificate expires.
    pub not_after: SystemTime,
}

/// The organisation's trust: its CA and (optionally) its CRL.
///
/// The CRL is read once: reload (e.g. when `crl.pem` changes) to honour new revocations. Its
/// next-update is not enforced, so a relay whose administrator is late running
/// `tether-certs crl` keeps admitting valid technicians rather than locking everyone out.
#[derive(Debug, Clone)]
pub struct OrgTrust {
    ca: CertificateDer<'static>,
    roots: Arc<RootCertStore>,
    crl: Option<Crl>,
    provider: Arc<CryptoProvider>,
}

/// A CRL checked to come from the CA: as rustls takes it, and as webpki does.
#[derive(Debug, Clone)]
struct Crl {
    der: CertificateRevocationListDer<'static>,
    parsed: Arc<CertRevocationList<'static>>,
    /// Its CRL number, which `tether-certs` raises with every list (0 when absent).
    number: BigUint,
    /// How many certificates it revokes.
    revoked: usize,
}

impl OrgTrust {
    /// Loads the CA certificate (`ca.pem`, exactly one certificate) and, if given, the CRL
    /// (`crl.pem`), which must be signed by that CA.
    pub fn load(ca_pem: &Path, crl_pem: Option<&Path>) -> Result<Self, CertError> {
        let ca = pem::read(ca_pem)?;
        let crl = match crl_pem {
            Some(path) => Some((pem::read(path)?, path.display().to_string())),
            None => None,
        };
        Self::from_pem_named(
            &ca,
            &ca_pem.display().to_string(),
            crl.as_ref()
                .map(|(pem, what)| (pem.as_slice(), what.as_str())),
        )
    }

    /// Like [`OrgTrust::load`], from PEM text in memory.
    pub fn from_pem(ca_pem: &[u8], crl_pem: Option<&[u8]>) -> Result<Self, CertError> {
        Self::from_pem_named(ca_pem, "CA certificate", crl_pem.map(|pem| (pem, "CRL")))
    }

    fn from_pem_named(
        ca_pem: &[u8],
        ca_what: &str,
        crl_pem: Option<(&[u8], &str)>,
    ) -> Result<Self, CertError> {
        let [ca]: [CertificateDer<'static>; 1] = pem::certificates(ca_pem, ca_what)?
            .try_into()
            .map_err(|_| CertError::BadPem {
                what: ca_what.to_owned(),
                reason: "expected exactly one certificate, the CA's".into(),
            })?;
        let info = describe(&ca)?;
        if info.kind != CertKind::Ca {
            return Err(CertError::WrongKind {
                name: info.name,
                expected: "CA",
                found: info.kind.label(),
            });
        }
        let crl = match crl_pem {
            Some((pem, what)) => Some(Crl::from_ca(&ca, pem::crl(pem, what)?)?),
            None => None,
        };
        let mut roots = RootCertStore::empty();
        roots
            .add(ca.clone())
            .map_err(|e| CertError::BadCertificate(format!("unusable as a trust anchor: {e}")))?;
        Ok(Self {
            ca,
            roots: Arc::new(roots),
            crl,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// rustls client verifier for the relay: CA chain, clientAuth, CRL honoured, and
    /// `allow_unauthenticated()` (attended-session clients present no certificate).
    ///
    /// It accepts every client certificate of the CA that allows client authentication,
    /// enrollment certificates included: after the handshake, pass the peer's chain to
    /// [`OrgTrust::verify_technician`] to learn who it is and refuse other kinds.
    pub fn client_verifier(&self) -> Result<Arc<dyn ClientCertVerifier>, CertError> {
        WebPkiClientVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
            .with_crls(self.crl.iter().map(|crl| crl.der.clone()))
            .allow_unauthenticated()
            .build()
            .map_err(|e| CertError::Tls(format!("building the client verifier: {e}")))
    }

    /// rustls server verifier for clients dialling the relay by its DNS name/IP: CA chain,
    /// serverAuth, the name in the certificate's SANs, CRL honoured if loaded.
    pub fn server_verifier(&self) -> Result<Arc<dyn ServerCertVerifier>, CertError> {
        let verifier =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
                .with_crls(self.crl.iter().map(|crl| crl.der.clone()))
                .build()
                .map_err(|e| CertError::Tls(format!("building the server verifier: {e}")))?;
        Ok(verifier)
    }

    /// Verifies a technician's chain (end entity first) against the CA at `now` (expiry, CRL if
    /// loaded, clientAuth, kind technician).
    pub fn verify_technician(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Technician, CertError> {
        let (end_entity, intermediates) = chain.split_first().ok_or(CertError::NoCertificate)?;
        let info = describe(end_entity)?;
        self.verify_chain(end_entity, intermediates, now, true, &info)?;
        match info.kind {
            CertKind::Technician { role } => Ok(Technician {
                name: info.name,
                role,
                serial: info.serial,
                not_after: info.not_after,
            }),
            other => Err(CertError::WrongKind {
                name: info.name,
                expected: "technician",
                found: other.label(),
            }),
        }
    }

    /// Verifies an enrollment endorsement: `cert` is an enrollment certificate issued by the CA
    /// (checked at its own not-before time, since it may have expired after being used), for
    /// `machine` (its CN), and `signature` is its key's signature over
    /// [`endorsement_message`]`(machine, machine_key)`, made as
    /// [`Credential::sign`](crate::Credential::sign) does. Returns the group. (Revocation/CRL not
    /// applied here: the relay handles removal of machines.)
    ///
    /// Since neither expiry nor revocation is checked here, making sure a machine's *first*
    /// enrollment happens while its credential is valid is the caller's job: e.g. the agent
    /// enrolls over a connection authenticated with the enrollment credential as its TLS client
    /// certificate, which [`OrgTrust::client_verifier`] checks for both.
    pub fn verify_endorsement(
        &self,
        cert: &CertificateDer<'_>,
        machine: &str,
        machine_key: &[u8; 32],
        signature: &[u8],
    ) -> Result<String, CertError> {
        let info = describe(cert)?;
        let issued_at = info
            .not_before
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| CertError::BadCertificate("validity starts before 1970".into()))?;
        self.verify_chain(
            cert,
            &[],
            UnixTime::since_unix_epoch(issued_at),
            false,
            &info,
        )?;
        let CertKind::Enrollment { group } = info.kind else {
            return Err(CertError::WrongKind {
                name: info.name,
                expected: "enrollment",
                found: info.kind.label(),
            });
        };
        if info.name != machine {
            return Err(CertError::MachineMismatch {
                certified: info.name,
                machine: machine.chars().take(80).collect(),
            });
        }
        verify_with_key_scheme(cert, &endorsement_message(machine, machine_key), signature)?;
        Ok(group)
    }

    /// Verifies an endorsement as a viewer must before trusting the machine key it endorses:
    /// [`OrgTrust::verify_endorsement`], and the revocation list in force (if any) must not
    /// list the credential for any reason but its use (`tether-certs enrolled`). So an
    /// endorsement by a credential revoked outright (leaked, or its machine retired) or
    /// superseded by a later enrollment of the machine is refused, whatever the relay says.
    /// Returns the group.
    ///
    /// The credential's expiry is not checked: it normally expired long ago, and a date in the
    /// endorsement would prove nothing, since whoever holds the key could write any date. What
    /// withdraws an endorsement is the CRL.
    pub fn verify_standing_endorsement(
        &self,
        cert: &CertificateDer<'_>,
        machine: &str,
        machine_key: &[u8; 32],
        signature: &[u8],
    ) -> Result<String, CertError> {
        let group = self.verify_endorsement(cert, machine, machine_key, signature)?;
        let Some(crl) = &self.crl else {
            return Ok(group);
        };
        let serial = parse(cert)?.raw_serial().to_vec();
        let listed = crl
            .parsed
            .find_serial(&serial)
            .map_err(|e| CertError::BadCrl(format!("{e:?}")))?;
        let Some(listed) = listed else {
            return Ok(group);
        };
        match listed.reason_code {
            Some(RevocationReason::CessationOfOperation) => Ok(group),
            Some(RevocationReason::Superseded) => Err(CertError::EndorsementWithdrawn {
                machine: machine.to_owned(),
                why: "the machine enrolled again since, with a newer credential",
            }),
            _ => Err(CertError::EndorsementWithdrawn {
                machine: machine.to_owned(),
                why: "its enrollment credential was revoked",
            }),
        }
    }

    /// This trust with `crl_der` as its revocation list, if the CA signed it and it is newer
    /// (a higher CRL number) than the list in force; `Ok(None)` when it is not newer, as when
    /// an older list is replayed to undo a revocation.
    pub fn with_newer_crl(&self, crl_der: &[u8]) -> Result<Option<Self>, CertError> {
        let crl = Crl::from_ca(
            &self.ca,
            CertificateRevocationListDer::from(crl_der.to_vec()),
        )?;
        if self
            .crl
            .as_ref()
            .is_some_and(|current| crl.number <= current.number)
        {
            return Ok(None);
        }
        Ok(Some(Self {
            crl: Some(crl),
            ..self.clone()
        }))
    }

    /// The revocation list in force (DER), if any.
    pub fn crl_der(&self) -> Option<&[u8]> {
        self.crl.as_ref().map(|crl| crl.der.as_ref())
    }

    /// How many certificates the revocation list in force revokes (0 without one).
    pub fn revoked_count(&self) -> usize {
        self.crl.as_ref().map_or(0, |crl| crl.revoked)
    }

    /// The CA certificate's fingerprint, e.g. to show which organisation a relay trusts.
    pub fn ca_fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.ca)
    }

    /// The CA certificate.
    pub fn ca_certificate(&self) -> &CertificateDer<'static> {
        &self.ca
    }

    /// Path building with webpki, as rustls' client verifier does, but with precise errors.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        at: UnixTime,
        check_crl: bool,
        info: &super::CertInfo,
    ) -> Result<(), CertError> {
        let cert = EndEntityCert::try_from(end_entity)
            .map_err(|e| CertError::BadCertificate(e.to_string()))?;
        let crls: Vec<&CertRevocationList<'_>> = match (&self.crl, check_crl) {
            (Some(crl), true) => vec![&*crl.parsed],
            _ => Vec::new(),
        };
        // `new` refuses an empty list: no CRL means no revocation checking.
        let revocation = RevocationOptionsBuilder::new(&crls).ok().map(|b| b.build());
        let name = info.name.clone();
        #[allow(deprecated)] // Older webpki reports a missing EKU without context.
        cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.roots,
            intermediates,
            at,
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map(drop)
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } => CertError::Expired {
                name,
                not_after: info.not_after,
            },
            webpki::Error::CertNotValidYet { .. } => CertError::NotYetValid {
                name,
                not_before: info.not_before,
            },
            webpki::Error::CertRevoked => CertError::Revoked { name },
            // A bad signature here means an issuer with the CA's name but not its key: another
            // CA (organisations can share a name) or a forgery.
            webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
                CertError::UnknownIssuer { name }
            }
            webpki::Error::RequiredEkuNotFound | webpki::Error::RequiredEkuNotFoundContext(_) => {
                CertError::WrongUsage {
                    name,
                    usage: "client authentication",
                }
            }
            other => CertError::Untrusted {
                name,
                reason: other.to_string(),
            },
        })
    }
}

impl Crl {
    /// Accepts a CRL only if the CA issued and signed it: a CRL from elsewhere would silently
    /// revoke nothing (or, with rustls' default policy, everything).
    fn from_ca(
        ca: &CertificateDer<'_>,
        der: CertificateRevocationListDer<'static>,
    ) -> Result<Self, CertError> {
        let ca = parse(ca)?;
        let (rest, crl) =
            x509_parser::parse_x509_crl(&der).map_err(|e| CertError::BadCrl(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::BadCrl("trailing data after the CRL".into()));
        }
        if crl.issuer().as_raw() != ca.subject().as_raw()
            || crl.verify_signature(ca.public_key()).is_err()
        {
            return Err(CertError::CrlNotFromCa);
        }
        let number = crl.crl_number().cloned().unwrap_or_default();
        let revoked = crl.iter_revoked_certificates().count();
        let parsed = webpki::OwnedCertRevocationList::from_der(&der)
            .map_err(|e| CertError::BadCrl(e.to_string()))?;
        Ok(Self {
            parsed: Arc::new(parsed.into()),
            der,
            number,
            revoked,
        })
    }
}
