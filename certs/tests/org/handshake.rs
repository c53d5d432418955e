//! The rustls verifiers in real (in-memory) TLS 1.3 handshakes between a relay and clients.

use std::{sync::Arc, time::Duration};

use rustls::{
    pki_types::{ServerName, UnixTime},
    time_provider::TimeProvider,
    CertificateError, ClientConfig, ClientConnection, Error, ServerConfig, ServerConnection,
};
use tether_certs::{Credential, OrgTrust};

use crate::support::{now, Org, DAY};

/// A clock set to a fixed time, to handshake in the future.
#[derive(Debug)]
struct FixedClock(UnixTime);

impl TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn relay_config(org: &Org, trust: &OrgTrust, clock: UnixTime) -> Arc<ServerConfig> {
    let relay = org.relay();
    let config = ServerConfig::builder_with_details(provider(), Arc::new(FixedClock(clock)))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(trust.client_verifier().unwrap())
        .with_single_cert(relay.chain().to_vec(), relay.private_key())
        .unwrap();
    Arc::new(config)
}

fn client_config(trust: &OrgTrust, technician: Option<&Credential>) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(trust.server_verifier().unwrap());
    Arc::new(match technician {
        Some(cred) => builder
            .with_client_auth_cert(cred.chain().to_vec(), cred.private_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

#[derive(Debug)]
enum Failed {
    Client(Error),
    Server(Error),
}

/// Pumps bytes between the two ends until both finish the handshake or one fails.
fn handshake(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Failed> {
    for _ in 0..20 {
        let mut bytes = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut bytes).unwrap();
        }
        let mut input = bytes.as_slice();
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
            server.process_new_packets().map_err(Failed::Server)?;
        }
        let mut bytes = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut bytes).unwrap();
        }
        let mut input = bytes.as_slice();
        while !input.is_empty() {
            client.read_tls(&mut input).unwrap();
            client.process_new_packets().map_err(Failed::Client)?;
        }
        if !client.is_handshaking() && !server.is_handshaking() && !client.wants_write() {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

fn connect(
    org: &Org,
    trust: &OrgTrust,
    technician: Option<&Credential>,
    server_clock: UnixTime,
    name: &str,
) -> Result<ServerConnection, Failed> {
    let mut server = ServerConnection::new(relay_config(org, trust, server_clock)).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut client = ClientConnection::new(client_config(trust, technician), name).unwrap();
    handshake(&mut client, &mut server).map(|()| server)
}

fn refused_by_relay(result: Result<ServerConnection, Failed>) -> CertificateError {
    match result {
        Err(Failed::Server(Error::InvalidCertificate(e))) => e,
        Err(other) => panic!("expected the relay to refuse the certificate, got {other:?}"),
        Ok(_) => panic!("expected the relay to refuse the certificate, but it connected"),
    }
}

#[test]
fn the_relay_accepts_a_valid_technician_and_learns_who_it_is() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let trust = org.trust();
    let server = connect(&org, &trust, Some(&alice), now(), "relay.example.com").unwrap();
    // What the relay does after the handshake: read the role from the verified chain.
    let peer = server.peer_certificates().expect("a client certificate");
    let technician = trust.verify_technician(peer, now()).unwrap();
    assert_eq!(
        (technician.name.as_str(), technician.role.as_str()),
        ("alice", "admin")
    );
}

#[test]
fn clients_without_a_certificate_still_connect() {
    let org = Org::new("Example Ltd");
    let trust = org.trust();
    let server = connect(&org, &trust, None, now(), "relay.example.com").unwrap();
    assert!(server.peer_certificates().is_none());
}

#[test]
fn the_relay_refuses_revoked_expired_and_foreign_technicians() {
    let mut org = Org::new("Example Ltd");
    let alice = org.technician("alice", "admin", 90 * DAY);
    let brief = org.technician("brief", "admin", Duration::from_secs(1));
    // Another organisation's CA, under another name and under the same one.
    let mallory = Org::new("Other Org").technician("mallory", "admin", 90 * DAY);
    let namesake = Org::new("Example Ltd").technician("namesake", "admin", 90 * DAY);
    org.pki.revoke("alice", None).unwrap();
    let trust = org.trust();

    let revoked = refused_by_relay(connect(&org, &trust, Some(&alice), now(), "10.0.0.1"));
    assert_eq!(revoked, CertificateError::Revoked);

    let later = crate::support::unix(std::time::SystemTime::now() + Duration::from_secs(3600));
    let expired = refused_by_relay(connect(&org, &trust, Some(&brief), later, "10.0.0.1"));
    assert!(
        matches!(
            expired,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{expired:?}"
    );
    // The same certificate was fine while valid.
    connect(&org, &trust, Some(&brief), now(), "10.0.0.1").unwrap();

    let foreign = refused_by_relay(connect(&org, &trust, Some(&mallory), now(), "10.0.0.1"));
    assert_eq!(foreign, CertificateError::UnknownIssuer);
    // rustls finds the CA by name, then the signature does not verify with its key.
    let foreign = refused_by_relay(connect(&org, &trust, Some(&namesake), now(), "10.0.0.1"));
    assert_eq!(foreign, CertificateError::BadSignature);
}

#[test]
fn clients_accept_the_relay_only_under_its_names() {
    let org = Org::new("Example Ltd");
    let trust = org.trust();
    for name in ["relay.example.com", "10.0.0.1"] {
        connect(&org, &trust, None, now(), name).unwrap();
    }
    match connect(&org, &trust, None, now(), "other.example.com") {
        Err(Failed::Client(Error::InvalidCertificate(e))) => assert!(
            matches!(
                e,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ),
            "{e:?}"
        ),
        Err(other) => panic!("unexpected failure {other:?}"),
        Ok(_) => panic!("connected to a relay under a name it does not have"),
    }
    // A client trusting another organisation (named alike or not) refuses this relay.
    for (other_name, expected) in [
        ("Other Org", CertificateError::UnknownIssuer),
        ("Example Ltd", CertificateError::BadSignature),
    ] {
        let other = Org::new(other_name);
        let mut server = ServerConnection::new(relay_config(&org, &trust, now())).unwrap();
        let mut client = ClientConnection::new(
            client_config(&other.trust(), None),
            ServerName::try_from("relay.example.com").unwrap(),
        )
        .unwrap();
        match handshake(&mut client, &mut server) {
            Err(Failed::Client(Error::InvalidCertificate(e))) => assert_eq!(e, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
}
