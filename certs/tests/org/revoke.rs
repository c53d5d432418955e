//! `Pki::revoke` and the CRL: choosing the certificate, numbering, and what the CRL lists.

use tether_certs::{
    pki::{RevocableKind, Status},
    CertError,
};

use crate::support::{Org, DAY};

fn crl_numbers_and_serials(org: &Org) -> (u64, Vec<String>) {
    let pem = std::fs::read(org.pki.crl_path()).unwrap();
    let der = rustls::pki_types::CertificateRevocationListDer::from_pem_slice(&pem).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    let number = crl.crl_number().unwrap().to_u64_digits();
    let serials = crl
        .iter_revoked_certificates()
        .map(|revoked| hex::encode(revoked.raw_serial()))
        .collect();
    (number.first().copied().unwrap_or(0), serials)
}

use rustls::pki_types::pem::PemObject;

#[test]
fn revoking_by_name_or_serial_lists_the_serial_in_a_higher_numbered_crl() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", DAY).info().unwrap();
    let web = org.enrollment("web-01", "web", DAY).info().unwrap();
    let (first, revoked) = crl_numbers_and_serials(&org);
    assert!(revoked.is_empty());

    let entry = org.pki.revoke("alice", None).unwrap();
    assert_eq!(entry.serial, alice.serial);
    assert!(entry.revoked_at.is_some());
    let (second, revoked) = crl_numbers_and_serials(&org);
    assert!(second > first, "{second} > {first}");
    assert_eq!(revoked, vec![alice.serial.clone()]);

    // By serial, upper case with colons as openssl prints it.
    let colons = web
        .serial
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap().to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    org.pki.revoke(&colons, None).unwrap();
    let (third, revoked) = crl_numbers_and_serials(&org);
    assert!(third > second);
    assert_eq!(revoked, vec![alice.serial.clone(), web.serial]);

    let statuses: Vec<Status> = org
        .pki
        .ledger()
        .certificates
        .iter()
        .map(|e| e.status(std::time::SystemTime::now()))
        .collect();
    assert_eq!(
        statuses,
        [
            Status::Valid,
            Status::Valid,
            Status::Revoked,
            Status::Revoked
        ]
    );

    let err = org.pki.revoke("alice", None).unwrap_err();
    assert!(matches!(err, CertError::AlreadyRevoked { .. }), "{err}");
    // Rewriting the CRL keeps the list and raises the number.
    org.pki.write_crl().unwrap();
    let (fourth, revoked) = crl_numbers_and_serials(&org);
    assert!(fourth > third);
    assert_eq!(revoked.len(), 2);
    // A reopened directory continues from the ledger.
    let mut reopened = tether_certs::pki::Pki::open(org.dir()).unwrap();
    reopened.write_crl().unwrap();
    assert_eq!(reopened.ledger().crl_number, fourth + 1);
}

#[test]
fn an_ambiguous_name_lists_the_candidates_and_kind_narrows_it() {
    let mut org = Org::new("Example Ltd");
    let tech = org.technician("db-01", "admin", DAY).info().unwrap();
    let machine = org.enrollment("db-01", "db", DAY).info().unwrap();
    let err = org.pki.revoke("db-01", None).unwrap_err();
    assert!(matches!(err, CertError::Ambiguous { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&tech.serial) && text.contains(&machine.serial),
        "{text}"
    );
    assert!(org
        .pki
        .ledger()
        .certificates
        .iter()
        .all(|e| e.revoked_at.is_none()));

    let entry = org
        .pki
        .revoke("db-01", Some(RevocableKind::Enrollment))
        .unwrap();
    assert_eq!(entry.serial, machine.serial);
    // Only one unrevoked db-01 is left, so the name is no longer ambiguous.
    assert_eq!(org.pki.revoke("db-01", None).unwrap().serial, tech.serial);
}

#[test]
fn the_ca_and_unknown_names_cannot_be_revoked() {
    let mut org = Org::new("Example Ltd");
    let ca_serial = org.pki.ledger().certificates[0].serial.clone();
    for target in [ca_serial.as_str(), "Example Ltd", "nobody"] {
        let err = org.pki.revoke(target, None).unwrap_err();
        assert!(matches!(err, CertError::NotFound(_)), "{target}: {err}");
    }
    let err = org
        .pki
        .revoke("relay.example.com", Some(RevocableKind::Technician))
        .unwrap_err();
    assert!(matches!(err, CertError::NotFound(_)), "{err}");
    assert_eq!(
        org.pki
            .revoke("relay.example.com", Some(RevocableKind::Relay))
            .unwrap()
            .name,
        "relay.example.com"
    );
}
