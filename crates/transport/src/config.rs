//! Endpoint configurations: TLS 1.3 over the ring provider, ALPN `tether/1`, and liveness.

use std::{sync::Arc, time::Duration};

use quinn::{
    crypto::rustls::{QuicClientConfig, QuicServerConfig},
    IdleTimeout, TransportConfig, VarInt,
};
use rustls::{
    client::danger::ServerCertVerifier,
    pki_types::{CertificateDer, PrivateKeyDer},
    server::danger::ClientCertVerifier,
};
use tether_certs::{PinnedRelayVerifier, RelayIdentity};
use tether_proto::ALPN;

/// How often a client proves its idle connection alive. The peers' idle timeouts must be several
/// times longer (see [`MIN_IDLE_TIMEOUT`]) or quiet but healthy connections would be dropped.
///
/// Only clients send keep-alives: the server's acknowledgement of each one restarts the client's
/// idle timer as the keep-alive restarts the server's, and the client's packets are the ones
/// that hold its NAT mapping open. Keep-alives from the server too would double the packets a
/// relay handles for every idle agent and buy nothing.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// The shortest idle timeout that still leaves room for lost keep-alives.
pub const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a silent peer is given before its connection (and session) is declared dead.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most unread bytes a peer may have in flight to us on one connection, all streams together:
/// several 1 MiB frame chunks, far above what the window of updates needs.
const CONNECTION_RECEIVE_WINDOW: VarInt = VarInt::from_u32(16 * 1024 * 1024);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Which end of a connection a configuration is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

fn transport(side: Side, idle_timeout: Duration) -> Arc<TransportConfig> {
    let mut transport = TransportConfig::default();
    transport.keep_alive_interval((side == Side::Client).then_some(KEEP_ALIVE));
    // Durations this small always fit a QUIC varint of milliseconds; fall back to the default
    // rather than failing if a caller passes something absurd.
    let idle = IdleTimeout::try_from(idle_timeout.max(MIN_IDLE_TIMEOUT))
        .unwrap_or_else(|_| IdleTimeout::from(VarInt::from_u32(10_000)));
    transport.max_idle_timeout(Some(idle));
    transport.max_concurrent_uni_streams(VarInt::from_u32(0));
    // Bounds what a peer can make us buffer across all its streams (quinn's default is
    // unlimited): without it, a client that opens streams nobody reads could park up to
    // 100 streams' windows in the relay's memory.
    transport.receive_window(CONNECTION_RECEIVE_WINDOW);
    Arc::new(transport)
}

type ConfigError = Box<dyn std::error::Error + Send + Sync>;

/// A certificate chain and its private key, presented in a TLS handshake.
pub type CertifiedKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The relay's server configuration with its self-signed identity and no client certificates.
pub fn server_config(
    identity: &RelayIdentity,
    idle_timeout: Duration,
) -> Result<quinn::ServerConfig, ConfigError> {
    server_config_with(
        (identity.cert_chain(), identity.private_key()),
        None,
        idle_timeout,
    )
}

/// The relay's server configuration presenting `certified`, and verifying client certificates
/// with `client_verifier` when the relay serves an organisation (technicians and enrolling
/// agents present one; attended-session clients do not).
pub fn server_config_with(
    certified: CertifiedKey,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    idle_timeout: Duration,
) -> Result<quinn::ServerConfig, ConfigError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = match client_verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let (chain, key) = certified;
    let mut tls = builder.with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    config.transport_config(transport(Side::Server, idle_timeout));
    Ok(config)
}

/// A client configuration that trusts the relay only through `verifier`.
pub fn client_config(
    verifier: Arc<PinnedRelayVerifier>,
) -> Result<quinn::ClientConfig, ConfigError> {
    client_config_with(verifier, None)
}

/// A client configuration that trusts the relay through `verifier` and, when given, presents
/// `client_auth` (a technician's certificate or an enrollment credential).
pub fn client_config_with(
    verifier: Arc<dyn ServerCertVerifier>,
    client_auth: Option<CertifiedKey>,
) -> Result<quinn::ClientConfig, ConfigError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut tls = match client_auth {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls)?));
    config.transport_config(transport(Side::Client, DEFAULT_IDLE_TIMEOUT));
    Ok(config)
}
