//! Enrollment endorsements, and `Credential::sign` / `verify_signature`.

use std::time::Duration;

use rustls::SignatureScheme;
use tether_certs::{endorsement_message, verify_signature, CertError};

use crate::support::{Org, DAY};

const MACHINE_KEY: [u8; 32] = [7; 32];

#[test]
fn an_enrollment_credential_endorses_its_machine_key() {
    let mut org = Org::new("Example Ltd");
    let web = org.enrollment("web-01", "web", DAY);
    let (scheme, signature) = web
        .sign(&endorsement_message("web-01", &MACHINE_KEY))
        .unwrap();
    assert_eq!(scheme, SignatureScheme::ECDSA_NISTP256_SHA256);
    let trust = org.trust();
    let cert = &web.chain()[0];
    assert_eq!(
        trust
            .verify_endorsement(cert, "web-01", &MACHINE_KEY, &signature)
            .unwrap(),
        "web"
    );

    let err = trust
        .verify_endorsement(cert, "web-02", &MACHINE_KEY, &signature)
        .unwrap_err();
    assert!(matches!(err, CertError::MachineMismatch { .. }), "{err}");

    let mut flipped = MACHINE_KEY;
    flipped[31] ^= 1;
    let err = trust
        .verify_endorsement(cert, "web-01", &flipped, &signature)
        .unwrap_err();
    assert!(matches!(err, CertError::BadSignature), "{err}");

    let err = trust
        .verify_endorsement(
            cert,
            "web-01",
            &MACHINE_KEY,
            &signature[..signature.len() - 1],
        )
        .unwrap_err();
    assert!(matches!(err, CertError::BadSignature), "{err}");
}

#[test]
fn endorsements_from_another_ca_or_another_kind_are_refused() {
    let mut org = Org::new("Example Ltd");
    for other_name in ["Example Ltd", "Other Org"] {
        let mut other = Org::new(other_name);
        let foreign = other.enrollment("web-01", "web", DAY);
        let (_, signature) = foreign
            .sign(&endorsement_message("web-01", &MACHINE_KEY))
            .unwrap();
        let err = org
            .trust()
            .verify_endorsement(&foreign.chain()[0], "web-01", &MACHINE_KEY, &signature)
            .unwrap_err();
        assert!(matches!(err, CertError::UnknownIssuer { .. }), "{err}");
    }

    // A technician's key cannot enroll machines, even one named like the technician.
    let alice = org.technician("alice", "admin", DAY);
    let (_, signature) = alice
        .sign(&endorsement_message("alice", &MACHINE_KEY))
        .unwrap();
    let err = org
        .trust()
        .verify_endorsement(&alice.chain()[0], "alice", &MACHINE_KEY, &signature)
        .unwrap_err();
    assert!(
        matches!(
            err,
            CertError::WrongKind {
                expected: "enrollment",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_endorsement_outlives_its_enrollment_certificate_and_revocation() {
    let mut org = Org::new("Example Ltd");
    let web = org.enrollment("web-01", "web", Duration::from_secs(1));
    let (_, signature) = web
        .sign(&endorsement_message("web-01", &MACHINE_KEY))
        .unwrap();
    // Let the certificate really expire: verify_endorsement reads no clock to pass in.
    let not_after = web.info().unwrap().not_after;
    while std::time::SystemTime::now() <= not_after + Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(100));
    }
    org.pki.revoke("web-01", None).unwrap();
    let trust = org.trust();
    let err = trust
        .verify_technician(web.chain(), crate::support::now())
        .unwrap_err();
    assert!(
        matches!(err, CertError::Revoked { .. } | CertError::Expired { .. }),
        "{err}"
    );
    assert_eq!(
        trust
            .verify_endorsement(&web.chain()[0], "web-01", &MACHINE_KEY, &signature)
            .unwrap(),
        "web"
    );
}

#[test]
fn endorsement_messages_are_domain_separated_and_length_prefixed() {
    let a = endorsement_message("ab", &MACHINE_KEY);
    assert!(a.starts_with(b"tether enrollment endorsement v1\0"));
    assert_ne!(a, endorsement_message("a", &MACHINE_KEY));
    // Moving a byte between name and key changes the length prefix.
    let mut key = MACHINE_KEY;
    key[0] = b'b';
    assert_ne!(
        endorsement_message("a", &key),
        endorsement_message("ab", &MACHINE_KEY)
    );
}

#[test]
fn signatures_round_trip_and_tampering_is_detected() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", DAY);
    let bob = org.technician("bob", "admin", DAY);
    let cert = &alice.chain()[0];
    let (scheme, signature) = alice.sign(b"hello").unwrap();
    verify_signature(cert, scheme, b"hello", &signature).unwrap();

    let err = verify_signature(cert, scheme, b"hellO", &signature).unwrap_err();
    assert!(matches!(err, CertError::BadSignature), "{err}");
    let mut tampered = signature.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    let err = verify_signature(cert, scheme, b"hello", &tampered).unwrap_err();
    assert!(matches!(err, CertError::BadSignature), "{err}");
    let err = verify_signature(&bob.chain()[0], scheme, b"hello", &signature).unwrap_err();
    assert!(matches!(err, CertError::BadSignature), "{err}");

    for unsupported in [
        SignatureScheme::ECDSA_NISTP384_SHA384, // does not fit a P-256 key
        SignatureScheme::RSA_PKCS1_SHA256,      // not a TLS 1.3 scheme
        SignatureScheme::ECDSA_SHA1_Legacy,
        SignatureScheme::Unknown(0x1234),
    ] {
        let err = verify_signature(cert, unsupported, b"hello", &signature).unwrap_err();
        assert!(
            matches!(err, CertError::UnsupportedScheme(_)),
            "{unsupported:?}: {err}"
        );
    }
}
