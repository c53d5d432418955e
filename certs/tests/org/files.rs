//! What `init` and issuing write, and with which permissions.

use std::{fs, time::Duration};

use tether_certs::{
    pki::{Pki, CA_KEY_FILE, CRL_FILE, LEDGER_FILE},
    AcceptedRoles, CertError,
};

use crate::support::{Org, DAY};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_writes_the_ca_ledger_and_crl_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = dir.path().join("pki");
    let (pki, issued) = Pki::init(&pki_dir, "Example Ltd", 3650 * DAY).unwrap();
    for file in [CA_KEY_FILE, "ca.pem", LEDGER_FILE, CRL_FILE] {
        assert!(pki_dir.join(file).is_file(), "{file} missing");
    }
    assert_eq!(issued.files.len(), 4);
    assert_eq!(issued.entry.name, "Example Ltd");
    assert_eq!(pki.ledger().org, "Example Ltd");
    assert_eq!(pki.ledger().crl_number, 1);
    #[cfg(unix)]
    {
        assert_eq!(mode(&pki_dir.join(CA_KEY_FILE)), 0o600);
        assert_eq!(mode(&pki_dir), 0o700);
    }
    let before = fs::read(pki_dir.join(CA_KEY_FILE)).unwrap();
    let err = Pki::init(&pki_dir, "Other", 3650 * DAY).unwrap_err();
    assert!(matches!(err, CertError::CaExists(_)), "{err}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(fs::read(pki_dir.join(CA_KEY_FILE)).unwrap(), before);
    // An empty CRL from the CA loads.
    tether_certs::OrgTrust::load(&pki.ca_cert_path(), Some(&pki.crl_path())).unwrap();
}

#[cfg(unix)]
#[test]
fn every_private_key_and_the_enrollment_bundle_are_owner_only() {
    let mut org = Org::new("Example Ltd");
    org.technician("alice", "admin", 90 * DAY);
    org.enrollment("web-01", "web", DAY);
    let (relay_cert, relay_key) = org.pki.relay_paths();
    let (tech_cert, tech_key) = org.pki.technician_paths("alice");
    let bundle = org.pki.enrollment_path("web-01");
    for private in [&org.dir().join(CA_KEY_FILE), &relay_key, &tech_key, &bundle] {
        assert_eq!(mode(private), 0o600, "{}", private.display());
    }
    // Certificates are public: only the keys are locked down.
    assert!(relay_cert.is_file() && tech_cert.is_file());
    assert_eq!(mode(&org.dir().join("technicians")), 0o700);
    assert_eq!(mode(&org.dir().join("enrollments")), 0o700);
    // The bundle holds the certificate, the CA's, and the key.
    let text = fs::read_to_string(&bundle).unwrap();
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(text.matches("BEGIN PRIVATE KEY").count(), 1);
}

#[test]
fn issuing_never_overwrites_and_checks_names_and_validity() {
    let mut org = Org::new("Example Ltd");
    org.technician("alice", "admin", 90 * DAY);
    let err = org.pki.issue_technician("alice", "admin", DAY).unwrap_err();
    assert!(matches!(err, CertError::AlreadyIssued(_)), "{err}");
    let err = org
        .pki
        .issue_relay(&["relay.example.com".into()], DAY)
        .unwrap_err();
    assert!(matches!(err, CertError::AlreadyIssued(_)), "{err}");

    for (name, role) in [("../alice", "admin"), ("alice", "ad min"), ("", "admin")] {
        let err = org.pki.issue_technician(name, role, DAY).unwrap_err();
        assert!(matches!(err, CertError::BadName { .. }), "{err}");
    }
    let err = org
        .pki
        .issue_enrollment("web/01", "web", &AcceptedRoles::Any, DAY)
        .unwrap_err();
    assert!(matches!(err, CertError::BadName { .. }), "{err}");

    let err = org
        .pki
        .issue_technician("bob", "admin", Duration::ZERO)
        .unwrap_err();
    assert!(matches!(err, CertError::BadValidity(_)), "{err}");
    let err = org
        .pki
        .issue_technician("bob", "admin", 4000 * DAY)
        .unwrap_err();
    assert!(err.to_string().contains("outlive the CA"), "{err}");
    // Refused requests leave nothing behind.
    assert!(!org.pki.technician_paths("bob").1.exists());
    assert_eq!(org.pki.ledger().certificates.len(), 3);

    let mut fresh = tether_certs::pki::Pki::open(org.dir()).unwrap();
    let err = fresh.issue_relay(&["not a name!".into()], DAY).unwrap_err();
    assert!(matches!(err, CertError::BadRelayName(_)), "{err}");
}

#[test]
fn open_needs_a_ca() {
    let dir = tempfile::tempdir().unwrap();
    let err = Pki::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("tether-certs init"), "{err}");
}
