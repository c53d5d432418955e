//! SHA-256 certificate fingerprints.

use std::{fmt, str::FromStr};

use sha2::{Digest, Sha256};

use crate::CertError;

/// The SHA-256 digest of a DER-encoded certificate, displayed as `sha256:` and 64 lowercase hex
/// digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = CertError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CertError::BadFingerprint(s.chars().take(80).collect());
        let hex_part = s.trim().strip_prefix("sha256:").ok_or_else(bad)?;
        let mut bytes = [0; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| bad())?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let fp = Fingerprint::of_der(b"certificate");
        let text = fp.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            text.to_uppercase()
                .replace("SHA256", "sha256")
                .parse::<Fingerprint>()
                .unwrap(),
            fp
        );
    }

    #[test]
    fn rejects_malformed_fingerprints() {
        for s in [
            "",
            "sha256:",
            "sha1:00",
            "sha256:zz",
            &format!("sha256:{}", "0".repeat(62)),
        ] {
            assert!(s.parse::<Fingerprint>().is_err(), "{s:?} parsed");
        }
    }
}
