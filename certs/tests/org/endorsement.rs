//! Enrollment endorsements, and `Credential::sign` / `verify_signature`.

use std::time::Duration;

use rustls::SignatureScheme;
use tether_certs::{endorsement_message, pki::Status, verify_signature, CertError, OrgTrust};

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

/// What a viewer checks: an endorsement stands while its credential is unlisted or listed as
/// used; a credential revoked outright or superseded by a later enrollment endorses nothing,
/// not even a key it endorsed before.
#[test]
fn viewers_accept_endorsements_by_used_credentials_and_refuse_revoked_or_superseded_ones() {
    let mut org = Org::new("Example Ltd");
    let first = org.enrollment("web-01", "web", DAY);
    let endorse = |credential: &tether_certs::Credential, key: &[u8; 32]| {
        credential
            .sign(&endorsement_message("web-01", key))
            .unwrap()
            .1
    };
    let first_key = [1; 32];
    let first_endorsement = endorse(&first, &first_key);
    let standing = |org: &Org,
                    credential: &tether_certs::Credential,
                    key: &[u8; 32],
                    signature: &[u8]| {
        org.trust()
            .verify_standing_endorsement(&credential.chain()[0], "web-01", key, signature)
    };
    assert_eq!(
        standing(&org, &first, &first_key, &first_endorsement).unwrap(),
        "web"
    );

    // Marked used: it stays good for its key, and the directory's copy of its key is gone.
    let (used, deleted) = org.pki.mark_enrolled("web-01").unwrap();
    assert_eq!(used.serial, first.info().unwrap().serial);
    assert_eq!(used.status(std::time::SystemTime::now()), Status::Used);
    assert_eq!(
        deleted.as_deref(),
        Some(org.pki.enrollment_path("web-01").as_path())
    );
    assert!(!org.pki.enrollment_path("web-01").exists());
    assert_eq!(
        standing(&org, &first, &first_key, &first_endorsement).unwrap(),
        "web"
    );
    // A relay no longer takes it as a client certificate.
    let err = org
        .trust()
        .verify_technician(first.chain(), crate::support::now())
        .unwrap_err();
    assert!(matches!(err, CertError::Revoked { .. }), "{err}");

    // The machine enrolls again: the first credential is superseded, for its old key and for
    // any key a leaked copy of it would endorse now.
    let second = org.enrollment("web-01", "web", DAY);
    let second_key = [2; 32];
    let second_endorsement = endorse(&second, &second_key);
    org.pki.mark_enrolled("web-01").unwrap();
    for (key, signature) in [
        (first_key, first_endorsement.clone()),
        ([3; 32], endorse(&first, &[3; 32])),
    ] {
        let err = standing(&org, &first, &key, &signature).unwrap_err();
        assert!(
            matches!(err, CertError::EndorsementWithdrawn { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("enrolled again"), "{err}");
    }
    assert_eq!(
        standing(&org, &second, &second_key, &second_endorsement).unwrap(),
        "web"
    );

    // The second credential is revoked outright (say, a copy leaked): nothing it endorsed
    // stands, and the machine must enroll again.
    org.pki.revoke(&serial(&second), None).unwrap();
    let err = standing(&org, &second, &second_key, &second_endorsement).unwrap_err();
    assert!(err.to_string().contains("was revoked"), "{err}");
    // Without a revocation list, a viewer can tell none of this.
    let without_crl = OrgTrust::load(&org.pki.ca_cert_path(), None).unwrap();
    assert!(without_crl
        .verify_standing_endorsement(
            &second.chain()[0],
            "web-01",
            &second_key,
            &second_endorsement
        )
        .is_ok());
}

fn serial(credential: &tether_certs::Credential) -> String {
    credential.info().unwrap().serial
}

#[test]
fn only_an_unused_credential_can_be_marked_used() {
    let mut org = Org::new("Example Ltd");
    let err = org.pki.mark_enrolled("web-01").unwrap_err();
    assert!(matches!(err, CertError::NotFound(_)), "{err}");
    org.enrollment("web-01", "web", DAY);
    org.pki.mark_enrolled("web-01").unwrap();
    let err = org.pki.mark_enrolled("web-01").unwrap_err();
    assert!(matches!(err, CertError::AlreadyRevoked { .. }), "{err}");
    // A technician is not an enrollment credential.
    org.technician("alice", "admin", DAY);
    let err = org.pki.mark_enrolled("alice").unwrap_err();
    assert!(matches!(err, CertError::NotFound(_)), "{err}");
}
