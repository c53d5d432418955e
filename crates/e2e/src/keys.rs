//! The key schedule: everything derived from the SPAKE2 output with HKDF-SHA256.

use std::fmt;

use ring::{aead, hkdf, hmac};

/// Domain separation for this protocol version's key schedule.
const SALT: &[u8] = b"tether/1 session key schedule";
/// Domain separation for the key schedule of a resumed session stream.
const RESUMED_SALT: &[u8] = b"tether/1 resumed session key schedule";
/// Domain separation of the key that MACs resume requests.
const REQUEST_SALT: &[u8] = b"tether/1 resume request";
/// Bytes of each side's nonce in a resume ([`crate::resume`]).
pub(crate) const NONCE_LEN: usize = 32;

/// Which end of the session a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Viewer,
    Agent,
}

impl Role {
    fn label(self) -> &'static [u8] {
        match self {
            Role::Viewer => b"viewer",
            Role::Agent => b"agent",
        }
    }
}

/// The pseudo-random key all session keys are expanded from.
pub(crate) struct SessionKeys {
    prk: hkdf::Prk,
}

impl SessionKeys {
    /// Extracts the schedule's key from the SPAKE2 output (which already hashes the password,
    /// both identities and both exchange messages).
    pub(crate) fn from_shared_secret(secret: &[u8]) -> Self {
        Self {
            prk: hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret),
        }
    }

    /// The schedule of a stream that resumes session `session_id` from `secret`, with both
    /// sides' fresh nonces (fixed-length, so the concatenation is unambiguous).
    pub(crate) fn resumed(
        secret: &ResumptionSecret,
        session_id: u64,
        viewer_nonce: &[u8; NONCE_LEN],
        agent_nonce: &[u8; NONCE_LEN],
    ) -> Self {
        let input = [
            secret.bytes().as_slice(),
            &session_id.to_be_bytes(),
            viewer_nonce,
            agent_nonce,
        ]
        .concat();
        Self {
            prk: hkdf::Salt::new(hkdf::HKDF_SHA256, RESUMED_SALT).extract(&input),
        }
    }

    /// The secret a later stream may resume this session from.
    pub(crate) fn resumption_secret(&self) -> ResumptionSecret {
        let mut bytes = [0u8; 32];
        self.okm(&[b"resumption".as_slice()], Len(32))
            .fill(&mut bytes)
            .expect("an Okm fills a buffer of its own length");
        ResumptionSecret::new(bytes)
    }

    /// The MAC `role` sends to prove it holds the key.
    pub(crate) fn confirmation(&self, role: Role) -> hmac::Tag {
        hmac::sign(&self.confirmation_key(role), CONFIRMATION_MESSAGE)
    }

    /// Checks, in constant time, the MAC the peer in `role` sent.
    pub(crate) fn verify_confirmation(&self, role: Role, mac: &[u8]) -> bool {
        hmac::verify(&self.confirmation_key(role), CONFIRMATION_MESSAGE, mac).is_ok()
    }

    /// The AEAD key of the direction `sender` → its peer.
    pub(crate) fn record_key(&self, sender: Role) -> aead::LessSafeKey {
        let info = [b"records from ".as_slice(), sender.label()];
        aead::LessSafeKey::new(self.okm(&info, &aead::CHACHA20_POLY1305).into())
    }

    /// The short authentication string both sides show.
    pub(crate) fn short_auth_string(&self) -> ShortAuthString {
        let mut bytes = [0u8; 4];
        self.okm(&[b"short authentication string".as_slice()], Len(4))
            .fill(&mut bytes)
            .expect("an Okm fills a buffer of its own length");
        ShortAuthString(u32::from_be_bytes(bytes) % 1_000_000)
    }

    fn confirmation_key(&self, role: Role) -> hmac::Key {
        let info = [b"confirm ".as_slice(), role.label()];
        self.okm(&info, hmac::HMAC_SHA256).into()
    }

    fn okm<'a, L: hkdf::KeyType>(&'a self, info: &'a [&'a [u8]], len: L) -> hkdf::Okm<'a, L> {
        // HKDF-SHA256 fails only above 255 × 32 output bytes; every key here is at most 32.
        self.prk
            .expand(info, len)
            .expect("HKDF-SHA256 output of at most 32 bytes")
    }
}

/// What each side MACs to confirm the key (the key itself binds code, identities and messages).
const CONFIRMATION_MESSAGE: &[u8] = b"tether/1 key confirmation";

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Six digits derived from the session key, shown on both sides (`123 456`): if the user and
/// the technician read the same digits, nobody is in the middle.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortAuthString(u32);

impl fmt::Display for ShortAuthString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:06}", self.0);
        write!(f, "{} {}", &digits[..3], &digits[3..])
    }
}

impl fmt::Debug for ShortAuthString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortAuthString({self})")
    }
}

/// The secret both ends of an established session stream hold, from which a new stream may
/// take the session back ([`crate::resume`]). It never leaves the two ends; it is not `Clone`,
/// and `Debug` hides it.
pub struct ResumptionSecret([u8; 32]);

impl ResumptionSecret {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key of resume requests: apart from the secret itself, which also keys the resumed
    /// stream's schedule.
    pub(crate) fn request_key(&self) -> hmac::Key {
        hkdf::Salt::new(hkdf::HKDF_SHA256, REQUEST_SALT)
            .extract(&self.0)
            .expand(&[b"resume request".as_slice()], hmac::HMAC_SHA256)
            .expect("HKDF-SHA256 output of 32 bytes")
            .into()
    }
}

impl fmt::Debug for ResumptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumptionSecret(..)")
    }
}
