//! The organisation PKI through the library: issuing, files, verification, revocation,
//! endorsements, and rustls handshakes with the verifiers.

mod describe;
mod endorsement;
mod files;
mod handshake;
mod revoke;
mod support;
mod technician;
