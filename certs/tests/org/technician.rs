//! `OrgTrust::verify_technician`: valid, revoked, expired, foreign, and the wrong kind.

use std::time::Duration;

use tether_certs::{CertError, OrgTrust, Technician};

use crate::support::{now, unix, Org, DAY};

#[test]
fn a_technician_of_the_organisation_is_accepted_with_name_and_role() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let info = alice.info().unwrap();
    let technician = org.trust().verify_technician(alice.chain(), now()).unwrap();
    assert_eq!(
        technician,
        Technician {
            name: "alice".into(),
            role: "admin".into(),
            serial: info.serial,
            not_after: info.not_after,
        }
    );
    // Without the CA certificate in the chain too.
    let technician = org
        .trust()
        .verify_technician(&alice.chain()[..1], now())
        .unwrap();
    assert_eq!(technician.role, "admin");
    // And without a CRL loaded.
    let no_crl = OrgTrust::load(&org.pki.ca_cert_path(), None).unwrap();
    assert_eq!(
        no_crl.verify_technician(alice.chain(), now()).unwrap().name,
        "alice"
    );
    let err = org.trust().verify_technician(&[], now()).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate), "{err}");
}

#[test]
fn a_revoked_technician_is_refused_once_the_crl_is_reloaded() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let bob = org.technician("bob", "admin", 90 * DAY);
    let before = org.trust();
    org.pki.revoke("alice", None).unwrap();
    // The trust loaded earlier still has the old CRL.
    before.verify_technician(alice.chain(), now()).unwrap();
    let after = org.trust();
    let err = after.verify_technician(alice.chain(), now()).unwrap_err();
    assert!(matches!(err, CertError::Revoked { .. }), "{err}");
    assert_eq!(err.to_string(), "certificate for alice was revoked");
    // Others are untouched.
    after.verify_technician(bob.chain(), now()).unwrap();
}

#[test]
fn an_expired_technician_is_refused() {
    let mut org = Org::new("Example Ltd");
    let brief = org.technician("brief", "admin", Duration::from_secs(1));
    let not_after = brief.info().unwrap().not_after;
    let trust = org.trust();
    trust
        .verify_technician(brief.chain(), unix(not_after))
        .unwrap();
    let err = trust
        .verify_technician(brief.chain(), unix(not_after + Duration::from_secs(1)))
        .unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("certificate for brief expired at 20"),
        "{err}"
    );
    // Nor is anyone before their certificate starts.
    let not_before = brief.info().unwrap().not_before;
    let err = trust
        .verify_technician(brief.chain(), unix(not_before - Duration::from_secs(1)))
        .unwrap_err();
    assert!(matches!(err, CertError::NotYetValid { .. }), "{err}");
}

#[test]
fn a_technician_of_another_organisation_is_refused() {
    let org = Org::new("Example Ltd");
    // Another CA of the same name (its issuer name matches, its key does not) or another name.
    for other_name in ["Example Ltd", "Other Org"] {
        let mut other = Org::new(other_name);
        let mallory = other.technician("alice", "admin", 90 * DAY);
        let err = org
            .trust()
            .verify_technician(mallory.chain(), now())
            .unwrap_err();
        assert!(matches!(err, CertError::UnknownIssuer { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "certificate for alice was not issued by this organisation's CA"
        );
    }
}

#[test]
fn other_kinds_are_not_technicians() {
    let mut org = Org::new("Example Ltd");
    let machine = org.enrollment("web-01", "web", DAY);
    let err = org
        .trust()
        .verify_technician(machine.chain(), now())
        .unwrap_err();
    assert!(
        matches!(
            err,
            CertError::WrongKind {
                expected: "technician",
                found: "enrollment",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("is not a technician certificate"),
        "{err}"
    );
    // The relay's certificate is for servers only.
    let err = org
        .trust()
        .verify_technician(org.relay().chain(), now())
        .unwrap_err();
    assert!(matches!(err, CertError::WrongUsage { .. }), "{err}");
}

#[test]
fn a_crl_from_another_ca_is_not_loaded() {
    let org = Org::new("Example Ltd");
    let other = Org::new("Example Ltd");
    let err = OrgTrust::load(&org.pki.ca_cert_path(), Some(&other.pki.crl_path())).unwrap_err();
    assert!(matches!(err, CertError::CrlNotFromCa), "{err}");
    let err = OrgTrust::from_pem(
        &std::fs::read(org.pki.ca_cert_path()).unwrap(),
        Some(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"),
    )
    .unwrap_err();
    assert!(matches!(err, CertError::BadCrl(_)), "{err}");
}

#[test]
fn a_machine_takes_only_newer_crls_of_its_ca() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let old = org.trust();
    org.pki.revoke("alice", None).unwrap();
    let new = org.trust();
    // A machine that knows only the CA (as after enrollment) takes the CA's list...
    let machine = OrgTrust::load(&org.pki.ca_cert_path(), None).unwrap();
    assert_eq!(machine.revoked_count(), 0);
    let machine = machine
        .with_newer_crl(new.crl_der().unwrap())
        .unwrap()
        .expect("a first list is newer");
    assert_eq!(machine.revoked_count(), 1);
    let err = machine.verify_technician(alice.chain(), now()).unwrap_err();
    assert!(matches!(err, CertError::Revoked { .. }), "{err}");
    // ...but neither the same list again nor an older one that would undo the revocation...
    assert!(machine
        .with_newer_crl(new.crl_der().unwrap())
        .unwrap()
        .is_none());
    assert!(machine
        .with_newer_crl(old.crl_der().unwrap())
        .unwrap()
        .is_none());
    // ...nor one another CA signed.
    let other = Org::new("Example Ltd");
    let err = machine
        .with_newer_crl(other.trust().crl_der().unwrap())
        .unwrap_err();
    assert!(matches!(err, CertError::CrlNotFromCa), "{err}");
}
