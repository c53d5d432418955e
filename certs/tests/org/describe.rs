//! `describe`: every kind is recognisable from the certificate alone.

use tether_certs::{describe, AcceptedRoles, CertError, CertKind, OrgTrust, RelayIdentity};

use crate::support::{Org, DAY};

#[test]
fn each_kind_reads_back_with_name_serial_and_validity() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let web = org.enrollment("web-01", "web", DAY);

    let info = alice.info().unwrap();
    assert_eq!(info.name, "alice");
    assert_eq!(
        info.kind,
        CertKind::Technician {
            role: "admin".into()
        }
    );
    assert_eq!(info.serial.len(), 32, "128-bit serial: {}", info.serial);
    let span = info.not_after.duration_since(info.not_before).unwrap();
    // Backdated five minutes for clock skew.
    assert_eq!(span.as_secs(), 90 * 24 * 3600 + 300);

    let info = web.info().unwrap();
    assert_eq!(info.name, "web-01");
    assert_eq!(
        info.kind,
        CertKind::Enrollment {
            group: "web".into()
        }
    );

    let relay = describe(&org.relay().chain()[0]).unwrap();
    assert_eq!(
        (relay.kind, relay.name.as_str()),
        (CertKind::Relay, "relay.example.com")
    );
    // The chains end with the CA.
    let ca = describe(&alice.chain()[1]).unwrap();
    assert_eq!((ca.kind, ca.name.as_str()), (CertKind::Ca, "Example Ltd"));
    assert_eq!(alice.chain()[1], org.relay().chain()[1]);

    // The ledger recorded what the certificates say.
    let ledger = &org.pki.ledger().certificates;
    let entry = ledger.iter().find(|e| e.name == "alice").unwrap();
    assert_eq!(entry.serial, alice.info().unwrap().serial);
    assert_eq!(entry.not_after, alice.info().unwrap().not_after);
    assert_eq!(
        entry.fingerprint,
        tether_certs::Fingerprint::of_der(&alice.chain()[0]).to_string()
    );
    assert_eq!(
        OrgTrust::load(&org.pki.ca_cert_path(), None)
            .unwrap()
            .ca_fingerprint()
            .to_string(),
        ledger[0].fingerprint
    );
}

#[test]
fn certificates_from_outside_the_profile_are_not_described() {
    let dir = tempfile::tempdir().unwrap();
    let identity = RelayIdentity::load_or_create(dir.path()).unwrap();
    let err = describe(&identity.cert_chain()[0]).unwrap_err();
    assert!(matches!(err, CertError::NotOrgCertificate { .. }), "{err}");
    assert!(
        err.to_string().contains("no urn:tether kind marker"),
        "{err}"
    );

    let err = describe(&b"not a certificate".to_vec().into()).unwrap_err();
    assert!(matches!(err, CertError::BadCertificate(_)), "{err}");
}

#[test]
fn the_trust_file_must_be_one_ca_certificate() {
    let mut org = Org::new("Example Ltd");
    org.technician("alice", "admin", DAY);
    let relay_chain = std::fs::read(org.pki.relay_paths().0).unwrap();
    let err = OrgTrust::from_pem(&relay_chain, None).unwrap_err();
    assert!(err.to_string().contains("exactly one certificate"), "{err}");

    let alice_pem = std::fs::read_to_string(org.pki.technician_paths("alice").0).unwrap();
    let first = &alice_pem[..alice_pem.find("-----END CERTIFICATE-----").unwrap() + 26];
    let err = OrgTrust::from_pem(first.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("not a CA certificate"), "{err}");
    let err = OrgTrust::from_pem(b"", None).unwrap_err();
    assert!(matches!(err, CertError::BadPem { .. }), "{err}");
}

#[test]
fn a_credential_key_must_match_its_certificate() {
    let mut org = Org::new("Example Ltd");
    org.technician("alice", "admin", DAY);
    org.technician("bob", "viewer", DAY);
    let (alice_cert, _) = org.pki.technician_paths("alice");
    let (_, bob_key) = org.pki.technician_paths("bob");
    let err = tether_certs::Credential::load(&alice_cert, Some(&bob_key)).unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch(_)), "{err}");
    // A certificate file without a key, read as a bundle.
    let err = tether_certs::Credential::load(&alice_cert, None).unwrap_err();
    assert!(matches!(err, CertError::BadPem { .. }), "{err}");
}

#[test]
fn an_enrollment_credential_names_the_roles_its_machine_accepts() {
    let mut org = Org::new("Example Ltd");
    let roles = AcceptedRoles::from_names(&["support", "admin"]).unwrap();
    org.pki
        .issue_enrollment("web-01", "web", &roles, DAY)
        .unwrap();
    let web = tether_certs::Credential::load(&org.pki.enrollment_path("web-01"), None).unwrap();
    let info = web.info().unwrap();
    assert_eq!(
        info.kind,
        CertKind::Enrollment {
            group: "web".into()
        }
    );
    assert_eq!(info.accepted_roles, roles);
    assert!(info.accepted_roles.accepts("admin") && !info.accepted_roles.accepts("intern"));
    // Without any, the machine serves every role; other kinds have no say.
    let db = org.enrollment("db-01", "db", DAY);
    assert_eq!(db.info().unwrap().accepted_roles, AcceptedRoles::Any);
    let alice = org.technician("alice", "admin", DAY);
    assert_eq!(alice.info().unwrap().accepted_roles, AcceptedRoles::Any);
}

#[test]
fn only_enrollment_credentials_may_name_accepted_roles() {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "alice");
    params.subject_alt_names = [
        "urn:tether:technician",
        "urn:tether:role:admin",
        "urn:tether:accept-role:admin",
    ]
    .iter()
    .map(|uri| rcgen::SanType::URI((*uri).try_into().unwrap()))
    .collect();
    let cert = params.self_signed(&key).unwrap();
    let err = describe(cert.der()).unwrap_err();
    assert!(
        err.to_string()
            .contains("accepted roles on a certificate other than an enrollment credential"),
        "{err}"
    );
}
