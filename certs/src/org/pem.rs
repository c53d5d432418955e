//! Reading PEM sections (with rustls-pki-types' parser) into DER, with errors naming the input.

use std::path::Path;

use rustls::pki_types::{
    pem::PemObject, CertificateDer, CertificateRevocationListDer, PrivateKeyDer,
};

use crate::CertError;

/// Reads a whole file (within [`crate::files::MAX_FILE_BYTES`]).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    crate::files::read_bounded(path).map_err(CertError::io(path))
}

/// All certificates in `pem`, in order; at least one.
pub(crate) fn certificates(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(what, e))?;
    if certs.is_empty() {
        return Err(bad(what, "no CERTIFICATE section"));
    }
    Ok(certs)
}

/// The one private key in `pem` (PKCS#8, SEC1 or PKCS#1).
pub(crate) fn private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| bad(what, e))
}

/// The first CRL in `pem`.
pub(crate) fn crl(
    pem: &[u8],
    what: &str,
) -> Result<CertificateRevocationListDer<'static>, CertError> {
    CertificateRevocationListDer::from_pem_slice(pem).map_err(|e| bad(what, e))
}

fn bad(what: &str, reason: impl ToString) -> CertError {
    CertError::BadPem {
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}
