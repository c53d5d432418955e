//! The organisation's identities in the unattended handshake: a technician's credential signs
//! it, and a machine judges technicians by the organisation's CA.

use std::time::SystemTime;

use rustls::{
    pki_types::{CertificateDer, UnixTime},
    SignatureScheme,
};
use tether_certs::{AcceptedRoles, Credential, OrgTrust};
use tether_e2e::unattended::{Technician, TechnicianAuthority, TechnicianKey};

/// A technician's certificate and key, signing the handshake.
pub struct TechnicianCredential<'a>(pub &'a Credential);

impl TechnicianKey for TechnicianCredential<'_> {
    fn chain(&self) -> Vec<Vec<u8>> {
        self.0.chain().iter().map(|cert| cert.to_vec()).collect()
    }

    fn sign(&self, message: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let (scheme, signature) = self.0.sign(message).map_err(|e| e.to_string())?;
        Ok((u16::from(scheme), signature))
    }
}

/// The organisation's CA, judging technicians at the time the handshake runs, and the roles
/// the machine accepts.
pub struct OrgAuthority<'a> {
    /// The organisation's trust (CA and, if the machine has one, a revocation list).
    pub trust: &'a OrgTrust,
    /// The time certificates must be valid at.
    pub now: SystemTime,
    /// The technicians' roles the machine serves, as its enrollment named them.
    pub accepted_roles: &'a AcceptedRoles,
}

impl TechnicianAuthority for OrgAuthority<'_> {
    fn verify(
        &self,
        chain: &[Vec<u8>],
        scheme: u16,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Technician, String> {
        let chain: Vec<CertificateDer<'_>> = chain
            .iter()
            .map(|cert| CertificateDer::from(cert.as_slice()))
            .collect();
        let now = UnixTime::since_unix_epoch(
            self.now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_err(|e| e.to_string())?,
        );
        let technician = self
            .trust
            .verify_technician(&chain, now)
            .map_err(|e| e.to_string())?;
        let leaf = chain.first().ok_or("an empty certificate chain")?;
        tether_certs::verify_signature(leaf, SignatureScheme::from(scheme), message, signature)
            .map_err(|e| e.to_string())?;
        Ok(Technician {
            name: technician.name,
            role: technician.role,
            expires_at: technician.not_after,
            chain: chain.iter().map(|cert| cert.to_vec()).collect(),
        })
    }

    fn accepts_role(&self, role: &str) -> bool {
        self.accepted_roles.accepts(role)
    }
}
