//! An enrolled machine's long-term identity: an ed25519 key pair kept by its agent.

use ring::{
    rand::SystemRandom,
    signature::{self, Ed25519KeyPair, KeyPair},
};

use crate::E2eError;

/// The agent's machine key. Its public half is recorded at enrollment; the private half never
/// leaves the machine.
pub struct MachineKey {
    pair: Ed25519KeyPair,
}

impl MachineKey {
    /// A new random key, and its PKCS#8 encoding for the agent to store (owner-only).
    pub fn generate() -> Result<(Self, Vec<u8>), E2eError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| E2eError::BadMachineKey)?;
        let key = Self::from_pkcs8(pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    /// The key stored by [`MachineKey::generate`].
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, E2eError> {
        Ed25519KeyPair::from_pkcs8(pkcs8)
            .map(|pair| Self { pair })
            .map_err(|_| E2eError::BadMachineKey)
    }

    /// The public key, as enrolled.
    pub fn public_key(&self) -> [u8; 32] {
        let mut public = [0; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        public
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

impl std::fmt::Debug for MachineKey {
    /// The public half only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MachineKey({})",
            machine_key_fingerprint(&self.public_key())
        )
    }
}

/// Whether `signature` is the machine key `public`'s signature over `message`.
pub fn verify_machine_signature(public: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public)
        .verify(message, signature)
        .is_ok()
}

/// A short, stable way to show a machine key: `ed25519:` and the first 16 hex digits of its
/// SHA-256.
pub fn machine_key_fingerprint(public: &[u8; 32]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public);
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ed25519:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_the_public_key_only() {
        let (key, pkcs8) = MachineKey::generate().unwrap();
        let reloaded = MachineKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key.public_key(), reloaded.public_key());
        let signature = reloaded.sign(b"hello");
        assert!(verify_machine_signature(
            &key.public_key(),
            b"hello",
            &signature
        ));
        assert!(!verify_machine_signature(
            &key.public_key(),
            b"hellO",
            &signature
        ));
        let (other, _) = MachineKey::generate().unwrap();
        assert!(!verify_machine_signature(
            &other.public_key(),
            b"hello",
            &signature
        ));
        assert!(MachineKey::from_pkcs8(b"not a key").is_err());
    }
}
