//! Bounds on what a peer declares, checked while a message is decoded: a name longer than its
//! bound is refused while it is still a slice of the received message, before it is copied out,
//! so no peer can make the receiver allocate, keep or log more than the bound.
//!
//! Fields use these through serde's `deserialize_with`, so their types (and every sender's code)
//! stay plain `String`s and `Vec<u8>`s and the wire format is unchanged. Postcard keeps no
//! message for a type's own errors, so the field that broke its bound is noted on the decoding
//! thread and [`decode`] reports it precisely ([`ProtoError::OutOfBounds`]).

use std::{cell::Cell, fmt};

use serde::{
    de::{self, DeserializeOwned, Visitor},
    Deserializer,
};

use crate::ProtoError;

/// Longest name or other self-declared text in a control message, in bytes (UTF-8): a host
/// name (at most 64 on Linux), a technician's name, a machine name (at most 64 when enrolled),
/// a software version.
pub const MAX_NAME_LEN: usize = 128;
/// Longest signature in a control message, in bytes: an ed25519 signature is 64, an ECDSA one
/// at most 72 and an RSA-4096 one 512.
pub const MAX_SIGNATURE_LEN: usize = 512;
/// Longest certificate (DER) in a control message, in bytes: the organisation's certificates
/// are about 600.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;
/// Longest revocation list (DER) the relay passes on to a machine, in bytes: about 90 000
/// revoked certificates at 35 bytes each.
pub const MAX_CRL_LEN: usize = 3 * 1024 * 1024;

/// A field that broke its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds {
    /// What the field holds, e.g. "name".
    pub what: &'static str,
    /// Its length in bytes.
    pub len: usize,
    /// Its bound in bytes.
    pub max: usize,
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} of {} bytes exceeds its {}-byte bound",
            self.what, self.len, self.max
        )
    }
}

thread_local! {
    /// The bound the decode running on this thread broke: set by the field's visitor, taken by
    /// [`decode`] in the same synchronous call.
    static BROKEN: Cell<Option<OutOfBounds>> = const { Cell::new(None) };
}

/// Decodes a postcard message body, naming the bound a field broke if that is why it failed.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    BROKEN.set(None);
    postcard::from_bytes(body).map_err(|e| match BROKEN.take() {
        Some(broken) => ProtoError::OutOfBounds(broken),
        None => ProtoError::Malformed(e),
    })
}

/// A name or other self-declared text: at most [`MAX_NAME_LEN`] bytes.
pub fn name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_str(Text(Bound::new("name", MAX_NAME_LEN)))
}

/// A signature: at most [`MAX_SIGNATURE_LEN`] bytes.
pub fn signature<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_bytes(Bytes(Bound::new("signature", MAX_SIGNATURE_LEN)))
}

/// A DER certificate: at most [`MAX_CERTIFICATE_LEN`] bytes.
pub fn certificate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_bytes(Bytes(Bound::new("certificate", MAX_CERTIFICATE_LEN)))
}

/// A DER revocation list: at most [`MAX_CRL_LEN`] bytes.
pub fn crl<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_bytes(Bytes(Bound::new("revocation list", MAX_CRL_LEN)))
}

/// What a field holds and its bound.
struct Bound {
    what: &'static str,
    max: usize,
}

impl Bound {
    fn new(what: &'static str, max: usize) -> Self {
        Self { what, max }
    }

    /// Refuses `len` past the bound, noting which bound for [`decode`].
    fn check<E: de::Error>(&self, len: usize) -> Result<(), E> {
        if len <= self.max {
            return Ok(());
        }
        let broken = OutOfBounds {
            what: self.what,
            len,
            max: self.max,
        };
        BROKEN.set(Some(broken));
        Err(E::custom(broken))
    }

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} of at most {} bytes", self.what, self.max)
    }
}

/// Bounded text: `deserialize_str` hands `visit_str` a slice borrowed from the message.
struct Text(Bound);

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        self.0.check(text.len())?;
        Ok(text.to_owned())
    }
}

/// Bounded bytes: `deserialize_bytes` hands `visit_bytes` a slice borrowed from the message.
struct Bytes(Bound);

