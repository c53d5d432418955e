//! Certificates and trust for Tether.
//!
//! - [`RelayIdentity`]: the relay's self-signed certificate and key, created on first start in
//!   its data directory (key file mode 0600) and reused afterwards.
//! - [`Fingerprint`]: the SHA-256 of a certificate, written `sha256:HEX`; what clients pin.
//! - [`KnownRelays`]: an ssh-`known_hosts`-like file mapping relay addresses to fingerprints.
//! - [`PinnedRelayVerifier`]: a rustls verifier that accepts exactly the pinned certificate (or,
//!   on first use, any certificate, which the caller then records).
//! - [`HandshakeSignatures`]: the handshake signature checks every verifier shares.
//! - [`files`]: how keys and trust files are written (secrets owner-only, rewrites atomic),
//!   for the tool and for the agent's state alike.
//! - [`org`]: the organisation PKI as its users see it: [`OrgTrust`] (the CA and CRL, rustls
//!   verifiers, technician and enrollment checks), [`Credential`] (a chain and its key),
//!   [`describe`] (what a certificate says it is).
//! - [`pki`]: the organisation PKI as its administrator runs it, behind the `tether-certs`
//!   tool: the CA directory, issuing, the ledger, revocation and the CRL.

mod error;
pub mod files;
mod fingerprint;
mod identity;
mod known_relays;
pub mod org;
pub mod pki;
mod signatures;
mod times;
mod verifier;

pub use error::CertError;
pub use fingerprint::Fingerprint;
pub use identity::{RelayIdentity, RELAY_SERVER_NAME};
pub use known_relays::KnownRelays;
pub use org::{
    describe, endorsement_message, verify_signature, AcceptedRoles, CertInfo, CertKind, Credential,
    OrgTrust, Technician,
};
pub use signatures::HandshakeSignatures;
pub use verifier::{PinnedRelayVerifier, RelayTrust};
