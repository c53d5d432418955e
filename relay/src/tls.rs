//! The relay's TLS setup: its certificate (issued by the organisation's CA, or self-signed in
//! its data directory), client-certificate verification when it serves an organisation, and
//! reloading the verifier when the revocation list changes.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use quinn::Endpoint;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, UnixTime};
use tether_certs::{Fingerprint, RelayIdentity};
use tracing::{info, warn};

use crate::{control::CLOSE_REVOKED, org::Organisation, shared::Shared, RelayConfig};

/// How often the revocation list's file is checked for changes.
const CRL_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The certificate chain and key the relay presents.
pub(crate) struct RelayCertificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    idle_timeout: Duration,
}

impl RelayCertificate {
    /// The fingerprint of the relay's own certificate, which attended clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.chain
            .first()
            .map(|cert| Fingerprint::of_der(cert))
            .unwrap_or_else(|| Fingerprint::of_der(&[]))
    }
}

/// Loads the configured certificate, or the self-signed one (created on first start).
pub(crate) fn load_certified_key(config: &RelayConfig) -> anyhow::Result<RelayCertificate> {
    let idle_timeout = config.idle_timeout;
    let Some(files) = &config.tls else {
        let identity = RelayIdentity::load_or_create(&config.data_dir)?;
        if identity.created {
            info!(dir = %config.data_dir.display(), "created a new relay certificate");
        }
        return Ok(RelayCertificate {
            chain: identity.cert_chain(),
            key: identity.private_key(),
            idle_timeout,
        });
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from {}", files.cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no certificate",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a private key from {}", files.key.display()))?;
    Ok(RelayCertificate {
        chain,
        key,
        idle_timeout,
    })
}

/// The QUIC server configuration: the relay's certificate and, for an organisation, client
/// certificates verified against its CA and revocation list (optional, since attended
/// sessions' clients have none).
pub(crate) fn server_config(
    certificate: &RelayCertificate,
    organisation: Option<&Organisation>,
) -> anyhow::Result<quinn::ServerConfig> {
    let verifier = organisation
        .map(Organisation::client_verifier)
        .transpose()?;
    tether_transport::config::server_config_with(
        (certificate.chain.clone(), certificate.key.clone_key()),
        verifier,
        certificate.idle_timeout,
    )
    .map_err(|e| anyhow::anyhow!("invalid TLS setup: {e}"))
}

/// Re-reads the revocation list whenever its file changes and swaps in a verifier that honours
/// it: new connections with a revoked certificate are refused from then on, and technicians
/// whose certificate it revokes are cut off mid-session.
pub(crate) async fn watch_crl(
    endpoint: Endpoint,
    shared: Arc<Shared>,
    certificate: RelayCertificate,
) {
    let Some(organisation) = shared.organisation.as_ref() else {
        return;
    };
    let mut ticks = tokio::time::interval(CRL_CHECK_INTERVAL);
    loop {
        ticks.tick().await;
        match organisation.reload_if_changed() {
            Ok(false) => {}
            Ok(true) => match server_config(&certificate, Some(organisation)) {
                Ok(config) => {
                    endpoint.set_server_config(Some(config));
                    info!("revocation list reloaded");
                    close_revoked_sessions(&shared, organisation);
                    // Only now, so that the sessions the list ends are recorded as revoked
                    // before the machines end them too.
                    organisation.announce_reload();
                }
                Err(e) => {
                    warn!("revocation list changed but cannot be used: {e:#}");
                    organisation.announce_reload();
                }
            },
            Err(e) => warn!("cannot reload the revocation list: {e:#}"),
        }
    }
}

/// Closes the connections of technicians in a session whose certificate no longer verifies,
/// and tells their sessions why. At once, before the machines hear of the new list and end the
/// sessions their own way: the technician learns from the relay that it was revoked.
fn close_revoked_sessions(shared: &Shared, organisation: &Organisation) {
    let trust = organisation.trust();
    let now = UnixTime::now();
    for session in shared.technician_sessions().values() {
        if let Err(e) = trust.verify_technician(&session.chain, now) {
            let reason = e.to_string();
            warn!(remote = %session.connection.remote_address(), "closing a technician's session: {reason}");
            // The session first, then the connection: its task, woken by either, records
            // the revocation only if it is already told.
            session.invalid.send_replace(Some(reason.clone()));
            session
                .connection
                .close(CLOSE_REVOKED.into(), reason.as_bytes());
        }
    }
}