impl Visitor<'_> for Bytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        self.0.check(bytes.len())?;
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        control::{ClientMessage, MachineIdentity, RelayMessage, MAX_CLIENT_MESSAGE},
        encode_message, Deframer, Nameplate,
    };

    fn body<T: serde::Serialize>(message: &T) -> Vec<u8> {
        postcard::to_allocvec(message).unwrap()
    }

    /// Every client message with its text fields `len` bytes long and its signatures
    /// `signature` bytes long.
    fn client_messages(len: usize, signature: usize) -> Vec<ClientMessage> {
        let text = "x".repeat(len);
        vec![
            ClientMessage::Hello {
                version: 1,
                software: text.clone(),
            },
            ClientMessage::Register {
                name: text.clone(),
                auto_accept: false,
            },
            ClientMessage::Join {
                nameplate: Nameplate::try_from(123_456).unwrap(),
                name: text.clone(),
            },
            ClientMessage::Enroll {
                machine: text.clone(),
                machine_key: [1; 32],
                endorsement: vec![2; signature],
            },
            ClientMessage::Online {
                machine: text.clone(),
                proof: vec![3; signature],
            },
            ClientMessage::Open { machine: text },
        ]
    }

    #[test]
    fn fields_at_their_bounds_decode_unchanged() {
        for message in client_messages(MAX_NAME_LEN, MAX_SIGNATURE_LEN) {
            let bytes = body(&message);
            assert!(bytes.len() < 1024, "{} bytes", bytes.len());
            assert_eq!(decode::<ClientMessage>(&bytes).unwrap(), message);
        }
        let identity = MachineIdentity {
            name: "n".repeat(MAX_NAME_LEN),
            group: "g".repeat(MAX_NAME_LEN),
            machine_key: [0; 32],
            enrollment_cert: vec![4; MAX_CERTIFICATE_LEN],
            endorsement: vec![5; MAX_SIGNATURE_LEN],
        };
        let opened = RelayMessage::Opened {
            session_id: 1,
            machine: identity,
            data_path: None,
        };
        assert_eq!(decode::<RelayMessage>(&body(&opened)).unwrap(), opened);
        let crl = RelayMessage::Revocations {
            crl: vec![6; MAX_CRL_LEN],
        };
        assert_eq!(decode::<RelayMessage>(&body(&crl)).unwrap(), crl);
    }

    #[test]
    fn a_text_field_one_byte_over_is_refused_by_name() {
        for message in client_messages(MAX_NAME_LEN + 1, 0) {
            let refused = decode::<ClientMessage>(&body(&message)).unwrap_err();
            assert_eq!(
                refused.to_string(),
                "malformed message: a name of 129 bytes exceeds its 128-byte bound",
                "{message:?}"
            );
        }
    }

    #[test]
    fn a_signature_one_byte_over_is_refused() {
        for message in &client_messages(1, MAX_SIGNATURE_LEN + 1)[3..5] {
            let refused = decode::<ClientMessage>(&body(message)).unwrap_err();
            assert!(
                matches!(
                    refused,
                    ProtoError::OutOfBounds(OutOfBounds {
                        what: "signature",
                        len: 513,
                        max: MAX_SIGNATURE_LEN
                    })
                ),
                "{refused}"
            );
        }
        let crl = RelayMessage::Revocations {
            crl: vec![0; MAX_CRL_LEN + 1],
        };
        assert!(matches!(
            decode::<RelayMessage>(&body(&crl)),
            Err(ProtoError::OutOfBounds(OutOfBounds {
                what: "revocation list",
                ..
            }))
        ));
    }

    #[test]
    fn a_name_the_session_limit_allows_is_refused_at_decode_and_the_control_limit_refuses_its_frame(
    ) {
        let huge = ClientMessage::Register {
            name: "x".repeat(crate::MAX_MESSAGE_SIZE - 16),
            auto_accept: false,
        };
        let mut stream = Vec::new();
        encode_message(&huge, &mut stream).unwrap();
        let mut session_limit = Deframer::default();
        session_limit.feed(&stream);
        assert!(matches!(
            session_limit.next_message::<ClientMessage>(),
            Err(ProtoError::OutOfBounds(OutOfBounds { what: "name", .. }))
        ));
        let mut control = Deframer::new(MAX_CLIENT_MESSAGE);
        control.feed(&stream[..4]);
        assert!(matches!(
            control.next_message::<ClientMessage>(),
            Err(ProtoError::MessageTooLarge {
                max: MAX_CLIENT_MESSAGE,
                ..
            })
        ));
    }

    #[test]
    fn other_errors_stay_malformed_and_a_refusal_does_not_outlive_its_decode() {
        let long = body(&client_messages(MAX_NAME_LEN + 1, 0)[1]);
        assert!(matches!(
            decode::<ClientMessage>(&long),
            Err(ProtoError::OutOfBounds(_))
        ));
        // An unknown message kind, then a truncated name: neither is about a bound.
        assert!(matches!(
            decode::<ClientMessage>(&[200]),
            Err(ProtoError::Malformed(_))
        ));
        assert!(matches!(
            decode::<ClientMessage>(&long[..10]),
            Err(ProtoError::Malformed(_))
        ));
    }
}
