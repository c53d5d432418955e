//! The organisation PKI: what its certificates contain, and how they are checked.
//!
//! An organisation runs its own CA (made with the `tether-certs` tool, see [`crate::pki`]). The
//! CA issues three kinds of certificates, all ECDSA P-256 with 16-byte serial numbers (126 random bits):
//!
//! | kind | subject | SAN | EKU | valid by default |
//! |------|---------|-----|-----|------------------|
//! | CA | CN = O = organisation | — (basic constraints CA, path length 0; key usage certSign, cRLSign) | — | 10 years |
//! | relay | CN = first name, O = organisation | DNS names / IPs, URI `urn:tether:relay` | serverAuth | 825 days |
//! | technician | CN = name, O = organisation | URI `urn:tether:technician`, URI `urn:tether:role:ROLE` | clientAuth | 90 days |
//! | enrollment | CN = machine, O = organisation | URI `urn:tether:enrollment`, URI `urn:tether:group:GROUP`, and one URI `urn:tether:accept-role:ROLE` per role the machine accepts (none: any) | clientAuth | 24 hours |
//!
//! The kind is read from the SAN URIs (exactly one `urn:tether:` kind marker, and for
//! technicians and enrollments exactly one role or group); the CA is the certificate with
//! basic constraints CA and no marker. Names, roles and groups are `[A-Za-z0-9._-]{1,64}`, so
//! they are safe as file names; relay names are DNS names or IP addresses. Validity starts five
//! minutes before issuance, so a relay whose clock is a little behind still accepts a new
//! certificate.
//!
//! Revocation is a CRL signed by the CA (`crl.pem`). [`OrgTrust`] loads the CA and the CRL and
//! gives the relay its rustls client verifier, clients a server verifier for the relay, and
//! the checks for technicians ([`OrgTrust::verify_technician`]) and for enrollment
//! endorsements ([`OrgTrust::verify_endorsement`]): a machine proves it was enrolled by the
//! organisation by having its enrollment credential sign [`endorsement_message`] over the
//! machine's long-term public key.

mod credential;
mod describe;
pub(crate) mod pem;
pub(crate) mod profile;
mod roles;
mod signature;
mod trust;

pub use credential::Credential;
pub use describe::{describe, CertInfo, CertKind};
pub(crate) use describe::{is_org_name, parse as parse_certificate};
pub use roles::AcceptedRoles;
pub use signature::{endorsement_message, verify_signature};
pub use trust::{OrgTrust, Technician};
