//! The CA as a signer: its certificate and key read back from the PKI directory.

use std::{path::Path, time::SystemTime};

use rcgen::{Issuer, KeyIdMethod, KeyPair, PublicKeyData};
use x509_parser::extensions::ParsedExtension;

use crate::{
    org::{describe, pem, CertKind},
    CertError,
};

/// The organisation's CA, able to sign certificates and CRLs.
pub(crate) struct Authority {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    /// How the CA names its key, so CRLs carry the CA's own key identifier.
    pub(crate) key_id: KeyIdMethod,
    /// End of the CA's validity, which nothing it issues may outlive.
    pub(crate) not_after: SystemTime,
}

impl Authority {
    /// Reads `ca.pem` and `ca.key`, and checks that the key is the certificate's.
    pub(crate) fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CertError> {
        let cert_what = cert_path.display().to_string();
        let [cert] = <[_; 1]>::try_from(pem::certificates(&pem::read(cert_path)?, &cert_what)?)
            .map_err(|_| CertError::BadPem {
                what: cert_what.clone(),
                reason: "expected exactly one certificate, the CA's".into(),
            })?;
        let info = describe(&cert)?;
        if info.kind != CertKind::Ca {
            return Err(CertError::WrongKind {
                name: info.name,
                expected: "CA",
                found: info.kind.label(),
            });
        }
        let key_text = String::from_utf8(pem::read(key_path)?).map_err(|_| CertError::BadPem {
            what: key_path.display().to_string(),
            reason: "not UTF-8 text".into(),
        })?;
        let key = KeyPair::from_pem(&key_text)?;
        let x509 = crate::org::parse_certificate(&cert)?;
        if key.subject_public_key_info() != x509.public_key().raw {
            return Err(CertError::KeyMismatch(cert_what));
        }
        let key_id = x509
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => {
                    Some(KeyIdMethod::PreSpecified(id.0.to_vec()))
                }
                _ => None,
            })
            .unwrap_or(KeyIdMethod::Sha256);
        Ok(Self {
            issuer: Issuer::from_ca_cert_der(&cert, key)?,
            key_id,
            not_after: info.not_after,
        })
    }
}
