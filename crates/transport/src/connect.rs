//! Dialling a relay with its certificate pinned.
//!
//! Trust comes from, in order: an explicit `--relay-fingerprint`; the known-relays file; or, for
//! a relay never seen before, trust on first use, after which its fingerprint is recorded so any
//! later change is a hard failure (like ssh's `known_hosts`).

use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use rustls::{client::danger::ServerCertVerifier, pki_types::CertificateDer};
use tether_certs::{Fingerprint, KnownRelays, PinnedRelayVerifier, RelayTrust, RELAY_SERVER_NAME};

use crate::{
    config::{client_config, client_config_with, CertifiedKey},
    ConnectError,
};

/// Which relay to dial and how to trust it.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    /// `HOST:PORT` as the user wrote it; also the key in the known-relays file.
    pub relay: String,
    /// A fingerprint to require, overriding the known-relays file.
    pub fingerprint: Option<Fingerprint>,
    /// The known-relays file.
    pub known_relays: PathBuf,
}

/// An open connection to a relay. Keeps its endpoint alive.
pub struct RelayConnection {
    /// The QUIC connection.
    pub connection: quinn::Connection,
    /// The local endpoint the connection runs on.
    pub endpoint: quinn::Endpoint,
    /// The relay's verified fingerprint.
    pub fingerprint: Fingerprint,
    /// Whether this connection trusted the relay for the first time and recorded it.
    pub first_use: bool,
}

/// Closes `connection` (code 0, `reason`) and waits up to `wait` until the relay has been told,
/// so it acts on the close now rather than at its idle timeout. Returns whether it was told
/// in time.
pub async fn close_and_wait(
    connection: &quinn::Connection,
    endpoint: &quinn::Endpoint,
    reason: &[u8],
    wait: Duration,
) -> bool {
    connection.close(0u32.into(), reason);
    tokio::time::timeout(wait, endpoint.wait_idle())
        .await
        .is_ok()
}

/// `$XDG_CONFIG_HOME/tether/known_relays` (or the platform's equivalent).
pub fn default_known_relays_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether")
        .join("known_relays")
}

fn resolve(relay: &str) -> Result<SocketAddr, ConnectError> {
    let failed = |reason: String| ConnectError::Resolve {
        relay: relay.to_owned(),
        reason,
    };
    relay
        .to_socket_addrs()
        .map_err(|e| failed(e.to_string()))?
        .next()
        .ok_or_else(|| failed("no addresses".to_owned()))
}

/// Connects to the relay, verifying (or on first use recording) its certificate fingerprint.
pub async fn connect_to_relay(target: &RelayTarget) -> Result<RelayConnection, ConnectError> {
    let mut known = KnownRelays::load(&target.known_relays)?;
    let pinned = target.fingerprint.or_else(|| known.get(&target.relay));
    let trust = pinned.map_or(RelayTrust::FirstUse, RelayTrust::Pinned);
    let verifier = PinnedRelayVerifier::new(trust);
    let config =
        client_config(verifier.clone()).map_err(|e| ConnectError::Endpoint(e.to_string()))?;

    let (endpoint, connecting) = dial(&target.relay, config, RELAY_SERVER_NAME)?;
    let handshake = |source| ConnectError::Handshake {
        relay: target.relay.clone(),
        source,
    };
    let connection = match connecting.await {
        Ok(connection) => connection,
        Err(source) => {
            return Err(match (pinned, verifier.presented()) {
                (Some(expected), Some(presented)) if expected != presented => {
                    ConnectError::IdentityChanged {
                        relay: target.relay.clone(),
                        expected,
                        presented,
                        known_relays: target.known_relays.clone(),
                    }
                }
                _ => handshake(source),
            })
        }
    };
    let Some(fingerprint) = verifier.presented() else {
        // rustls always verifies the certificate before the handshake completes.
        return Err(ConnectError::Endpoint(
            "handshake completed without a certificate".to_owned(),
        ));
    };
    let first_use = pinned.is_none();
    if known.get(&target.relay).is_none() {
        known.add(&target.relay, fingerprint)?;
    }
    if first_use {
        tracing::warn!(
            relay = %target.relay,
            %fingerprint,
            file = %known.path().display(),
            "trusting this relay from now on (first use)"
        );
    }
    Ok(RelayConnection {
        connection,
        endpoint,
        fingerprint,
        first_use,
    })
}

/// Connects to an organisation's relay: its certificate must be issued by the organisation's CA
/// for the host name (or address) dialled, as `verifier` checks. With `client_auth` the client
/// presents a technician's certificate or an enrollment credential.
pub async fn connect_to_org_relay(
    relay: &str,
    verifier: Arc<dyn ServerCertVerifier>,
    client_auth: Option<CertifiedKey>,
) -> Result<RelayConnection, ConnectError> {
    let config = client_config_with(verifier, client_auth)
        .map_err(|e| ConnectError::Endpoint(e.to_string()))?;
    let (endpoint, connecting) = dial(relay, config, host_of(relay))?;
    let connection = connecting.await.map_err(|source| ConnectError::Handshake {
        relay: relay.to_owned(),
        source,
    })?;
    let fingerprint = connection
        .peer_identity()
        .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
        .and_then(|chain| chain.first().map(|cert| Fingerprint::of_der(cert)))
        .ok_or_else(|| ConnectError::Endpoint("the relay presented no certificate".to_owned()))?;
    Ok(RelayConnection {
        connection,
        endpoint,
        fingerprint,
        first_use: false,
    })
}

/// The host part of `HOST:PORT` (or `[V6]:PORT`): the name the relay's certificate must carry.
fn host_of(relay: &str) -> &str {
    let host = relay.rsplit_once(':').map_or(relay, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Opens a client endpoint and starts a handshake with `relay`.
fn dial(
    relay: &str,
    config: quinn::ClientConfig,
    server_name: &str,
) -> Result<(quinn::Endpoint, quinn::Connecting), ConnectError> {
    let addr = resolve(relay)?;
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse()
    } else {
        "0.0.0.0:0".parse()
    }
    .map_err(|e: std::net::AddrParseError| ConnectError::Endpoint(e.to_string()))?;
    let endpoint =
        quinn::Endpoint::client(bind).map_err(|e| ConnectError::Endpoint(e.to_string()))?;
    let connecting = endpoint
        .connect_with(config, addr, server_name)
        .map_err(|e| ConnectError::Endpoint(e.to_string()))?;
    Ok((endpoint, connecting))
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_names_come_from_relay_addresses() {
        assert_eq!(host_of("relay.example.com:4433"), "relay.example.com");
        assert_eq!(host_of("127.0.0.1:4433"), "127.0.0.1");
        assert_eq!(host_of("[::1]:4433"), "::1");
    }
}
