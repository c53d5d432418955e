//! The keys that let a restarted relay end its old clients' connections at once.
//!
//! A QUIC endpoint that gets a packet for a connection it does not know answers with a
//! stateless reset, if it recognises the packet's connection ID as one of its own, and the
//! client believes the reset only if it carries the token the relay issued with that ID (an
//! HMAC of the ID). quinn draws both keys afresh at every start, so a relay that crashed and
//! came back dropped its old clients' packets: they kept sending keep-alives into the void
//! until their idle timeout (10 s by default), and only then reconnected. With both keys
//! derived from a secret kept in the data directory, the first keep-alive after the restart is
//! answered with a reset the client accepts, and it reconnects at once. The secret is as
//! private as the relay's TLS key: whoever holds it can end any of the relay's connections.

use std::{io::ErrorKind, path::Path, sync::Arc, time::Duration};

use anyhow::{anyhow, ensure, Context};
use quinn::EndpointConfig;
use quinn_proto::HashedConnectionIdGenerator;
use ring::{
    hkdf, hmac,
    rand::{SecureRandom, SystemRandom},
};
use tether_certs::files::{read_bounded, write_private};

/// The secret's file in the data directory (mode 0600).
pub(crate) const FILE: &str = "endpoint.key";
/// The secret's length.
const LEN: usize = 32;
const RESET_KEY_INFO: &[u8] = b"tether relay: stateless reset tokens";
const CID_KEY_INFO: &[u8] = b"tether relay: connection ids";

/// The keys derived from the relay's endpoint secret, read from or created in its data
/// directory.
pub(crate) struct EndpointKeys {
    reset_key: hmac::Key,
    cid_key: u64,
}

/// HKDF output of a caller-chosen length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl EndpointKeys {
    /// Reads the secret from `data_dir`, or creates it there on first start.
    pub(crate) fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(FILE);
        let bytes = match read_bounded(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let mut bytes = vec![0; LEN];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| anyhow!("the system's random number generator failed"))?;
                std::fs::create_dir_all(data_dir)
                    .with_context(|| format!("cannot create {}", data_dir.display()))?;
                write_private(&path, &bytes)?;
                bytes
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        ensure!(
            bytes.len() == LEN,
            "{} holds {} bytes instead of {LEN}; remove it and the relay makes a new one",
            path.display(),
            bytes.len()
        );
        let secret = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &bytes);
        Ok(Self {
            reset_key: hmac::Key::new(hmac::HMAC_SHA256, &derive::<32>(&secret, RESET_KEY_INFO)?),
            cid_key: u64::from_le_bytes(derive::<8>(&secret, CID_KEY_INFO)?),
        })
    }

    /// An endpoint configuration whose reset tokens and connection IDs outlive this process,
    /// sending at most one reset per `min_reset_interval`.
    pub(crate) fn endpoint_config(&self, min_reset_interval: Duration) -> EndpointConfig {
        let cid_key = self.cid_key;
        let mut config = EndpointConfig::new(Arc::new(self.reset_key.clone()));
        config
            .cid_generator(move || Box::new(HashedConnectionIdGenerator::from_key(cid_key)))
            .min_reset_interval(min_reset_interval);
        config
    }
}

/// `N` bytes of key for the use `info` names.
fn derive<const N: usize>(secret: &hkdf::Prk, info: &[u8]) -> anyhow::Result<[u8; N]> {
    let mut out = [0; N];
    let info = [info];
    secret
        .expand(&info, Len(N))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| anyhow!("cannot derive a {N}-byte key"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the reset key makes of a connection ID, as a reset token is made.
    fn token(keys: &EndpointKeys) -> Vec<u8> {
        hmac::sign(&keys.reset_key, b"connection id")
            .as_ref()
            .to_vec()
    }

    #[test]
    fn the_secret_is_made_once_owner_only_and_then_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let first = EndpointKeys::load_or_create(dir.path()).expect("created");
        let again = EndpointKeys::load_or_create(dir.path()).expect("read back");
        assert_eq!(token(&first), token(&again));
        assert_eq!(first.cid_key, again.cid_key);
        let other = tempfile::tempdir().expect("temporary directory");
        let elsewhere = EndpointKeys::load_or_create(other.path()).expect("created");
        assert_ne!(
            token(&first),
            token(&elsewhere),
            "secrets are drawn at random"
        );
        assert_ne!(first.cid_key, elsewhere.cid_key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .expect("secret file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_secret_file_of_the_wrong_size_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join(FILE), b"short").expect("write");
        let error = EndpointKeys::load_or_create(dir.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("holds 5 bytes instead of 32; remove it"),
            "{error}"
        );
    }
}
